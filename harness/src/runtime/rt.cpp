// rt.cpp — hc::rt: the functions instrumented primitives call, each a thin step into the
// Execution running on this OS thread.
#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "runtime/execution.hpp"

namespace hc::rt {
namespace {

detail::Execution& require(const char* what) {
  detail::Execution* e = detail::Execution::current();
  if (e == nullptr) {
    throw usage_error(fmt::format(
        "{} used outside an execution: create and use instrumented objects only inside a "
        "scenario body (HC_SCENARIO, hc::explore) or a thread it spawns",
        what));
  }
  return *e;
}

}  // namespace

bool in_execution() noexcept { return detail::Execution::current() != nullptr; }

ThreadId current_thread() noexcept {
  const detail::Execution* e = detail::Execution::current();
  return e != nullptr ? e->current_thread() : kNoThread;
}

ObjectId register_object(ObjectKind kind, std::string_view name) {
  return require("an hc:: object").register_object(kind, name);
}

ObjectId register_event(std::string_view name, bool manual_reset, bool initially_set) {
  return require("hc::event").register_event(name, manual_reset, initially_set);
}

Step* atomic_op(OpKind kind, Access access, ObjectId object, const char* label,
                std::memory_order order, const std::source_location& where) {
  Operation op;
  op.kind = kind;
  op.access = access;
  op.memory_order = static_cast<std::uint8_t>(order);
  op.object = object;
  op.label = label;
  op.where = where;
  return require("hc::atomic").atomic_op(op, access == Access::write);
}

void atomic_release(ObjectId object) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->atomic_release(object);
}

Step* var_op(bool write, ObjectId object, const std::source_location& where) {
  return require("hc::var").var_op(write, object, where);
}

void mutex_lock(ObjectId mutex, const std::source_location& where) {
  require("hc::mutex").mutex_lock(mutex, where);
}
bool mutex_try_lock(ObjectId mutex, const std::source_location& where) {
  return require("hc::mutex").mutex_try_lock(mutex, where);
}
void mutex_unlock(ObjectId mutex, const std::source_location& where) {
  require("hc::mutex").mutex_unlock(mutex, where);
}

void cv_wait(ObjectId cv, ObjectId mutex, const std::source_location& where) {
  require("hc::condition_variable").cv_wait(cv, mutex, where);
}
void cv_notify(ObjectId cv, bool all, const std::source_location& where) {
  require("hc::condition_variable").cv_notify(cv, all, where);
}

void event_set(ObjectId event, const std::source_location& where) {
  require("hc::event").event_set(event, where);
}
void event_reset(ObjectId event, const std::source_location& where) {
  require("hc::event").event_reset(event, where);
}
void event_wait(ObjectId event, const std::source_location& where) {
  require("hc::event").event_wait(event, where);
}

ThreadId spawn(std::string_view name, const ThreadBody& body, const std::source_location& where) {
  return require("hc::thread").spawn(name, body, where);
}
void join(ThreadId thread, const std::source_location& where) {
  require("hc::thread::join").join(thread, where);
}
void yield(const std::source_location& where) {
  require("hc::this_thread::yield").yield(where);
}

std::uint32_t choose(std::uint32_t n, const char* label, const std::source_location& where) {
  return require("hc::choose").choose(n, label, where);
}

void check_failed(std::string message, const char* expression,
                  const std::source_location& where) {
  require("HC_CHECK").check_failed(std::move(message), expression, where);
}

std::uint32_t add_invariant(const char* label, InvariantFn fn, void* context) {
  return require("hc::invariant").add_invariant(label, fn, context);
}
void remove_invariant(std::uint32_t token) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->remove_invariant(token);
}

void reached(const char* label) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->reached(label);
}

}  // namespace hc::rt

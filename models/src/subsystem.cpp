// subsystem.cpp — subsystem lifetimes and the release-after-subsystem-shutdown finding (see
// subsystem.hpp).
#include "hc/models/subsystem.hpp"

#include <span>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

Subsystem::Subsystem(std::string name, const char* acquire_api, const char* release_api)
    : name_(std::move(name)),
      acquire_api_(acquire_api),
      release_api_(release_api),
      state_(fmt::format("subsystem '{}'", name_)) {}

std::uint32_t Subsystem::acquire(const std::source_location& where) {
  if (rt::model_op(Access::read_write, state_.id(), std::span<const Touch>{}, acquire_api_,
                   where) == nullptr)
    return 0;
  State& s = state_.write();
  return ++s.count;
}

std::uint32_t Subsystem::release(const std::source_location& where) {
  if (rt::model_op(Access::read_write, state_.id(), std::span<const Touch>{}, release_api_,
                   where) == nullptr)
    return 0;
  State& s = state_.write();
  if (s.count == 0) {
    const Provenance now = here(where);
    report(FindingKind::check_failure,
           fmt::format("{} called {} on subsystem '{}', which is not initialized: more {} than {}",
                       describe(now), release_api_, name_, release_api_, acquire_api_),
           where, fmt::format("{}|{}|{}", name_, release_api_, site(where)),
           {.steps = {now.step}, .objects = {state_.id()}});
  }
  if (--s.count == 0) {
    teardowns_.push_back(here(where));  // teardowns_[epoch] ends that epoch
    ++s.epoch;
  }
  return s.count;
}

void Subsystem::enter(const char* api, const std::source_location& where) {
  if (rt::model_op(Access::read, state_.id(), std::span<const Touch>{}, api, where) == nullptr)
    return;
  const State& s = state_.read();
  if (s.count > 0) return;
  // Not initialized now: the epoch to blame is the last one torn down (none: never initialized).
  report_shutdown(s.epoch == 0 ? 0 : s.epoch - 1, s, fmt::format("Call of {}", api), where);
}

bool Subsystem::is_current(std::uint32_t bound) const {
  const State& s = state_.read();  // declared by the caller's footprint (reads())
  return s.epoch == bound && s.count > 0;
}

void Subsystem::report_entry(std::uint32_t bound, const std::string& what,
                             const std::source_location& where) {
  report_shutdown(bound, state_.peek(), what, where);
}

std::uint32_t Subsystem::bind(std::string_view what) const {
  const State& s = state_.peek();
  if (s.count == 0) {
    throw usage_error(
        fmt::format("{} created in subsystem '{}', which is not initialized: call {} "
                    "first (COM answers CO_E_NOTINITIALIZED)",
                    what, name_, acquire_api_));
  }
  return s.epoch;
}

void Subsystem::report_shutdown(std::uint32_t bound, const State& now, const std::string& what,
                                const std::source_location& where) {
  const Provenance at = here(where);
  FindingRefs refs{.steps = {at.step}, .objects = {state_.id()}};
  std::string after;
  if (bound < teardowns_.size()) {
    const Provenance& down = teardowns_[bound];
    refs.steps.push_back(down.step);
    after = fmt::format(" after {} at {} (by {})", release_api_, site(down.where), describe(down));
  } else {
    after = fmt::format(" before any {}", acquire_api_);
  }
  std::string state;
  if (now.count > 0 && now.epoch != bound) {
    state = fmt::format(
        "; {} since started a new {} (count {}), which does not revive what belonged to the old "
        "one",
        acquire_api_, name_, now.count);
  } else {
    state = fmt::format("; it is not initialized now (count 0)");
  }
  std::string message = fmt::format(
      "release after subsystem shutdown: {} by {} into subsystem '{}'{}{}: the subsystem's code "
      "and state are gone (a crash at shutdown in production). Keep the subsystem alive until "
      "everything that belongs to it is released: an RAII guard declared before (outside the "
      "scope of) the smart pointers, so that they are destroyed first (ONT-0520)",
      what, describe(at), name_, after, state);
  report(FindingKind::release_after_subsystem_shutdown, std::move(message), where,
         fmt::format("{}|{}|{}", name_, what, site(where)), std::move(refs));
}

// --- ComApartment ----------------------------------------------------------------------------

ComApartment::ComApartment(const std::source_location& /*where*/)
    : Subsystem(fmt::format("COM (thread {})", rt::thread_name(rt::current_thread())),
                "CoInitialize", "CoUninitialize"),
      thread_(rt::current_thread()) {}

void ComApartment::require_thread(const char* api) const {
  if (rt::current_thread() != thread_) {
    throw usage_error(fmt::format(
        "{} on thread '{}' for {}: COM's init count is per thread; each thread constructs its "
        "own ComApartment",
        api, rt::thread_name(rt::current_thread()), name()));
  }
}

std::uint32_t ComApartment::CoInitialize(const std::source_location& where) {
  require_thread("CoInitialize");
  return acquire(where) == 1 ? 0 : 1;  // S_OK, S_FALSE
}

void ComApartment::CoUninitialize(const std::source_location& where) {
  require_thread("CoUninitialize");
  release(where);
}

// --- Library ---------------------------------------------------------------------------------

Library::Library(std::string_view module)
    : Subsystem(fmt::format("library '{}'", module), "LoadLibrary", "FreeLibrary") {}

}  // namespace hc::models

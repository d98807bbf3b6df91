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

std::uint32_t Subsystem::acquire_touching(std::span<const Touch> also, const char* api,
                                          const std::source_location& where) {
  if (rt::model_op(Access::read_write, state_.id(), also, api, where) == nullptr) return 0;
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

std::string_view apartment_kind_name(ApartmentKind kind) {
  switch (kind) {
    case ApartmentKind::unspecified:
      return "unspecified";
    case ApartmentKind::sta:
      return "STA";
    case ApartmentKind::mta:
      return "MTA";
  }
  return "unknown";
}

ComApartment::ComApartment(const std::source_location& /*where*/)
    : Subsystem(fmt::format("COM (thread {})", rt::thread_name(rt::current_thread())),
                "CoInitialize", "CoUninitialize"),
      thread_(rt::current_thread()),
      apartment_(fmt::format("apartment of thread '{}'", rt::thread_name(rt::current_thread()))),
      wake_(rt::in_execution()
                ? rt::register_event(
                      fmt::format("message queue of STA thread '{}' (its pumping wait wakes for "
                                  "a cross-apartment call or one of its events)",
                                  rt::thread_name(rt::current_thread())),
                      /*manual_reset=*/false, /*initially_set=*/false)
                : kNoObject) {}

void ComApartment::require_thread(const char* api) const {
  if (rt::current_thread() != thread_) {
    throw usage_error(fmt::format(
        "{} on thread '{}' for {}: COM's init count is per thread; each thread constructs its "
        "own ComApartment",
        api, rt::thread_name(rt::current_thread()), name()));
  }
}

void ComApartment::require_sta(const char* api) const {
  // The kind is written only by this apartment's own thread (CoInitializeEx), and every caller
  // of require_sta on the STA side runs there: a peek without a race.
  if (apartment_.peek().kind != ApartmentKind::sta) {
    throw usage_error(
        fmt::format("{} for {}, which is not a single-threaded apartment ({}): call "
                    "CoInitializeEx(ComInit::apartment_threaded) on its thread first",
                    api, name(), apartment_kind_name(apartment_.peek().kind)));
  }
}

std::uint32_t ComApartment::CoInitialize(const std::source_location& where) {
  require_thread("CoInitialize");
  const Touch also[] = {apartment_.writes()};
  const std::uint32_t count = acquire_touching(also, "CoInitialize", where);
  if (count == 0) return 0;  // teardown
  if (count == 1) apartment_.write().kind = ApartmentKind::unspecified;
  return count == 1 ? 0 : 1;  // S_OK, S_FALSE
}

std::uint32_t ComApartment::CoInitializeEx(ComInit model, const std::source_location& where) {
  require_thread("CoInitializeEx");
  const ApartmentKind want =
      model == ComInit::apartment_threaded ? ApartmentKind::sta : ApartmentKind::mta;
  const Touch also[] = {apartment_.writes()};
  const std::uint32_t count = acquire_touching(also, "CoInitializeEx", where);
  if (count == 0) return 0;  // teardown
  State& a = apartment_.write();
  if (count == 1) {
    a.kind = want;
    return 0;  // S_OK
  }
  if (a.kind != want) {
    throw usage_error(fmt::format(
        "CoInitializeEx({}) on thread '{}', which is already in the {}: RPC_E_CHANGED_MODE (a "
        "thread's apartment model is fixed until its last CoUninitialize)",
        want == ApartmentKind::sta ? "COINIT_APARTMENTTHREADED" : "COINIT_MULTITHREADED",
        rt::thread_name(thread_), apartment_kind_name(a.kind)));
  }
  return 1;  // S_FALSE
}

void ComApartment::CoUninitialize(const std::source_location& where) {
  require_thread("CoUninitialize");
  release(where);
}

ThreadId ComApartment::owner_thread() const noexcept {
  return apartment_.peek().kind == ApartmentKind::sta ? thread_ : kNoThread;
}

void ComApartment::send(std::string call, std::uint32_t bound, std::function<void()> body,
                        const std::source_location& where) {
  // The send: queued to the STA, which its message queue's event announces.
  const Touch also[] = {reads(), {wake_, Access::write}};
  if (rt::model_op(Access::read_write, apartment_.id(), also, "cross-apartment call (sent)",
                   where) == nullptr)
    return;
  if (!is_current(bound)) report_entry(bound, call, where);
  const ThreadId me = rt::current_thread();
  const ObjectId reply = rt::register_event(
      fmt::format("reply of the cross-apartment call {} by thread '{}' into the STA of thread "
                  "'{}', which only thread '{}' pumping messages dispatches",
                  call, rt::thread_name(me), rt::thread_name(thread_), rt::thread_name(thread_)),
      /*manual_reset=*/true, /*initially_set=*/false);
  apartment_.write().calls.push_back(Call{std::move(body), reply, where});
  rt::event_signal(wake_);
  // The wait for the reply: enabled once the STA thread has dispatched the call.
  rt::model_op(Access::sync, reply, std::span<const Touch>{},
               "cross-apartment call (waiting for the STA)", where, WaitFor::event_set);
}

void ComApartment::dispatch(Call call, const std::source_location& where) {
  call.body();  // the call's own operations, on this (the STA) thread
  if (rt::model_op(Access::write, call.reply, std::span<const Touch>{},
                   "cross-apartment call returns", where) == nullptr)
    return;
  rt::event_signal(call.reply);
}

bool ComApartment::pump(const std::source_location& where) {
  require_thread("pump (a message-loop step)");
  require_sta("pump (a message-loop step)");
  if (rt::model_op(Access::read_write, apartment_.id(), std::span<const Touch>{},
                   "PeekMessage/DispatchMessage", where) == nullptr)
    return false;
  State& a = apartment_.write();
  if (a.calls.empty()) return false;
  Call call = std::move(a.calls.front());
  a.calls.pop_front();
  dispatch(std::move(call), where);
  return true;
}

void ComApartment::CoWaitForMultipleHandles(ComEvent& event, const std::source_location& where) {
  require_thread("CoWaitForMultipleHandles");
  require_sta("CoWaitForMultipleHandles");
  if (event.apartment_ != this) {
    throw usage_error(fmt::format(
        "CoWaitForMultipleHandles on thread '{}' for an event of another apartment: construct "
        "the ComEvent with the apartment of the thread that waits for it",
        rt::thread_name(thread_)));
  }
  for (;;) {
    // Look: the event, then the queue. The wake-up is cleared here: whatever arrives from now
    // on sets it again, so the block below cannot miss it.
    const Touch also[] = {event.set_.reads(), {wake_, Access::write}};
    if (rt::model_op(Access::read_write, apartment_.id(), also, "CoWaitForMultipleHandles",
                     where) == nullptr)
      return;
    rt::event_clear(wake_);
    if (event.set_.read()) return;
    State& a = apartment_.write();
    if (!a.calls.empty()) {
      Call call = std::move(a.calls.front());
      a.calls.pop_front();
      dispatch(std::move(call), where);
      continue;
    }
    // Nothing yet: block until a call or the event's SetEvent wakes the queue.
    if (rt::model_op(Access::sync, wake_, std::span<const Touch>{},
                     "CoWaitForMultipleHandles (blocked)", where, WaitFor::event_set) == nullptr)
      return;
  }
}

// --- ComEvent ----------------------------------------------------------------------------------

ComEvent::ComEvent(ComApartment& apartment, std::string_view name, bool initially_set)
    : apartment_(&apartment),
      set_(fmt::format("event '{}'", name), initially_set),
      event_(rt::register_event(name, /*manual_reset=*/true, initially_set)),
      sta_event_(rt::register_event(
          fmt::format("{}, waited for by STA thread '{}' without pumping (WaitForSingleObject "
                      "dispatches no cross-apartment call)",
                      name, rt::thread_name(apartment.thread())),
          /*manual_reset=*/true, initially_set)) {}

void ComEvent::SetEvent(const std::source_location& where) {
  const Touch also[] = {
      {event_, Access::write}, {sta_event_, Access::write}, {apartment_->wake_, Access::write}};
  if (rt::model_op(Access::write, set_.id(), also, "SetEvent", where) == nullptr) return;
  set_.write() = true;
  rt::event_signal(event_);
  rt::event_signal(sta_event_);
  rt::event_signal(apartment_->wake_);
}

void ComEvent::ResetEvent(const std::source_location& where) {
  const Touch also[] = {{event_, Access::write}, {sta_event_, Access::write}};
  if (rt::model_op(Access::write, set_.id(), also, "ResetEvent", where) == nullptr) return;
  set_.write() = false;
  rt::event_clear(event_);
  rt::event_clear(sta_event_);
}

void ComEvent::WaitForSingleObject(const std::source_location& where) {
  // The STA thread's own wait blocks on the engine event named as a non-pumping wait of an
  // STA (what a deadlock message prints); the kind is written only by that thread itself.
  const bool sta_thread = rt::current_thread() == apartment_->thread() &&
                          apartment_->apartment_.peek().kind == ApartmentKind::sta;
  const Touch also[] = {set_.reads()};
  rt::model_op(Access::sync, sta_thread ? sta_event_ : event_, also,
               "WaitForSingleObject (non-pumping)", where, WaitFor::event_set);
}

// --- Library ---------------------------------------------------------------------------------

Library::Library(std::string_view module)
    : Subsystem(fmt::format("library '{}'", module), "LoadLibrary", "FreeLibrary") {}

}  // namespace hc::models

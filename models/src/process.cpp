// The debuggee process and the right-side lock hierarchy (hc/models/process.hpp).
#include "hc/models/process.hpp"

#include <span>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {
namespace {

ThreadId me_or_throw() {
  const ThreadId t = rt::current_thread();
  if (t == kNoThread || t >= kMaxThreads) {
    throw usage_error(
        "an ICorDebug model (hc/models/process.hpp) used outside an execution: create and use "
        "it inside a scenario body (HC_SCENARIO, hc::explore) or a thread it spawns");
  }
  return t;
}

std::string lock_text(const RSLock& lock) {
  return fmt::format("'{}' (level {})", lock.name(), lock.level_number());
}

}  // namespace

// --- RsThreads ---------------------------------------------------------------------------------

RsThreads::PerThread& RsThreads::me() {
  return threads_[me_or_throw()];
}

const RsThreads::PerThread& RsThreads::me() const {
  return threads_[me_or_throw()];
}

const RsThreads::DestructorFrame* RsThreads::destructor_context() const {
  const PerThread& t = me();
  return t.destructors.empty() ? nullptr : &t.destructors.back();
}

RsThreads::OkIfNeuteredCall RsThreads::ok_if_neutered_call() const {
  return me().ok_if_neutered;
}

RsThreads::OkIfNeuteredCall RsThreads::exchange_ok_if_neutered(OkIfNeuteredCall call) {
  return std::exchange(me().ok_if_neutered, call);
}

void RsThreads::push_held(const RSLock& lock, std::uint32_t step,
                          const std::source_location& where) {
  me().held.push_back(Held{&lock, step, where});
}

void RsThreads::pop_held(const RSLock& lock) {
  std::vector<Held>& held = me().held;
  for (auto it = held.end(); it != held.begin();) {
    --it;
    if (it->lock == &lock) {
      held.erase(it);
      return;
    }
  }
}

RsThreads::DestructorScope::DestructorScope(RsThreads& threads, const RsObject& object,
                                            const char* what, const std::source_location& where)
    : threads_(threads), thread_(me_or_throw()) {
  threads_.threads_[thread_].destructors.push_back(
      DestructorFrame{&object, what, rt::current_step(), where});
}

RsThreads::DestructorScope::~DestructorScope() {
  auto& frames = threads_.threads_[thread_].destructors;
  if (!frames.empty()) frames.pop_back();
}

// --- RSLock ------------------------------------------------------------------------------------

RSLock::RSLock(RsThreads& threads, std::string name, LockLevel level, Reentrancy reentrancy)
    : threads_(threads),
      name_(std::move(name)),
      level_(level),
      reentrancy_(reentrancy),
      mutex_(name_) {}

bool RSLock::held_by_current_thread() const noexcept {
  return holder_ != kNoThread && holder_ == rt::current_thread();
}

void RSLock::lock(const std::source_location& where) {
  const ThreadId me = me_or_throw();
  if (holder_ == me) {
    if (reentrancy_ == Reentrancy::reentrant) {
      ++depth_;  // a re-acquisition by the holder: no operation
      return;
    }
    const Provenance p = here(where);
    report(FindingKind::lock_order_violation,
           fmt::format("RS lock order violation: {} takes {} again while already holding it; it "
                       "is not reentrant, so the thread waits for itself forever (two locks of "
                       "the same level are never held together)",
                       describe(p), lock_text(*this)),
           where, fmt::format("retake|{}|{}", name_, site(where)),
           {.steps = {p.step}, .objects = {id()}});
  }
  mutex_.lock(where);
  holder_ = me;
  depth_ = 1;
  const Provenance p = here(where);
  const std::vector<RsThreads::Held>& held = threads_.held(me);
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    const RSLock& other = *it->lock;
    if (other.level_number() > level_number()) continue;
    const bool same = other.level_number() == level_number();
    report(
        FindingKind::lock_order_violation,
        fmt::format("RS lock order violation: {} takes {} while holding {}, taken at step {} "
                    "({}); {}: right-side locks must be taken in strictly decreasing level order "
                    "(bigger first), and two locks of the same level are never held together "
                    "(DbgRSThread::NotifyTakeLock)",
                    describe(p), lock_text(*this), lock_text(other), it->step, site(it->where),
                    same ? "the same level" : "a smaller level is held"),
        where, fmt::format("order|{}|{}|{}", name_, other.name(), site(where)),
        {.steps = {p.step, it->step}, .objects = {id(), other.id()}});
  }
  threads_.push_held(*this, p.step, where);
  if (level_ == LockLevel::stop_go && threads_.in_destructor())
    threads_.check_not_in_destructor("takes the " + lock_text(*this), "stop-go", where, id());
  const RsThreads::OkIfNeuteredCall ok = threads_.ok_if_neutered_call();
  if (ok.object != nullptr) {
    report(
        FindingKind::neutered_object_call,
        fmt::format("call on neutered object: the OK_IF_NEUTERED method {}.{} of a neutered "
                    "object takes RS lock {} ({}); an OK_IF_NEUTERED method may read only "
                    "embedded blittable data: no locks, no back-pointers, no IPC",
                    ok.object->description(), ok.method, lock_text(*this), describe(p)),
        where,
        fmt::format("ok-if-neutered-lock|{}|{}|{}", ok.object->type_name(), ok.method, site(where)),
        {.steps = {p.step}, .objects = {ok.object->state_id(), id()}});
  }
}

void RSLock::unlock(const std::source_location& where) {
  const ThreadId me = me_or_throw();
  if (holder_ == me && depth_ > 1) {
    --depth_;
    return;
  }
  if (holder_ == me) {
    threads_.pop_held(*this);
    holder_ = kNoThread;
    depth_ = 0;
  }
  mutex_.unlock(where);  // not held: the engine reports the unlock of a lock the thread lacks
}

RSLockHolder::RSLockHolder(RSLock& lock, const std::source_location& where)
    : lock_(lock), where_(where) {
  lock_.lock(where);
  owns_ = true;
}

RSLockHolder::~RSLockHolder() {
  if (owns_) lock_.unlock(where_);
}

void RSLockHolder::release(const std::source_location& where) {
  if (!owns_) return;
  owns_ = false;
  lock_.unlock(where);
}

void RSLockHolder::acquire(const std::source_location& where) {
  if (owns_) return;
  lock_.lock(where);
  owns_ = true;
}

// --- Process -----------------------------------------------------------------------------------

std::string_view process_state_name(ProcessState state) {
  switch (state) {
    case ProcessState::running:
      return "running";
    case ProcessState::stopped:
      return "stopped (synchronized)";
    case ProcessState::exited:
      return "exited";
    case ProcessState::detached:
      return "detached";
  }
  return "?";
}

Process::Process(std::string name, ProcessState initial)
    : Process(std::make_unique<RsThreads>(), nullptr, std::move(name), initial) {}

Process::Process(RsThreads& shared_threads, std::string name, ProcessState initial)
    : Process(nullptr, &shared_threads, std::move(name), initial) {}

Process::Process(std::unique_ptr<RsThreads> owned, RsThreads* shared, std::string name,
                 ProcessState initial)
    : owned_threads_(std::move(owned)),
      threads_(shared != nullptr ? shared : owned_threads_.get()),
      name_(std::move(name)),
      state_("process '" + name_ + "': state", initial),
      // A process created stopped is stopped at its first event: one Continue resumes it.
      stop_count_("process '" + name_ + "': stop count", initial == ProcessState::stopped ? 1 : 0),
      callbacks_("process '" + name_ + "': managed event queue"),
      transport_id_(rt::register_object(ObjectKind::model, "process '" + name_ + "': transport")),
      state_by_("created"),
      stop_go_(*threads_, "Stop-Go Lock", LockLevel::stop_go, RSLock::Reentrancy::reentrant),
      win32_event_thread_(*threads_, "Win32 Event Thread Lock", LockLevel::win32_event_thread),
      shim_dispose_(*threads_, "ShimProcess Dispose Lock", LockLevel::shim_process_dispose),
      process_lock_(*threads_, "Process Lock", LockLevel::process, RSLock::Reentrancy::reentrant),
      continue_list_(*this, "Continue list"),
      exit_list_(*this, "Exit list"),
      left_side_list_(*this, "LeftSideResource list"),
      deferred_(*this, "deferred cleanup queue") {}

Process::~Process() = default;

std::string Process::describe_state() const {
  if (!state_changed_) return fmt::format("{} (since it was created)", process_state_name(state()));
  return fmt::format("{} (by {} on {})", process_state_name(state()), state_by_,
                     describe(*state_changed_));
}

void Process::note(std::string_view entry) {
  if (record_history_) history_.emplace_back(entry);
}

void Process::set_state(ProcessState s, std::string by, const std::source_location& where) {
  state_.set(s);
  state_by_ = std::move(by);
  state_changed_ = here(where);
}

cordbg::HRESULT Process::terminal_result(ProcessState state) noexcept {
  if (state == ProcessState::exited) return cordbg::CORDBG_E_PROCESS_TERMINATED;
  if (state == ProcessState::detached) return cordbg::CORDBG_E_PROCESS_DETACHED;
  return cordbg::S_OK;
}

NeuterList& Process::add_refresh_stack_list(std::string thread_name) {
  refresh_stack_lists_.push_back(
      std::make_unique<NeuterList>(*this, "RefreshStack list of thread '" + thread_name + "'"));
  return *refresh_stack_lists_.back();
}

LeftSideResourceCleanupList& Process::add_appdomain_list(std::string appdomain_name) {
  appdomain_lists_.push_back(std::make_unique<LeftSideResourceCleanupList>(
      *this, "sweepable list of AppDomain '" + appdomain_name + "'"));
  return *appdomain_lists_.back();
}

void Process::queue_callback(std::string event, const std::source_location& where) {
  const Touch footprint[] = {callbacks_.writes()};
  if (rt::model_op(Access::read, state_.id(), footprint, "queue managed event", where) == nullptr)
    return;
  callbacks_.write().push_back(std::move(event));
}

bool Process::has_queued_callbacks(const std::source_location& where) {
  const Touch footprint[] = {callbacks_.reads()};
  if (rt::model_op(Access::read, state_.id(), footprint, "HasQueuedCallbacks", where) == nullptr)
    return false;
  return !callbacks_.read().empty();
}

bool Process::check_synchronized(const std::source_location& where) {
  if (rt::model_op(Access::read, state_.id(), std::span<const Touch>{}, "IsSynchronized", where) ==
      nullptr)
    return false;
  return state_.read() == ProcessState::stopped;
}

cordbg::HRESULT Process::stop(const std::source_location& where) {
  RSLockHolder stop_go(stop_go_, where);
  const Touch footprint[] = {stop_count_.writes()};
  if (rt::model_op(Access::write, state_.id(), footprint, "Stop", where) == nullptr)
    return cordbg::S_OK;
  const ProcessState state = state_.read();
  if (const cordbg::HRESULT hr = terminal_result(state); hr != cordbg::S_OK) return hr;
  if (state != ProcessState::stopped) set_state(ProcessState::stopped, "Stop", where);
  // CordbProcess::StopInternal: IncStopCount on success, also when already synchronized.
  ++stop_count_.write();
  note("Stop");
  return cordbg::S_OK;
}

cordbg::HRESULT Process::continue_(const std::source_location& where) {
  // CordbProcess::ContinueInternal (dotnet/runtime src/coreclr/debug/di/process.cpp, commit
  // 005b792a), in its order: Stop-Go; terminated / detached; a stop count of 0 is a superfluous
  // Continue; DecStopCount, and while the count is still positive nothing else happens; with
  // managed events queued, only SetSynchronized(false) ("the LS is not actually continuing, and
  // so our cached state is still valid"): the RC event thread dispatches the next one; else the
  // true continue and its sweeps.
  RSLockHolder stop_go(stop_go_, where);
  const Touch footprint[] = {stop_count_.writes(), callbacks_.writes()};
  if (rt::model_op(Access::read, state_.id(), footprint, "Continue", where) == nullptr)
    return cordbg::S_OK;
  const ProcessState state = state_.read();
  if (const cordbg::HRESULT hr = terminal_result(state); hr != cordbg::S_OK) return hr;
  if (stop_count_.read() == 0) {
    note("Continue: superfluous");
    return cordbg::CORDBG_E_SUPERFLOUS_CONTINUE;
  }
  const std::uint32_t stops = --stop_count_.write();
  if (stops > 0) {
    if (record_history_) note(fmt::format("Continue: stop count {}, stays stopped", stops));
    return cordbg::S_OK;
  }
  if (std::vector<std::string>& queued = callbacks_.write(); !queued.empty()) {
    // The RC event thread's DispatchRCEvent, folded into this step (the window in which the
    // process is unsynchronized but not running is not modelled): the next queued callback is
    // dispatched, which synchronizes the process again and counts its stop (IncStopCount).
    // Nothing is neutered: the debuggee did not run.
    if (record_history_) note("Continue: dispatch queued callback " + queued.front());
    queued.erase(queued.begin());
    stop_count_.write() = 1;
    return cordbg::S_OK;
  }
  in_continue_ = ++continue_count_;
  if (record_history_) note(fmt::format("Continue #{}", continue_count_));

  process_lock_.lock(where);
  // 1. ContinueNeuterList.NeuterAndClear, under the process lock.
  note("ContinueNeuterList.NeuterAndClear");
  continue_list_.neuter_and_clear(where);
  // 2. drop the process lock: the sweeps below may send IPC.
  process_lock_.unlock(where);
  note("drop process lock");
  // 3. the LeftSideResource list, then the deferred cleanup queue (B18's fix, the model's).
  note("sweep LeftSideResource list");
  left_side_list_.sweep_neuter_left_side_resources(where);
  note("drain deferred cleanup queue");
  deferred_.drain(where);
  // 4. the Exit list, like a mini-GC (SweepAllNeuterAtWillObjects).
  note("sweep Exit list");
  exit_list_.sweep_all_neuter_at_will(where);
  // 5. each AppDomain's sweepable list: a LeftSideResourceCleanupList (its CordbHandleValues
  //    free GC handles), swept with SweepNeuterLeftSideResources (rspriv.h:
  //    CordbAppDomain::GetSweepableExitNeuterList).
  for (const auto& list : appdomain_lists_) {
    if (record_history_) note("sweep " + list->name());
    list->sweep_neuter_left_side_resources(where);
  }
  // 6. re-take the process lock; 7. FlushProcessRunning: MarkAllThreadsDirty neuters every
  //    thread's RefreshStack list (frames, chains, value enums), last; then resume.
  process_lock_.lock(where);
  note("re-take process lock");
  note("mark stacks dirty");
  for (const auto& list : refresh_stack_lists_)
    list->neuter_and_clear(where);
  rt::model_op(Access::write, state_.id(), std::span<const Touch>{}, "Continue: resume", where);
  set_state(ProcessState::running, fmt::format("Continue #{}", continue_count_), where);
  in_continue_ = 0;
  note("resume");
  process_lock_.unlock(where);
  return cordbg::S_OK;
}

cordbg::HRESULT Process::neuter_everything(ProcessState final_state, const char* label,
                                           const std::source_location& where) {
  // NeuterChildrenLeftSideResources: Stop-Go held, process lock not held.
  note("NeuterChildrenLeftSideResources");
  left_side_list_.neuter_left_side_resources_and_clear(where);
  for (const auto& list : appdomain_lists_)
    list->neuter_left_side_resources_and_clear(where);
  deferred_.drain(where);
  // NeuterChildren: under the process lock.
  RSLockHolder lock(process_lock_, where);
  note("NeuterChildren");
  for (const auto& list : refresh_stack_lists_)
    list->neuter_and_clear(where);
  continue_list_.neuter_and_clear(where);
  exit_list_.neuter_and_clear(where);
  for (const auto& list : appdomain_lists_)
    list->neuter_and_clear(where);
  rt::model_op(Access::write, state_.id(), std::span<const Touch>{}, label, where);
  set_state(final_state, label, where);
  note(label);
  return cordbg::S_OK;
}

cordbg::HRESULT Process::exit(const std::source_location& where) {
  RSLockHolder stop_go(stop_go_, where);
  if (rt::model_op(Access::write, state_.id(), std::span<const Touch>{}, "ExitProcess", where) ==
      nullptr)
    return cordbg::S_OK;
  const ProcessState state = state_.read();
  if (const cordbg::HRESULT hr = terminal_result(state); hr != cordbg::S_OK) return hr;
  // The exit event synchronizes the process: the right side cleans up while it is stopped.
  if (state != ProcessState::stopped)
    set_state(ProcessState::stopped, "the ExitProcess event", where);
  note("ExitProcess");
  return neuter_everything(ProcessState::exited, "ExitProcess: terminated", where);
}

cordbg::HRESULT Process::detach(const std::source_location& where) {
  RSLockHolder stop_go(stop_go_, where);
  if (rt::model_op(Access::read, state_.id(), std::span<const Touch>{}, "Detach", where) == nullptr)
    return cordbg::S_OK;
  const ProcessState state = state_.read();
  if (const cordbg::HRESULT hr = terminal_result(state); hr != cordbg::S_OK) return hr;
  if (state != ProcessState::stopped) return cordbg::CORDBG_E_PROCESS_NOT_SYNCHRONIZED;
  note("Detach");
  return neuter_everything(ProcessState::detached, "Detach: detached", where);
}

void Process::send_ipc(const char* event, const std::source_location& where) {
  rt::model_op(Access::write, transport_id_, std::span<const Touch>{}, event, where);
  if (threads_->in_destructor()) {
    check_not_in_destructor(fmt::format("sends IPC event {} to process '{}'", event, name_), "ipc",
                            where, transport_id_);
  }
  const RsThreads::OkIfNeuteredCall ok = threads_->ok_if_neutered_call();
  if (ok.object != nullptr) {
    const Provenance now = here(where);
    report(
        FindingKind::neutered_object_call,
        fmt::format("call on neutered object: the OK_IF_NEUTERED method {}.{} of a neutered "
                    "object sends IPC event {} ({}); an OK_IF_NEUTERED method may read only "
                    "embedded blittable data: no locks, no back-pointers, no IPC",
                    ok.object->description(), ok.method, event, describe(now)),
        where,
        fmt::format("ok-if-neutered-ipc|{}|{}|{}", ok.object->type_name(), ok.method, site(where)),
        {.steps = {now.step}, .objects = {ok.object->state_id(), transport_id_}});
  }
}

void Process::check_not_in_destructor(std::string_view action, std::string_view kind,
                                      const std::source_location& where, ObjectId acted_on) {
  threads_->check_not_in_destructor(action, kind, where, acted_on);
}

void RsThreads::check_not_in_destructor(std::string_view action, std::string_view kind,
                                        const std::source_location& where,
                                        ObjectId acted_on) const {
  const DestructorFrame* d = destructor_context();
  if (d == nullptr) return;
  const Provenance p = here(where);
  // What the action works on, then the object whose final Release / destructor runs (its
  // count, then its state).
  const FindingRefs refs{.steps = {p.step, d->step},
                         .objects = {acted_on, d->object->count_id(), d->object->state_id()}};
  report(
      FindingKind::heavy_cleanup_in_destructor,
      fmt::format("heavy cleanup executed in destructor context: {} {} inside the {} of {} "
                  "(entered at step {} ({})); Release and destructors run whenever the client "
                  "calls Release, on any thread and under any locks, so they must not neuter, "
                  "send IPC, take the Stop-Go lock or free debuggee resources: queue the work "
                  "(a NeuterList, the deferred cleanup queue) and do it at the next safe point "
                  "(Continue)",
                  describe(p), action, d->what, d->object->description(), d->step, site(d->where)),
      where, fmt::format("heavy|{}|{}|{}|{}", kind, d->object->type_name(), d->what, site(where)),
      refs);
}

void Process::check_left_side_cleanup(std::string_view verb, std::string_view object,
                                      const std::source_location& where, ObjectId object_id) {
  const bool stop_go = stop_go_.held_by_current_thread();
  // The calling step declared the process state (the sweep's first step, a free).
  const bool stopped = state_.read(where) == ProcessState::stopped;
  const bool process_lock = process_lock_.held_by_current_thread();
  const bool in_destructor = threads_->in_destructor();
  if (stop_go && stopped && !process_lock && !in_destructor) return;
  const std::string action = fmt::format("{} {} in process '{}'", verb, object, name_);
  if (!stop_go || !stopped || process_lock) {
    std::string why;
    const char* reason = "";
    // The object cleaned up, then the state and the locks `why` names, with its steps.
    const Provenance now = here(where);
    FindingRefs refs{.steps = {now.step}, .objects = {object_id}};
    if (!stopped) {
      why += fmt::format(", while the process is {}", describe_state());
      refs.objects.emplace_back(state_.id());
      if (state_changed_) refs.steps.push_back(state_changed_->step);
    }
    if (!stop_go) {
      why += ", without holding the 'Stop-Go Lock' (level 5)";
      reason = "no-stop-go";
      refs.objects.emplace_back(stop_go_.id());
    }
    if (process_lock) {
      why += ", while holding the 'Process Lock' (level 2)";
      if (*reason == '\0') reason = "process-lock-held";
      refs.objects.emplace_back(process_lock_.id());
    }
    if (*reason == '\0') reason = "not-synchronized";
    report(FindingKind::left_side_cleanup_while_running,
           fmt::format("left-side cleanup while not synchronized or without the Stop-Go lock: {} "
                       "{}{}; debuggee (left-side) resources may be freed only while the process "
                       "is synchronized, with the Stop-Go lock held and the process lock not held "
                       "(DOMAIN.md O5): Dispose while stopped, or defer the cleanup to the next "
                       "Continue (LeftSideResource list, deferred cleanup queue)",
                       describe(now), action, why),
           where, fmt::format("left-side|{}|{}", reason, site(where)), std::move(refs));
  }
  check_not_in_destructor(action, "left-side", where, object_id);
}

}  // namespace hc::models

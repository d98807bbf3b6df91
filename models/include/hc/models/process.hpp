// hc/models/process.hpp — the debuggee process as ICorDebug's right side sees it (DOMAIN.md
// §4.2, §4.3): its state (running / stopped = synchronized / exited / detached), Stop,
// Continue (the safe point that sweeps the neuter lists), Exit and Detach; and the right-side
// lock hierarchy (RSLock with levels, checked per simulated thread like DbgRSThread).
//
//   hc::models::Process p("debuggee");                 // starts stopped: stop count 1
//   hc::models::HandleValue hv(p, "hv");                 // on p.left_side_list()
//   hv.add_ref();                                        // the client's COM reference
//   hc::models::RsObject frame(p, "CordbILFrame", "frame");
//   p.add_refresh_stack_list("main").add(frame);         // dies at the next Continue
//   p.continue_();                                       // neuters frame, sweeps, resumes
//   hc::thread finalizer("finalizer", [&] { hv.release(); });   // NeuterAtWill, nothing heavy
//   p.stop(); p.continue_();                             // the sweep frees hv's GC handle
//
// Stop and Continue keep a stop count (§4.2; CordbProcess::StopInternal / ContinueInternal):
// Stop counts one more stop; Continue with a count of 0 is CORDBG_E_SUPERFLOUS_CONTINUE;
// otherwise it counts one down, and only the Continue that takes the count to 0 does anything
// more: with managed callbacks queued (queue_callback) it dispatches the next one (the process
// stays synchronized, stop count 1 again, nothing neutered); else it is the true continue that
// sweeps the lists and resumes the debuggee. A StopContinueHolder (a Continue inside a callback
// deferred until it returns) is that count too: Stop before the callback, Continue after.
//
// Everything here must be created and used inside an execution (hc::explore, HC_SCENARIO).
//
// Lock hierarchy (§4.3, O6). Levels, biggest first: Stop-Go 5, Win32 event thread 4,
// ShimProcess dispose 3, Process 2, transport 1 and 0, leaf 0. A thread may take a lock only
// if its level is strictly smaller than the level of every RS lock it already holds; two
// locks of one level are never held together. Otherwise: a lock_order_violation finding that
// names both locks, their levels, the thread and both sites. An RSLock is an hc::mutex, so
// blocking and deadlocks are the engine's (the deadlock detector reports wait-for cycles);
// the order is checked when the lock has been acquired (as NotifyTakeLock does), so a schedule
// that deadlocks first reports the deadlock. The Process's Stop-Go and Process locks are
// reentrant (cLockReentrant): a re-acquisition by the holder is no operation at all.
//
// What it touches (DPOR footprints, checked by the footprint audit). The process's state
// (running / stopped / exited / detached) is a cell, "process '<name>': state", and so are its
// stop count ("...: stop count") and its queued managed callbacks ("...: managed event queue");
// the lists are cells (neuter.hpp). Each scheduling point names:
//   RSLock::lock / unlock        the lock's hc::mutex (sync)
//   Process::stop                Stop-Go (sync), "Stop": process state (write), stop count
//                                (read_write)
//   Process::continue_           Stop-Go, "Continue": process state (read), stop count and
//                                callback queue (read_write); on the true continue then process
//                                lock, the lists' operations (see neuter.hpp), process lock,
//                                "Continue: resume": process state (write)
//   Process::queue_callback      "queue managed event": process state (read), the callback
//                                queue (write)
//   Process::has_queued_callbacks   "HasQueuedCallbacks": process state and the queue (read)
//   Process::exit / detach       Stop-Go, "ExitProcess" (write) / "Detach" (read): process
//                                state, the lists' operations, process lock, process state
//                                (write)
//   Process::check_synchronized  "IsSynchronized": process state (read)
//   Process::send_ipc            the process's transport object (write)
// Left-side cleanup (O5) reads the process state: the operations that check it declare it
// (the sweeps' first step, LeftSideResource::free). What an RSLock records about its holder,
// and RsThreads (the locks each thread holds, the destructor and OK_IF_NEUTERED frames it runs
// in) are each thread's own: a thread reads only what it wrote itself. Finding bookkeeping
// stays in plain members: what last set the state and when, the Continue count, the history.
// The lists a process has (add_refresh_stack_list, add_appdomain_list) and the options are
// configuration: set them up before the process is shared.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/neuter.hpp"
#include "hc/operation.hpp"
#include "hc/sync.hpp"

namespace hc::models {

class RSLock;
class RsObject;

/// Right-side lock levels (DOMAIN.md §4.3): bigger levels are taken first.
enum class LockLevel : std::uint8_t {
  leaf = 0,  // process-list, Win32-send, func-eval-abort, shim; also the small transport lock
  transport = 1,
  process = 2,
  shim_process_dispose = 3,
  win32_event_thread = 4,
  stop_go = 5,
};

/// Per simulated thread, what the right side knows about it (DbgRSThread): the RS locks it
/// holds, in the order taken, and whether it is running inside a final Release / destructor
/// or inside an OK_IF_NEUTERED method of a neutered object. One table per debugger: share it
/// between Processes (the Process constructor taking an RsThreads&) to check across them.
class RsThreads {
 public:
  struct Held {
    const RSLock* lock = nullptr;
    std::uint32_t step = 0;  // the step that acquired it
    std::source_location where{};
  };
  /// A final Release or a destructor running on a thread.
  struct DestructorFrame {
    const RsObject* object = nullptr;
    const char* what = "";  // "final Release" or "destructor"
    std::uint32_t step = 0;
    std::source_location where{};
  };
  /// An OK_IF_NEUTERED method running on a neutered object.
  struct OkIfNeuteredCall {
    const RsObject* object = nullptr;
    const char* method = nullptr;
  };

  RsThreads() = default;
  RsThreads(const RsThreads&) = delete;
  RsThreads& operator=(const RsThreads&) = delete;

  /// The RS locks `thread` holds, oldest first.
  const std::vector<Held>& held(ThreadId thread) const { return threads_.at(thread).held; }
  /// The innermost final Release / destructor running on the calling thread, or nullptr.
  const DestructorFrame* destructor_context() const;
  bool in_destructor() const { return destructor_context() != nullptr; }
  /// The OK_IF_NEUTERED call on a neutered object running on the calling thread, if any.
  OkIfNeuteredCall ok_if_neutered_call() const;

  /// Marks the calling thread as inside a final Release / destructor while it lives.
  class DestructorScope {
   public:
    DestructorScope(RsThreads& threads, const RsObject& object, const char* what,
                    const std::source_location& where);
    ~DestructorScope();
    DestructorScope(const DestructorScope&) = delete;
    DestructorScope& operator=(const DestructorScope&) = delete;

   private:
    RsThreads& threads_;
    ThreadId thread_;
  };

  // --- used by the model itself ----------------------------------------------------------------
  void push_held(const RSLock& lock, std::uint32_t step, const std::source_location& where);
  void pop_held(const RSLock& lock);
  OkIfNeuteredCall exchange_ok_if_neutered(OkIfNeuteredCall call);
  /// Heavy work `action` ("neuters X") inside a final Release / destructor on the calling
  /// thread: a heavy_cleanup_in_destructor finding. `kind` goes into the signature; `acted_on`
  /// is the object the action works on (the finding is about it and the destroyed object).
  void check_not_in_destructor(std::string_view action, std::string_view kind,
                               const std::source_location& where,
                               ObjectId acted_on = kNoObject) const;

 private:
  struct PerThread {
    std::vector<Held> held;
    std::vector<DestructorFrame> destructors;
    OkIfNeuteredCall ok_if_neutered;
  };
  PerThread& me();
  const PerThread& me() const;
  std::array<PerThread, kMaxThreads> threads_;
};

/// A right-side lock with a level (RSLock). lock() blocks like hc::mutex and checks the
/// hierarchy of the calling thread (finding lock_order_violation). Taking the Stop-Go lock
/// inside a final Release / destructor is heavy_cleanup_in_destructor (B18); taking any lock
/// inside an OK_IF_NEUTERED method of a neutered object is neutered_object_call.
class RSLock {
 public:
  enum class Reentrancy : std::uint8_t { non_reentrant, reentrant };

  RSLock(RsThreads& threads, std::string name, LockLevel level,
         Reentrancy reentrancy = Reentrancy::non_reentrant);
  RSLock(const RSLock&) = delete;
  RSLock& operator=(const RSLock&) = delete;

  void lock(const std::source_location& where = std::source_location::current());
  void unlock(const std::source_location& where = std::source_location::current());

  /// True when the calling simulated thread holds it (no scheduling point).
  bool held_by_current_thread() const noexcept;
  ThreadId holder() const noexcept { return holder_; }
  const std::string& name() const noexcept { return name_; }
  LockLevel level() const noexcept { return level_; }
  int level_number() const noexcept { return static_cast<int>(level_); }
  ObjectId id() const noexcept { return mutex_.id(); }
  RsThreads& threads() const noexcept { return threads_; }

 private:
  RsThreads& threads_;
  std::string name_;
  LockLevel level_;
  Reentrancy reentrancy_;
  hc::mutex mutex_;
  ThreadId holder_ = kNoThread;
  std::uint32_t depth_ = 0;
};

/// RSLockHolder: takes the lock now, releases it at scope exit (or at release()).
class RSLockHolder {
 public:
  explicit RSLockHolder(RSLock& lock,
                        const std::source_location& where = std::source_location::current());
  ~RSLockHolder();
  RSLockHolder(const RSLockHolder&) = delete;
  RSLockHolder& operator=(const RSLockHolder&) = delete;
  void release(const std::source_location& where = std::source_location::current());
  void acquire(const std::source_location& where = std::source_location::current());
  bool owns() const noexcept { return owns_; }

 private:
  RSLock& lock_;
  std::source_location where_;
  bool owns_ = false;
};

enum class ProcessState : std::uint8_t { running, stopped, exited, detached };
/// "running", "stopped (synchronized)", "exited", "detached".
std::string_view process_state_name(ProcessState state);

/// How a checked method (FAIL_IF_NEUTERED) on a neutered object is treated.
enum class NeuteredCallPolicy : std::uint8_t {
  return_hresult,  // the product's behaviour: it returns CORDBG_E_OBJECT_NEUTERED
  report,          // B16's harness mode: the client's call is a neutered_object_call finding
};

/// How a call on a disposed ICorDebugHandleValue (Dispose again, Dereference) is treated.
enum class DisposedHandlePolicy : std::uint8_t {
  /// The default: the client's call is a handle_used_after_dispose finding (B17), whose message
  /// names the Dispose and the stuck-suspended outcome.
  report,
  /// The product's behaviour alone: the call returns CORDBG_E_HANDLE_HAS_BEEN_DISPOSED
  /// (0x80131C01) and nothing is reported (for a client that handles the error on purpose).
  return_hresult,
};

/// The debuggee process (CordbProcess): state, locks, neuter lists and the safe points.
class Process {
 public:
  explicit Process(std::string name = "debuggee", ProcessState initial = ProcessState::stopped);
  Process(RsThreads& shared_threads, std::string name,
          ProcessState initial = ProcessState::stopped);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  const std::string& name() const noexcept { return name_; }
  RsThreads& threads() noexcept { return *threads_; }

  // --- locks (§4.3) ----------------------------------------------------------------------------
  RSLock& stop_go_lock() noexcept { return stop_go_; }                        // level 5, reentrant
  RSLock& win32_event_thread_lock() noexcept { return win32_event_thread_; }  // level 4
  RSLock& shim_dispose_lock() noexcept { return shim_dispose_; }              // level 3
  RSLock& process_lock() noexcept { return process_lock_; }                   // level 2, reentrant

  // --- state (peeks: no scheduling point, not audited) ----------------------------------------
  ProcessState state() const noexcept { return state_.peek(); }
  bool synchronized() const noexcept { return state() == ProcessState::stopped; }
  /// True continues so far (not the Continues that only counted a stop down).
  std::uint32_t continue_count() const noexcept { return continue_count_; }
  /// Stops not yet matched by a Continue (m_stopCount).
  std::uint32_t stop_count() const noexcept { return stop_count_.peek(); }
  /// Managed callbacks queued and not yet dispatched.
  std::size_t queued_callbacks() const noexcept { return callbacks_.peek().size(); }
  /// The number of the Continue being executed (its sweeps), 0 outside Continue.
  std::uint32_t current_continue() const noexcept { return in_continue_; }
  ObjectId state_id() const noexcept { return state_.id(); }
  /// "stopped (synchronized) (by Stop on thread 'main' at step 3 (x.cpp:9))".
  std::string describe_state() const;

  // --- operations ------------------------------------------------------------------------------
  /// ICorDebugController::Stop: takes Stop-Go, marks the process synchronized and counts one
  /// more stop (also when it was already stopped). CORDBG_E_PROCESS_TERMINATED / _DETACHED after
  /// Exit / Detach.
  cordbg::HRESULT stop(const std::source_location& where = std::source_location::current());
  /// ICorDebugController::Continue (Stop-Go held). _TERMINATED / _DETACHED after Exit /
  /// Detach; CORDBG_E_SUPERFLOUS_CONTINUE (0x8013132F) when no stop is outstanding (a running
  /// process); otherwise counts one stop down and returns S_OK, and:
  ///   stops still outstanding: nothing more, the process stays stopped;
  ///   managed callbacks queued: the next one is dispatched (stays synchronized, nothing
  ///     neutered: the debuggee does not run);
  ///   else the true continue, the safe point (§4.2, in this order): ContinueNeuterList
  ///     NeuterAndClear (process lock held), drop the process lock, sweep the LeftSideResource
  ///     list then drain the deferred cleanup queue (both may "send IPC"), sweep the Exit list
  ///     for NeuterAtWill objects, sweep each AppDomain's sweepable list (a
  ///     LeftSideResourceCleanupList: SweepNeuterLeftSideResources), re-take the process lock,
  ///     mark every stack dirty (NeuterAndClear each RefreshStack list), resume.
  cordbg::HRESULT continue_(const std::source_location& where = std::source_location::current());
  /// A managed debug event arrived while the process is synchronized and waits in the shim's
  /// queue (ShimProcess's ManagedEventQueue); `event` names it ("Breakpoint", "LoadModule").
  void queue_callback(std::string event,
                      const std::source_location& where = std::source_location::current());
  /// ICorDebugController::HasQueuedCallbacks(NULL) (a scheduling point).
  bool has_queued_callbacks(const std::source_location& where = std::source_location::current());
  /// The debuggee exits (its exit event synchronizes it): NeuterChildrenLeftSideResources
  /// (Stop-Go held, process lock not held), then NeuterChildren under the process lock (every
  /// list neutered and cleared), then the state is exited.
  cordbg::HRESULT exit(const std::source_location& where = std::source_location::current());
  /// ICorDebugController::Detach: requires a synchronized process
  /// (CORDBG_E_PROCESS_NOT_SYNCHRONIZED otherwise), then the same cleanup as exit().
  /// IsReadyForDetach's outstanding evals/steppers/breakpoints checks are not modelled.
  cordbg::HRESULT detach(const std::source_location& where = std::source_location::current());
  /// Reads the state (a scheduling point): true when stopped.
  bool check_synchronized(const std::source_location& where = std::source_location::current());
  /// "Sends an IPC event" to the debuggee: heavy work. From a final Release / destructor:
  /// heavy_cleanup_in_destructor; from an OK_IF_NEUTERED method of a neutered object:
  /// neutered_object_call.
  void send_ipc(const char* event,
                const std::source_location& where = std::source_location::current());

  // --- lists (§4.2) ----------------------------------------------------------------------------
  NeuterList& continue_list() noexcept { return continue_list_; }
  NeuterList& exit_list() noexcept { return exit_list_; }
  LeftSideResourceCleanupList& left_side_list() noexcept { return left_side_list_; }
  DeferredCleanupQueue& deferred_cleanup() noexcept { return deferred_; }
  /// A thread's RefreshStack list (frames, chains, value enums): neutered at every Continue.
  NeuterList& add_refresh_stack_list(std::string thread_name);
  /// An AppDomain's sweepable list (CordbAppDomain::m_SweepableNeuterList: CordbHandleValues and
  /// the values that survive Continue): a LeftSideResourceCleanupList, swept with
  /// SweepNeuterLeftSideResources at every true Continue, after the Exit list.
  LeftSideResourceCleanupList& add_appdomain_list(std::string appdomain_name);

  // --- checks used by the model ----------------------------------------------------------------
  /// O5: left-side ("debuggee") cleanup runs now, at the
  /// step just executed. Not stopped, Stop-Go not held, or process lock held:
  /// left_side_cleanup_while_running. In a final Release / destructor:
  /// heavy_cleanup_in_destructor. In an OK_IF_NEUTERED method: neutered_object_call.
  /// The action reads "{verb} {object} in process '{name}'" ("frees GC handle 'hv' ...");
  /// `object_id` is that object's engine object (the findings are about it).
  void check_left_side_cleanup(std::string_view verb, std::string_view object,
                               const std::source_location& where, ObjectId object_id = kNoObject);
  /// Heavy work (`action`: "neuters X", "sends IPC event E") inside a final Release /
  /// destructor is heavy_cleanup_in_destructor; `acted_on` is the object it works on.
  void check_not_in_destructor(std::string_view action, std::string_view kind,
                               const std::source_location& where, ObjectId acted_on = kNoObject);

  // --- options ---------------------------------------------------------------------------------
  NeuteredCallPolicy neutered_calls = NeuteredCallPolicy::return_hresult;
  /// A call on a disposed handle value (HandleValue::dispose again, dereference).
  DisposedHandlePolicy disposed_handle_calls = DisposedHandlePolicy::report;
  /// The debug-build assert of ~CordbBase: an object is neutered before it is deleted
  /// (a check_failure finding "ICorDebug assertion failed" otherwise).
  bool assert_neutered_before_delete = true;

  // --- history (for tests and reports; off by default) -----------------------------------------
  /// Records, in order: Continue's phases, every Neuter, left-side free and delete.
  void record_history(bool on) noexcept { record_history_ = on; }
  const std::vector<std::string>& history() const noexcept { return history_; }
  bool recording() const noexcept { return record_history_; }
  void note(std::string_view entry);

  /// Keeps a dynamically created object alive as long as the process (an arena: its memory
  /// stays valid after the model deletes it, so late uses are findings, not crashes).
  template <class T>
  T& adopt(std::unique_ptr<T> object) {
    T& ref = *object;
    owned_.push_back(std::unique_ptr<RsObject>(std::move(object)));
    return ref;
  }

 private:
  Process(std::unique_ptr<RsThreads> owned, RsThreads* shared, std::string name,
          ProcessState initial);
  static cordbg::HRESULT terminal_result(ProcessState state) noexcept;
  void set_state(ProcessState s, std::string by, const std::source_location& where);
  cordbg::HRESULT neuter_everything(ProcessState final_state, const char* label,
                                    const std::source_location& where);

  std::unique_ptr<RsThreads> owned_threads_;
  RsThreads* threads_;
  std::string name_;
  hc::ModelCell<ProcessState> state_;
  hc::ModelCell<std::uint32_t> stop_count_;            // m_stopCount
  hc::ModelCell<std::vector<std::string>> callbacks_;  // queued managed callbacks, oldest first
  ObjectId transport_id_;
  // Finding bookkeeping: what set the state and when, the Continue count, the history.
  std::string state_by_;
  std::optional<Provenance> state_changed_;
  std::uint32_t continue_count_ = 0;
  std::uint32_t in_continue_ = 0;
  bool record_history_ = false;
  std::vector<std::string> history_;

  RSLock stop_go_;
  RSLock win32_event_thread_;
  RSLock shim_dispose_;
  RSLock process_lock_;

  NeuterList continue_list_;
  NeuterList exit_list_;
  LeftSideResourceCleanupList left_side_list_;
  DeferredCleanupQueue deferred_;
  std::vector<std::unique_ptr<NeuterList>> refresh_stack_lists_;
  std::vector<std::unique_ptr<LeftSideResourceCleanupList>> appdomain_lists_;
  std::vector<std::unique_ptr<RsObject>> owned_;
};

}  // namespace hc::models

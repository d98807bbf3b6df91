// execution.hpp — the Execution: one run of a scenario under one schedule, and the scheduler.
//
// An Execution owns the simulated threads (fibers on pooled stacks, fiber/context.hpp), the object
// table, the detectors and the lean trace. It is reused: run() resets everything but pooled
// memory, so every execution starts from the same state.
//
// The detectors (detect/*.hpp: deadlock, livelock, race, step bound) are plain structs held as
// members; the scheduling path calls their hooks (on_step, at_decision, on_access) directly,
// inline in this translation unit, and each holds its own state. Rendering a finished
// execution for people (the rich trace, the choice records) is runtime/trace_renderer's.
//
// Scheduling protocol (the invariant every function here keeps):
//  * A simulated thread runs until it parks before its next visible operation, announcing it
//    in pending_[t]. Code between operations is invisible and runs without switching.
//  * The parking thread itself decides who runs next (choose_next, on its own stack): if the
//    strategy keeps it running, nothing switches; otherwise it jumps straight to the chosen
//    fiber (transfer), never through a hub.
//  * Spawning and completing a join are not decisions; a finishing thread hands control
//    straight to its joiner. Nothing can observe either, so nothing is lost.
//  * First runs: a new thread runs to its first park (announcing its first operation) before
//    the next decision, not at its spawn. spawn() only marks it unstarted_; the next thread to
//    park or finish (the spawner at its next operation, as a rule: the "decider") starts the
//    unstarted threads one after another in spawn order, each handing control straight to the
//    next (first_run_next), and the last one takes the decider's decision on its behalf
//    (decide_for: choose_next with the decider made the current thread). So the strategy sees
//    the same enabled threads, pending operations and current thread as if each new thread had
//    run at its spawn, and every schedule is the same; what moves is only code the new thread
//    runs before its first operation, which now runs after its parent's code up to the parent's
//    next operation (as a new OS thread typically starts after its creator went on). Each new
//    thread costs one switch in instead of a switch there and back. A join of a thread that
//    has not started parks its caller; when the first runs finish that thread, the caller goes
//    on without a decision and its join step is unscheduled, as a join of a thread that
//    finished at its spawn was. A thread still in its first run that joins a thread it
//    spawned runs the first runs there and then (run_first_runs), so no decision comes
//    inside a first run.
//  * The execution ends when no thread is enabled, or at a finding: the fiber transfers to the
//    host (the OS thread's own context), which then tears the execution down (below).
//  * A fault of the code under test (a fatal signal, std::terminate, a stack overflow, a thread
//    that stops reaching scheduling points) ends the execution the same way, from a handler:
//    see runtime/faults.hpp.
//  * Each simulated thread has its own errno and C++ exception state (the caught-exception
//    stack and the uncaught count): transfer() saves the leaving thread's and loads the next
//    one's, so `throw;` after a scheduling point rethrows this thread's exception. A slot's
//    next thread starts with errno 0 and no exception (spawn, run).
//
// Sanitizers: under AddressSanitizer every switch is announced (__sanitizer_start_switch_fiber
// before, __sanitizer_finish_switch_fiber after) and a pooled stack is unpoisoned before a new
// fiber uses it (an abandoned fiber's frames may leave poisoned redzones on it). The
// `sanitizers` ctest job builds and runs the suite that way.
//
// Thread life cycle: fibers are created once per thread slot and reused. fiber_main loops: it
// runs a body (run_body), destroys it, hands control on as the finished thread (finish_thread)
// and waits there, suspended, for its next body. spawn() (and run() for main) gives slot t its
// body; t's first run (run() for main) resumes t's waiting fiber; a fiber is created
// (create_fiber) only when the slot has none: its first use, or after its fiber was abandoned.
// fibers_created() counts them.
//
// Teardown (what users' code may rely on; README, "Executions that end early are unwound"):
//  * When an execution ends, every thread still in its body is resumed in turn by the host,
//    children before main (the highest id first: a thread's destructors may use what threads
//    created before it own), with park_flags_.tearing_down set. Nothing it does then changes what
//    the execution left (trace, choices, findings, live and waiting threads).
//  * The operation it was parked in, and any operation it calls later, throws ThreadUnwind (a
//    private type, not a std::exception; run_body catches it) when the throw may be made there
//    (how_to_unwind); when no frame on the way would run anything (no destructor, no catch but
//    run_body's), the body is destroyed and the fiber dropped instead, which costs less than
//    a throw (drop_without_unwinding; the slot gets a new fiber). Where ThreadUnwind may not be
//    thrown, the operation does nothing and returns (teardown_operation):
//    operations never park, schedule, consult the strategy, record steps, report or audit
//    while tearing down. An atomic load returns the value, a lock does not wait, rt::report and
//    HC_CHECK return (end_with).
//  * ThreadUnwind is not thrown while the thread's own exception is in flight
//    (std::uncaught_exceptions() > 0: destructors that unwinding runs), inside
//    join_in_destructor (hc::thread's destructor: the thread it joins was unwound first), or
//    where a noexcept frame would turn it into std::terminate: throw_would_be_caught() walks
//    the frames above and reads their exception tables the way the C++ personality routine
//    does (a destructor parked in an unlock() or a COM Release finishes, and the thread unwinds
//    at its next operation after it).
//  * Fallbacks, counted in unwind_fallbacks(): the thread is abandoned, not unwound further
//    (its fiber dropped, the heap its remaining frames own leaked, the slot gets a new fiber
//    next time), when it is resumed inside fail() or prune() where it may not throw (they
//    cannot return: a finding inside a noexcept function), when std::terminate, a fatal signal
//    or a watchdog interrupt happens while it is unwound (faults.cpp: abandon_in_teardown), and
//    when it calls more than kTeardownOperationBound operations while unwound (a loop waiting
//    for a thread that no longer runs).
//  * A thread a fault stopped (crash, stack overflow, std::terminate, no progress) is never
//    resumed: its state may be corrupt, and its fiber may be suspended in a signal handler.
//    abandoned_threads() counts it and the fallbacks.
//
// Substrates (ExecutionConfig::os_threads): what a simulated thread runs on.
//  * Fibers (the default): every simulated thread of an execution is a fiber on the OS thread
//    that called run(); a switch costs a few nanoseconds. Thread-local storage belongs to the OS
//    thread, so all simulated threads share it: errno and the exception state are swapped at
//    every switch (above), user `thread_local` variables are not. So are the floating-point
//    control words (rounding mode, exception masks and flags, flush-to-zero: MXCSR and the x87
//    control word), which the switch leaves alone: reading MXCSR would cost more than the rest
//    of the switch (fiber/context.hpp). Every execution starts with the control words the OS
//    thread had at its first run(); run() puts them back when the execution left them changed
//    (changed_fp_control(): the control bits changed, not just the exception flags). Between
//    executions the flags are the OS thread's: what the explorer's own arithmetic sets.
//    With ExecutionConfig::fp_env_per_thread each thread keeps its own, at about 3.5 ns per
//    switch: a new thread starts with its parent's, main with the OS thread's.
//  * OS threads: every simulated thread is an OS thread of its own, created when the thread is
//    spawned and ended when it finishes, in every execution; threads pass a baton
//    (fiber/baton.hpp), so exactly one of them (or the host) runs at a time and the scheduling
//    protocol above is unchanged. thread_local variables, errno, the exception state and
//    pthread_self() are each simulated thread's own, and a thread's thread_local destructors
//    run when it finishes, before its joiner goes on (the finish is a pthread key destructor,
//    which glibc runs after them). A switch costs a futex wake and wait (microseconds). The
//    teardown is the same, except that it always throws ThreadUnwind (no dropping of frames: an
//    OS thread cannot leave its frames without ending). An abandoned thread (a fault, a
//    fallback) is reclaimed: it jumps back to the base of its OS thread (siglongjmp, leaving
//    its frames as an abandoned fiber's are) and ends there; only one that faults or hangs
//    again in its thread_local destructors stays blocked for the rest of the process. Native
//    tests (hc/native.hpp) use this substrate.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "detect/deadlock.hpp"
#include "detect/livelock.hpp"
#include "detect/race.hpp"
#include "detect/step_bound.hpp"
#include "fiber/baton.hpp"
#include "fiber/context.hpp"
#include "fiber/stack_pool.hpp"
#include "hc/finding.hpp"
#include "hc/runtime.hpp"
#include "hc/strategy.hpp"
#include "runtime/buffer.hpp"
#include "runtime/faults.hpp"
#include "runtime/vector_clock.hpp"

namespace hc::detail {

/// What a nondeterminism finding tells the user to look for.
inline constexpr const char* kNondeterminismCauses =
    "The scenario depends on something handlecheck does not control. Usual causes: state that "
    "survives from one execution to the next (static or global variables, caches, "
    "singletons); the wall clock, rand() or std::random_device; iteration over containers "
    "keyed or hashed by pointers; real OS threads (std::thread, thread pools: handlecheck "
    "controls only the threads it creates), std::mutex or std::atomic instead of hc:: "
    "primitives";

struct ExecutionConfig {
  std::size_t stack_size = 256 * 1024;
  bool guard_pages = true;
  std::uint32_t max_steps = 10000;
  std::uint32_t livelock_bound = 100;  // decisions without progress before a livelock finding
  bool spurious_wakeups = false;
  /// Ends an execution with an internal error when a model touches a cell outside the
  /// footprint of its thread's current step (RunSettings::audit_footprints).
  bool audit_footprints = false;
  /// Each simulated thread on an OS thread of its own (see "Substrates"; RunSettings).
  bool os_threads = false;
  /// Fibers: each simulated thread keeps its own floating-point control words (see
  /// "Substrates"; RunSettings::fp_env_per_thread).
  bool fp_env_per_thread = false;
  std::vector<std::string> must_reach;
};

/// rt::set_layer_state_destructor's functions, run by ~Execution.
extern std::atomic<void (*)(void*) noexcept> layer_destructors[rt::kLayerSlots];

struct OsThread;  // execution.cpp: an OS thread of the os-threads substrate

class Execution {
 public:
  explicit Execution(ExecutionConfig config);
  ~Execution();
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  /// Runs `body` as thread 0 ("main") under `strategy`. Returns the finding, if any.
  std::optional<Finding> run(const std::function<void()>& body, Strategy& strategy);

  // --- what the last run left (valid until the next run) -----------------------------------
  std::span<const Step> trace() const { return trace_; }
  /// The footprint entries steps keep beyond their object (Step::first_extra, extra_count).
  std::span<const Touch> touches() const { return touches_; }
  /// The decisions the last run made, in order (its schedule).
  std::size_t choice_count() const { return choices_.size(); }
  Choice choice(std::size_t i) const {
    const ChoiceEntry& e = choices_[i];
    return Choice{(e.step & kValueChoice) != 0 ? Choice::Kind::value : Choice::Kind::thread,
                  e.value};
  }
  std::vector<Choice> choices() const;
  /// choices() into `out` (cleared first), keeping its storage.
  void choices_into(std::vector<Choice>& out) const;
  /// The trace index of the step choice `i` chose (thread) or recorded (value).
  std::uint32_t choice_step(std::size_t i) const { return choices_[i].step & kStepBits; }
  /// The model parameters the last run noted (rt::note_parameter), in first-noted order.
  const std::vector<std::pair<const char*, std::string_view>>& parameters() const {
    return parameters_;
  }
  std::uint64_t reached_mask() const { return reached_mask_; }
  /// Whether the strategy cut the last run short (a pick returned nullopt).
  bool pruned() const { return pruned_; }
  /// Live threads of the last run parked before an operation they never ran (not those that
  /// never started: they announced none).
  ThreadMask waiting() const {
    const ThreadMask parked = live_ & ~unstarted_;
    return running_at_end_ < kMaxThreads ? parked & ~(ThreadMask{1} << running_at_end_) : parked;
  }
  const Operation* pending() const { return pending_.data(); }
  /// Threads of the last run that have not finished.
  ThreadMask live() const noexcept { return live_; }
  /// The thread that holds mutex `m` now, or kNoThread.
  ThreadId owner_of(ObjectId m) const noexcept { return objects_[m].owner; }
  /// Whether thread `t`, waiting on a condition variable, was notified (or woke spuriously).
  bool notified(ThreadId t) const noexcept { return threads_[t].notified; }
  /// Every thread but main of the last run: who spawned it, and when.
  std::span<const Spawn> spawns() const { return spawns_; }
  /// Whether thread choice `i` preempted the thread that was running (it was enabled and
  /// another was chosen). Only thread choices preempt: a preemption needs two enabled threads.
  bool preempted_at_choice(std::size_t i) const { return (choices_[i].step & kPreempted) != 0; }
  /// How findings and the trace renderer name an object: "mutex 'm'", "var #3"; empty for none.
  std::string object_label(ObjectId id) const;
  /// A finding at the current step; `refs` become its related_steps and objects (labels).
  Finding make_finding(FindingKind kind, std::string message, const std::source_location* where,
                       const FindingRefs& refs = {}) const;
  std::uint32_t preemption_count() const { return preemption_count_; }
  /// Context switches: steps whose thread is not the thread of the step before.
  std::uint32_t context_switches() const {
    // begin_step counted the first step too (last_step_thread_ starts as no thread).
    return step_thread_changes_ - (trace_.size() != 0 ? 1u : 0u);
  }

  /// The execution running on this OS thread, or nullptr.
  static Execution* current() noexcept;
  /// rt::layer_state: slot `slot` (0 <= slot < rt::kLayerSlots) of this worker's layer state.
  void** layer_state(int slot) noexcept { return &layer_state_[static_cast<std::size_t>(slot)]; }

  // --- the runtime API behind hc::rt (see hc/runtime.hpp) -----------------------------------
  ObjectId register_object(ObjectKind kind, std::string_view name,
                           const std::source_location& declared = {});
  ObjectId register_event(std::string_view name, bool manual_reset, bool initially_set);
  Step* atomic_op(OpKind kind, Access access, ObjectId object, const char* label,
                  std::memory_order order, const std::source_location& where);
  void atomic_release(ObjectId object) noexcept;
  Step* var_op(bool write, ObjectId object, const std::source_location& where);
  ObjectId register_location(const std::source_location& first_touch);
  void plain_access(bool write, ObjectId object, const std::source_location& where);
  rt::HbPoint hb_point() noexcept;
  bool hb_before(rt::HbPoint point) const noexcept;
  void mutex_lock(ObjectId m, const std::source_location& where);
  bool mutex_try_lock(ObjectId m, const std::source_location& where);
  void mutex_unlock(ObjectId m, const std::source_location& where);
  void cv_wait(ObjectId cv, ObjectId m, const std::source_location& where);
  void cv_notify(ObjectId cv, bool all, const std::source_location& where);
  void event_set(ObjectId e, const std::source_location& where);
  void event_reset(ObjectId e, const std::source_location& where);
  void event_wait(ObjectId e, const std::source_location& where);
  ThreadId spawn(std::string_view name, const rt::ThreadBody& body,
                 const std::source_location& where);
  void join(ThreadId t, const std::source_location& where);
  /// join() for hc::thread's destructor: while tearing down it returns instead of unwinding.
  void join_in_destructor(ThreadId t, const std::source_location& where);
  void yield(const std::source_location& where);
  std::uint32_t choose(std::uint32_t n, const char* label, const std::source_location& where);
  void check_failed(std::string message, const char* expression, const std::source_location& where,
                    const FindingRefs& refs);
  std::uint32_t add_invariant(const char* label, rt::InvariantFn fn, void* context);
  void remove_invariant(std::uint32_t token) noexcept;
  void reached(const char* label) noexcept;
  Step* model_op(Access access, ObjectId object, std::span<const Touch> also, const char* label,
                 const std::source_location& where, WaitFor wait);
  /// The footprint audit (rt::audit_touch): ends the execution with an internal error when the
  /// current thread's step does not declare (object, access).
  void audit_touch(ObjectId object, Access access, const std::source_location& where);
  void report(FindingKind kind, std::string message, const std::source_location& where,
              std::string signature, const FindingRefs& refs);
  /// rt::report_for: a finding attributed to thread `t` (its name, its finding context).
  void report_for(ThreadId t, FindingKind kind, std::string message,
                  const std::source_location& where, std::string signature,
                  const FindingRefs& refs);
  /// rt::blocked_on: what thread `t` waits for while it cannot run (cold: models' checks).
  rt::BlockedOn blocked_on(ThreadId t) const noexcept;
  /// Before a query of thread t's state from the running thread (rt::blocked_on): when t has
  /// not started, the first runs run now, so the query sees t parked at its first operation as
  /// it would have been had t run at its spawn. Does nothing while tearing down or in an
  /// invariant (a thread that has not started then reads as not blocked).
  void start_for_query(ThreadId t) noexcept;
  void event_signal(ObjectId event, const std::source_location& where) noexcept;
  void event_clear(ObjectId event, const std::source_location& where) noexcept;
  void push_finding_context(ObjectId object);
  void pop_finding_context() noexcept;
  void note_parameter(const char* key, std::string_view value);
  void set_wait_note(ThreadId t, std::string note, std::uint32_t step);
  /// rt::set_wait_note's note of thread `t` ("" when none) and the step it names.
  const std::string& wait_note(ThreadId t) const { return threads_[t].wait_note; }
  std::uint32_t wait_note_step(ThreadId t) const { return threads_[t].wait_note_step; }
  std::string_view thread_name_view(ThreadId t) const {
    return t < n_threads_ ? std::string_view(threads_[t].name) : std::string_view("?");
  }
  std::uint32_t step_count() const noexcept { return static_cast<std::uint32_t>(trace_.size()); }

  ThreadId current_thread() const noexcept { return current_; }
  /// The running thread's modelled last error (rt::model_last_error).
  std::uint32_t& model_last_error() noexcept { return threads_[current_].model_last_error; }
  bool tearing_down() const noexcept { return park_flags_.tearing_down; }

  // --- faults (runtime/faults.hpp); the handlers call these -----------------------------------
  /// Whether a fault now happened inside a simulated thread of this execution, which can end.
  bool accepts_fault() const noexcept {
    return current_ < kMaxThreads && !park_flags_.tearing_down && !finding_ &&
           fault_.cause == FaultRecord::Cause::none && on_current_os_thread();
  }
  FaultRecord& fault_record() noexcept { return fault_; }
  /// Whether a fault at `address` with stack pointer `sp` ran off the current thread's stack.
  bool overflowed_stack(std::uintptr_t address, std::uintptr_t sp) const noexcept;
  /// Abandons the current simulated thread and ends the execution (the fault record says why).
  [[noreturn]] void abandon_for_fault() noexcept;
  /// Whether a fault now happened inside a simulated thread that the teardown is unwinding.
  bool accepts_teardown_fault() const noexcept {
    return park_flags_.tearing_down && current_ < kMaxThreads && on_current_os_thread();
  }
  /// Whether the caller runs the current simulated thread: always under fibers; under OS
  /// threads, only on that thread's own OS thread (a stray signal to the waiting host or to a
  /// thread that passed the baton is not the current thread's fault).
  bool on_current_os_thread() const noexcept;
  /// Abandons the thread the teardown is unwinding (a fault, std::terminate, an interrupt) and
  /// goes on with the teardown. `mask`: the signal mask to restore, from a signal handler.
  [[noreturn]] void abandon_in_teardown(const sigset_t* mask) noexcept;
  /// In the terminate handler, before abandon_in_teardown: frees ThreadUnwind if it is the
  /// exception that reached a noexcept frame.
  void drop_terminating_unwind() noexcept;

  // --- the thread life cycle, for tests and benchmarks ------------------------------------------
  /// Fibers this Execution created (a slot's first use, or after its fiber was abandoned).
  std::uint64_t fibers_created() const noexcept { return fibers_created_; }
  /// Threads left abandoned at the end of an execution instead of unwound (see the header):
  /// all of them, and those the teardown tried to unwind (the fallbacks; the others are the
  /// threads a fault stopped).
  std::uint64_t abandoned_threads() const noexcept { return abandoned_threads_; }
  std::uint64_t unwind_fallbacks() const noexcept { return unwind_fallbacks_; }
  /// Whether the last run's simulated threads left the floating-point control words (the
  /// rounding mode, exception masks, flush-to-zero) changed, on fibers without
  /// fp_env_per_thread: run() put the OS thread's back (see "Substrates").
  bool changed_fp_control() const noexcept { return changed_fp_control_; }
  /// Operations a thread may call while it is unwound before it is abandoned instead.
  static constexpr std::uint32_t kTeardownOperationBound = 10000;

  // --- the watchdog (explore/watchdog.hpp) -----------------------------------------------------
  /// Counts scheduling points (and execution starts and ends); read from the watchdog thread.
  std::uint32_t heartbeat() const noexcept { return heartbeat_.load(std::memory_order_relaxed); }
  /// Whether an execution is running on this Execution now.
  bool running() const noexcept { return running_.load(std::memory_order_relaxed); }
  /// Asks the handler of kInterruptSignal to end the execution with `cause` if it is still at
  /// heartbeat `seen` when the signal arrives (called from the watchdog thread).
  void request_interrupt(FaultRecord::Cause cause, std::uint32_t seen) noexcept {
    interrupt_.store((std::uint64_t{seen} << 8) | static_cast<std::uint64_t>(cause),
                     std::memory_order_release);
  }
  /// In the handler: takes the pending request if it still applies.
  bool take_interrupt(FaultRecord::Cause* cause) noexcept {
    const std::uint64_t r = interrupt_.exchange(0, std::memory_order_acq_rel);
    if (r == 0 || static_cast<std::uint32_t>(r >> 8) != heartbeat()) return false;
    *cause = static_cast<FaultRecord::Cause>(r & 0xff);
    return true;
  }
  /// os-threads substrate: the kernel thread id of the OS thread that runs the current
  /// simulated thread, for the watchdog; 0 under fibers or while the host runs.
  int running_os_tid() const noexcept;
  /// The watchdog's no-progress bound, for the finding's message (seconds; 0 = none).
  void set_watchdog_seconds(double seconds) noexcept { watchdog_seconds_ = seconds; }
  /// The last run was cut short by a stop request (SIGINT, SIGTERM, the time budget) while a
  /// thread was stuck: it found nothing and must not be counted.
  bool stopped() const noexcept { return stopped_; }

 private:
  static constexpr ThreadId kHost = kMaxThreads;  // the OS thread's own context
  static constexpr std::uint32_t kNoStep = 0xFFFFFFFFu;

  /// libstdc++'s __cxa_eh_globals (unwind-cxx.h): the per-OS-thread exception state.
  struct EhGlobals {
    void* caught_exceptions = nullptr;
    unsigned int uncaught_exceptions = 0;
  };
  static_assert(sizeof(EhGlobals) == 16 && std::is_trivially_copyable_v<EhGlobals>);

  struct ThreadState {
    // How to resume it (fiber/context.hpp): its saved context while another thread runs; once
    // its body finished, its fiber waiting for the next body; null when the slot has no fiber
    // (never used, or abandoned). Stale while it runs.
    void* fiber = nullptr;
    EhGlobals eh;                        // its exception state while another thread runs
    const void* stack_bottom = nullptr;  // AddressSanitizer builds: the stack it runs on
    std::size_t stack_size = 0;
    int error_number = 0;                    // its errno while another thread runs
    ThreadId first_run_decider = kNoThread;  // in its first run: whose decision waits for it
    bool first_runs_return = false;          // decide_for(it) hands control back (run_first_runs)
    ThreadId joiner = kNoThread;             // the thread blocked joining this one
    bool notified = false;                   // condition_variable: may wake
    std::vector<ObjectId> context;           // objects it runs code for (rt::push_finding_context)
    bool woken_by_notify = false;
    // Three bytes that fit the padding before the clock: the layout of the fields the
    // scheduling path reads stays as it was.
    std::uint8_t no_unwind = 0;    // inside join_in_destructor: teardown returns, not throws
    std::uint8_t clock_dirty = 0;  // entries from here up are zero but this run's (see reset())
    bool drop_fiber = false;       // its body was destroyed without unwinding its frames
    VectorClock clock;
    std::string name;  // storage reused from execution to execution
    // The body, moved here by spawn(): inline when small, else on the heap; null once finished.
    alignas(std::max_align_t) unsigned char inline_body[128];
    void* body = nullptr;
    std::size_t heap_align = 0;  // non-zero: body is on the heap with this alignment
    void (*invoke)(void*) = nullptr;
    void (*destroy)(void*) noexcept = nullptr;
    // The modelled GetLastError / errno of the handle models (rt::model_last_error): thread
    // state like errno, 0 when the thread starts; only the thread itself reads or writes it.
    std::uint32_t model_last_error = 0;
    // rt::set_wait_note: why a model's blocked call will not be woken (deadlock findings).
    std::string wait_note;
    std::uint32_t wait_note_step = 0;
    OsThread* os = nullptr;  // os-threads substrate: the OS thread it runs on in this execution

    /// What a thread starts every execution with, whether main or spawned: not in a first run
    /// (first_run_next sets that when its first run begins), nobody joining it, no
    /// notification, not inside join_in_destructor (a thread abandoned there left it set), no
    /// exception in flight, errno and the models' last error 0, no wait note, no finding
    /// context.
    void start() {
      first_run_decider = kNoThread;
      first_runs_return = false;
      joiner = kNoThread;
      notified = false;
      woken_by_notify = false;
      no_unwind = 0;
      eh = EhGlobals{};
      error_number = 0;
      model_last_error = 0;
      wait_note.clear();
      wait_note_step = 0;
      context.clear();
    }
  };

  struct ObjectState {
    ObjectKind kind = ObjectKind::atomic;
    std::string name;
    VectorClock clock;            // release clock of sync objects
    ThreadId owner = kNoThread;   // mutex
    bool manual_reset = false;    // event
    bool signalled = false;       // event
    ThreadMask waiters = 0;       // condition_variable
    std::uint32_t var_index = 0;  // var: index into race_.vars
    bool between_steps = false;   // var: native code's location (rt::register_location)
    /// Where it was declared, when known: an unnamed object's label (object_label).
    std::source_location declared;
  };

  struct Invariant {
    const char* label;
    rt::InvariantFn fn;
    void* context;
    std::uint32_t token;
  };

  void reset();
  void keep_pending_footprints();
  void teardown();
  void create_fiber(ThreadId t);
  /// Runs thread t's bodies, one per execution that uses slot t; never returns.
  [[noreturn]] static void fiber_main(void* self, std::uintptr_t t);
  /// Runs thread t's body and destroys it; catches what escapes it.
  void run_body(ThreadId t);
  /// Destroys thread s's body and frees its storage (see spawn()).
  static void destroy_body(ThreadState& s) noexcept {
    s.destroy(s.body);
    if (s.heap_align != 0) ::operator delete(s.body, std::align_val_t(s.heap_align));
    s.body = nullptr;
    s.heap_align = 0;
  }
  /// Marks `t` finished and hands control on; returns when `t` has its next body.
  void finish_thread(ThreadId t);
  /// An operation of a thread the teardown unwinds: throws ThreadUnwind where the thread may
  /// unwind, else returns nullptr (the operation does nothing); abandons a thread that called
  /// more than kTeardownOperationBound.
  Step* teardown_operation();
  enum class Unwinding : std::uint8_t {
    not_here,        // the operation returns: ThreadUnwind may not be thrown here
    by_throw,        // throw ThreadUnwind
    nothing_to_run,  // no frame would run code on the way to run_body: drop_without_unwinding
  };
  /// How the current thread may unwind here (see "Teardown"). Not noexcept: a noexcept frame
  /// between the search and the throw would read as one that terminates.
  Unwinding how_to_unwind() const;
  /// Destroys the body, and has the teardown drop the fiber instead of throwing through frames
  /// that would run nothing.
  [[noreturn]] void drop_without_unwinding();

  /// Writes the current thread's pending operation in place (building it elsewhere and copying
  /// it costs a store-forwarding stall on every operation); the caller may set the rest.
  Operation& announce(OpKind kind, Access access, WaitFor wait, ObjectId object, const char* label,
                      const std::source_location& where,
                      std::memory_order order = std::memory_order_seq_cst) noexcept;
  /// Parks the current thread before its announced operation; returns the operation's trace
  /// step once it may run, or nullptr during teardown. touches_more: the operation may declare
  /// touches beyond its object (Operation::extra: model operations); the others skip the copy.
  Step* park(bool touches_more = false);
  [[noreturn]] void fail_operation_in_invariant(const Operation& op);
  bool footprint_allows(ObjectId object, Access access) const noexcept;
  /// The trace index of thread t's latest scheduled step (kNoStep before its first): the step
  /// whose footprint the code it runs now must stay within. Value choices and joins of finished
  /// threads are unscheduled entries of that step.
  std::uint32_t scheduled_step_of(ThreadId t) const noexcept;
  Step* begin_step(ThreadId t, const Operation& op, bool touches_more = false);
  /// Picks who runs after the current thread parked or finished; kHost ends the execution.
  ThreadId choose_next();
  /// First runs (see the protocol above). At a park or finish of `t` while first_runs counts
  /// threads: the thread to hand control to (the next first run, or the decision t or its
  /// decider would make).
  ThreadId first_runs_at(ThreadId t);
  /// The next unstarted thread, its first run begun for `decider`; else decide_for(decider).
  ThreadId first_run_next(ThreadId decider);
  /// What `decider` would have handed control to had no first run come between: its joiner or
  /// a decision when it finished; itself, without a decision, when it parked in a join of a
  /// thread the first runs finished (join_done_by_first_runs_); else a decision.
  ThreadId decide_for(ThreadId decider);
  /// Runs every unstarted thread's first run now and returns: a thread in its own first run
  /// joining a thread it spawned (it cannot be a decider: the decision it would wait for is its
  /// own decider's). The join then sees the joinee finished or not, as at its spawn.
  void run_first_runs(ThreadId me);
  /// A strategy's pick that choose_next may follow: one was made, the strategy did not
  /// diverge, and the thread is enabled.
  bool picked_ok(bool picked, ThreadId next, ThreadMask enabled) const noexcept {
    return picked && divergence_.empty() && next < kMaxThreads && ((enabled >> next) & 1u) != 0;
  }
  /// choose_next's pick was not picked_ok: the execution ends (kHost), pruned, or with a
  /// nondeterminism or internal-error finding. Out of line: formatting inline made every step
  /// reserve stack it never used.
  [[gnu::cold, gnu::noinline]] ThreadId refuse_pick(bool picked, ThreadId next, ThreadMask enabled);
  ThreadMask enabled_threads() const noexcept;
  /// Turns the vector clocks on at the first hc::var (clock_width_).
  void start_clocks() noexcept;
  /// The cold ends of the scheduling path, out of line so the hot path keeps a small frame.
  [[noreturn, gnu::cold, gnu::noinline]] void fail_step_bound();
  /// Runs the invariants (rt::add_invariant) before a step; ends the execution if one fails.
  [[gnu::noinline]] void check_invariants_or_fail();
  void transfer(ThreadId to);
  /// transfer() on OS threads, or between fibers that keep their own floating-point control
  /// words: out of line, so the common switch tests one flag.
  [[gnu::noinline]] void transfer_special(ThreadId to);
  /// The fiber switch of transfer(): this thread's errno and exception state saved, `to`'s
  /// loaded, then kSwitch (fiber/context.hpp).
  template <void (*kSwitch)(void**, void*) noexcept>
  void switch_fiber(ThreadId to);
  // The os-threads substrate (see "Substrates"; cold: out of the fiber path).
  [[gnu::noinline]] void transfer_os(ThreadId to);
  /// Starts thread t's OS thread, waiting for its baton; returns 0, or pthread_create's error.
  int create_os_thread(ThreadId t);
  Finding os_thread_finding(ThreadId t, int error) const;
  static void* os_thread_main(void* os);
  static pthread_key_t finish_key();
  /// The pthread key destructor that finishes a simulated thread after its thread_local
  /// destructors ran: hands control on without waiting; the OS thread then ends.
  static void finish_os_thread(void* os);
  /// Lets `to` run, without waiting (transfer_os waits after it; a finished thread does not).
  void hand_off_os(ThreadId to) noexcept;
  /// After the teardown: joins the OS threads of the execution (all ended by then).
  void end_os_threads();
  /// The teardown abandons thread t: its OS thread ends without unwinding its frames.
  void reclaim_os_thread(ThreadId t);
  /// What ends every run, also one that could not start.
  void finish_run() noexcept;
  /// Fibers without fp_env_per_thread: puts the OS thread's control words back if the
  /// execution changed them (changed_fp_control()).
  void restore_fp_control() noexcept;
  /// Ends the execution at `finding`. When the teardown resumes the thread where it may not
  /// unwind, fail() abandons it; end_with() returns (rt::report and HC_CHECK return then).
  [[noreturn]] void fail(Finding finding);
  void end_with(Finding finding);
  [[noreturn]] void prune();
  /// Loads thread `t`'s errno and exception state into the OS thread's.
  void load_thread_state(ThreadId t) noexcept {
    copy_eh(eh_, &threads_[t].eh);
    *errno_ = threads_[t].error_number;
  }
  /// The 16 bytes of an EhGlobals as one copy (the padding after the count goes along): two
  /// fields copied one by one were four instructions on every switch, and two here.
  static void copy_eh(EhGlobals* to, const EhGlobals* from) noexcept {
    std::memcpy(static_cast<void*>(to), from, sizeof(EhGlobals));
  }
  Finding fault_finding();
  std::string divergence_message() const;
  std::optional<Finding> check_invariants();

  /// Appends the labels of thread `t`'s finding context to `f.objects` (once each).
  void add_context_objects(Finding& f, ThreadId t) const;
  const std::string& thread_name(ThreadId t) const { return threads_[t].name; }

  /// What strategies see of this execution at a decision (Decision::view).
  class View final : public ExecutionView {
   public:
    explicit View(const Execution& e) : e_(e) {}
    const Operation& pending(ThreadId t) const override { return e_.pending_[t]; }
    std::span<const Step> trace() const override { return e_.trace_; }
    std::span<const Touch> touches() const override { return e_.touches_; }
    std::string_view thread_name(ThreadId t) const override { return e_.thread_name_view(t); }

   private:
    const Execution& e_;
  };
  const View view_{*this};
  /// The decision strategies are asked about, kept from decision to decision: its sink and its
  /// view never change, so choose_next sets only the five fields that do.
  Decision decision_{DivergenceSink(&divergence_), 0, kNoThread, false, 0, 0, view_};

  ExecutionConfig config_;
  StackPool::Lease pool_;  // a spare pool of the process's, given back at the end
  std::array<ThreadState, kMaxThreads + 1> threads_;
  std::array<Operation, kMaxThreads> pending_{};
  int n_threads_ = 0;
  ThreadMask live_ = 0;
  ThreadMask finished_ = 0;
  /// Spawned threads whose first run has not begun (see "First runs" above): live, with no
  /// pending operation yet.
  ThreadMask unstarted_ = 0;
  /// decide_for let a thread parked in a join go on, its joinee finished by first runs: the
  /// join's step is unscheduled (join() reads and clears it).
  bool join_done_by_first_runs_ = false;
  /// Threads whose pending operation waits for something (Operation::wait != nothing): the
  /// only ones enabled_threads() must look at; every other live thread is enabled. announce()
  /// keeps it, so no step rescans every thread.
  ThreadMask waiting_ = 0;
  /// Threads of waiting_ parked in a join of a thread that has not finished: disabled until
  /// it does (finish_thread clears them), so enabled_threads() skips them. Main joining its
  /// threads waits through most of an execution, and was examined again at every decision.
  ThreadMask join_blocked_ = 0;
  ThreadMask yielded_ = 0;         // yielded since another thread last wrote
  ThreadMask spurious_woken_ = 0;  // woke spuriously since another thread last wrote
  ThreadId current_ = kHost;
  bool os_threads_ = false;          // config_.os_threads, beside what transfer() reads
  bool fp_env_per_thread_ = false;   // config_.fp_env_per_thread, likewise
  bool special_switch_ = false;      // either: transfer() goes through transfer_special()
  std::size_t yield_scan_from_ = 0;  // trace index from which writes clear yield flags

  // The detectors: plain members whose hooks the scheduling path calls directly (detect/).
  DeadlockDetector deadlock_;
  StepBoundDetector step_bound_;
  LivelockDetector livelock_;
  RaceDetector race_;

  std::vector<ObjectState> objects_;
  std::uint32_t n_objects_ = 0;
  /// How many entries of the vector clocks are maintained: 0 until the execution registers
  /// its first hc::var (only the race detector reads clocks), then n_threads_. See
  /// start_clocks() for why starting late gives the same verdicts.
  int clock_width_ = 0;

  Buffer<Step> trace_;
  Buffer<Touch> touches_;               // footprint entries of model steps beyond their object
  std::vector<Touch> pending_touches_;  // pending operations' footprints, kept over teardown
  /// One decision: the thread or value chosen, and the trace index of its step with two flags
  /// above it (kValueChoice: a choose(); kPreempted: the running thread was enabled and another
  /// was chosen). One record per decision: the choice, its step and a preemption were three
  /// lists appended to on the scheduling path. A trace holds fewer than 2^30 steps (40 GiB).
  struct ChoiceEntry {
    std::uint32_t value;
    std::uint32_t step;
  };
  static constexpr std::uint32_t kPreempted = 0x8000'0000u;
  static constexpr std::uint32_t kValueChoice = 0x4000'0000u;
  static constexpr std::uint32_t kStepBits = 0x3FFF'FFFFu;
  Buffer<ChoiceEntry> choices_;
  std::uint32_t preemption_count_ = 0;
  // Counted as steps begin: about 5 instructions a step, where the explorer's loop over the
  // trace after each execution took 8. (Counting only at park()'s switches, with the cases
  // where that is not exact compared by hand, cost as much a point and more per execution.)
  std::uint32_t step_thread_changes_ = 0;
  ThreadId last_step_thread_ = kNoThread;
  std::vector<std::pair<const char*, std::string_view>> parameters_;
  Buffer<Spawn> spawns_;
  std::vector<Invariant> invariants_;
  std::uint32_t next_invariant_token_ = 1;
  std::uint64_t reached_mask_ = 0;

  Strategy* strategy_ = nullptr;  // the strategy's decider(): whoever makes the picks
  std::optional<Finding> finding_;
  std::string divergence_;
  /// What park() must look at before it decides, in one word it tests at once (each was a
  /// test of its own on every scheduling point): the execution is being torn down, an
  /// invariant runs, there are invariants to check, a new thread has a first run to make.
  struct ParkFlags {
    bool tearing_down = false;
    bool in_invariant = false;
    bool invariants = false;  // !invariants_.empty()
    // Threads spawned whose first run has not ended: the unstarted ones and the one running
    // its first run (ThreadState::first_run_decider set), if any.
    std::uint8_t first_runs = 0;
    bool any() const noexcept { return std::bit_cast<std::uint32_t>(*this) != 0; }
  };
  static_assert(sizeof(ParkFlags) == 4);
  ParkFlags park_flags_;
  bool pruned_ = false;
  ThreadId running_at_end_ = kNoThread;  // the thread a finding stopped while it ran

  EhGlobals* eh_ = nullptr;  // this OS thread's exception state (set by run())
  int* errno_ = nullptr;     // this OS thread's errno (set by run())
  FaultRecord fault_;
  bool stopped_ = false;
  double watchdog_seconds_ = 0;
  std::atomic<std::uint32_t> heartbeat_{0};
  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> interrupt_{0};  // heartbeat << 8 | cause, 0 = none

  // The teardown and the thread life cycle (cold: after everything the scheduling path reads).
  std::uint32_t teardown_ops_ = 0;      // operations the thread being unwound called
  bool teardown_restore_mask_ = false;  // abandon_in_teardown from a signal handler
  sigset_t teardown_mask_{};
  std::uint64_t fibers_created_ = 0;
  Baton host_baton_;                                   // os-threads: the host waits here
  std::atomic<const OsThread*> running_os_{nullptr};   // os-threads: for the watchdog
  std::vector<std::unique_ptr<OsThread>> os_records_;  // os-threads: joined, for reuse
  std::array<void*, rt::kLayerSlots> layer_state_{};   // rt::layer_state
  std::uint64_t abandoned_threads_ = 0;
  std::uint64_t unwind_fallbacks_ = 0;
  // Fibers sharing the floating-point control words: the OS thread's, from the first run().
  std::uint64_t host_fp_control_ = 0;
  bool host_fp_control_known_ = false;
  bool changed_fp_control_ = false;
};

}  // namespace hc::detail

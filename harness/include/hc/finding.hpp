// hc/finding.hpp — what a run can find: the closed enum of finding kinds with stable names,
// the Finding record, and the expected verdict a scenario declares.
//
// Kinds are printed, stored in replay files and matched by tests by their kebab-case names;
// never renumber or rename one. Harness bugs are `internal_error`, never a user-facing kind.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/operation.hpp"

namespace hc {

enum class FindingKind : std::uint8_t {
  // --- the engine -----------------------------------------------------------------------------
  check_failure,        // HC_CHECK or an invariant was false
  uncaught_exception,   // an exception escaped a simulated thread
  deadlock,             // no thread enabled while some have not finished
  data_race,            // two hc::var accesses, one a write, not ordered by happens-before
  step_bound_exceeded,  // an execution ran more steps than --max-steps (spin loop, livelock)
  unreached,            // a label the scenario must reach was reached by no execution
  nondeterminism,       // a failing execution, re-run from its choices, did something else
  internal_error,       // handlecheck's own bug: not the scenario's fault
  // --- handle tables (models/handle_table.hpp) -------------------------------------------------
  stale_handle_use,     // a raw value used after its close, now naming another object
  invalid_handle_use,   // a value that names nothing (never opened, or closed and not reused)
  double_close,         // a second close of one (value, generation)
  close_by_non_owner,   // closed by code that does not own the handle
  close_while_waiting,  // closed while another thread waits on it
  wrong_type_use,       // an operation the object's type does not support
  handle_leak,          // handles still open at the end of an execution
  // --- SafeHandle / CriticalHandle (models/safe_handle.hpp, critical_handle.hpp) ---------------
  release_handle_failed,     // ReleaseHandle returned false (the releaseHandleFailed MDA)
  refcount_underflow,        // a release without a matching acquire (SafeHandle, COM)
  addref_in_release_handle,  // DangerousAddRef on a closing handle from its own ReleaseHandle
  safe_handle_invariant,     // one of DOMAIN.md's I1-I5 broken
  release_handle_twice,      // ReleaseHandle ran twice (CriticalHandle's racing Close)
  // --- GC and finalizer (models/gc.hpp) --------------------------------------------------------
  finalizer_exception,      // an exception escaped a finalizer: process termination
  finalizer_blocked,        // the finalizer thread blocked beyond the bound
  use_of_finalized_object,  // an object used after its finalizer ran
  finalizer_ran_twice,      // one object finalized twice
  // --- COM objects (models/com_object.hpp) -----------------------------------------------------
  use_after_destruction,  // a destroyed object used (through which reference)
  addref_from_zero,       // AddRef on an object whose count already reached 0
  double_destruction,     // an object destroyed twice
  // --- ICorDebug-style lifetime (models/neuter.hpp, models/process.hpp) ------------------------
  neutered_object_call,             // a call on a neutered object that succeeded
  left_side_cleanup_while_running,  // debuggee resources freed while it runs
  lock_order_violation,             // a lock taken against the lock hierarchy
  heavy_cleanup_in_destructor,      // neutering or IPC from a destructor / Release
  // --- the engine, added later (kinds are never renumbered) -----------------------------------
  livelock,  // every runnable thread keeps yielding and nobody writes: no progress is possible
  // --- faults of the code under test (the run survives them; see runtime/faults.hpp) ---------
  crash,           // a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) or std::terminate
  stack_overflow,  // a simulated thread ran off the end of its stack
  no_progress,     // a simulated thread ran past the watchdog bound without a scheduling point
  // --- the models, added later (DOMAIN.md 10: B12, B15, B17, B23, COM leaks, user memory) ------
  handle_invalidated_in_use,         // SetHandleAsInvalid while other users still hold references
  child_used_after_parent_release,   // a child handle used or released after its parent's release
  release_after_subsystem_shutdown,  // a Release or close into a subsystem already torn down
  handle_used_after_dispose,         // an ICorDebug handle value used after its Dispose
  com_object_leak,                   // COM objects still referenced at the end of an execution
  use_after_free,                    // tracked user memory used after its owner freed it
  double_free,                       // tracked user memory freed twice
  // --- asynchronous I/O (models/async_io.hpp; issue 18) ---------------------------------------
  io_completed_after_free,  // an I/O completion wrote into a buffer / OVERLAPPED already freed
  // --- POSIX descriptor I/O (models/posix_io.hpp) ----------------------------------------------
  event_for_reused_descriptor,  // an epoll event handled through a number that was closed and
                                // now names another description (or nothing)
  // --- POSIX descriptor tables (models/handle_table.hpp: fork/exec) ---------------------------
  descriptor_inherited,  // a private descriptor survived fork+exec (no O_CLOEXEC)
  // --- thread affinity (models/subsystem.hpp apartments, models/loop_affinity.hpp) ------------
  release_on_wrong_thread,  // a thread-affine object released off its owning thread
};

inline constexpr int kFindingKindCount = 46;
static_assert(kFindingKindCount <= 64, "Expected keeps the kinds it accepts in 64 bits");

/// Stable kebab-case name ("check-failure", "deadlock", ...).
std::string_view finding_kind_name(FindingKind kind);
/// Parses a stable name; nullopt if unknown.
std::optional<FindingKind> parse_finding_kind(std::string_view name);

/// One step of a failing execution, formatted for people (recorded when a finding is re-run).
struct RichStep {
  std::uint32_t index = 0;  // 1-based step number
  ThreadId thread = kNoThread;
  std::string thread_name;
  std::string operation;  // "atomic-load", "mutex-lock", ...
  std::string object;     // "atomic 'counter'", "" if none
  std::string label;
  std::string file;
  std::uint32_t line = 0;
  bool has_value = false;
  std::uint64_t value = 0;
  bool preemption = false;  // the thread before this step was still enabled
  /// A compare-exchange of an hc::atomic (operation "atomic-cas"): whether it wrote (its
  /// `value` is what it read either way). nullopt for every other operation.
  std::optional<bool> succeeded;
};

/// A thread a deadlock left blocked (DeadlockDetector fills Finding::blocked): the operation
/// it announced and can never run, and the thread it waits for.
struct BlockedThread {
  /// The pending operation as a trace step would show it (thread, operation, object, label,
  /// site); index 0: it never ran.
  RichStep pending;
  /// "to lock mutex 'B', held by thread 'T2'": what the message says it waits for.
  std::string waits_for;
  /// The thread that must act first (a mutex's owner, a join target); kNoThread when none can
  /// (an event nobody will set, a notification nobody will send).
  ThreadId waits_on = kNoThread;
  std::string waits_on_name;
};

/// What a choice of a failing execution chose, in words: replay files match steps by thread
/// name and operation label, so a reproducer survives unrelated code changes.
struct ChoiceRecord {
  std::uint32_t step = 0;   // the 1-based step the choice decided
  std::string thread_name;  // the thread that ran it (thread choices) or chose (value choices)
  std::string operation;    // "atomic-load", "model", "choice", ...
  std::string label;        // the operation's label, or the choose() label
  std::string file;
  std::uint32_t line = 0;
};

/// An object a finding is about, as its reporter knows it: by id (an hc:: primitive's or a
/// model's rt::register_object id), or, for an object a model knows only by the label it was
/// given (a handle's owner or closer, "SafeFileHandle 'log'"), by that label. The execution
/// turns both into the object's trace label when it records the finding.
struct ObjectRef {
  ObjectId id = kNoObject;
  std::string label;  // used when id is kNoObject; must equal the object's trace label
  // Implicit on purpose: `.objects = {table_id, owner_label}`.
  ObjectRef(ObjectId object) : id(object) {}                           // NOLINT
  ObjectRef(std::string_view object_label) : label(object_label) {}    // NOLINT
  ObjectRef(const std::string& object_label) : label(object_label) {}  // NOLINT
  ObjectRef(const char* object_label) : label(object_label) {}         // NOLINT
};

/// What a finding refers to, given by whoever reports it (rt::report, the engine's detectors),
/// so that reports never have to parse the message:
///
///   rt::report(kind, message, where, signature,
///              {.steps = {now.step, closed.step}, .objects = {object, table}});
///
/// Built only when a finding is reported: nothing here costs an allocation per operation.
struct FindingRefs {
  /// The 1-based steps the message mentions ("closed by thread 'T2' at step 3", "taken at step
  /// 7", "(step 4)"), in the order it mentions them; the step the finding is at included when
  /// the message names it. Step 0 ("not recorded") is dropped.
  std::vector<std::uint32_t> steps;
  /// The objects the finding is about, in the order a report should list them: the ones it
  /// acts on or names first, containers (a handle table) after. Objects this execution does
  /// not know (kNoObject, a label no object has) are dropped.
  std::vector<ObjectRef> objects;
};

/// A bug found by an execution.
struct Finding {
  FindingKind kind = FindingKind::internal_error;
  std::string message;  // the protocol error, in the domain's words
  ThreadId thread = kNoThread;
  std::string thread_name;  // the thread that hit it (empty for whole-execution findings)
  std::uint32_t step = 0;   // the step at which it was found (0: at the end)
  std::string file;         // source location that reported it, when there is one
  std::uint32_t line = 0;
  std::string signature;  // de-duplication key: kind + sites, never step numbers or addresses

  // What the finding refers to, recorded by its reporter (FindingRefs) — never parsed from
  // the message. Reports build the lifecycles, the causal slice and the HTML links from these.
  /// The 1-based steps of the trace the message refers to (where the handle was created,
  /// closed or reused, the earlier racing access, the lock taken earlier, the finding's own
  /// step when the message names it ...), in the order the message mentions them, each once.
  std::vector<std::uint32_t> related_steps;
  /// The objects the finding is about, named exactly as RichStep::object names them ("atomic
  /// 'counter'", "handle table 'process'", "SafeFileHandle 'log'"), each once, in the order
  /// the reporter gave them.
  std::vector<std::string> objects;

  /// Deadlocks: every thread left blocked, in thread id order, and the wait-for cycle (thread
  /// ids, from its lowest, each once; empty when the waits form no cycle). For the reports'
  /// lanes and arrows; the message says the same in words.
  std::vector<BlockedThread> blocked;
  std::vector<ThreadId> wait_cycle;

  // Filled by the explorer when it re-runs the failing execution:
  std::vector<Choice> schedule;             // the choices that reproduce it
  std::vector<ChoiceRecord> schedule_info;  // the same choices in words (parallel to schedule)
  std::vector<std::pair<std::string, std::string>> parameters;  // model parameters noted
  std::vector<RichStep> trace;                                  // the interleaving
  std::uint64_t execution = 0;  // index of the execution that found it
  std::uint32_t preemptions = 0;
  /// Where a sequential search meets it: the work unit of the execution that found it and that
  /// execution's index in its unit (unit 0 when the run is not partitioned). Shards number
  /// units alike, so `merge` orders the findings of several shards as one run orders them.
  std::uint64_t unit = 0;
  std::uint64_t unit_execution = 0;
};

/// The verdict a scenario expects: clean, or a finding of one of its kinds whose message
/// contains ScenarioInfo::message (if non-empty). Usually one kind (`.expect = deadlock`);
/// hc::expect_any accepts several, for a bug whose kind depends on the schedule a strategy
/// reaches first (the same hang is a deadlock on one schedule and a finalizer-blocked finding
/// on another). A finding of any other kind, or none, is not the expected verdict.
struct Expected {
  std::optional<FindingKind> kind;  // nullopt = clean; else the first kind accepted
  std::uint64_t others = 0;         // bit k set: FindingKind k is accepted too (expect_any)
  Expected() = default;
  Expected(FindingKind k) : kind(k) {}  // NOLINT: implicit on purpose: `.expect = deadlock`
  bool clean() const { return !kind.has_value(); }
  /// Whether a finding of kind `k` is the expected verdict.
  bool accepts(FindingKind k) const {
    return kind && (*kind == k || ((others >> static_cast<unsigned>(k)) & 1) != 0);
  }
  /// The kinds accepted, the first one first, then in enum order (empty: clean).
  std::vector<FindingKind> kinds() const {
    std::vector<FindingKind> out;
    if (!kind) return out;
    out.push_back(*kind);
    for (unsigned k = 0; k < 64; ++k) {
      if (((others >> k) & 1) != 0 && k != static_cast<unsigned>(*kind))
        out.push_back(static_cast<FindingKind>(k));
    }
    return out;
  }
};

/// `.expect = hc::clean` in a scenario declaration.
inline const Expected clean{};

/// `.expect = hc::expect_any({hc::FindingKind::deadlock, hc::FindingKind::finalizer_blocked})`:
/// a finding of any of these kinds (at least one) is the expected verdict.
inline Expected expect_any(std::initializer_list<FindingKind> kinds) {
  Expected e;
  for (const FindingKind k : kinds) {
    if (!e.kind) {
      e.kind = k;
    } else if (k != *e.kind) {
      e.others |= std::uint64_t{1} << static_cast<unsigned>(k);
    }
  }
  return e;
}

/// The expected verdict in words: "clean", "deadlock", "deadlock or finalizer-blocked".
std::string expected_kinds_text(const Expected& expected);

}  // namespace hc

// hc/runtime.hpp — the one door from instrumented primitives into the engine.
//
// Every primitive in hc/ (thread, atomic, var, mutex, ...) is a thin wrapper: it calls one of
// these functions, which reach the execution running on this OS thread (loom's single
// accessor), park the calling simulated thread at a scheduling point, apply the detectors and
// return. All logic lives in harness/src/runtime; nothing here is for end users to call.
//
// Calling any of these outside an execution throws hc::usage_error with a message saying what
// to do. While an execution is being torn down (its threads unwound after a finding, a deadlock
// or a prune: runtime/execution.hpp, "Teardown") they do nothing: they never park, and they
// either return at once or, where the caller may let an exception out, throw the teardown's
// unwinding exception again, so destructors such as lock_guard's are safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "hc/finding.hpp"
#include "hc/operation.hpp"

namespace hc {

/// Misuse of the API: a primitive used outside an execution, too many threads, ...
class usage_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A value with the source location of the expression that produced it. Assignment
/// operators take one, so `x = 42;` records the line of the assignment, not of a header.
template <class T>
struct located {
  T value;
  std::source_location where;
  located(T v, const std::source_location& w = std::source_location::current())  // NOLINT
      : value(std::move(v)), where(w) {}
};

namespace rt {

/// True while the calling code runs inside a simulated thread of an execution.
bool in_execution() noexcept;
/// The calling simulated thread (kNoThread outside an execution).
ThreadId current_thread() noexcept;

/// A source file as reports print it: relative to handlecheck's source tree when it is inside
/// it (also when the compiler was given a path relative to the build tree), else as given.
std::string display_path(std::string_view file);

/// Registers an object of this execution and returns its id (creation order). An object
/// without a name is named after `declared`, its declaring site ("atomic at f.cpp:12"), when
/// that is known and not in a standard library header; else by kind and id ("atomic #2").
ObjectId register_object(ObjectKind kind, std::string_view name,
                         const std::source_location& declared = {});
/// Registers an event (Win32 style): manual or auto reset, initially signalled or not.
ObjectId register_event(std::string_view name, bool manual_reset, bool initially_set);

/// Atomic operation: parks, then applies happens-before: acquire unless `access` is a pure
/// write; release when it writes (a store or a read-modify-write). A compare-exchange
/// (OpKind::atomic_cas) releases only by calling atomic_release() when it succeeds: a failed
/// one is a read. Returns the trace step (to record the value), or nullptr during teardown.
Step* atomic_op(OpKind kind, Access access, ObjectId object, const char* label,
                std::memory_order order, const std::source_location& where);
void atomic_release(ObjectId object) noexcept;

/// Plain shared memory access: parks, then checks for a data race against earlier accesses.
Step* var_op(bool write, ObjectId object, const std::source_location& where);

/// Unmodified C++ code (handlecheck::native): a plain memory location the code under test
/// touched, registered on its first access (an ObjectKind::var named after `first_touch`).
/// Unlike an hc::var it starts untouched: registering it is no access by anyone.
ObjectId register_location(const std::source_location& first_touch);
/// A plain access to a location of register_location(), checked for a data race against
/// earlier accesses with the threads' happens-before, WITHOUT a scheduling point (native code
/// makes one per load and store). The access counts as after the thread's latest step (its
/// race findings say "after step N"). Does nothing outside a simulated thread or in teardown.
void plain_access(bool write, ObjectId location, const std::source_location& where);
/// A point of the calling simulated thread's history, for native code's own happens-before
/// checks (handlecheck::native's descriptor shadow): hb_point() marks now (later events of the
/// thread come after it); hb_before(p) says whether p happens before what the calling thread
/// does next, through the program's synchronisation (locks, atomics, thread start and join).
/// Neither is a scheduling point. Outside a simulated thread hb_point() gives an empty point,
/// which happens before everything.
struct HbPoint {
  ThreadId thread = kNoThread;
  std::uint32_t clock = 0;
};
HbPoint hb_point() noexcept;
bool hb_before(HbPoint point) noexcept;
/// Called on the OS thread that runs an execution, before its first simulated thread starts
/// (handlecheck::native: per-OS-thread state an execution that ended abruptly left behind).
/// One hook per process; nullptr removes it.
using ExecutionStartHook = void (*)() noexcept;
void set_execution_start_hook(ExecutionStartHook hook) noexcept;
/// State of a runtime layered on the engine (handlecheck::native), one pointer per slot and per
/// worker (per Execution, kept from one run to the next): the same for every simulated thread
/// of the worker's executions, whether they run on fibers or on OS threads of their own (a
/// thread_local would not be). layer_state(i) is nullptr outside an execution; the slot starts
/// null; the layer allocates on first use and registers, once per slot and process, what
/// frees it when the Execution ends.
inline constexpr int kLayerSlots = 4;
void** layer_state(int slot) noexcept;
void set_layer_state_destructor(int slot, void (*destroy)(void*) noexcept) noexcept;

void mutex_lock(ObjectId mutex, const std::source_location& where);
bool mutex_try_lock(ObjectId mutex, const std::source_location& where);
void mutex_unlock(ObjectId mutex, const std::source_location& where);

/// Releases `mutex`, waits for a notification (or a spurious wake-up, when enabled), reacquires.
void cv_wait(ObjectId cv, ObjectId mutex, const std::source_location& where);
void cv_notify(ObjectId cv, bool all, const std::source_location& where);

void event_set(ObjectId event, const std::source_location& where);
void event_reset(ObjectId event, const std::source_location& where);
void event_wait(ObjectId event, const std::source_location& where);

/// A thread body, type-erased: the runtime moves it into storage owned by the new thread.
struct ThreadBody {
  std::size_t size;
  std::size_t align;
  void (*relocate)(void* dst, void* src);  // move-construct *dst from *src
  void (*invoke)(void* self);
  void (*destroy)(void* self) noexcept;
  void* source;
};

/// Creates a simulated thread, which runs to its first operation before the next decision (at
/// its parent's next operation; not a scheduling point: nothing can observe it before then).
/// Returns kNoThread, leaving `body` to the caller, only when no thread was made (the execution
/// is over); otherwise the thread owns its body, even if the execution ends before it starts.
ThreadId spawn(std::string_view name, const ThreadBody& body, const std::source_location& where);
/// Waits for `thread` to finish. Not a scheduling point when it already has.
void join(ThreadId thread, const std::source_location& where);
/// Whether the current execution has ended and its threads are being unwound (see
/// runtime/execution.hpp, "Teardown"): operations do nothing then, and a destructor that checks
/// end-of-execution state (a leak check) must not report.
bool tearing_down() noexcept;
/// join() from a noexcept context (hc::thread's destructor and move assignment), or from a join
/// its caller must see return (native pthread_join: std::thread marks its thread joined only
/// then): when the execution is being torn down it returns instead of unwinding the caller (see
/// runtime/execution.hpp, "Teardown").
void join_in_destructor(ThreadId thread, const std::source_location& where);
/// A scheduling point that promises the caller cannot progress until another thread writes
/// shared state (a spin-wait); the scheduler then prefers other threads (see hc/thread.hpp).
void yield(const std::source_location& where);

/// A value choice in [0, n): explored by exhaustive strategies, drawn by random ones.
std::uint32_t choose(std::uint32_t n, const char* label, const std::source_location& where);

/// Ends the execution with a check-failure finding; `refs` are the objects (and steps) it is
/// about (hc::about). Returns only outside a live execution (teardown), where it does nothing.
void check_failed(std::string message, const char* expression, const std::source_location& where,
                  FindingRefs refs = {});

/// Invariants: predicates checked after every step until removed.
using InvariantFn = bool (*)(void* context);
std::uint32_t add_invariant(const char* label, InvariantFn fn, void* context);
void remove_invariant(std::uint32_t token) noexcept;

/// Marks `label` as reached in this execution (see hc::reached).
void reached(const char* label) noexcept;

// --- for models (models/): their operations, findings and provenance -------------------------

/// A model operation (OpKind::model): parks, then applies happens-before like an atomic
/// read-modify-write on `object` (acquire, and release unless `access` is a read): kernel
/// calls are synchronised. `label` names the operation ("CloseHandle", "DangerousAddRef").
/// With `wait` = WaitFor::event_set, `object` must be an event and the thread blocks until it
/// is set (an auto-reset event is then reset). Returns the trace step, or nullptr in teardown.
/// Without a footprint (the overload below) the operation may touch anything: dpor orders it
/// with every other step (kUndeclaredFootprint), correct but not reduced.
Step* model_op(Access access, ObjectId object, const char* label, const std::source_location& where,
               WaitFor wait = WaitFor::nothing);

/// The same with a footprint: `also` lists every further object the operation may read or
/// write while it runs — from this step until its thread's next scheduling point — (at most
/// kMaxExtraTouches; kAllModelObjects for an operation that scans the whole model). dpor orders
/// two model steps only when their footprints conflict (strategy/dependence.hpp), and the
/// footprint audit checks every ModelCell access against it. Entries naming kNoObject are
/// ignored (an optional touch may stay in a fixed array). `also` is read while the thread is
/// parked: it must outlive the call (a local array at the call site does).
Step* model_op(Access access, ObjectId object, std::span<const Touch> also, const char* label,
               const std::source_location& where = std::source_location::current(),
               WaitFor wait = WaitFor::nothing);

/// The footprint audit (RunSettings::audit_footprints): the calling thread's current step must
/// declare (object, access), else the execution ends with an internal error naming the object,
/// the step and `where`. ModelCell calls it on every access; nothing else needs to.
void audit_touch(ObjectId object, Access access, const std::source_location& where);

/// Ends the execution with a finding of a model. `signature` de-duplicates findings across
/// executions: the kind plus the sites and names that identify the bug, never step numbers.
/// `refs` says what the message refers to — every "step N" it mentions, in order, and the
/// objects the finding is about (see FindingRefs) — so reports need not parse the message.
/// Returns only outside a live execution (teardown), where it does nothing.
void report(FindingKind kind, std::string message, const std::source_location& where,
            std::string signature, FindingRefs refs = {});

/// What a thread waits for while it cannot run: the wait of the operation it is parked at
/// (WaitFor::nothing when it can run now — it is running, enabled but not chosen, i.e.
/// preempted, or finished), the object it waits for (a mutex, an event, a condition variable),
/// where its code waits, and the thread that holds what it needs (a mutex's owner, the thread it
/// joins; kNoThread when nobody holds it: an event not set, a notification not sent).
struct BlockedOn {
  WaitFor wait = WaitFor::nothing;
  ObjectId object = kNoObject;
  ThreadId holder = kNoThread;
  std::source_location where{};
};
/// For models' checks between steps (an invariant, where the thread that just parked counts
/// as parked): what `thread` waits for now. Reads the scheduler's state only; not a scheduling
/// point.
BlockedOn blocked_on(ThreadId thread) noexcept;
/// How findings name an object of the current execution ("mutex 'ui lock'"); empty if none.
std::string object_label(ObjectId object);
/// rt::report, attributed to `thread` instead of the calling thread: a finding about a thread
/// that cannot report it itself because it is blocked (finalizer-blocked, raised by a check
/// that runs between other threads' steps). Its objects include `thread`'s finding context.
void report_for(ThreadId thread, FindingKind kind, std::string message,
                const std::source_location& where, std::string signature, FindingRefs refs = {});

/// The calling simulated thread's modelled last error: GetLastError / errno of the handle
/// models (hc/models), thread state as on Windows (the TEB) and POSIX (errno). 0 when the thread
/// starts; one value per thread, whatever table or API set it. Only the thread itself touches
/// it, so it is no dependence between threads (no footprint). Throws usage_error outside an
/// execution.
std::uint32_t& model_last_error();

/// The name of a thread of the current execution ("main", "finalizer", ...).
std::string_view thread_name(ThreadId thread);
/// Steps executed so far in the current execution (the next step is this number + 1).
std::uint32_t current_step() noexcept;
/// Sets / clears an event without a scheduling point (a model's internal signal, part of a
/// model operation that already had its scheduling point).
/// Part of the calling step's footprint: the audit checks the step declared the event.
void event_signal(ObjectId event,
                  const std::source_location& where = std::source_location::current()) noexcept;
void event_clear(ObjectId event,
                 const std::source_location& where = std::source_location::current()) noexcept;
/// While a model runs code on behalf of an object — its finalizer, its ReleaseHandle, its
/// destructor — findings of the calling thread are about that object too: it is appended to
/// their Finding::objects (outermost first). Use FindingContext, which pairs the calls.
void push_finding_context(ObjectId object);
void pop_finding_context() noexcept;

/// Why `thread`, blocked in a model's call, will not be woken by what just happened (a POSIX
/// close(2) that, on Linux, does not wake a read blocked on the same descriptor): a deadlock
/// finding appends `note` to that thread's line and lists `step` (0: none) among its steps.
/// An empty note clears it; the model clears it when the thread's call resumes. Notes are reset
/// when a thread starts. Not a scheduling point; does nothing during teardown.
void set_wait_note(ThreadId thread, std::string note, std::uint32_t step = 0);

/// Records a model parameter that shapes the run ("handle reuse" = "lifo"): replay files carry
/// them, and a replay whose scenario now uses another value says so. `key` and `value` must be
/// static strings (no allocation per execution); the first setting of a key stands.
void note_parameter(const char* key, std::string_view value);

}  // namespace rt

/// Scope of rt::push_finding_context / pop_finding_context: `FindingContext in(object_id);`
/// around a finalizer or a ReleaseHandle call.
class FindingContext {
 public:
  explicit FindingContext(ObjectId object) { rt::push_finding_context(object); }
  ~FindingContext() { rt::pop_finding_context(); }
  FindingContext(const FindingContext&) = delete;
  FindingContext& operator=(const FindingContext&) = delete;
};

}  // namespace hc

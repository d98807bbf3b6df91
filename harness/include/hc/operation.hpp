// hc/operation.hpp — the vocabulary of the engine: thread and object ids, operation kinds,
// access kinds, the Operation a thread announces when it parks, the Step the trace records,
// thread masks and spawn edges, and the Choice sequence that determines an execution.
//
// Everything here is a small plain struct: the scheduler copies them on every scheduling point,
// so they hold no strings (labels are static C strings, locations are std::source_location).
#pragma once

#include <cstdint>
#include <source_location>
#include <string_view>

namespace hc {

/// Index of a simulated thread within one execution, in creation order (main is 0).
using ThreadId = std::uint8_t;
/// Index of an instrumented object within one execution, in creation order.
using ObjectId = std::uint32_t;

/// At most this many simulated threads live in one execution (thread ids fit a 32-bit mask).
inline constexpr int kMaxThreads = 32;
inline constexpr ThreadId kNoThread = 0xFF;
inline constexpr ObjectId kNoObject = 0xFFFFFFFFu;

/// What an operation does. Stable: names are printed in traces and matched by replay files.
enum class OpKind : std::uint8_t {
  atomic_load,
  atomic_store,
  atomic_rmw,  // exchange, fetch_*
  atomic_cas,  // compare-exchange: a write when it succeeds, a read when it fails
  var_read,
  var_write,
  mutex_lock,
  mutex_try_lock,
  mutex_unlock,
  cv_wait,  // releases the mutex and starts waiting
  cv_wake,  // woken (or spuriously woken): reacquires the mutex
  cv_notify_one,
  cv_notify_all,
  event_set,
  event_reset,
  event_wait,
  thread_join,
  thread_yield,
  choice,  // hc::choose / hc::fault: recorded in the trace, never a scheduling point
  model,   // an operation of a model (handle table, SafeHandle, ...): the label says which
};

/// Stable printable name of an operation kind ("atomic-load", "mutex-lock", ...).
std::string_view op_kind_name(OpKind kind);

/// How an operation touches its object. Two operations on one object are dependent unless both
/// are reads; `sync` operations (locks, waits, joins) are dependent with everything on the object.
enum class Access : std::uint8_t { read, write, read_write, sync };

std::string_view access_name(Access access);

/// One object an operation touches, and how: an entry of its footprint.
struct Touch {
  ObjectId object = kNoObject;
  Access access = Access::read;
  friend bool operator==(const Touch&, const Touch&) = default;
};

/// A footprint entry naming every model object (ObjectKind::model and events a model signals)
/// at once: for an operation such as GC.Collect that scans the whole managed heap.
inline constexpr ObjectId kAllModelObjects = 0xFFFFFFFEu;

/// A footprint entry saying the operation did not declare what it touches (rt::model_op without
/// a footprint): it conflicts with every operation, and the audit allows it anything.
inline constexpr ObjectId kUndeclaredFootprint = 0xFFFFFFFDu;

/// At most this many objects an operation touches besides the one it announces.
inline constexpr int kMaxExtraTouches = 7;

/// Kinds of instrumented objects, for reports.
enum class ObjectKind : std::uint8_t {
  atomic,
  var,
  mutex,
  condition_variable,
  event,
  thread,
  model,  // an object of a model; its name says what it is
};

std::string_view object_kind_name(ObjectKind kind);

/// What a parked thread waits for before its operation may run. The scheduler derives the
/// enabled set from this; everything else is always enabled.
enum class WaitFor : std::uint8_t {
  nothing,
  mutex_free,       // `object` is a mutex that must be unlocked
  event_set,        // `object` is an event that must be signalled
  cv_notified,      // the thread must be notified and `object` (the mutex) free
  thread_finished,  // `arg` is the thread that must have finished
};

/// The operation a thread announces when it parks at a scheduling point.
struct Operation {
  OpKind kind = OpKind::model;
  Access access = Access::sync;
  WaitFor wait = WaitFor::nothing;
  std::uint8_t memory_order = 5;  // std::memory_order as recorded by the caller (5 = seq_cst)
  ObjectId object = kNoObject;
  std::uint32_t arg = 0;   // kind-specific: join target, cv mutex, ...
  const char* label = "";  // static string: "load", "lock", a model's verb ...
  std::source_location where{};
  /// A model operation's footprint beyond (object, access): what else it may read or write
  /// while it runs (up to kMaxExtraTouches). The storage is the caller's and lives while the
  /// thread is parked; the step keeps a copy (Step::extra_touches).
  const Touch* extra = nullptr;
  std::uint8_t extra_count = 0;
};

/// One executed operation, as the lean trace keeps it during exploration.
struct Step {
  ThreadId thread = kNoThread;
  OpKind kind = OpKind::model;
  Access access = Access::sync;
  bool has_value = false;
  ObjectId object = kNoObject;
  const char* label = "";
  std::source_location where{};
  std::uint64_t value = 0;  // value read or written, when has_value
  /// false for steps a thread records without a scheduling point (hc::choose; joining a thread
  /// that already finished): they belong to the scheduled step before them of the same thread.
  bool scheduled = true;
  /// The rest of the footprint (model operations): `extra_count` entries from index
  /// `first_extra` of the execution's touch list (ExecutionView::touches, Verdict::touches).
  std::uint8_t extra_count = 0;
  /// A model's compare-exchange (models::ModelAtomic): 1 succeeded, 2 failed; 0 for any other
  /// step. (hc::atomic's says so through `access`, a read when it failed.) Reports only; it
  /// sits in what was padding, so a Step stays 40 bytes.
  std::uint8_t cas_outcome = 0;
  std::uint32_t first_extra = 0;
};

/// One decision of an execution: which thread runs next, or which value a choose() returns.
/// Only real decisions (two or more options) are recorded; forced steps are not choices.
struct Choice {
  enum class Kind : std::uint8_t { thread, value };
  Kind kind = Kind::thread;
  std::uint32_t value = 0;  // thread id, or the chosen value
  friend bool operator==(const Choice&, const Choice&) = default;
};

/// A set of threads as a bit mask (bit t = thread t).
using ThreadMask = std::uint32_t;

/// Where a thread came from: its first step happens after its parent's steps before `step`.
struct Spawn {
  ThreadId child = kNoThread;
  ThreadId parent = kNoThread;
  std::uint32_t step = 0;  // how many steps the trace held when the parent spawned the child
};

}  // namespace hc

// hc/models/safe_handle.hpp — .NET SafeHandle (DOMAIN.md §1): the state word, every
// transition of §1.2, ReleaseHandle's rules (§1.3), the P/Invoke bracket (§1.5), the critical
// finalizer, and the invariants I1–I5 (§1.6) checked at every step.
//
//   hc::models::Gc gc;
//   hc::models::HandleTable table;
//   hc::models::SafeHandle h(gc, table, {.type_name = "SafeFileHandle", .name = "log"});
//   h.SetHandle(table.create(hc::models::ObjectType::file, "log", h.label()));
//   bool added = false;
//   h.DangerousAddRef(added);                 // throws ObjectDisposedException when closed
//   table.write(h.DangerousGetHandle());      // safe: inside the AddRef window
//   h.DangerousRelease();
//   h.Dispose();                              // ReleaseHandle closes the handle (n: 1 -> 0)
//
// The state word is SafeHandleStateWord<Atom>, written once as a template on its atomic type
// (folly's seam): the model instantiates it with ModelAtomic (hc/models/model_atomic.hpp), so
// every load and compare-exchange of its CAS loops is a model operation the explorer
// interleaves; the Relacy checks instantiate it with rl::atomic. BasicSafeHandle takes the state
// word as a parameter so tests can plug in deliberately broken state machines (derived from
// SafeHandleModelWord) and watch I1–I5 fire.
//
// What it touches (the footprint of each operation; the footprint audit checks it). The
// model's state is in cells: the state word W ("state word", a ModelAtomic) and the handle field
// H ("<label> handle"); the managed object itself (id(), the GC's) is announced as before.
//   SetHandle             id() write; H write.
//   DangerousGetHandle    id() read; H read.
//   IsInvalid             id() read; H read.
//   every operation of W  W (load: read; compare-exchange, fetch_or: read-write); H read. That
//     (AddRef, Release,   is what the code after it reads before the thread's next scheduling
//     Dispose, IsClosed,  point: the CAS loop tests IsInvalid (H), the successful release CAS
//     SetHandleAsInvalid, hands H's value to ReleaseHandle, and pinvoke's AddRef hands it to
//     the finalizer)      the native call. A failed compare-exchange is declared read-write.
//   ReleaseHandle         its own operations: the table's close (or the user's function).
//   Dispose / Close / SetHandleAsInvalid then GC.SuppressFinalize: the GC's operation.
// Finding bookkeeping (plain members, they only decide or explain findings): the successful
// AddRefs outstanding, by thread (unbalanced release, I4), ReleaseHandle's run count (I3) and
// whether it is running on which thread (addref-in-release-handle, I5).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/model_atomic.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

/// The modelled System.ObjectDisposedException.
class ObjectDisposedException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The memory orders the state word uses; the .NET Interlocked operations are full fences.
/// A later Relacy check passes weaker ones to show what breaks.
struct SafeHandleOrders {
  static constexpr std::memory_order load = std::memory_order_acquire;
  static constexpr std::memory_order cas_success = std::memory_order_acq_rel;
  static constexpr std::memory_order cas_failure = std::memory_order_acquire;
  static constexpr std::memory_order release_success = std::memory_order_acq_rel;
};

/// The SafeHandle state word (§1.1): bit 0 Closed, bit 1 Disposed, refcount in units of 4.
/// Each operation is the runtime's CAS retry loop (SafeHandle.cs), nothing more.
template <template <class> class Atom, class Orders = SafeHandleOrders>
class SafeHandleStateWord {
 public:
  static constexpr int kClosed = 1;
  static constexpr int kDisposed = 2;
  static constexpr int kRefCountOne = 4;
  static constexpr int kRefCountMask = ~3;

  /// What a transition did: the state before and after its successful CAS.
  struct Transition {
    enum class Kind { done, closed, underflow, already_disposed } kind = Kind::done;
    int old_state = 0;
    int new_state = 0;
    bool perform_release = false;  // the caller must run ReleaseHandle
  };

  /// Refcount 1, not closed, not disposed (the constructor's state).
  SafeHandleStateWord() : state_(kRefCountOne) {}
  template <class A = Atom<int>>
  requires std::is_constructible_v<A, int, std::string_view>
  explicit SafeHandleStateWord(std::string_view name) : state_(kRefCountOne, name) {}

  // Every operation takes the caller's `where`: under an atomic that records sites (ModelAtomic,
  // hc::atomic) its steps are located at the user's call, not in this header.

  /// DangerousAddRef: fails (kind closed) once C is set.
  Transition add_ref(const std::source_location& where = std::source_location::current()) {
    Transition t;
    int old_state = load_at(where);
    for (;;) {
      if ((old_state & kClosed) != 0) {
        t.kind = Transition::Kind::closed;
        t.old_state = old_state;
        return t;
      }
      const int new_state = old_state + kRefCountOne;
      if (cas_at(old_state, new_state, Orders::cas_success, where)) {
        t.old_state = old_state;
        t.new_state = new_state;
        return t;
      }
    }
  }

  /// InternalRelease(dispose): DangerousRelease (dispose = false) or Dispose / the finalizer
  /// (dispose = true). `is_invalid` is evaluated inside the loop, possibly several times.
  template <class IsInvalid>
  Transition release(bool dispose, bool owns_handle, IsInvalid is_invalid,
                     const std::source_location& where = std::source_location::current()) {
    Transition t;
    int old_state = load_at(where);
    for (;;) {
      if (dispose && (old_state & kDisposed) != 0) {
        t.kind = Transition::Kind::already_disposed;  // a second Dispose is silent
        t.old_state = old_state;
        return t;
      }
      if ((old_state & kRefCountMask) == 0) {
        t.kind = Transition::Kind::underflow;  // ObjectDisposedException in the runtime
        t.old_state = old_state;
        return t;
      }
      const bool perform =
          ((old_state & (kRefCountMask | kClosed)) == kRefCountOne) && owns_handle && !is_invalid();
      int new_state = old_state - kRefCountOne;
      if ((old_state & kRefCountMask) == kRefCountOne) new_state |= kClosed;
      if (dispose) new_state |= kDisposed;
      if (cas_at(old_state, new_state, Orders::release_success, where)) {
        t.old_state = old_state;
        t.new_state = new_state;
        t.perform_release = perform;
        return t;
      }
    }
  }

  /// SetHandleAsInvalid: Interlocked.Or sets C, the count unchanged. Returns the state before.
  int set_handle_as_invalid(const std::source_location& where = std::source_location::current()) {
    if constexpr (requires { state_.fetch_or(kClosed, Orders::cas_success, where); })
      return state_.fetch_or(kClosed, Orders::cas_success, where);
    else
      return state_.fetch_or(kClosed, Orders::cas_success);
  }
  bool is_closed(const std::source_location& where = std::source_location::current()) {
    return (load_at(where) & kClosed) != 0;
  }
  /// The value without a scheduling point (for invariants; only under hc::atomic and
  /// ModelAtomic).
  int peek() const { return state_.peek(); }
  /// The atomic itself (the model declares what its operations touch besides it).
  Atom<int>& word() { return state_; }

 protected:
  // The atomic's operations, at `where` when it records sites, plainly otherwise (std::atomic,
  // Relacy's atomics).
  int load_at(const std::source_location& where) {
    if constexpr (requires { state_.load(Orders::load, where); })
      return state_.load(Orders::load, where);
    else
      return state_.load(Orders::load);
  }
  bool cas_at(int& expected, int desired, std::memory_order success,
              const std::source_location& where) {
    if constexpr (requires {
                    state_.compare_exchange_strong(expected, desired, success, Orders::cas_failure,
                                                   where);
                  })
      return state_.compare_exchange_strong(expected, desired, success, Orders::cas_failure, where);
    else
      return state_.compare_exchange_strong(expected, desired, success, Orders::cas_failure);
  }

  Atom<int> state_;
};

struct SafeHandleOptions {
  std::string_view type_name = "SafeFileHandle";
  std::string_view name = "handle";
  bool owns_handle = true;
  bool fully_initialized = true;  // false: the constructor threw; the finalizer does nothing
  /// Report a DangerousRelease with no outstanding successful DangerousAddRef at once (the
  /// harness's early warning). Off: behave exactly like the runtime, which notices only when
  /// the count reaches 0 (ObjectDisposedException, on the finalizer thread at worst).
  bool detect_unbalanced_release = true;
};

/// What a user-supplied ReleaseHandle does with the raw value: true on success.
using ReleaseHandleFn = std::function<bool(const RawHandle&)>;

/// The state word the model runs: its operations are model operations (ModelAtomic).
using SafeHandleModelWord = SafeHandleStateWord<ModelAtomic>;

template <class StateWord = SafeHandleModelWord>
class BasicSafeHandle : public ManagedObject {
 public:
  /// A SafeHandle over `table` (its ReleaseHandle closes the value there unless
  /// `release_handle` says otherwise). Starts with an invalid handle and refcount 1.
  BasicSafeHandle(Gc& gc, HandleTable& table, SafeHandleOptions options = {},
                  ReleaseHandleFn release_handle = {},
                  const std::source_location& where = std::source_location::current())
      : ManagedObject(gc, options.type_name, options.name, /*has_finalizer=*/true,
                      /*critical=*/true, where),
        state_(make_state(options)),
        table_(&table),
        options_(options),
        release_handle_(std::move(release_handle)),
        handle_(fmt::format("{} handle", label())) {
    // The code after each operation of the word reads the handle field (see the header).
    if constexpr (requires { state_.word().also_touch({handle_.reads()}); })
      state_.word().also_touch({handle_.reads()});
    if (!options_.owns_handle) suppress_at_construction();
    invariants_ = rt::add_invariant(
        "SafeHandle invariants I1, I4, I5",
        [](void* self) { return static_cast<BasicSafeHandle*>(self)->check_invariants(); }, this);
  }
  ~BasicSafeHandle() override {
    if (rt::in_execution()) rt::remove_invariant(invariants_);
  }

  /// SetHandle / Marshal.InitHandle: stores the raw value (a write of the handle field).
  void SetHandle(const RawHandle& h,
                 const std::source_location& where = std::source_location::current()) {
    const Touch footprint[] = {handle_.writes()};
    if (rt::model_op(Access::write, id(), footprint, "SetHandle", where) == nullptr) return;
    handle_.set(h, where);
  }

  /// DangerousAddRef(ref bool success): sets `success` or throws ObjectDisposedException.
  void DangerousAddRef(bool& success,
                       const std::source_location& where = std::source_location::current()) {
    if (releasing_ && rt::current_thread() == releasing_thread_) {
      const Provenance now = here(where);
      report(FindingKind::addref_in_release_handle,
             fmt::format("{} called DangerousAddRef on {} from inside its own ReleaseHandle "
                         "(the handle is closing: C is set, so this throws "
                         "ObjectDisposedException; ReleaseHandle must not marshal or AddRef "
                         "its own SafeHandle)",
                         describe(now), label()),
             where, label(), {.steps = {now.step}, .objects = {id()}});
    }
    const auto t = state_.add_ref(where);
    if (t.kind == StateWord::Transition::Kind::closed) {
      throw ObjectDisposedException(fmt::format(
          "Safe handle has been closed ({}, DangerousAddRef at {})", label(), site(where)));
    }
    if ((t.old_state & StateWord::kClosed) != 0) {
      invariant_broken("I2",
                       fmt::format("DangerousAddRef succeeded at {} although the handle was "
                                   "already closed (state {:#x} before the CAS)",
                                   site(where), t.old_state),
                       where);
    }
    success = true;
    ++acquired_;
    acquired_by_[rt::current_thread()] += 1;
  }

  /// DangerousRelease: releases one reference; the last one runs ReleaseHandle here.
  void DangerousRelease(const std::source_location& where = std::source_location::current()) {
    // While an ended execution is unwound (pinvoke's finally block, a destructor), the model's
    // state is dead: checking it would report again, where a report cannot return.
    if (rt::tearing_down()) return;
    // AddRef and Release may be on different threads (an async completion releases what the
    // issuing thread acquired): the check is on the total of outstanding acquires.
    if (acquired_ == 0 && options_.detect_unbalanced_release) {
      const Provenance now = here(where);
      report(FindingKind::refcount_underflow,
             fmt::format("{} called DangerousRelease on {} with no outstanding successful "
                         "DangerousAddRef (an unbalanced release, B6): the count drops early, "
                         "so ReleaseHandle can run while the owner still uses the handle; "
                         "state {}",
                         describe(now), label(), state_text(state_.peek())),
             where, fmt::format("{}|{}", label(), site(where)),
             {.steps = {now.step}, .objects = {id()}});
    }
    if (acquired_ > 0) {
      --acquired_;
      auto mine = acquired_by_.find(rt::current_thread());
      if (mine != acquired_by_.end() && mine->second > 0) {
        --mine->second;
      } else {
        for (auto& [thread, count] : acquired_by_) {
          if (count > 0) {
            --count;
            break;
          }
        }
      }
    }
    internal_release(false, where);
  }

  /// Dispose / Close: the first takes effect (D bit), a second one is silent.
  void Dispose(const std::source_location& where = std::source_location::current()) {
    internal_release(true, where);
    gc().suppress_finalize(*this, where);
  }
  void Close(const std::source_location& where = std::source_location::current()) {
    Dispose(where);
  }

  /// SetHandleAsInvalid: sets C without releasing: ReleaseHandle will never run (a leak by
  /// design), every later AddRef throws. Reports handle_invalidated_in_use when, at the
  /// Interlocked.Or, other code still holds references beyond the owner's and the caller's own
  /// (B23): they are using a value that will never be closed, and their AddRefs were the
  /// promise that it stays valid.
  void SetHandleAsInvalid(const std::source_location& where = std::source_location::current()) {
    const int before = state_.set_handle_as_invalid(where);
    // Decided in the step of the Or (which reads and writes W): the references it saw. The
    // owner's creation reference counts while not disposed; the caller's own AddRefs do not
    // (it knows what it invalidates). `acquired_by_` is updated in the AddRef/Release steps.
    if ((before & StateWord::kClosed) == 0) check_invalidated_in_use(before, where);
    gc().suppress_finalize(*this, where);
  }

  /// DangerousGetHandle: the raw value, with no protection against release.
  RawHandle DangerousGetHandle(
      const std::source_location& where = std::source_location::current()) {
    const Touch footprint[] = {handle_.reads()};
    if (rt::model_op(Access::read, id(), footprint, "DangerousGetHandle", where) == nullptr)
      return {};
    return handle_.read(where);
  }

  /// IsClosed: reads C (a time-of-check/time-of-use hazard, B7).
  bool IsClosed(const std::source_location& where = std::source_location::current()) {
    return state_.is_closed(where);
  }
  /// IsInvalid: SafeHandleZeroOrMinusOneIsInvalid's rule, a read of the handle field (a
  /// scheduling point; the CAS loops test it within their own steps).
  bool IsInvalid(const std::source_location& where = std::source_location::current()) const {
    const Touch footprint[] = {handle_.reads()};
    if (rt::model_op(Access::read, id(), footprint, "IsInvalid", where) == nullptr) return false;
    return invalid(where);
  }

  /// A P/Invoke taking this SafeHandle as a by-value in-parameter (§1.5): the stub AddRefs
  /// (throwing ObjectDisposedException before the native call when closed), passes the raw
  /// value, and releases in its finally block only if the AddRef succeeded.
  template <class Native>
  auto pinvoke(Native&& native, const std::source_location& where = std::source_location::current())
      -> decltype(native(std::declval<const RawHandle&>())) {
    bool added = false;
    DangerousAddRef(added, where);
    // A C# finally block: exceptions may leave it (noexcept(false)), so that a thread whose
    // ReleaseHandle reported a finding here can be unwound when the execution is torn down
    // (runtime/execution.hpp, "Teardown") instead of abandoned at a noexcept frame.
    struct Finally {
      BasicSafeHandle* self;
      bool* added;
      std::source_location where;
      ~Finally() noexcept(false) {
        if (*added) self->DangerousRelease(where);
      }
    } cleanup{this, &added, where};
    return native(handle_.read(where));  // in the AddRef's step, which declares the read
  }

  /// The critical finalizer: Dispose(false), only if the constructor completed.
  void finalize() override {
    if (!options_.fully_initialized) return;
    // The finalizer's steps: at the user's line that created the handle, not in this header.
    internal_release(true, created_at());
  }

  /// The state word in words: "refcount 1, open" (for messages and tests).
  static std::string state_text(int state) {
    return fmt::format("refcount {}{}{}", state >> 2,
                       (state & StateWord::kClosed) ? ", closed" : "",
                       (state & StateWord::kDisposed) ? ", disposed" : "");
  }
  int state() const { return state_.peek(); }
  std::uint32_t release_handle_calls() const { return release_handle_calls_; }
  /// The handle field without a scheduling point or the audit (tests, invariants, reports).
  const RawHandle& handle() const { return handle_.peek(); }
  HandleTable& table() const { return *table_; }

 private:
  static StateWord make_state(const SafeHandleOptions& o) {
    if constexpr (std::is_constructible_v<StateWord, std::string_view>) {
      (void)o;
      return StateWord(std::string_view("state word"));
    } else {
      return StateWord();
    }
  }

  /// The handle field is the invalid value (read in the current step, which declares it).
  bool invalid(const std::source_location& where) const { return !handle_.read(where).valid(); }

  void internal_release(bool dispose, const std::source_location& where) {
    const auto t = state_.release(
        dispose, options_.owns_handle, [this, where] { return invalid(where); }, where);
    using Kind = typename StateWord::Transition::Kind;
    if (t.kind == Kind::already_disposed) return;
    if (t.kind == Kind::underflow) {
      // The runtime throws ObjectDisposedException: on the finalizer thread that terminates
      // the process (B6's second act); elsewhere it is the caller's exception.
      throw ObjectDisposedException(fmt::format("{} on {} with refcount 0 ({}) at {}",
                                                dispose ? "Dispose" : "DangerousRelease", label(),
                                                state_text(t.old_state), site(where)));
    }
    if ((t.new_state >> 2) < 0) {
      invariant_broken("I1",
                       fmt::format("the refcount went below zero ({} -> {})",
                                   state_text(t.old_state), state_text(t.new_state)),
                       where);
    }
    if (t.perform_release) run_release_handle(t, where);
  }

  void run_release_handle(const typename StateWord::Transition& t,
                          const std::source_location& where) {
    const bool one_to_zero =
        ((t.old_state & StateWord::kRefCountMask) == StateWord::kRefCountOne) &&
        (t.old_state & StateWord::kClosed) == 0;
    if (release_handle_calls_ > 0 || !one_to_zero) {
      invariant_broken(
          "I3",
          fmt::format("ReleaseHandle runs {} (transition {} -> {}); it must run at most once, "
                      "at the 1 -> 0 transition with C clear",
                      release_handle_calls_ > 0 ? "a second time" : "outside a 1 -> 0 transition",
                      state_text(t.old_state), state_text(t.new_state)),
          where);
    }
    if ((state_.peek() >> 2) > 0) {
      invariant_broken("I5",
                       fmt::format("ReleaseHandle runs while the refcount is {} (never close "
                                   "while the refcount is non-zero)",
                                   state_.peek() >> 2),
                       where);
    }
    ++release_handle_calls_;
    // Read in the step of the successful release CAS, which declares it: ReleaseHandle's own
    // operations come after.
    const RawHandle handle = handle_.read(where);
    bool ok = false;
    {
      // While ReleaseHandle runs: `releasing_` (addref-in-release-handle, I5) is set on this
      // thread and cleared when it returns or throws (an exception leaves it for the caller of
      // Dispose / DangerousRelease, or terminates the process on the finalizer thread; either
      // way ReleaseHandle is over, and a later DangerousAddRef is no re-entry).
      struct Running {
        BasicSafeHandle& self;
        explicit Running(BasicSafeHandle& s) : self(s) {
          self.releasing_ = true;
          self.releasing_thread_ = rt::current_thread();
        }
        ~Running() {
          self.releasing_ = false;
          self.releasing_thread_ = kNoThread;
        }
      } running(*this);
      // The last error is saved before ReleaseHandle and restored after it returns (DOMAIN.md
      // §1.3; SafeHandle.cs InternalRelease: Marshal.GetLastPInvokeError / SetLastPInvokeError
      // around ReleaseHandle, dotnet/corefx#35612): ReleaseHandle may run inside another
      // P/Invoke's unmarshalling, whose caller reads GetLastError next.
      const LastErrorPreserver last_error;
      const FindingContext context(id());  // findings inside ReleaseHandle are about it too
      ok = release_handle_ ? release_handle_(handle) : table_->close(handle, label(), where).ok;
    }
    if (!ok) {
      // This SafeHandle, this step, then what the value's history names.
      const Provenance now = here(where);
      FindingRefs refs{.steps = {now.step}, .objects = {id()}};
      table_->add_history_refs(handle, refs);
      report(FindingKind::release_handle_failed,
             fmt::format("releaseHandleFailed: ReleaseHandle of {} (type {}) returned false for "
                         "handle {} on {}. The raw value was probably closed elsewhere after "
                         "DangerousGetHandle, owned by two SafeHandles, or cloned; CoreCLR "
                         "ignores the result (a silent leak or a masked double close). History "
                         "of the value: {}",
                         label(), options_.type_name, table_->format_value(handle.value),
                         describe(now), table_->history(handle)),
             where, fmt::format("{}|{}", label(), site(where)), std::move(refs));
    }
  }

  /// I1, I4 and I5, after every step.
  bool check_invariants() {
    const int s = state_.peek();
    if ((s >> 2) < 0) {
      invariant_broken("I1", fmt::format("the refcount is negative ({})", state_text(s)),
                       created_at());
    }
    const RawHandle& handle = handle_.peek();  // an invariant: no audit
    for (const auto& [thread, count] : acquired_by_) {
      if (count > 0 && handle.valid() && !table_->is_open(handle)) {
        FindingRefs refs;  // the steps and objects of the value's history
        table_->add_history_refs(handle, refs);
        invariant_broken(
            "I4",
            fmt::format("thread '{}' holds a DangerousAddRef on {} but its handle {} no longer "
                        "names the object it did ({}): the value was released underneath an "
                        "AddRef window",
                        rt::thread_name(thread), label(), table_->format_value(handle.value),
                        table_->history(handle)),
            created_at(), std::move(refs));
      }
    }
    if (releasing_ && (s >> 2) > 0) {
      invariant_broken("I5", fmt::format("the refcount is {} while ReleaseHandle runs", s >> 2),
                       created_at());
    }
    return true;
  }

  /// B23: SetHandleAsInvalid saw `before` (C clear); others hold references.
  void check_invalidated_in_use(int before, const std::source_location& where) {
    const int refs_total = before >> 2;
    const int owner = (before & StateWord::kDisposed) != 0 ? 0 : 1;
    const ThreadId me = rt::current_thread();
    const auto mine_it = acquired_by_.find(me);
    const int mine = mine_it == acquired_by_.end() ? 0 : static_cast<int>(mine_it->second);
    const int others = refs_total - owner - mine;
    if (others <= 0) return;
    std::string holders;
    for (const auto& [thread, count] : acquired_by_) {
      if (thread == me || count == 0) continue;
      holders += fmt::format("{}thread '{}' ({} DangerousAddRef{})", holders.empty() ? "" : ", ",
                             rt::thread_name(thread), count, count == 1 ? "" : "s");
    }
    if (holders.empty()) holders = "code that AddRef'd it";
    const Provenance now = here(where);
    const RawHandle& handle = handle_.peek();  // for the message only
    report(FindingKind::handle_invalidated_in_use,
           fmt::format("handle invalidated while in use: {} called SetHandleAsInvalid on {} "
                       "(handle {} {} (generation {})) while {} other reference{} {} "
                       "outstanding, held by {} "
                       "(state {} before): the holders keep using a value the SafeHandle will "
                       "never close, ReleaseHandle never runs (the handle leaks), and every "
                       "later DangerousAddRef throws ObjectDisposedException. Invalidate only a "
                       "handle that truly is invalid (a failed creation, ERROR_INVALID_HANDLE)",
                       describe(now), label(), table_->format_value(handle.value),
                       table_->describe_object(handle), handle.generation, others,
                       others == 1 ? "" : "s", others == 1 ? "was" : "were", holders,
                       state_text(before)),
           where, fmt::format("invalidated|{}|{}", label(), site(where)),
           {.steps = {now.step}, .objects = {id()}});
  }

  /// `refs`: what `what` refers to, beyond this SafeHandle (listed first).
  void invariant_broken(const char* which, const std::string& what,
                        const std::source_location& where, FindingRefs refs = {}) {
    refs.objects.insert(refs.objects.begin(), ObjectRef(id()));
    report(FindingKind::safe_handle_invariant,
           fmt::format("SafeHandle invariant {} broken on {}: {} (state {})", which, label(), what,
                       state_text(state_.peek())),
           where, fmt::format("{}|{}", which, label()), std::move(refs));
  }

  StateWord state_;  // W
  HandleTable* table_;
  SafeHandleOptions options_;
  ReleaseHandleFn release_handle_;
  ModelCell<RawHandle> handle_;  // H
  // Finding bookkeeping (see the header).
  std::uint32_t acquired_ = 0;                     // successful AddRefs not yet released
  std::map<ThreadId, std::uint32_t> acquired_by_;  // the same, by acquiring thread (for I4)
  std::uint32_t release_handle_calls_ = 0;
  bool releasing_ = false;
  ThreadId releasing_thread_ = kNoThread;
  std::uint32_t invariants_ = 0;
};

using SafeHandle = BasicSafeHandle<>;

}  // namespace hc::models

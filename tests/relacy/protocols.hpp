// protocols.hpp — the handle-lifetime protocols, written once as templates on the platform
// (hc_rl::HcPlatform or hc_rl::RlPlatform: its atomics, plain variables, mutex and check()),
// so the same source runs under handlecheck and under Relacy: the Relacy model checks, the
// differential oracle and the head-to-head benchmark all use them.
//
// A protocol is a struct with
//   kThreads          the number of threads (thread 0 .. kThreads - 1)
//   thread(i)         what thread i does
//   finish()          checks at the end, after every thread finished
//   outcome()         a small integer (< 1024) naming the final outcome, for the oracle
// and it is constructed fresh for every execution.
//
// Include relacy_platform.hpp (which includes Relacy) after this header.
#pragma once

#include <atomic>
#include <cstdint>

#include "hc/models/safe_handle.hpp"

namespace hc_rl {

/// A COM object's reference count (IUnknown::AddRef / Release) as a template on its atomic
/// type. The orders are the usual C++ ones for an intrusive count (std::shared_ptr, the
/// Boost/ATL-style `CComMultiThreadModel` port): AddRef is relaxed (taking a reference needs
/// one already, so there is nothing to publish), Release is acq_rel: release so this owner's
/// writes to the object happen before the destructor, acquire so the thread that reaches 0
/// sees every other owner's writes. (Windows' InterlockedIncrement/Decrement are full fences,
/// stronger than both.) hc::models::ComObject keeps its count in the engine, not in an atomic
/// type, so this template is the count the Relacy checks instantiate with rl::atomic.
struct ComOrders {
  static constexpr std::memory_order add_ref = std::memory_order_relaxed;
  static constexpr std::memory_order release = std::memory_order_acq_rel;
};
/// Deliberately wrong: the final Release publishes nothing and acquires nothing.
struct ComRelaxedRelease : ComOrders {
  static constexpr std::memory_order release = std::memory_order_relaxed;
};
/// Deliberately wrong: release without acquire (the destroyer may not see the others' writes;
/// correct only with an acquire fence before the destructor, as Boost does).
struct ComReleaseOnlyRelease : ComOrders {
  static constexpr std::memory_order release = std::memory_order_release;
};
struct ComSeqCst {
  static constexpr std::memory_order add_ref = std::memory_order_seq_cst;
  static constexpr std::memory_order release = std::memory_order_seq_cst;
};

template <template <class> class Atom, class Orders = ComOrders>
class RefCount {
 public:
  explicit RefCount(long initial) : n_(initial) {}
  /// The new count.
  long AddRef() { return n_.fetch_add(1, Orders::add_ref) + 1; }
  /// The new count: 0 means the caller destroys the object.
  long Release() { return n_.fetch_sub(1, Orders::release) - 1; }

 private:
  Atom<long> n_;
};

/// The SafeHandle state word's orders with the final release (the release CAS) relaxed: the
/// last user's writes no longer happen before ReleaseHandle.
struct SafeHandleRelaxedRelease : hc::models::SafeHandleOrders {
  static constexpr std::memory_order release_success = std::memory_order_relaxed;
};
/// The release CAS without its acquire half. Looks redundant (the loop's load and failure
/// order are acquire) but is a bug: by ABA, the successful CAS can read a value equal to the one
/// loaded but written later by another user's AddRef + Release (refcount 1 -> 2 -> 1), and only
/// an acquire on the CAS itself synchronises with that user's release. Relacy finds it.
struct SafeHandleReleaseOnlyRelease : hc::models::SafeHandleOrders {
  static constexpr std::memory_order release_success = std::memory_order_release;
};
struct SafeHandleSeqCst {
  static constexpr std::memory_order load = std::memory_order_seq_cst;
  static constexpr std::memory_order cas_success = std::memory_order_seq_cst;
  static constexpr std::memory_order cas_failure = std::memory_order_seq_cst;
  static constexpr std::memory_order release_success = std::memory_order_seq_cst;
};

inline constexpr int kMaxUsers = 3;

/// SafeHandle: thread 0 owns the handle and Disposes it; threads 1..Users each
/// DangerousAddRef, use the handle (write their plain `written` slot, check the OS handle is
/// still open), and DangerousRelease. Whoever makes the 1 -> 0 transition runs ReleaseHandle,
/// which reads every successful user's write and closes the handle (a plain write): without
/// acquire-release on the state word those accesses race with the users'.
template <class P, int Users, class Orders = hc::models::SafeHandleOrders,
          template <class> class Atom = P::template atomic>
struct SafeHandleRace {
  static_assert(Users >= 1 && Users <= kMaxUsers);
  static constexpr int kThreads = Users + 1;
  using Word = hc::models::SafeHandleStateWord<Atom, Orders>;
  using Var = typename P::template var<int>;

  Word state;
  Var closed{0};  // the OS handle: 1 once ReleaseHandle closed it
  Var written[kMaxUsers] = {Var{0}, Var{0}, Var{0}};
  bool added[kMaxUsers] = {};  // bookkeeping for checks (not shared program memory)
  int release_handle_runs = 0;
  int releaser = 0;

  void thread(int i) {
    if (i == 0) {  // the owner: Dispose
      if (state.release(true, true, [] { return false; }).perform_release) release_handle(0);
      return;
    }
    const int u = i - 1;
    if (state.add_ref().kind != Word::Transition::Kind::done) return;  // ObjectDisposedException
    added[u] = true;
    P::check(closed.read() == 0, "the OS handle was closed inside a DangerousAddRef window");
    written[u].write(1);  // I/O through the handle
    if (state.release(false, true, [] { return false; }).perform_release) release_handle(i);
  }
  void release_handle(int who) {
    for (int u = 0; u < Users; ++u) {
      if (added[u]) {
        P::check(written[u].read() == 1,
                 "ReleaseHandle does not see a user's write made inside its AddRef window");
      }
    }
    P::check(closed.read() == 0, "ReleaseHandle closes the OS handle a second time");
    closed.write(1);
    ++release_handle_runs;
    releaser = who;
  }
  void finish() { P::check(release_handle_runs == 1, "ReleaseHandle must run exactly once"); }
  int outcome() const {
    int o = releaser;
    for (int u = 0; u < Users; ++u)
      o |= (added[u] ? 1 : 0) << (2 + u);
    return o;
  }
};

/// The buggy variant (bug pattern B7): users check IsClosed instead of taking a reference, so
/// the owner's Dispose can close the OS handle between the check and the use. A finding on
/// every platform and memory model (an assertion, or a data race on `closed`).
template <class P, int Users, class Orders = hc::models::SafeHandleOrders,
          template <class> class Atom = P::template atomic>
struct SafeHandleToctou {
  static constexpr int kThreads = Users + 1;
  using Word = hc::models::SafeHandleStateWord<Atom, Orders>;
  using Var = typename P::template var<int>;

  Word state;
  Var closed{0};

  void thread(int i) {
    if (i == 0) {
      if (state.release(true, true, [] { return false; }).perform_release) closed.write(1);
      return;
    }
    if (!state.is_closed()) {
      P::check(closed.read() == 0, "used the OS handle after IsClosed said open (B7)");
    }
  }
  void finish() {}
  int outcome() const { return 0; }
};

/// A COM object shared by `Users` threads, each holding one reference handed over by the
/// creator: each takes a temporary second reference (a ComPtr copy), uses the object (writes
/// its slot, checks it is not destroyed), and releases both. The final Release runs the
/// destructor, which reads every user's write and marks the object destroyed.
template <class P, int Users, class Orders = ComOrders,
          template <class> class Atom = P::template atomic>
struct RefCountRelease {
  static_assert(Users >= 1 && Users <= kMaxUsers);
  static constexpr int kThreads = Users;
  using Var = typename P::template var<int>;

  RefCount<Atom, Orders> count{Users};
  Var destroyed{0};
  Var written[kMaxUsers] = {Var{0}, Var{0}, Var{0}};
  int destructions = 0;
  int destroyer = 0;

  void thread(int i) {
    count.AddRef();
    P::check(destroyed.read() == 0, "a user holding a reference sees the object destroyed");
    written[i].write(1);
    if (count.Release() == 0) destroy(i);
    if (count.Release() == 0) destroy(i);
  }
  void destroy(int who) {
    for (int u = 0; u < Users; ++u)
      P::check(written[u].read() == 1, "the destructor does not see a user's write");
    destroyed.write(1);
    ++destructions;
    destroyer = who;
  }
  void finish() { P::check(destructions == 1, "the object must be destroyed exactly once"); }
  int outcome() const { return destroyer; }
};

/// The refcounted-handle protocol of issue 14 (refcount_protocol(users, ops) in
/// tests/unit/dpor_classic_test.cpp, the same operations in the same order), every operation
/// seq_cst: thread 0, the disposer, drops the owner's reference (Release once); threads
/// 1..Users each do `Ops` rounds of TryAddRef (a load, then a compare-exchange loop that
/// increments while the count is above zero; a user who sees zero gives up that round), a use
/// of the handle (a load, which must see it open) and Release (fetch_sub; whoever drops the
/// last reference closes the handle: a store). The count starts at 1 (the owner's), the handle
/// open (1). Correct: a user holding a reference keeps the count above zero, so the handle is
/// closed exactly once, after every use. hc_bench_vs_relacy races both tools on it.
template <class P, int Users, int Ops>
struct RefcountProtocol {
  static_assert(Users >= 1 && Ops >= 1);
  static constexpr int kThreads = Users + 1;
  static constexpr auto kSeqCst = std::memory_order_seq_cst;
  using Atomic = typename P::template atomic<int>;

  Atomic refs{1};
  Atomic handle{1};  // 1 open, 0 closed
  int closes = 0;    // bookkeeping for checks (not shared program memory)
  int closer = 0;

  void thread(int i) {
    if (i == 0) {  // the disposer
      release(0);
      return;
    }
    for (int k = 0; k < Ops; ++k) {
      int seen = refs.load(kSeqCst);
      bool added = false;
      while (seen > 0 && !added)
        added = refs.compare_exchange_strong(seen, seen + 1, kSeqCst);
      if (!added) continue;  // the handle was already released: this round gives up
      P::check(handle.load(kSeqCst) == 1, "a user holding a reference sees the handle closed");
      release(i);
    }
  }
  void release(int who) {
    if (refs.fetch_sub(1, kSeqCst) == 1) {
      handle.store(0, kSeqCst);
      ++closes;
      closer = who;
    }
  }
  void finish() { P::check(closes == 1, "the handle must be closed exactly once"); }
  int outcome() const { return closer; }
};

/// Two locks and a destructor: a registry lock guards `alive`, the object's lock guards its
/// state. Users (threads 1..Users) find the object under the registry lock and take the object
/// lock before letting go of the registry (hand-over-hand); the destructor (thread 0) unlinks
/// it under the registry lock, then destroys it under the object lock. Same lock order
/// everywhere: no deadlock, and no use after destruction.
template <class P, int Users>
struct TwoLockDestructor {
  static_assert(Users >= 1 && Users <= kMaxUsers);
  static constexpr int kThreads = Users + 1;
  using Var = typename P::template var<int>;

  typename P::mutex registry;
  typename P::mutex object;
  Var alive{1};
  Var destroyed{0};
  Var uses{0};
  bool used[kMaxUsers] = {};

  void thread(int i) {
    if (i == 0) {
      registry.lock();
      alive.write(0);
      registry.unlock();
      object.lock();
      destroyed.write(1);
      object.unlock();
      return;
    }
    registry.lock();
    if (alive.read() == 1) {
      object.lock();
      registry.unlock();
      P::check(destroyed.read() == 0, "a user uses the object after its destructor ran");
      uses.write(uses.read() + 1);
      used[i - 1] = true;
      object.unlock();
    } else {
      registry.unlock();
    }
  }
  void finish() {}
  int outcome() const {
    int o = 0;
    for (int u = 0; u < Users; ++u)
      o |= (used[u] ? 1 : 0) << u;
    return o;
  }
};

}  // namespace hc_rl

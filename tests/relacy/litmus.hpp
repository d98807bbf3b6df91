// litmus.hpp — small litmus and protocol programs for the differential oracle, written once as
// templates on the platform P (protocols.hpp explains the interface). Every atomic access uses
// the default order, seq_cst: the oracle compares handlecheck's sequentially consistent
// explorer with Relacy's exhaustive search of the same programs, so the sets of final outcomes
// must be equal. Results are plain ints written by one thread and read after all finished.
#pragma once

#include "protocols.hpp"

namespace hc_rl::litmus {

/// Store buffering (Dekker): SC forbids r0 = r1 = 0.
template <class P>
struct StoreBuffering {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> x{0}, y{0};
  int r[2] = {-1, -1};
  void thread(int i) {
    if (i == 0) {
      x.store(1);
      r[0] = y.load();
    } else {
      y.store(1);
      r[1] = x.load();
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 2 + r[1]; }
};

/// Message passing: seeing the flag means seeing the data.
template <class P>
struct MessagePassing {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> data{0}, flag{0};
  int r[2] = {-1, -1};
  void thread(int i) {
    if (i == 0) {
      data.store(1);
      flag.store(1);
    } else {
      r[0] = flag.load();
      r[1] = data.load();
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 2 + r[1]; }
};

/// Load buffering: SC forbids r0 = r1 = 1.
template <class P>
struct LoadBuffering {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> x{0}, y{0};
  int r[2] = {-1, -1};
  void thread(int i) {
    if (i == 0) {
      r[0] = x.load();
      y.store(1);
    } else {
      r[1] = y.load();
      x.store(1);
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 2 + r[1]; }
};

/// IRIW: two writers, two readers reading in opposite orders; SC forbids the readers
/// disagreeing on the order of the writes (1,0,1,0).
template <class P>
struct Iriw {
  static constexpr int kThreads = 4;
  typename P::template atomic<int> x{0}, y{0};
  int r[4] = {-1, -1, -1, -1};
  void thread(int i) {
    switch (i) {
      case 0:
        x.store(1);
        break;
      case 1:
        y.store(1);
        break;
      case 2:
        r[0] = x.load();
        r[1] = y.load();
        break;
      default:
        r[2] = y.load();
        r[3] = x.load();
        break;
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 8 + r[1] * 4 + r[2] * 2 + r[3]; }
};

/// 2+2W: SC forbids the final state x = 1, y = 1.
template <class P>
struct TwoPlusTwoW {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> x{0}, y{0};
  void thread(int i) {
    if (i == 0) {
      x.store(1);
      y.store(2);
    } else {
      y.store(1);
      x.store(2);
    }
  }
  void finish() {}
  int outcome() const { return x.peek() * 3 + y.peek(); }
};

/// Read-read coherence: a reader never sees the writes to one location out of order.
template <class P>
struct CoRR {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> x{0};
  int r[2] = {-1, -1};
  void thread(int i) {
    if (i == 0) {
      x.store(1);
      x.store(2);
    } else {
      r[0] = x.load();
      r[1] = x.load();
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 3 + r[1]; }
};

/// Write-to-read causality (3 threads): forbids r0 = 1, r1 = 1, r2 = 0.
template <class P>
struct Wrc {
  static constexpr int kThreads = 3;
  typename P::template atomic<int> x{0}, y{0};
  int r[3] = {-1, -1, -1};
  void thread(int i) {
    if (i == 0) {
      x.store(1);
    } else if (i == 1) {
      r[0] = x.load();
      y.store(r[0]);
    } else {
      r[1] = y.load();
      r[2] = x.load();
    }
  }
  void finish() {}
  int outcome() const { return r[0] * 4 + r[1] * 2 + r[2]; }
};

/// A CAS-loop counter: two threads add 1 twice; the total is 4, and the outcome is how many
/// CASes failed in all (a retry happens only on some interleavings).
template <class P>
struct CasCounter {
  static constexpr int kThreads = 2;
  typename P::template atomic<int> n{0};
  int failures[2] = {0, 0};
  void thread(int i) {
    for (int k = 0; k < 2; ++k) {
      int seen = n.load();
      while (!n.compare_exchange_strong(seen, seen + 1))
        ++failures[i];
    }
  }
  void finish() { P::check(n.peek() == 4, "the CAS counter lost an increment"); }
  int outcome() const { return failures[0] * 8 + failures[1]; }
};

/// A counter under a mutex (a plain variable): the outcome is the order the threads took the
/// lock in (each records the value it read).
template <class P>
struct LockedCounter {
  static constexpr int kThreads = 2;
  typename P::mutex m;
  typename P::template var<int> n{0};
  int seen[2] = {-1, -1};
  void thread(int i) {
    m.lock();
    seen[i] = n.read();
    n.write(seen[i] + 1);
    m.unlock();
  }
  void finish() { P::check(seen[0] + seen[1] == 1, "the locked counter lost an increment"); }
  int outcome() const { return seen[0] * 2 + seen[1]; }
};

/// Test-and-set by exchange: exactly one of three threads wins; the outcome is the winner and
/// the order of the others' reads.
template <class P>
struct ExchangeLock {
  static constexpr int kThreads = 3;
  typename P::template atomic<int> flag{0};
  int got[3] = {-1, -1, -1};
  void thread(int i) { got[i] = flag.exchange(i + 1); }
  void finish() {}
  int outcome() const { return got[0] * 16 + got[1] * 4 + got[2]; }
};

/// Tickets by fetch_add: three threads, every permutation of the tickets.
template <class P>
struct Tickets {
  static constexpr int kThreads = 3;
  typename P::template atomic<int> next{0};
  int ticket[3] = {-1, -1, -1};
  void thread(int i) { ticket[i] = next.fetch_add(1); }
  void finish() {}
  int outcome() const { return ticket[0] * 9 + ticket[1] * 3 + ticket[2]; }
};

/// The protocols, seq_cst: SafeHandle Dispose against two AddRef users, the COM refcount's
/// release race between two users, the two-lock destructor with two users, and issue 14's
/// refcounted handle with two users of one round each (already seq_cst).
template <class P>
using SafeHandleAddRefDispose = SafeHandleRace<P, 2, SafeHandleSeqCst>;
template <class P>
using RefCountReleaseRace = RefCountRelease<P, 2, ComSeqCst>;
template <class P>
using TwoLockDestructor2 = TwoLockDestructor<P, 2>;
template <class P>
using RefcountHandle21 = RefcountProtocol<P, 2, 1>;

}  // namespace hc_rl::litmus

// relacy_platform.hpp — Relacy (Debian package relacy-dev) for handlecheck's tests and
// benchmarks, and the two platforms the shared protocol templates run on.
//
// Include this header LAST in a translation unit: <relacy/relacy.hpp> defines macros named
// new, delete, malloc, free, assert, errno and std::memory_order_* that break any header read
// after it. This header includes Relacy (its CLI mode when HC_RELACY_CLI is defined) and then
// removes those macros; Relacy's replacement of the global operator new/delete stays (that is
// why every Relacy target is compiled with -fno-sized-deallocation).
//
//   hc_rl::RlAtomic<T>   rl::atomic<T> behind the std::atomic interface (std::memory_order
//                        arguments, the call site as Relacy's debug info): the atomic type the
//                        models' templates are instantiated with (SafeHandleStateWord<RlAtomic>)
//   hc_rl::ClrAtomic<T>  (CLI mode only) the .NET code for each operation: Volatile.Read and
//                        Interlocked.CompareExchange / Add (full fences); memory_order_relaxed
//                        selects a plain, non-interlocked field access instead
//   hc_rl::run<Suite>()  rl::simulate with the output captured in a fixed buffer (no allocation,
//                        no std::ostringstream) and the executions counted
//   hc_rl::HcPlatform / hc_rl::RlPlatform
//                        the platforms a protocol written once as a template runs on: atomics,
//                        plain variables, a mutex, and check() (HC_CHECK / RL_ASSERT)
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <source_location>
#include <streambuf>
#include <string>
#include <string_view>

#include "hc/hc.hpp"

#if defined(HC_RELACY_CLI)
#include <relacy/relacy_cli.hpp>
#else
#include <relacy/relacy.hpp>
#endif

#undef new
#undef delete
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef assert
#undef errno
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst

namespace hc_rl {

inline rl::memory_order to_rl(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return rl::mo_relaxed;
    case std::memory_order_consume:
      return rl::mo_consume;
    case std::memory_order_acquire:
      return rl::mo_acquire;
    case std::memory_order_release:
      return rl::mo_release;
    case std::memory_order_acq_rel:
      return rl::mo_acq_rel;
    case std::memory_order_seq_cst:
      return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

/// The call site as Relacy's debug info (what its execution history prints).
inline rl::debug_info site(const std::source_location& w) {
  return rl::debug_info(w.function_name(), w.file_name(), w.line());
}

/// C++11's rule for a compare-exchange's orders (Relacy checks it): failure is not release or
/// acq_rel and not stronger than success.
constexpr bool cxx11_allows(std::memory_order success, std::memory_order failure) {
  using enum std::memory_order;
  switch (success) {
    case relaxed:
    case release:
      return failure == relaxed;
    case consume:
      return failure == relaxed || failure == consume;
    case acquire:
    case acq_rel:
      return failure == relaxed || failure == consume || failure == acquire;
    case seq_cst:
      return failure != release && failure != acq_rel;
  }
  return false;
}

/// rl::atomic<T> with std::atomic's member functions (the models' atomic seam).
template <class T>
class RlAtomic {
  using Loc = std::source_location;
  static constexpr auto kSeqCst = std::memory_order_seq_cst;

 public:
  explicit RlAtomic(T initial, const Loc& w = Loc::current()) {
    a_.store(initial, rl::mo_relaxed, site(w));
  }
  RlAtomic(const RlAtomic&) = delete;
  RlAtomic& operator=(const RlAtomic&) = delete;

  T load(std::memory_order o = kSeqCst, const Loc& w = Loc::current()) const {
    return a_.load(to_rl(o), site(w));
  }
  void store(T v, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    a_.store(v, to_rl(o), site(w));
  }
  T exchange(T v, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    return a_.exchange(v, to_rl(o), site(w));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order o = kSeqCst,
                               const Loc& w = Loc::current()) {
    return a_.compare_exchange_strong(expected, desired, to_rl(o), site(w));
  }
  /// Relacy follows C++11: the failure order may not be stronger than the success order, and
  /// it silently uses relaxed when it is (release success, acquire failure: C++17 allows it and
  /// the SafeHandle loop relies on it). Such a failure order is emulated exactly where it
  /// matters: a relaxed failed CAS followed by a fence of the failure order (an acquire fence
  /// after a relaxed read synchronises with the release that wrote the value read; the fence
  /// is a little stronger than an acquire CAS, as it also orders this thread's earlier relaxed
  /// reads). Not a scheduling point: Relacy's fences are not.
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, const Loc& w = Loc::current()) {
    if (!cxx11_allows(success, failure)) {
      const bool ok = a_.compare_exchange_strong(expected, desired, to_rl(success), site(w),
                                                 rl::mo_relaxed, site(w));
      if (!ok && failure != std::memory_order_relaxed)
        rl::atomic_thread_fence(to_rl(failure), site(w));
      return ok;
    }
    return a_.compare_exchange_strong(expected, desired, to_rl(success), site(w), to_rl(failure),
                                      site(w));
  }
  T fetch_add(T d, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    return a_.fetch_add(d, to_rl(o), site(w));
  }
  T fetch_sub(T d, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    return a_.fetch_sub(d, to_rl(o), site(w));
  }
  T fetch_or(T d, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    return a_.fetch_or(d, to_rl(o), site(w));
  }
  /// The last value in modification order, without a memory-model access (outcomes only).
  T peek() const { return a_.debug_value(); }

 private:
  rl::atomic<T> a_;
};

#if defined(HC_RELACY_CLI)
/// The CLR's own operations on a `volatile int` field, as .NET code can write them: .NET has
/// no memory orders, so the order requested selects the code. memory_order_relaxed is a plain
/// (non-volatile, non-interlocked) access of the field: `if (_state == expected) _state =
/// desired;` for a compare-exchange, `_count = _count - 1` for a subtraction (the nearest .NET
/// code to a relaxed operation: there is no relaxed Interlocked operation). Any other order is
/// Volatile.Read for a load and Interlocked.CompareExchange / Interlocked.Add (full fences)
/// for a read-modify-write.
template <class T>
class ClrAtomic {
  using Loc = std::source_location;
  static constexpr auto kSeqCst = std::memory_order_seq_cst;

 public:
  explicit ClrAtomic(T initial) : a_(initial) {}
  ClrAtomic(const ClrAtomic&) = delete;
  ClrAtomic& operator=(const ClrAtomic&) = delete;

  T load(std::memory_order o = kSeqCst, const Loc& w = Loc::current()) const {
    if (o == std::memory_order_relaxed) return a_.load(rl::mo_relaxed, site(w));
    return rl::Thread::VolatileRead(a_, site(w));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success = kSeqCst,
                               std::memory_order = kSeqCst, const Loc& w = Loc::current()) {
    if (success == std::memory_order_relaxed) {
      const T seen = a_.load(rl::mo_relaxed, site(w));
      if (seen != expected) {
        expected = seen;
        return false;
      }
      a_.store(desired, rl::mo_relaxed, site(w));
      return true;
    }
    const T seen = rl::Interlocked::CompareExchange(a_, desired, expected, site(w));
    if (seen == expected) return true;
    expected = seen;
    return false;
  }
  T fetch_add(T d, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    if (o == std::memory_order_relaxed) {
      const T old = a_.load(rl::mo_relaxed, site(w));
      a_.store(static_cast<T>(old + d), rl::mo_relaxed, site(w));
      return old;
    }
    return static_cast<T>(rl::Interlocked::Add(a_, d, site(w)) - d);
  }
  T fetch_sub(T d, std::memory_order o = kSeqCst, const Loc& w = Loc::current()) {
    return fetch_add(static_cast<T>(-d), o, w);
  }

 private:
  mutable rl::nvolatile<T> a_;
};

/// A plain field of a managed object: the CLI memory model has no data-race undefined
/// behaviour, so Relacy models it as a relaxed atomic (rl::nvar): a missing barrier shows up
/// as a stale value, which the tests assert against, not as a data race.
template <class T>
using Plain = rl::nvar<T>;
#else
/// A plain C++ variable: Relacy reports an unordered conflicting access as a data race.
template <class T>
using Plain = rl::var<T>;
#endif

/// A plain variable with hc::var's interface (read(), write()).
template <class T>
class RlVar {
  using Loc = std::source_location;

 public:
  explicit RlVar(T initial, const Loc& w = Loc::current()) { v_(site(w)) = initial; }
  RlVar(const RlVar&) = delete;
  RlVar& operator=(const RlVar&) = delete;
  T read(const Loc& w = Loc::current()) const { return v_(site(w)); }
  void write(T v, const Loc& w = Loc::current()) { v_(site(w)) = v; }

 private:
  mutable Plain<T> v_;  // rl::nvar has no const accessor
};

class RlMutex {
  using Loc = std::source_location;

 public:
  RlMutex() = default;
  RlMutex(const RlMutex&) = delete;
  RlMutex& operator=(const RlMutex&) = delete;
  void lock(const Loc& w = Loc::current()) { m_.lock(site(w)); }
  void unlock(const Loc& w = Loc::current()) { m_.unlock(site(w)); }

 private:
  rl::mutex m_;
};

/// The platforms a protocol template runs on.
struct HcPlatform {
  template <class T>
  using atomic = hc::atomic<T>;
  template <class T>
  using var = hc::var<T>;
  using mutex = hc::mutex;
  static void check(bool ok, const char* what) { HC_CHECK(ok, "{}", what); }
};

struct RlPlatform {
  template <class T>
  using atomic = RlAtomic<T>;
  template <class T>
  using var = RlVar<T>;
  using mutex = RlMutex;
  static void check(bool ok, const char* what) {
    RL_ASSERT_IMPL(ok, rl::test_result_user_assert_failed, what, RL_INFO);
  }
};

/// Relacy's report text, kept in a fixed buffer: nothing is allocated while Relacy's
/// operator new is in charge, and the failure text can be asserted.
class CaptureBuf final : public std::streambuf {
 public:
  std::string_view text() const { return {buf_.data(), size_}; }
  void clear() { size_ = 0; }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof() && size_ < buf_.size()) buf_[size_++] = static_cast<char>(c);
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::size_t room = buf_.size() - size_;
    const std::size_t k = static_cast<std::size_t>(n) < room ? static_cast<std::size_t>(n) : room;
    std::memcpy(buf_.data() + size_, s, k);
    size_ += k;
    return n;
  }

 private:
  std::array<char, 1 << 16> buf_{};
  std::size_t size_ = 0;
};

struct RunResult {
  bool as_expected = false;  // rl::simulate's return value
  rl::test_result_e result = rl::test_result_success;
  std::uint64_t executions = 0;  // iterations run (on a failure: the failing one's number)
  std::string output;            // what Relacy printed (the history of a failing execution)
};

/// Runs `Suite` under Relacy: sched_full (exhaustive) or sched_random with `iterations`.
/// sched_bound: exhaustive up to `context_bound` preemptions.
template <class Suite>
RunResult run(rl::scheduler_type_e search, std::uint64_t iterations = 1000,
              unsigned context_bound = 1) {
  static CaptureBuf buf;  // static: 64 KiB, and it outlives the simulation
  buf.clear();
  std::ostream out(&buf);
  rl::test_params p;
  p.search_type = search;
  p.iteration_count = static_cast<rl::iteration_t>(iterations);
  p.context_bound = context_bound;
  p.output_stream = &out;
  p.progress_stream = &out;
  p.execution_depth_limit = 2000;
  RunResult r;
  r.as_expected = rl::simulate<Suite>(p);
  r.result = p.test_result;
  r.executions = static_cast<std::uint64_t>(p.stop_iteration);
  r.output = std::string(buf.text());
  return r;
}

}  // namespace hc_rl

namespace hc_rl {

/// The final outcomes the Relacy suites recorded (bit n: outcome n was seen). A fixed bitset:
/// a std::set would allocate inside Relacy's iterations, which Relacy counts as a leak.
inline std::bitset<1024> g_outcomes;

/// A protocol (see protocols.hpp) as a Relacy test suite: a fresh protocol per iteration, its
/// threads, then finish() and the outcome recorded once every thread has finished.
template <class Proto>
struct Suite : rl::test_suite<Suite<Proto>, Proto::kThreads> {
  Proto proto;
  void thread(unsigned i) { proto.thread(static_cast<int>(i)); }
  void after() {
    proto.finish();
    g_outcomes.set(static_cast<std::size_t>(proto.outcome()));
  }
};

}  // namespace hc_rl

// The thread life cycle and the teardown (runtime/execution.hpp, "Thread life cycle" and
// "Teardown"): fibers are reused from execution to execution; the threads an execution leaves
// suspended (a finding, a deadlock, a pruned dpor execution) are unwound, so the destructors of
// their locals run and their heap is freed; where they cannot be, they are abandoned and the
// run goes on; and a long run's memory does not grow with its work units.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cerrno>
#include <exception>
#include <memory>
#include <stdexcept>
#include <vector>

#include "runtime/execution.hpp"
#include "test_support.hpp"

namespace {

// Lives outside every execution: what the destructors of the threads' locals did.
int g_live = 0;       // Counted objects constructed and not yet destroyed
int g_destroyed = 0;  // Counted destructors that ran

struct Counted {
  std::unique_ptr<std::vector<int>> heap = std::make_unique<std::vector<int>>(256);
  Counted() { ++g_live; }
  ~Counted() {
    --g_live;
    ++g_destroyed;
  }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
};

void reset_counts() {
  g_live = 0;
  g_destroyed = 0;
}

hc::ExploreOptions keep_going(const char* strategy) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.strategy = strategy;
  o.stop_at_first = false;
  o.check_determinism = false;  // no re-runs: one execution per schedule, for exact counts
  return o;
}

// A thread blocked in lock() when main's check fails: the finding ends the execution with the
// thread parked, and its locals are destroyed when the execution is torn down.
TEST(Teardown, LocalsOfAThreadParkedAtAFindingAreDestroyed) {
  reset_counts();
  int parked_with_local = 0;
  const hc::Result r = hc::explore(
      [&] {
        hc::mutex m("m");
        m.lock();
        hc::thread waiter("waiter", [&] {
          Counted local;
          ++parked_with_local;
          m.lock();  // main holds it: parks here for good
          m.unlock();
        });
        hc::this_thread::yield();  // main's next operation: the waiter's first run comes first
        HC_CHECK(false, "main ends the execution");
      },
      keep_going("dfs"));
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_GT(parked_with_local, 0);
  EXPECT_EQ(g_destroyed, parked_with_local) << "the parked thread's local was not destroyed";
  EXPECT_EQ(g_live, 0);
  EXPECT_EQ(r.stats.abandoned_threads, 0u);
}

// An execution that ends before a thread it spawned started (main fails right after the
// spawn, before its next operation): the thread never runs, and the teardown destroys its body
// (the closure and its captures) once, with no thread abandoned.
TEST(Teardown, AThreadThatNeverStartedHasItsBodyDestroyed) {
  reset_counts();
  int ran = 0;
  const hc::Result r = hc::explore(
      [&] {
        auto captured = std::make_shared<Counted>();
        hc::thread never("never", [&ran, captured] { ++ran; });
        captured.reset();
        HC_CHECK(false, "main ends the execution before its next operation");
      },
      keep_going("dfs"));
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_EQ(ran, 0) << "a thread that never started ran its body";
  EXPECT_GT(g_destroyed, 0);
  EXPECT_EQ(g_live, 0) << "the never-started thread's closure was not destroyed";
  EXPECT_EQ(r.stats.abandoned_threads, 0u);
  EXPECT_EQ(r.stats.unwind_fallbacks, 0u);
}

// Every object a thread constructs is destroyed, however its execution ends: a deadlock
// under dfs, pruned executions under dpor, findings under random.
TEST(Teardown, EveryLocalIsDestroyedAfterDeadlocksPrunedExecutionsAndFindings) {
  const auto abba = [] {
    hc::mutex a("A");
    hc::mutex b("B");
    hc::thread t1("one", [&] {
      Counted local;
      std::lock_guard<hc::mutex> ga(a);
      std::lock_guard<hc::mutex> gb(b);
    });
    hc::thread t2("two", [&] {
      Counted local;
      std::lock_guard<hc::mutex> gb(b);
      std::lock_guard<hc::mutex> ga(a);
    });
  };
  reset_counts();
  const hc::Result dfs = hc::explore(abba, keep_going("dfs"));
  ASSERT_EQ(dfs.verdict(), hc::FindingKind::deadlock);
  EXPECT_EQ(g_live, 0) << "locals of deadlocked threads leaked";
  EXPECT_GT(g_destroyed, 0);
  EXPECT_EQ(dfs.stats.abandoned_threads, 0u);

  // lastzero(4) with a local in every thread: Source-DPOR cuts executions short (sleep sets).
  const auto lastzero = [] {
    constexpr int n = 4;
    std::deque<hc::atomic<int>> array;
    for (int i = 0; i <= n; ++i)
      array.emplace_back(0, "array");
    std::vector<hc::thread> ts;
    ts.emplace_back("scanner", [&array] {
      Counted local;
      for (int i = n; array[static_cast<std::size_t>(i)].load() != 0; --i) {
      }
    });
    for (int j = 1; j <= n; ++j) {
      ts.emplace_back("writer" + std::to_string(j), [&array, j] {
        Counted local;
        const auto k = static_cast<std::size_t>(j);
        array[k].store(array[k - 1].load() + 1);
      });
    }
  };
  reset_counts();
  const hc::Result dpor = hc::explore(lastzero, keep_going("dpor-source"));
  EXPECT_TRUE(dpor.findings.empty());
  EXPECT_GT(dpor.stats.pruned, 0u) << "the test needs pruned executions";
  EXPECT_EQ(g_live, 0) << "locals of pruned executions leaked";
  EXPECT_EQ(dpor.stats.abandoned_threads, 0u);

  reset_counts();
  hc::ExploreOptions random = hc::test::random_runs(500);
  random.stop_at_first = false;
  const hc::Result lost = hc::explore(
      [] {
        hc::atomic<int> x{0, "x"};
        auto add = [&] {
          Counted local;
          x.store(x.load() + 1);
        };
        hc::thread a("a", add);
        hc::thread b("b", add);
        a.join();
        b.join();
        HC_CHECK(x.load() == 2, "lost update");
      },
      random);
  ASSERT_EQ(lost.verdict(), hc::FindingKind::check_failure);
  EXPECT_EQ(g_live, 0);
  EXPECT_EQ(lost.stats.abandoned_threads, 0u);
}

// ~Guard is implicitly noexcept and parks in unlock() (a scheduling point). When another
// thread's finding ends the execution then, ThreadUnwind thrown there would call
// std::terminate: the teardown sees the noexcept frame, lets unlock() return, and unwinds the
// thread at its next operation after the destructor.
TEST(Teardown, AThreadParkedInANoexceptDestructorFinishesItAndUnwindsAfterIt) {
  reset_counts();
  int resumed_in_destructor = 0;
  struct Guard {
    hc::mutex& m;
    int& resumed;
    ~Guard() {
      m.unlock();
      if (hc::rt::tearing_down()) ++resumed;
    }
  };
  const hc::Result r = hc::explore(
      [&] {
        hc::mutex m("m");
        hc::atomic<int> x{0, "x"};
        hc::thread a("a", [&] {
          Counted local;
          {
            m.lock();
            Guard g{m, resumed_in_destructor};
          }
          x.store(1);
          x.store(2);
        });
        hc::thread b("b", [&] {
          x.store(3);
          HC_CHECK(false, "b ends the execution");
        });
      },
      keep_going("dfs"));
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_GT(resumed_in_destructor, 0) << "no execution ended with 'a' inside ~Guard";
  EXPECT_EQ(r.stats.abandoned_threads, 0u) << "a thread inside ~Guard was abandoned";
  EXPECT_EQ(g_live, 0);
}

/// Explores `body` (dfs, keep going); returns the result, the fallbacks counted.
hc::Result explore_keep_going(const std::function<void()>& body) {
  return hc::explore(body, keep_going("dfs"));
}

// A finding inside a noexcept destructor (its unlock() of a mutex it does not hold): the thread
// can neither unwind from there nor return from the finding, so it is abandoned. The process
// lives, every execution runs, and the next run in the process is normal.
TEST(Teardown, AFindingInsideANoexceptDestructorAbandonsTheThreadAndTheRunGoesOn) {
  struct UnlocksWhatItDoesNotHold {
    hc::mutex& m;
    ~UnlocksWhatItDoesNotHold() { m.unlock(); }
  };
  const hc::Result r = explore_keep_going([] {
    hc::mutex m("m");
    hc::atomic<int> x{0, "x"};
    hc::thread a("a", [&] {
      UnlocksWhatItDoesNotHold bad{m};
      x.store(1);
    });
    hc::thread b("b", [&] { x.store(2); });
  });
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_TRUE(hc::test::contains(r.findings[0].message, "it is not locked"));
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
  EXPECT_EQ(r.stats.unwind_fallbacks, r.stats.executions) << "one thread per execution";
  EXPECT_EQ(r.stats.abandoned_threads, r.stats.unwind_fallbacks);
  const hc::Result next = hc::explore(hc::test::threads_with_steps(2, 2), hc::test::exhaustive());
  EXPECT_TRUE(next.findings.empty());
  EXPECT_EQ(next.stats.executions, 6u);
}

// The fallbacks for what a destructor does while it is unwound: throw (std::terminate), crash
// (a fatal signal), or call operations without end. Each abandons the thread, no finding is
// made, and the run goes on.
struct ThrowsWhenTornDown {
  ~ThrowsWhenTornDown() noexcept(false) {
    if (hc::rt::tearing_down()) throw std::runtime_error("a second exception while unwinding");
  }
};
/// A store through a null pointer: SIGSEGV. Exempt from UBSan, which would end the process
/// before the fault reaches handlecheck (the sanitizers job).
[[gnu::no_sanitize_undefined]] void crash() {
  volatile int* volatile null = nullptr;
  *null = 1;
}

struct CrashesWhenTornDown {
  ~CrashesWhenTornDown() {
    if (hc::rt::tearing_down()) crash();
  }
};
struct SpinsWhenTornDown {
  ~SpinsWhenTornDown() {
    while (hc::rt::tearing_down())
      hc::this_thread::yield();  // does nothing while tearing down: cut after a bound
  }
};

template <class Local>
hc::Result parked_with(int& constructed) {
  return explore_keep_going([&constructed] {
    hc::mutex m("m");
    m.lock();
    hc::thread waiter("waiter", [&] {
      Local local;
      ++constructed;
      m.lock();
    });
    hc::this_thread::yield();  // the waiter runs to its lock first
    HC_CHECK(false, "main ends the execution");
  });
}

TEST(Teardown, ADestructorThatThrowsWhileUnwoundAbandonsTheThread) {
  int constructed = 0;
  const hc::Result r = parked_with<ThrowsWhenTornDown>(constructed);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_GT(constructed, 0);
  EXPECT_EQ(r.stats.unwind_fallbacks, static_cast<std::uint64_t>(constructed));
}

TEST(Teardown, ADestructorThatCrashesWhileUnwoundAbandonsTheThread) {
  int constructed = 0;
  const hc::Result r = parked_with<CrashesWhenTornDown>(constructed);
  ASSERT_EQ(r.findings.size(), 1u) << "the crash while tearing down is not a finding";
  EXPECT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_GT(constructed, 0);
  EXPECT_EQ(r.stats.unwind_fallbacks, static_cast<std::uint64_t>(constructed));
}

TEST(Teardown, ADestructorThatCallsOperationsWithoutEndIsCut) {
  int constructed = 0;
  const hc::Result r = parked_with<SpinsWhenTornDown>(constructed);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_GT(constructed, 0);
  EXPECT_EQ(r.stats.unwind_fallbacks, static_cast<std::uint64_t>(constructed));
}

// --- fibers: one per thread slot, reused ---------------------------------------------------

/// Runs `body` `n` times on one Execution under the non-preemptive strategy.
void run_times(hc::detail::Execution& exec, const std::function<void()>& body, int n) {
  const auto strategy = hc::make_non_preemptive_strategy();
  for (int i = 0; i < n; ++i) {
    strategy->begin_execution();
    (void)exec.run(body, *strategy);
  }
}

TEST(FiberReuse, OneFiberPerThreadSlotAcrossExecutions) {
  hc::detail::Execution exec(hc::detail::ExecutionConfig{});
  const auto three_threads = [] {
    hc::atomic<int> x{0, "x"};
    hc::thread a("a", [&] { x.fetch_add(1); });
    hc::thread b("b", [&] { x.fetch_add(1); });
  };
  run_times(exec, three_threads, 1000);
  EXPECT_EQ(exec.fibers_created(), 3u) << "main, a and b";
  // Executions that end at a finding with threads parked: unwound by a throw (their locals
  // have destructors), and their fibers reused.
  reset_counts();
  const auto ends_early = [] {
    hc::mutex m("m");
    m.lock();
    hc::thread a("a", [&] {
      Counted local;
      m.lock();
    });
    hc::thread b("b", [&] {
      Counted local;
      m.lock();
    });
    hc::this_thread::yield();  // a and b run to their locks first
    HC_CHECK(false, "ends with a and b parked");
  };
  run_times(exec, ends_early, 1000);
  EXPECT_EQ(exec.fibers_created(), 3u);
  EXPECT_EQ(exec.abandoned_threads(), 0u);
  EXPECT_EQ(g_live, 0);
  EXPECT_EQ(g_destroyed, 2000);
  // Threads parked with nothing to destroy on their frames are not thrown at: their bodies are
  // destroyed (the closure's captures) and their fibers replaced, which costs less.
  int closures_destroyed = 0;
  struct CountsDestruction {
    int* count;
    explicit CountsDestruction(int* c) : count(c) {}
    ~CountsDestruction() { ++*count; }
    CountsDestruction(const CountsDestruction&) = delete;
    CountsDestruction& operator=(const CountsDestruction&) = delete;
  };
  const auto nothing_to_run = [&closures_destroyed] {
    hc::mutex m("m");
    m.lock();
    auto shared = std::make_shared<CountsDestruction>(&closures_destroyed);
    hc::thread a("a", [&m, shared] { m.lock(); });
    hc::thread b("b", [&m, shared] { m.lock(); });
    shared.reset();
    hc::this_thread::yield();  // a and b run to their locks first
    HC_CHECK(false, "ends with a and b parked");
  };
  run_times(exec, nothing_to_run, 100);
  EXPECT_EQ(closures_destroyed, 100) << "the closures' captures were not destroyed";
  // The first run drops the fibers a and b reused; each later run makes them anew.
  EXPECT_EQ(exec.fibers_created(), 3u + 2u * 99u);
  EXPECT_EQ(exec.abandoned_threads(), 0u);
  const std::uint64_t before_crashes = exec.fibers_created();
  // A thread abandoned at a fault loses its fiber: the slot gets a new one next time.
  const auto crashes = [] { hc::thread a("a", [] { crash(); }); };
  run_times(exec, crashes, 10);
  EXPECT_EQ(exec.abandoned_threads(), 10u);
  EXPECT_EQ(exec.unwind_fallbacks(), 0u) << "a fault's thread is not a fallback";
  EXPECT_GE(exec.fibers_created(), before_crashes + 10u) << "a's slot gets a new fiber each time";
}

// A reused fiber starts each thread with errno 0 and no exception, whatever the thread that
// used the slot before left: errno set, an exception caught when it was abandoned.
TEST(FiberReuse, EachThreadStartsWithItsOwnErrnoAndNoException) {
  hc::detail::Execution exec(hc::detail::ExecutionConfig{});
  int started = 0;
  const auto body = [&started] {
    hc::mutex m("m");
    hc::thread a("a", [&] {
      HC_CHECK(errno == 0, "errno {} at the start of a thread", errno);
      HC_CHECK(std::uncaught_exceptions() == 0 && !std::current_exception(),
               "an exception at the start of a thread");
      ++started;
      errno = EBADF;
      // A finding inside a noexcept function, inside a catch block: abandoned with the
      // exception caught.
      [&]() noexcept {
        try {
          throw std::runtime_error("caught when abandoned");
        } catch (...) {
          m.unlock();  // not locked: a check failure
        }
      }();
    });
  };
  const auto strategy = hc::make_non_preemptive_strategy();
  for (int i = 0; i < 20; ++i) {
    strategy->begin_execution();
    const std::optional<hc::Finding> f = exec.run(body, *strategy);
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(hc::test::contains(f->message, "it is not locked")) << f->message;
  }
  EXPECT_EQ(started, 20);
  EXPECT_EQ(exec.unwind_fallbacks(), 20u);
}

// --- memory that does not grow ---------------------------------------------------------------

/// Bytes the heap holds now (glibc); 0 when the allocator does not say (a sanitizer's).
std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// A clean random run of 4,000 units (64 executions each) keeps one sum for its finished units,
// not an entry each: the heap at the end is what it was early in the run. (It used to grow by
// a map node per unit, 3.4 bytes per execution.)
TEST(FlatMemory, ALongRunDoesNotKeepAnEntryPerUnit) {
  hc::ExploreOptions o = hc::test::random_runs(64 * 4000);
  std::size_t early = 0;
  std::size_t late = 0;
  o.progress = [&](const hc::Progress& p) {
    if (p.executions == 16 * 1024) early = heap_in_use();
    if (p.executions == 250 * 1024) late = heap_in_use();
  };
  const hc::Result r = hc::explore(hc::test::threads_with_steps(2, 1), o);
  ASSERT_EQ(r.stats.executions, 64u * 4000u);
  if (early == 0) GTEST_SKIP() << "the allocator does not report its use";
  ASSERT_NE(late, 0u);
  EXPECT_LT(late, early + 16 * 1024) << "the heap grew by " << late - early << " bytes";
}

// Executions that all end at a finding, each leaving a thread parked with 1 KiB on the heap:
// the heap does not grow with them.
TEST(FlatMemory, ExecutionsEndingInFindingsFreeTheirThreadsHeap) {
  hc::ExploreOptions o = hc::test::random_runs(32 * 1024);
  o.stop_at_first = false;
  std::size_t early = 0;
  std::size_t late = 0;
  o.progress = [&](const hc::Progress& p) {
    if (p.executions == 4 * 1024) early = heap_in_use();
    if (p.executions == 32 * 1024) late = heap_in_use();
  };
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        m.lock();
        hc::thread waiter("waiter", [&] {
          std::vector<char> kib(1024);
          m.lock();
        });
        HC_CHECK(false, "main ends the execution");
      },
      o);
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  ASSERT_EQ(r.stats.executions, 32u * 1024u);
  if (early == 0) GTEST_SKIP() << "the allocator does not report its use";
  EXPECT_LT(late, early + 16 * 1024) << "the heap grew by " << late - early << " bytes";
}

}  // namespace

// The instrumented primitives: their semantics, and what the engine makes of misuse.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace {

using hc::test::exhaustive;

const hc::Finding& only_finding(const hc::Result& r) {
  EXPECT_EQ(r.findings.size(), 1u);
  static const hc::Finding none{};
  return r.findings.empty() ? none : r.findings.front();
}

TEST(Mutex, ProtectsAPlainCounterOnEverySchedule) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::var<int> counter{0, "counter"};
        auto bump = [&] {
          m.lock();
          counter.write(counter.read() + 1);
          m.unlock();
        };
        hc::thread a("A", bump);
        hc::thread b("B", bump);
        a.join();
        b.join();
        HC_CHECK(counter.peek() == 2, "counter is {}", counter.peek());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(Mutex, TryLockExploresBothOutcomes) {
  hc::ExploreOptions o = exhaustive();
  o.must_reach = {"try_lock failed", "try_lock succeeded"};
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::thread holder("holder", [&] {
          m.lock();
          m.unlock();
        });
        if (m.try_lock()) {
          hc::reached("try_lock succeeded");
          m.unlock();
        } else {
          hc::reached("try_lock failed");
        }
        holder.join();
      },
      o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Mutex, UnlockingAMutexNotHeldIsACheckFailure) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        m.unlock();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::check_failure);
  EXPECT_NE(f.message.find("unlocks mutex 'm'"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("it is not locked"), std::string::npos) << f.message;
}

// A consumer that waits with a predicate never misses the producer's notification.
TEST(ConditionVariable, WaitWithPredicateIsCorrect) {
  hc::ExploreOptions o = exhaustive();
  o.spurious_wakeups = true;
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::condition_variable cv("cv");
        hc::var<bool> ready{false, "ready"};
        hc::thread producer("producer", [&] {
          m.lock();
          ready.write(true);
          m.unlock();
          cv.notify_one();
        });
        std::unique_lock<hc::mutex> lock(m);
        cv.wait(lock, [&] { return ready.read(); });
        lock.unlock();
        producer.join();
      },
      o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// Waiting without checking the condition first: when the notification comes before the wait,
// the consumer waits forever (a lost wake-up).
TEST(ConditionVariable, LostWakeUpIsADeadlock) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::condition_variable cv("cv");
        hc::thread producer("producer", [&] { cv.notify_one(); });
        std::unique_lock<hc::mutex> lock(m);
        cv.wait(lock);
        lock.unlock();
        producer.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock);
  EXPECT_NE(f.message.find("thread 'main' waits for a notification of condition_variable 'cv' "
                           "that no thread will send"),
            std::string::npos)
      << f.message;
}

// Without spurious wake-ups a lone wait() returns only after notify; with them (an explored
// choice) it may return early, and code that trusts it breaks.
TEST(ConditionVariable, SpuriousWakeUpsAreAnExploredChoice) {
  const auto body = [] {
    hc::mutex m("m");
    hc::condition_variable cv("cv");
    hc::var<bool> ready{false, "ready"};
    hc::thread producer("producer", [&] {
      m.lock();
      ready.write(true);
      cv.notify_one();
      m.unlock();
    });
    std::unique_lock<hc::mutex> lock(m);
    if (!ready.read()) {
      cv.wait(lock);  // bug: no loop around the wait
      HC_CHECK(ready.read(), "woke up without the data");
    }
    lock.unlock();
    producer.join();
  };
  hc::ExploreOptions o = exhaustive();
  o.stop_at_first = false;
  const hc::Result without = hc::explore(body, o);
  EXPECT_TRUE(without.findings.empty()) << without.findings.front().message;
  o.spurious_wakeups = true;
  const hc::Result with = hc::explore(body, o);
  bool woke_without_data = false;
  for (const hc::Finding& f : with.findings)
    woke_without_data |= f.message.find("woke up without the data") != std::string::npos;
  EXPECT_TRUE(woke_without_data);
}

TEST(Event, AutoResetReleasesOneWaiterPerSet) {
  const hc::Result r = hc::explore(
      [] {
        hc::event e(hc::event::reset_mode::automatic, false, "done");
        hc::thread w1("waiter-1", [&] { e.wait(); });
        hc::thread w2("waiter-2", [&] { e.wait(); });
        e.set();
        w1.join();
        w2.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock);
  EXPECT_NE(f.message.find("for event 'done' to be set, and no thread will set it"),
            std::string::npos)
      << f.message;
}

TEST(Event, ManualResetReleasesEveryWaiter) {
  const hc::Result r = hc::explore(
      [] {
        hc::event e(hc::event::reset_mode::manual, false, "done");
        hc::var<int> data{0, "data"};
        hc::thread w1("waiter-1", [&] {
          e.wait();
          HC_CHECK(data.read() == 7, "data is {}", data.peek());
        });
        hc::thread w2("waiter-2", [&] {
          e.wait();
          HC_CHECK(data.read() == 7, "data is {}", data.peek());
        });
        data.write(7);
        e.set();  // also the happens-before edge that orders the data
        w1.join();
        w2.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Thread, JoinOrdersTheChildBeforeTheParent) {
  const hc::Result r = hc::explore(
      [] {
        hc::var<int> result{0, "result"};
        hc::thread child("child", [&] { result.write(42); });
        child.join();
        HC_CHECK(result.read() == 42, "result is {}", result.peek());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Thread, NestedSpawnsAndLargeBodiesWork) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> sum{0, "sum"};
        std::array<int, 64> big{};  // captured by value: larger than the inline body buffer
        big.fill(1);
        hc::thread outer("outer", [&sum, big] {
          hc::thread inner("inner", [&sum, big] { sum.fetch_add(big[0]); });
          sum.fetch_add(big[63]);
          inner.join();
        });
        outer.join();
        HC_CHECK(sum.peek() == 2, "sum is {}", sum.peek());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 2u);
}

// A new thread's first run (its code up to its first operation) comes before the next
// decision, at its parent's next operation, not at its spawn (runtime/execution.hpp, "First
// runs"): the parent's code up to there runs first. The schedules are those of a first run at
// the spawn: 2 here, the parent's add and the child's in either order.
TEST(Thread, ANewThreadsFirstRunComesAtItsParentsNextOperation) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> x{0, "x"};
        std::string order;
        hc::thread child("child", [&] {
          order += 'c';
          x.fetch_add(1);
        });
        order += 'p';
        x.fetch_add(1);
        child.join();
        HC_CHECK(order == "pc", "order is {}", order);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 2u);
}

// A thread that spawns and joins a thread within its own first run: the first runs run there
// and then (Execution::run_first_runs), and no decision comes inside a first run. `outer`'s
// join of `inner` (which finishes at once) is no scheduling point, as if inner had run at its
// spawn: main's add and outer's add are the only ones to order.
TEST(Thread, AJoinInsideAFirstRunIsNoDecision) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> x{0, "x"};
        bool inner_ran = false;
        hc::thread outer("outer", [&] {
          hc::thread inner("inner", [&] { inner_ran = true; });
          inner.join();
          HC_CHECK(inner_ran, "outer's join returned before inner ran");
          x.fetch_add(1);
        });
        x.fetch_add(1);
        outer.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 2u);
}

// main joins a thread that has not started: the first runs run at that join, `a` finishes in
// its own, and main goes on without a decision (its join is unscheduled), as when a finished at
// its spawn. Only main's add and b's are ordered: 2 executions under dfs and dpor.
TEST(Thread, JoiningAThreadThatFinishesInItsFirstRunIsNoDecision) {
  for (const char* strategy : {"dfs", "dpor"}) {
    hc::ExploreOptions o = exhaustive();
    o.strategy = strategy;
    const hc::Result r = hc::explore(
        [] {
          hc::atomic<int> x{0, "x"};
          hc::thread a("a", [] {});
          hc::thread b("b", [&] { x.fetch_add(1); });
          a.join();
          x.fetch_add(1);
          b.join();
        },
        o);
    EXPECT_TRUE(r.findings.empty()) << strategy << ": " << r.findings.front().message;
    EXPECT_TRUE(r.stats.exhausted) << strategy;
    EXPECT_EQ(r.stats.executions, 2u) << strategy;
  }
}

// Right after its spawn a thread is seen parked at its first operation (rt::blocked_on runs
// the first runs first), as a query of a thread that had run at its spawn would see it.
TEST(Thread, AQueryRightAfterASpawnSeesTheThreadAtItsFirstOperation) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        m.lock();
        hc::thread waiter("waiter", [&] {
          m.lock();
          m.unlock();
        });
        const hc::rt::BlockedOn b = hc::rt::blocked_on(waiter.id());
        HC_CHECK(b.wait == hc::WaitFor::mutex_free && b.holder == 0,
                 "the waiter is not seen blocked on m, held by main");
        m.unlock();
        waiter.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// Two threads wait to join one (hc::rt::join by id, and the hc::thread): both go on when it
// finishes, under dfs and dpor. The engine keeps the threads blocked in a join apart from the
// other waiting threads and must release every one of them, not only the last to park.
TEST(Thread, TwoThreadsWaitingToJoinOneBothGoOnWhenItFinishes) {
  auto body = [] {
    hc::atomic<int> done{0, "done"};
    hc::atomic<int> work{0, "work"};
    hc::thread worker("worker", [&] {
      work.fetch_add(1);
      work.fetch_add(1);
    });
    const hc::ThreadId id = worker.id();
    hc::thread by_id("by-id", [&] {
      hc::rt::join(id, std::source_location::current());
      HC_CHECK(work.load() == 2, "by-id saw work {}", work.peek());
      done.fetch_add(1);
    });
    hc::thread by_handle("by-handle", [&] {
      worker.join();
      HC_CHECK(work.load() == 2, "by-handle saw work {}", work.peek());
      done.fetch_add(1);
    });
    by_id.join();
    by_handle.join();
    HC_CHECK(done.load() == 2, "done is {}", done.peek());
  };
  for (const char* strategy : {"dfs", "dpor"}) {
    hc::ExploreOptions o = exhaustive();
    o.strategy = strategy;
    const hc::Result r = hc::explore(body, o);
    EXPECT_TRUE(r.findings.empty()) << strategy << ": " << r.findings.front().message;
    EXPECT_TRUE(r.stats.exhausted) << strategy;
    EXPECT_GT(r.stats.executions, 1u) << strategy;
  }
}

TEST(Thread, AnExceptionEscapingAThreadIsAFinding) {
  const hc::Result r = hc::explore(
      [] {
        hc::thread t("thrower", [] { throw std::runtime_error("handle table corrupt"); });
        t.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::uncaught_exception);
  EXPECT_EQ(f.message,
            "uncaught exception in thread 'thrower': std::runtime_error: handle table corrupt");
}

TEST(Invariant, IsCheckedAfterEveryStep) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> balance{100, "balance"};
        auto inv = hc::invariant("balance is never negative", [&] { return balance.peek() >= 0; });
        hc::thread spender("spender", [&] {
          balance.fetch_sub(150);  // goes negative here...
          balance.fetch_add(150);  // ...and back: only a per-step check sees it
        });
        spender.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::check_failure);
  EXPECT_NE(f.message.find("invariant 'balance is never negative' does not hold after step 1 "
                           "(atomic-rmw by thread 'spender'"),
            std::string::npos)
      << f.message;
}

TEST(Reached, AnUnreachedLabelIsAFinding) {
  hc::ExploreOptions o = exhaustive();
  o.must_reach = {"both saw zero"};
  const auto body = [] {
    hc::atomic<int> x{0, "x"};
    hc::atomic<int> y{0, "y"};
    int rx = -1;
    int ry = -1;
    hc::thread a("A", [&] {
      x.store(1);
      ry = y.load();
    });
    hc::thread b("B", [&] {
      y.store(1);
      rx = x.load();
    });
    a.join();
    b.join();
    if (rx == 0 && ry == 0) hc::reached("both saw zero");  // impossible under SC
  };
  const hc::Result r = hc::explore(body, o);
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, hc::FindingKind::unreached);
  EXPECT_NE(f.message.find("'both saw zero' was never reached"), std::string::npos);

  o.must_reach = {"one saw zero"};
  const hc::Result ok = hc::explore(
      [&] {
        body();
        hc::reached("one saw zero");
      },
      o);
  EXPECT_TRUE(ok.findings.empty());
}

TEST(Usage, PrimitivesOutsideAnExecutionAreAClearError) {
  try {
    hc::atomic<int> x{0};
    FAIL() << "constructing an hc::atomic outside an execution must throw";
  } catch (const hc::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("outside an execution"), std::string::npos);
  }
  EXPECT_THROW(hc::mutex m, hc::usage_error);
  EXPECT_THROW((void)hc::choose(2), hc::usage_error);
}

TEST(Usage, AStepBoundAboveTheLimitIsAClearError) {
  hc::ExploreOptions o;
  o.max_steps = 100'000'001;
  try {
    hc::explore([] {}, o);
    FAIL() << "max_steps above 100000000 must throw";
  } catch (const hc::usage_error& e) {
    EXPECT_STREQ(e.what(), "max_steps must be from 1 to 100000000, not 100000001");
  }
  o.max_steps = 0;
  EXPECT_THROW(hc::explore([] {}, o), hc::usage_error);
}

TEST(Usage, UnknownStrategyNamesTheChoices) {
  hc::ExploreOptions o;
  o.strategy = "bfs";
  try {
    hc::explore([] {}, o);
    FAIL() << "an unknown strategy must throw";
  } catch (const hc::usage_error& e) {
    EXPECT_STREQ(
        e.what(),
        "unknown strategy 'bfs': use one of dfs, dpor, dpor-source, ipb, pct, random, replay");
  }
}

}  // namespace

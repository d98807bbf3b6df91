// Exact exploration counts under dfs: the engine explores every interleaving exactly once.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "runtime/execution.hpp"
#include "strategy/strategies.hpp"
#include "test_support.hpp"

namespace {

using hc::test::exhaustive;
using hc::test::threads_with_steps;

/// The executions dfs needs to exhaust `body`. With a preemption bound that leaves out schedules
/// (`bound_cuts`), the search ends "within the bound", never "exhausted".
std::uint64_t executions(const std::function<void()>& body, int preemption_bound = -1,
                         bool bound_cuts = true) {
  hc::ExploreOptions o = exhaustive();
  o.preemption_bound = preemption_bound;
  const hc::Result r = hc::explore(body, o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  if (preemption_bound < 0 || !bound_cuts) {
    EXPECT_TRUE(r.stats.exhausted);
    EXPECT_EQ(r.stats.bounded_by, "");
  } else {
    // Every schedule within the bound, which is not every schedule: never "exhausted".
    EXPECT_FALSE(r.stats.exhausted);
    EXPECT_EQ(r.stats.bounded_by, fmt::format("preemption bound {}", preemption_bound));
  }
  return r.stats.executions;
}

// Two threads of k steps: choose which k of the 2k steps belong to the first: C(2k, k).
TEST(DfsCounts, TwoThreadsOfTwoStepsGiveSix) {
  EXPECT_EQ(executions(threads_with_steps(2, 2)), 6u);
}

TEST(DfsCounts, TwoThreadsOfThreeStepsGiveTwenty) {
  EXPECT_EQ(executions(threads_with_steps(2, 3)), 20u);
}

// Three threads of 2 steps: the multinomial 6! / (2! 2! 2!) = 90.
TEST(DfsCounts, ThreeThreadsOfTwoStepsGiveNinety) {
  EXPECT_EQ(executions(threads_with_steps(3, 2)), 90u);
}

// A choose(3) in one thread, between its steps: every interleaving happens with each value.
TEST(DfsCounts, ChooseThreeMultipliesByThree) {
  const auto body = [] {
    hc::atomic<int> x{0, "x"};
    hc::thread a("A", [&] {
      x.fetch_add(1);
      (void)hc::choose(3, "which");
      x.fetch_add(1);
    });
    hc::thread b("B", [&] {
      x.fetch_add(1);
      x.fetch_add(1);
    });
    a.join();
    b.join();
  };
  EXPECT_EQ(executions(body), 3u * 6u);
}

// Preemption bound 0: a thread runs until it finishes (nobody blocks here), so a schedule is
// an order of the threads: 2 for two threads, 3! = 6 for three.
TEST(DfsCounts, PreemptionBoundZeroGivesTheNonPreemptiveSchedules) {
  EXPECT_EQ(executions(threads_with_steps(2, 3), 0), 2u);
  EXPECT_EQ(executions(threads_with_steps(3, 2), 0), 6u);
}

// Preemption bound 1, two threads of k steps: the 2 non-preemptive schedules, plus, for each
// first thread, a preemption after any of its first k-1 steps (the other thread then runs to
// its end and the first finishes without another preemption): 2 + 2(k-1) = 2k.
TEST(DfsCounts, PreemptionBoundOneAddsOnePreemptionPoint) {
  EXPECT_EQ(executions(threads_with_steps(2, 3), 1), 6u);
  EXPECT_EQ(executions(threads_with_steps(2, 5), 1), 10u);
}

// A larger bound than any schedule needs changes nothing.
// A bound no schedule reaches leaves nothing out: the search is exhaustive.
TEST(DfsCounts, LargeBoundEqualsUnbounded) {
  EXPECT_EQ(executions(threads_with_steps(2, 3), 10, /*bound_cuts=*/false), 20u);
}

// Blocked threads are not choices: a thread waiting on a held mutex is never picked.
TEST(DfsCounts, LockedSectionsAreAtomicToOtherLockers) {
  const auto body = [] {
    hc::mutex m("m");
    auto critical = [&] {
      m.lock();
      m.unlock();
    };
    hc::thread a("A", critical);
    hc::thread b("B", critical);
    a.join();
    b.join();
  };
  // Who locks first (2); then the other is blocked until unlock, and after the first unlock
  // the winner has finished: nothing else to choose.
  EXPECT_EQ(executions(body), 2u);
}

// Context switches are the steps whose thread is not the thread of the step before. The engine
// counts them as steps begin (Execution::context_switches); here they are counted from each
// execution's trace, over every dfs execution of bodies with the steps that are easy to miss:
// steps that do not park (a join of a finished thread, a choice) in a new thread's first run,
// in a grandchild's, and in the spawner's; a thread that spawns and ends without a step;
// executions that a deadlock or a step bound end; fibers and OS threads.
TEST(ContextSwitches, AreTheStepsWhoseThreadIsNotTheThreadOfTheStepBefore) {
  struct Case {
    const char* name;
    std::function<void()> body;
    std::uint32_t max_steps = 10000;
    bool findings = false;  // some executions end with one
  };
  const Case cases[] = {
      {"3 threads x 2 steps", threads_with_steps(3, 2)},
      {"joins and choices that do not park",
       [] {
         hc::mutex m("m");
         hc::atomic<int> x{0, "x"};
         hc::thread a("A", [&] { x.fetch_add(1); });
         x.fetch_add(1);
         hc::thread b("B", [&] {
           a.join();  // A finished (some executions): a step in B's first run, in spawn
           m.lock();
           x.fetch_add(1);
           m.unlock();
         });
         hc::thread c("C", [&] {
           (void)hc::choose(2, "c");
           m.lock();
           m.unlock();
         });
         b.join();  // finished (some executions): a step that does not park
         c.join();
       }},
      {"a grandchild's first run, siblings with and without first-run steps",
       [] {
         hc::atomic<int> x{0, "x"};
         hc::thread a("A", [&] {
           hc::thread g("G", [&] {
             (void)hc::choose(2, "g");
             x.fetch_add(1);
           });
           g.join();
         });
         hc::thread b("B", [&] { (void)hc::choose(2, "b"); });
         hc::thread c("C", [&] { x.fetch_add(1); });
         (void)hc::choose(2, "main");
         a.join();
         b.join();
         c.join();
       }},
      {"a thread that spawns and ends without a step",
       [] {
         hc::atomic<int> x{0, "x"};
         hc::thread inner;  // joined by main, after the spawner ended
         hc::thread spawner("S", [&] {
           inner = hc::thread("I", [&] {
             (void)hc::choose(2, "i");
             x.fetch_add(1);
           });
         });
         x.fetch_add(1);
         spawner.join();
         inner.join();
       }},
      {"deadlocks", hc::test::abba_deadlock, 10000, true},
      {"a step bound",
       [] {
         hc::atomic<int> flag{0, "flag"};
         hc::thread spin("spin", [&] {
           while (flag.load() == 0) {
           }
         });
         flag.store(1);
         spin.join();
       },
       12, true},
  };
  for (const bool os_threads : {false, true}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(fmt::format("{}{}", c.name, os_threads ? ", OS threads" : ""));
      const auto strategy = hc::detail::make_dfs_strategy(hc::StrategyOptions{});
      hc::detail::ExecutionConfig config;
      config.max_steps = c.max_steps;
      config.os_threads = os_threads;
      hc::detail::Execution exec(config);
      std::uint64_t executions = 0, changes = 0, findings = 0;
      while (strategy->begin_execution()) {
        const std::optional<hc::Finding> f = exec.run(c.body, *strategy);
        if (f) {
          ASSERT_TRUE(c.findings) << f->message;
          ++findings;
        }
        std::uint32_t expected = 0;
        const std::span<const hc::Step> steps = exec.trace();
        std::string shape;  // thread, "u" for a step that did not park, and its kind
        for (std::size_t i = 0; i < steps.size(); ++i) {
          if (i != 0) expected += steps[i].thread != steps[i - 1].thread;
          shape += fmt::format(" {}{}{}", static_cast<int>(steps[i].thread),
                               steps[i].scheduled ? "" : "u", static_cast<int>(steps[i].kind));
        }
        ASSERT_EQ(exec.context_switches(), expected) << "execution " << executions << ":" << shape;
        changes += expected;
        ++executions;
        strategy->end_execution(steps, hc::Verdict{});
      }
      EXPECT_GE(executions, 3u);
      EXPECT_GT(changes, executions);  // the bodies switch: the comparison is not of zeros
      EXPECT_EQ(findings != 0, c.findings);
    }
  }
}

}  // namespace

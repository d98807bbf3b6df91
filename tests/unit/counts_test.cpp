// Exact exploration counts under dfs: the engine explores every interleaving exactly once.
#include <fmt/format.h>
#include <gtest/gtest.h>

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

}  // namespace

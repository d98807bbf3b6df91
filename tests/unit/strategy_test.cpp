// Strategies: choice strings, the random strategy's per-execution seeding, replay prefixes
// that any strategy continues from, divergence, and the counts of steps, switches and preemptions.
#include <gtest/gtest.h>

#include <array>

#include "test_support.hpp"

namespace {

using hc::test::exhaustive;
using hc::test::threads_with_steps;

TEST(ChoiceString, RoundTrips) {
  const std::vector<hc::Choice> choices = {
      {hc::Choice::Kind::thread, 1}, {hc::Choice::Kind::value, 0}, {hc::Choice::Kind::thread, 12}};
  EXPECT_EQ(hc::format_choices(choices), "1.v0.12");
  std::string error;
  const auto parsed = hc::parse_choices("1.v0.12", &error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(*parsed, choices);
  EXPECT_TRUE(hc::parse_choices("", &error)->empty());
}

TEST(ChoiceString, MalformedInputNamesTheBadChoice) {
  std::string error;
  EXPECT_FALSE(hc::parse_choices("1.x.2", &error).has_value());
  EXPECT_EQ(error,
            "choice 2 is 'x': expected a thread id (0-31) or 'v' and a value, separated by dots, "
            "as in 1.2.v0.1");
  EXPECT_FALSE(hc::parse_choices("1..2", &error).has_value());
  EXPECT_FALSE(hc::parse_choices("99", &error).has_value());
}

/// A view of an execution with no steps yet, whose threads announced nothing yet.
class NoSteps final : public hc::ExecutionView {
 public:
  const hc::Operation& pending(hc::ThreadId t) const override { return pending_[t]; }
  std::span<const hc::Step> trace() const override { return {}; }
  std::span<const hc::Touch> touches() const override { return {}; }
  std::string_view thread_name(hc::ThreadId) const override { return "t"; }

 private:
  std::array<hc::Operation, hc::kMaxThreads> pending_{};
};

// Execution i of a random run depends only on (seed, i): not on how many draws the earlier
// executions made. So a run can be cut anywhere and any execution re-derived.
TEST(RandomStrategy, EachExecutionIsSeededFromSeedAndIndexAlone) {
  const NoSteps view;
  std::string divergence;
  const hc::Decision d{hc::DivergenceSink(&divergence), 0b1111, 0, true, 0, 0b1111, view};
  auto draws = [&](int executions, int picks_in_first) {
    hc::StrategyOptions options;
    options.seed = 42;
    auto s = hc::make_strategy("random", options);
    std::vector<int> last;
    for (int e = 0; e < executions; ++e) {
      s->begin_execution();
      last.clear();
      const int n = e == 0 ? picks_in_first : 20;
      for (int i = 0; i < n; ++i)
        last.push_back(s->pick_thread(d).value());
      s->end_execution({}, {});
    }
    return last;
  };
  EXPECT_EQ(draws(3, 1), draws(3, 50));
  EXPECT_NE(draws(2, 1), draws(3, 1));  // different executions differ (overwhelmingly likely)
}

TEST(RandomStrategy, PicksOnlyEnabledThreadsAndVisitsAll) {
  const NoSteps view;
  std::string divergence;
  const hc::Decision d{hc::DivergenceSink(&divergence), 0b10110, 1, true, 0, 0b10110, view};
  hc::StrategyOptions options;
  options.seed = 7;
  auto s = hc::make_strategy("random", options);
  s->begin_execution();
  std::set<int> seen;
  for (int i = 0; i < 200; ++i)
    seen.insert(s->pick_thread(d).value());
  EXPECT_EQ(seen, (std::set<int>{1, 2, 4}));
}

// A prefix fixes the first decision; dfs explores only the subtree below it: after thread
// 1 takes one of its two steps, 3 steps remain, 1 of them thread 1's: C(3,1) = 3.
TEST(Replay, AnyStrategyContinuesFromThePrefix) {
  hc::ExploreOptions o = exhaustive();
  o.replay = {{hc::Choice::Kind::thread, 1}};
  const hc::Result r = hc::explore(threads_with_steps(2, 2), o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.stats.executions, 3u);
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(Replay, DivergenceNamesTheDecisionAndWhatWasExpected) {
  hc::ExploreOptions o;
  o.strategy = "replay";
  o.replay = {{hc::Choice::Kind::thread, 1}, {hc::Choice::Kind::thread, 5}};
  const hc::Result r = hc::explore(threads_with_steps(2, 2), o);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::nondeterminism);
  EXPECT_EQ(r.findings[0].message,
            "replay diverged at decision 2: the schedule runs thread 5 but it is not enabled "
            "here (enabled: 1, 2)");
}

TEST(Replay, AScheduleTooShortForTheProgramIsADivergence) {
  hc::ExploreOptions o;
  o.strategy = "replay";
  o.replay = {{hc::Choice::Kind::thread, 2}};
  const hc::Result r = hc::explore(threads_with_steps(2, 2), o);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::nondeterminism);
  EXPECT_NE(r.findings[0].message.find("replay diverged at decision 2: the schedule has ended"),
            std::string::npos)
      << r.findings[0].message;
}

TEST(Replay, WithoutAScheduleIsAUsageError) {
  hc::ExploreOptions o;
  o.strategy = "replay";
  EXPECT_THROW(hc::explore([] {}, o), hc::usage_error);
}

// The dfs stack re-checks every decision: a scenario that behaves differently when re-run is
// reported instead of explored as if nothing happened.
TEST(Dfs, ReportsAScenarioThatChangesBetweenRuns) {
  static int runs = 0;  // deliberately survives executions: the bug under test
  runs = 0;
  const hc::Result r = hc::explore(
      [] {
        const int threads = ++runs == 1 ? 2 : 3;
        hc::test::threads_with_steps(threads, 1)();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::nondeterminism);
  EXPECT_NE(r.findings[0].message.find("uncontrolled nondeterminism"), std::string::npos)
      << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("static or global variables"), std::string::npos)
      << r.findings[0].message;
}

TEST(Metrics, CountStepsSwitchesAndPreemptions) {
  const hc::Result r = hc::explore(threads_with_steps(2, 2), exhaustive());
  EXPECT_EQ(r.stats.executions, 6u);
  // Each execution: 4 fetch_adds and 2 joins.
  EXPECT_EQ(r.stats.steps, 6u * 6u);
  EXPECT_EQ(r.stats.max_steps_in_execution, 6u);
  // A preemption switches away from a thread that could go on. Over the six orders of the
  // steps: AABB 0, ABAB 2, ABBA 1, BAAB 1, BABA 2, BBAA 0 (the first pick is free: main is
  // blocked in join; a switch after a thread's last step is not a preemption).
  EXPECT_EQ(r.stats.preemptions, 6u);
}

}  // namespace

namespace {

TEST(Explorer, ReportsProgressAboutEvery1024Executions) {
  hc::ExploreOptions o = hc::test::random_runs(3000);
  std::vector<std::uint64_t> seen;
  o.progress = [&](const hc::Progress& p) { seen.push_back(p.executions); };
  const hc::Result r = hc::explore(hc::test::threads_with_steps(2, 1), o);
  EXPECT_EQ(r.stats.executions, 3000u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1024, 2048}));
}

// Two workers add to the run's count in batches (no locked add per execution): progress still
// comes, and no report counts more executions than the run has.
TEST(Explorer, ReportsProgressWithTwoWorkersWithinTheRunsCount) {
  hc::ExploreOptions o = hc::test::random_runs(20000);
  o.jobs = 2;
  std::vector<std::uint64_t> seen;
  o.progress = [&](const hc::Progress& p) { seen.push_back(p.executions); };
  const hc::Result r = hc::explore(hc::test::threads_with_steps(2, 1), o);
  EXPECT_EQ(r.stats.executions, 20000u);
  EXPECT_GE(seen.size(), 5u);
  for (const std::uint64_t total : seen) {
    EXPECT_LE(total, 20000u);
    EXPECT_EQ(total % 1024, 0u);
  }
}

// The workers do not read the clock: the watchdog sets a flag once the budget has passed, and
// the run ends at the next execution, one worker or two.
TEST(Explorer, TimeBudgetEndsAnUnboundedRunOnceItHasPassed) {
  for (const int jobs : {1, 2}) {
    hc::ExploreOptions o = hc::test::random_runs(0);  // no execution budget: only time ends it
    o.time_budget_seconds = 0.2;
    o.jobs = jobs;
    const hc::Result r = hc::explore(hc::test::threads_with_steps(2, 2), o);
    EXPECT_TRUE(r.findings.empty()) << "jobs " << jobs;
    EXPECT_FALSE(r.stats.exhausted) << "jobs " << jobs;
    EXPECT_FALSE(r.stats.interrupted) << "jobs " << jobs;  // a budget, not a stop request
    EXPECT_GT(r.stats.executions, 0u) << "jobs " << jobs;
    EXPECT_GE(r.stats.seconds, 0.2) << "jobs " << jobs;
  }
}

TEST(Explorer, KeepGoingDeduplicatesFindingsBySignature) {
  hc::ExploreOptions o = exhaustive();
  o.stop_at_first = false;
  const hc::Result r = hc::explore(hc::test::lost_update, o);
  // Four of the six interleavings lose an update; they are one finding.
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.stats.executions, 6u);
  EXPECT_TRUE(r.stats.exhausted);
}

}  // namespace

namespace {

// PCT: a bug of depth 2 (one ordering constraint after the first step) is found quickly, the
// same seed gives the same executions, and every execution is a valid schedule (no finding on
// a correct program).
TEST(Pct, FindsALostUpdateAndIsDeterministic) {
  hc::ExploreOptions o;
  o.strategy = "pct";
  o.pct_depth = 2;
  o.max_executions = 200;
  const hc::Result a = hc::explore(hc::test::lost_update, o);
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_LT(a.stats.executions, 200u);
  const hc::Result b = hc::explore(hc::test::lost_update, o);
  EXPECT_EQ(a.stats.executions, b.stats.executions);
  EXPECT_EQ(a.findings[0].schedule, b.findings[0].schedule);
  o.max_executions = 300;
  EXPECT_TRUE(hc::explore(hc::test::threads_with_steps(3, 3), o).findings.empty());
}

// With depth 1 (no change points) PCT never preempts a thread that can go on: each
// execution is an order of the threads by priority.
TEST(Pct, DepthOneRunsEachThreadToItsEnd) {
  hc::ExploreOptions o;
  o.strategy = "pct";
  o.pct_depth = 1;
  o.max_executions = 50;
  const hc::Result r = hc::explore(hc::test::threads_with_steps(3, 3), o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.stats.preemptions, 0u);
}

}  // namespace

namespace {

// Iterative preemption bounding: a bug needing one preemption is found in the round of bound
// 1; a clean program is exhausted, and the search stops at the first round in which no
// schedule needed its whole bound.
TEST(IterativeBounding, FindsTheLostUpdateAtBoundOne) {
  hc::ExploreOptions o;
  o.strategy = "ipb";
  o.max_executions = 0;
  const hc::Result r = hc::explore(hc::test::lost_update, o);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_EQ(r.stats.bound_reached, 1);
  EXPECT_LE(r.findings[0].preemptions, 1u);
}

TEST(IterativeBounding, ExhaustsACleanProgramRoundByRound) {
  hc::ExploreOptions o;
  o.strategy = "ipb";
  o.max_executions = 0;
  const hc::Result r = hc::explore(hc::test::threads_with_steps(2, 2), o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.stats.exhausted);
  // Two threads of two steps: at most 2 preemptions (ABAB), so rounds 0, 1, 2 and the round of
  // bound 3 that finds no schedule needing 3: 2 + 4 + 6 + 6 executions.
  EXPECT_EQ(r.stats.bound_reached, 3);
  EXPECT_EQ(r.stats.executions, 2u + 4u + 6u + 6u);
}

}  // namespace

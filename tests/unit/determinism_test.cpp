// Determinism: a failing execution re-run from its choices reproduces the same finding; a
// scenario that does not reproduce is reported as uncontrolled nondeterminism.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace {

using hc::test::lost_update;

TEST(Determinism, AFailingExecutionReplayedFromItsChoicesReproducesTheFinding) {
  for (const char* strategy : {"dfs", "random"}) {
    hc::ExploreOptions o;
    o.strategy = strategy;
    o.seed = 11;
    o.max_executions = 1000;
    const hc::Result first = hc::explore(lost_update, o);
    ASSERT_EQ(first.findings.size(), 1u) << strategy;
    const hc::Finding& f = first.findings[0];
    ASSERT_EQ(f.kind, hc::FindingKind::check_failure);

    hc::ExploreOptions replay;
    replay.strategy = "replay";
    replay.replay = f.schedule;
    const hc::Result again = hc::explore(lost_update, replay);
    ASSERT_EQ(again.findings.size(), 1u);
    const hc::Finding& g = again.findings[0];
    EXPECT_EQ(g.kind, f.kind);
    EXPECT_EQ(g.message, f.message);
    EXPECT_EQ(g.signature, f.signature);
    ASSERT_EQ(g.trace.size(), f.trace.size());
    for (std::size_t i = 0; i < f.trace.size(); ++i) {
      EXPECT_EQ(g.trace[i].thread_name, f.trace[i].thread_name) << i;
      EXPECT_EQ(g.trace[i].operation, f.trace[i].operation) << i;
      EXPECT_EQ(g.trace[i].value, f.trace[i].value) << i;
      EXPECT_EQ(g.trace[i].line, f.trace[i].line) << i;
    }
    EXPECT_EQ(again.stats.executions, 1u);
  }
}

TEST(Determinism, TheSameExplorationTwiceGivesTheSameFindingsAndCounts) {
  hc::ExploreOptions o = hc::test::random_runs(500, 3);
  o.stop_at_first = false;
  const hc::Result a = hc::explore(lost_update, o);
  const hc::Result b = hc::explore(lost_update, o);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (std::size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].execution, b.findings[i].execution);
    EXPECT_EQ(a.findings[i].schedule, b.findings[i].schedule);
  }
  EXPECT_EQ(a.stats.steps, b.stats.steps);
  EXPECT_EQ(a.stats.preemptions, b.stats.preemptions);
}

// The scenario fails only on its second run ever, which is the explorer's re-run of its first
// execution (the sampled determinism check): the same choices gave another outcome, reported
// as uncontrolled nondeterminism, naming the usual causes.
TEST(Determinism, AFindingThatDoesNotReproduceIsNondeterminism) {
  static int runs = 0;  // deliberately survives executions: the bug under test
  runs = 0;
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> x{0, "x"};
        hc::thread t("t", [&] { x.fetch_add(1); });
        x.fetch_add(1);
        t.join();
        HC_CHECK(++runs != 2, "failed on run {}", runs);
      },
      hc::test::exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::nondeterminism);
  EXPECT_NE(f.message.find("uncontrolled nondeterminism: execution 1 ran clean"), std::string::npos)
      << f.message;
  EXPECT_NE(f.message.find("but re-run from the same 1 choices it found check-failure"),
            std::string::npos)
      << f.message;
  EXPECT_NE(f.message.find("static or global variables"), std::string::npos);
}

}  // namespace

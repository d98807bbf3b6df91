// Misuse named: a program whose shape changes between executions is a nondeterminism finding
// under every strategy (never a crash, never "clean, exhaustive"), and hc primitives used where
// handlecheck does not control them are errors naming the primitive, the site and the cause.
#include <gtest/gtest.h>

#include <thread>

#include "test_support.hpp"

namespace {

using hc::test::contains;

int g_executions = 0;  // state that survives from one execution to the next: the bug

/// One thread more every other execution, as a thread count drawn from rand() would.
void shape_changes() {
  const int threads = 2 + (g_executions++ % 2);
  hc::atomic<int> x{0, "x"};
  std::vector<hc::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back("T" + std::to_string(t), [&] { x.fetch_add(1); });
  for (hc::thread& t : ts)
    t.join();
}

unsigned g_lcg = 1;

/// 1 to 4 threads, each with 1 to 3 operations, drawn from state that survives executions.
void shape_varies_widely() {
  g_lcg = g_lcg * 1103515245u + 12345u;
  const int threads = 1 + static_cast<int>((g_lcg >> 16) % 4);
  const int ops = 1 + static_cast<int>((g_lcg >> 20) % 3);
  hc::atomic<int> x{0, "x"};
  std::vector<hc::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back("T" + std::to_string(t), [&, ops] {
      for (int i = 0; i < ops; ++i)
        x.fetch_add(1);
    });
  for (hc::thread& t : ts)
    t.join();
}

class ShapeChange : public testing::TestWithParam<std::string> {};

TEST_P(ShapeChange, IsANondeterminismFinding) {
  g_executions = 0;
  hc::ExploreOptions o = hc::test::exhaustive();
  o.strategy = GetParam();
  if (o.strategy == "random" || o.strategy == "pct") o.max_executions = 200;
  const hc::Result r = hc::explore(shape_changes, o);
  ASSERT_EQ(r.verdict(), hc::FindingKind::nondeterminism)
      << GetParam() << ": " << r.stats.executions << " executions, "
      << (r.findings.empty() ? "clean" : r.findings.front().message);
  EXPECT_TRUE(contains(r.findings.front().message, "uncontrolled nondeterminism"))
      << r.findings.front().message;
  EXPECT_FALSE(r.stats.exhausted);
}

// The shape is drawn afresh in every execution: a run may by chance see the same shape every
// time it looks (then nothing can tell), but it must never crash (dpor used to), and nearly
// every run must notice.
TEST_P(ShapeChange, WidelyVaryingShapesAreANondeterminismFindingNeverACrash) {
  int noticed = 0;
  for (unsigned seed = 1; seed <= 50; ++seed) {
    g_lcg = seed;
    hc::ExploreOptions o = hc::test::exhaustive();
    o.strategy = GetParam();
    o.max_executions = 500;
    const hc::Result r = hc::explore(shape_varies_widely, o);
    if (r.verdict() == hc::FindingKind::nondeterminism) {
      ++noticed;
    } else {
      EXPECT_TRUE(r.findings.empty()) << GetParam() << " seed " << seed;
    }
  }
  EXPECT_GE(noticed, 45) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Strategies, ShapeChange,
                         testing::Values("dfs", "dpor", "dpor-source", "random", "pct"));

}  // namespace

namespace {

TEST(Misuse, APrimitiveOutsideAnExecutionNamesItselfTheSiteAndTheCause) {
  try {
    hc::atomic<int> x{0, "x"};  // plain test code: no execution runs
    ADD_FAILURE() << "an hc::atomic outside an execution was accepted";
  } catch (const hc::usage_error& e) {
    EXPECT_TRUE(contains(e.what(), "used outside an execution (in main(), a static initializer"))
        << e.what();
  }
}

TEST(Misuse, APrimitiveOnAThreadHandlecheckDidNotCreateSaysSo) {
  std::string error;
  auto body = [&] {
    hc::atomic<int> x{0, "x"};
    std::thread real([&] {  // not an hc::thread: handlecheck cannot control it
      try {
        x.store(1);
      } catch (const hc::usage_error& e) {
        error = e.what();
      }
    });
    real.join();
  };
  hc::ExploreOptions o = hc::test::exhaustive();
  o.max_executions = 1;
  (void)hc::explore(body, o);
  EXPECT_TRUE(contains(error, "hc::atomic used at "));
  EXPECT_TRUE(contains(error, "misuse_test.cpp")) << error;
  EXPECT_TRUE(contains(error, "from a thread handlecheck did not create")) << error;
  EXPECT_TRUE(contains(error, "Start it with hc::thread instead")) << error;
}

}  // namespace

// The differential oracle: each program of litmus.hpp runs under handlecheck's exhaustive dfs
// and under Relacy's exhaustive search (rl::sched_full), every access seq_cst; the sets of
// final outcomes must be equal. A schedule our explorer missed shows up as an outcome only
// Relacy has; a schedule it invented, as an outcome only we have.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "litmus.hpp"
#include "relacy_platform.hpp"

namespace {

using namespace hc_rl;
using namespace hc_rl::litmus;

constexpr const char* kThreadNames[] = {"T0", "T1", "T2", "T3"};

struct Outcomes {
  std::set<int> ours;
  std::set<int> relacy;
  hc::Result hc;
  RunResult rl;
};

/// handlecheck: every schedule of `Prog` under dfs (optionally preemption-bounded).
template <template <class> class Prog>
std::set<int> hc_outcomes(hc::Result* result, int preemption_bound = -1) {
  std::set<int> outcomes;
  hc::ExploreOptions o;
  o.strategy = "dfs";
  o.preemption_bound = preemption_bound;
  *result = hc::explore(
      [&outcomes] {
        Prog<HcPlatform> prog;
        std::vector<hc::thread> threads;
        for (int i = 0; i < Prog<HcPlatform>::kThreads; ++i)
          threads.emplace_back(kThreadNames[i], [&prog, i] { prog.thread(i); });
        for (hc::thread& t : threads)
          t.join();
        prog.finish();
        outcomes.insert(prog.outcome());
      },
      o);
  return outcomes;
}

/// Relacy: every schedule of `Prog` under its full search.
template <template <class> class Prog>
std::set<int> rl_outcomes(RunResult* result) {
  g_outcomes.reset();
  *result = run<Suite<Prog<RlPlatform>>>(rl::sched_full);
  std::set<int> outcomes;
  for (std::size_t i = 0; i < g_outcomes.size(); ++i)
    if (g_outcomes.test(i)) outcomes.insert(static_cast<int>(i));
  return outcomes;
}

template <template <class> class Prog>
Outcomes both() {
  Outcomes o;
  o.ours = hc_outcomes<Prog>(&o.hc);
  o.relacy = rl_outcomes<Prog>(&o.rl);
  return o;
}

/// Both searches finished cleanly and found the same outcomes.
void expect_equal(const Outcomes& o) {
  fmt::print("outcomes {}: handlecheck dfs {} executions, Relacy full search {} executions\n",
             o.ours, o.hc.stats.executions, o.rl.executions);
  EXPECT_TRUE(o.hc.findings.empty()) << o.hc.findings.front().message;
  EXPECT_TRUE(o.hc.stats.exhausted);
  EXPECT_EQ(o.rl.result, rl::test_result_success) << o.rl.output;
  EXPECT_FALSE(o.ours.empty());
  EXPECT_EQ(o.ours, o.relacy) << fmt::format("handlecheck {} ({} executions), Relacy {} ({})",
                                             o.ours, o.hc.stats.executions, o.relacy,
                                             o.rl.executions);
}

// r0 * 2 + r1 (and similar): the expected SC sets are written out where they are classic.
TEST(RelacyOracle, StoreBuffering) {
  const Outcomes o = both<StoreBuffering>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{1, 2, 3}));  // never r0 = r1 = 0
}

TEST(RelacyOracle, MessagePassing) {
  const Outcomes o = both<MessagePassing>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{0, 1, 3}));  // flag without data (2) is forbidden
}

TEST(RelacyOracle, LoadBuffering) {
  const Outcomes o = both<LoadBuffering>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{0, 1, 2}));
}

TEST(RelacyOracle, Iriw) {
  const Outcomes o = both<Iriw>();
  expect_equal(o);
  EXPECT_EQ(o.ours.count(0b1010), 0u);  // readers disagreeing on the order of the writes
  EXPECT_EQ(o.ours.size(), 15u);
}

TEST(RelacyOracle, TwoPlusTwoW) {
  const Outcomes o = both<TwoPlusTwoW>();
  expect_equal(o);
  EXPECT_EQ(o.ours.count(1 * 3 + 1), 0u);
}

TEST(RelacyOracle, CoRR) {
  const Outcomes o = both<CoRR>();
  expect_equal(o);
  EXPECT_EQ(o.ours.count(2 * 3 + 1), 0u);
  EXPECT_EQ(o.ours.count(1 * 3 + 0), 0u);
}

TEST(RelacyOracle, WriteToReadCausality) {
  const Outcomes o = both<Wrc>();
  expect_equal(o);
  EXPECT_EQ(o.ours.count(0b110), 0u);
}

TEST(RelacyOracle, CasCounterRetries) {
  const Outcomes o = both<CasCounter>();
  expect_equal(o);
  EXPECT_GT(o.ours.size(), 2u);  // retries on some interleavings, none on others
}

TEST(RelacyOracle, LockedCounter) {
  const Outcomes o = both<LockedCounter>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{1, 2}));
}

TEST(RelacyOracle, ExchangeLock) {
  const Outcomes o = both<ExchangeLock>();
  expect_equal(o);
  EXPECT_EQ(o.ours.size(), 6u);  // every order of the three exchanges
}

TEST(RelacyOracle, Tickets) {
  const Outcomes o = both<Tickets>();
  expect_equal(o);
  EXPECT_EQ(o.ours.size(), 6u);
}

TEST(RelacyOracle, SafeHandleAddRefDispose) {
  const Outcomes o = both<SafeHandleAddRefDispose>();
  expect_equal(o);
  EXPECT_GT(o.ours.size(), 3u);  // AddRefs failing or not, ReleaseHandle on every thread
}

TEST(RelacyOracle, RefCountReleaseRace) {
  const Outcomes o = both<RefCountReleaseRace>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{0, 1}));  // either user destroys
}

TEST(RelacyOracle, TwoLockDestructor) {
  const Outcomes o = both<TwoLockDestructor2>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{0, 1, 2, 3}));
}

TEST(RelacyOracle, RefcountHandle) {
  const Outcomes o = both<RefcountHandle21>();
  expect_equal(o);
  EXPECT_EQ(o.ours, (std::set<int>{0, 1, 2}));  // the disposer or either user closes
}

// The oracle can fail: an explorer that misses schedules (dfs without preemptions) misses
// outcomes Relacy has.
TEST(RelacyOracle, DetectsAnIncompleteExplorer) {
  hc::Result r;
  const std::set<int> ours = hc_outcomes<StoreBuffering>(&r, /*preemption_bound=*/0);
  RunResult rl_result;
  const std::set<int> relacy = rl_outcomes<StoreBuffering>(&rl_result);
  EXPECT_NE(ours, relacy);
  EXPECT_LT(ours.size(), relacy.size());
}

}  // namespace

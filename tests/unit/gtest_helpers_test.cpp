// The GoogleTest helpers, both ways: a clean protocol passes, a buggy one fails with the finding,
// its trace, the replay file and the replay command in the failure message (checked with
// gtest-spi's EXPECT_NONFATAL_FAILURE); and HC_REPLAY replays a written file.
#include "hc/gtest.hpp"

#include <gtest/gtest-spi.h>

#include <cstdlib>
#include <filesystem>

#include "test_support.hpp"

namespace {

void correct_counter() {
  hc::atomic<int> n{0, "n"};
  hc::thread a("a", [&] { n.fetch_add(1); });
  hc::thread b("b", [&] { n.fetch_add(1); });
  a.join();
  b.join();
  HC_CHECK(n.peek() == 2, "n is {}", n.peek());
}

const hc::gtest::Options kOut{};

/// Replay files of the failing explorations go to $HC_OUT_DIR (kept apart from other tests').
struct OutDir {
  OutDir() { ::setenv("HC_OUT_DIR", "gtest-helpers-out", 1); }
  ~OutDir() { ::unsetenv("HC_OUT_DIR"); }
};

TEST(GtestHelpers, ACleanProtocolPasses) {
  HC_EXPECT_CLEAN(correct_counter);
  HC_EXPECT_CLEAN(correct_counter, {.strategy = "random", .max_executions = 200});
}

TEST(GtestHelpers, ABuggyProtocolFailsWithTheFindingTraceAndReplayCommand) {
  const OutDir out;
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update, kOut),
                          "handlecheck found check-failure exploring hc::test::lost_update");
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update, kOut),
                          "HC_CHECK(counter.peek() == 2) failed: lost update");
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update, kOut), "interleaving: ");
  EXPECT_NONFATAL_FAILURE(
      HC_EXPECT_CLEAN(hc::test::lost_update, kOut),
      "replay file: gtest-helpers-out/gtest:GtestHelpers."
      "ABuggyProtocolFailsWithTheFindingTraceAndReplayCommand#4.check-failure.");
  EXPECT_NONFATAL_FAILURE(
      HC_EXPECT_CLEAN(hc::test::lost_update, kOut),
      "--gtest_filter=GtestHelpers.ABuggyProtocolFailsWithTheFindingTraceAndReplayCommand");
}

TEST(GtestHelpers, ExpectFindingPassesOnlyForThatKind) {
  const OutDir out;
  HC_EXPECT_FINDING(hc::FindingKind::check_failure, hc::test::lost_update);
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_FINDING(hc::FindingKind::deadlock, correct_counter),
                          "handlecheck expected deadlock exploring correct_counter, but 2 "
                          "executions (dfs, exhaustive) found nothing");
  EXPECT_NONFATAL_FAILURE(
      HC_EXPECT_FINDING(hc::FindingKind::deadlock, hc::test::lost_update, kOut),
      "handlecheck expected deadlock exploring hc::test::lost_update, kOut, but found "
      "check-failure");
}

TEST(GtestHelpers, HcReplayReplaysTheWrittenFile) {
  // First exploration of this test: a finding, and its file.
  const hc::Result first = hc::explore(hc::test::lost_update, {});
  ASSERT_FALSE(first.findings.empty());
  std::string error;
  hc::gtest::Options o;
  const auto file =
      hc::reports::make_replay_file("gtest:GtestHelpers.HcReplayReplaysTheWrittenFile#1",
                                    hc::gtest::detail::explore_options(o), first.findings.front());
  const std::string path = hc::reports::write_replay_file("gtest-helpers-out", file, &error);
  ASSERT_FALSE(path.empty()) << error;
  ::setenv("HC_REPLAY", path.c_str(), 1);
  // The exploration named in the file replays it: one execution, the same finding.
  const auto result =
      hc::gtest::explore_finds(hc::FindingKind::check_failure, "replay", hc::test::lost_update, o);
  ::unsetenv("HC_REPLAY");
  EXPECT_TRUE(result) << result.message();
}

}  // namespace

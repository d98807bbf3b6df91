// The GoogleTest helpers (hc/gtest.hpp) as a test author meets them:
//  - a clean protocol passes; a buggy one fails with the finding, its trace, the replay file and
//    the replay command, reported at the line of the macro (file and line captured with a
//    TestPartResultReporter) with the report as the whole message: no "Value of: ... Actual:
//    false ... Expected: true" around it; ASSERT_ variants stop the test there;
//  - the options are shown once, from their values, not stringified into the body's name;
//  - bad options (unknown strategy, out of range, ignored by the strategy) and an unreadable
//    HC_REPLAY are failures at the macro's line saying what is wrong, not "C++ exception";
//  - replay paths are absolute and replay file names portable;
//  - HC_REPLAY replays a written file.
// tests/gtest/replay_from_elsewhere.cmake runs a user's failing test and its printed command
// from another directory.
#include "hc/gtest.hpp"

#include <gtest/gtest-spi.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

void correct_counter() {
  hc::atomic<int> n{0, "n"};
  hc::thread a("a", [&] { n.fetch_add(1); });
  hc::thread b("b", [&] { n.fetch_add(1); });
  a.join();
  b.join();
  HC_CHECK(n.peek() == 2, "n is {}", n.peek());
}

const hc::gtest::Options kOut{};

constexpr const char* kOutDir = "gtest-helpers-out";

/// Replay files of the failing explorations go to $HC_OUT_DIR (kept apart from other tests').
struct OutDir {
  OutDir() { ::setenv("HC_OUT_DIR", kOutDir, 1); }
  ~OutDir() { ::unsetenv("HC_OUT_DIR"); }
};

/// The failures `f` reports, intercepted: they do not fail the test, and each keeps its type,
/// file, line and message for the test to check.
template <class F>
std::vector<::testing::TestPartResult> failures_of(F&& f) {
  ::testing::TestPartResultArray results;
  {
    const ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  std::vector<::testing::TestPartResult> out;
  for (int i = 0; i < results.size(); ++i)
    out.push_back(results.GetTestPartResult(i));
  return out;
}

/// One failure of type `type` at this file's line `line`, whose message is the report alone.
void expect_one_failure_at(const std::vector<::testing::TestPartResult>& failures, int line,
                           ::testing::TestPartResult::Type type) {
  ASSERT_EQ(failures.size(), 1u);
  const ::testing::TestPartResult& f = failures.front();
  EXPECT_EQ(f.type(), type);
  ASSERT_NE(f.file_name(), nullptr);
  EXPECT_EQ(fs::path(f.file_name()).filename(), "gtest_helpers_test.cpp");
  EXPECT_EQ(f.line_number(), line);
  const std::string message = f.message();
  EXPECT_TRUE(message.starts_with("handlecheck ")) << message;
  for (const char* wrapper : {"Value of:", "Actual: false", "Expected: true", "C++ exception"})
    EXPECT_EQ(message.find(wrapper), std::string::npos) << wrapper << " in:\n" << message;
}

TEST(GtestHelpers, ACleanProtocolPasses) {
  HC_EXPECT_CLEAN(correct_counter);
  HC_EXPECT_CLEAN(correct_counter, {.strategy = "random", .max_executions = 200});
  HC_ASSERT_CLEAN(correct_counter);
  HC_ASSERT_FINDING(hc::FindingKind::check_failure, hc::test::lost_update);
}

TEST(GtestHelpers, ABuggyProtocolFailsWithTheFindingTraceAndReplayCommand) {
  const OutDir out;
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update),
                          "handlecheck found check-failure exploring hc::test::lost_update (dfs, ");
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update),
                          "HC_CHECK(counter.peek() == 2) failed: lost update");
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_CLEAN(hc::test::lost_update), "interleaving: ");
  EXPECT_NONFATAL_FAILURE(
      HC_EXPECT_CLEAN(hc::test::lost_update),
      "--gtest_filter=GtestHelpers.ABuggyProtocolFailsWithTheFindingTraceAndReplayCommand");
}

TEST(GtestHelpers, AFailureIsAtTheMacroLineAndIsTheReportAlone) {
  const OutDir out;
  int line = 0;
  const auto failures = failures_of([&] {
    line = __LINE__ + 1;
    HC_EXPECT_CLEAN(hc::test::lost_update);
  });
  expect_one_failure_at(failures, line, ::testing::TestPartResult::kNonFatalFailure);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_TRUE(std::string(failures.front().message())
                  .starts_with("handlecheck found check-failure exploring hc::test::lost_update "
                               "(dfs, "))
      << failures.front().message();

  const auto finding_failures = failures_of([&] {
    line = __LINE__ + 1;
    HC_EXPECT_FINDING(hc::FindingKind::deadlock, correct_counter);
  });
  expect_one_failure_at(finding_failures, line, ::testing::TestPartResult::kNonFatalFailure);
}

TEST(GtestHelpers, AssertVariantsStopTheTestAtTheMacroLine) {
  const OutDir out;
  int line = 0;
  bool went_on = false;
  auto failures = failures_of([&] {
    line = __LINE__ + 1;
    HC_ASSERT_CLEAN(hc::test::lost_update, kOut);
    went_on = true;
  });
  expect_one_failure_at(failures, line, ::testing::TestPartResult::kFatalFailure);
  EXPECT_FALSE(went_on) << "HC_ASSERT_CLEAN returned from the test";

  failures = failures_of([&] {
    line = __LINE__ + 1;
    HC_ASSERT_FINDING(hc::FindingKind::deadlock, hc::test::lost_update);
    went_on = true;
  });
  expect_one_failure_at(failures, line, ::testing::TestPartResult::kFatalFailure);
  EXPECT_FALSE(went_on) << "HC_ASSERT_FINDING returned from the test";
  EXPECT_FATAL_FAILURE(HC_ASSERT_CLEAN(hc::test::lost_update, kOut),
                       "handlecheck found check-failure exploring hc::test::lost_update (dfs, ");
}

TEST(GtestHelpers, OptionsAreShownOnceFromTheirValues) {
  const OutDir out;
  const auto failures = failures_of([] {
    HC_EXPECT_CLEAN(hc::test::lost_update, {.strategy = "random", .seed = 7, .max_executions = 50});
  });
  ASSERT_EQ(failures.size(), 1u);
  const std::string message = failures.front().message();
  // The body's text alone, then how it ran: the strategy and the options that differ from the
  // defaults, as designated initialisers.
  EXPECT_TRUE(std::regex_search(
      message, std::regex("^handlecheck found check-failure exploring hc::test::lost_update "
                          "\\(random, [0-9]+ executions?, options \\.seed = 7, "
                          "\\.max_executions = 50\\):\n")))
      << message;
  EXPECT_EQ(message.find("max_executions"), message.rfind("max_executions")) << message;
  EXPECT_EQ(message.find(".strategy"), std::string::npos) << message;

  // Passed as a variable, the options are not named by their variable either.
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_FINDING(hc::FindingKind::deadlock, hc::test::lost_update, kOut),
                          "handlecheck expected deadlock exploring hc::test::lost_update (dfs, ");
  EXPECT_NONFATAL_FAILURE(HC_EXPECT_FINDING(hc::FindingKind::deadlock, correct_counter),
                          "handlecheck expected deadlock exploring correct_counter (dfs, 2 "
                          "executions), but found nothing (exhaustive)");
}

TEST(GtestHelpers, TheBodysTextEndsBeforeTheOptions) {
  using hc::gtest::detail::body_text;
  EXPECT_EQ(body_text("f<a, b>, {.strategy = \"r,}\", .max_executions = 1'000}", true), "f<a, b>");
  EXPECT_EQ(body_text("[] { int a, b; g(a, b); }, kOut", true), "[] { int a, b; g(a, b); }");
  EXPECT_EQ(body_text("[] { char c = ','; }, make(1, 2)", true), "[] { char c = ','; }");
  EXPECT_EQ(body_text("f<a, b>", false), "f<a, b>");  // no options: the whole text
}

TEST(GtestHelpers, BadOptionsFailAtTheMacroLineSayingWhatIsWrong) {
  struct Case {
    hc::gtest::Options options;
    const char* says;
  };
  const Case cases[] = {
      {{.strategy = "bogus"},
       "handlecheck cannot explore correct_counter (strategy bogus): unknown strategy 'bogus': "
       "use one of dfs, "},
      {{.strategy = "pct", .pct_depth = 0},
       "handlecheck cannot explore correct_counter (strategy pct, options .pct_depth = 0): bad "
       "option: pct_depth is 0; it must be from 1 to 64"},
      {{.strategy = "random", .preemption_bound = 2},
       "bad option: preemption_bound 2 applies to strategy dfs only; strategy 'random' ignores "
       "it"},
      {{.seed = 3}, "bad option: seed 3 applies to the seeded strategies (random, pct) only"},
      {{.strategy = "dfs", .pct_depth = 5}, "bad option: pct_depth 5 applies to strategy pct only"},
      {{.strategy = "replay"}, "strategy 'replay' needs a schedule to replay"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    int line = 0;
    auto failures = failures_of([&] {
      line = __LINE__ + 1;
      HC_EXPECT_CLEAN(correct_counter, c.options);
    });
    expect_one_failure_at(failures, line, ::testing::TestPartResult::kNonFatalFailure);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(std::string(failures.front().message()).find(c.says), std::string::npos)
        << failures.front().message();
    // The ASSERT_ form stops the test at its line.
    failures = failures_of([&] {
      line = __LINE__ + 1;
      HC_ASSERT_FINDING(hc::FindingKind::deadlock, correct_counter, c.options);
    });
    expect_one_failure_at(failures, line, ::testing::TestPartResult::kFatalFailure);
  }
}

TEST(GtestHelpers, ReplayPathsAreAbsoluteAndFileNamesPortable) {
  const OutDir out;
  const auto failures = failures_of([] { HC_EXPECT_CLEAN(hc::test::lost_update); });
  ASSERT_EQ(failures.size(), 1u);
  const std::string message = failures.front().message();
  const std::string dir = fs::absolute(kOutDir).lexically_normal().string();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m, std::regex("\nreplay file: (.*)\n"))) << message;
  const fs::path file = m[1].str();
  EXPECT_TRUE(file.is_absolute()) << file;
  EXPECT_EQ(file.parent_path().string(), dir);
  EXPECT_TRUE(fs::exists(file)) << file;
  // Portable: "gtest:<Suite>.<Test>#1" is recorded in the file, its name has only [A-Za-z0-9._-].
  const std::string name = file.filename().string();
  EXPECT_TRUE(name.starts_with(
      "gtest_GtestHelpers.ReplayPathsAreAbsoluteAndFileNamesPortable_1.check-failure."))
      << name;
  EXPECT_TRUE(std::regex_match(name, std::regex("[A-Za-z0-9._-]+\\.json"))) << name;
  std::string error;
  const auto recorded = hc::reports::read_replay_file(file.string(), &error);
  ASSERT_TRUE(recorded) << error;
  EXPECT_EQ(recorded->scenario, "gtest:GtestHelpers.ReplayPathsAreAbsoluteAndFileNamesPortable#1");
  // The command names the same absolute file and the test binary by an absolute path.
  const std::string command = "HC_REPLAY=" + file.string() + " /";
  EXPECT_NE(message.find(command), std::string::npos) << message;
  EXPECT_NE(
      message.find(" --gtest_filter=GtestHelpers.ReplayPathsAreAbsoluteAndFileNamesPortable\n"),
      std::string::npos)
      << message;
}

TEST(GtestHelpers, ReplayFileNamesArePortable) {
  using hc::reports::portable_file_name;
  EXPECT_EQ(portable_file_name("engine/lost-update"), "engine_lost-update");
  EXPECT_EQ(portable_file_name("gtest:Inst/Suite.Test/0#2"), "gtest_Inst_Suite.Test_0_2");
  EXPECT_EQ(portable_file_name("a b\"c*d?e|f<g>h\\i"), "a_b_c_d_e_f_g_h_i");
  EXPECT_EQ(portable_file_name(".hidden"), "_.hidden");
  EXPECT_EQ(portable_file_name("-option"), "_-option");
  EXPECT_EQ(portable_file_name("caf\xC3\xA9"), "caf__");

  const hc::Result r = hc::explore(hc::test::lost_update, {});
  ASSERT_FALSE(r.findings.empty());
  hc::reports::ReplayFile file =
      hc::reports::make_replay_file("engine/lost-update", {}, r.findings.front());
  EXPECT_TRUE(std::regex_match(hc::reports::replay_file_name(file),
                               std::regex("engine_lost-update\\.check-failure\\.[0-9a-f]{8}")));
  // A long name is cut, and the hash of the whole name keeps two such names apart.
  file.scenario = "gtest:" + std::string(200, 'x') + "#1";
  const std::string one = hc::reports::replay_file_name(file);
  file.scenario = "gtest:" + std::string(200, 'x') + "#2";
  const std::string two = hc::reports::replay_file_name(file);
  EXPECT_NE(one, two);
  EXPECT_TRUE(
      std::regex_match(one, std::regex("gtest_x{81}-[0-9a-f]{8}\\.check-failure\\.[0-9a-f]{8}")))
      << one;
}

TEST(GtestHelpers, HcReplayReplaysTheWrittenFile) {
  const OutDir out;
  // First exploration of this test: a finding, and its file.
  const hc::Result first = hc::explore(hc::test::lost_update, {});
  ASSERT_FALSE(first.findings.empty());
  std::string error;
  hc::gtest::Options o;
  const auto file =
      hc::reports::make_replay_file("gtest:GtestHelpers.HcReplayReplaysTheWrittenFile#1",
                                    hc::gtest::detail::explore_options(o), first.findings.front());
  const std::string path = hc::reports::write_replay_file(kOutDir, file, &error);
  ASSERT_FALSE(path.empty()) << error;
  ::setenv("HC_REPLAY", path.c_str(), 1);
  // The exploration named in the file replays it: one execution, the same finding.
  const auto replayed =
      hc::gtest::explore_finds(hc::FindingKind::check_failure, "replay", hc::test::lost_update, o);
  // The second exploration of the test is not the one in the file: it explores (and its
  // failure says which file it did not replay only if it replayed one).
  const auto explored = hc::gtest::explore_clean("hc::test::lost_update", hc::test::lost_update, o);
  ::unsetenv("HC_REPLAY");
  EXPECT_TRUE(replayed) << replayed.message();
  ASSERT_FALSE(explored);
  EXPECT_TRUE(std::string(explored.message())
                  .starts_with("handlecheck found check-failure exploring hc::test::lost_update "
                               "(dfs, "))
      << explored.message();
  EXPECT_EQ(std::string(explored.message()).find(", replaying "), std::string::npos);
}

TEST(GtestHelpers, AnUnreadableHcReplayIsAFailureNamingIt) {
  ::setenv("HC_REPLAY", "no-such-dir/no-such-file.json", 1);
  int line = 0;
  const auto failures = failures_of([&] {
    line = __LINE__ + 1;
    HC_EXPECT_CLEAN(correct_counter);
  });
  ::unsetenv("HC_REPLAY");
  expect_one_failure_at(failures, line, ::testing::TestPartResult::kNonFatalFailure);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(std::string(failures.front().message())
                .find("HC_REPLAY=no-such-dir/no-such-file.json cannot be replayed: "),
            std::string::npos)
      << failures.front().message();
}

}  // namespace

// hc/gtest.hpp — GoogleTest helpers: explore a lambda inside a TEST and fail with the finding.
//
//   #include "hc/gtest.hpp"
//   TEST(MyWrapper, CloseWaitsForUsers) {
//     HC_EXPECT_CLEAN([] { ... });                               // exhaustive dfs
//     HC_EXPECT_CLEAN([] { ... }, {.strategy = "random", .max_executions = 2000});
//     HC_EXPECT_FINDING(hc::FindingKind::stale_handle_use, [] { ... });
//   }
//
// A failure's message has the finding, the text trace (lifecycle, causal slice, interleaving),
// the replay file written for it and the command that replays it:
//   HC_REPLAY=<file> <test binary> --gtest_filter=<suite>.<test>
// With HC_REPLAY set, the exploration of that test (named in the file) replays the file instead
// of exploring: the same finding comes back, step for step. ASSERT_ variants stop the test.
// Link handlecheck::reports and GTest::gtest.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hc/explorer.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/runtime.hpp"

namespace hc::gtest {

/// The settings of an exploration: hc::RunSettings (hc/settings.hpp), e.g.
/// `{.strategy = "random", .max_executions = 2000}`; the default is exhaustive dfs. Replay
/// files go to $HC_OUT_DIR, else ./handlecheck-out.
using Options = RunSettings;

namespace detail {

inline ExploreOptions explore_options(const Options& o) {
  ExploreOptions e;
  static_cast<RunSettings&>(e) = o;
  return e;
}

/// "gtest:<Suite>.<Test>#<n>": the n-th exploration of the running test.
inline std::string exploration_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test =
      info != nullptr ? fmt::format("{}.{}", info->test_suite_name(), info->name()) : "no-test";
  static std::map<std::string, int> counts;  // per test: the first exploration is #1
  return fmt::format("gtest:{}#{}", test, ++counts[test]);
}

inline std::string replay_command(const std::string& file) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto& argv = ::testing::internal::GetArgvs();
  return fmt::format("HC_REPLAY={} {} --gtest_filter={}.{}", file,
                     argv.empty() ? std::string("<test binary>") : argv.front(),
                     info != nullptr ? info->test_suite_name() : "*",
                     info != nullptr ? info->name() : "*");
}

/// Explores `body` (or replays $HC_REPLAY when it names this exploration); returns the result
/// and, for a finding, the text the failure shows.
inline Result run(const std::function<void()>& body, const Options& o, const std::string& name,
                  std::string* replayed) {
  if (const char* file = std::getenv("HC_REPLAY"); file != nullptr && *file != '\0') {
    std::string error;
    if (auto r = reports::read_replay_file(file, &error); r && r->scenario == name) {
      *replayed = file;
      return explore(body, reports::replay_options(*r, false));
    }
  }
  return explore(body, explore_options(o));
}

inline std::string describe(const Finding& f, const Options& o, const std::string& name,
                            const std::function<void()>& body) {
  const ExploreOptions options = explore_options(o);
  // The reproduction policy of the CLI (hc/reports/reproduce.hpp): written, read back and
  // replayed; not minimised or rendered here (the failure message is the report).
  try {
    const reports::Reproducer rep = reports::reproduce({.scenario = name,
                                                        .options = options,
                                                        .body = body,
                                                        .out_dir = reports::default_out_dir(),
                                                        .minimize = false,
                                                        .render = false,
                                                        .command_for = replay_command},
                                                       f);
    return fmt::format("{}replay file: {}\n{}", reports::format_finding(f, rep.command), rep.path,
                       rep.problem.empty() ? "" : "warning: " + rep.problem + "\n");
  } catch (const usage_error& e) {
    return fmt::format("{}replay file: {}\n",
                       reports::format_finding(f, fmt::format("(no replay file: {})", e.what())),
                       e.what());
  }
}

}  // namespace detail

/// Success when no execution of `body` finds a bug.
inline ::testing::AssertionResult explore_clean(const char* text, const std::function<void()>& body,
                                                const Options& o = {}) {
  const std::string name = detail::exploration_name();
  std::string replayed;
  const Result r = detail::run(body, o, name, &replayed);
  if (r.findings.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << fmt::format("handlecheck found {} exploring {} ({}, {} executions{}):\n",
                        finding_kind_name(r.findings.front().kind), text, r.strategy,
                        r.stats.executions, replayed.empty() ? "" : ", replaying " + replayed)
         << detail::describe(r.findings.front(), o, name, body);
}

/// Success when an execution of `body` finds a bug of kind `kind`.
inline ::testing::AssertionResult explore_finds(FindingKind kind, const char* text,
                                                const std::function<void()>& body,
                                                const Options& o = {}) {
  const std::string name = detail::exploration_name();
  std::string replayed;
  const Result r = detail::run(body, o, name, &replayed);
  if (!r.findings.empty() && r.findings.front().kind == kind) return ::testing::AssertionSuccess();
  if (r.findings.empty()) {
    return ::testing::AssertionFailure() << fmt::format(
               "handlecheck expected {} exploring {}, but {} executions ({}{}) found nothing",
               finding_kind_name(kind), text, r.stats.executions, r.strategy,
               r.stats.exhausted ? ", exhaustive" : ", budget ran out");
  }
  return ::testing::AssertionFailure()
         << fmt::format("handlecheck expected {} exploring {}, but found {} ({}, {} executions):\n",
                        finding_kind_name(kind), text, finding_kind_name(r.findings.front().kind),
                        r.strategy, r.stats.executions)
         << detail::describe(r.findings.front(), o, name, body);
}

}  // namespace hc::gtest

/// HC_EXPECT_CLEAN(body [, hc::gtest::Options{...}]): every explored execution of `body` is clean.
#define HC_EXPECT_CLEAN(...) EXPECT_TRUE(::hc::gtest::explore_clean(#__VA_ARGS__, __VA_ARGS__))
#define HC_ASSERT_CLEAN(...) ASSERT_TRUE(::hc::gtest::explore_clean(#__VA_ARGS__, __VA_ARGS__))
/// HC_EXPECT_FINDING(kind, body [, options]): exploring `body` finds a bug of kind `kind`.
#define HC_EXPECT_FINDING(kind, ...) \
  EXPECT_TRUE(::hc::gtest::explore_finds(kind, #__VA_ARGS__, __VA_ARGS__))
#define HC_ASSERT_FINDING(kind, ...) \
  ASSERT_TRUE(::hc::gtest::explore_finds(kind, #__VA_ARGS__, __VA_ARGS__))

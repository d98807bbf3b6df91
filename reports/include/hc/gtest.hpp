// hc/gtest.hpp — GoogleTest helpers: explore a lambda inside a TEST and fail with the finding.
//
//   #include "hc/gtest.hpp"
//   TEST(MyWrapper, CloseWaitsForUsers) {
//     HC_EXPECT_CLEAN([] { ... });                               // exhaustive dfs
//     HC_EXPECT_CLEAN([] { ... }, {.strategy = "random", .max_executions = 2000});
//     HC_EXPECT_FINDING(hc::FindingKind::stale_handle_use, [] { ... });
//   }
//
// A failure is reported at the line of the macro, and its message is the report itself (no
// "Value of: ... Expected: true" around it): a headline naming the body explored, the strategy,
// the executions and the options that differ from the defaults; then the finding, its text
// trace (lifecycle, causal slice, interleaving), the replay file written for it and the command
// that replays it, both with absolute paths so the command works from any directory:
//   HC_REPLAY=/abs/out/gtest_Suite.Test_1.<kind>.<hash>.json /abs/test_binary
//       --gtest_filter=Suite.Test   (one line)
// With HC_REPLAY set, the exploration of that test (named in the file) replays the file instead
// of exploring: the same finding comes back, step for step. ASSERT_ variants stop the test.
// Bad options (an unknown strategy, a value out of its range, a setting the strategy ignores)
// and an HC_REPLAY file that cannot be read are failures at the macro's line too, saying what
// is wrong. Link handlecheck::reports and GTest::gtest.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hc/explorer.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/runtime.hpp"
#include "hc/strategy.hpp"

namespace hc::gtest {

/// The settings of an exploration: hc::RunSettings (hc/settings.hpp), e.g.
/// `{.strategy = "random", .max_executions = 2000}`; the default is exhaustive dfs. Replay
/// files go to $HC_OUT_DIR, else ./handlecheck-out (printed as absolute paths).
using Options = RunSettings;

namespace detail {

inline ExploreOptions explore_options(const Options& o) {
  ExploreOptions e;
  static_cast<RunSettings&>(e) = o;
  return e;
}

/// "gtest:<Suite>.<Test>#<n>": the n-th exploration of the running test. This is the name
/// recorded in the replay file (HC_REPLAY matches it); the file's name is its portable form
/// (hc::reports::replay_file_name: "gtest_<Suite>.<Test>_<n>...").
inline std::string exploration_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test =
      info != nullptr ? fmt::format("{}.{}", info->test_suite_name(), info->name()) : "no-test";
  static std::map<std::string, int> counts;  // per test: the first exploration is #1
  return fmt::format("gtest:{}#{}", test, ++counts[test]);
}

/// `path` made absolute against the current directory (and normalised): a printed command
/// then works from any directory.
inline std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

/// The test binary as the command line named it, absolute when it was a path (a bare name was
/// found on PATH and stays as it is).
inline std::string test_binary() {
  const auto& argv = ::testing::internal::GetArgvs();
  if (argv.empty()) return "<test binary>";
  return argv.front().find('/') == std::string::npos ? argv.front() : absolute_path(argv.front());
}

inline std::string replay_command(const std::string& file) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return fmt::format("HC_REPLAY={} {} --gtest_filter={}.{}", absolute_path(file), test_binary(),
                     info != nullptr ? info->test_suite_name() : "*",
                     info != nullptr ? info->name() : "*");
}

/// The body's part of the macro's text. The macros pass the text of all their arguments
/// (`#__VA_ARGS__`: the body may contain commas, so it cannot be a macro parameter of its own);
/// when options were given they are the last argument, after the last comma outside brackets,
/// quotes and character literals, and are shown from their values instead (options_text).
inline std::string_view body_text(std::string_view text, bool has_options) {
  if (!has_options) return text;
  int depth = 0;
  std::size_t last_comma = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' ||
        (c == '\'' && !(i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) != 0 ||
                                  text[i - 1] == '_')))) {
      // A string or character literal (a ' after a digit or a letter is a digit separator,
      // 1'000, or a prefix, L'x': skipped as a character): up to the closing quote.
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      last_comma = i;
    }
  }
  if (last_comma == std::string_view::npos) return text;
  text = text.substr(0, last_comma);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  return text;
}

/// The options that differ from the defaults, as designated initialisers in declaration order
/// (".seed = 7, .max_executions = 200"), the strategy left out (the headline names it); ""
/// when there are none.
inline std::string options_text(const Options& o) {
  const auto shown = [](const auto& value) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, std::string>)
      return fmt::format("\"{}\"", value);
    else
      return fmt::format("{}", value);  // doubles: the shortest text that reads back exactly
  };
  const Options default_options;
  std::map<std::string_view, std::string> defaults;
  RunSettings::fields(default_options, [&](const SettingInfo& info, const auto& value) {
    defaults[info.key] = shown(value);
  });
  std::string out;
  RunSettings::fields(o, [&](const SettingInfo& info, const auto& value) {
    if (info.key == "strategy" || shown(value) == defaults[info.key]) return;
    out += fmt::format("{}.{} = {}", out.empty() ? "" : ", ", info.key, shown(value));
  });
  return out;
}

/// What is wrong with `o` before anything runs, or "": a value outside its range, or a setting
/// the chosen strategy does not read (set in a test, it would silently change nothing).
/// An unknown strategy is left to hc::explore, whose message lists the known ones.
inline std::string options_problem(const Options& o) {
  if (std::string range = reports::settings_range_error(o); !range.empty()) return range;
  const StrategyInfo* row = find_strategy(o.strategy);
  if (row == nullptr) return "";
  const Options defaults;
  if (o.preemption_bound != defaults.preemption_bound && row->name != "dfs") {
    return fmt::format(
        "preemption_bound {} applies to strategy dfs only; strategy '{}' ignores it: use "
        ".strategy = \"dfs\" or drop .preemption_bound",
        o.preemption_bound, o.strategy);
  }
  if (o.pct_depth != defaults.pct_depth && row->name != "pct") {
    return fmt::format(
        "pct_depth {} applies to strategy pct only; strategy '{}' ignores it: use "
        ".strategy = \"pct\" or drop .pct_depth",
        o.pct_depth, o.strategy);
  }
  if (o.seed != defaults.seed && row->kind != SearchKind::seeded) {
    return fmt::format(
        "seed {} applies to the seeded strategies (random, pct) only; strategy '{}' ignores it: "
        "use .strategy = \"random\" or drop .seed",
        o.seed, o.strategy);
  }
  return "";
}

/// Explores `body` (or replays $HC_REPLAY when it names this exploration); returns the result
/// and, when it replayed, the file in *replayed. Throws hc::usage_error when HC_REPLAY names
/// a file that cannot be read, and whatever hc::explore throws on bad options.
inline Result run(const std::function<void()>& body, const Options& o, const std::string& name,
                  std::string* replayed) {
  if (const char* file = std::getenv("HC_REPLAY"); file != nullptr && *file != '\0') {
    std::string error;
    const auto r = reports::read_replay_file(file, &error);
    if (!r) {
      throw usage_error(fmt::format(
          "HC_REPLAY={} cannot be replayed: {}. Give the path a failing test printed, or unset "
          "HC_REPLAY to explore",
          file, error));
    }
    if (r->scenario == name) {
      *replayed = absolute_path(file);
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
    const reports::Reproducer rep =
        reports::reproduce({.scenario = name,
                            .options = options,
                            .body = body,
                            .out_dir = absolute_path(reports::default_out_dir()),
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

/// "hc::test::lost_update (random, 37 executions, options .seed = 7)": what was explored, how.
inline std::string headline(std::string_view body, const Options& o, const Result& r,
                            const std::string& replayed) {
  const std::string options = options_text(o);
  return fmt::format("{} ({}, {} execution{}{}{})", body, r.strategy, r.stats.executions,
                     r.stats.executions == 1 ? "" : "s",
                     options.empty() ? "" : ", options " + options,
                     replayed.empty() ? "" : ", replaying " + replayed);
}

/// Runs the exploration and judges it with `judge(result, body's text, exploration name,
/// replayed file or "")`; a bad option or an
/// exception out of the exploration becomes a failure naming it (at the macro's line, like any
/// other failure, instead of GoogleTest's "unknown file: C++ exception").
template <class Judge>
::testing::AssertionResult checked(const char* text, bool has_options,
                                   const std::function<void()>& body, const Options& o,
                                   Judge&& judge) {
  const std::string_view body_shown = body_text(text, has_options);
  const std::string options = options_text(o);
  const std::string with_options = fmt::format("{} (strategy {}{})", body_shown, o.strategy,
                                               options.empty() ? "" : ", options " + options);
  if (const std::string problem = options_problem(o); !problem.empty()) {
    return ::testing::AssertionFailure()
           << fmt::format("handlecheck cannot explore {}: bad option: {}", with_options, problem);
  }
  try {
    const std::string name = exploration_name();
    std::string replayed;
    const Result r = run(body, o, name, &replayed);
    return judge(r, body_shown, name, replayed);
  } catch (const usage_error& e) {
    return ::testing::AssertionFailure()
           << fmt::format("handlecheck cannot explore {}: {}", with_options, e.what());
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << fmt::format(
               "handlecheck stopped exploring {} on an exception: {}", with_options, e.what());
  }
}

inline ::testing::AssertionResult clean(const char* text, bool has_options,
                                        const std::function<void()>& body, const Options& o) {
  return checked(text, has_options, body, o,
                 [&](const Result& r, std::string_view shown, const std::string& name,
                     const std::string& replayed) -> ::testing::AssertionResult {
                   if (r.findings.empty()) return ::testing::AssertionSuccess();
                   return ::testing::AssertionFailure()
                          << fmt::format("handlecheck found {} exploring {}:\n",
                                         finding_kind_name(r.findings.front().kind),
                                         headline(shown, o, r, replayed))
                          << describe(r.findings.front(), o, name, body);
                 });
}

inline ::testing::AssertionResult finds(FindingKind kind, const char* text, bool has_options,
                                        const std::function<void()>& body, const Options& o) {
  return checked(text, has_options, body, o,
                 [&](const Result& r, std::string_view shown, const std::string& name,
                     const std::string& replayed) -> ::testing::AssertionResult {
                   if (!r.findings.empty() && r.findings.front().kind == kind)
                     return ::testing::AssertionSuccess();
                   if (r.findings.empty()) {
                     return ::testing::AssertionFailure() << fmt::format(
                                "handlecheck expected {} exploring {}, but found nothing ({})",
                                finding_kind_name(kind), headline(shown, o, r, replayed),
                                r.stats.exhausted ? "exhaustive" : "the budget ran out");
                   }
                   return ::testing::AssertionFailure()
                          << fmt::format("handlecheck expected {} exploring {}, but found {}:\n",
                                         finding_kind_name(kind), headline(shown, o, r, replayed),
                                         finding_kind_name(r.findings.front().kind))
                          << describe(r.findings.front(), o, name, body);
                 });
}

/// The predicate-formatter of the macros (EXPECT_PRED_FORMAT1): the result is already the
/// whole judgement, so GoogleTest reports its message as it is, at the macro's line.
inline ::testing::AssertionResult as_judged(const char* /*expression*/,
                                            const ::testing::AssertionResult& result) {
  return result;
}

}  // namespace detail

/// Success when no execution of `body` finds a bug. `text` is the macro's argument text.
inline ::testing::AssertionResult explore_clean(const char* text,
                                                const std::function<void()>& body) {
  return detail::clean(text, false, body, Options{});
}
inline ::testing::AssertionResult explore_clean(const char* text, const std::function<void()>& body,
                                                const Options& o) {
  return detail::clean(text, true, body, o);
}

/// Success when an execution of `body` finds a bug of kind `kind`.
inline ::testing::AssertionResult explore_finds(FindingKind kind, const char* text,
                                                const std::function<void()>& body) {
  return detail::finds(kind, text, false, body, Options{});
}
inline ::testing::AssertionResult explore_finds(FindingKind kind, const char* text,
                                                const std::function<void()>& body,
                                                const Options& o) {
  return detail::finds(kind, text, true, body, o);
}

}  // namespace hc::gtest

// The macros hand the judgement to EXPECT_/ASSERT_PRED_FORMAT1 with a pass-through formatter:
// the failure is reported at the macro's line with the report as its whole message, and the
// ASSERT_ form returns from the test. The call is one parenthesised argument, so the commas
// of the body and of braced options stay inside it.

/// HC_EXPECT_CLEAN(body [, hc::gtest::Options{...}]): every explored execution of `body` is clean.
#define HC_EXPECT_CLEAN(...)                          \
  EXPECT_PRED_FORMAT1(::hc::gtest::detail::as_judged, \
                      ::hc::gtest::explore_clean(#__VA_ARGS__, __VA_ARGS__))
#define HC_ASSERT_CLEAN(...)                          \
  ASSERT_PRED_FORMAT1(::hc::gtest::detail::as_judged, \
                      ::hc::gtest::explore_clean(#__VA_ARGS__, __VA_ARGS__))
/// HC_EXPECT_FINDING(kind, body [, options]): exploring `body` finds a bug of kind `kind`.
#define HC_EXPECT_FINDING(kind, ...)                  \
  EXPECT_PRED_FORMAT1(::hc::gtest::detail::as_judged, \
                      ::hc::gtest::explore_finds(kind, #__VA_ARGS__, __VA_ARGS__))
#define HC_ASSERT_FINDING(kind, ...)                  \
  ASSERT_PRED_FORMAT1(::hc::gtest::detail::as_judged, \
                      ::hc::gtest::explore_finds(kind, #__VA_ARGS__, __VA_ARGS__))

// The terminal's pure functions (hc/reports/terminal.hpp): ETAs in words, lines fitted to a
// width, the colour decision, and the progress line's percentages and ETAs for every kind of
// budget (execution budget, Knuth's estimate of an exhaustive search, dpor's bound, time).
#include "hc/reports/terminal.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using hc::reports::ColourMode;

TEST(EtaText, SaysDurationsAsPeopleDo) {
  EXPECT_EQ(hc::reports::eta_text(0), "0 s");
  EXPECT_EQ(hc::reports::eta_text(45.2), "45 s");
  EXPECT_EQ(hc::reports::eta_text(59.6), "1 min");
  EXPECT_EQ(hc::reports::eta_text(725), "12 min 5 s");
  EXPECT_EQ(hc::reports::eta_text(8000), "2 h 13 min");
  EXPECT_EQ(hc::reports::eta_text(7200), "2 h");
  EXPECT_EQ(hc::reports::eta_text(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
}

TEST(EtaText, CapsHugeAndRejectsUnknownDurations) {
  EXPECT_EQ(hc::reports::eta_text(497808726080804160.0), "> 1 year");  // the ETA
  EXPECT_EQ(hc::reports::eta_text(365.0 * 86400), "> 1 year");
  EXPECT_EQ(hc::reports::eta_text(364.0 * 86400), "364 d");
  EXPECT_EQ(hc::reports::eta_text(std::numeric_limits<double>::infinity()), "> 1 year");
  EXPECT_EQ(hc::reports::eta_text(std::nan("")), "?");
  EXPECT_EQ(hc::reports::eta_text(-3), "?");
}

TEST(FitToWidth, CutsLongLinesToTheWidthAndMarksTheCut) {
  EXPECT_EQ(hc::reports::fit_to_width("short", 80), "short");
  EXPECT_EQ(hc::reports::fit_to_width("0123456789", 10), "0123456789");
  EXPECT_EQ(hc::reports::fit_to_width("0123456789abc", 10), "0123456...");
  EXPECT_EQ(hc::reports::fit_to_width("0123456789", 2), "01");
  const std::string long_line(500, 'x');
  EXPECT_EQ(hc::reports::fit_to_width(long_line, 79).size(), 79u);
}

TEST(TerminalWidth, PrefersTheTerminalThenColumnsThenTheFallback) {
  EXPECT_EQ(hc::reports::terminal_width(132, "80"), 132u);
  EXPECT_EQ(hc::reports::terminal_width(0, "80"), 80u);
  EXPECT_EQ(hc::reports::terminal_width(0, "200"), 200u);
  EXPECT_EQ(hc::reports::terminal_width(0, nullptr), 80u);
  EXPECT_EQ(hc::reports::terminal_width(0, nullptr, 100), 100u);
  EXPECT_EQ(hc::reports::terminal_width(0, "0"), 80u);
  EXPECT_EQ(hc::reports::terminal_width(0, "wide"), 80u);
  EXPECT_EQ(hc::reports::terminal_width(0, "80x"), 80u);
  EXPECT_EQ(hc::reports::terminal_width(0, "-5", 100), 100u);
}

TEST(ColourDecision, AutoColoursOnlyATerminalWithoutNoColor) {
  EXPECT_TRUE(hc::reports::use_colour(ColourMode::automatic, true, nullptr, "xterm"));
  EXPECT_FALSE(hc::reports::use_colour(ColourMode::automatic, false, nullptr, "xterm"));
  EXPECT_FALSE(hc::reports::use_colour(ColourMode::automatic, true, "1", "xterm"));
  EXPECT_TRUE(hc::reports::use_colour(ColourMode::automatic, true, "", "xterm"))
      << "NO_COLOR set to the empty string does not count (no-color.org)";
  EXPECT_FALSE(hc::reports::use_colour(ColourMode::automatic, true, nullptr, "dumb"));
}

TEST(ColourDecision, AnExplicitModeBeatsTheTerminalAndNoColor) {
  EXPECT_TRUE(hc::reports::use_colour(ColourMode::always, false, "1", "dumb"));
  EXPECT_FALSE(hc::reports::use_colour(ColourMode::never, true, nullptr, "xterm"));
  EXPECT_EQ(hc::reports::parse_colour_mode("auto"), ColourMode::automatic);
  EXPECT_EQ(hc::reports::parse_colour_mode("always"), ColourMode::always);
  EXPECT_EQ(hc::reports::parse_colour_mode("never"), ColourMode::never);
  EXPECT_EQ(hc::reports::parse_colour_mode("yes"), std::nullopt);
  EXPECT_EQ(hc::reports::parse_colour_mode(""), std::nullopt);
}

TEST(Paint, AddsSgrCodesOnlyWhenColouring) {
  EXPECT_EQ(hc::reports::paint("PASS", hc::reports::Paint::pass, false), "PASS");
  const std::string pass = hc::reports::paint("PASS", hc::reports::Paint::pass, true);
  const std::string fail = hc::reports::paint("FAIL", hc::reports::Paint::fail, true);
  EXPECT_EQ(pass.rfind("\x1b[", 0), 0u) << pass;
  EXPECT_NE(pass.find("PASS"), std::string::npos);
  EXPECT_TRUE(pass.ends_with("\x1b[0m")) << pass;
  EXPECT_NE(pass.find("32"), std::string::npos) << "green: " << pass;
  EXPECT_NE(fail.find("31"), std::string::npos) << "red: " << fail;
  EXPECT_NE(pass, hc::reports::paint("PASS", hc::reports::Paint::finding, true));
}

hc::reports::ProgressFacts facts(std::uint64_t executions, double seconds) {
  hc::reports::ProgressFacts f;
  f.scenario = "engine/x";
  f.strategy = "random";
  f.progress.executions = executions;
  f.progress.seconds = seconds;
  f.progress.findings = 1;
  f.progress.depth = 7;
  return f;
}

TEST(ProgressText, ARandomRunShowsItsShareOfTheExecutionBudgetAndAnEta) {
  hc::reports::ProgressFacts f = facts(2500, 5);  // 500/s
  f.max_executions = 10000;
  EXPECT_EQ(hc::reports::progress_text(f),
            "engine/x: 2500 executions, 500/s, 1 finding, depth 7, 25% of 10000, ETA 15 s");
}

TEST(ProgressText, WithoutAnyKnownEndThereIsNoPercentageOrEta) {
  const std::string text = hc::reports::progress_text(facts(2500, 5));
  EXPECT_EQ(text, "engine/x: 2500 executions, 500/s, 1 finding, depth 7");
}

TEST(ProgressText, AnExhaustiveRunShowsItsShareOfKnuthsEstimate) {
  hc::reports::ProgressFacts f = facts(1000, 1);
  f.strategy = "dfs";
  f.progress.estimated_total = 8001000;  // 8,000,000 left at 1000/s: 8000 s
  EXPECT_EQ(hc::reports::progress_text(f),
            "engine/x: 1000 executions, 1000/s, 1 finding, depth 7, ~0% of ~8e+06 (Knuth), "
            "ETA 2 h 13 min");
  f.progress.executions = 9000000;
  f.progress.seconds = 9000;
  EXPECT_EQ(hc::reports::progress_text(f),
            "engine/x: 9000000 executions, 1000/s, 1 finding, depth 7, past the estimate of "
            "~8e+06 (Knuth)");
}

TEST(ProgressText, AHugeEstimateGivesACappedEta) {
  hc::reports::ProgressFacts f = facts(1000, 1);
  f.strategy = "dfs";
  f.progress.estimated_total = 5e20;
  const std::string text = hc::reports::progress_text(f);
  EXPECT_TRUE(text.ends_with(", ~0% of ~5e+20 (Knuth), ETA > 1 year")) << text;
}

TEST(ProgressText, DporShowsTheDfsTreeAndAnEtaBound) {
  hc::reports::ProgressFacts f = facts(1000, 10);  // 100/s
  f.strategy = "dpor";
  f.reduces = true;
  f.progress.estimated_total = 5500;
  EXPECT_EQ(hc::reports::progress_text(f),
            "engine/x: 1000 executions, 100/s, 1 finding, depth 7, dfs tree ~5.5e+03 (Knuth; dpor "
            "explores less), ETA at most ~45 s");
  f.max_executions = 2000;  // a budget sooner than the bound: an exact share and ETA
  EXPECT_EQ(hc::reports::progress_text(f),
            "engine/x: 1000 executions, 100/s, 1 finding, depth 7, dfs tree ~5.5e+03 (Knuth; dpor "
            "explores less), 50% of 2000, ETA 10 s");
}

TEST(ProgressText, ATimeBudgetNearerTheEndWins) {
  hc::reports::ProgressFacts f = facts(2500, 45);
  f.max_executions = 10000;    // 25% done, 135 s left by executions
  f.time_budget_seconds = 60;  // 75% done, 15 s left by time
  EXPECT_TRUE(hc::reports::progress_text(f).ends_with(", 75% of 1 min, ETA 15 s"))
      << hc::reports::progress_text(f);
}

TEST(ProgressText, SeveralScenariosNumberTheLine) {
  hc::reports::ProgressFacts f = facts(10, 2);
  f.position = 3;
  f.count = 63;
  EXPECT_EQ(hc::reports::progress_text(f).rfind("[3/63] engine/x: 10 executions, 5/s", 0), 0u);
}

TEST(ProgressText, ANarrowLineDropsWhatMattersLeastAndKeepsThePercentageAndEta) {
  hc::reports::ProgressFacts f = facts(2904064, 1);
  f.scenario = "engine/lost-update.fixed";
  f.max_executions = 1000000000;
  f.time_budget_seconds = 3;
  const std::string wide = hc::reports::progress_text(f);
  EXPECT_EQ(wide,
            "engine/lost-update.fixed: 2904064 executions, 2904064/s, 1 finding, depth 7, 33% of "
            "3 s, ETA 2 s");
  EXPECT_EQ(hc::reports::progress_text(f, 200), wide);
  EXPECT_EQ(hc::reports::progress_text(f, 90),
            "engine/lost-update.fixed: 2904064 executions, 2904064/s, 1 finding, 33% of 3 s, ETA "
            "2 s")
      << "the depth goes first";
  // An 80-column terminal less the margin and the indent: 77. Then the rate goes.
  EXPECT_EQ(hc::reports::progress_text(f, 77),
            "engine/lost-update.fixed: 2904064 executions, 1 finding, 33% of 3 s, ETA 2 s");
  EXPECT_EQ(hc::reports::progress_text(f, 70),
            "engine/lost-update.fixed: 2904064 executions, 1 finding, 33%, ETA 2 s");
  EXPECT_EQ(hc::reports::progress_text(f, 60),
            "engine/lost-update.fixed: 2904064 executions, 33%, ETA 2 s");
  EXPECT_EQ(hc::reports::progress_text(f, 20), "engine/lost-updat...");
}

}  // namespace

// settings_test.cpp — RunSettings is one list: every field changed from its default survives
// each place a run's settings travel (overrides of a scenario's defaults, replay files,
// checkpoints, run summaries, the gtest helpers' options), and fields() visits every member.
// The command line's flags are checked end to end by tests/cli/settings.cmake.
#include "hc/settings.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <string>
#include <type_traits>

#include "hc/explorer.hpp"
#include "hc/gtest.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/summary.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

/// Every field moved off its default, to a value its range accepts and a run can use.
hc::RunSettings every_field_changed() {
  hc::RunSettings s;
  hc::RunSettings::fields(s, [](const hc::SettingInfo& info, auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_same_v<T, bool>) {
      value = !value;
    } else if constexpr (std::is_same_v<T, std::string>) {
      value = "pct";  // the only string: the strategy
    } else if (!info.has_range()) {
      value = static_cast<T>(value + 7);
    } else {
      const double scale = static_cast<double>(info.scale);
      const double doubled = static_cast<double>(value) * 2;
      const double v = doubled != static_cast<double>(value) && doubled <= info.max * scale &&
                               doubled >= info.min * scale
                           ? doubled
                       : info.min * scale != static_cast<double>(value) ? info.min * scale
                                                                        : (info.min + 1) * scale;
      value = static_cast<T>(v);
    }
  });
  return s;
}

/// The keys of the fields where `a` and `b` differ.
std::string differing(const hc::RunSettings& a, const hc::RunSettings& b) {
  std::string keys;
  std::vector<std::string> left;
  hc::RunSettings::fields(a, [&](const hc::SettingInfo& info, const auto& value) {
    left.push_back(fmt::format("{}={}", info.key, value));
  });
  std::size_t i = 0;
  hc::RunSettings::fields(b, [&](const hc::SettingInfo& info, const auto& value) {
    if (left[i++] != fmt::format("{}={}", info.key, value))
      keys += fmt::format(" {} ({} vs {})", info.key, left[i - 1], value);
  });
  return keys;
}

TEST(Settings, FieldsVisitsEveryMemberOnce) {
  std::size_t visited = 0;
  std::set<std::string_view> keys, flags;
  hc::RunSettings s;
  hc::RunSettings::fields(s, [&](const hc::SettingInfo& info, auto&) {
    ++visited;
    EXPECT_TRUE(keys.insert(info.key).second) << "key twice: " << info.key;
    EXPECT_FALSE(info.flag.empty()) << info.key << " has no command-line flag";
    EXPECT_TRUE(flags.insert(info.flag).second) << "flag twice: " << info.flag;
    EXPECT_FALSE(info.help.empty()) << info.key << " has no help";
  });
  // A member declared in RunSettings but missing from fields() fails here.
  EXPECT_EQ(visited, hc::detail::aggregate_member_count<hc::RunSettings>());
}

TEST(Settings, EveryFieldChangedDiffersFromTheDefault) {
  const hc::RunSettings changed = every_field_changed();
  hc::RunSettings defaults;
  std::vector<std::string> same;
  hc::RunSettings::fields(changed, [&](const hc::SettingInfo& info, const auto& value) {
    hc::RunSettings::fields(defaults, [&](const hc::SettingInfo& other, const auto& d) {
      if constexpr (std::is_same_v<decltype(value), decltype(d)>) {
        if (info.key == other.key && value == d) same.emplace_back(info.key);
      }
    });
  });
  EXPECT_TRUE(same.empty()) << "unchanged: " << same.front();
}

TEST(Settings, OverridesReplaceTheScenarioDefaults) {
  const hc::Scenario* s = hc::find_scenario("engine/lost-update");
  ASSERT_NE(s, nullptr);
  const hc::RunSettings changed = every_field_changed();
  hc::OptionOverrides ov;
  ov.values() = changed;
  hc::RunSettings::fields(changed,
                          [&](const hc::SettingInfo& info, const auto&) { ov.mark(info.key); });
  const hc::ExploreOptions o = hc::options_for(*s, ov);
  EXPECT_EQ(static_cast<const hc::RunSettings&>(o), changed)
      << differing(static_cast<const hc::RunSettings&>(o), changed);
  // Nothing set: the scenario's own defaults.
  const hc::ExploreOptions plain = hc::options_for(*s, {});
  EXPECT_EQ(static_cast<const hc::RunSettings&>(plain), hc::scenario_settings(*s));
  EXPECT_EQ(plain.max_executions, s->info.max_executions);
  // set() marks exactly the member it sets.
  hc::OptionOverrides one;
  one.set(&hc::RunSettings::livelock_bound, 20u);
  EXPECT_TRUE(one.is_set("livelock_bound"));
  EXPECT_FALSE(one.is_set("max_steps"));
  EXPECT_EQ(hc::options_for(*s, one).livelock_bound, 20u);
  EXPECT_EQ(hc::options_for(*s, one).max_steps, s->info.max_steps);
}

TEST(Settings, ReplayFilesCarryEveryField) {
  const hc::RunSettings changed = every_field_changed();
  hc::ExploreOptions o;
  static_cast<hc::RunSettings&>(o) = changed;
  const hc::Result r = hc::explore(hc::test::lost_update, {});
  ASSERT_FALSE(r.findings.empty());
  const std::string text =
      hc::reports::to_json(hc::reports::make_replay_file("x", o, r.findings.front()));
  std::string error;
  const auto back = hc::reports::parse_replay_file(text, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->settings, changed) << differing(back->settings, changed);
  // Replaying exactly: strategy "replay" and one execution; everything else as recorded.
  hc::RunSettings exact = hc::reports::replay_options(*back, false);
  EXPECT_EQ(exact.strategy, "replay");
  EXPECT_EQ(exact.max_executions, 1u);
  exact.strategy = changed.strategy;
  exact.max_executions = changed.max_executions;
  EXPECT_EQ(exact, changed) << differing(exact, changed);
  const hc::RunSettings continued = hc::reports::replay_options(*back, true);
  EXPECT_EQ(continued, changed) << differing(continued, changed);
}

TEST(Settings, SummariesCarryEveryField) {
  hc::reports::ScenarioRecord record;
  record.name = "x/y";
  record.expected = "clean";
  record.verdict = "clean";
  record.as_expected = true;
  record.strategy = "pct";
  record.settings = every_field_changed();
  std::string error;
  const auto back = hc::reports::parse_summary(hc::reports::summary_json({record}), &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->size(), 1u);
  ASSERT_TRUE(back->front().settings);
  EXPECT_EQ(*back->front().settings, *record.settings);
  // Two runs with other settings merge into a summary that claims neither's.
  hc::reports::ScenarioRecord other = record;
  other.settings->seed += 1;
  const auto merged = hc::reports::merge_summaries(
      {hc::reports::summary_json({record}), hc::reports::summary_json({other})}, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_FALSE((*merged)["scenarios"][0].contains("settings"));
  const auto same = hc::reports::merge_summaries(
      {hc::reports::summary_json({record}), hc::reports::summary_json({record})}, &error);
  ASSERT_TRUE(same) << error;
  EXPECT_TRUE((*same)["scenarios"][0].contains("settings"));
}

TEST(Settings, GtestOptionsAreRunSettings) {
  static_assert(std::is_same_v<hc::gtest::Options, hc::RunSettings>);
  const hc::RunSettings changed = every_field_changed();
  const hc::ExploreOptions e = hc::gtest::detail::explore_options(changed);
  EXPECT_EQ(static_cast<const hc::RunSettings&>(e), changed);
}

// A checkpoint records every setting a resumed run must share: resuming with any one of them
// changed is refused, naming it; a budget (time) may change.
TEST(Settings, CheckpointsRefuseAResumeWithAnyOtherSetting) {
  const fs::path dir = fs::temp_directory_path() / "hc-settings-test";
  fs::create_directories(dir);
  const std::string checkpoint = (dir / "run.checkpoint").string();
  fs::remove(checkpoint);
  hc::ExploreOptions o;
  static_cast<hc::RunSettings&>(o) = every_field_changed();
  o.checkpoint_file = checkpoint;
  o.run_name = "settings";
  const auto body = [] {
    hc::atomic<int> n{0, "n"};
    hc::thread a("a", [&] { n.fetch_add(1); });
    n.fetch_add(1);
    a.join();
  };
  const hc::Result first = hc::explore(body, o);
  ASSERT_TRUE(fs::exists(checkpoint));
  hc::ExploreOptions resume = o;
  resume.checkpoint_file.clear();
  resume.resume_file = checkpoint;
  EXPECT_NO_THROW(hc::explore(body, resume));
  const hc::RunSettings defaults;
  std::size_t refused = 0;
  hc::RunSettings::fields(defaults, [&](const hc::SettingInfo& info, const auto& value) {
    hc::ExploreOptions other = resume;
    hc::RunSettings::fields(other, [&](const hc::SettingInfo& field, auto& v) {
      if constexpr (std::is_same_v<decltype(v), std::remove_cvref_t<decltype(value)>&>) {
        if (field.key == info.key) v = value;
      }
    });
    if (!info.resume_must_match) {
      EXPECT_NO_THROW(hc::explore(body, other)) << info.key;
      return;
    }
    try {
      hc::explore(body, other);
      ADD_FAILURE() << "resumed with another " << info.key;
    } catch (const hc::usage_error& e) {
      ++refused;
      EXPECT_TRUE(hc::test::contains(e.what(), fmt::format("{} = ", info.key))) << e.what();
    }
  });
  EXPECT_GE(refused, 10u);
  fs::remove_all(dir);
}

// The settings that shape a finding come back with its replay file: a livelock found with
// livelock_bound 20 (not the default 100) and a pct finding at depth 5 both reproduce.
hc::Finding replayed(const std::function<void()>& body, const hc::ExploreOptions& o,
                     const hc::Finding& f) {
  std::string error;
  const auto file = hc::reports::parse_replay_file(
      hc::reports::to_json(hc::reports::make_replay_file("x", o, f)), &error);
  EXPECT_TRUE(file) << error;
  const hc::Result again = hc::explore(body, hc::reports::replay_options(*file, false));
  EXPECT_EQ(again.findings.size(), 1u);
  return again.findings.empty() ? hc::Finding{} : again.findings.front();
}

TEST(Settings, ALivelockFoundWithAnotherBoundReplays) {
  const auto body = hc::test::mutual_spin_wait;
  hc::ExploreOptions o;
  o.livelock_bound = 20;
  const hc::Result r = hc::explore(body, o);
  ASSERT_EQ(r.findings.size(), 1u);
  ASSERT_EQ(r.findings[0].kind, hc::FindingKind::livelock);
  EXPECT_TRUE(hc::test::contains(r.findings[0].message, "for 21 scheduling points"))
      << r.findings[0].message;
  const hc::Finding again = replayed(body, o, r.findings[0]);
  EXPECT_EQ(again.kind, hc::FindingKind::livelock) << again.message;
  EXPECT_EQ(again.message, r.findings[0].message);
  EXPECT_EQ(again.step, r.findings[0].step);
}

TEST(Settings, APctFindingAtAnotherDepthReplays) {
  hc::ExploreOptions o;
  o.strategy = "pct";
  o.pct_depth = 5;
  o.seed = 3;
  o.max_executions = 500;
  const hc::Result r = hc::explore(hc::test::lost_update, o);
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding again = replayed(hc::test::lost_update, o, r.findings[0]);
  EXPECT_EQ(again.kind, hc::FindingKind::check_failure);
  EXPECT_EQ(again.message, r.findings[0].message);
  EXPECT_EQ(again.schedule, r.findings[0].schedule);
}

}  // namespace

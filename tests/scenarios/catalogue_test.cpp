// The whole scenario catalogue under the catalogue's rules: every buggy variant is found by
// exhaustive dfs and by random with the default seed within its default budget, with the
// declared finding kind and message words; every fixed variant explores clean, exhaustively
// unless it states why its search is bounded. (ctest's scenario:<name> tests run each
// scenario once more through the CLI, with its default strategy.)
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "hc/hc.hpp"

namespace {

std::vector<const hc::Scenario*> variants(bool fixed) {
  std::vector<const hc::Scenario*> out;
  for (const hc::Scenario& s : hc::scenarios()) {
    if (std::string_view(s.info.name).ends_with(".fixed") == fixed) out.push_back(&s);
  }
  return out;
}

std::string test_name(const testing::TestParamInfo<const hc::Scenario*>& info) {
  std::string name(info.param->info.name);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

hc::ScenarioOutcome run(const hc::Scenario& s, const std::string& strategy,
                        std::optional<std::uint64_t> max_executions) {
  hc::OptionOverrides ov;
  ov.strategy = strategy;
  ov.max_executions = max_executions;
  return hc::run_scenario(s, hc::options_for(s, ov));
}

class BuggyVariant : public testing::TestWithParam<const hc::Scenario*> {};

TEST_P(BuggyVariant, IsFoundByExhaustiveDfs) {
  const hc::Scenario& s = *GetParam();
  const hc::ScenarioOutcome o = run(s, "dfs", 0);
  EXPECT_TRUE(o.as_expected) << s.info.name << ": " << o.explanation;
}

TEST_P(BuggyVariant, IsFoundByRandomWithTheDefaultSeedWithinItsBudget) {
  const hc::Scenario& s = *GetParam();
  const hc::ScenarioOutcome o = run(s, "random", std::nullopt);
  EXPECT_TRUE(o.as_expected) << s.info.name << ": " << o.explanation;
  EXPECT_EQ(o.options.seed, 0u);
  EXPECT_EQ(o.options.max_executions, s.info.max_executions);
}

TEST_P(BuggyVariant, HasAFixedCounterpartAndAStory) {
  const hc::Scenario& s = *GetParam();
  EXPECT_NE(hc::find_scenario(std::string(s.info.name) + ".fixed"), nullptr);
  EXPECT_FALSE(s.info.expect.clean()) << s.info.name << " must expect a finding";
  EXPECT_FALSE(s.info.message.empty()) << s.info.name << " must name the words of its finding";
  EXPECT_FALSE(s.info.pattern.empty()) << s.info.name << " must name its pattern";
  EXPECT_FALSE(s.info.source.empty()) << s.info.name << " must name its source";
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BuggyVariant, testing::ValuesIn(variants(false)), test_name);

class FixedVariant : public testing::TestWithParam<const hc::Scenario*> {};

TEST_P(FixedVariant, ExploresClean) {
  const hc::Scenario& s = *GetParam();
  const hc::ScenarioOutcome o = run(s, std::string(s.info.strategy), std::nullopt);
  ASSERT_TRUE(o.as_expected) << s.info.name << ": " << o.explanation;
  if (s.info.bound.empty()) {
    EXPECT_TRUE(o.result.stats.exhausted)
        << s.info.name << " stopped after " << o.result.stats.executions
        << " executions without exhausting its search: raise its budget or state its bound";
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, FixedVariant, testing::ValuesIn(variants(true)), test_name);

}  // namespace

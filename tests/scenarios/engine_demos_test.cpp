// The engine's demo scenarios: each bug is found under dfs and under random, with the right
// kind and message; each fixed variant explores clean. Also: the registry is not empty.
#include <gtest/gtest.h>

#include <regex>

#include "hc/hc.hpp"

namespace {

const hc::Scenario& scenario(std::string_view name) {
  const hc::Scenario* s = hc::find_scenario(name);
  if (s == nullptr) throw std::runtime_error("missing scenario " + std::string(name));
  return *s;
}

hc::Result run(std::string_view name, const std::string& strategy) {
  hc::OptionOverrides ov;
  ov.set(&hc::RunSettings::strategy, strategy);
  ov.set(&hc::RunSettings::seed, 2026);
  ov.set(&hc::RunSettings::max_executions, strategy == "random" ? 2000 : 0);
  return hc::run_scenario(scenario(name), hc::options_for(scenario(name), ov)).result;
}

class Strategies : public testing::TestWithParam<std::string> {};

TEST_P(Strategies, LostUpdateIsACheckFailure) {
  const hc::Result r = run("engine/lost-update", GetParam());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_NE(r.findings[0].message.find(
                "HC_CHECK(counter.peek() == 2) failed: lost update: counter is 1 after two "
                "increments"),
            std::string::npos)
      << r.findings[0].message;
}

TEST_P(Strategies, AbbaIsADeadlockWithItsCycle) {
  const hc::Result r = run("engine/abba-deadlock", GetParam());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::deadlock);
  EXPECT_NE(r.findings[0].message.find(
                "wait-for cycle: 'locks-A-then-B' -> 'locks-B-then-A' -> 'locks-A-then-B'"),
            std::string::npos)
      << r.findings[0].message;
}

TEST_P(Strategies, RacyFlagIsADataRaceNamingBothSites) {
  const hc::Result r = run("engine/racy-flag", GetParam());
  ASSERT_EQ(r.findings.size(), 1u);
  const std::string& m = r.findings[0].message;
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::data_race);
  const std::regex both(
      "data race on var 'ready': thread '(producer|consumer)' (reads|writes) it at "
      "scenarios/engine/racy_flag.cpp:[0-9]+ \\(step [0-9]+\\), and thread '(producer|consumer)' "
      "(read|wrote) it at scenarios/engine/racy_flag.cpp:[0-9]+ \\(step [0-9]+\\)");
  EXPECT_TRUE(std::regex_search(m, both)) << m;
  EXPECT_NE(m.find("thread 'producer'"), std::string::npos);
  EXPECT_NE(m.find("thread 'consumer'"), std::string::npos);
}

TEST_P(Strategies, AtomicMessagePassingHasNoRace) {
  const hc::Result r = run("engine/racy-flag.fixed", GetParam());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST_P(Strategies, SpinWithoutYieldExceedsTheStepBound) {
  const hc::Result r = run("engine/spin-without-yield", GetParam());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::step_bound_exceeded);
  EXPECT_NE(r.findings[0].message.find("thread 'waiter' took"), std::string::npos);
  EXPECT_NE(r.findings[0].message.find("A spin-wait needs hc::this_thread::yield()"),
            std::string::npos);
}

TEST_P(Strategies, FixedVariantsAreClean) {
  for (const char* name : {"engine/lost-update.fixed", "engine/abba-deadlock.fixed",
                           "engine/spin-without-yield.fixed"}) {
    const hc::Result r = run(name, GetParam());
    EXPECT_TRUE(r.findings.empty()) << name << ": " << r.findings.front().message;
  }
}

INSTANTIATE_TEST_SUITE_P(Engine, Strategies, testing::Values("dfs", "random"));

TEST(Registry, IsNotEmptyAndNamesAreStablePaths) {
  ASSERT_FALSE(hc::scenarios().empty()) << "no scenario registered: is the OBJECT library linked?";
  const std::regex path("[a-z0-9_]+/[a-z0-9-]+(\\.fixed)?");  // area/kebab-name
  for (const hc::Scenario& s : hc::scenarios()) {
    EXPECT_TRUE(std::regex_match(std::string(s.info.name), path)) << s.info.name;
    const bool fixed = std::string_view(s.info.name).ends_with(".fixed");
    EXPECT_EQ(fixed, s.info.expect.clean()) << s.info.name << ": fixed variants expect clean";
    if (!fixed) {
      EXPECT_NE(hc::find_scenario(std::string(s.info.name) + ".fixed"), nullptr)
          << s.info.name << " has no fixed variant";
    }
  }
}

}  // namespace

// Scenarios that expect one of several finding kinds (hc::expect_any): the verdict is as
// expected on a finding of any of the kinds (with the scenario's message words), and fails on a
// finding of another kind or on none, in the words `run` prints.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hc/hc.hpp"
#include "test_support.hpp"

namespace {

using hc::FindingKind;

/// A failed check on every schedule: a check-failure finding.
void failed_check() {
  hc::atomic<int> x{1, "x"};
  HC_CHECK(x.load() == 2, "x is {}", x.peek());
}

/// Nothing to find.
void nothing() {
  hc::atomic<int> x{1, "x"};
  x.store(2);
}

hc::ScenarioOutcome run(void (*body)(), hc::Expected expect, std::string_view message = "") {
  hc::Scenario s;
  s.info.name = "test/expect-any";
  s.info.expect = expect;
  s.info.message = message;
  s.body = body;
  return hc::run_scenario(s, hc::options_for(s, hc::OptionOverrides{}));
}

TEST(ExpectAny, AcceptsAFindingOfAnyOfItsKinds) {
  for (const hc::Expected& e :
       {hc::expect_any({FindingKind::deadlock, FindingKind::finalizer_blocked}),
        hc::expect_any({FindingKind::finalizer_blocked, FindingKind::deadlock}),
        hc::expect_any({FindingKind::livelock, FindingKind::deadlock, FindingKind::crash})}) {
    const hc::ScenarioOutcome o = run(&hc::test::abba_deadlock, e, "wait-for cycle");
    ASSERT_FALSE(o.result.findings.empty());
    EXPECT_EQ(o.result.findings.front().kind, FindingKind::deadlock);
    EXPECT_TRUE(o.as_expected) << hc::expected_kinds_text(e) << ": " << o.explanation;
    EXPECT_TRUE(o.explanation.empty()) << o.explanation;
  }
}

TEST(ExpectAny, FailsWhenTheFindingIsNoneOfItsKinds) {
  const hc::ScenarioOutcome o =
      run(&failed_check, hc::expect_any({FindingKind::deadlock, FindingKind::finalizer_blocked}));
  ASSERT_FALSE(o.result.findings.empty());
  EXPECT_EQ(o.result.findings.front().kind, FindingKind::check_failure);
  EXPECT_FALSE(o.as_expected);
  EXPECT_EQ(o.explanation, "expected deadlock or finalizer-blocked, found check-failure");
}

TEST(ExpectAny, FailsWhenNothingIsFound) {
  const hc::ScenarioOutcome o =
      run(&nothing, hc::expect_any({FindingKind::deadlock, FindingKind::check_failure}));
  EXPECT_FALSE(o.as_expected);
  EXPECT_EQ(o.explanation.rfind("expected deadlock or check-failure, but 1 execution found "
                                "nothing (search space exhausted)",
                                0),
            0u)
      << o.explanation;
}

TEST(ExpectAny, StillRequiresTheMessageWords) {
  const hc::ScenarioOutcome o = run(
      &hc::test::abba_deadlock, hc::expect_any({FindingKind::check_failure, FindingKind::deadlock}),
      "words no deadlock message has");
  EXPECT_FALSE(o.as_expected);
  EXPECT_EQ(o.explanation.rfind("expected check-failure or deadlock with a message containing "
                                "\"words no deadlock message has\"",
                                0),
            0u)
      << o.explanation;
}

TEST(ExpectAny, NamesItsKindsInTheOrderGivenOnceEach) {
  EXPECT_EQ(hc::expected_kinds_text(hc::clean), "clean");
  EXPECT_EQ(hc::expected_kinds_text(FindingKind::deadlock), "deadlock");
  EXPECT_EQ(hc::expected_kinds_text(hc::expect_any({FindingKind::finalizer_blocked})),
            "finalizer-blocked");
  const hc::Expected three = hc::expect_any({FindingKind::no_progress, FindingKind::deadlock,
                                             FindingKind::no_progress, FindingKind::check_failure});
  EXPECT_EQ(hc::expected_kinds_text(three), "no-progress, check-failure or deadlock");
  EXPECT_TRUE(three.accepts(FindingKind::check_failure));
  EXPECT_TRUE(three.accepts(FindingKind::no_progress));
  EXPECT_FALSE(three.accepts(FindingKind::livelock));
  EXPECT_FALSE(hc::clean.accepts(FindingKind::deadlock));
}

}  // namespace

// Every kind has one stable kebab-case name, and the name parses back to the kind: summaries,
// replay files and `.expect` strings depend on it. Fails if a kind is appended without its name.
TEST(FindingKindNames, EveryKindRoundTripsThroughItsStableName) {
  std::set<std::string> seen;
  for (int i = 0; i < hc::kFindingKindCount; ++i) {
    const auto kind = static_cast<hc::FindingKind>(i);
    const std::string name(hc::finding_kind_name(kind));
    EXPECT_NE(name, "unknown") << "kind " << i;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-"), std::string::npos) << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    const auto parsed = hc::parse_finding_kind(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, kind) << name;
  }
  EXPECT_EQ(hc::finding_kind_name(hc::FindingKind::double_free), "double-free");
  EXPECT_EQ(hc::finding_kind_name(hc::FindingKind::descriptor_inherited), "descriptor-inherited");
  EXPECT_EQ(hc::parse_finding_kind("handle-invalidated-in-use"),
            hc::FindingKind::handle_invalidated_in_use);
}

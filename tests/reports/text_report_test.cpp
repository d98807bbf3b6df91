// Golden test of the text report: a real finding of the catalogue, formatted, compared byte for
// byte with tests/reports/golden/. Regenerate with HC_UPDATE_GOLDEN=1 after an intended change.
#include "hc/reports/text_report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hc/hc.hpp"

namespace {

std::string finding_text(std::string_view scenario) {
  const hc::Scenario* s = hc::find_scenario(scenario);
  if (s == nullptr) throw std::runtime_error("missing scenario");
  const hc::Result r = hc::explore(s->body, hc::options_for(*s, {}));
  if (r.findings.empty()) throw std::runtime_error("no finding");
  return hc::reports::format_finding(r.findings.front(), "handlecheck replay FILE.json");
}

void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = std::string(HC_GOLDEN_DIR) + "/" + name;
  if (std::getenv("HC_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << " (HC_UPDATE_GOLDEN=1 writes it)";
  std::stringstream golden;
  golden << in.rdbuf();
  if (golden.str() == actual) return;
  std::istringstream a(golden.str());
  std::istringstream b(actual);
  std::string la;
  std::string lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(a, la));
    const bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (la != lb || ga != gb) {
      FAIL() << name << " differs at line " << line << ":\n  golden: " << la
             << "\n  actual: " << lb;
    }
  }
  FAIL() << name << " differs (line endings?)";
}

TEST(TextReportGolden, AHandleDoubleCloseWithItsLifecycleAndCausalSlice) {
  expect_golden(finding_text("safehandle/event-closed-twice"), "event_closed_twice.txt");
}

TEST(TextReportGolden, ADataRace) {
  expect_golden(finding_text("engine/racy-flag"), "racy_flag.txt");
}

TEST(TextReport, IsStableAcrossRuns) {
  EXPECT_EQ(finding_text("safehandle/raw-value-after-dispose"),
            finding_text("safehandle/raw-value-after-dispose"));
}

TEST(TextReport, ShowsTheObjectsInvolvedFirst) {
  const std::string text = finding_text("safehandle/event-closed-twice");
  const auto lifecycle = text.find("lifecycle of the objects involved");
  const auto interleaving = text.find("interleaving:");
  ASSERT_NE(lifecycle, std::string::npos);
  ASSERT_NE(interleaving, std::string::npos);
  EXPECT_LT(lifecycle, interleaving);
  EXPECT_NE(text.find("Event 'ready': "), std::string::npos) << text;
}

}  // namespace

// Golden test of the text report: a real finding of the catalogue, formatted, compared byte for
// byte with tests/reports/golden/. Regenerate with HC_UPDATE_GOLDEN=1 after an intended change.
#include "hc/reports/text_report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hc/hc.hpp"

namespace {

hc::Finding finding_of(std::string_view scenario) {
  const hc::Scenario* s = hc::find_scenario(scenario);
  if (s == nullptr) throw std::runtime_error("missing scenario");
  const hc::Result r = hc::explore(s->body, hc::options_for(*s, {}));
  if (r.findings.empty()) throw std::runtime_error("no finding");
  return r.findings.front();
}

std::string finding_text(std::string_view scenario) {
  return hc::reports::format_finding(finding_of(scenario), "handlecheck replay FILE.json");
}

/// The report from its lifecycle header on: what does not quote the message.
std::string after_message(const std::string& text) {
  const auto at = text.find("lifecycle of the objects involved");
  return at == std::string::npos ? std::string() : text.substr(at);
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

// The lifecycles and the causal slice come from the finding's structure (related_steps,
// objects), never from its message: reworded without a "step N" or an object's name, the
// report is the same but for the message line.
TEST(TextReport, ARewordedMessageKeepsTheLifecyclesAndTheCausalSlice) {
  for (const char* scenario : {"safehandle/event-closed-twice", "engine/racy-flag",
                               "safehandle/raw-value-after-dispose", "engine/lost-update"}) {
    const hc::Finding f = finding_of(scenario);
    hc::Finding reworded = f;
    reworded.message = "the protocol was broken (reworded: no steps, no names)";
    const std::string original = hc::reports::format_finding(f, "");
    const std::string text = hc::reports::format_finding(reworded, "");
    ASSERT_FALSE(after_message(original).empty()) << scenario << "\n" << original;
    EXPECT_EQ(after_message(text), after_message(original)) << scenario;
    EXPECT_EQ(hc::reports::involved_objects(reworded), hc::reports::involved_objects(f))
        << scenario;
  }
  const std::string text = [] {
    hc::Finding f = finding_of("safehandle/event-closed-twice");
    f.message = "closed twice";
    return hc::reports::format_finding(f, "");
  }();
  EXPECT_NE(text.find("  Event 'ready': 2 notifier SetEvent\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  handle table 'process': 1 main create -> 3 notifier CloseHandle -> 4 "
                      "reader create -> 5 notifier CloseHandle (!)\n"),
            std::string::npos)
      << text;
}

hc::RichStep rich(std::uint32_t index, std::string thread, std::string object, std::string label) {
  hc::RichStep s;
  s.index = index;
  s.thread_name = std::move(thread);
  s.operation = "model";
  s.object = std::move(object);
  s.label = std::move(label);
  return s;
}

/// A hand-made finding: T2 closes at step 2, T1 uses the value at step 4 (its finding).
hc::Finding hand_made() {
  hc::Finding f;
  f.kind = hc::FindingKind::stale_handle_use;
  f.thread_name = "T1";
  f.step = 4;
  f.trace = {rich(1, "main", "handle table 'process'", "create"),
             rich(2, "T2", "handle table 'process'", "CloseHandle"),
             rich(3, "T1", "SafeFileHandle 'log'", "DangerousGetHandle"),
             rich(4, "T1", "File 'log'", "WriteFile"), rich(5, "main", "atomic 'x'", "load")};
  return f;
}

// What a message says decides nothing: a message naming steps and objects, without structure,
// falls back to the finding's own step; structure without any of it in the message gives the
// full lifecycles, in the reporter's order, then the objects of the related steps.
TEST(TextReport, OnlyTheFindingsStructureDecidesTheObjectsInvolved) {
  hc::Finding text_only = hand_made();
  text_only.message =
      "thread 'T1' at step 4 used SafeFileHandle 'log', closed at step 2 in handle table "
      "'process'; atomic 'x'";
  EXPECT_EQ(hc::reports::involved_objects(text_only), (std::vector<std::string>{"File 'log'"}));

  hc::Finding structured = hand_made();
  structured.message = "used after its close";
  structured.related_steps = {4, 2};
  structured.objects = {"SafeFileHandle 'log'", "File 'log'", "File 'never touched'"};
  EXPECT_EQ(
      hc::reports::involved_objects(structured),
      (std::vector<std::string>{"SafeFileHandle 'log'", "File 'log'", "handle table 'process'"}));
  const std::string text = hc::reports::format_finding(structured, "");
  EXPECT_NE(text.find("  SafeFileHandle 'log': 3 T1 DangerousGetHandle\n"
                      "  File 'log': 4 T1 WriteFile (!)\n"
                      "  handle table 'process': 1 main create -> 2 T2 CloseHandle\n"
                      "causal slice: the 4 of 5 steps that touched them\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("never touched"), std::string::npos) << text;
}

}  // namespace

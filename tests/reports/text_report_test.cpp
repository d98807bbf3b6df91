// Golden test of the text report: a real finding of the catalogue, formatted, compared byte for
// byte with tests/reports/golden/. Regenerate with HC_UPDATE_GOLDEN=1 after an intended change.
// Then what each step says (model verbs, compare-exchange outcomes, atomics' names), the
// execution kept through minimisation, the column view and colour.
#include "hc/reports/text_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "hc/hc.hpp"
#include "hc/models/model_atomic.hpp"
#include "test_support.hpp"

namespace {

using hc::test::contains;

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
                      "notifier CloseHandle (!)\n"),
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

// --- what each step says -----------------------------------------------------------------------

/// The trace line of step `index` in a report ("     3   notifier  CloseHandle ...").
std::string trace_line(const std::string& text, std::uint32_t index) {
  const std::string at = text.substr(text.find("interleaving:"));
  std::istringstream lines(at);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == std::to_string(index) || first == std::to_string(index) + "*") return line;
  }
  return {};
}

TEST(TextReport, AModelStepShowsItsVerbAsTheOperation) {
  const std::string text = finding_text("safehandle/event-closed-twice");
  const std::string line = trace_line(text, 3);
  std::istringstream words(line);
  std::string number;
  std::string thread;
  std::string operation;
  words >> number >> thread >> operation;
  EXPECT_EQ(thread, "notifier") << line;
  EXPECT_EQ(operation, "CloseHandle") << line;
  EXPECT_EQ(text.find(" model "), std::string::npos) << "no step shows the kind 'model':\n" << text;
  hc::RichStep s = rich(1, "main", "handle table 'process'", "create");
  EXPECT_EQ(hc::reports::step_operation(s), "create");
  EXPECT_EQ(hc::reports::step_detail(s), "");
  s.has_value = true;
  s.value = 4;
  EXPECT_EQ(hc::reports::step_detail(s), "-> 4");
  s.operation = "atomic-load";
  s.label = "load";
  EXPECT_EQ(hc::reports::step_operation(s), "atomic-load");
  EXPECT_EQ(hc::reports::step_detail(s), "load -> 4");
}

/// Two threads race to swing `state` from 0: one compare-exchange succeeds, the other fails
/// (it reads the winner's value); then a check fails so that the execution is a finding.
void cas_race() {
  hc::atomic<int> state{0, "state"};
  hc::thread t("t", [&] {
    int expected = 0;
    state.compare_exchange_strong(expected, 1);
  });
  int expected = 0;
  state.compare_exchange_strong(expected, 2);
  t.join();
  HC_CHECK(false, "state is {}", state.peek());
}

TEST(TextReport, ACompareExchangeSaysWhetherItSucceeded) {
  const hc::Result r = hc::explore(cas_race, hc::test::exhaustive());
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding& f = r.findings.front();
  std::vector<bool> outcomes;
  for (const hc::RichStep& s : f.trace) {
    if (s.operation == "atomic-cas") {
      ASSERT_TRUE(s.succeeded.has_value()) << s.index;
      outcomes.push_back(*s.succeeded);
    } else {
      EXPECT_FALSE(s.succeeded.has_value()) << s.index << " " << s.operation;
    }
  }
  EXPECT_EQ(outcomes, (std::vector<bool>{true, false}));
  const std::string text = hc::reports::format_finding(f, "");
  EXPECT_TRUE(contains(text, "compare_exchange_strong -> succeeded (read 0)")) << text;
  EXPECT_TRUE(contains(text, "compare_exchange_strong -> failed (read 2)") ||
              contains(text, "compare_exchange_strong -> failed (read 1)"))
      << text;
  EXPECT_FALSE(contains(text, "compare_exchange_strong -> 0")) << text;
}

// A model's compare-exchange (models::ModelAtomic, SafeHandle's state word) is a model step: its
// verb is the operation and its detail says whether it succeeded, as hc::atomic's does.
TEST(TextReport, AModelCompareExchangeSaysWhetherItSucceeded) {
  const hc::Result r = hc::explore(
      [] {
        hc::models::ModelAtomic<int> word{0, "state word"};
        hc::thread a("a", [&] {
          int expected = 0;
          word.compare_exchange_strong(expected, 1);
        });
        hc::thread b("b", [&] {
          int expected = 0;
          word.compare_exchange_strong(expected, 2);
        });
        a.join();
        b.join();
        HC_CHECK(word.load() == 0, "one of the two exchanges happened");
      },
      hc::test::exhaustive());
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding& f = r.findings.front();
  std::vector<bool> outcomes;
  for (const hc::RichStep& s : f.trace) {
    if (s.label == "compare_exchange_strong") {
      ASSERT_TRUE(s.succeeded.has_value()) << s.index;
      outcomes.push_back(*s.succeeded);
    } else {
      EXPECT_FALSE(s.succeeded.has_value()) << s.index << " " << s.label;
    }
  }
  EXPECT_EQ(outcomes, (std::vector<bool>{true, false}));  // the first wins, the second fails
  const std::string text = hc::reports::format_finding(f, "");
  EXPECT_TRUE(contains(text, "-> succeeded (read 0)")) << text;
  EXPECT_TRUE(contains(text, "-> failed (read 1)") || contains(text, "-> failed (read 2)")) << text;
}

// --- names of atomics ---------------------------------------------------------------------------

template <template <class> class Atom>
struct TwoCounters {
  Atom<int> first{0};  // unnamed members: their class's (implicit) constructor is their site
  Atom<int> second{0};
};
constexpr int kTwoCountersLine = __LINE__ - 4;

TEST(AtomicNames, AnUnnamedAtomicIsNamedAfterTheSiteThatDeclaredIt) {
  int declared = 0;
  int default_declared = 0;
  std::vector<std::string> labels;
  const hc::Result r = hc::explore(
      [&] {
        // clang-format off
        hc::atomic<int> plain{0}; declared = __LINE__;
        hc::atomic<int> made_by_default; default_declared = __LINE__;
        // clang-format on
        hc::atomic<int> named{0, "named"};
        TwoCounters<hc::atomic> pair;
        auto on_heap = std::make_unique<hc::atomic<int>>(0);  // made in <memory>: no site
        plain.load();
        made_by_default.load();
        named.load();
        pair.first.load();
        pair.second.load();
        on_heap->load();
        HC_CHECK(false, "show the trace");
      },
      hc::test::exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  for (const hc::RichStep& s : r.findings.front().trace)
    labels.push_back(s.object);
  const std::string here = "text_report_test.cpp";
  EXPECT_EQ(labels, (std::vector<std::string>{
                        fmt::format("atomic at {}:{}", here, declared),
                        fmt::format("atomic at {}:{}", here, default_declared),
                        "atomic 'named'",
                        fmt::format("atomic at {}:{}", here, kTwoCountersLine),
                        fmt::format("atomic at {}:{} #2", here, kTwoCountersLine),
                        "atomic #5",
                    }));
}

// --- the execution that found it, through minimisation -----------------------------------------

/// A lost update between two threads that first do some unrelated work: random schedules
/// preempt often, the minimal one needs a single preemption.
void lost_update_after_noise() {
  hc::atomic<int> counter{0, "counter"};
  hc::atomic<int> noise{0, "noise"};
  auto work = [&] {
    for (int i = 0; i < 4; ++i)
      noise.fetch_add(1);
    counter.store(counter.load() + 1);
  };
  hc::thread a("a", work);
  hc::thread b("b", work);
  a.join();
  b.join();
  HC_CHECK(counter.peek() == 2, "lost update: {}", counter.peek());
}

TEST(TextReport, TheMinimalFindingKeepsTheExecutionThatFoundIt) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    hc::ExploreOptions options = hc::test::random_runs(1000, seed);
    const hc::Result r = hc::explore(lost_update_after_noise, options);
    ASSERT_FALSE(r.findings.empty()) << seed;
    const hc::Finding& f = r.findings.front();
    if (f.execution == 0) continue;  // found by the first execution: nothing to tell apart
    const hc::MinimizeResult m = hc::minimize(lost_update_after_noise, options, f);
    if (m.preemptions_after == m.preemptions_before && m.steps_after == m.steps_before) continue;
    EXPECT_EQ(m.minimal.execution, f.execution) << "seed " << seed;
    const std::string text = hc::reports::format_finding(m.minimal, "");
    EXPECT_TRUE(contains(text, fmt::format("found by execution {}\n", f.execution + 1)))
        << "seed " << seed << "\n"
        << text;
    return;
  }
  FAIL() << "no seed up to 200 found the lost update after its first execution with a schedule "
            "to minimise";
}

// --- the column view ----------------------------------------------------------------------------

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

TEST(TextColumns, AColumnPerThreadInThreadOrderAndARowPerStep) {
  std::vector<hc::RichStep> steps = hand_made().trace;
  steps[0].thread = 0;  // main
  steps[1].thread = 2;  // T2
  steps[2].thread = 1;  // T1
  steps[3].thread = 1;
  steps[3].preemption = true;
  steps[4].thread = 0;
  const std::string text = hc::reports::format_columns(steps, 140, 4);  // room for every cell
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_GE(lines.size(), 7u) << text;
  EXPECT_EQ(lines[0].rfind("  step | main", 0), 0u) << text;
  const std::size_t main_at = lines[0].find("main");
  const std::size_t t1_at = lines[0].find("| T1");
  const std::size_t t2_at = lines[0].find("| T2");
  ASSERT_NE(t1_at, std::string::npos) << text;
  ASSERT_NE(t2_at, std::string::npos) << text;
  EXPECT_LT(t1_at, t2_at) << "threads in thread order (T1 is thread 1):\n" << text;
  EXPECT_EQ(lines[1].find_first_not_of("-+"), std::string::npos) << "a rule under the header";
  // Each step's cell sits under its thread: main's create, T2's CloseHandle, T1's two steps.
  EXPECT_EQ(lines[2].find("create handle table 'process'"), main_at) << text;
  EXPECT_EQ(lines[3].find("CloseHandle handle table 'process'"), t2_at + 2) << text;
  EXPECT_EQ(lines[4].find("DangerousGetHandle SafeFileHandle 'log'"), t1_at + 2) << text;
  EXPECT_EQ(lines[5].rfind("     4*", 0), 0u) << "a preemption is marked:\n" << text;
  EXPECT_EQ(lines[5].find("WriteFile File 'log' (!)"), t1_at + 2) << "the finding's step:\n"
                                                                  << text;
  EXPECT_EQ(lines[6].find("load atomic 'x'"), main_at) << text;
  EXPECT_EQ(lines.size(), 2 + steps.size()) << "no cell wrapped:\n" << text;
  for (const std::string& line : lines)
    EXPECT_LE(line.size(), 140u) << line;
}

/// The letters and digits of a text: what fitting a view may move about but never drop.
std::string letters(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) out += c;
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TextColumns, CellsWrapToFitANarrowWidth) {
  std::vector<hc::RichStep> steps = hand_made().trace;
  for (std::size_t i = 0; i < steps.size(); ++i)
    steps[i].thread = static_cast<hc::ThreadId>(i % 3);
  const std::string wide = hc::reports::format_columns(steps, 200);
  EXPECT_EQ(lines_of(wide).size(), steps.size() + 2) << wide;
  for (const std::size_t width : {100u, 60u, 40u}) {
    const std::string text = hc::reports::format_columns(steps, width);
    for (const std::string& line : lines_of(text))
      EXPECT_LE(line.size(), width) << "width " << width << ":\n" << text;
    EXPECT_EQ(letters(text), letters(wide)) << "nothing lost at width " << width << ":\n" << text;
    EXPECT_GT(lines_of(text).size(), steps.size() + 2) << "cells wrapped:\n" << text;
    if (width >= 60) {  // room for every column's longest word: words are never cut
      for (const char* word : {"create", "CloseHandle", "DangerousGetHandle", "SafeFileHandle",
                               "WriteFile", "'process'", "'log'"})
        EXPECT_TRUE(contains(text, word)) << "width " << width << ": " << word << "\n" << text;
    }
  }
}

TEST(TextColumns, AFindingInColumnsKeepsItsSliceAndNumbersItsExecution) {
  // A finding across three threads, found after many executions (dfs's 66th).
  const hc::Finding f = finding_of("safehandle/raw-value-after-dispose");
  const std::string text =
      hc::reports::format_finding(f, "", hc::reports::TextLayout{.columns = true, .width = 90});
  EXPECT_TRUE(contains(text, "causal slice") || contains(text, "lifecycle of")) << text;
  EXPECT_TRUE(contains(text, fmt::format("found by execution {}\n", f.execution + 1))) << text;
  const std::string view = text.substr(text.find("interleaving:"));
  const std::vector<std::string> lines = lines_of(view);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[1].rfind("  step | main", 0), 0u) << view;
  EXPECT_TRUE(contains(lines[1], "| writer") && contains(lines[1], "| disposer")) << view;
  EXPECT_GT(f.execution, 0u) << "the execution number is not the first's";
  for (const std::string& line : lines)
    EXPECT_LE(line.size(), 90u) << line;
  EXPECT_TRUE(contains(view, "WriteFile File 'log' (!)")) << "the finding's step, marked:\n"
                                                          << view;
}

TEST(TextReport, ColourPaintsTheFindingKindOnlyWhenAsked) {
  const hc::Finding f = finding_of("engine/racy-flag");
  const std::string plain = hc::reports::format_finding(f, "");
  const std::string coloured =
      hc::reports::format_finding(f, "", hc::reports::TextLayout{.colour = true});
  EXPECT_FALSE(contains(plain, "\x1b[")) << plain;
  EXPECT_EQ(coloured.rfind("finding: \x1b[", 0), 0u) << coloured;
  EXPECT_TRUE(contains(coloured, "data-race\x1b[0m")) << coloured;
}

}  // namespace

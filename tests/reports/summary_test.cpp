// summary_test.cpp — golden tests of the machine outputs (JUnit XML and the JSON run summary),
// the round trip of the summary, its parse errors, and the merge of shards.
//
// The goldens are tests/reports/golden/junit.xml and summary.json. After an intended change of
// the output, regenerate them and review the diff:
//   HC_UPDATE_GOLDEN=1 build/tests/hc_summary_test
// Without HC_UPDATE_GOLDEN=1 any byte of difference fails, naming the first differing line.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hc/hc.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/summary.hpp"
#include "hc/write_file.hpp"
#include "test_support.hpp"

#ifndef HC_GOLDEN_DIR
#error "HC_GOLDEN_DIR must name tests/reports/golden (see tests/reports/summary_test.cmake)"
#endif

namespace hc::reports {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Fixtures

FindingRecord finding(std::string kind, std::string message, std::string signature,
                      std::string replay_file = "", std::string replay_command = "") {
  return {.kind = std::move(kind),
          .message = std::move(message),
          .signature = std::move(signature),
          .replay_file = std::move(replay_file),
          .replay_command = std::move(replay_command)};
}

// One clean scenario as expected, one buggy scenario as expected, one unexpected whose
// explanation and message need escaping. Seconds are fixed, exactly representable values.
std::vector<ScenarioRecord> sample_records() {
  ScenarioRecord clean{
      .name = "safehandle/dispose-then-release",
      .expected = "clean",
      .verdict = "clean",
      .as_expected = true,
      .explanation = "",
      .strategy = "dfs",
      .executions = 1204,
      .pruned = 96,
      .exhausted = true,
      .seconds = 0.25,
      .findings = {},
      .covered_pairs = {"DangerousRelease <> Dispose", "ReleaseHandle <> SetHandle"},
      .one_order_pairs = {"Dispose -> DangerousGetHandle"}};

  ScenarioRecord buggy{
      .name = "safehandle/raw-value-after-dispose",
      .expected = "stale-handle-use",
      .verdict = "stale-handle-use",
      .as_expected = true,
      .explanation = "",
      .strategy = "dfs",
      .executions = 37,
      .exhausted = false,
      .seconds = 1.5,
      .findings = {finding(
          "stale-handle-use", "thread 'T2' used handle 0x4 after thread 'T1' closed it at step 9",
          "stale-handle-use@safe_handle.cpp:88",
          "out/safehandle/raw-value-after-dispose-1.replay.json",
          "handlecheck replay out/safehandle/raw-value-after-dispose-1.replay.json")}};

  ScenarioRecord unexpected{
      .name = "com/release-on-wrong-thread",
      .expected = "clean",
      .verdict = "use-after-free",
      .as_expected = false,
      .explanation =
          "expected \"clean\", found use-after-free & double-release <first in \"execution "
          "12\">\nreplay it to see the interleaving",
      .strategy = "random",
      .executions = 5000,
      .exhausted = false,
      .seconds = 0,
      .findings = {finding("use-after-free",
                           "object \"IFoo\" <0x10> & its <children> freed\nthen used by 'T3'",
                           "use-after-free@com.cpp:120", "out/com/release-on-wrong-thread-1.json",
                           "handlecheck replay --file \"out/com/release-on-wrong-thread-1.json\""),
                   finding("double-release", "Release() on a count of 0 & <no> owner",
                           "double-release@com.cpp:131")}};

  // The source files, for JUnit: two scenarios of one file, and a file name to escape.
  clean.file = "scenarios/safehandle/dispose.cpp";
  buggy.file = "scenarios/safehandle/dispose.cpp";
  unexpected.file = "scenarios/com/release \"on\" <wrong> thread.cpp";
  return {clean, buggy, unexpected};
}

// ---------------------------------------------------------------------------------------------
// Golden files

std::string read_file(const std::string& path, bool* found) {
  std::ifstream in(path, std::ios::binary);
  *found = static_cast<bool>(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::string::size_type start = 0;
  while (true) {
    const auto end = s.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(s.substr(start));
      return lines;
    }
    lines.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

// Compares `actual` byte for byte with the golden file `name`; with HC_UPDATE_GOLDEN=1 writes
// it instead.
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(HC_GOLDEN_DIR) + "/" + name;
  const char* update = std::getenv("HC_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    ASSERT_TRUE(out.good()) << "could not write " << path;
    std::cout << "[ golden   ] wrote " << path << "\n";
    return;
  }
  bool found = false;
  const std::string expected = read_file(path, &found);
  ASSERT_TRUE(found) << "missing golden file " << path
                     << " (create it with HC_UPDATE_GOLDEN=1 and review it)";
  if (expected == actual) return;
  const std::vector<std::string> want = split_lines(expected);
  const std::vector<std::string> got = split_lines(actual);
  for (std::size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    const std::string w = i < want.size() ? want[i] : "<end of file>";
    const std::string g = i < got.size() ? got[i] : "<end of file>";
    if (i >= want.size() || i >= got.size() || w != g) {
      ADD_FAILURE() << path << ":" << (i + 1) << ": first differing line\n"
                    << "  golden: " << w << "\n"
                    << "  actual: " << g << "\n"
                    << "(if the change is intended: HC_UPDATE_GOLDEN=1 "
                    << "hc_summary_test)";
      return;
    }
  }
  ADD_FAILURE() << path << ": differs from the output";  // not reached: lines determine bytes
}

// ---------------------------------------------------------------------------------------------
// Field-by-field comparison

void expect_same(const FindingRecord& a, const FindingRecord& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.signature, b.signature);
  EXPECT_EQ(a.replay_file, b.replay_file);
  EXPECT_EQ(a.replay_command, b.replay_command);
}

void expect_same(const ScenarioRecord& a, const ScenarioRecord& b) {
  SCOPED_TRACE("scenario " + a.name);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.expected, b.expected);
  EXPECT_EQ(a.verdict, b.verdict);
  EXPECT_EQ(a.as_expected, b.as_expected);
  EXPECT_EQ(a.explanation, b.explanation);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.executions, b.executions);
  EXPECT_EQ(a.exhausted, b.exhausted);
  EXPECT_EQ(a.bounded_by, b.bounded_by);
  EXPECT_EQ(a.partial, b.partial);
  EXPECT_EQ(a.seconds, b.seconds);  // exact: the JSON keeps every bit of a double
  EXPECT_EQ(a.covered_pairs, b.covered_pairs);
  EXPECT_EQ(a.one_order_pairs, b.one_order_pairs);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (std::size_t i = 0; i < a.findings.size(); ++i) {
    SCOPED_TRACE("finding " + std::to_string(i));
    expect_same(a.findings[i], b.findings[i]);
  }
}

void expect_same(const std::vector<ScenarioRecord>& a, const std::vector<ScenarioRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    expect_same(a[i], b[i]);
}

// ---------------------------------------------------------------------------------------------
// Goldens

// The run as the CLI records it; fixed here, so the golden needs no normalising (the CLI's
// own output is compared with its wall-clock fields normalised: tests/cli/junit.cmake).
RunRecord sample_run() {
  RunRecord run;
  run.version = "0.1.0";
  run.host = "ci-runner-7";
  run.started = "2026-12-05T04:52:10Z";
  return run;
}

TEST(SummaryGolden, JUnit) {
  expect_golden("junit.xml", format_junit(sample_records(), sample_run()));
}

TEST(SummaryGolden, Json) {
  expect_golden("summary.json", summary_json(sample_records()).dump(2) + "\n");
}

TEST(SummaryGolden, SameRecordsSameBytes) {
  EXPECT_EQ(format_junit(sample_records()), format_junit(sample_records()));
  EXPECT_EQ(summary_json(sample_records()).dump(2), summary_json(sample_records()).dump(2));
}

// ---------------------------------------------------------------------------------------------
// JUnit details the goldens do not show

TEST(JUnit, EmptyRunIsAnEmptySuite) {
  const std::string xml = format_junit({});
  EXPECT_NE(xml.find("<testsuite name=\"handlecheck\" tests=\"0\" failures=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("timestamp="), std::string::npos) << xml;  // no run: no run fields
  EXPECT_EQ(xml.find("hostname="), std::string::npos) << xml;
}

TEST(JUnit, ASuitePerSourceFileWithTheRunsTimestampAndHost) {
  std::vector<ScenarioRecord> records = sample_records();
  records.push_back(records[0]);
  records.back().name = "safehandle/no-file";
  records.back().file.clear();
  const std::string xml = format_junit(records, sample_run());
  // In the order the records first name them; the records without a file share one suite.
  const std::vector<std::string> suites = {
      "<testsuite name=\"scenarios/safehandle/dispose.cpp\" tests=\"2\" failures=\"0\" "
      "errors=\"0\" time=\"1.750\" skipped=\"0\" timestamp=\"2026-12-05T04:52:10\" "
      "hostname=\"ci-runner-7\" id=\"0\" package=\"safehandle\" "
      "file=\"scenarios/safehandle/dispose.cpp\">",
      "<testsuite name=\"scenarios/com/release &quot;on&quot; &lt;wrong&gt; thread.cpp\" "
      "tests=\"1\" "
      "failures=\"1\"",
      "<testsuite name=\"handlecheck\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"0.250\" "
      "skipped=\"0\" timestamp=\"2026-12-05T04:52:10\" hostname=\"ci-runner-7\" id=\"2\">"};
  std::size_t at = 0;
  for (const std::string& suite : suites) {
    const std::size_t found = xml.find(suite, at);
    ASSERT_NE(found, std::string::npos) << suite << "\nin\n" << xml;
    at = found;
  }
  // The whole run's counts on <testsuites>, which takes no `skipped`.
  EXPECT_NE(xml.find("<testsuites name=\"handlecheck\" tests=\"4\" failures=\"1\" errors=\"0\" "
                     "time=\"2.000\">"),
            std::string::npos)
      << xml;
}

TEST(JUnit, MissedBugFailsWithTypeCleanAndADefaultMessage) {
  ScenarioRecord r;
  r.name = "standalone";
  r.expected = "deadlock";
  r.verdict = "clean";
  r.executions = 10;
  r.seconds = 0.0004;  // rounds to 0.000
  const std::string xml = format_junit({r});
  EXPECT_NE(xml.find("<testcase classname=\"handlecheck\" name=\"standalone\" time=\"0.000\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"expected deadlock, got clean\" type=\"clean\">"),
            std::string::npos)
      << xml;
}

TEST(JUnit, ControlCharactersAndNonFiniteTimesStayValid) {
  ScenarioRecord r;
  r.name = "a/b";
  r.expected = "clean";
  r.verdict = "x";
  r.as_expected = false;
  r.explanation = std::string("bell\a\ttab\rcr");
  r.seconds = -1;
  const std::string xml = format_junit({r});
  EXPECT_NE(xml.find("message=\"bell\xEF\xBF\xBD&#9;tab&#13;cr\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("time=\"0.000\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\a'), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// JUnit against Jenkins' schema (tests/reports/junit-10.xsd), checked by xmllint

#ifndef HC_XMLLINT
#error "HC_XMLLINT must name xmllint, or be empty (see tests/reports/summary_test.cmake)"
#endif

// Runs xmllint on `xml` (written to `name` in the working directory) against the schema;
// returns its exit status and leaves what it said in *output.
int xmllint(const std::string& name, const std::string& xml, std::string* output) {
  {
    std::ofstream out(name, std::ios::binary | std::ios::trunc);
    out << xml;
  }
  const std::string log = name + ".log";
  const std::string command = fmt::format("'{}' --noout --schema '{}' '{}' > '{}' 2>&1", HC_XMLLINT,
                                          HC_JUNIT_XSD, name, log);
  const int status = std::system(command.c_str());
  bool found = false;
  *output = command + "\n" + read_file(log, &found);
  return status;
}

TEST(JUnitSchema, PassesFailuresFindingsAndPartialResultsAreValid) {
  ASSERT_STRNE(HC_XMLLINT, "") << "xmllint not found: install libxml2-utils (quickstart does)";
  std::vector<ScenarioRecord> records = sample_records();  // a pass, a finding, a failure
  ScenarioRecord partial = records[1];
  partial.name = "safehandle/raw-value-closed-directly";
  partial.partial = true;
  partial.explanation = "shard 1 of 2: this part decides nothing";
  partial.file = "scenarios/safehandle/raw_value_closed_directly.cpp";
  records.push_back(partial);
  ScenarioRecord missed = records[0];  // a failure without findings, no file, odd characters
  missed.name = "standalone";
  missed.expected = "deadlock";
  missed.verdict = "clean";
  missed.as_expected = false;
  missed.explanation = std::string("bell\a and \x01 in \"the\" <explanation> & more");
  missed.file.clear();
  missed.seconds = std::numeric_limits<double>::infinity();
  records.push_back(missed);
  const std::string xml = format_junit(records, sample_run());
  ASSERT_NE(xml.find("partial: shard 1 of 2"), std::string::npos) << xml;
  std::string output;
  EXPECT_EQ(xmllint("junit-schema-records.xml", xml, &output), 0) << output << "\n" << xml;
  // With a run record and without; and an empty run.
  EXPECT_EQ(xmllint("junit-schema-no-run.xml", format_junit(records), &output), 0) << output;
  EXPECT_EQ(xmllint("junit-schema-empty.xml", format_junit({}, sample_run()), &output), 0)
      << output;
}

TEST(JUnitSchema, TheSchemaRefusesWhatJenkinsRefuses) {
  // The check can fail: `skipped` on <testsuites> (what format_junit wrote before) and `file` on
  // <testcase> are refused.
  ASSERT_STRNE(HC_XMLLINT, "") << "xmllint not found: install libxml2-utils (quickstart does)";
  std::string output;
  EXPECT_NE(xmllint("junit-schema-skipped.xml",
                    "<testsuites name=\"handlecheck\" tests=\"0\" failures=\"0\" errors=\"0\" "
                    "skipped=\"0\" time=\"0.000\"/>\n",
                    &output),
            0);
  EXPECT_NE(output.find("attribute 'skipped': The attribute 'skipped' is not allowed"),
            std::string::npos)
      << output;
  EXPECT_NE(xmllint("junit-schema-testcase-file.xml",
                    "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">"
                    "<testcase name=\"t\" file=\"a.cpp\"/></testsuite></testsuites>\n",
                    &output),
            0);
  EXPECT_NE(output.find("attribute 'file'"), std::string::npos) << output;
}

// ---------------------------------------------------------------------------------------------
// Round trip

TEST(SummaryJson, RoundTrip) {
  std::vector<ScenarioRecord> records = sample_records();
  records[2].seconds = 1.0 / 3.0;  // not exactly representable in decimal
  std::string error;
  const auto parsed = parse_summary(summary_json(records), &error);
  ASSERT_TRUE(parsed) << error;
  expect_same(*parsed, records);
}

TEST(SummaryJson, RoundTripThroughText) {
  std::vector<ScenarioRecord> records = sample_records();
  records[0].seconds = 0.1;
  std::string error;
  const auto parsed = parse_summary(json::parse(summary_json(records).dump(2)), &error);
  ASSERT_TRUE(parsed) << error;
  expect_same(*parsed, records);
}

TEST(SummaryJson, TotalsAndNumberTypes) {
  const json s = summary_json(sample_records());
  EXPECT_EQ(s["format"], "handlecheck-summary");
  EXPECT_EQ(s["version"], 1);
  const json& t = s["totals"];
  EXPECT_EQ(t["scenarios"], 3);
  EXPECT_EQ(t["as_expected"], 2);
  EXPECT_EQ(t["unexpected"], 1);
  EXPECT_EQ(t["executions"], 1204 + 37 + 5000);
  EXPECT_EQ(t["pruned"], 96);
  EXPECT_EQ(t["findings"], 3);
  EXPECT_EQ(s["scenarios"][0]["pruned"], 96);
  EXPECT_EQ(s["scenarios"][1]["pruned"], 0);
  EXPECT_TRUE(s["scenarios"][0]["executions"].is_number_unsigned());
  EXPECT_TRUE(s["scenarios"][0]["seconds"].is_number_float());
}

// ---------------------------------------------------------------------------------------------
// Parse errors

std::string parse_error(const json& j) {
  std::string error;
  const auto parsed = parse_summary(j, &error);
  EXPECT_FALSE(parsed) << "parsed: " << j.dump();
  return error;
}

TEST(ParseSummary, NotAnObject) {
  EXPECT_EQ(parse_error(json::array()), "summary: expected a JSON object");
}

TEST(ParseSummary, UnknownFormat) {
  json s = summary_json(sample_records());
  s["format"] = "junit";
  EXPECT_EQ(parse_error(s), "format: unknown format \"junit\" (expected \"handlecheck-summary\")");
}

TEST(ParseSummary, Version2) {
  json s = summary_json(sample_records());
  s["version"] = 2;
  EXPECT_EQ(parse_error(s), "version: unsupported version 2 (only version 1 is known)");
  s["version"] = "1";
  EXPECT_EQ(parse_error(s), "version: expected an integer");
}

TEST(ParseSummary, MissingField) {
  json s = summary_json(sample_records());
  s["scenarios"][1].erase("strategy");
  EXPECT_EQ(parse_error(s), "scenarios[1].strategy: missing");

  json t = summary_json(sample_records());
  t.erase("totals");
  EXPECT_EQ(parse_error(t), "totals: missing");

  json u = summary_json(sample_records());
  u.erase("format");
  EXPECT_EQ(parse_error(u), "format: missing");

  json v = summary_json(sample_records());
  v["scenarios"][2]["findings"][1].erase("replay_command");
  EXPECT_EQ(parse_error(v), "scenarios[2].findings[1].replay_command: missing");
}

TEST(ParseSummary, WrongTypes) {
  json s = summary_json(sample_records());
  s["scenarios"][2]["executions"] = "5000";
  EXPECT_EQ(parse_error(s), "scenarios[2].executions: expected a number");

  json t = summary_json(sample_records());
  t["scenarios"][0]["executions"] = -3;
  EXPECT_EQ(parse_error(t), "scenarios[0].executions: expected a non-negative integer");

  json u = summary_json(sample_records());
  u["scenarios"] = json::object();
  EXPECT_EQ(parse_error(u), "scenarios: expected an array");

  json v = summary_json(sample_records());
  v["scenarios"][1]["findings"][0]["kind"] = 7;
  EXPECT_EQ(parse_error(v), "scenarios[1].findings[0].kind: expected a string");

  json w = summary_json(sample_records());
  w["scenarios"][0]["exhausted"] = 1;
  EXPECT_EQ(parse_error(w), "scenarios[0].exhausted: expected a boolean");

  json p = summary_json(sample_records());
  p["scenarios"][0]["pruned"] = "96";
  EXPECT_EQ(parse_error(p), "scenarios[0].pruned: expected a number");

  json x = summary_json(sample_records());
  x["totals"]["findings"] = nullptr;
  EXPECT_EQ(parse_error(x), "totals.findings: expected a number");

  json y = summary_json(sample_records());
  y["scenarios"][0] = "safehandle/dispose-then-release";
  EXPECT_EQ(parse_error(y), "scenarios[0]: expected an object");
}

TEST(ParseSummary, CoverageIsOptional) {
  // A summary from before coverage existed: no "coverage" field at all.
  json s = summary_json(sample_records());
  for (json& scenario : s["scenarios"])
    scenario.erase("coverage");
  std::string error;
  const auto parsed = parse_summary(s, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_TRUE((*parsed)[0].covered_pairs.empty());
  EXPECT_TRUE((*parsed)[0].one_order_pairs.empty());
}

TEST(ParseSummary, CoverageErrors) {
  json s = summary_json(sample_records());
  s["scenarios"][0]["coverage"] = json::array();
  EXPECT_EQ(parse_error(s), "scenarios[0].coverage: expected an object");

  json t = summary_json(sample_records());
  t["scenarios"][0]["coverage"].erase("one_order");
  EXPECT_EQ(parse_error(t), "scenarios[0].coverage.one_order: missing");

  json u = summary_json(sample_records());
  u["scenarios"][0]["coverage"]["both_orders"][1] = 3;
  EXPECT_EQ(parse_error(u), "scenarios[0].coverage.both_orders[1]: expected a string");

  json v = summary_json(sample_records());
  v["scenarios"][0]["coverage"]["one_order"][0] = "Dispose <> DangerousGetHandle";
  EXPECT_EQ(parse_error(v),
            "scenarios[0].coverage.one_order[0]: expected \"A -> B\", got \"Dispose <> "
            "DangerousGetHandle\"");
}

TEST(ParseSummary, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(parse_summary(json::object(), nullptr));
}

// ---------------------------------------------------------------------------------------------
// Merge

ScenarioRecord record(std::string name, std::string expected, std::string strategy,
                      std::uint64_t executions, bool exhausted, double seconds,
                      std::vector<FindingRecord> findings) {
  ScenarioRecord r;
  r.name = std::move(name);
  r.expected = std::move(expected);
  r.strategy = std::move(strategy);
  r.executions = executions;
  r.exhausted = exhausted;
  r.seconds = seconds;
  r.findings = std::move(findings);
  r.verdict = r.findings.empty() ? "clean" : r.findings.front().kind;
  r.as_expected = r.expected == "clean" ? r.findings.empty() : !r.findings.empty();
  if (!r.as_expected) r.explanation = "shard explanation";
  return r;
}

const FindingRecord kF1 = finding("use-after-finalize", "finalizer ran, then T1 used it",
                                  "uaf@gc.cpp:10", "a/f1.json", "handlecheck replay a/f1.json");
const FindingRecord kF2 = finding("stale-handle-use", "stale 0x4", "stale@table.cpp:5");
const FindingRecord kF3a = finding("double-close", "closed twice", "dc@table.cpp:9", "a/f3.json",
                                   "handlecheck replay a/f3.json");
const FindingRecord kF3b = finding("double-close", "closed twice (shard B)", "dc@table.cpp:9",
                                   "b/f3.json", "handlecheck replay b/f3.json");
const FindingRecord kF4 = finding("use-after-free", "freed", "uaf@com.cpp:3");

// Shard A and B ran the same two scenarios (and B one more), in different orders.
json shard_a() {
  return summary_json({
      record("gc/resurrect", "use-after-finalize", "random", 100, false, 0.5, {}),
      record("table/close-race", "clean", "dfs", 40, true, 0.25, {kF2, kF3a}),
  });
}

json shard_b() {
  return summary_json({
      record("table/close-race", "clean", "random", 60, false, 0.5, {kF3b, kF4}),
      record("gc/resurrect", "use-after-finalize", "random", 50, false, 1.0, {kF1}),
      record("posix/fd-reuse", "clean", "dfs", 7, true, 0.125, {}),
  });
}

TEST(MergeSummaries, ShardsAddUpAndFindingsUnite) {
  std::string error;
  const auto merged = merge_summaries({shard_a(), shard_b()}, &error);
  ASSERT_TRUE(merged) << error;
  const auto records = parse_summary(*merged, &error);
  ASSERT_TRUE(records) << error;
  ASSERT_EQ(records->size(), 3u);

  // Sorted by name.
  const ScenarioRecord& gc = (*records)[0];
  const ScenarioRecord& posix = (*records)[1];
  const ScenarioRecord& table = (*records)[2];
  EXPECT_EQ(gc.name, "gc/resurrect");
  EXPECT_EQ(posix.name, "posix/fd-reuse");
  EXPECT_EQ(table.name, "table/close-race");

  // Shard A clean + shard B found the expected bug: merged as expected.
  EXPECT_EQ(gc.executions, 150u);
  EXPECT_EQ(gc.seconds, 1.5);
  EXPECT_FALSE(gc.exhausted);
  EXPECT_EQ(gc.strategy, "random");
  EXPECT_EQ(gc.verdict, "use-after-finalize");
  EXPECT_TRUE(gc.as_expected);
  EXPECT_EQ(gc.explanation, "");
  ASSERT_EQ(gc.findings.size(), 1u);
  expect_same(gc.findings[0], kF1);

  // Only in shard B: as it was.
  EXPECT_EQ(posix.executions, 7u);
  EXPECT_TRUE(posix.exhausted);
  EXPECT_EQ(posix.strategy, "dfs");
  EXPECT_TRUE(posix.as_expected);
  EXPECT_EQ(posix.verdict, "clean");

  // Overlapping findings: united by signature, the first occurrence (shard A's) kept.
  EXPECT_EQ(table.executions, 100u);
  EXPECT_EQ(table.seconds, 0.75);
  EXPECT_FALSE(table.exhausted);  // B did not exhaust
  EXPECT_EQ(table.strategy, "mixed");
  ASSERT_EQ(table.findings.size(), 3u);
  expect_same(table.findings[0], kF2);
  expect_same(table.findings[1], kF3a);
  expect_same(table.findings[2], kF4);
  EXPECT_EQ(table.verdict, "stale-handle-use");
  EXPECT_FALSE(table.as_expected);
  EXPECT_EQ(table.explanation, "expected clean, found 3 findings (first: stale-handle-use)");

  const json& t = (*merged)["totals"];
  EXPECT_EQ(t["scenarios"], 3);
  EXPECT_EQ(t["as_expected"], 2);
  EXPECT_EQ(t["unexpected"], 1);
  EXPECT_EQ(t["executions"], 150 + 7 + 100);
  EXPECT_EQ(t["findings"], 4);
}

// Pruned executions (sleep-set blocked, cut short) add up like executions; a summary written
// before they were recorded has none.
TEST(MergeSummaries, PrunedExecutionsAddUp) {
  ScenarioRecord a = record("classic/lastzero", "clean", "dpor", 32, true, 0.5, {});
  a.pruned = 2792;
  ScenarioRecord b = record("classic/lastzero", "clean", "dpor", 496, true, 0.5, {});
  b.pruned = 6275;
  json older = summary_json({record("classic/lastzero", "clean", "dpor", 176, true, 0.5, {})});
  older["scenarios"][0].erase("pruned");
  older["totals"].erase("pruned");
  std::string error;
  const auto read_older = parse_summary(older, &error);
  ASSERT_TRUE(read_older) << error;
  EXPECT_EQ((*read_older)[0].pruned, 0u);

  const auto merged = merge_summaries({summary_json({a}), summary_json({b}), older}, &error);
  ASSERT_TRUE(merged) << error;
  const auto records = parse_summary(*merged, &error);
  ASSERT_TRUE(records) << error;
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].executions, 32u + 496u + 176u);
  EXPECT_EQ((*records)[0].pruned, 2792u + 6275u);
  EXPECT_EQ((*merged)["totals"]["pruned"], 2792 + 6275);
}

TEST(MergeSummaries, CoverageUnites) {
  ScenarioRecord a = record("table/close-race", "clean", "dfs", 40, true, 0.25, {});
  a.covered_pairs = {"CloseHandle <> WriteFile"};
  a.one_order_pairs = {"CloseHandle -> DuplicateHandle", "create -> CloseHandle",
                       "open -> CloseHandle"};
  ScenarioRecord b = record("table/close-race", "clean", "dfs", 60, true, 0.5, {});
  b.covered_pairs = {"CloseHandle <> WriteFile", "ReadFile <> create"};
  b.one_order_pairs = {"CloseHandle -> open", "DuplicateHandle -> create"};
  ScenarioRecord old = record("table/close-race", "clean", "dfs", 1, true, 0, {});
  json old_summary = summary_json({old});
  old_summary["scenarios"][0].erase("coverage");  // a summary from before coverage

  std::string error;
  const auto merged = merge_summaries({summary_json({a}), summary_json({b}), old_summary}, &error);
  ASSERT_TRUE(merged) << error;
  const auto records = parse_summary(*merged, &error);
  ASSERT_TRUE(records) << error;
  ASSERT_EQ(records->size(), 1u);
  const ScenarioRecord& m = (*records)[0];
  // open -> CloseHandle in A and CloseHandle -> open in B: covered in the merge.
  EXPECT_EQ(m.covered_pairs,
            (std::vector<std::string>{"CloseHandle <> WriteFile", "CloseHandle <> open",
                                      "ReadFile <> create"}));
  EXPECT_EQ(m.one_order_pairs,
            (std::vector<std::string>{"CloseHandle -> DuplicateHandle", "DuplicateHandle -> create",
                                      "create -> CloseHandle"}));

  // Merging the merge alone changes nothing.
  const auto again = merge_summaries({*merged}, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->dump(2), merged->dump(2));
}

TEST(MergeSummaries, AGoalCoveredAcrossShardsIsNoLongerAFinding) {
  // Each shard saw one order of open / CloseHandle, so each reported its must_cover goal
  // unreached; together they saw both.
  const FindingRecord unreached = finding("unreached", "'open <> CloseHandle' was never covered",
                                          "unreached|cover|open <> CloseHandle");
  const FindingRecord other = finding("unreached", "'Dispose <> open' was never covered",
                                      "unreached|cover|Dispose <> open");
  ScenarioRecord a = record("table/close-race", "clean", "dfs", 40, false, 0, {unreached, other});
  a.one_order_pairs = {"open -> CloseHandle"};
  ScenarioRecord b = record("table/close-race", "clean", "dfs", 60, false, 0, {unreached});
  b.one_order_pairs = {"CloseHandle -> open"};
  std::string error;
  auto merged = merge_summaries({summary_json({a}), summary_json({b})}, &error);
  ASSERT_TRUE(merged) << error;
  auto records = parse_summary(*merged, &error);
  ASSERT_TRUE(records) << error;
  const ScenarioRecord& m = (*records)[0];
  EXPECT_EQ(m.covered_pairs, std::vector<std::string>{"CloseHandle <> open"});
  ASSERT_EQ(m.findings.size(), 1u);  // the goal still not covered stays
  EXPECT_EQ(m.findings[0].signature, "unreached|cover|Dispose <> open");
  EXPECT_FALSE(m.as_expected);

  a.findings = {unreached};
  merged = merge_summaries({summary_json({a}), summary_json({b})}, &error);
  ASSERT_TRUE(merged) << error;
  records = parse_summary(*merged, &error);
  ASSERT_TRUE(records) << error;
  EXPECT_TRUE((*records)[0].findings.empty());
  EXPECT_TRUE((*records)[0].as_expected);
  EXPECT_EQ((*records)[0].verdict, "clean");
}

TEST(MergeSummaries, RecomputesExplanations) {
  std::string error;
  // Expected a bug no shard found.
  auto merged =
      merge_summaries({summary_json({record("x/missed", "deadlock", "dfs", 3, true, 0, {})}),
                       summary_json({record("x/missed", "deadlock", "dfs", 1, true, 0, {})})},
                      &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ((*merged)["scenarios"][0]["explanation"],
            "expected deadlock, found no finding in 4 "
            "executions");
  EXPECT_EQ((*merged)["scenarios"][0]["exhausted"], true);

  // Expected a bug, found only others.
  merged = merge_summaries(
      {summary_json({record("x/other", "deadlock", "dfs", 3, false, 0, {kF4, kF2})})}, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ((*merged)["scenarios"][0]["as_expected"], false);
  EXPECT_EQ((*merged)["scenarios"][0]["explanation"],
            "expected deadlock, found only stale-handle-use, use-after-free");
}

// A scenario that expects one of several kinds (hc::expect_any) is as expected after a merge
// when a shard found any of them, and not when the shards found only other kinds.
TEST(MergeSummaries, AnExpectationOfSeveralKindsAcceptsEachOfThem) {
  std::string error;
  const FindingRecord blocked = finding("finalizer-blocked", "blocked", "fb@x.cpp:1");
  const FindingRecord deadlock = finding("deadlock", "stuck", "deadlock|x");
  for (const FindingRecord& found : {blocked, deadlock}) {
    const auto merged = merge_summaries(
        {summary_json({record("x/any", "deadlock or finalizer-blocked", "dfs", 3, false, 0, {})}),
         summary_json(
             {record("x/any", "deadlock or finalizer-blocked", "dfs", 2, false, 0, {found})})},
        &error);
    ASSERT_TRUE(merged) << error;
    EXPECT_EQ((*merged)["scenarios"][0]["as_expected"], true) << found.kind;
    EXPECT_EQ((*merged)["scenarios"][0]["verdict"], found.kind);
  }
  const auto three =
      merge_summaries({summary_json({record("x/three", "livelock, deadlock or finalizer-blocked",
                                            "dfs", 3, false, 0, {deadlock})})},
                      &error);
  ASSERT_TRUE(three) << error;
  EXPECT_EQ((*three)["scenarios"][0]["as_expected"], true);
  const auto other = merge_summaries(
      {summary_json(
          {record("x/other", "deadlock or finalizer-blocked", "dfs", 3, false, 0, {kF2})})},
      &error);
  ASSERT_TRUE(other) << error;
  EXPECT_EQ((*other)["scenarios"][0]["as_expected"], false);
  EXPECT_EQ((*other)["scenarios"][0]["explanation"],
            "expected deadlock or finalizer-blocked, found only stale-handle-use");
}

TEST(MergeSummaries, IsIdempotentOnItsOwnOutput) {
  std::string error;
  const auto once = merge_summaries({shard_a(), shard_b()}, &error);
  ASSERT_TRUE(once) << error;
  const auto twice = merge_summaries({*once}, &error);
  ASSERT_TRUE(twice) << error;
  EXPECT_EQ(once->dump(2), twice->dump(2));
}

TEST(MergeSummaries, NoSummariesIsAnEmptyRun) {
  std::string error;
  const auto merged = merge_summaries({}, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ(*merged, summary_json({}));
}

TEST(MergeSummaries, ConflictingExpectationsAreAnError) {
  std::string error;
  const auto merged = merge_summaries(
      {shard_a(), summary_json({record("gc/resurrect", "clean", "random", 1, false, 0, {})})},
      &error);
  EXPECT_FALSE(merged);
  EXPECT_EQ(error,
            "scenario \"gc/resurrect\": summaries[0] expects \"use-after-finalize\" but "
            "summaries[1] expects \"clean\"");
}

TEST(MergeSummaries, MalformedShardIsAnError) {
  json bad = shard_b();
  bad["version"] = 2;
  std::string error;
  EXPECT_FALSE(merge_summaries({shard_a(), bad}, &error));
  EXPECT_EQ(error, "summaries[1]: version: unsupported version 2 (only version 1 is known)");
}

// ---------------------------------------------------------------------------------------------
// Shards: only a complete set of one run merges

/// Shard `index` (0-based) of `count`, of a run with `options`: one scenario that expects a
/// deadlock, found (with a goal "reached" unmet) only in shard 0.
json shard(std::uint32_t index, std::uint32_t count, std::vector<std::string> options = {"--all"}) {
  ScenarioRecord r;
  r.name = "com/destructor-lock-order-deadlock";
  r.expected = "deadlock";
  r.strategy = "dfs";
  r.executions = 10 + index;
  r.exhausted = true;
  r.partial = index != 0;
  r.as_expected = true;
  r.verdict = index == 0 ? "deadlock" : "clean";
  if (index == 0) {
    r.findings.push_back({"deadlock", "two threads wait", "deadlock|ab", "", ""});
  } else {
    r.findings.push_back(
        {"unreached", "'released' was never reached", "unreached|released", "", ""});
  }
  RunRecord run;
  run.version = "0.1.0";
  run.options = std::move(options);
  run.shard_index = index;
  run.shard_count = count;
  run.host = fmt::format("node{}", index);
  run.started = fmt::format("2026-12-05T0{}:00:00Z", 9 - index);
  return summary_json({r}, run);
}

TEST(MergeShards, ACompleteSetDecides) {
  std::string error;
  const auto merged = merge_summaries({shard(0, 3), shard(1, 3), shard(2, 3)}, &error);
  ASSERT_TRUE(merged) << error;
  const json& s = (*merged)["scenarios"][0];
  EXPECT_EQ(s["executions"], 10 + 11 + 12);
  EXPECT_EQ(s["partial"], false);  // the parts make the whole
  EXPECT_EQ(s["exhausted"], true);
  EXPECT_EQ(s["as_expected"], true);
  EXPECT_EQ(s["verdict"], "deadlock");
  // Shard 0 reached the goal (it has no unreached finding for it): the merge has none either.
  ASSERT_EQ(s["findings"].size(), 1u) << s.dump(2);
  EXPECT_EQ(s["findings"][0]["kind"], "deadlock");
  const json& run = (*merged)["run"];
  EXPECT_EQ(run["merged"], 3);
  EXPECT_EQ(run["shard"]["count"], 1);
  EXPECT_EQ(run["started"], "2026-12-05T07:00:00Z");  // the earliest
  EXPECT_EQ(run["host"], "node0, node1, node2");
  EXPECT_EQ((*merged)["totals"]["partial"], 0);
}

// The merged verdict is the unsharded run's: the first finding a sequential search meets, by
// (unit, unit_execution), whichever shard found it; a finding two shards both found is kept
// where the search meets it first. Before, findings came in shard order: a keep-going run of
// safehandle/close-while-waiting merged to close-while-waiting where one run said
// invalid-handle-use (cli:scale).
TEST(MergeShards, FindingsAreInTheOrderOneRunMeetsThem) {
  auto part = [](std::uint32_t index, std::vector<FindingRecord> findings) {
    ScenarioRecord r;
    r.name = "safehandle/close-while-waiting";
    r.expected = "close-while-waiting or invalid-handle-use";
    r.strategy = "dfs";
    r.executions = 100;
    r.exhausted = true;
    r.partial = true;
    r.verdict = findings.empty() ? "clean" : findings.front().kind;
    r.findings = std::move(findings);
    RunRecord run;
    run.version = "0.1.0";
    run.options = {"--all", "--keep-going"};
    run.shard_index = index;
    run.shard_count = 2;
    run.host = "node";
    run.started = "2026-12-05T09:00:00Z";
    return summary_json({r}, run);
  };
  FindingRecord wait = finding("close-while-waiting", "closed while 'worker' waits", "cww|a");
  wait.unit = 7;
  wait.unit_execution = 2;
  FindingRecord late_use = finding("invalid-handle-use", "used after close", "ihu|a");
  late_use.unit = 9;
  FindingRecord use = late_use;
  use.unit = 4;
  use.unit_execution = 30;
  std::string error;
  const auto merged = merge_summaries({part(0, {wait, late_use}), part(1, {use})}, &error);
  ASSERT_TRUE(merged) << error;
  const json& s = (*merged)["scenarios"][0];
  EXPECT_EQ(s["verdict"], "invalid-handle-use") << s.dump(2);
  ASSERT_EQ(s["findings"].size(), 2u) << s.dump(2);
  EXPECT_EQ(s["findings"][0]["unit"], 4);  // shard 1's, met before shard 0's unit 9
  EXPECT_EQ(s["findings"][0]["unit_execution"], 30);
  EXPECT_EQ(s["findings"][1]["kind"], "close-while-waiting");
}

TEST(MergeShards, AMissingShardIsRefused) {
  std::string error;
  EXPECT_FALSE(merge_summaries({shard(0, 3), shard(2, 3)}, &error, {"s1.json", "s3.json"}));
  EXPECT_EQ(error,
            "shard 2 of 3 is missing: a merge needs every shard of the run (got 2 of 3); a "
            "partial set decides no verdict");
  EXPECT_FALSE(merge_summaries({shard(1, 4)}, &error));
  EXPECT_EQ(error,
            "shards 1, 3, 4 of 4 are missing: a merge needs every shard of the run (got 1 of "
            "4); a partial set decides no verdict");
}

TEST(MergeShards, ADuplicatedShardIsRefused) {
  std::string error;
  EXPECT_FALSE(merge_summaries({shard(0, 2), shard(1, 2), shard(1, 2)}, &error,
                               {"a.json", "b.json", "c.json"}));
  EXPECT_EQ(error, "shard 2 of 2 appears 2 times ('b.json', 'c.json'): pass each shard once");
}

TEST(MergeShards, ShardsOfDifferentRunsAreRefused) {
  std::string error;
  EXPECT_FALSE(merge_summaries({shard(0, 2), shard(1, 2, {"--all", "--strategy=dpor"})}, &error,
                               {"a.json", "b.json"}));
  EXPECT_EQ(error,
            "'b.json' ran with options \"--all --strategy=dpor\", but 'a.json' with \"--all\": "
            "the shards of one run share their options");
  EXPECT_FALSE(merge_summaries({shard(0, 2), shard(1, 3)}, &error, {"a.json", "b.json"}));
  EXPECT_EQ(error,
            "'b.json' is shard 2 of 3, but 'a.json' is shard 1 of 2: merge the shards of "
            "one run only");
  EXPECT_FALSE(merge_summaries({shard(0, 2), summary_json(sample_records())}, &error));
  EXPECT_EQ(error,
            "summaries[1] is not a shard (no \"run\" record), but summaries[0] is shard 1 of 2: "
            "merge the shards of one run only");
}

TEST(MergeShards, AnInterruptedShardLeavesThePartsPartial) {
  json interrupted = shard(0, 2);
  interrupted["run"]["interrupted"] = true;
  interrupted["scenarios"][0]["findings"] = json::array();  // stopped before its finding
  std::string error;
  const auto merged = merge_summaries({interrupted, shard(1, 2)}, &error);
  ASSERT_TRUE(merged) << error;
  const json& s = (*merged)["scenarios"][0];
  EXPECT_EQ(s["partial"], true);
  EXPECT_EQ(s["exhausted"], false);
  EXPECT_EQ(s["as_expected"], true);  // nothing unexpected; but no verdict either
  EXPECT_EQ((*merged)["run"]["interrupted"], true);
  EXPECT_EQ((*merged)["totals"]["partial"], 1);
}

TEST(ParseSummary, RunRecordRoundTrip) {
  std::optional<RunRecord> run;
  std::string error;
  ASSERT_TRUE(parse_summary(shard(2, 3), &error, &run)) << error;
  ASSERT_TRUE(run);
  EXPECT_EQ(run->shard_index, 2u);
  EXPECT_EQ(run->shard_count, 3u);
  EXPECT_EQ(run->options, std::vector<std::string>{"--all"});
  EXPECT_EQ(run->host, "node2");
  json bad = shard(0, 3);
  bad["run"]["shard"]["index"] = 4;
  EXPECT_FALSE(parse_summary(bad, &error, &run));
  EXPECT_EQ(error, "run.shard: index 4 of count 3: expected 1 <= index <= count");
}

// --- writing files ---------------------------------------------------------------------------

/// The file's inode and its modification time, after setting the time far in the past: a file
/// written again gets another inode (renamed over) and the time of now.
struct FileMark {
  ino_t inode = 0;
  std::int64_t mtime = 0;
};
FileMark now_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return FileMark{st.st_ino, st.st_mtim.tv_sec};
}
FileMark mark_old(const std::string& path) {
  const timespec old[2] = {{1000, 0}, {1000, 0}};
  EXPECT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0) << path;
  return now_of(path);
}
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WriteFile, TheSameTextAgainLeavesTheFileAsItIs) {
  const std::string dir = ::testing::TempDir() + "hc-write-file";
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/report.txt";
  hc::write_file_atomically(path, "first text\n");
  const FileMark before = mark_old(path);
  const FileMark dir_before = mark_old(dir);
  hc::write_file_atomically(path, "first text\n");  // what a CI job's next build writes
  const FileMark same = now_of(path);
  EXPECT_EQ(same.inode, before.inode);
  EXPECT_EQ(same.mtime, before.mtime) << "the file was written again";
  EXPECT_EQ(now_of(dir).mtime, dir_before.mtime) << "a temporary file was made beside it";
  hc::write_file_atomically(path, "first texT\n");  // the same size, another text
  EXPECT_EQ(read_text(path), "first texT\n");
  EXPECT_NE(now_of(path).mtime, before.mtime);
  hc::write_file_atomically(path, "a longer second text\n");
  EXPECT_EQ(read_text(path), "a longer second text\n");
  std::filesystem::remove_all(dir);
}

TEST(WriteFile, TheSameReproducerAgainKeepsItsReplayFile) {
  const std::string dir = ::testing::TempDir() + "hc-write-replay";
  std::filesystem::remove_all(dir);
  const hc::Result r = hc::explore(hc::test::lost_update, {});
  ASSERT_FALSE(r.findings.empty());
  ReplayFile file = make_replay_file("engine/lost-update", {}, r.findings.front());
  std::string error;
  const std::string path = write_replay_file(dir, file, &error);
  ASSERT_FALSE(path.empty()) << error;
  const FileMark before = mark_old(path);
  const FileMark dir_before = mark_old(dir);
  EXPECT_EQ(write_replay_file(dir, file, &error), path) << error;
  EXPECT_EQ(now_of(path).mtime, before.mtime) << "the replay file was written again";
  EXPECT_EQ(now_of(path).inode, before.inode);
  EXPECT_EQ(now_of(dir).mtime, dir_before.mtime)
      << "a temporary copy was written (and flushed to disk) to find the file there already";
  // Another reproducer under the same name (the same kind and signature, found in another
  // execution) gets the next free name, and the first stays.
  ++file.execution;
  const std::string second = write_replay_file(dir, file, &error);
  ASSERT_FALSE(second.empty()) << error;
  EXPECT_NE(second, path);
  EXPECT_TRUE(second.ends_with("-2.json")) << second;
  EXPECT_EQ(now_of(path).mtime, before.mtime);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hc::reports

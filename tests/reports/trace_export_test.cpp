// The trace export (--trace-format perfetto): Chrome Trace Event JSON, checked against the
// Trace Event Format's rules by a small validator (below), and for its content on real findings:
// a track per thread named as in the scenario, a slice per step at ts = its step number, the
// finding's step marked, flow arrows from the steps it refers to, a deadlock's blocked
// operations and wait-for arrows. Then as a user runs it: `handlecheck run ... --trace-format
// perfetto` from a fresh directory with relative paths, a bad value, $HC_TRACE_FORMAT.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/hc.hpp"
#include "hc/reports/trace_export.hpp"
#include "test_support.hpp"

#ifndef HC_HANDLECHECK
#error "HC_HANDLECHECK: the handlecheck executable (set by tests/CMakeLists.txt)"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// --- the validator ---------------------------------------------------------------------------
// The rules of the Trace Event Format (the "JSON Object Format"; the document Chrome's
// trace viewer and Perfetto's JSON importer follow) that a handlecheck trace must keep:
//  R1 the document is an object with a "traceEvents" array; "displayTimeUnit", if present, is
//     "ms" or "ns"; "otherData", if present, is an object;
//  R2 every event is an object with a string "name", a string "ph" among the phases used here
//     (X complete, M metadata, i instant, s/f flow start/finish), integer "pid" and "tid"
//     >= 0; "cat", if present, a string; "args", if present, an object;
//  R3 X events have numeric "ts" >= 0 and "dur" >= 0;
//  R4 i events have numeric "ts" and a scope "s" among g, p, t;
//  R5 M events are process_name / thread_name (args.name a string) or process_sort_index /
//     thread_sort_index (args.sort_index an integer);
//  R6 s and f events have numeric "ts", an integer or string "id" and a string "cat"; "bp",
//     if present, is "e"; per (cat, id) exactly one s and one f, with one name, s.ts <= f.ts;
//     each lies inside an X slice of its own (pid, tid) (ts <= t < ts + dur), the slice the
//     viewer binds the arrow to;
//  R7 every (pid, tid) with an X event has exactly one thread_name;
//  R8 the X slices of one thread are disjoint or nested, never partly overlapping.
// Returns the broken rules, one line each (empty: valid).
std::vector<std::string> validate_trace(const json& doc) {
  std::vector<std::string> errors;
  auto fail = [&](const std::string& rule, const std::string& what) {
    errors.push_back(rule + ": " + what);
  };
  if (!doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array()) {
    fail("R1", "no traceEvents array");
    return errors;
  }
  if (doc.contains("displayTimeUnit") && doc["displayTimeUnit"] != "ms" &&
      doc["displayTimeUnit"] != "ns")
    fail("R1", "displayTimeUnit " + doc["displayTimeUnit"].dump());
  if (doc.contains("otherData") && !doc["otherData"].is_object()) fail("R1", "otherData");

  using Track = std::pair<long long, long long>;
  struct Slice {
    double ts, end;
  };
  std::map<Track, std::vector<Slice>> slices;
  std::map<Track, int> thread_names;
  struct FlowEnd {
    std::string name;
    double ts;
    Track track;
  };
  std::map<std::pair<std::string, std::string>, std::vector<FlowEnd>> starts, finishes;
  const std::set<std::string> phases = {"X", "M", "i", "s", "f"};
  for (std::size_t i = 0; i < doc["traceEvents"].size(); ++i) {
    const json& e = doc["traceEvents"][i];
    const std::string at = "event " + std::to_string(i) + " " + e.dump();
    if (!e.is_object()) {
      fail("R2", at + " is not an object");
      continue;
    }
    const std::size_t errors_before = errors.size();
    if (!e.contains("name") || !e["name"].is_string()) fail("R2", at + ": name");
    if (!e.contains("ph") || !e["ph"].is_string() || !phases.contains(e["ph"].get<std::string>()))
      fail("R2", at + ": ph");
    for (const char* id : {"pid", "tid"}) {
      if (!e.contains(id) || !e[id].is_number_integer() || e[id].get<long long>() < 0)
        fail("R2", at + ": " + id);
    }
    if (e.contains("cat") && !e["cat"].is_string()) fail("R2", at + ": cat");
    if (e.contains("args") && !e["args"].is_object()) fail("R2", at + ": args");
    if (errors.size() != errors_before) continue;  // the rules below need these fields
    const std::string ph = e["ph"];
    const Track track{e["pid"].get<long long>(), e["tid"].get<long long>()};
    auto number = [&](const char* key) { return e.contains(key) && e[key].is_number(); };
    if (ph == "X") {
      if (!number("ts") || e["ts"].get<double>() < 0 || !number("dur") ||
          e["dur"].get<double>() < 0) {
        fail("R3", at);
        continue;
      }
      slices[track].push_back(
          {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
    } else if (ph == "i") {
      if (!number("ts") || !e.contains("s") ||
          !std::set<std::string>{"g", "p", "t"}.contains(e["s"].get<std::string>()))
        fail("R4", at);
    } else if (ph == "M") {
      const std::string name = e["name"];
      const json args = e.value("args", json::object());
      if (name == "process_name" || name == "thread_name") {
        if (!args.contains("name") || !args["name"].is_string()) fail("R5", at);
        if (name == "thread_name") ++thread_names[track];
      } else if (name == "process_sort_index" || name == "thread_sort_index") {
        if (!args.contains("sort_index") || !args["sort_index"].is_number_integer()) fail("R5", at);
      } else {
        fail("R5", at + ": unknown metadata");
      }
    } else {  // s, f
      if (!number("ts") || !e.contains("id") ||
          !(e["id"].is_number_integer() || e["id"].is_string()) || !e.contains("cat")) {
        fail("R6", at);
        continue;
      }
      if (ph == "f" && e.contains("bp") && e["bp"] != "e") fail("R6", at + ": bp");
      auto& ends = ph == "s" ? starts : finishes;
      ends[{e["cat"].get<std::string>(), e["id"].dump()}].push_back(
          {e["name"].get<std::string>(), e["ts"].get<double>(), track});
    }
  }
  auto enclosed = [&](const FlowEnd& end) {
    for (const Slice& s : slices[end.track]) {
      if (s.ts <= end.ts && end.ts < s.end) return true;
    }
    return false;
  };
  for (const auto& [key, s] : starts) {
    const auto f = finishes.find(key);
    if (s.size() != 1 || f == finishes.end() || f->second.size() != 1) {
      fail("R6", "flow " + key.first + "/" + key.second + " does not pair one s with one f");
      continue;
    }
    const FlowEnd& a = s.front();
    const FlowEnd& b = f->second.front();
    if (a.name != b.name) fail("R6", "flow " + key.second + " changes its name");
    if (a.ts > b.ts) fail("R6", "flow " + key.second + " finishes before it starts");
    if (!enclosed(a) || !enclosed(b)) fail("R6", "flow " + key.second + " outside a slice");
  }
  for (const auto& [key, f] : finishes) {
    if (!starts.contains(key)) fail("R6", "flow " + key.second + " finishes without a start");
  }
  for (const auto& [track, list] : slices) {
    if (thread_names[track] != 1)
      fail("R7", "tid " + std::to_string(track.second) + " has " +
                     std::to_string(thread_names[track]) + " thread_name events");
    for (const Slice& a : list) {
      for (const Slice& b : list) {
        const bool disjoint = a.end <= b.ts || b.end <= a.ts;
        const bool nested = (a.ts <= b.ts && b.end <= a.end) || (b.ts <= a.ts && a.end <= b.end);
        if (!disjoint && !nested)
          fail("R8", "slices overlap on tid " + std::to_string(track.second));
      }
    }
  }
  return errors;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines)
    out += l + "\n";
  return out;
}

/// The first finding of scenario `name` under dfs.
hc::Finding finding_of(const std::string& name) {
  const hc::Scenario* s = hc::find_scenario(name);
  if (s == nullptr) throw std::runtime_error("missing scenario " + name);
  hc::OptionOverrides ov;
  ov.set(&hc::RunSettings::strategy, "dfs");
  const hc::ScenarioOutcome outcome = hc::run_scenario(*s, hc::options_for(*s, ov));
  if (outcome.result.findings.empty()) throw std::runtime_error(name + " found nothing");
  return outcome.result.findings.front();
}

json trace_of(const std::string& scenario, const hc::Finding& f) {
  return json::parse(
      hc::reports::format_perfetto_trace({scenario, "dfs", f, "handlecheck replay x"}));
}

std::vector<json> events(const json& doc, const std::string& ph, const std::string& name = "") {
  std::vector<json> out;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == ph && (name.empty() || e["name"] == name)) out.push_back(e);
  }
  return out;
}

/// tid -> the thread_name the trace gives it.
std::map<long long, std::string> thread_names(const json& doc) {
  std::map<long long, std::string> out;
  for (const json& e : events(doc, "M", "thread_name"))
    out[e["tid"].get<long long>()] = e["args"]["name"].get<std::string>();
  return out;
}

// The validator itself fails what it must: each rule broken once.
TEST(TraceExport, TheValidatorRejectsBrokenTraces) {
  const json good = json::parse(R"({"traceEvents": [
    {"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "main"}},
    {"name": "a", "ph": "X", "ts": 1, "dur": 1, "pid": 1, "tid": 0},
    {"name": "b", "ph": "X", "ts": 2, "dur": 1, "pid": 1, "tid": 0},
    {"name": "r", "cat": "c", "ph": "s", "id": 1, "ts": 1.5, "pid": 1, "tid": 0},
    {"name": "r", "cat": "c", "ph": "f", "bp": "e", "id": 1, "ts": 2.5, "pid": 1, "tid": 0}]})");
  EXPECT_TRUE(validate_trace(good).empty()) << joined(validate_trace(good));
  auto broken = [&](const std::string& rule, auto&& edit) {
    json doc = good;
    edit(doc["traceEvents"]);
    const std::vector<std::string> errors = validate_trace(doc);
    EXPECT_TRUE(!errors.empty() && errors.front().starts_with(rule))
        << rule << " not reported; got:\n"
        << joined(errors);
  };
  broken("R2", [](json& ev) { ev[1].erase("pid"); });
  broken("R2", [](json& ev) { ev[1]["ph"] = "Q"; });
  broken("R3", [](json& ev) { ev[1].erase("dur"); });
  broken("R5", [](json& ev) { ev[0]["args"] = json::object(); });
  broken("R6", [](json& ev) { ev.erase(4); });         // a start without its finish
  broken("R6", [](json& ev) { ev[3]["ts"] = 3.5; });   // finishes before it starts
  broken("R6", [](json& ev) { ev[4]["ts"] = 9.5; });   // outside any slice
  broken("R7", [](json& ev) { ev.erase(0); });         // no thread_name
  broken("R8", [](json& ev) { ev[1]["dur"] = 1.5; });  // partly overlapping
}

// A data race: its two accesses, a track per thread named as in the scenario, a slice per step.
TEST(TraceExport, ARaceIsAValidTraceWithATrackPerThreadAndAFlowToTheFinding) {
  const hc::Finding f = finding_of("engine/racy-flag");
  ASSERT_EQ(f.kind, hc::FindingKind::data_race);
  const json doc = trace_of("engine/racy-flag", f);
  EXPECT_EQ(validate_trace(doc), std::vector<std::string>{});

  // Tracks: the scenario's threads, by the names it gave them, in order of first appearance.
  const std::map<long long, std::string> names = thread_names(doc);
  std::set<std::string> expected_names;
  for (const hc::RichStep& s : f.trace) {
    expected_names.insert(s.thread_name);
    EXPECT_EQ(names.at(s.thread), s.thread_name) << "step " << s.index;
  }
  EXPECT_EQ(expected_names, (std::set<std::string>{"main", "producer", "consumer"}));
  EXPECT_EQ(names.size(), expected_names.size());

  // A slice per step, at its step number, with what it did.
  const std::vector<json> slices = events(doc, "X");
  ASSERT_EQ(slices.size(), f.trace.size());
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const hc::RichStep& s = f.trace[i];
    EXPECT_EQ(slices[i]["ts"], s.index);
    EXPECT_EQ(slices[i]["dur"], 1);
    EXPECT_EQ(slices[i]["tid"], s.thread);
    EXPECT_EQ(slices[i]["args"]["step"], s.index);
    EXPECT_EQ(slices[i]["args"]["operation"], s.operation);
    EXPECT_EQ(slices[i]["args"].value("object", ""), s.object);
    EXPECT_EQ(slices[i]["cat"], s.index == f.step ? "step,finding" : "step") << s.index;
  }
  // The finding, on its step and thread, with its message.
  const std::vector<json> marks = events(doc, "i", "finding: data-race");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0]["ts"], f.step + 0.5);
  EXPECT_EQ(marks[0]["tid"], f.trace[f.step - 1].thread);
  EXPECT_EQ(marks[0]["args"]["message"], f.message);

  // A flow from the other access (the related step) to the finding's step.
  std::vector<std::uint32_t> related;
  for (const std::uint32_t r : f.related_steps) {
    if (r != f.step) related.push_back(r);
  }
  ASSERT_EQ(related.size(), 1u) << f.message;
  const std::vector<json> starts = events(doc, "s");
  const std::vector<json> finishes = events(doc, "f");
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_EQ(finishes.size(), 1u);
  EXPECT_EQ(starts[0]["ts"], related[0] + 0.5);
  EXPECT_EQ(starts[0]["tid"], f.trace[related[0] - 1].thread);
  EXPECT_EQ(finishes[0]["ts"], f.step + 0.5);
  EXPECT_EQ(finishes[0]["id"], starts[0]["id"]);

  // Deterministic: the same bytes again.
  EXPECT_EQ(hc::reports::format_perfetto_trace({"engine/racy-flag", "dfs", f, "x"}),
            hc::reports::format_perfetto_trace({"engine/racy-flag", "dfs", f, "x"}));
}

// A deadlock: main, which never ran a step, has its track; each blocked operation is a slice
// after the last step; arrows follow the wait-for edges between blocked threads.
TEST(TraceExport, ADeadlockShowsTheBlockedOperationsAndTheWaitForArrows) {
  hc::ExploreOptions o;
  o.strategy = "dfs";
  const hc::Result r = hc::explore(hc::test::abba_deadlock, o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::deadlock);
  const json doc = trace_of("abba", f);
  EXPECT_EQ(validate_trace(doc), std::vector<std::string>{});
  std::set<std::string> names;
  for (const auto& [tid, name] : thread_names(doc))
    names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"main", "one", "two"}));
  std::vector<json> blocked;
  for (const json& e : events(doc, "X")) {
    if (e["cat"] == "blocked") blocked.push_back(e);
  }
  ASSERT_EQ(blocked.size(), 3u);
  for (const json& e : blocked)
    EXPECT_EQ(e["ts"], f.trace.size() + 1);
  EXPECT_EQ(blocked[1]["name"], "blocked: mutex-lock");
  EXPECT_EQ(blocked[1]["args"]["waits"], "to lock mutex 'B', held by thread 'two'");
  EXPECT_EQ(blocked[1]["args"]["on_wait_for_cycle"], true);
  EXPECT_EQ(blocked[0]["args"]["on_wait_for_cycle"], false);  // main waits, off the cycle
  // one -> two, two -> one (the cycle) and main -> one.
  EXPECT_EQ(events(doc, "s", "waits for").size(), 3u);
  EXPECT_EQ(events(doc, "f", "waits for").size(), 3u);
}

// A long spin stays valid (2,000 slices on one track, none overlapping).
TEST(TraceExport, AStepBoundFindingIsValid) {
  const hc::Finding f = finding_of("engine/spin-without-yield");
  ASSERT_EQ(f.kind, hc::FindingKind::step_bound_exceeded);
  const json doc = trace_of("engine/spin-without-yield", f);
  EXPECT_EQ(validate_trace(doc), std::vector<std::string>{});
  EXPECT_EQ(events(doc, "X").size(), f.trace.size());
}

TEST(TraceExport, FormatNames) {
  EXPECT_EQ(hc::reports::parse_trace_format("perfetto"), hc::reports::TraceFormat::perfetto);
  EXPECT_EQ(hc::reports::parse_trace_format("none"), hc::reports::TraceFormat::none);
  EXPECT_EQ(hc::reports::parse_trace_format("chrome"), std::nullopt);
  EXPECT_EQ(hc::reports::parse_trace_format(""), std::nullopt);
}

// --- as a user runs it -------------------------------------------------------------------------

struct Ran {
  int status = -1;
  std::string out;
};

/// `command` in `dir` through the shell, stdout and stderr together.
Ran shell(const fs::path& dir, const std::string& command) {
  Ran r;
  const std::string line = "cd '" + dir.string() + "' && " + command + " 2>&1";
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  return out;
}

struct FreshDir : hc::test::TempDir {
  FreshDir() : TempDir("hc-trace") {}
};

TEST(TraceExportCli, RunWritesAValidTraceBesideTheReportsFromAFreshDirectory) {
  const FreshDir d;
  const std::string hc = HC_HANDLECHECK;
  // The default: today's outputs, no trace.
  Ran r = shell(d.dir, "env -u HC_TRACE_FORMAT " + hc + " run engine/racy-flag --out plain");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(files_ending(d.dir / "plain", ".html").size(), 1u) << r.out;
  EXPECT_EQ(files_ending(d.dir / "plain", ".trace.json").size(), 0u);

  r = shell(d.dir, hc + " run engine/racy-flag --trace-format perfetto --out reports");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<fs::path> traces = files_ending(d.dir / "reports", ".trace.json");
  ASSERT_EQ(traces.size(), 1u) << r.out;
  // Beside the minimal replay file and its reports, with the same stem.
  const std::string stem = traces[0].string().substr(0, traces[0].string().size() - 11);
  EXPECT_TRUE(fs::exists(stem + ".json")) << stem;
  EXPECT_TRUE(fs::exists(stem + ".html")) << stem;
  EXPECT_TRUE(fs::exists(stem + ".txt")) << stem;
  std::ifstream in(traces[0]);
  const json doc = json::parse(in);
  EXPECT_EQ(validate_trace(doc), std::vector<std::string>{});
  std::set<std::string> names;
  for (const auto& [tid, name] : thread_names(doc))
    names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"main", "producer", "consumer"}));
  EXPECT_EQ(events(doc, "i", "finding: data-race").size(), 1u);
  EXPECT_EQ(doc["otherData"]["scenario"], "engine/racy-flag");

  // The environment variable, for runs whose command line the user does not write (gtest).
  r = shell(d.dir, "HC_TRACE_FORMAT=perfetto " + hc + " run engine/racy-flag --out from-env");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(files_ending(d.dir / "from-env", ".trace.json").size(), 1u) << r.out;
}

TEST(TraceExportCli, ABadFormatIsExit2NamingTheFormats) {
  const FreshDir d;
  const std::string hc = HC_HANDLECHECK;
  Ran r = shell(d.dir, hc + " run engine/racy-flag --trace-format perfeto --out out");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(
      r.out.find("--trace-format 'perfeto' is not a trace format; use one of: none, perfetto"),
      std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(d.dir / "out")) << "nothing explored before the bad option was reported";
  r = shell(d.dir, "HC_TRACE_FORMAT=json " + hc + " run engine/racy-flag --out out");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("HC_TRACE_FORMAT='json' is not a trace format; use one of: none, perfetto"),
            std::string::npos)
      << r.out;
  // --help documents it.
  r = shell(d.dir, hc + " run --help");
  EXPECT_NE(r.out.find("--trace-format"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ui.perfetto.dev"), std::string::npos) << r.out;
}

}  // namespace

// hc/reports/summary.hpp — what a run leaves for CI: the JSON run summary, JUnit XML, and the
// merge of several summaries (shards of one run) into one.
//
//   std::vector<hc::reports::ScenarioRecord> records = ...;  // one per scenario run
//   std::string xml = hc::reports::format_junit(records);
//   nlohmann::json summary = hc::reports::summary_json(records);
//   nlohmann::json merged = hc::reports::merge_summaries({a, b}, &error);
//
// The records are plain data (the CLI fills them from ScenarioOutcome), so every format here
// is a pure function of them: golden tests pin the output byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/settings.hpp"

namespace hc::reports {

struct FindingRecord {
  std::string kind;  // stable kebab-case name: "stale-handle-use"
  std::string message;
  std::string signature;       // de-duplication key
  std::string replay_file;     // path of its replay file ("" if none was written)
  std::string replay_command;  // the command that replays it
  /// Finding::unit and unit_execution: where a sequential search meets it (merge orders the
  /// findings of shards by them). Optional when read (older summaries): 0.
  std::uint64_t unit = 0;
  std::uint64_t unit_execution = 0;
};

struct ScenarioRecord {
  std::string name;      // "safehandle/raw-value-after-dispose"
  std::string expected;  // "clean", a finding kind, or several: "deadlock or finalizer-blocked"
  std::string verdict;   // "clean" or the first finding's kind
  bool as_expected = false;
  std::string explanation;  // why the verdict differs, when it does
  std::string strategy;     // "dfs", "random", ...
  std::uint64_t executions = 0;
  /// Executions cut short and not counted (hc::Counts::pruned): dpor's sleep-set blocked ones,
  /// and in a shard an execution that turned out to enter a unit another shard explores.
  /// Optional when read (0).
  std::uint64_t pruned = 0;
  bool exhausted = false;  // every schedule explored: never true when a bound cut the search
  /// The search finished within these bounds ("preemption bound 0"), so exhausted is false;
  /// "" when none cut it. Optional when read.
  std::string bounded_by{};
  double seconds = 0;                   // wall time (reports only)
  std::vector<FindingRecord> findings;  // distinct findings
  /// Coverage of conflicting operations (hc::Result): "A <> B" seen in both orders, and
  /// "A -> B" seen only with A first. Written under "coverage"; optional when read.
  std::vector<std::string> covered_pairs{};
  std::vector<std::string> one_order_pairs{};
  /// The run's settings (hc/settings.hpp), written under "settings"; optional when read, and
  /// dropped by a merge of runs whose settings differ.
  std::optional<RunSettings> settings{};
  /// The record covers part of the search (one shard's part, or a run a signal stopped), and
  /// that part decided nothing: `as_expected` then only says nothing unexpected happened in it.
  /// A merge of every shard decides. Optional when read (false).
  bool partial = false;
  /// The scenario's source file, for JUnit's `file` (as the compiler named it, relative to
  /// handlecheck's source tree when inside it); "" when unknown. Reports only: not in the JSON
  /// summary.
  std::string file{};
};

/// What a summary says of the run that wrote it, under "run" (optional when read: summaries
/// written before it have none and count as whole runs).
struct RunRecord {
  std::string version;  // of the handlecheck that wrote it
  /// The command-line options that shape the results (scenario selection and settings), in a
  /// canonical order: the shards of one run must agree on them. Not --jobs, --shard or paths.
  std::vector<std::string> options;
  std::uint32_t shard_index = 0;  // 0-based; written 1-based as "shard": {"index", "count"}
  std::uint32_t shard_count = 1;
  std::string host;
  std::string started;       // UTC, ISO 8601 ("2026-12-05T04:52:10Z"): reports only
  bool interrupted = false;  // a signal stopped it: the scenarios it ran are partial
  std::uint32_t merged = 0;  // a merge of this many shards (0: one run)
  bool operator==(const RunRecord&) const = default;
};

/// JUnit XML, valid against Jenkins' junit-10.xsd (a copy: tests/reports/junit-10.xsd): one
/// <testsuite> per source file of the records (name and file = ScenarioRecord::file, package =
/// the area of its first scenario; the records without a file share one named "handlecheck"),
/// in the order the records first name them, each with the run's start as `timestamp` (UTC,
/// without a zone designator) and its `hostname` when `run` gives them; one <testcase> per
/// scenario (classname = the area before '/', name = the scenario). A verdict that differs
/// from the expectation is a <failure> whose text gives the explanation, each finding's message
/// and its replay command and file.
std::string format_junit(const std::vector<ScenarioRecord>& records,
                         const std::optional<RunRecord>& run = std::nullopt);

/// The JSON run summary (documented in docs/run-summary.md):
/// {"format": "handlecheck-summary", "version": 1, "scenarios": [...], "totals": {...}}.
nlohmann::json summary_json(const std::vector<ScenarioRecord>& records,
                            const std::optional<RunRecord>& run = std::nullopt);

/// Parses the text of a summary file as JSON (nesting limited, see hc/json_input.hpp); nullopt
/// and *error when it is not JSON. Its content is checked by parse_summary / merge_summaries.
std::optional<nlohmann::json> parse_summary_text(const std::string& text, std::string* error);

/// Reads a summary back; nullopt and *error on a malformed one or an unknown version. With
/// `run`, also its "run" record (left empty when the summary has none).
std::optional<std::vector<ScenarioRecord>> parse_summary(const nlohmann::json& summary,
                                                         std::string* error,
                                                         std::optional<RunRecord>* run = nullptr);

/// Merges the summaries of several runs (shards) into one: per scenario, executions and
/// seconds add up, findings are united by signature, exhausted only if every shard exhausted,
/// and the verdict is recomputed from the united findings against the expectation. Coverage
/// pairs are united: a pair seen in both orders by some shard, or in one order by one shard and
/// in the other by another, is covered; a must_reach goal is unreached only if no shard
/// reached it.
/// Shards (a "run" record with a shard count above 1) merge only as a complete set: every index
/// of the count exactly once, all with the same options; otherwise nullopt and *error names
/// the missing, duplicated or differing summaries (by `labels[i]`, e.g. the file names, when
/// given; else "summaries[i]").
std::optional<nlohmann::json> merge_summaries(const std::vector<nlohmann::json>& summaries,
                                              std::string* error,
                                              const std::vector<std::string>& labels = {});

}  // namespace hc::reports

// hc/reports/trace_export.hpp — a finding's interleaving as a trace that timeline viewers open:
// Chrome Trace Event JSON (the "JSON Object Format" of the Trace Event Format), which
// ui.perfetto.dev and chrome://tracing load.
//
//   if (auto format = hc::reports::parse_trace_format("perfetto"))
//     write(path, hc::reports::format_perfetto_trace({.scenario = "x", .strategy = "dfs",
//                                                     .finding = f, .replay_command = cmd}));
//
// What the trace holds (one process, pid 1):
//  * a track per simulated thread: a `thread_name` metadata event ("ph":"M") naming it as the
//    scenario does, and `thread_sort_index` in order of first appearance; tid = the thread id;
//  * a complete slice ("ph":"X") per step: ts = the step number, dur = 1 (the time axis counts
//    steps, 1 us each: deterministic), its operation as the name (a model step: its verb), the
//    step, operation, object, label, value, source and preemption in args; the finding's step
//    has cat "step,finding";
//  * an instant event ("ph":"i") "finding: KIND" on the finding's step, the message in args;
//  * a flow arrow ("ph":"s" then "ph":"f", "bp":"e", one id each) from every step the finding
//    refers to (Finding::related_steps) to the finding's step, from the earlier to the later;
//  * for a deadlock, each blocked thread's pending operation as a slice after the last step
//    (cat "blocked", what it waits for in args) and a flow arrow to the thread it waits for.
// Flow events sit in the middle of their step (ts = step + 0.5), inside the slice they bind to.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hc/finding.hpp"

namespace hc::reports {

/// What `--trace-format` asks for beside the text and HTML reports.
enum class TraceFormat {
  none,      // no trace file (the default)
  perfetto,  // Chrome Trace Event JSON: "<replay file stem>.trace.json"
};

/// "none" or "perfetto"; nullopt for anything else.
std::optional<TraceFormat> parse_trace_format(std::string_view name);

/// The names parse_trace_format accepts, for messages and --help: "none, perfetto".
std::string_view trace_format_names();

/// The file name suffix that replaces ".json" of the replay file ("" for none).
std::string_view trace_file_suffix(TraceFormat format);

struct TraceExportInput {
  std::string scenario;
  std::string strategy;
  Finding finding;  // its trace is exported
  std::string replay_command;
};

/// The Chrome Trace Event JSON document (see the header comment); the same bytes for the same
/// input.
std::string format_perfetto_trace(const TraceExportInput& input);

}  // namespace hc::reports

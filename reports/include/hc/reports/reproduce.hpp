// hc/reports/reproduce.hpp — the reproduction policy: what becomes of a finding after a run.
//
//   hc::reports::Reproducer rep = hc::reports::reproduce(request, finding);
//   // rep.path: its replay file; rep.problem: non-empty if that file does not reproduce it
//
// One policy for the CLI and the gtest helpers: write the finding's replay file, read it back
// and replay it (a reproducer must reproduce its finding by itself, or the run says so),
// optionally minimise it (a ".min" file beside it, when it has fewer preemptions or steps), and
// optionally render the text and HTML reports (and a trace, --trace-format) beside the file
// shown.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "hc/explorer.hpp"
#include "hc/finding.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/trace_export.hpp"

namespace hc::reports {

struct ReproduceRequest {
  std::string scenario;           // the name recorded in the file
  const ExploreOptions& options;  // the options of the run that found it
  const std::function<void()>& body;
  std::string out_dir;   // where the files go
  bool minimize = true;  // also write the minimal schedule (".min.json")
  bool render = true;    // write ".txt" and ".html" reports beside the file shown
  /// The command that replays a file ("handlecheck replay PATH", or a gtest filter).
  std::function<std::string(const std::string& path)> command_for;
  /// A trace for timeline viewers beside the reports (trace_export.hpp; only when `render`);
  /// nullopt: as $HC_TRACE_FORMAT says ("perfetto" or "none"), none when it is unset. (Its
  /// initializer keeps GCC's -Wmissing-field-initializers quiet where callers leave it out.)
  std::optional<TraceFormat> trace_format = std::nullopt;
};

struct Reproducer {
  std::string path;     // the replay file
  std::string command;  // the command that replays it (the minimal one when there is one)
  std::string notes;    // "replay file PATH (minimized: ...)": for the verdict line
  std::string problem;  // non-empty: the file does not reproduce the finding
  Finding reported;     // the finding as shown: the minimal one when there is one
};

/// Where reproducers go unless told otherwise: $HC_OUT_DIR, else ./handlecheck-out.
std::string default_out_dir();

/// The trace format $HC_TRACE_FORMAT asks for (none when unset or empty). Throws
/// hc::usage_error naming the variable and the formats when it names none of them.
TraceFormat default_trace_format();

/// Writes, checks, minimises and renders (see the header comment). Throws hc::usage_error
/// when a file cannot be written (naming it and why).
Reproducer reproduce(const ReproduceRequest& request, const Finding& finding);

/// Replays `file`; returns its first finding, or nullopt and *problem (the divergence, or why
/// the finding is not the recorded one). With `continue_after_divergence`, any finding of the
/// recorded kind counts. `result`: the whole result of the replay, if wanted.
std::optional<Finding> replay_recorded(const ReplayFile& file, const std::function<void()>& body,
                                       bool continue_after_divergence, std::string* problem,
                                       Result* result = nullptr);

}  // namespace hc::reports

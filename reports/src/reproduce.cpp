// reproduce.cpp — the reproduction policy shared by the CLI and the gtest helpers.
#include "hc/reports/reproduce.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "hc/reports/html_report.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/reports/trace_export.hpp"
#include "hc/runtime.hpp"
#include "hc/write_file.hpp"

namespace hc::reports {

std::optional<Finding> replay_recorded(const ReplayFile& file, const std::function<void()>& body,
                                       bool continue_after, std::string* problem, Result* result) {
  Result r = explore(body, replay_options(file, continue_after));
  if (result != nullptr) *result = r;
  if (r.findings.empty()) {
    *problem = fmt::format("the replay ran clean; the file records {}", file.kind);
    return std::nullopt;
  }
  Finding f = r.findings.front();
  if (f.kind == FindingKind::nondeterminism && f.message.starts_with("replay diverged")) {
    *problem = f.message;
    return std::nullopt;
  }
  if (std::string(finding_kind_name(f.kind)) != file.kind) {
    *problem = fmt::format("the replay found {} ({}); the file records {}",
                           finding_kind_name(f.kind), f.message, file.kind);
    return std::nullopt;
  }
  if (continue_after) return f;  // exploring on from a divergence: any finding of the kind
  // Exactly the recorded finding, by exactly the recorded schedule.
  if (f.signature != file.signature || f.message != file.message) {
    *problem = fmt::format(
        "the replay found {} but not the recorded one: it says \"{}\" ({}); the file records "
        "\"{}\" ({})",
        file.kind, f.message, f.signature, file.message, file.signature);
    return std::nullopt;
  }
  if (f.schedule.size() != file.schedule.size()) {
    *problem = fmt::format(
        "replay diverged: the file has {} decisions but the execution ended after {}: the file "
        "does not fit the program (edited, or recorded from other code)",
        file.schedule.size(), f.schedule.size());
    return std::nullopt;
  }
  return f;
}

std::string default_out_dir() {
  const char* env = std::getenv("HC_OUT_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("handlecheck-out");
}

TraceFormat default_trace_format() {
  const char* env = std::getenv("HC_TRACE_FORMAT");
  if (env == nullptr || *env == '\0') return TraceFormat::none;
  if (auto format = parse_trace_format(env)) return *format;
  throw usage_error(fmt::format("HC_TRACE_FORMAT='{}' is not a trace format; use one of: {}", env,
                                trace_format_names()));
}

Reproducer reproduce(const ReproduceRequest& q, const Finding& f) {
  Reproducer rep;
  std::string error;
  const ReplayFile file = make_replay_file(q.scenario, q.options, f);
  rep.path = write_replay_file(q.out_dir, file, &error);
  if (rep.path.empty()) throw usage_error(error);
  // The file must reproduce its finding by itself: read it back and replay it.
  std::string problem;
  if (auto back = read_replay_file(rep.path, &error); !back) {
    rep.problem = "its replay file cannot be read back: " + error;
  } else if (auto again = replay_recorded(*back, q.body, false, &problem);
             !again || again->signature != f.signature) {
    rep.problem = fmt::format("its replay file {} does not reproduce it: {}", rep.path,
                              problem.empty() ? "a different finding of the same kind" : problem);
  }
  std::string shown = rep.path;
  rep.notes = "replay file " + rep.path;
  rep.reported = f;
  if (q.minimize && rep.problem.empty()) {
    const MinimizeResult m = hc::minimize(q.body, q.options, f);
    if (m.preemptions_after < m.preemptions_before || m.steps_after < m.steps_before) {
      const std::string min_path = write_replay_file(
          q.out_dir, make_replay_file(q.scenario, q.options, m.minimal), &error, ".min");
      if (!min_path.empty()) {
        shown = min_path;
        rep.reported = m.minimal;
        rep.notes += fmt::format(" (minimized: {} -> {} preemptions, {} -> {} steps: {})",
                                 m.preemptions_before, m.preemptions_after, m.steps_before,
                                 m.steps_after, min_path);
      }
    }
  }
  rep.command = q.command_for ? q.command_for(shown) : shown;
  if (q.render) {
    const std::string stem = shown.substr(0, shown.size() - std::string(".json").size());
    write_file_atomically(
        stem + ".txt", fmt::format("scenario: {}\nstrategy: {}\n{}", q.scenario, q.options.strategy,
                                   format_finding(rep.reported, rep.command)));
    write_file_atomically(stem + ".html",
                          format_html({q.scenario, q.options.strategy, rep.reported, rep.command}));
    const TraceFormat format = q.trace_format ? *q.trace_format : default_trace_format();
    if (format == TraceFormat::perfetto) {
      write_file_atomically(
          stem + std::string(trace_file_suffix(format)),
          format_perfetto_trace({q.scenario, q.options.strategy, rep.reported, rep.command}));
    }
  }
  return rep;
}

}  // namespace hc::reports

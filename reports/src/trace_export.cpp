// trace_export.cpp — a finding as Chrome Trace Event JSON (the layout: trace_export.hpp).
//
// Deterministic: events in a fixed order (metadata, steps, the finding, flows, blocked
// operations), keys in insertion order (nlohmann::ordered_json), timestamps from step numbers.
#include "hc/reports/trace_export.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hc::reports {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kPid = 1;

std::string thread_label(ThreadId thread, const std::string& name) {
  if (!name.empty()) return name;
  if (thread == kNoThread) return "(no thread)";
  return fmt::format("thread #{}", static_cast<unsigned>(thread));
}

std::string where(const RichStep& s) {
  return s.line != 0 ? fmt::format("{}:{}", s.file, s.line) : s.file;
}

/// A slice's name: the operation, or a model operation's verb ("Continue", "CloseHandle").
std::string slice_name(const RichStep& s) {
  return s.operation == "model" && !s.label.empty() ? s.label : s.operation;
}

Json step_args(const RichStep& s) {
  Json args = Json::object();
  args["step"] = s.index;
  args["thread"] = thread_label(s.thread, s.thread_name);
  args["operation"] = s.operation;
  if (!s.object.empty()) args["object"] = s.object;
  if (!s.label.empty()) args["label"] = s.label;
  if (s.has_value) args["value"] = s.value;
  if (s.line != 0 || !s.file.empty()) args["source"] = where(s);
  args["preemption"] = s.preemption;
  return args;
}

}  // namespace

std::optional<TraceFormat> parse_trace_format(std::string_view name) {
  if (name == "none") return TraceFormat::none;
  if (name == "perfetto") return TraceFormat::perfetto;
  return std::nullopt;
}

std::string_view trace_format_names() {
  return "none, perfetto";
}

std::string_view trace_file_suffix(TraceFormat format) {
  return format == TraceFormat::perfetto ? ".trace.json" : "";
}

std::string format_perfetto_trace(const TraceExportInput& input) {
  const Finding& f = input.finding;
  const std::vector<RichStep>& trace = f.trace;
  const std::string kind(finding_kind_name(f.kind));
  Json events = Json::array();

  // Tracks: threads in order of first appearance, then blocked threads that never ran a step.
  std::vector<std::pair<ThreadId, std::string>> threads;
  auto add_thread = [&](ThreadId t, const std::string& name) {
    if (std::none_of(threads.begin(), threads.end(), [&](const auto& p) { return p.first == t; }))
      threads.emplace_back(t, thread_label(t, name));
  };
  for (const RichStep& s : trace)
    add_thread(s.thread, s.thread_name);
  for (const BlockedThread& b : f.blocked) {
    add_thread(b.pending.thread, b.pending.thread_name);
    if (b.waits_on != kNoThread) add_thread(b.waits_on, b.waits_on_name);
  }
  events.push_back(
      Json{{"name", "process_name"},
           {"ph", "M"},
           {"pid", kPid},
           {"tid", 0},
           {"args", {{"name", fmt::format("handlecheck {}: {}", input.scenario, kind)}}}});
  for (std::size_t i = 0; i < threads.size(); ++i) {
    events.push_back(Json{{"name", "thread_name"},
                          {"ph", "M"},
                          {"pid", kPid},
                          {"tid", threads[i].first},
                          {"args", {{"name", threads[i].second}}}});
    events.push_back(Json{{"name", "thread_sort_index"},
                          {"ph", "M"},
                          {"pid", kPid},
                          {"tid", threads[i].first},
                          {"args", {{"sort_index", i}}}});
  }

  // The finding's step: the one it names, else (0, or beyond the trace) the last step.
  const RichStep* at = nullptr;
  for (const RichStep& s : trace) {
    if (f.step != 0 && s.index == f.step) at = &s;
  }
  if (at == nullptr && !trace.empty()) at = &trace.back();

  for (const RichStep& s : trace) {
    events.push_back(Json{{"name", slice_name(s)},
                          {"cat", &s == at ? "step,finding" : "step"},
                          {"ph", "X"},
                          {"ts", s.index},
                          {"dur", 1},
                          {"pid", kPid},
                          {"tid", s.thread},
                          {"args", step_args(s)}});
  }
  if (at != nullptr) {
    events.push_back(Json{{"name", "finding: " + kind},
                          {"cat", "finding"},
                          {"ph", "i"},
                          {"s", "t"},
                          {"ts", at->index + 0.5},
                          {"pid", kPid},
                          {"tid", at->thread},
                          {"args", {{"message", f.message}}}});
  }

  // Flow arrows: a start ("s") in one slice, a finish ("f", bound to its enclosing slice) in
  // another, paired by id within the category.
  int flow_id = 0;
  auto flow = [&](const char* name, const char* cat, double from_ts, ThreadId from_tid,
                  double to_ts, ThreadId to_tid) {
    ++flow_id;
    events.push_back(Json{{"name", name},
                          {"cat", cat},
                          {"ph", "s"},
                          {"id", flow_id},
                          {"ts", from_ts},
                          {"pid", kPid},
                          {"tid", from_tid}});
    events.push_back(Json{{"name", name},
                          {"cat", cat},
                          {"ph", "f"},
                          {"bp", "e"},
                          {"id", flow_id},
                          {"ts", to_ts},
                          {"pid", kPid},
                          {"tid", to_tid}});
  };
  if (at != nullptr) {
    std::vector<std::uint32_t> done;
    for (const std::uint32_t step : f.related_steps) {
      if (step == at->index || std::find(done.begin(), done.end(), step) != done.end()) continue;
      const auto it = std::find_if(trace.begin(), trace.end(),
                                   [&](const RichStep& s) { return s.index == step; });
      if (it == trace.end()) continue;
      done.push_back(step);
      if (it->index < at->index) {
        flow("related step", "finding", it->index + 0.5, it->thread, at->index + 0.5, at->thread);
      } else {
        flow("related step", "finding", at->index + 0.5, at->thread, it->index + 0.5, it->thread);
      }
    }
  }

  // A deadlock: what each blocked thread waits for, after the last step, and whom.
  const std::uint32_t blocked_ts = trace.empty() ? 1 : trace.back().index + 1;
  for (const BlockedThread& b : f.blocked) {
    Json args = step_args(b.pending);
    args.erase("step");
    args.erase("preemption");
    args["waits"] = b.waits_for;
    if (b.waits_on != kNoThread) args["waits_on"] = thread_label(b.waits_on, b.waits_on_name);
    args["on_wait_for_cycle"] =
        std::find(f.wait_cycle.begin(), f.wait_cycle.end(), b.pending.thread) != f.wait_cycle.end();
    events.push_back(Json{{"name", "blocked: " + b.pending.operation},
                          {"cat", "blocked"},
                          {"ph", "X"},
                          {"ts", blocked_ts},
                          {"dur", 1},
                          {"pid", kPid},
                          {"tid", b.pending.thread},
                          {"args", std::move(args)}});
  }
  for (const BlockedThread& b : f.blocked) {
    const bool target_blocked =
        std::any_of(f.blocked.begin(), f.blocked.end(),
                    [&](const BlockedThread& o) { return o.pending.thread == b.waits_on; });
    if (b.waits_on == kNoThread || b.waits_on == b.pending.thread || !target_blocked) continue;
    flow("waits for", "deadlock", blocked_ts + 0.5, b.pending.thread, blocked_ts + 0.5, b.waits_on);
  }

  Json doc = Json::object();
  doc["traceEvents"] = std::move(events);
  doc["displayTimeUnit"] = "ms";
  doc["otherData"] = {{"generator", "handlecheck"},
                      {"scenario", input.scenario},
                      {"strategy", input.strategy},
                      {"finding", kind},
                      {"message", f.message},
                      {"replay", input.replay_command},
                      {"time axis", "1 us = 1 step; ts is the step number"}};
  return doc.dump(1) + "\n";
}

}  // namespace hc::reports

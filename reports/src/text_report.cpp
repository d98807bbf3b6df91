#include "hc/reports/text_report.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace hc::reports {

std::string format_trace(std::span<const RichStep> steps) {
  std::size_t thread_width = 6;
  std::size_t object_width = 6;
  std::size_t what_width = 9;
  auto detail = [](const RichStep& s) {
    return s.has_value ? fmt::format("{} -> {}", s.label, s.value) : s.label;
  };
  for (const RichStep& s : steps) {
    thread_width = std::max(thread_width, s.thread_name.size());
    object_width = std::max(object_width, s.object.size());
    what_width = std::max(what_width, detail(s).size());
  }
  std::string out =
      fmt::format("  {:>5}  {:<{}}  {:<14} {:<{}}  {:<{}}  {}\n", "step", "thread", thread_width,
                  "operation", "object", object_width, "detail", what_width, "where");
  for (const RichStep& s : steps) {
    const std::string what = detail(s);
    const std::string where = s.line != 0 ? fmt::format("{}:{}", s.file, s.line) : "";
    out += fmt::format("  {:>4}{}  {:<{}}  {:<14} {:<{}}  {:<{}}  {}\n", s.index,
                       s.preemption ? "*" : " ", s.thread_name, thread_width, s.operation, s.object,
                       object_width, what, what_width, where);
  }
  return out;
}

std::vector<std::string> involved_objects(const Finding& f) {
  std::vector<std::string> out;
  auto in_trace = [&](const std::string& object) {
    return std::any_of(f.trace.begin(), f.trace.end(),
                       [&](const RichStep& s) { return s.object == object; });
  };
  auto add = [&](const std::string& object) {
    if (!object.empty() && std::find(out.begin(), out.end(), object) == out.end())
      out.push_back(object);
  };
  // The objects the reporter said the finding is about, in its order, when the trace touched
  // them; then the objects of the steps it refers to ("closed by ... at step 3"), and of the
  // finding's own step: for a handle, its table's create -> close -> reuse. Failing all that,
  // the object of the step that found it. Never from the message's text.
  for (const std::string& object : f.objects) {
    if (in_trace(object)) add(object);
  }
  bool referenced = false;
  for (const std::uint32_t n : f.related_steps) {
    if (n >= 1 && n <= f.trace.size()) {
      add(f.trace[n - 1].object);
      referenced = true;
    }
  }
  if ((out.empty() || referenced) && f.step >= 1 && f.step <= f.trace.size())
    add(f.trace[f.step - 1].object);
  return out;
}

std::vector<RichStep> causal_slice(const Finding& f, const std::vector<std::string>& objects) {
  std::vector<RichStep> slice;
  for (const RichStep& s : f.trace) {
    if (std::find(objects.begin(), objects.end(), s.object) != objects.end() || s.index == f.step)
      slice.push_back(s);
  }
  return slice;
}

namespace {

std::string lifecycle(const Finding& f, const std::vector<std::string>& objects) {
  std::string out;
  for (const std::string& object : objects) {
    std::string line;
    for (const RichStep& s : f.trace) {
      if (s.object != object) continue;
      line += fmt::format("{}{} {} {}", line.empty() ? "" : " -> ", s.index, s.thread_name,
                          s.label.empty() ? s.operation : s.label);
      if (s.index == f.step) line += " (!)";
    }
    if (!line.empty()) out += fmt::format("  {}: {}\n", object, line);
  }
  return out;
}

}  // namespace

std::string format_finding(const Finding& f, std::string_view replay_command) {
  std::string out = fmt::format("finding: {}", finding_kind_name(f.kind));
  if (!f.thread_name.empty()) out += fmt::format(" in thread '{}'", f.thread_name);
  if (f.line != 0) out += fmt::format(" at {}:{}", f.file, f.line);
  if (f.step != 0) out += fmt::format(" (step {})", f.step);
  out += "\n";
  out += fmt::format("  {}\n", f.message);
  const std::vector<std::string> objects = involved_objects(f);
  if (!objects.empty() && !f.trace.empty()) {
    // What happened to the objects the finding is about, first: their lifecycles, then only
    // the steps that touched them (the causal slice).
    out += "lifecycle of the objects involved (step thread operation; (!) marks the finding):\n";
    out += lifecycle(f, objects);
    const std::vector<RichStep> slice = causal_slice(f, objects);
    if (slice.size() < f.trace.size()) {
      out += fmt::format("causal slice: the {} of {} steps that touched them\n", slice.size(),
                         f.trace.size());
      out += format_trace(slice);
    }
  }
  if (!f.trace.empty()) {
    out += fmt::format(
        "interleaving: {} steps, {} preemption{} (* marks a preemption), found "
        "by execution {}\n",
        f.trace.size(), f.preemptions, f.preemptions == 1 ? "" : "s", f.execution + 1);
    out += format_trace(f.trace);
  }
  if (!replay_command.empty()) out += fmt::format("replay: {}\n", replay_command);
  return out;
}

}  // namespace hc::reports

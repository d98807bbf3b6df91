#include "hc/reports/text_report.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "hc/reports/terminal.hpp"

namespace hc::reports {
namespace {

/// A model's step: its label is the model's verb ("CloseHandle"), its operation just "model".
bool model_step(const RichStep& s) {
  return s.operation == op_kind_name(OpKind::model) && !s.label.empty();
}

}  // namespace

std::string step_operation(const RichStep& s) {
  return model_step(s) ? s.label : s.operation;
}

std::string step_detail(const RichStep& s) {
  if (s.succeeded) {
    // A model's verb is already the operation: the detail is the outcome alone.
    return fmt::format("{}{}-> {} (read {})", model_step(s) ? "" : s.label,
                       model_step(s) ? "" : " ", *s.succeeded ? "succeeded" : "failed", s.value);
  }
  if (model_step(s)) return s.has_value ? fmt::format("-> {}", s.value) : std::string();
  return s.has_value ? fmt::format("{} -> {}", s.label, s.value) : s.label;
}

std::string format_trace(std::span<const RichStep> steps) {
  std::size_t thread_width = 6;
  std::size_t operation_width = 14;
  std::size_t object_width = 6;
  std::size_t what_width = 9;
  for (const RichStep& s : steps) {
    thread_width = std::max(thread_width, s.thread_name.size());
    operation_width = std::max(operation_width, step_operation(s).size());
    object_width = std::max(object_width, s.object.size());
    what_width = std::max(what_width, step_detail(s).size());
  }
  std::string out = fmt::format("  {:>5}  {:<{}}  {:<{}} {:<{}}  {:<{}}  {}\n", "step", "thread",
                                thread_width, "operation", operation_width, "object", object_width,
                                "detail", what_width, "where");
  for (const RichStep& s : steps) {
    const std::string where = s.line != 0 ? fmt::format("{}:{}", s.file, s.line) : "";
    std::string line =
        fmt::format("  {:>4}{}  {:<{}}  {:<{}} {:<{}}  {:<{}}  {}", s.index,
                    s.preemption ? "*" : " ", s.thread_name, thread_width, step_operation(s),
                    operation_width, s.object, object_width, step_detail(s), what_width, where);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

namespace {

/// What a step did, in its thread's cell of the column view: "load atomic 'x' -> 1",
/// "CloseHandle handle table 'process'", "compare_exchange_weak atomic 'n' -> failed (read 1)".
std::string cell_text(const RichStep& s) {
  std::string out = s.label.empty() ? s.operation : s.label;  // a model's verb, "load", ...
  if (!s.object.empty()) out += " " + s.object;
  if (s.succeeded) {
    out += fmt::format(" -> {} (read {})", *s.succeeded ? "succeeded" : "failed", s.value);
  } else if (s.has_value) {
    out += fmt::format(" -> {}", s.value);
  }
  return out;
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word is cut).
std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (!line.empty() && line.size() + 1 + word.size() <= width) {
      line += ' ';
      line += word;
      continue;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    line.clear();
    while (word.size() > width) {
      lines.emplace_back(word.substr(0, width));
      word.remove_prefix(width);
    }
    line.assign(word);
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

/// Column widths that fit `room`: each column's natural width capped at one common cap, the
/// largest that fits, but never below its floor: the longest word of the column when every
/// column's longest word fits (no word is cut), else `minimum` (then words are cut; when even
/// those floors do not fit, the view is wider than asked).
std::vector<std::size_t> fit_columns(const std::vector<std::size_t>& natural,
                                     const std::vector<std::size_t>& longest_word, std::size_t room,
                                     std::size_t minimum) {
  auto sum = [](const std::vector<std::size_t>& v) {
    std::size_t total = 0;
    for (const std::size_t n : v)
      total += n;
    return total;
  };
  std::vector<std::size_t> floor(natural.size());
  for (std::size_t i = 0; i < natural.size(); ++i)
    floor[i] = std::min(natural[i], std::max(minimum, longest_word[i]));
  if (sum(floor) > room) {
    for (std::size_t i = 0; i < natural.size(); ++i)
      floor[i] = std::min(natural[i], minimum);
  }
  std::vector<std::size_t> out(natural.size());
  for (std::size_t cap = *std::max_element(natural.begin(), natural.end());; --cap) {
    for (std::size_t i = 0; i < natural.size(); ++i)
      out[i] = std::max(floor[i], std::min(natural[i], cap));
    if (sum(out) <= room || cap == 0) return out;
  }
}

void append_trimmed(std::string& out, std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  out += line;
  out += '\n';
}

}  // namespace

std::string format_columns(std::span<const RichStep> steps, std::size_t width,
                           std::uint32_t finding_step) {
  // The threads, in thread order (main first), each with the column it gets.
  std::vector<std::pair<ThreadId, std::string>> threads;
  for (const RichStep& s : steps) {
    const auto known = std::find_if(threads.begin(), threads.end(),
                                    [&](const auto& t) { return t.first == s.thread; });
    if (known == threads.end()) threads.emplace_back(s.thread, s.thread_name);
  }
  std::sort(threads.begin(), threads.end());
  if (threads.empty()) return {};
  auto column_of = [&](const RichStep& s) {
    return static_cast<std::size_t>(
        std::find_if(threads.begin(), threads.end(),
                     [&](const auto& t) { return t.first == s.thread; }) -
        threads.begin());
  };
  std::vector<std::string> cells;
  cells.reserve(steps.size());
  std::vector<std::size_t> natural(threads.size());
  for (std::size_t c = 0; c < threads.size(); ++c)
    natural[c] = std::max<std::size_t>(threads[c].second.size(), 1);
  std::vector<std::size_t> longest_word(threads.size());
  for (const RichStep& s : steps) {
    cells.push_back(cell_text(s) + (s.index == finding_step && finding_step != 0 ? " (!)" : ""));
    const std::size_t column = column_of(s);
    natural[column] = std::max(natural[column], cells.back().size());
    for (std::string_view rest = cells.back(); !rest.empty();) {
      const std::size_t space = rest.find(' ');
      longest_word[column] = std::max(longest_word[column], rest.substr(0, space).size());
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
  }
  // "  " + the step number + the preemption mark, then "| " + the first thread's cell and
  // " | " + each other's: "     4*| create handle table 'process' |".
  const std::size_t number_width =
      std::max<std::size_t>(4, fmt::format("{}", steps.back().index).size());
  const std::size_t prefix = 2 + number_width + 1;
  const std::size_t fixed = prefix + 2 + 3 * (threads.size() - 1);
  constexpr std::size_t kMinimum = 8;
  const std::vector<std::size_t> widths =
      fit_columns(natural, longest_word, width > fixed ? width - fixed : 0, kMinimum);
  auto separator = [](std::size_t c) { return c == 0 ? "| " : " | "; };

  std::string out;
  std::string header = fmt::format("  {:>{}} ", "step", number_width);
  std::string rule(prefix, '-');
  for (std::size_t c = 0; c < threads.size(); ++c) {
    header += fmt::format("{}{:<{}}", separator(c), fit_to_width(threads[c].second, widths[c]),
                          widths[c]);
    rule += (c == 0 ? "+-" : "-+-") + std::string(widths[c], '-');
  }
  append_trimmed(out, header);
  append_trimmed(out, rule);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const RichStep& s = steps[i];
    const std::size_t column = column_of(s);
    const std::vector<std::string> lines = wrap(cells[i], widths[column]);
    for (std::size_t l = 0; l < lines.size(); ++l) {
      std::string line =
          l == 0 ? fmt::format("  {:>{}}{}", s.index, number_width, s.preemption ? "*" : " ")
                 : std::string(prefix, ' ');
      for (std::size_t c = 0; c < threads.size(); ++c)
        line += fmt::format("{}{:<{}}", separator(c), c == column ? lines[l] : std::string(),
                            widths[c]);
      append_trimmed(out, std::move(line));
    }
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
  return format_finding(f, replay_command, TextLayout{});
}

std::string format_finding(const Finding& f, std::string_view replay_command,
                           const TextLayout& layout) {
  std::string out =
      fmt::format("finding: {}", paint(finding_kind_name(f.kind), Paint::finding, layout.colour));
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
    out += layout.columns ? format_columns(f.trace, layout.width, f.step) : format_trace(f.trace);
  }
  if (!replay_command.empty()) out += fmt::format("replay: {}\n", replay_command);
  return out;
}

}  // namespace hc::reports

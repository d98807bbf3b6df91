// hc/reports/text_report.hpp — the text a person reads about a finding: what went wrong, the
// interleaving one step per line (thread, operation, object, value, source line; preemptions
// marked) or as a column per thread, and the exact command that replays it.
//
//   std::cout << hc::reports::format_finding(finding, "handlecheck run x --replay 1.2");
//   std::cout << hc::reports::format_finding(finding, command, {.columns = true, .width = 80});
//
// A step's operation is its model verb for a model's steps ("CloseHandle"), else the engine's
// operation ("atomic-load"); a compare-exchange of an hc::atomic says whether it succeeded.
// step_operation() and step_detail() are those words, for other renderers (HTML) to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/finding.hpp"

namespace hc::reports {

/// How format_finding lays a report out.
struct TextLayout {
  /// The interleaving as a column per thread and a row per step (Lincheck's table) instead of
  /// a line per step.
  bool columns = false;
  /// The width the column view fits (its cells wrap; never narrower than 8 per column).
  std::size_t width = 100;
  /// ANSI colour for the finding's kind (a terminal).
  bool colour = false;
};

/// The step's operation as people read it: the model's verb ("CloseHandle") for a model's
/// step, else the engine's operation ("atomic-load", "mutex-lock").
std::string step_operation(const RichStep& step);

/// The rest of what the step did: its label and value ("load -> 1", "write -> 42"); a model
/// step's value only ("-> 3", its verb is the operation); for a compare-exchange, whether it
/// succeeded and what it read ("compare_exchange_strong -> failed (read 1)").
std::string step_detail(const RichStep& step);

/// The interleaving, one step per line, with a header line.
std::string format_trace(std::span<const RichStep> steps);

/// The interleaving as a column per thread (in thread order), a row per step: the step number
/// (* marks a preemption) and, in its thread's column, what it did ("load atomic 'x' -> 1"),
/// marked (!) at `finding_step`. Cells wrap to fit `width` columns.
std::string format_columns(std::span<const RichStep> steps, std::size_t width,
                           std::uint32_t finding_step = 0);

/// The finding; for the objects it involves, their lifecycle (create -> ... -> the finding)
/// and the causal slice (only the steps that touched them); then the whole interleaving and
/// the execution of the exploration that found it; then `replay_command` (omitted when empty).
std::string format_finding(const Finding& finding, std::string_view replay_command);
std::string format_finding(const Finding& finding, std::string_view replay_command,
                           const TextLayout& layout);

/// The objects a finding is about, from its structure only (never its message): the trace
/// objects among Finding::objects, in their order; then the objects of its related_steps; then
/// the object of the step that found it (when it has related steps, or nothing else).
std::vector<std::string> involved_objects(const Finding& finding);

/// The causal slice: the steps of the finding's trace that touched `objects` (usually
/// involved_objects(finding)), and the step that found it, in trace order. The text and HTML
/// reports both show it.
std::vector<RichStep> causal_slice(const Finding& finding, const std::vector<std::string>& objects);

}  // namespace hc::reports

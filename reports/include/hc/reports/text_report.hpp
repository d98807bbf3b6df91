// hc/reports/text_report.hpp — the text a person reads about a finding: what went wrong, the
// interleaving one step per line (thread, operation, object, value, source line; preemptions
// marked), and the exact command that replays it.
//
//   std::cout << hc::reports::format_finding(finding, "handlecheck run x --replay 1.2");
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/finding.hpp"

namespace hc::reports {

/// The interleaving, one step per line, with a header line.
std::string format_trace(std::span<const RichStep> steps);

/// The finding; for the objects it involves, their lifecycle (create -> ... -> the finding)
/// and the causal slice (only the steps that touched them); then the whole interleaving; then
/// `replay_command` (omitted when empty).
std::string format_finding(const Finding& finding, std::string_view replay_command);

/// The objects a finding is about, from its structure only (never its message): the trace
/// objects among Finding::objects, in their order; then the objects of its related_steps; then
/// the object of the step that found it (when it has related steps, or nothing else).
std::vector<std::string> involved_objects(const Finding& finding);

/// The causal slice: the steps of the finding's trace that touched `objects` (usually
/// involved_objects(finding)), and the step that found it, in trace order. The text and HTML
/// reports both show it.
std::vector<RichStep> causal_slice(const Finding& finding, const std::vector<std::string>& objects);

}  // namespace hc::reports

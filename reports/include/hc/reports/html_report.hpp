// hc/reports/html_report.hpp — the HTML report of a finding: one self-contained file (no
// network, no external scripts or fonts) with a swimlane timeline.
//
//   std::string html = hc::reports::format_html({.scenario = "x", .strategy = "dfs",
//                                                .finding = f, .replay_command = cmd});
//
// One lane per thread (the finalizer too), in order of first appearance; each step a box with
// its operation, object, label, value and source line; the finding's step highlighted; the
// steps the finding refers to (Finding::related_steps, never parsed from the message) linked
// to it; details on hover.
#pragma once

#include <string>

#include "hc/finding.hpp"

namespace hc::reports {

struct HtmlReportInput {
  std::string scenario;
  std::string strategy;
  Finding finding;  // its trace (RichStep list) is the timeline
  std::string replay_command;
};

std::string format_html(const HtmlReportInput& input);

}  // namespace hc::reports

// html_report.cpp — the HTML report of a finding: one self-contained document (inline CSS and
// JavaScript, no network) with a header, a banner and a swimlane timeline.
//
// Layout: one CSS grid; column 1 is the step-number gutter, then one column per thread (a
// `.lane`, in order of first appearance in the trace). Every lane and the gutter are subgrids
// spanning all rows, so row k+1 is step k in every lane and the rows size to their one box.
// The finding's box is `.finding`, the boxes of the steps it refers to (Finding::related_steps,
// recorded by its reporter, never read from the message) are `.related`; the inline script
// draws an SVG arrow from each related box to the finding's box and redraws on resize.
// Everything the document shows is in the markup; the script only adds the arrows.
//
// Deterministic: the output depends on the input only (no time, no addresses, vectors only).
#include "hc/reports/html_report.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace hc::reports {
namespace {

/// Text for element content and attribute values; newlines become &#10; when `attribute`.
std::string escape(std::string_view text, bool attribute = false) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += attribute ? "&#13;" : "\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// A "step N" in the finding's message: [begin, end) in the message, and N. For presentation
/// only: it becomes a link when N is one of the finding's related_steps; what is related is
/// never decided from the text.
struct StepMention {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::uint32_t step = 0;
};

/// Every "step N" (or "Step N") in `message` that stands as words: not "xstep 3", not "step 3a".
std::vector<StepMention> step_mentions(std::string_view message) {
  std::vector<StepMention> out;
  constexpr std::string_view kWord = "tep ";
  for (std::size_t i = 0; i + 6 <= message.size(); ++i) {
    if (message[i] != 's' && message[i] != 'S') continue;
    if (message.substr(i + 1, kWord.size()) != kWord) continue;
    if (i > 0 && is_word_char(message[i - 1])) continue;
    std::size_t j = i + 1 + kWord.size();
    std::uint64_t n = 0;
    const std::size_t digits_begin = j;
    while (j < message.size() && message[j] >= '0' && message[j] <= '9' && j - digits_begin < 9) {
      n = n * 10 + static_cast<std::uint64_t>(message[j] - '0');
      ++j;
    }
    if (j == digits_begin) continue;
    if (j < message.size() && is_word_char(message[j])) continue;
    out.push_back({i, j, static_cast<std::uint32_t>(n)});
    i = j - 1;
  }
  return out;
}

struct Lane {
  ThreadId thread = kNoThread;
  std::string name;
  std::size_t steps = 0;
};

std::string lane_name(const RichStep& s) {
  if (!s.thread_name.empty()) return s.thread_name;
  if (s.thread == kNoThread) return "(no thread)";
  return fmt::format("thread #{}", static_cast<unsigned>(s.thread));
}

std::string where(std::string_view file, std::uint32_t line) {
  if (line == 0) return std::string(file);
  return fmt::format("{}:{}", file, line);
}

/// The hover text of a step box: every field, one per line.
std::string step_title(const RichStep& s) {
  std::string t = fmt::format("step {}\nthread: {} (#{})\noperation: {}", s.index, lane_name(s),
                              static_cast<unsigned>(s.thread), s.operation);
  t += fmt::format("\nobject: {}", s.object.empty() ? "-" : s.object);
  t += fmt::format("\nlabel: {}", s.label.empty() ? "-" : s.label);
  t += s.has_value ? fmt::format("\nvalue: {}", s.value) : std::string("\nvalue: -");
  t += fmt::format("\nsource: {}", s.line != 0 ? where(s.file, s.line) : std::string("-"));
  t += fmt::format("\npreemption: {}", s.preemption ? "yes" : "no");
  return t;
}

constexpr std::string_view kStyle = R"css(
:root {
  --bg: #f6f8fa; --card: #ffffff; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --finding: #cf222e; --finding-bg: #ffebe9; --related: #9a6700; --related-bg: #fff8c5;
  --preempt: #8250df; --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo,
  Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
header.report { background: var(--card); border-bottom: 1px solid var(--line);
  padding: 14px 24px 12px; }
header.report h1 { margin: 0 0 8px; font-size: 18px; font-weight: 600; }
header.report h1 .kind { color: var(--finding); font-family: var(--mono); }
dl.facts { display: flex; flex-wrap: wrap; gap: 3px 22px; margin: 0 0 10px; }
dl.facts div { display: flex; gap: 7px; align-items: baseline; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
pre.message { margin: 0 0 10px; padding: 8px 12px; white-space: pre-wrap; overflow-wrap: anywhere;
  background: var(--finding-bg); border-left: 4px solid var(--finding); border-radius: 4px; }
pre.replay { margin: 0; padding: 8px 12px; white-space: pre-wrap; overflow-wrap: anywhere;
  background: #eff2f5; border-radius: 4px; user-select: all; }
a.step-ref { color: var(--related); font-weight: 600; text-decoration: underline dotted;
  white-space: nowrap; }
a.step-ref.is-finding { color: var(--finding); }
.section-label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; margin: 0 0 3px; }
#finding-banner { margin: 14px 24px 0; padding: 10px 14px; background: var(--finding);
  color: #fff; border-radius: 6px; display: flex; flex-wrap: wrap; gap: 6px 18px;
  align-items: baseline; }
#finding-banner strong { font-size: 15px; }
#finding-banner a { color: #fff; font-weight: 600; }
#finding-banner .where { font-family: var(--mono); font-size: 12.5px; opacity: .95; }
.legend { margin: 10px 24px 0; color: var(--muted); font-size: 12px; display: flex;
  flex-wrap: wrap; gap: 4px 18px; align-items: center; }
.legend .swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px;
  vertical-align: -1px; margin-right: 5px; border: 2px solid; }
.legend .sw-finding { background: var(--finding-bg); border-color: var(--finding); }
.legend .sw-related { background: var(--related-bg); border-color: var(--related); }
.legend .sw-preempt { background: var(--card); border-color: var(--preempt); border-style: dashed; }
.legend .sw-link { width: 22px; height: 0; border-width: 2px 0 0; border-color: var(--finding);
  vertical-align: 3px; }
main { padding: 10px 24px 40px; }
.empty { color: var(--muted); font-style: italic; }
.timeline { position: relative; display: grid; column-gap: 40px; padding-right: 40px;
  min-width: min-content; }
.gutter, .lane { display: grid; grid-template-rows: subgrid; }
.gutter { margin-right: -30px; }
.gutter .cell { font-family: var(--mono); font-size: 11.5px; color: var(--muted);
  text-align: right; padding: 10px 2px 0 0; }
.gutter .cell.finding-row { color: var(--finding); font-weight: 700; }
.gutter .cell.related-row { color: var(--related); font-weight: 700; }
.lane { background: linear-gradient(to right, transparent calc(50% - 1px), var(--line)
  calc(50% - 1px), var(--line) calc(50% + 1px), transparent calc(50% + 1px));
  border-radius: 6px; }
.lane-head { position: sticky; top: 0; z-index: 3; background: var(--card);
  border: 1px solid var(--line); border-top: 4px solid var(--lane); border-radius: 6px;
  padding: 5px 10px; margin-bottom: 4px; }
.lane-head .name { font-family: var(--mono); font-weight: 700; font-size: 13px; }
.lane-head .meta { color: var(--muted); font-size: 11.5px; }
.lane-head .tag { color: var(--finding); font-weight: 700; }
.step { position: relative; z-index: 1; margin: 3px 0; padding: 4px 9px 5px;
  background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--lane);
  border-radius: 6px; box-shadow: 0 1px 2px rgba(31, 35, 40, .08); font-size: 12px;
  overflow-wrap: anywhere; scroll-margin-top: 80px; }
.step .top { display: flex; gap: 8px; align-items: baseline; }
.step .no { font-family: var(--mono); color: var(--muted); }
.step .op { font-family: var(--mono); font-weight: 700; }
.step .badge { margin-left: auto; font-size: 10.5px; font-weight: 700; padding: 0 6px;
  border-radius: 8px; white-space: nowrap; }
.step .what { display: flex; flex-wrap: wrap; gap: 0 10px; }
.step .obj { font-family: var(--mono); }
.step .lbl { color: var(--ink); }
.step .val { font-family: var(--mono); font-weight: 700; }
.step .src { font-family: var(--mono); font-size: 11px; color: var(--muted); }
.step.preempted { outline: 2px dashed var(--preempt); outline-offset: 1px; }
.step .badge.preempt { color: var(--preempt); border: 1px solid var(--preempt); }
.step.related { background: var(--related-bg); border-color: var(--related);
  border-left-color: var(--related); }
.step .badge.related { color: #fff; background: var(--related); }
.step.finding { background: var(--finding-bg); border: 2px solid var(--finding);
  border-left-width: 6px; box-shadow: 0 0 0 4px rgba(207, 34, 46, .18); }
.step .badge.finding { color: #fff; background: var(--finding); }
.step:target { box-shadow: 0 0 0 4px rgba(9, 105, 218, .45); }
.step:hover { border-color: #0969da; }
svg#links { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none;
  z-index: 0; }
svg#links path.link { fill: none; stroke: var(--finding); stroke-width: 2.5; }
svg#links path.link.hot { stroke-width: 4; opacity: 1; }
svg#links circle.link-end { fill: var(--related); }
)css";

// Draws an arrow from every .related box to the .finding box (an SVG path in svg#links) and
// redraws on resize. The SVG namespace is taken from the inline <svg> (no URL in the file).
constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var timeline = document.getElementById('timeline');
  var svg = document.getElementById('links');
  if (!timeline || !svg) return;
  var ns = svg.namespaceURI;
  var target = timeline.querySelector('.step.finding');
  var related = Array.prototype.slice.call(timeline.querySelectorAll('.step.related'));
  function box(el, base) {
    var r = el.getBoundingClientRect();
    return { l: r.left - base.left, r: r.right - base.left, t: r.top - base.top,
             b: r.bottom - base.top, cy: (r.top + r.bottom) / 2 - base.top };
  }
  function num(x) { return Math.round(x * 10) / 10; }
  function draw() {
    Array.prototype.slice.call(svg.querySelectorAll('.link, .link-end')).forEach(function (n) {
      svg.removeChild(n);
    });
    svg.setAttribute('width', timeline.scrollWidth);
    svg.setAttribute('height', timeline.scrollHeight);
    if (!target) { timeline.setAttribute('data-links', '0'); return; }
    var base = timeline.getBoundingClientRect();
    var to = box(target, base);
    // Where each arrow leaves its box and which side of the finding's box it ends on.
    var links = related.map(function (el) {
      var from = box(el, base);
      if (Math.abs(from.l - to.l) < 4) return { el: el, from: from, x1: from.r, side: 'r', same: true };
      if (from.r <= to.l) return { el: el, from: from, x1: from.r, side: 'l', same: false };
      return { el: el, from: from, x1: from.l, side: 'r', same: false };
    });
    // Arrows ending on one side are spread along it, top source to top end.
    ['l', 'r'].forEach(function (side) {
      var group = links.filter(function (k) { return k.side === side; });
      group.sort(function (a, b) { return a.from.cy - b.from.cy; });
      group.forEach(function (k, i) {
        k.y2 = to.t + (to.b - to.t) * (i + 1) / (group.length + 1);
      });
    });
    links.forEach(function (k) {
      var x1 = k.x1, y1 = k.from.cy, x2 = k.side === 'l' ? to.l : to.r, y2 = k.y2, c1, c2;
      if (k.same) {
        // Same lane: leave on the right and run down the gap between the lanes.
        c1 = x1 + 26; c2 = x2 + 26;
      } else {
        c1 = (x1 + x2) / 2; c2 = c1;
      }
      var d = 'M' + num(x1) + ',' + num(y1) + ' C' + num(c1) + ',' + num(y1) + ' ' +
              num(c2) + ',' + num(y2) + ' ' + num(x2) + ',' + num(y2);
      var path = document.createElementNS(ns, 'path');
      path.setAttribute('class', 'link');
      path.setAttribute('d', d);
      path.setAttribute('marker-end', 'url(#arrow)');
      path.setAttribute('data-from', k.el.getAttribute('data-step'));
      path.setAttribute('data-to', target.getAttribute('data-step'));
      svg.appendChild(path);
      var dot = document.createElementNS(ns, 'circle');
      dot.setAttribute('class', 'link-end');
      dot.setAttribute('cx', num(x1));
      dot.setAttribute('cy', num(y1));
      dot.setAttribute('r', '4');
      svg.appendChild(dot);
    });
    timeline.setAttribute('data-links', String(related.length));
  }
  function hot(step, on) {
    Array.prototype.slice.call(svg.querySelectorAll('.link')).forEach(function (p) {
      if (p.getAttribute('data-from') === step || p.getAttribute('data-to') === step) {
        p.classList.toggle('hot', on);
      }
    });
  }
  Array.prototype.slice.call(document.querySelectorAll('.step.related, .step.finding, a.step-ref'))
    .forEach(function (el) {
      var step = el.getAttribute('data-step');
      el.addEventListener('mouseenter', function () { hot(step, true); });
      el.addEventListener('mouseleave', function () { hot(step, false); });
    });
  draw();
  window.addEventListener('resize', draw);
  window.addEventListener('load', draw);
})();
)js";

}  // namespace

std::string format_html(const HtmlReportInput& input) {
  const Finding& f = input.finding;
  const std::vector<RichStep>& trace = f.trace;
  const std::string kind(finding_kind_name(f.kind));

  // The finding's box: the step it names, else (0, or beyond the trace) the last step.
  std::size_t finding_pos = trace.size();  // trace.size(): no box
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (f.step != 0 && trace[i].index == f.step) finding_pos = i;
  }
  if (finding_pos == trace.size() && !trace.empty()) finding_pos = trace.size() - 1;
  const std::uint32_t finding_step = finding_pos < trace.size() ? trace[finding_pos].index : 0;

  auto position_of = [&](std::uint32_t step) -> std::size_t {
    for (std::size_t i = 0; i < trace.size(); ++i) {
      if (trace[i].index == step) return i;
    }
    return trace.size();
  };

  // Related steps: the steps the finding refers to (its reporter's related_steps, in their
  // order) that have a box, other than the finding's.
  auto refers_to = [&](std::uint32_t step) {
    return std::find(f.related_steps.begin(), f.related_steps.end(), step) != f.related_steps.end();
  };
  std::vector<std::uint32_t> related;
  for (const std::uint32_t step : f.related_steps) {
    if (position_of(step) == trace.size() || step == finding_step) continue;
    if (std::find(related.begin(), related.end(), step) == related.end()) related.push_back(step);
  }
  auto is_related = [&](std::uint32_t step) {
    return std::find(related.begin(), related.end(), step) != related.end();
  };

  // Lanes, in order of first appearance.
  std::vector<Lane> lanes;
  std::vector<std::size_t> lane_of(trace.size());
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const RichStep& s = trace[i];
    const std::string name = lane_name(s);
    auto it = std::find_if(lanes.begin(), lanes.end(),
                           [&](const Lane& l) { return l.thread == s.thread && l.name == name; });
    if (it == lanes.end()) {
      lanes.push_back({s.thread, name, 0});
      it = lanes.end() - 1;
    }
    ++it->steps;
    lane_of[i] = static_cast<std::size_t>(it - lanes.begin());
  }

  std::string out;
  auto put = std::back_inserter(out);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  fmt::format_to(put, "<title>handlecheck: {} in {}</title>\n", escape(kind),
                 escape(input.scenario));
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";

  // --- header -----------------------------------------------------------------------------------
  out += "<header class=\"report\">\n";
  fmt::format_to(put, "<h1>handlecheck finding: <span class=\"kind\">{}</span> in {}</h1>\n",
                 escape(kind), escape(input.scenario));
  out += "<dl class=\"facts\">\n";
  fmt::format_to(put, "<div><dt>scenario</dt><dd id=\"scenario\">{}</dd></div>\n",
                 escape(input.scenario));
  fmt::format_to(put, "<div><dt>strategy</dt><dd id=\"strategy\">{}</dd></div>\n",
                 escape(input.strategy));
  fmt::format_to(put, "<div><dt>finding</dt><dd id=\"kind\">{}</dd></div>\n", escape(kind));
  if (!f.thread_name.empty()) {
    fmt::format_to(put, "<div><dt>thread</dt><dd>{}</dd></div>\n", escape(f.thread_name));
  }
  if (f.line != 0)
    fmt::format_to(put, "<div><dt>reported at</dt><dd>{}</dd></div>\n",
                   escape(where(f.file, f.line)));
  if (finding_step != 0) {
    fmt::format_to(put,
                   "<div><dt>step</dt><dd><a class=\"step-ref is-finding\" href=\"#step-{0}\" "
                   "data-step=\"{0}\">step {0}</a>{1}</dd></div>\n",
                   finding_step, f.step == finding_step ? "" : " (the last step)");
  }
  if (!trace.empty()) {
    fmt::format_to(
        put,
        "<div><dt>interleaving</dt><dd>{} step{}, {} thread{}, {} preemption{}, found by "
        "execution {}</dd></div>\n",
        trace.size(), trace.size() == 1 ? "" : "s", lanes.size(), lanes.size() == 1 ? "" : "s",
        f.preemptions, f.preemptions == 1 ? "" : "s", f.execution + 1);
  }
  out += "</dl>\n";

  // The message, with the "step N" of the steps the finding refers to as anchors to their boxes
  // (a number it does not refer to, or without a box, stays text).
  out += "<div class=\"section-label\">message</div>\n<pre class=\"message\" id=\"message\">";
  std::size_t at = 0;
  for (const StepMention& m : step_mentions(f.message)) {
    out += escape(std::string_view(f.message).substr(at, m.begin - at));
    const std::string_view text = std::string_view(f.message).substr(m.begin, m.end - m.begin);
    if (refers_to(m.step) && position_of(m.step) != trace.size()) {
      fmt::format_to(put, "<a class=\"step-ref{}\" href=\"#step-{}\" data-step=\"{}\">{}</a>",
                     m.step == finding_step ? " is-finding" : "", m.step, m.step, escape(text));
    } else {
      out += escape(text);
    }
    at = m.end;
  }
  out += escape(std::string_view(f.message).substr(at));
  out += "</pre>\n";
  if (!input.replay_command.empty()) {
    fmt::format_to(put,
                   "<div class=\"section-label\">replay</div>\n<pre class=\"replay\" "
                   "id=\"replay\"><code>{}</code></pre>\n",
                   escape(input.replay_command));
  }
  out += "</header>\n";

  // --- banner -----------------------------------------------------------------------------------
  out += "<div id=\"finding-banner\" role=\"alert\">\n";
  fmt::format_to(put, "<strong>{}</strong>", escape(kind));
  if (finding_step != 0) {
    const RichStep& s = trace[finding_pos];
    fmt::format_to(put,
                   "<span>found at <a href=\"#step-{0}\" data-step=\"{0}\">step {0}</a> in "
                   "thread '{1}'</span>",
                   finding_step, escape(lane_name(s)));
    const std::string site = f.line != 0 ? where(f.file, f.line) : where(s.file, s.line);
    if (!site.empty()) fmt::format_to(put, "<span class=\"where\">{}</span>", escape(site));
  } else {
    out += "<span>found at the end of the execution (no interleaving recorded)</span>";
  }
  if (!related.empty()) {
    out += "<span>related: ";
    for (std::size_t i = 0; i < related.size(); ++i) {
      fmt::format_to(put, "{}<a href=\"#step-{}\" data-step=\"{}\">step {}</a>", i == 0 ? "" : ", ",
                     related[i], related[i], related[i]);
    }
    out += "</span>";
  }
  out += "\n</div>\n";
  out +=
      "<div class=\"legend\"><span><span class=\"swatch sw-finding\"></span>the finding's "
      "step</span><span><span class=\"swatch sw-related\"></span>a step its message "
      "names</span><span><span class=\"swatch sw-link\"></span>link to the finding</span><span>"
      "<span class=\"swatch sw-preempt\"></span>preemption (the previous thread could have "
      "continued)</span><span>hover a box for every field</span></div>\n";

  // --- timeline ---------------------------------------------------------------------------------
  out += "<main>\n";
  if (trace.empty()) {
    out += "<p class=\"empty\">No interleaving was recorded for this finding.</p>\n";
  } else {
    const std::size_t rows = trace.size() + 1;
    fmt::format_to(put,
                   "<div class=\"timeline\" id=\"timeline\" data-threads=\"{}\" data-steps=\"{}\" "
                   "style=\"grid-template-columns: 3.2em repeat({}, minmax(15em, 1fr)); "
                   "grid-template-rows: auto repeat({}, auto)\">\n",
                   lanes.size(), trace.size(), lanes.size(), trace.size());
    out +=
        "<svg id=\"links\" aria-hidden=\"true\" width=\"0\" height=\"0\"><defs><marker "
        "id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
        "fill=\"#cf222e\"></path></marker></defs></svg>\n";

    // The gutter: step numbers, preemptions starred like the text report.
    fmt::format_to(put, "<div class=\"gutter\" style=\"grid-column: 1; grid-row: 1 / span {}\">",
                   rows);
    out += "<div class=\"cell\"></div>";
    for (std::size_t i = 0; i < trace.size(); ++i) {
      const RichStep& s = trace[i];
      const char* cls = i == finding_pos      ? " finding-row"
                        : is_related(s.index) ? " related-row"
                                              : "";
      fmt::format_to(put, "<div class=\"cell{}\" style=\"grid-row: {}\">{}{}</div>", cls, i + 2,
                     s.index, s.preemption ? "*" : "");
    }
    out += "</div>\n";

    // A colour per lane, by position: deterministic.
    static constexpr std::string_view kPalette[] = {"#0969da", "#1a7f37", "#bc4c00", "#8250df",
                                                    "#bf3989", "#0a7b83", "#6e7781", "#953800"};
    for (std::size_t l = 0; l < lanes.size(); ++l) {
      const Lane& lane = lanes[l];
      const bool finding_lane = finding_pos < trace.size() && lane_of[finding_pos] == l;
      fmt::format_to(put,
                     "<div class=\"lane{}\" data-thread=\"{}\" data-thread-id=\"{}\" "
                     "style=\"--lane: {}; grid-column: {}; grid-row: 1 / span {}\">\n",
                     finding_lane ? " finding-lane" : "", escape(lane.name, true),
                     static_cast<unsigned>(lane.thread), kPalette[l % std::size(kPalette)], l + 2,
                     rows);
      fmt::format_to(put,
                     "<div class=\"lane-head\" style=\"grid-row: 1\"><div class=\"name\">{}</div>"
                     "<div class=\"meta\">thread #{} &middot; {} step{}{}</div></div>\n",
                     escape(lane.name), static_cast<unsigned>(lane.thread), lane.steps,
                     lane.steps == 1 ? "" : "s",
                     finding_lane ? " &middot; <span class=\"tag\">finding</span>" : "");
      for (std::size_t i = 0; i < trace.size(); ++i) {
        if (lane_of[i] != l) continue;
        const RichStep& s = trace[i];
        const bool is_finding = i == finding_pos;
        const bool rel = !is_finding && is_related(s.index);
        std::string cls = "step";
        if (is_finding) cls += " finding";
        if (rel) cls += " related";
        if (s.preemption) cls += " preempted";
        fmt::format_to(put,
                       "<div class=\"{}\" id=\"step-{}\" data-step=\"{}\" style=\"grid-row: {}\" "
                       "title=\"{}\">",
                       cls, s.index, s.index, i + 2, escape(step_title(s), true));
        fmt::format_to(put,
                       "<div class=\"top\"><span class=\"no\">#{}</span><span "
                       "class=\"op\">{}</span>",
                       s.index, escape(s.operation));
        if (is_finding) out += "<span class=\"badge finding\">FINDING</span>";
        if (rel) out += "<span class=\"badge related\">related</span>";
        if (s.preemption) out += "<span class=\"badge preempt\">preempted</span>";
        out += "</div>";
        if (!s.object.empty() || !s.label.empty() || s.has_value) {
          out += "<div class=\"what\">";
          if (!s.object.empty()) {
            fmt::format_to(put, "<span class=\"obj\">{}</span>", escape(s.object));
          }
          if (!s.label.empty() || s.has_value) {
            out += "<span class=\"lbl\">";
            out += escape(s.label);
            if (s.has_value) {
              fmt::format_to(put, "{}<span class=\"val\">&rarr; {}</span>",
                             s.label.empty() ? "" : " ", s.value);
            }
            out += "</span>";
          }
          out += "</div>";
        }
        if (s.line != 0 || !s.file.empty()) {
          fmt::format_to(put, "<div class=\"src\">{}</div>", escape(where(s.file, s.line)));
        }
        out += "</div>\n";
      }
      out += "</div>\n";
    }
    out += "</div>\n";
  }
  out += "</main>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace hc::reports

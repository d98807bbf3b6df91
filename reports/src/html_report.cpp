// html_report.cpp — the HTML report of a finding: one self-contained document (inline CSS and
// JavaScript, no network) with a header, a banner, the lifecycle of the objects involved, the
// causal slice and a swimlane timeline.
//
// Layout: the timeline is one CSS grid inside a scroll container (`.scroller`, both axes); its
// column 1 is the step-number gutter, sticky on the left, then one column per thread (a `.lane`:
// threads in order of first appearance in the trace, then the threads a deadlock left blocked
// that never ran a step). Every lane and the gutter are subgrids spanning all rows; row 1 holds
// the lane heads (sticky on top), and each later row holds exactly one box, so rows size to it.
// With too many lanes for the width the container scrolls sideways and the gutter stays put;
// the page itself never gets wider than the window.
//
// Rows: a step is a `.step` box. A run of identical steps (the same thread doing the same thing
// at the same place with the same result, the pattern repeated at least kMinRepeats times with a
// period of up to kMaxPeriod steps) is folded: a `.fold-note` row says which steps and how many
// times, then one box per step of the pattern with its count ("x1998"). The finding's step and
// the steps it refers to are never folded. Consecutive boxes of one thread from one call site
// that include a model operation (a model call such as ICorDebug's Continue runs many steps)
// are wrapped in a `.call` group (a subgrid in the lane). A deadlock adds a last row: each
// blocked thread's pending operation as a `.step.blocked` box.
//
// The inline script draws SVG arrows (related step -> finding; blocked thread -> the thread it
// waits for, `.cycle` on the wait-for cycle) and redraws on resize; with `#hc-layout` in the URL
// it also writes the measured layout as JSON into `<pre id="hc-layout">` (the Chromium test
// reads it from --dump-dom); with `#timeline-only` it hides everything above the timeline.
// Everything the document says is in the markup; the script only draws arrows and toggles views.
//
// Deterministic: the output depends on the input only (no time, no addresses, vectors only).
#include "hc/reports/html_report.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hc/reports/text_report.hpp"

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
  bool blocked = false;  // a deadlock left it blocked
};

std::string lane_name(ThreadId thread, const std::string& name) {
  if (!name.empty()) return name;
  if (thread == kNoThread) return "(no thread)";
  return fmt::format("thread #{}", static_cast<unsigned>(thread));
}

std::string lane_name(const RichStep& s) {
  return lane_name(s.thread, s.thread_name);
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

// --- folding -------------------------------------------------------------------------------------

/// A pattern must repeat this many times to be folded ("x3" and more).
constexpr std::size_t kMinRepeats = 3;
/// The longest pattern folded: two threads taking turns in a livelock, a spin loop of a few
/// operations.
constexpr std::size_t kMaxPeriod = 8;

/// Whether `b` repeats `a`: the same thread doing the same thing to the same object at the same
/// place with the same result (the step number aside).
bool same_step(const RichStep& a, const RichStep& b) {
  return a.thread == b.thread && a.operation == b.operation && a.object == b.object &&
         a.label == b.label && a.has_value == b.has_value && (!a.has_value || a.value == b.value) &&
         a.line == b.line && a.file == b.file && a.preemption == b.preemption;
}

/// Steps [begin, begin + period * repeats): `period` steps repeated `repeats` times; a single
/// step is {i, 1, 1}.
struct Run {
  std::size_t begin = 0;
  std::size_t period = 1;
  std::size_t repeats = 1;
  bool folded() const { return repeats > 1; }
  std::size_t end() const { return begin + period * repeats; }
};

/// `steps` cut into runs, in order: at each position the pattern (period 1 to kMaxPeriod) that
/// repeats at least kMinRepeats times and covers the most steps (the shortest on a tie), else
/// a single step. A pinned step (the finding's, a related one) is never part of a fold.
std::vector<Run> fold_runs(std::span<const RichStep> steps,
                           const std::function<bool(std::size_t)>& pinned) {
  std::vector<Run> out;
  const std::size_t n = steps.size();
  std::size_t i = 0;
  while (i < n) {
    Run best{i, 1, 1};
    for (std::size_t k = 1; k <= kMaxPeriod && i + k * kMinRepeats <= n; ++k) {
      if (pinned(i + k - 1)) break;  // the pattern itself would hold a pinned step
      std::size_t j = i + k;
      while (j < n && !pinned(j) && same_step(steps[j - k], steps[j]))
        ++j;
      const std::size_t repeats = (j - i) / k;
      if (repeats >= kMinRepeats && k * repeats > best.period * best.repeats)
        best = {i, k, repeats};
    }
    out.push_back(best);
    i = best.end();
  }
  return out;
}

// --- the timeline's rows -------------------------------------------------------------------------

/// A box in the timeline: trace position `pos`, and when folded the same step every `period`
/// positions, `repeats` times.
struct Box {
  std::size_t pos = 0;
  std::size_t period = 1;
  std::size_t repeats = 1;
  std::size_t row = 0;  // grid row (row 1: the lane heads)
  std::size_t lane = 0;
};

/// Consecutive boxes of one lane from one call site: boxes[first .. last] of that lane's list.
struct CallGroup {
  std::size_t first = 0;  // indices into Layout::lane_boxes[lane]
  std::size_t last = 0;
  std::size_t steps = 0;
  std::string name;  // the first model step's label: the call ("Continue")
};

constexpr std::string_view kStyle = R"css(
:root {
  --bg: #f6f8fa; --card: #ffffff; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --finding: #cf222e; --finding-bg: #ffebe9; --related: #9a6700; --related-bg: #fff8c5;
  --preempt: #8250df; --fold: #0a7b83; --fold-bg: #e6f6f7; --mono: ui-monospace,
  "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
header.report { background: var(--card); border-bottom: 1px solid var(--line);
  padding: 14px 24px 12px; }
header.report h1 { margin: 0 0 8px; font-size: 18px; font-weight: 600; overflow-wrap: anywhere; }
header.report h1 .kind { color: var(--finding); font-family: var(--mono); }
dl.facts { display: flex; flex-wrap: wrap; gap: 3px 22px; margin: 0 0 10px; }
dl.facts div { display: flex; gap: 7px; align-items: baseline; min-width: 0; }
dl.facts dt { color: var(--muted); white-space: nowrap; }
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
#finding-banner .where { font-family: var(--mono); font-size: 12.5px; opacity: .95;
  overflow-wrap: anywhere; }
.legend { margin: 10px 24px 0; color: var(--muted); font-size: 12px; display: flex;
  flex-wrap: wrap; gap: 4px 18px; align-items: center; }
.legend .swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px;
  vertical-align: -1px; margin-right: 5px; border: 2px solid; }
.legend .sw-finding { background: var(--finding-bg); border-color: var(--finding); }
.legend .sw-related { background: var(--related-bg); border-color: var(--related); }
.legend .sw-preempt { background: var(--card); border-color: var(--preempt); border-style: dashed; }
.legend .sw-fold { background: var(--fold-bg); border-color: var(--fold); }
.legend .sw-link { width: 22px; height: 0; border-width: 2px 0 0; border-color: var(--finding);
  vertical-align: 3px; }
section.story { margin: 12px 24px 0; padding: 10px 14px; background: var(--card);
  border: 1px solid var(--line); border-radius: 6px; }
.lifecycle { margin: 0; padding: 0; list-style: none; }
.lifecycle li { margin: 3px 0; line-height: 1.9; }
.lifecycle .object { font-family: var(--mono); font-weight: 700; margin-right: 8px; }
.lifecycle a.life-step { display: inline-block; font-family: var(--mono); font-size: 12px;
  line-height: 1.5; padding: 0 7px; border: 1px solid var(--line); border-radius: 10px;
  color: var(--ink); text-decoration: none; background: var(--bg); white-space: nowrap; }
.lifecycle a.life-step.finding { border-color: var(--finding); background: var(--finding-bg);
  color: var(--finding); font-weight: 700; }
.lifecycle a.life-step.related { border-color: var(--related); background: var(--related-bg); }
.lifecycle .arrow { color: var(--muted); margin: 0 3px; }
details.slice summary { cursor: pointer; }
.slice-table { overflow-x: auto; }
table.steps { border-collapse: collapse; margin-top: 6px; font-size: 12px; }
table.steps th { text-align: left; color: var(--muted); font-weight: 600; padding: 2px 10px 2px 0; }
table.steps td { font-family: var(--mono); padding: 2px 10px 2px 0; white-space: nowrap;
  vertical-align: top; }
table.steps tr.finding td { color: var(--finding); font-weight: 700; }
table.steps tr.related td { background: var(--related-bg); }
main { padding: 10px 24px 40px; }
.empty { color: var(--muted); font-style: italic; }
.controls { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 6px; font-size: 12.5px;
  color: var(--muted); }
.scroller { overflow: auto; max-height: calc(100vh - 16px); border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); overscroll-behavior: contain; }
.timeline { position: relative; display: grid; column-gap: 28px; padding: 0 28px 12px 0;
  min-width: min-content; }
.gutter, .lane, .call { display: grid; grid-template-rows: subgrid; }
.gutter { position: sticky; left: 0; z-index: 5; background: var(--bg);
  border-right: 1px solid var(--line); margin-right: -18px; }
.gutter .cell { font-family: var(--mono); font-size: 11.5px; color: var(--muted);
  text-align: right; padding: 10px 5px 0 2px; white-space: nowrap; }
.gutter .cell.head { position: sticky; top: 0; z-index: 6; background: var(--bg); }
.gutter .cell.finding-row { color: var(--finding); font-weight: 700; }
.gutter .cell.related-row { color: var(--related); font-weight: 700; }
.gutter .cell.fold-row { color: var(--fold); font-weight: 700; }
.gutter .cell.blocked-row { color: var(--finding); }
.lane { background: linear-gradient(to right, transparent calc(50% - 1px), var(--line)
  calc(50% - 1px), var(--line) calc(50% + 1px), transparent calc(50% + 1px));
  border-radius: 6px; min-width: 0; }
.lane-head { position: sticky; top: 0; z-index: 3; background: var(--card);
  border: 1px solid var(--line); border-top: 4px solid var(--lane); border-radius: 0 0 6px 6px;
  padding: 5px 10px; margin-bottom: 4px; min-width: 0; }
.lane-head .name { font-family: var(--mono); font-weight: 700; font-size: 13px;
  overflow-wrap: anywhere; }
.lane-head .meta { color: var(--muted); font-size: 11.5px; }
.lane-head .tag { color: var(--finding); font-weight: 700; }
.fold-note { grid-column: 1 / -1; z-index: 2; margin: 6px 0 0; padding: 0; font-size: 12px;
  color: var(--fold); pointer-events: none; }
.fold-note span { position: sticky; left: 4.2em; display: inline-block; padding: 1px 8px;
  background: var(--fold-bg); border: 1px dashed var(--fold); border-radius: 10px;
  pointer-events: auto; }
.fold-note.blocked-note { color: var(--finding); }
.fold-note.blocked-note span { background: var(--finding-bg); border-color: var(--finding); }
.call { position: relative; border: 1px dashed var(--lane); border-left: 4px solid var(--lane);
  border-radius: 6px; padding: 20px 4px 0; margin: 2px -6px; background: rgba(255, 255, 255, .45); }
.call-head { position: absolute; top: 1px; left: 6px; right: 4px; font-size: 11px;
  color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.call-head .call-name { font-family: var(--mono); font-weight: 700; color: var(--ink); }
.call-head button { font: inherit; font-size: 10.5px; padding: 0 5px; margin-right: 4px;
  border: 1px solid var(--line); border-radius: 4px; background: var(--card); cursor: pointer; }
.call.compact .step:not(.finding):not(.related) .what,
.call.compact .step:not(.finding):not(.related) .src { display: none; }
.step { position: relative; z-index: 1; margin: 3px 0; padding: 4px 9px 5px; min-width: 0;
  background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--lane);
  border-radius: 6px; box-shadow: 0 1px 2px rgba(31, 35, 40, .08); font-size: 12px;
  overflow-wrap: break-word; scroll-margin-top: 80px; }
.step .top { display: flex; flex-wrap: wrap; gap: 0 8px; align-items: baseline; }
.step .no, .step .op, .step .count { font-family: var(--mono); white-space: nowrap; }
.step .no { color: var(--muted); }
.step .op { font-weight: 700; }
.step .count { color: #fff; background: var(--fold); font-weight: 700; padding: 0 5px;
  border-radius: 8px; }
.step .badge { margin-left: auto; font-size: 10.5px; font-weight: 700; padding: 0 6px;
  border-radius: 8px; white-space: nowrap; }
.step .what { display: flex; flex-wrap: wrap; gap: 0 10px; }
.step .obj { font-family: var(--mono); overflow-wrap: anywhere; }
.step .lbl { color: var(--ink); overflow-wrap: anywhere; }
.step .val { font-family: var(--mono); font-weight: 700; white-space: nowrap; }
.step .src { font-family: var(--mono); font-size: 11px; color: var(--muted);
  overflow-wrap: anywhere; }
.step.folded { background: var(--fold-bg); border-color: var(--fold); border-left-color: var(--lane);
  border-style: dashed; border-left-style: solid; }
.step.preempted { outline: 2px dashed var(--preempt); outline-offset: 1px; }
.step .badge.preempt { color: var(--preempt); border: 1px solid var(--preempt); }
.step.related { background: var(--related-bg); border-color: var(--related);
  border-left-color: var(--related); }
.step .badge.related { color: #fff; background: var(--related); }
.step.finding { background: var(--finding-bg); border: 2px solid var(--finding);
  border-left-width: 6px; box-shadow: 0 0 0 4px rgba(207, 34, 46, .18); }
.step .badge.finding { color: #fff; background: var(--finding); }
.step.blocked { background: var(--finding-bg); border: 2px dashed var(--finding);
  border-left: 6px solid var(--finding); }
.step .badge.blocked { color: var(--finding); border: 1px solid var(--finding); }
.step .waits { color: var(--finding); }
.step:target { box-shadow: 0 0 0 4px rgba(9, 105, 218, .45); }
.step:hover { border-color: #0969da; }
.timeline.has-blocked { padding-bottom: 84px; }
.timeline.slice-only .off-slice { display: none; }
svg#links { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none;
  z-index: 4; }
svg#links path.link { fill: none; stroke: var(--finding); stroke-width: 2.5; }
svg#links path.link.hot { stroke-width: 4; opacity: 1; }
svg#links path.wait-link { fill: none; stroke: var(--muted); stroke-width: 2; stroke-dasharray: 6 4; }
svg#links path.wait-link.cycle { stroke: var(--finding); stroke-width: 3; stroke-dasharray: none; }
svg#links circle.link-end { fill: var(--related); }
#hc-layout { display: none; }
body.timeline-only header.report, body.timeline-only #finding-banner, body.timeline-only .legend,
body.timeline-only section.story { display: none; }
)css";

// Draws the arrows (an SVG path each in svg#links): from every .related box to the .finding box,
// and from every blocked thread's box to the box of the thread it waits for (data-waits-on; a
// `.cycle` arrow when both are on the wait-for cycle). Redraws on resize and when a view
// changes. The SVG namespace is taken from the inline <svg> (no URL in the file).
constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var timeline = document.getElementById('timeline');
  var svg = document.getElementById('links');
  function all(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function num(x) { return Math.round(x * 10) / 10; }
  function box(el, base) {
    var r = el.getBoundingClientRect();
    return { l: r.left - base.left, r: r.right - base.left, t: r.top - base.top,
             b: r.bottom - base.top, cy: (r.top + r.bottom) / 2 - base.top };
  }
  function visible(el) { return el.getClientRects().length > 0; }
  function path(cls, d, from, to) {
    var p = document.createElementNS(svg.namespaceURI, 'path');
    p.setAttribute('class', cls);
    p.setAttribute('d', d);
    p.setAttribute('marker-end', cls.indexOf('wait-link') === 0 ? 'url(#wait-arrow)' : 'url(#arrow)');
    p.setAttribute('data-from', from);
    p.setAttribute('data-to', to);
    svg.appendChild(p);
  }
  function curve(x1, y1, c1, c2, x2, y2) {
    return 'M' + num(x1) + ',' + num(y1) + ' C' + num(c1) + ',' + num(y1) + ' ' + num(c2) + ',' +
           num(y2) + ' ' + num(x2) + ',' + num(y2);
  }
  function drawRelated(base) {
    var target = timeline.querySelector('.step.finding');
    var related = all(timeline, '.step.related').filter(visible);
    if (!target || !visible(target)) { timeline.setAttribute('data-links', '0'); return; }
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
      group.forEach(function (k, i) { k.y2 = to.t + (to.b - to.t) * (i + 1) / (group.length + 1); });
    });
    links.forEach(function (k) {
      var x2 = k.side === 'l' ? to.l : to.r;
      // Same lane: leave on the right and run down the gap between the lanes.
      var c1 = k.same ? k.x1 + 22 : (k.x1 + x2) / 2, c2 = k.same ? x2 + 22 : c1;
      path('link', curve(k.x1, k.from.cy, c1, c2, x2, k.y2), k.el.getAttribute('data-step'),
           target.getAttribute('data-step'));
      var dot = document.createElementNS(svg.namespaceURI, 'circle');
      dot.setAttribute('class', 'link-end');
      dot.setAttribute('cx', num(k.x1));
      dot.setAttribute('cy', num(k.from.cy));
      dot.setAttribute('r', '4');
      svg.appendChild(dot);
    });
    timeline.setAttribute('data-links', String(links.length));
  }
  // A blocked thread waits for another: an arrow from its pending operation to what that thread
  // does now (its blocked box, else its last box, else its lane's head).
  function drawWaits(base) {
    var n = 0, cycle = 0;
    all(timeline, '.step.blocked[data-waits-on]').forEach(function (el) {
      var on = el.getAttribute('data-waits-on');
      var lane = timeline.querySelector('.lane[data-thread-id="' + on + '"]');
      if (!lane) return;
      var target = lane.querySelector('.step.blocked') ||
                   all(lane, '.step').filter(visible).pop() || lane.querySelector('.lane-head');
      var from = box(el, base), to = box(target, base), d;
      if (target === el) {
        // Waits for itself (a mutex it holds): a loop on its right side.
        d = 'M' + num(from.r) + ',' + num(from.cy - 8) + ' C' + num(from.r + 34) + ',' +
            num(from.t - 14) + ' ' + num(from.r + 34) + ',' + num(from.b + 14) + ' ' +
            num(from.r) + ',' + num(from.cy + 8);
      } else if (Math.abs(to.cy - from.cy) < 4) {
        // Side by side in the blocked row: an arc below the boxes, deeper for arrows going right,
        // leaving and entering at different points for the two directions.
        var right = to.l >= from.r, w1 = from.r - from.l, w2 = to.r - to.l;
        var x1 = from.l + w1 * (right ? 0.62 : 0.38), x2 = to.l + w2 * (right ? 0.38 : 0.62);
        var drop = (right ? 46 : 26) + Math.abs(x2 - x1) * 0.04;
        d = 'M' + num(x1) + ',' + num(from.b) + ' C' + num(x1) + ',' + num(from.b + drop) + ' ' +
            num(x2) + ',' + num(to.b + drop) + ' ' + num(x2) + ',' + num(to.b);
      } else {
        var rightward = to.l >= from.r, x1s = rightward ? from.r : from.l;
        var x2s = rightward ? to.l : to.r;
        d = curve(x1s, from.cy, (x1s + x2s) / 2, (x1s + x2s) / 2, x2s, to.cy);
      }
      var onCycle = el.classList.contains('on-cycle') && target.classList.contains('on-cycle');
      path(onCycle ? 'wait-link cycle' : 'wait-link', d, el.getAttribute('data-thread-id'), on);
      ++n;
      if (onCycle) ++cycle;
    });
    timeline.setAttribute('data-wait-links', String(n));
    timeline.setAttribute('data-cycle-links', String(cycle));
  }
  function draw() {
    if (!timeline || !svg) return;
    all(svg, '.link, .link-end, .wait-link').forEach(function (n) { svg.removeChild(n); });
    svg.setAttribute('width', timeline.scrollWidth);
    svg.setAttribute('height', timeline.scrollHeight);
    var base = timeline.getBoundingClientRect();
    drawRelated(base);
    drawWaits(base);
  }
  function hot(step, on) {
    all(svg, '.link').forEach(function (p) {
      if (p.getAttribute('data-from') === step || p.getAttribute('data-to') === step) {
        p.classList.toggle('hot', on);
      }
    });
  }
  all(document, '.step.related, .step.finding, a.step-ref').forEach(function (el) {
    var step = el.getAttribute('data-step');
    el.addEventListener('mouseenter', function () { hot(step, true); });
    el.addEventListener('mouseleave', function () { hot(step, false); });
  });
  all(document, '.call-head button').forEach(function (b) {
    b.addEventListener('click', function () {
      var call = b.closest('.call');
      call.classList.toggle('compact');
      b.textContent = call.classList.contains('compact') ? 'expand' : 'compact';
      draw();
    });
  });
  var sliceOnly = document.getElementById('slice-only');
  if (sliceOnly && timeline) {
    sliceOnly.addEventListener('change', function () {
      timeline.classList.toggle('slice-only', sliceOnly.checked);
      draw();
    });
  }
  // #timeline-only in the URL: the timeline alone (a small window, a screenshot of it).
  if (location.hash === '#timeline-only') document.body.classList.add('timeline-only');
  draw();
  window.addEventListener('resize', draw);
  window.addEventListener('load', draw);

  // The layout as measured, for tests (#hc-layout in the URL): what a person would see.
  if (location.hash !== '#hc-layout') return;
  var root = document.documentElement, out = { window: { w: innerWidth, h: innerHeight },
    page: { scrollWidth: root.scrollWidth } };
  function lines(el) {
    var style = getComputedStyle(el), lh = parseFloat(style.lineHeight);
    if (!(lh > 0)) lh = parseFloat(style.fontSize) * 1.45;
    return Math.round(el.getBoundingClientRect().height / lh);
  }
  if (timeline) {
    var scroller = timeline.parentElement, sr = scroller.getBoundingClientRect();
    out.scroller = { clientWidth: scroller.clientWidth, scrollWidth: scroller.scrollWidth,
      left: sr.left, right: sr.right, overflowX: getComputedStyle(scroller).overflowX };
    out.lanes = all(timeline, '.lane').map(function (lane) {
      var r = lane.getBoundingClientRect();
      return { thread: lane.getAttribute('data-thread'), left: r.left - sr.left + scroller.scrollLeft,
               right: r.right - sr.left + scroller.scrollLeft, width: r.width,
               visible: r.right <= sr.right + 1 && r.left >= sr.left - 1 };
    });
    // Every part of a step's title row stays on one line; the row wraps between its parts only.
    var maxPart = 0, maxTop = 0, worst = '';
    all(timeline, '.step').forEach(function (step) {
      all(step, '.top > *').forEach(function (part) {
        var n = lines(part);
        if (n > maxPart) { maxPart = n; worst = step.id + ' ' + part.className; }
      });
      var top = step.querySelector('.top');
      if (top) maxTop = Math.max(maxTop, lines(top));
    });
    out.titles = { maxPartLines: maxPart, maxTopLines: maxTop, worst: worst,
                   steps: all(timeline, '.step').length };
    // Scrolled to the far right, the gutter is still at the left edge.
    scroller.scrollLeft = scroller.scrollWidth;
    var g = timeline.querySelector('.gutter').getBoundingClientRect();
    out.gutterWhenScrolled = { left: g.left - sr.left, scrollLeft: scroller.scrollLeft };
    scroller.scrollLeft = 0;
    out.links = Number(timeline.getAttribute('data-links'));
    out.waitLinks = Number(timeline.getAttribute('data-wait-links'));
    out.cycleLinks = Number(timeline.getAttribute('data-cycle-links'));
  }
  var pre = document.createElement('pre');
  pre.id = 'hc-layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
)js";

/// One step's box (a fold of `b.repeats` identical steps when folded).
void put_box(std::string& out, const std::vector<RichStep>& trace, const Box& b,
             std::size_t grid_row, bool is_finding, bool rel, bool in_slice) {
  auto put = std::back_inserter(out);
  const RichStep& s = trace[b.pos];
  const bool folded = b.repeats > 1;
  const std::uint32_t last = trace[b.pos + b.period * (b.repeats - 1)].index;
  std::string cls = "step";
  if (is_finding) cls += " finding";
  if (rel) cls += " related";
  if (folded) cls += " folded";
  if (s.preemption) cls += " preempted";
  if (!in_slice) cls += " off-slice";
  std::string title = step_title(s);
  if (folded) {
    title = fmt::format("steps {} to {}{}: the same step {} times\n{}", s.index, last,
                        b.period == 1 ? "" : fmt::format(", every {}th", b.period), b.repeats,
                        title.substr(title.find('\n') + 1));
  }
  fmt::format_to(put, "<div class=\"{}\" id=\"step-{}\" data-step=\"{}\"", cls, s.index, s.index);
  if (folded) fmt::format_to(put, " data-fold=\"{}\" data-last=\"{}\"", b.repeats, last);
  fmt::format_to(put, " style=\"grid-row: {}\" title=\"{}\">", grid_row, escape(title, true));
  fmt::format_to(put, "<div class=\"top\"><span class=\"no\">#{}{}</span>", s.index,
                 folded ? fmt::format("&hellip;{}", last) : std::string());
  if (folded) fmt::format_to(put, "<span class=\"count\">x{}</span>", b.repeats);
  fmt::format_to(put, "<span class=\"op\">{}</span>", escape(s.operation));
  if (is_finding) out += "<span class=\"badge finding\">FINDING</span>";
  if (rel) out += "<span class=\"badge related\">related</span>";
  if (s.preemption) out += "<span class=\"badge preempt\">preempted</span>";
  out += "</div>";
  if (!s.object.empty() || !s.label.empty() || s.has_value) {
    out += "<div class=\"what\">";
    if (!s.object.empty()) fmt::format_to(put, "<span class=\"obj\">{}</span>", escape(s.object));
    if (!s.label.empty() || s.has_value) {
      out += "<span class=\"lbl\">";
      out += escape(s.label);
      if (s.has_value) {
        fmt::format_to(put, "{}<span class=\"val\">&rarr; {}</span>", s.label.empty() ? "" : " ",
                       s.value);
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

  // The objects involved and the causal slice: the text report's (text_report.hpp).
  const std::vector<std::string> objects = involved_objects(f);
  const std::vector<RichStep> slice =
      objects.empty() ? std::vector<RichStep>{} : causal_slice(f, objects);
  const bool has_slice = !slice.empty() && slice.size() < trace.size();
  auto in_slice = [&](std::uint32_t step) {
    if (!has_slice) return true;
    return std::any_of(slice.begin(), slice.end(),
                       [&](const RichStep& s) { return s.index == step; });
  };

  // Lanes: threads in order of first appearance, then the blocked threads that never ran a
  // step and the threads they wait for (a deadlock names them all in its message).
  std::vector<Lane> lanes;
  auto lane_for = [&](ThreadId thread, const std::string& name) -> std::size_t {
    auto it = std::find_if(lanes.begin(), lanes.end(),
                           [&](const Lane& l) { return l.thread == thread && l.name == name; });
    if (it == lanes.end()) {
      lanes.push_back({thread, name, 0, false});
      it = lanes.end() - 1;
    }
    return static_cast<std::size_t>(it - lanes.begin());
  };
  std::vector<std::size_t> lane_of(trace.size());
  for (std::size_t i = 0; i < trace.size(); ++i) {
    lane_of[i] = lane_for(trace[i].thread, lane_name(trace[i]));
    ++lanes[lane_of[i]].steps;
  }
  std::vector<std::size_t> blocked_lane;  // parallel to f.blocked
  for (const BlockedThread& b : f.blocked) {
    blocked_lane.push_back(lane_for(b.pending.thread, lane_name(b.pending)));
    lanes[blocked_lane.back()].blocked = true;
  }
  for (const BlockedThread& b : f.blocked) {
    if (b.waits_on != kNoThread) lane_for(b.waits_on, lane_name(b.waits_on, b.waits_on_name));
  }
  auto on_cycle = [&](ThreadId t) {
    return std::find(f.wait_cycle.begin(), f.wait_cycle.end(), t) != f.wait_cycle.end();
  };
  auto thread_name_of = [&](ThreadId t) {
    for (const Lane& l : lanes) {
      if (l.thread == t) return l.name;
    }
    return lane_name(t, "");
  };

  // Rows: runs of the trace (folds of identical steps), then the blocked row.
  const std::vector<Run> runs = fold_runs(
      trace, [&](std::size_t pos) { return pos == finding_pos || is_related(trace[pos].index); });
  std::vector<Box> boxes;
  struct Note {
    std::size_t row = 0;
    std::string html;
    bool blocked = false;
  };
  std::vector<Note> notes;
  std::size_t row = 2;
  for (const Run& r : runs) {
    if (r.folded()) {
      const std::uint32_t first = trace[r.begin].index;
      const std::uint32_t last = trace[r.end() - 1].index;
      notes.push_back(
          {row++,
           r.period == 1
               ? fmt::format("steps {}&ndash;{} folded: the same step <b>x{}</b>", first, last,
                             r.repeats)
               : fmt::format("steps {}&ndash;{} folded: the {} steps below repeated <b>x{}</b>",
                             first, last, r.period, r.repeats),
           false});
    }
    for (std::size_t j = 0; j < r.period; ++j) {
      boxes.push_back({r.begin + j, r.period, r.repeats, row++, lane_of[r.begin + j]});
    }
  }
  const std::size_t blocked_row = f.blocked.empty() ? 0 : row + 1;
  if (!f.blocked.empty()) {
    notes.push_back({row,
                     fmt::format("blocked forever: {} thread{} cannot run", f.blocked.size(),
                                 f.blocked.size() == 1 ? "" : "s"),
                     true});
    row += 2;
  }
  const std::size_t rows = row - 1;  // rows 1 .. rows: the heads, then the boxes and notes

  // Per lane, its boxes in row order, and the call groups among them.
  std::vector<std::vector<std::size_t>> lane_boxes(lanes.size());
  for (std::size_t i = 0; i < boxes.size(); ++i)
    lane_boxes[boxes[i].lane].push_back(i);
  std::vector<std::vector<CallGroup>> groups(lanes.size());
  for (std::size_t l = 0; l < lanes.size(); ++l) {
    const std::vector<std::size_t>& list = lane_boxes[l];
    for (std::size_t a = 0; a < list.size();) {
      const RichStep& s = trace[boxes[list[a]].pos];
      std::size_t b = a + 1;
      while (b < list.size() && s.line != 0) {
        const RichStep& t = trace[boxes[list[b]].pos];
        if (t.line != s.line || t.file != s.file) break;
        ++b;
      }
      CallGroup g{a, b - 1, 0, ""};
      for (std::size_t k = a; k < b; ++k) {
        const RichStep& t = trace[boxes[list[k]].pos];
        g.steps += boxes[list[k]].repeats;
        if (g.name.empty() && t.operation == "model") g.name = t.label.empty() ? "model" : t.label;
      }
      if (b - a >= 2 && !g.name.empty()) groups[l].push_back(std::move(g));
      a = b;
    }
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
  if (!f.wait_cycle.empty()) {
    out += "<span id=\"wait-cycle\">wait-for cycle: ";
    for (const ThreadId t : f.wait_cycle)
      fmt::format_to(put, "'{}' &rarr; ", escape(thread_name_of(t)));
    fmt::format_to(put, "'{}'</span>", escape(thread_name_of(f.wait_cycle.front())));
  }
  out += "\n</div>\n";
  out +=
      "<div class=\"legend\"><span><span class=\"swatch sw-finding\"></span>the finding's "
      "step</span><span><span class=\"swatch sw-related\"></span>a step it refers "
      "to</span><span><span class=\"swatch sw-link\"></span>link to the finding</span><span>"
      "<span class=\"swatch sw-preempt\"></span>preemption (the previous thread could have "
      "continued)</span><span><span class=\"swatch sw-fold\"></span>identical steps folded "
      "(xN)</span><span>hover a box for every field</span></div>\n";

  // --- the objects involved: lifecycles and the causal slice -------------------------------------
  if (has_slice || (!objects.empty() && !trace.empty())) {
    out += "<section class=\"story\" id=\"lifecycle\">\n";
    out +=
        "<div class=\"section-label\">lifecycle of the objects involved</div>\n<ul "
        "class=\"lifecycle\">\n";
    for (const std::string& object : objects) {
      std::vector<RichStep> steps;
      for (const RichStep& s : slice.empty() ? trace : slice) {
        if (s.object == object) steps.push_back(s);
      }
      if (steps.empty()) continue;
      fmt::format_to(put, "<li data-object=\"{}\"><span class=\"object\">{}</span>",
                     escape(object, true), escape(object));
      const std::vector<Run> life = fold_runs(steps, [&](std::size_t i) {
        return steps[i].index == finding_step || is_related(steps[i].index);
      });
      for (std::size_t i = 0; i < life.size(); ++i) {
        const RichStep& s = steps[life[i].begin];
        const std::string what = s.label.empty() ? s.operation : s.label;
        const char* cls = s.index == finding_step ? " finding"
                          : is_related(s.index)   ? " related"
                                                  : "";
        if (i != 0) out += "<span class=\"arrow\">&rarr;</span>";
        if (life[i].folded()) {
          fmt::format_to(put,
                         "<a class=\"life-step folded\" href=\"#step-{}\">#{}&hellip;{} {} {} "
                         "x{}</a>",
                         s.index, s.index, steps[life[i].end() - 1].index, escape(s.thread_name),
                         escape(what), life[i].period * life[i].repeats);
        } else {
          fmt::format_to(put, "<a class=\"life-step{}\" href=\"#step-{}\">#{} {} {}{}</a>", cls,
                         s.index, s.index, escape(s.thread_name), escape(what),
                         s.index == finding_step ? " (!)" : "");
        }
      }
      out += "</li>\n";
    }
    out += "</ul>\n";
    if (has_slice) {
      fmt::format_to(put,
                     "<details class=\"slice\" id=\"causal-slice\"><summary>causal slice: the {} "
                     "of {} steps that touched them</summary>\n<div class=\"slice-table\"><table "
                     "class=\"steps\"><tr><th>step</th><th>thread</th><th>operation</th>"
                     "<th>object</th><th>detail</th><th>where</th></tr>\n",
                     slice.size(), trace.size());
      const std::vector<Run> slice_runs = fold_runs(slice, [&](std::size_t i) {
        return slice[i].index == finding_step || is_related(slice[i].index);
      });
      for (const Run& r : slice_runs) {
        for (std::size_t j = 0; j < r.period; ++j) {
          const RichStep& s = slice[r.begin + j];
          const char* cls = s.index == finding_step ? " class=\"finding\""
                            : is_related(s.index)   ? " class=\"related\""
                                                    : "";
          fmt::format_to(
              put,
              "<tr{}><td><a href=\"#step-{}\">{}{}</a>{}</td><td>{}</td><td>{}</td>"
              "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
              cls, s.index, s.index, s.preemption ? "*" : "",
              r.folded() ? fmt::format(" x{}", r.repeats) : std::string(), escape(s.thread_name),
              escape(s.operation), escape(s.object),
              s.has_value ? escape(s.label) + fmt::format(" &rarr; {}", s.value) : escape(s.label),
              escape(where(s.file, s.line)));
        }
      }
      out += "</table></div></details>\n";
    }
    out += "</section>\n";
  }

  // --- timeline ---------------------------------------------------------------------------------
  out += "<main>\n";
  if (trace.empty() && f.blocked.empty()) {
    out += "<p class=\"empty\">No interleaving was recorded for this finding.</p>\n";
  } else {
    out += "<div class=\"controls\">";
    fmt::format_to(put, "<span>{} lane{}; scroll sideways when they do not fit</span>",
                   lanes.size(), lanes.size() == 1 ? "" : "s");
    if (has_slice) {
      fmt::format_to(put,
                     "<label><input type=\"checkbox\" id=\"slice-only\"> only the causal slice "
                     "({} of {} steps)</label>",
                     slice.size(), trace.size());
    }
    out += "</div>\n<div class=\"scroller\" id=\"scroller\">\n";
    fmt::format_to(
        put,
        "<div class=\"timeline{}\" id=\"timeline\" data-threads=\"{}\" data-steps=\"{}\" "
        "data-folds=\"{}\" data-blocked=\"{}\" style=\"grid-template-columns: auto "
        "repeat({}, minmax(14em, 1fr)); grid-template-rows: repeat({}, auto)\">\n",
        f.blocked.empty() ? "" : " has-blocked", lanes.size(), trace.size(),
        std::count_if(runs.begin(), runs.end(), [](const Run& r) { return r.folded(); }),
        f.blocked.size(), lanes.size(), rows);
    out +=
        "<svg id=\"links\" aria-hidden=\"true\" width=\"0\" height=\"0\"><defs><marker "
        "id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
        "fill=\"#cf222e\"></path></marker><marker id=\"wait-arrow\" viewBox=\"0 0 10 10\" "
        "refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" "
        "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
        "fill=\"#cf222e\"></path></marker></defs></svg>\n";

    // The gutter: step numbers (a fold's first and last), preemptions starred like the text
    // report.
    fmt::format_to(put, "<div class=\"gutter\" style=\"grid-column: 1; grid-row: 1 / span {}\">",
                   rows);
    out += "<div class=\"cell head\" style=\"grid-row: 1\">step</div>";
    for (const Box& b : boxes) {
      const RichStep& s = trace[b.pos];
      const char* cls = b.pos == finding_pos  ? " finding-row"
                        : is_related(s.index) ? " related-row"
                        : b.repeats > 1       ? " fold-row"
                                              : "";
      const std::string slice_cls = in_slice(s.index) ? "" : " off-slice";
      if (b.repeats > 1) {
        fmt::format_to(put, "<div class=\"cell{}{}\" style=\"grid-row: {}\">{}&hellip;{}</div>",
                       cls, slice_cls, b.row, s.index,
                       trace[b.pos + b.period * (b.repeats - 1)].index);
      } else {
        fmt::format_to(put, "<div class=\"cell{}{}\" style=\"grid-row: {}\">{}{}</div>", cls,
                       slice_cls, b.row, s.index, s.preemption ? "*" : "");
      }
    }
    if (!f.blocked.empty()) {
      fmt::format_to(put, "<div class=\"cell blocked-row\" style=\"grid-row: {}\">&#8856;</div>",
                     blocked_row);
    }
    out += "</div>\n";
    for (const Note& n : notes) {
      fmt::format_to(put,
                     "<div class=\"fold-note{}\" style=\"grid-row: {}\"><span>{}</span></div>\n",
                     n.blocked ? " blocked-note" : "", n.row, n.html);
    }

    // A colour per lane, by position (twelve before they repeat): deterministic.
    static constexpr std::string_view kPalette[] = {"#0969da", "#1a7f37", "#bc4c00", "#8250df",
                                                    "#bf3989", "#0a7b83", "#6e7781", "#953800",
                                                    "#0550ae", "#116329", "#7d4e00", "#5a32a3"};
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
                     "<div class=\"meta\">thread #{} &middot; {} step{}{}{}</div></div>\n",
                     escape(lane.name), static_cast<unsigned>(lane.thread), lane.steps,
                     lane.steps == 1 ? "" : "s",
                     finding_lane ? " &middot; <span class=\"tag\">finding</span>" : "",
                     lane.blocked ? " &middot; <span class=\"tag\">blocked</span>" : "");
      const std::vector<std::size_t>& list = lane_boxes[l];
      std::size_t next_group = 0;
      for (std::size_t k = 0; k < list.size(); ++k) {
        // A call group opens at its first box: a subgrid over its rows, its boxes placed in
        // them (line numbers in a subgrid are its own, from 1).
        const CallGroup* g = next_group < groups[l].size() && groups[l][next_group].first == k
                                 ? &groups[l][next_group]
                                 : nullptr;
        std::size_t base_row = 0;
        if (g != nullptr) {
          const Box& first = boxes[list[g->first]];
          const Box& last = boxes[list[g->last]];
          const RichStep& s = trace[first.pos];
          fmt::format_to(
              put,
              "<div class=\"call\" data-call=\"{}\" data-call-steps=\"{}\" "
              "style=\"grid-row: {} / {}\"><div class=\"call-head\" title=\"{}\">"
              "<button type=\"button\">compact</button><span "
              "class=\"call-name\">{}</span> &middot; {} steps &middot; {}</div>\n",
              escape(g->name, true), g->steps, first.row, last.row + 1,
              escape(fmt::format("one call at {}: steps {} to {}", where(s.file, s.line), s.index,
                                 trace[last.pos + last.period * (last.repeats - 1)].index),
                     true),
              escape(g->name), g->steps, escape(where(s.file, s.line)));
          base_row = first.row - 1;
        }
        const std::size_t end = g != nullptr ? g->last + 1 : k + 1;
        for (std::size_t m = k; m < end; ++m) {
          const Box& b = boxes[list[m]];
          const RichStep& s = trace[b.pos];
          const bool is_finding = b.pos == finding_pos;
          put_box(out, trace, b, b.row - base_row, is_finding, !is_finding && is_related(s.index),
                  in_slice(s.index));
        }
        if (g != nullptr) {
          out += "</div>\n";
          ++next_group;
          k = g->last;
        }
      }
      // A deadlock: what this thread waits for, forever.
      for (std::size_t i = 0; i < f.blocked.size(); ++i) {
        if (blocked_lane[i] != l) continue;
        const BlockedThread& b = f.blocked[i];
        const RichStep& s = b.pending;
        fmt::format_to(put, "<div class=\"step blocked{}\" id=\"blocked-{}\" data-thread-id=\"{}\"",
                       on_cycle(s.thread) ? " on-cycle" : "", static_cast<unsigned>(s.thread),
                       static_cast<unsigned>(s.thread));
        if (b.waits_on != kNoThread)
          fmt::format_to(put, " data-waits-on=\"{}\"", static_cast<unsigned>(b.waits_on));
        fmt::format_to(put,
                       " style=\"grid-row: {}\" title=\"{}\"><div class=\"top\"><span "
                       "class=\"no\">never runs</span><span class=\"op\">{}</span><span "
                       "class=\"badge blocked\">BLOCKED</span></div>",
                       blocked_row,
                       escape(fmt::format("thread '{}' waits {}\n{}", lane_name(s), b.waits_for,
                                          step_title(s).substr(step_title(s).find('\n') + 1)),
                              true),
                       escape(s.operation));
        out += "<div class=\"what\">";
        if (!s.object.empty())
          fmt::format_to(put, "<span class=\"obj\">{}</span>", escape(s.object));
        if (!s.label.empty()) fmt::format_to(put, "<span class=\"lbl\">{}</span>", escape(s.label));
        out += "</div>";
        fmt::format_to(put, "<div class=\"waits\">waits {}</div>", escape(b.waits_for));
        if (s.line != 0)
          fmt::format_to(put, "<div class=\"src\">{}</div>", escape(where(s.file, s.line)));
        out += "</div>\n";
      }
      out += "</div>\n";
    }
    out += "</div>\n</div>\n";
  }
  out += "</main>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace hc::reports

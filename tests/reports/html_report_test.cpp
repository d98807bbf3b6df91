// The HTML report of a finding, as text: lanes in order of first appearance, the finding's box
// and its fallback, the steps it refers to (its related_steps: related boxes, and anchors where
// the message writes them), escaping, a self-contained document, the same bytes every time;
// repeated steps folded, the steps of one model call grouped, a deadlock's blocked operations
// and wait-for cycle, the lifecycle of the objects involved and the causal slice.
// Chromium renders it in html_chromium_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "hc/hc.hpp"
#include "hc/reports/html_report.hpp"
#include "test_support.hpp"

namespace {

hc::RichStep step(std::uint32_t index, hc::ThreadId thread, std::string name, std::string op,
                  std::string object = "", std::string label = "", bool preemption = false) {
  hc::RichStep s;
  s.index = index;
  s.thread = thread;
  s.thread_name = std::move(name);
  s.operation = std::move(op);
  s.object = std::move(object);
  s.label = std::move(label);
  s.file = "scenarios/x.cpp";
  s.line = 10 + index;
  s.preemption = preemption;
  return s;
}

/// main, T1, T2 and the finalizer; T2 closes at step 3, T1 uses the value at step 5.
hc::Finding sample() {
  hc::Finding f;
  f.kind = hc::FindingKind::stale_handle_use;
  f.message =
      "raw value 0x4 used by thread 'T1' at step 5 after it was closed by thread 'T2' at step 3 "
      "(x.cpp:31 (step 3)); now <names> \"another\" object & more\nsecond line; created at step 0";
  f.thread = 1;
  f.thread_name = "T1";
  f.step = 5;
  f.file = "scenarios/x.cpp";
  f.line = 15;
  f.trace = {step(1, 0, "main", "model", "object 'table'", "create"),
             step(2, 1, "T1", "atomic-load", "atomic 'h'", "load"),
             step(3, 2, "T2", "model", "object 'table'", "CloseHandle", true),
             step(4, 3, "finalizer", "event-wait", "event 'finalizer work'", "wait"),
             step(5, 1, "T1", "model", "object 'table'", "ReadFile")};
  f.trace[1].has_value = true;
  f.trace[1].value = 4;
  // What its reporter records along with the message: the steps the message mentions, in its
  // order (step 0, "not recorded", is never one), and the objects.
  f.related_steps = {5, 3};
  f.objects = {"object 'table'"};
  return f;
}

std::string html_of(const hc::Finding& f) {
  return hc::reports::format_html({.scenario = "safehandle/x",
                                   .strategy = "dfs",
                                   .finding = f,
                                   .replay_command = "handlecheck run safehandle/x --replay 1.2"});
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(HtmlReport, LanesInOrderOfFirstAppearanceWithTheFinalizer) {
  const std::string html = html_of(sample());
  const std::size_t main_at = html.find("class=\"lane\" data-thread=\"main\"");
  const std::size_t t1_at = html.find("class=\"lane finding-lane\" data-thread=\"T1\"");
  const std::size_t t2_at = html.find("class=\"lane\" data-thread=\"T2\"");
  const std::size_t fin_at = html.find("class=\"lane\" data-thread=\"finalizer\"");
  ASSERT_NE(main_at, std::string::npos) << html;
  ASSERT_NE(t1_at, std::string::npos);
  ASSERT_NE(t2_at, std::string::npos);
  ASSERT_NE(fin_at, std::string::npos);
  EXPECT_LT(main_at, t1_at);
  EXPECT_LT(t1_at, t2_at);
  EXPECT_LT(t2_at, fin_at);
  EXPECT_EQ(count(html, "data-thread=\""), 4u);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_NE(
        html.find("id=\"step-" + std::to_string(i) + "\" data-step=\"" + std::to_string(i) + "\""),
        std::string::npos)
        << i;
  }
}

TEST(HtmlReport, TheFindingsStepAndTheStepsItsMessageNames) {
  const std::string html = html_of(sample());
  EXPECT_NE(html.find("<div class=\"step finding\" id=\"step-5\""), std::string::npos);
  EXPECT_NE(html.find("<div class=\"step related preempted\" id=\"step-3\""), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"step finding"), 1u);
  EXPECT_EQ(count(html, "<div class=\"step related"), 1u);
  EXPECT_NE(html.find("id=\"finding-banner\""), std::string::npos);
  // Anchors in the message: step 5 (the finding) and step 3 twice; step 0 has no box.
  EXPECT_EQ(count(html, "<a class=\"step-ref\" href=\"#step-3\" data-step=\"3\">step 3</a>"), 2u);
  EXPECT_NE(html.find("<a class=\"step-ref is-finding\" href=\"#step-5\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"#step-0\""), std::string::npos);
  EXPECT_NE(html.find("created at step 0"), std::string::npos);
}

// Relatedness comes from the finding's related_steps, never from the message: reworded without
// any "step N", the same box is related, with its arrow target and its banner link.
TEST(HtmlReport, ARewordedMessageKeepsTheRelatedSteps) {
  hc::Finding f = sample();
  f.message = "the raw value was used after another thread closed it";
  const std::string html = html_of(f);
  EXPECT_NE(html.find("<div class=\"step finding\" id=\"step-5\""), std::string::npos);
  EXPECT_NE(html.find("<div class=\"step related preempted\" id=\"step-3\""), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"step related"), 1u);
  EXPECT_NE(html.find("<div class=\"cell related-row\" style=\"grid-row: 4\">3*</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<span>related: <a href=\"#step-3\" data-step=\"3\">step 3</a></span>"),
            std::string::npos);
  EXPECT_EQ(count(html, "class=\"step-ref"), 1u);  // only the header's link to the finding
  // The same boxes and banner as with the original wording.
  const std::string original = html_of(sample());
  auto from_banner = [](const std::string& h) { return h.substr(h.find("id=\"finding-banner\"")); };
  EXPECT_EQ(from_banner(html), from_banner(original));
}

// A "step N" the message writes but the finding does not refer to is neither related nor a
// link: the text decides nothing.
TEST(HtmlReport, AStepTheFindingDoesNotReferToIsNotRelatedEvenIfTheMessageWritesIt) {
  hc::Finding f = sample();
  f.related_steps = {5};
  const std::string html = html_of(f);
  EXPECT_EQ(count(html, "<div class=\"step related"), 0u);
  EXPECT_EQ(html.find("class=\"step-ref\" href=\"#step-3\""), std::string::npos);
  EXPECT_NE(html.find("closed by thread &#39;T2&#39; at step 3 (x.cpp:31 (step 3))"),
            std::string::npos);
  EXPECT_EQ(html.find("<span>related: "), std::string::npos);
  EXPECT_NE(html.find("<a class=\"step-ref is-finding\" href=\"#step-5\""), std::string::npos);
}

TEST(HtmlReport, FindingAtStepZeroOrBeyondTheTraceIsTheLastStep) {
  for (std::uint32_t at : {0u, 99u}) {
    hc::Finding f = sample();
    f.step = at;
    const std::string html = html_of(f);
    EXPECT_NE(html.find("<div class=\"step finding\" id=\"step-5\""), std::string::npos) << at;
    EXPECT_EQ(count(html, "<div class=\"step finding"), 1u) << at;
  }
}

TEST(HtmlReport, EscapesTheMessageAndKeepsItsNewlines) {
  hc::Finding f = sample();
  f.message = "<script>alert(\"x\")</script> & 'quoted'\nnext line";
  f.trace[0].label = "a<b>\"c\"";
  const std::string html = html_of(f);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;\n"
                      "next line"),
            std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;&quot;c&quot;"), std::string::npos);
  EXPECT_EQ(count(html, "<script"), 1u);  // the report's own inline script
}

TEST(HtmlReport, SelfContainedAndDeterministic) {
  const std::string html = html_of(sample());
  EXPECT_EQ(html, html_of(sample()));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url(http"), std::string::npos);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(HtmlReport, HoverTextHasEveryField) {
  const std::string html = html_of(sample());
  EXPECT_NE(html.find("title=\"step 2&#10;thread: T1 (#1)&#10;operation: atomic-load&#10;object: "
                      "atomic &#39;h&#39;&#10;label: load&#10;value: 4&#10;source: "
                      "scenarios/x.cpp:12&#10;preemption: no\""),
            std::string::npos);
}

TEST(HtmlReport, NoTraceStillHasABanner) {
  hc::Finding f = sample();
  f.trace.clear();
  const std::string html = html_of(f);
  EXPECT_NE(html.find("id=\"finding-banner\""), std::string::npos);
  EXPECT_EQ(html.find("class=\"step"), std::string::npos);
  EXPECT_EQ(html.find("href=\"#step-"), std::string::npos);
}

// --- folding, call groups, deadlocks, lifecycle and slice -----------------------------------

/// A spin: main locks, then `spins` identical loads of 'flag' by the waiter, then the finding
/// (one more identical load, at the step bound).
hc::Finding spin(std::uint32_t spins) {
  hc::Finding f;
  f.kind = hc::FindingKind::step_bound_exceeded;
  f.message = "the execution ran more steps than the bound";
  f.trace.push_back(step(1, 0, "main", "mutex-lock", "mutex 'table'", "lock"));
  for (std::uint32_t i = 0; i <= spins; ++i) {
    hc::RichStep s = step(2 + i, 1, "waiter", "atomic-load", "atomic 'flag'", "load");
    s.line = 25;
    s.has_value = true;
    s.value = 0;
    f.trace.push_back(s);
  }
  f.step = static_cast<std::uint32_t>(f.trace.size());
  return f;
}

TEST(HtmlReport, IdenticalStepsAreFoldedIntoOneBoxWithTheirCount) {
  const hc::Finding f = spin(1998);  // steps 2..1999 identical, 2000 the finding
  const std::string html = html_of(f);
  // One box for the 1998 loads, one for the lock, one for the finding's step: not 2,000.
  EXPECT_EQ(count(html, "<div class=\"step"), 3u);
  EXPECT_NE(html.find("<div class=\"step folded\" id=\"step-2\" data-step=\"2\" data-fold=\"1998\" "
                      "data-last=\"1999\""),
            std::string::npos);
  EXPECT_NE(html.find("<span class=\"no\">#2&hellip;1999</span><span class=\"count\">x1998</span>"
                      "<span class=\"op\">atomic-load</span>"),
            std::string::npos);
  EXPECT_NE(html.find("steps 2&ndash;1999 folded: the same step <b>x1998</b>"), std::string::npos);
  EXPECT_NE(html.find("data-folds=\"1\""), std::string::npos);
  // The finding's step is never folded.
  EXPECT_NE(html.find("<div class=\"step finding\" id=\"step-2000\""), std::string::npos);
  EXPECT_LT(html.size(), 60u * 1024u)
      << "a 2,000-step spin should not take " << html.size() << " bytes";
  // Two identical steps are shown as they are.
  EXPECT_EQ(html_of(spin(2)).find("data-fold="), std::string::npos);
}

// Two threads taking turns: the pair repeats, and each of its boxes carries the count.
TEST(HtmlReport, ARepeatedPatternOfTwoThreadsIsFolded) {
  hc::Finding f;
  f.kind = hc::FindingKind::livelock;
  f.message = "nobody makes progress";
  for (std::uint32_t i = 0; i < 1000; ++i) {
    f.trace.push_back(step(2 * i + 1, 1, "left", "atomic-load", "atomic 'turn'", "load"));
    f.trace.push_back(step(2 * i + 2, 2, "right", "atomic-load", "atomic 'turn'", "load"));
    f.trace[2 * i].line = 40;
    f.trace[2 * i + 1].line = 50;
  }
  f.trace.push_back(step(2001, 1, "left", "thread-yield", "", "yield"));
  f.step = 2001;
  const std::string html = html_of(f);
  EXPECT_EQ(count(html, "<div class=\"step"), 3u);
  EXPECT_NE(html.find("steps 1&ndash;2000 folded: the 2 steps below repeated <b>x1000</b>"),
            std::string::npos);
  EXPECT_NE(html.find("id=\"step-1\" data-step=\"1\" data-fold=\"1000\" data-last=\"1999\""),
            std::string::npos);
  EXPECT_NE(html.find("id=\"step-2\" data-step=\"2\" data-fold=\"1000\" data-last=\"2000\""),
            std::string::npos);
}

// A step the finding refers to splits a run: it keeps its own box, linked and highlighted.
TEST(HtmlReport, ARelatedStepIsNeverFolded) {
  hc::Finding f = spin(100);  // steps 2..101 identical, 102 the finding
  f.related_steps = {50};
  const std::string html = html_of(f);
  EXPECT_NE(html.find("<div class=\"step related\" id=\"step-50\""), std::string::npos);
  EXPECT_NE(html.find("data-step=\"2\" data-fold=\"48\" data-last=\"49\""), std::string::npos);
  EXPECT_NE(html.find("data-step=\"51\" data-fold=\"51\" data-last=\"101\""), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"step"), 5u);  // lock, fold, related, fold, finding
}

// Consecutive steps of one thread from one call site with a model operation among them (a
// model call such as Continue) are one group; a loop of plain atomics on one line is not.
TEST(HtmlReport, TheStepsOfOneModelCallAreGrouped) {
  hc::Finding f;
  f.kind = hc::FindingKind::neutered_object_call;
  f.message = "a call on a neutered frame";
  f.trace = {step(1, 0, "main", "mutex-lock", "mutex 'Stop-Go Lock'", "lock"),
             step(2, 0, "main", "model", "process 'debuggee': state", "Continue"),
             step(3, 1, "window", "atomic-load", "atomic 'x'", "load"),
             step(4, 0, "main", "model", "CordbILFrame frame: state", "Neuter"),
             step(5, 0, "main", "mutex-unlock", "mutex 'Stop-Go Lock'", "unlock"),
             step(6, 1, "window", "model", "CordbILFrame frame: state", "GetIP")};
  for (std::size_t i : {0u, 1u, 3u, 4u})
    f.trace[i].line = 63;
  f.step = 6;
  const std::string html = html_of(f);
  EXPECT_EQ(count(html, "<div class=\"call\""), 1u);
  // The group spans rows 2..6 of main's lane (steps 1..5; step 3 is another lane's row), and
  // its boxes sit in its own rows 1, 2, 4 and 5.
  EXPECT_NE(html.find("<div class=\"call\" data-call=\"Continue\" data-call-steps=\"4\" "
                      "style=\"grid-row: 2 / 7\">"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("id=\"step-4\" data-step=\"4\" style=\"grid-row: 4\""), std::string::npos);
  EXPECT_NE(html.find("<span class=\"call-name\">Continue</span> &middot; 4 steps"),
            std::string::npos);
  // The same line without a model operation: no group.
  for (hc::RichStep& s : f.trace) {
    if (s.operation == "model" && s.thread == 0) s.operation = "atomic-rmw";
  }
  EXPECT_EQ(count(html_of(f), "<div class=\"call\""), 0u);
}

// A real deadlock: every thread the message names has a lane (main never ran a step), each
// blocked thread's pending operation is drawn with whom it waits for, the cycle is marked.
TEST(HtmlReport, ADeadlockDrawsTheBlockedOperationsAndTheWaitForCycle) {
  hc::ExploreOptions o;
  o.strategy = "dfs";
  const hc::Result r = hc::explore(hc::test::abba_deadlock, o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::deadlock);
  // What the detector records beside the message.
  ASSERT_EQ(f.blocked.size(), 3u) << f.message;
  EXPECT_EQ(f.blocked[0].pending.thread_name, "main");
  EXPECT_EQ(f.blocked[0].pending.operation, "thread-join");
  EXPECT_EQ(f.blocked[0].pending.object, "thread 'one'");
  EXPECT_EQ(f.blocked[0].waits_on_name, "one");
  EXPECT_EQ(f.blocked[1].pending.operation, "mutex-lock");
  EXPECT_EQ(f.blocked[1].pending.object, "mutex 'B'");
  EXPECT_EQ(f.blocked[1].waits_for, "to lock mutex 'B', held by thread 'two'");
  EXPECT_EQ(f.blocked[1].waits_on_name, "two");
  EXPECT_NE(f.blocked[1].pending.line, 0u);
  ASSERT_EQ(f.wait_cycle.size(), 2u);
  EXPECT_EQ(f.wait_cycle[0], f.blocked[1].pending.thread);
  EXPECT_EQ(f.wait_cycle[1], f.blocked[2].pending.thread);

  const std::string html = hc::reports::format_html({"abba", "dfs", f, ""});
  for (const char* name : {"main", "one", "two"}) {
    EXPECT_NE(html.find(std::string("data-thread=\"") + name + "\""), std::string::npos) << name;
  }
  EXPECT_EQ(count(html, "<div class=\"step blocked"), 3u);
  EXPECT_EQ(count(html, "<div class=\"step blocked on-cycle\""), 2u);
  EXPECT_NE(html.find("<div class=\"step blocked\" id=\"blocked-0\" data-thread-id=\"0\" "
                      "data-waits-on=\"1\""),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("waits to lock mutex &#39;B&#39;, held by thread &#39;two&#39;"),
            std::string::npos);
  EXPECT_NE(html.find("<span id=\"wait-cycle\">wait-for cycle: 'one' &rarr; 'two' &rarr; "
                      "'one'</span>"),
            std::string::npos);
  EXPECT_NE(html.find("blocked forever: 3 threads cannot run"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"tag\">blocked</span>"), std::string::npos);
}

// The lifecycle of each object involved (the text report's involved_objects) and the causal
// slice (text_report's causal_slice): chips linking to the boxes, the finding marked; boxes off
// the slice carry off-slice for the "only the causal slice" view.
TEST(HtmlReport, LifecycleAndCausalSliceOfTheObjectsInvolved) {
  const std::string html = html_of(sample());
  EXPECT_NE(html.find("<li data-object=\"object &#39;table&#39;\"><span class=\"object\">object "
                      "&#39;table&#39;</span><a class=\"life-step\" href=\"#step-1\">#1 main "
                      "create</a><span class=\"arrow\">&rarr;</span><a class=\"life-step related\" "
                      "href=\"#step-3\">#3 T2 CloseHandle</a><span class=\"arrow\">&rarr;</span><a "
                      "class=\"life-step finding\" href=\"#step-5\">#5 T1 ReadFile (!)</a></li>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("causal slice: the 3 of 5 steps that touched them"), std::string::npos);
  EXPECT_NE(html.find("<input type=\"checkbox\" id=\"slice-only\">"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"step off-slice\" id=\"step-2\""), std::string::npos);
  EXPECT_NE(html.find("<div class=\"step off-slice\" id=\"step-4\""), std::string::npos);
  EXPECT_EQ(count(html, "off-slice\" id=\"step-"), 2u);
  EXPECT_NE(html.find("<tr class=\"finding\"><td><a href=\"#step-5\">5</a></td><td>T1</td>"),
            std::string::npos);
}

}  // namespace

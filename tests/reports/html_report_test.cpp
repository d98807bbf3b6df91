// The HTML report of a finding, as text: lanes in order of first appearance, the finding's box
// and its fallback, the steps it refers to (its related_steps: related boxes, and anchors where
// the message writes them), escaping, a self-contained document, the same bytes every time.
// Chromium renders it in html_chromium_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "hc/hc.hpp"
#include "hc/reports/html_report.hpp"

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
  EXPECT_EQ(html.find("href=\"#step-3\""), std::string::npos);
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

}  // namespace

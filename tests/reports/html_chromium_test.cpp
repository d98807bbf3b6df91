// The HTML report in a real browser: a finding from a scenario run through the explorer,
// written under the build tree, loaded by headless Chromium (--dump-dom: the DOM after the
// inline script ran, --screenshot: a PNG to look at). Needs /usr/bin/chromium (the Debian
// package `chromium`); without it these tests fail, they never skip.
//
// Layout is measured in the browser: loaded with `#hc-layout`, the report's script writes what
// it measured (lane boxes, the scroll container, the lines each part of a step title takes, the
// gutter's place when scrolled sideways, the arrows drawn) as JSON into <pre id="hc-layout">,
// which --dump-dom returns. Screenshots: HC_HTML_OUT_DIR/*.png (the build tree's reports/).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hc/hc.hpp"
#include "hc/reports/html_report.hpp"
#include "test_support.hpp"

#ifndef HC_HTML_OUT_DIR
#error "HC_HTML_OUT_DIR: where the reports and screenshots go (set by html_test.cmake)"
#endif

namespace fs = std::filesystem;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

struct Report {
  hc::Finding finding;
  std::string html;
  fs::path path;
};

/// Writes the report of `finding` to HC_HTML_OUT_DIR/<file>.
Report write_report(const std::string& name, const std::string& strategy,
                    const hc::Finding& finding, const std::string& file) {
  Report r;
  r.finding = finding;
  const std::string replay =
      "handlecheck run " + name + " --replay " + hc::format_choices(r.finding.schedule);
  r.html = hc::reports::format_html(
      {.scenario = name, .strategy = strategy, .finding = r.finding, .replay_command = replay});
  fs::create_directories(HC_HTML_OUT_DIR);
  r.path = fs::path(HC_HTML_OUT_DIR) / file;
  std::ofstream(r.path, std::ios::binary) << r.html;
  return r;
}

/// Runs `name` through the explorer (dfs) and writes its first finding's report to
/// HC_HTML_OUT_DIR/<file>.
Report report_of(const std::string& name, const std::string& file) {
  const hc::Scenario* s = hc::find_scenario(name);
  if (s == nullptr) throw std::runtime_error("missing scenario " + name);
  hc::OptionOverrides ov;
  ov.set(&hc::RunSettings::strategy, "dfs");
  const hc::ScenarioOutcome outcome = hc::run_scenario(*s, hc::options_for(*s, ov));
  if (outcome.result.findings.empty()) throw std::runtime_error(name + " found nothing");
  return write_report(name, outcome.result.strategy, outcome.result.findings.front(), file);
}

bool has_chromium() {
  return fs::exists(kChromium);
}

#define REQUIRE_CHROMIUM()                                                  \
  ASSERT_TRUE(has_chromium())                                               \
      << kChromium << " is missing: install the Debian package `chromium` " \
      << "(apt-get install -y --no-install-recommends chromium; ./quickstart installs it)"

/// A fresh --user-data-dir, removed at the end of the scope.
struct TempProfile : hc::test::TempDir {
  TempProfile() : TempDir("hc-chromium") {}
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// `fragment`: appended to the page's URL ("#hc-layout").
std::string chromium_command(const TempProfile& profile, const std::string& what,
                             const fs::path& page, const std::string& fragment = "") {
  return std::string("timeout 60 ") + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --user-data-dir=" +
         quoted(profile.dir.string()) + " " + what + " " +
         quoted("file://" + fs::absolute(page).string() + fragment);
}

struct Run {
  int status = -1;
  std::string out;
};

/// Runs `command` (stderr to `log`), its stdout captured.
Run run(const std::string& command, const fs::path& log) {
  Run r;
  FILE* pipe = ::popen((command + " 2>" + quoted(log.string())).c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    r.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string dump_dom(const fs::path& page) {
  const TempProfile profile;
  const fs::path log = fs::path(page).replace_extension(".dump-dom.log");
  const Run r = run(chromium_command(profile, "--dump-dom", page), log);
  EXPECT_EQ(r.status, 0) << "chromium --dump-dom failed; its stderr:\n" << slurp(log);
  return r.out;
}

/// `fragment`: appended to the URL; "#timeline-only" shows the timeline alone (headless
/// Chromium's screenshot of a page scrolled down is blank, so this is how the timeline of a
/// small window is seen).
void screenshot(const fs::path& page, const fs::path& png, const std::string& size = "1400,900",
                const std::string& fragment = "") {
  const TempProfile profile;
  fs::remove(png);
  const fs::path log = fs::path(png).replace_extension(".screenshot.log");
  const Run r = run(
      chromium_command(profile, "--screenshot=" + quoted(png.string()) + " --window-size=" + size,
                       page, fragment),
      log);
  EXPECT_EQ(r.status, 0) << "chromium --screenshot failed; its stderr:\n" << slurp(log);
  ASSERT_TRUE(fs::exists(png)) << "no screenshot at " << png << "; chromium said:\n" << slurp(log);
  EXPECT_GT(fs::file_size(png), 10u * 1024u) << png << " is too small to show a report";
}

/// The layout the report's script measured (#hc-layout) at a window of `size` ("W,H").
nlohmann::json layout_of(const fs::path& page, const std::string& size) {
  const TempProfile profile;
  const fs::path log = fs::path(page).replace_extension(".layout.log");
  const Run r = run(
      chromium_command(profile, "--window-size=" + size + " --dump-dom", page, "#hc-layout"), log);
  EXPECT_EQ(r.status, 0) << "chromium --dump-dom failed; its stderr:\n" << slurp(log);
  const std::string open = "<pre id=\"hc-layout\">";
  const std::size_t at = r.out.find(open);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no #hc-layout in the DOM of " << page << ":\n" << r.out.substr(0, 2000);
    return nlohmann::json::object();
  }
  const std::size_t end = r.out.find("</pre>", at);
  std::string text = r.out.substr(at + open.size(), end - at - open.size());
  // The DOM serialiser escapes &, < and > in text.
  for (const auto& [entity, c] : {std::pair<std::string, std::string>{"&lt;", "<"},
                                  {"&gt;", ">"},
                                  {"&nbsp;", " "},
                                  {"&amp;", "&"}}) {
    for (std::size_t p = text.find(entity); p != std::string::npos; p = text.find(entity, p + 1))
      text.replace(p, entity.size(), c);
  }
  return nlohmann::json::parse(text);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(HtmlChromium, RacyFlagReportRendersWithLanesFindingAndLink) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("engine/racy-flag", "finding.html");
  const hc::Finding& f = r.finding;
  ASSERT_EQ(f.kind, hc::FindingKind::data_race);
  ASSERT_FALSE(f.trace.empty());

  // 1. The text: lanes, steps, the finding, nothing fetched from anywhere.
  for (const char* thread : {"producer", "main", "consumer"}) {
    EXPECT_NE(r.html.find(std::string("data-thread=\"") + thread + "\""), std::string::npos)
        << thread;
  }
  EXPECT_EQ(count(r.html, "<div class=\"step"), f.trace.size());
  EXPECT_EQ(count(r.html, "<div class=\"step finding"), 1u);
  EXPECT_NE(r.html.find("id=\"step-" + std::to_string(f.step) + "\""), std::string::npos);
  EXPECT_NE(r.html.find("id=\"finding-banner\""), std::string::npos);
  EXPECT_EQ(r.html.find("http://"), std::string::npos);
  EXPECT_EQ(r.html.find("https://"), std::string::npos);
  EXPECT_EQ(r.html.find("<script src"), std::string::npos);
  EXPECT_EQ(r.html.find("<link"), std::string::npos);

  // The race's other access is a related step, anchored in the message.
  std::smatch m;
  const std::regex earlier("wrote it at [^ ]+ \\(step ([0-9]+)\\)");
  ASSERT_TRUE(std::regex_search(f.message, m, earlier)) << f.message;
  const std::string other = m[1];
  EXPECT_NE(r.html.find("id=\"step-" + other + "\""), std::string::npos);
  EXPECT_NE(r.html.find("href=\"#step-" + other + "\""), std::string::npos);

  // 2. The DOM after the script ran.
  const std::string dom = dump_dom(r.path);
  ASSERT_FALSE(dom.empty());
  for (const char* thread : {"producer", "main", "consumer"}) {
    EXPECT_TRUE(std::regex_search(
        dom, std::regex(std::string("class=\"lane[^\"]*\" data-thread=\"") + thread + "\"")))
        << thread;
  }
  EXPECT_EQ(count(dom, "data-thread=\""), 3u);
  EXPECT_EQ(count(dom, "<div class=\"step"), f.trace.size());
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("class=\"step finding[^\"]*\" id=\"step-" + std::to_string(f.step) + "\"")));
  EXPECT_TRUE(
      std::regex_search(dom, std::regex("class=\"step related[^\"]*\" id=\"step-" + other + "\"")));
  EXPECT_NE(dom.find("id=\"finding-banner\""), std::string::npos);
  // What only the script makes: one arrow from the related step to the finding's, with real
  // coordinates, and the count on the timeline.
  EXPECT_NE(dom.find("data-links=\"1\""), std::string::npos);
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("<path class=\"link\" d=\"M[0-9.]+,[0-9.]+ C[0-9., ]+\" marker-end=\"url\\("
                      "#arrow\\)\" data-from=\"" +
                      other + "\" data-to=\"" + std::to_string(f.step) + "\"")))
      << dom.substr(dom.find("<svg"), 1200);
  EXPECT_EQ(dom.find("NaN"), std::string::npos);

  // 3. A screenshot to look at.
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "finding.png");
}

// The finalizer thread gets its lane; a related step in the finding's own lane is linked too.
TEST(HtmlChromium, FinalizerReportRendersTheFinalizerLane) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("finalizer/finalizer-uses-finalized-object", "finalizer.html");
  ASSERT_EQ(r.finding.kind, hc::FindingKind::use_of_finalized_object);
  const std::string dom = dump_dom(r.path);
  EXPECT_TRUE(std::regex_search(dom, std::regex("class=\"lane[^\"]*\" data-thread=\"main\"")));
  EXPECT_TRUE(std::regex_search(dom, std::regex("class=\"lane[^\"]*\" data-thread=\"finalizer\"")));
  EXPECT_EQ(count(dom, "<div class=\"step finding"), 1u);
  EXPECT_GE(count(dom, "<div class=\"step related"), 1u);
  EXPECT_GE(count(dom, "<path class=\"link\""), 1u);
  EXPECT_EQ(dom.find("NaN"), std::string::npos);
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "finalizer.png", "1400,1200");
}

// A handle-world finding whose message names two earlier steps, with a preemption: both
// steps are related and linked, the preempted box is marked.
TEST(HtmlChromium, HandleReportLinksEveryNamedStepAndMarksPreemptions) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("safehandle/raw-value-closed-directly", "safehandle.html");
  const hc::Finding& f = r.finding;
  ASSERT_GE(f.preemptions, 1u);
  std::size_t expected_related = 0;
  for (const hc::RichStep& s : f.trace) {
    const std::string ref = "step " + std::to_string(s.index);
    const std::size_t at = f.message.find(ref);
    const bool named = at != std::string::npos &&
                       (at + ref.size() == f.message.size() ||
                        !std::isdigit(static_cast<unsigned char>(f.message[at + ref.size()])));
    if (named && s.index != f.step) ++expected_related;
  }
  ASSERT_GE(expected_related, 2u) << f.message;
  const std::string dom = dump_dom(r.path);
  EXPECT_EQ(count(dom, "<div class=\"step related"), expected_related);
  EXPECT_EQ(count(dom, "<path class=\"link\""), expected_related);
  EXPECT_NE(dom.find("data-links=\"" + std::to_string(expected_related) + "\""), std::string::npos);
  EXPECT_GE(count(dom, " preempted\" id=\"step-"), 1u);
  EXPECT_EQ(dom.find("NaN"), std::string::npos);
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "safehandle.png", "1400,1100");
}

// --- layout at any width --------------------------------------------------------------------

/// A real finding with `lanes` lanes: main and lanes - 1 workers each count on a shared atomic;
/// the last worker writes a payload main writes too, unordered: a data race whose other access
/// is a related step. The names are long on purpose (titles must not break).
hc::Finding lanes_finding(int lanes) {
  static const char* const kNames[] = {"worker-thread-01", "worker-thread-02", "worker-thread-03",
                                       "worker-thread-04", "worker-thread-05", "worker-thread-06",
                                       "worker-thread-07", "worker-thread-08", "worker-thread-09",
                                       "worker-thread-10", "worker-thread-11"};
  hc::ExploreOptions o;
  o.strategy = "dfs";
  const hc::Result r = hc::explore(
      [lanes] {
        hc::var<int> payload(0, "payload shared by the whole pipeline");
        hc::atomic<int> progress{0, "progress counter of the pipeline workers"};
        std::vector<std::unique_ptr<hc::thread>> workers;
        for (int i = 1; i < lanes; ++i) {
          workers.push_back(std::make_unique<hc::thread>(kNames[i - 1], [&, i] {
            progress.fetch_add(1);
            (void)progress.load();
            if (i == lanes - 1) payload = i;
          }));
        }
        payload = 100;
        for (auto& w : workers)
          w->join();
      },
      o);
  if (r.findings.empty()) throw std::runtime_error("the lanes program found nothing");
  return r.findings.front();
}

struct LayoutCase {
  int lanes;
  int width;
  int height;
};

class HtmlLayout : public ::testing::TestWithParam<LayoutCase> {};

// At 800x600 and 1400x900, with 2, 6 and 10 lanes: the page never gets wider than the window;
// every lane is either visible or reachable by scrolling the timeline sideways, at a readable
// width, with the step gutter staying at the left edge while scrolled; no part of a step title
// wraps (the title row wraps between its parts at most once); the arrow is drawn.
TEST_P(HtmlLayout, LanesFitOrScrollAndTitlesNeverBreak) {
  REQUIRE_CHROMIUM();
  const LayoutCase c = GetParam();
  const hc::Finding f = lanes_finding(c.lanes);
  ASSERT_EQ(f.kind, hc::FindingKind::data_race) << f.message;
  const std::string name = "layout-" + std::to_string(c.lanes) + "-lanes-" +
                           std::to_string(c.width) + "x" + std::to_string(c.height);
  const Report r = write_report("test/lanes", "dfs", f, name + ".html");
  const std::string size = std::to_string(c.width) + "," + std::to_string(c.height);
  const nlohmann::json l = layout_of(r.path, size);
  ASSERT_TRUE(l.contains("lanes")) << l.dump();
  EXPECT_EQ(l["window"]["w"], c.width) << "the window size did not apply";
  EXPECT_LE(l["page"]["scrollWidth"].get<int>(), c.width) << "the page scrolls sideways";
  ASSERT_EQ(l["lanes"].size(), static_cast<std::size_t>(c.lanes)) << l.dump();
  const int scroll_width = l["scroller"]["scrollWidth"];
  const int client_width = l["scroller"]["clientWidth"];
  const bool scrolls = scroll_width > client_width + 1;
  bool all_visible = true;
  for (const nlohmann::json& lane : l["lanes"]) {
    EXPECT_GE(lane["width"].get<double>(), 150.0) << lane.dump() << ": too narrow to read";
    EXPECT_LE(lane["right"].get<double>(), scroll_width + 1.0) << lane.dump() << ": cut off";
    all_visible = all_visible && lane["visible"].get<bool>();
  }
  if (!all_visible) {
    EXPECT_TRUE(scrolls) << "lanes are hidden and the timeline does not scroll: " << l.dump();
    EXPECT_EQ(l["scroller"]["overflowX"], "auto");
  }
  if (c.lanes == 2) {
    EXPECT_TRUE(all_visible) << "two lanes fit any of these windows: " << l.dump();
  }
  if (c.lanes == 10) {
    EXPECT_TRUE(scrolls) << "ten readable lanes need to scroll: " << l.dump();
  }
  if (scrolls) {
    EXPECT_GT(l["gutterWhenScrolled"]["scrollLeft"].get<double>(), 0.0);
    EXPECT_NEAR(l["gutterWhenScrolled"]["left"].get<double>(), 0.0, 1.5)
        << "the step gutter scrolled away: " << l.dump();
  }
  EXPECT_EQ(l["titles"]["maxPartLines"], 1) << l["titles"].dump();
  EXPECT_LE(l["titles"]["maxTopLines"].get<int>(), 2) << l["titles"].dump();
  EXPECT_EQ(l["titles"]["steps"].get<std::size_t>(), f.trace.size());
  EXPECT_EQ(l["links"], 1);
  // What a person sees at this window size: the header first, then the timeline.
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / (name + ".png"), size);
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / (name + "-timeline.png"), size, "#timeline-only");
}

INSTANTIATE_TEST_SUITE_P(Windows, HtmlLayout,
                         ::testing::Values(LayoutCase{2, 800, 600}, LayoutCase{6, 800, 600},
                                           LayoutCase{10, 800, 600}, LayoutCase{2, 1400, 900},
                                           LayoutCase{6, 1400, 900}, LayoutCase{10, 1400, 900}),
                         [](const ::testing::TestParamInfo<LayoutCase>& p) {
                           return std::to_string(p.param.lanes) + "lanes_" +
                                  std::to_string(p.param.width) + "x" +
                                  std::to_string(p.param.height);
                         });

// A 2,000-step spin is a fold, not 2,000 boxes: the count is shown, the finding's step kept.
TEST(HtmlChromium, ASpinIsFoldedWithItsCount) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("engine/spin-without-yield", "spin.html");
  const hc::Finding& f = r.finding;
  ASSERT_EQ(f.kind, hc::FindingKind::step_bound_exceeded);
  ASSERT_GE(f.trace.size(), 2000u);
  EXPECT_LT(r.html.size(), 100u * 1024u) << "a folded spin should be small";
  const std::string dom = dump_dom(r.path);
  // The loads of 'flag' by the waiter, identical but for their number: one box with a count.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      dom, m,
      std::regex("<div class=\"step folded[^\"]*\" id=\"step-([0-9]+)\" data-step=\"[0-9]+\" "
                 "data-fold=\"([0-9]+)\" data-last=\"([0-9]+)\"")))
      << dom.substr(0, 3000);
  const int first = std::stoi(m[1]);
  const int folded = std::stoi(m[2]);
  const int last = std::stoi(m[3]);
  EXPECT_GE(folded, 1900);
  EXPECT_EQ(last - first + 1, folded);
  EXPECT_NE(dom.find("<span class=\"count\">x" + std::to_string(folded) +
                     "</span><span "
                     "class=\"op\">atomic-load</span>"),
            std::string::npos);
  EXPECT_NE(dom.find("folded: the same step <b>x" + std::to_string(folded) + "</b>"),
            std::string::npos);
  EXPECT_LT(count(dom, "<div class=\"step"), 20u);
  EXPECT_EQ(count(dom, "<div class=\"step finding"), 1u);
  const nlohmann::json l = layout_of(r.path, "1400,900");
  EXPECT_EQ(l["titles"]["maxPartLines"], 1) << l["titles"].dump();
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "spin.png", "1400,900");
}

// A deadlock: the thread that never ran a step (main, joining) has a lane; each blocked
// operation is a box in the last row; an arrow per wait-for edge, the cycle's two in red.
TEST(HtmlChromium, ADeadlockDrawsTheBlockedOperationsAndTheCycle) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("engine/abba-deadlock", "deadlock.html");
  const hc::Finding& f = r.finding;
  ASSERT_EQ(f.kind, hc::FindingKind::deadlock);
  const std::string dom = dump_dom(r.path);
  for (const char* thread : {"main", "locks-A-then-B", "locks-B-then-A"}) {
    EXPECT_TRUE(std::regex_search(
        dom, std::regex(std::string("class=\"lane[^\"]*\" data-thread=\"") + thread + "\"")))
        << thread;
    EXPECT_NE(f.message.find(std::string("thread '") + thread + "' waits"), std::string::npos);
  }
  EXPECT_EQ(count(dom, "<div class=\"step blocked"), 3u);
  EXPECT_EQ(count(dom, "<div class=\"step blocked on-cycle"), 2u);
  EXPECT_NE(dom.find("data-wait-links=\"3\""), std::string::npos);
  EXPECT_NE(dom.find("data-cycle-links=\"2\""), std::string::npos);
  EXPECT_EQ(count(dom, "<path class=\"wait-link cycle\" d=\"M"), 2u);
  EXPECT_TRUE(
      std::regex_search(dom, std::regex("<path class=\"wait-link cycle\" d=\"M[0-9.]+,[0-9.]+ "
                                        "C[0-9., -]+\"")))
      << dom.substr(dom.find("<svg"), 1500);
  EXPECT_NE(dom.find("wait-for cycle: 'locks-A-then-B' → 'locks-B-then-A' → 'locks-A-then-B'"),
            std::string::npos);
  EXPECT_EQ(dom.find("NaN"), std::string::npos);
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "deadlock.png", "1400,900");
}

// ICorDebug's Continue runs 28 steps at one call site: one group, its name and step count in
// its head; the lifecycle and the causal slice of the objects involved are there.
TEST(HtmlChromium, TheStepsOfOneModelCallAreGroupedWithLifecycleAndSlice) {
  REQUIRE_CHROMIUM();
  const Report r = report_of("icordebug/cached-frame-after-continue", "model-call.html");
  const hc::Finding& f = r.finding;
  ASSERT_EQ(f.kind, hc::FindingKind::neutered_object_call);
  // The steps at the Continue call's line, counted from the trace.
  std::size_t continue_steps = 0;
  std::uint32_t continue_line = 0;
  for (const hc::RichStep& s : f.trace) {
    if (s.label == "Continue") continue_line = s.line;
  }
  ASSERT_NE(continue_line, 0u);
  for (const hc::RichStep& s : f.trace)
    continue_steps += s.line == continue_line ? 1 : 0;
  ASSERT_GE(continue_steps, 20u);
  const std::string dom = dump_dom(r.path);
  EXPECT_NE(dom.find("<div class=\"call\" data-call=\"Continue\" data-call-steps=\"" +
                     std::to_string(continue_steps) + "\""),
            std::string::npos)
      << dom.substr(0, 4000);
  EXPECT_NE(dom.find("id=\"lifecycle\""), std::string::npos);
  EXPECT_NE(dom.find("causal slice: the "), std::string::npos);
  EXPECT_GE(count(dom, "<a class=\"life-step"), 2u);
  const nlohmann::json l = layout_of(r.path, "1400,900");
  EXPECT_EQ(l["titles"]["maxPartLines"], 1) << l["titles"].dump();
  screenshot(r.path, fs::path(HC_HTML_OUT_DIR) / "model-call.png", "1400,900");
}

}  // namespace

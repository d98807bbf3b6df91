// The HTML report in a real browser: a finding from a scenario run through the explorer,
// written under the build tree, loaded by headless Chromium (--dump-dom: the DOM after the
// inline script ran, --screenshot: a PNG to look at). Needs /usr/bin/chromium (the Debian
// package `chromium`); without it these tests fail, they never skip.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "hc/hc.hpp"
#include "hc/reports/html_report.hpp"

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

/// Runs `name` through the explorer (dfs) and writes its first finding's report to
/// HC_HTML_OUT_DIR/<file>.
Report report_of(const std::string& name, const std::string& file) {
  const hc::Scenario* s = hc::find_scenario(name);
  if (s == nullptr) throw std::runtime_error("missing scenario " + name);
  hc::OptionOverrides ov;
  ov.set(&hc::RunSettings::strategy, "dfs");
  const hc::ScenarioOutcome outcome = hc::run_scenario(*s, hc::options_for(*s, ov));
  if (outcome.result.findings.empty()) throw std::runtime_error(name + " found nothing");
  Report r;
  r.finding = outcome.result.findings.front();
  const std::string replay =
      "handlecheck run " + name + " --replay " + hc::format_choices(r.finding.schedule);
  r.html = hc::reports::format_html({.scenario = name,
                                     .strategy = outcome.result.strategy,
                                     .finding = r.finding,
                                     .replay_command = replay});
  fs::create_directories(HC_HTML_OUT_DIR);
  r.path = fs::path(HC_HTML_OUT_DIR) / file;
  std::ofstream(r.path, std::ios::binary) << r.html;
  return r;
}

bool has_chromium() {
  return fs::exists(kChromium);
}

#define REQUIRE_CHROMIUM()                                                  \
  ASSERT_TRUE(has_chromium())                                               \
      << kChromium << " is missing: install the Debian package `chromium` " \
      << "(apt-get install -y --no-install-recommends chromium; ./quickstart installs it)"

/// A fresh --user-data-dir, removed at the end of the scope.
struct TempProfile {
  fs::path dir;
  TempProfile() {
    std::string pattern = (fs::temp_directory_path() / "hc-chromium-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~TempProfile() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempProfile(const TempProfile&) = delete;
  TempProfile& operator=(const TempProfile&) = delete;
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string chromium_command(const TempProfile& profile, const std::string& what,
                             const fs::path& page) {
  return std::string("timeout 60 ") + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --user-data-dir=" +
         quoted(profile.dir.string()) + " " + what + " " +
         quoted("file://" + fs::absolute(page).string());
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

void screenshot(const fs::path& page, const fs::path& png, const std::string& size = "1400,900") {
  const TempProfile profile;
  fs::remove(png);
  const fs::path log = fs::path(png).replace_extension(".screenshot.log");
  const Run r =
      run(chromium_command(profile,
                           "--screenshot=" + quoted(png.string()) + " --window-size=" + size, page),
          log);
  EXPECT_EQ(r.status, 0) << "chromium --screenshot failed; its stderr:\n" << slurp(log);
  ASSERT_TRUE(fs::exists(png)) << "no screenshot at " << png << "; chromium said:\n" << slurp(log);
  EXPECT_GT(fs::file_size(png), 10u * 1024u) << png << " is too small to show a report";
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

}  // namespace

// file_commands.cpp — the commands on files: `replay` and `minimize` (a replay file), `merge`
// (run summaries).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/summary.hpp"
#include "hc/reports/terminal.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/write_file.hpp"

namespace hc::cli {

namespace fs = std::filesystem;

/// `handlecheck replay FILE`: reproduces the file's finding, step by step.
int replay_command(const std::string& path, bool continue_after, bool quiet,
                   const OutputStyle& output) {
  const hc::reports::TextLayout layout = text_layout(output);
  std::string error;
  const auto file = hc::reports::read_replay_file(path, &error);
  if (!file) throw UsageError{error};
  const hc::Scenario* s = hc::find_scenario(file->scenario);
  if (s == nullptr) {
    std::vector<std::string> known;
    for (const hc::Scenario& k : hc::scenarios())
      known.emplace_back(k.info.name);
    const std::string hint = closest(file->scenario, known);
    throw UsageError{fmt::format("'{}' names scenario '{}', which this handlecheck does not have{}",
                                 path, file->scenario,
                                 hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint))};
  }
  const std::function<void()> body = s->body;
  std::string problem;
  hc::Result result;
  const auto found = hc::reports::replay_recorded(*file, body, continue_after, &problem, &result);
  if (!result.replay_note.empty()) {
    std::cout << fmt::format("note: {}; continued with {} ({} executions)\n", result.replay_note,
                             file->settings.strategy, result.stats.executions);
  }
  if (!found) {
    if (problem.starts_with("replay diverged")) {
      std::cerr << fmt::format("handlecheck: {}: {}\n", path, problem);
      return kExitUsage;  // the file does not fit the program: bad input, not a verdict
    }
    std::cout << fmt::format(
        "{}  {}: {}\n",
        hc::reports::paint("NOT REPRODUCED", hc::reports::Paint::fail, layout.colour),
        file->scenario, problem);
    if (!result.findings.empty()) {
      std::cout << hc::reports::format_finding(result.findings.front(), "", layout);
    }
    return kExitUnexpected;
  }
  auto recorded = file->parameters;
  auto now = found->parameters;
  std::sort(recorded.begin(), recorded.end());
  std::sort(now.begin(), now.end());
  if (now != recorded) {
    std::cout << "note: the scenario's model parameters differ from the file's; recorded:";
    for (const auto& [k, v] : file->parameters)
      std::cout << fmt::format(" {}={}", k, v);
    std::cout << "; now:";
    for (const auto& [k, v] : found->parameters)
      std::cout << fmt::format(" {}={}", k, v);
    std::cout << "\n";
  }
  std::cout << fmt::format(
      "{}  {}  {} ({} steps, {} preemptions)\n",
      hc::reports::paint("REPRODUCED", hc::reports::Paint::pass, layout.colour), file->scenario,
      hc::reports::paint(file->kind, hc::reports::Paint::finding, layout.colour),
      found->trace.size(), found->preemptions);
  // The replay is one execution; the report names the one of the exploration that found it.
  hc::Finding shown = *found;
  shown.execution = file->execution;
  if (!quiet) std::cout << hc::reports::format_finding(shown, "", layout);
  return kExitOk;
}

/// `handlecheck minimize FILE`: writes FILE's minimal schedule beside it.
int minimize_command(const std::string& path, const std::string& program) {
  std::string error;
  const auto file = hc::reports::read_replay_file(path, &error);
  if (!file) throw UsageError{error};
  const hc::Scenario* s = hc::find_scenario(file->scenario);
  if (s == nullptr) {
    throw UsageError{fmt::format("'{}' names scenario '{}', which this handlecheck does not have",
                                 path, file->scenario)};
  }
  const std::function<void()> body = s->body;
  std::string problem;
  const auto found = hc::reports::replay_recorded(*file, body, false, &problem);
  if (!found) throw UsageError{fmt::format("{}: cannot minimize: {}", path, problem)};
  hc::ExploreOptions options = hc::reports::replay_options(*file, false);
  options.strategy = file->settings.strategy;
  options.replay_file.reset();
  const hc::MinimizeResult m = hc::minimize(body, options, *found);
  const hc::reports::ReplayFile minimal =
      hc::reports::make_replay_file(file->scenario, options, m.minimal);
  const fs::path original(path);
  std::string stem = original.stem().string();
  if (stem.ends_with(".min")) stem.resize(stem.size() - 4);
  const fs::path out = original.parent_path() / (stem + ".min.json");
  hc::write_file_atomically(out.string(), hc::reports::to_json(minimal));
  std::cout << fmt::format("minimized {}: {} -> {} preemptions, {} -> {} steps ({} executions)\n",
                           file->scenario, m.preemptions_before, m.preemptions_after,
                           m.steps_before, m.steps_after, m.executions);
  std::cout << fmt::format("wrote {}\nreplay: {} replay {}\n", out.string(), program, out.string());
  return kExitOk;
}

/// `handlecheck merge SUMMARY...`: one summary from the summaries of several runs (shards).
int merge_command(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<nlohmann::json> summaries;
  for (const std::string& path : inputs) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      throw UsageError{fmt::format(
          "'{}' is a directory: pass the summary files (--summary of each run), e.g. {}/*.json",
          path, path)};
    }
    std::ifstream in(path);
    if (!in) throw UsageError{fmt::format("cannot read summary '{}'", path)};
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto summary = hc::reports::parse_summary_text(text.str(), &error);
    if (!summary) throw UsageError{fmt::format("'{}' is not a summary: {}", path, error)};
    summaries.push_back(std::move(*summary));
  }
  std::string error;
  const auto merged = hc::reports::merge_summaries(summaries, &error, inputs);
  if (!merged) throw UsageError{fmt::format("cannot merge: {}", error)};
  const std::string text = merged->dump(2) + "\n";
  if (output.empty()) {
    std::cout << text;
  } else {
    hc::write_file_atomically(output, text);
  }
  const nlohmann::json& totals = (*merged)["totals"];
  const std::uint64_t pruned = totals.value("pruned", std::uint64_t{0});
  std::cerr << fmt::format("merged {} summaries: {} scenarios, {} unexpected, {} executions{}\n",
                           inputs.size(), totals.value("scenarios", 0),
                           totals.value("unexpected", 0), totals.value("executions", 0),
                           pruned == 0 ? std::string() : fmt::format(" ({} pruned)", pruned));
  return totals.value("unexpected", 0) == 0 ? kExitOk : kExitUnexpected;
}

}  // namespace hc::cli

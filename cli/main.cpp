// handlecheck — the command-line tool: list and run scenarios, replay a schedule.
//
//   handlecheck list [--tag T] [--names-only] [--markdown]
//   handlecheck run NAME... | --tag T | --all  [--strategy S] [--seed N] [--replay CHOICES] ...
//   handlecheck replay FILE [--continue]      reproduce a replay file's finding
//   handlecheck minimize FILE                 write its minimal schedule beside it
//   handlecheck merge SUMMARY... [-o FILE]    merge the run summaries of shards
//
// Exit codes: 0 every verdict as expected, 1 a verdict differs, 2 usage or input error,
// 3 handlecheck internal error, 130 interrupted (SIGINT/SIGTERM; the checkpoint says where to
// resume). Standard output is deterministic (same command, same bytes);
// timings and the progress line go to standard error.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hc/hc.hpp"
#include "hc/reports/html_report.hpp"
#include "hc/reports/replay_file.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/summary.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/shard.hpp"
#include "hc/write_file.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitUnexpected = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;
constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM stopped the run; a checkpoint was written

struct UsageError {
  std::string message;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best_distance <= std::max<std::size_t>(3, word.size() / 3) ? best : std::string();
}

std::string tags_text(const hc::ScenarioInfo& info) {
  std::string out;
  for (std::string_view t : info.tags)
    out += fmt::format("{}{}", out.empty() ? "" : ",", t);
  return out;
}

std::string expected_text(const hc::ScenarioInfo& info) {
  return info.expect.clean() ? "clean" : std::string(hc::finding_kind_name(*info.expect.kind));
}

bool has_tag(const hc::Scenario& s, std::string_view tag) {
  return std::find(s.info.tags.begin(), s.info.tags.end(), tag) != s.info.tags.end();
}

/// Writes `text` to `path` atomically and checked (hc/write_file.hpp); a failure is bad input
/// (exit 2) naming the file and the cause.
void write_file_atomically(const fs::path& path, const std::string& text) {
  try {
    hc::write_file_atomically(path.string(), text);
  } catch (const hc::usage_error& e) {
    throw UsageError{e.what()};
  }
}

/// Finds a long option the user mistyped before CLI11 sees it, to name the closest match.
void check_long_options(const CLI::App& command, const std::vector<std::string>& args) {
  std::vector<std::string> known;
  for (const CLI::Option* o : command.get_options()) {
    for (const std::string& n : o->get_lnames())
      known.push_back("--" + n);
  }
  for (const std::string& arg : args) {
    if (!arg.starts_with("--") || arg == "--") continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const std::string hint = closest(name, known);
    throw UsageError{fmt::format(
        "unknown option '{}' for 'handlecheck {}'{}; see 'handlecheck {} "
        "--help'",
        name, command.get_name(), hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint),
        command.get_name())};
  }
}

/// Where reports go without --out: $HC_OUT_DIR, else ./handlecheck-out.
std::string default_out_dir() {
  const char* env = std::getenv("HC_OUT_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("handlecheck-out");
}

struct RunArgs {
  std::vector<std::string> names;
  std::string tag;
  bool all = false;
  /// The run-shaping settings given on the command line: one flag per RunSettings field
  /// (add_setting_flags), marked as set when the flag was given.
  hc::OptionOverrides overrides;
  std::vector<std::pair<CLI::Option*, hc::SettingInfo>> setting_flags;
  std::string out_dir = default_out_dir();
  std::string replay;
  bool verbose = false;
  bool no_minimize = false;
  std::string summary_file;
  std::string junit_file;
  // Scale: parallel workers, shards, checkpoints.
  int jobs = 1;
  std::string shard;  // "I/N", 1-based
  std::string checkpoint;
  double checkpoint_interval = 30;
  std::string resume;
  bool progress = false;

  /// A strategy named on the command line ("" when the scenario's default stands).
  std::string strategy() const {
    return overrides.is_set("strategy") ? overrides.values().strategy : std::string();
  }
};

/// Where this process sits in a batch of shards: --shard I/N, else the index and count an
/// existing batch engine gives its tasks. Returns {0, 1} when there is none; *source says which.
std::vector<const hc::Scenario*> select_scenarios(const RunArgs& a) {
  std::vector<const hc::Scenario*> out;
  const int ways = (!a.names.empty()) + (!a.tag.empty()) + (a.all ? 1 : 0);
  if (ways != 1) {
    throw UsageError{"say which scenarios to run: NAME..., --tag T or --all (exactly one of them)"};
  }
  if (a.all) {
    for (const hc::Scenario& s : hc::scenarios())
      out.push_back(&s);
  } else if (!a.tag.empty()) {
    for (const hc::Scenario& s : hc::scenarios()) {
      if (has_tag(s, a.tag)) out.push_back(&s);
    }
    if (out.empty()) {
      std::set<std::string> tags;
      for (const hc::Scenario& s : hc::scenarios())
        for (std::string_view t : s.info.tags)
          tags.emplace(t);
      const std::string hint = closest(a.tag, {tags.begin(), tags.end()});
      throw UsageError{fmt::format("no scenario has the tag '{}'{}", a.tag,
                                   hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint))};
    }
  } else {
    std::vector<std::string> known;
    for (const hc::Scenario& s : hc::scenarios())
      known.emplace_back(s.info.name);
    for (const std::string& n : a.names) {
      const hc::Scenario* s = hc::find_scenario(n);
      if (s == nullptr) {
        const std::string hint = closest(n, known);
        throw UsageError{
            fmt::format("unknown scenario '{}'{}; 'handlecheck list' shows them all", n,
                        hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint))};
      }
      out.push_back(s);
    }
  }
  return out;
}

hc::OptionOverrides overrides_from(const RunArgs& a) {
  hc::OptionOverrides ov = a.overrides;
  for (const auto& [option, info] : a.setting_flags) {
    if (option->count() == 0) continue;
    ov.mark(info.key);
    hc::RunSettings::fields(ov.values(), [&](const hc::SettingInfo& field, auto& value) {
      if constexpr (std::is_arithmetic_v<std::remove_cvref_t<decltype(value)>>) {
        if (field.key == info.key && field.scale != 1) value *= field.scale;  // KiB -> bytes
      }
    });
  }
  if (!a.replay.empty()) {
    std::string error;
    auto choices = hc::parse_choices(a.replay, &error);
    if (!choices) throw UsageError{fmt::format("--replay '{}': {}", a.replay, error)};
    ov.replay = std::move(*choices);
  }
  return ov;
}

int run_command(const RunArgs& a, const std::string& program) {
  const std::vector<const hc::Scenario*> selected = select_scenarios(a);
  const hc::OptionOverrides ov = overrides_from(a);
  if (ov.replay && selected.size() != 1) throw UsageError{"--replay needs exactly one scenario"};
  const bool detailed = a.verbose || selected.size() == 1;
  const bool tty = ::isatty(STDERR_FILENO) != 0;

  std::size_t unexpected = 0;
  std::uint64_t executions = 0;
  std::size_t findings = 0;
  double seconds = 0;
  bool internal = false;
  std::vector<hc::reports::ScenarioRecord> records;
  const hc::ShardPosition shard = hc::shard_position(a.shard);
  if (shard.count > 1) {
    std::fprintf(stderr, "shard %u of %u (from %s)\n", shard.index + 1, shard.count,
                 shard.source.c_str());
  }
  if ((!a.checkpoint.empty() || !a.resume.empty()) && selected.size() != 1)
    throw UsageError{"--checkpoint and --resume work on exactly one scenario"};
  bool interrupted = false;
  for (const hc::Scenario* s : selected) {
    hc::ExploreOptions options = hc::options_for(*s, ov);
    options.jobs = a.jobs;
    options.shard_index = shard.index;
    options.shard_count = shard.count;
    options.checkpoint_file = a.checkpoint;
    options.checkpoint_interval_seconds = a.checkpoint_interval;
    options.resume_file = a.resume;
    options.run_name = std::string(s->info.name);
    options.coverage = true;         // the summary lists the pairs
    options.stop_on_signals = true;  // Ctrl-C: partial results, not a dead process
    if (tty || a.progress) {
      // A line rewritten in place on a terminal; with --progress and no terminal (nightly
      // logs), a line every 10 seconds.
      double last_line = 0;
      const hc::StrategyInfo* row = hc::find_strategy(options.strategy);
      const bool reduces = row != nullptr && row->reduces;
      options.progress = [&, last_line](const hc::Progress& p) mutable {
        if (p.seconds < 1.0 || (!tty && p.seconds - last_line < 10.0)) return;
        last_line = p.seconds;
        std::string estimate;
        if (p.estimated_total >= 1) {
          const double share = static_cast<double>(p.executions) / p.estimated_total;
          const double rate = static_cast<double>(p.executions) / p.seconds;
          estimate =
              reduces
                  ? fmt::format(", dfs tree ~{:.3g} (Knuth; dpor explores less)", p.estimated_total)
              : share < 1.0
                  ? fmt::format(", ~{:.0f}% of ~{:.3g}, ETA {:.0f} s", 100 * share,
                                p.estimated_total,
                                (p.estimated_total - static_cast<double>(p.executions)) / rate)
                  : fmt::format(", past the estimate of ~{:.3g}", p.estimated_total);
        }
        std::fprintf(stderr, "%s  %s: %llu executions, %.0f/s, %zu finding%s, depth %u%s%s",
                     tty ? "\r" : "", std::string(s->info.name).c_str(),
                     static_cast<unsigned long long>(p.executions),
                     static_cast<double>(p.executions) / p.seconds, p.findings,
                     p.findings == 1 ? "" : "s", p.depth, estimate.c_str(), tty ? "   " : "\n");
      };
    }
    hc::ScenarioOutcome outcome;
    try {
      outcome = hc::run_scenario(*s, options);
    } catch (const hc::usage_error& e) {
      throw UsageError{e.what()};
    }
    if (tty) std::fprintf(stderr, "\r\033[K");
    const hc::Result& r = outcome.result;
    if (ov.replay && a.strategy().empty() && !r.findings.empty() &&
        r.findings.front().kind == hc::FindingKind::nondeterminism &&
        r.findings.front().message.starts_with("replay diverged")) {
      // The choice string does not fit the scenario (too short, or another path): bad input.
      throw UsageError{fmt::format(
          "--replay '{}' does not fit {}: {}. Pass the whole choice string a finding printed, "
          "or add --strategy S to explore on from where it ends",
          a.replay, s->info.name, r.findings.front().message)};
    }
    if (r.stats.estimated_total >= 1 && r.stats.exhausted) {
      std::fprintf(stderr,
                   "  %s: Knuth estimated ~%.3g executions of the dfs tree; %s took %llu (%.2fx)\n",
                   std::string(s->info.name).c_str(), r.stats.estimated_total, r.strategy.c_str(),
                   static_cast<unsigned long long>(r.stats.executions),
                   static_cast<double>(r.stats.executions) / r.stats.estimated_total);
    }
    if (r.stats.interrupted) {
      interrupted = true;
      if (!a.checkpoint.empty()) {
        std::fprintf(stderr,
                     "interrupted after %llu executions; checkpoint: %s\nresume with: %s run %s "
                     "--resume %s (and the same options)\n",
                     static_cast<unsigned long long>(r.stats.executions), a.checkpoint.c_str(),
                     program.c_str(), std::string(s->info.name).c_str(), a.checkpoint.c_str());
      } else {
        std::fprintf(stderr,
                     "interrupted after %llu executions of %s: the results below are partial "
                     "(the search was not finished)\n",
                     static_cast<unsigned long long>(r.stats.executions),
                     std::string(s->info.name).c_str());
      }
    }
    executions += r.stats.executions;
    findings += r.findings.size();
    seconds += r.stats.seconds;

    // Per distinct finding: its replay file (which must replay), the minimal one, and the
    // text and HTML reports beside them.
    std::string where = "no report";
    std::vector<std::string> commands;
    std::vector<hc::Finding> shown;
    hc::reports::ScenarioRecord record;
    const std::function<void()> body = s->body;
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
      const hc::Finding& f = r.findings[i];
      internal = internal || f.kind == hc::FindingKind::internal_error;
      // After an interrupt, no minimisation: the user asked to stop.
      const hc::reports::Reproducer rep = hc::reports::reproduce(
          {.scenario = std::string(s->info.name),
           .options = options,
           .body = body,
           .out_dir = a.out_dir,
           .minimize = !a.no_minimize && !interrupted,
           .command_for =
               [&](const std::string& path) { return fmt::format("{} replay {}", program, path); }},
          f);
      if (!rep.problem.empty() && outcome.as_expected) {
        outcome.as_expected = false;
        outcome.explanation = rep.problem;
      }
      commands.push_back(rep.command);
      shown.push_back(rep.reported);
      if (i == 0) where = rep.notes;
      record.findings.push_back(
          hc::reports::FindingRecord{std::string(hc::finding_kind_name(f.kind)), f.message,
                                     f.signature, rep.path, rep.command});
    }
    record.name = std::string(s->info.name);
    record.expected = expected_text(s->info);
    record.verdict =
        r.findings.empty() ? "clean" : std::string(hc::finding_kind_name(r.findings.front().kind));
    record.as_expected = outcome.as_expected;
    record.explanation = outcome.explanation;
    record.strategy = r.strategy;
    record.settings = static_cast<const hc::RunSettings&>(options);
    record.executions = r.stats.executions;
    record.exhausted = r.stats.exhausted;
    record.seconds = r.stats.seconds;
    record.covered_pairs = r.covered_pairs;  // coverage
    record.one_order_pairs = r.one_order_pairs;
    records.push_back(std::move(record));

    // The verdict shown: the expected kind when a later finding matched it (--keep-going).
    const std::string found = r.findings.empty() ? std::string("clean")
                              : outcome.as_expected && s->info.expect.kind
                                  ? std::string(hc::finding_kind_name(*s->info.expect.kind))
                                  : std::string(hc::finding_kind_name(r.findings.front().kind));
    const std::string stats = fmt::format(
        "{}, {} execution{}{}{}", r.strategy, r.stats.executions,
        r.stats.executions == 1 ? "" : "s", r.stats.exhausted ? ", exhaustive" : "",
        r.stats.bound_reached >= 0 ? fmt::format(", preemption bound {}", r.stats.bound_reached)
                                   : std::string());
    if (outcome.as_expected) {
      std::cout << fmt::format("PASS  {}  {} as expected ({}); {}\n", s->info.name, found, stats,
                               where);
    } else {
      ++unexpected;
      std::cout << fmt::format("FAIL  {}  {} ({}); {}\n", s->info.name, outcome.explanation, stats,
                               where);
    }
    if (a.verbose) {  // coverage (verbose only: plain stdout stays as it was)
      std::cout << fmt::format("coverage: {} pair{} in both orders, {} in one order only\n",
                               r.covered_pairs.size(), r.covered_pairs.size() == 1 ? "" : "s",
                               r.one_order_pairs.size());
    }
    if (detailed || !outcome.as_expected) {
      for (std::size_t i = 0; i < r.findings.size(); ++i) {
        std::cout << hc::reports::format_finding(shown[i], commands[i]) << "\n";
      }
    }
    if (interrupted) break;  // the scenarios after this one are not run
  }
  if (records.size() < selected.size()) {
    std::fprintf(stderr, "stopped by a signal: %zu of %zu scenarios not run\n",
                 selected.size() - records.size(), selected.size());
  }
  std::cout << fmt::format(
      "summary: {} scenario{}, {} as expected, {} unexpected; {} "
      "executions, {} distinct finding{}\n",
      records.size(), records.size() == 1 ? "" : "s", records.size() - unexpected, unexpected,
      executions, findings, findings == 1 ? "" : "s");
  std::cout.flush();
  std::fprintf(stderr, "time: %.3f s\n", seconds);
  if (!a.summary_file.empty()) {
    write_file_atomically(a.summary_file, hc::reports::summary_json(records).dump(2) + "\n");
  }
  if (!a.junit_file.empty())
    write_file_atomically(a.junit_file, hc::reports::format_junit(records));
  if (internal) return kExitInternal;
  if (interrupted) return kExitInterrupted;
  return unexpected == 0 ? kExitOk : kExitUnexpected;
}

/// The catalogue as a Markdown table (the README's).
void print_markdown(const std::string& tag) {
  std::cout << "| scenario | pattern | source | expected verdict | what it shows |\n"
               "|---|---|---|---|---|\n";
  for (const hc::Scenario& s : hc::scenarios()) {
    if (!tag.empty() && !has_tag(s, tag)) continue;
    std::cout << fmt::format("| `{}` | {} | {} | {} | {} |\n", s.info.name, s.info.pattern,
                             s.info.source, expected_text(s.info), s.info.summary);
  }
}

/// `handlecheck replay FILE`: reproduces the file's finding, step by step.
int replay_command(const std::string& path, bool continue_after, bool quiet) {
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
    std::cout << fmt::format("NOT REPRODUCED  {}: {}\n", file->scenario, problem);
    if (!result.findings.empty()) {
      std::cout << hc::reports::format_finding(result.findings.front(), "");
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
  std::cout << fmt::format("REPRODUCED  {}  {} ({} steps, {} preemptions)\n", file->scenario,
                           file->kind, found->trace.size(), found->preemptions);
  if (!quiet) std::cout << hc::reports::format_finding(*found, "");
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
  write_file_atomically(out, hc::reports::to_json(minimal));
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
  const auto merged = hc::reports::merge_summaries(summaries, &error);
  if (!merged) throw UsageError{fmt::format("cannot merge: {}", error)};
  const std::string text = merged->dump(2) + "\n";
  if (output.empty()) {
    std::cout << text;
  } else {
    write_file_atomically(output, text);
  }
  const nlohmann::json& totals = (*merged)["totals"];
  std::cerr << fmt::format("merged {} summaries: {} scenarios, {} unexpected, {} executions\n",
                           inputs.size(), totals.value("scenarios", 0),
                           totals.value("unexpected", 0), totals.value("executions", 0));
  return totals.value("unexpected", 0) == 0 ? kExitOk : kExitUnexpected;
}

/// `handlecheck strategies [--markdown]`: the strategy table.
int strategies_command(bool markdown) {
  auto kind = [](hc::SearchKind k) {
    switch (k) {
      case hc::SearchKind::exhaustive:
        return "exhaustive";
      case hc::SearchKind::seeded:
        return "seeded";
      case hc::SearchKind::single:
        return "single";
    }
    return "?";
  };
  if (markdown) {
    std::cout << "| strategy | search | what it does |\n|---|---|---|\n";
  }
  for (const hc::StrategyInfo& row : hc::strategy_table()) {
    std::cout << (markdown ? fmt::format("| `{}` | {} | {} |\n", row.name, kind(row.kind), row.help)
                           : fmt::format("{:<12} {:<10} {}\n", row.name, kind(row.kind), row.help));
  }
  return kExitOk;
}

int list_command(const std::string& tag, bool names_only, bool markdown) {
  if (markdown) {
    print_markdown(tag);
    return kExitOk;
  }
  std::size_t width = 4;
  for (const hc::Scenario& s : hc::scenarios())
    width = std::max(width, s.info.name.size());
  std::size_t shown = 0;
  for (const hc::Scenario& s : hc::scenarios()) {
    if (!tag.empty() && !has_tag(s, tag)) continue;
    ++shown;
    if (names_only) {
      std::cout << s.info.name << "\n";
      continue;
    }
    std::cout << fmt::format("{:<{}}  expect {:<20} [{}]  {}\n", s.info.name, width,
                             expected_text(s.info), tags_text(s.info), s.info.summary);
  }
  if (shown == 0 && !tag.empty())
    throw UsageError{fmt::format("no scenario has the tag '{}'", tag)};
  return kExitOk;
}

}  // namespace

/// A whole number in [0, 2^64): CLI11 would wrap "-1" and accept "".
const CLI::Validator kWholeNumber(
    [](std::string& text) -> std::string {
      const bool digits =
          !text.empty() && text.size() <= 20 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits && (text.size() < 20 || text <= "18446744073709551615")) return {};
      return fmt::format("'{}' is not a whole number from 0 to 18446744073709551615", text);
    },
    "UINT");

/// One flag per RunSettings field (hc/settings.hpp), with its help and range; the strategy's
/// help lists the strategy table. overrides_from() marks the ones given.
void add_setting_flags(CLI::App& run, RunArgs& a) {
  hc::RunSettings::fields(a.overrides.values(), [&](const hc::SettingInfo& info, auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    std::string help(info.help);
    if (info.key == "strategy") {
      std::string names;
      for (const hc::StrategyInfo& row : hc::strategy_table())
        names += fmt::format("{}{}", names.empty() ? "" : ", ", row.name);
      help += ": " + names;
    }
    CLI::Option* option = nullptr;
    if constexpr (std::is_same_v<T, bool>) {
      option = run.add_flag(std::string(info.flag), value, help);
    } else {
      option = run.add_option(std::string(info.flag), value, help);
      if constexpr (std::is_arithmetic_v<T>) {
        if (info.has_range()) {
          option->check(CLI::Range(static_cast<T>(info.min), static_cast<T>(info.max)));
        } else if constexpr (std::is_unsigned_v<T>) {
          option->check(kWholeNumber);
        }
      }
    }
    a.setting_flags.emplace_back(option, info);
  });
}

/// A boolean setting's two flags ("--stop-at-first,!--keep-going") exclude each other.
void check_flag_pairs(const std::vector<std::string>& args) {
  hc::RunSettings probe;
  hc::RunSettings::fields(probe, [&](const hc::SettingInfo& info, const auto&) {
    const std::string_view spec = info.flag;
    const std::size_t comma = spec.find(",!");
    if (comma == std::string_view::npos) return;
    const std::string on(spec.substr(0, comma));
    const std::string off(spec.substr(comma + 2));
    if (std::find(args.begin(), args.end(), on) != args.end() &&
        std::find(args.begin(), args.end(), off) != args.end())
      throw UsageError{fmt::format("{} and {} exclude each other", on, off)};
  });
}

int main(int argc, char** argv) {
  CLI::App app{"handlecheck: deterministic concurrency stress testing for handle lifetimes"};
  app.set_version_flag("--version", std::string("handlecheck ") + HC_VERSION);
  app.require_subcommand(1);

  std::string list_tag;
  CLI::App* list = app.add_subcommand("list", "List the registered scenarios");
  bool names_only = false;
  bool markdown = false;
  list->add_option("--tag", list_tag, "Only scenarios with this tag");
  list->add_flag("--markdown", markdown, "The catalogue as a Markdown table (for the README)");
  list->add_flag("--names-only", names_only, "One name per line, nothing else (for scripts)");

  RunArgs a;
  CLI::App* run = app.add_subcommand("run", "Explore scenarios and check their verdicts");
  run->add_option("names", a.names, "Scenario names (see 'handlecheck list')");
  run->add_option("--tag", a.tag, "Run every scenario with this tag");
  run->add_flag("--all", a.all, "Run every registered scenario");
  add_setting_flags(*run, a);
  run->add_option("--out", a.out_dir, "Directory for reports")->capture_default_str();
  run->add_option("--replay", a.replay,
                  "Follow this choice string (printed with every finding), then continue with "
                  "--strategy if given");
  run->add_flag("-v,--verbose", a.verbose,
                "Print every finding in full, not only unexpected ones, and each scenario's "
                "coverage of conflicting operations");
  run->add_flag("--no-minimize", a.no_minimize,
                "Do not minimise findings (by default a minimal replay file is written beside "
                "each)");
  run->add_option("--summary", a.summary_file, "Write the JSON run summary to this file");
  run->add_option("--junit", a.junit_file, "Write JUnit XML (a testcase per scenario) here");
  run->add_option("-j,--jobs", a.jobs,
                  "Parallel workers (OS threads); same findings and exhaustive totals as 1")
      ->check(CLI::Range(1, 256));
  run->add_option("--shard", a.shard,
                  "Explore shard I of N (1-based, e.g. 2/3); without it, the index and count of "
                  "a Kubernetes Indexed Job, Slurm array or CI matrix are read (see README)");
  run->add_option("--checkpoint", a.checkpoint,
                  "Write a resumable checkpoint here periodically and on SIGINT/SIGTERM");
  run->add_option("--checkpoint-interval", a.checkpoint_interval,
                  "Seconds between checkpoints (0.001 to 1000000, default 30)")
      ->check(CLI::Range(0.001, 1000000.0));
  run->add_flag("--progress", a.progress,
                "Progress lines on stderr even without a terminal (every 10 s): executions, "
                "rate, findings, depth and, for exhaustive runs, Knuth's estimate and ETA");
  run->add_option("--resume", a.resume,
                  "Continue the run this checkpoint recorded (same scenario and options)");

  std::string replay_path;
  bool replay_continue = false;
  bool replay_quiet = false;
  CLI::App* replay = app.add_subcommand("replay", "Reproduce the finding of a replay file");
  replay->add_option("file", replay_path, "The replay file")->required();
  replay->add_flag("--continue", replay_continue,
                   "At a divergence, explore on from there with the file's strategy");
  replay->add_flag("-q,--quiet", replay_quiet, "Only the verdict line, not the trace");

  std::string minimize_path;
  CLI::App* minimize =
      app.add_subcommand("minimize", "Write a replay file's minimal schedule beside it");
  minimize->add_option("file", minimize_path, "The replay file")->required();

  std::vector<std::string> merge_inputs;
  std::string merge_output;
  CLI::App* merge = app.add_subcommand("merge", "Merge the run summaries of several runs");
  merge->add_option("summaries", merge_inputs, "Summary files (--summary of each run)")->required();
  merge->add_option("-o,--output", merge_output, "Write the merged summary here (default: stdout)");

  bool strategies_markdown = false;
  CLI::App* strategies =
      app.add_subcommand("strategies", "List the search strategies (the strategy table)");
  strategies->add_flag("--markdown", strategies_markdown,
                       "As a Markdown table (the README's, which a test compares)");

  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty()) {
      const std::vector<std::string> commands = {"list",     "run",   "replay",
                                                 "minimize", "merge", "strategies"};
      for (CLI::App* c : {list, run, replay, minimize, merge, strategies}) {
        if (args[0] == c->get_name()) check_long_options(*c, {args.begin() + 1, args.end()});
      }
      if (args[0] == "run") check_flag_pairs(args);
      if (!args[0].starts_with("-") &&
          std::find(commands.begin(), commands.end(), args[0]) == commands.end()) {
        const std::string hint = closest(args[0], commands);
        throw UsageError{fmt::format(
            "unknown command '{}'{}; the commands are list, run, replay, minimize, merge and "
            "strategies",
            args[0], hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint))};
      }
    }
    app.parse(argc, argv);
    if (list->parsed()) return list_command(list_tag, names_only, markdown);
    if (replay->parsed()) return replay_command(replay_path, replay_continue, replay_quiet);
    if (minimize->parsed()) return minimize_command(minimize_path, argv[0]);
    if (merge->parsed()) return merge_command(merge_inputs, merge_output);
    if (strategies->parsed()) return strategies_command(strategies_markdown);
    return run_command(a, argv[0]);
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code() == 0 ? app.exit(e) : (app.exit(e), kExitUsage);
  } catch (const UsageError& e) {
    std::cerr << "handlecheck: " << e.message << "\n";
    return kExitUsage;
  } catch (const hc::usage_error& e) {  // bad options or input found below the CLI
    std::cerr << "handlecheck: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "handlecheck internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

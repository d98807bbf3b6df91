// handlecheck — the command-line tool: list and run scenarios, replay a schedule.
//
//   handlecheck list [--tag T]
//   handlecheck run NAME... | --tag T | --all  [--strategy S] [--seed N] [--replay CHOICES] ...
//
// Exit codes: 0 every verdict as expected, 1 a verdict differs, 2 usage or input error,
// 3 handlecheck internal error. Standard output is deterministic (same command, same bytes);
// timings and the progress line go to standard error.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "hc/hc.hpp"
#include "hc/reports/text_report.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitUnexpected = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;

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

std::string file_name_for(std::string_view scenario) {
  std::string out(scenario);
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

/// Writes `text` to `path` atomically: a temporary file, then a rename.
void write_file_atomically(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  const fs::path temporary = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
      throw UsageError{
          fmt::format("cannot write reports under '{}': check --out", path.parent_path().string())};
    out << text;
  }
  fs::rename(temporary, path);
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

struct RunArgs {
  std::vector<std::string> names;
  std::string tag;
  bool all = false;
  std::string strategy;
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> max_executions;
  std::optional<double> time_budget;
  std::optional<int> preemption_bound;
  std::optional<std::uint32_t> max_steps;
  bool stop_at_first = false;
  bool keep_going = false;
  std::string out_dir = HC_DEFAULT_OUT_DIR;
  std::string replay;
  std::optional<std::size_t> stack_size_kib;
  bool no_guard_pages = false;
  bool spurious_wakeups = false;
  bool verbose = false;
};

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
  hc::OptionOverrides ov;
  if (!a.strategy.empty()) ov.strategy = a.strategy;
  ov.seed = a.seed;
  ov.max_executions = a.max_executions;
  ov.time_budget_seconds = a.time_budget;
  ov.preemption_bound = a.preemption_bound;
  ov.max_steps = a.max_steps;
  if (a.stop_at_first && a.keep_going)
    throw UsageError{"--stop-at-first and --keep-going exclude each other"};
  if (a.stop_at_first) ov.stop_at_first = true;
  if (a.keep_going) ov.stop_at_first = false;
  if (!a.replay.empty()) {
    std::string error;
    auto choices = hc::parse_choices(a.replay, &error);
    if (!choices) throw UsageError{fmt::format("--replay '{}': {}", a.replay, error)};
    ov.replay = std::move(*choices);
  }
  if (a.stack_size_kib) {
    if (*a.stack_size_kib < 16) throw UsageError{"--stack-size must be at least 16 (KiB)"};
    ov.stack_size = *a.stack_size_kib * 1024;
  }
  if (a.no_guard_pages) ov.guard_pages = false;
  if (a.spurious_wakeups) ov.spurious_wakeups = true;
  return ov;
}

/// The command that replays one finding exactly: the scenario, its schedule, and every option
/// that changes what an execution does.
std::string replay_command(const std::string& program, const hc::Scenario& s,
                           const hc::ExploreOptions& o, const hc::Finding& f) {
  std::string cmd =
      fmt::format("{} run {} --replay {}", program, s.info.name,
                  f.schedule.empty() ? std::string("''") : hc::format_choices(f.schedule));
  if (o.max_steps != s.info.max_steps) cmd += fmt::format(" --max-steps {}", o.max_steps);
  if (o.spurious_wakeups) cmd += " --spurious-wakeups";
  return cmd;
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
  for (const hc::Scenario* s : selected) {
    hc::ExploreOptions options = hc::options_for(*s, ov);
    if (tty) {
      options.progress = [&](const hc::Progress& p) {
        if (p.seconds < 1.0) return;
        std::fprintf(
            stderr, "\r  %s: %llu executions, %.0f/s, %zu finding%s   ",
            std::string(s->info.name).c_str(), static_cast<unsigned long long>(p.executions),
            static_cast<double>(p.executions) / p.seconds, p.findings, p.findings == 1 ? "" : "s");
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
    executions += r.stats.executions;
    findings += r.findings.size();
    seconds += r.stats.seconds;

    // Reports: one text file per distinct finding.
    std::string where = "no report";
    std::vector<std::string> commands;
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
      const hc::Finding& f = r.findings[i];
      internal = internal || f.kind == hc::FindingKind::internal_error;
      commands.push_back(replay_command(program, *s, options, f));
      const fs::path dir = fs::path(a.out_dir) / file_name_for(s->info.name);
      const fs::path file = dir / fmt::format("{}-{}.txt", hc::finding_kind_name(f.kind), i + 1);
      write_file_atomically(file,
                            fmt::format("scenario: {}\nstrategy: {}\n{}", s->info.name, r.strategy,
                                        hc::reports::format_finding(f, commands.back())));
      where = "reports in " + dir.string();
    }

    const std::string found = r.findings.empty()
                                  ? std::string("clean")
                                  : std::string(hc::finding_kind_name(r.findings.front().kind));
    const std::string stats =
        fmt::format("{}, {} execution{}{}", r.strategy, r.stats.executions,
                    r.stats.executions == 1 ? "" : "s", r.stats.exhausted ? ", exhaustive" : "");
    if (outcome.as_expected) {
      std::cout << fmt::format("PASS  {}  {} as expected ({}); {}\n", s->info.name, found, stats,
                               where);
    } else {
      ++unexpected;
      std::cout << fmt::format("FAIL  {}  {} ({}); {}\n", s->info.name, outcome.explanation, stats,
                               where);
    }
    if (detailed || !outcome.as_expected) {
      for (std::size_t i = 0; i < r.findings.size(); ++i) {
        std::cout << hc::reports::format_finding(r.findings[i], commands[i]) << "\n";
      }
    }
  }
  std::cout << fmt::format(
      "summary: {} scenario{}, {} as expected, {} unexpected; {} "
      "executions, {} distinct finding{}\n",
      selected.size(), selected.size() == 1 ? "" : "s", selected.size() - unexpected, unexpected,
      executions, findings, findings == 1 ? "" : "s");
  std::cout.flush();
  std::fprintf(stderr, "time: %.3f s\n", seconds);
  if (internal) return kExitInternal;
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
  run->add_option("--strategy", a.strategy,
                  "dfs (exhaustive), random, or replay (default: the scenario's; replay when "
                  "--replay is given)");
  run->add_option("--seed", a.seed, "Seed of the random strategy (default 0)");
  run->add_option("--max-executions", a.max_executions,
                  "Stop after this many executions (0: until the strategy is done)");
  run->add_option("--time-budget", a.time_budget, "Stop after this many seconds per scenario");
  run->add_option("--preemption-bound", a.preemption_bound,
                  "dfs: at most this many preemptions per execution (-1: unbounded)");
  run->add_option("--max-steps", a.max_steps,
                  "Steps per execution before a step-bound-exceeded finding");
  run->add_flag("--stop-at-first", a.stop_at_first, "Stop at the first finding (the default)");
  run->add_flag("--keep-going", a.keep_going, "Keep exploring after findings; de-duplicate them");
  run->add_option("--out", a.out_dir, "Directory for reports")->capture_default_str();
  run->add_option("--replay", a.replay,
                  "Follow this choice string (printed with every finding), then continue with "
                  "--strategy if given");
  run->add_option("--stack-size", a.stack_size_kib,
                  "Stack of each simulated thread, in KiB (default 256)");
  run->add_flag("--no-guard-pages", a.no_guard_pages,
                "No protected page below each stack (an overflow is then not detected)");
  run->add_flag("--spurious-wakeups", a.spurious_wakeups,
                "Explore spurious wake-ups of condition_variable::wait");
  run->add_flag("-v,--verbose", a.verbose, "Print every finding in full, not only unexpected ones");

  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty()) {
      if (args[0] == "run") check_long_options(*run, {args.begin() + 1, args.end()});
      if (args[0] == "list") check_long_options(*list, {args.begin() + 1, args.end()});
      if (!args[0].starts_with("-") && args[0] != "run" && args[0] != "list") {
        const std::string hint = closest(args[0], {"run", "list"});
        throw UsageError{
            fmt::format("unknown command '{}'{}; the commands are 'list' and 'run'", args[0],
                        hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint))};
      }
    }
    app.parse(argc, argv);
    if (list->parsed()) return list_command(list_tag, names_only, markdown);
    return run_command(a, argv[0]);
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code() == 0 ? app.exit(e) : (app.exit(e), kExitUsage);
  } catch (const UsageError& e) {
    std::cerr << "handlecheck: " << e.message << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "handlecheck internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

// run_command.cpp — `handlecheck run`: explore the selected scenarios, check each verdict,
// reproduce every finding (hc/reports/reproduce.hpp), print one line per scenario and the
// summary, write --summary and --junit. On a terminal, stderr keeps one status line (progress)
// rewritten in place, and stdout's verdicts and kinds are coloured (--color, NO_COLOR).
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>
#include <type_traits>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/summary.hpp"
#include "hc/reports/terminal.hpp"
#include "hc/reports/text_report.hpp"
#include "hc/write_file.hpp"
#include "runtime/paths.hpp"

namespace hc::cli {
namespace {

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
  for (std::size_t i = 0; i < a.setting_flags.size(); ++i) {
    const auto& [option, info, name] = a.setting_flags[i];
    if (option->count() == 0) continue;
    if (ov.is_set(info.key)) {  // a boolean setting's other flag was given too
      const auto first = std::find_if(a.setting_flags.begin(), a.setting_flags.begin() + i,
                                      [&](const RunArgs::SettingFlag& f) {
                                        return f.info.key == info.key && f.option->count() > 0;
                                      });
      throw UsageError{fmt::format("{} and {} exclude each other", first->name, name)};
    }
    ov.mark(info.key);
    hc::RunSettings::fields(ov.values(), [&](const hc::SettingInfo& field, auto& value) {
      // A scaled setting (KiB -> bytes) is an integer; the others are left alone.
      using T = std::remove_cvref_t<decltype(value)>;
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (field.key == info.key && field.scale != 1)
          value = static_cast<T>(static_cast<std::uint64_t>(value) * field.scale);
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

/// The options that shape the results, as given, in a canonical order (scenario selection,
/// then the settings in RunSettings order): what the shards of one run must share. --jobs,
/// --shard and output paths change who does the work and where it goes, not what is found.
std::vector<std::string> shaping_options(const RunArgs& a) {
  std::vector<std::string> out;
  if (a.all) out.emplace_back("--all");
  if (!a.tag.empty()) out.push_back("--tag=" + a.tag);
  for (const std::string& n : a.names)
    out.push_back(n);
  for (const RunArgs::SettingFlag& f : a.setting_flags) {
    if (f.option->count() == 0) continue;
    const std::vector<std::string>& given = f.option->results();
    out.push_back(given.empty() || f.option->get_expected_min() == 0
                      ? f.name
                      : fmt::format("{}={}", f.name, fmt::join(given, ",")));
  }
  if (!a.replay.empty()) out.push_back("--replay=" + a.replay);
  return out;
}

/// `word` quoted for a POSIX shell when it needs it.
std::string shell_quoted(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-./=:,+@%") == std::string::npos;
  if (plain) return word;
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// The command that continues this run from its checkpoint: the command line as given, with
/// --resume (replacing one given) naming the checkpoint. Runs as printed.
std::string resume_command(const RunArgs& a) {
  std::string out;
  for (std::size_t i = 0; i < a.command_line.size(); ++i) {
    const std::string& arg = a.command_line[i];
    if (arg == "--resume") {
      ++i;  // and its value
      continue;
    }
    if (arg.starts_with("--resume=")) continue;
    out += (out.empty() ? "" : " ") + shell_quoted(arg);
  }
  return out + " --resume " + shell_quoted(a.checkpoint);
}

/// Several scenarios share one checkpoint directory: a file per scenario, named after it.
std::string checkpoint_in(const std::string& dir, const Scenario& s) {
  std::string file(s.info.name);
  std::replace(file.begin(), file.end(), '/', '_');
  return (std::filesystem::path(dir) / (file + ".json")).string();
}

/// What the summary says of this run (reports::RunRecord).
reports::RunRecord run_record(const RunArgs& a, const ShardPosition& shard) {
  reports::RunRecord run;
  run.version = HC_VERSION;
  run.options = shaping_options(a);
  run.shard_index = shard.index;
  run.shard_count = shard.count;
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) == 0) run.host = host.data();
  // Reports only: the start time never decides anything.
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  std::array<char, 32> text{};
  if (::gmtime_r(&now, &utc) != nullptr &&
      std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc) != 0)
    run.started = text.data();
  return run;
}

/// The status line of a terminal (stderr): rewritten in place, fitted to the terminal's width
/// less one column (a line that fills the last column wraps on some terminals) and padded with
/// spaces over the previous one's tail, so it never wraps and needs no escape codes.
/// Whether stderr's terminal shows a status line now. Written by the progress callback (under
/// the explorer's lock) while a scenario runs, and by the main thread between scenarios.
bool status_line_shown = false;

void write_status_line(const std::string& text) {
  status_line_shown = true;
  const std::size_t width = reports::terminal_width_of(STDERR_FILENO);
  const std::size_t room = width > 1 ? width - 1 : 1;
  std::string line = reports::fit_to_width(text, room);
  line.resize(room, ' ');
  std::fprintf(stderr, "\r%s", line.c_str());
}

/// Blanks the status line, if one is shown, and returns to its start (stdout's next line).
void clear_status_line() {
  if (!status_line_shown) return;
  write_status_line("");
  std::fputc('\r', stderr);
  status_line_shown = false;
}

/// The progress line of scenario `position` of `count`: on a terminal, one line rewritten at
/// most 10 times a second; with --progress and no terminal (nightly logs), a line every 10
/// seconds. Nothing in the first second (most scenarios are done by then).
std::function<void(const Progress&)> progress_printer(const Scenario& s,
                                                      const ExploreOptions& options, bool tty,
                                                      std::size_t position, std::size_t count) {
  const StrategyInfo* row = find_strategy(options.strategy);
  reports::ProgressFacts facts;
  facts.position = position;
  facts.count = count;
  facts.reduces = row != nullptr && row->reduces;
  facts.max_executions = options.max_executions;
  facts.time_budget_seconds = options.time_budget_seconds;
  const double interval = tty ? 0.1 : 10.0;
  return [tty, facts, interval, name = std::string(s.info.name), strategy = options.strategy,
          last_line = -1e9](const Progress& p) mutable {
    if (p.seconds < 1.0 || p.seconds - last_line < interval) return;
    last_line = p.seconds;
    facts.scenario = name;
    facts.strategy = strategy;
    facts.progress = p;
    if (tty) {
      const std::size_t width = reports::terminal_width_of(STDERR_FILENO);
      write_status_line("  " + reports::progress_text(facts, width > 3 ? width - 3 : 1));
    } else {
      std::fprintf(stderr, "  %s\n", reports::progress_text(facts).c_str());
    }
  };
}

/// What stderr says after a scenario: how the Knuth estimate compared, what a partitioned dpor
/// run paid in blocked executions (`partitioned`: sharded or checkpointed), and an interruption.
/// On a terminal running several scenarios, the Knuth comparison is left out: the terminal
/// keeps one rewritten status line, not a line per scenario.
void report_to_stderr(const Scenario& s, const Result& r, const RunArgs& a,
                      const std::string& program, bool several_on_terminal, bool partitioned) {
  const std::string name(s.info.name);
  if (r.stats.estimated_total >= 1 && r.stats.exhausted && !several_on_terminal) {
    std::fprintf(stderr,
                 "  %s: Knuth estimated ~%.3g executions of the dfs tree; %s took %llu (%.2fx)\n",
                 name.c_str(), r.stats.estimated_total, r.strategy.c_str(),
                 static_cast<unsigned long long>(r.stats.executions),
                 static_cast<double>(r.stats.executions) / r.stats.estimated_total);
  }
  // A partitioned dpor run pays for its fixed units in sleep-set blocked executions, which
  // can dwarf the counted ones (lastzero(12) in 3 shards: 2.7 million for 15,360, none in one
  // run): say so where it costs, with what avoids it.
  const StrategyInfo* row = find_strategy(r.strategy);
  const bool reduces = row != nullptr && row->reduces;  // dpor and dpor-source
  if (partitioned && reduces && r.stats.pruned >= 1000 && r.stats.pruned > r.stats.executions) {
    std::fprintf(stderr,
                 "  %s: %llu sleep-set blocked executions (pruned) for %llu counted: a shard or "
                 "checkpointed run cannot use the races found in units it does not explore, so "
                 "dpor branches on every thread above its units; --jobs N on one machine shares "
                 "one search tree and prunes no more than one whole run (README: Exhaustive "
                 "search at scale)\n",
                 name.c_str(), static_cast<unsigned long long>(r.stats.pruned),
                 static_cast<unsigned long long>(r.stats.executions));
  }
  if (!r.stats.interrupted) return;
  (void)program;
  if (!a.checkpoint.empty()) {
    const auto kept = static_cast<unsigned long long>(r.stats.checkpoint_executions);
    const auto ran = static_cast<unsigned long long>(r.stats.executions);
    std::fprintf(stderr,
                 "interrupted after %llu executions of %s: not exhaustive; the checkpoint %s "
                 "keeps %llu of them (%.1f%%%s)\nresume with: %s\n",
                 ran, name.c_str(), a.checkpoint.c_str(), kept,
                 ran == 0 ? 100.0 : 100.0 * static_cast<double>(kept) / static_cast<double>(ran),
                 kept >= ran ? "" : ": the rest were in unfinished work units and are redone",
                 resume_command(a).c_str());
  } else {
    std::fprintf(stderr,
                 "interrupted after %llu executions of %s: not exhaustive; its verdict below is "
                 "partial\n",
                 static_cast<unsigned long long>(r.stats.executions), name.c_str());
  }
}

/// The scenario's source file as reports print sites (runtime/paths.hpp: relative to
/// handlecheck's source tree when inside it, "scenarios/engine/lost_update.cpp" for the
/// built-in catalogue): JUnit's `file`.
std::string source_file(const Scenario& s) {
  return hc::detail::display_path(s.where.file_name());
}

/// One scenario's findings after reproduction, and its summary record.
struct ScenarioReport {
  reports::ScenarioRecord record;
  std::vector<Finding> shown;         // as printed: the minimal finding when there is one
  std::vector<std::string> commands;  // the commands that replay them
  std::string where = "no report";    // the first finding's replay file(s), for the verdict line
  bool internal = false;              // a handlecheck internal error among them
};

/// --trace-format as given; nullopt when not given (reproduce() reads $HC_TRACE_FORMAT).
std::optional<reports::TraceFormat> trace_format_of(const RunArgs& a) {
  if (a.trace_format.empty()) return std::nullopt;
  if (auto format = reports::parse_trace_format(a.trace_format)) return format;
  throw UsageError{fmt::format("--trace-format '{}' is not a trace format; use one of: {}",
                               a.trace_format, reports::trace_format_names())};
}

/// Reproduces every distinct finding (hc/reports/reproduce.hpp: its replay file, which must
/// replay, the minimal one, the text and HTML reports beside them) and fills the record. A
/// finding whose file does not reproduce it turns an expected verdict into an unexpected one.
ScenarioReport reproduce_findings(const Scenario& s, const ExploreOptions& options,
                                  ScenarioOutcome& outcome, const RunArgs& a,
                                  const std::string& program, bool interrupted) {
  const Result& r = outcome.result;
  ScenarioReport out;
  const std::function<void()> body = s.body;
  for (std::size_t i = 0; i < r.findings.size(); ++i) {
    const Finding& f = r.findings[i];
    out.internal = out.internal || f.kind == FindingKind::internal_error;
    if (outcome.partial && f.kind == FindingKind::unreached) {
      // A goal of the whole search that this part did not meet: no execution shows it, so
      // there is nothing to replay; the merge of every shard decides.
      out.commands.emplace_back();
      out.shown.push_back(f);
      out.record.findings.push_back(reports::FindingRecord{std::string(finding_kind_name(f.kind)),
                                                           f.message, f.signature, "", "", f.unit,
                                                           f.unit_execution});
      continue;
    }
    const reports::Reproducer rep = reports::reproduce(
        {.scenario = std::string(s.info.name),
         .options = options,
         .body = body,
         .out_dir = a.out_dir,
         .minimize = !a.no_minimize && !interrupted,  // after an interrupt: the user said stop
         .command_for =
             [&](const std::string& path) { return fmt::format("{} replay {}", program, path); },
         .trace_format = trace_format_of(a)},
        f);
    if (!rep.problem.empty() && outcome.as_expected) {
      outcome.as_expected = false;
      outcome.partial = false;
      outcome.explanation = rep.problem;
    }
    out.commands.push_back(rep.command);
    out.shown.push_back(rep.reported);
    if (i == 0) out.where = rep.notes;
    out.record.findings.push_back(reports::FindingRecord{std::string(finding_kind_name(f.kind)),
                                                         f.message, f.signature, rep.path,
                                                         rep.command, f.unit, f.unit_execution});
  }
  reports::ScenarioRecord& record = out.record;
  record.name = std::string(s.info.name);
  record.expected = expected_text(s.info);
  record.verdict =
      r.findings.empty() ? "clean" : std::string(finding_kind_name(r.findings.front().kind));
  record.as_expected = outcome.as_expected;
  record.explanation = outcome.explanation;
  record.strategy = r.strategy;
  record.settings = static_cast<const RunSettings&>(options);
  record.executions = r.stats.executions;
  record.pruned = r.stats.pruned;
  record.exhausted = r.stats.exhausted;
  record.bounded_by = r.stats.bounded_by;
  record.seconds = r.stats.seconds;
  record.partial = outcome.partial;
  record.file = source_file(s);
  record.covered_pairs = r.covered_pairs;  // coverage
  record.one_order_pairs = r.one_order_pairs;
  return out;
}

/// The scenario's line on stdout (PASS/FAIL), its coverage with -v, and its findings in full
/// when `detailed` or unexpected.
void print_verdict(const Scenario& s, const ScenarioOutcome& outcome, const ScenarioReport& report,
                   bool verbose, bool detailed, const reports::TextLayout& layout) {
  const Result& r = outcome.result;
  // The verdict shown: the first finding of an expected kind when a later finding matched it
  // (--keep-going), else the first finding.
  std::string found = r.findings.empty() ? std::string("clean")
                                         : std::string(finding_kind_name(r.findings.front().kind));
  if (outcome.as_expected && !s.info.expect.clean()) {
    for (const Finding& f : r.findings) {
      if (s.info.expect.accepts(f.kind)) {
        found = std::string(finding_kind_name(f.kind));
        break;
      }
    }
  }
  const std::string stats = fmt::format(
      "{}, {} execution{}{}{}{}", r.strategy, r.stats.executions,
      r.stats.executions == 1 ? "" : "s",
      r.stats.exhausted             ? ", exhaustive"
      : !r.stats.bounded_by.empty() ? ", exhaustive within " + r.stats.bounded_by
                                    : std::string(),
      r.stats.bound_reached >= 0 ? fmt::format(", preemption bound {}", r.stats.bound_reached)
                                 : std::string(),
      // Cut short and not counted: what the counted executions cost beyond themselves.
      r.stats.pruned != 0 ? fmt::format(", {} pruned", r.stats.pruned) : std::string());
  using reports::Paint;
  auto paint = [&](std::string_view text, Paint p) {
    return reports::paint(text, p, layout.colour);
  };
  if (outcome.partial) {
    // Part of the search decided nothing: neither a pass nor a failure (a merge decides).
    std::cout << fmt::format("{}  {}  {} ({}); {}\n", paint("PART", Paint::part), s.info.name,
                             outcome.explanation, stats, report.where);
  } else if (outcome.as_expected) {
    std::cout << fmt::format("{}  {}  {} as expected ({}); {}\n", paint("PASS", Paint::pass),
                             s.info.name, r.findings.empty() ? found : paint(found, Paint::finding),
                             stats, report.where);
  } else {
    std::cout << fmt::format("{}  {}  {} ({}); {}\n", paint("FAIL", Paint::fail), s.info.name,
                             outcome.explanation, stats, report.where);
  }
  if (verbose) {  // coverage (verbose only: plain stdout stays as it was)
    std::cout << fmt::format("coverage: {} pair{} in both orders, {} in one order only\n",
                             r.covered_pairs.size(), r.covered_pairs.size() == 1 ? "" : "s",
                             r.one_order_pairs.size());
    if (r.stats.abandoned_threads != 0) {
      std::cout << fmt::format(
          "teardown: {} thread{} abandoned instead of unwound, {} of them unwinding "
          "fallbacks (their locals' heap leaked)\n",
          r.stats.abandoned_threads, r.stats.abandoned_threads == 1 ? "" : "s",
          r.stats.unwind_fallbacks);
    }
  }
  if (r.stats.fp_control_changes != 0) {
    // Not verbose only: it may explain a result that differs from a run on OS threads.
    std::cout << fmt::format(
        "note: {} execution{} changed the floating-point control words (rounding mode, "
        "exception masks or flush-to-zero); on fibers the simulated threads share them, as "
        "they share thread_local variables, unless --fp-env-per-thread gives each its own\n",
        r.stats.fp_control_changes, r.stats.fp_control_changes == 1 ? "" : "s");
  }
  if (detailed || !outcome.as_expected) {
    for (std::size_t i = 0; i < report.shown.size(); ++i)
      std::cout << reports::format_finding(report.shown[i], report.commands[i], layout) << "\n";
  }
}

/// The workers `run --jobs jobs` gives scenario `s`: fewer when its executions share process
/// state (ScenarioInfo::max_jobs).
int workers_for(const Scenario& s, int jobs) {
  return s.info.max_jobs > 0 ? std::min(jobs, s.info.max_jobs) : jobs;
}

}  // namespace

int run_command(const RunArgs& a, const std::string& program) {
  const std::vector<const Scenario*> selected = select_scenarios(a);
  // A bad trace format is bad input even when no finding needs it: say so before the run.
  if (!trace_format_of(a)) reports::default_trace_format();
  const OptionOverrides ov = overrides_from(a);
  if (ov.replay && selected.size() != 1) throw UsageError{"--replay needs exactly one scenario"};
  // One scenario: --checkpoint and --resume name a file. Several: a directory holding a file
  // per scenario; resuming runs every scenario again, each from its own checkpoint if it has
  // one (a finished scenario's checkpoint has nothing left to explore).
  const bool checkpoint_dir = selected.size() > 1;
  if (checkpoint_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!a.checkpoint.empty()) {
      if (fs::exists(a.checkpoint, ec) && !fs::is_directory(a.checkpoint, ec)) {
        throw UsageError{fmt::format(
            "--checkpoint '{}' is a file: with several scenarios it names a directory (a "
            "checkpoint per scenario), e.g. --checkpoint checkpoints",
            a.checkpoint)};
      }
      fs::create_directories(a.checkpoint, ec);
      if (ec) {
        throw UsageError{fmt::format("--checkpoint '{}': cannot create the directory: {}",
                                     a.checkpoint, ec.message())};
      }
    }
    if (!a.resume.empty() && !fs::is_directory(a.resume, ec)) {
      throw UsageError{fmt::format(
          "--resume '{}' is not a directory: with several scenarios, resume from the directory "
          "--checkpoint wrote",
          a.resume)};
    }
  }
  const bool detailed = a.verbose || selected.size() == 1;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const reports::TextLayout layout = text_layout(a.output);
  const ShardPosition shard = shard_position(a.shard);
  reports::RunRecord run = run_record(a, shard);
  if (shard.count > 1) {
    std::fprintf(stderr, "shard %u of %u (from %s)\n", shard.index + 1, shard.count,
                 shard.source.c_str());
  }
  {
    std::size_t fewer = 0;
    int allowed = a.jobs;
    for (const Scenario* s : selected) {
      const int workers = workers_for(*s, a.jobs);
      if (workers < a.jobs) {
        ++fewer;
        allowed = std::min(allowed, workers);
      }
    }
    if (fewer > 0) {
      std::fprintf(stderr,
                   "--jobs %d: %zu scenario%s run%s on %d worker%s (%s executions share process "
                   "state: globals, descriptor numbers; native tests allow one)\n",
                   a.jobs, fewer, fewer == 1 ? "" : "s", fewer == 1 ? "s" : "", allowed,
                   allowed == 1 ? "" : "s", fewer == 1 ? "its" : "their");
    }
  }

  std::size_t unexpected = 0;
  std::size_t partial = 0;
  std::uint64_t executions = 0;
  std::uint64_t pruned = 0;
  std::size_t findings = 0;
  double seconds = 0;
  bool internal = false;
  bool interrupted = false;
  std::vector<reports::ScenarioRecord> records;
  // The first SIGINT/SIGTERM stops the scenario in progress (partial results, its checkpoint
  // written) and the run; a second one ends the process.
  StopFlag stop;
  const StopOnSignals signals(stop);
  for (std::size_t position = 1; position <= selected.size(); ++position) {
    const Scenario* s = selected[position - 1];
    ExploreOptions options = options_for(*s, ov);
    options.jobs = workers_for(*s, a.jobs);
    options.shard_index = shard.index;
    options.shard_count = shard.count;
    options.checkpoint_file =
        checkpoint_dir && !a.checkpoint.empty() ? checkpoint_in(a.checkpoint, *s) : a.checkpoint;
    options.checkpoint_interval_seconds = a.checkpoint_interval;
    options.resume_file = a.resume;
    if (checkpoint_dir && !a.resume.empty()) {
      const std::string mine = checkpoint_in(a.resume, *s);
      std::error_code ec;
      options.resume_file = std::filesystem::exists(mine, ec) ? mine : std::string();
    }
    options.run_name = std::string(s->info.name);
    options.coverage = true;  // the summary lists the pairs
    options.stop = &stop;     // Ctrl-C: partial results, not a dead process
    if (tty || a.progress)
      options.progress = progress_printer(*s, options, tty, position, selected.size());
    ScenarioOutcome outcome = run_scenario(*s, options);
    if (tty) clear_status_line();
    const Result& r = outcome.result;
    if (ov.replay && a.strategy().empty() && !r.findings.empty() &&
        r.findings.front().kind == FindingKind::nondeterminism &&
        r.findings.front().message.starts_with("replay diverged")) {
      // The choice string does not fit the scenario (too short, or another path): bad input.
      throw UsageError{fmt::format(
          "--replay '{}' does not fit {}: {}. Pass the whole choice string a finding printed, "
          "or add --strategy S to explore on from where it ends",
          a.replay, s->info.name, r.findings.front().message)};
    }
    report_to_stderr(*s, r, a, program, tty && selected.size() > 1,
                     options.shard_count > 1 || !options.checkpoint_file.empty() ||
                         !options.resume_file.empty());
    interrupted = r.stats.interrupted;
    executions += r.stats.executions;
    pruned += r.stats.pruned;
    findings += r.findings.size();
    seconds += r.stats.seconds;

    ScenarioReport report = reproduce_findings(*s, options, outcome, a, program, interrupted);
    internal = internal || report.internal;
    if (!outcome.as_expected) ++unexpected;
    if (outcome.partial) ++partial;
    print_verdict(*s, outcome, report, a.verbose, detailed, layout);
    records.push_back(std::move(report.record));
    if (interrupted) break;  // the scenarios after this one are not run
  }
  if (records.size() < selected.size()) {
    std::fprintf(stderr, "stopped by a signal: %zu of %zu scenarios not run\n",
                 selected.size() - records.size(), selected.size());
  }
  std::cout << fmt::format(
      "summary: {} scenario{}, {} as expected, {} unexpected; {} "
      "executions{}, {} distinct finding{}\n",
      records.size(), records.size() == 1 ? "" : "s", records.size() - unexpected, unexpected,
      executions, pruned == 0 ? std::string() : fmt::format(" ({} pruned)", pruned), findings,
      findings == 1 ? "" : "s");
  if (partial != 0 && shard.count > 1) {
    std::cout << fmt::format(
        "{} of them partial: this is shard {} of {}; merge the summaries of every shard for "
        "their verdicts\n",
        partial, shard.index + 1, shard.count);
  } else if (partial != 0) {
    std::cout << fmt::format("{} of them partial: the run was interrupted (not exhaustive)\n",
                             partial);
  }
  run.interrupted = interrupted;
  std::cout.flush();
  std::fprintf(stderr, "time: %.3f s\n", seconds);
  if (!a.summary_file.empty())
    hc::write_file_atomically(a.summary_file, reports::summary_json(records, run).dump(2) + "\n");
  if (!a.junit_file.empty())
    hc::write_file_atomically(a.junit_file, reports::format_junit(records, run));
  if (internal) return kExitInternal;
  if (interrupted) return kExitInterrupted;
  return unexpected == 0 ? kExitOk : kExitUnexpected;
}

/// The help of the negating flag `negated` of a pair "--a,!--b" whose help reads "what --a
/// does; --b: what --b does": "What --b does; --a: what --a does", so that each flag's line in
/// --help starts with what that flag does. A help of another shape is kept as it is.
static std::string negated_help(const std::string& help, std::string_view flag,
                                std::string_view negated) {
  const std::string marker = fmt::format("; {}: ", negated);
  const std::size_t at = help.find(marker);
  if (at == std::string::npos || at == 0 || at + marker.size() >= help.size()) return help;
  std::string mine = help.substr(at + marker.size());
  std::string other = help.substr(0, at);
  mine[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(mine[0])));
  other[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(other[0])));
  return fmt::format("{}; {}: {}", mine, flag, other);
}

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
    if constexpr (std::is_same_v<T, bool>) {
      // "--a,!--b": --a sets true, --b false; each is a flag of its own in --help.
      std::string_view spec = info.flag;
      while (!spec.empty()) {
        const std::size_t comma = spec.find(',');
        std::string_view name = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
        const bool sets = !name.starts_with('!');
        if (!sets) name.remove_prefix(1);
        CLI::Option* flag = run.add_flag_callback(
            std::string(name), [&value, sets] { value = sets; },
            sets ? help : negated_help(help, info.flag.substr(0, info.flag.find(',')), name));
        a.setting_flags.push_back({flag, info, std::string(name)});
      }
    } else {
      CLI::Option* option = run.add_option(std::string(info.flag), value, help);
      if constexpr (std::is_arithmetic_v<T>) {
        if (info.has_range()) {
          option->check(CLI::Range(static_cast<T>(info.min), static_cast<T>(info.max)));
        } else if constexpr (std::is_unsigned_v<T>) {
          option->check(kWholeNumber);
        }
      }
      a.setting_flags.push_back({option, info, std::string(info.flag)});
    }
  });
}

}  // namespace hc::cli

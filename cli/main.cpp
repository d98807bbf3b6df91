// handlecheck — the command-line tool: list and run scenarios, replay a schedule.
//
//   handlecheck list [--tag T] [--names-only] [--markdown]
//   handlecheck run NAME... | --tag T | --all  [--strategy S] [--seed N] [--replay CHOICES] ...
//   handlecheck replay FILE [--continue]      reproduce a replay file's finding
//   handlecheck minimize FILE                 write its minimal schedule beside it
//   handlecheck merge SUMMARY... [-o FILE]    merge the run summaries of shards
//   handlecheck strategies [--markdown]       the strategy table
//
// Exit codes: 0 every verdict as expected, 1 a verdict differs, 2 usage or input error,
// 3 handlecheck internal error, 130 interrupted (SIGINT/SIGTERM; the checkpoint says where to
// resume). Standard output is deterministic (same command, same bytes);
// timings and the progress line go to standard error.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

using namespace hc::cli;  // NOLINT: main() is the only code here

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
                  "Follow this choice string (thread ids joined by dots, as the HTML report's "
                  "REPLAY line shows; see README), then continue with --strategy if given");
  run->add_flag("-v,--verbose", a.verbose,
                "Print every finding in full, not only unexpected ones, and each scenario's "
                "coverage of conflicting operations");
  run->add_flag("--no-minimize", a.no_minimize,
                "Do not minimise findings (by default a minimal replay file is written beside "
                "each)");
  run->add_option("--summary", a.summary_file, "Write the JSON run summary to this file");
  run->add_option("--junit", a.junit_file, "Write JUnit XML (a testcase per scenario) here");
  run->add_option("--trace-format", a.trace_format,
                  "Also write each finding's interleaving for a timeline viewer beside its "
                  "reports: 'perfetto' writes Chrome Trace Event JSON (FILE.trace.json; open it in "
                  "ui.perfetto.dev or chrome://tracing), 'none' nothing (default: "
                  "$HC_TRACE_FORMAT, else none)");
  run->add_option("-j,--jobs", a.jobs,
                  "Parallel workers (OS threads); same findings and exhaustive totals as 1 "
                  "(a scenario may allow fewer: native tests run on one, see README)")
      ->check(CLI::Range(1, 256));
  run->add_option("--shard", a.shard,
                  "Explore shard I of N (1-based, e.g. 2/3); without it, the index and count of "
                  "a Kubernetes Indexed Job, Slurm array or CI matrix are read (see README)");
  run->add_option("--checkpoint", a.checkpoint,
                  "Write a resumable checkpoint here periodically and on SIGINT/SIGTERM: a file "
                  "for one scenario, a directory (a file per scenario) for several");
  run->add_option("--checkpoint-interval", a.checkpoint_interval,
                  "Seconds between checkpoints (0.001 to 1000000, default 30)")
      ->check(CLI::Range(0.001, 1000000.0));
  run->add_flag("--progress", a.progress,
                "Progress lines on stderr even without a terminal (every 10 s): executions, "
                "rate, findings, depth and, for exhaustive runs, Knuth's estimate and ETA");
  run->add_option("--resume", a.resume,
                  "Continue the run this checkpoint (file or directory) recorded (same "
                  "scenarios and options)");
  add_output_options(*run, a.output);

  std::string replay_path;
  bool replay_continue = false;
  bool replay_quiet = false;
  CLI::App* replay = app.add_subcommand("replay", "Reproduce the finding of a replay file");
  replay->add_option("file", replay_path, "The replay file")->required();
  replay->add_flag("--continue", replay_continue,
                   "At a divergence, explore on from there with the file's strategy");
  replay->add_flag("-q,--quiet", replay_quiet, "Only the verdict line, not the trace");
  OutputStyle replay_output;
  add_output_options(*replay, replay_output);

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
    if (replay->parsed())
      return replay_command(replay_path, replay_continue, replay_quiet, replay_output);
    if (minimize->parsed()) return minimize_command(minimize_path, argv[0]);
    if (merge->parsed()) return merge_command(merge_inputs, merge_output);
    if (strategies->parsed()) return strategies_command(strategies_markdown);
    a.command_line.assign(argv, argv + argc);
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

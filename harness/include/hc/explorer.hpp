// hc/explorer.hpp — running executions: ExploreOptions, Result and explore().
//
//   hc::ExploreOptions options;            // dfs, stop at the first finding
//   hc::Result r = hc::explore([] { ... scenario body ... }, options);
//   if (!r.findings.empty()) std::cout << r.findings[0].message;
//
// explore() runs executions until the strategy is exhausted, a budget (executions, time) runs
// out, or a finding stops it (stop_at_first), or keeps going and de-duplicates findings by
// signature. Every finding is re-run from its recorded choices with full tracing; if the re-run
// does something else, the finding becomes "uncontrolled nondeterminism".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hc/finding.hpp"
#include "hc/scenario.hpp"
#include "hc/settings.hpp"
#include "hc/stop.hpp"
#include "hc/strategy.hpp"

namespace hc {

struct Progress {
  std::uint64_t executions = 0;
  std::size_t findings = 0;
  double seconds = 0;
  std::uint32_t depth = 0;       // decisions of the longest execution so far
  std::uint64_t units_done = 0;  // work units finished (partitioned runs)
  /// Exhaustive strategies: Knuth's estimate of the executions of the whole search (0: none
  /// yet), from random probes of the same tree; the progress line turns it into a percentage.
  double estimated_total = 0;
};

/// Everything explore() needs: the run-shaping settings (hc/settings.hpp: strategy, budgets,
/// bounds, ...) and what only this process cares about.
struct ExploreOptions : RunSettings {
  std::vector<Choice> replay;           // a prefix every execution follows first
  std::vector<std::string> must_reach;  // labels that some execution must reach
  /// Goals "A <> B": an unreached finding if no execution ran operations A and B (labels, see
  /// Result::covered_pairs) on one object from two threads in both orders.
  std::vector<std::string> must_cover;
  bool coverage = false;  // record Result::covered_pairs / one_order_pairs (the CLI turns it
                          // on; always on with must_cover). Costs about 6% of throughput
  bool check_determinism = true;  // re-run every finding and compare
  /// Stop with partial results (Stats::interrupted) once this flag is set; with a checkpoint
  /// file, the checkpoint is written. hc::StopOnSignals sets it on SIGINT/SIGTERM (the CLI
  /// installs it; the explorer never installs signal handlers).
  const StopFlag* stop = nullptr;
  std::function<void(const Progress&)> progress;  // called about every 1024 executions
  /// A replay file's schedule, followed by thread names and operation labels (see
  /// make_named_replay_strategy). After it, `strategy` decides only with
  /// continue_after_divergence; with strategy "replay" nothing does (one execution).
  std::optional<std::vector<ReplayEntry>> replay_file;
  bool continue_after_divergence = false;
  /// A strategy of your own instead of `strategy` (tests, minimisation, benchmarks).
  std::function<std::unique_ptr<Strategy>()> strategy_factory;

  // --- scale (see UnitFilter in hc/strategy.hpp) --------------------------------------------
  /// Parallel workers: OS threads, each running its own executions on its own fibers, sharing
  /// out work units dynamically. Same findings and, for exhaustive runs, the same totals.
  int jobs = 1;
  /// This run explores only the units u with u % shard_count == shard_index; the summaries of
  /// all shards merged (handlecheck merge) give the totals of one unsharded run.
  std::uint32_t shard_index = 0;
  std::uint32_t shard_count = 1;
  /// Write a resumable checkpoint here every checkpoint_interval_seconds and when SIGINT or
  /// SIGTERM stops the run ("" = none).
  std::string checkpoint_file;
  double checkpoint_interval_seconds = 30;
  /// Continue the run this checkpoint recorded: its finished units are skipped and its counts
  /// and findings carried over; the settings must match.
  std::string resume_file;
  /// What the run explores ("safehandle/raw-value-after-dispose"), recorded in checkpoints so
  /// one is not resumed on another scenario.
  std::string run_name;
  /// Tests only: behave as if SIGINT arrived after this many executions (0 = never).
  std::uint64_t interrupt_after_executions = 0;
};

/// A run's totals (Counts: executions, pruned, steps, context switches, preemptions, the
/// longest execution, the must_reach labels reached) and how it ended.
struct Stats : Counts {
  double seconds = 0;      // wall time: reported, never used to decide a schedule
  bool exhausted = false;  // the strategy finished its search space, and nothing cut it
  /// The strategy finished, but a bound cut the space it searched ("preemption bound 0",
  /// "step bound 10000", "livelock bound 100"): exhausted is then false. Empty otherwise.
  std::string bounded_by;
  int bound_reached = -1;   // ipb: the preemption bound of its last round
  std::uint64_t units = 0;  // work units this run finished (partitioned runs)
  /// dpor with parallel workers (one shared search tree): executions of units run ahead whose
  /// input a unit before them changed, so they ran again; not counted in `executions`.
  std::uint64_t rerun_executions = 0;
  bool interrupted = false;  // the stop flag ended it; the checkpoint says where
  /// With a checkpoint file: the executions the last checkpoint holds (its finished units); a
  /// resumed run redoes the rest.
  std::uint64_t checkpoint_executions = 0;
  double estimated_total = 0;  // the last estimate of the executions of the whole search
  /// Threads left abandoned instead of unwound at the end of an execution (a fault of the code
  /// under test, or an unwinding fallback: runtime/execution.hpp, "Teardown"); the heap memory
  /// their locals owned leaked.
  std::uint64_t abandoned_threads = 0;
  /// Of those, the threads the teardown tried to unwind and could not (the others were stopped
  /// by a fault of the code under test and are never resumed).
  std::uint64_t unwind_fallbacks = 0;
  /// Executions (of those counted) whose simulated threads left the floating-point control
  /// words (rounding mode, exception masks, flush-to-zero) changed, on fibers: the threads share
  /// them there unless fp_env_per_thread is set (one thread's rounding mode is then every
  /// thread's after it); the next execution starts with the OS thread's again.
  std::uint64_t fp_control_changes = 0;
};

struct Result {
  std::vector<Finding> findings;  // distinct findings, in the order found
  Stats stats;
  std::string strategy;     // the strategy that ran
  std::string replay_note;  // with continue_after_divergence: where the replay diverged
  /// Coverage of conflicting operations: two operations of different threads on one object,
  /// at least one not a read, named by label (a model's verb, "atomic.load" for primitives).
  std::vector<std::string> covered_pairs;    // "A <> B" (A <= B): seen in both orders, sorted
  std::vector<std::string> one_order_pairs;  // "A -> B": seen only with A first, sorted

  /// The run's verdict: the first finding's kind, or nullopt when clean.
  std::optional<FindingKind> verdict() const {
    if (findings.empty()) return std::nullopt;
    return findings.front().kind;
  }
};

/// Explores `body` as the main simulated thread. Throws hc::usage_error on bad options
/// (unknown strategy, malformed prefix).
Result explore(const std::function<void()>& body, const ExploreOptions& options);

/// A scenario's settings (its ScenarioInfo defaults): what `handlecheck run NAME` uses.
RunSettings scenario_settings(const Scenario& scenario);

/// Scenario defaults, overridden by whatever `overrides` sets, and a replay prefix.
struct OptionOverrides : SettingOverrides {
  std::optional<std::vector<Choice>> replay;  // also makes the strategy "replay" unless set
};

ExploreOptions options_for(const Scenario& scenario, const OptionOverrides& overrides);

/// A scenario's run and whether its verdict is the expected one.
struct ScenarioOutcome {
  const Scenario* scenario = nullptr;
  ExploreOptions options;
  Result result;
  bool as_expected = false;
  std::string explanation;  // why the verdict differs from the expectation, when it does
  /// The run covered part of the search (a shard, or a signal stopped it) and that part
  /// decided nothing: the expected finding was not in it, or a goal (must_reach, must_cover)
  /// was not met in it. as_expected is then true (nothing unexpected happened in the part)
  /// and the explanation says so; the merge of every shard decides.
  bool partial = false;
};

ScenarioOutcome run_scenario(const Scenario& scenario, const ExploreOptions& options);

/// Minimisation: shrinks a finding's schedule to the fewest preemptions, then the fewest
/// steps, re-checking that a finding of the same kind recurs. Never returns a schedule with
/// more preemptions or steps than the original.
struct MinimizeResult {
  Finding minimal;  // re-run with full tracing: its schedule, trace and counts
  std::uint32_t preemptions_before = 0;
  std::uint32_t preemptions_after = 0;
  std::uint32_t steps_before = 0;
  std::uint32_t steps_after = 0;
  std::uint64_t executions = 0;  // executions the search took
};

/// A finding's schedule as replay entries (thread names, labels, steps and sites): what a
/// replay file records and make_named_replay_strategy follows.
std::vector<ReplayEntry> replay_entries(const Finding& finding);

MinimizeResult minimize(const std::function<void()>& body, const ExploreOptions& options,
                        const Finding& finding);

}  // namespace hc

// hc/strategy.hpp — the Strategy interface: what decides every choice of an execution.
//
// Protocol (the explorer drives it; one strategy instance per exploration):
//
//   while (strategy.begin_execution()) {      // false: the search is finished
//     run the scenario; at every real decision (two or more options) the execution calls
//       strategy.pick_thread(decision)        // which enabled thread performs the next step
//       strategy.pick_value(value_decision)   // which value in [0, bound) hc::choose returns
//     strategy.end_execution(trace, verdict)  // where exhaustive strategies backtrack
//     strategy.last_execution()               // its work unit, and whether it counts
//   }
//   strategy.statistics()                     // what it reports of itself (ipb: its bound)
//
// Forced steps (one enabled thread) never reach the strategy. A strategy may end an execution
// early by returning nullopt from either pick (the unit is not its own, or dpor's sleep sets
// show the rest is redundant); end_execution is still called, and last_execution() then says
// the execution does not count. A strategy that is asked for a choice it cannot make (a replayed
// prefix names a thread that is not enabled) calls `decision.diverge(why)` and returns any
// valid option: the execution then ends with an "uncontrolled nondeterminism" finding naming
// the step. Both decisions carry what the execution offers; anything more (thread names, the
// operation each thread announced, the steps so far) is behind the read-only `view`.
//
// Strategies live one per file under harness/src/strategy/, are rows of the strategy table
// (registry.cpp) and are made by name with make_strategy(). Seeded strategies derive from
// SeededStrategy (strategy/seeded_strategy.hpp), systematic ones from ExhaustiveStrategy
// (strategy/exhaustive_strategy.hpp): the bases own seeds, work units and execution tags;
// cross-cutting concerns (metrics, replay prefixes) wrap another strategy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/finding.hpp"
#include "hc/operation.hpp"
#include "hc/settings.hpp"

namespace hc::detail {
class SharedSearch;  // harness/src/strategy/shared_search.hpp
}  // namespace hc::detail

namespace hc {

/// A read-only view of the execution in progress at a decision: what a strategy may read
/// beyond the options (replay matches thread names and operation labels; dpor reads the
/// announced operations and the steps so far). Valid during the pick only. Virtual, so that a
/// decision carries one pointer: most strategies never look.
class ExecutionView {
 public:
  /// The operation thread t announced (its next step), for every thread that has not finished.
  virtual const Operation& pending(ThreadId t) const = 0;
  /// The steps executed so far.
  virtual std::span<const Step> trace() const = 0;
  /// The footprint entries of those steps beyond their object (Step::first_extra).
  virtual std::span<const Touch> touches() const = 0;
  /// The name of thread t ("main", "finalizer", ...): replay matches threads by name.
  virtual std::string_view thread_name(ThreadId t) const = 0;

 protected:
  ~ExecutionView() = default;
};

/// Where a strategy that cannot make a choice says why (see the protocol above).
class DivergenceSink {
 public:
  explicit DivergenceSink(std::string* out = nullptr) : out_(out) {}
  /// Records the first reason; the execution then ends with a nondeterminism finding.
  void diverge(std::string why) const {
    if (out_ != nullptr && out_->empty()) *out_ = std::move(why);
  }

 private:
  std::string* out_;
};

/// What the scheduler knows at a thread decision.
struct Decision : DivergenceSink {
  ThreadMask enabled = 0;        // the threads that may run now (two or more)
  ThreadId current = kNoThread;  // the thread that ran the previous step
  bool current_enabled = false;  // true: picking another thread is a preemption
  std::uint32_t step = 0;        // number of steps executed so far
  ThreadMask live = 0;           // every thread that has not finished (enabled or not)
  const ExecutionView& view;

  bool is_enabled(ThreadId t) const { return (enabled >> t) & 1u; }
};

/// What the scheduler knows at a value decision (hc::choose).
struct ValueDecision : DivergenceSink {
  std::uint32_t bound = 2;       // the value is in [0, bound); bound >= 2
  const char* label = "";        // the choose() label
  ThreadId current = kNoThread;  // the thread that chooses
  std::uint32_t step = 0;        // number of steps executed so far
};

/// How an execution ended, as a strategy sees it.
struct Verdict {
  std::optional<FindingKind> finding;  // nullopt: the execution was clean
  bool pruned = false;                 // the strategy cut it short (a pick returned nullopt)
  std::span<const Spawn> spawns;       // every thread but main, in creation order
  /// Threads parked before an operation they never ran (blocked, or cut off by a finding), and
  /// the operations: an exhaustive strategy must also try running them earlier.
  ThreadMask waiting = 0;
  const Operation* pending = nullptr;  // pending[t] for t in waiting
  /// The footprint entries of the steps beyond their object (Step::first_extra, extra_count).
  std::span<const Touch> touches;
  /// How many steps preempted a thread that could have gone on.
  std::uint32_t preemptions = 0;
};

/// Work units: how one search is split over parallel workers, shards and checkpoints.
///
/// An exhaustive strategy (dfs, dpor) numbers the subtrees below its first `split_depth` thread
/// decisions 0, 1, 2, ... in the order a sequential search reaches them (an execution with fewer
/// decisions is a unit of its own); random and pct number chunks of kExecutionsPerUnit
/// executions. A strategy explores unit u only when owns_unit(u); an execution that reaches a
/// unit it does not own is pruned and not counted. Units are reached in increasing order, and
/// what a unit explores does not depend on who explores it, so any partition (threads, machines,
/// a resumed checkpoint) sums to the totals of one sequential run.
using UnitFilter = std::function<bool(std::uint64_t unit)>;
inline constexpr std::uint64_t kExecutionsPerUnit = 64;

/// What a strategy says of the execution that just ended (after end_execution).
struct ExecutionTag {
  std::uint64_t unit = 0;  // the work unit it belongs to
  bool counted = true;     // false: pruned (another owner's unit, or redundant); ignore it
  /// The execution a checkpoint's position (Strategy::position) counted already, run again to
  /// reach its unit: neither counted nor pruned.
  bool resumed = false;
};

/// What a strategy reports of its own search, beyond the counts the explorer keeps.
struct StrategyStatistics {
  int bound_reached = -1;  // ipb: the preemption bound of the round running last
  /// dfs with a preemption bound: some decision offered fewer threads than were enabled, so
  /// the search, even when finished, covered only the schedules within the bound.
  bool cut_by_preemption_bound = false;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  /// Starts the next execution. Returns false when the search space is exhausted.
  virtual bool begin_execution() = 0;
  /// Picks the thread that performs the next step (in `d.enabled`); nullopt: end the
  /// execution now, not counted.
  virtual std::optional<ThreadId> pick_thread(const Decision& d) = 0;
  /// Picks a value in [0, d.bound) for hc::choose; nullopt: end the execution, not counted.
  virtual std::optional<std::uint32_t> pick_value(const ValueDecision& d) = 0;
  /// Ends the execution begun last; `steps` is its lean trace.
  virtual void end_execution(std::span<const Step> steps, const Verdict& verdict) = 0;

  /// Stable kebab-case name used on the command line, in replay files and in reports.
  virtual std::string_view name() const = 0;

  /// After end_execution: the unit of the execution that just ended and whether it counts.
  /// Strategies without units (replay, minimisation) keep the default: unit 0, counted.
  virtual ExecutionTag last_execution() const { return {}; }
  /// Whether this strategy honours StrategyOptions::owns_unit (exhaustive and seeded ones do).
  virtual bool splits_into_units() const { return false; }
  /// Between executions: where the search stands inside the unit of the execution that ended
  /// last (the next execution to run, as text), when that unit goes on; nullopt when it does
  /// not, or when the strategy cannot say (then an interrupted unit is redone on resume).
  /// A checkpoint keeps it, so a resumed run loses none of a big unit's work (dfs).
  virtual std::optional<std::string> position() const { return std::nullopt; }
  /// What the strategy reports of its own search (Stats has the run's copy).
  virtual StrategyStatistics statistics() const { return {}; }
  /// The strategy whose pick_thread and pick_value the execution calls; the same object for
  /// the strategy's whole life (the explorer asks once). A wrapper that only watches whole
  /// executions returns its inner strategy's decider, so a decision costs one virtual call
  /// however many such wrappers there are; a wrapper that decides (replay) keeps the default.
  virtual Strategy& decider() { return *this; }
};

/// What a strategy may read: the run's settings (seed, preemption_bound, pct_depth,
/// split_depth; max_executions: seeded strategies explore executions 0 .. max-1 of a
/// partitioned run, 0 = unbounded) and the partition.
struct StrategyOptions : RunSettings {
  UnitFilter owns_unit;  // empty: every unit (see UnitFilter)
  /// The run is one of several shards (--shard): its units must balance between machines that
  /// cannot see each other's work. (dpor sizes its units only then; see dpor_search.hpp.)
  bool sharded = false;
  /// The tree the run's workers explore together (StrategyInfo::make_shared_search; nullptr:
  /// none): the strategy takes its units from it instead of filtering them with owns_unit.
  std::shared_ptr<detail::SharedSearch> shared_search;
  /// Positions inside units (Strategy::position) a checkpoint saved: the strategy continues
  /// unit u from unit_positions[u] instead of from its start.
  std::map<std::uint64_t, std::string> unit_positions;
};

/// What the explorer needs to know of a strategy: how its executions relate to the search space.
enum class SearchKind : std::uint8_t {
  exhaustive,  // a systematic search: "exhausted" when begin_execution() says false
  seeded,      // draws from a seed: never exhaustive; units are ranges of executions
  single,      // follows a given schedule (replay): one execution
};

/// One row of the strategy table (harness/src/strategy/registry.cpp): the only place that
/// knows strategy names. The CLI's --strategy help, `handlecheck strategies` and the README's
/// strategy table are generated from it; the explorer asks for `kind`, never compares names.
struct StrategyInfo {
  std::string_view name;  // stable kebab-case: CLI, replay files, checkpoints, reports
  SearchKind kind = SearchKind::exhaustive;
  /// Explores one execution per equivalence class (dpor): Knuth's estimate, which samples the
  /// full dfs tree, is then an upper bound, not a target.
  bool reduces = false;
  std::string_view help;  // one line for --help and the README
  /// nullptr: the strategy needs a schedule (replay), made by make_replay_strategy.
  std::unique_ptr<Strategy> (*make)(const StrategyOptions&) = nullptr;
  /// Non-null: parallel workers (--jobs, one machine) share one search tree made by this
  /// (strategy/shared_search.hpp) instead of dividing fixed units; shards and checkpoints
  /// still divide fixed units.
  std::shared_ptr<detail::SharedSearch> (*make_shared_search)(const StrategyOptions&,
                                                              int workers) = nullptr;
};

/// The strategy table, in the order --help lists it.
std::span<const StrategyInfo> strategy_table();
/// The row named `name`, or nullptr.
const StrategyInfo* find_strategy(std::string_view name);
/// Makes a strategy by its stable name. nullptr if unknown or if it needs a schedule.
std::unique_ptr<Strategy> make_strategy(std::string_view name, const StrategyOptions& options);
/// The names of the table, sorted.
std::vector<std::string_view> strategy_names();

/// Wraps `inner`: every execution first follows `prefix`, then `inner` decides (Coyote's replay:
/// a prefix any strategy consumes). A prefix choice that cannot be taken is a divergence.
std::unique_ptr<Strategy> make_replay_strategy(std::vector<Choice> prefix,
                                               std::unique_ptr<Strategy> inner);

/// One decision of a replay file, in words: a thread choice names the thread and the label of
/// the operation it ran; a value choice names its choose() label and the value.
struct ReplayEntry {
  Choice::Kind kind = Choice::Kind::thread;
  std::string thread_name;  // thread choices
  std::string label;        // the operation's label, or the choose() label
  std::uint32_t value = 0;  // value choices
  std::uint32_t step = 0;   // the step it decided when recorded (for messages)
  std::string site;         // "file:line" when recorded (for messages)
};

/// Replays `entries` matching threads by name and operations by label (not by raw ids), so a
/// reproducer survives unrelated changes where it still fits. A decision that does not match
/// is a divergence naming the step, what the file expected and what the program offers. With
/// `continue_after_divergence`, the first divergence is written to *note instead and `inner`
/// (or, without one, the lowest enabled thread and value 0) decides from there on.
std::unique_ptr<Strategy> make_named_replay_strategy(std::vector<ReplayEntry> entries,
                                                     std::unique_ptr<Strategy> inner,
                                                     bool continue_after_divergence,
                                                     std::string* note);

/// Keeps the running thread whenever it can go on (else the lowest enabled thread) and picks
/// value 0: the schedule with the fewest preemptions from any point. Used by minimisation.
std::unique_ptr<Strategy> make_non_preemptive_strategy();

/// Counters of executions: one type for one execution, a work unit, a worker, a checkpoint and
/// a whole run (Stats); `a += b` sums them.
struct Counts {
  std::uint64_t executions = 0;  // counted executions
  std::uint64_t pruned = 0;      // cut short: another owner's unit, or redundant (dpor)
  std::uint64_t steps = 0;
  std::uint64_t context_switches = 0;
  std::uint64_t preemptions = 0;
  std::uint32_t max_steps_in_execution = 0;
  std::uint64_t reached = 0;  // must_reach labels some execution reached (bit i = label i)

  /// Sums; the larger max_steps_in_execution; the union of reached.
  Counts& operator+=(const Counts& other) {
    executions += other.executions;
    pruned += other.pruned;
    steps += other.steps;
    context_switches += other.context_switches;
    preemptions += other.preemptions;
    max_steps_in_execution = std::max(max_steps_in_execution, other.max_steps_in_execution);
    reached |= other.reached;
    return *this;
  }
  bool operator==(const Counts&) const = default;
};

/// Choice strings: the compact text form of a choice sequence that `--replay` accepts.
/// A thread choice is its id ("2"), a value choice is "v" and the value ("v1"), joined by ".".
std::string format_choices(std::span<const Choice> choices);
/// Parses a choice string; on error returns nullopt and sets *error to what is wrong.
std::optional<std::vector<Choice>> parse_choices(std::string_view text, std::string* error);

}  // namespace hc

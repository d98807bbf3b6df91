// explorer.cpp — the loop of executions: strategy, budgets, de-duplication, the determinism
// re-run of every new finding, and the scenario-level verdict.
#include "hc/explorer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "explore/checkpoint.hpp"
#include "explore/coverage.hpp"
#include "explore/estimate.hpp"
#include "explore/helper_threads.hpp"
#include "explore/observer.hpp"
#include "explore/watchdog.hpp"
#include "hc/runtime.hpp"
#include "runtime/execution.hpp"
#include "runtime/trace_renderer.hpp"
#include "strategy/shared_search.hpp"
#include "strategy/strategies.hpp"

namespace hc {
namespace {

using Clock = std::chrono::steady_clock;  // budgets and progress only: never decides a schedule

std::unique_ptr<Strategy> build_strategy(const ExploreOptions& o, std::string* replay_note,
                                         UnitFilter owns = {},
                                         std::map<std::uint64_t, std::string> positions = {},
                                         std::shared_ptr<detail::SharedSearch> shared = {}) {
  StrategyOptions so;
  static_cast<RunSettings&>(so) = o;
  so.unit_size = unit_size_for(o, o.shard_count);
  so.sharded = o.shard_count > 1;
  so.shared_search = std::move(shared);
  // Seeded strategies stop at max_executions themselves only when the run is partitioned
  // (their units are execution ranges); otherwise the explorer's budget stops them.
  so.max_executions = owns ? o.max_executions : 0;
  so.owns_unit = std::move(owns);
  so.unit_positions = std::move(positions);
  std::unique_ptr<Strategy> base;
  const StrategyInfo* row = find_strategy(o.strategy);
  if (o.strategy_factory) {
    base = o.strategy_factory();
  } else if (row == nullptr) {
    std::string names;
    for (std::string_view n : strategy_names())
      names += fmt::format("{}{}", names.empty() ? "" : ", ", n);
    throw usage_error(fmt::format("unknown strategy '{}': use one of {}", o.strategy, names));
  } else if (o.replay_file) {
    // A replay file's schedule first; then the named strategy, unless it is "replay" itself.
    base = make_named_replay_strategy(*o.replay_file, row->make ? row->make(so) : nullptr,
                                      o.continue_after_divergence, replay_note);
  } else if (row->make == nullptr) {
    if (o.replay.empty()) {
      throw usage_error(fmt::format(
          "strategy '{}' needs a schedule to replay: pass --replay CHOICES", row->name));
    }
    base = make_replay_strategy(o.replay, nullptr);
  } else {
    base = row->make(so);
    if (!o.replay.empty()) base = make_replay_strategy(o.replay, std::move(base));
  }
  return base;
}

/// The counts of one finished execution (a counted one; a pruned one counts as pruned 1): its
/// steps, context switches and preemptions. The explorer's own bookkeeping, not a wrapper
/// around the strategy: a wrapper cost five virtual calls per execution (begin, end and the
/// tag twice through it, and the decider), about 4 ns of a 150 ns execution.
Counts counts_of(const detail::Execution& exec, std::uint32_t preemptions) {
  Counts c;
  c.executions = 1;
  c.preemptions = preemptions;
  c.steps = exec.trace().size();
  c.max_steps_in_execution = static_cast<std::uint32_t>(c.steps);
  c.context_switches = exec.context_switches();
  return c;
}

/// What must be equal for a re-run to count as the same execution.
using Shape = std::vector<std::tuple<ThreadId, OpKind, ObjectId>>;

/// `steps`' shape into `s` (cleared first), keeping its storage.
void shape_into(std::span<const Step> steps, Shape& s) {
  s.clear();
  s.reserve(steps.size());
  for (const Step& st : steps)
    s.emplace_back(st.thread, st.kind, st.object);
}

/// What a determinism check re-runs with, kept by a worker from one sampled check to the next so
/// that a check allocates nothing once its vectors have grown: the schedule to follow (the
/// caller fills it; the check takes it), the checked execution's shape, the re-run's shape and
/// the replay strategy.
struct DeterminismSample {
  std::vector<Choice> schedule;
  Shape original;
  Shape rerun;
  std::unique_ptr<Strategy> replay = detail::make_schedule_replay();
};

/// Re-runs an execution from its own choices (`sample.schedule`); returns a nondeterminism
/// finding if it does something else. `original` is its finding, or nullptr when it ran clean:
/// the sampled check of clean executions (each worker's first, then one in 64) catches a change
/// of shape that strategies replaying prefixes (dfs, dpor) miss in an execution no later one
/// replays, and that seeded strategies, which replay nothing, never see. `exec` then holds the
/// re-run.
std::optional<Finding> check_reproduces(detail::Execution& exec, const std::function<void()>& body,
                                        DeterminismSample& sample, const Finding* original,
                                        std::uint64_t execution) {
  const std::size_t choices = sample.schedule.size();
  shape_into(exec.trace(), sample.original);
  detail::follow_schedule(*sample.replay, sample.schedule);
  sample.replay->begin_execution();
  const Shape& original_shape = sample.original;
  Shape& shape = sample.rerun;
  std::optional<Finding> again = exec.run(body, *sample.replay);
  if (exec.stopped()) return std::nullopt;  // SIGINT or the budget cut the re-run: no verdict
  shape_into(exec.trace(), shape);
  const bool same = shape == original_shape &&
                    (original == nullptr ? !again
                                         : again && again->kind == original->kind &&
                                               again->signature == original->signature);
  if (same) return std::nullopt;
  std::size_t first_difference = 0;
  while (first_difference < shape.size() && first_difference < original_shape.size() &&
         shape[first_difference] == original_shape[first_difference])
    ++first_difference;
  Finding f = original != nullptr ? *original : Finding{};
  f.kind = FindingKind::nondeterminism;
  f.message = fmt::format(
      "uncontrolled nondeterminism: execution {} {} after {} steps, but re-run from the same {} "
      "choices it {} after {} steps (first difference at step {}). {}",
      execution + 1,
      original != nullptr
          ? fmt::format("found {} ({})", finding_kind_name(original->kind), original->message)
          : std::string("ran clean"),
      original_shape.size(), choices,
      again ? fmt::format("found {} ({})", finding_kind_name(again->kind), again->message)
            : std::string("ran clean"),
      shape.size(), first_difference + 1, detail::kNondeterminismCauses);
  f.signature = original != nullptr ? "nondeterminism|" + original->signature
                                    : std::string("nondeterminism|re-run");
  return f;
}

}  // namespace

namespace {

// --- the state workers share ------------------------------------------------------------------

constexpr std::uint64_t kNoUnit = ~std::uint64_t{0};

/// Whether environment variable `name` is "1". The test suite's switches for every run of the
/// process: HC_AUDIT_FOOTPRINTS=1 turns the footprint audit on (it adds a check, never changes
/// a schedule); HC_OS_THREADS=1 puts every exploration on the os-threads substrate.
bool environment_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string_view(v) == "1";
}

struct UnitFinding {
  std::uint64_t unit = 0;
  std::uint64_t ordinal = 0;  // counted executions of its unit before it
  Finding finding;
  /// Counted executions of the units before its unit, when known as it is recorded (a run that
  /// is not partitioned folds its units as they finish); else kNoUnit: result() sums them.
  std::uint64_t before = kNoUnit;
};

/// The strategy's row says what its executions are; a strategy of the caller's own or a
/// replay prefix makes the search something else (never estimated, never seeded units).
SearchKind search_kind_of(const ExploreOptions& o) {
  const StrategyInfo* row = find_strategy(o.strategy);
  if (row == nullptr || o.strategy_factory) return SearchKind::single;
  if (row->kind == SearchKind::exhaustive && (!o.replay.empty() || o.replay_file))
    return SearchKind::single;
  return row->kind;
}

/// One exploration, shared by its workers. Units are finished by exactly one worker; findings
/// are kept per signature at their earliest (unit, ordinal), so the result is the same whatever
/// the number of workers and whoever ran what.
class Run {
 public:
  Run(const std::function<void()>& body, const ExploreOptions& o, bool partitioned)
      : body_(body),
        o_(o),
        partitioned_(partitioned),
        kind_(search_kind_of(o)),
        rotation_(o.shard_count <= 1 ? 0 : detail::fnv1a64(o.run_name) % o.shard_count),
        start_(Clock::now()) {
    // Parallel workers on one machine share one search tree when the strategy has one (dpor):
    // fixed units would make them explore more. Shards and checkpoints divide fixed units.
    const StrategyInfo* row = find_strategy(o.strategy);
    if (partitioned && o.jobs > 1 && o.shard_count <= 1 && o.checkpoint_file.empty() &&
        o.resume_file.empty() && kind_ == SearchKind::exhaustive && row != nullptr &&
        row->make_shared_search != nullptr) {
      StrategyOptions so;
      static_cast<RunSettings&>(so) = o;
      shared_ = row->make_shared_search(so, o.jobs);
    }
  }

  /// How this run's executions are configured.
  detail::ExecutionConfig execution_config() const {
    detail::ExecutionConfig config;
    config.stack_size = o_.stack_size;
    config.guard_pages = o_.guard_pages;
    config.max_steps = o_.max_steps;
    config.spurious_wakeups = o_.spurious_wakeups;
    config.livelock_bound = o_.livelock_bound;
    config.audit_footprints = o_.audit_footprints || environment_flag("HC_AUDIT_FOOTPRINTS");
    config.os_threads = o_.os_threads || environment_flag("HC_OS_THREADS");
    config.fp_env_per_thread = o_.fp_env_per_thread;
    config.must_reach = o_.must_reach;
    return config;
  }

  /// The scenario's fingerprint, recorded in checkpoints (see checkpoint.hpp).
  void set_fingerprint(std::string fingerprint) { fingerprint_ = std::move(fingerprint); }

  /// Executions run under this watchdog (nullptr: none).
  void set_watchdog(detail::Watchdog* dog) { watchdog_ = dog; }

  /// Whether the run must stop now (a signal, the test hook, the time budget): the watchdog
  /// asks every tick (at most 50 ms apart), to cut a thread that is stuck while the run should
  /// end. It is also what reads the clock for the time budget: it sets out_of_time_.
  bool must_stop() {
    if (o_.time_budget_seconds > 0 && !out_of_time_.load(std::memory_order_relaxed) &&
        elapsed() >= o_.time_budget_seconds)
      out_of_time_.store(true, std::memory_order_relaxed);
    return stop_asked() || out_of_time_.load(std::memory_order_relaxed);
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  /// The caller's stop flag (SIGINT/SIGTERM in the CLI, see hc/stop.hpp).
  bool stop_requested() const { return o_.stop != nullptr && o_.stop->requested(); }
  /// The stop flag, or the test hook (interrupt_after_executions): an interruption.
  bool stop_asked() const {
    return stop_requested() || (o_.interrupt_after_executions != 0 &&
                                executions_.load() >= o_.interrupt_after_executions);
  }

  /// Resumes: the checkpoint's finished units are done already; its findings are re-run from
  /// their schedules to rebuild their traces (under the watchdog, set before).
  void resume(const detail::Checkpoint& c) {
    finished_ = c.units;
    folded_below_ = c.folded_below;
    folded_ = c.folded;
    folded_units_ = c.folded_units;
    for (const auto& [before, after] : c.coverage)
      coverage_.add_pair(before, after);
    resumed_units_ = c.units.size() + c.folded_units;
    resumed_positions_ = c.positions;
    detail::ExecutionConfig config = execution_config();
    detail::Execution exec(std::move(config));
    std::optional<detail::Watchdog::Watch> watch;  // a no-progress finding is re-run too
    if (watchdog_ != nullptr) watch.emplace(*watchdog_, exec);
    for (const detail::CheckpointFinding& cf : c.findings) {
      std::string error;
      auto schedule = parse_choices(cf.schedule, &error);
      if (!schedule) {
        throw usage_error(fmt::format("checkpoint finding '{}' has a malformed schedule: {}",
                                      cf.signature, error));
      }
      auto replay = make_replay_strategy(*schedule, nullptr);
      replay->begin_execution();
      std::optional<Finding> again = exec.run(body_, *replay);
      // The file's word is not taken for a finding: its schedule must produce it again.
      if (!again || finding_kind_name(again->kind) != cf.kind || again->signature != cf.signature) {
        throw usage_error(fmt::format(
            "checkpoint finding '{}' does not recur when its schedule is re-run ({}): the "
            "checkpoint does not fit this scenario; start afresh without --resume",
            cf.signature,
            again ? fmt::format("it found {}: {}", finding_kind_name(again->kind), again->message)
                  : std::string("it ran clean")));
      }
      // An execution of a finished unit ended at a bound: the search is bounded by it.
      if (again->kind == FindingKind::step_bound_exceeded) cut_by_step_bound_ = true;
      if (again->kind == FindingKind::livelock) cut_by_livelock_bound_ = true;
      Finding f = std::move(*again);
      complete_finding(f, exec);
      f.schedule = *schedule;
      findings_[cf.signature] = UnitFinding{cf.unit, cf.ordinal, std::move(f)};
      if (o_.stop_at_first) {
        // The interrupted run had stopped at this finding: so does its continuation.
        lower_stop_unit(cf.unit);
        stopped_by_finding_ = true;
      }
    }
  }

  /// Whether this run may explore unit u; claims it for one worker when several share the run.
  bool claim(std::uint64_t u) {
    if (!in_shard(u)) return false;
    if (u > stop_unit_.load()) return false;
    std::lock_guard lock(mu_);
    if (u < folded_below_ || finished_.count(u) != 0) return false;  // done before
    return claimed_.insert(u).second;
  }

  void worker(int index) {
    std::string replay_note;
    std::uint64_t claimed_unit = kNoUnit;
    bool claimed_result = false;
    std::set<std::uint64_t> mine;  // units this worker claimed: the only ones it may finish
    UnitFilter owns;
    if (partitioned_ && !shared_) {
      // Strategies ask about a unit more than once: answer from the first claim.
      owns = [this, &claimed_unit, &claimed_result, &mine](std::uint64_t u) {
        if (u != claimed_unit) {
          claimed_unit = u;
          claimed_result = claim(u);
          if (claimed_result) mine.insert(u);
        }
        return claimed_result;
      };
    }
    // A unit this worker passed through without owning it (pruned, or skipped as another
    // worker's) is not this worker's to record: recording it finished with zero counts would
    // make a resumed run skip it.
    auto owned = [&](std::uint64_t u) { return !partitioned_ || shared_ || mine.count(u) != 0; };
    std::map<std::uint64_t, std::string> positions;  // where the checkpoint stopped inside units
    for (const auto& [u, p] : resumed_positions_)
      positions[u] = p.position;
    std::unique_ptr<Strategy> strategy =
        build_strategy(o_, &replay_note, owns, std::move(positions), shared_);
    // Whoever makes the picks: the same strategy for the whole run (Strategy::decider).
    Strategy& decider = strategy->decider();
    detail::Execution exec(execution_config());
    std::optional<detail::Watchdog::Watch> watch;
    if (watchdog_ != nullptr) watch.emplace(*watchdog_, exec);
    // What watches the executions (observer.hpp): coverage, Knuth's estimate, progress.
    std::vector<std::unique_ptr<detail::ExecutionObserver>> observers;
    // A shared search's coverage is kept per dispatch (shared_coverage below): the executions
    // of a dispatch it discards must not count, or the pairs would depend on timing.
    const bool coverage = detail::wants_coverage(o_);
    if (coverage && !shared_)
      observers.push_back(std::make_unique<detail::CoverageObserver>(coverage_, mu_));
    detail::PairCoverage unit_pairs;  // shared search: the pairs of the current dispatch
    auto keep_unit_pairs = [&](std::uint64_t dispatch) {
      if (!shared_ || !coverage) return;
      std::lock_guard lock(mu_);
      dispatch_coverage_[dispatch].merge(unit_pairs);
      unit_pairs = detail::PairCoverage{};
    };
    if (o_.progress && index == 0 && exhaustive()) {
      // Knuth probes on worker 0 only, and only while someone watches.
      observers.push_back(std::make_unique<detail::EstimatorObserver>(
          body_, execution_config(), &estimated_total_, watchdog_));
    }
    if (o_.progress) observers.push_back(std::make_unique<ProgressObserver>(*this));

    std::uint64_t unit = kNoUnit;
    detail::UnitCounts counts;
    std::uint64_t checked = 0;  // executions of this worker so far (the determinism sample)
    DeterminismSample sample;
    bool exhausted = false;
    bool stopped_by_finding = false;
    bool cut_by_step_bound = false;        // an execution ended at the step bound
    bool cut_by_livelock_bound = false;    // an execution ended at the livelock bound
    std::uint64_t fp_control_changes = 0;  // counted executions that left them changed
    // Two or more workers add to executions_ in batches: a locked add per execution on the
    // line they share was 65% of this loop's own time on lastzero(12) with --jobs 2 (0.7% of
    // the run's CPU). Exact counts are needed only by a budget of executions the workers share
    // and by the interrupt hook; then every execution adds. `seen_total` is this worker's last
    // view of the sum, `unpublished` what it has not added yet.
    const bool batch_counts = o_.jobs > 1 && o_.interrupt_after_executions == 0 &&
                              (o_.max_executions == 0 || (partitioned_ && seeded()));
    std::uint64_t seen_total = 0;
    std::uint64_t unpublished = 0;
    for (;;) {
      if (should_interrupt()) break;
      if (budget_spent()) break;
      if (!strategy->begin_execution()) {
        exhausted = true;
        break;
      }
      std::optional<Finding> found = exec.run(body_, decider);
      if (exec.stopped()) {
        // The watchdog cut a stuck thread because the run must stop: this execution neither
        // counts nor finishes its unit.
        should_interrupt();
        break;
      }
      Verdict verdict;
      if (found) verdict.finding = found->kind;
      verdict.pruned = exec.pruned();
      verdict.spawns = exec.spawns();
      verdict.waiting = exec.waiting();
      verdict.pending = exec.pending();
      verdict.touches = exec.touches();
      verdict.preemptions = exec.preemption_count();
      strategy->end_execution(exec.trace(), verdict);
      const ExecutionTag tag = strategy->last_execution();
      if (partitioned_ && tag.unit > stop_unit_.load()) break;  // a finding ends the run before
      if (tag.unit != unit) {
        if (unit != kNoUnit && owned(unit)) {
          for (auto& observer : observers)
            observer->on_unit_end();
          keep_unit_pairs(unit);
          finish_unit(unit, counts);
        }
        unit = tag.unit;
        counts = detail::UnitCounts{};
        // A unit the checkpoint stopped inside goes on from its counts so far.
        if (const auto it = resumed_positions_.find(unit);
            it != resumed_positions_.end() && owned(unit))
          counts = it->second.counts;
      }
      if (tag.resumed) continue;  // counted before the interruption
      if (!tag.counted) {
        counts += Counts{.pruned = 1};
        continue;
      }
      Counts metrics = counts_of(exec, verdict.preemptions);
      metrics.reached = exec.reached_mask();
      counts += metrics;
      if (exec.changed_fp_control()) [[unlikely]]
        ++fp_control_changes;
      // One worker counts with a plain store: a locked read-modify-write per execution costs
      // more than a whole execution's bookkeeping on small scenarios.
      std::uint64_t total;
      if (o_.jobs == 1) {
        total = executions_.load(std::memory_order_relaxed) + 1;
        executions_.store(total, std::memory_order_relaxed);
      } else if (batch_counts) {
        if (++unpublished == kCountBatch) {
          seen_total = executions_.fetch_add(unpublished) + unpublished;
          unpublished = 0;
        }
        total = seen_total + unpublished;
      } else {
        total = executions_.fetch_add(1) + 1;
      }
      for (auto& observer : observers)
        observer->on_execution(exec, total);
      if (shared_ && coverage) unit_pairs.add(exec.trace());
      if (found) {
        cut_by_step_bound = cut_by_step_bound || found->kind == FindingKind::step_bound_exceeded;
        cut_by_livelock_bound = cut_by_livelock_bound || found->kind == FindingKind::livelock;
        record_finding(std::move(*found), exec, unit, counts.executions - 1);
        // A shared search ends its unit at the finding and stops where a sequential one would.
        if (o_.stop_at_first && !shared_) {
          stopped_by_finding = true;
          lower_stop_unit(unit);
          break;
        }
      }
      // The sampled determinism check: a worker's first execution, then one in 64.
      if (!found && o_.check_determinism && !o_.strategy_factory &&
          (checked++ == 0 || (total & 63) == 0)) {
        exec.choices_into(sample.schedule);
        if (auto nd = check_reproduces(exec, body_, sample, nullptr, total - 1)) {
          record_finding(std::move(*nd), exec, unit, counts.executions - 1);
          if (o_.stop_at_first) {
            stopped_by_finding = true;
            lower_stop_unit(unit);
            if (shared_) {
              // The strategy does not know of this finding: the run ends here, before the
              // search does (not exhausted).
              nondeterministic_stop_ = true;
              shared_->cancel();
            }
            break;
          }
        }
      }
    }
    if (unpublished != 0) executions_.fetch_add(unpublished);
    for (auto& observer : observers)
      observer->on_worker_end();
    // A worker that leaves (done, budget, interrupt) wakes those waiting for a unit.
    if (shared_) shared_->cancel();
    if (unit != kNoUnit) keep_unit_pairs(unit);
    std::lock_guard lock(mu_);
    abandoned_threads_ += exec.abandoned_threads();
    unwind_fallbacks_ += exec.unwind_fallbacks();
    fp_control_changes_ += fp_control_changes;
    if (unit != kNoUnit && owned(unit)) {
      // The unit in progress is finished if the strategy is done or a finding ended it;
      // otherwise (budget, interrupt) it is partial: counted, but not in a checkpoint.
      if (exhausted || stopped_by_finding || !partitioned_) {
        finish_unit_locked(unit, counts);
      } else {
        partial_[unit] = counts;
        // Interrupted inside a unit: a strategy that can say where keeps the unit's work.
        if (interrupted_) {
          if (std::optional<std::string> at = strategy->position())
            positions_[unit] = detail::UnitPosition{counts, std::move(*at)};
        }
      }
    }
    if (!exhausted) all_exhausted_ = false;
    if (stopped_by_finding) stopped_by_finding_ = true;
    if (index == 0) {
      replay_note_ = std::move(replay_note);
      bound_reached_ = strategy->statistics().bound_reached;
    }
    if (strategy->statistics().cut_by_preemption_bound) cut_by_preemption_bound_ = true;
    if (cut_by_step_bound) cut_by_step_bound_ = true;
    if (cut_by_livelock_bound) cut_by_livelock_bound_ = true;
  }

  /// Progress reports (ExploreOptions::progress) about every 1024 executions of the run,
  /// with the depth of the longest execution this worker saw.
  class ProgressObserver final : public detail::ExecutionObserver {
   public:
    explicit ProgressObserver(Run& run) : run_(run) {}
    void on_execution(const detail::Execution& exec, std::uint64_t total) override {
      depth_ = std::max(depth_, static_cast<std::uint32_t>(exec.choice_count()));
      if ((total & 1023) != 0) return;
      std::lock_guard lock(run_.mu_);
      run_.o_.progress(Progress{total, run_.findings_.size(), run_.elapsed(), depth_,
                                run_.finished_.size() + run_.folded_units_,
                                run_.estimated_total_.load()});
    }

   private:
    Run& run_;
    std::uint32_t depth_ = 0;  // decisions of the longest execution so far
  };

  /// A shared search's dispatches become units in the order of a sequential run: discarded
  /// ones drop out (their executions and findings), committed ones take their unit's number,
  /// and those an interrupt left uncommitted come after all of them, in dispatch order.
  void renumber_shared_units() {
    const std::uint64_t committed = shared_->committed_units();
    auto unit_of = [&](std::uint64_t dispatch) -> std::optional<std::uint64_t> {
      if (std::optional<std::uint64_t> u = shared_->committed_unit(dispatch)) return u;
      if (shared_->discarded(dispatch)) return std::nullopt;
      return committed + dispatch;
    };
    auto renumber = [&](std::map<std::uint64_t, detail::UnitCounts>& units) {
      std::map<std::uint64_t, detail::UnitCounts> out;
      for (const auto& [dispatch, counts] : units) {
        if (std::optional<std::uint64_t> u = unit_of(dispatch)) out[*u] += counts;
      }
      units = std::move(out);
    };
    renumber(finished_);
    renumber(partial_);
    for (auto& [dispatch, findings] : dispatch_findings_) {
      const std::optional<std::uint64_t> u = unit_of(dispatch);
      if (!u) continue;
      for (auto& [signature, uf] : findings) {
        uf.unit = *u;
        const auto it = findings_.find(signature);
        if (it == findings_.end() ||
            std::tie(uf.unit, uf.ordinal) < std::tie(it->second.unit, it->second.ordinal))
          findings_[signature] = std::move(uf);
      }
    }
    dispatch_findings_.clear();
    const std::optional<std::uint64_t> stopped_at = shared_->stopped_at();
    for (const auto& [dispatch, pairs] : dispatch_coverage_) {
      const std::optional<std::uint64_t> u = unit_of(dispatch);
      if (u && (!stopped_at || *u <= *stopped_at)) coverage_.merge(pairs);
    }
    dispatch_coverage_.clear();
    if (stopped_at) {
      stop_unit_ = *stopped_at;
      stopped_by_finding_ = true;
    } else if (nondeterministic_stop_) {
      const std::optional<std::uint64_t> u = unit_of(stop_unit_.load());
      stop_unit_ = u ? *u : kNoUnit;
    }
    // Exhausted only if the shared tree was: a worker that found no unit left may have been
    // woken by another that stopped early.
    if (!shared_->finished()) all_exhausted_ = false;
  }

  Result result() {
    Result result;
    result.strategy = o_.strategy;
    result.replay_note = replay_note_;
    if (shared_) renumber_shared_units();
    const std::uint64_t stop = stop_unit_.load();
    std::map<std::uint64_t, detail::UnitCounts> units = finished_;
    for (const auto& [u, c] : partial_)
      units[u] += c;
    detail::UnitCounts total = folded_;  // every unit up to the one a stop-at-first finding ended
    for (const auto& [u, c] : units) {
      if (u <= stop) total += c;
    }
    const std::uint64_t reached = total.reached;
    Stats& st = result.stats;
    static_cast<Counts&>(st) = total;
    st.units = partitioned_ ? finished_.size() + folded_units_ - resumed_units_ : 0;
    // Findings in the order a single sequential run meets them; "execution" counts the
    // executions of every unit before the finding's own.
    std::vector<UnitFinding*> ordered;
    for (auto& [signature, uf] : findings_) {
      if (uf.unit <= stop) ordered.push_back(&uf);
    }
    std::sort(ordered.begin(), ordered.end(), [](const UnitFinding* a, const UnitFinding* b) {
      return std::tie(a->unit, a->ordinal) < std::tie(b->unit, b->ordinal);
    });
    const std::size_t keep =
        o_.stop_at_first ? std::min<std::size_t>(ordered.size(), 1) : ordered.size();
    for (std::size_t k = 0; k < keep; ++k) {
      UnitFinding* uf = ordered[k];
      std::uint64_t before = uf->before;
      if (before == kNoUnit) {
        // Partitioned: folded units (seeded strategies) are full, kExecutionsPerUnit
        // executions each; the others are listed.
        before = own_units_below(std::min(uf->unit, folded_below_)) * kExecutionsPerUnit;
        for (const auto& [u, c] : units) {
          if (u < uf->unit) before += c.executions;
        }
      }
      uf->finding.execution = before + uf->ordinal;
      uf->finding.unit = uf->unit;
      uf->finding.unit_execution = uf->ordinal;
      result.findings.push_back(std::move(uf->finding));
    }
    // A seeded strategy has no search space to exhaust: when partitioned it ends at the budget.
    st.exhausted =
        all_exhausted_ && !stopped_by_finding_ && !interrupted_ && !(partitioned_ && seeded());
    if (st.exhausted) {
      std::vector<std::string> bounds;
      if (cut_by_preemption_bound_)
        bounds.push_back(fmt::format("preemption bound {}", o_.preemption_bound));
      if (cut_by_step_bound_) bounds.push_back(fmt::format("step bound {}", o_.max_steps));
      if (cut_by_livelock_bound_)
        bounds.push_back(fmt::format("livelock bound {}", o_.livelock_bound));
      if (!bounds.empty()) {
        st.exhausted = false;  // every schedule within the bounds, not every schedule
        st.bounded_by = fmt::format("{}", fmt::join(bounds, ", "));
      }
    }
    // What the goals' messages say was searched.
    const std::string searched = st.exhausted ? std::string("the whole search space")
                                 : !st.bounded_by.empty()
                                     ? fmt::format("the search space within {}", st.bounded_by)
                                     : std::string("the budget");
    if (!stopped_by_finding_) {
      for (std::size_t i = 0; i < o_.must_reach.size(); ++i) {
        if ((reached >> i) & 1u) continue;
        Finding f;
        f.kind = FindingKind::unreached;
        f.message = fmt::format(
            "'{}' was never reached: no execution of {} ({}) called hc::reached(\"{}\")",
            o_.must_reach[i], st.executions, searched, o_.must_reach[i]);
        f.signature = "unreached|" + o_.must_reach[i];
        result.findings.push_back(std::move(f));
      }
    }
    detail::report_coverage(coverage_, o_, searched, stopped_by_finding_, result);
    st.interrupted = interrupted_;
    st.seconds = elapsed();
    st.bound_reached = bound_reached_;
    st.estimated_total = estimated_total_.load();
    st.abandoned_threads = abandoned_threads_;
    if (shared_) st.rerun_executions = shared_->discarded_executions();
    st.unwind_fallbacks = unwind_fallbacks_;
    st.fp_control_changes = fp_control_changes_;
    return result;
  }

  /// A worker failed (an exception): a shared search stops handing out units, so the other
  /// workers, which may be waiting for the unit it held, return.
  void abandon() {
    if (shared_) shared_->cancel();
  }

  /// The finished units and their findings, for a checkpoint.
  detail::Checkpoint checkpoint() {
    std::lock_guard lock(mu_);
    return checkpoint_locked();
  }
  bool interrupted() const { return interrupted_; }

 private:
  bool should_interrupt() {
    if (interrupted_) return true;
    const bool asked = stop_asked();
    if (asked) interrupted_ = true;
    return asked;
  }

  bool seeded() const { return kind_ == SearchKind::seeded; }
  bool exhaustive() const { return kind_ == SearchKind::exhaustive; }

  bool budget_spent() const {
    // Seeded strategies stop at max_executions themselves when the run is partitioned (their
    // units are execution ranges); exhaustive ones share one budget.
    if (o_.max_executions != 0 && !(partitioned_ && seeded()) &&
        executions_.load() >= o_.max_executions)
      return true;
    return out_of_time_.load(std::memory_order_relaxed);
  }

  void lower_stop_unit(std::uint64_t unit) {
    std::uint64_t current = stop_unit_.load();
    while (unit < current && !stop_unit_.compare_exchange_weak(current, unit)) {
    }
  }

  static void complete_finding(Finding& f, detail::Execution& exec) {
    f.schedule = exec.choices();
    f.schedule_info = detail::render_choice_records(exec);
    f.parameters.clear();
    for (const auto& [key, value] : exec.parameters())
      f.parameters.emplace_back(key, value);
    f.trace = detail::render_trace(exec);
    f.preemptions = exec.preemption_count();
  }

  void record_finding(Finding found, detail::Execution& exec, std::uint64_t unit,
                      std::uint64_t ordinal) {
    // A shared search numbers units by dispatch, not in the order of a sequential run, until
    // result(): each dispatch keeps its own earliest occurrence of each finding.
    std::map<std::string, UnitFinding>& findings = shared_ ? dispatch_findings_[unit] : findings_;
    {
      std::lock_guard lock(mu_);
      const auto it = findings.find(found.signature);
      if (it != findings.end() &&
          std::tie(it->second.unit, it->second.ordinal) <= std::tie(unit, ordinal))
        return;  // met earlier (in the order of a sequential run)
    }
    Finding f = std::move(found);
    complete_finding(f, exec);
    // Exact in a sequential run; within its unit when partitioned (result() fixes the field).
    f.execution = ordinal;
    const std::string signature = f.signature;
    if (o_.check_determinism && f.kind != FindingKind::nondeterminism &&
        f.kind != FindingKind::internal_error) {
      DeterminismSample sample;  // a finding's check: rare, so its own
      sample.schedule = f.schedule;
      if (auto nd = check_reproduces(exec, body_, sample, &f, f.execution)) f = std::move(*nd);
    }
    std::lock_guard lock(mu_);
    const auto it = findings.find(signature);
    if (it == findings.end() ||
        std::tie(unit, ordinal) < std::tie(it->second.unit, it->second.ordinal)) {
      // Not partitioned: every unit before this one is folded already (fold_locked).
      const std::uint64_t before = partitioned_ ? kNoUnit : folded_.executions;
      findings[signature] = UnitFinding{unit, ordinal, std::move(f), before};
    }
  }

  /// A unit is done: its counts (its observers have flushed what a checkpoint needs).
  void finish_unit(std::uint64_t unit, const detail::UnitCounts& counts) {
    std::lock_guard lock(mu_);
    finish_unit_locked(unit, counts);
  }

  void finish_unit_locked(std::uint64_t unit, const detail::UnitCounts& counts) {
    finished_[unit] += counts;
    fold_locked();
    if (!o_.checkpoint_file.empty() && o_.checkpoint_interval_seconds > 0 &&
        elapsed() - last_checkpoint_ >= o_.checkpoint_interval_seconds) {
      detail::write_checkpoint(o_.checkpoint_file, checkpoint_locked());
      last_checkpoint_ = elapsed();
    }
  }

  /// Units are dealt to shards round-robin, starting at a shard the run's name picks: the
  /// one-unit scenarios of a catalogue do not all land on shard 1.
  bool in_shard(std::uint64_t u) const {
    return o_.shard_count <= 1 || (u + rotation_) % o_.shard_count == o_.shard_index;
  }

  /// The units of this run (its shard) below unit u.
  std::uint64_t own_units_below(std::uint64_t u) const {
    if (o_.shard_count <= 1) return u;
    const std::uint64_t first = (o_.shard_index + o_.shard_count - rotation_) % o_.shard_count;
    return u > first ? (u - first + o_.shard_count - 1) / o_.shard_count : 0;
  }

  /// Seeded strategies finish their units (execution ranges) roughly in order: the finished
  /// prefix is kept as one sum, so memory and checkpoints stay bounded however long the run
  /// (a checkpoint used to grow by an entry per 64 executions). Never past a unit a
  /// stop-at-first finding ended, whose later units do not count. A run that is not
  /// partitioned (one worker, no checkpoint) finishes every strategy's units in increasing
  /// order and needs only their sum: it folds them all, so its memory does not grow with the
  /// number of units (it used to keep a map node per unit: 3.4 bytes per random execution);
  /// its findings keep the executions before their unit (UnitFinding::before).
  void fold_locked() {
    const std::uint64_t stop = stop_unit_.load();
    if (!partitioned_) {
      for (auto it = finished_.begin(); it != finished_.end() && it->first < stop;) {
        folded_ += it->second;
        ++folded_units_;
        folded_below_ = it->first + 1;
        it = finished_.erase(it);
      }
      return;
    }
    if (!seeded()) return;
    for (;;) {
      while (!in_shard(folded_below_))
        ++folded_below_;  // another shard's unit: not this run's to count
      const auto it = finished_.find(folded_below_);
      if (it == finished_.end() || folded_below_ >= stop) break;
      folded_ += it->second;
      finished_.erase(it);
      claimed_.erase(folded_below_);
      ++folded_below_;
      ++folded_units_;
    }
  }

  detail::Checkpoint checkpoint_locked() const {
    detail::Checkpoint c;
    c.settings = detail::checkpoint_settings(o_, fingerprint_);
    c.folded_below = folded_below_;
    c.folded = folded_;
    c.folded_units = folded_units_;
    c.coverage = coverage_.pairs();
    const std::uint64_t stop = stop_unit_.load();
    for (const auto& [u, counts] : finished_) {
      if (u <= stop) c.units[u] = counts;
    }
    for (const auto& [u, p] : positions_) {
      if (u <= stop && c.units.count(u) == 0) c.positions[u] = p;
    }
    for (const auto& [u, p] : resumed_positions_) {
      // A position this run never reached stays for the next resume.
      if (u <= stop && c.units.count(u) == 0 && claimed_.count(u) == 0) c.positions.emplace(u, p);
    }
    for (const auto& [signature, uf] : findings_) {
      if (uf.unit >= folded_below_ && c.units.count(uf.unit) == 0 &&
          c.positions.count(uf.unit) == 0)
        continue;  // its unit is redone on resume
      c.findings.push_back(detail::CheckpointFinding{
          uf.unit, uf.ordinal, std::string(finding_kind_name(uf.finding.kind)), signature,
          uf.finding.message, format_choices(uf.finding.schedule)});
    }
    return c;
  }

  const std::function<void()>& body_;
  const ExploreOptions& o_;
  const bool partitioned_;
  const SearchKind kind_;         // what the run's executions are (search_kind_of)
  const std::uint64_t rotation_;  // unit u goes to shard (u + rotation_) % shard_count
  const Clock::time_point start_;

  std::mutex mu_;
  std::set<std::uint64_t> claimed_;
  std::map<std::uint64_t, detail::UnitCounts> finished_;     // units done (counted in full)
  std::map<std::uint64_t, detail::UnitCounts> partial_;      // units a budget or interrupt cut
  std::map<std::uint64_t, detail::UnitPosition> positions_;  // interrupted inside (dfs)
  std::map<std::uint64_t, detail::UnitPosition> resumed_positions_;  // from the checkpoint
  std::size_t resumed_units_ = 0;
  std::uint64_t folded_below_ = 0;  // seeded: units below are finished, summed in folded_
  detail::UnitCounts folded_;
  std::uint64_t folded_units_ = 0;
  std::uint64_t abandoned_threads_ = 0;          // every worker's Execution::abandoned_threads
  std::uint64_t unwind_fallbacks_ = 0;           // and unwind_fallbacks
  std::uint64_t fp_control_changes_ = 0;         // Stats::fp_control_changes, from all workers
  std::map<std::string, UnitFinding> findings_;  // by signature: the earliest occurrence
  // Workers add to executions_ (at every execution, or in batches: worker()) and read
  // stop_unit_ at every execution: apart, on cache lines of their own, the reads do not miss
  // on the other worker's writes (with them side by side, the read was half of the explorer
  // loop's own time with --jobs 2).
  alignas(64) std::atomic<std::uint64_t> executions_{0};
  static constexpr std::uint64_t kCountBatch = 32;  // see worker(): batch_counts
  // stop_at_first: the unit of the first finding.
  alignas(64) std::atomic<std::uint64_t> stop_unit_{kNoUnit};
  std::atomic<bool> interrupted_{false};
  /// The time budget has passed, as the watchdog (which every run with a budget has) saw at
  /// its last tick. Workers read this flag, not the clock: a clock read per execution cost
  /// 25-30 ns on a virtual machine (kvm-clock), 17-19% of an execution of two empty threads.
  std::atomic<bool> out_of_time_{false};
  std::atomic<double> estimated_total_{0};
  bool all_exhausted_ = true;
  bool stopped_by_finding_ = false;
  double last_checkpoint_ = 0;
  detail::Watchdog* watchdog_ = nullptr;
  std::string fingerprint_;
  std::string replay_note_;
  int bound_reached_ = -1;
  // Bounds that cut the space a finished search covered (Stats::bounded_by).
  bool cut_by_preemption_bound_ = false;
  bool cut_by_step_bound_ = false;
  bool cut_by_livelock_bound_ = false;
  detail::PairCoverage coverage_;  // every worker's pairs (CoverageObserver)
  // A search tree the workers share (shared_search.hpp); nullptr: fixed units, or none.
  std::shared_ptr<detail::SharedSearch> shared_;
  // Its findings by dispatch, then signature, until renumber_shared_units().
  std::map<std::uint64_t, std::map<std::string, UnitFinding>> dispatch_findings_;
  std::map<std::uint64_t, detail::PairCoverage> dispatch_coverage_;  // ... and its pairs
  bool nondeterministic_stop_ = false;  // a nondeterminism finding ended a shared search
};

}  // namespace

Result explore(const std::function<void()>& body, const ExploreOptions& o) {
  if (o.must_reach.size() > 64) throw usage_error("at most 64 must_reach labels per exploration");
  if (o.max_steps == 0 || o.max_steps > kMaxStepsLimit) {
    throw usage_error(
        fmt::format("max_steps must be from 1 to {}, not {}", kMaxStepsLimit, o.max_steps));
  }
  detail::check_cover_goals(o);
  if (o.jobs < 1) throw usage_error(fmt::format("jobs must be at least 1, not {}", o.jobs));
  if (o.shard_count == 0 || o.shard_index >= o.shard_count) {
    throw usage_error(fmt::format("shard {}/{} does not exist: the index runs from 1 to the count",
                                  o.shard_index + 1, o.shard_count));
  }
  const bool partitioned =
      o.jobs > 1 || o.shard_count > 1 || !o.checkpoint_file.empty() || !o.resume_file.empty();
  if (partitioned) {
    // The strategy knows whether it honours a unit filter (wrappers such as a replay prefix
    // and strategies of the caller's own do not).
    std::string note;
    if (!build_strategy(o, &note)->splits_into_units()) {
      throw usage_error(fmt::format(
          "strategy '{}'{} cannot be split into work units: --jobs, --shard, --checkpoint and "
          "--resume work with dfs, dpor, random and pct",
          o.strategy, o.replay.empty() && !o.replay_file ? "" : " with a replay prefix"));
    }
    const StrategyInfo* row = find_strategy(o.strategy);
    if (o.split_depth == 0 && (row == nullptr || row->kind != SearchKind::seeded))
      throw usage_error("split_depth must be at least 1 for a partitioned exhaustive search");
  }
  Run run(body, o, partitioned);
  {
    // Every execution of the run is watched, the fingerprint's too (a first execution stuck
    // without scheduling points would otherwise hang the run before it starts).
    std::optional<detail::Watchdog> dog;
    if (o.watchdog_seconds > 0 || o.time_budget_seconds > 0 || o.stop != nullptr ||
        o.interrupt_after_executions != 0) {
      dog.emplace(o.watchdog_seconds, [&run] { return run.must_stop(); });
      run.set_watchdog(&*dog);
    }
    if (!o.checkpoint_file.empty() || !o.resume_file.empty()) {
      const std::string fingerprint =
          detail::scenario_fingerprint(body, run.execution_config(), dog ? &*dog : nullptr);
      run.set_fingerprint(fingerprint);
      if (!o.resume_file.empty())
        run.resume(detail::read_checkpoint(o.resume_file, o, fingerprint));
    }
    if (o.jobs == 1) {
      run.worker(0);
    } else {
      // Worker 0 is the calling thread: its memory (malloc arena, dpor's node pool, fiber
      // stacks) is usually warm already; the others run on the process's helper threads,
      // kept warm from exploration to exploration (helper_threads.hpp).
      std::exception_ptr error;
      std::mutex error_mu;
      const std::function<void(int)> work = [&run, &error, &error_mu](int w) {
        try {
          run.worker(w);
        } catch (...) {
          run.abandon();  // the others must not wait for a unit this worker held
          std::lock_guard lock(error_mu);
          if (!error) error = std::current_exception();
        }
      };
      detail::run_on_helpers(o.jobs, work);
      if (error) std::rethrow_exception(error);
    }
  }
  std::uint64_t kept = 0;  // before result(), which moves the findings out of the run
  if (!o.checkpoint_file.empty()) {
    const detail::Checkpoint c = run.checkpoint();
    detail::write_checkpoint(o.checkpoint_file, c);
    kept = c.folded.executions;
    for (const auto& [unit, counts] : c.units)
      kept += counts.executions;
    for (const auto& [unit, p] : c.positions)
      kept += p.counts.executions;
  }
  Result result = run.result();
  result.stats.checkpoint_executions = kept;
  return result;
}

RunSettings scenario_settings(const Scenario& scenario) {
  // ScenarioInfo keeps these few as designated initializers of the scenario declaration (the
  // catalogue's API); everything else is RunSettings' default.
  const ScenarioInfo& info = scenario.info;
  RunSettings s;
  s.strategy = std::string(info.strategy);
  s.max_executions = info.max_executions;
  s.max_steps = info.max_steps;
  s.preemption_bound = info.preemption_bound;
  s.watchdog_seconds = info.watchdog_seconds;
  s.os_threads = info.os_threads;
  return s;
}

ExploreOptions options_for(const Scenario& scenario, const OptionOverrides& ov) {
  ExploreOptions o;
  static_cast<RunSettings&>(o) = scenario_settings(scenario);
  // Named as the CLI names it: checkpoints record it, and shards rotate their units by it.
  o.run_name = std::string(scenario.info.name);
  for (std::string_view label : scenario.info.must_reach)
    o.must_reach.emplace_back(label);
  for (std::string_view goal : scenario.info.must_cover)
    o.must_cover.emplace_back(goal);
  if (ov.replay) {
    o.replay = *ov.replay;
    o.strategy = "replay";  // exact reproduction unless a strategy is named too
  }
  ov.apply_to(o);
  return o;
}

ScenarioOutcome run_scenario(const Scenario& scenario, const ExploreOptions& options) {
  ScenarioOutcome out;
  out.scenario = &scenario;
  out.options = options;
  const std::function<void()> body = scenario.body;
  ExploreOptions named = options;
  if (named.run_name.empty()) named.run_name = std::string(scenario.info.name);
  out.result = explore(body, named);
  const ScenarioInfo& info = scenario.info;
  const Result& r = out.result;
  // Part of the search: a shard, or a run a signal stopped. Goals (must_reach, must_cover) are
  // properties of the whole search, and so is not finding the expected bug.
  const bool part = options.shard_count > 1 || r.stats.interrupted;
  const bool shard = options.shard_count > 1;
  const std::string where =
      shard ? fmt::format("shard {} of {}", options.shard_index + 1, options.shard_count)
            : std::string("the part explored before the interruption");
  const char* decides = shard ? "the merge decides" : "not exhaustive: run it again to decide";
  auto is_goal = [](const Finding& f) { return f.kind == FindingKind::unreached; };
  const bool only_goals = std::all_of(r.findings.begin(), r.findings.end(), is_goal);
  if (info.expect.clean()) {
    out.as_expected = r.findings.empty() || (part && only_goals);
    if (!out.as_expected) {
      out.explanation =
          fmt::format("expected clean, found {}", finding_kind_name(r.findings.front().kind));
    } else if (!r.findings.empty()) {
      out.partial = true;
      out.explanation = fmt::format("{} goal{} not met in {} ({})", r.findings.size(),
                                    r.findings.size() == 1 ? "" : "s", where, decides);
    } else if (part) {
      out.partial = true;
      out.explanation = fmt::format("clean in {}", where);
    }
    return out;
  }
  const std::string want = expected_kinds_text(info.expect);  // one kind, or several (expect_any)
  for (const Finding& f : r.findings) {
    if (info.expect.accepts(f.kind) && f.message.find(info.message) != std::string::npos) {
      out.as_expected = true;
      return out;
    }
  }
  if (part && only_goals) {
    out.as_expected = true;
    out.partial = true;
    out.explanation = fmt::format("expects {}: not found in {} ({})", want, where, decides);
    return out;
  }
  if (r.findings.empty()) {
    out.explanation =
        fmt::format("expected {}, but {} execution{} found nothing{}", want, r.stats.executions,
                    r.stats.executions == 1 ? "" : "s",
                    r.stats.exhausted ? " (search space exhausted)" : " (budget ran out)");
  } else if (info.expect.accepts(r.findings.front().kind)) {
    out.explanation = fmt::format(
        "expected {} with a message containing \"{}\"; the message is "
        "\"{}\"",
        want, info.message, r.findings.front().message);
  } else {
    out.explanation =
        fmt::format("expected {}, found {}", want, finding_kind_name(r.findings.front().kind));
  }
  return out;
}

}  // namespace hc

// hc/settings.hpp — RunSettings: every setting that shapes what a run explores, in one list.
//
//   hc::RunSettings s{.strategy = "random", .max_executions = 2000};
//   hc::RunSettings::fields(s, [](const hc::SettingInfo& info, auto& value) { ... });
//
// `fields()` is THE list. The CLI's flags, scenario defaults and overrides, replay files,
// checkpoints, run summaries and the gtest helpers' options all walk it, so a new setting is
// one member and one line in fields(): every one of them carries it. tests/unit/settings_test
// changes every field from its default and round-trips it through each of them, and checks
// that fields() visits every member (a member missing from the list fails it).
//
// What is not here does not change what an execution does or which executions run: where
// output goes, parallelism (--jobs, --shard: same totals), checkpoint files, progress.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace hc {

/// What a setting is, for everyone who reads or writes it.
struct SettingInfo {
  std::string_view key;   // snake_case: replay files, checkpoints, summaries ("max_steps")
  std::string_view flag;  // CLI11 spec: "--max-steps"; booleans "--a,!--b" (b sets false)
  std::string_view help;  // one line for --help
  /// Numbers: the accepted range, in the unit of the command line. min > max: any value of
  /// the type (a whole number for unsigned types).
  double min = 1;
  double max = 0;
  /// The command line's value times this is the stored value (stack size: KiB on the command
  /// line, bytes everywhere else).
  std::uint64_t scale = 1;
  /// A checkpoint resumes only with the same value (false: budgets, which a resumed run may
  /// change).
  bool resume_must_match = true;
  /// Replay files written before this setting was recorded lack it: absent means the default.
  bool optional_in_files = false;

  bool has_range() const { return min <= max; }
};

/// The default unit sizes (RunSettings::unit_size 0). Within one machine, workers claim units
/// as they go, and each unit costs every worker its first execution: big units cost less.
/// Shards are dealt units round-robin before anyone knows their real size, and Knuth's estimate
/// from one path can be far off (a yield loop's subtree): many small units balance them. On
/// the catalogue, 8 dfs shards have max/mean 1.57 at 256 and 1.12 at 32; two workers on the
/// big dfs scenarios spend 20-25% more CPU at 32 than at 256.
/// The largest step bound (RunSettings::max_steps) a run accepts.
inline constexpr std::uint32_t kMaxStepsLimit = 100'000'000;

inline constexpr std::uint64_t kUnitSizeForWorkers = 256;
inline constexpr std::uint64_t kUnitSizeForShards = 32;

struct RunSettings {
  std::string strategy = "dfs";      // a row of the strategy table (hc/strategy.hpp)
  std::uint64_t seed = 0;            // seeded strategies: execution i uses (seed, i)
  int preemption_bound = -1;         // dfs: -1 = unbounded
  std::uint32_t max_steps = 10000;   // per execution: more is a step-bound-exceeded finding
  std::uint64_t max_executions = 0;  // 0: until the strategy is done
  bool spurious_wakeups = false;     // condition_variable::wait may return unnotified
  /// Decisions in a row at which every runnable thread yielded and nobody wrote: a livelock
  /// (0: off).
  std::uint32_t livelock_bound = 100;
  int pct_depth = 3;                      // pct: the bug depth it targets
  std::uint64_t stack_size = 256 * 1024;  // bytes per simulated thread stack
  bool guard_pages = true;                // a protected page below every stack
  /// A simulated thread that runs this many seconds without a scheduling point ends its
  /// execution with a no-progress finding (0: off). Wall time: see explore/watchdog.hpp.
  double watchdog_seconds = 3;
  bool stop_at_first = true;       // false: keep going, de-duplicate findings by signature
  double time_budget_seconds = 0;  // 0 = none; a stuck thread is cut at the budget too
  std::uint32_t split_depth = 3;   // dfs, dpor: a work unit's prefix has at least this many
                                   // decisions (see search_units.hpp)
  /// dfs: a unit's estimated size at most (executions); 0: kUnitSizeForWorkers, or
  /// kUnitSizeForShards when the run is sharded (resolved by the explorer, unit_size_for).
  std::uint64_t unit_size = 0;
  /// A model step that touches a model cell outside its declared footprint ends the execution
  /// with an internal error (also on when the environment sets HC_AUDIT_FOOTPRINTS=1).
  bool audit_footprints = false;
  /// Each simulated thread runs on an OS thread of its own, passing a baton, instead of on a
  /// fiber: thread_local variables are per simulated thread (native tests' default).
  bool os_threads = false;
  /// On fibers: each simulated thread keeps its own floating-point control words (rounding
  /// mode, exception masks, flush-to-zero), as on OS threads; by default they share them.
  bool fp_env_per_thread = false;

  bool operator==(const RunSettings&) const = default;

  /// Calls f(info, member) for every member, in declaration order. `Self` is RunSettings or
  /// const RunSettings (or a class derived from it).
  template <class Self, class F>
  static void fields(Self& s, F&& f) {
    f(SettingInfo{"strategy", "--strategy",
                  "The search strategy (see 'handlecheck strategies'; default: the scenario's, "
                  "replay when --replay is given)"},
      s.strategy);
    f(SettingInfo{"seed", "--seed", "Seed of the random strategy (default 0)"}, s.seed);
    f(SettingInfo{"preemption_bound", "--preemption-bound",
                  "dfs: at most this many preemptions per execution (-1: unbounded)", -1, 1000000},
      s.preemption_bound);
    f(SettingInfo{"max_steps", "--max-steps",
                  "Steps per execution before a step-bound-exceeded finding (1 to 100000000)", 1,
                  kMaxStepsLimit},
      s.max_steps);
    f(SettingInfo{"max_executions", "--max-executions",
                  "Stop after this many executions (0: until the strategy is done)"},
      s.max_executions);
    f(SettingInfo{"spurious_wakeups", "--spurious-wakeups",
                  "Explore spurious wake-ups of condition_variable::wait"},
      s.spurious_wakeups);
    f(SettingInfo{.key = "livelock_bound",
                  .flag = "--livelock-bound",
                  .help = "Decisions in a row at which every runnable thread yielded and nobody "
                          "wrote before a livelock finding (0: off; default 100)",
                  .min = 0,
                  .max = 1000000000,
                  .optional_in_files = true},
      s.livelock_bound);
    f(SettingInfo{.key = "pct_depth",
                  .flag = "--pct-depth",
                  .help = "pct: the bug depth it targets (d - 1 priority change points; 1 to 64, "
                          "default 3)",
                  .min = 1,
                  .max = 64,
                  .optional_in_files = true},
      s.pct_depth);
    f(SettingInfo{.key = "stack_size",
                  .flag = "--stack-size",
                  .help = "Stack of each simulated thread, in KiB (16 to 1048576, default 256)",
                  .min = 16,
                  .max = 1048576,
                  .scale = 1024,
                  .optional_in_files = true},
      s.stack_size);
    f(SettingInfo{.key = "guard_pages",
                  .flag = "!--no-guard-pages",
                  .help = "No protected page below each stack: an overflow is still a "
                          "stack-overflow finding, but only once it faults, after it may have "
                          "overwritten the stacks of higher-numbered threads of the same execution",
                  .optional_in_files = true},
      s.guard_pages);
    f(SettingInfo{.key = "watchdog_seconds",
                  .flag = "--watchdog",
                  .help = "Seconds a simulated thread may run (CPU time) or block without a "
                          "scheduling point before a no-progress finding: a loop without hc "
                          "operations, a blocking call handlecheck does not control (0: off; "
                          "default 3)",
                  .min = 0,
                  .max = 86400,
                  .optional_in_files = true},
      s.watchdog_seconds);
    f(SettingInfo{.key = "stop_at_first",
                  .flag = "--stop-at-first,!--keep-going",
                  .help = "Stop at the first finding (the default); --keep-going: keep exploring "
                          "after findings and de-duplicate them",
                  .optional_in_files = true},
      s.stop_at_first);
    f(SettingInfo{.key = "time_budget_seconds",
                  .flag = "--time-budget",
                  .help = "Stop after this many seconds per scenario (0: none; up to 31536000)",
                  .min = 0,
                  .max = 31536000,
                  .resume_must_match = false,
                  .optional_in_files = true},
      s.time_budget_seconds);
    f(SettingInfo{.key = "split_depth",
                  .flag = "--split-depth",
                  .help = "dfs/dpor: a work unit's prefix has at least this many decisions when "
                          "the run is split (default 3)",
                  .min = 1,
                  .max = 32,
                  .optional_in_files = true},
      s.split_depth);
    f(SettingInfo{.key = "unit_size",
                  .flag = "--unit-size",
                  .help = "dfs (and dpor in shards): when the run is split, a work unit is split "
                          "deeper while Knuth's estimate of its executions exceeds this (default "
                          "0: 256, or 32 when the run is sharded): smaller units balance shards "
                          "and let checkpoints keep more; bigger ones cost workers less",
                  .min = 0,
                  .max = 1e12,
                  .optional_in_files = true},
      s.unit_size);
    f(SettingInfo{.key = "audit_footprints",
                  .flag = "--audit-footprints",
                  .help = "End an execution with an internal error when a model operation "
                          "touches state outside the footprint it declared (what dpor's "
                          "reduction relies on); the test suite runs with it on",
                  .optional_in_files = true},
      s.audit_footprints);
    f(SettingInfo{.key = "os_threads",
                  .flag = "--os-threads,!--fibers",
                  .help = "Run each simulated thread on an OS thread of its own (one runs at a "
                          "time, passing a baton): thread_local variables and pthread_self() "
                          "are each thread's own (errno and the exception state are on fibers "
                          "too), at 3-10 us per switch instead of about 20 ns; --fibers: run "
                          "the simulated threads on fibers of one OS thread (the default for "
                          "scenarios; native tests default to OS threads)",
                  .optional_in_files = true},
      s.os_threads);
    f(SettingInfo{.key = "fp_env_per_thread",
                  .flag = "--fp-env-per-thread",
                  .help = "On fibers, give each simulated thread its own floating-point control "
                          "words (rounding mode, exception masks, flush-to-zero), as OS threads "
                          "have, at about 3.5 ns per switch; by default the simulated threads "
                          "share them, as they share thread_local variables, and every "
                          "execution starts with the OS thread's",
                  .optional_in_files = true},
      s.fp_env_per_thread);
  }
};

/// The unit size a run uses: `unit_size`, or its default for a run of `shard_count` shards.
inline std::uint64_t unit_size_for(const RunSettings& s, std::uint32_t shard_count) {
  if (s.unit_size != 0) return s.unit_size;
  return shard_count > 1 ? kUnitSizeForShards : kUnitSizeForWorkers;
}

/// Overrides of a scenario's defaults (see hc::options_for): the settings a run changes.
///
///   hc::SettingOverrides ov;
///   ov.set(&hc::RunSettings::seed, 2026);
class SettingOverrides {
 public:
  template <class T>
  SettingOverrides& set(T RunSettings::*member, std::type_identity_t<T> value) {
    values_.*member = std::move(value);
    RunSettings::fields(values_, [&](const SettingInfo& info, auto& field) {
      if (static_cast<const void*>(&field) == static_cast<const void*>(&(values_.*member)))
        mark(info.key);
    });
    return *this;
  }
  /// Marks the setting named `key` as set; its value is then values()'s.
  void mark(std::string_view key) { set_ |= bit(key); }
  bool is_set(std::string_view key) const { return (set_ & bit(key)) != 0; }
  RunSettings& values() { return values_; }
  const RunSettings& values() const { return values_; }

  /// `base` with every set setting replaced.
  void apply_to(RunSettings& base) const {
    RunSettings::fields(base, [&](const SettingInfo& info, auto& field) {
      if (is_set(info.key)) field = field_of(values_, info.key, field);
    });
  }

 private:
  static std::uint64_t bit(std::string_view key) {
    std::uint64_t b = 0;
    int i = 0;
    RunSettings probe;
    RunSettings::fields(probe, [&](const SettingInfo& info, auto&) {
      if (info.key == key) b = std::uint64_t{1} << i;
      ++i;
    });
    return b;
  }
  template <class T>
  static const T& field_of(const RunSettings& s, std::string_view key, const T& fallback) {
    const T* found = &fallback;
    RunSettings::fields(s, [&](const SettingInfo& info, const auto& field) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(field)>, T>) {
        if (info.key == key) found = &field;
      }
    });
    return *found;
  }

  RunSettings values_;
  std::uint64_t set_ = 0;
};

namespace detail {
/// The number of members of an aggregate (for the test that fields() visits them all).
struct AnyMember {
  template <class T>
  operator T() const;  // NOLINT: declared only, for unevaluated brace-initialisation
};
template <class T, class... A>
consteval std::size_t aggregate_member_count() {
  if constexpr (requires { T{A{}..., AnyMember{}}; })
    return aggregate_member_count<T, A..., AnyMember>();
  else
    return sizeof...(A);
}
}  // namespace detail

}  // namespace hc

// catalogue_bench — the scenario catalogue explored exhaustively, dfs against dpor, and the
// largest explorations again with --jobs 1 and --jobs 2. A plain program that prints two
// Markdown tables (no Google Benchmark: each figure is one exploration, timed once).
//
//   Table 1  every registered scenario, explored to the end (max_executions 0, stop_at_first
//            false, check_determinism false, the scenario's other defaults) with dfs and with
//            dpor: executions, dpor's pruned executions, wall seconds, reduction (dfs/dpor).
//            A run that exceeds the per-run time budget shows "budget" instead of a count.
//   Table 2  the 3 largest scenarios by dfs executions, and the classic DPOR benchmarks
//            readers(N) and lastzero(N) (Abdulla et al., POPL 2014), with jobs 1 and jobs 2
//            (split_depth 3): the executions must be equal (CHECK), the speed-up is
//            jobs-1 seconds / jobs-2 seconds.
//   Table 3  dpor on lastzero(12), readers(13) and increments(3, 4) with jobs 1, and with
//            jobs 2 at split depths 3, 6 and 10 (the workers share one search tree cut at
//            that depth): executions, pruned (sleep-set blocked) executions, wall and CPU
//            seconds, the CPU time against jobs 1 and the wall-clock speed-up. These runs
//            take a fraction of a second, and one pair of them says little on a shared
//            machine: --rounds R runs them R times (default 5), jobs 1 and each jobs 2 run in
//            turn within a round. A round's jobs 1 figure is the mean of two runs, pinned to
//            each of the first two CPUs in turn: two workers use two CPUs, and where those
//            differ in speed an unpinned run would compare with whichever one it landed on.
//            Seconds are medians; "CPU vs jobs 1" is the median of the per-round ratios (each
//            jobs 2 run against the jobs 1 figure of its round, which a machine's slow and fast
//            phases affect alike), printed with their range. After the table, a CPU speed
//            check: the jobs 1 run pinned to each CPU in turn, before and after the rounds.
//
// Run: build/bench/hc_bench_catalogue [--budget SECONDS] [--only SUBSTRING] [--no-jobs]
//                                     [--rounds R]
// Progress goes to stderr, the tables to stdout. See docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sched.h>

#include <fmt/format.h>

#include "hc/hc.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Body = std::function<void()>;

struct Args {
  double budget = 20;
  std::string only;
  bool jobs_table = true;
  int rounds = 5;  // table 3
};

[[noreturn]] void usage(const char* argv0, const std::string& error) {
  if (!error.empty()) fmt::print(stderr, "{}: {}\n", argv0, error);
  fmt::print(stderr,
             "usage: {} [--budget SECONDS] [--only SUBSTRING] [--no-jobs] [--rounds R]\n"
             "  --budget SECONDS  time budget of each exploration (default 20; 0: none)\n"
             "  --only SUBSTRING  only the scenarios (and classic benchmarks) whose name has it\n"
             "  --no-jobs         skip the tables of --jobs 1 against --jobs 2 (2 and 3)\n"
             "  --rounds R        table 3: rounds of runs, medians printed (default 5)\n",
             argv0);
  std::exit(error.empty() ? 0 : 2);
}

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0], fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--budget") {
      const std::string text = value();
      char* end = nullptr;
      args.budget = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || args.budget < 0)
        usage(argv[0], fmt::format("--budget wants a number of seconds >= 0, not '{}'", text));
    } else if (arg == "--only") {
      args.only = value();
    } else if (arg == "--rounds") {
      const std::string text = value();
      char* end = nullptr;
      const long rounds = std::strtol(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || rounds < 1 || rounds > 1000)
        usage(argv[0], fmt::format("--rounds wants a whole number from 1 to 1000, not '{}'", text));
      args.rounds = static_cast<int>(rounds);
    } else if (arg == "--no-jobs") {
      args.jobs_table = false;
    } else if (arg == "--help" || arg == "-h") {
      usage(argv[0], "");
    } else {
      usage(argv[0], fmt::format("unknown argument '{}'", arg));
    }
  }
  return args;
}

/// The CPU time of the whole process (every worker thread), in seconds.
double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// One exploration, timed by steady_clock (and the process's CPU clock) around hc::explore.
struct Run {
  std::uint64_t executions = 0;
  std::uint64_t pruned = 0;
  std::uint64_t rerun = 0;  // shared dpor: executions of units run again (Stats)
  double seconds = 0;
  double cpu_seconds = 0;
  bool complete = false;  // the search space was exhausted within the budget
  std::string error;      // hc::explore threw
};

Run measure(const Body& body, const hc::ExploreOptions& options) {
  Run run;
  const Clock::time_point start = Clock::now();
  const double cpu_start = process_cpu_seconds();
  try {
    const hc::Result r = hc::explore(body, options);
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    run.cpu_seconds = process_cpu_seconds() - cpu_start;
    run.executions = r.stats.executions;
    run.pruned = r.stats.pruned;
    run.rerun = r.stats.rerun_executions;
    run.complete = r.stats.exhausted;
  } catch (const std::exception& e) {
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    run.error = e.what();
  }
  return run;
}

/// The options every run uses: exhaustive, every finding kept, no determinism re-runs.
hc::ExploreOptions exhaustive(hc::ExploreOptions o, const std::string& strategy, int jobs,
                              double budget) {
  o.strategy = strategy;
  o.max_executions = 0;
  o.stop_at_first = false;
  o.check_determinism = false;
  o.time_budget_seconds = budget;
  o.jobs = jobs;  // split_depth stays at its default (3) for jobs > 1
  return o;
}

/// The median of `v` (the mean of the middle two when there is an even number).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// The median of one field of a row's runs (one per round).
template <class T>
double median_of(const std::vector<Run>& runs, T Run::*field) {
  std::vector<double> v;
  for (const Run& r : runs)
    v.push_back(static_cast<double>(r.*field));
  return median(std::move(v));
}

std::string count_cell(const Run& r) {
  if (!r.error.empty()) return "error";
  if (!r.complete) return "budget";
  return fmt::format("{}", r.executions);
}

std::string seconds_cell(double seconds) {
  return fmt::format("{:.3f}", seconds);
}

std::string ratio_cell(double num, double den, bool lower_bound = false) {
  if (den <= 0) return "-";
  return fmt::format("{}{:.2f}x", lower_bound ? ">" : "", num / den);
}

/// A Markdown table printed row by row (flushed, so a long run shows its progress), columns
/// padded to the widths given up front (cells wider than their column just widen the row).
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<std::size_t> widths, std::size_t left)
      : widths_(std::move(widths)), left_(left) {
    for (std::size_t i = 0; i < header.size(); ++i)
      widths_[i] = std::max(widths_[i], header[i].size());
    row(header);
    std::string rule = "|";
    for (std::size_t i = 0; i < widths_.size(); ++i)
      rule +=
          (i < left_ ? ":" : "-") + std::string(widths_[i], '-') + (i < left_ ? "-" : ":") + "|";
    std::puts(rule.c_str());
    std::fflush(stdout);
  }

  void row(const std::vector<std::string>& cells) {
    std::string line = "|";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += i < left_ ? fmt::format(" {:<{}} |", cells[i], widths_[i])
                        : fmt::format(" {:>{}} |", cells[i], widths_[i]);
    }
    std::puts(line.c_str());
    std::fflush(stdout);
  }

 private:
  std::vector<std::size_t> widths_;
  std::size_t left_;  // the first `left_` columns are left-aligned, the others right-aligned
};

// --- the classic DPOR benchmarks (as in tests/unit/dpor_classic_test.cpp) ---------------------

/// Spawns `count` threads named T0, T1, ... running fn(k), then joins them all.
template <class Fn>
void run_threads(int count, Fn fn) {
  std::vector<hc::thread> threads;
  threads.reserve(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k)
    threads.emplace_back("T" + std::to_string(k), [fn, k] { fn(k); });
  for (hc::thread& t : threads)
    t.join();
}

/// readers(N): one writer stores x; N readers load it once each. 2^N Mazurkiewicz traces.
Body readers(int n) {
  return [n] {
    hc::atomic<int> x{0, "x"};
    run_threads(n + 1, [&x](int k) {
      if (k == 0) {
        x.store(42);
      } else {
        (void)x.load();
      }
    });
  };
}

/// lastzero(N): array[0..N] all 0; thread 0 scans `for (i = N; array[i] != 0; i--);`, thread
/// j in 1..N does `array[j] = array[j-1] + 1`. (N + 3) * 2^(N-2) traces.
Body lastzero(int n) {
  return [n] {
    std::deque<hc::atomic<int>> array;
    for (int i = 0; i <= n; ++i)
      array.emplace_back(0, "array[" + std::to_string(i) + "]");
    run_threads(n + 1, [&array, n](int k) {
      if (k == 0) {
        for (int i = n; array[static_cast<std::size_t>(i)].load() != 0; --i) {
        }
      } else {
        const auto j = static_cast<std::size_t>(k);
        array[j].store(array[j - 1].load() + 1);
      }
    });
  };
}

/// increments(T, K): T threads each do K fetch_adds on one atomic: every pair of steps of
/// different threads conflicts, so the traces are the interleavings, (T*K)! / (K!)^T.
Body increments(int threads, int k) {
  return [threads, k] {
    hc::atomic<int> x{0, "x"};
    run_threads(threads, [&x, k](int) {
      for (int i = 0; i < k; ++i)
        x.fetch_add(1);
    });
  };
}

/// One exploration pinned to each CPU the process may run on, in turn (the first `n`); the
/// process's affinity is restored after. Empty when affinity cannot be read or set.
std::vector<std::pair<int, Run>> runs_on_each_cpu(const Body& body, const hc::ExploreOptions& o,
                                                  std::size_t n = 8) {
  std::vector<std::pair<int, Run>> runs;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return runs;
  for (int cpu = 0; cpu < CPU_SETSIZE && runs.size() < n; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (::sched_setaffinity(0, sizeof one, &one) != 0) continue;
    runs.emplace_back(cpu, measure(body, o));
  }
  ::sched_setaffinity(0, sizeof allowed, &allowed);
  return runs;
}

/// The CPU seconds of one exploration on each CPU the process may run on (the first 8), pinned
/// there in turn. Table 3 compares the CPU time of two workers, on two CPUs, with one worker's,
/// on one: a virtual machine's CPUs can differ in speed for minutes at a time (one of this
/// project's 2-core machines ran the same exploration 45% slower on CPU 0 than on CPU 1), and
/// then that ratio says as much about the machine as about the search.
std::vector<std::pair<int, double>> cpu_speeds(const Body& body, const hc::ExploreOptions& o) {
  std::vector<std::pair<int, double>> speeds;
  for (const auto& [cpu, run] : runs_on_each_cpu(body, o))
    speeds.emplace_back(cpu, run.cpu_seconds);
  return speeds;
}

/// One worker's exploration as the baseline of two workers': run pinned to each of the first
/// `n` CPUs the process may use, in turn, and averaged (seconds, CPU seconds). Two workers
/// spread over those CPUs, so where they differ in speed an unpinned run of one worker, on
/// whichever CPU the kernel picks, makes the ratio a reading of the machine (one morning's
/// table read 0.92x with CPU 1 1.42x slower than CPU 0, where runs on CPUs alike read 1.18x).
Run one_worker_on_each_cpu(const Body& body, const hc::ExploreOptions& o, std::size_t n) {
  const std::vector<std::pair<int, Run>> runs = runs_on_each_cpu(body, o, n);
  if (runs.empty()) return measure(body, o);  // affinity unavailable: as the kernel places it
  Run mean = runs.front().second;
  mean.seconds = 0;
  mean.cpu_seconds = 0;
  for (const auto& [cpu, run] : runs) {
    mean.seconds += run.seconds / static_cast<double>(runs.size());
    mean.cpu_seconds += run.cpu_seconds / static_cast<double>(runs.size());
    mean.complete = mean.complete && run.complete;
    if (mean.error.empty()) mean.error = run.error;
  }
  return mean;
}

/// "CPU 0 0.265 s, CPU 1 0.182 s: the slowest took 1.46x the fastest's CPU time".
std::string speeds_line(const std::vector<std::pair<int, double>>& speeds) {
  if (speeds.empty()) return "not measured (the CPU affinity could not be read or set)";
  std::string line;
  double lo = speeds.front().second, hi = lo;
  for (const auto& [cpu, seconds] : speeds) {
    line += fmt::format("{}CPU {} {:.3f} s", line.empty() ? "" : ", ", cpu, seconds);
    lo = std::min(lo, seconds);
    hi = std::max(hi, seconds);
  }
  if (speeds.size() > 1 && lo > 0)
    line += fmt::format(": the slowest took {:.2f}x the fastest's CPU time", hi / lo);
  return line;
}

struct Subject {
  std::string name;
  Body body;
  hc::ExploreOptions defaults;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const Clock::time_point run_start = Clock::now();
  auto matches = [&](std::string_view name) {
    return args.only.empty() || name.find(args.only) != std::string_view::npos;
  };

  fmt::print("hardware_concurrency: {}\n", std::thread::hardware_concurrency());
  fmt::print("per-run time budget: {} s{}\n\n", args.budget, args.budget > 0 ? "" : " (none)");
  std::fflush(stdout);

  // --- table 1: dfs against dpor over the catalogue ----------------------------------------
  std::vector<const hc::Scenario*> selected;
  std::size_t name_width = 0;
  for (const hc::Scenario& s : hc::scenarios()) {
    if (!matches(s.info.name)) continue;
    selected.push_back(&s);
    name_width = std::max(name_width, s.info.name.size());
  }
  fmt::print("## dfs against dpor: {} scenario(s), explored exhaustively\n\n", selected.size());
  std::fflush(stdout);

  struct Measured {
    Subject subject;
    Run dfs;
  };
  std::vector<Measured> measured;
  std::uint64_t dfs_total = 0;
  std::uint64_t dpor_total = 0;
  std::uint64_t pruned_total = 0;
  double dfs_seconds = 0;
  double dpor_seconds = 0;
  std::size_t in_totals = 0;
  std::size_t not_in_totals = 0;
  if (!selected.empty()) {
    Table table({"scenario", "dfs executions", "dfs seconds", "dpor executions", "dpor pruned",
                 "dpor seconds", "reduction"},
                {std::max<std::size_t>(name_width, 12), 10, 8, 10, 10, 8, 9}, 1);
    for (const hc::Scenario* s : selected) {
      const std::string name(s->info.name);
      const hc::ExploreOptions defaults = hc::options_for(*s, {});
      const Body body = s->body;
      fmt::print(stderr, "[table 1] {} ...\n", name);
      const Run dfs = measure(body, exhaustive(defaults, "dfs", 1, args.budget));
      const Run dpor = measure(body, exhaustive(defaults, "dpor", 1, args.budget));
      for (const Run* r : {&dfs, &dpor}) {
        if (!r->error.empty()) fmt::print(stderr, "  {}: error: {}\n", name, r->error);
      }
      std::string reduction = "-";
      if (dfs.error.empty() && dpor.complete && dpor.executions > 0) {
        // dfs cut short by the budget: its count so far over dpor's is a lower bound.
        reduction = ratio_cell(static_cast<double>(dfs.executions),
                               static_cast<double>(dpor.executions), !dfs.complete);
      }
      table.row({name, count_cell(dfs), seconds_cell(dfs.seconds), count_cell(dpor),
                 dpor.error.empty() ? fmt::format("{}", dpor.pruned) : "-",
                 seconds_cell(dpor.seconds), reduction});
      if (dfs.complete && dpor.complete) {
        dfs_total += dfs.executions;
        dpor_total += dpor.executions;
        pruned_total += dpor.pruned;
        dfs_seconds += dfs.seconds;
        dpor_seconds += dpor.seconds;
        ++in_totals;
      } else {
        ++not_in_totals;
      }
      if (dfs.complete) measured.push_back(Measured{Subject{name, body, defaults}, dfs});
    }
    table.row({fmt::format("**totals** ({} scenarios)", in_totals), fmt::format("{}", dfs_total),
               seconds_cell(dfs_seconds), fmt::format("{}", dpor_total),
               fmt::format("{}", pruned_total), seconds_cell(dpor_seconds),
               ratio_cell(static_cast<double>(dfs_total), static_cast<double>(dpor_total))});
    fmt::print("\n");
    if (not_in_totals != 0) {
      fmt::print(
          "{} scenario(s) not in the totals: dfs or dpor ran out of the {} s budget (or "
          "failed).\n\n",
          not_in_totals, args.budget);
    }
    std::fflush(stdout);
  }

  // --- table 2: jobs 1 against jobs 2 -------------------------------------------------------
  if (args.jobs_table) {
    std::stable_sort(measured.begin(), measured.end(), [](const Measured& a, const Measured& b) {
      return a.dfs.executions > b.dfs.executions;
    });
    if (measured.size() > 3) measured.resize(3);
    std::vector<Subject> subjects;
    for (Measured& m : measured)
      subjects.push_back(std::move(m.subject));
    // Classic benchmarks sized so dfs takes seconds, not minutes, on a small machine.
    const hc::ExploreOptions plain;
    for (Subject classic : {Subject{"classic/readers(8)", readers(8), plain},
                            Subject{"classic/lastzero(5)", lastzero(5), plain}}) {
      if (matches(classic.name)) subjects.push_back(std::move(classic));
    }
    std::size_t width = 9;
    for (const Subject& s : subjects)
      width = std::max(width, s.name.size());
    fmt::print("## --jobs 1 against --jobs 2 (split_depth 3)\n\n");
    std::fflush(stdout);
    if (!subjects.empty()) {
      Table table({"benchmark", "strategy", "jobs 1 executions", "jobs 1 seconds",
                   "jobs 2 executions", "jobs 2 seconds", "CHECK", "speed-up"},
                  {width, 8, 10, 8, 10, 8, 9, 8}, 2);
      for (const Subject& s : subjects) {
        for (const char* strategy : {"dfs", "dpor"}) {
          fmt::print(stderr, "[table 2] {} {} ...\n", s.name, strategy);
          const Run one = measure(s.body, exhaustive(s.defaults, strategy, 1, args.budget));
          const Run two = measure(s.body, exhaustive(s.defaults, strategy, 2, args.budget));
          for (const Run* r : {&one, &two}) {
            if (!r->error.empty()) fmt::print(stderr, "  {}: error: {}\n", s.name, r->error);
          }
          const bool comparable = one.complete && two.complete;
          const std::string check = !comparable                        ? "n/a"
                                    : one.executions == two.executions ? "same"
                                                                       : "DIFFERENT";
          table.row({s.name, strategy, count_cell(one), seconds_cell(one.seconds), count_cell(two),
                     seconds_cell(two.seconds), check,
                     comparable ? ratio_cell(one.seconds, two.seconds) : "-"});
        }
      }
      fmt::print("\n");
    }
  }

  // --- table 3: dpor over parallel workers ---------------------------------------------------
  // Workers share one search tree (SharedDpor, strategy/dpor.cpp): the decisions above the cut
  // (split_depth) are the top, whose units are handed out and committed in sequential order,
  // so two workers run exactly one worker's executions. The cost of sharing is what units run
  // twice (a unit handed out ahead whose input a unit before it changed) and the replay of each
  // unit's prefix; the cut decides how many units there are to share.
  if (args.jobs_table) {
    fmt::print("## dpor over parallel workers (one shared search tree), median of {} round(s)\n\n",
               args.rounds);
    Table table(
        {"benchmark", "split depth", "jobs", "executions", "pruned", "run again", "wall seconds",
         "CPU seconds", "CPU vs jobs 1", "per-round CPU ratios", "wall speed-up"},
        {20, 5, 4, 10, 8, 8, 8, 8, 8, 11, 8}, 1);
    const std::vector<std::uint32_t> depths = {3u, 6u, 10u};
    std::vector<std::string> speed_checks;  // printed after the table
    for (Subject s : {Subject{"classic/lastzero(12)", lastzero(12), {}},
                      Subject{"classic/readers(13)", readers(13), {}},
                      Subject{"increments(3, 4)", increments(3, 4), {}}}) {
      if (!matches(s.name)) continue;
      const hc::ExploreOptions one_worker = exhaustive(s.defaults, "dpor", 1, args.budget);
      const std::string speeds_before = speeds_line(cpu_speeds(s.body, one_worker));
      // runs[0]: jobs 1; runs[1 + d]: jobs 2 at depths[d]; one Run per round each.
      std::vector<std::vector<Run>> runs(1 + depths.size());
      for (int round = 1; round <= args.rounds; ++round) {
        fmt::print(stderr, "[table 3] {} round {}/{}: jobs 1, then jobs 2 at split depths", s.name,
                   round, args.rounds);
        runs[0].push_back(one_worker_on_each_cpu(s.body, one_worker, 2));
        for (std::size_t d = 0; d < depths.size(); ++d) {
          fmt::print(stderr, " {}", depths[d]);
          hc::ExploreOptions o = s.defaults;
          o.split_depth = depths[d];
          runs[1 + d].push_back(measure(s.body, exhaustive(o, "dpor", 2, args.budget)));
        }
        fmt::print(stderr, "\n");
      }
      const double one_wall = median_of(runs[0], &Run::seconds);
      const double one_cpu = median_of(runs[0], &Run::cpu_seconds);
      table.row({s.name, "-", "1", count_cell(runs[0].front()),
                 fmt::format("{}", runs[0].front().pruned), "0", seconds_cell(one_wall),
                 seconds_cell(one_cpu), "1.00x", "-", "1.00x"});
      for (std::size_t d = 0; d < depths.size(); ++d) {
        const std::vector<Run>& two = runs[1 + d];
        // Each round's ratio against the jobs 1 run of the same round.
        std::vector<double> ratios;
        for (std::size_t r = 0; r < two.size(); ++r)
          if (runs[0][r].cpu_seconds > 0)
            ratios.push_back(two[r].cpu_seconds / runs[0][r].cpu_seconds);
        std::sort(ratios.begin(), ratios.end());
        const std::string range =
            ratios.empty() ? "-" : fmt::format("{:.2f}-{:.2f}x", ratios.front(), ratios.back());
        const std::string paired = ratios.empty() ? "-" : fmt::format("{:.2f}x", median(ratios));
        // A count that differs between rounds (it should not: the search is exact) shows as
        // "varies", with the last round's count.
        bool same = true;
        for (const Run& r : two)
          same = same && r.executions == two.front().executions && r.complete;
        const double two_cpu = median_of(two, &Run::cpu_seconds);
        const double two_wall = median_of(two, &Run::seconds);
        table.row({s.name, fmt::format("{}", depths[d]), "2",
                   same ? count_cell(two.front()) : "varies: " + count_cell(two.back()),
                   fmt::format("{}", two.front().pruned),
                   fmt::format("{:.0f}", median_of(two, &Run::rerun)), seconds_cell(two_wall),
                   seconds_cell(two_cpu), paired, range, ratio_cell(one_wall, two_wall)});
      }
      speed_checks.push_back(
          fmt::format("- {}, dpor, jobs 1, pinned to each CPU: before the "
                      "rounds {}; after them {}",
                      s.name, speeds_before, speeds_line(cpu_speeds(s.body, one_worker))));
    }
    fmt::print("\n");
    if (!speed_checks.empty()) {
      fmt::print(
          "CPU speed check (two workers run on two CPUs, one worker on one: where the CPUs "
          "differ in speed, `CPU vs jobs 1` says as much about the machine as about the "
          "search):\n\n");
      for (const std::string& line : speed_checks)
        fmt::print("{}\n", line);
      fmt::print("\n");
    }
  }

  fmt::print("whole run: {:.3f} s wall\n",
             std::chrono::duration<double>(Clock::now() - run_start).count());
  return 0;
}

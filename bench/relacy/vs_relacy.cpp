// hc_bench_vs_relacy — handlecheck against Relacy on the same protocol tests, in one process.
//
//   build/bench/relacy/hc_bench_vs_relacy [--random N] [--budget SECONDS] [--rounds R]
//       [--seed S] [--refcount-executions N] [--only TABLE]
//
// Defaults: 50000 random executions (tables 1 and 3), a 120 s budget for dfs, 1e6 executions
// per run in table 4, 3 rounds of every timed figure (the machine may be shared). --only runs
// one table: random, exhaust, finding or refcount.
//
// The protocols are tests/relacy/protocols.hpp, written once as templates on the platform and
// instantiated with hc::atomic / hc::var / hc::mutex and with rl::atomic / rl::var / rl::mutex:
//   SafeHandle AddRef/Dispose   Dispose against two DangerousAddRef/DangerousRelease users (3
//   threads) refcount release            a COM reference count released by 2 users (2 threads)
//   two-lock destructor         registry lock + object lock, destructor against 2 users (3 threads)
//   buggy: IsClosed TOCTOU      users check IsClosed instead of AddRef (bug B7; 3 threads)
//   RefcountProtocol<U, O>      issue 14's refcounted handle: U users x O rounds of TryAddRef /
//                               use / Release, and a disposer (U + 1 threads), all seq_cst
// Relacy runs them with the models' memory orders (what its users would write: it also explores
// weak-memory reads-from choices) and, for the exhaustive row, all seq_cst too (the state space
// our sequentially consistent dfs explores).
//
// Printed (markdown tables):
//   1. executions/s under random (handlecheck random vs rl::sched_random), N executions each
//   2. executions and wall time to exhaust (handlecheck dfs vs rl::sched_full)
//   3. executions to the first finding on the buggy variant (dfs vs full, random vs random)
//   4. issue 15's head-to-head: the refcount protocol, shapes (users, ops) = (1,1) (2,1) (3,1)
//      (1,2) (2,2), random, 1e6 executions per run, seq_cst for both tools, interleaved: for
//      each shape, R rounds of (handlecheck, Relacy), the order alternating from round to
//      round. Executions/s from the process CPU time (CLOCK_PROCESS_CPUTIME_ID) of each run,
//      the median of the R rounds; ours/Relacy is the ratio of the medians, and the range of
//      the R per-round ratios (each round's two runs ran back to back) follows it. A last row,
//      not one of the shapes, runs 2 threads with empty bodies: the fixed cost of an
//      execution of each tool. Both tools must run exactly N executions without a finding (the
//      protocol is correct); otherwise the row says ERROR and the exit status is 1.
//   Tables 1 to 3 time wall time (std::chrono) and keep the best of R rounds. handlecheck runs
//   with explore()'s defaults (so one clean execution in 64 is re-run by its determinism check),
//   which is what `handlecheck run --strategy random` does. Nothing here is a test.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <time.h>

#include <fmt/format.h>

#include "protocols.hpp"
#include "relacy_platform.hpp"

namespace {

using namespace hc_rl;
using Clock = std::chrono::steady_clock;

constexpr const char* kThreadNames[] = {"T0", "T1", "T2", "T3"};

struct Measure {
  std::uint64_t executions = 0;
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // the process's CPU time (every thread of it)
  bool finished = false;   // exhausted / finding found
  bool finding = false;
};

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// CPU time of the whole process (handlecheck's watchdog thread included).
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class Proto>
hc::Result hc_run(const hc::ExploreOptions& o) {
  return hc::explore(
      [] {
        Proto proto;
        std::array<hc::thread, Proto::kThreads> threads;  // no heap: Relacy's suite has none
        for (int i = 0; i < Proto::kThreads; ++i)
          threads[i] = hc::thread(kThreadNames[i], [&proto, i] { proto.thread(i); });
        for (hc::thread& t : threads)
          t.join();
        proto.finish();
      },
      o);
}

/// The same protocol as a suite (hc/suite.hpp): its threads are the execution, and the last
/// to finish runs the final check; no main thread waits for them (Relacy's shape).
template <class Proto>
struct AsSuite : Proto {
  void after() { this->finish(); }
};

template <class Proto, bool kSuite = false>
Measure hc_measure(const std::string& strategy, std::uint64_t executions, double budget,
                   std::uint64_t seed) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.seed = seed;
  o.max_executions = executions;
  o.time_budget_seconds = budget;
  const double cpu_start = cpu_now();
  const auto start = Clock::now();
  const hc::Result r = kSuite ? hc::explore_suite<AsSuite<Proto>>(o) : hc_run<Proto>(o);
  Measure m;
  m.seconds = since(start);
  m.cpu_seconds = cpu_now() - cpu_start;
  m.executions = r.stats.executions;
  m.finding = !r.findings.empty();
  m.finished = r.stats.exhausted || m.finding;
  return m;
}

template <class Proto>
Measure rl_measure(rl::scheduler_type_e search, std::uint64_t iterations) {
  const double cpu_start = cpu_now();
  const auto start = Clock::now();
  const RunResult r = run<Suite<Proto>>(search, iterations);
  Measure m;
  m.seconds = since(start);
  m.cpu_seconds = cpu_now() - cpu_start;
  m.executions = r.executions;
  m.finding = r.result != rl::test_result_success;
  m.finished = true;
  return m;
}

/// The fastest of `rounds` runs (the machine is shared: the best run is the least disturbed).
Measure best_of(int rounds, const std::function<Measure()>& f) {
  Measure best = f();
  for (int i = 1; i < rounds; ++i) {
    const Measure m = f();
    if (m.seconds < best.seconds) best = m;
  }
  return best;
}

std::string ratio(double ours, double theirs) {
  if (theirs <= 0) return "-";
  return fmt::format("{:.2f}x", ours / theirs);
}
std::string rate(const Measure& m) {
  return fmt::format("{:.0f}", m.seconds > 0 ? static_cast<double>(m.executions) / m.seconds : 0);
}
std::string execs(const Measure& m, bool must_finish = true) {
  return fmt::format("{}{}", m.executions, must_finish && !m.finished ? " (budget hit)" : "");
}

struct Row {
  std::string name;
  std::function<Measure(std::uint64_t n, std::uint64_t seed)> hc_random, rl_random;
  std::function<Measure(double budget)> hc_dfs;
  std::function<Measure()> rl_full, rl_full_sc;
};

template <template <class> class Model, template <class> class SeqCst>
Row make_row(std::string name) {
  Row r;
  r.name = std::move(name);
  r.hc_random = [](std::uint64_t n, std::uint64_t seed) {
    return hc_measure<Model<HcPlatform>>("random", n, 0, seed);
  };
  r.rl_random = [](std::uint64_t n, std::uint64_t) {
    return rl_measure<Model<RlPlatform>>(rl::sched_random, n);
  };
  r.hc_dfs = [](double budget) { return hc_measure<Model<HcPlatform>>("dfs", 0, budget, 0); };
  r.rl_full = [] { return rl_measure<Model<RlPlatform>>(rl::sched_full, 0); };
  r.rl_full_sc = [] { return rl_measure<SeqCst<RlPlatform>>(rl::sched_full, 0); };
  return r;
}

template <class P>
using ShModel = SafeHandleRace<P, 2>;
template <class P>
using ShSeqCst = SafeHandleRace<P, 2, SafeHandleSeqCst>;
template <class P>
using RcModel = RefCountRelease<P, 2>;
template <class P>
using RcSeqCst = RefCountRelease<P, 2, ComSeqCst>;
template <class P>
using TwoLock = TwoLockDestructor<P, 2>;
template <class P>
using Toctou = SafeHandleToctou<P, 2>;
template <class P>
using ToctouSeqCst = SafeHandleToctou<P, 2, SafeHandleSeqCst>;

// --- table 4: the refcount protocol (issue 15) --------------------------------------------------

/// Two threads with empty bodies: what an execution costs before it does anything.
template <class P>
struct EmptyThreads {
  static constexpr int kThreads = 2;
  void thread(int) {}
  void finish() {}
  int outcome() const { return 0; }
};

template <class P>
using Refcount11 = RefcountProtocol<P, 1, 1>;
template <class P>
using Refcount21 = RefcountProtocol<P, 2, 1>;
template <class P>
using Refcount31 = RefcountProtocol<P, 3, 1>;
template <class P>
using Refcount12 = RefcountProtocol<P, 1, 2>;
template <class P>
using Refcount22 = RefcountProtocol<P, 2, 2>;

struct Shape {
  std::string name;
  std::function<Measure(std::uint64_t n, std::uint64_t seed)> hc, hc_suite, rl;
};

template <template <class> class Proto>
Shape make_shape(std::string name) {
  return Shape{std::move(name),
               [](std::uint64_t n, std::uint64_t seed) {
                 return hc_measure<Proto<HcPlatform>>("random", n, 0, seed);
               },
               [](std::uint64_t n, std::uint64_t seed) {
                 return hc_measure<Proto<HcPlatform>, true>("random", n, 0, seed);
               },
               [](std::uint64_t n, std::uint64_t) {
                 return rl_measure<Proto<RlPlatform>>(rl::sched_random, n);
               }};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t k = v.size() / 2;
  return v.size() % 2 == 1 ? v[k] : (v[k - 1] + v[k]) / 2;
}

/// 1234567.8 -> "1,234,568".
std::string grouped(double x) {
  std::string digits = fmt::format("{:.0f}", x);
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// What is wrong with a run that had to run `n` executions clean ("" if nothing).
std::string run_error(const char* tool, const Measure& m, std::uint64_t n) {
  if (m.finding)
    return fmt::format("{} reported a finding (after {} executions)", tool, m.executions);
  if (m.executions != n) return fmt::format("{} ran {} executions, not {}", tool, m.executions, n);
  return "";
}

/// Table 4; returns the number of rows with an error.
int refcount_table(std::uint64_t n, int rounds, std::uint64_t seed) {
  const std::vector<Shape> shapes = {
      make_shape<Refcount11>("(1,1)"), make_shape<Refcount21>("(2,1)"),
      make_shape<Refcount31>("(3,1)"), make_shape<Refcount12>("(1,2)"),
      make_shape<Refcount22>("(2,2)"), make_shape<EmptyThreads>("2 empty threads"),
  };
  fmt::print(
      "## 4. Refcount protocol (users, ops), random, {} executions per run, seq_cst for both; "
      "CPU time, median of {} interleaved rounds\n\n",
      n, rounds);
  fmt::print(
      "| shape | handlecheck, scenario body: exec/s (ns/exec) | handlecheck, suite: exec/s "
      "(ns/exec) | Relacy exec/s (ns/exec) | body/Relacy | suite/Relacy | suite/Relacy per "
      "round |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  int errors = 0;
  for (const Shape& shape : shapes) {
    std::vector<double> body_rates, suite_rates, theirs, ratios;
    std::string error;
    for (int r = 0; r < rounds && error.empty(); ++r) {
      // The three runs of a round back to back, the order reversed every other round.
      Measure b, s, t;
      if (r % 2 == 0) {
        b = shape.hc(n, seed);
        s = shape.hc_suite(n, seed);
        t = shape.rl(n, seed);
      } else {
        t = shape.rl(n, seed);
        s = shape.hc_suite(n, seed);
        b = shape.hc(n, seed);
      }
      error = run_error("handlecheck (scenario body)", b, n);
      if (error.empty()) error = run_error("handlecheck (suite)", s, n);
      if (error.empty()) error = run_error("Relacy", t, n);
      const double rb = static_cast<double>(b.executions) / b.cpu_seconds;
      const double rs = static_cast<double>(s.executions) / s.cpu_seconds;
      const double rt = static_cast<double>(t.executions) / t.cpu_seconds;
      body_rates.push_back(rb);
      suite_rates.push_back(rs);
      theirs.push_back(rt);
      ratios.push_back(rs / rt);
      std::fprintf(stderr,
                   "  %s round %d: handlecheck %.0f exec/s (suite %.0f), Relacy %.0f exec/s\n",
                   shape.name.c_str(), r + 1, rb, rs, rt);
    }
    if (!error.empty()) {
      ++errors;
      std::fprintf(stderr, "ERROR: %s: %s\n", shape.name.c_str(), error.c_str());
      fmt::print("| {} | ERROR: {} | | | | | |\n", shape.name, error);
      continue;
    }
    const double mb = median(body_rates), ms = median(suite_rates), mt = median(theirs);
    const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
    fmt::print(
        "| {} | {} ({:.0f}) | {} ({:.0f}) | {} ({:.0f}) | {:.2f}x | {:.2f}x | {:.2f}-{:.2f}x |\n",
        shape.name, grouped(mb), 1e9 / mb, grouped(ms), 1e9 / ms, grouped(mt), 1e9 / mt, mb / mt,
        ms / mt, *lo, *hi);
    std::fflush(stdout);
  }
  fmt::print(
      "\nThe shapes: 1 disposer and `users` threads doing `ops` rounds of TryAddRef / use / "
      "Release (protocols.hpp, RefcountProtocol). handlecheck runs each shape two ways: as a "
      "scenario body (main spawns the threads, joins them and checks) and as a suite "
      "(hc/suite.hpp: the threads are the execution and the last to finish runs the check, as "
      "in Relacy's test_suite, whose threads are the execution and whose after() checks). The "
      "last row is not a shape of the protocol: 2 threads with empty bodies, the fixed cost of "
      "an execution.\n");
  return errors;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t random_n = 50000;
  std::uint64_t refcount_n = 1000000;
  double budget = 120;
  std::uint64_t seed = 1;
  int rounds = 3;
  std::string only;  // "": every table
  const char* usage =
      "usage: %s [--random N] [--budget SECONDS] [--rounds R] [--seed S] "
      "[--refcount-executions N] [--only random|exhaust|finding|refcount]\n";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) {
      std::fprintf(stderr, usage, argv[0]);
      return 2;
    }
    if (std::strcmp(argv[i], "--random") == 0) {
      random_n = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--refcount-executions") == 0) {
      refcount_n = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--budget") == 0) {
      budget = std::strtod(argv[i + 1], nullptr);
    } else if (std::strcmp(argv[i], "--rounds") == 0) {
      rounds = std::max(1, std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--seed") == 0) {
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--only") == 0) {
      only = argv[i + 1];
      if (only != "random" && only != "exhaust" && only != "finding" && only != "refcount") {
        std::fprintf(stderr, usage, argv[0]);
        return 2;
      }
    } else {
      std::fprintf(stderr, usage, argv[0]);
      return 2;
    }
  }
  if (refcount_n == 0) {
    std::fprintf(stderr, "--refcount-executions must be at least 1\n");
    return 2;
  }
  auto want = [&only](const char* table) { return only.empty() || only == table; };
  const std::vector<Row> rows = {
      make_row<ShModel, ShSeqCst>("SafeHandle AddRef/Dispose (3 threads)"),
      make_row<RcModel, RcSeqCst>("refcount release, 2 users"),
      make_row<TwoLock, TwoLock>("two-lock destructor (3 threads)"),
      make_row<Toctou, ToctouSeqCst>("buggy: IsClosed TOCTOU (3 threads)"),
  };
  const std::size_t clean_rows = 3;

  fmt::print("# handlecheck vs Relacy (same protocol sources, one process)\n\n");
  if (want("random")) {
    fmt::print(
        "## 1. Executions/s under random ({} executions each; wall time, best of {} rounds)\n\n",
        random_n, rounds);
    fmt::print("| protocol | handlecheck random | Relacy sched_random | ours/Relacy |\n");
    fmt::print("|---|---:|---:|---:|\n");
    for (std::size_t i = 0; i < clean_rows; ++i) {
      const Row& row = rows[i];
      const Measure ours = best_of(rounds, [&] { return row.hc_random(random_n, seed); });
      const Measure theirs = best_of(rounds, [&] { return row.rl_random(random_n, seed); });
      fmt::print("| {} | {} | {} | {} |\n", rows[i].name, rate(ours), rate(theirs),
                 ratio(static_cast<double>(ours.executions) / ours.seconds,
                       static_cast<double>(theirs.executions) / theirs.seconds));
      std::fflush(stdout);
    }
  }

  if (want("exhaust")) {
    fmt::print(
        "\n## 2. Executions and wall time to exhaust (handlecheck dfs, budget {} s; "
        "Relacy sched_full; best of {} rounds)\n\n",
        budget, rounds);
    fmt::print(
        "| protocol | handlecheck dfs | time | Relacy full, model orders | time | "
        "Relacy full, seq_cst | time | executions ours/Relacy seq_cst | time ours/Relacy "
        "seq_cst |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (std::size_t i = 0; i < clean_rows; ++i) {
      const Row& row = rows[i];
      const Measure ours = best_of(rounds, [&] { return row.hc_dfs(budget); });
      const Measure model = best_of(rounds, [&] { return row.rl_full(); });
      const Measure sc = best_of(rounds, [&] { return row.rl_full_sc(); });
      fmt::print("| {} | {} | {:.3f} s | {} | {:.3f} s | {} | {:.3f} s | {} | {} |\n", rows[i].name,
                 execs(ours), ours.seconds, execs(model), model.seconds, execs(sc), sc.seconds,
                 ratio(static_cast<double>(ours.executions), static_cast<double>(sc.executions)),
                 ratio(ours.seconds, sc.seconds));
      std::fflush(stdout);
    }
  }

  if (want("finding")) {
    const Row& bug = rows.back();
    fmt::print("\n## 3. Executions to the first finding: {}\n\n", bug.name);
    fmt::print(
        "| search | handlecheck | Relacy (model orders) | Relacy (seq_cst) | ours/Relacy "
        "(model) |\n");
    fmt::print("|---|---:|---:|---:|---:|\n");
    {
      const Measure ours = bug.hc_dfs(budget);
      const Measure model = bug.rl_full();
      const Measure sc = bug.rl_full_sc();
      fmt::print(
          "| exhaustive (dfs / sched_full) | {}{} | {}{} | {}{} | {} |\n", ours.executions,
          ours.finding ? "" : " (none)", model.executions, model.finding ? "" : " (none)",
          sc.executions, sc.finding ? "" : " (none)",
          ratio(static_cast<double>(ours.executions), static_cast<double>(model.executions)));
      // Random: the mean over 20 seeds, each run until its first finding.
      constexpr int kSeeds = 20;
      double ours_sum = 0, theirs_sum = 0;
      int ours_found = 0, theirs_found = 0;
      for (int s = 0; s < kSeeds; ++s) {
        const Measure o = bug.hc_random(100000, seed + static_cast<std::uint64_t>(s));
        if (o.finding) {
          ours_sum += static_cast<double>(o.executions);
          ++ours_found;
        }
      }
      // Relacy's random scheduler seeds iteration i with i: one run, its first failing iteration.
      const Measure t = bug.rl_random(100000, seed);
      if (t.finding) {
        theirs_sum = static_cast<double>(t.executions);
        theirs_found = 1;
      }
      const double ours_mean = ours_found ? ours_sum / ours_found : 0;
      const double theirs_mean = theirs_found ? theirs_sum / theirs_found : 0;
      fmt::print(
          "| random | {:.1f} (mean of {} seeds, {} found) | {:.0f} (its one fixed seed "
          "sequence) | - | {} |\n",
          ours_mean, kSeeds, ours_found, theirs_mean, ratio(ours_mean, theirs_mean));
    }
  }

  if (want("random") || want("exhaust") || want("finding")) {
    fmt::print(
        "\nhandlecheck: sequentially consistent, one execution per schedule, dfs without "
        "partial-order reduction. Relacy: C++ memory model (reads-from choices for "
        "non-seq_cst loads), fair full search.\n\n");
  }

  int errors = 0;
  if (want("refcount")) errors = refcount_table(refcount_n, rounds, seed);
  return errors == 0 ? 0 : 1;
}

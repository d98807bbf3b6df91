// dpor on the classic DPOR benchmarks. An optimal DPOR (Abdulla, Aronis, Jonsson, Sagonas,
// "Optimal dynamic partial order reduction", POPL 2014) explores exactly one execution per
// Mazurkiewicz trace, so `dpor`'s execution count must equal the number of traces. The traces
// are counted independently of dpor: exhaustive `dfs` runs every interleaving and
// hc::test::TraceCollector (mazurkiewicz.hpp, which also states the dependency relation)
// keeps one canonical form per equivalence class. Where dfs cannot enumerate a size, the count
// is a closed form derived below and checked by dfs at the sizes it can enumerate.
//
// The benchmarks, ported to hc primitives. `main` (thread 0) spawns and joins the benchmark's
// threads, so benchmark thread k is simulated thread k + 1; joins add no traces.
//   lastzero(N)   Abdulla et al., POPL 2014 (also in GenMC's and Nidhugg's test suites):
//                 array[0..N] of atomics, all 0; thread 0 scans `for (i = N; array[i] != 0;
//                 i--);`, thread j in 1..N does `array[j] = array[j-1] + 1` (a load, a store).
//   readers(N)    Abdulla et al., POPL 2014: one writer stores x, N readers load it once each.
//   indexer(N)    Flanagan, Godefroid, "Dynamic partial-order reduction for model checking
//                 software", POPL 2005, with the code of SV-COMP's pthread/indexer.c: thread
//                 tid (from 0) inserts w = (++m) * 11 + tid for m < 4 at h = (w * 7) % 128 of a
//                 128-entry table, probing linearly with compare-and-swap (one hc::atomic CAS
//                 where the C code takes a per-entry mutex). Threads tid and tid + 11 insert
//                 equal values, so no entry is shared before N = 12.
//   filesystem(N) Flanagan & Godefroid, POPL 2005, with the code of SV-COMP's
//                 pthread/filesystem: NUMBLOCKS 26, NUMINODE 32, a mutex per inode and per
//                 block; thread tid (from 0) takes inode i = tid % 32 and, if it has no block,
//                 scans from block (2 * i) % 26 for a free one. Threads tid and tid + 13 start
//                 at one block, so no block is shared before N = 14.
// Variants with a smaller table (indexer) or disk (filesystem) make threads collide at sizes
// dfs can still enumerate.
//
// Closed forms (derived in the comments of the tests that use them):
//   readers(N) 2^N;  lastzero(N) (N + 3) * 2^(N-2) for N >= 2;
//   indexer(N) 1 for N <= 11, 8^(N-11) for 12 <= N <= 22;
//   filesystem(N) 1 for N <= 13, 2^(N-13) for 14 <= N <= 26.
// (For the sizes of the POPL 2014 evaluation these give lastzero(5) 64, lastzero(10) 3328,
// indexer(12..15) 8, 64, 512, 4096 and filesystem(14, 16, 18, 19) 2, 8, 32, 64.)
//
// Suites: DporClassic runs in the default suite (well under a second of dfs and dpor each);
// DporClassicNightly holds the larger sizes (lastzero(5) under dfs is 3.5 million executions).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mazurkiewicz.hpp"
#include "test_support.hpp"

namespace {

using Body = std::function<void()>;

// --- the benchmarks --------------------------------------------------------------------------

/// Spawns `count` threads named `prefix0`, `prefix1`, ... running fn(k), then joins them all.
template <class Fn>
void run_threads(int count, const char* prefix, Fn fn) {
  std::vector<hc::thread> threads;
  threads.reserve(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k)
    threads.emplace_back(prefix + std::to_string(k), [fn, k] { fn(k); });
  for (hc::thread& t : threads)
    t.join();
}

/// lastzero(N): array[0..N] all 0. Thread 0 scans down for the last zero:
/// `for (i = N; array[i] != 0; i--);` thread j (1..N) does `array[j] = array[j-1] + 1`.
/// Writer j stores store(j, array[j-1]) unless that is nullopt (lastzero's own: the value + 1).
template <class Store>
void run_lastzero(int n, Store store) {
  std::deque<hc::atomic<int>> array;
  for (int i = 0; i <= n; ++i)
    array.emplace_back(0, "array[" + std::to_string(i) + "]");
  run_threads(n + 1, "T", [&array, n, &store](int k) {
    if (k == 0) {
      for (int i = n; array[static_cast<std::size_t>(i)].load() != 0; --i) {
      }
    } else {
      const auto j = static_cast<std::size_t>(k);
      if (const std::optional<int> v = store(k, array[j - 1].load())) array[j].store(*v);
    }
  });
}

Body lastzero(int n) {
  return [n] { run_lastzero(n, [](int, int seen) { return std::optional<int>(seen + 1); }); };
}

/// readers(N): one writer stores x; N readers each load x once.
Body readers(int n) {
  return [n] {
    hc::atomic<int> x{0, "x"};
    run_threads(n + 1, "T", [&x](int k) {
      if (k == 0) {
        x.store(42);
      } else {
        (void)x.load();
      }
    });
  };
}

/// indexer(N): N threads insert 4 values each into a hash table of `size` entries (128 in the
/// original) with compare-and-swap and linear probing.
Body indexer(int n, int size = 128) {
  return [n, size] {
    constexpr int kMax = 4;
    std::deque<hc::atomic<int>> table;
    for (int i = 0; i < size; ++i)
      table.emplace_back(0, "table[" + std::to_string(i) + "]");
    run_threads(n, "T", [&table, size](int tid) {
      for (int m = 1; m <= kMax; ++m) {
        const int w = m * 11 + tid;  // getmsg()
        int h = (w * 7) % size;      // hash(w)
        for (;;) {
          int expected = 0;
          if (table[static_cast<std::size_t>(h)].compare_exchange_strong(expected, w)) break;
          h = (h + 1) % size;
        }
      }
    });
  };
}

/// filesystem(N): thread tid takes inode i = tid % NUMINODE under its lock and, if the inode
/// has no block yet, scans the blocks from (2 * i) % NUMBLOCKS for a free one, each under its
/// block's lock. Defaults are the original's 32 inodes and 26 blocks; N must not exceed the
/// number of blocks (a thread finding no free block would spin forever, as in the original).
Body filesystem(int n, int numblocks = 26, int numinode = 32) {
  return [n, numblocks, numinode] {
    std::deque<hc::mutex> locki;
    std::deque<hc::var<int>> inode;
    for (int i = 0; i < numinode; ++i) {
      locki.emplace_back("locki[" + std::to_string(i) + "]");
      inode.emplace_back(0, "inode[" + std::to_string(i) + "]");
    }
    std::deque<hc::mutex> lockb;
    std::deque<hc::var<int>> busy;
    for (int b = 0; b < numblocks; ++b) {
      lockb.emplace_back("lockb[" + std::to_string(b) + "]");
      busy.emplace_back(0, "busy[" + std::to_string(b) + "]");
    }
    run_threads(n, "T", [&, numblocks, numinode](int tid) {
      const auto i = static_cast<std::size_t>(tid % numinode);
      locki[i].lock();
      if (inode[i].read() == 0) {
        auto b = static_cast<std::size_t>((static_cast<int>(i) * 2) % numblocks);
        for (;;) {
          lockb[b].lock();
          if (busy[b].read() == 0) {
            busy[b].write(1);
            inode[i].write(static_cast<int>(b) + 1);
            lockb[b].unlock();
            break;
          }
          lockb[b].unlock();
          b = (b + 1) % static_cast<std::size_t>(numblocks);
        }
      }
      locki[i].unlock();
    });
  };
}

struct Counts {
  std::uint64_t traces = 0;
  std::uint64_t dfs_executions = 0;
  std::uint64_t dpor_executions = 0;
  bool dpor_exhausted = false;
};

hc::ExploreOptions dpor_options() {
  hc::ExploreOptions o;
  o.strategy = "dpor";
  o.max_executions = 0;
  o.stop_at_first = false;
  o.check_determinism = false;
  return o;
}

void print_row(const std::string& name, std::uint64_t traces, const std::string& dfs,
               std::uint64_t dpor) {
  std::printf("[ classic  ] %-26s traces %8llu   dfs %10s   dpor %8llu\n", name.c_str(),
              static_cast<unsigned long long>(traces), dfs.c_str(),
              static_cast<unsigned long long>(dpor));
  std::fflush(stdout);
}

/// The number of Mazurkiewicz traces of `body` (via dfs) and what dfs and dpor explore.
Counts measure(const std::string& name, const Body& body) {
  Counts c;
  std::set<std::string> traces;
  hc::ExploreOptions dfs = dpor_options();
  dfs.strategy = "dfs";
  dfs.strategy_factory = [&traces] { return std::make_unique<hc::test::TraceCollector>(&traces); };
  const hc::Result counted = hc::explore(body, dfs);
  EXPECT_TRUE(counted.stats.exhausted) << name;
  EXPECT_TRUE(counted.findings.empty()) << name << ": " << counted.findings.front().message;
  EXPECT_EQ(traces.count(hc::test::kCyclicHappensBefore), 0u) << name;
  c.traces = traces.size();
  c.dfs_executions = counted.stats.executions;

  const hc::Result dpor = hc::explore(body, dpor_options());
  EXPECT_TRUE(dpor.findings.empty()) << name << ": " << dpor.findings.front().message;
  c.dpor_executions = dpor.stats.executions;
  c.dpor_exhausted = dpor.stats.exhausted;
  print_row(name, c.traces, std::to_string(c.dfs_executions), c.dpor_executions);
  return c;
}

/// dpor explored the whole space, one execution per trace.
void expect_optimal(const std::string& name, const Counts& c) {
  EXPECT_TRUE(c.dpor_exhausted) << name;
  EXPECT_EQ(c.dpor_executions, c.traces)
      << name << ": dpor explored " << c.dpor_executions << " executions for " << c.traces
      << " Mazurkiewicz traces (dfs: " << c.dfs_executions << " interleavings)";
}

/// Counts the traces of `body` with dfs, checks the count against `expected` (the closed form)
/// and dpor against the count.
void expect_traces(const std::string& name, const Body& body, std::uint64_t expected) {
  const Counts c = measure(name, body);
  EXPECT_EQ(c.traces, expected) << name << ": traces counted by dfs vs the closed form";
  expect_optimal(name, c);
}

/// dpor alone, for sizes dfs cannot enumerate: its count must be the closed form. The time
/// budget only turns a dpor that explodes into a failure instead of a hang.
void expect_dpor_executions(const std::string& name, const Body& body, std::uint64_t traces,
                            double budget_seconds) {
  hc::ExploreOptions o = dpor_options();
  o.time_budget_seconds = budget_seconds;
  const hc::Result r = hc::explore(body, o);
  print_row(name, traces, "-", r.stats.executions);
  EXPECT_TRUE(r.findings.empty()) << name << ": " << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted) << name << ": dpor did not finish in " << budget_seconds << " s ("
                                 << r.stats.executions << " executions)";
  EXPECT_EQ(r.stats.executions, traces) << name << ": dpor executions vs the closed form";
}

std::string label(const char* benchmark, int n, const char* variant = "") {
  return std::string(benchmark) + "(" + std::to_string(n) + variant + ")";
}

constexpr double kBudget = 60;          // seconds, per dpor-only run in the default suite
constexpr double kNightlyBudget = 600;  // seconds, per dpor-only run at night

// --- the trace count itself ------------------------------------------------------------------

// Two threads on separate atomics: all 6 interleavings are one trace. Two threads on one
// atomic, two writes each: every interleaving is its own trace.
TEST(DporClassic, TraceCountOfIndependentAndFullyDependentPrograms) {
  const Counts separate = measure("separate(2x2)", [] {
    hc::atomic<int> x{0, "x"};
    hc::atomic<int> y{0, "y"};
    run_threads(2, "T", [&](int k) {
      hc::atomic<int>& mine = k == 0 ? x : y;
      mine.store(1);
      mine.store(2);
    });
  });
  EXPECT_EQ(separate.traces, 1u);
  EXPECT_EQ(separate.dfs_executions, 6u);
  expect_optimal("separate(2x2)", separate);

  const Counts shared = measure("shared(2x2)", hc::test::threads_with_steps(2, 2));
  EXPECT_EQ(shared.traces, 6u);
  EXPECT_EQ(shared.dfs_executions, 6u);
  expect_optimal("shared(2x2)", shared);
}

// Reads commute with reads only; a value choice is a trace of its own per value but commutes
// with every other thread's steps; a mutex orders its critical sections.
TEST(DporClassic, TraceCountOfReadsChoicesAndLocks) {
  expect_traces(
      "two-readers",
      [] {
        hc::atomic<int> x{0, "x"};
        run_threads(2, "T", [&](int) { (void)x.load(); });
      },
      1);
  expect_traces(
      "read-write",
      [] {
        hc::atomic<int> x{0, "x"};
        run_threads(2, "T", [&](int k) {
          if (k == 0) {
            (void)x.load();
          } else {
            x.store(1);
          }
        });
      },
      2);
  // Thread 0 chooses a bit and writes y; thread 1 writes z: 2 traces (the two values).
  expect_traces(
      "choice",
      [] {
        hc::atomic<int> y{0, "y"};
        hc::atomic<int> z{0, "z"};
        run_threads(2, "T", [&](int k) {
          if (k == 0) {
            y.store(static_cast<int>(hc::choose(2, "bit")));
          } else {
            z.store(1);
          }
        });
      },
      2);
  // Two critical sections on one mutex, each writing its own variable: 2 traces (who locks
  // first); three: 3! = 6.
  for (int threads = 2; threads <= 3; ++threads) {
    expect_traces(
        label("sections", threads),
        [threads] {
          hc::mutex m("m");
          std::deque<hc::var<int>> vars;
          for (int k = 0; k < threads; ++k)
            vars.emplace_back(0, "v" + std::to_string(k));
          run_threads(threads, "T", [&](int k) {
            m.lock();
            vars[static_cast<std::size_t>(k)].write(1);
            m.unlock();
          });
        },
        threads == 2 ? 2 : 6);
  }
}

// --- readers ----------------------------------------------------------------------------------

// Each reader reads before or after the one write, independently of the others: 2^N traces.
TEST(DporClassic, Readers) {
  for (int n = 1; n <= 6; ++n)
    expect_traces(label("readers", n), readers(n), std::uint64_t{1} << n);
  expect_dpor_executions("readers(10)", readers(10), 1024, kBudget);
}

// --- lastzero ---------------------------------------------------------------------------------

/// (N + 3) * 2^(N-2) for N >= 2. A trace is fixed by (1) for each j in 2..N, whether writer j
/// loads array[j-1] before or after writer j-1 stores it (2^(N-1) combinations), and (2) the
/// entry k where the scan stops (it reads array[N..k+1] after their stores and array[k] before
/// its store, or k = 0). Stopping at k = N or at k = 0 fits every combination; 0 < k < N needs
/// writer k+1 to load array[k] before writer k stores it (else writer k's store precedes the
/// scan's read of array[k+1], which precedes its read of array[k]): 2^(N-2) combinations.
/// Total 2 * 2^(N-1) + (N-1) * 2^(N-2).
std::uint64_t lastzero_traces(int n) {
  return static_cast<std::uint64_t>(n + 3) << (n - 2);
}

TEST(DporClassic, Lastzero) {
  for (int n = 2; n <= 4; ++n)
    expect_traces(label("lastzero", n), lastzero(n), lastzero_traces(n));
  for (int n : {5, 8})
    expect_dpor_executions(label("lastzero", n), lastzero(n), lastzero_traces(n), kBudget);
}

/// lastzero(N) after a value choice made before any thread runs (a fault mode picked up
/// front): one search per value, each lastzero's. `mid`: writer 1 also chooses, after loading
/// array[0], whether to store at all (its choice comes after decisions: every decision below
/// it branches on every thread, sleep sets alone).
Body lastzero_after_choice(int n, bool mid) {
  return [n, mid] {
    const bool twice = hc::choose(2, "fault mode") == 1;
    run_lastzero(n, [mid, twice](int k, int seen) -> std::optional<int> {
      if (mid && k == 1 && hc::choose(2, "store") == 0) return std::nullopt;
      return seen + (twice ? 2 : 1);
    });
  };
}

// A choice before the first decision starts one search per value: dpor runs lastzero's traces
// twice and prunes nothing (sleep sets alone below the choice, as before, ran lastzero(6)'s 288
// executions with 3,668 blocked ones). A choice after decisions keeps the count exact.
TEST(DporClassic, LastzeroAfterAValueChoice) {
  expect_traces("lastzero(3) after a choice", lastzero_after_choice(3, false),
                2 * lastzero_traces(3));
  for (int n : {4, 6}) {
    const std::string name = label("lastzero", n, " after a choice");
    const hc::Result r = hc::explore(lastzero_after_choice(n, false), dpor_options());
    EXPECT_TRUE(r.stats.exhausted) << name;
    EXPECT_EQ(r.stats.executions, 2 * lastzero_traces(n)) << name;
    EXPECT_EQ(r.stats.pruned, 0u) << name << ": sleep-set blocked executions";
  }
  // With writer 1's choice too: as many dpor executions as traces (the tests' counter), some
  // pruned below writer 1's choice.
  const Counts both = measure("lastzero(3) after two choices", lastzero_after_choice(3, true));
  EXPECT_TRUE(both.dpor_exhausted);
  EXPECT_EQ(both.dpor_executions, both.traces);
}

// --- indexer ----------------------------------------------------------------------------------

/// 1 for N <= 11; 8^(N-11) for 12 <= N <= 22. Threads k and k + 11 (k = 0 .. N-12) insert the
/// same three values 22+k, 33+k, 44+k, in that order, so they meet at three entries: each is a
/// two-way race (the winner's CAS writes, the loser's fails, reading the winner's value), and
/// both threads visit the three entries in the same order, so all 8 outcomes are consistent.
/// The loser probes the next entry, h + 1 = 7w + 1 (mod 128), which no other insert hashes to
/// (that needs a value w + 55, beyond the largest value 44 + N - 1 while N <= 22), so nothing
/// else interacts. Values of different pairs differ, hence so do their entries.
std::uint64_t indexer_traces(int n) {
  return n <= 11 ? 1 : std::uint64_t{1} << (3 * (n - 11));
}

TEST(DporClassic, IndexerWithoutCollisions) {
  for (int n = 2; n <= 3; ++n)
    expect_traces(label("indexer", n), indexer(n), 1);
  expect_dpor_executions("indexer(11)", indexer(11), 1, kBudget);
}

TEST(DporClassic, IndexerCollisions) {
  for (int n = 12; n <= 13; ++n)
    expect_dpor_executions(label("indexer", n), indexer(n), indexer_traces(n), kBudget);
}

// Smaller tables (an 8-entry one is what SV-COMP-derived adaptations of indexer use for two
// threads): the threads' entries collide, and a lost CAS sends a thread probing into entries
// the other thread inserts into later.
TEST(DporClassic, IndexerSmallTable) {
  const Counts two = measure("indexer(2, table 8)", indexer(2, 8));
  EXPECT_EQ(two.traces, 3u);
  expect_optimal("indexer(2, table 8)", two);
  const Counts three = measure("indexer(3, table 16)", indexer(3, 16));
  EXPECT_EQ(three.traces, 7u);
  expect_optimal("indexer(3, table 16)", three);
}

// --- filesystem -------------------------------------------------------------------------------

/// 1 for N <= 13; 2^(N-13) for 14 <= N <= 26. Threads k and k + 13 (k = 0 .. N-14) have their
/// own inodes but both start at block 2k: whoever locks it first takes it, and the other finds
/// it busy and takes block 2k + 1, which is odd, so no thread starts there and only this pair's
/// loser reaches it. The pairs are independent: two traces each.
std::uint64_t filesystem_traces(int n) {
  return n <= 13 ? 1 : std::uint64_t{1} << (n - 13);
}

TEST(DporClassic, FilesystemWithoutCollisions) {
  expect_traces("filesystem(2)", filesystem(2), 1);
  expect_dpor_executions("filesystem(13)", filesystem(13), 1, kBudget);
}

TEST(DporClassic, FilesystemCollisions) {
  for (int n : {14, 16})
    expect_dpor_executions(label("filesystem", n), filesystem(n), filesystem_traces(n), kBudget);
}

// A 2-block disk: both threads start at block 0, as threads k and k + 13 do on the real disk.
TEST(DporClassic, FilesystemSmallDisk) {
  expect_traces("filesystem(2, 2 blocks)", filesystem(2, 2), 2);
}

// --- the refcounted-handle protocol -------------------------------------------------------------

// hc::test::refcount_protocol (test_support.hpp).
using hc::test::refcount_protocol;

TEST(DporClassic, RefcountProtocol) {
  for (auto [users, ops] : {std::pair{1, 1}, {2, 1}, {1, 2}}) {
    const std::string name = fmt::format("refcount({}, {})", users, ops);
    expect_optimal(name, measure(name, refcount_protocol(users, ops)));
  }
}

// --- larger sizes (ctest label `nightly`) -----------------------------------------------------

TEST(DporClassicNightly, Readers) {
  for (int n = 7; n <= 8; ++n)
    expect_traces(label("readers", n), readers(n), std::uint64_t{1} << n);
  for (int n : {14, 16})
    expect_dpor_executions(label("readers", n), readers(n), std::uint64_t{1} << n, kNightlyBudget);
}

TEST(DporClassicNightly, Lastzero) {
  expect_traces("lastzero(5)", lastzero(5), lastzero_traces(5));
  for (int n : {10, 15})
    expect_dpor_executions(label("lastzero", n), lastzero(n), lastzero_traces(n), kNightlyBudget);
}

TEST(DporClassicNightly, RefcountProtocol) {
  // A thread put to sleep after a failed compare-exchange sleeps as the read it was: other
  // threads' reads of the count leave it asleep (before that: 17,798 executions for the 13,382
  // traces of (3, 1); 20,215 before a failed compare-exchange counted as a read at all).
  for (auto [users, ops] : {std::pair{2, 2}, {3, 1}}) {
    const std::string name = fmt::format("refcount({}, {})", users, ops);
    const Counts c = measure(name, refcount_protocol(users, ops));
    EXPECT_EQ(c.traces, users == 2 ? 5918u : 13382u) << name;
    expect_optimal(name, c);
  }
}

TEST(DporClassicNightly, Indexer) {
  for (int n = 14; n <= 16; ++n)
    expect_dpor_executions(label("indexer", n), indexer(n), indexer_traces(n), kNightlyBudget);
}

TEST(DporClassicNightly, Filesystem) {
  for (int n : {18, 19, 22})
    expect_dpor_executions(label("filesystem", n), filesystem(n), filesystem_traces(n),
                           kNightlyBudget);
}

}  // namespace

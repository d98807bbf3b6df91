// dpor over parallel workers (--jobs): the workers share one search tree (strategy/dpor.cpp,
// SharedDpor) whose units are committed in the order of a sequential search, so a run with N
// workers must be the run with one worker, execution for execution: the same counted and
// pruned executions, the same steps, the same findings at the same execution numbers with the
// same schedules, whatever the number of workers and wherever the top of the tree is cut.
// (Before the shared tree, --jobs 2 on lastzero(12) ran 367,167 sleep-set-blocked executions
// besides its 15,360 traces: 18x the CPU of one worker.)
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "test_support.hpp"

namespace {

using Body = std::function<void()>;

hc::ExploreOptions options(const std::string& strategy, bool stop_at_first) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.strategy = strategy;
  o.stop_at_first = stop_at_first;
  o.check_determinism = false;
  o.coverage = true;
  return o;
}

/// Everything a run says that must not depend on how many workers ran it.
std::string summary(const hc::Result& r) {
  std::string s = fmt::format("executions {}, pruned {}, steps {}, exhausted {}\n",
                              r.stats.executions, r.stats.pruned, r.stats.steps, r.stats.exhausted);
  for (const hc::Finding& f : r.findings) {
    s += fmt::format("  {} at execution {}: {}\n    schedule {}\n", f.signature, f.execution,
                     f.message, hc::format_choices(f.schedule));
  }
  // Coverage counts the executions the run counts: not those of units run again.
  s += fmt::format("  both orders: {}\n  one order: {}\n", fmt::join(r.covered_pairs, ", "),
                   fmt::join(r.one_order_pairs, ", "));
  return s;
}

/// Two threads that increment a plain counter without a lock: a data race, and a lost update
/// that an invariant at the end catches.
void racy_counter() {
  hc::var<int> counter{0, "counter"};
  hc::thread a("A", [&] { counter.write(counter.read() + 1); });
  hc::thread b("B", [&] { counter.write(counter.read() + 1); });
  a.join();
  b.join();
}

/// A compare-exchange that fails once A's store is in, a reader and another writer of the same
/// atomic. After A, B (failed: a read) races with D's store, and the sequence that reverses
/// them starts with C's load: C's load must not wake B asleep (B still fails), whichever worker
/// explored B's branch.
void failed_cas_and_a_reader() {
  hc::atomic<int> x{0, "x"};
  hc::thread a("A", [&] { x.store(1); });
  hc::thread b("B", [&] {
    int expected = 0;
    (void)x.compare_exchange_strong(expected, 2);
  });
  hc::thread c("C", [&] { (void)x.load(); });
  hc::thread d("D", [&] { x.store(3); });
  a.join();
  b.join();
  c.join();
  d.join();
}

/// Three threads on one atomic and a mutex, with a value choice in one of them: choices make
/// the decisions below them branch on every thread (dpor.cpp), locks make races that cannot be
/// reversed directly.
void choices_and_locks() {
  hc::atomic<int> x{0, "x"};
  hc::mutex m{"m"};
  std::vector<hc::thread> ts;
  ts.emplace_back("chooser", [&] {
    const std::uint32_t v = hc::choose(2, "v");
    x.store(static_cast<int>(v) + 1);
    m.lock();
    x.fetch_add(1);
    m.unlock();
  });
  for (int k = 0; k < 2; ++k) {
    ts.emplace_back("worker" + std::to_string(k), [&] {
      m.lock();
      (void)x.load();
      m.unlock();
      x.fetch_add(2);
    });
  }
  for (hc::thread& t : ts)
    t.join();
}

struct Subject {
  std::string name;
  Body body;
};

std::vector<Subject> subjects() {
  return {
      {"lastzero(5)", hc::test::lastzero(5)},
      {"three threads of three steps", hc::test::threads_with_steps(3, 3)},
      {"racy counter", racy_counter},
      {"lost update", hc::test::lost_update},
      {"abba deadlock", hc::test::abba_deadlock},
      {"choices and locks", choices_and_locks},
      // Failed compare-exchanges asleep: a unit must know what the top's threads ran as.
      {"failed compare-exchange and a reader", failed_cas_and_a_reader},
      {"refcount(2, 1)", hc::test::refcount_protocol(2, 1)},
      {"refcount(1, 2)", hc::test::refcount_protocol(1, 2)},
  };
}

class DporParallel : public testing::TestWithParam<std::string> {};

TEST_P(DporParallel, AnyNumberOfWorkersRunsTheExecutionsOfOneWorker) {
  for (const Subject& s : subjects()) {
    for (bool stop_at_first : {false, true}) {
      const hc::Result one = hc::explore(s.body, options(GetParam(), stop_at_first));
      const std::string expected = summary(one);
      for (std::uint32_t split_depth : {1u, 2u, 3u, 6u}) {
        for (int jobs : {2, 3}) {
          // Units that grow past unit_size executions are split further (3: almost all).
          for (std::uint64_t unit_size : {256u, 3u}) {
            hc::ExploreOptions o = options(GetParam(), stop_at_first);
            o.jobs = jobs;
            o.split_depth = split_depth;
            o.unit_size = unit_size;
            const hc::Result many = hc::explore(s.body, o);
            EXPECT_EQ(summary(many), expected)
                << s.name << ", " << jobs << " workers, split depth " << split_depth
                << ", unit size " << unit_size
                << (stop_at_first ? ", stop at first" : ", keep going");
          }
        }
      }
    }
  }
}

TEST_P(DporParallel, TheWorkIsSharedInUnits) {
  hc::ExploreOptions o = options(GetParam(), false);
  o.jobs = 2;
  o.split_depth = 6;
  const hc::Result r = hc::explore(hc::test::lastzero(6), o);
  EXPECT_EQ(r.stats.executions, 144u);  // (6 + 3) * 2^4 traces
  EXPECT_GT(r.stats.units, 10u);
}

// A unit that reaches unit_size executions hands the decisions down to its shallowest one with
// branches left to the top, for other workers to take, and goes on below them: however shallow
// the cut, the big subtrees are shared, and the totals stay exact.
TEST_P(DporParallel, BigUnitsAreSplitWhereTheyReachTheUnitSize) {
  hc::ExploreOptions o = options(GetParam(), false);
  o.jobs = 2;
  o.split_depth = 1;
  o.unit_size = 1'000'000'000'000;  // no limit: the units below the one decision of the top
  const hc::Result whole = hc::explore(hc::test::lastzero(8), o);
  o.unit_size = 16;
  const hc::Result split = hc::explore(hc::test::lastzero(8), o);
  EXPECT_EQ(whole.stats.executions, 704u);  // (8 + 3) * 2^6 traces
  EXPECT_EQ(split.stats.executions, 704u);
  EXPECT_GE(split.stats.units, 4 * whole.stats.units)
      << "unit size 16: " << split.stats.units << " units; unlimited: " << whole.stats.units;
}

// Workers race for units; the result must not depend on who won.
TEST_P(DporParallel, RepeatedRunsAreIdentical) {
  hc::ExploreOptions o = options(GetParam(), false);
  o.jobs = 2;
  o.split_depth = 4;
  const std::string first = summary(hc::explore(hc::test::lastzero(6), o));
  for (int k = 0; k < 5; ++k)
    EXPECT_EQ(summary(hc::explore(hc::test::lastzero(6), o)), first) << "run " << k + 2;
}

INSTANTIATE_TEST_SUITE_P(Strategies, DporParallel, testing::Values("dpor", "dpor-source"),
                         [](const testing::TestParamInfo<std::string>& param) {
                           return param.param == "dpor" ? std::string("dpor")
                                                        : std::string("dpor_source");
                         });

// Optimal-DPOR stays optimal when shared: lastzero(10) has (10 + 3) * 2^8 = 3,328 traces, and
// no execution is cut short by a sleep set, with 2 workers as with one.
TEST(DporParallel, SharedOptimalDporRunsNoSleepSetBlockedExecution) {
  hc::ExploreOptions o = options("dpor", false);
  o.jobs = 2;
  o.split_depth = 6;
  const hc::Result r = hc::explore(hc::test::lastzero(10), o);
  EXPECT_EQ(r.stats.executions, 3328u);
  EXPECT_EQ(r.stats.pruned, 0u);
  EXPECT_TRUE(r.stats.exhausted);
}

// A budget ends a shared search before its end: not exhausted, and every worker returns.
TEST(DporParallel, ABudgetEndsASharedSearchEarly) {
  hc::ExploreOptions o = options("dpor", false);
  o.jobs = 2;
  o.split_depth = 4;
  o.max_executions = 100;
  const hc::Result r = hc::explore(hc::test::lastzero(8), o);
  EXPECT_FALSE(r.stats.exhausted);
  // The budget counts every execution as it runs, those of a unit discarded later included
  // (the total leaves them out and reports them as run again); each worker checks it before
  // an execution, so two overshoot it by one at most.
  EXPECT_GE(r.stats.executions + r.stats.rerun_executions, 100u);
  EXPECT_LE(r.stats.executions, 101u);
  EXPECT_LT(r.stats.executions, 704u);  // (8 + 3) * 2^6 traces in all
}

// An interrupt (SIGINT, SIGTERM: here the test hook) ends a shared search too: workers waiting
// for a unit are woken, and the result says interrupted, not exhausted.
TEST(DporParallel, AnInterruptEndsASharedSearch) {
  hc::ExploreOptions o = options("dpor", false);
  o.jobs = 2;
  o.split_depth = 2;
  o.unit_size = 8;
  o.interrupt_after_executions = 50;
  const hc::Result r = hc::explore(hc::test::lastzero(8), o);
  EXPECT_TRUE(r.stats.interrupted);
  EXPECT_FALSE(r.stats.exhausted);
  EXPECT_LT(r.stats.executions, 704u);
}

}  // namespace

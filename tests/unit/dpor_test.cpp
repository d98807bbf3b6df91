// dpor: explores one schedule per class of equivalent interleavings where it can, and never
// misses an outcome `dfs` reaches (differential testing on generated programs).
#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

hc::ExploreOptions dpor() {
  hc::ExploreOptions o;
  o.strategy = "dpor";
  o.max_executions = 0;
  o.stop_at_first = false;
  return o;
}

// Source-DPOR starts explorations that sleep sets then cut short; the optimal variant's wakeup
// sequences never do (on programs without value choices and blocking). lastzero(4) (Abdulla et
// al., POPL 2014) has 28 traces.
TEST(Dpor, OptimalPrunesNoExecutionWhereSourceDporDoes) {
  const auto lastzero = hc::test::lastzero(4);
  hc::ExploreOptions source = dpor();
  source.strategy = "dpor-source";
  const hc::Result s = hc::explore(lastzero, source);
  const hc::Result o = hc::explore(lastzero, dpor());
  EXPECT_EQ(o.stats.executions, 28u);
  EXPECT_EQ(s.stats.executions, 28u);
  EXPECT_EQ(o.stats.pruned, 0u);
  EXPECT_GT(s.stats.pruned, 0u);
}

// Every step of both threads touches one atomic: every interleaving is its own class.
TEST(Dpor, AllDependentStepsExploreEveryInterleaving) {
  EXPECT_EQ(hc::explore(hc::test::threads_with_steps(2, 2), dpor()).stats.executions, 6u);
  EXPECT_EQ(hc::explore(hc::test::threads_with_steps(2, 3), dpor()).stats.executions, 20u);
}

// Threads on separate objects commute: one execution stands for all 20 (or 90) interleavings.
TEST(Dpor, IndependentStepsExploreOneSchedule) {
  auto separate = [](int threads, int k) {
    return [threads, k] {
      std::vector<std::unique_ptr<hc::atomic<int>>> xs;
      for (int t = 0; t < threads; ++t)
        xs.push_back(std::make_unique<hc::atomic<int>>(0));
      std::vector<hc::thread> ts;
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back("T" + std::to_string(t), [&xs, t, k] {
          for (int i = 0; i < k; ++i)
            xs[t]->fetch_add(1);
        });
      }
      for (hc::thread& t : ts)
        t.join();
    };
  };
  const hc::Result two = hc::explore(separate(2, 3), dpor());
  EXPECT_EQ(two.stats.executions, 1u);
  EXPECT_TRUE(two.stats.exhausted);
  EXPECT_EQ(hc::explore(separate(3, 2), dpor()).stats.executions, 1u);
}

/// A small generated program: 2–3 threads, each a few operations on two atomics, a plain
/// variable under a lock, and a value choice; the outcome is the final values.
struct Program {
  struct Op {
    int kind;  // 0 load x, 1 store x, 2 fetch_add y, 3 cas x, 4 locked var update, 5 choose
    int value;
  };
  std::vector<std::vector<Op>> threads;
};

Program generate(std::uint64_t seed) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&s](int n) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<int>(s % static_cast<std::uint64_t>(n));
  };
  Program p;
  const int threads = 2 + next(2);
  for (int t = 0; t < threads; ++t) {
    std::vector<Program::Op> ops;
    const int n = 1 + next(3);
    for (int i = 0; i < n; ++i)
      ops.push_back({next(6), 1 + next(3)});
    p.threads.push_back(ops);
  }
  return p;
}

std::set<std::string> outcomes(const Program& p, const std::string& strategy,
                               std::uint64_t* executions) {
  std::set<std::string> seen;
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = 0;
  o.stop_at_first = false;
  o.check_determinism = false;
  const hc::Result r = hc::explore(
      [&] {
        hc::atomic<int> x{0, "x"};
        hc::atomic<int> y{0, "y"};
        hc::mutex m("m");
        hc::var<int> v{0, "v"};
        int seen_x = 0;
        std::vector<hc::thread> ts;
        for (std::size_t t = 0; t < p.threads.size(); ++t) {
          ts.emplace_back("T" + std::to_string(t), [&, t] {
            for (const Program::Op& op : p.threads[t]) {
              switch (op.kind) {
                case 0:
                  seen_x += x.load();
                  break;
                case 1:
                  x.store(op.value);
                  break;
                case 2:
                  y.fetch_add(op.value);
                  break;
                case 3: {
                  int expected = 0;
                  x.compare_exchange_strong(expected, op.value);
                  break;
                }
                case 4:
                  m.lock();
                  v.write(v.read() + op.value);
                  m.unlock();
                  break;
                default:
                  y.fetch_add(static_cast<int>(hc::choose(2, "bit")));
                  break;
              }
            }
          });
        }
        for (hc::thread& t : ts)
          t.join();
        seen.insert(fmt::format("x={} y={} v={} seen={}", x.peek(), y.peek(), v.peek(), seen_x));
      },
      o);
  for (const hc::Finding& f : r.findings)
    seen.insert(std::string(hc::finding_kind_name(f.kind)));
  EXPECT_TRUE(r.stats.exhausted);
  *executions += r.stats.executions;
  return seen;
}

TEST(Dpor, ReachesEveryOutcomeDfsReachesOnGeneratedPrograms) {
  std::uint64_t dfs_executions = 0;
  std::uint64_t dpor_executions = 0;
  std::uint64_t source_executions = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    const Program p = generate(seed);
    const auto expected = outcomes(p, "dfs", &dfs_executions);
    const auto got = outcomes(p, "dpor", &dpor_executions);
    ASSERT_EQ(got, expected) << "program " << seed << " differs";
    ASSERT_EQ(outcomes(p, "dpor-source", &source_executions), expected)
        << "program " << seed << " differs under dpor-source";
  }
  // Source-DPOR and Optimal-DPOR complete the same executions (one per trace of their
  // dependence); they differ only in the ones sleep sets cut short.
  EXPECT_EQ(source_executions, dpor_executions);
  // And it is a reduction: far fewer executions for the same outcomes.
  EXPECT_LT(dpor_executions * 2, dfs_executions)
      << "dfs " << dfs_executions << ", dpor " << dpor_executions;
}

}  // namespace

// test_support.hpp — small helpers shared by the engine's unit tests.
#pragma once

#include <functional>
#include <string>

#include "hc/hc.hpp"

namespace hc::test {

/// Exhaustive dfs with no budget: the whole search space.
inline ExploreOptions exhaustive() {
  ExploreOptions o;
  o.strategy = "dfs";
  o.max_executions = 0;
  return o;
}

inline ExploreOptions random_runs(std::uint64_t executions, std::uint64_t seed = 1) {
  ExploreOptions o;
  o.strategy = "random";
  o.seed = seed;
  o.max_executions = executions;
  return o;
}

/// Two threads ... `k` atomic steps each on one atomic, joined by main.
inline std::function<void()> threads_with_steps(int threads, int k) {
  return [threads, k] {
    hc::atomic<int> x{0, "x"};
    std::vector<hc::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back("T" + std::to_string(t + 1), [&x, k] {
        for (int i = 0; i < k; ++i)
          x.fetch_add(1);
      });
    }
    for (hc::thread& t : ts)
      t.join();
  };
}

/// A hand-rolled increment (load, then store) from two threads: loses an update on 4 of its
/// 6 interleavings.
inline void lost_update() {
  hc::atomic<int> counter{0, "counter"};
  auto bump = [&] { counter.store(counter.load() + 1); };
  hc::thread a("a", bump);
  hc::thread b("b", bump);
  a.join();
  b.join();
  HC_CHECK(counter.peek() == 2, "lost update: {}", counter.peek());
}

}  // namespace hc::test

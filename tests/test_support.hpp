// test_support.hpp — small helpers shared by the engine's unit tests.
#pragma once

#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <set>
#include <stdexcept>
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

/// What a body reaches under exhaustive dfs and under exhaustive dpor: each run's result and
/// the outcomes the body recorded (it inserts what each execution ends with into the set it is
/// given). A model's footprints are checked by comparing the two outcome sets.
struct DfsAndDpor {
  Result dfs;
  Result dpor;
  std::set<std::string> dfs_outcomes;
  std::set<std::string> dpor_outcomes;
};

inline DfsAndDpor explore_dfs_and_dpor(const std::function<void(std::set<std::string>&)>& body,
                                       ExploreOptions options = exhaustive()) {
  DfsAndDpor r;
  options.strategy = "dfs";
  r.dfs = explore([&] { body(r.dfs_outcomes); }, options);
  options.strategy = "dpor";
  r.dpor = explore([&] { body(r.dpor_outcomes); }, options);
  return r;
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

/// Two threads take mutexes A and B in opposite orders: the ABBA deadlock.
inline void abba_deadlock() {
  hc::mutex a("A");
  hc::mutex b("B");
  hc::thread t1("one", [&] {
    a.lock();
    b.lock();
    b.unlock();
    a.unlock();
  });
  hc::thread t2("two", [&] {
    b.lock();
    a.lock();
    a.unlock();
    b.unlock();
  });
  t1.join();
  t2.join();
}

/// Two spin-waits that wait for each other: both yield, nobody ever writes (a livelock).
inline void mutual_spin_wait() {
  hc::atomic<bool> a_ready{false, "a ready"};
  hc::atomic<bool> b_ready{false, "b ready"};
  hc::thread a("a", [&] {
    while (!b_ready.load())
      hc::this_thread::yield();
    a_ready.store(true);
  });
  hc::thread b("b", [&] {
    while (!a_ready.load())
      hc::this_thread::yield();
    b_ready.store(true);
  });
  a.join();
  b.join();
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// lastzero(n) (Abdulla et al., "Optimal dynamic partial order reduction", POPL 2014): a
/// scanner reads array[n], array[n-1], ... down to the first zero while writer j sets
/// array[j] = array[j-1] + 1. (n + 3) * 2^(n-2) Mazurkiewicz traces for n >= 2.
inline std::function<void()> lastzero(int n) {
  return [n] {
    std::deque<hc::atomic<int>> array;
    for (int i = 0; i <= n; ++i)
      array.emplace_back(0, "array");
    std::vector<hc::thread> ts;
    ts.emplace_back("scanner", [&array, n] {
      for (int i = n; array[static_cast<std::size_t>(i)].load() != 0; --i) {
      }
    });
    for (int j = 1; j <= n; ++j) {
      ts.emplace_back("writer" + std::to_string(j), [&array, j] {
        const auto k = static_cast<std::size_t>(j);
        array[k].store(array[k - 1].load() + 1);
      });
    }
    for (hc::thread& t : ts)
      t.join();
  };
}

/// SafeHandle's reference count as a state word: `users` threads each do `ops` times
/// TryAddRef (a load, then a compare-exchange loop that increments while the count is above
/// zero; a thread that sees zero gives up that round), a use of the handle (a load), and
/// Release (fetch_sub; whoever drops the last reference closes the handle: a store). One
/// disposer drops the owner's reference. A failed compare-exchange only reads
/// (strategy/dependence.hpp). Mazurkiewicz traces for (users, ops) = (1, 1), (2, 1), (1, 2),
/// (2, 2), (3, 1): 4, 88, 7, 5,918, 13,382.
inline std::function<void()> refcount_protocol(int users, int ops) {
  return [users, ops] {
    hc::atomic<int> refs{1, "refs"};
    hc::atomic<int> handle{1, "handle"};  // 1 open, 0 closed
    auto release = [&refs, &handle] {
      if (refs.fetch_sub(1) == 1) handle.store(0);
    };
    std::vector<hc::thread> ts;
    ts.emplace_back("T0", [&release] { release(); });  // the disposer
    for (int k = 1; k <= users; ++k) {
      ts.emplace_back("T" + std::to_string(k), [&refs, &handle, &release, ops] {
        for (int i = 0; i < ops; ++i) {
          int seen = refs.load();
          bool added = false;
          while (seen > 0 && !added)
            added = refs.compare_exchange_strong(seen, seen + 1);
          if (!added) continue;
          (void)handle.load();
          release();
        }
      });
    }
    for (hc::thread& t : ts)
      t.join();
  };
}

/// A fresh directory under the system's temporary directory ("<prefix>-XXXXXX"), removed with
/// everything in it at the end of the scope.
struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const char* prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// The stable names of the kinds of a result's findings.
inline std::set<std::string> finding_kinds(const Result& r) {
  std::set<std::string> kinds;
  for (const Finding& f : r.findings)
    kinds.insert(std::string(finding_kind_name(f.kind)));
  return kinds;
}

}  // namespace hc::test

/// The exploration `result` found exactly one finding, of `expected_kind`, whose message contains
/// `expected_text` (a failure prints the message). Stops the test if the count is wrong.
#define HC_EXPECT_ONLY_FINDING(result, expected_kind, expected_text)               \
  do {                                                                             \
    ASSERT_EQ((result).findings.size(), 1u);                                       \
    EXPECT_EQ((result).findings[0].kind, expected_kind);                           \
    EXPECT_TRUE(::hc::test::contains((result).findings[0].message, expected_text)) \
        << (result).findings[0].message;                                           \
  } while (false)

/// A DfsAndDpor of one generated program (the models' differential tests): both searches
/// exhausted it and reached the same outcomes and the same finding kinds, and dfs met no
/// internal error. `program` names it in a failure.
#define HC_EXPECT_DPOR_AGREES_WITH_DFS(r, program)                                     \
  do {                                                                                 \
    ASSERT_TRUE((r).dfs.stats.exhausted && (r).dpor.stats.exhausted) << (program);     \
    EXPECT_EQ((r).dfs_outcomes, (r).dpor_outcomes) << (program);                       \
    for (const ::hc::Finding& f : (r).dfs.findings)                                    \
      EXPECT_NE(f.kind, ::hc::FindingKind::internal_error) << f.message;               \
    EXPECT_EQ(::hc::test::finding_kinds((r).dfs), ::hc::test::finding_kinds((r).dpor)) \
        << (program);                                                                  \
  } while (false)

/// A DfsAndDpor (explore_dfs_and_dpor) that both searches explored clean and exhaustively, with
/// the same outcomes: the clean counterpart of a model's finding, and its footprints' check.
#define HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r)                                    \
  do {                                                                           \
    EXPECT_TRUE((r).dfs.findings.empty()) << (r).dfs.findings.front().message;   \
    EXPECT_TRUE((r).dpor.findings.empty()) << (r).dpor.findings.front().message; \
    EXPECT_TRUE((r).dfs.stats.exhausted);                                        \
    EXPECT_TRUE((r).dpor.stats.exhausted);                                       \
    EXPECT_EQ((r).dfs_outcomes, (r).dpor_outcomes);                              \
  } while (false)

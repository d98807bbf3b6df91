// dpor on programs over the models (models/): footprints let dpor reduce them, and it must
// still reach every outcome dfs reaches.
//
//   FinalizerWaitsForAnotherThread  the reproducer of a dpor internal error ("picked thread 0,
//                                   which is not enabled"): a finalizer that posts work to a
//                                   worker and waits on a condition variable for it, while a
//                                   second thread also calls GC.Collect.
//   IndependentSafeHandles          3 threads, each DangerousAddRef / write / DangerousRelease
//                                   on a SafeHandle of its own (one table): one trace.
//   OwnThenSharedSafeHandle         2 threads, each the same bracket on its own SafeHandle and
//                                   then on one shared SafeHandle: dpor explores one execution
//                                   per trace, the traces counted by the tests' own counter
//                                   (mazurkiewicz.hpp) over every dfs execution.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/safe_handle.hpp"
#include "mazurkiewicz.hpp"
#include "test_support.hpp"

namespace {

namespace hm = hc::models;

hc::ExploreOptions exhaustive(const char* strategy) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = 0;
  o.stop_at_first = false;
  return o;
}

std::set<std::string> kinds(const hc::Result& r) {
  std::set<std::string> out;
  for (const hc::Finding& f : r.findings)
    out.insert(std::string(hc::finding_kind_name(f.kind)));
  return out;
}

/// A finalizer that hands its cleanup to a worker thread and waits for it on a condition
/// variable; main drops the last reference and two threads collect.
void finalizer_waits_for_another_thread() {
  hm::Gc gc;
  hc::mutex m{"handoff"};
  hc::condition_variable cv{"handoff"};
  hc::var<int> posted{0, "posted"};
  hc::var<int> done{0, "done"};
  struct Poster : hm::ManagedObject {
    Poster(hm::Gc& gc, hc::mutex& m, hc::condition_variable& cv, hc::var<int>& posted,
           hc::var<int>& done)
        : ManagedObject(gc, "Poster", "p", true), m_(m), cv_(cv), posted_(posted), done_(done) {}
    void finalize() override {
      std::unique_lock<hc::mutex> lock(m_);
      posted_ = 1;
      cv_.notify_all();
      while (done_ == 0)
        cv_.wait(lock);
    }
    hc::mutex& m_;
    hc::condition_variable& cv_;
    hc::var<int>& posted_;
    hc::var<int>& done_;
  };
  hm::Ref<Poster> ref = gc.allocate<Poster>(gc, m, cv, posted, done);
  hc::thread worker("worker", [&] {
    std::unique_lock<hc::mutex> lock(m);
    while (posted == 0)
      cv.wait(lock);
    done = 1;
    cv.notify_all();
  });
  hc::thread collector("collector", [&] { gc.collect(); });
  ref.reset();
  gc.collect();
  collector.join();
  worker.join();
}

TEST(DporModels, FinalizerWaitsForAnotherThread) {
  const hc::Result dfs = hc::explore(finalizer_waits_for_another_thread, exhaustive("dfs"));
  const hc::Result dpor = hc::explore(finalizer_waits_for_another_thread, exhaustive("dpor"));
  ASSERT_TRUE(dfs.stats.exhausted);
  ASSERT_TRUE(dpor.stats.exhausted);
  EXPECT_EQ(kinds(dpor), kinds(dfs));
  EXPECT_EQ(kinds(dpor).count("internal-error"), 0u)
      << (dpor.findings.empty() ? std::string() : dpor.findings.front().message);
  EXPECT_LE(dpor.stats.executions, dfs.stats.executions);
  std::printf("[ models   ] finalizer waits for another thread: dfs %llu, dpor %llu\n",
              static_cast<unsigned long long>(dfs.stats.executions),
              static_cast<unsigned long long>(dpor.stats.executions));
}

/// DangerousAddRef, a write through the raw handle, DangerousRelease: the P/Invoke bracket.
void bracket(hm::HandleTable& table, hm::SafeHandle& h) {
  bool added = false;
  h.DangerousAddRef(added);
  table.write(h.DangerousGetHandle());
  if (added) h.DangerousRelease();
}

/// `threads` threads, each bracketing a SafeHandle of its own; with `shared`, then one more
/// that all of them bracket. Disposed by main after the joins.
std::function<void()> safe_handles(int threads, bool shared) {
  return [threads, shared] {
    hm::Gc gc;
    hm::HandleTable table;
    std::deque<hm::SafeHandle> handles;
    for (int k = 0; k <= threads; ++k) {
      if (k == threads && !shared) break;
      const std::string name = k == threads ? std::string("shared") : "own" + std::to_string(k);
      hm::SafeHandle& h = handles.emplace_back(
          gc, table, hm::SafeHandleOptions{.type_name = "SafeFileHandle", .name = name});
      h.SetHandle(table.create(hm::ObjectType::file, name, h.label()));
    }
    std::vector<hc::thread> ts;
    for (int k = 0; k < threads; ++k) {
      ts.emplace_back("T" + std::to_string(k), [&, k] {
        bracket(table, handles[static_cast<std::size_t>(k)]);
        if (shared) bracket(table, handles.back());
      });
    }
    for (hc::thread& t : ts)
      t.join();
    for (hm::SafeHandle& h : handles)
      h.Dispose();
  };
}

struct TraceCounts {
  std::uint64_t traces = 0;
  std::uint64_t dfs = 0;
  std::uint64_t dpor = 0;
};

void print(const char* what, const TraceCounts& c) {
  std::printf("[ models   ] %s: traces %llu, dfs %llu, dpor %llu\n", what,
              static_cast<unsigned long long>(c.traces), static_cast<unsigned long long>(c.dfs),
              static_cast<unsigned long long>(c.dpor));
  std::fflush(stdout);
}

TraceCounts count_traces(const std::function<void()>& body) {
  std::set<std::string> traces;
  hc::ExploreOptions dfs = exhaustive("dfs");
  dfs.strategy_factory = [&traces] { return std::make_unique<hc::test::TraceCollector>(&traces); };
  const hc::Result counted = hc::explore(body, dfs);
  EXPECT_TRUE(counted.stats.exhausted);
  EXPECT_TRUE(counted.findings.empty()) << counted.findings.front().message;
  EXPECT_EQ(traces.count(hc::test::kCyclicHappensBefore), 0u);
  const hc::Result dpor = hc::explore(body, exhaustive("dpor"));
  EXPECT_TRUE(dpor.stats.exhausted);
  EXPECT_TRUE(dpor.findings.empty()) << dpor.findings.front().message;
  return {traces.size(), counted.stats.executions, dpor.stats.executions};
}

TEST(DporModels, IndependentSafeHandles) {
  const TraceCounts two = count_traces(safe_handles(2, false));
  print("2 independent SafeHandles", two);
  EXPECT_EQ(two.traces, 1u);
  EXPECT_EQ(two.dpor, 1u);
  // Three: dfs is too long for the default run; no two steps of different threads conflict
  // (their footprints share no object), so there is one trace.
  const hc::Result three = hc::explore(safe_handles(3, false), exhaustive("dpor"));
  EXPECT_TRUE(three.stats.exhausted);
  EXPECT_TRUE(three.findings.empty()) << three.findings.front().message;
  EXPECT_EQ(three.stats.executions, 1u);
}

// dfs runs millions of interleavings here: nightly.
TEST(DporModelsNightly, OwnThenSharedSafeHandle) {
  const TraceCounts c = count_traces(safe_handles(2, true));
  print("own then shared SafeHandle", c);
  EXPECT_GT(c.traces, 1u);
  EXPECT_EQ(c.dpor, c.traces);
}

}  // namespace

// dpor on programs over the models (models/): footprints let dpor reduce them, and it must
// still reach every outcome dfs reaches.
//
//   FinalizerWaitsForAnotherThread  the reproducer of a dpor internal error ("picked thread 0,
//                                   which is not enabled"): a finalizer that posts work to a
//                                   worker and waits on a condition variable for it, while a
//                                   second thread also calls GC.Collect.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>

#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
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

}  // namespace

// Fibers: stack reuse across executions (overflows: faults_test.cpp).
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace {

// Stacks are pooled: thousands of executions with several threads run on the same few stacks
// (a leak of one mapping per execution would exhaust the address space long before this ends).
TEST(Fiber, StacksAreReusedAcrossManyExecutions) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.stack_size = 8 * 1024 * 1024;  // 8 MiB each: 90 executions x 4 threads would be 2.8 GiB
  const hc::Result r = hc::explore(hc::test::threads_with_steps(3, 2), o);
  EXPECT_EQ(r.stats.executions, 90u);
}

// A deadlocked execution leaves threads suspended in lock(), under a lock_guard. They are
// unwound when the execution is torn down (teardown_test.cpp), and the next executions run
// normally on the same fibers.
TEST(Fiber, ExecutionsAfterADeadlockRunNormally) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.stop_at_first = false;
  const hc::Result r = hc::explore(
      [] {
        hc::mutex a("A");
        hc::mutex b("B");
        hc::thread t1("one", [&] {
          std::lock_guard<hc::mutex> ga(a);
          std::lock_guard<hc::mutex> gb(b);
        });
        hc::thread t2("two", [&] {
          std::lock_guard<hc::mutex> gb(b);
          std::lock_guard<hc::mutex> ga(a);
        });
        t1.join();
        t2.join();
      },
      o);
  ASSERT_EQ(r.findings.size(), 1u);  // one distinct deadlock, found on several schedules
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::deadlock);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 2u);
}

}  // namespace

// Fibers: stack reuse across executions and explorations (overflows: faults_test.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fiber/stack_pool.hpp"
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

using hc::detail::StackPool;

// An exploration gives its stacks back when it ends, and the next one of the same stack size
// takes them: a run of many short explorations (run --all, every finding's replay) maps and
// touches its stacks once.
TEST(StackPool, TheNextExplorationTakesThePoolTheLastGaveBack) {
  const std::size_t size = 3 * 64 * 1024 + 4321;  // a shape no other test uses
  StackPool* first = nullptr;
  {
    StackPool::Lease pool = StackPool::take(size, true);
    first = pool.get();
    const boost::context::stack_context stack = pool->stack_for(3);
    std::memset(static_cast<char*>(stack.sp) - 4096, 0x5A, 4096);  // usable below its top
  }
  StackPool::Lease again = StackPool::take(size, true);
  EXPECT_EQ(again.get(), first);
  const boost::context::stack_context stack = again->stack_for(3);
  EXPECT_EQ(static_cast<unsigned char>(static_cast<char*>(stack.sp)[-1]), 0x5A)
      << "the stacks of a pool taken again are the ones given back, mapped already";
  StackPool::Lease other = StackPool::take(size, true);  // the spare is taken: a new pool
  EXPECT_NE(other.get(), first);
  StackPool::Lease unguarded = StackPool::take(size, false);  // another shape
  EXPECT_NE(unguarded.get(), first);
  EXPECT_EQ(unguarded->stack_size(), again->stack_size());
}

TEST(StackPool, KeepsAFewSpares) {
  const std::size_t size = 5 * 64 * 1024 + 4321;
  std::vector<StackPool::Lease> leases;
  for (std::size_t i = 0; i < StackPool::kSparePools + 3; ++i)
    leases.push_back(StackPool::take(size, true));
  leases.clear();  // given back: kSparePools kept at most, the others freed
  EXPECT_EQ(StackPool::spare_count(), StackPool::kSparePools);
}

TEST(StackPool, ExplorationsOneAfterAnotherRunOnTheSparePools) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.stack_size = 7 * 64 * 1024 + 4321;  // a shape of its own
  const hc::Result r1 = hc::explore(hc::test::threads_with_steps(3, 2), o);
  EXPECT_EQ(r1.stats.executions, 90u);
  {
    // The pool the exploration gave back: its main thread's and its three threads' stacks are
    // mapped, a fifth thread's is not.
    const StackPool::Lease pool = StackPool::take(o.stack_size, o.guard_pages);
    EXPECT_TRUE(pool->mapped(0) && pool->mapped(1) && pool->mapped(2) && pool->mapped(3));
    EXPECT_FALSE(pool->mapped(4));
  }
  const std::size_t spares = StackPool::spare_count();
  const hc::Result r2 = hc::explore(hc::test::threads_with_steps(3, 2), o);
  EXPECT_EQ(r2.stats.executions, 90u);
  EXPECT_EQ(StackPool::spare_count(), spares) << "the second took the first's pool, gave it back";
  o.jobs = 2;  // a second worker takes a pool of its own, and gives it back too
  const hc::Result r3 = hc::explore(hc::test::threads_with_steps(3, 2), o);
  EXPECT_EQ(r3.stats.executions, 90u);
}

}  // namespace

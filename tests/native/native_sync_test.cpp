// native_sync_test.cpp — handlecheck::native's hidden synchronisation (native/src/sync.cpp):
// function-local statics (__cxa_guard_*), std::call_once (pthread_once), futex waits
// (std::atomic::wait/notify, std::latch, std::counting_semaphore, std::future), and shared_ptr's
// reference counts. Each clean scenario is explored by dfs to exhaustion with no finding; each
// mechanism also has a scenario whose bug (or whose clean verdict) depends on the mechanism
// really blocking or really ordering.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/single_threaded.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>

#include "hc/check.hpp"
#include "hc/explorer.hpp"
#include "hc/native.hpp"
#include "substrate.hpp"

namespace {

hc::Result explore(void (*body)(), const std::string& strategy = "dfs",
                   std::uint64_t max_executions = 20000) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = max_executions;
  o.os_threads = hc_test::os_threads_under_test();
  o.watchdog_seconds = 20;
  hc::Result r = hc::explore(hc::native::test_body(body), o);
  ::testing::Test::RecordProperty("executions", std::to_string(r.stats.executions));
  return r;
}

std::string line(int n) {
  return "native_sync_test.cpp:" + std::to_string(n);
}

std::string first_message(const hc::Result& r) {
  return r.findings.empty() ? std::string("(none)") : r.findings[0].message;
}

/// Explores `body` by dfs: no finding, every interleaving covered, more than `min` executions.
void expect_clean(void (*body)(), std::uint64_t more_than) {
  const hc::Result r = explore(body);
  EXPECT_FALSE(r.verdict().has_value()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted) << r.stats.executions << " executions";
  EXPECT_GT(r.stats.executions, more_than);
}

// --- function-local statics --------------------------------------------------------------------

int g_constructions = 0;      // reset by each body
std::atomic<int> g_progress;  // a scheduling point inside the constructor

struct Config {
  long value = 0;
  Config() {
    ++g_constructions;
    g_progress.store(1);  // the other thread may run here: it must wait for the construction
    value = 42;
  }
};

Config& config() {
  static Config c;  // guarded: __cxa_guard_acquire/release
  return c;
}

void two_threads_initialise_a_static() {
  g_constructions = 0;
  long seen = 0;
  std::thread t([&] { seen = config().value; });
  const long mine = config().value;
  t.join();
  HC_CHECK(mine == 42 && seen == 42, "saw a half-constructed static: {} and {}", mine, seen);
  HC_CHECK(g_constructions == 1, "the static was constructed {} times", g_constructions);
}

TEST(NativeSync, AFunctionLocalStaticIsConstructedOnceAndWaitedFor) {
  // Either thread may construct it, and the other may arrive while it is being constructed
  // (then it must wait, or it would construct it again or read value 0): more than the two
  // orders of the two calls. Each execution constructs it anew (the guard is reset between
  // executions), or g_constructions would be 0 after the first. Without the guard under the
  // engine, libstdc++'s real one would wait in a real futex for a thread on the same OS thread.
  expect_clean(&two_threads_initialise_a_static, 2u);
}

// The guard orders the static's construction before its uses (also on the compiler's inline fast
// path), not what the constructor reads elsewhere: that is still race-checked.
long g_outside = 0;
struct Publisher {
  long value;
  Publisher() : value(g_outside) {}
};
long publisher_value() {
  static Publisher p;
  return p.value;
}

void static_construction_races_with_a_plain_write() {
  g_outside = 0;
  std::thread t([] { g_outside = 1; });  // unordered with the constructor's read of it
  (void)publisher_value();
  t.join();
}

TEST(NativeSync, AStaticsConstructorIsStillRaceChecked) {
  // The guard orders the static's uses, not what its constructor touches elsewhere.
  const hc::Result r = explore(&static_construction_races_with_a_plain_write);
  ASSERT_EQ(r.verdict(), hc::FindingKind::data_race) << first_message(r);
}

// A constructor that throws leaves the static uninitialised (__cxa_guard_abort): the next
// thread constructs it.
int g_attempts = 0;
struct Flaky {
  int attempt;
  Flaky() : attempt(++g_attempts) {
    if (attempt == 1) throw std::runtime_error("first construction fails");
  }
};
int flaky_attempt() {
  static Flaky f;
  return f.attempt;
}

void a_static_whose_first_construction_throws() {
  g_attempts = 0;
  int seen = 0;
  std::thread t([&] {
    try {
      seen = flaky_attempt();
    } catch (const std::runtime_error&) {
      seen = -1;
    }
  });
  int mine = 0;
  try {
    mine = flaky_attempt();
  } catch (const std::runtime_error&) {
    mine = -1;
  }
  t.join();
  // One of the two threw (the first construction); the other constructed it the second time.
  HC_CHECK(mine + seen == 1 && g_attempts == 2, "mine {}, seen {}, attempts {}", mine, seen,
           g_attempts);
}

TEST(NativeSync, AStaticWhoseConstructorThrowsIsConstructedByTheNextThread) {
  expect_clean(&a_static_whose_first_construction_throws, 1u);
}

// --- std::call_once ----------------------------------------------------------------------------

int g_calls = 0;
long g_payload = 0;

void call_once_from_two_threads() {
  static std::once_flag flag;  // static storage: reset between executions
  g_calls = 0;
  g_payload = 0;
  auto run = [] {
    const pthread_t me = pthread_self();
    std::call_once(flag, [me] {
      // libstdc++ passes this closure through thread-local storage: the thread that runs it
      // must be the one that called.
      HC_CHECK(pthread_equal(me, pthread_self()) != 0, "ran another thread's call_once closure");
      ++g_calls;
      g_progress.store(1);  // a scheduling point inside the initialiser
      g_payload = 7;
    });
    HC_CHECK(g_payload == 7, "call_once returned before the initialiser finished: {}", g_payload);
  };
  std::thread t(run);
  run();
  t.join();
  HC_CHECK(g_calls == 1, "the initialiser ran {} times", g_calls);
}

void call_once_that_throws() {
  std::once_flag flag;  // on the stack: nothing to reset
  int attempts = 0;
  auto run = [&] {
    try {
      std::call_once(flag, [&] {
        if (++attempts == 1) throw std::runtime_error("first attempt fails");
      });
    } catch (const std::runtime_error&) {
      std::call_once(flag, [&] { ++attempts; });  // not done: runs again
    }
  };
  std::thread t(run);
  run();
  t.join();
  HC_CHECK(attempts == 2, "attempts: {}", attempts);
}

TEST(NativeSync, CallOnceRunsOnceAndOthersWait) {
  expect_clean(&call_once_from_two_threads, 2u);
}

TEST(NativeSync, CallOnceThatThrowsIsRunAgain) {
  expect_clean(&call_once_that_throws, 2u);
}

// --- futex waits: std::atomic::wait/notify -----------------------------------------------------

void wait_for_a_notification() {
  std::atomic<int> ready{0};
  long data = 0;
  std::thread t([&] {
    data = 5;
    ready.store(1);
    ready.notify_one();
  });
  ready.wait(0);
  HC_CHECK(data == 5, "data is {}", data);
  t.join();
}

TEST(NativeSync, AtomicWaitNotifyIsClean) {
  expect_clean(&wait_for_a_notification, 1u);
}

constexpr int kLostWaitLine = __LINE__ + 4;
void wait_nobody_ends() {
  std::atomic<int> ready{0};
  std::thread t([&] {
    ready.wait(0);  // the bug: nobody stores, nobody notifies
  });
  t.join();
}

TEST(NativeSync, AWaitNobodyWakesIsADeadlock) {
  // A deadlock only if wait() really blocks in the futex: a wait that returned at once would make
  // libstdc++ spin on the value (a livelock or the step bound).
  for (const char* strategy : {"dfs", "random"}) {
    const hc::Result r = explore(&wait_nobody_ends, strategy);
    ASSERT_EQ(r.verdict(), hc::FindingKind::deadlock) << strategy << ": " << first_message(r);
    EXPECT_NE(r.findings[0].message.find("waits for a notification"), std::string::npos)
        << r.findings[0].message;
    EXPECT_NE(r.findings[0].message.find(line(kLostWaitLine)), std::string::npos)
        << r.findings[0].message;
  }
}

// libstdc++ counts waiters in a process-wide pool; notify skips the futex when none wait. A
// waiter a deadlock abandoned must not stay counted: later executions (and replays in a fresh
// process) would notify differently.
std::atomic<int> g_word{0};

void wait_on_a_global_nobody_ends() {
  g_word.store(0);
  std::thread t([] { g_word.wait(0); });
  t.join();
}

void wait_on_a_global_and_notify() {
  g_word.store(0);
  std::thread t([] { g_word.wait(0); });
  g_word.store(1);
  g_word.notify_one();
  t.join();
}

TEST(NativeSync, AnAbandonedWaiterLeavesNoCountBehind) {
  const hc::Result before = explore(&wait_on_a_global_and_notify);
  EXPECT_FALSE(before.verdict().has_value()) << first_message(before);
  EXPECT_TRUE(before.stats.exhausted);
  const hc::Result deadlock = explore(&wait_on_a_global_nobody_ends);
  ASSERT_EQ(deadlock.verdict(), hc::FindingKind::deadlock) << first_message(deadlock);
  const hc::Result after = explore(&wait_on_a_global_and_notify);
  EXPECT_FALSE(after.verdict().has_value()) << first_message(after);
  EXPECT_EQ(after.stats.executions, before.stats.executions);
}

// --- std::latch, std::counting_semaphore ---------------------------------------------------------

void latch_handoff() {
  std::latch started(2);
  long a = 0;
  long b = 0;
  std::thread t([&] {
    a = 1;
    started.count_down();
  });
  b = 2;
  started.arrive_and_wait();  // until both have counted down: then t's write happened before
  HC_CHECK(a == 1 && b == 2, "a is {}, b is {}", a, b);
  t.join();
}

void semaphore_handoff() {
  std::binary_semaphore go(0);
  long data = 0;
  std::thread t([&] {
    go.acquire();  // blocks until main releases
    HC_CHECK(data == 2, "data is {}", data);
  });
  data = 2;
  go.release();
  t.join();
}

void semaphore_never_released() {
  std::counting_semaphore<2> slots(1);
  std::thread t([&] { slots.acquire(); });  // the second acquire finds none left
  slots.acquire();
  t.join();
}

TEST(NativeSync, LatchAndSemaphoreAreClean) {
  expect_clean(&latch_handoff, 1u);
  expect_clean(&semaphore_handoff, 1u);
}

TEST(NativeSync, ASemaphoreNobodyReleasesIsADeadlock) {
  const hc::Result r = explore(&semaphore_never_released);
  ASSERT_EQ(r.verdict(), hc::FindingKind::deadlock) << first_message(r);
}

// --- std::promise / std::future ----------------------------------------------------------------

void promise_future_handoff() {
  std::promise<std::string> p;
  std::future<std::string> f = p.get_future();
  std::thread t([&] { p.set_value("handed over"); });
  const std::string got = f.get();  // waits in libstdc++.so (futex through syscall)
  HC_CHECK(got == "handed over", "got '{}'", got);
  t.join();
}

void future_waits_for_a_join() {
  std::promise<int> p;
  std::future<int> f = p.get_future();
  std::thread t([&] { HC_CHECK(f.get() == 1, "got another value"); });
  t.join();  // the bug: the value is set after the join
  p.set_value(1);
}

TEST(NativeSync, PromiseFutureHandoffIsClean) {
  expect_clean(&promise_future_handoff, 1u);
}

TEST(NativeSync, AFutureNobodySetsIsADeadlock) {
  const hc::Result r = explore(&future_waits_for_a_join);
  ASSERT_EQ(r.verdict(), hc::FindingKind::deadlock) << first_message(r);
}

// --- shared_ptr reference counts ---------------------------------------------------------------

int g_deletes = 0;
struct Resource {
  long value = 3;
};

void share_and_drop() {
  g_deletes = 0;
  auto owner = std::shared_ptr<Resource>(new Resource, [](Resource* r) {
    ++g_deletes;
    r->value = 0;  // a race with the other owner's read unless its release is ordered before
    delete r;
  });
  HC_CHECK(__libc_single_threaded == 0, "glibc believes the process is single-threaded");
  std::thread t([copy = owner]() mutable {
    HC_CHECK(copy->value == 3, "value is {}", copy->value);
    std::shared_ptr<Resource> another = copy;  // a count incremented on this thread too
    copy.reset();
  });
  owner.reset();  // either thread may drop the last reference
  t.join();
  HC_CHECK(g_deletes == 1, "the deleter ran {} times", g_deletes);
}

TEST(NativeSync, SharedPtrCountsAreAtomicAndTheDeleterRunsOnce) {
  // Were __libc_single_threaded still 1, libstdc++ would count with plain adds: a data race.
  // No watchdog: its real thread would clear __libc_single_threaded by itself (glibc does when
  // a real thread starts), and the test would not show that handlecheck::native does.
  hc::ExploreOptions o;
  o.os_threads = hc_test::os_threads_under_test();
  o.strategy = "dfs";
  o.watchdog_seconds = 0;
  const hc::Result r = hc::explore(hc::native::test_body(&share_and_drop), o);
  EXPECT_FALSE(r.verdict().has_value()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 2u);
}

}  // namespace

namespace {

// The other strategies over the same scenarios: no finding where dfs finds none, and the
// deadlocks found (at most 300 executions each).
TEST(NativeSync, OtherStrategiesAgree) {
  for (const char* strategy : {"dpor", "random", "pct"}) {
    for (void (*body)() :
         {&two_threads_initialise_a_static, &call_once_from_two_threads, &wait_for_a_notification,
          &latch_handoff, &semaphore_handoff, &promise_future_handoff}) {
      const hc::Result r = explore(body, strategy, 300);
      EXPECT_FALSE(r.verdict().has_value()) << strategy << ": " << first_message(r);
    }
    for (void (*body)() :
         {&wait_nobody_ends, &semaphore_never_released, &future_waits_for_a_join}) {
      const hc::Result r = explore(body, strategy, 300);
      EXPECT_EQ(r.verdict(), hc::FindingKind::deadlock) << strategy << ": " << first_message(r);
    }
  }
}

}  // namespace

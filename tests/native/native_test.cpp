// native_test.cpp — handlecheck::native (hc/native.hpp): plain C++ compiled with
// -fsanitize=thread under the engine. Each test explores a body of std::thread, std::mutex,
// std::condition_variable, std::atomic and plain memory and asserts the verdict, the finding's
// kind and its message with this file's lines.
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hc/check.hpp"
#include "hc/explorer.hpp"
#include "hc/native.hpp"
#include "substrate.hpp"

namespace {

hc::ExploreOptions options(const std::string& strategy = "dfs", int jobs = 1) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = 2000;
  o.jobs = jobs;
  o.os_threads = hc_test::os_threads_under_test();
  o.watchdog_seconds = 10;
  return o;
}

hc::Result explore(void (*body)(), const std::string& strategy = "dfs", int jobs = 1) {
  return hc::explore(hc::native::test_body(body), options(strategy, jobs));
}

/// dfs on the substrate named, whichever the test run's is.
hc::Result explore_on(void (*body)(), bool os_threads) {
  hc::ExploreOptions o = options();
  o.os_threads = os_threads;
  return hc::explore(hc::native::test_body(body), o);
}

std::string line(int n) {
  return "native_test.cpp:" + std::to_string(n);
}

// --- atomics are scheduling points -----------------------------------------------------------

constexpr int kLoadLine = __LINE__ + 5;
constexpr int kStoreLine = __LINE__ + 5;
void lost_update() {
  std::atomic<int> counter{0};
  auto bump = [&] {
    const int seen = counter.load();
    counter.store(seen + 1);
  };
  std::thread a(bump);
  std::thread b(bump);
  a.join();
  b.join();
  HC_CHECK(counter.load() == 2, "lost update: counter is {}", counter.load());
}

void fetch_add_twice() {
  std::atomic<int> counter{0};
  auto bump = [&] { counter.fetch_add(1); };
  std::thread a(bump);
  std::thread b(bump);
  a.join();
  b.join();
  HC_CHECK(counter.load() == 2, "lost update: counter is {}", counter.load());
}

TEST(Native, DfsFindsALostUpdateOnAnAtomicLoadStorePair) {
  const hc::Result r = explore(&lost_update);
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_NE(r.findings[0].message.find("lost update: counter is 1"), std::string::npos);
  EXPECT_GT(r.stats.executions, 1u);
  // The trace names the user's lines of the load and the store, not <atomic>'s.
  std::string sites;
  for (const auto& step : r.findings[0].trace)
    sites += step.file + ":" + std::to_string(step.line) + " ";
  EXPECT_NE(sites.find(line(kLoadLine)), std::string::npos) << sites;
  EXPECT_NE(sites.find(line(kStoreLine)), std::string::npos) << sites;
  EXPECT_EQ(sites.find("atomic_base.h"), std::string::npos) << sites;
}

TEST(Native, FetchAddIsCleanAndExhaustive) {
  const hc::Result r = explore(&fetch_add_twice);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);  // the two fetch_adds were interleaved both ways
}

// --- plain accesses: races found, ordered accesses not reported --------------------------------

long g_plain = 0;  // reset by each body: globals survive from one execution to the next

constexpr int kRacyWriteLine = __LINE__ + 3;  // the thread's line; main's is the next
void plain_race() {
  g_plain = 0;
  std::thread t([] { g_plain = g_plain + 1; });
  g_plain = g_plain + 2;
  t.join();
}

// Its state is local: TwoWorkersKeepTheirOwnObjects runs it on two workers at once, which would
// share a global for real.
void plain_under_mutex() {
  long shared = 0;
  std::mutex m;
  std::thread t([&] {
    const std::lock_guard<std::mutex> lock(m);
    shared = shared + 1;
  });
  {
    const std::lock_guard<std::mutex> lock(m);
    shared = shared + 2;
  }
  t.join();
  HC_CHECK(shared == 3, "shared is {}", shared);
}

TEST(Native, APlainAccessRaceIsFoundWithBothSites) {
  for (const char* strategy : {"dfs", "random"}) {
    const hc::Result r = explore(&plain_race, strategy);
    ASSERT_EQ(r.verdict(), hc::FindingKind::data_race) << strategy;
    const std::string& m = r.findings[0].message;
    EXPECT_NE(m.find("data race on var at native_test.cpp:"), std::string::npos) << m;
    EXPECT_NE(m.find(line(kRacyWriteLine)), std::string::npos) << m;
    EXPECT_NE(m.find(line(kRacyWriteLine + 1)), std::string::npos) << m;
    // Plain accesses are no steps: both came before the first one (the thread's spawn is none).
    EXPECT_NE(m.find("(before step 1)"), std::string::npos) << m;
  }
}

TEST(Native, AccessesOrderedByAMutexAreNoRace) {
  const hc::Result r = explore(&plain_under_mutex);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
}

// --- condition variables, threads --------------------------------------------------------------

void producer_consumer() {
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> queue;
  bool done = false;
  std::thread consumer([&] {
    int sum = 0;
    std::unique_lock<std::mutex> lock(m);
    for (;;) {
      cv.wait(lock, [&] { return !queue.empty() || done; });
      while (!queue.empty()) {
        sum += queue.back();
        queue.pop_back();
      }
      if (done) break;
    }
    HC_CHECK(sum == 3, "sum is {}", sum);
  });
  for (int i = 1; i <= 2; ++i) {
    const std::lock_guard<std::mutex> lock(m);
    queue.push_back(i);
    cv.notify_one();
  }
  {
    const std::lock_guard<std::mutex> lock(m);
    done = true;
  }
  cv.notify_all();
  consumer.join();
}

TEST(Native, ConditionVariablesDoNotHang) {
  const hc::Result r = explore(&producer_consumer);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
}

void* return_arg(void* arg) {
  return arg;
}

void create_and_join() {
  int value = 0;
  std::thread t([&] { value = 42; });
  t.join();
  HC_CHECK(value == 42, "value is {}", value);
  static int token = 7;
  pthread_t p{};
  HC_CHECK(pthread_create(&p, nullptr, &return_arg, &token) == 0, "pthread_create failed");
  void* result = nullptr;
  HC_CHECK(pthread_join(p, &result) == 0, "pthread_join failed");
  HC_CHECK(result == &token, "pthread_join returned another value");
  std::thread::id ids[2];
  std::thread u([&] { ids[1] = std::this_thread::get_id(); });
  ids[0] = std::this_thread::get_id();
  u.join();
  HC_CHECK(ids[0] != ids[1], "two simulated threads share a std::thread::id");
}

TEST(Native, StdThreadAndPthreadCreateJoin) {
  const hc::Result r = explore(&create_and_join);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
}

// --- errno and exceptions across scheduling points ---------------------------------------------

void errno_and_exceptions() {
  std::atomic<int> flag{0};
  auto body = [&](int mine) {
    errno = mine;
    flag.fetch_add(1);  // a scheduling point: the other thread runs and sets its errno
    HC_CHECK(errno == mine, "errno is {}, expected {}", errno, mine);
    try {
      throw std::runtime_error("mine " + std::to_string(mine));
    } catch (const std::exception&) {
      flag.fetch_add(1);  // the other thread throws and catches meanwhile
      try {
        throw;  // rethrows this thread's exception
      } catch (const std::runtime_error& e) {
        HC_CHECK(std::string(e.what()) == "mine " + std::to_string(mine), "rethrew '{}'", e.what());
      }
    }
  };
  std::thread t(body, 11);
  body(22);
  t.join();
}

TEST(Native, ErrnoAndExceptionsAreKeptPerThread) {
  const hc::Result r = explore(&errno_and_exceptions);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 2u);
}

// --- the unwinder's own synchronisation is not the code under test's ---------------------------

// libgcc's unwinder takes pthread_once (and, for registered frames, a mutex) in every throw, from
// the throwing thread's frames; the engine walks those frames too, while deciding how a teardown
// unwinds a thread. As the code under test's operations they were scheduling points inside the
// unwinder, and in a teardown ThreadUnwind thrown through its frames (a corrupt heap, now and
// then). A throw that is caught adds no operation: these two bodies explore the same schedules.
void bumps(bool throw_between) {
  std::atomic<int> n{0};
  auto body = [&] {
    n.fetch_add(1);
    if (throw_between) {
      try {
        throw std::runtime_error("caught at once");
      } catch (const std::runtime_error&) {
      }
    }
    n.fetch_add(1);
  };
  std::thread t(body);
  body();
  t.join();
  HC_CHECK(n.load() == 4, "n is {}", n.load());
}
void bumps_plain() {
  bumps(false);
}
void bumps_throwing() {
  bumps(true);
}

TEST(Native, AThrowIsNoOperation) {
  const hc::Result plain = explore(&bumps_plain);
  const hc::Result throwing = explore(&bumps_throwing);
  ASSERT_FALSE(plain.verdict().has_value()) << plain.findings[0].message;
  ASSERT_FALSE(throwing.verdict().has_value()) << throwing.findings[0].message;
  EXPECT_TRUE(plain.stats.exhausted);
  EXPECT_TRUE(throwing.stats.exhausted);
  EXPECT_GT(plain.stats.executions, 2u);
  EXPECT_EQ(throwing.stats.executions, plain.stats.executions);
}

// --- a thread whose first run ends the execution -----------------------------------------------

// std::thread's constructor hands its callable to the new thread, which owns it from its first
// instruction; pthread_create failing means the thread never started, and the constructor
// destroys the callable itself. A child whose first run ends the execution (a finding before its
// first operation) did start: pthread_create must not report failure then, or the callable is
// destroyed twice, once as the child unwinds and once as std::thread's constructor throws (a
// crash in the teardown, or another object's memory freed: a corrupt heap).
struct DestroyedOnce {
  static inline int twice = 0;
  unsigned char past_the_allocators_links[32] = {};  // a freed block's first bytes are malloc's
  std::uint64_t state = kAlive;
  static constexpr std::uint64_t kAlive = 0xa11fe, kGone = 0xd1ed;

  DestroyedOnce() = default;
  [[gnu::no_sanitize("thread")]] DestroyedOnce(const DestroyedOnce& /*other*/) {}
  DestroyedOnce& operator=(const DestroyedOnce&) = delete;
  [[gnu::no_sanitize("thread")]] ~DestroyedOnce() {
    if (state != kAlive) ++twice;
    state = kGone;
  }
};

void child_fails_in_its_first_run() {
  const DestroyedOnce tracked;
  std::thread t([tracked] { HC_CHECK(false, "the child's first run fails"); });
  t.detach();  // (a join would unwind this thread through a joinable std::thread: terminate)
}

/// A check failure whose message holds `text`, after which the teardown unwound every thread
/// (none abandoned: runtime/execution.hpp, "Teardown").
void expect_check_failure_then_unwound(const hc::Result& r, const std::string& text) {
  ASSERT_EQ(r.verdict(), hc::FindingKind::check_failure);
  EXPECT_NE(r.findings[0].message.find(text), std::string::npos) << r.findings[0].message;
  EXPECT_EQ(r.stats.unwind_fallbacks, 0u);
  EXPECT_EQ(r.stats.abandoned_threads, 0u);
}

TEST(Native, AChildWhoseFirstRunEndsTheExecutionOwnsItsCallable) {
  DestroyedOnce::twice = 0;
  const hc::Result r = explore(&child_fails_in_its_first_run);
  // Both threads unwound, the parent from the pthread_create that succeeded; the callable was
  // destroyed once.
  expect_check_failure_then_unwound(r, "the child's first run fails");
  EXPECT_EQ(DestroyedOnce::twice, 0);
}

// --- a join the teardown cuts -----------------------------------------------------------------

// The child fails while its parent waits in std::thread::join. The teardown resumes the parent
// there: pthread_join returns (std::thread marks the thread joined only then) and the parent
// unwinds at its next operation. Unwound from pthread_join instead, it would leave a joinable
// std::thread, whose destructor calls std::terminate: the parent abandoned, its heap leaked, in
// every execution with a finding.
void child_fails_while_joined() {
  const std::vector<int> parents_heap(64, 1);
  std::atomic<int> n{0};
  std::thread t([&] {
    n.fetch_add(1);
    HC_CHECK(n.load() == 0, "the child fails with n == {}", n.load());
  });
  t.join();
  n.fetch_add(parents_heap[0]);  // the parent's next operation: it unwinds here
}

TEST(Native, AJoinTheTeardownCutsReturnsAndTheParentUnwinds) {
  expect_check_failure_then_unwound(explore(&child_fails_while_joined),
                                    "the child fails with n == 1");
}

// --- the re-entry guard: two workers, each with its own OS thread and executions ---------------

// --- thread_local variables (the os-threads substrate) -----------------------------------------

thread_local int t_bumps = 0;

constexpr int kThreadLocalLine = __LINE__ + 4;
void thread_locals_are_per_thread() {
  std::atomic<int> turns{0};
  auto body = [&] {
    HC_CHECK(t_bumps == 0, "a new thread starts with t_bumps == {}", t_bumps);
    for (int i = 0; i < 2; ++i) {
      ++t_bumps;
      turns.fetch_add(1);  // a scheduling point: the other thread bumps its own meanwhile
    }
    HC_CHECK(t_bumps == 2, "t_bumps is {} after this thread's 2 bumps", t_bumps);
  };
  std::thread t(body);
  body();
  t.join();
}

TEST(Native, ThreadLocalsAreEachThreadsOwnOnOsThreads) {
  const hc::Result r = explore_on(&thread_locals_are_per_thread, /*os_threads=*/true);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
  // On fibers (one OS thread) the simulated threads share it, as the README says: this one's,
  // which starts at 0 also when the test is repeated.
  t_bumps = 0;
  const hc::Result fibers = explore_on(&thread_locals_are_per_thread, /*os_threads=*/false);
  // The first execution races on it; its re-run starts with what the first left in it.
  ASSERT_EQ(fibers.verdict(), hc::FindingKind::nondeterminism);
  const std::string& m = fibers.findings[0].message;
  EXPECT_NE(m.find("data race on var at " + line(kThreadLocalLine)), std::string::npos) << m;
  EXPECT_NE(m.find("a new thread starts with t_bumps =="), std::string::npos) << m;
}

std::atomic<int> g_destroyed{0};
struct CountsItsEnd {
  int value = 1;
  ~CountsItsEnd() { g_destroyed.fetch_add(1); }  // runs as its thread ends, outside user code
};
thread_local CountsItsEnd t_counted;

void thread_local_destructor_before_join() {
  g_destroyed.store(0);
  std::thread t([] { HC_CHECK(t_counted.value == 1, "t_counted.value is {}", t_counted.value); });
  t.join();
  HC_CHECK(g_destroyed.load() == 1, "{} thread_local destructors ran before the join returned",
           g_destroyed.load());
}

TEST(Native, AThreadLocalDestructorRunsBeforeTheJoinReturnsOnOsThreads) {
  const hc::Result r = explore_on(&thread_local_destructor_before_join, /*os_threads=*/true);
  EXPECT_FALSE(r.verdict().has_value()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(Native, TwoWorkersKeepTheirOwnObjects) {
  // The explorer's workers are real threads (created with pthread_create, synchronised with
  // std::mutex): the interposers must leave those alone while each worker's executions go to the
  // engine.
  const hc::Result race = explore(&plain_race, "dfs", 2);
  ASSERT_EQ(race.verdict(), hc::FindingKind::data_race);
  EXPECT_NE(race.findings[0].message.find(line(kRacyWriteLine)), std::string::npos);
  const hc::Result clean = explore(&plain_under_mutex, "dfs", 2);
  EXPECT_FALSE(clean.verdict().has_value()) << clean.findings[0].message;
  EXPECT_TRUE(clean.stats.exhausted);
  const hc::Result cv = explore(&producer_consumer, "random", 2);
  EXPECT_FALSE(cv.verdict().has_value()) << cv.findings[0].message;
  EXPECT_GE(cv.stats.executions, 2000u);
}

// --- outside an execution everything is real ---------------------------------------------------

TEST(Native, OutsideAnExecutionCallsGoToTheRealFunctions) {
  ASSERT_FALSE(hc::rt::in_execution());
  std::mutex m;
  std::condition_variable cv;
  std::atomic<int> counter{0};
  bool ready = false;
  std::thread t([&] {  // a real OS thread
    counter.fetch_add(1);
    const std::lock_guard<std::mutex> lock(m);
    ready = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return ready; });
  }
  t.join();
  EXPECT_EQ(counter.load(), 1);
  EXPECT_NE(pthread_self(), pthread_t{});
  EXPECT_EQ(sched_yield(), 0);
}

}  // namespace

// Relacy-style suites (hc/suite.hpp): the threads are the execution and the last one to finish
// runs after(). Each test states what a suite must do that the same test as a scenario body
// does, and what it must not.
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace {

using hc::test::contains;

// What the suites below did, counted outside every execution.
int g_after_runs = 0;

/// A hand-rolled increment from two threads, checked after both: loses an update on 4 of its
/// 6 interleavings, as hc::test::lost_update does as a scenario body.
struct LostUpdate {
  static constexpr int kThreads = 2;
  hc::atomic<int> counter{0, "counter"};
  void thread(int) { counter.store(counter.load() + 1); }
  void after() { HC_CHECK(counter.peek() == 2, "lost update: {}", counter.peek()); }
};

/// The same with fetch_add: correct.
struct Increments {
  static constexpr int kThreads = 3;
  hc::atomic<int> counter{0, "counter"};
  void thread(int) { counter.fetch_add(1); }
  void after() { HC_CHECK(counter.peek() == kThreads, "{} increments", counter.peek()); }
};

/// Increments that also count their after() calls (outside every execution: one worker only)
/// and check that after() runs on the thread whose body ended last.
struct CountedIncrements {
  static constexpr int kThreads = 3;
  hc::atomic<int> counter{0, "counter"};
  hc::ThreadId last_to_finish = hc::kNoThread;  // plain bookkeeping, as in a Relacy suite
  void thread(int) {
    counter.fetch_add(1);
    last_to_finish = hc::rt::current_thread();
  }
  void after() {
    ++g_after_runs;
    HC_CHECK(counter.peek() == kThreads, "{} increments", counter.peek());
    HC_CHECK(hc::rt::current_thread() == last_to_finish, "after() on thread {}, not {}",
             hc::rt::current_thread(), last_to_finish);
  }
};

/// Plain memory each thread writes and after() reads without synchronisation of its own: clean
/// only if after() happens after every thread's steps (the suite's joins).
struct PlainWrites {
  static constexpr int kThreads = 2;
  hc::var<int> slot[kThreads] = {hc::var<int>{0, "slot 0"}, hc::var<int>{0, "slot 1"}};
  void thread(int index) { slot[index].write(index + 1); }
  void after() {
    int sum = 0;
    for (auto& s : slot)
      sum += s.read();
    HC_CHECK(sum == 3, "sum {}", sum);
  }
};

/// A thread fails its own check: the execution ends there, and after() must not run.
struct FailsInAThread {
  static constexpr int kThreads = 2;
  hc::atomic<int> x{0, "x"};
  void thread(int index) {
    x.fetch_add(1);
    HC_CHECK(index != 1, "thread {} gives up", index);
  }
  void after() { ++g_after_runs; }
};

/// Without after(): only the threads.
struct NoAfter {
  static constexpr int kThreads = 2;
  hc::atomic<int> x{0, "x"};
  void thread(int) { x.fetch_add(1); }
};

// The README's example ("Relacy-style suites").
// excerpt-begin: readme-suite
struct Refcount {
  static constexpr int kThreads = 2;  // threads "T0" and "T1"
  hc::atomic<int> refs{1, "refs"};
  int closes = 0;  // plain bookkeeping
  void thread(int index) {
    if (index == 1 && refs.load() > 0) refs.fetch_add(1);  // a TryAddRef with a bug: no CAS
    if (refs.fetch_sub(1) == 1) ++closes;
  }
  void after() { HC_CHECK(closes == 1, "closed {} times", closes); }
};

hc::Result explore_refcount(const hc::ExploreOptions& options) {
  return hc::explore_suite<Refcount>(options);  // finds the double close
}
// excerpt-end: readme-suite

/// The same protocol with TryAddRef's compare-exchange loop: correct.
struct RefcountWithCas {
  static constexpr int kThreads = 2;
  hc::atomic<int> refs{1, "refs"};
  int closes = 0;
  void thread(int index) {
    if (index == 1) {
      int seen = refs.load();
      while (seen > 0 && !refs.compare_exchange_strong(seen, seen + 1)) {
      }
      if (seen == 0) return;  // released already: no reference taken
    }
    if (refs.fetch_sub(1) == 1) ++closes;
  }
  void after() { HC_CHECK(closes == 1, "closed {} times", closes); }
};

// Suites as scenario bodies: what the CLI and ctest run (hc::run_scenario below).
HC_SCENARIO("suite/try-add-ref-without-cas", .expect = hc::FindingKind::check_failure,
            .message = "closed 2 times", .max_executions = 0,
            .summary = "a suite whose TryAddRef checks, then increments: a double close") {
  hc::run_suite<Refcount>();
}
HC_SCENARIO("suite/try-add-ref-without-cas.fixed", .max_executions = 0,
            .summary = "the same suite with TryAddRef's compare-exchange loop") {
  hc::run_suite<RefcountWithCas>();
}

hc::ExploreOptions all_of(const char* strategy) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.strategy = strategy;
  o.stop_at_first = false;
  o.check_determinism = false;  // one execution per schedule: exact counts
  return o;
}

TEST(Suite, FindsTheLostUpdateItsFinalCheckSeesAndItsReplayReproducesIt) {
  const hc::Result r = hc::explore_suite<LostUpdate>(hc::test::exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::check_failure);
  EXPECT_TRUE(contains(f.message, "lost update: 1")) << f.message;
  // after() runs on the last thread to finish, one of the suite's.
  EXPECT_TRUE(f.thread_name == "T0" || f.thread_name == "T1") << f.thread_name;

  hc::ExploreOptions replay;
  replay.strategy = "replay";
  replay.replay = f.schedule;
  const hc::Result again = hc::explore_suite<LostUpdate>(replay);
  ASSERT_EQ(again.findings.size(), 1u);
  EXPECT_EQ(again.findings[0].message, f.message);
  EXPECT_EQ(again.findings[0].signature, f.signature);
  EXPECT_EQ(again.stats.executions, 1u);
}

TEST(Suite, TheReadmesExampleFindsTheDoubleClose) {
  const hc::Result r = explore_refcount(hc::test::exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_TRUE(contains(r.findings[0].message, "closed 2 times")) << r.findings[0].message;
}

TEST(Suite, RunsAsARegisteredScenarioWithItsExpectedVerdict) {
  for (const char* strategy : {"dfs", "dpor", "random"}) {
    hc::OptionOverrides ov;
    ov.set(&hc::RunSettings::strategy, std::string(strategy));
    // random never exhausts: a budget (the scenarios' own is 0, for dfs and dpor to exhaust)
    if (std::string_view(strategy) == "random") ov.set(&hc::RunSettings::max_executions, 2000);
    const hc::Scenario* buggy = hc::find_scenario("suite/try-add-ref-without-cas");
    ASSERT_NE(buggy, nullptr);
    const hc::ScenarioOutcome run = hc::run_scenario(*buggy, hc::options_for(*buggy, ov));
    ASSERT_FALSE(run.result.findings.empty()) << strategy;
    EXPECT_EQ(run.result.findings[0].kind, hc::FindingKind::check_failure) << strategy;
    EXPECT_TRUE(contains(run.result.findings[0].message, "closed 2 times")) << strategy;
    EXPECT_TRUE(run.as_expected) << strategy;

    const hc::Scenario* fixed = hc::find_scenario("suite/try-add-ref-without-cas.fixed");
    ASSERT_NE(fixed, nullptr);
    const hc::ScenarioOutcome clean = hc::run_scenario(*fixed, hc::options_for(*fixed, ov));
    EXPECT_TRUE(clean.result.findings.empty())
        << strategy << ": " << clean.result.findings[0].message;
    EXPECT_TRUE(clean.as_expected) << strategy;
  }
}

TEST(Suite, ExploresTheSameSchedulesAsTheScenarioBody) {
  // Two threads of load + store: 6 interleavings, 4 of them lose an update, whichever way the
  // test is written.
  const hc::Result suite = hc::explore_suite<LostUpdate>(all_of("dfs"));
  const hc::Result body = hc::explore(hc::test::lost_update, all_of("dfs"));
  EXPECT_EQ(suite.stats.executions, 6u);
  EXPECT_EQ(body.stats.executions, 6u);
  EXPECT_EQ(suite.stats.exhausted, true);
  ASSERT_EQ(suite.findings.size(), 1u);  // de-duplicated by signature
  EXPECT_EQ(suite.findings[0].kind, hc::FindingKind::check_failure);
}

TEST(Suite, AfterRunsOnceForEveryExecutionOnTheLastThreadToFinish) {
  g_after_runs = 0;
  const hc::Result r = hc::explore_suite<CountedIncrements>(all_of("dfs"));
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 6u);  // 3 threads of one fetch_add: 3! orders
  EXPECT_EQ(static_cast<std::uint64_t>(g_after_runs), r.stats.executions);
}

TEST(Suite, AfterHappensAfterEveryThreadsSteps) {
  // Each thread writes its own hc::var; after() reads both. Without the joins before after()
  // the reads would race with the other thread's write (a data-race finding).
  const hc::Result r = hc::explore_suite<PlainWrites>(all_of("dfs"));
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].message;
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(Suite, AfterDoesNotRunWhenAThreadEndsTheExecution) {
  g_after_runs = 0;
  hc::ExploreOptions o = all_of("dfs");
  const hc::Result r = hc::explore_suite<FailsInAThread>(o);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_TRUE(contains(r.findings[0].message, "thread 1 gives up")) << r.findings[0].message;
  EXPECT_EQ(r.findings[0].thread_name, "T1");
  EXPECT_EQ(g_after_runs, 0);  // thread 1 fails in every execution, so no execution completes
}

TEST(Suite, ASuiteWithoutAfterRunsItsThreads) {
  const hc::Result r = hc::explore_suite<NoAfter>(all_of("dfs"));
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.stats.executions, 2u);
}

TEST(Suite, DporFindsWhatDfsFindsWithFewerExecutions) {
  const hc::Result dpor = hc::explore_suite<LostUpdate>(all_of("dpor"));
  ASSERT_EQ(dpor.findings.size(), 1u);
  EXPECT_EQ(dpor.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_TRUE(contains(dpor.findings[0].message, "lost update")) << dpor.findings[0].message;
  const hc::Result clean = hc::explore_suite<Increments>(all_of("dpor"));
  EXPECT_TRUE(clean.findings.empty());
  EXPECT_TRUE(clean.stats.exhausted);
  EXPECT_LE(clean.stats.executions, 6u);
}

TEST(Suite, EachWorkerHasItsOwnSuite) {
  // Two workers run executions at once, each constructing its suites in its own storage: a
  // shared one would lose increments (and fail after()'s check) or race.
  hc::ExploreOptions o = hc::test::random_runs(20000, 3);
  o.jobs = 2;
  const hc::Result r = hc::explore_suite<Increments>(o);
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].message;
  EXPECT_EQ(r.stats.executions, 20000u);
  const hc::Result lost = hc::explore_suite<LostUpdate>(o);
  ASSERT_FALSE(lost.findings.empty());
  EXPECT_EQ(lost.findings[0].kind, hc::FindingKind::check_failure);
}

TEST(Suite, RunsOnOsThreads) {
  hc::ExploreOptions o = all_of("dfs");
  o.os_threads = true;
  const hc::Result clean = hc::explore_suite<Increments>(o);
  EXPECT_TRUE(clean.findings.empty()) << clean.findings[0].message;
  EXPECT_EQ(clean.stats.executions, 6u);
  const hc::Result lost = hc::explore_suite<LostUpdate>(o);
  ASSERT_EQ(lost.findings.size(), 1u);
  EXPECT_TRUE(contains(lost.findings[0].message, "lost update")) << lost.findings[0].message;
}

}  // namespace

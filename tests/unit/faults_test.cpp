// Faults of the code under test (runtime/faults.hpp): a crash, std::terminate, a stack overflow
// or a thread that stops reaching scheduling points is a finding of its execution, with a
// schedule that reproduces it, and the exploration goes on. Per simulated thread errno and
// exception state.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cfenv>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

namespace {

using hc::test::contains;

/// Re-runs a finding's schedule and returns the finding of that one execution.
hc::Finding replayed(const std::function<void()>& body, const hc::Finding& f,
                     hc::ExploreOptions o = {}) {
  o.strategy = "dfs";  // the schedule as a prefix, one execution (the schedule may be empty)
  o.replay = f.schedule;
  o.max_executions = 1;
  const hc::Result r = hc::explore(body, o);
  EXPECT_EQ(r.findings.size(), 1u);
  return r.findings.empty() ? hc::Finding{} : r.findings.front();
}

/// Asserts the finding recurs from its schedule: same kind, signature and message.
void expect_reproduces(const std::function<void()>& body, const hc::Finding& f,
                       hc::ExploreOptions o = {}) {
  const hc::Finding again = replayed(body, f, std::move(o));
  EXPECT_EQ(again.kind, f.kind);
  EXPECT_EQ(again.signature, f.signature);
  EXPECT_EQ(again.message, f.message);
}

/// The deliberate bug: a read through a pointer that may be null. Exempt from UBSan, which would
/// otherwise end the process before the fault handlecheck reports (the sanitizers job).
[[gnu::no_sanitize_undefined]] int read_through(const int* p) {
  return *static_cast<const volatile int*>(p);
}

// The reader dereferences the pointer it loaded: null when the closer's store came first.
void null_after_close() {
  static int storage = 42;
  hc::atomic<int*> buffer{&storage, "buffer"};
  hc::thread reader("reader", [&] {
    int* p = buffer.load();
    volatile int value = read_through(p);  // SIGSEGV when the closer ran first
    (void)value;
  });
  hc::thread closer("closer", [&] { buffer.store(nullptr); });
  reader.join();
  closer.join();
}

TEST(Faults, SegfaultInOneInterleavingIsACrashFindingAndTheRunGoesOn) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.stop_at_first = false;
  const hc::Result r = hc::explore(null_after_close, o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::crash);
  EXPECT_EQ(f.thread_name, "reader");
  EXPECT_TRUE(contains(f.message, "thread 'reader' crashed with SIGSEGV")) << f.message;
  EXPECT_TRUE(contains(f.message, "a null pointer was dereferenced")) << f.message;
  EXPECT_TRUE(contains(f.message, "atomic-load")) << f.message;
  // Both orders of the load and the store ran: the crash did not end the exploration.
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
  expect_reproduces(null_after_close, f);
  // And the process is fine afterwards: an ordinary exploration still works.
  EXPECT_EQ(hc::explore(hc::test::lost_update, hc::test::exhaustive()).verdict(),
            hc::FindingKind::check_failure);
}

TEST(Faults, AbortIsACrashNamingSigabrt) {
  auto body = [] {
    hc::atomic<int> state{0, "state"};
    hc::thread a("asserter", [&] {
      if (state.load() == 1) std::abort();  // a failed assert() does the same
    });
    state.store(1);
    a.join();
  };
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  ASSERT_EQ(r.verdict(), hc::FindingKind::crash);
  const hc::Finding& f = r.findings.front();
  EXPECT_TRUE(contains(f.message, "thread 'asserter' crashed with SIGABRT")) << f.message;
  EXPECT_TRUE(contains(f.message, "abort() was called")) << f.message;
  expect_reproduces(body, f);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wterminate"
struct ThrowsInDestructor {
  hc::atomic<int>* state;
  ~ThrowsInDestructor() {  // implicitly noexcept: a throw here calls std::terminate
    if (state->load() == 1) throw std::runtime_error("close failed in a destructor");
  }
};
#pragma GCC diagnostic pop

TEST(Faults, ThrowFromAnImplicitlyNoexceptDestructorIsACrashNamingTheException) {
  auto body = [] {
    hc::atomic<int> state{0, "state"};
    hc::thread a("closer", [&] { ThrowsInDestructor guard{&state}; });
    state.store(1);
    a.join();
  };
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  ASSERT_EQ(r.verdict(), hc::FindingKind::crash);
  const hc::Finding& f = r.findings.front();
  EXPECT_TRUE(contains(f.message, "thread 'closer' called std::terminate")) << f.message;
  EXPECT_TRUE(contains(f.message, "std::runtime_error: close failed in a destructor")) << f.message;
  EXPECT_TRUE(contains(f.signature, "crash|closer|terminate")) << f.signature;
  expect_reproduces(body, f);
}

// Recursion deeper than any test stack; the volatile array keeps every frame alive.
int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth > 1'000'000) return frame[0];
  return recurse(depth + 1) + frame[0];
}

void overflow_in_one_order() {
  hc::atomic<int> depth_limit{0, "limit"};
  hc::thread deep("deep-recursion", [&] {
    if (depth_limit.load() == 0) (void)recurse(0);
  });
  depth_limit.store(1);
  deep.join();
}

hc::Finding expect_stack_overflow(bool guard_pages) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.stack_size = 64 * 1024;
  o.guard_pages = guard_pages;
  o.stop_at_first = false;
  const hc::Result r = hc::explore(overflow_in_one_order, o);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 2u);
  EXPECT_EQ(r.findings.size(), 1u);
  if (r.findings.empty()) return {};
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::stack_overflow);
  EXPECT_TRUE(
      contains(f.message, "stack overflow in thread 'deep-recursion' (its stack is 64 KiB)"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "--stack-size")) << f.message;
  expect_reproduces(overflow_in_one_order, f, o);
  return f;
}

TEST(Faults, StackOverflowWithGuardPagesIsAFinding) {
  expect_stack_overflow(true);
}

TEST(Faults, StackOverflowWithoutGuardPagesIsAFinding) {
  expect_stack_overflow(false);
}

TEST(Faults, StackOverflowIsFoundAfterFiveThousandStacks) {
  // Every exploration maps its own stacks; nothing process-wide fills up.
  for (int i = 0; i < 2500; ++i) {
    const hc::Result r =
        hc::explore(hc::test::threads_with_steps(1, 1), hc::test::random_runs(1, i));
    ASSERT_TRUE(r.findings.empty());
  }
  expect_stack_overflow(true);
}

// --- the watchdog -------------------------------------------------------------------------

hc::ExploreOptions watched(double seconds) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.watchdog_seconds = seconds;
  return o;
}

void cpu_loop_in_one_order() {
  hc::atomic<int> go{0, "go"};
  hc::thread looper("looper", [&] {
    if (go.load() == 0) {  // the second order dfs explores
      volatile std::uint64_t n = 0;
      for (;;)
        n = n + 1;  // no hc operation: never reaches a scheduling point
    }
  });
  go.store(1);
  looper.join();
}

TEST(Watchdog, CpuLoopIsANoProgressFindingNamingTheThreadAndItsLastSite) {
  hc::ExploreOptions o = watched(0.2);
  o.stop_at_first = false;
  const hc::Result r = hc::explore(cpu_loop_in_one_order, o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::no_progress);
  EXPECT_EQ(f.thread_name, "looper");
  EXPECT_TRUE(contains(f.message,
                       "thread 'looper' ran for 0.2 s without reaching a scheduling "
                       "point, after its last operation (atomic-load"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "faults_test.cpp")) << f.message;
  EXPECT_TRUE(r.stats.exhausted);  // the other order ran too
  EXPECT_EQ(r.stats.executions, 2u);
  expect_reproduces(cpu_loop_in_one_order, f, watched(0.2));
}

TEST(Watchdog, SpinOnAPlainBoolIsANoProgressFinding) {
  auto body = [] {
    bool ready = false;  // a plain bool: the spinner never yields to the setter
    hc::atomic<int> started{0, "started"};
    hc::thread spinner("spinner", [&] {
      started.store(1);
      while (!*static_cast<volatile bool*>(&ready)) {
      }
    });
    hc::thread setter("setter", [&] {
      (void)started.load();
      ready = true;
    });
    spinner.join();
    setter.join();
  };
  const hc::Result r = hc::explore(body, watched(0.2));
  ASSERT_EQ(r.verdict(), hc::FindingKind::no_progress);
  EXPECT_TRUE(contains(r.findings.front().message, "thread 'spinner' ran for 0.2 s"))
      << r.findings.front().message;
  expect_reproduces(body, r.findings.front(), watched(0.2));
}

TEST(Watchdog, StdMutexHeldAcrossAnHcOperationIsANoProgressFinding) {
  auto body = [] {
    std::mutex real;  // not controlled: blocking on it blocks the whole worker
    hc::atomic<int> x{0, "x"};
    auto critical = [&] {
      std::lock_guard lock(real);
      x.fetch_add(1);  // a scheduling point while the std::mutex is held
    };
    hc::thread a("first", critical);
    hc::thread b("second", critical);
    a.join();
    b.join();
  };
  const hc::Result r = hc::explore(body, watched(0.2));
  ASSERT_EQ(r.verdict(), hc::FindingKind::no_progress);
  EXPECT_TRUE(contains(r.findings.front().message, "a std::mutex another simulated thread holds"))
      << r.findings.front().message;
  expect_reproduces(body, r.findings.front(), watched(0.2));
}

TEST(Watchdog, TimeBudgetStopsARunStuckInALoopWithTheWatchdogOff) {
  hc::ExploreOptions o = watched(0);  // no no-progress findings: only the budget can stop it
  o.time_budget_seconds = 0.3;
  const hc::Result r = hc::explore(cpu_loop_in_one_order, o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_FALSE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 1u);  // the first order ran; the stuck one is not counted
}

TEST(Watchdog, SigintStopsARunStuckInALoop) {
  hc::ExploreOptions o = watched(0);  // only the stop request can end the stuck execution
  hc::StopFlag stop;
  std::optional<hc::StopOnSignals> signals(stop);  // what the CLI does for its run command
  o.stop = &stop;
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(::getpid(), SIGINT);
  });
  const hc::Result r = hc::explore(cpu_loop_in_one_order, o);
  interrupter.join();
  signals.reset();
  EXPECT_EQ(stop.why(), SIGINT);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.stats.interrupted);
  EXPECT_FALSE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 1u);  // partial results: the execution before the stuck one
  // The signal stopped that run only: the next exploration in the process runs in full.
  const hc::Result next = hc::explore(hc::test::lost_update, hc::test::exhaustive());
  EXPECT_FALSE(next.stats.interrupted);
  EXPECT_EQ(next.verdict(), hc::FindingKind::check_failure);
}

TEST(Watchdog, LooksWithoutTakingADescriptorNumberFromTheCodeUnderTest) {
  // The code under test opens and closes a descriptor for 0.3 s without a scheduling point, so
  // the watchdog reads the thread's state in /proc every tick meanwhile (50 ms under a 1 s
  // bound). open() returns the lowest free number: if the watchdog's read took a number from
  // the process's table, one of these opens would get another.
  auto body = [] {
    hc::atomic<int> go{0, "go"};
    hc::thread opener("opener", [&] {
      go.store(1);
      const int lowest = ::open("/dev/null", O_RDONLY);
      ::close(lowest);
      int others = 0;
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
      while (std::chrono::steady_clock::now() < until) {
        const int fd = ::open("/dev/null", O_RDONLY);
        if (fd != lowest) ++others;
        ::close(fd);
      }
      HC_CHECK(others == 0, "{} opens got a number other than {}, the lowest free", others, lowest);
    });
    opener.join();
  };
  const hc::Result r = hc::explore(body, watched(1.0));
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 1u);
}

// One OS thread of the process watches every exploration (watchdog.hpp): two at once, with
// different bounds, each get their own finding with their own bound.
TEST(Watchdog, OneThreadWatchesExplorationsRunningAtOnce) {
  hc::Result shorter;
  hc::Result longer;
  std::thread other([&] { longer = hc::explore(cpu_loop_in_one_order, watched(0.6)); });
  shorter = hc::explore(cpu_loop_in_one_order, watched(0.2));
  other.join();
  ASSERT_EQ(shorter.verdict(), hc::FindingKind::no_progress);
  ASSERT_EQ(longer.verdict(), hc::FindingKind::no_progress);
  EXPECT_TRUE(contains(shorter.findings.front().message, "thread 'looper' ran for 0.2 s"))
      << shorter.findings.front().message;
  EXPECT_TRUE(contains(longer.findings.front().message, "thread 'looper' ran for 0.6 s"))
      << longer.findings.front().message;
}

// A child of fork() does not have the parent's watchdog thread: it starts one of its own.
TEST(Watchdog, AForkedChildWatchesItsOwnExplorations) {
  // The parent's thread exists by now (the tests before, or this exploration).
  ASSERT_EQ(hc::explore(cpu_loop_in_one_order, watched(0.2)).verdict(),
            hc::FindingKind::no_progress);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);  // unwatched, the loop would never end: SIGALRM ends the child instead
    const hc::Result r = hc::explore(cpu_loop_in_one_order, watched(0.2));
    ::_exit(r.verdict() == hc::FindingKind::no_progress ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child's exploration was not watched: it ended by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's run had no no-progress finding";
}

// --- per simulated thread state ------------------------------------------------------------

TEST(ThreadState, ErrnoIsPerSimulatedThread) {
  auto body = [] {
    hc::atomic<int> x{0, "x"};
    auto worker = [&](int mine) {
      errno = mine;
      x.fetch_add(1);  // a scheduling point: the other thread may set its errno here
      HC_CHECK(errno == mine, "errno is {} after a scheduling point, not {}", errno, mine);
    };
    hc::thread a("a", [&] { worker(EINTR); });
    hc::thread b("b", [&] { worker(EBADF); });
    a.join();
    b.join();
  };
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 2u);
}

TEST(ThreadState, RethrowAfterASchedulingPointRethrowsThisThreadsException) {
  auto body = [] {
    hc::atomic<int> x{0, "x"};
    auto worker = [&](const char* mine) {
      try {
        throw std::runtime_error(mine);
      } catch (...) {
        x.fetch_add(1);  // the other thread may be inside its own catch block now
        HC_CHECK(std::uncaught_exceptions() == 0, "uncaught exceptions leaked between threads");
        try {
          throw;
        } catch (const std::runtime_error& e) {
          HC_CHECK(std::string(e.what()) == mine, "throw; rethrew '{}' in the thread of '{}'",
                   e.what(), mine);
        }
      }
    };
    hc::thread a("a", [&] { worker("from a"); });
    hc::thread b("b", [&] { worker("from b"); });
    a.join();
    b.join();
  };
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// The SSE and x87 control words are callee-saved in the ABI, so each OS thread keeps its own
// rounding mode (and flush-to-zero bits). With fp_env_per_thread, each simulated thread keeps
// its own across scheduling points on fibers too: fiber/context.hpp's switch_context_fp saves
// them at every switch and reloads them when the threads' differ.
TEST(ThreadState, RoundingModeIsPerSimulatedThread) {
  auto body = [] {
    hc::atomic<int> x{0, "x"};
    auto worker = [&](int mine) {
      std::fesetround(mine);  // sets both control words
      x.fetch_add(1);         // a scheduling point: the other thread may set its own mode here
      // glibc's fegetround reads the x87 control word; a float division rounds by MXCSR's.
      HC_CHECK(std::fegetround() == mine,
               "the x87 rounding mode is {} after a scheduling point, "
               "not {}",
               std::fegetround(), mine);
      volatile float one = 1.0f;
      const double third = one / 3.0f;  // 0.33333334 rounded up, 0.33333331 down
      HC_CHECK((third > 0.3333333333333333) == (mine == FE_UPWARD),
               "a float division rounded to {} in the thread that set mode {}", third, mine);
    };
    hc::thread a("a", [&] { worker(FE_UPWARD); });
    hc::thread b("b", [&] { worker(FE_DOWNWARD); });
    a.join();
    b.join();
  };
  const int before = std::fegetround();
  hc::ExploreOptions o = hc::test::exhaustive();
  o.fp_env_per_thread = true;
  const hc::Result r = hc::explore(body, o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 2u);
  EXPECT_EQ(r.stats.fp_control_changes, 0u) << "counted only when the threads share them";
  EXPECT_EQ(std::fegetround(), before) << "a simulated thread's mode leaked into the host";
}

// With fp_env_per_thread, a thread starts with its parent's control words, as an OS thread
// starts with its creator's, and main with the OS thread's: not with what the thread that
// used the slot (its fiber) in an earlier execution left.
TEST(ThreadState, ThreadStartsWithItsParentsRoundingMode) {
  auto body = [] {
    HC_CHECK(std::fegetround() == FE_TONEAREST, "main starts with mode {}, not the host's {}",
             std::fegetround(), FE_TONEAREST);
    std::fesetround(FE_DOWNWARD);
    hc::atomic<int> x{0, "x"};
    auto worker = [&] {
      HC_CHECK(std::fegetround() == FE_DOWNWARD, "a thread starts with mode {}, not main's {}",
               std::fegetround(), FE_DOWNWARD);
      if (hc::choose(2, "set") == 1) std::fesetround(FE_UPWARD);  // and leaves it set
      x.fetch_add(1);
    };
    hc::thread a("a", worker);
    hc::thread b("b", worker);
    a.join();
    b.join();
    HC_CHECK(std::fegetround() == FE_DOWNWARD, "main's mode is {} after the joins, not {}",
             std::fegetround(), FE_DOWNWARD);
  };
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  hc::ExploreOptions o = hc::test::exhaustive();
  o.fp_env_per_thread = true;
  const hc::Result r = hc::explore(body, o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 8u);  // 2 x 2 values, 2 orders of the two fetch_adds
  EXPECT_EQ(std::fegetround(), FE_TONEAREST) << "a simulated thread's mode leaked into the host";
}

// By default the simulated threads on fibers share the control words, as they share
// thread_local variables: one thread's rounding mode is the next one's. Every execution still
// starts with the OS thread's (run() puts them back, and counts the executions that changed
// them), so what an execution computes does not depend on the executions before it.
TEST(FpControl, SharedOnFibersAndPutBackAfterEveryExecution) {
  if (std::getenv("HC_OS_THREADS") != nullptr) GTEST_SKIP() << "OS threads have their own";
  static int saw_the_other_threads_mode = 0;
  saw_the_other_threads_mode = 0;
  auto body = [] {
    HC_CHECK(std::fegetround() == FE_TONEAREST, "main starts with mode {}, not the host's {}",
             std::fegetround(), FE_TONEAREST);
    hc::atomic<int> x{0, "x"};
    hc::thread a("a", [&] {
      std::fesetround(FE_UPWARD);
      x.fetch_add(1);
    });
    hc::thread b("b", [&] {
      x.fetch_add(1);
      if (std::fegetround() == FE_UPWARD) ++saw_the_other_threads_mode;
    });
    a.join();
    b.join();
  };
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(r.stats.executions, 2u);
  EXPECT_EQ(r.stats.fp_control_changes, 2u) << "a leaves FE_UPWARD set in every execution";
  EXPECT_GT(saw_the_other_threads_mode, 0) << "b never ran with a's mode: not shared";
  EXPECT_EQ(std::fegetround(), FE_TONEAREST) << "a simulated thread's mode leaked into the host";
}

// MXCSR's exception flags (an inexact division sets one) are no change of the control words:
// an execution that only sets them is not counted.
TEST(FpControl, ExceptionFlagsAreNoChange) {
  if (std::getenv("HC_OS_THREADS") != nullptr) GTEST_SKIP() << "OS threads have their own";
  auto body = [] {
    hc::atomic<int> x{0, "x"};
    hc::thread a("a", [&] {
      volatile double one = 1.0;
      volatile double third = one / 3.0;  // inexact
      (void)third;
      x.fetch_add(1);
      HC_CHECK(std::fetestexcept(FE_INEXACT), "the division set no inexact flag");
    });
    a.join();
  };
  std::feclearexcept(FE_ALL_EXCEPT);
  const hc::Result r = hc::explore(body, hc::test::exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 1u);
  EXPECT_EQ(r.stats.fp_control_changes, 0u);
}

}  // namespace

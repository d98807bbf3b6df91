// The detectors: data races (vector clocks), deadlocks (wait-for cycles), the step bound.
#include <gtest/gtest.h>
#include <bit>
#include <memory>
#include <optional>

#include "test_support.hpp"

namespace {

using hc::test::exhaustive;

using hc::test::contains;

TEST(DataRace, TwoUnorderedWritesAreARaceNamingBothSites) {
  int line_a = 0;
  int line_b = 0;
  const hc::Result r = hc::explore(
      [&] {
        hc::var<int> slot{0, "slot"};
        hc::thread a("writer-a", [&] {
          line_a = __LINE__ + 1;
          slot.write(1);
        });
        hc::thread b("writer-b", [&] {
          line_b = __LINE__ + 1;
          slot.write(2);
        });
        a.join();
        b.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::data_race);
  EXPECT_TRUE(contains(f.message, "data race on var 'slot'")) << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'writer-b' writes it at tests/unit/detectors_test.cpp:" +
                                      std::to_string(line_b)))
      << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'writer-a' wrote it at tests/unit/detectors_test.cpp:" +
                                      std::to_string(line_a)))
      << f.message;
}

// The finding carries what its message refers to, so reports never parse the message: this
// access's step, then the earlier one's, and the variable.
TEST(DataRace, TheFindingRecordsBothAccessesStepsAndTheVariable) {
  const hc::Result r = hc::explore(
      [&] {
        hc::var<int> slot{0, "slot"};
        hc::thread a("writer-a", [&] { slot.write(1); });
        hc::thread b("writer-b", [&] { slot.write(2); });
        a.join();
        b.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::data_race);
  // This access's step (the finding's), then the earlier racing access's; both on the variable.
  ASSERT_EQ(f.related_steps.size(), 2u) << f.message;
  EXPECT_EQ(f.related_steps[0], f.step);
  EXPECT_EQ(f.objects, (std::vector<std::string>{"var 'slot'"}));
  ASSERT_LE(f.related_steps[0], f.trace.size());
  ASSERT_LT(f.related_steps[1], f.related_steps[0]);
  const hc::RichStep& now = f.trace[f.related_steps[0] - 1];
  const hc::RichStep& earlier = f.trace[f.related_steps[1] - 1];
  EXPECT_EQ(now.operation, "var-write");
  EXPECT_EQ(now.object, "var 'slot'");
  EXPECT_EQ(earlier.operation, "var-write");
  EXPECT_EQ(earlier.object, "var 'slot'");
  EXPECT_NE(now.thread_name, earlier.thread_name);
  EXPECT_TRUE(contains(f.message, "thread '" + now.thread_name + "' writes it")) << f.message;
  EXPECT_TRUE(contains(f.message, "thread '" + earlier.thread_name + "' wrote it")) << f.message;
}

TEST(DataRace, AtomicMessagePassingOrdersThePayload) {
  const hc::Result r = hc::explore(
      [] {
        hc::var<int> payload{0, "payload"};
        hc::atomic<bool> ready{false, "ready"};
        hc::thread producer("producer", [&] {
          payload.write(42);
          ready.store(true);
        });
        hc::thread consumer("consumer", [&] {
          if (ready.load()) HC_CHECK(payload.read() == 42, "payload {}", payload.peek());
        });
        producer.join();
        consumer.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// A store that comes after the payload write, but is not the one the consumer read from,
// must not order the payload: here the consumer reads the flag's initial value path only.
TEST(DataRace, ReadingBeforeThePublishIsStillARaceOnThePayload) {
  const hc::Result r = hc::explore(
      [] {
        hc::var<int> payload{0, "payload"};
        hc::atomic<bool> ready{false, "ready"};
        hc::thread producer("producer", [&] {
          payload.write(42);
          ready.store(true);
        });
        hc::thread consumer("consumer", [&] {
          (void)ready.load();
          (void)payload.read();  // bug: reads whether or not ready was seen
        });
        producer.join();
        consumer.join();
      },
      exhaustive());
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::data_race);
  EXPECT_TRUE(contains(r.findings[0].message, "var 'payload'")) << r.findings[0].message;
}

// Vector clocks start at the first var an execution creates (Execution::start_clocks). A var
// created late, by a thread other than main, after both threads synchronised, is published
// through an atomic: no race.
TEST(DataRace, AVarCreatedLateAndPublishedDoesNotRace) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::atomic<bool> ready{false, "ready"};
        std::optional<hc::var<int>> late;
        hc::thread consumer("consumer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          if (ready.load()) HC_CHECK(late->read() == 42, "late {}", late->peek());
        });
        hc::thread producer("producer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          late.emplace(0, "late");
          late->write(42);
          ready.store(true);
        });
        consumer.join();
        producer.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// The same var read without looking at the flag races with its write, although the two threads
// synchronised (through the mutex, in either order) before the var existed: that earlier
// ordering must not order the later accesses.
TEST(DataRace, SynchronisationBeforeAVarExistsDoesNotOrderItsAccesses) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::atomic<bool> ready{false, "ready"};
        std::optional<hc::var<int>> late;
        bool created = false;  // plain C++: lets the consumer touch the var only once it exists
        hc::thread consumer("consumer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          (void)ready.load();
          if (created) (void)late->read();  // bug: whether or not ready was seen
        });
        hc::thread producer("producer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          late.emplace(0, "late");
          created = true;
          late->write(42);
          ready.store(true);
        });
        consumer.join();
        producer.join();
      },
      exhaustive());
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::data_race);
  EXPECT_TRUE(contains(r.findings[0].message, "var 'late'")) << r.findings[0].message;
}

/// Two executions on one Execution: the first lets the producer run to the end (the consumer
/// then reads the var after seeing the flag, so its clock learns the producer's), the second
/// stops the producer before it publishes and lets the consumer read unsynchronised.
class PublishThenRace final : public hc::Strategy {
 public:
  bool begin_execution() override { return ++execution_ <= 2; }
  std::optional<hc::ThreadId> pick_thread(const hc::Decision& d) override {
    hc::ThreadId producer = hc::kNoThread, other = hc::kNoThread;
    for (hc::ThreadMask m = d.enabled; m != 0; m &= m - 1) {
      const auto t = static_cast<hc::ThreadId>(std::countr_zero(m));
      (d.view.thread_name(t) == "producer" ? producer : other) = t;
    }
    if (producer == hc::kNoThread) return other;
    if (execution_ == 2 && other != hc::kNoThread &&
        d.view.pending(producer).kind == hc::OpKind::atomic_store)
      return other;
    return producer;
  }
  std::optional<std::uint32_t> pick_value(const hc::ValueDecision&) override { return 0u; }
  void end_execution(std::span<const hc::Step>, const hc::Verdict&) override {}
  std::string_view name() const override { return "publish-then-race"; }

 private:
  int execution_ = 0;
};

// Clocks start when the first var is created, in every execution afresh: what a thread's clock
// learnt in an earlier execution must not order this one's accesses (the second execution of
// PublishThenRace races, although in the first the consumer learnt a later producer clock).
TEST(DataRace, AnEarlierExecutionsClocksDoNotOrderTheNextOnes) {
  hc::ExploreOptions o = exhaustive();
  o.strategy_factory = [] { return std::make_unique<PublishThenRace>(); };
  o.check_determinism = false;  // the sampled re-run would replay with another strategy
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::atomic<bool> ready{false, "ready"};
        std::optional<hc::var<int>> late;
        bool written = false;  // plain C++: lets the consumer touch the var once it is written
        hc::thread consumer("consumer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          const bool seen = ready.load();
          if (seen || written) (void)late->read();  // bug: reads when written, seen or not
        });
        hc::thread producer("producer", [&] {
          { std::lock_guard<hc::mutex> guard(m); }
          late.emplace(0, "late");
          late->write(42);
          written = true;
          ready.store(true);
        });
        consumer.join();
        producer.join();
      },
      o);
  EXPECT_EQ(r.stats.executions, 2u);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::data_race);
  EXPECT_TRUE(contains(r.findings[0].message, "var 'late'")) << r.findings[0].message;
}

/// Three executions on one Execution, shaped by a choice: four threads, the second of which
/// learns the fourth's clock after many steps (it joins it) and then fails a check, so that
/// main never learns it; two threads and no var (clocks off); four threads again, where the
/// fourth writes a var the second then reads with no synchronisation. Runs the lowest enabled
/// thread, the highest in the third execution.
class StaleEntryAboveAShorterExecution final : public hc::Strategy {
 public:
  bool begin_execution() override { return ++execution_ <= 3; }
  std::optional<hc::ThreadId> pick_thread(const hc::Decision& d) override {
    return static_cast<hc::ThreadId>(execution_ == 3 ? 31 - std::countl_zero(d.enabled)
                                                     : std::countr_zero(d.enabled));
  }
  std::optional<std::uint32_t> pick_value(const hc::ValueDecision&) override {
    return static_cast<std::uint32_t>(execution_ - 1);
  }
  void end_execution(std::span<const hc::Step>, const hc::Verdict&) override {}
  std::string_view name() const override { return "stale-entry"; }

 private:
  int execution_ = 0;
};

// A reused thread slot's clock must not keep an entry of a thread beyond the last execution's
// count: the second execution, with two threads and its clocks off, clears nothing, and the
// second slot's entry for thread 3 from the first would order the third execution's write by
// thread 3 (spawned from main, whose entry is small) before the read.
TEST(DataRace, AnEntryFromAnExecutionWithMoreThreadsDoesNotOrderALaterOne) {
  hc::ExploreOptions o = exhaustive();
  o.strategy_factory = [] { return std::make_unique<StaleEntryAboveAShorterExecution>(); };
  o.check_determinism = false;
  o.stop_at_first = false;
  const hc::Result r = hc::explore(
      [] {
        const std::uint32_t shape = hc::choose(3, "shape");
        hc::atomic<int> x{0, "x"};
        if (shape == 1) {
          hc::thread one("one", [&] { x.fetch_add(1); });
          return;
        }
        hc::var<int> v{0, "v"};  // clocks on
        std::optional<hc::thread> fourth;
        hc::thread second("second", [&] {
          (void)x.load();
          if (shape == 0) {
            fourth->join();  // learns the fourth thread's clock, far ahead
            HC_CHECK(false, "ends the execution before main joins this thread");
          } else {
            (void)v.read();  // after the fourth's write (highest first), unsynchronised
          }
        });
        hc::thread third("third", [] {});
        fourth.emplace("fourth", [&] {
          if (shape == 0) {
            for (int i = 0; i < 20; ++i)
              x.fetch_add(1);
          } else {
            v.write(1);
          }
        });
        second.join();
        third.join();
      },
      o);
  EXPECT_EQ(r.stats.executions, 3u);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_EQ(r.findings[1].kind, hc::FindingKind::data_race);
  EXPECT_EQ(r.findings[1].execution, 2u);
  EXPECT_TRUE(contains(r.findings[1].message, "var 'v'")) << r.findings[1].message;
}

TEST(DataRace, AccessesUnderOneLockDoNotRace) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        hc::var<int> v{0, "v"};
        auto touch = [&] {
          std::lock_guard<hc::mutex> guard(m);
          v.write(v.read() + 1);
        };
        hc::thread a("A", touch);
        hc::thread b("B", touch);
        a.join();
        b.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Deadlock, ReportsWhatEachThreadWaitsForAndTheCycle) {
  const hc::Result r = hc::explore(hc::test::abba_deadlock, exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock);
  EXPECT_TRUE(contains(f.message, "thread 'one' waits to lock mutex 'B', held by thread 'two'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'two' waits to lock mutex 'A', held by thread 'one'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'main' waits to join thread 'one'")) << f.message;
  EXPECT_TRUE(contains(f.message, "wait-for cycle: 'one' -> 'two' -> 'one'")) << f.message;
}

// A deadlock is about the objects its threads wait for, listed in the order the trace first
// touched them (A, locked first, then B), whatever order the message names them in.
TEST(Deadlock, TheFindingIsAboutTheLocksItsThreadsWaitFor) {
  const hc::Result r = hc::explore(hc::test::abba_deadlock, exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::deadlock);
  EXPECT_EQ(f.objects, (std::vector<std::string>{"mutex 'A'", "mutex 'B'"})) << f.message;
  EXPECT_TRUE(f.related_steps.empty()) << f.message;  // the message names no step
}

TEST(Deadlock, RelockingAHeldMutexIsASelfCycle) {
  const hc::Result r = hc::explore(
      [] {
        hc::mutex m("m");
        m.lock();
        m.lock();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::deadlock);
  EXPECT_TRUE(contains(r.findings[0].message, "to lock mutex 'm', which it already holds"));
  EXPECT_TRUE(contains(r.findings[0].message, "wait-for cycle: 'main' -> 'main'"));
}

TEST(StepBound, ASpinLoopWithoutProgressExceedsTheBound) {
  hc::ExploreOptions o = exhaustive();
  o.max_steps = 500;
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<bool> never{false, "never"};
        while (!never.load()) {
        }
      },
      o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::step_bound_exceeded);
  EXPECT_TRUE(contains(f.message, "ran 500 steps without finishing (--max-steps 500)"));
  EXPECT_TRUE(contains(f.message,
                       "thread 'main' took 500 of the last 500, mostly atomic-load of "
                       "atomic 'never'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "hc::this_thread::yield()"));
}

// With yield in the loop the spinner gives way until the other thread writes: dfs terminates.
TEST(StepBound, YieldingSpinWaitsTerminateUnderExhaustiveSearch) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<bool> flag{false, "flag"};
        hc::thread setter("setter", [&] { flag.store(true); });
        while (!flag.load())
          hc::this_thread::yield();
        setter.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_LE(r.stats.executions, 4u);
}

}  // namespace

namespace {

// Two spin-waits that wait for each other: both yield, nobody ever writes. Fair scheduling
// cannot help; the livelock finding names both threads instead of running into the step bound.
TEST(Livelock, TwoSpinWaitsWaitingForEachOther) {
  const hc::Result r = hc::explore(hc::test::mutual_spin_wait, exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::livelock);
  EXPECT_TRUE(contains(f.message,
                       "livelock: for 101 scheduling points every runnable thread has "
                       "yielded and no thread has written shared state"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'a' at ")) << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'b' at ")) << f.message;
}

// One spin-wait whose setter comes eventually is no livelock: it terminates (exhaustively).
TEST(Livelock, ASpinWaitWithAWriterIsNotOne) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<bool> ready{false, "ready"};
        hc::thread setter("setter", [&] { ready.store(true); });
        while (!ready.load())
          hc::this_thread::yield();
        setter.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

}  // namespace

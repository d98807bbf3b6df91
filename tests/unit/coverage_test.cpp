// Coverage of conflicting operations: Result::covered_pairs / one_order_pairs and the
// must_cover goals (explore/coverage.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <source_location>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

/// Exhaustive dfs with coverage recorded (off by default in the API; the CLI turns it on).
hc::ExploreOptions exhaustive() {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.coverage = true;
  return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string listing(const hc::Result& r) {
  std::string out = "both orders:";
  for (const std::string& p : r.covered_pairs)
    out += " [" + p + "]";
  out += "; one order:";
  for (const std::string& p : r.one_order_pairs)
    out += " [" + p + "]";
  return out;
}

/// An object of a model, as models announce theirs: every operation a labelled model_op.
struct Handle {
  hc::ObjectId id = hc::rt::register_object(hc::ObjectKind::model, "handle");
  void op(hc::Access access, const char* label,
          const std::source_location& where = std::source_location::current()) const {
    hc::rt::model_op(access, id, label, where);
  }
};

/// Dispose on one thread races DangerousAddRef and a read of the handle on another; a second
/// object only read by both threads.
void dispose_races_addref() {
  Handle h;
  Handle other;
  hc::thread user("user", [&] {
    h.op(hc::Access::read_write, "DangerousAddRef");
    h.op(hc::Access::read, "DangerousGetHandle");
    other.op(hc::Access::read, "IsInvalid");
  });
  hc::thread owner("owner", [&] {
    h.op(hc::Access::write, "Dispose");
    other.op(hc::Access::read, "IsClosed");
  });
  user.join();
  owner.join();
}

/// Dispose, then a join, then DangerousGetHandle: only one order is possible.
void join_orders_them() {
  Handle h;
  hc::thread owner("owner", [&] { h.op(hc::Access::write, "Dispose"); });
  owner.join();
  hc::thread user("user", [&] { h.op(hc::Access::read, "DangerousGetHandle"); });
  user.join();
}

TEST(Coverage, RacingOperationsAreSeenInBothOrders) {
  const hc::Result r = hc::explore(dispose_races_addref, exhaustive());
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(contains(r.covered_pairs, "DangerousAddRef <> Dispose")) << listing(r);
  EXPECT_TRUE(contains(r.covered_pairs, "DangerousGetHandle <> Dispose")) << listing(r);
  // Same thread, or two reads: never a pair.
  EXPECT_FALSE(contains(r.covered_pairs, "DangerousAddRef <> DangerousGetHandle")) << listing(r);
  EXPECT_FALSE(contains(r.covered_pairs, "IsClosed <> IsInvalid")) << listing(r);
  EXPECT_TRUE(r.one_order_pairs.empty()) << listing(r);
  EXPECT_TRUE(std::is_sorted(r.covered_pairs.begin(), r.covered_pairs.end()));
}

TEST(Coverage, ACoveredGoalIsNoFindingEitherWayRound) {
  hc::ExploreOptions o = exhaustive();
  o.coverage = true;
  o.must_cover = {"Dispose <> DangerousAddRef", "DangerousGetHandle<>Dispose"};
  const hc::Result r = hc::explore(dispose_races_addref, o);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Coverage, AJoinLeavesOneOrderAndAGoalOnItIsUnreached) {
  hc::ExploreOptions o = exhaustive();
  o.coverage = true;
  const hc::Result plain = hc::explore(join_orders_them, o);
  EXPECT_TRUE(plain.findings.empty());
  EXPECT_TRUE(contains(plain.one_order_pairs, "Dispose -> DangerousGetHandle")) << listing(plain);
  EXPECT_FALSE(contains(plain.covered_pairs, "DangerousGetHandle <> Dispose")) << listing(plain);

  o.must_cover = {"DangerousGetHandle <> Dispose"};
  const hc::Result r = hc::explore(join_orders_them, o);
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::unreached);
  EXPECT_EQ(f.signature, "unreached|cover|DangerousGetHandle <> Dispose");
  EXPECT_EQ(f.message,
            "'DangerousGetHandle <> Dispose' was never covered: no execution of 1 (the whole "
            "search space) ran DangerousGetHandle and Dispose on one object from two threads in "
            "both orders (only Dispose -> DangerousGetHandle was seen)");

  o.must_cover = {"Dispose <> CloseHandle"};
  const hc::Result never = hc::explore(join_orders_them, o);
  ASSERT_EQ(never.findings.size(), 1u);
  EXPECT_NE(never.findings.front().message.find("(neither order was seen)"), std::string::npos)
      << never.findings.front().message;
}

TEST(Coverage, PrimitivesAreNamedByTheirFamily) {
  const hc::Result r = hc::explore(
      [] {
        hc::atomic<int> x{0, "x"};
        hc::mutex m("m");
        auto bump = [&] {
          m.lock();
          x.store(x.load() + 1);
          m.unlock();
        };
        hc::thread a("a", bump);
        hc::thread b("b", bump);
        a.join();
        b.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(contains(r.covered_pairs, "atomic.load <> atomic.store")) << listing(r);
  EXPECT_TRUE(contains(r.covered_pairs, "atomic.store <> atomic.store")) << listing(r);
  EXPECT_TRUE(contains(r.covered_pairs, "mutex.lock <> mutex.unlock")) << listing(r);
  EXPECT_FALSE(contains(r.covered_pairs, "atomic.load <> atomic.load")) << listing(r);
}

TEST(Coverage, ParallelWorkersUniteTheirCoverage) {
  const hc::Result one = hc::explore(dispose_races_addref, exhaustive());
  hc::ExploreOptions o = exhaustive();
  o.coverage = true;
  o.jobs = 2;
  o.split_depth = 1;
  const hc::Result two = hc::explore(dispose_races_addref, o);
  EXPECT_EQ(two.stats.executions, one.stats.executions);
  EXPECT_EQ(two.covered_pairs, one.covered_pairs);
  EXPECT_EQ(two.one_order_pairs, one.one_order_pairs);
}

/// Three threads, several operations on two objects, one of them only read by two threads.
void three_threads() {
  Handle h;
  Handle table;
  hc::thread a("a", [&] {
    h.op(hc::Access::read_write, "DangerousAddRef");
    table.op(hc::Access::read, "lookup");
    h.op(hc::Access::read_write, "DangerousRelease");
  });
  hc::thread b("b", [&] {
    table.op(hc::Access::write, "CloseHandle");
    h.op(hc::Access::write, "Dispose");
  });
  hc::thread c("c", [&] {
    table.op(hc::Access::read, "lookup");
    h.op(hc::Access::read, "IsClosed");
  });
  a.join();
  b.join();
  c.join();
}

TEST(Coverage, SameWhateverTheOrderOfExecutions) {
  // dfs and dpor reuse the prefix each execution shares with the one before; random starts
  // afresh almost every time. With enough executions they see the same pairs.
  const hc::Result dfs = hc::explore(three_threads, exhaustive());
  ASSERT_TRUE(dfs.stats.exhausted);
  EXPECT_TRUE(contains(dfs.covered_pairs, "CloseHandle <> lookup")) << listing(dfs);
  EXPECT_TRUE(contains(dfs.covered_pairs, "DangerousRelease <> Dispose")) << listing(dfs);
  EXPECT_TRUE(contains(dfs.covered_pairs, "Dispose <> IsClosed")) << listing(dfs);
  EXPECT_FALSE(contains(dfs.covered_pairs, "lookup <> lookup")) << listing(dfs);
  EXPECT_FALSE(contains(dfs.covered_pairs, "IsClosed <> lookup")) << listing(dfs);  // 2 objects
  hc::ExploreOptions o = exhaustive();
  o.coverage = true;
  o.strategy = "dpor";
  const hc::Result dpor = hc::explore(three_threads, o);
  EXPECT_EQ(dpor.covered_pairs, dfs.covered_pairs);
  EXPECT_EQ(dpor.one_order_pairs, dfs.one_order_pairs);
  hc::ExploreOptions random_options = hc::test::random_runs(3000, 7);
  random_options.coverage = true;
  const hc::Result random = hc::explore(three_threads, random_options);
  EXPECT_EQ(random.covered_pairs, dfs.covered_pairs);
  EXPECT_EQ(random.one_order_pairs, dfs.one_order_pairs);
}

TEST(Coverage, OffRecordsNothing) {
  hc::ExploreOptions o = exhaustive();
  o.coverage = false;
  const hc::Result r = hc::explore(dispose_races_addref, o);
  EXPECT_TRUE(r.covered_pairs.empty());
  EXPECT_TRUE(r.one_order_pairs.empty());
}

TEST(Coverage, AMalformedGoalIsAUsageError) {
  hc::ExploreOptions o = exhaustive();
  o.coverage = true;
  o.must_cover = {"Dispose and DangerousAddRef"};
  try {
    hc::explore(dispose_races_addref, o);
    FAIL() << "a goal without '<>' must be rejected";
  } catch (const hc::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("must_cover goal 'Dispose and DangerousAddRef'"),
              std::string::npos)
        << e.what();
  }
}

void scenario_body() {
  join_orders_them();
}

TEST(Coverage, ScenarioGoalsBecomeOptions) {
  const hc::Scenario s{hc::ScenarioInfo{.name = "test/cover", .must_cover = {"A <> B"}},
                       &scenario_body, std::source_location::current()};
  const hc::ExploreOptions o = hc::options_for(s, {});
  EXPECT_EQ(o.must_cover, std::vector<std::string>{"A <> B"});
}

// The catalogue's fixed raw-value scenario only counts as clean once the raw use and the
// Dispose ran both ways round: a budget too small for that is an `unreached` finding.
TEST(Coverage, ACatalogueGoalFailsATooSmallBudget) {
  const hc::Scenario* s = hc::find_scenario("safehandle/raw-value-after-dispose.fixed");
  ASSERT_NE(s, nullptr);
  hc::OptionOverrides small;
  small.set(&hc::RunSettings::max_executions, 3);
  const hc::ScenarioOutcome cut = hc::run_scenario(*s, hc::options_for(*s, small));
  EXPECT_FALSE(cut.as_expected);
  ASSERT_EQ(cut.result.findings.size(), 1u);
  EXPECT_EQ(cut.result.findings[0].kind, hc::FindingKind::unreached);
  EXPECT_NE(cut.result.findings[0].message.find(
                "'DangerousGetHandle <> GC.SuppressFinalize' was never covered"),
            std::string::npos)
      << cut.result.findings[0].message;
  const hc::ScenarioOutcome whole = hc::run_scenario(*s, hc::options_for(*s, {}));
  EXPECT_TRUE(whole.as_expected) << whole.explanation;
  EXPECT_TRUE(contains(whole.result.covered_pairs, "DangerousGetHandle <> GC.SuppressFinalize"));
}

}  // namespace

// engine_bench — the engine's hot path, measured:
//   BM_RawFiberSwitch        one Boost.Context fiber switch (the physical floor), per switch
//   BM_PingPongSchedulingPoint  two threads alternating on an hc::atomic: ns per scheduling
//                            point when every step switches threads (the worst case)
//   BM_DfsExhaust3x5         executions/s exhausting 3 threads x 5 atomic steps under dfs
//                            (756,756 executions = 15! / (5!)^3)
//   BM_FixedCostTwoIdleThreads  ns per execution of a body that spawns two threads that do
//                            nothing and joins them: the fixed cost of an execution and of the
//                            thread life cycle (spawn, first run, exit, teardown), no decisions
// Run: build/bench/hc_bench_engine  (figures are printed; targets are in the README)
#include <benchmark/benchmark.h>

#include <bit>

#include <boost/context/fiber.hpp>

#include "hc/hc.hpp"

namespace {

namespace ctx = boost::context;

void BM_RawFiberSwitch(benchmark::State& state) {
  bool stop = false;
  ctx::fiber f{[&stop](ctx::fiber&& caller) {
    while (!stop)
      caller = std::move(caller).resume();
    return std::move(caller);
  }};
  for (auto _ : state) {
    f = std::move(f).resume();  // two switches: there and back
  }
  stop = true;
  f = std::move(f).resume();
  state.SetItemsProcessed(state.iterations() * 2);
  state.counters["ns/switch"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 2),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RawFiberSwitch);

/// Always switches to another enabled thread: every scheduling point is a fiber switch.
class AlternatingStrategy final : public hc::Strategy {
 public:
  bool begin_execution() override { return !std::exchange(ran_, true); }
  std::optional<hc::ThreadId> pick_thread(const hc::Decision& d) override {
    const hc::ThreadMask others = d.enabled & ~(hc::ThreadMask{1} << d.current);
    return static_cast<hc::ThreadId>(std::countr_zero(others != 0 ? others : d.enabled));
  }
  std::optional<std::uint32_t> pick_value(const hc::ValueDecision&) override { return 0u; }
  void end_execution(std::span<const hc::Step>, const hc::Verdict&) override {}
  std::string_view name() const override { return "alternating"; }

 private:
  bool ran_ = false;
};

/// Runs the lowest enabled thread: the cheapest decision there is.
class LowestStrategy final : public hc::Strategy {
 public:
  bool begin_execution() override { return true; }
  std::optional<hc::ThreadId> pick_thread(const hc::Decision& d) override {
    return static_cast<hc::ThreadId>(std::countr_zero(d.enabled));
  }
  std::optional<std::uint32_t> pick_value(const hc::ValueDecision&) override { return 0u; }
  void end_execution(std::span<const hc::Step>, const hc::Verdict&) override {}
  std::string_view name() const override { return "lowest"; }
};

}  // namespace

namespace hc {
// The explorer takes strategies by name; the benchmark needs its own, so it drives an
// execution the way explore() does, through the same public pieces.
}  // namespace hc

#include "runtime/execution.hpp"

namespace {

void BM_PingPongSchedulingPoint(benchmark::State& state) {
  constexpr int kSteps = 1000;  // per thread: a long execution, and a trace that fits in L2
  hc::detail::ExecutionConfig config;
  config.max_steps = 4 * kSteps;
  hc::detail::Execution exec(config);
  const std::function<void()> body = [] {
    hc::atomic<int> ball{0, "ball"};
    auto player = [&] {
      for (int i = 0; i < kSteps; ++i)
        ball.fetch_add(1);
    };
    hc::thread a("ping", player);
    hc::thread b("pong", player);
    a.join();
    b.join();
  };
  std::uint64_t points = 0;
  for (auto _ : state) {
    AlternatingStrategy s;
    s.begin_execution();
    auto finding = exec.run(body, s);
    if (finding) state.SkipWithError(finding->message.c_str());
    points += exec.trace().size();
  }
  state.counters["ns/point"] = benchmark::Counter(
      static_cast<double>(points), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PingPongSchedulingPoint)->Unit(benchmark::kMicrosecond);

void BM_DfsExhaust3x5(benchmark::State& state) {
  const std::function<void()> body = [] {
    hc::atomic<int> x{0, "x"};
    auto worker = [&] {
      for (int i = 0; i < 5; ++i)
        x.fetch_add(1);
    };
    hc::thread a("a", worker);
    hc::thread b("b", worker);
    hc::thread c("c", worker);
    a.join();
    b.join();
    c.join();
  };
  hc::ExploreOptions o;
  o.strategy = "dfs";
  o.max_executions = 0;
  std::uint64_t executions = 0;
  for (auto _ : state) {
    const hc::Result r = hc::explore(body, o);
    if (r.stats.executions != 756756) state.SkipWithError("wrong execution count");
    executions += r.stats.executions;
  }
  state.counters["executions/s"] =
      benchmark::Counter(static_cast<double>(executions), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DfsExhaust3x5)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_FixedCostTwoIdleThreads(benchmark::State& state) {
  hc::detail::Execution exec(hc::detail::ExecutionConfig{});
  const std::function<void()> body = [] {
    hc::thread a("a", [] {});
    hc::thread b("b", [] {});
    a.join();
    b.join();
  };
  LowestStrategy s;
  for (auto _ : state) {
    auto finding = exec.run(body, s);
    if (finding) state.SkipWithError(finding->message.c_str());
  }
  state.counters["ns/execution"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FixedCostTwoIdleThreads);

}  // namespace

BENCHMARK_MAIN();

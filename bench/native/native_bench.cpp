// native_bench — handlecheck::native (unmodified C++ under the engine), measured:
//   BM_NativeEmptyExecution     executions/s of a native test whose body does nothing: the
//                               fixed cost of a native execution under hc::explore (random)
//   BM_NativeThreadAndAtomics   executions/s of a body that starts a std::thread, does 3
//                               std::atomic operations on each side and joins it
//   BM_NativeAtomicOp           ns per std::atomic fetch_add on one simulated thread (each a
//                               scheduling point, no switch: one thread)
//   BM_NativePlainAccess        ns per plain 8-byte load or store on one simulated thread
//                               (race-checked against the engine's happens-before, no
//                               scheduling point)
//   BM_HcAtomicOp               for comparison, the same loop on an hc::atomic<long> (the
//                               engine's own primitive, no tsan hook or address lookup)
//   BM_NativeEmptyExecutionOsThreads, BM_NativeThreadAndAtomicsOsThreads
//                               the first two on the os-threads substrate (an OS thread per
//                               simulated thread, passing a baton: native tests' default);
//                               rates per real second (the work is on other OS threads)
// The bodies are in bodies.cpp, compiled with -fsanitize=thread; this file is not instrumented.
// Run (pinned to one core, 5 repetitions; docs/benchmarks.md):
//   taskset -c 1 build/bench/hc_bench_native --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true       (one command line)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>

#include "bodies.hpp"
#include "hc/atomic.hpp"
#include "hc/explorer.hpp"
#include "hc/native.hpp"

namespace {

/// explore()'s defaults with random (seed 1), `executions` executions of `body`; fails the
/// benchmark on a finding or a short run. Returns the executions run.
std::uint64_t explore_native(benchmark::State& state, void (*body)(), std::uint64_t executions,
                             bool os_threads = false) {
  hc::ExploreOptions o;
  o.os_threads = os_threads;
  o.strategy = "random";
  o.seed = 1;
  o.max_executions = executions;
  const hc::Result r = hc::explore(hc::native::test_body(body), o);
  if (r.stats.executions != executions || !r.findings.empty())
    state.SkipWithError(r.findings.empty() ? "short run" : r.findings[0].message.c_str());
  return r.stats.executions;
}

/// One benchmark iteration is one explore() of kBatch executions (the per-explore set-up, its
/// Execution and watchdog thread, is amortised).
void executions_per_second(benchmark::State& state, void (*body)(), std::uint64_t batch,
                           bool os_threads = false) {
  std::uint64_t executions = 0;
  for (auto _ : state)
    executions += explore_native(state, body, batch, os_threads);
  state.counters["executions/s"] =
      benchmark::Counter(static_cast<double>(executions), benchmark::Counter::kIsRate);
}

/// ns per operation of a loop body: kLoopOps operations per execution, 20 executions per
/// iteration (the fixed cost of an execution is under 1% of it). `native` runs `body` through
/// hc::native::test_body, else as an hc:: body.
void ns_per_operation(benchmark::State& state, void (*body)(), const char* counter,
                      bool native = true) {
  constexpr std::uint64_t kExecutions = 20;
  std::uint64_t operations = 0;
  for (auto _ : state) {
    if (native) {
      operations += explore_native(state, body, kExecutions) * hc_bench_native::kLoopOps;
      continue;
    }
    hc::ExploreOptions o;
    o.strategy = "random";
    o.seed = 1;
    o.max_executions = kExecutions;
    const hc::Result r = hc::explore(body, o);
    if (r.stats.executions != kExecutions || !r.findings.empty())
      state.SkipWithError("a finding or a short run");
    operations += r.stats.executions * hc_bench_native::kLoopOps;
  }
  state.counters[counter] = benchmark::Counter(
      static_cast<double>(operations), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_NativeEmptyExecution(benchmark::State& state) {
  executions_per_second(state, &hc_bench_native::empty, 100000);
}
BENCHMARK(BM_NativeEmptyExecution)->Unit(benchmark::kMillisecond);

void BM_NativeThreadAndAtomics(benchmark::State& state) {
  executions_per_second(state, &hc_bench_native::thread_and_atomics, 20000);
}
BENCHMARK(BM_NativeThreadAndAtomics)->Unit(benchmark::kMillisecond);

void BM_NativeEmptyExecutionOsThreads(benchmark::State& state) {
  executions_per_second(state, &hc_bench_native::empty, 2000, true);
}
BENCHMARK(BM_NativeEmptyExecutionOsThreads)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NativeThreadAndAtomicsOsThreads(benchmark::State& state) {
  executions_per_second(state, &hc_bench_native::thread_and_atomics, 2000, true);
}
BENCHMARK(BM_NativeThreadAndAtomicsOsThreads)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NativeAtomicOp(benchmark::State& state) {
  ns_per_operation(state, &hc_bench_native::atomic_loop, "ns/op");
}
BENCHMARK(BM_NativeAtomicOp)->Unit(benchmark::kMillisecond);

void BM_NativePlainAccess(benchmark::State& state) {
  ns_per_operation(state, &hc_bench_native::plain_loop, "ns/access");
}
BENCHMARK(BM_NativePlainAccess)->Unit(benchmark::kMillisecond);

void hc_atomic_loop() {
  hc::atomic<long> x{0, "x"};
  for (int i = 0; i < hc_bench_native::kLoopOps; ++i)
    x.fetch_add(1);
}

void BM_HcAtomicOp(benchmark::State& state) {
  ns_per_operation(state, &hc_atomic_loop, "ns/op", false);
}
BENCHMARK(BM_HcAtomicOp)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// bodies.hpp — the plain C++ that hc_bench_native measures (bodies.cpp, compiled with
// -fsanitize=thread and run under handlecheck::native; native_bench.cpp drives it).
#pragma once

namespace hc_bench_native {

/// Operations per execution of the loop bodies.
inline constexpr int kLoopOps = 5000;

/// Does nothing: the fixed cost of a native execution.
void empty();
/// Starts a std::thread; the two threads each do three std::atomic operations; main joins it.
void thread_and_atomics();
/// kLoopOps std::atomic<long>::fetch_add on one simulated thread (each a scheduling point).
void atomic_loop();
/// kLoopOps plain 8-byte stores and loads (half each) on heap memory of one simulated thread,
/// each race-checked, none a scheduling point.
void plain_loop();

}  // namespace hc_bench_native

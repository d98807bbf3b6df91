// bodies.cpp — compiled with -fsanitize=thread (bench/CMakeLists.txt): every atomic and every
// plain access below calls handlecheck::native's hooks, as a user's code under test does.
#include "bodies.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace hc_bench_native {

void empty() {}

void thread_and_atomics() {
  std::atomic<int> x{0};
  std::atomic<bool> flag{false};
  std::thread t([&] {
    x.fetch_add(1);
    flag.store(true);
    x.fetch_add(1);
  });
  x.fetch_add(1);
  (void)flag.load();
  (void)x.load();
  t.join();
}

void atomic_loop() {
  std::atomic<long> x{0};
  for (int i = 0; i < kLoopOps; ++i)
    x.fetch_add(1, std::memory_order_relaxed);
}

namespace {
std::vector<long>* g_sink = nullptr;  // keeps plain_loop's stores observable
}

void plain_loop() {
  std::vector<long> words(64, 0);
  g_sink = &words;
  for (int i = 0; i < kLoopOps / 2; ++i)
    words[i % 64] = words[(i + 1) % 64] + i;  // one load, one store
  g_sink = nullptr;
}

}  // namespace hc_bench_native

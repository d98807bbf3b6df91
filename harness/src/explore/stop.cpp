// stop.cpp — StopOnSignals: SIGINT/SIGTERM set a StopFlag (see hc/stop.hpp).
#include "hc/stop.hpp"

#include <time.h>

#include <csignal>
#include <cstdint>

namespace hc {
namespace {

std::atomic<StopFlag*> g_flag{nullptr};   // the flag of the live StopOnSignals
std::atomic<std::int64_t> g_first_ns{0};  // when the first signal came (CLOCK_MONOTONIC), or 0

// Signals within this long of the first are the same stop delivered twice: `timeout` and batch
// engines signal both the process and its process group.
constexpr std::int64_t kDuplicateWindowNs = 1'000'000'000;

extern "C" void on_stop_signal(int signal) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe; never decides a schedule
  const std::int64_t now = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec + 1;
  std::int64_t first = 0;
  if (g_first_ns.compare_exchange_strong(first, now)) {
    if (StopFlag* flag = g_flag.load(std::memory_order_relaxed)) flag->request(signal);
    return;
  }
  if (now - first < kDuplicateWindowNs) return;  // a duplicate of the first
  std::signal(signal, SIG_DFL);                  // a second one ends the process the usual way
  std::raise(signal);
}

}  // namespace

StopOnSignals::StopOnSignals(StopFlag& flag) {
  g_first_ns.store(0);
  g_flag.store(&flag);
  old_int_ = std::signal(SIGINT, on_stop_signal);
  old_term_ = std::signal(SIGTERM, on_stop_signal);
}

StopOnSignals::~StopOnSignals() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
  g_flag.store(nullptr);
}

}  // namespace hc

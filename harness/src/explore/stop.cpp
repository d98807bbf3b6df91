// stop.cpp — StopOnSignals: SIGINT/SIGTERM set a StopFlag (see hc/stop.hpp).
#include "hc/stop.hpp"

#include <csignal>

namespace hc {
namespace {

std::atomic<StopFlag*> g_flag{nullptr};  // the flag of the live StopOnSignals

extern "C" void on_stop_signal(int signal) {
  if (StopFlag* flag = g_flag.load(std::memory_order_relaxed)) flag->request(signal);
  std::signal(signal, SIG_DFL);  // a second one ends the process the usual way
}

}  // namespace

StopOnSignals::StopOnSignals(StopFlag& flag) {
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

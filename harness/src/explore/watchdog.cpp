// watchdog.cpp — see watchdog.hpp.
#include "explore/watchdog.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "runtime/execution.hpp"
#include "runtime/faults.hpp"

namespace hc::detail {
namespace {

using Clock = std::chrono::steady_clock;  // the watchdog's bound only: never decides a schedule
constexpr double kStopGrace = 0.2;        // seconds a stuck thread may delay a stop
constexpr auto kTick = std::chrono::milliseconds(50);

}  // namespace

Watchdog::Watchdog(double no_progress_seconds, std::function<bool()> should_stop)
    : bound_(no_progress_seconds), should_stop_(std::move(should_stop)) {
  thread_ = std::thread([this] { loop(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Watchdog::Watch::Watch(Watchdog& dog, Execution& exec) : dog_(dog), exec_(exec) {
  exec_.set_watchdog_seconds(dog_.bound_);
  std::lock_guard lock(dog_.mu_);
  dog_.watched_.push_back(Watched{&exec_, ::pthread_self(), exec_.heartbeat(), -1});
}

Watchdog::Watch::~Watch() {
  std::lock_guard lock(dog_.mu_);
  auto& w = dog_.watched_;
  w.erase(std::remove_if(w.begin(), w.end(), [this](const Watched& x) { return x.exec == &exec_; }),
          w.end());
}

void Watchdog::loop() {
  const Clock::time_point start = Clock::now();
  std::unique_lock lock(mu_);
  while (!done_) {
    wake_.wait_for(lock, kTick);
    if (done_) break;
    const double now = std::chrono::duration<double>(Clock::now() - start).count();
    const bool stop = should_stop_ && should_stop_();
    for (Watched& w : watched_) {
      const std::uint32_t beat = w.exec->heartbeat();
      if (beat != w.heartbeat || w.since < 0) {
        w.heartbeat = beat;
        w.since = now;
        continue;
      }
      if (!w.exec->running()) continue;
      const double stuck = now - w.since;
      FaultRecord::Cause cause;
      if (bound_ > 0 && stuck >= bound_) {
        cause = FaultRecord::Cause::no_progress;
      } else if (stop && stuck >= kStopGrace) {
        cause = FaultRecord::Cause::stop;
      } else {
        continue;
      }
      // Repeated every tick until the heartbeat moves: a signal that arrived while the thread
      // was briefly in host code is simply sent again.
      w.exec->request_interrupt(cause, beat);
      ::pthread_kill(w.thread, kInterruptSignal);
    }
  }
}

}  // namespace hc::detail

// hc/stop.hpp — stopping explorations early, with partial results: a StopFlag the caller owns
// and passes in ExploreOptions::stop, and StopOnSignals, which makes SIGINT/SIGTERM set it.
//
//   hc::StopFlag stop;
//   hc::StopOnSignals signals(stop);  // the CLI does this for the whole `run` command
//   options.stop = &stop;             // explore() returns with Stats::interrupted set
//
// The explorer never touches signal handlers itself: which signals stop what is the
// program's decision (the CLI's), not the library's.
#pragma once

#include <atomic>

namespace hc {

/// Set once to ask every exploration that watches it to stop; it stays set.
class StopFlag {
 public:
  void request(int why = 1) noexcept { why_.store(why == 0 ? 1 : why, std::memory_order_relaxed); }
  bool requested() const noexcept { return why_.load(std::memory_order_relaxed) != 0; }
  /// What asked: the signal number for StopOnSignals.
  int why() const noexcept { return why_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> why_{0};
};

/// While alive, the first SIGINT or SIGTERM sets `flag` instead of ending the process; a
/// second one, a second or more after the first, ends it as usual (one within a second is the
/// same stop delivered twice: `timeout`, Slurm and Kubernetes signal the process and its
/// group). Restores the previous handlers when destroyed. One at a time.
class StopOnSignals {
 public:
  explicit StopOnSignals(StopFlag& flag);
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  void (*old_int_)(int) = nullptr;
  void (*old_term_)(int) = nullptr;
};

}  // namespace hc

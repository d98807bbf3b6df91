// livelock.hpp — LivelockDetector: every runnable thread spins on hc::this_thread::yield()
// (or spurious wake-ups) and no thread writes shared state, so none can make progress.
//
// The yield fairness (who yielded since another thread last wrote) is the scheduler's, in
// Execution::choose_next; this detector counts what it sees.
//
// Protocol (Execution calls each directly; no virtual call):
//  * reset()                   at the start of each execution.
//  * at_decision(all_yielded)  at each scheduling decision: whether every enabled thread has
//                              yielded since another thread last wrote; true: more than `bound`
//                              such decisions in a row, and the execution ends with
//                              finding(exec, enabled).
//  * finding(exec, enabled)    the finding: each spinning thread and where it spins
//                              (detect/livelock.cpp).
// State: the bound (ExecutionConfig::livelock_bound; 0 = off) and `no_progress`, the decisions in
// a row at which every runnable thread had yielded.
#pragma once

#include <cstdint>

#include "hc/finding.hpp"
#include "hc/strategy.hpp"

namespace hc::detail {

class Execution;

struct LivelockDetector {
  std::uint32_t bound = 100;
  std::uint32_t no_progress = 0;

  void reset() noexcept { no_progress = 0; }
  [[nodiscard, gnu::always_inline]] bool at_decision(bool all_yielded) noexcept {
    if (!all_yielded) {
      no_progress = 0;
      return false;
    }
    return bound != 0 && ++no_progress > bound;
  }
  Finding finding(const Execution& exec, ThreadMask enabled) const;
};

}  // namespace hc::detail

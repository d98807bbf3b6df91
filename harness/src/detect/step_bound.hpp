// step_bound.hpp — StepBoundDetector: an execution that runs more steps than the bound
// (--max-steps, ExploreOptions::max_steps). It catches a spin-wait without a yield, a livelock
// the yield fairness cannot see, and a scenario merely longer than the bound (its message tells
// which, from the sites the busiest thread repeats).
//
// Protocol (Execution calls each directly; no virtual call):
//  * reset()          at the start of each execution.
//  * on_step(steps)   before each step is appended to the trace, with the number of steps so far;
//                     true: the bound is reached, and the execution ends with finding(exec)
//                     before the step runs.
//  * finding(exec)    the finding, from the finished trace (detect/step_bound.cpp).
// State: the bound only (from ExecutionConfig::max_steps); nothing per execution.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hc/finding.hpp"

namespace hc::detail {

class Execution;

struct StepBoundDetector {
  std::uint32_t max_steps = 10000;

  void reset() noexcept {}
  [[nodiscard, gnu::always_inline]] bool on_step(std::size_t steps) const noexcept {
    return steps >= max_steps;
  }
  Finding finding(const Execution& exec) const;
};

}  // namespace hc::detail

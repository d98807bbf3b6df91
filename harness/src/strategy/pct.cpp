// pct.cpp — `pct`: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
// ASPLOS 2010).
//
// Each execution gives every thread a random distinct priority when it first shows up (all
// above d), and picks d-1 change points uniformly among the first k steps; the enabled thread
// of highest priority always runs, and when the step count reaches the i-th change point the
// running thread's priority drops to d - i, below every priority so far. A bug of depth d is
// found by one execution with probability at least 1/(n k^(d-1)).
// Deviations: k is not known up front, so it is learned: the longest execution seen so far
// (starting from 64); threads are numbered as they appear, not known at the start, so a thread's
// priority is drawn at its first decision; k is learned afresh in every work unit of
// kExecutionsPerUnit executions (so a unit runs the same whoever owns it); value choices are
// uniform, as in `random`. Execution i is seeded from (seed, i) alone.
#include <algorithm>
#include <array>
#include <bit>
#include <memory>
#include <vector>

#include "hc/strategy.hpp"
#include "strategy/seeded_strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

class PctStrategy final : public SeededStrategy {
 public:
  explicit PctStrategy(const StrategyOptions& o)
      : SeededStrategy(o), depth_(std::max(o.pct_depth, 1)) {}

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    // Change points: the thread that ran the step before drops below every other.
    while (next_low_ < change_points_.size() && d.step >= change_points_[next_low_]) {
      // The i-th change point sends the running thread below every priority so far (d - i),
      // so that a later change point can switch back to a thread lowered earlier.
      if (d.current < kMaxThreads)
        priorities_[d.current] =
            static_cast<std::uint32_t>(depth_ - 1) - static_cast<std::uint32_t>(next_low_);
      ++next_low_;
    }
    ThreadId best = kNoThread;
    for (ThreadMask m = d.enabled; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      if (priorities_[t] == 0)
        priorities_[t] = static_cast<std::uint32_t>(depth_) + 1 + rng().below(1u << 20);
      if (best == kNoThread || priorities_[t] > priorities_[best]) best = t;
    }
    return best;
  }

  void end_execution(std::span<const Step> steps, const Verdict&) override {
    max_steps_ = std::max(max_steps_, static_cast<std::uint32_t>(steps.size()));
  }

  std::string_view name() const override { return "pct"; }

 private:
  void begin_seeded(std::uint64_t execution) override {
    // k is learned within a unit, so a unit explores the same executions whoever runs it.
    if (execution % kExecutionsPerUnit == 0) max_steps_ = 64;
    priorities_.fill(0);
    next_low_ = 0;
    change_points_.clear();
    for (int i = 1; i < depth_; ++i)
      change_points_.push_back(1 + rng().below(max_steps_));
    std::sort(change_points_.begin(), change_points_.end());
  }

  int depth_;
  std::uint32_t max_steps_ = 64;  // k, learned from the executions so far in this unit
  std::array<std::uint32_t, kMaxThreads> priorities_{};
  std::vector<std::uint32_t> change_points_;
  std::size_t next_low_ = 0;
};

}  // namespace

std::unique_ptr<Strategy> make_pct_strategy(const StrategyOptions& options) {
  return std::make_unique<PctStrategy>(options);
}

}  // namespace hc::detail

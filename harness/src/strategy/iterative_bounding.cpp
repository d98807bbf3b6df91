// iterative_bounding.cpp — `ipb`: iterative preemption bounding over `dfs` (CHESS: Musuvathi
// and Qadeer, "Iterative context bounding for systematic testing of multithreaded programs",
// PLDI 2007).
//
// Runs an exhaustive dfs with preemption bound 0, then 1, 2, ...: bugs that need few
// preemptions (most of them) are found after few executions, and the bound reached says how far
// the search got when a budget stops it. A round that explores no schedule with exactly its
// bound of preemptions ends the search: a larger bound would add nothing.
// Deviation: each round re-runs the schedules of the rounds before it (stateless search keeps
// no set of visited schedules); the executions of bound b are at most those of bound b + 1.
#include <memory>

#include "hc/strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

class IterativeBoundingStrategy final : public Strategy {
 public:
  IterativeBoundingStrategy() { restart(); }

  bool begin_execution() override {
    while (!dfs_->begin_execution()) {
      if (!used_bound_) return false;  // no schedule needed the whole bound: done
      ++bound_;
      restart();
    }
    preemptions_ = 0;
    return true;
  }
  std::optional<ThreadId> pick_thread(const Decision& d) override {
    const std::optional<ThreadId> t = dfs_->pick_thread(d);
    if (t && d.current_enabled && *t != d.current) ++preemptions_;
    return t;
  }
  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    return dfs_->pick_value(d);
  }
  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    if (preemptions_ == bound_) used_bound_ = true;
    dfs_->end_execution(steps, verdict);
  }
  std::string_view name() const override { return "ipb"; }
  StrategyStatistics statistics() const override { return {.bound_reached = bound_}; }

 private:
  void restart() {
    StrategyOptions options;
    options.preemption_bound = bound_;
    dfs_ = make_dfs_strategy(options);
    used_bound_ = false;
  }

  std::unique_ptr<Strategy> dfs_;
  int bound_ = 0;
  int preemptions_ = 0;
  bool used_bound_ = false;
};

}  // namespace

std::unique_ptr<Strategy> make_iterative_bounding_strategy(const StrategyOptions&) {
  return std::make_unique<IterativeBoundingStrategy>();
}

}  // namespace hc::detail

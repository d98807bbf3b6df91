// metrics.cpp — the metrics wrapper: counts the steps, context switches and preemptions of
// each execution around any strategy, so no strategy carries counters of its own. It watches
// whole executions only (end_execution): decisions go straight to the inner strategy
// (Strategy::decider), so the wrapper adds nothing per step.
#include <algorithm>
#include <memory>

#include "hc/strategy.hpp"

namespace hc {
namespace {

class MetricsStrategy final : public Strategy {
 public:
  MetricsStrategy(std::unique_ptr<Strategy> inner, Counts* last)
      : inner_(std::move(inner)), metrics_(last) {}

  bool begin_execution() override {
    *metrics_ = Counts{};
    return inner_->begin_execution();
  }
  std::optional<ThreadId> pick_thread(const Decision& d) override { return inner_->pick_thread(d); }
  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    return inner_->pick_value(d);
  }
  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    inner_->end_execution(steps, verdict);
    if (!inner_->last_execution().counted) {
      *metrics_ = Counts{.pruned = 1};
      return;
    }
    metrics_->executions = 1;
    metrics_->preemptions = verdict.preemptions;
    metrics_->steps = steps.size();
    metrics_->max_steps_in_execution = static_cast<std::uint32_t>(steps.size());
    for (std::size_t i = 1; i < steps.size(); ++i)
      metrics_->context_switches += steps[i].thread != steps[i - 1].thread;
  }
  std::string_view name() const override { return inner_->name(); }
  ExecutionTag last_execution() const override { return inner_->last_execution(); }
  bool splits_into_units() const override { return inner_->splits_into_units(); }
  std::optional<std::string> position() const override { return inner_->position(); }
  StrategyStatistics statistics() const override { return inner_->statistics(); }
  Strategy& decider() override { return inner_->decider(); }

 private:
  std::unique_ptr<Strategy> inner_;
  Counts* metrics_;  // the execution in progress, or the one that ended last
};

}  // namespace

std::unique_ptr<Strategy> make_metrics_strategy(std::unique_ptr<Strategy> inner, Counts* last) {
  return std::make_unique<MetricsStrategy>(std::move(inner), last);
}

}  // namespace hc

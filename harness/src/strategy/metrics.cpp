// metrics.cpp — the metrics wrapper: counts executions, steps, context switches and
// preemptions around any strategy, so no strategy carries counters of its own.
#include <algorithm>
#include <memory>

#include "hc/strategy.hpp"

namespace hc {
namespace {

class MetricsStrategy final : public Strategy {
 public:
  MetricsStrategy(std::unique_ptr<Strategy> inner, Metrics* metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  bool begin_execution() override { return inner_->begin_execution(); }
  ThreadId pick_thread(const Decision& d) override {
    const ThreadId t = inner_->pick_thread(d);
    if (d.current_enabled && t != d.current) ++metrics_->preemptions;
    return t;
  }
  std::uint32_t pick_value(std::uint32_t bound, const char* label,
                           std::string* divergence) override {
    return inner_->pick_value(bound, label, divergence);
  }
  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    inner_->end_execution(steps, verdict);
    if (!inner_->last_execution().counted) {
      ++metrics_->pruned;
      return;
    }
    ++metrics_->executions;
    metrics_->steps += steps.size();
    metrics_->max_steps_in_execution =
        std::max(metrics_->max_steps_in_execution, static_cast<std::uint32_t>(steps.size()));
    for (std::size_t i = 1; i < steps.size(); ++i)
      metrics_->context_switches += steps[i].thread != steps[i - 1].thread;
  }
  std::string_view name() const override { return inner_->name(); }
  ExecutionTag last_execution() const override { return inner_->last_execution(); }
  bool splits_into_units() const override { return inner_->splits_into_units(); }

 private:
  std::unique_ptr<Strategy> inner_;
  Metrics* metrics_;
};

}  // namespace

std::unique_ptr<Strategy> make_metrics_strategy(std::unique_ptr<Strategy> inner, Metrics* metrics) {
  return std::make_unique<MetricsStrategy>(std::move(inner), metrics);
}

}  // namespace hc

// estimate.hpp — KnuthEstimator: how many executions an exhaustive search will take.
//
// Knuth's random-probe estimator ("Estimating the efficiency of backtrack programs", Math.
// Comp. 1975): walk one random path from the root, multiplying the branching factors met on the
// way; the product is an unbiased estimate of the number of leaves (executions), and the mean
// of many probes converges to it. A probe is one execution under a strategy that picks
// uniformly and keeps that product; probes are seeded by their index, never by time, and are not
// counted. The estimate is of the full interleaving tree (dfs); dpor explores a fraction of it,
// so for dpor it is an upper bound.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <functional>
#include <optional>

#include "explore/observer.hpp"
#include "explore/watchdog.hpp"
#include "hc/strategy.hpp"
#include "runtime/execution.hpp"
#include "strategy/rng.hpp"

namespace hc::detail {

class KnuthEstimator {
 public:
  /// Runs one more probe of `body` on `exec`.
  void probe(Execution& exec, const std::function<void()>& body) {
    Probe s(probes_);
    s.begin_execution();
    (void)exec.run(body, s);
    sum_ += s.product;
    ++probes_;
  }
  std::uint64_t probes() const { return probes_; }
  /// The mean of the probes' products (0 before the first probe).
  double estimate() const { return probes_ == 0 ? 0 : sum_ / static_cast<double>(probes_); }

 private:
  class Probe final : public Strategy {
   public:
    explicit Probe(std::uint64_t index) { rng_.seed(0x6b6e757468ull, index); }
    bool begin_execution() override { return true; }
    std::optional<ThreadId> pick_thread(const Decision& d) override {
      const auto n = static_cast<std::uint32_t>(std::popcount(d.enabled));
      product *= n;
      ThreadMask m = d.enabled;
      for (std::uint32_t k = rng_.below(n); k > 0; --k)
        m &= m - 1;
      return static_cast<ThreadId>(std::countr_zero(m));
    }
    std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
      product *= d.bound;
      return rng_.below(d.bound);
    }
    void end_execution(std::span<const Step>, const Verdict&) override {}
    std::string_view name() const override { return "knuth-probe"; }

    double product = 1;

   private:
    Rng rng_;
  };

  double sum_ = 0;
  std::uint64_t probes_ = 0;
};

/// The estimator as an observer (worker 0 of an exhaustive run that reports progress): 16
/// probes up front, then one every 64 executions (about 1.5% more executions), on an Execution
/// of its own, so the worker's execution is never disturbed. The estimate goes to `*out`. Built
/// on the worker's OS thread; `dog` (the run's watchdog, if any) watches the probes as it
/// watches the worker: a probe stuck in a loop without scheduling points ends in no-progress.
class EstimatorObserver final : public ExecutionObserver {
 public:
  EstimatorObserver(const std::function<void()>& body, ExecutionConfig config,
                    std::atomic<double>* out, Watchdog* dog)
      : body_(body), exec_(std::move(config)), out_(out) {
    if (dog != nullptr) watch_.emplace(*dog, exec_);
  }
  void on_execution(const Execution&, std::uint64_t total) override {
    if (estimator_.probes() >= 16 && (total & 63) != 0) return;
    while (estimator_.probes() < 16)
      estimator_.probe(exec_, body_);
    if ((total & 63) == 0) estimator_.probe(exec_, body_);
    out_->store(estimator_.estimate());
  }

 private:
  const std::function<void()>& body_;
  Execution exec_;
  std::optional<Watchdog::Watch> watch_;  // after exec_: unwatched before it is destroyed
  KnuthEstimator estimator_;
  std::atomic<double>* out_;
};

}  // namespace hc::detail

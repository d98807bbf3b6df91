// seeded_strategy.hpp — SeededStrategy: the base of the strategies that draw from a seed
// (random, pct). It owns the seed, the execution index, the work units and the generator, so a
// seeded strategy keeps only its own logic:
//
//   class MyStrategy final : public SeededStrategy {
//     using SeededStrategy::SeededStrategy;
//     void begin_seeded(std::uint64_t execution) override { ... draw with rng() ... }
//     std::optional<ThreadId> pick_thread(const Decision& d) override { ... rng() ... }
//   };
//
// Execution i is seeded from (seed, i) alone, so unit u is simply executions
// [u * kExecutionsPerUnit, (u + 1) * kExecutionsPerUnit): begin_execution() skips the units the
// filter does not own (nothing has to run to skip one) and stops at the execution limit. Value
// choices are uniform unless a strategy overrides pick_value.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "hc/strategy.hpp"
#include "strategy/rng.hpp"

namespace hc::detail {

class SeededStrategy : public Strategy {
 public:
  explicit SeededStrategy(const StrategyOptions& o)
      : seed_(o.seed), owns_(o.owns_unit), max_(o.max_executions) {}

  bool begin_execution() final {
    if (!next_owned()) return false;
    rng_.seed(seed_, execution_);
    begin_seeded(execution_++);
    return true;
  }
  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    return rng_.below(d.bound);
  }
  void end_execution(std::span<const Step>, const Verdict&) override {}
  ExecutionTag last_execution() const final {
    return ExecutionTag{(execution_ - 1) / kExecutionsPerUnit, true};
  }
  bool splits_into_units() const final { return true; }

 protected:
  /// Called at the start of execution `execution`, with rng() freshly seeded from it.
  virtual void begin_seeded(std::uint64_t execution) = 0;
  Rng& rng() { return rng_; }

 private:
  /// Moves execution_ to the next execution this strategy runs; false when there is none.
  bool next_owned() {
    for (;;) {
      if (max_ != 0 && execution_ >= max_) return false;
      if (!owns_) return true;
      const std::uint64_t unit = execution_ / kExecutionsPerUnit;
      if (unit != checked_unit_) {
        checked_unit_ = unit;
        owned_ = owns_(unit);
      }
      if (owned_) return true;
      execution_ = (unit + 1) * kExecutionsPerUnit;
    }
  }

  std::uint64_t seed_;
  UnitFilter owns_;
  std::uint64_t max_;  // executions 0 .. max-1 (0: unbounded)
  std::uint64_t execution_ = 0;
  std::uint64_t checked_unit_ = ~std::uint64_t{0};
  bool owned_ = true;
  Rng rng_;
};

}  // namespace hc::detail

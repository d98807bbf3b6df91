// seeded_units.hpp — SeededUnits: the work units of the seeded strategies (random, pct).
//
// Execution i is seeded from (seed, i) alone, so unit u is simply executions
// [u * kExecutionsPerUnit, (u + 1) * kExecutionsPerUnit). next() skips the units a filter does
// not own and stops at the execution limit; nothing has to run to skip a unit.
#pragma once

#include <cstdint>
#include <utility>

#include "hc/strategy.hpp"

namespace hc::detail {

class SeededUnits {
 public:
  SeededUnits(UnitFilter owns, std::uint64_t max_executions)
      : owns_(std::move(owns)), max_(max_executions) {}

  /// Moves `execution` to the next one this strategy runs; false when there is none.
  bool next(std::uint64_t& execution) {
    for (;;) {
      if (max_ != 0 && execution >= max_) return false;
      if (!owns_) return true;
      const std::uint64_t unit = execution / kExecutionsPerUnit;
      if (unit != checked_unit_) {
        checked_unit_ = unit;
        owned_ = owns_(unit);
      }
      if (owned_) return true;
      execution = (unit + 1) * kExecutionsPerUnit;
    }
  }

  static ExecutionTag tag(std::uint64_t execution) {
    return ExecutionTag{execution / kExecutionsPerUnit, true};
  }

 private:
  UnitFilter owns_;
  std::uint64_t max_;
  std::uint64_t checked_unit_ = ~std::uint64_t{0};
  bool owned_ = true;
};

}  // namespace hc::detail

// strategies.hpp — constructors of the built-in strategies, one file each; the strategy table
// in registry.cpp (kStrategies) names them.
#pragma once

#include <cstdint>
#include <memory>

#include "hc/strategy.hpp"

namespace hc::detail {

std::unique_ptr<Strategy> make_random_strategy(const StrategyOptions& options);
std::unique_ptr<Strategy> make_dfs_strategy(int preemption_bound, UnitFilter owns = {},
                                            std::uint32_t split_depth = 0);
std::unique_ptr<Strategy> make_pct_strategy(const StrategyOptions& options);
/// optimal: Optimal-DPOR with wakeup trees ("dpor"); else Source-DPOR ("dpor-source").
std::unique_ptr<Strategy> make_dpor_strategy(bool optimal, UnitFilter owns = {},
                                             std::uint32_t split_depth = 0);
/// statistics().bound_reached follows the bound of the round running now.
std::unique_ptr<Strategy> make_iterative_bounding_strategy();

}  // namespace hc::detail

// strategies.hpp — constructors of the built-in strategies, one file each; the strategy table
// in registry.cpp (kStrategies) names them.
#pragma once

#include <memory>

#include "hc/strategy.hpp"

namespace hc::detail {

// Every factory has the signature of StrategyInfo::make.
std::unique_ptr<Strategy> make_dfs_strategy(const StrategyOptions& options);
/// Optimal-DPOR with wakeup trees ("dpor").
std::unique_ptr<Strategy> make_dpor_strategy(const StrategyOptions& options);
/// Source-DPOR ("dpor-source"): source sets and sleep sets, no wakeup trees.
std::unique_ptr<Strategy> make_source_dpor_strategy(const StrategyOptions& options);
/// Their shared searches for `workers` parallel workers (shared_search.hpp).
std::shared_ptr<SharedSearch> make_shared_dpor_search(const StrategyOptions& options, int workers);
std::shared_ptr<SharedSearch> make_shared_source_dpor_search(const StrategyOptions& options,
                                                             int workers);
/// statistics().bound_reached follows the bound of the round running now.
std::unique_ptr<Strategy> make_iterative_bounding_strategy(const StrategyOptions& options);
std::unique_ptr<Strategy> make_random_strategy(const StrategyOptions& options);
std::unique_ptr<Strategy> make_pct_strategy(const StrategyOptions& options);

}  // namespace hc::detail

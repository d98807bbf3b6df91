// strategies.hpp — constructors of the built-in strategies, one file each; the strategy table
// in registry.cpp (kStrategies) names them.
#pragma once

#include <memory>
#include <vector>

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

/// A replay strategy with no schedule yet and no inner strategy, to follow one schedule after
/// another (follow_schedule): the explorer's sampled determinism check re-runs one execution in
/// 64 with one, where a new strategy, a copy of the schedule and two new shapes per check cost
/// about 900 instructions, a third of a small execution (2,560 for a 2-thread protocol).
std::unique_ptr<Strategy> make_schedule_replay();
/// Makes `replay` (from make_schedule_replay) follow `schedule` in its next execution as
/// make_replay_strategy(schedule, nullptr) would: it takes the choices and leaves `schedule`
/// the previous ones' storage, so two vectors serve every check once they have grown.
void follow_schedule(Strategy& replay, std::vector<Choice>& schedule);

}  // namespace hc::detail

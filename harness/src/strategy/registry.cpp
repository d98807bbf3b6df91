// registry.cpp — strategies by their stable names.
#include "hc/strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc {

std::unique_ptr<Strategy> make_strategy(std::string_view name, const StrategyOptions& options) {
  const UnitFilter& owns = options.owns_unit;
  if (name == "random")
    return detail::make_random_strategy(options.seed, owns, options.max_executions);
  if (name == "dfs")
    return detail::make_dfs_strategy(options.preemption_bound, owns, options.split_depth);
  if (name == "dpor") return detail::make_dpor_strategy(true, owns, options.split_depth);
  if (name == "dpor-source") return detail::make_dpor_strategy(false, owns, options.split_depth);
  if (name == "pct")
    return detail::make_pct_strategy(options.seed, options.pct_depth, owns, options.max_executions);
  if (name == "ipb") return detail::make_iterative_bounding_strategy(options.bound_reached);
  return nullptr;  // "replay" needs a prefix: make_replay_strategy
}

std::vector<std::string_view> strategy_names() {
  return {"dfs", "dpor", "dpor-source", "ipb", "pct", "random", "replay"};
}

}  // namespace hc

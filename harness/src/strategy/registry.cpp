// registry.cpp — the strategy table: the one place that knows strategy names.
//
// A new strategy is one file under harness/src/strategy/ and one row here. The explorer reads
// a row's SearchKind (exhaustive, seeded, single), the CLI its help line, the README's strategy
// table is `handlecheck strategies --markdown` (a test checks it lists every row).
#include <algorithm>

#include "hc/strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc {
namespace {

constexpr StrategyInfo kStrategies[] = {
    {.name = "dfs",
     .kind = SearchKind::exhaustive,
     .help = "exhaustive depth-first search of the interleavings (optionally preemption-bounded)",
     .make = &detail::make_dfs_strategy},
    {.name = "dpor",
     .kind = SearchKind::exhaustive,
     .reduces = true,
     .help = "exhaustive with optimal dynamic partial-order reduction (source sets, sleep sets, "
             "wakeup trees; Abdulla et al., POPL 2014): one execution per Mazurkiewicz trace",
     .make = &detail::make_dpor_strategy,
     .make_shared_search = &detail::make_shared_dpor_search},
    {.name = "dpor-source",
     .kind = SearchKind::exhaustive,
     .reduces = true,
     .help = "the same paper's Source-DPOR: the same executions as dpor, plus some that sleep "
             "sets cut short",
     .make = &detail::make_source_dpor_strategy,
     .make_shared_search = &detail::make_shared_source_dpor_search},
    {.name = "ipb",
     .kind = SearchKind::exhaustive,
     .help = "iterative preemption bounding: dfs with bounds 0, 1, 2, ... in turn (the verdict "
             "reports the bound reached)",
     .make = &detail::make_iterative_bounding_strategy},
    {.name = "random",
     .kind = SearchKind::seeded,
     .help = "uniform random walk: execution i draws from a seed derived from (seed, i)",
     .make = &detail::make_random_strategy},
    {.name = "pct",
     .kind = SearchKind::seeded,
     .help = "probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) for bugs of "
             "depth --pct-depth",
     .make = &detail::make_pct_strategy},
    {.name = "replay",
     .kind = SearchKind::single,
     .help = "follow one schedule (--replay CHOICES or a replay file): one execution",
     .make = nullptr},
};

}  // namespace

std::span<const StrategyInfo> strategy_table() {
  return kStrategies;
}

const StrategyInfo* find_strategy(std::string_view name) {
  for (const StrategyInfo& row : kStrategies) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, const StrategyOptions& options) {
  const StrategyInfo* row = find_strategy(name);
  return row != nullptr && row->make != nullptr ? row->make(options) : nullptr;
}

std::vector<std::string_view> strategy_names() {
  std::vector<std::string_view> names;
  for (const StrategyInfo& row : kStrategies)
    names.push_back(row.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace hc

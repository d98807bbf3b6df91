// dpor.cpp — the strategies `dpor` (Optimal-DPOR) and `dpor-source` (Source-DPOR). The search
// is DporStrategy (dpor_search.hpp, with the algorithm and its deviations); parallel workers
// share its tree through SharedDpor (shared_dpor.cpp).
#include <memory>

#include "strategy/dpor_search.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

std::unique_ptr<Strategy> make_dpor(const StrategyOptions& options, bool optimal) {
  return std::make_unique<dpor::DporStrategy>(options, optimal,
                                              dpor::shared_dpor_of(options.shared_search));
}

}  // namespace

std::unique_ptr<Strategy> make_dpor_strategy(const StrategyOptions& options) {
  return make_dpor(options, true);
}

std::unique_ptr<Strategy> make_source_dpor_strategy(const StrategyOptions& options) {
  return make_dpor(options, false);
}

}  // namespace hc::detail

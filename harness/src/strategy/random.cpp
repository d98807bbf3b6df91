// random.cpp — `random`: uniform random scheduling.
//
// Every decision picks uniformly among the enabled threads; every hc::choose draws uniformly.
// Execution i is seeded from (seed, i) alone, so any execution of a run can be re-run by
// itself. This is the "random walk" baseline of the literature (e.g. shuttle's RandomScheduler);
// PCT (Burckhardt et al., ASPLOS 2010) refines it with priorities in a later strategy.
#include <bit>
#include <memory>

#include "hc/strategy.hpp"
#include "strategy/rng.hpp"
#include "strategy/seeded_units.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

class RandomStrategy final : public Strategy {
 public:
  RandomStrategy(std::uint64_t seed, UnitFilter owns, std::uint64_t max_executions)
      : seed_(seed), units_(std::move(owns), max_executions) {}

  bool begin_execution() override {
    if (!units_.next(execution_)) return false;
    rng_.seed(seed_, execution_++);
    return true;
  }
  ExecutionTag last_execution() const override { return units_.tag(execution_ - 1); }
  bool splits_into_units() const override { return true; }
  ThreadId pick_thread(const Decision& d) override {
    ThreadMask m = d.enabled;
    for (std::uint32_t k = rng_.below(static_cast<std::uint32_t>(std::popcount(m))); k > 0; --k)
      m &= m - 1;
    return static_cast<ThreadId>(std::countr_zero(m));
  }
  std::uint32_t pick_value(std::uint32_t bound, const char*, std::string*) override {
    return rng_.below(bound);
  }
  void end_execution(std::span<const Step>, const Verdict&) override {}
  std::string_view name() const override { return "random"; }

 private:
  std::uint64_t seed_;
  std::uint64_t execution_ = 0;
  SeededUnits units_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Strategy> make_random_strategy(std::uint64_t seed, UnitFilter owns,
                                               std::uint64_t max_executions) {
  return std::make_unique<RandomStrategy>(seed, std::move(owns), max_executions);
}

}  // namespace hc::detail

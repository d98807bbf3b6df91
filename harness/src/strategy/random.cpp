// random.cpp — `random`: uniform random scheduling.
//
// Every decision picks uniformly among the enabled threads; every hc::choose draws uniformly.
// Execution i is seeded from (seed, i) alone, so any execution of a run can be re-run by
// itself. This is the "random walk" baseline of the literature (e.g. shuttle's RandomScheduler);
// PCT (Burckhardt et al., ASPLOS 2010) refines it with priorities in a later strategy.
#include <array>
#include <bit>
#include <cstdint>
#include <memory>

#include "hc/strategy.hpp"
#include "strategy/seeded_strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

/// The number of threads in `m`. std::popcount is a call into libgcc on baseline x86-64 (no
/// POPCNT instruction), once per decision; this is a dozen inline instructions.
constexpr std::uint32_t count_threads(ThreadMask m) noexcept {
  m = m - ((m >> 1) & 0x55555555u);
  m = (m & 0x33333333u) + ((m >> 2) & 0x33333333u);
  return (((m + (m >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}
static_assert(count_threads(0) == 0 && count_threads(0xFFFFFFFFu) == 32 &&
              count_threads(0b1011) == 3);

/// kNthThread[m][k]: the k-th lowest thread (from 0) of the 8-bit mask m, for k below its
/// count. With the first eight threads (most scenarios) a pick is one load: the loop that
/// clears k bits ran a random number of times, and its exit mispredicted on most picks.
constexpr auto kNthThread = [] {
  std::array<std::array<std::uint8_t, 8>, 256> table{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned k = 0;
    for (unsigned t = 0; t < 8; ++t)
      if (((m >> t) & 1u) != 0) table[m][k++] = static_cast<std::uint8_t>(t);
  }
  return table;
}();
static_assert(kNthThread[0b1011][0] == 0 && kNthThread[0b1011][1] == 1 &&
              kNthThread[0b1011][2] == 3 && kNthThread[0x80][0] == 7);

class RandomStrategy final : public SeededStrategy {
 public:
  using SeededStrategy::SeededStrategy;

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    ThreadMask m = d.enabled;
    std::uint32_t k = rng().below(count_threads(m));
    if (m < kNthThread.size()) [[likely]]
      return static_cast<ThreadId>(kNthThread[m][k]);
    for (; k > 0; --k)
      m &= m - 1;
    return static_cast<ThreadId>(std::countr_zero(m));
  }
  std::string_view name() const override { return "random"; }

 private:
  void begin_seeded(std::uint64_t) override {}
};

}  // namespace

std::unique_ptr<Strategy> make_random_strategy(const StrategyOptions& options) {
  return std::make_unique<RandomStrategy>(options);
}

}  // namespace hc::detail

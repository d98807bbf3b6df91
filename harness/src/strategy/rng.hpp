// rng.hpp — the deterministic random source of randomized strategies: SplitMix64 to derive
// seeds, xoshiro256** to draw. No std::random_device, no wall clock: a (seed, execution index)
// pair always gives the same stream on every platform.
#pragma once

#include <cstdint>

namespace hc::detail {

inline constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // SplitMix64's increment

/// SplitMix64's output function.
constexpr std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  /// The stream of execution `index` of a run seeded with `seed`.
  /// (SplitMix64's four outputs from state `sm`, written out: the four mixes are independent,
  /// and the loop made each wait for the last; this runs once per execution.)
  void seed(std::uint64_t seed, std::uint64_t index) noexcept {
    const std::uint64_t sm = seed ^ (index * 0xD1B54A32D192ED03ull);
    s_[0] = mix(sm + kGolden);
    s_[1] = mix(sm + 2 * kGolden);
    s_[2] = mix(sm + 3 * kGolden);
    s_[3] = mix(sm + 4 * kGolden);
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n) (Lemire's multiply-shift; the tiny bias is irrelevant here).
  std::uint32_t below(std::uint32_t n) noexcept {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint32_t>((static_cast<u128>(next()) * n) >> 64);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4] = {1, 2, 3, 4};
};

}  // namespace hc::detail

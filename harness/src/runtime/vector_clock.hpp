// vector_clock.hpp — happens-before clocks: one counter per simulated thread, inline.
//
// Operations take the number of threads that exist in the execution, so they touch only the
// live prefix of the array; entries past it are zero.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "hc/operation.hpp"

namespace hc::detail {

struct VectorClock {
  std::array<std::uint32_t, kMaxThreads> c{};

  void join(const VectorClock& other, int n) noexcept {
    for (int i = 0; i < n; ++i) c[i] = std::max(c[i], other.c[i]);
  }
  void assign(const VectorClock& other, int n) noexcept {
    std::copy_n(other.c.begin(), n, c.begin());
  }
  void clear(int n) noexcept { std::fill_n(c.begin(), n, 0u); }
};

/// An access by `thread` at its clock value `clock`; clock 0 means "none".
struct Epoch {
  std::uint32_t clock = 0;
  ThreadId thread = kNoThread;
  std::uint32_t step = 0;
  std::source_location where{};

  /// True when the access is ordered before everything the holder of `vc` does next.
  bool happens_before(const VectorClock& vc) const noexcept { return clock <= vc.c[thread]; }
};

}  // namespace hc::detail

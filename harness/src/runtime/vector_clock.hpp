// vector_clock.hpp — happens-before clocks: one counter per simulated thread, inline.
//
// join() and assign() walk only the n threads that exist, element by element: an unsigned max
// does not vectorise on baseline x86-64, and a wide copy right after the step's 4-byte tick of
// the thread's own entry would stall on store forwarding. Entries of threads that do not exist
// yet are zero in every clock, so they need no work. An execution keeps clocks only from the
// first hc::var it creates (Execution::start_clocks: only the race detector reads them), so a
// scenario without vars pays nothing for them.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "hc/operation.hpp"

namespace hc::detail {

struct VectorClock {
  std::array<std::uint32_t, kMaxThreads> c{};

  void join(const VectorClock& other, int n) noexcept {
    for (int i = 0; i < n; ++i)
      c[i] = std::max(c[i], other.c[i]);
  }
  void assign(const VectorClock& other, int n) noexcept {
    for (int i = 0; i < n; ++i)
      c[i] = other.c[i];
  }
  void clear() noexcept { c.fill(0u); }
  /// Zeroes entries [from, to) one by one: the range is short (threads of one execution), and
  /// GCC would make the loop a memset call or a `rep stos`, whose start-up costs more.
  void clear(int from, int to) noexcept {
    for (int i = from; i < to; ++i) {
      c[i] = 0;
      asm("" : "+r"(i));  // keeps the loop a loop
    }
  }
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

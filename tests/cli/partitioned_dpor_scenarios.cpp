// A user's own scenario for cli:partitioned-dpor (tests/cli/partitioned_dpor.cmake), linked
// into a `handlecheck` of their own: a program dpor reduces to its Mazurkiewicz traces in one
// run, and whose shards pay for their fixed units in sleep-set blocked executions.
#include <deque>
#include <string>
#include <vector>

#include "hc/hc.hpp"

// lastzero(8) (Abdulla et al., POPL 2014): array[0..8] all 0; thread 0 scans
// `for (i = 8; array[i] != 0; i--);`, thread j in 1..8 does `array[j] = array[j-1] + 1`.
// (8 + 3) * 2^6 = 704 traces: dpor runs 704 executions and prunes none.
HC_SCENARIO("classic/lastzero-8", .tags = {"test"}, .expect = hc::clean,
            .summary =
                "thread 0 scans for the last zero while 8 threads each copy the cell "
                "before theirs, plus one") {
  constexpr int n = 8;
  std::deque<hc::atomic<int>> array;
  for (int i = 0; i <= n; ++i)
    array.emplace_back(0, "array[" + std::to_string(i) + "]");
  std::vector<hc::thread> threads;
  for (int k = 0; k <= n; ++k) {
    threads.emplace_back("T" + std::to_string(k), [&array, k] {
      if (k == 0) {
        for (int i = n; array[static_cast<std::size_t>(i)].load() != 0; --i) {
        }
      } else {
        const auto j = static_cast<std::size_t>(k);
        array[j].store(array[j - 1].load() + 1);
      }
    });
  }
  for (hc::thread& t : threads)
    t.join();
}

// A user's own scenarios for cli:fp-control (tests/cli/fp_control.cmake), linked into a
// `handlecheck` of their own as the README's "Testing your own code" shows: the floating-point
// control words, shared by the simulated threads on fibers unless --fp-env-per-thread.
#include <cfenv>

#include "hc/hc.hpp"

// A thread sets the rounding mode and leaves it set. Clean either way; on fibers sharing the
// control words, both executions leave them changed and the run says so in a note.
HC_SCENARIO("fp/rounding-mode-left-set", .tags = {"test"}, .expect = hc::clean,
            .summary = "a thread sets FE_UPWARD and never puts it back") {
  HC_CHECK(std::fegetround() == FE_TONEAREST, "the execution starts with rounding mode {}",
           std::fegetround());
  hc::atomic<int> x{0, "x"};
  hc::thread a("a", [&] {
    std::fesetround(FE_UPWARD);
    x.fetch_add(1);
  });
  hc::thread b("b", [&] { x.fetch_add(1); });
  a.join();
  b.join();
}

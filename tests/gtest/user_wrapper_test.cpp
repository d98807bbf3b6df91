// A user's own GoogleTest file, as the README's tutorial writes one: a wrapper whose protocol
// loses an update, checked with HC_EXPECT_CLEAN. It fails on purpose; it is not a ctest test
// itself. tests/gtest/replay_from_elsewhere.cmake runs it as a user would and checks what they
// see: the failure at this file's HC_EXPECT_CLEAN line without GoogleTest's "Value of:"
// wrapper, a replay file with a portable name, and a printed command that replays the finding
// from any directory.
#include "hc/gtest.hpp"

#include "hc/hc.hpp"

namespace {

// Two threads increment a shared counter with a load and a store: one update can be lost.
void lost_update() {
  hc::atomic<int> counter{0, "counter"};
  auto bump = [&] { counter.store(counter.load() + 1); };
  hc::thread a("a", bump);
  hc::thread b("b", bump);
  a.join();
  b.join();
  HC_CHECK(counter.peek() == 2, "lost update: counter is {}", counter.peek());
}

TEST(UserWrapper, CounterIsSafe) {
  HC_EXPECT_CLEAN(lost_update);  // the line the failure names
}

}  // namespace

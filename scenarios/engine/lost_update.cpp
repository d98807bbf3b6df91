// engine/lost-update — a read-modify-write split into a load and a store.
//
// Story: two threads bump a shared counter with `counter.store(counter.load() + 1)`. Each
// step is atomic, the pair is not: when both load before either stores, one increment is
// lost. The same shape loses a reference count increment in a hand-rolled AddRef, which is
// how a handle ends up released while still in use.
// Fix: one atomic read-modify-write (fetch_add), as InterlockedIncrement does.
#include "hc/hc.hpp"

namespace {

void bump_twice(bool atomic_increment) {
  hc::atomic<int> counter{0, "counter"};
  auto bump = [&] {
    if (atomic_increment) {
      counter.fetch_add(1);
    } else {
      const int seen = counter.load();
      counter.store(seen + 1);
    }
  };
  hc::thread a("inc-a", bump);
  hc::thread b("inc-b", bump);
  a.join();
  b.join();
  HC_CHECK(counter.peek() == 2, hc::about(counter),
           "lost update: counter is {} after two increments", counter.peek());
}

}  // namespace

HC_SCENARIO("engine/lost-update", .tags = {"engine", "demo"},
            .expect = hc::FindingKind::check_failure, .message = "lost update",
            .summary = "two threads increment with load+store; one increment is lost",
            .pattern = "engine demo", .source = "handlecheck") {
  bump_twice(false);
}

HC_SCENARIO("engine/lost-update.fixed", .tags = {"engine", "demo", "fixed"}, .expect = hc::clean,
            .summary = "the same with fetch_add: never loses an increment",
            .pattern = "engine demo", .source = "handlecheck") {
  bump_twice(true);
}

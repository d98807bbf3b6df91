// engine/spin-on-plain-flag — a wait loop on a plain bool never gives the setter a chance.
//
// Story: a worker waits for "handle ready" by spinning on a plain bool that another thread sets
// after it opened the handle. With real threads the loop may work by luck, or hang for ever once
// the compiler keeps the flag in a register; nothing in it is a synchronisation point. Under
// handlecheck the spinning thread never reaches a scheduling point, so the setter never runs:
// the watchdog ends that execution with a `no-progress` finding naming the thread and the last
// operation before the loop (see explore/watchdog.hpp), and the run goes on.
// Fix: the flag is an hc::atomic (std::atomic in production) and the loop yields, so the wait is
// visible to the scheduler and ordered with the setter's store.
#include "hc/hc.hpp"

HC_SCENARIO("engine/spin-on-plain-flag", .tags = {"engine", "demo"},
            .expect = hc::FindingKind::no_progress,
            .message = "thread 'waiter' ran for 0.02 s without reaching a scheduling point",
            .summary =
                "a waiter spins on a plain bool the opener sets: no scheduling point, "
                "a no-progress finding",
            .pattern = "engine demo", .source = "handlecheck", .watchdog_seconds = 0.02) {
  bool ready = false;  // plain: the bug
  hc::atomic<int> handle{0, "handle"};
  hc::thread waiter("waiter", [&] {
    (void)handle.load();  // an operation before the wait, so the loop starts mid-run
    while (!*static_cast<volatile bool*>(&ready)) {
    }
  });
  hc::thread opener("opener", [&] {
    handle.store(7);
    ready = true;
  });
  waiter.join();
  opener.join();
}

HC_SCENARIO("engine/spin-on-plain-flag.fixed", .tags = {"engine", "demo", "fixed"},
            .expect = hc::clean, .summary = "the flag is an hc::atomic and the wait loop yields",
            .pattern = "engine demo", .source = "handlecheck", .watchdog_seconds = 0.02) {
  hc::atomic<bool> ready{false, "ready"};
  hc::atomic<int> handle{0, "handle"};
  hc::thread waiter("waiter", [&] {
    (void)handle.load();
    while (!ready.load())
      hc::this_thread::yield();
  });
  hc::thread opener("opener", [&] {
    handle.store(7);
    ready.store(true);
  });
  waiter.join();
  opener.join();
}

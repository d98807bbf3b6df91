// engine/spin-without-yield — a spin-wait that never lets the awaited thread run.
//
// Story: a waiter takes the table lock and then spins on a flag, without yielding, until a
// setter raises it; the setter needs the same lock first. Once the waiter holds the lock it
// spins forever. The deadlock detector cannot see this (the spinner is always runnable); the
// step bound turns the non-termination into a finding. On a machine with one core, or when
// the spinner has the higher priority (the finalizer thread runs at THREAD_PRIORITY_HIGHEST),
// the same code hangs in production.
// Fix: wait without holding the lock, and yield in the spin loop.
#include "hc/hc.hpp"

namespace {

void spin_for_flag(bool fixed) {
  hc::mutex table("table");
  hc::atomic<bool> flag{false, "flag"};
  hc::thread waiter("waiter", [&] {
    if (fixed) {
      while (!flag.load())
        hc::this_thread::yield();
      table.lock();
      table.unlock();
    } else {
      table.lock();
      while (!flag.load()) {
      }
      table.unlock();
    }
  });
  hc::thread setter("setter", [&] {
    table.lock();
    flag.store(true);
    table.unlock();
  });
  waiter.join();
  setter.join();
}

}  // namespace

HC_SCENARIO("engine/spin-without-yield", .tags = {"engine", "demo"},
            .expect = hc::FindingKind::step_bound_exceeded, .message = "hc::this_thread::yield()",
            .max_steps = 2000,
            .summary = "spins on a flag under the lock the setter needs: never terminates",
            .pattern = "engine demo", .source = "handlecheck") {
  spin_for_flag(false);
}

HC_SCENARIO("engine/spin-without-yield.fixed", .tags = {"engine", "demo", "fixed"},
            .expect = hc::clean, .max_steps = 2000,
            .summary = "spins without the lock and yields: terminates on every schedule",
            .pattern = "engine demo", .source = "handlecheck") {
  spin_for_flag(true);
}

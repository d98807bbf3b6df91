// engine/abba-deadlock — two locks taken in opposite orders.
//
// Story: one thread locks A then B, another locks B then A (in the handle world: a
// destructor that takes the table lock then the object lock, racing a Close that takes them
// the other way round, DOMAIN.md B19). When each holds its first lock, both wait forever.
// Fix: one global lock order, here A before B everywhere.
#include "hc/hc.hpp"

namespace {

void two_lockers(bool same_order) {
  hc::mutex a("A");
  hc::mutex b("B");
  hc::thread t1("locks-A-then-B", [&] {
    a.lock();
    b.lock();
    b.unlock();
    a.unlock();
  });
  hc::thread t2("locks-B-then-A", [&] {
    hc::mutex& first = same_order ? a : b;
    hc::mutex& second = same_order ? b : a;
    first.lock();
    second.lock();
    second.unlock();
    first.unlock();
  });
  t1.join();
  t2.join();
}

}  // namespace

HC_SCENARIO("engine/abba-deadlock", .tags = {"engine", "demo"}, .expect = hc::FindingKind::deadlock,
            .message = "wait-for cycle",
            .summary = "two threads lock A,B and B,A: a wait-for cycle",
            .pattern = "engine demo (B19 shape)", .source = "handlecheck") {
  two_lockers(false);
}

HC_SCENARIO("engine/abba-deadlock.fixed", .tags = {"engine", "demo", "fixed"}, .expect = hc::clean,
            .summary = "both lock A before B: no cycle", .pattern = "engine demo (B19 shape)",
            .source = "handlecheck") {
  two_lockers(true);
}

// The consumer's native scenario pair (handlecheck::native from the package, hc_add_native_test):
// plain C++ compiled with -fsanitize=thread, a hit counter bumped by two std::threads — a plain
// long (a data race, reported with this file's lines) and its fix, a std::atomic<long>.
#include <atomic>
#include <thread>

#include "hc/native.hpp"

namespace {

template <class Count>
long count_two_hits() {
  Count hits{0};
  auto hit = [&hits] { hits += 1; };
  std::thread a(hit);
  std::thread b(hit);
  a.join();
  b.join();
  return hits;
}

}  // namespace

HC_NATIVE_TEST("consumer/native-hits", .expect = hc::FindingKind::data_race,
               .message = "native.cpp:",
               .summary = "two threads bump a plain long: the increments race") {
  (void)count_two_hits<long>();
}

HC_NATIVE_TEST("consumer/native-hits.fixed", .summary = "the counter is a std::atomic<long>") {
  (void)count_two_hits<std::atomic<long>>();
}

// process_wide.hpp — ProcessWide<T>: the process's one T, for state that outlives explorations
// (the watchdog thread, spare fiber stacks, the helper threads of --jobs).
//
//   struct Spares { std::mutex mu; std::vector<Pool*> pools; };
//   Spares& spares = ProcessWide<Spares>::get();
//
// Made on first use and never destroyed: threads it keeps may still wait on it while the
// process exits, after statics are gone. A child of fork() gets a fresh T at the fork: the
// parent's threads are not in the child, and a lock one of them held would stay held there
// (the parent's T is left as it is, unused). T must be default-constructible.
#pragma once

#include <pthread.h>

namespace hc::detail {

template <class T>
class ProcessWide {
 public:
  static T& get() {
    static const int registered = ::pthread_atfork(nullptr, nullptr, [] {
      // Only the child's one thread runs here, and only here is the instance replaced.
      instance() = new T;  // NOLINT: immortal, as the first
    });
    (void)registered;
    return *instance();
  }

 private:
  static T*& instance() {
    static T* current = new T;  // NOLINT: deliberately immortal (see above)
    return current;
  }
};

}  // namespace hc::detail

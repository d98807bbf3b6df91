// com/destructor-lock-order-deadlock — two destructors take the same two library locks in
// opposite orders; two threads make the final Releases at the same time and deadlock ("Don't
// do complicated work in Release()", issue 4; DOMAIN.md §10 B19).
//
// Story: "if the dtors need to take unordered locks, innocently calling Release() in a random
// order may potentially deadlock." A debugger library keeps a module list and a symbol cache,
// each behind its own lock. A module's destructor unregisters the module (module list lock)
// and then drops its symbols (symbol cache lock); a symbol reader's destructor first removes
// its cache entry (symbol cache lock) and then clears its module's reader pointer (module list
// lock). Each order is innocent on its own. The debugger thread makes the final Release of the
// module while the finalizer thread (a managed wrapper's finalizer) makes the final Release of
// the symbol reader; the destructors run on those threads, and on the schedules where each
// has taken its first lock, both wait forever. The finalizer thread is then stuck as well, so
// no further finalizer runs (B19's memory growth).
//
// Fix (the blog's mitigation 3b): no locks in destructors. A destructor only queues its cleanup
// (a lock-free push: one atomic fetch_or of its job bit), and the library performs the queued
// cleanup at its next safe point, its next API call, taking the locks in the one global order
// (module list lock, then symbol cache lock).
#include <cstdint>

#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"

namespace {

using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;

constexpr std::uint32_t kModuleGone = 1;
constexpr std::uint32_t kReaderGone = 2;

/// The library's shared state: registrations behind two locks, and the cleanup queue.
struct Library {
  hc::mutex modules_lock{"module list lock"};
  hc::mutex symbols_lock{"symbol cache lock"};
  hc::var<int> modules{1, "module list"};                 // guarded by modules_lock
  hc::var<int> symbol_entries{1, "symbol cache"};         // guarded by symbols_lock
  hc::atomic<std::uint32_t> cleanup{0, "cleanup queue"};  // pending jobs, pushed lock-free

  /// The safe point: the queued cleanup, with the locks in the global order.
  void run_queued_cleanup() {
    const std::uint32_t jobs = cleanup.exchange(0);
    if (jobs == 0) return;
    modules_lock.lock();
    symbols_lock.lock();
    if ((jobs & kModuleGone) != 0) modules = modules.read() - 1;
    if ((jobs & kReaderGone) != 0) symbol_entries = symbol_entries.read() - 1;
    symbols_lock.unlock();
    modules_lock.unlock();
  }
};

struct CordbModule : ComObject {
  CordbModule(Library* library, bool defer)
      : ComObject("CordbModule"), lib(library), deferred(defer) {}
  void on_destroy() override {
    if (deferred) {
      lib->cleanup.fetch_or(kModuleGone);  // queue it: no lock
      return;
    }
    lib->modules_lock.lock();  // unregister the module...
    lib->modules = lib->modules.read() - 1;
    lib->symbols_lock.lock();  // ...and drop its symbols
    lib->symbols_lock.unlock();
    lib->modules_lock.unlock();
  }
  Library* lib;
  bool deferred;
};

struct SymbolReader : ComObject {
  SymbolReader(Library* library, bool defer)
      : ComObject("ISymUnmanagedReader"), lib(library), deferred(defer) {}
  void on_destroy() override {
    if (deferred) {
      lib->cleanup.fetch_or(kReaderGone);
      return;
    }
    lib->symbols_lock.lock();  // remove the cache entry...
    lib->symbol_entries = lib->symbol_entries.read() - 1;
    lib->modules_lock.lock();  // ...and clear the module's reader pointer
    lib->modules_lock.unlock();
    lib->symbols_lock.unlock();
  }
  Library* lib;
  bool deferred;
};

void release_from_two_threads(bool deferred) {
  ComWorld world;
  Library lib;
  ComPtr<CordbModule> module = world.make<CordbModule>("module", &lib, deferred);
  ComPtr<SymbolReader> reader = world.make<SymbolReader>("reader", &lib, deferred);

  hc::thread debugger("debugger", [&, m = std::move(module)]() mutable {
    m.reset();                               // the final Release: the module's destructor runs here
    if (deferred) lib.run_queued_cleanup();  // the debugger's next call into the library
  });
  hc::thread finalizer("finalizer", [r = std::move(reader)]() mutable {
    r.reset();  // the final Release: the reader's destructor runs on the finalizer thread
  });
  debugger.join();
  finalizer.join();
  lib.run_queued_cleanup();

  HC_CHECK(lib.modules.peek() == 0 && lib.symbol_entries.peek() == 0,
           "cleanup lost: {} module(s), {} symbol entries left", lib.modules.peek(),
           lib.symbol_entries.peek());
}

}  // namespace

HC_SCENARIO("com/destructor-lock-order-deadlock", .tags = {"com", "b19", "deadlock"},
            .expect = hc::FindingKind::deadlock,
            .message = "waits to lock mutex 'symbol cache lock', held by thread 'finalizer'",
            .summary =
                "module and symbol-reader destructors take two library locks in opposite "
                "orders; final Releases on two threads deadlock",
            .pattern = "B19", .source = "Don't do complicated work in Release()") {
  release_from_two_threads(false);
}

HC_SCENARIO("com/destructor-lock-order-deadlock.fixed", .tags = {"com", "b19", "deadlock", "fixed"},
            .expect = hc::clean,
            .summary =
                "destructors only queue their cleanup (lock-free); the library runs it at "
                "its next call with the locks in one order",
            .pattern = "B19", .source = "Don't do complicated work in Release()") {
  release_from_two_threads(true);
}

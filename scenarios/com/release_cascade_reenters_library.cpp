// com/release-cascade-reenters-library — a final Release cascades through a chain of owned
// objects, and the last destructor of the chain calls back into the library, which takes the
// library lock: when the cascade runs on a thread that already holds that lock, the thread
// waits for itself ("Don't do complicated work in Release()", issues 2 and 5; DOMAIN.md §10
// B18, B19).
//
// Story: "Releases may cascade. If a dtor calls the final Release() on objects it owns, that
// may invoke other dtors, which may invoke others and cascade into a long chain of operations
// coming out of an seemingly simple Release()." A debugger library caches the AppDomain the
// client is looking at; the AppDomain owns a module, the module owns a value, and the value's
// destructor calls back into the library to unregister itself from the session, under the
// session lock. Two threads hold a reference to the AppDomain: the client, which releases it
// without any lock, and the library's event thread, which on an AppDomain-unload event flushes
// its cache under the session lock. Whichever Release is the last one runs the whole cascade,
// on its own thread, with whatever that thread holds. When it is the event thread, the value's
// destructor asks for the session lock its own thread already holds: a self-deadlock (the lock
// is an SRW lock, not recursive; with a recursive critical section the same schedule re-enters
// the library in the middle of its flush instead). That is B18 (library work done from a
// destructor, under whatever lock the releasing thread holds) ending as B19 (a destructor's lock
// deadlocks with its own thread's). It is not B13: no object is destroyed twice (see
// com/destructor-hands-out-this for that). When the client's Release comes last, nothing
// happens: the bug hides in one interleaving.
//
// Fix (the blog's mitigation 3b, and 1d "hoists the cascading effect to well-defined spots"):
// destructors do nothing complicated. The value's destructor only queues its unregistration
// (a lock-free push), and the library performs queued work at its next call, its own safe
// point, outside any cascade. The cascade may then run under the session lock harmlessly.
#include <cstdint>

#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"

namespace {

using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;

struct Library {
  hc::mutex session_lock{"session lock"};
  hc::var<int> registered_values{1, "session value registry"};  // guarded by session_lock
  hc::atomic<int> queued_unregistrations{0, "cleanup queue"};

  /// ICorDebug-style callback into the library: unregister a value from the session.
  void unregister_value() {
    session_lock.lock();
    registered_values = registered_values.read() - 1;
    session_lock.unlock();
  }
  /// The library's safe point: queued cleanup, at the start of its next call.
  void run_queued_cleanup() {
    const int n = queued_unregistrations.exchange(0);
    for (int i = 0; i < n; ++i)
      unregister_value();
  }
};

struct CordbValue : ComObject {
  CordbValue(Library* library, bool defer)
      : ComObject("CordbValue"), lib(library), deferred(defer) {}
  void on_destroy() override {
    if (deferred) {
      lib->queued_unregistrations.fetch_add(1);  // the fix: queue it, no lock, no callback
    } else {
      lib->unregister_value();  // the bug: a call back into the library from a destructor
    }
  }
  Library* lib;
  bool deferred;
};

struct CordbModule : ComObject {
  CordbModule() : ComObject("CordbModule") {}
  ComPtr<CordbValue> value;
  void on_destroy() override { value.reset(); }  // cascade
};

struct CordbAppDomain : ComObject {
  CordbAppDomain() : ComObject("CordbAppDomain") {}
  ComPtr<CordbModule> module;
  void on_destroy() override { module.reset(); }  // cascade
};

void unload_while_client_releases(bool deferred) {
  ComWorld world;
  Library lib;
  ComPtr<CordbAppDomain> cached = world.make<CordbAppDomain>("appdomain");  // the library's
  cached->module = world.make<CordbModule>("module");
  cached->module->value = world.make<CordbValue>("value", &lib, deferred);
  ComPtr<CordbAppDomain> client_ref(cached);  // the client's reference (AddRef)

  hc::thread event_thread("event-thread", [&] {
    // The AppDomain-unload event: flush the cache under the session lock.
    lib.session_lock.lock();
    cached.reset();  // maybe the final Release: the cascade runs here, lock held
    lib.session_lock.unlock();
    lib.run_queued_cleanup();  // the library's next step, outside the flush
  });
  hc::thread client("client", [&, mine = std::move(client_ref)]() mutable {
    mine.reset();  // maybe the final Release: the cascade runs here, no lock held
  });
  event_thread.join();
  client.join();
  lib.run_queued_cleanup();  // the library's next call

  HC_CHECK(world.alive().empty(), "leaked:\n{}", world.describe_alive());
  HC_CHECK(lib.registered_values.peek() == 0, "value still registered");
}

}  // namespace

HC_SCENARIO("com/release-cascade-reenters-library", .tags = {"com", "b18", "b19", "cascade"},
            .expect = hc::FindingKind::deadlock,
            .message =
                "thread 'event-thread' waits to lock mutex 'session lock', which it already "
                "holds",
            .summary =
                "the final Release under the session lock cascades AppDomain -> module -> "
                "value, whose destructor calls back into the library for that lock",
            .pattern = "B18, B19", .source = "Don't do complicated work in Release()") {
  unload_while_client_releases(false);
}

HC_SCENARIO("com/release-cascade-reenters-library.fixed",
            .tags = {"com", "b18", "b19", "cascade", "fixed"}, .expect = hc::clean,
            .summary =
                "the value's destructor only queues its unregistration; the library runs "
                "it at its next call, outside any cascade",
            .pattern = "B18, B19", .source = "Don't do complicated work in Release()") {
  unload_while_client_releases(true);
}

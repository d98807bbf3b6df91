// finalizer/wait-for-finalizers-under-lock — a thread holds a lock across
// GC.WaitForPendingFinalizers while a finalizer needs that lock (DOMAIN.md §10 B19, §3.4).
//
// Story: a handle cache keeps its entries in a table guarded by the cache lock. Each entry has
// a finalizer that takes the cache lock to unregister itself and close its handle. To trim the
// cache under memory pressure, the cache drops an entry and then calls GC.Collect() and
// GC.WaitForPendingFinalizers(), "so the handles are really gone". It does all of this while
// still holding the cache lock. WaitForPendingFinalizers waits INFINITE for the finalizer
// thread to drain its queue, and the finalizer thread is blocked on the cache lock in the
// entry's finalizer. The result is a permanent hang. Because finalization has stopped, every
// later finalizable object also stays in memory and memory keeps growing [VM-FT][DOC-FIN].
// The model runs the finalizer as a real thread and makes its "queue drained" event a wait
// like any other, so the wait-for cycle is reported as a deadlock: the finalizer waits for
// the lock, and the main thread waits for the drain.
//
// Fix: never hold a lock across WaitForPendingFinalizers. Here the cache lock is released
// before waiting. (Finalizers that take no application lock, or a global lock order, also
// break the cycle.)
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;

struct Cache {
  hc::mutex lock{"cache lock"};
  int entries = 0;  // guarded by `lock`
};

/// A cache entry owning a handle; its finalizer unregisters it under the cache lock.
struct CacheEntry : ManagedObject {
  CacheEntry(Gc& gc, Cache& cache, HandleTable& table)
      : ManagedObject(gc, "CacheEntry", "entry", /*has_finalizer=*/true),
        cache_(&cache),
        table_(&table) {
    handle = table.create(ObjectType::section, "cached view");
  }
  void finalize() override {
    cache_->lock.lock();
    --cache_->entries;
    cache_->lock.unlock();
    table_->close(handle);
  }
  Cache* cache_;
  HandleTable* table_;
  RawHandle handle;
};

void trim_cache(bool release_lock_before_waiting) {
  HandleTable table;
  Cache cache;  // outlives the GC: its finalizer thread may still use the lock
  Gc gc;
  {
    Ref<CacheEntry> entry = gc.allocate<CacheEntry>(gc, cache, table);
    cache.lock.lock();
    ++cache.entries;
    cache.lock.unlock();
  }  // the cache drops its last reference to the entry

  // Trim: under the cache lock, collect and wait for the entry's finalizer.
  cache.lock.lock();
  gc.collect();
  if (release_lock_before_waiting) cache.lock.unlock();
  gc.wait_for_pending_finalizers();
  if (!release_lock_before_waiting) cache.lock.unlock();
  HC_CHECK(cache.entries == 0, "the entry's finalizer did not unregister it ({} left)",
           cache.entries);
}

}  // namespace

HC_SCENARIO("finalizer/wait-for-finalizers-under-lock", .tags = {"finalizer", "b19"},
            .expect = hc::FindingKind::deadlock,
            .message =
                "thread 'finalizer' waits to lock mutex 'cache lock', held by thread "
                "'main'",
            .summary =
                "WaitForPendingFinalizers while holding the lock an entry's finalizer "
                "needs: the finalizer and the waiter wait for each other forever",
            .pattern = "B19", .source = "DOMAIN.md") {
  trim_cache(false);
}

HC_SCENARIO("finalizer/wait-for-finalizers-under-lock.fixed", .tags = {"finalizer", "b19", "fixed"},
            .expect = hc::clean,
            .summary = "the cache lock is released before WaitForPendingFinalizers",
            .pattern = "B19", .source = "DOMAIN.md") {
  trim_cache(true);
}

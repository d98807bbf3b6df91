// finalizer/resurrected-object-uses-finalized-handle — a finalizer resurrects its object into a
// pool, but the object's SafeHandle field is finalized in the same collection (DOMAIN.md §10
// B24 trigger 1, §3.2 step 3, §3.3, §3.5).
//
// Story: a connection pool recycles abandoned connections through their finalizer. A
// `PooledConnection` holds its socket as a SafeHandle field; its finalizer puts `this` back into
// the pool (a static: the object is resurrected) so that the next request can reuse it, the
// "object pool" idiom of the ReRegisterForFinalize documentation [DOC-RRF]. A request drops its
// connection without returning it. The next GC finds the connection unreachable, and with it
// its socket, which nothing else references: ScanForFinalization queues both in the same
// collection, the connection on the Normal list and the SafeHandle (a CriticalFinalizerObject)
// on the Critical list [GC-FIN][MAONI]. The finalizer thread runs the connection's finalizer
// first — normal before critical [TEST-CF] — and it resurrects the connection; but the
// socket's entry is already queued, and resurrection does not take it back: its critical
// finalizer runs next and closes the socket [DOC-FIN]. A worker that rents the recycled
// connection sends on it. When the socket's finalizer ran before the send, the resurrected
// connection uses a finalized SafeHandle: in production ObjectDisposedException ("Safe handle
// has been closed"), intermittently, after resurrection [GC-IF][MAONI]. The model reports the
// use of the finalized SafeHandle (use-of-finalized-object: "called Send on SafeSocketHandle
// 'conn' after its finalizer ran"). In the schedules where the send's check comes just before
// the socket's finalizer starts and its P/Invoke AddRef just after ReleaseHandle closed it, the
// same bug surfaces as the production symptom, ObjectDisposedException on the worker; the
// request handler below catches it and reports it as what it is, a use of the socket its
// finalizer closed (so every strategy and every shard of a --keep-going run reports one kind).
//
// Fix (DOMAIN.md §10 B24: "if caching, re-create handles"): the finalizer that resurrects the
// connection gives it a fresh socket before returning it to the pool (and re-registers it for
// finalization, as DOC-RRF prescribes for a pooled object); the old socket's critical
// finalizer then closes only a handle nobody uses any more. (Not resurrecting at all is the
// other fix.)
//
// Sources (DOMAIN.md §12): [GC-FIN] dotnet/runtime src/coreclr/gc/finalization.cpp
// (ScanForFinalization); [GC-IF] src/coreclr/gc/interface.cpp; [MAONI] Maoni Stephens,
// "Finalization implementation details"; [DOC-FIN] Object.Finalize remarks; [DOC-RRF]
// GC.ReRegisterForFinalize; [TEST-CF] src/tests/baseservices/finalization/CriticalFinalizer.cs.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;

struct PooledConnection;

/// The pool: a static slot for one idle connection (a root), and the event a renter waits on
/// (setting it publishes the slot).
struct ConnectionPool {
  hc::event available{hc::event::reset_mode::manual, false, "connection available"};
  Ref<PooledConnection> idle;  // a static field: a root

  void Return(PooledConnection& connection);
  Ref<PooledConnection> Rent() {
    available.wait();
    return std::move(idle);
  }
};

/// Opens a socket: a SafeHandle over a new handle value.
Ref<SafeHandle> open_socket(Gc& gc, HandleTable& table) {
  Ref<SafeHandle> socket = gc.allocate<SafeHandle>(
      gc, table, SafeHandleOptions{.type_name = "SafeSocketHandle", .name = "conn"});
  socket->SetHandle(table.create(ObjectType::file, "socket", socket->label()));
  return socket;
}

struct PooledConnection : ManagedObject {
  PooledConnection(Gc& gc, ConnectionPool& pool, HandleTable& table, bool reopen_on_recycle)
      : ManagedObject(gc, "PooledConnection", "conn", /*has_finalizer=*/true),
        socket(open_socket(gc, table)),
        pool_(&pool),
        table_(&table),
        reopen_on_recycle_(reopen_on_recycle) {}

  /// Recycles an abandoned connection: back into the pool (resurrection).
  void finalize() override {
    if (reopen_on_recycle_) {
      socket = open_socket(gc(), *table_);  // the fix: the old socket is being finalized
      gc().reregister_for_finalize(*this);
    }
    pool_->Return(*this);
  }

  void Send() {
    socket->use("Send");  // a method call on the SafeHandle: a finding once it was finalized
    try {
      socket->pinvoke([&](const RawHandle& raw) { return table_->write(raw); });
    } catch (const hc::models::ObjectDisposedException&) {
      socket->use("Send");  // closed by its finalizer since the check above: report that
      throw;
    }
  }

  Ref<SafeHandle> socket;  // a field: reachable exactly as long as the connection
  ConnectionPool* pool_;
  HandleTable* table_;
  bool reopen_on_recycle_;
};

void ConnectionPool::Return(PooledConnection& connection) {
  idle = Ref<PooledConnection>(connection);
  available.set();
}

void abandon_then_reuse(bool reopen_on_recycle) {
  HandleTable table;
  Gc gc;
  ConnectionPool pool;
  {
    // A request uses a connection and drops it without returning it to the pool.
    Ref<PooledConnection> conn = gc.allocate<PooledConnection>(gc, pool, table, reopen_on_recycle);
    conn->Send();
    conn.last_use();
  }
  // The next request rents the recycled connection, uses it, and closes it when done.
  hc::thread worker("worker", [&pool] {
    Ref<PooledConnection> conn = pool.Rent();
    conn->Send();
    conn->socket->Dispose();
  });
  gc.collect();
  worker.join();
}

}  // namespace

HC_SCENARIO("finalizer/resurrected-object-uses-finalized-handle", .tags = {"finalizer", "b24"},
            .expect = hc::FindingKind::use_of_finalized_object,
            .message = "called Send on SafeSocketHandle 'conn' after its finalizer",
            .summary =
                "a finalizer resurrects its connection into a pool; the connection's "
                "SafeHandle field, queued in the same collection, is finalized anyway",
            .pattern = "B24", .source = "DOMAIN.md") {
  abandon_then_reuse(false);
}

HC_SCENARIO("finalizer/resurrected-object-uses-finalized-handle.fixed",
            .tags = {"finalizer", "b24", "fixed"}, .expect = hc::clean,
            .summary =
                "the recycling finalizer gives the connection a fresh socket (and "
                "re-registers it) before it returns it to the pool",
            .pattern = "B24", .source = "DOMAIN.md") {
  abandon_then_reuse(true);
}

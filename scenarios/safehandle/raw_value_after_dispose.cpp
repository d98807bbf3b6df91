// safehandle/raw-value-after-dispose — a raw value from DangerousGetHandle used after another
// thread's Dispose, the number recycled by a third thread's open (B1).
//
// Story: a logging component keeps its file in a SafeFileHandle 'log'. A writer thread calls
// `IntPtr raw = log.DangerousGetHandle()` and then `WriteFile(raw, ...)`, without
// DangerousAddRef / DangerousRelease around the use. Meanwhile a shutdown thread calls
// `log.Dispose()`: the refcount goes 1 -> 0, ReleaseHandle runs CloseHandle and the value
// goes back to the handle table's free list. A third thread creates an event and, with the
// kernel's LIFO reuse, receives the very same value. The writer's WriteFile then lands on
// the event (or on whatever object owns the value now): silent in production; later a
// releaseHandleFailed or an invalid-handle error appears "somewhere else". The MDA's advice:
// every DangerousGetHandle must be surrounded by DangerousAddRef and DangerousRelease, which
// delimit the region where the raw value may be used; outside it "the handle value can be
// invalidated at any time by a call to Dispose or Close on another thread".
// The harness reports the write as a stale-handle use: the value was closed by 'disposer'
// and now names the event 'ready' created by 'opener'; or, when the write comes before the
// opener's event, as an invalid-handle use of a value that names nothing (the default
// InvalidUse::raise). One bug, two interleavings: the scenario accepts either.
// Fix: bracket the use with DangerousAddRef / DangerousRelease (what the P/Invoke marshaller
// does for a SafeHandle parameter). Dispose during the window only drops the creation
// reference; the close is deferred to the writer's DangerousRelease. A Dispose that comes
// first makes DangerousAddRef throw ObjectDisposedException, which the writer catches.
//
// Pattern B1 (DOMAIN.md §10); source: the releaseHandleFailed MDA documentation.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;

void write_while_disposing(bool fixed) {
  HandleTable table;
  Gc gc;
  SafeHandle log(gc, table, {.type_name = "SafeFileHandle", .name = "log"});
  log.SetHandle(table.create(ObjectType::file, "log", log.label()));

  hc::thread writer("writer", [&] {
    if (fixed) {
      bool added = false;
      try {
        log.DangerousAddRef(added);
        table.write(log.DangerousGetHandle());  // inside the AddRef window: cannot be closed
      } catch (const ObjectDisposedException&) {
        // Disposed before we started: nothing to write to.
      }
      if (added) log.DangerousRelease();  // the `finally` block
    } else {
      const RawHandle raw = log.DangerousGetHandle();  // no AddRef: nothing protects `raw`
      table.write(raw);
    }
  });
  hc::thread disposer("disposer", [&] { log.Dispose(); });
  hc::thread opener("opener", [&] {
    const RawHandle ready = table.create_event("ready", true, false, "opener");
    table.signal(ready);
    table.close(ready, "opener");
  });
  writer.join();
  disposer.join();
  opener.join();
}

}  // namespace

HC_SCENARIO("safehandle/raw-value-after-dispose", .tags = {"safehandle", "b1"},
            .expect = hc::expect_any({hc::FindingKind::stale_handle_use,
                                      hc::FindingKind::invalid_handle_use}),
            .message =
                "used (via WriteFile) handle 0x4 (File 'log', generation 1, closed by "
                "thread 'disposer'",
            .summary =
                "DangerousGetHandle's value written after another thread's Dispose; a "
                "third thread's event recycled the value",
            .pattern = "B1", .source = "releaseHandleFailed MDA") {
  write_while_disposing(false);
}

HC_SCENARIO("safehandle/raw-value-after-dispose.fixed", .tags = {"safehandle", "b1", "fixed"},
            .expect = hc::clean,
            // The fix is only shown if the raw use and the Dispose (which suppresses the
            // finalizer) ran both ways round.
            .must_cover = {"DangerousGetHandle <> GC.SuppressFinalize"},
            .summary = "the raw value is used only inside DangerousAddRef/DangerousRelease",
            .pattern = "B1", .source = "releaseHandleFailed MDA") {
  write_while_disposing(true);
}

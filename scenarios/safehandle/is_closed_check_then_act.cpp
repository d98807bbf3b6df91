// safehandle/is-closed-check-then-act — IsClosed checked, then the raw value used while
// another thread disposes (DOMAIN.md §10 B7, §6.4; the releaseHandleFailed MDA page).
//
// Story: a wrapper reads the raw value out of its SafeHandle and guards the native call with a
// flag check instead of a reference:
//
//     ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
//     WriteFile(_handle.DangerousGetHandle(), ...);
//
// Meziantou's RestartManager wrapper did exactly this at seven call sites, and its fix notes
// that nothing stops a Dispose between the check and the P/Invoke [MEZ-2511]. The MDA page
// says it directly: outside a DangerousAddRef/DangerousRelease region "the handle value can be
// invalidated at any time by a call to Dispose or Close on another thread" [MDA-RHF]. Here one
// thread checks IsClosed (false) and reads the value; the owner disposes, which closes the
// handle; a third thread opens an event and is given the same value (Windows reuses a freed
// value at once, LIFO); the writer's WriteFile then lands on the event. In production that is
// silent (ERROR_INVALID_HANDLE at best, an unrelated object touched at worst). The model
// reports the use of the recycled value (stale-handle-use) and names what it names now, or,
// when the write comes before the third thread's open, the use of a value that names nothing
// (invalid-handle-use, the default InvalidUse::raise): the scenario accepts either.
//
// Fix: hold a reference for the call instead of checking a flag: pass the SafeHandle to the
// P/Invoke (the marshaller's DangerousAddRef/DangerousRelease bracket). A Dispose that comes
// first makes the AddRef throw ObjectDisposedException, as the IsClosed check meant to; a
// Dispose that comes during the call only drops the creation reference, and the writer's
// release closes the handle after the call.
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

void write_while_disposing(bool hold_reference) {
  HandleTable table;
  Gc gc;
  SafeHandle log(gc, table, {.type_name = "SafeFileHandle", .name = "log"});
  log.SetHandle(table.create(ObjectType::file, "log", log.label()));

  hc::thread writer("writer", [&] {
    try {
      if (log.IsClosed()) throw ObjectDisposedException("LogFile");  // ThrowIf(IsClosed)
      if (hold_reference) {
        log.pinvoke([&](const RawHandle& raw) { return table.write(raw); });
      } else {
        table.write(log.DangerousGetHandle());
      }
    } catch (const ObjectDisposedException&) {
      // Writing to a disposed log: the caller's ObjectDisposedException path.
    }
  });
  hc::thread opener("opener", [&] {
    const RawHandle ready = table.create_event("ready", true, false);
    table.close(ready);
  });
  log.Dispose();
  writer.join();
  opener.join();
}

}  // namespace

HC_SCENARIO("safehandle/is-closed-check-then-act", .tags = {"safehandle", "b7"},
            .expect = hc::expect_any({hc::FindingKind::stale_handle_use,
                                      hc::FindingKind::invalid_handle_use}),
            .message =
                "used (via WriteFile) handle 0x4 (File 'log', generation 1, closed by "
                "thread 'main'",
            .summary =
                "IsClosed is false, then Dispose closes the handle and the value is "
                "recycled before the WriteFile",
            .pattern = "B7", .source = "releaseHandleFailed MDA") {
  write_while_disposing(false);
}

HC_SCENARIO("safehandle/is-closed-check-then-act.fixed", .tags = {"safehandle", "b7", "fixed"},
            .expect = hc::clean,
            .summary =
                "the SafeHandle is passed to the P/Invoke: an AddRef holds the value open "
                "for the call",
            .pattern = "B7", .source = "releaseHandleFailed MDA") {
  write_while_disposing(true);
}

// safehandle/set-handle-as-invalid-in-use — an error path calls SetHandleAsInvalid on a handle
// that is valid and in use by another thread (DOMAIN.md §10 B23, §1.2).
//
// Story: a serial-port wrapper shares one SafeFileHandle between a reader, a writer and the
// port's event-loop thread. The event loop (this wrapper's design) waits for comm events for as
// long as the port is open, holding one DangerousAddRef for its whole run so that the handle
// cannot be closed under its waits; Open() returns once the loop runs, and Dispose stops
// it. When the reader's ReadFile fails, its error path calls `_handle.SetHandleAsInvalid()` to
// "make sure nobody uses the broken handle again", whatever the error was. Here the error is a
// transient one (ERROR_OPERATION_ABORTED, an explored fault); the kernel handle is fine, and the
// event loop (and the writer, when its P/Invoke bracket overlaps) still holds a reference and
// keeps using the value. SetHandleAsInvalid sets the closed bit without releasing anything: the
// holders' releases and the owner's Dispose take the count to 0 with C already set, so
// ReleaseHandle never runs and the handle leaks by design; every later AddRef throws
// ObjectDisposedException [RT-SH][RT-CH]. In production that is a handle leak per error,
// invisible until the process runs out. The SafeHandle model reports the invalidation itself
// (handle-invalidated-in-use), at the reader's line, naming the threads that hold references;
// the leak it causes would be reported at the end of the execution (handle-leak).
//
// Fix: invalidate only handles that truly are invalid: when the call failed with
// ERROR_INVALID_HANDLE, or when creating the handle failed (TileDB-CSharp invalidates the
// handles whose creation failed [TILEDB-190]). Any other error is reported to the caller and
// the handle is left for Dispose to close.
#include <cstdint>

#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::kErrorInvalidHandle;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;
using hc::models::Status;

constexpr std::uint32_t kErrorOperationAborted = 995;  // ERROR_OPERATION_ABORTED

void read_error_while_writing(bool only_truly_invalid) {
  HandleTable table;
  Gc gc;
  SafeHandle port(gc, table, {.type_name = "SafeFileHandle", .name = "port"});
  port.SetHandle(table.create(ObjectType::file, "COM1", port.label()));

  // Open(): the event loop AddRefs the handle for as long as it runs.
  hc::event running(hc::event::reset_mode::manual, false, "event loop running");
  hc::event stop(hc::event::reset_mode::manual, false, "stop event loop");
  hc::thread events("events", [&] {
    bool added = false;
    port.DangerousAddRef(added);
    running.set();
    table.use(port.DangerousGetHandle(), "WaitCommEvent");
    stop.wait();  // the comm events until Dispose
    port.DangerousRelease();
  });
  running.wait();

  hc::thread reader("reader", [&] {
    try {
      const Status st = port.pinvoke([&](const RawHandle& raw) {
        if (hc::fault("ReadFile fails with ERROR_OPERATION_ABORTED"))
          return Status{false, kErrorOperationAborted};
        return table.read(raw);
      });
      if (!st && (!only_truly_invalid || st.error == kErrorInvalidHandle))
        port.SetHandleAsInvalid();
    } catch (const ObjectDisposedException&) {
      // Already invalidated or disposed.
    }
  });
  hc::thread writer("writer", [&] {
    try {
      port.pinvoke([&](const RawHandle& raw) { return table.write(raw); });
    } catch (const ObjectDisposedException&) {
      // The reader invalidated the handle before this write started.
    }
  });
  reader.join();
  writer.join();
  stop.set();  // Dispose stops the event loop first
  events.join();
  port.Dispose();
}

}  // namespace

HC_SCENARIO("safehandle/set-handle-as-invalid-in-use", .tags = {"safehandle", "b23"},
            .expect = hc::FindingKind::handle_invalidated_in_use,
            .message =
                "called SetHandleAsInvalid on SafeFileHandle 'port' (handle 0x4 File 'COM1' "
                "(generation 1)) while",
            .summary =
                "a transient read error invalidates the shared handle while the event loop "
                "(and the writer) hold references: ReleaseHandle never runs, it leaks",
            .pattern = "B23", .source = "DOMAIN.md") {
  read_error_while_writing(false);
}

HC_SCENARIO("safehandle/set-handle-as-invalid-in-use.fixed", .tags = {"safehandle", "b23", "fixed"},
            .expect = hc::clean,
            .summary =
                "only ERROR_INVALID_HANDLE invalidates; a transient error leaves the "
                "handle for Dispose to close",
            .pattern = "B23", .source = "DOMAIN.md") {
  read_error_while_writing(true);
}

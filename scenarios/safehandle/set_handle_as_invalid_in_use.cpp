// safehandle/set-handle-as-invalid-in-use — an error path calls SetHandleAsInvalid on a handle
// that is valid and in use by another thread (DOMAIN.md §10 B23, §1.2).
//
// Story: a serial-port wrapper shares one SafeFileHandle between a reader and a writer thread.
// When the reader's ReadFile fails, its error path calls `_handle.SetHandleAsInvalid()` to
// "make sure nobody uses the broken handle again", whatever the error was. Here the error is a
// transient one (ERROR_OPERATION_ABORTED, an explored fault); the kernel handle is fine. The
// writer holds a DangerousAddRef (the P/Invoke bracket) and keeps writing through the value.
// SetHandleAsInvalid sets the closed bit without releasing anything: the writer's release and
// the owner's Dispose take the count to 0 with C already set, so ReleaseHandle never runs and
// the handle leaks by design; every later AddRef throws ObjectDisposedException
// [RT-SH][RT-CH]. In production that is a handle leak per error, invisible until the process
// runs out. The models have no finding of their own for "invalidated while n > 0"; the
// consequence they report is the leak: the file handle is still open when the execution ends
// (handle-leak).
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
  port.Dispose();
}

}  // namespace

HC_SCENARIO("safehandle/set-handle-as-invalid-in-use", .tags = {"safehandle", "b23"},
            .expect = hc::FindingKind::handle_leak,
            .message =
                "still open in handle table 'process' at the end of the execution "
                "(leaked):\n  0x4 File 'COM1' (generation 1)",
            .summary =
                "a transient read error invalidates the shared handle while the writer "
                "holds a reference: ReleaseHandle never runs, the handle leaks",
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

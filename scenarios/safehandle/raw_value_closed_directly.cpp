// safehandle/raw-value-closed-directly — the raw value copied out of a SafeHandle and closed
// directly; the SafeHandle's own ReleaseHandle fails later (B3, B22).
//
// Story: an exporter hands a log file to a native library: it copies the value out with
// `IntPtr raw = log.DangerousGetHandle()` and passes it to a native stream wrapper (think
// `_open_osfhandle` + `fclose`) that takes ownership and calls CloseHandle(raw) when it is
// done. The SafeFileHandle 'log' still believes it owns the value. When the application
// later disposes it (here concurrently, on shutdown), ReleaseHandle calls CloseHandle on a
// value that is no longer open: ERROR_INVALID_HANDLE, ReleaseHandle returns false. That is
// the releaseHandleFailed MDA; the MDA documentation names exactly this as the usual cause
// ("If the raw handle copy is subsequently closed, it can cause a later ReleaseHandle call to
// fail because the close is attempted on the same handle, which is now invalid"). On .NET
// Core the false return is ignored (B22): a masked double close, or, had another thread
// reopened the value in between, the close of an unrelated object.
// The harness reports release-handle-failed for SafeFileHandle 'log' with the value's history
// (created by main, closed by the exporter's native library).
// Fix: the raw value never leaves the SafeHandle's control. The exporter takes it inside a
// DangerousAddRef / DangerousRelease window and gives the native library its own copy made
// with DuplicateHandle, which the library may close as it likes; the SafeHandle's
// ReleaseHandle then closes the one value it owns.
//
// Patterns B3 and B22 (DOMAIN.md §10); source: the releaseHandleFailed MDA documentation.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::InvalidUse;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;

/// The native library: writes through the value it was given, then closes it (it owns it).
void native_write_and_close(HandleTable& table, const RawHandle& given) {
  table.write(given);
  table.close(given);  // CloseHandle: the library knows nothing of the SafeHandle
}

void export_then_dispose(bool fixed) {
  // The story is the production error path: CloseHandle on a value that names nothing returns
  // FALSE and ReleaseHandle fails (the releaseHandleFailed MDA). Under the default
  // InvalidUse::raise the same second close is reported at once as a double close instead.
  HandleTable table{{.invalid_use = InvalidUse::fail}};
  Gc gc;
  SafeHandle log(gc, table, {.type_name = "SafeFileHandle", .name = "log"});
  log.SetHandle(table.create(ObjectType::file, "log", log.label()));

  hc::thread exporter("exporter", [&] {
    if (fixed) {
      bool added = false;
      RawHandle copy;
      try {
        log.DangerousAddRef(added);
        copy = table.duplicate(log.DangerousGetHandle(), table, "native-library");
      } catch (const ObjectDisposedException&) {
        // Already disposed: nothing to export.
      }
      if (added) log.DangerousRelease();
      if (copy.valid()) native_write_and_close(table, copy);
    } else {
      native_write_and_close(table, log.DangerousGetHandle());  // the raw value escapes
    }
  });
  log.Dispose();  // the owner's `using` block ends
  exporter.join();
}

}  // namespace

HC_SCENARIO("safehandle/raw-value-closed-directly", .tags = {"safehandle", "b3", "b22"},
            .expect = hc::FindingKind::release_handle_failed,
            .message =
                "releaseHandleFailed: ReleaseHandle of SafeFileHandle 'log' (type "
                "SafeFileHandle) returned false for handle 0x4",
            .summary =
                "DangerousGetHandle's value handed to a native library that closes it; "
                "the SafeHandle's ReleaseHandle then fails",
            .pattern = "B3, B22", .source = "releaseHandleFailed MDA") {
  export_then_dispose(false);
}

HC_SCENARIO("safehandle/raw-value-closed-directly.fixed",
            .tags = {"safehandle", "b3", "b22", "fixed"}, .expect = hc::clean,
            .summary =
                "the native library gets a DuplicateHandle copy taken inside an AddRef "
                "window; each closes its own value",
            .pattern = "B3, B22", .source = "releaseHandleFailed MDA") {
  export_then_dispose(true);
}

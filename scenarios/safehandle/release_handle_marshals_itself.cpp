// safehandle/release-handle-marshals-itself — ReleaseHandle passes `this` to a P/Invoke that
// takes the SafeHandle type (DOMAIN.md §10 B10, §1.3, §1.5).
//
// Story: a SafeHandle subclass implements ReleaseHandle by calling the library's own close
// function, declared to take the SafeHandle type:
//
//     protected override bool ReleaseHandle() => Interop.CloseSession(this);
//
// By the time ReleaseHandle runs, the closed bit is already set (the release that took the
// count from 1 to 0 set it). The marshaller's DangerousAddRef on `this` sees it and throws
// ObjectDisposedException before the native close is called, so the handle is never released,
// and the exception surfaces from Dispose, from whichever thread made the last release, or
// from the finalizer, which terminates the process [CFX-1400]. Here the owner disposes the
// session while a worker uses it through the P/Invoke bracket; ReleaseHandle runs on whichever
// thread releases last. The model reports the AddRef from inside the handle's own
// ReleaseHandle (addref-in-release-handle).
//
// Fix: inside ReleaseHandle pass the raw `handle` field, never `this` (declare the close
// function with IntPtr) [CFX-1400].
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

void dispose_while_in_use(bool close_raw_field) {
  HandleTable table;
  Gc gc;
  SafeHandle* self = nullptr;
  SafeHandle session(
      gc, table, {.type_name = "SafeSessionHandle", .name = "session"},
      [&](const RawHandle& handle) {
        if (close_raw_field) return table.close(handle, self->label()).ok;  // CloseSession(handle)
        // CloseSession(this): the marshaller AddRefs the closing handle.
        return self->pinvoke([&](const RawHandle& raw) { return table.close(raw, self->label()); })
            .ok;
      });
  self = &session;
  session.SetHandle(table.create(ObjectType::user, "session", session.label()));

  hc::thread worker("worker", [&] {
    try {
      session.pinvoke([&](const RawHandle& raw) { return table.read(raw); });  // a query
    } catch (const ObjectDisposedException&) {
      // The session was already disposed.
    }
  });
  session.Dispose();
  worker.join();
}

}  // namespace

HC_SCENARIO("safehandle/release-handle-marshals-itself", .tags = {"safehandle", "b10"},
            .expect = hc::FindingKind::addref_in_release_handle,
            .message =
                "called DangerousAddRef on SafeSessionHandle 'session' from inside its "
                "own ReleaseHandle",
            .summary =
                "ReleaseHandle passes `this` to a SafeHandle P/Invoke: the marshaller's "
                "AddRef on the closing handle throws",
            .pattern = "B10", .source = "DOMAIN.md") {
  dispose_while_in_use(false);
}

HC_SCENARIO("safehandle/release-handle-marshals-itself.fixed",
            .tags = {"safehandle", "b10", "fixed"}, .expect = hc::clean,
            .summary = "ReleaseHandle passes the raw handle field to the native close",
            .pattern = "B10", .source = "DOMAIN.md") {
  dispose_while_in_use(true);
}

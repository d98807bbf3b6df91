// safehandle/release-handle-transient-failure — a ReleaseHandle that can fail for a transient
// reason (low resources): the false return is ignored and the handle leaks (B22).
//
// Story: SafeRegistrationHandle wraps a handle registered with an I/O dispatcher. Its
// ReleaseHandle first has to tell the dispatcher to forget the handle, which means
// allocating an unregister packet, and only then calls CloseHandle. Under memory pressure the
// allocation fails, so ReleaseHandle gives up and returns false with the handle still open.
// ReleaseHandle is the only way the resource is ever released (it runs at most once), so a
// failure there is a leak: the releaseHandleFailed MDA on .NET Framework, nothing at all on
// .NET Core, which ignores the result. The MDA documentation: "The ReleaseHandle method must
// not fail to perform its function ... failure implies resource leaks", and its sample
// `return CloseHandle(handle);` "specifically must not fail simply because of lack of
// resources or other transient failures beyond the user's control". "Don't do complicated
// work in Release()" gives the same rule for destructors: no failure points in the release.
// The transient failure is an explored fault (hc::fault); the handle is used and disposed
// from two threads, so ReleaseHandle runs on whichever makes the last release.
// The harness reports release-handle-failed for SafeRegistrationHandle 'socket' (the handle
// is still open: CoreCLR would leak it silently).
// Fix: a ReleaseHandle with no failure point. The packet is allocated up front, before the
// handle is acquired, where a failure is allowed and leaks nothing (the open is simply not
// attempted: "no failure point may exist once a native resource has been acquired", the
// marshaller's own rule for SafeHandle return values); ReleaseHandle only uses the
// preallocated packet and closes. The same fault is explored, at the reservation.
//
// Pattern B22 (DOMAIN.md §10); source: the releaseHandleFailed MDA documentation.
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

constexpr const char* kLowMemory = "allocating the unregister packet fails (low memory)";

void register_use_dispose(bool fixed) {
  HandleTable table;
  Gc gc;
  SafeHandle socket(gc, table, {.type_name = "SafeRegistrationHandle", .name = "socket"},
                    [&](const RawHandle& raw) {
                      if (!fixed && hc::fault(kLowMemory)) {
                        return false;  // gives up: the handle stays open, the result is ignored
                      }
                      // (fixed: uses the packet reserved before the open; cannot fail)
                      return table.close(raw).ok;
                    });
  if (fixed && hc::fault(kLowMemory)) {
    // The reservation fails before the open: OutOfMemoryException reaches the caller, the
    // empty SafeHandle is disposed (as the marshaller disposes its preallocated instance),
    // and there is nothing to leak.
    socket.Dispose();
    return;
  }
  socket.SetHandle(table.create(ObjectType::file, "socket", socket.label()));

  hc::thread user("user", [&] {
    try {
      socket.pinvoke([&](const RawHandle& raw) { return table.write(raw).ok; });
    } catch (const ObjectDisposedException&) {
      // Disposed first: the marshaller's AddRef throws before the native call.
    }
  });
  socket.Dispose();
  user.join();
}

}  // namespace

HC_SCENARIO("safehandle/release-handle-transient-failure", .tags = {"safehandle", "b22"},
            .expect = hc::FindingKind::release_handle_failed,
            .message =
                "releaseHandleFailed: ReleaseHandle of SafeRegistrationHandle 'socket' "
                "(type SafeRegistrationHandle) returned false for handle 0x4",
            .summary =
                "ReleaseHandle allocates and fails under low memory: the handle leaks "
                "(the false return is ignored)",
            .pattern = "B22", .source = "releaseHandleFailed MDA") {
  register_use_dispose(false);
}

HC_SCENARIO("safehandle/release-handle-transient-failure.fixed",
            .tags = {"safehandle", "b22", "fixed"}, .expect = hc::clean,
            .summary =
                "the packet is reserved before the open; ReleaseHandle has no failure "
                "point",
            .pattern = "B22", .source = "releaseHandleFailed MDA") {
  register_use_dispose(true);
}

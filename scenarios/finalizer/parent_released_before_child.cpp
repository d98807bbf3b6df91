// finalizer/parent-released-before-child — a WinHTTP-style parent handle closed while a child
// handle that needs it is still open (DOMAIN.md §10 B12, §3.3).
//
// Story: WinHttpHandler wraps each WinHTTP handle in a SafeWinHttpHandle: the session (parent)
// and the requests opened through it (children, WinHttpOpenRequest). A child handle is valid
// only while its parent is open: closing a request handle detaches it from its session, so the
// child's release needs the parent still open. The child only copied the parent's raw value
// when it was created. The application abandons a request (the response is never disposed), so
// only the finalizer releases the request's handle. Meanwhile the main thread disposes the
// HttpClient, whose SafeHandle closes the session. When that Dispose comes before the finalizer
// gets to the request, the request's ReleaseHandle closes a child whose parent is already gone.
// In production the child's close fails or crashes [CFX-3096][CFX-2963]. The same happens when
// both are finalized in one GC: critical finalizers have no order among themselves. The
// handle table knows the request was opened through the session (create_child), and the
// explorer interleaves the main thread's Dispose with the finalizer thread: the close of the
// request after the session's release is child-used-after-parent-release, naming both handles
// and who closed the parent.
//
// Fix (corefx SafeWinHttpHandle.SetParentHandle): when the child is created it AddRefs the
// parent's SafeHandle, and its ReleaseHandle calls DangerousRelease on the parent after closing
// itself. The parent's Dispose or finalizer then only drops a reference, and the parent is
// released last whatever the order. This also makes the order of critical finalizers
// irrelevant [CFX-3096][CLR-SHN].
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::InvalidUse;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;

void abandon_request_then_dispose_session(bool child_addrefs_parent) {
  // WinHTTP's own handle namespace (HINTERNET), checked as under a debugger or AppVerifier.
  HandleTable winhttp{{.invalid_use = InvalidUse::raise, .name = "WinHTTP"}};
  Gc gc;

  // The session: the parent. The HttpClient keeps it reachable and disposes it explicitly.
  Ref<SafeHandle> session = gc.allocate<SafeHandle>(
      gc, winhttp, SafeHandleOptions{.type_name = "SafeWinHttpHandle", .name = "session"});
  session->SetHandle(winhttp.create(ObjectType::user, "session", session->label()));

  // The request: the child. Its creation records the parent. The buggy code copies only the
  // raw value. The fixed code is SetParentHandle: AddRef first, then read the value.
  SafeHandle* parent = session.get();
  if (child_addrefs_parent) {
    bool added = false;
    parent->DangerousAddRef(added);
  }
  const RawHandle parent_value = parent->DangerousGetHandle();
  Ref<SafeHandle> request = gc.allocate<SafeHandle>(
      gc, winhttp, SafeHandleOptions{.type_name = "SafeWinHttpHandle", .name = "request"},
      [&winhttp, parent, child_addrefs_parent](const RawHandle& raw) {
        // WinHttpCloseHandle(request): detaches the request from its session, then frees it.
        const bool ok = winhttp.close(raw, "SafeWinHttpHandle 'request'").ok;
        if (child_addrefs_parent) parent->DangerousRelease();  // the parent goes last
        return ok;
      });
  // WinHttpOpenRequest(session): the request is opened through its parent.
  request->SetHandle(
      winhttp.create_child(parent_value, ObjectType::user, "request", request->label()));

  // The request is sent, then abandoned: nobody disposes it, so the finalizer releases it.
  request->pinvoke([&](const RawHandle& raw) { return winhttp.use(raw, "WinHttpSendRequest"); });
  request.last_use();
  gc.collect();
  // Meanwhile the application disposes the HttpClient, and with it the session.
  session->Dispose();
  gc.wait_for_pending_finalizers();
}

}  // namespace

HC_SCENARIO("finalizer/parent-released-before-child", .tags = {"finalizer", "b12"},
            .expect = hc::FindingKind::child_used_after_parent_release,
            .message =
                "closed handle 0x8 (Object 'request'), a child of parent Object 'session' "
                "opened through 0x4 (table 'WinHTTP')",
            .summary =
                "an abandoned request's finalizer closes it, a child of the session that "
                "the main thread's Dispose may already have closed",
            .pattern = "B12", .source = "DOMAIN.md") {
  abandon_request_then_dispose_session(false);
}

HC_SCENARIO("finalizer/parent-released-before-child.fixed", .tags = {"finalizer", "b12", "fixed"},
            .expect = hc::clean,
            .summary =
                "the request AddRefs the session's SafeHandle (SetParentHandle) and "
                "releases it in its ReleaseHandle: the session is released last",
            .pattern = "B12", .source = "DOMAIN.md") {
  abandon_request_then_dispose_session(true);
}

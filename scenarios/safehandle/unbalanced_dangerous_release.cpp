// safehandle/unbalanced-dangerous-release — a `finally` block calls DangerousRelease although
// DangerousAddRef threw (DOMAIN.md §10 B6, §1.2).
//
// Story: library code that needs the raw value of a SafeHandle brackets the native call, but
// its finally block releases unconditionally:
//
//     bool ignore = false;
//     try {
//       context.DangerousAddRef(ref ignore);
//       return QueryContextToken(context.DangerousGetHandle());
//     } finally {
//       context.DangerousRelease();
//     }
//
// dotnet/runtime fixed a handful of these (the SSPI context, PKCS#12 readers) in
// [RT-97394]. DangerousAddRef never returns with the flag false: on a closed handle it throws
// ObjectDisposedException [CSW-763]. So when the owner disposes the context on another thread
// just before the AddRef, the AddRef throws, and the finally block still releases a
// reference this thread never took. Here the count is already 0, so the runtime's
// DangerousRelease throws a second ObjectDisposedException that hides the first; when the
// stray release instead lands while other references are outstanding, the count drops early,
// ReleaseHandle runs while the owner still uses the handle, and the owner's Dispose or the
// finalizer later finds n = 0 and throws (on the finalizer thread that terminates the
// process). The explorer interleaves the owner's Dispose with the query; the model reports the
// release without a matching acquire (refcount-underflow) at the DangerousRelease.
//
// Fix: release only what was acquired: `if (success) DangerousRelease();` [DOC-AddRef]
// [RT-97394]. The ObjectDisposedException reaches the caller, which is the correct outcome for
// a query on a disposed context.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::SafeHandle;

void query_while_disposing(bool release_only_if_added) {
  HandleTable table;
  Gc gc;
  SafeHandle context(gc, table, {.type_name = "SafeDeleteContext", .name = "context"});
  context.SetHandle(table.create(ObjectType::user, "security context", context.label()));

  hc::thread query("query", [&] {
    bool success = false;
    // The finally block, run on both paths.
    auto release = [&] {
      if (!release_only_if_added || success) context.DangerousRelease();
    };
    try {
      context.DangerousAddRef(success);
      table.read(context.DangerousGetHandle());  // QuerySecurityContextToken
    } catch (const ObjectDisposedException&) {
      release();
      return;  // the caller sees ObjectDisposedException
    }
    release();
  });
  context.Dispose();  // the owner is done with the context
  query.join();
}

}  // namespace

HC_SCENARIO("safehandle/unbalanced-dangerous-release", .tags = {"safehandle", "b6"},
            .expect = hc::FindingKind::refcount_underflow,
            .message =
                "called DangerousRelease on SafeDeleteContext 'context' with no "
                "outstanding successful DangerousAddRef (an unbalanced release, B6)",
            .summary =
                "DangerousAddRef throws on a context disposed meanwhile; the finally "
                "block releases anyway",
            .pattern = "B6", .source = "DOMAIN.md") {
  query_while_disposing(false);
}

HC_SCENARIO("safehandle/unbalanced-dangerous-release.fixed", .tags = {"safehandle", "b6", "fixed"},
            .expect = hc::clean,
            .summary = "the finally block releases only if DangerousAddRef set its flag",
            .pattern = "B6", .source = "DOMAIN.md") {
  query_while_disposing(true);
}

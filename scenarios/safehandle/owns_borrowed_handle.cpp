// safehandle/owns-borrowed-handle — a SafeHandle built with ownsHandle=true around a handle
// its code does not own: the owner and the SafeHandle both close it (B3).
//
// Story: a logger component opens its file and keeps the handle (it closes it in its own
// shutdown path). A consumer wants a FileStream over the same file and builds one from the
// logger's raw value: `new SafeFileHandle(logger.Handle, ownsHandle: true)`. Both now
// believe they own the value. On shutdown the logger calls CloseHandle on its handle while
// the consumer disposes its SafeHandle, whose ReleaseHandle calls CloseHandle too. Whoever
// loses the race closes a value that is no longer open: when the SafeHandle loses,
// ReleaseHandle returns false (releaseHandleFailed; ignored on .NET Core, B22); when the
// logger loses, its own CloseHandle fails, or, had a third thread reopened the value in
// between, closes an unrelated object. The MDA documentation: "If you form a SafeHandle
// around a handle your code does not own without setting the ownsHandle parameter to false
// in the base constructor, then both the SafeHandle and the real handle owner can try to
// close the handle, leading to an error in ReleaseHandle if the SafeHandle loses the race."
// ReleaseHandle here is the usual `return CloseHandle(handle);`: the kernel does not know
// who closes, so the bug surfaces as the failing ReleaseHandle, whose report carries the
// value's history (created for 'logger', closed by thread 'logger').
// Fix: `ownsHandle: false`. The SafeHandle never calls ReleaseHandle (and its finalizer is
// suppressed at construction); the logger stays the single owner and closes it once.
//
// Pattern B3 (DOMAIN.md §10); source: the releaseHandleFailed MDA documentation.
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
using hc::models::SafeHandle;

void borrow_and_shut_down(bool fixed) {
  // The story is the production error path: CloseHandle on a value that names nothing returns
  // FALSE and ReleaseHandle fails (the releaseHandleFailed MDA). Under the default
  // InvalidUse::raise the same second close is reported at once as a double close instead.
  HandleTable table{{.invalid_use = InvalidUse::fail}};
  Gc gc;
  const RawHandle owned = table.create(ObjectType::file, "log", "logger");  // the logger's

  // The consumer wraps the logger's value; only the fixed code says it does not own it.
  SafeHandle stream(
      gc, table, {.type_name = "SafeFileHandle", .name = "consumer-stream", .owns_handle = !fixed},
      [&](const RawHandle& raw) { return table.close(raw).ok; });  // CloseHandle
  stream.SetHandle(owned);
  stream.pinvoke([&](const RawHandle& raw) { return table.write(raw).ok; });  // FileStream.Write

  hc::thread logger("logger", [&] { table.close(owned, "logger"); });  // the owner's shutdown
  hc::thread consumer("consumer", [&] { stream.Dispose(); });          // the stream's Dispose
  logger.join();
  consumer.join();
}

}  // namespace

HC_SCENARIO("safehandle/owns-borrowed-handle", .tags = {"safehandle", "b3"},
            .expect = hc::FindingKind::release_handle_failed,
            .message =
                "releaseHandleFailed: ReleaseHandle of SafeFileHandle 'consumer-stream' "
                "(type SafeFileHandle) returned false for handle 0x4",
            .summary =
                "ownsHandle=true around the logger's handle: both close it, the "
                "SafeHandle's ReleaseHandle loses the race",
            .pattern = "B3", .source = "releaseHandleFailed MDA") {
  borrow_and_shut_down(false);
}

HC_SCENARIO("safehandle/owns-borrowed-handle.fixed", .tags = {"safehandle", "b3", "fixed"},
            .expect = hc::clean, .summary = "ownsHandle=false: only the logger closes its handle",
            .pattern = "B3", .source = "releaseHandleFailed MDA") {
  borrow_and_shut_down(true);
}

// safehandle/event-closed-twice — an event handle closed twice; in between another thread's
// file received the value, so the second close closes the file (one namespace for every
// CloseHandle-able handle).
//
// Story: a notifier wraps a Win32 event in a hand-written class (a raw IntPtr field, no
// SafeHandle). It signals the event and closes it when its work is done, and its cleanup
// path (Dispose, a finalizer, an error leg) calls CloseHandle on the same field again: the
// field was never reset. Meanwhile a reader thread opens a data file into a SafeFileHandle.
// Events and files share one handle namespace, and the table reuses the most recently freed
// value first, so the file receives exactly the value the event just gave back. The
// notifier's second CloseHandle then "succeeds" and closes the reader's file. The reader's
// next WriteFile fails with ERROR_INVALID_HANDLE (or lands on yet another recycled object),
// and its SafeHandle's ReleaseHandle later fails: the releaseHandleFailed MDA fires on an
// apparently unrelated file handle. The MDA documentation: "accidentally closing a Win32
// event handle twice might lead to an apparently unrelated file handle being closed
// prematurely ... If this happens and is followed by an erroneous second release, the handle
// of an unrelated thread might be invalidated."
// The harness reports the root cause, at the second close: a double close of generation 1 of
// the value (Event 'ready', closed by 'notifier') that now names File 'data' opened by
// 'reader'.
// Fix: close once and reset the field to the invalid value right after the close, so the
// cleanup path sees there is nothing left to close (better: keep the event in a SafeHandle,
// whose Dispose is idempotent).
//
// Patterns B5 (its Win32 form: a double close on a cleanup path) and B22 (the victim's
// ReleaseHandle fails later) of DOMAIN.md §10, the shared namespace of §1.4; source: the
// releaseHandleFailed MDA documentation.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;

void close_event_while_reader_opens(bool fixed) {
  HandleTable table;
  Gc gc;
  RawHandle event = table.create_event("ready", true, false, "notifier");  // the notifier's field

  hc::thread notifier("notifier", [&] {
    table.signal(event);
    table.close(event, "notifier");  // work done
    if (fixed) event = RawHandle{};  // hEvent = NULL: nothing left to close
    // The cleanup path (Dispose / finalizer / error leg) closes whatever the field holds.
    if (event.valid()) table.close(event, "notifier");
  });
  hc::thread reader("reader", [&] {
    SafeHandle data(gc, table, {.type_name = "SafeFileHandle", .name = "data"});
    data.SetHandle(table.create(ObjectType::file, "data", data.label()));
    data.pinvoke([&](const RawHandle& raw) { return table.write(raw).ok; });
    data.Dispose();
  });
  notifier.join();
  reader.join();
}

}  // namespace

HC_SCENARIO("safehandle/event-closed-twice", .tags = {"safehandle", "b5", "b22"},
            .expect = hc::FindingKind::double_close,
            .message =
                "closed handle 0x4 (Event 'ready', generation 1, closed by thread "
                "'notifier'",
            .summary =
                "an event closed twice; the second close hits the file another thread "
                "opened on the recycled value",
            .pattern = "B5, B22", .source = "releaseHandleFailed MDA") {
  close_event_while_reader_opens(false);
}

HC_SCENARIO("safehandle/event-closed-twice.fixed", .tags = {"safehandle", "b5", "b22", "fixed"},
            .expect = hc::clean,
            .summary = "the event field is reset after its one close; the cleanup path skips it",
            .pattern = "B5, B22", .source = "releaseHandleFailed MDA") {
  close_event_while_reader_opens(true);
}

// safehandle/close-while-waiting — the owner closes an event handle that a worker is still
// waiting on (DOMAIN.md §10 B9, §6.3).
//
// Story: a worker thread blocks in WaitForSingleObject on a "stop" event. It got the value
// from the owner's SafeWaitHandle with DangerousGetHandle (a native helper that takes an
// IntPtr), so it holds no reference. To stop, the owner sets the event and disposes the handle
// at once, without waiting for the worker to leave its wait: "signal and close". If the worker
// has not yet returned from the wait when the close happens, the wait's outcome is undefined:
// WAIT_FAILED, an invalid-handle exception, or a wait on whatever object recycles the value
// [DOC-WFSO][ONT-2025][ONT-2012]. The model reports the close of a handle with a pending
// waiter (close-while-waiting), or, when the close comes before the worker's wait starts, the
// wait on a value that names nothing (invalid-handle-use, the default InvalidUse::raise): one
// bug, two interleavings, so the scenario accepts either.
//
// Fix: keep the handle alive for the whole wait. The worker waits through the SafeHandle, as
// WaitHandle.WaitOne does: the marshaller's DangerousAddRef holds a reference for the wait, so
// the owner's Dispose only drops the creation reference and the worker's own release closes
// the event after the wait has returned. If the owner disposed first, the AddRef throws
// ObjectDisposedException and the worker treats that as "stopped" (DOMAIN.md §1.5; [ONT-2025]
// keeps the owner alive with shared_from_this for the same reason).
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ObjectDisposedException;
using hc::models::RawHandle;
using hc::models::SafeHandle;

void stop_worker(bool wait_through_safe_handle) {
  HandleTable table;
  Gc gc;
  SafeHandle stop(gc, table, {.type_name = "SafeWaitHandle", .name = "stop"});
  stop.SetHandle(
      table.create_event("stop", /*manual_reset=*/true, /*initially_set=*/false, stop.label()));

  hc::thread worker("worker", [&] {
    if (wait_through_safe_handle) {
      try {
        stop.pinvoke([&](const RawHandle& raw) { return table.wait(raw); });
      } catch (const ObjectDisposedException&) {
        // Already disposed: the worker was stopped before it started waiting.
      }
    } else {
      table.wait(stop.DangerousGetHandle());  // WaitForSingleObject(raw, INFINITE)
    }
  });
  // The owner's Stop(): SetEvent, then Dispose, without waiting for the worker.
  stop.pinvoke([&](const RawHandle& raw) { return table.signal(raw); });
  stop.Dispose();
  worker.join();
}

}  // namespace

HC_SCENARIO("safehandle/close-while-waiting", .tags = {"safehandle", "b9"},
            .expect = hc::expect_any({hc::FindingKind::close_while_waiting,
                                      hc::FindingKind::invalid_handle_use}),
            .message = "(Event 'stop', generation 1",
            .summary =
                "the owner sets the stop event and disposes it while the worker is still "
                "in WaitForSingleObject on the raw value",
            .pattern = "B9", .source = "DOMAIN.md") {
  stop_worker(false);
}

HC_SCENARIO("safehandle/close-while-waiting.fixed", .tags = {"safehandle", "b9", "fixed"},
            .expect = hc::clean,
            .summary =
                "the worker waits through the SafeHandle: its AddRef defers the close "
                "until the wait returns",
            .pattern = "B9", .source = "DOMAIN.md") {
  stop_worker(true);
}

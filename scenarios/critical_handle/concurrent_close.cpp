// critical_handle/concurrent-close — two threads Close one CriticalHandle at once and both run
// ReleaseHandle (DOMAIN.md §10 B8, §2).
//
// Story: an asynchronous operation wraps its completion event in a CriticalHandle (chosen over
// SafeHandle to avoid the reference count). Two parties may finish it: the owner's Dispose on
// the caller's thread and the completion callback on a thread-pool thread; both call Close.
// CriticalHandle's Cleanup reads a plain `_isClosed`, then sets it, then calls ReleaseHandle:
// there is no interlocked state, and its source says outright that concurrent Close on
// different threads can run ReleaseHandle more than once [RT-CH]. When both threads pass the
// check before either sets the flag, CloseHandle runs twice on one value; the second close
// fails, or, if the value was reused meanwhile, closes somebody else's handle. The model
// reports the second ReleaseHandle (release-handle-twice).
//
// Fix: make exactly one party close it. Here the two race on an interlocked exchange of a
// "completed" flag and only the winner calls Close (the usual pattern); switching to a
// SafeHandle, whose Dispose takes effect once, also works [RT-CH][DOC-CH-RH].
#include "hc/hc.hpp"
#include "hc/models/critical_handle.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::CriticalHandle;
using hc::models::Gc;
using hc::models::HandleTable;

void close_from_both_sides(bool one_closer) {
  HandleTable table;
  Gc gc;
  CriticalHandle done(gc, table, {.type_name = "CriticalEventHandle", .name = "done"});
  done.SetHandle(table.create_event("done", true, false, done.label()));

  hc::atomic<int> completed{0, "completed"};
  auto finish = [&] {
    if (one_closer && completed.exchange(1) != 0) return;  // the other party closes it
    done.Close();
  };
  hc::thread callback("callback", finish);  // the completion callback (thread pool)
  finish();                                 // the owner's Dispose
  callback.join();
}

}  // namespace

HC_SCENARIO("critical_handle/concurrent-close", .tags = {"critical_handle", "b8"},
            .expect = hc::FindingKind::release_handle_twice,
            .message = "ReleaseHandle of CriticalEventHandle 'done' runs a second time",
            .summary =
                "the owner and a completion callback both Close the CriticalHandle: both "
                "pass _isClosed, ReleaseHandle runs twice",
            .pattern = "B8", .source = "DOMAIN.md") {
  close_from_both_sides(false);
}

HC_SCENARIO("critical_handle/concurrent-close.fixed", .tags = {"critical_handle", "b8", "fixed"},
            .expect = hc::clean,
            .summary = "an interlocked exchange picks one closer: ReleaseHandle runs once",
            .pattern = "B8", .source = "DOMAIN.md") {
  close_from_both_sides(true);
}

// finalizer/release-handle-throws-on-finalizer-thread — a SafeHandle's ReleaseHandle logs
// through a writer the application has already disposed; the ObjectDisposedException escapes
// ReleaseHandle on the finalizer thread and terminates the process, and the finalizers still
// queued never run (DOMAIN.md §10 B21, §3.6, §1.2 "finalizer ~SafeHandle", §8).
//
// Story: a service keeps its cache file and a scratch file in SafeHandle subclasses whose
// ReleaseHandle writes a line to the application's log ("closing cache.db") before closing the
// handle. On one path the handles are abandoned without Dispose (an exception skipped the
// `using`), so the GC finalizes them; at shutdown the application disposes its log writer.
// When the critical finalizer runs ReleaseHandle after the writer was disposed, the log call
// throws ObjectDisposedException ("Cannot write to a closed TextWriter"). An exception that
// escapes a finalizer is unhandled on the finalizer thread: "the runtime terminates the process
// and runs no pending finally blocks or finalizers" [DOC-FIN] — the scratch file's finalizer is
// skipped and its delete-on-close never happens. LibGit2Sharp met the same end when a finalizer
// rethrew the native library's load failure ([LG2S-1436], fixed by libgit2sharp#1438), and the
// CoreCLR marshalling stub once hid such exceptions from DangerousRelease ([CLR-26730]). When
// the GC runs is explored (a background collection anywhere, and one at shutdown), so the
// finalizer meets the writer open on some schedules and disposed on others. The model reports
// finalizer-exception with the process termination and the finalizers it skipped.
//
// Fix: ReleaseHandle must not throw (DOMAIN.md §10 B21: "ReleaseHandle must not throw; only
// return false. Guard finalizers."). Here the close itself cannot fail, so the guard is enough:
// the log call is wrapped in a catch of ObjectDisposedException, and ReleaseHandle closes the
// handle and returns true on every schedule.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::GcOptions;
using hc::models::HandleTable;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;

/// The application's log (a TextWriter): Write after Dispose throws ObjectDisposedException.
struct LogWriter {
  hc::atomic<bool> disposed{false, "log writer disposed"};
  void write(const char* /*line*/) {
    if (disposed.load()) throw ObjectDisposedException("Cannot write to a closed TextWriter.");
  }
  void dispose() { disposed.store(true); }
};

void abandon_handles_then_shut_down(bool guarded) {
  HandleTable table;
  LogWriter log;  // declared before the Gc: it outlives the finalizer thread, which ~Gc joins
  Gc gc{GcOptions{.background_collections = 1}};

  // ReleaseHandle: log the close, then close the handle.
  auto release_handle = [&](const RawHandle& raw) {
    if (guarded) {
      try {
        log.write("closing handle");
      } catch (const ObjectDisposedException&) {
        // The log is gone at shutdown: closing the handle matters more than the log line.
      }
    } else {
      log.write("closing handle");
    }
    return table.close(raw).ok;
  };
  Ref<SafeHandle> cache = gc.allocate<SafeHandle>(
      gc, table, SafeHandleOptions{.type_name = "SafeCacheFileHandle", .name = "cache.db"},
      release_handle);
  cache->SetHandle(table.create(ObjectType::file, "cache.db", cache->label()));
  Ref<SafeHandle> scratch = gc.allocate<SafeHandle>(
      gc, table, SafeHandleOptions{.type_name = "SafeScratchFileHandle", .name = "scratch.tmp"},
      release_handle);
  scratch->SetHandle(table.create(ObjectType::file, "scratch.tmp", scratch->label()));

  // An exception skipped the `using` blocks: both handles are abandoned without Dispose.
  cache.reset();
  scratch.reset();

  // Shutdown: the log writer is disposed; a last GC finalizes what is left.
  log.dispose();
  gc.collect();
  gc.wait_for_pending_finalizers();
}

}  // namespace

HC_SCENARIO("finalizer/release-handle-throws-on-finalizer-thread", .tags = {"finalizer", "b21"},
            .expect = hc::FindingKind::finalizer_exception,
            .message =
                "Cannot write to a closed TextWriter.: the process terminates; pending "
                "finally blocks and the",
            .summary =
                "ReleaseHandle logs through a writer disposed at shutdown: the "
                "ObjectDisposedException escapes on the finalizer thread, the process "
                "terminates and the finalizers still queued never run",
            .pattern = "B21", .source = "DOMAIN.md") {
  abandon_handles_then_shut_down(false);
}

HC_SCENARIO("finalizer/release-handle-throws-on-finalizer-thread.fixed",
            .tags = {"finalizer", "b21", "fixed"}, .expect = hc::clean,
            .summary =
                "ReleaseHandle guards its log call: it closes the handle and returns "
                "true whether or not the writer is still open",
            .pattern = "B21", .source = "DOMAIN.md") {
  abandon_handles_then_shut_down(true);
}

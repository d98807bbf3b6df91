// finalizer/finalizer-uses-finalized-object — A's finalizer uses B, which may already have been
// finalized (DOMAIN.md §10 B11, §3.3).
//
// Story: a buffered `LogWriter` has a finalizer that flushes its buffer to the file it writes
// to, a `NativeFile` wrapper with its own (normal) finalizer that closes the OS handle. The
// program drops the writer, whose field is the only reference to the file.
// One GC finds both unreachable and queues both finalizers on the Normal list; there is no
// order among normal finalizers, even when one object references the other [DOC-FIN]. When the
// finalizer thread happens to run the file's finalizer first, the writer's flush calls Write on
// a finalized object whose handle is already closed: ObjectDisposedException or an access
// violation on the finalizer thread, i.e. an intermittent process crash hours into a run
// [WDAPI-21][WIX-460]. The explorer tries both finalizer orders; the model reports the use of
// the finalized object (use-of-finalized-object).
//
// Fix: let a SafeHandle own the OS handle. SafeHandle is a CriticalFinalizerObject, and within
// one GC every normal finalizer runs before any critical one [TEST-CF], so the writer's final
// flush (through the SafeHandle's P/Invoke bracket) always finds the handle open; the
// SafeHandle's critical finalizer closes it afterwards. The writer's finalizer touches no other
// object with a normal finalizer.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;
using hc::models::SafeHandle;

/// B, as written before SafeHandle: a hand-rolled wrapper whose normal finalizer closes the
/// OS handle.
struct NativeFile : ManagedObject {
  NativeFile(Gc& gc, HandleTable& table)
      : ManagedObject(gc, "NativeFile", "app.log", /*has_finalizer=*/true), table_(&table) {
    handle = table.create(ObjectType::file, "app.log");
  }
  void Write() {
    use("Write");  // a method call on the wrapper: a finding once it has been finalized
    table_->write(handle);
  }
  void finalize() override { table_->close(handle); }
  HandleTable* table_;
  RawHandle handle;
};

/// The final flush, through either kind of file.
void flush(NativeFile& file) {
  file.Write();
}
void flush(SafeHandle& file) {
  file.pinvoke([&](const RawHandle& raw) { return file.table().write(raw); });
}

/// A: a buffered writer whose finalizer flushes what is still buffered. `file_` is a field: the
/// writer keeps the file reachable, and nothing else does.
template <class File>
struct LogWriter : ManagedObject {
  LogWriter(Gc& gc, Ref<File> file)
      : ManagedObject(gc, "LogWriter", "writer", /*has_finalizer=*/true), file_(std::move(file)) {}
  void Append() { use("Append"); }  // buffers a line
  void finalize() override { flush(*file_); }
  Ref<File> file_;
};

template <class File>
void drop_writer_and_collect(Gc& gc, Ref<File> file) {
  Ref<LogWriter<File>> writer = gc.allocate<LogWriter<File>>(gc, std::move(file));
  writer->Append();
  // The writer goes out of scope, and with it the only path to the file: one GC finds both
  // unreachable.
  writer.last_use();
  gc.collect();
  gc.wait_for_pending_finalizers();
}

}  // namespace

HC_SCENARIO("finalizer/finalizer-uses-finalized-object", .tags = {"finalizer", "b11"},
            .expect = hc::FindingKind::use_of_finalized_object,
            .message = "called Write on NativeFile 'app.log' after its finalizer ran",
            .summary =
                "a writer's finalizer flushes to a file wrapper whose normal finalizer "
                "may already have closed it (no order among normal finalizers)",
            .pattern = "B11", .source = "DOMAIN.md") {
  HandleTable table;
  Gc gc;
  drop_writer_and_collect(gc, gc.allocate<NativeFile>(gc, table));
}

HC_SCENARIO("finalizer/finalizer-uses-finalized-object.fixed",
            .tags = {"finalizer", "b11", "fixed"}, .expect = hc::clean,
            .summary =
                "the file is a SafeHandle: critical, so finalized after the writer's "
                "normal finalizer has flushed",
            .pattern = "B11", .source = "DOMAIN.md") {
  HandleTable table;
  Gc gc;
  Ref<SafeHandle> file = gc.allocate<SafeHandle>(
      gc, table, hc::models::SafeHandleOptions{.type_name = "SafeFileHandle", .name = "app.log"});
  file->SetHandle(table.create(ObjectType::file, "app.log", file->label()));
  drop_writer_and_collect(gc, std::move(file));
}

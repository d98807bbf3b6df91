// com/sta-object-released-on-finalizer-thread — a wrapper's finalizer releases a thread-affine
// COM object on the finalizer thread, without marshalling the release to the object's thread
// (issue 18 item 4: thread affinity).
//
// Story, dotnet/runtime#130906 (fixing #125221): running failing SQL through System.Data.OleDb
// crashed the process with an AccessViolationException in ComObject.Finalize() on the GC's
// finalizer thread. OleDbError's constructor wraps the provider's per-record IErrorInfo objects
// in runtime wrappers (RCWs) whose strategy treats every object as free-threaded; an extraction
// method throws on a provider failure, which skips the manual release, and the wrapper is left to
// the finalizer. "OLE DB error objects are thread-affine, so releasing one on the finalizer
// thread faults." Here the query runs on the main thread, a single-threaded apartment
// (CoInitializeEx(COINIT_APARTMENTTHREADED)) where the provider creates the error record; the
// wrapper holds a plain reference (a ComPtr: not marshalled), the extraction fails, the wrapper
// becomes garbage and its finalizer releases the record on thread 'finalizer'. The apartment
// model knows the record belongs to the STA of thread 'main' and reports the Release on the
// wrong thread, at the finalizer's line.
//
// Fix (dotnet/runtime#130906): release the error records in try/finally on the calling thread,
// so they are released even when the extraction throws, on the thread that owns them; the
// wrapper's finalizer then has nothing left to release. (Marshalling the release to the STA, a
// ComProxy, is the other fix: see com/sta-joins-thread-that-calls-into-it for its cost.)
#include <stdexcept>

#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/subsystem.hpp"

namespace {

using hc::models::ComApartment;
using hc::models::ComInit;
using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::models::Gc;
using hc::models::ManagedObject;
using hc::models::Ref;

struct ErrorRecord : ComObject {
  ErrorRecord() : ComObject("IErrorInfo") {}
};

/// OleDbError: the wrapper of one error record, released by its finalizer if nobody did.
struct OleDbError : ManagedObject {
  explicit OleDbError(Gc& gc) : ManagedObject(gc, "OleDbError", "error", /*has_finalizer=*/true) {}
  void finalize() override { error_info.reset(); }  // on the finalizer thread
  ComPtr<ErrorRecord> error_info;
};

void run_failing_query(bool release_in_finally) {
  Gc gc;
  ComApartment sta;  // "COM (thread main)"
  sta.CoInitializeEx(ComInit::apartment_threaded);
  {
    ComWorld world({.subsystem = &sta});
    {
      Ref<OleDbError> error = gc.allocate<OleDbError>(gc);
      error->error_info = world.make<ErrorRecord>("error record");  // the provider's record
      try {
        error->error_info.use("GetDescription");
        throw std::runtime_error("DB_E_ERRORSINCOMMAND");  // the extraction throws
      } catch (const std::runtime_error&) {
        if (release_in_finally) error->error_info.reset();  // try/finally: on this thread
      }
    }  // the wrapper becomes garbage
    gc.collect();
    gc.wait_for_pending_finalizers();
  }
  sta.CoUninitialize();
}

}  // namespace

HC_SCENARIO(
    "com/sta-object-released-on-finalizer-thread", .tags = {"com", "affinity", "finalizer"},
    .expect = hc::FindingKind::release_on_wrong_thread,
    .message = "Release of ComObject 'error record' (type IErrorInfo) through a ComPtr at step",
    .summary =
        "a wrapper left to its finalizer releases an STA error record on the finalizer "
        "thread: a thread-affine object released off its thread",
    .pattern = "I18-affinity", .source = "dotnet/runtime#130906") {
  run_failing_query(false);
}

HC_SCENARIO("com/sta-object-released-on-finalizer-thread.fixed",
            .tags = {"com", "affinity", "finalizer", "fixed"}, .expect = hc::clean,
            .summary =
                "the error record is released in try/finally on the thread that owns it; the "
                "finalizer has nothing left to release",
            .pattern = "I18-affinity", .source = "dotnet/runtime#130906") {
  run_failing_query(true);
}

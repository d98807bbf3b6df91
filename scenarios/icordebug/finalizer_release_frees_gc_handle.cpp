// icordebug/finalizer-release-frees-gc-handle — the final Release of an ICorDebug value, made
// by the GC's finalizer thread at a time of its choosing, frees the value's GC handle in the
// debuggee while the debuggee runs ("Don't do complicated work in Release()", issues 1 and 2;
// DOMAIN.md §10 B18, §4.2, O5).
//
// Story: in V1.0 ICorDebug, ICorDebugValue / ICorDebugHandleValue held resources in the
// debuggee (here a GC handle) that were freed only in the destructor, and those resources can
// be freed only while the debuggee is stopped at a managed debug event, with the Stop-Go lock
// held. The debugger is written in managed code (MDbg): each COM pointer is wrapped in a managed
// object whose finalizer calls Release. When the debugger drops the wrapper, the GC decides
// when it is collected, and the finalizer thread makes the final Release: at any time,
// typically after the debugger has called Continue and the debuggee runs again, and never
// holding the Stop-Go lock. Release then "sends IPC" to free the GC handle: the model reports
// left-side cleanup while the process is not synchronized / without the Stop-Go lock (O5),
// naming the finalizer thread. Where the finalizer's Releases fall relative to the debugger's
// Continue / Stop / Exit is explored: the finalizer is a simulated thread the scheduler runs at
// any point (rather than the Gc model's collector and finalizer machinery, whose extra steps
// put the exhaustive search out of reach; the GC's choice of time is the same interleaving).
//
// Fix (the blog's v2.0 mitigations 1 and 2): give the object an explicit lifetime, Dispose,
// which the debugger calls while the debuggee is stopped and which frees the GC handle at once
// ("we only let you dispose objects when the debuggee is stopped"); and make the final Release
// trivial: it only marks the object NeuterAtWill, and the next Continue's LeftSideResource sweep
// (the safe point: stopped, Stop-Go held, process lock dropped) frees the handle ("queue it to
// be freed at the next opportune time", as ICorDebugHandleValue does). One value of each kind:
// 'local' is disposed by the debugger, 'watch' is left to the finalizer and the next stop.
#include <initializer_list>

#include "hc/hc.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"

namespace {

using hc::models::HandleValue;
using hc::models::Process;
namespace cordbg = hc::models::cordbg;

void inspect_then_continue(bool fixed) {
  Process p("debuggee");  // stopped at a managed debug event
  const auto cleanup =
      fixed ? HandleValue::ReleaseCleanup::deferred : HandleValue::ReleaseCleanup::free_in_release;
  HandleValue local(p, "local", cleanup);  // each holds a GC handle in the debuggee
  HandleValue watch(p, "watch", cleanup);
  local.add_ref();  // the COM references MDbg's wrappers own
  watch.add_ref();

  // The debugger inspects both values while stopped, through MDbg's managed wrappers, each of
  // which owns one COM reference.
  HC_CHECK(local.dereference() == cordbg::S_OK, "Dereference of 'local' failed");
  HC_CHECK(watch.dereference() == cordbg::S_OK, "Dereference of 'watch' failed");
  // The fix: the debugger is done with 'local' and disposes it now, while stopped.
  if (fixed) HC_CHECK(local.dispose() == cordbg::S_OK, "Dispose of 'local' failed");
  // The debugger drops both wrappers; a GC finds them garbage, and the finalizer thread runs
  // their finalizers (Marshal.ReleaseComObject) whenever it gets to them.
  hc::thread finalizer("finalizer", [&] {
    local.release();
    watch.release();
  });

  p.continue_();  // the debuggee runs, the finalizer runs whenever
  finalizer.join();
  p.stop();       // the next debug event
  p.continue_();  // the safe point: the sweep frees what Release left behind
  p.stop();
  p.exit();

  if (fixed) {
    for (HandleValue* v : {&local, &watch}) {
      HC_CHECK(v->gc_handle().freed(), "GC handle of '{}' never freed", v->name());
      HC_CHECK(v->gc_handle().freed_by()->thread_name == "main",
               "GC handle of '{}' freed on thread '{}', not by the debugger at a stop", v->name(),
               v->gc_handle().freed_by()->thread_name);
    }
  }
}

}  // namespace

HC_SCENARIO("icordebug/finalizer-release-frees-gc-handle", .tags = {"icordebug", "b18"},
            .expect = hc::FindingKind::left_side_cleanup_while_running,
            .message = "frees GC handle 'local' in process 'debuggee'",
            .summary =
                "MDbg's finalizer makes the final Release of a handle value, whose Release "
                "frees its GC handle in the debuggee without Stop-Go while it runs",
            .pattern = "B18", .source = "Don't do complicated work in Release()") {
  inspect_then_continue(false);
}

HC_SCENARIO("icordebug/finalizer-release-frees-gc-handle.fixed",
            .tags = {"icordebug", "b18", "fixed"}, .expect = hc::clean,
            .summary =
                "Dispose while stopped, and a trivial Release whose cleanup the next "
                "Continue's LeftSideResource sweep does",
            .pattern = "B18", .source = "Don't do complicated work in Release()") {
  inspect_then_continue(true);
}

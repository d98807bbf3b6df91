// icordebug/cached-frame-after-continue — a debugger's variables window caches an IL frame and a
// local's value and keeps using them while the debugger thread continues the debuggee; in V1.1
// the frame and value methods lacked the neutered check, so a call after Continue ran on stale
// state and "succeeded" (in production: an access violation or garbage) ("Don't do complicated
// work in Release()", mitigation 1; DOMAIN.md §10 B16, B17, §4.1, §4.2).
//
// Story: frames and values describe the debuggee's stack at one stop; Continue invalidates
// them. In V1.1 nothing marked them dead: "In many cases, such error paths resulted in access
// violations (AV) in v1.1." The variables window (a UI thread) caches the frame of the current
// stop and the ICorDebugValue of a local, and redraws from that cache when the debugger thread
// tells it the debuggee is running again (the user pressed F5). Every true Continue marks the
// thread's stack dirty, last of its sweeps (FlushProcessRunning, DOMAIN.md §4.2), which
// neuters the RefreshStack list (the frame) and through the frame's Neuter its strong child
// (the value). With the V1.1 implementation (NeuterCheck::unchecked) the redraw's calls return
// S_OK on neutered objects: the model reports the call on a neutered object that succeeded.
// (Before issue 17 the model neutered the stacks first in Continue and this window raced the
// Continue itself; with the stacks marked dirty last, only a window that waits for the
// notification meets the neutered frame on every schedule.)
//
// Fix (V2.0): "Disposed objects will now return CORDBG_E_OBJECT_NEUTERED on most methods"
// (FAIL_IF_NEUTERED): the stale call answers CORDBG_E_OBJECT_NEUTERED instead of crashing, and
// the window reacts by dropping its cache; at the next stop it re-fetches the frame. A value it
// must keep across Continue is held as an ICorDebugHandleValue, which survives Continue and is
// disposed by the debugger while stopped (B17: the cache entry is dropped with it).
#include "hc/hc.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"

namespace {

using hc::models::HandleValue;
using hc::models::NeuterCheck;
using hc::models::Process;
using hc::models::RsObject;
namespace cordbg = hc::models::cordbg;

void refresh_while_continuing(bool fail_if_neutered) {
  const NeuterCheck check =
      fail_if_neutered ? NeuterCheck::fail_if_neutered : NeuterCheck::unchecked;
  Process p("debuggee");  // stopped at a breakpoint
  hc::models::NeuterList& stack = p.add_refresh_stack_list("main");
  RsObject frame(p, "CordbILFrame", "frame");
  RsObject local(p, "CordbValue", "local0");
  stack.add(frame);               // neutered when the stack is marked dirty
  frame.add_strong_child(local);  // the frame's Neuter neuters its values
  frame.add_ref();                // the variables window's cached references
  local.add_ref();
  HandleValue pinned(p, "this");  // a handle value: lives across Continue
  pinned.add_ref();

  hc::event running(hc::event::reset_mode::manual, false, "debuggee running");
  hc::thread ui("variables-window", [&] {
    // On the "running" notification: a redraw from the cache.
    running.wait();
    const cordbg::HRESULT ip = frame.call("GetIP", check, [] { return cordbg::S_OK; });
    const cordbg::HRESULT val = local.call("GetValue", check, [] { return cordbg::S_OK; });
    // (V2.0) A neutered answer, never a crash; the window drops its cache either way.
    HC_CHECK(ip == cordbg::S_OK || ip == cordbg::CORDBG_E_OBJECT_NEUTERED, "GetIP: {}",
             cordbg::hresult_name(ip));
    HC_CHECK(val == cordbg::S_OK || val == cordbg::CORDBG_E_OBJECT_NEUTERED, "GetValue: {}",
             cordbg::hresult_name(val));
  });
  p.continue_();  // the user presses F5
  running.set();  // the debugger thread tells the window
  ui.join();
  frame.release();  // the window drops its cache
  local.release();

  p.stop();  // the next breakpoint: the window re-fetches the current frame
  RsObject fresh(p, "CordbILFrame", "frame@stop2");
  stack.add(fresh);
  fresh.add_ref();
  HC_CHECK(fresh.call("GetIP", check, [] { return cordbg::S_OK; }) == cordbg::S_OK,
           "a fresh frame failed");
  HC_CHECK(pinned.dereference() == cordbg::S_OK, "the handle value did not survive Continue");
  HC_CHECK(pinned.dispose() == cordbg::S_OK, "Dispose while stopped failed");
  pinned.release();  // the window drops the disposed handle from its cache (B17)
  fresh.release();
  p.continue_();
  HC_CHECK(frame.deleted() && local.deleted() && fresh.deleted(), "a frame or value leaked");
  p.stop();
  p.exit();
}

}  // namespace

HC_SCENARIO("icordebug/cached-frame-after-continue",
            .tags = {"icordebug", "b16", "b17", "neutered"},
            .expect = hc::FindingKind::neutered_object_call,
            .message = "which returns S_OK although the object was neutered at Continue #1",
            .summary =
                "the variables window redraws from a cached frame and value once the debugger "
                "continued; V1.1 methods without FAIL_IF_NEUTERED succeed on stale state",
            .pattern = "B16, B17", .source = "Don't do complicated work in Release()") {
  refresh_while_continuing(false);
}

HC_SCENARIO("icordebug/cached-frame-after-continue.fixed",
            .tags = {"icordebug", "b16", "b17", "neutered", "fixed"}, .expect = hc::clean,
            .summary =
                "FAIL_IF_NEUTERED: the stale calls answer CORDBG_E_OBJECT_NEUTERED; the "
                "window re-fetches the frame at the next stop and keeps a handle value",
            .pattern = "B16, B17", .source = "Don't do complicated work in Release()") {
  refresh_while_continuing(true);
}

// com/sta-joins-thread-that-calls-into-it — an STA thread joins a thread (a non-pumping wait)
// that needs a cross-apartment call into that STA to finish (issue 18 item 4: apartments).
//
// Story, obsproject/obs-browser#521 (fix proposed in obsproject/obs-browser#522): on Windows,
// unloading the browser plugin calls manager_thread.join() on the main thread, an STA, which
// "blocks the main thread without pumping messages. During CefShutdown(), CEF's CrBrowserMain
// thread needs cross-apartment COM dispatch via the main thread's STA message pump. This
// deadlocks" (4 of 5 shutdowns hung). Here the main thread initializes its STA and creates the
// browser host object there; the manager thread got the host marshalled (a ComProxy) and, while
// shutting down, calls Shutdown on it and releases it: both are cross-apartment calls that
// complete only when the main thread pumps. The main thread unloads the plugin by joining the
// manager thread. A join is WaitForSingleObject on the thread handle: it dispatches nothing, so
// the manager's call never runs and the join never returns. The apartment model queues the call
// to the STA and reports the deadlock: the main thread joining 'manager', and the manager
// waiting for the reply of its call into the STA of thread 'main'.
//
// Fix (obs-browser#522): wait with a message pump (MsgWaitForMultipleObjects + PeekMessage /
// DispatchMessage; here CoWaitForMultipleHandles on a "manager exited" event the manager sets
// last), which dispatches the manager's calls, and join only once it has signalled.
#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/subsystem.hpp"

namespace {

using hc::models::ComApartment;
using hc::models::ComEvent;
using hc::models::ComInit;
using hc::models::ComObject;
using hc::models::ComProxy;
using hc::models::ComPtr;
using hc::models::ComWorld;

struct BrowserHost : ComObject {
  BrowserHost() : ComObject("IBrowserHost") {}
};

void unload_plugin(bool pumping_wait) {
  ComApartment sta;  // "COM (thread main)"
  sta.CoInitializeEx(ComInit::apartment_threaded);
  ComEvent manager_exited(sta, "manager thread exited");
  {
    ComWorld world({.subsystem = &sta});
    ComPtr<BrowserHost> host = world.make<BrowserHost>("browser host");
    ComProxy<BrowserHost> proxy = ComProxy<BrowserHost>::marshal(host);
    hc::thread manager("manager", [&manager_exited, p = std::move(proxy)]() mutable {
      p.call("Shutdown");  // CefShutdown: a call into the main thread's STA
      p.Release();
      manager_exited.SetEvent();
    });
    host.reset();  // obs_module_unload: the plugin's own reference goes
    if (pumping_wait) sta.CoWaitForMultipleHandles(manager_exited);  // pumps
    manager.join();  // WaitForSingleObject on the thread: does not pump
  }
  sta.CoUninitialize();
}

}  // namespace

HC_SCENARIO("com/sta-joins-thread-that-calls-into-it", .tags = {"com", "affinity", "apartment"},
            .expect = hc::FindingKind::deadlock,
            .message =
                "thread 'manager' waits for event 'reply of the cross-apartment call Shutdown of "
                "ComObject 'browser host' (type IBrowserHost) by thread 'manager' into the STA "
                "of thread 'main'",
            .summary =
                "an STA thread joins a thread whose cross-apartment call into that STA needs it "
                "to pump: the join dispatches nothing, and both wait for ever",
            .pattern = "I18-affinity", .source = "obsproject/obs-browser#521") {
  unload_plugin(false);
}

HC_SCENARIO("com/sta-joins-thread-that-calls-into-it.fixed",
            .tags = {"com", "affinity", "apartment", "fixed"}, .expect = hc::clean,
            .summary =
                "a pumping wait (CoWaitForMultipleHandles) for the thread's exit dispatches its "
                "calls; the join comes after",
            .pattern = "I18-affinity", .source = "obsproject/obs-browser#521") {
  unload_plugin(true);
}

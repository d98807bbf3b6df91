// finalizer/finalizer-blocked-by-non-pumping-wait — the finalizer's Release of an STA COM object
// is a cross-apartment call into the UI thread's single-threaded apartment, and the UI thread
// waits without pumping for what only that finalizer would provide (DOMAIN.md §10 B20, §3.3).
//
// Story [SASHA-STA][IIS-COM], dotnet/roslyn#34248 (worked around in dotnet/roslyn#34498): a
// desktop application's UI thread is an STA (CoInitializeEx(COINIT_APARTMENTTHREADED)). A
// Thumbnail wrapper, a managed object like an RCW, holds a WIC bitmap created on the UI thread;
// the interface pointer it holds is marshalled, so its finalizer's Release is a cross-apartment
// call: COM queues it to the UI thread and the finalizer thread waits until the UI thread
// dispatches it, which only a message pump does ("the finalizer queue might be already trying
// to clean up an RCW, which is marshaling to the STA thread", roslyn#34248). Handling "clear
// thumbnails", the UI thread drops the thumbnail, forces a collection, and waits until the
// bitmap is released, with WaitForSingleObject on a "bitmap released" event that the finalizer
// sets after its Release. WaitForSingleObject does not pump: the UI thread never dispatches the
// finalizer's Release, and the finalizer never sets the event. The application hangs ("Not
// Responding"), and finalization stops for the whole process: the pixel buffer queued behind
// the thumbnail is never finalized, memory keeps growing [DOC-FIN]; dotnet/coreclr#25502: an
// STA "should have a top level message loop in order to not deadlock the finalizer thread".
// The apartment model makes the Release a real cross-apartment call (ComProxy) that completes
// only when the UI thread pumps: no thread can run, and the deadlock names the finalizer's
// blocked call into the STA of thread 'ui' and the UI thread's non-pumping wait.
//
// Fix: a pumping wait. CoWaitForMultipleHandles (what a .NET wait on an STA thread does)
// dispatches the calls queued to the apartment while it waits, the finalizer's Release among
// them. (Releasing the COM object explicitly on its own thread, Marshal.FinalReleaseComObject
// on the STA, avoids the finalizer's call altogether.)
#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/subsystem.hpp"

namespace {

using hc::models::ComApartment;
using hc::models::ComEvent;
using hc::models::ComInit;
using hc::models::ComObject;
using hc::models::ComProxy;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::models::Gc;
using hc::models::ManagedObject;
using hc::models::Ref;

struct WicBitmap : ComObject {
  WicBitmap() : ComObject("IWICBitmap") {}
};

/// The managed wrapper of an STA bitmap (an RCW): its finalizer releases it through the
/// marshalled pointer, then says so.
struct Thumbnail : ManagedObject {
  Thumbnail(Gc& gc, ComProxy<WicBitmap> bitmap, ComEvent& released)
      : ManagedObject(gc, "Thumbnail", "thumb", /*has_finalizer=*/true),
        bitmap_(std::move(bitmap)),
        released_(&released) {}
  void finalize() override {
    bitmap_.Release();  // a cross-apartment call into the UI thread's STA
    released_->SetEvent();
  }
  ComProxy<WicBitmap> bitmap_;
  ComEvent* released_;
};

/// Another finalizable object that becomes garbage: it waits behind the thumbnail.
struct PixelBuffer : ManagedObject {
  explicit PixelBuffer(Gc& gc)
      : ManagedObject(gc, "PixelBuffer", "pixels", /*has_finalizer=*/true) {}
};

void clear_thumbnails(bool pumping_wait) {
  Gc gc;
  hc::thread ui_thread("ui", [&] {
    ComApartment sta;  // "COM (thread ui)"
    sta.CoInitializeEx(ComInit::apartment_threaded);
    ComEvent released(sta, "bitmap released");
    ComWorld world({.subsystem = &sta});
    {
      ComPtr<WicBitmap> bitmap = world.make<WicBitmap>("bitmap");
      Ref<Thumbnail> thumb =
          gc.allocate<Thumbnail>(gc, ComProxy<WicBitmap>::marshal(bitmap), released);
      Ref<PixelBuffer> pixels = gc.allocate<PixelBuffer>(gc);
    }  // "clear thumbnails": the last references go (the bitmap lives on in the thumbnail)
    gc.collect();
    if (pumping_wait) {
      sta.CoWaitForMultipleHandles(released);
    } else {
      released.WaitForSingleObject();  // does not pump
    }
    sta.CoUninitialize();
  });
  ui_thread.join();
}

}  // namespace

HC_SCENARIO("finalizer/finalizer-blocked-by-non-pumping-wait", .tags = {"finalizer", "b20", "com"},
            .expect = hc::FindingKind::deadlock,
            .message =
                "waits for event 'reply of the cross-apartment call Release of ComObject 'bitmap' "
                "(type IWICBitmap) by thread 'finalizer' into the STA of thread 'ui'",
            .summary =
                "a finalizer's Release of an STA object must be dispatched by the UI thread, "
                "which waits for that finalizer without pumping: finalization stops",
            .pattern = "B20", .source = "DOMAIN.md") {
  clear_thumbnails(false);
}

HC_SCENARIO("finalizer/finalizer-blocked-by-non-pumping-wait.fixed",
            .tags = {"finalizer", "b20", "com", "fixed"}, .expect = hc::clean,
            .summary =
                "a pumping wait: CoWaitForMultipleHandles dispatches the finalizer's Release on "
                "the UI thread while it waits",
            .pattern = "B20", .source = "DOMAIN.md") {
  clear_thumbnails(true);
}

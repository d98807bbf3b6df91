// finalizer/finalizer-blocked-by-non-pumping-wait — a finalizer must call into a thread's
// context, and that thread sits in a non-pumping wait for what only the finalizer would
// provide (DOMAIN.md §10 B20, §3.3; the apartment-free version).
//
// Story: a desktop application's UI thread owns its native drawing objects. Every call on them
// enters the UI thread's context, here the "ui dispatcher" lock, which the UI thread holds
// while it handles a message (the stand-in for a single-threaded apartment: only code inside
// the UI's context may touch its objects). A Thumbnail wrapper owns a bitmap handle created on
// the UI thread; its finalizer deletes the bitmap, so it enters the dispatcher first, as an
// STA object's RCW must call into its apartment to release the object. Handling "clear
// thumbnails", the UI thread drops its last reference to the thumbnail, forces a collection
// and then waits until the bitmap is released: a Sleep-and-check loop, which does not pump.
// It waits inside its message handler, holding the dispatcher. The finalizer thread runs the
// thumbnail's finalizer and blocks on the dispatcher; the UI thread polls a flag that only
// that finalizer sets. Nothing deadlocks in the scheduler's sense, since the UI thread keeps
// running, but the application hangs ("Not Responding") and finalization stops for the whole
// process: every finalizable object queued behind the thumbnail (here a pixel buffer) stays in
// memory, and memory keeps growing [SASHA-STA][IIS-COM][DOC-FIN]. The GC model counts the
// steps in which the finalizer thread cannot run because it waits for something another thread
// holds (GcOptions::finalizer_block_bound, 16 by default) and reports finalizer-blocked, naming
// the lock and its holder; a finalizer that is merely preempted is never counted.
//
// Fix: a pumping wait. While it waits, the UI thread leaves its context (releases the
// dispatcher around each sleep), so calls queued for it, the finalizer's among them, get in,
// as CoWaitForMultipleHandles or a message-pumping wait dispatches calls into an STA. (Releasing
// COM objects explicitly on their own thread, Marshal.FinalReleaseComObject on the STA, avoids
// the finalizer's call altogether.)
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;

/// The UI thread's context: code that touches its objects holds the dispatcher.
struct UiContext {
  hc::mutex dispatcher{"ui dispatcher"};
  hc::atomic<bool> bitmap_released{false, "bitmap released"};
};

/// A wrapper of a UI-owned bitmap: its finalizer enters the UI context to delete it.
struct Thumbnail : ManagedObject {
  Thumbnail(Gc& gc, UiContext& ui, HandleTable& table)
      : ManagedObject(gc, "Thumbnail", "thumb", /*has_finalizer=*/true), ui_(&ui), table_(&table) {
    bitmap_ = table.create(ObjectType::user, "bitmap", label());
  }
  void finalize() override {
    ui_->dispatcher.lock();  // the call into the UI thread's context
    table_->close(bitmap_, label());
    ui_->dispatcher.unlock();
    ui_->bitmap_released.store(true);
  }
  UiContext* ui_;
  HandleTable* table_;
  RawHandle bitmap_;
};

/// Another finalizable object that becomes garbage: it waits behind the thumbnail.
struct PixelBuffer : ManagedObject {
  explicit PixelBuffer(Gc& gc)
      : ManagedObject(gc, "PixelBuffer", "pixels", /*has_finalizer=*/true) {}
};

void clear_thumbnails(bool pumping_wait) {
  HandleTable table;
  UiContext ui;  // outlives the GC: its finalizer thread may still use the dispatcher
  Gc gc;
  hc::thread ui_thread("ui", [&] {
    ui.dispatcher.lock();  // handling a message: inside the UI context
    {
      Ref<Thumbnail> thumb = gc.allocate<Thumbnail>(gc, ui, table);
      Ref<PixelBuffer> pixels = gc.allocate<PixelBuffer>(gc);
    }  // "clear thumbnails": the last references go
    gc.collect();
    // Wait until the bitmap is released: Sleep-and-check.
    while (!ui.bitmap_released.load()) {
      if (pumping_wait) ui.dispatcher.unlock();  // let calls into the UI context in
      hc::this_thread::yield();                  // Sleep(10)
      if (pumping_wait) ui.dispatcher.lock();
    }
    ui.dispatcher.unlock();
  });
  ui_thread.join();
}

}  // namespace

HC_SCENARIO("finalizer/finalizer-blocked-by-non-pumping-wait", .tags = {"finalizer", "b20"},
            .expect = hc::FindingKind::finalizer_blocked,
            .message = "to lock mutex 'ui dispatcher', held by thread 'ui'",
            .summary =
                "a finalizer must enter the UI thread's context, and the UI thread holds "
                "it in a non-pumping wait for that finalizer: finalization stops",
            .pattern = "B20", .source = "DOMAIN.md") {
  clear_thumbnails(false);
}

HC_SCENARIO("finalizer/finalizer-blocked-by-non-pumping-wait.fixed",
            .tags = {"finalizer", "b20", "fixed"}, .expect = hc::clean,
            .summary =
                "a pumping wait: the UI thread leaves its context while it waits, so the "
                "finalizer's call gets in",
            .pattern = "B20", .source = "DOMAIN.md") {
  clear_thumbnails(true);
}

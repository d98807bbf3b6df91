// finalizer/finalizer-during-native-call — the finalizer frees native memory while a native
// call that received its pointer is still running: no GC.KeepAlive (DOMAIN.md §10 B2, §3.3, O3).
//
// Story: a wrapper in the style of SkiaSharp's SKObject (before SafeHandle) holds a raw native
// pointer in a field and frees it in its own finalizer. A method reads `this._ptr` and passes
// the pointer to native code that draws from the pixels and then writes them back. After that
// field read nothing uses `this` again, so the JIT ends the wrapper's lifetime there: a GC
// that happens while the native call runs finds the wrapper unreachable, and the finalizer
// thread frees the pixels under the native code's feet. In production that is an intermittent
// access violation or heap corruption with a different victim each run, seen in SkiaSharp on
// net48 [SKIA-4127] and suspected in libgit2sharp [LG2S-2111] and xamarin/flex [FLEX-3]
// [BRUMME][RT-GC]. Here when the GC happens is explored (a background collection by the "gc"
// thread, interleaved anywhere). The pixels are the user's own memory (hc::models::UserMemory,
// not a kernel handle): the native call reads them and writes them back, and when the
// finalizer's free comes in between the write is a use-after-free finding that names the
// finalizer and the line of its free.
//
// Fix: `GC.KeepAlive(this)` after the native call, so the wrapper stays reachable until the
// call returns [RT-GC]. Passing a SafeHandle parameter instead works too: the marshaller's
// AddRef keeps the value open for the call (DOMAIN.md §1.5).
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/user_memory.hpp"

namespace {

using hc::models::Gc;
using hc::models::GcOptions;
using hc::models::ManagedObject;
using hc::models::Ref;
using hc::models::UserMemory;

/// The wrapper: a raw pointer in a field and a normal finalizer that frees what it points to.
struct NativeBitmap : ManagedObject {
  NativeBitmap(Gc& gc, UserMemory& native_pixels)
      : ManagedObject(gc, "SKBitmap", "bitmap", /*has_finalizer=*/true), pixels(&native_pixels) {}
  void finalize() override { pixels->free(); }  // sk_bitmap_destructor
  UserMemory* pixels;                           // this._ptr
};

void draw_bitmap(bool keep_alive) {
  // The factory calls the native constructor (sk_bitmap_new allocates the pixels), then wraps
  // the pointer; `new` assigned to a local is reachable from the start. (The UserMemory is
  // declared before the Gc so that it outlives the finalizer thread, which ~Gc joins.)
  UserMemory native("pixels");
  Gc gc{GcOptions{.background_collections = 1}};
  Ref<NativeBitmap> self = gc.allocate<NativeBitmap>(gc, native);

  // bitmap.Draw(): read the field, then call native code with the raw pointer.
  UserMemory* const ptr = self->pixels;
  if (!keep_alive) self.last_use();  // the JIT: `this` is dead after the field read
  // sk_canvas_draw_bitmap(ptr): the native code reads the pixels, then writes them back.
  ptr->read("sk_canvas_draw_bitmap");
  ptr->write("sk_canvas_draw_bitmap");
  if (keep_alive) self.keep_alive();  // GC.KeepAlive(this) after the native call

  // The program goes on; a later GC finalizes the unreachable wrapper, which frees the pixels.
  gc.collect();
  gc.wait_for_pending_finalizers();
}

}  // namespace

HC_SCENARIO("finalizer/finalizer-during-native-call", .tags = {"finalizer", "b2"},
            .expect = hc::FindingKind::use_after_free,
            .message = "after thread 'finalizer' freed it at scenarios/finalizer/",
            .summary =
                "a GC after the last use of `this` finalizes the wrapper: its finalizer "
                "frees the pixels while the native call still uses them",
            .pattern = "B2", .source = "DOMAIN.md") {
  draw_bitmap(false);
}

HC_SCENARIO("finalizer/finalizer-during-native-call.fixed", .tags = {"finalizer", "b2", "fixed"},
            .expect = hc::clean,
            .summary =
                "GC.KeepAlive(this) after the native call: the finalizer runs only after "
                "it returns",
            .pattern = "B2", .source = "DOMAIN.md") {
  draw_bitmap(true);
}

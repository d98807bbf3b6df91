// finalizer/finalizer-during-native-call — the finalizer frees a native resource while a native
// call that received its raw value is still running: no GC.KeepAlive (DOMAIN.md §10 B2, §6.4).
//
// Story: a wrapper in the style of SkiaSharp's SKObject (before SafeHandle) holds a raw native
// value in a field and frees it in its own finalizer. A method reads `this._ptr` and passes
// the value to native code that draws from the pixels and then writes them back. After that
// field read nothing uses `this` again, so the JIT ends the wrapper's lifetime there: a GC
// that happens while the native call runs finds the wrapper unreachable, and the finalizer
// thread frees the pixels under the native code's feet. In production that is an intermittent
// access violation or heap corruption with a different victim each run, seen in SkiaSharp on
// net48 [SKIA-4127] and suspected in libgit2sharp [LG2S-2111] and xamarin/flex [FLEX-3]
// [BRUMME][RT-GC]. Here when the GC happens is explored (a background collection by the "gc"
// thread, interleaved anywhere). The native call is two uses of the value, and under a checking
// configuration (AppVerifier-style `InvalidUse::raise`) the model reports the use of the freed
// value (invalid-handle-use) and names the finalizer as the thread that closed it.
//
// Fix: `GC.KeepAlive(this)` after the native call, so the wrapper stays reachable until the
// call returns [RT-GC]. Passing a SafeHandle parameter instead works too: the marshaller's
// AddRef keeps the value open for the call (DOMAIN.md §1.5).
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::Gc;
using hc::models::GcOptions;
using hc::models::HandleTable;
using hc::models::InvalidUse;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::Ref;

/// The wrapper: a raw value in a field and a normal finalizer that frees it.
struct NativeBitmap : ManagedObject {
  NativeBitmap(Gc& gc, HandleTable& owner_table, RawHandle native_pixels)
      : ManagedObject(gc, "SKBitmap", "bitmap", /*has_finalizer=*/true),
        table(&owner_table),
        pixels(native_pixels) {}
  void finalize() override { table->close(pixels, label()); }  // sk_bitmap_destructor
  HandleTable* table;
  RawHandle pixels;  // this._ptr
};

void draw_bitmap(bool keep_alive) {
  HandleTable table{{.invalid_use = InvalidUse::raise}};
  Gc gc{GcOptions{.background_collections = 1}};

  // The factory calls the native constructor, then wraps the value; `new` assigned to a local
  // is reachable from the start.
  const RawHandle native = table.create(ObjectType::section, "pixels", "SKBitmap 'bitmap'");
  Ref<NativeBitmap> self = gc.allocate<NativeBitmap>(gc, table, native);

  // bitmap.Draw(): read the field, then call native code with the raw value.
  const RawHandle ptr = self->pixels;
  if (!keep_alive) self.last_use();  // the JIT: `this` is dead after the field read
  // sk_canvas_draw_bitmap(ptr): the native code takes the value, then keeps using it.
  table.use(ptr, "sk_canvas_draw_bitmap");
  table.use(ptr, "sk_canvas_draw_bitmap");
  if (keep_alive) self.keep_alive();  // GC.KeepAlive(this) after the native call

  // The program goes on; a later GC finalizes the unreachable wrapper, which frees the pixels.
  gc.collect();
  gc.wait_for_pending_finalizers();
}

}  // namespace

HC_SCENARIO("finalizer/finalizer-during-native-call", .tags = {"finalizer", "b2"},
            .expect = hc::FindingKind::invalid_handle_use,
            .message = "(Section 'pixels', generation 1, closed by thread 'finalizer'",
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

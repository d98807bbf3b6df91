// com/destructor-hands-out-this — a COM object's destructor hands `this` to other code, whose
// AddRef and Release take the count 0→1→0, and the object is destroyed a second time (DOMAIN.md
// §5, §10 B13).
//
// Story (Raymond Chen, "COM object destructors are very sensitive functions" [ONT-0927]): a
// document object implements IUnknown the usual way,
//
//     ULONG Release() { LONG c = InterlockedDecrement(&m_ref); if (c == 0) delete this; return c; }
//
// and its destructor saves unsaved changes: `~CDocument() { if (m_dirty) Save(); }`. Save hands
// the document to a persistence store as its site (IObjectWithSite::SetSite(this), which
// AddRefs it) and clears the site when done (SetSite(NULL), which Releases it). Inside the
// destructor the count is already 0: SetSite's AddRef takes it 0→1, and the Release takes it
// 1→0 again, so the document's own Release code runs `delete this` a second time, from inside
// its first destruction. In production that is heap corruption found far away. The editor
// window and an autosave thread each hold a reference; whichever releases last runs the
// destructor, on its own thread: the explorer interleaves the two, and every order ends in the
// double destruction. The document is the user's own IUnknown code (UserUnknown): its
// InterlockedIncrement/Decrement and `delete this` are the model's steps, so the finding is
// double-destruction at the user's Release, saying that the destructor's AddRef took the count
// 0→1 (the AddRef from zero).
//
// Fix [ONT-0928]: an artificial reference count during destruction. Release sets m_ref to a
// large value before `delete this`, so the destructor's AddRef/Release go 1000→1001→1000 and
// never reach 0 again (the base destructor may assert it is 1000 again: the model checks that a
// reference taken in the destructor is not kept). Better still, do not hand out `this` from a
// destructor at all.
#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"

namespace {

using hc::models::ComWorld;
using hc::models::UserUnknown;

/// The persistence store: IObjectWithSite. SetSite AddRefs the new site and Releases the old
/// one, through the site's own IUnknown.
class Document;
class Store : public UserUnknown {
 public:
  explicit Store(ComWorld& world) : UserUnknown(world, "CPersistStore", "store") {}
  long AddRef() { return InterlockedIncrement(&m_ref); }
  long Release() {
    const long c = InterlockedDecrement(&m_ref);
    if (c == 0) delete this;
    return c;
  }
  void SetSite(Document* site);  // AddRef the new site, Release the old one
  void Write() { use("Write"); }

 private:
  Document* site_ = nullptr;
};

class Document : public UserUnknown {
 public:
  static constexpr long kDestructorRefCount = 1000;  // ONT-0928

  Document(ComWorld& world, Store* store, bool artificial_count)
      : UserUnknown(world, "CDocument", "report"), store_(store), artificial_(artificial_count) {
    store_->AddRef();
  }
  ~Document() override {
    if (dirty_) Save();
    store_->Release();
  }

  long AddRef() { return InterlockedIncrement(&m_ref); }
  long Release() {
    const long c = InterlockedDecrement(&m_ref);
    if (c == 0) {
      if (artificial_) m_ref = kDestructorRefCount;  // the fix: never 0 again during destruction
      delete this;
    }
    return c;
  }
  void Edit() {
    use("Edit");
    dirty_ = true;
  }

 private:
  void Save() {
    store_->SetSite(this);  // AddRef(this): 0→1 inside the destructor, unless the count is guarded
    store_->Write();
    store_->SetSite(nullptr);  // Release(this): 1→0, `delete this` again
  }

  Store* store_;
  bool artificial_;
  bool dirty_ = false;
};

void Store::SetSite(Document* site) {
  use("SetSite");
  if (site != nullptr) site->AddRef();
  Document* old = site_;
  site_ = site;
  if (old != nullptr) old->Release();
}

void close_while_autosaving(bool artificial_count) {
  ComWorld world;
  Store* store = new Store(world);
  auto* doc = new Document(world, store, artificial_count);  // the editor window's reference
  doc->AddRef();                                             // the autosave thread's
  hc::thread autosave("autosave", [doc] {
    doc->Edit();
    doc->Release();
  });
  doc->Edit();
  doc->Release();  // the window closes
  autosave.join();
  store->Release();
}

}  // namespace

HC_SCENARIO("com/destructor-hands-out-this", .tags = {"com", "b13", "user-iunknown"},
            .expect = hc::FindingKind::double_destruction,
            .message = "second destruction of ComObject 'report' (type CDocument) at step",
            .summary =
                "the document's destructor saves through SetSite(this): AddRef 0→1, Release "
                "1→0, and its own Release deletes it a second time",
            .pattern = "B13", .source = "DOMAIN.md") {
  close_while_autosaving(false);
}

HC_SCENARIO("com/destructor-hands-out-this.fixed", .tags = {"com", "b13", "user-iunknown", "fixed"},
            .expect = hc::clean,
            .summary =
                "Release sets an artificial count before `delete this`: the destructor's "
                "AddRef/Release go 1000→1001→1000 and never reach 0 again",
            .pattern = "B13", .source = "DOMAIN.md") {
  close_while_autosaving(true);
}

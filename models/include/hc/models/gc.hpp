// hc/models/gc.hpp — the .NET GC as finalization sees it (DOMAIN.md §3): managed objects,
// strong and weak references, collections at explored times, and one real finalizer thread.
//
//   hc::models::Gc gc;                                   // starts the "finalizer" thread
//   struct Conn : hc::models::ManagedObject {
//     Conn(hc::models::Gc& gc) : ManagedObject(gc, "Conn", "c1", /*finalizer=*/true) {}
//     void finalize() override { ... runs on the finalizer thread ... }
//   };
//   Conn& c = gc.make<Conn>(gc);                         // owned by the GC
//   hc::models::Ref<Conn> ref(c);                        // a root: keeps it reachable
//   ref.last_use();        // the JIT's view: unreachable from here (unless keep_alive() later)
//   gc.collect();          // queued for finalization; the finalizer thread runs it
//
// Reachability is explicit: an object is reachable while a Ref<T> to it exists (a local, a
// field, a static). Dropping the last Ref makes it collectable; `last_use()` drops a Ref where
// the JIT would consider it dead, and `keep_alive()` is GC.KeepAlive: the Ref is dropped there,
// later. When collections happen: at explicit collect() calls, and, with
// GcOptions::background_collections > 0, on a "gc" thread whose collections the explorer
// interleaves anywhere (so when a GC happens is an explored choice, bounded by that number).
//
// A collection (§3.2): short weak references to unreachable objects are cleared; each
// unreachable object registered for finalization (not suppressed) is queued — normal
// finalizers first, critical ones (SafeHandle, CriticalHandle) after, in the order §3.3 gives;
// queued objects are resurrected (still valid) until their finalizer runs; long weak
// references are cleared after that. The finalizer thread drains the queue: every normal
// entry before any critical one; the order among normal entries is an explored choice.
//
// Operations and what they touch (DPOR): collect writes the GC (the finalization queue and the
// reachability of every object); Ref creation/drop writes the object's root count; a use
// through a Ref or WeakRef reads the object; suppress_finalize / reregister_for_finalize write
// the object's finalization registration; wait_for_pending_finalizers syncs on the queue.
#pragma once

#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/models/common.hpp"
#include "hc/sync.hpp"
#include "hc/thread.hpp"

namespace hc::models {

class Gc;
class ManagedObject;

namespace detail {
// Ref's root counting, out of line (Gc is incomplete where Ref is defined).
void add_root(ManagedObject& o, const std::source_location& where);
void drop_root(ManagedObject& o, const std::source_location& where);
}  // namespace detail

struct GcOptions {
  std::uint32_t background_collections = 0;  // collections by the "gc" thread, interleaved
  std::uint32_t finalizer_block_bound = 0;   // steps a finalizer may run before a
                                             // finalizer-blocked finding (0: no bound)
};

/// A managed object. Derive from it; the GC owns it (Gc::make) so that its memory stays valid
/// after finalization and misuse is a finding, not a crash.
class ManagedObject {
 public:
  /// `has_finalizer`: registered for finalization at allocation (as the runtime does for
  /// types with a finalizer); `critical`: a CriticalFinalizerObject, finalized after normal ones.
  ManagedObject(Gc& gc, std::string_view type_name, std::string_view name, bool has_finalizer,
                bool critical = false);
  virtual ~ManagedObject() = default;
  ManagedObject(const ManagedObject&) = delete;
  ManagedObject& operator=(const ManagedObject&) = delete;

  /// The finalizer body; runs on the finalizer thread. An exception escaping it terminates
  /// the process (a finalizer-exception finding).
  virtual void finalize() {}

  /// A method call on the object (a scheduling point that reads it): a use after its finalizer
  /// ran (reached through a resurrecting or long weak reference) is a finding.
  void use(const char* method, const std::source_location& where = std::source_location::current());

  std::string label() const;  // "Conn 'c1'"
  Gc& gc() const { return *gc_; }
  ObjectId id() const { return object_; }
  std::uint32_t times_finalized() const { return finalized_; }
  bool reachable() const { return roots_ > 0; }

 protected:
  /// For constructors that call GC.SuppressFinalize (a SafeHandle with ownsHandle false): the
  /// object is not shared yet, so no scheduling point is needed.
  void suppress_at_construction() { suppressed_ = true; }

 private:
  friend class Gc;
  template <class T>
  friend class Ref;
  template <class T>
  friend class WeakRef;

  Gc* gc_;
  std::string type_name_;
  std::string name_;
  ObjectId object_;
  bool critical_;
  std::uint32_t roots_ = 0;
  // Entries in the finalization array (two after a re-registration of a registered object,
  // §3.1); each remembers how many times the object had been finalized when it was added, so
  // that an entry older than the last finalization is a double finalization.
  std::vector<std::uint32_t> entries_;
  bool suppressed_ = false;  // BIT_SBLK_FINALIZER_RUN
  bool queued_ = false;      // f-reachable: in the finalization queue
  std::uint32_t finalized_ = 0;
  Provenance finalized_by_;
};

/// A strong managed reference: the object is reachable while one exists.
template <class T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T& object, const std::source_location& where = std::source_location::current())
      : object_(&object) {
    acquire(where);
  }
  Ref(const Ref& other) : object_(other.object_) { acquire(std::source_location::current()); }
  Ref(Ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Ref& operator=(const Ref& other) {
    if (this != &other) {
      reset();
      object_ = other.object_;
      acquire(std::source_location::current());
    }
    return *this;
  }
  ~Ref() { reset(); }

  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }
  T* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

  /// Drops the reference (a scheduling point): the object may become collectable.
  void reset(const std::source_location& where = std::source_location::current()) {
    if (object_ == nullptr) return;
    ManagedObject* o = object_;
    object_ = nullptr;
    detail::drop_root(*o, where);
  }
  /// The JIT considers the reference dead after its last use: drops it here.
  void last_use(const std::source_location& where = std::source_location::current()) {
    reset(where);
  }
  /// GC.KeepAlive(obj): the object stays reachable up to this call; the reference ends here.
  void keep_alive(const std::source_location& where = std::source_location::current()) {
    reset(where);
  }
  /// A Ref over a root already counted (Gc::allocate).
  static Ref adopt(T& object) {
    Ref r;
    r.object_ = &object;
    return r;
  }

 private:
  void acquire(const std::source_location& where) {
    if (object_ != nullptr) detail::add_root(*object_, where);
  }
  T* object_ = nullptr;
};

/// A weak reference (GCHandleType.Weak: short; WeakTrackResurrection: long). The GC clears a
/// short one when its target becomes unreachable, a long one only once the target is not even
/// waiting for finalization (§3.2 steps 2 and 4).
template <class T>
class WeakRef {
 public:
  enum class Kind { short_weak, long_weak };
  WeakRef(T& object, Kind kind) : typed_(&object), base_(&object) {
    object.gc().add_weak(&base_, kind == Kind::long_weak);
  }
  ~WeakRef() {
    if (typed_ != nullptr) typed_->gc().remove_weak(&base_);
  }
  WeakRef(const WeakRef&) = delete;
  WeakRef& operator=(const WeakRef&) = delete;

  /// WeakReference.Target (a scheduling point): a strong reference, or an empty one once the
  /// GC cleared the weak reference.
  Ref<T> target(const std::source_location& where = std::source_location::current()) {
    typed_->gc().read_weak(*typed_, where);
    if (base_ == nullptr) return Ref<T>();
    return Ref<T>(*typed_, where);
  }
  bool cleared() const { return base_ == nullptr; }

 private:
  T* typed_;             // never cleared: the GC owns the memory
  ManagedObject* base_;  // cleared by the GC
};

class Gc {
 public:
  explicit Gc(GcOptions options = {},
              const std::source_location& where = std::source_location::current());
  /// Process exit: the finalizer thread stops; .NET Core runs no more finalizers (§3.6).
  ~Gc();
  Gc(const Gc&) = delete;
  Gc& operator=(const Gc&) = delete;

  /// Allocates a managed object owned by the GC (its memory outlives finalization). Nothing
  /// refers to it: a collection before a Ref is taken finds it unreachable. allocate() is
  /// `new T(...)` assigned to a local: reachable from the start.
  template <class T, class... Args>
  T& make(Args&&... args) {
    auto owned = std::make_unique<T>(std::forward<Args>(args)...);
    T& ref = *owned;
    heap_.push_back(std::move(owned));
    return ref;
  }
  template <class T, class... Args>
  Ref<T> allocate(Args&&... args) {
    T& object = make<T>(std::forward<Args>(args)...);
    ++object.roots_;  // the allocating local, before anyone else can run
    return Ref<T>::adopt(object);
  }

  /// A full blocking collection now (a scheduling point).
  void collect(const std::source_location& where = std::source_location::current());
  /// GC.SuppressFinalize: sets the "finalizer run" bit; the entry stays registered (§3.1).
  void suppress_finalize(ManagedObject& o,
                         const std::source_location& where = std::source_location::current());
  /// GC.ReRegisterForFinalize: clears the bit if set, otherwise appends another entry (§3.1).
  void reregister_for_finalize(ManagedObject& o,
                               const std::source_location& where = std::source_location::current());
  /// GC.WaitForPendingFinalizers: blocks until the queue is drained; returns at once on the
  /// finalizer thread itself (§3.4).
  void wait_for_pending_finalizers(
      const std::source_location& where = std::source_location::current());

  ThreadId finalizer_thread() const { return finalizer_.id(); }
  std::size_t pending_finalizers() const { return normal_queue_.size() + critical_queue_.size(); }
  /// The objects whose finalizers ran, in order (for tests).
  const std::vector<std::string>& finalization_order() const { return order_; }

 private:
  friend class ManagedObject;
  template <class T>
  friend class Ref;
  template <class T>
  friend class WeakRef;
  friend void detail::add_root(ManagedObject&, const std::source_location&);
  friend void detail::drop_root(ManagedObject&, const std::source_location&);

  void add_root(ManagedObject& o, const std::source_location& where);
  void drop_root(ManagedObject& o, const std::source_location& where);
  void add_weak(ManagedObject** slot, bool long_weak);
  void remove_weak(ManagedObject** slot);
  void read_weak(ManagedObject& o, const std::source_location& where);
  void register_object(ManagedObject& o);
  void finalizer_loop();
  bool check_blocked();

  GcOptions options_;
  ObjectId gc_object_;
  hc::event work_;     // auto-reset: the finalizer's wake-up
  hc::event drained_;  // manual-reset: set whenever the queue is empty
  std::vector<std::unique_ptr<ManagedObject>> heap_;
  std::vector<ManagedObject*> registered_;  // allocation order
  struct Entry {
    ManagedObject* object;
    std::uint32_t finalized_when_registered;
  };
  void run_finalizer(const Entry& entry);
  std::vector<Entry> normal_queue_;
  std::vector<Entry> critical_queue_;
  struct Weak {
    ManagedObject** slot;
    bool long_weak;
  };
  std::vector<Weak> weaks_;
  std::vector<std::string> order_;
  bool shutdown_ = false;
  ManagedObject* running_ = nullptr;  // the finalizer running now
  std::uint32_t running_since_ = 0;   // its first step
  std::uint32_t invariant_token_ = 0;
  hc::thread finalizer_;
  hc::thread collector_;
};

}  // namespace hc::models

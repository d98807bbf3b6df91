// hc/models/gc.hpp — the .NET GC as finalization sees it (DOMAIN.md §3): managed objects, the
// object graph their fields form, strong and weak references, tracing collections at explored
// times, and one real finalizer thread.
//
//   hc::models::Gc gc;                                   // starts the "finalizer" thread
//   struct Conn : hc::models::ManagedObject {
//     Conn(hc::models::Gc& gc) : ManagedObject(gc, "Conn", "c1", /*finalizer=*/true) {}
//     void finalize() override { ... runs on the finalizer thread ... }
//     hc::models::Ref<hc::models::SafeHandle> socket;    // a field: an edge Conn -> socket
//   };
//   hc::models::Ref<Conn> ref = gc.allocate<Conn>(gc);   // a local: a root
//   ref->socket = gc.allocate<hc::models::SafeHandle>(gc, table);
//   ref.last_use();        // the JIT's view: unreachable from here (unless keep_alive() later)
//   gc.collect();          // both queued (Conn normal, socket critical); the finalizer runs them
//
// The object graph. A Ref<T> is a strong reference. Where it lives decides what it is: a Ref
// that is a data member of a managed object the GC allocated (Gc::make / allocate; directly, or
// inline in a member such as std::optional<Ref<T>> or std::array) is a field: an edge from that
// object; any other Ref (a local, a static, a member of something that is not a managed object,
// a Ref inside a std::vector's heap buffer) is a root. The model tells them apart by address
// containment: make() registers the object's storage before constructing it, so a member Ref
// finds its holder even in the constructor's member initialisers (derive from ManagedObject
// first: a Ref constructed before the ManagedObject base is a root). Containment is a property
// of the program's structure, not of the addresses, so it is deterministic. Moving a Ref between
// a root and a field (a local moved into a member) moves the reference: one operation. An
// object is reachable if a root refers to it, or a field of a reachable object does; dropping
// the last such path makes it collectable; `last_use()` drops a Ref where the JIT would consider
// it dead, and `keep_alive()` is GC.KeepAlive: the Ref is dropped there, later. Unreachable
// cycles are garbage like anything else.
//
// A collection (§3.2), when it happens: at explicit collect() calls, and, with
// GcOptions::background_collections > 0, on a "gc" thread whose collections the explorer
// interleaves anywhere (so when a GC happens is an explored choice, bounded by that number).
//   1. Mark: trace from the roots, from the finalization queue (f-reachable entries left by
//      earlier collections) and from the object whose finalizer is running (the finalizer
//      thread's `this`), through fields.
//   2. Short weak references whose target is unmarked are cleared.
//   3. Scan for finalization, in allocation order: every unmarked object registered for
//      finalization is queued (normal or critical list) unless suppressed (the entry is dropped
//      and the bit cleared); then everything reachable from the newly queued objects is
//      promoted (marked): an unreachable wrapper and its SafeHandle field are queued in the same
//      collection, and both stay valid until their finalizers ran.
//   4. Long weak references whose target is still unmarked are cleared: a long weak reference
//      keeps returning its target while it waits for finalization and while its finalizer runs,
//      until a collection finds it finalized and unreachable.
//   5. The finalizer's event is signalled.
// The finalizer thread drains the queue: every normal entry before any critical one (so, within
// one collection, normal finalizers run before critical ones: a wrapper's finalizer still finds
// its SafeHandle open); which normal entry runs next, and which critical one once no normal one
// is left, are explored choices (hc::choose; GcOptions::explore_finalizer_order false takes them
// in queue order). The search stays bounded: at most n! orders for n entries queued together.
//
// Process exit (~Gc): the "gc" thread's collections finish, then the finalizer thread drains
// what is queued and stops. (.NET Core runs no finalizer at exit, §3.6, but the process exit
// closes their handles; draining stands for that, so the end-of-execution leak checks of the
// handle tables do not report a handle whose finalizer was merely still queued. Objects that no
// collection found unreachable are not finalized.)
//
// Locations: every step and finding is located at a line of the user's code, never of the
// model's: a call at its caller's line; the finalizer thread's steps for an object at the line
// that allocated it (Gc::make / allocate; or that called ManagedObject's constructor); the GC's
// own steps (the finalizer's wait and dequeue, background collections, process exit) at the
// line that created the Gc; a Ref's copy, move and drop at the line where it was taken.
//
// What it touches (DPOR footprints, checked by the footprint audit). The model's state lives in
// cells (hc::ModelCell): per object its finalized count ("Conn 'c1': finalized": how many of its
// finalizer runs returned), its root count ("...: roots": root Refs to it), its fields ("...:
// fields": the targets of its Ref fields, a multiset) and its finalization registration
// ("...: registration": the finalization-array entries, the BIT_SBLK_FINALIZER_RUN bit, whether
// it is f-reachable, whether its finalizer is running, how many finalizer runs started); per
// weak reference its slot; for the GC the finalization queue (normal and critical entries) and
// the process-exit flag. Every operation about an object announces the object itself ("Conn
// 'c1'", read: its name in traces, never read or written) and declares the cells it touches:
//   a root Ref taken / copied ("new reference"), dropped ("drop reference": reset, last_use,
//                                  keep_alive, destruction)   the target's roots (read_write)
//   a field Ref set ("store field"), cleared ("clear field")   the holder's fields (read_write)
//   a Ref moved between a root and a field, or between two holders ("move reference")
//                                  both ends: the target's roots and/or the holders' fields
//                                  (read_write); a move within one holder is no operation
//   ManagedObject::use             the object's registration (read: a use after its finalizer
//                                  started, other than by that finalizer, is a finding)
//   WeakRef::target                the weak slot (read); then a new reference if it is set
//   suppress_finalize, reregister_for_finalize   the object's registration (read_write); they
//                                  announce the object as written (its header's bit: pair
//                                  coverage sees them against the object's other operations)
//   collect ("GC.Collect")         the queue (read_write), kAllModelObjects (every object's
//                                  roots, fields and registration, every weak slot), and the two
//                                  events it signals: 'finalizer work' and 'finalizer queue
//                                  drained'
//   wait_for_pending_finalizers    waits on 'finalizer queue drained' (sync); on the finalizer
//                                  thread it returns at once (a read of the queue)
//   the finalizer thread           waits on 'finalizer work' (an event wait); then a
//                                  "finalizer: dequeue" before each entry and one more that
//                                  finds the queue empty (and sets 'finalizer queue drained';
//                                  after process exit it then stops): the queue (read_write),
//                                  the exit flag (read), 'finalizer queue drained' (write), and
//                                  the finalized count and registration of the object whose
//                                  finalizer returned last (write: its return is recorded there,
//                                  the finalizer's body being steps of its own; the registration
//                                  loses its "running" mark); after each dequeue "run
//                                  finalizer": the object's registration (read_write: marks it
//                                  running), the queue (read), announcing the object as written
//                                  (coverage: a finalizer racing a raw use); then the finalizer
//                                  body's own operations
//   ~Gc ("process exit")           after joining the "gc" thread: the exit flag (write),
//                                  'finalizer work' (write: wakes the finalizer to drain and
//                                  see the flag); then it joins the finalizer thread
// Allocation (make, allocate) and WeakRef construction / destruction are no operation: a new
// object's cells start with their values (its registration; one root for allocate(), moved to
// the holder's fields by one "move reference" when allocate() initialises a field directly),
// and the heap and the list of weak references the GC scans only grow or shrink by objects
// nobody else can reach yet (or any more). A collection conflicts with every model operation, so
// it is ordered with whatever publishes a new object; the one ordering not explored is a
// background collection just before an allocation whose thread's previous step is no model
// operation, for an unrooted make() that is never published (garbage at birth: the collection
// may or may not see it). Finding bookkeeping stays in plain members: who ran an object's
// finalizer and when, the finalizer running now (finalizer-blocked), the finalization order
// (tests). The heap's address ranges (which object holds a Ref) are configuration: they only
// change at allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/sync.hpp"
#include "hc/thread.hpp"

namespace hc::models {

class Gc;
class ManagedObject;

namespace detail {
// Ref's operations, out of line (Gc is incomplete where Ref is defined). A Ref remembers where
// its reference counts: its holder (the managed object whose field it is) or null (a root).
// acquire and transfer decide it from the Ref's own address `ref` (see the header) and return it.
ManagedObject* acquire(ManagedObject& target, const void* ref, const std::source_location& where);
void release(ManagedObject& target, ManagedObject* holder, const std::source_location& where);
// The reference to `target` moves from a Ref counted at `from` to the Ref at `to`.
ManagedObject* transfer(ManagedObject& target, ManagedObject* from, const void* to,
                        const std::source_location& where);
// Nonzero while a Gc destroys its heap: the Refs in the objects' fields are destroyed with them
// and must not touch their targets (possibly destroyed already) or the model.
inline thread_local int heap_teardown = 0;
}  // namespace detail

struct GcOptions {
  std::uint32_t background_collections = 0;  // collections by the "gc" thread, interleaved
  // Steps the finalizer thread may stay blocked inside a finalizer — parked at a wait that
  // cannot complete (a mutex another thread holds, an event not set, a join) while other
  // threads run — before a finalizer-blocked finding (0: no bound). Only consecutive steps in
  // which it cannot run count: a finalizer that runs long, or is merely preempted (it could run
  // but another thread was chosen), is never blocked.
  std::uint32_t finalizer_block_bound = 16;
  // Whether the order in which the finalizer thread takes the entries of one list (normal, then
  // critical) is explored (hc::choose per dequeue) or queue order (allocation order within one
  // collection). Off only to bound a search that does not depend on the order.
  bool explore_finalizer_order = true;
};

/// A managed object. Derive from it; the GC owns it (Gc::make) so that its memory stays valid
/// after finalization and misuse is a finding, not a crash.
class ManagedObject {
 public:
  /// `has_finalizer`: registered for finalization at allocation (as the runtime does for
  /// types with a finalizer); `critical`: a CriticalFinalizerObject, finalized after normal ones.
  /// `where`: the user's line that constructs it (by default the derived class's call of this
  /// constructor); the finalizer thread's steps for this object ("run finalizer", a SafeHandle's
  /// ReleaseHandle from its finalizer) are located there, never in the model's sources.
  ManagedObject(Gc& gc, std::string_view type_name, std::string_view name, bool has_finalizer,
                bool critical = false,
                const std::source_location& where = std::source_location::current());
  virtual ~ManagedObject() = default;
  ManagedObject(const ManagedObject&) = delete;
  ManagedObject& operator=(const ManagedObject&) = delete;

  /// The finalizer body; runs on the finalizer thread. An exception escaping it terminates
  /// the process (a finalizer-exception finding).
  virtual void finalize() {}

  /// A method call on the object (a scheduling point that reads its registration): a use after
  /// its finalizer started (reached through a resurrecting or long weak reference), other than
  /// by that finalizer itself, is a finding.
  void use(const char* method, const std::source_location& where = std::source_location::current());

  const std::string& label() const { return label_; }  // "Conn 'c1'"
  /// Where the user's code constructed it: the site of the finalizer thread's steps for it.
  const std::source_location& created_at() const { return created_at_; }
  Gc& gc() const { return *gc_; }
  /// The object's engine object: its name in traces and findings. Operations about the object
  /// announce it (read); its state is in the cells below.
  ObjectId id() const { return object_; }
  // Peeks (tests, reports): no scheduling point, not audited.
  std::uint32_t times_finalized() const { return finalized_.peek(); }
  /// Reachable from a root through fields (the queue and a running finalizer not counted).
  bool reachable() const;

 protected:
  /// For constructors that call GC.SuppressFinalize (a SafeHandle with ownsHandle false): the
  /// object is not shared yet, so no scheduling point is needed. Sets the bit the registration
  /// starts with (configuration, like has_finalizer: only a constructor may call it).
  void suppress_at_construction() { suppressed_at_construction_ = true; }

 private:
  friend class Gc;
  template <class T>
  friend class Ref;
  template <class T>
  friend class WeakRef;

  /// The finalization registration (§3.1), one cell: what GC.Collect, SuppressFinalize,
  /// ReRegisterForFinalize and the finalizer thread read and write.
  struct Registration {
    // Entries in the finalization array (two after a re-registration of a registered object);
    // each remembers how many of the object's finalizer runs had started when it was added, so
    // that an entry older than a run is a double finalization.
    std::vector<std::uint32_t> entries;
    std::uint32_t runs_started = 0;
    bool queued = false;   // f-reachable: in the finalization queue
    bool running = false;  // its finalizer started and its return was not recorded yet
    // BIT_SBLK_FINALIZER_RUN: `bit` once written; until then the constructor's choice.
    bool bit = false;
    bool bit_written = false;
  };
  bool suppressed(const Registration& r) const {
    return r.bit_written ? r.bit : suppressed_at_construction_;
  }
  static void set_suppressed(Registration& r, bool on) {
    r.bit = on;
    r.bit_written = true;
  }

  Gc* gc_;
  // "Type 'name'", formatted once: findings, traces and the cells' names use it, and an object
  // is made in every execution (formatting it at each use cost a SafeHandle scenario 8% of its
  // time under random).
  std::string label_;
  std::source_location created_at_;          // configuration: the user's constructing line
  ObjectId object_;                          // the object's name (never read or written)
  bool critical_;                            // configuration
  bool suppressed_at_construction_ = false;  // configuration (set by constructors only)
  hc::ModelCell<std::uint32_t> finalized_;   // finalizer runs that returned
  hc::ModelCell<std::uint32_t> roots_;       // root Refs to it
  // The targets of its Ref fields, one entry per Ref (a multiset, in the order they were set).
  hc::ModelCell<std::vector<ManagedObject*>> fields_;
  std::uint32_t index_ = 0;  // configuration: its position in the GC's registered objects
  hc::ModelCell<Registration> registration_;
  // Finding bookkeeping: the "run finalizer" step of the latest run (who finalized it).
  Provenance finalizer_started_;
};

/// A strong managed reference: a root, or, as a data member of a managed object, a field (an
/// edge of the object graph; see the header).
template <class T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T& object, const std::source_location& where = std::source_location::current())
      : object_(&object), where_(where) {
    holder_ = detail::acquire(*object_, this, where_);
  }
  // Copies, moves, and the drop at the end of the reference's scope, cannot take the user's
  // line: they are located where the reference they come from was taken (a user's line, never
  // this header).
  Ref(const Ref& other) : object_(other.object_), where_(other.where_) {
    if (object_ != nullptr) holder_ = detail::acquire(*object_, this, where_);
  }
  Ref(Ref&& other) : object_(std::exchange(other.object_, nullptr)), where_(other.where_) {
    if (object_ != nullptr) holder_ = detail::transfer(*object_, other.holder_, this, where_);
  }
  Ref& operator=(const Ref& other) {
    if (this != &other) {
      reset(where_);
      object_ = other.object_;
      where_ = other.where_;
      if (object_ != nullptr) holder_ = detail::acquire(*object_, this, where_);
    }
    return *this;
  }
  Ref& operator=(Ref&& other) {
    if (this != &other) {
      reset(where_);
      object_ = std::exchange(other.object_, nullptr);
      where_ = other.where_;
      if (object_ != nullptr) holder_ = detail::transfer(*object_, other.holder_, this, where_);
    }
    return *this;
  }
  ~Ref() {
    if (detail::heap_teardown == 0) reset(where_);
  }

  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }
  T* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

  /// Drops the reference (a scheduling point): the object may become collectable.
  void reset(const std::source_location& where = std::source_location::current()) {
    if (object_ == nullptr) return;
    ManagedObject* o = object_;
    object_ = nullptr;
    detail::release(*o, holder_, where);
  }
  /// The JIT considers the reference dead after its last use: drops it here.
  void last_use(const std::source_location& where = std::source_location::current()) {
    reset(where);
  }
  /// GC.KeepAlive(obj): the object stays reachable up to this call; the reference ends here.
  void keep_alive(const std::source_location& where = std::source_location::current()) {
    reset(where);
  }
  /// A Ref over the root allocate() counted, taken at `where` (a prvalue: it is constructed in
  /// its final place, which may be a field; then the root moves there).
  static Ref adopt(T& object, const std::source_location& where) {
    return Ref(Adopt{}, object, where);
  }

 private:
  struct Adopt {};
  Ref(Adopt, T& object, const std::source_location& where) : object_(&object), where_(where) {
    holder_ = detail::transfer(*object_, nullptr, this, where_);  // from the allocation's root
  }
  T* object_ = nullptr;
  ManagedObject* holder_ = nullptr;  // where the reference counts: a field's holder, or a root
  std::source_location where_;       // where the reference was taken (the user's line)
};

/// A weak reference (GCHandleType.Weak: short; WeakTrackResurrection: long). The GC clears a
/// short one when its target becomes unreachable, a long one only once the target is not even
/// waiting for finalization (§3.2 steps 2 and 4).
template <class T>
class WeakRef {
 public:
  enum class Kind { short_weak, long_weak };
  WeakRef(T& object, Kind kind)
      : typed_(&object),
        slot_(object.label() +
                  (kind == Kind::long_weak ? ": long weak reference" : ": short weak reference"),
              &object) {
    object.gc().add_weak(&slot_, kind == Kind::long_weak);
  }
  ~WeakRef() {
    if (detail::heap_teardown == 0) typed_->gc().remove_weak(&slot_);  // else: dies with the GC
  }
  WeakRef(const WeakRef&) = delete;
  WeakRef& operator=(const WeakRef&) = delete;

  /// WeakReference.Target (a scheduling point that reads the slot): a strong reference, or an
  /// empty one once the GC cleared the weak reference.
  Ref<T> target(const std::source_location& where = std::source_location::current()) {
    if (typed_->gc().read_weak(*typed_, slot_, where) == nullptr) return Ref<T>();
    return Ref<T>(*typed_, where);
  }
  /// A peek (tests): no scheduling point.
  bool cleared() const { return slot_.peek() == nullptr; }

 private:
  T* typed_;                            // never cleared: the GC owns the memory
  hc::ModelCell<ManagedObject*> slot_;  // the target, cleared by the GC
};

class Gc {
 public:
  /// `where`: the user's line that creates the GC; the steps of its own threads that run no
  /// user code (the finalizer's wait and dequeue, background collections, process exit) are
  /// located there, never in the model's sources.
  explicit Gc(GcOptions options = {},
              const std::source_location& where = std::source_location::current());
  /// Process exit: the "gc" thread's collections finish, the finalizer thread drains what is
  /// queued and stops (see the header: a departure from §3.6 that stands for the exit closing
  /// the handles), then the heap is destroyed.
  ~Gc();
  Gc(const Gc&) = delete;
  Gc& operator=(const Gc&) = delete;

  /// The GC as the first constructor argument of make() and allocate() (every managed object
  /// takes its GC first), with the user's line of the call: the object's created_at(), so that
  /// a SafeHandle the GC constructs (inside the standard library) is located at that line too.
  struct At {
    Gc& gc;
    std::source_location where;
    At(Gc& g, const std::source_location& w = std::source_location::current())  // NOLINT
        : gc(g), where(w) {}
  };

  /// Allocates a managed object owned by the GC (its memory outlives finalization). Nothing
  /// refers to it: a collection before a Ref is taken finds it unreachable. allocate() is
  /// `new T(...)` assigned to a local: reachable from the start. `gc.make<T>(gc, args...)`:
  /// T(gc, args...), located at this call.
  template <class T, class... Args>
  T& make(At first, Args&&... args) {
    T& ref = make_unlocated<T>(first.gc, std::forward<Args>(args)...);
    static_cast<ManagedObject&>(ref).created_at_ = first.where;
    return ref;
  }
  /// A type whose constructor does not take the GC first: located where it calls
  /// ManagedObject's constructor.
  template <class T, class First, class... Args>
  requires(!std::is_convertible_v<First&&, Gc&>) T& make(First&& first, Args&&... args) {
    return make_unlocated<T>(std::forward<First>(first), std::forward<Args>(args)...);
  }
  template <class T, class... Args>
  Ref<T> allocate(At first, Args&&... args) {
    const RootedAllocation rooted(*this);
    return Ref<T>::adopt(make<T>(first, std::forward<Args>(args)...), first.where);
  }
  template <class T, class First, class... Args>
  requires(!std::is_convertible_v<First&&, Gc&>) Ref<T> allocate(First&& first, Args&&... args) {
    const RootedAllocation rooted(*this);
    T& object = make<T>(std::forward<First>(first), std::forward<Args>(args)...);
    return Ref<T>::adopt(object, object.created_at());
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
  /// A peek (tests, messages): entries queued and not yet dequeued by the finalizer thread.
  std::size_t pending_finalizers() const { return queue_.peek().size(); }
  /// The objects whose finalizers ran, in order (for tests).
  const std::vector<std::string>& finalization_order() const { return order_; }

 private:
  // The allocating local of allocate(): the object's root count starts at 1 (read by
  // ManagedObject's constructor, which runs before anything else of T's: no scheduling point in
  // between).
  struct RootedAllocation {
    explicit RootedAllocation(Gc& gc) : flag(gc.rooted_allocation_) { flag = true; }
    ~RootedAllocation() { flag = false; }
    RootedAllocation(const RootedAllocation&) = delete;
    RootedAllocation& operator=(const RootedAllocation&) = delete;
    bool& flag;
  };
  // The object's storage is registered (its address range, no holder yet) before T is
  // constructed, so that the Refs among its members, constructed before T's constructor body
  // runs, find their holder; ManagedObject's constructor claims the range (register_object).
  template <class T, class... Args>
  T& make_unlocated(Args&&... args) {
    void* storage = ::operator new (sizeof(T), std::align_val_t{alignof(T)});
    const auto begin = reinterpret_cast<std::uintptr_t>(storage);
    heap_.push_back(HeapObject{begin, begin + sizeof(T), nullptr, storage, &destroy<T>});
    T* object = nullptr;
    try {
      object = ::new (storage) T(std::forward<Args>(args)...);
    } catch (...) {
      heap_.pop_back();
      ::operator delete (storage, std::align_val_t{alignof(T)});
      throw;
    }
    return *object;
  }
  template <class T>
  static void destroy(void* storage) {
    static_cast<T*>(storage)->~T();
    ::operator delete (storage, std::align_val_t{alignof(T)});
  }

  friend class ManagedObject;
  template <class T>
  friend class Ref;
  template <class T>
  friend class WeakRef;
  friend ManagedObject* detail::acquire(ManagedObject&, const void*, const std::source_location&);
  friend void detail::release(ManagedObject&, ManagedObject*, const std::source_location&);
  friend ManagedObject* detail::transfer(ManagedObject&, ManagedObject*, const void*,
                                         const std::source_location&);

  /// The managed object (allocated by this GC) whose storage contains `ref`, or null: a root.
  ManagedObject* holder_of(const void* ref) const;
  // A reference to `target` counts in the target's roots (null holder) or the holder's fields.
  ManagedObject* acquire(ManagedObject& target, const void* ref, const std::source_location& where);
  void release(ManagedObject& target, ManagedObject* holder, const std::source_location& where);
  ManagedObject* transfer(ManagedObject& target, ManagedObject* from, const void* to,
                          const std::source_location& where);
  /// Marks (by index in registered_) everything reachable from the marked objects in `stack`,
  /// through fields: audited reads (the calling step must declare them), or peeks (`peek`: for
  /// ManagedObject::reachable, which is no operation).
  void trace(std::vector<char>& marked, std::vector<ManagedObject*>& stack,
             bool peek = false) const;
  void add_weak(hc::ModelCell<ManagedObject*>* slot, bool long_weak);
  void remove_weak(hc::ModelCell<ManagedObject*>* slot);
  ManagedObject* read_weak(ManagedObject& o, const hc::ModelCell<ManagedObject*>& slot,
                           const std::source_location& where);
  void register_object(ManagedObject& o);
  void destroy_heap() noexcept;
  bool take_rooted_allocation() { return std::exchange(rooted_allocation_, false); }
  void finalizer_loop();
  bool check_blocked();

  struct Entry {
    ManagedObject* object;
    std::uint32_t runs_started_when_registered;
  };
  /// The finalization queue (f-reachable entries): one cell.
  struct Queue {
    std::vector<Entry> normal;
    std::vector<Entry> critical;
    std::size_t size() const { return normal.size() + critical.size(); }
    bool empty() const { return normal.empty() && critical.empty(); }
    bool contains(const ManagedObject* o) const;
  };
  void run_finalizer(const Entry& entry);

  GcOptions options_;           // configuration
  std::source_location where_;  // configuration: the user's line that created the GC
  // Model state (cells).
  hc::ModelCell<Queue> queue_;
  hc::ModelCell<bool> exiting_;  // process exit: no finalizer starts any more
  hc::event work_;               // auto-reset: the finalizer's wake-up
  hc::event drained_;            // manual-reset: set whenever the queue is empty
  // The heap: every object allocated, in allocation order (only grows; see the header), with
  // its storage's address range (holder_of) and how to destroy it (~Gc).
  struct HeapObject {
    std::uintptr_t begin;
    std::uintptr_t end;
    ManagedObject* object;  // null until ManagedObject's constructor claims the range
    void* storage;
    void (*destroy)(void*);
  };
  std::vector<HeapObject> heap_;
  std::vector<ManagedObject*> registered_;
  // The weak references that exist (WeakRef's constructor and destructor: no operation); their
  // slots are cells.
  struct Weak {
    hc::ModelCell<ManagedObject*>* slot;
    bool long_weak;
  };
  std::vector<Weak> weaks_;
  bool rooted_allocation_ = false;  // allocate() → ManagedObject's constructor, no step between
  // The finalizer thread's own: the object whose finalizer returned, recorded at its next
  // dequeue.
  ManagedObject* returned_ = nullptr;
  // Finding bookkeeping: the finalization order (tests); the finalizer running now, and the
  // step after which the finalizer thread was last seen blocked in it, for finalizer-blocked
  // (kNotBlocked while it can run: check_blocked, an invariant, keeps both up to date).
  static constexpr std::uint32_t kNotBlocked = 0xFFFFFFFFu;
  std::vector<std::string> order_;
  ManagedObject* running_ = nullptr;
  std::uint32_t blocked_since_ = kNotBlocked;
  std::uint32_t invariant_token_ = 0;
  hc::thread finalizer_;
  hc::thread collector_;
};

}  // namespace hc::models

// hc/models/com_object.hpp — simulated COM objects: IUnknown reference counting with
// destruction on the releasing thread, destructor cascades, weak back-pointers and object
// liveness (DOMAIN.md §5, ordering rule O7; bug patterns B13, B14, B17, B18 build on it).
//
// What it defines:
//   ComWorld     owns every object created through it for one execution (the arena), so that a
//                destroyed object's memory stays valid and misuse is a finding, not a crash.
//   ComObject    the IUnknown base: a type name, an object name, a count starting at 1 (the
//                creator's reference), AddRef/Release, and a virtual destructor body on_destroy()
//                run by the final Release on whichever thread made it.
//   ComPtr<T>    an owning smart pointer: AddRef on copy, Release on reset and destruction.
//   ComWeak<T>   a non-owning pointer with a name: a weak back-pointer (child → parent) or a
//                local copy fetched from a shared variable without AddRef. Every use is checked.
//   ComProxy<T>  a marshalled pointer (CoMarshalInterThreadInterfaceInStream, the GIT, an agile
//                reference, an RCW's): off the object's STA thread, its calls and its Release
//                are cross-apartment calls that run on the STA thread when it pumps
//                (subsystem.hpp's ComApartment); on that thread, or for an MTA object, direct.
//
//   struct Doc : hc::models::ComObject {
//     Doc() : ComObject("Document") {}
//     hc::models::ComPtr<Page> page;                // owned child
//     void on_destroy() override { page.reset(); }  // the destructor body: release children
//   };
//   hc::models::ComWorld world;                      // declare it before every pointer
//   hc::models::ComPtr<Doc> doc = world.make<Doc>("doc");
//   doc->page = world.make<Page>("page");
//   hc::models::ComWeak<Doc> parent(doc, "parent");  // holds no reference
//   hc::thread t("T1", [&] { doc.reset(); });         // the last Release: destroys on T1
//   parent.use("GetTitle");                            // use_after_destruction on some schedules
//
// Findings (each ends the execution; messages name objects, threads, steps and sites):
//   use_after_destruction  a use of an object that is destroyed, or being destroyed by another
//                          thread, naming the reference it was reached through.
//   addref_from_zero       an AddRef on an object whose count reached 0 ("rescue", ONT-0811), or
//                          a reference taken during its destruction that outlives it (ONT-0928).
//   double_destruction     a Release during destruction that takes the count to 0 again: the
//                          destructor handed out `this` and saw AddRef/Release go 0→1→0 (ONT-0927).
//   refcount_underflow     a Release on a count already 0: more Releases than references.
//   release_after_subsystem_shutdown  an AddRef, Release or use of an object that belongs to a
//                          subsystem (belongs_to, ComWorldOptions::subsystem; subsystem.hpp)
//                          after that subsystem was torn down (CoUninitialize, FreeLibrary; B15).
//   com_object_leak        objects still alive when their ComWorld is destroyed (at the end of
//                          the scenario): a missing Release (ComWorldOptions::report_leaks).
//   release_on_wrong_thread  a Release (ComPtr, raw, or a UserUnknown's InterlockedDecrement)
//                          of an object of a single-threaded apartment on another thread than
//                          the STA's, not through a ComProxy: names the object, its STA thread,
//                          the releasing thread's step and line, and the fix (marshal the
//                          release to the owner).
//
// A user's own IUnknown (UserUnknown, below): their AddRef/Release code moves the inherited
// `m_ref` with InterlockedIncrement/InterlockedDecrement and ends with `delete this`; each
// count transition, read of m_ref and the `delete this` is a checked step on the object, so the
// findings above are raised at their lines (B13 with the user's destructor, the racy Release
// that reads m_ref after its decrement).
//
// What it touches (DPOR footprints, checked by the footprint audit). Each object is ONE cell
// (its id from ComObject::id(), named "doc (Document)"): its count, its liveness state and the
// thread destroying it together, because an AddRef's outcome and message read all three.
// Operations on different objects are independent; each declares its object and nothing else.
//   AddRef, Release, ComWeak::add_ref, ComWeak::try_upgrade   read_write on the object
//   ComObject::use, ComPtr::use/call, ComWeak::use/call        read on the object
//   (each of these also reads its subsystem's cell when the object belongs to one)
//   ComProxy::marshal = AddRef; ComProxy::call / Release / destruction on the object's own
//   thread or for an object of no STA = use / Release; off the STA thread = ComApartment::send
//   (the send: read_write on the apartment, read on its subsystem, write on its wake-up; the
//   wait: a sync on the call's reply event), then the use / Release runs on the STA thread as
//   its own step there. The thread-affinity check of a Release reads no cell (the owner thread
//   is configuration, the calling thread the step's own).
//   UserUnknown: InterlockedIncrement/Decrement(&m_ref), m_ref = v, delete this   read_write;
//   reading m_ref, UserUnknown::use                                                read
//   ComPtr copy = AddRef; ComPtr reset/destruction/assignment of the old value = Release;
//   ComPtr move, ComWeak construction and copy, ComWorld::make and every peek: no operation
//   (copying a pointer is invisible; a new object is private to its creator until published).
// The final Release runs on_destroy() inline, with no scheduling point of its own: the cascade's
// operations (children's Releases, each on its child) are the next steps of the same thread.
// When the destructor body performed operations, the end of the destruction (the escaped
// reference check, destroying → destroyed) is one more step, "end of destructor", read_write on
// the object; when it performed none, it is part of the final Release.
// ComPtr::operator-> checks liveness with a peek, without a scheduling point: a safety net; the
// checked call is use() / call(). Finding bookkeeping stays in plain members (who created,
// destroyed and rescued the object, and at which step; which destructor bodies run on which
// thread); the artificial count of guard_destruction() is configuration, set before the object
// is shared.
//
// Liveness: alive → destroying (final Release, on_destroy running) → destroyed (on_destroy
// returned). The C++ destructor of an object runs only when its ComWorld is destroyed and
// performs no operation. While an object is destroying, its destroyer thread may still call it
// (the destructor body uses its own members, children call back through weak pointers); any
// other thread that touches it holds no reference (the count reached 0) and is reported.
//
// After a finding the engine abandons the execution's stacks without unwinding them, so a
// ComWorld on such a stack is never destroyed: its objects are leaked (a bounded amount per
// failing execution). Operations during teardown do nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/subsystem.hpp"
#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

class ComWorld;
class ComObject;
class UserUnknown;
class ComRefCount;
long InterlockedIncrement(ComRefCount* count,
                          const std::source_location& where = std::source_location::current());
long InterlockedDecrement(ComRefCount* count,
                          const std::source_location& where = std::source_location::current());
template <class T>
class ComPtr;
template <class T>
class ComWeak;
template <class T>
class ComProxy;

/// Liveness of a ComObject: alive until its count reaches 0; destroying while its destructor
/// body runs (on the thread of the final Release); destroyed for ever after.
enum class ComState : std::uint8_t { alive, destroying, destroyed };

/// "alive", "destroying", "destroyed".
std::string_view com_state_name(ComState state);

/// A cheap record of who did something and where: the thread id, the step (see here()) and the
/// site. Names are looked up only when a finding is reported.
struct ComStamp {
  ThreadId thread = kNoThread;
  std::uint32_t step = 0;
  std::source_location where{};
  bool valid() const noexcept { return thread != kNoThread; }
};

/// How code reached an object: directly (a raw pointer), through an owning ComPtr, through a
/// named ComWeak that holds no reference, or through a marshalled ComProxy. `obtained` is when
/// the reference was taken.
struct ComReference {
  enum class Kind : std::uint8_t { raw, strong, weak, proxy };
  Kind kind = Kind::raw;
  const char* name = nullptr;  // a static string (ComWeak's name); null for raw and ComPtr
  ComStamp obtained{};
};

/// A name for ComWorld::make together with the call site (make is variadic, so its site rides
/// on its first argument instead of a last defaulted parameter).
struct ComName {
  std::string_view name;
  std::source_location where;
  ComName(const char* n,  // NOLINT: implicit on purpose: world.make<T>("doc")
          const std::source_location& w = std::source_location::current())
      : name(n), where(w) {}
  ComName(std::string_view n,  // NOLINT
          const std::source_location& w = std::source_location::current())
      : name(n), where(w) {}
  ComName(const std::string& n,  // NOLINT
          const std::source_location& w = std::source_location::current())
      : name(n), where(w) {}
};

namespace detail {
/// True while a ComWorld destroys its objects on this OS thread: ComPtr destructors then do
/// nothing (the objects they point to may already be freed, and no operation may run there).
bool com_world_closing() noexcept;
ComStamp com_stamp(const std::source_location& where);
}  // namespace detail

// --- ComObject -------------------------------------------------------------------------------

/// The IUnknown base of every simulated COM object. Derive from it, name the type in the
/// constructor, override on_destroy() with the destructor body, and create objects with
/// ComWorld::make. Methods of a derived class should begin with `use("Method", where)` (or be
/// called through ComPtr::call / ComWeak::call) so that the call is a scheduling point and
/// liveness is checked.
///
/// Invariants: count() > 0 ⇔ state() == alive (except the artificial count of a guarded
/// destruction, and a rescue during destruction, both on the destroyer thread); the destroyer
/// is the thread of the Release that took the count to 0; on_destroy runs at most once (a
/// second entry is the double_destruction finding, reported instead of run).
class ComObject {
  using Loc = std::source_location;

 public:
  ComObject(const ComObject&) = delete;
  ComObject& operator=(const ComObject&) = delete;
  virtual ~ComObject();

  /// IUnknown::AddRef: the count + 1, returned. Read-write on this object. Reports
  /// addref_from_zero when the count already reached 0, unless the destroyer thread itself
  /// takes a reference from inside the destructor body (recorded: released again, it is the
  /// double_destruction of B13; kept past the destruction, addref_from_zero).
  std::uint32_t AddRef(const Loc& where = Loc::current());

  /// IUnknown::Release: the count - 1, returned. Read-write on this object. At 0 the object
  /// is destroyed here, on the calling thread: state destroying, on_destroy() (which may
  /// release children: a cascade on this thread), then destroyed. Reports refcount_underflow
  /// on a count already 0, and double_destruction when it takes the count to 0 while the
  /// object is already being destroyed.
  std::uint32_t Release(const Loc& where = Loc::current());

  /// A call of `method` (a static string) through a raw pointer: a scheduling point (read on
  /// this object) that reports use_after_destruction if the object is destroyed, or being
  /// destroyed by another thread.
  void use(const char* method, const Loc& where = Loc::current());

  /// Protects the destruction the ONT-0928 way: the count is set to `artificial` (> 0) while
  /// on_destroy runs, so that AddRef/Release from inside the destructor go artificial →
  /// artificial+1 → artificial instead of 0→1→0, and it must be `artificial` again when
  /// on_destroy returns (else addref_from_zero: a callee kept a reference). Configuration, not
  /// an operation: call it before the object is shared (e.g. in the derived constructor).
  void guard_destruction(std::uint32_t artificial = 1) noexcept;

  /// Binds the object to `subsystem`'s current epoch (its COM apartment, the module its code
  /// lives in): every later AddRef, Release and use also reads the subsystem and reports
  /// release_after_subsystem_shutdown once that epoch is torn down (B15). Configuration, not an
  /// operation: call it before the object is shared (ComWorld binds what it makes when it has a
  /// subsystem). Throws usage_error when the subsystem is not initialized.
  /// Bound to a single-threaded apartment (ComApartment after CoInitializeEx(apartment_threaded)),
  /// the object also belongs to its thread: a Release on any other thread that is not a
  /// marshalled one (ComProxy) is release_on_wrong_thread.
  void belongs_to(Subsystem& subsystem);
  Subsystem* subsystem() const noexcept { return subsystem_; }
  /// The thread it must be released on (its STA's), or kNoThread.
  ThreadId owner_thread() const noexcept { return owner_; }

  // --- state, peeked without a scheduling point (tests, invariants, reports) ----------------
  const std::string& name() const noexcept { return name_; }
  const std::string& type_name() const noexcept { return type_; }
  ObjectId id() const noexcept { return id_; }
  std::uint32_t count() const noexcept { return life_ ? life_->peek().count : 1; }
  ComState state() const noexcept { return life_ ? life_->peek().state : ComState::alive; }
  ComWorld& world() const;
  /// Who created it (the creator's reference), and who destroyed it (the final Release; not
  /// valid while alive), as names for messages. Only inside an execution.
  Provenance created_by() const;
  Provenance destroyed_by() const;
  /// "ComObject 'doc' (type Document)".
  std::string label() const;

 protected:
  /// `type_name` appears in every message ("ComObject 'doc' (type Document)").
  explicit ComObject(std::string type_name);

  /// The destructor body, run by the final Release on the releasing thread. Release owned
  /// children here (a cascade); it may perform any operation. The default does nothing.
  virtual void on_destroy() {}

 private:
  friend class ComWorld;
  friend class UserUnknown;
  friend class ComRefCount;
  friend long InterlockedIncrement(ComRefCount* count, const std::source_location& where);
  friend long InterlockedDecrement(ComRefCount* count, const std::source_location& where);
  template <class>
  friend class ComPtr;
  template <class>
  friend class ComWeak;
  template <class>
  friend class ComProxy;

  /// The object's state: one cell (see the header).
  struct Life {
    std::uint32_t count = 1;
    ComState state = ComState::alive;
    ThreadId destroyer = kNoThread;  // the thread of the final Release, once destroying
  };

  // The operations with the reference they were made through (for messages).
  std::uint32_t add_ref_via(const ComReference& via, const char* label, const Loc& where);
  std::uint32_t release_via(const ComReference& via, const Loc& where);
  void use_via(const char* method, const ComReference& via, const Loc& where);
  bool try_upgrade_via(const ComReference& via, const Loc& where);
  // The liveness check of use on the state `life` (read by use, peeked by ComPtr::operator->).
  void check_alive(const char* method, const ComReference& via, const Loc& where, const Life& life);
  void destroy(const ComStamp& by, Life& life);
  // Announces an operation on the object (a scheduling point): its footprint is the object and,
  // when it belongs to a subsystem, the subsystem's cell (read). False at teardown.
  bool announce(Access access, const char* label, const Loc& where);
  // The subsystem check of an operation (its footprint declared subsystem_->reads()).
  void check_subsystem(const char* call, const Loc& where);
  // The thread-affinity check of a Release: on the owner's thread, or reported.
  void check_owner_thread(const char* call, const ComReference& via, const Loc& where);
  [[noreturn]] void report_wrong_thread(const char* call, const ComReference& via,
                                        const Loc& where);
  // A call / the Release through a marshalled pointer (ComProxy): on the owner's thread, or for
  // an object with none, the operation itself; from another thread, a cross-apartment call
  // that the owner's apartment dispatches (ComApartment::send). `then` runs after the checked
  // call, where the call runs.
  void proxy_call(const char* method, const std::function<void()>& then, const ComReference& via,
                  const Loc& where);
  void proxy_release(const ComReference& via, const Loc& where);
  // A user IUnknown's operations (UserUnknown, ComRefCount): see there.
  std::uint32_t user_decrement(const Loc& where);
  std::uint32_t user_read(const Loc& where);
  void user_write(std::uint32_t value, const Loc& where);
  void user_delete(const Loc& where);
  void require_world(const char* operation) const;
  static bool on_destroyer_thread(const Life& life) noexcept;
  void peek_alive(const char* method, const ComReference& via, const Loc& where);

  [[noreturn]] void report_use_after_destruction(const char* method, const ComReference& via,
                                                 const Loc& where);
  [[noreturn]] void report_addref_from_zero(const ComReference& via, const Loc& where);
  [[noreturn]] void report_underflow(const ComReference& via, const Loc& where);
  [[noreturn]] void report_double_destruction(const ComReference& via, const Loc& where);
  [[noreturn]] void report_escaped_reference(std::uint32_t count);

  ComWorld* world_ = nullptr;
  ObjectId id_ = kNoObject;
  std::string type_;
  std::string name_;
  std::optional<hc::ModelCell<Life>> life_;  // model state: created by ComWorld::adopt
  std::uint32_t guard_ = 0;  // configuration: artificial count during destruction; 0 = unguarded
  Subsystem* subsystem_ = nullptr;     // configuration: the subsystem it belongs to (belongs_to)
  std::uint32_t subsystem_epoch_ = 0;  // and that subsystem's epoch then
  ThreadId owner_ = kNoThread;         // and the thread it must be released on (an STA's)
  ComApartment* apartment_ = nullptr;  // that STA, which dispatches marshalled calls
  // A user IUnknown's shadow (UserUnknown): its count moves only through the user's code, and
  // the destruction is the user's `delete this` (user_delete), not the count reaching 0.
  bool user_managed_ = false;
  // Finding bookkeeping.
  ComStamp created_{};
  ComStamp destroyed_{};                // the final Release: who entered the destruction
  ComStamp rescued_{};                  // first AddRef by the destroyer while destroying
  std::uint32_t destroy_end_step_ = 0;  // last step before on_destroy returned
};

// --- ComWorld --------------------------------------------------------------------------------

struct ComWorldOptions {
  /// Objects not destroyed when the world is destroyed (at the end of the scenario) are a
  /// com-object-leak finding: a missing Release (DOMAIN.md §5), like handle-leak for a handle
  /// table. Off for a test about something else that leaves objects referenced on purpose.
  bool report_leaks = true;
  /// The subsystem every object made here belongs to (ComObject::belongs_to), or none.
  Subsystem* subsystem = nullptr;
};

/// The arena of one execution: creates objects, keeps their memory until it is destroyed, and
/// knows which destructors are running on which thread. Declare it before any ComPtr that may
/// point into it. Its destructor performs no operation; it reports the objects still alive
/// (com-object-leak) unless options.report_leaks is off or the execution is being torn down.
class ComWorld {
 public:
  explicit ComWorld(ComWorldOptions options = {});
  ComWorld(const ComWorld&) = delete;
  ComWorld& operator=(const ComWorld&) = delete;
  ~ComWorld();

  /// Creates a T (constructed from `args`) named `name`, registered with the engine, with its
  /// count at 1: the creator's reference, owned by the returned ComPtr (detach() it for raw
  /// COM-style code). No scheduling point. Only inside an execution.
  template <class T, class... Args>
  ComPtr<T> make(ComName name, Args&&... args) {
    static_assert(std::is_base_of_v<ComObject, T>, "ComWorld::make<T>: T must derive ComObject");
    auto owned = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = owned.get();
    adopt(std::move(owned), name.name, name.where);
    return ComPtr<T>::attach(raw, name.where);
  }

  /// The innermost object whose destructor body runs on `thread` now, or nullptr: lets models
  /// and scenarios tell destructor context (B18: heavy cleanup inside Release). No operation.
  const ComObject* destroying_on(ThreadId thread) const noexcept;
  /// Objects created and not yet destroyed (leaks, at the end of a scenario), in creation order.
  std::vector<const ComObject*> alive() const;
  /// "ComObject 'a' (type X, count 1, created by thread 'main' at step 0 (site))", one per
  /// line, for the objects alive(); empty when none. Only inside an execution.
  std::string describe_alive() const;
  std::size_t size() const noexcept { return objects_.size(); }

 private:
  friend class ComObject;
  void adopt(std::unique_ptr<ComObject> object, std::string_view name,
             const std::source_location& where);

  void report_leaks() const;

  ComWorldOptions options_;
  std::vector<std::unique_ptr<ComObject>> objects_;  // creation order (the arena)
  // Finding bookkeeping: destructor bodies running, innermost last (each thread sees its own).
  std::vector<ComObject*> destroying_;
};

// --- ComPtr ----------------------------------------------------------------------------------

/// An owning pointer (WRL's ComPtr): every non-null ComPtr owns one reference. Copy = AddRef,
/// reset / destruction / overwriting = Release, move = no count traffic. A ComPtr records when
/// its reference was taken; its destructor's Release is attributed to that site.
template <class T>
class ComPtr {
  using Loc = std::source_location;

 public:
  ComPtr() noexcept = default;
  ComPtr(std::nullptr_t) noexcept {}  // NOLINT: implicit, as for pointers

  /// Takes a new reference to `raw` (AddRef): the COM rule for a pointer copied from a shared
  /// variable (do it under the lock that protects the variable), an in/out parameter, or a
  /// stored pointer handed out. Null stays null.
  explicit ComPtr(T* raw, const Loc& where = Loc::current()) : p_(raw) {
    if (p_ != nullptr) {
      static_cast<ComObject*>(p_)->add_ref_via(ComReference{}, "AddRef", where);
      obtained_ = detail::com_stamp(where);
    }
  }

  /// Adopts a reference the caller already owns (no AddRef): the creator's reference, an out
  /// parameter, a detach()ed pointer.
  static ComPtr attach(T* raw, const Loc& where = Loc::current()) noexcept {
    ComPtr p;
    p.p_ = raw;
    if (raw != nullptr) p.obtained_ = detail::com_stamp(where);
    return p;
  }

  ComPtr(const ComPtr& other, const Loc& where = Loc::current()) : ComPtr(other.p_, where) {}
  template <class U>
  requires std::is_convertible_v<U*, T*> ComPtr(const ComPtr<U>& other,
                                                const Loc& where = Loc::current())  // NOLINT
      : ComPtr(static_cast<T*>(other.get()), where) {}
  ComPtr(ComPtr&& other) noexcept
      : p_(std::exchange(other.p_, nullptr)), obtained_(other.obtained_) {}
  template <class U>
  requires std::is_convertible_v<U*, T*> ComPtr(ComPtr<U>&& other)
  noexcept  // NOLINT
      : obtained_(other.obtained()) {
    p_ = other.detach();
  }

  /// AddRef of the new value, then Release of the old one (its site is not recorded: call
  /// assign() for the line).
  ComPtr& operator=(const ComPtr& other) {
    if (this != &other) assign(other, Loc{});
    return *this;
  }
  /// Release of the old value (site not recorded), no count traffic for the new one.
  ComPtr& operator=(ComPtr&& other) {
    if (this != &other) {
      reset(Loc{});
      obtained_ = other.obtained_;
      p_ = std::exchange(other.p_, nullptr);
    }
    return *this;
  }
  ComPtr& operator=(std::nullptr_t) {
    reset(Loc{});
    return *this;
  }

  /// Releases its reference, attributed to the site where the reference was taken.
  ~ComPtr() {
    if (p_ != nullptr && !detail::com_world_closing()) {
      T* p = std::exchange(p_, nullptr);
      static_cast<ComObject*>(p)->release_via(via(), obtained_.where);
    }
  }

  /// `*this = other` with a site: AddRef of other's object, then Release of the old one.
  void assign(const ComPtr& other, const Loc& where = Loc::current()) {
    ComPtr copy(other.p_, where);
    reset(where);
    *this = std::move(copy);
  }

  /// Release (read-write on the object; may destroy it and run its cascade here), then null.
  void reset(const Loc& where = Loc::current()) {
    if (p_ == nullptr) return;
    const ComReference ref = via();
    T* p = std::exchange(p_, nullptr);
    static_cast<ComObject*>(p)->release_via(ref, where);
  }

  /// Gives up ownership without Release: the caller now owns the reference.
  [[nodiscard]] T* detach() noexcept { return std::exchange(p_, nullptr); }

  T* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Liveness-checked access to members, WITHOUT a scheduling point: a safety net. Make the
  /// call itself visible with use() or call().
  T* operator->() const {
    base()->peek_alive("operator->", via(), Loc{});
    return p_;
  }
  T& operator*() const { return *operator->(); }

  /// A call of `method` through this pointer: read on the object, checked. A ComPtr's object
  /// is dead only if someone released a reference they did not own.
  void use(const char* method, const Loc& where = Loc::current()) const {
    base()->use_via(method, via(), where);
  }
  /// use(method), then f(T&): `ptr.call("GetName", [](Widget& w) { return w.title; })`.
  template <class F>
  decltype(auto) call(const char* method, F&& f, const Loc& where = Loc::current()) const {
    use(method, where);
    return std::invoke(std::forward<F>(f), *p_);
  }

  /// When and where its reference was taken.
  const ComStamp& obtained() const noexcept { return obtained_; }

 private:
  ComObject* base() const {
    if (p_ == nullptr) throw usage_error("hc::models::ComPtr: use of a null ComPtr");
    return static_cast<ComObject*>(p_);
  }
  ComReference via() const noexcept {
    return ComReference{ComReference::Kind::strong, nullptr, obtained_};
  }

  T* p_ = nullptr;
  ComStamp obtained_{};
};

// --- ComWeak ---------------------------------------------------------------------------------

/// A named pointer that holds NO reference: a weak back-pointer (child → parent), or a local
/// copy fetched from a shared variable without AddRef (B14). Copying it is invisible; every use
/// is a checked scheduling point, and findings say "through weak reference '<name>'", when it
/// was obtained, and that it owned nothing.
template <class T>
class ComWeak {
  using Loc = std::source_location;

 public:
  ComWeak() noexcept = default;
  /// `name` is a static string. Records the thread, step and site where the pointer was taken.
  ComWeak(T* target, const char* name, const Loc& where = Loc::current())
      : p_(target), name_(name), obtained_(detail::com_stamp(where)) {}
  ComWeak(const ComPtr<T>& strong, const char* name, const Loc& where = Loc::current())
      : ComWeak(strong.get(), name, where) {}

  /// A call of `method` through this reference: read on the object, checked.
  void use(const char* method, const Loc& where = Loc::current()) const {
    base()->use_via(method, via(), where);
  }
  /// use(method), then f(T&).
  template <class F>
  decltype(auto) call(const char* method, F&& f, const Loc& where = Loc::current()) const {
    use(method, where);
    return std::invoke(std::forward<F>(f), *p_);
  }

  /// A plain AddRef of the pointer (read-write): correct only if something guarantees the
  /// object is alive; on a dead one it is addref_from_zero (B14's "AddRefs from 0").
  ComPtr<T> add_ref(const Loc& where = Loc::current()) const {
    base()->add_ref_via(via(), "AddRef", where);
    return ComPtr<T>::attach(p_, where);
  }
  /// The correct weak → strong upgrade (read-write): takes a reference only if the count is
  /// not 0, else returns null. Never a finding.
  ComPtr<T> try_upgrade(const Loc& where = Loc::current()) const {
    if (!base()->try_upgrade_via(via(), where)) return ComPtr<T>();
    return ComPtr<T>::attach(p_, where);
  }

  void reset() noexcept { p_ = nullptr; }
  /// The raw pointer, unchecked: for comparisons only.
  T* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  const char* name() const noexcept { return name_; }
  const ComStamp& obtained() const noexcept { return obtained_; }

 private:
  ComObject* base() const {
    if (p_ == nullptr) throw usage_error("hc::models::ComWeak: use of a null ComWeak");
    return static_cast<ComObject*>(p_);
  }
  ComReference via() const noexcept {
    return ComReference{ComReference::Kind::weak, name_, obtained_};
  }

  T* p_ = nullptr;
  const char* name_ = "";
  ComStamp obtained_{};
};

// --- ComProxy --------------------------------------------------------------------------------

/// A marshalled interface pointer: what CoMarshalInterThreadInterfaceInStream +
/// CoGetInterfaceAndReleaseStream, the Global Interface Table or an agile reference give
/// another thread, and what an RCW of an STA object holds. It owns one reference (taken by
/// marshal(), on the object's own thread). Used from the object's own thread, or for an object
/// of the MTA (or of no apartment), its calls and its Release are direct; from another thread,
/// each is a cross-apartment call into the object's STA, which runs there only when the STA
/// thread pumps (ComApartment::pump, CoWaitForMultipleHandles): the caller blocks until then.
///
///   ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");        // on the STA thread 'ui'
///   ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);  // AddRef, on 'ui'
///   hc::thread worker("worker", [p = std::move(proxy)]() mutable {
///     p.call("Draw");  // queued to 'ui'; returns once 'ui' pumped and ran it
///     p.Release();     // the Release runs on 'ui' too
///   });
///   sta.CoWaitForMultipleHandles(done);  // pumps: the worker's calls get in
template <class T>
class ComProxy {
  using Loc = std::source_location;

 public:
  ComProxy() noexcept = default;
  /// Marshals `p`'s object: takes a reference for the proxy (AddRef, read-write on the object,
  /// here: marshal on the object's own thread). Null stays null.
  static ComProxy marshal(const ComPtr<T>& p, const Loc& where = Loc::current()) {
    ComProxy out;
    if (p.get() == nullptr) return out;
    ComPtr<T> copy(p.get(), where);
    out.p_ = copy.detach();
    out.obtained_ = detail::com_stamp(where);
    return out;
  }
  ComProxy(ComProxy&& other) noexcept
      : p_(std::exchange(other.p_, nullptr)), obtained_(other.obtained_) {}
  ComProxy& operator=(ComProxy&& other) {
    if (this != &other) {
      Release(Loc{});
      p_ = std::exchange(other.p_, nullptr);
      obtained_ = other.obtained_;
    }
    return *this;
  }
  ComProxy(const ComProxy&) = delete;
  ComProxy& operator=(const ComProxy&) = delete;
  /// Releases its reference (a cross-apartment Release off the object's thread), attributed to
  /// the site where it was marshalled.
  ~ComProxy() {
    if (p_ != nullptr && !detail::com_world_closing()) {
      T* p = std::exchange(p_, nullptr);
      static_cast<ComObject*>(p)->proxy_release(via(), obtained_.where);
    }
  }

  /// A call of `method` (a static string) through the proxy: checked like ComPtr::use, and
  /// cross-apartment when made off the object's STA thread (see the class).
  void call(const char* method, const Loc& where = Loc::current()) const {
    base()->proxy_call(method, std::function<void()>{}, via(), where);
  }
  /// call(method), then f(T&) where the call runs (on the STA thread for a cross-apartment one).
  template <class F>
  void call(const char* method, F&& f, const Loc& where = Loc::current()) const {
    T* p = p_;
    base()->proxy_call(
        method, [&f, p] { std::invoke(f, *p); }, via(), where);
  }
  /// The proxy's Release: the object's Release, cross-apartment off its STA thread. Null after.
  void Release(const Loc& where = Loc::current()) {
    if (p_ == nullptr) return;
    T* p = std::exchange(p_, nullptr);
    static_cast<ComObject*>(p)->proxy_release(via(), where);
  }

  T* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  const ComStamp& obtained() const noexcept { return obtained_; }

 private:
  ComObject* base() const {
    if (p_ == nullptr) throw usage_error("hc::models::ComProxy: use of a null ComProxy");
    return static_cast<ComObject*>(p_);
  }
  ComReference via() const noexcept {
    return ComReference{ComReference::Kind::proxy, nullptr, obtained_};
  }

  T* p_ = nullptr;
  ComStamp obtained_{};
};

// --- a user's own IUnknown ---------------------------------------------------------------------

/// LONG m_ref of a user's IUnknown (UserUnknown::m_ref): the count the user's own AddRef and
/// Release move, observed by the model. InterlockedIncrement / InterlockedDecrement are
/// read-write steps on the object; reading it (`m_ref == 0`, `return m_ref;`) is a read step,
/// and assigning it (`m_ref = kDestructorCount;`, ONT-0928's artificial count) a write step,
/// each checked for liveness: reading the count of an object another thread deleted is
/// use-after-destruction. A read or an assignment cannot capture its line (an operator takes no
/// default argument): it is attributed to the thread's last call with a line on the object (the
/// InterlockedDecrement just before it, in the usual Release).
class ComRefCount {
  using Loc = std::source_location;

 public:
  explicit ComRefCount(ComObject* shadow) noexcept : shadow_(shadow) {}
  ComRefCount(const ComRefCount&) = delete;
  ComRefCount& operator=(const ComRefCount&) = delete;

  /// A read step (`if (m_ref == 0)`).
  operator long() const { return static_cast<long>(shadow_->user_read(Loc{})); }  // NOLINT
  /// A write step (`m_ref = 1000;` before `delete this`, the artificial destructor count).
  ComRefCount& operator=(long value) {
    shadow_->user_write(static_cast<std::uint32_t>(value), Loc{});
    return *this;
  }
  /// A read step with its line.
  long load(const Loc& where = Loc::current()) const {
    return static_cast<long>(shadow_->user_read(where));
  }
  ComObject& model() const noexcept { return *shadow_; }

 private:
  ComObject* shadow_;
};

/// InterlockedIncrement(&m_ref): AddRef's count transition, the new count. Reports
/// addref_from_zero on a count already 0 (another thread's Release took it there, or the object
/// is destroyed), except from inside the object's own destructor on its thread (recorded: a
/// later `delete this` is the double destruction of B13).
long InterlockedIncrement(ComRefCount* count, const std::source_location& where);
/// InterlockedDecrement(&m_ref): Release's count transition, the new count. A decrement of a
/// count already 0 is refcount_underflow; of a destroyed object, use_after_destruction.
long InterlockedDecrement(ComRefCount* count, const std::source_location& where);

/// The base of a user's own IUnknown implementation: their AddRef, Release and destructor code
/// run under the COM model's liveness checks. Derive from it, move the count with
/// InterlockedIncrement / InterlockedDecrement on the inherited `m_ref`, and `delete this` as
/// usual; create objects with `new`:
///
///   class Widget : public hc::models::UserUnknown {
///    public:
///     explicit Widget(hc::models::ComWorld& w) : UserUnknown(w, "Widget", "widget") {}
///     long AddRef() { return InterlockedIncrement(&m_ref); }
///     long Release() {
///       const long c = InterlockedDecrement(&m_ref);
///       if (c == 0) delete this;      // the seed's `if (!InterlockedDecrement(&m_ref)) delete
///       this;` return c;
///     }
///   };
///   Widget* w = new Widget(world);    // m_ref starts at 1
///
/// `delete this` is intercepted (a C++20 destroying operator delete): it is a read-write step
/// on the object (attributed to the thread's last line on it, its Release's decrement) that
/// marks it destroying on this thread, runs the user's destructor, then marks it destroyed.
/// Its memory is kept until the ComWorld is destroyed, so a later use is a finding, not a
/// crash: reading m_ref or calling use() on it is use_after_destruction; a second `delete this`
/// (another thread's, or from inside the destructor after it handed out `this` and saw AddRef
/// and Release go 0→1→0) is double_destruction; a reference taken inside the destructor and
/// kept is addref_from_zero; an object never deleted is com-object-leak when the world ends.
/// The artificial count of ONT-0928 (`m_ref = 1000; delete this;`) protects the destructor:
/// the count at `delete this` is what it must be again when the destructor returns.
///
/// The ComWorld frees the memory of deleted objects when it is destroyed; of objects never
/// deleted (leaked), it frees the memory without running their destructor (their members'
/// own allocations leak). Create objects with `new` (the class's operator new records the
/// allocation); an object not created by `new` is never freed by the world.
class UserUnknown {
  using Loc = std::source_location;

 public:
  /// Joins `world` as an object named `name` of type `type_name` (both in messages), with its
  /// count at 1 (the creator's reference), bound to the world's subsystem if it has one.
  UserUnknown(ComWorld& world, std::string type_name, ComName name);
  virtual ~UserUnknown() = default;
  UserUnknown(const UserUnknown&) = delete;
  UserUnknown& operator=(const UserUnknown&) = delete;

  /// `delete this` / `delete p`: see the class comment. Never frees.
  void operator delete(UserUnknown* p, std::destroying_delete_t);
  /// Records the allocation (freed by the ComWorld).
  static void* operator new(std::size_t size);
  /// Only for a constructor that throws.
  static void operator delete(void* p) noexcept;

  /// The model's view of this object (its state, name, id; tests and reports).
  ComObject& model() const noexcept { return *shadow_; }

 protected:
  /// A call of `method` on this object: a checked scheduling point (read), as ComObject::use.
  void use(const char* method, const Loc& where = Loc::current()) const;

 private:
  ComObject* shadow_;  // owned by the world

 protected:
  ComRefCount m_ref;  // LONG m_ref: starts at 1
};

}  // namespace hc::models

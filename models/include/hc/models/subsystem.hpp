// hc/models/subsystem.hpp — subsystem lifetimes (DOMAIN.md §5 "destruction order matters
// across subsystems", §10 B15) and COM apartments (§10 B20, issue 18: thread affinity): a
// thread's COM apartment (CoInitialize / CoInitializeEx / CoUninitialize, an init count per
// thread; STA or MTA) and a loaded module (LoadLibrary / FreeLibrary, a module reference
// count). Objects belong to a subsystem; a Release, a close, a finalizer or any call into a
// subsystem that is already torn down is a release-after-subsystem-shutdown finding. An STA's
// objects also belong to its thread: calls from other threads are cross-apartment calls that
// run only when the STA thread pumps.
//
// What it defines:
//   Subsystem       the lifetime: a name ("COM (thread main)", "library 'sqlite3.dll'"), a count
//                   (init count / module reference count) and an epoch (how many times it was
//                   torn down). acquire() / release() move the count; the release that takes it
//                   to 0 tears the subsystem down. enter(api) is a call into it: checked.
//   ComApartment    the calling thread's COM apartment: CoInitialize() (an init count, no
//                   threading model), CoInitializeEx(ComInit::apartment_threaded) (an STA: its
//                   objects belong to this thread) or CoInitializeEx(ComInit::multithreaded) (the
//                   MTA: objects called directly from any thread), CoUninitialize(). On an STA:
//                   pump() (one message-loop step) and CoWaitForMultipleHandles(event) (a pumping
//                   wait) dispatch the cross-apartment calls queued by other threads (ComProxy,
//                   com_object.hpp); send() is how a proxy queues one and waits for its reply.
//   ComEvent        a manual-reset Win32 event that STA waits understand: SetEvent, ResetEvent,
//                   WaitForSingleObject (the NON-pumping wait: the STA thread dispatches nothing
//                   while it waits).
//   Library         a module: LoadLibrary(), FreeLibrary(); call(api) is a call of an export.
//   SubsystemGuard  RAII: acquires in its constructor, releases in its destructor. Declared
//                   before (outside the scope of) the smart pointers into the subsystem, it
//                   outlives them: the fix of B15 (ONT-0520).
//
//   hc::models::ComApartment com;                  // this thread's apartment
//   com.CoInitialize();
//   hc::models::ComWorld world({.subsystem = &com});  // its objects belong to the apartment
//   hc::models::ComPtr<Doc> doc = world.make<Doc>("doc");
//   com.CoUninitialize();
//   doc.reset();  // finding: Release of ComObject 'doc' (type Doc) into subsystem
//                 // 'COM (thread main)' after CoUninitialize at scenario.cpp:41
//
//   hc::models::ComApartment sta;                  // thread 'ui'
//   sta.CoInitializeEx(hc::models::ComInit::apartment_threaded);
//   hc::models::ComEvent done(sta, "done");
//   ... a worker calls the STA's objects through a ComProxy, then done.SetEvent() ...
//   sta.CoWaitForMultipleHandles(done);  // pumps: the worker's calls run here, on 'ui'
//   done.WaitForSingleObject();          // instead: no pump, the worker's call never runs:
//                                        // a deadlock naming the call, 'ui' and this wait
//
//   hc::models::Library native("native.dll");
//   native.LoadLibrary();
//   SafeHandle h(gc, table, {}, [&](const RawHandle& raw) {
//     native.call("native_close");   // a ReleaseHandle calling into the library: checked
//     return table.close(raw).ok;
//   });
//
// An object belongs to the subsystem's epoch current when it was bound (ComObject::belongs_to,
// or a ComWorld's subsystem when it makes the object): after the subsystem is torn down, a
// CoInitialize/LoadLibrary again starts a new epoch, and the old objects stay dead (a new
// apartment does not revive the old one's objects; a reloaded module may sit elsewhere).
// Binding is configuration, not an operation (creating an object is private to its creator):
// bind on a thread that holds the subsystem initialized, as COM requires (creating an object in
// an uninitialized apartment is CO_E_NOTINITIALIZED: a usage error here). Bound to an STA, an
// object also records the STA's thread (Subsystem::owner_thread, peeked at binding).
//
// Cross-apartment calls (COM "Single-Threaded Apartments"): a call through a ComProxy from a
// thread other than the STA's is queued to the apartment (the send) and its caller blocks on a
// reply event of its own, named after the call ("reply of the cross-apartment call Release of
// ComObject 'bitmap' (type IWICBitmap) by thread 'finalizer' into the STA of thread 'ui', which
// only thread 'ui' pumping messages dispatches"): the engine's deadlock message prints that
// name for the blocked caller, and for an STA thread blocked in ComEvent::WaitForSingleObject
// the event's STA name ("done, waited for by STA thread 'ui' without pumping
// (WaitForSingleObject dispatches no cross-apartment call)"). The STA thread runs a call when it
// pumps: the call's own operations are its next steps, then the reply (a step: write on the
// reply event) releases the caller. A .NET wait on an STA thread pumps like
// CoWaitForMultipleHandles; a join (WaitForSingleObject on a thread) does not. A caller on
// another STA does not pump while it waits (COM's modal loop would: not modelled), and
// CoInitialize() without Ex keeps no thread affinity (COM's enters an STA: call CoInitializeEx
// to have the STA's rules checked).
//
// What it touches (DPOR footprints, checked by the footprint audit): ONE cell per subsystem,
// its id(), named after it: the count and the epoch. An apartment adds ONE cell ("apartment of
// thread 'ui'": its kind and its queue of calls) and an auto-reset engine event (its message
// queue's wake-up); a ComEvent is ONE cell (set or not) and two manual-reset engine events
// (other threads' waits, the STA thread's own); each cross-apartment call registers a reply
// event.
//   acquire / release (LoadLibrary, FreeLibrary, CoUninitialize, SubsystemGuard)  read_write
//   CoInitialize / CoInitializeEx            read_write on the subsystem and the apartment
//   enter / call                                                                read
//   an operation of an object bound to it (ComObject AddRef, Release, use) reads it too: it
//   declares reads() in its own footprint and calls check_entry() in its step.
//   send: the send          read_write on the apartment, read on the subsystem, write on the
//                           wake-up; the wait for the reply: a sync on the reply event
//   pump                    read_write on the apartment (then the call's own steps, then the
//                           reply: write on the reply event)
//   CoWaitForMultipleHandles  each look: read_write on the apartment, read on the event, write
//                           on the wake-up (cleared); each block: a sync on the wake-up
//   ComEvent::SetEvent      write on the event, its two engine events and the apartment's
//                           wake-up; ResetEvent: write on the event and its two engine events;
//                           WaitForSingleObject: a sync on the engine event of the waiter
//                           (the STA thread's, or the others'), read on the event
// Calls into one subsystem commute with each other; each conflicts with its teardown. The
// apartment's kind is written only by its own thread (CoInitializeEx) and read by it or peeked
// at binding. Finding bookkeeping (plain members): who tore each epoch down, and where.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/operation.hpp"

namespace hc::models {

class Subsystem {
  using Loc = std::source_location;

 public:
  Subsystem(const Subsystem&) = delete;
  Subsystem& operator=(const Subsystem&) = delete;
  virtual ~Subsystem() = default;

  /// CoInitialize / LoadLibrary: the count + 1, returned. A first acquire after a teardown
  /// starts a new epoch. Read-write on the subsystem.
  std::uint32_t acquire(const Loc& where = Loc::current()) {
    return acquire_touching({}, acquire_api_, where);
  }
  /// CoUninitialize / FreeLibrary: the count - 1, returned; at 0 the subsystem is torn down
  /// (its epoch ends). Read-write. More releases than acquires is a usage error of the caller
  /// (a check-failure finding: CoUninitialize without CoInitialize).
  std::uint32_t release(const Loc& where = Loc::current());
  /// A call of `api` (a static string) into the subsystem, not on behalf of a bound object: a
  /// scheduling point (read) that reports release_after_subsystem_shutdown when the subsystem
  /// is not initialized now.
  void enter(const char* api, const Loc& where = Loc::current());

  /// For an operation of a bound object (see the header): its footprint entry; the check, in
  /// its step, that the object's epoch `bound` is still current; and the finding when it is
  /// not. `what` is the call ("Release of ComObject 'doc' (type Doc)").
  Touch reads() const noexcept { return Touch{state_.id(), Access::read}; }
  bool is_current(std::uint32_t bound) const;
  [[noreturn]] void report_entry(std::uint32_t bound, const std::string& what, const Loc& where);

  /// The epoch an object created now belongs to (a peek: configuration). Throws usage_error
  /// when the subsystem is not initialized.
  std::uint32_t bind(std::string_view what) const;
  /// The thread an object bound now must be released on, or kNoThread when any thread may
  /// (a peek at binding time: configuration). A single-threaded apartment answers its thread.
  virtual ThreadId owner_thread() const noexcept { return kNoThread; }

  // --- peeked, without a scheduling point (tests, reports) --------------------------------
  const std::string& name() const noexcept { return name_; }
  ObjectId id() const noexcept { return state_.id(); }
  std::uint32_t count() const noexcept { return state_.peek().count; }
  bool initialized() const noexcept { return state_.peek().count > 0; }

 protected:
  /// `name` in messages ("COM (thread main)"); `acquire_api` / `release_api` name the calls
  /// ("CoInitialize", "CoUninitialize").
  Subsystem(std::string name, const char* acquire_api, const char* release_api);
  /// acquire() as the call `api` (a static string) whose step also touches `also` (a
  /// subclass's own cells, written after it returns, in the same step). 0 during teardown.
  std::uint32_t acquire_touching(std::span<const Touch> also, const char* api, const Loc& where);

 private:
  /// The subsystem's state: one cell (see the header).
  struct State {
    std::uint32_t count = 0;
    std::uint32_t epoch = 0;  // teardowns so far: objects bound at epoch e live while e is current
  };
  [[noreturn]] void report_shutdown(std::uint32_t bound, const State& now, const std::string& what,
                                    const Loc& where);

  std::string name_;
  const char* acquire_api_;
  const char* release_api_;
  ModelCell<State> state_;
  // Finding bookkeeping: teardowns_[e] is the release that ended epoch e.
  std::vector<Provenance> teardowns_;
};

/// COINIT_APARTMENTTHREADED (a single-threaded apartment, STA) / COINIT_MULTITHREADED (the
/// multithreaded apartment, MTA): the threading model CoInitializeEx enters.
enum class ComInit : std::uint8_t { apartment_threaded, multithreaded };

/// An apartment's threading model: unspecified (entered with CoInitialize() or a
/// SubsystemGuard: the init count only, no thread affinity checked), sta, or mta.
enum class ApartmentKind : std::uint8_t { unspecified, sta, mta };

/// "unspecified", "STA", "MTA".
std::string_view apartment_kind_name(ApartmentKind kind);

class ComEvent;

/// The calling thread's COM apartment ("COM (thread main)"): COM keeps an init count per thread;
/// the CoUninitialize that takes it to 0 tears the apartment down. Construct it on the thread it
/// belongs to; CoInitialize / CoUninitialize from another thread is a usage error.
///
/// CoInitializeEx(ComInit::apartment_threaded) makes it a single-threaded apartment (STA): its
/// objects (ComWorldOptions::subsystem, ComObject::belongs_to) belong to its thread. A call on
/// one from another thread is a cross-apartment call, made through a marshalled pointer
/// (ComProxy, com_object.hpp): it is queued to the STA and completes only when the STA thread
/// dispatches it, in pump() (a message-loop step) or a pumping wait (CoWaitForMultipleHandles,
/// as a .NET wait on an STA thread does); while the STA thread is busy or in a non-pumping wait
/// (ComEvent::WaitForSingleObject, joining a thread), the caller stays blocked, and if nothing
/// ever pumps, the run ends in a deadlock naming the call, the STA thread and where it waits.
/// Releasing an STA object on another thread without marshalling (a ComPtr or raw pointer
/// carried across) is release-on-wrong-thread. CoInitializeEx(ComInit::multithreaded) makes it
/// the MTA: its objects are called directly from any thread (COM's RPC threads serve callers
/// from other apartments; no thread must pump). CoInitialize() keeps its earlier meaning here,
/// an init count without a threading model (COM's CoInitialize enters an STA: call
/// CoInitializeEx to have its rules checked).
class ComApartment : public Subsystem {
  using Loc = std::source_location;

 public:
  explicit ComApartment(const Loc& where = Loc::current());
  /// S_OK (0) on the first call, S_FALSE (1) when already initialized on this thread.
  std::uint32_t CoInitialize(const Loc& where = Loc::current());
  /// S_OK (0) on the first call, S_FALSE (1) when already initialized with the same model; a
  /// different model than the thread's is RPC_E_CHANGED_MODE (a usage error here). Read-write
  /// on the subsystem and on the apartment.
  std::uint32_t CoInitializeEx(ComInit model, const Loc& where = Loc::current());
  void CoUninitialize(const Loc& where = Loc::current());
  ThreadId thread() const noexcept { return thread_; }

  /// One step of the STA's message loop (PeekMessage + DispatchMessage), on its thread: the
  /// oldest queued cross-apartment call, if any, runs here (its operations are this thread's
  /// next steps) and its caller is released. Returns whether a call ran. Read-write on the
  /// apartment.
  bool pump(const Loc& where = Loc::current());
  /// A pumping wait on the STA thread (CoWaitForMultipleHandles with one handle, a .NET wait
  /// on an STA thread): returns once `event` is set, dispatching every cross-apartment call
  /// that arrives meanwhile. Blocks while there is neither. `event` must belong to this
  /// apartment (ComEvent's constructor).
  void CoWaitForMultipleHandles(ComEvent& event, const Loc& where = Loc::current());

  /// The STA's thread (objects bound now must be released there), kNoThread otherwise.
  ThreadId owner_thread() const noexcept override;

  // --- peeked, without a scheduling point (tests, reports) --------------------------------
  ApartmentKind kind() const noexcept { return apartment_.peek().kind; }
  /// Cross-apartment calls queued and not yet dispatched.
  std::size_t queued() const noexcept { return apartment_.peek().calls.size(); }

  /// A cross-apartment call (ComProxy's): queues `body` for the STA thread and blocks until it
  /// has run there. Two steps: the send (read-write on the apartment, reads the subsystem:
  /// a call into an apartment whose epoch `bound` ended is release-after-subsystem-shutdown),
  /// then the wait for the reply (on a fresh event named after the call: what a deadlock
  /// message shows). `call` is "Release of ComObject 'doc' (type Doc)". Only for the STA.
  void send(std::string call, std::uint32_t bound, std::function<void()> body,
            const Loc& where = Loc::current());

 private:
  friend class ComEvent;
  /// A queued cross-apartment call.
  struct Call {
    std::function<void()> body;
    ObjectId reply = kNoObject;  // the event its caller waits on
    std::source_location where{};
  };
  /// The apartment's state: one cell (see the header).
  struct State {
    ApartmentKind kind = ApartmentKind::unspecified;
    std::deque<Call> calls;
  };
  void require_thread(const char* api) const;
  void require_sta(const char* api) const;
  // Runs the popped call on this thread, then its reply (a step: write on the reply event).
  void dispatch(Call call, const Loc& where);

  ThreadId thread_;
  ModelCell<State> apartment_;
  ObjectId wake_;  // auto-reset event: set by a call's send and by SetEvent of its ComEvents
};

/// A manual-reset Win32 event (CreateEvent) as the apartment model knows it: what an STA
/// thread waits for. SetEvent / ResetEvent from any thread; WaitForSingleObject is the
/// non-pumping wait (the STA thread dispatches nothing while it waits; a deadlock names the
/// wait as such); ComApartment::CoWaitForMultipleHandles is the pumping one.
class ComEvent {
  using Loc = std::source_location;

 public:
  /// `name` in messages ("event 'bitmap released'"). `apartment` is the STA whose thread may
  /// wait for it (its pumping wait is woken by SetEvent).
  ComEvent(ComApartment& apartment, std::string_view name, bool initially_set = false);
  ComEvent(const ComEvent&) = delete;
  ComEvent& operator=(const ComEvent&) = delete;

  /// Write on the event (and its engine events, and the apartment's wake-up).
  void SetEvent(const Loc& where = Loc::current());
  void ResetEvent(const Loc& where = Loc::current());
  /// The non-pumping wait: blocks until the event is set. One step (a sync on its engine
  /// event, reading its state).
  void WaitForSingleObject(const Loc& where = Loc::current());

  bool is_set() const noexcept { return set_.peek(); }  // peeked
  ObjectId id() const noexcept { return set_.id(); }

 private:
  friend class ComApartment;
  ComApartment* apartment_;
  ModelCell<bool> set_;
  ObjectId event_;      // engine event for waits of other threads
  ObjectId sta_event_;  // engine event for the STA thread's non-pumping wait (named so)
};

/// A loaded module ("library 'sqlite3.dll'"): LoadLibrary / FreeLibrary move its reference
/// count; the FreeLibrary that takes it to 0 unloads it. call(api) is a call of one of its
/// exports (e.g. from a SafeHandle's ReleaseHandle): checked.
class Library : public Subsystem {
  using Loc = std::source_location;

 public:
  explicit Library(std::string_view module);
  std::uint32_t LoadLibrary(const Loc& where = Loc::current()) { return acquire(where); }
  void FreeLibrary(const Loc& where = Loc::current()) { release(where); }
  void call(const char* api, const Loc& where = Loc::current()) { enter(api, where); }
};

/// RAII: acquire() now, release() at the end of the scope (a CoInitialize/CoUninitialize pair,
/// ATL's CoInitializeScope). Declare it before the smart pointers into the subsystem so that
/// they are destroyed (Released) first.
class SubsystemGuard {
 public:
  explicit SubsystemGuard(Subsystem& s,
                          const std::source_location& where = std::source_location::current())
      : s_(s), where_(where) {
    s_.acquire(where);
  }
  ~SubsystemGuard() noexcept(false) { s_.release(where_); }
  SubsystemGuard(const SubsystemGuard&) = delete;
  SubsystemGuard& operator=(const SubsystemGuard&) = delete;

 private:
  Subsystem& s_;
  std::source_location where_;
};

}  // namespace hc::models

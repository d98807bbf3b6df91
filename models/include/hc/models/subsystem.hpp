// hc/models/subsystem.hpp — subsystem lifetimes (DOMAIN.md §5 "destruction order matters
// across subsystems", §10 B15): a thread's COM apartment (CoInitialize / CoUninitialize, an init
// count per thread) and a loaded module (LoadLibrary / FreeLibrary, a module reference count).
// Objects belong to a subsystem; a Release, a close, a finalizer or any call into a subsystem
// that is already torn down is a release-after-subsystem-shutdown finding.
//
// What it defines:
//   Subsystem       the lifetime: a name ("COM (thread main)", "library 'sqlite3.dll'"), a count
//                   (init count / module reference count) and an epoch (how many times it was
//                   torn down). acquire() / release() move the count; the release that takes it
//                   to 0 tears the subsystem down. enter(api) is a call into it: checked.
//   ComApartment    the calling thread's COM apartment: CoInitialize(), CoUninitialize().
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
// an uninitialized apartment is CO_E_NOTINITIALIZED: a usage error here).
//
// What it touches (DPOR footprints, checked by the footprint audit): ONE cell per subsystem,
// its id(), named after it: the count and the epoch.
//   acquire / release (CoInitialize, CoUninitialize, LoadLibrary, FreeLibrary)  read_write
//   enter / call                                                                read
//   an operation of an object bound to it (ComObject AddRef, Release, use) reads it too: it
//   declares reads() in its own footprint and calls check_entry() in its step.
// Calls into one subsystem commute with each other; each conflicts with its teardown.
// Finding bookkeeping (plain members): who tore each epoch down, and where.
#pragma once

#include <cstdint>
#include <source_location>
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
  std::uint32_t acquire(const Loc& where = Loc::current());
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

  // --- peeked, without a scheduling point (tests, reports) --------------------------------
  const std::string& name() const noexcept { return name_; }
  ObjectId id() const noexcept { return state_.id(); }
  std::uint32_t count() const noexcept { return state_.peek().count; }
  bool initialized() const noexcept { return state_.peek().count > 0; }

 protected:
  /// `name` in messages ("COM (thread main)"); `acquire_api` / `release_api` name the calls
  /// ("CoInitialize", "CoUninitialize").
  Subsystem(std::string name, const char* acquire_api, const char* release_api);

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

/// The calling thread's COM apartment ("COM (thread main)"): COM keeps an init count per thread;
/// the CoUninitialize that takes it to 0 tears the apartment down. Construct it on the thread it
/// belongs to; CoInitialize / CoUninitialize from another thread is a usage error.
class ComApartment : public Subsystem {
  using Loc = std::source_location;

 public:
  explicit ComApartment(const Loc& where = Loc::current());
  /// S_OK (0) on the first call, S_FALSE (1) when already initialized on this thread.
  std::uint32_t CoInitialize(const Loc& where = Loc::current());
  void CoUninitialize(const Loc& where = Loc::current());
  ThreadId thread() const noexcept { return thread_; }

 private:
  void require_thread(const char* api) const;
  ThreadId thread_;
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

// hc/models/critical_handle.hpp — .NET CriticalHandle (DOMAIN.md §2): a handle wrapper with
// a plain closed flag and no reference count.
//
//   hc::models::CriticalHandle h(gc, table, {.name = "event"});
//   h.SetHandle(table.create_event("e", true, false));
//   h.Close();   // Cleanup: if closed return; closed = true; ReleaseHandle
//
// Cleanup reads and then sets `_isClosed` as two separate steps (a plain bool in the runtime),
// so two threads closing at once can both pass the check and run ReleaseHandle twice — what
// the runtime's source says happens; the model reports it as release-handle-twice. A
// CriticalHandle is passed to P/Invokes as a raw value, with no AddRef: use racing with Close
// is the caller's problem (a stale or invalid value, reported by the handle table).
//
// What it touches (the footprint of each operation; the footprint audit checks it). The
// model's state is in cells: the `_isClosed` flag C (a ModelAtomic<bool>, "<type> '<name>'
// _isClosed", so the check-then-set race shows as two steps) and the handle field H ("<label>
// handle"); the managed object itself (id(), the GC's) is announced as before.
//   SetHandle                 id() write; H write.
//   handle()                  id() read; H read.
//   IsInvalid                 id() read; H read.
//   IsClosed                  C read; H read.
//   Close / Dispose /         C read (the check), then C write (the set); H read, declared by
//   the finalizer (Cleanup)   both: after the set, Cleanup tests IsInvalid and hands H's
//                             value to ReleaseHandle, whose own operations (the table's close
//                             or the user's function) come after.
//   SetHandleAsInvalid        C write; H read. Close and SetHandleAsInvalid then call
//                             GC.SuppressFinalize: the GC's operation.
// Finding bookkeeping (plain members): ReleaseHandle's run count and its first run
// (release-handle-twice).
#pragma once

#include <source_location>
#include <string_view>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/model_atomic.hpp"
#include "hc/models/safe_handle.hpp"

namespace hc::models {

struct CriticalHandleOptions {
  std::string_view type_name = "CriticalHandle";
  std::string_view name = "handle";
};

class CriticalHandle : public ManagedObject {
 public:
  CriticalHandle(Gc& gc, HandleTable& table, CriticalHandleOptions options = {},
                 ReleaseHandleFn release_handle = {},
                 const std::source_location& where = std::source_location::current());

  void SetHandle(const RawHandle& h,
                 const std::source_location& where = std::source_location::current());
  /// The raw value (what the marshaller passes: no AddRef).
  RawHandle handle(const std::source_location& where = std::source_location::current());
  void Close(const std::source_location& where = std::source_location::current());
  void Dispose(const std::source_location& where = std::source_location::current()) {
    Close(where);
  }
  /// Sets the closed flag and suppresses finalization: the handle leaks by design.
  void SetHandleAsInvalid(const std::source_location& where = std::source_location::current());
  bool IsClosed(const std::source_location& where = std::source_location::current());
  /// A read of the handle field (a scheduling point).
  bool IsInvalid(const std::source_location& where = std::source_location::current()) const;
  void finalize() override;

  std::uint32_t release_handle_calls() const { return release_handle_calls_; }

 private:
  void cleanup(const std::source_location& where);

  HandleTable* table_;
  CriticalHandleOptions options_;
  ReleaseHandleFn release_handle_;
  ModelCell<RawHandle> handle_;  // H
  ModelAtomic<bool> closed_;     // C
  // Finding bookkeeping (see the header).
  std::uint32_t release_handle_calls_ = 0;
  Provenance first_release_;
};

}  // namespace hc::models

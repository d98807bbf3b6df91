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
// Operations and what they touch (DPOR): Close/Dispose load then store the `_isClosed` flag
// (an hc::atomic of its own, so the race shows as two steps, not as a data race); SetHandle
// and handle() write / read the handle field (the managed object).
#pragma once

#include <source_location>
#include <string_view>

#include "hc/atomic.hpp"
#include "hc/models/common.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
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
  bool IsInvalid() const { return !handle_.valid(); }
  void finalize() override;

  std::uint32_t release_handle_calls() const { return release_handle_calls_; }

 private:
  void cleanup(const std::source_location& where);

  HandleTable* table_;
  CriticalHandleOptions options_;
  ReleaseHandleFn release_handle_;
  RawHandle handle_;
  hc::atomic<bool> closed_;
  std::uint32_t release_handle_calls_ = 0;
  Provenance first_release_;
};

}  // namespace hc::models

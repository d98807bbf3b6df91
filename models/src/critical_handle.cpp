#include "hc/models/critical_handle.hpp"

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

CriticalHandle::CriticalHandle(Gc& gc, HandleTable& table, CriticalHandleOptions options,
                               ReleaseHandleFn release_handle, const std::source_location& where)
    : ManagedObject(gc, options.type_name, options.name, /*has_finalizer=*/true,
                    /*critical=*/true, where),
      table_(&table),
      options_(options),
      release_handle_(std::move(release_handle)),
      handle_(fmt::format("{} handle", label())),
      closed_(false, fmt::format("{} '{}' _isClosed", options.type_name, options.name)) {
  // The code after each operation of the flag reads the handle field (see the header).
  closed_.also_touch({handle_.reads()});
}

void CriticalHandle::SetHandle(const RawHandle& h, const std::source_location& where) {
  const Touch footprint[] = {handle_.writes()};
  if (rt::model_op(Access::write, id(), footprint, "SetHandle", where) == nullptr) return;
  handle_.set(h, where);
}

RawHandle CriticalHandle::handle(const std::source_location& where) {
  const Touch footprint[] = {handle_.reads()};
  if (rt::model_op(Access::read, id(), footprint, "handle", where) == nullptr) return {};
  return handle_.read(where);
}

bool CriticalHandle::IsInvalid(const std::source_location& where) const {
  const Touch footprint[] = {handle_.reads()};
  if (rt::model_op(Access::read, id(), footprint, "IsInvalid", where) == nullptr) return false;
  return !handle_.read(where).valid();
}

bool CriticalHandle::IsClosed(const std::source_location& where) {
  return closed_.load(std::memory_order_seq_cst, where);
}

void CriticalHandle::Close(const std::source_location& where) {
  cleanup(where);
  gc().suppress_finalize(*this, where);
}

void CriticalHandle::SetHandleAsInvalid(const std::source_location& where) {
  closed_.store(true, std::memory_order_seq_cst, where);
  gc().suppress_finalize(*this, where);
}

void CriticalHandle::finalize() {
  cleanup(created_at());  // the finalizer's steps: at the user's line that created the handle
}

void CriticalHandle::cleanup(const std::source_location& where) {
  // Cleanup(): if (_isClosed) return; _isClosed = true; if (IsInvalid) return; ReleaseHandle.
  if (closed_.load(std::memory_order_seq_cst, where)) return;
  closed_.store(true, std::memory_order_seq_cst, where);
  // In the step of the store, which declares the read: ReleaseHandle's operations come after.
  const RawHandle handle = handle_.read(where);
  if (!handle.valid()) return;
  if (release_handle_calls_ > 0) {
    const Provenance now = here(where);
    report(FindingKind::release_handle_twice,
           fmt::format("ReleaseHandle of {} runs a second time, on {}; it first ran on {}. Two "
                       "threads passed the _isClosed check before either set it: CriticalHandle "
                       "has no interlocked state, so concurrent Close releases twice (and the "
                       "second release may close a recycled value)",
                       label(), describe(now), describe(first_release_)),
           where, label(), {.steps = {now.step, first_release_.step}, .objects = {id()}});
  }
  ++release_handle_calls_;
  first_release_ = here(where);
  bool ok = false;
  {
    // Cleanup saves the last error before ReleaseHandle and restores it after (DOMAIN.md §2;
    // CriticalHandle.cs: Marshal.GetLastPInvokeError / SetLastPInvokeError around it).
    const LastErrorPreserver last_error;
    const FindingContext context(id());  // findings inside ReleaseHandle are about it too
    ok = release_handle_ ? release_handle_(handle) : table_->close(handle, label(), where).ok;
  }
  if (!ok) {
    // This CriticalHandle, this step, then what the value's history names.
    const Provenance now = here(where);
    FindingRefs refs{.steps = {now.step}, .objects = {id()}};
    table_->add_history_refs(handle, refs);
    report(FindingKind::release_handle_failed,
           fmt::format("releaseHandleFailed: ReleaseHandle of {} (type {}) returned false for "
                       "handle {} on {}. History of the value: {}",
                       label(), options_.type_name, table_->format_value(handle.value),
                       describe(now), table_->history(handle)),
           where, fmt::format("{}|{}", label(), site(where)), std::move(refs));
  }
}

}  // namespace hc::models

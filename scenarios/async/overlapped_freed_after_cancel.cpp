// async/overlapped-freed-after-cancel — a destructor calls CancelIoEx on its pending read and
// frees the OVERLAPPED without waiting for the cancelled read to complete (issue 18, item 3).
//
// Story: microsoft/wil #326. wil::unique_folder_change_reader keeps a ReadDirectoryChangesW read
// pending on a directory handle with an OVERLAPPED member. Its destructor called
// CancelIoEx(folder, &m_overlapped) and went on to destroy the object. CancelIoEx only requests
// the cancellation: "the CancelIoEx function does not wait for all canceled operations to
// complete", and the cancelled read still completes, writing STATUS_CANCELLED into the
// OVERLAPPED's Internal field. When that happens after the object is gone the write lands in
// freed memory: "a random memory corruption or crash". microsoft/STL #1632 hit the same with a
// stack OVERLAPPED in its parallelize tool. The explorer interleaves the device's completion
// with the destructor; when it comes after the free it is an io-completed-after-free finding.
//
// Fix (the one wil #326 merged, and the Windows documentation's "Canceling Pending I/O
// Operations"): after CancelIoEx, GetOverlappedResult(folder, &m_overlapped, &n, TRUE) waits
// for the read to complete (aborted, or completed normally if it won the race); only then is
// the OVERLAPPED freed and the handle closed.
#include "hc/hc.hpp"
#include "hc/models/async_io.hpp"

namespace {

using hc::models::AsyncIo;
using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::UserMemory;

void destroy_change_reader(bool wait_for_completion) {
  HandleTable process;
  UserMemory buffer("change notification buffer");
  UserMemory overlapped("m_overlapped");  // the reader object's OVERLAPPED member
  AsyncIo io(process);
  const RawHandle folder = process.create(ObjectType::file, "C:\\watched", "change reader");
  const std::uint32_t read = io.read_file(folder, buffer, overlapped);  // ReadDirectoryChangesW

  // ~folder_change_reader_state:
  io.cancel_io_ex(folder, &overlapped);
  if (wait_for_completion) io.get_overlapped_result(read);  // GetOverlappedResult(..., TRUE)
  overlapped.free();                                        // the object is destroyed
  buffer.free();
  process.close(folder, "change reader");
}

}  // namespace

HC_SCENARIO("async/overlapped-freed-after-cancel", .tags = {"async", "windows"},
            .expect = hc::FindingKind::io_completed_after_free,
            .message = "into 'm_overlapped', which thread 'main' freed at scenarios/async/",
            .summary =
                "a destructor calls CancelIoEx and frees the OVERLAPPED without waiting: the "
                "cancelled read still completes and writes it",
            .pattern = "I18-pending-io", .source = "microsoft/wil #326") {
  destroy_change_reader(false);
}

HC_SCENARIO("async/overlapped-freed-after-cancel.fixed", .tags = {"async", "windows", "fixed"},
            .expect = hc::clean,
            .summary =
                "CancelIoEx, then GetOverlappedResult(TRUE) waits for the completion before "
                "the OVERLAPPED is freed",
            .pattern = "I18-pending-io", .source = "microsoft/wil #326") {
  destroy_change_reader(true);
}

// async/uring-cqe-on-reused-fd — an io_uring read is in flight on fd N; the program closes N and
// opens a new connection, which gets N again; the old read's CQE arrives with user_data N and the
// handler acts on N, now the new connection (issue 18, item 3; DOMAIN.md §7).
//
// Story: liburing #363. A client submits IORING_OP_READ on its TCP socket with the fd as the
// request's user_data, decides the connection is dead, closes the socket and connects again:
// the new socket gets the same number. The pending read does not notice: an io_uring request
// holds its own reference to the open file description, so close() neither cancels it nor
// waits for it (liburing #782: "you'd need to wait for completions or order close requests with
// reads"). The read completes on the OLD socket, and the CQE's user_data names the number, which
// the completion handler maps back to "its" connection and replies on: the reply goes to the new
// connection (a closed number in between makes the write fail with EBADF, which the handler
// ignores). The explorer interleaves the device's completion, the reaper and the close/reopen;
// the handler's write through the number it submitted with is a stale-handle-use naming the
// close and the new connection.
//
// Fix: tokio-uring #2 ("close FD after any in-flight operation"): the descriptor stays open until
// every request on it has completed and its CQE has been reaped; the reaper, which owns the
// connection, closes it after handling the CQE. The reconnect runs concurrently and gets
// whichever number is free then (4 while the old socket is still open, 3 after), and the
// number the CQE names is still the old connection when the handler uses it. (Registered files
// or a per-request user_data that is not the bare number fix it too.)
#include "hc/hc.hpp"
#include "hc/models/async_io.hpp"

namespace {

using hc::models::AsyncIo;
using hc::models::Completion;
using hc::models::CompletionQueue;
using hc::models::HandleTable;
using hc::models::InvalidUse;
using hc::models::ObjectType;
using hc::models::QueueKind;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::UserMemory;
using hc::models::ValueStyle;

void reconnect_with_read_in_flight(bool close_after_cqe) {
  HandleTable fds{{.style = ValueStyle::posix,
                   .reuse = ReusePolicy::lowest_free,
                   .invalid_use = InvalidUse::fail}};  // a write on a closed fd: EBADF
  UserMemory buffer("recv buffer");
  CompletionQueue ring("io_uring", QueueKind::io_uring);
  AsyncIo io(fds);
  const RawHandle sock = fds.create(ObjectType::file, "connection 1", "client");  // fd 3

  // The completion handler: reap the CQE, reply on the connection its user_data names.
  hc::thread reaper("reaper", [&] {
    const Completion cqe = ring.dequeue();                 // io_uring_wait_cqe
    fds.write(cqe.handle);                                 // send(user_data, ...): the reply
    if (close_after_cqe) fds.close(cqe.handle, "client");  // every request on it is done
  });

  io.submit_read(ring, sock, buffer, /*user_data=*/sock.value);  // IORING_OP_READ
  // The connection looks dead: close it (the fix leaves that to the reaper, after the CQE)...
  if (!close_after_cqe) fds.close(sock, "client");
  // ...and reconnect: the new socket takes the lowest free number (3 once it was closed).
  const RawHandle again = fds.create(ObjectType::file, "connection 2", "client");
  reaper.join();
  fds.close(again, "client");
}

}  // namespace

HC_SCENARIO("async/uring-cqe-on-reused-fd", .tags = {"async", "posix", "io_uring"},
            .expect = hc::FindingKind::stale_handle_use,
            .message = "(File 'connection 1', generation 1, closed by thread 'main'",
            .summary =
                "close(fd) does not cancel the io_uring read; the fd is reused by a new "
                "connection and the old read's CQE handler replies on the number",
            .pattern = "I18-pending-io", .source = "liburing #363") {
  reconnect_with_read_in_flight(false);
}

HC_SCENARIO("async/uring-cqe-on-reused-fd.fixed", .tags = {"async", "posix", "io_uring", "fixed"},
            .expect = hc::clean,
            .summary =
                "the fd is closed only after its request's CQE has been reaped "
                "(tokio-uring #2): the number cannot be reused under a pending read",
            .pattern = "I18-pending-io", .source = "tokio-uring #2") {
  reconnect_with_read_in_flight(true);
}

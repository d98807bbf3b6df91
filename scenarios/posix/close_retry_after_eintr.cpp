// posix/close-retry-after-eintr — close() retried after EINTR closes another thread's new
// descriptor (DOMAIN.md §10 B4, §7).
//
// Story: a logger rotates its file and closes the old descriptor the "robust" way, with
// `while (close(fd) == -1 && errno == EINTR) {}` (TEMP_FAILURE_RETRY). A signal arrives during
// close(). Linux has already released the descriptor number before the step that reports
// EINTR, so the number is free when close() returns -1/EINTR [MAN-CLOSE]. Meanwhile a server
// thread accepts a connection. open()/accept() return the lowest free number, so the new
// socket gets the number the logger just lost. The retry then closes the server's socket.
// In production that shows up as "a freshly opened socket returns EBADF", or random SIGBUS on
// mmapped files [EVC-195][KIV-318][ROCKS-14104]. The model frees the number first and then
// fails with EINTR (HandleTableOptions::fault_close, explored both ways), and reports the
// retry as a double close: of the socket's generation when the accept got the number first,
// else of the free number (EBADF in production: harmless only by luck of timing; reported
// under the default InvalidUse::raise).
//
// Fix: never retry close(). After any return the descriptor is gone; forget the number
// (fd = -1) and at most log the error.
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::kEINTR;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::Status;
using hc::models::ValueStyle;

void rotate_log_while_serving(bool retry_on_eintr) {
  HandleTable fds{{.style = ValueStyle::posix,
                   .reuse = ReusePolicy::lowest_free,
                   .fault_close = true,
                   .name = "process"}};
  RawHandle log = fds.create(ObjectType::file, "access.log", "logger");  // fd 3

  hc::thread server("server", [&] {
    const RawHandle sock = fds.create(ObjectType::file, "client socket", "server");
    fds.write(sock);
    fds.close(sock, "server");  // correct code: one close, whatever it returns
  });

  // The logger rotates: write the last line, close the old descriptor.
  fds.write(log);
  Status st = fds.close(log, "logger");
  if (retry_on_eintr) {
    while (!st.ok && st.error == kEINTR)
      st = fds.close(log, "logger");  // TEMP_FAILURE_RETRY(close(fd))
  }
  log = RawHandle{};  // fd = -1: the number is gone either way
  server.join();
}

}  // namespace

HC_SCENARIO(
    "posix/close-retry-after-eintr", .tags = {"posix", "b4"},
    .expect = hc::FindingKind::double_close,
    .message = "closed handle fd 3 (File 'access.log', generation 1, closed by thread 'main'",
    .summary =
        "close() retried after EINTR: Linux already freed the number, and the "
        "retry closes the socket another thread just received",
    .pattern = "B4", .source = "DOMAIN.md") {
  rotate_log_while_serving(true);
}

HC_SCENARIO("posix/close-retry-after-eintr.fixed", .tags = {"posix", "b4", "fixed"},
            .expect = hc::clean,
            .summary = "close() is called once and never retried; the variable is set to -1",
            .pattern = "B4", .source = "DOMAIN.md") {
  rotate_log_while_serving(false);
}

// posix/close-to-cancel-blocked-accept — a server's Stop() closes the listening socket to end
// its accept loop, then joins the accept thread: on Linux close() does not wake the accept, and
// Stop() hangs (DOMAIN.md §7; issue 18 class 4).
//
// Story: an emulator's debug-monitor server runs an accept loop on its own thread; each client
// that connects sends a request and leaves. Stop() sets the server to stopping, closes the
// listening socket and joins the accept thread, expecting accept() to fail as closesocket()
// makes it fail on Windows. On Linux a thread blocked in accept() holds its own reference to the
// listening socket's open file description, and close() from another thread does not wake it
// (close(2), NOTES). accept() waits for a connection that will never come, join() waits for the
// accept thread, and the process never exits, keeping the port bound (drhelius/Gearlynx #55:
// "on Linux, calling close() on a socket from one thread does not wake another thread that is
// blocked in accept() or recv() on that same fd"; rubinius #656 "Calling close() does not
// interrupt Socket waiting in accept() on Linux"; epics-base #30: shutdown() interrupts accept()
// on Linux). The explorer interleaves the accept loop with Stop(): when the loop is blocked in
// its second accept, the run ends in a deadlock whose line for the accept thread says that
// close(2) does not wake it on Linux and that shutdown(2) makes it fail with EINVAL. (A close
// before the accept makes it fail with EBADF: the descriptors run under InvalidUse::fail.)
//
// Fix: Stop() calls shutdown(listener, SHUT_RD), which wakes the blocked accept (it fails with
// EINVAL and the loop ends), joins the accept thread, and only then closes the listening
// socket (Gearlynx #55's fix: shutdown() before close()).
#include "hc/hc.hpp"
#include "hc/models/posix_io.hpp"

namespace {

using hc::models::Fd;
using hc::models::InvalidUse;
using hc::models::PosixIo;
using hc::models::Shut;

void server_stop(bool shutdown_first) {
  PosixIo io{{.invalid_use = InvalidUse::fail}};
  const Fd listener = io.listen("debug-monitor");  // fd 3

  hc::thread acceptor("acceptor", [&] {
    // AcceptLoop: for (;;) { fd = accept(listener); if (fd < 0) break; serve(fd); close(fd); }
    for (;;) {
      const Fd conn = io.accept(listener);
      if (!conn.valid()) break;  // EINVAL after shutdown (EBADF after a close)
      io.recv(conn);
      io.close(conn);
    }
  });

  const Fd client = io.connect(listener, "status client");  // a client asks and leaves
  io.send(client, "status");
  io.close(client);
  // Server::Stop()
  if (shutdown_first) {
    io.shutdown(listener, Shut::rd);  // wakes the blocked accept: it fails with EINVAL
    acceptor.join();
    io.close(listener);
  } else {
    io.close(listener);  // ends the accept loop on Windows; on Linux accept waits on
    acceptor.join();
  }
}

}  // namespace

HC_SCENARIO("posix/close-to-cancel-blocked-accept", .tags = {"posix", "i18-close-to-cancel"},
            .expect = hc::FindingKind::deadlock,
            .message = "accept(fd 3) is blocked on listening socket 'debug-monitor'",
            .summary =
                "Stop() closes the listening socket to end the accept loop and joins it: "
                "on Linux close() does not wake the accept, and Stop() hangs",
            .pattern = "I18-close-to-cancel",
            .source = "drhelius/Gearlynx#55, rubinius/rubinius#656, epics-base/epics-base#30") {
  server_stop(false);
}

HC_SCENARIO("posix/close-to-cancel-blocked-accept.fixed",
            .tags = {"posix", "i18-close-to-cancel", "fixed"}, .expect = hc::clean,
            .summary =
                "Stop() calls shutdown(SHUT_RD), which fails the blocked accept with "
                "EINVAL, joins the accept thread, then closes the listening socket",
            .pattern = "I18-close-to-cancel",
            .source = "drhelius/Gearlynx#55, rubinius/rubinius#656, epics-base/epics-base#30") {
  server_stop(true);
}

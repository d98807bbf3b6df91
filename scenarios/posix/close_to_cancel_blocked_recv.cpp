// posix/close-to-cancel-blocked-recv — a connection's stop() closes the socket to cancel the
// receiver thread blocked in recv(), then joins it: on Linux close() does not wake the recv, so
// stop() hangs (DOMAIN.md §7, §10; issue 18 class 4).
//
// Story: a connection object runs a receiver thread that loops on a blocking recv() and hands
// each message to the application. stop() cancels it the way it works on Windows, where
// closesocket() aborts a pending recv: it closes the socket, then joins the receiver. On Linux,
// a thread blocked in recv() holds its own reference to the open file description, and close()
// from another thread neither wakes it nor makes it fail (close(2), NOTES). The recv waits for
// data that will never come, join() waits for the receiver, and the process never exits.
// dotnet/corefx #22564 ("Linux Sockets: Close with pending synchronous Receive hangs": the
// Receive never completes; shutdown() before close() makes it return), cpython #91913
// (shutdown() is what releases a blocked recv(): "in Linux recv() returns with a byte count of
// zero") and epics-base #30 (shutdown() interrupts recv() and accept() on Linux, close() may
// leave them stuck, and a close first races the worker's next recv() on a closed or reused
// descriptor) report it. The explorer interleaves the receiver's recv with stop(). When the
// receiver is blocked first, the run ends in a deadlock whose line for the receiver says that
// close(2) does not wake it on Linux and that shutdown(2) is the fix. (When the close comes
// before the recv, the recv fails with EBADF: this scenario's descriptors run under
// InvalidUse::fail, production's silent error return.)
//
// Fix: stop() calls shutdown(fd, SHUT_RDWR), which wakes the blocked recv with 0 (end of file),
// joins the receiver, and only then closes the descriptor, so the receiver never sees a closed
// or reused number (the order epics-base/pvAccessCPP #150 settled on).
#include <string>

#include "hc/hc.hpp"
#include "hc/models/posix_io.hpp"

namespace {

using hc::models::Fd;
using hc::models::InvalidUse;
using hc::models::PosixIo;
using hc::models::Shut;

void connection_stop(bool shutdown_first) {
  PosixIo io{{.invalid_use = InvalidUse::fail}};
  auto [conn, peer] = io.socketpair("conn");  // fd 3: the connection's socket; fd 4: the peer
  std::string received;

  hc::thread receiver("receiver", [&] {
    // for (;;) { n = recv(fd, buf, sizeof buf, 0); if (n <= 0) break; deliver(buf, n); }
    for (;;) {
      const hc::models::IoResult r = io.recv(conn);
      if (r.n <= 0) break;  // 0: end of file / shut down; -1: EBADF
      received += r.data;
    }
  });

  io.send(peer, "hello");  // the peer says hello and then goes quiet
  // Connection::stop()
  if (shutdown_first) {
    io.shutdown(conn, Shut::rdwr);  // wakes the blocked recv: it returns 0
    receiver.join();
    io.close(conn);
  } else {
    io.close(conn);  // "cancels" the recv on Windows; on Linux it waits on
    receiver.join();
  }
  io.close(peer);
}

}  // namespace

HC_SCENARIO("posix/close-to-cancel-blocked-recv", .tags = {"posix", "i18-close-to-cancel"},
            .expect = hc::FindingKind::deadlock,
            .message = "on Linux close(2) does not wake a thread blocked in a system call",
            .summary =
                "stop() closes the socket to cancel the receiver's blocking recv() and "
                "joins it: on Linux close() does not wake the recv, and stop() hangs",
            .pattern = "I18-close-to-cancel",
            .source = "dotnet/corefx#22564, python/cpython#91913, epics-base/epics-base#30") {
  connection_stop(false);
}

HC_SCENARIO("posix/close-to-cancel-blocked-recv.fixed",
            .tags = {"posix", "i18-close-to-cancel", "fixed"}, .expect = hc::clean,
            .summary =
                "stop() calls shutdown(SHUT_RDWR), which wakes the recv with 0, joins the "
                "receiver, then closes the socket",
            .pattern = "I18-close-to-cancel",
            .source = "dotnet/corefx#22564, python/cpython#91913, epics-base/epics-base#30") {
  connection_stop(true);
}

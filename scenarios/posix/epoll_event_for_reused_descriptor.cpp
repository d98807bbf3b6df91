// posix/epoll-event-for-reused-descriptor — an event loop's epoll registration outlives the
// close of a dup'd descriptor; the number is reused by a concurrent open, and the loop handles
// the old socket's event through the new socket (DOMAIN.md §7; issue 18 class 2).
//
// Story: a libuv-style event loop thread waits in epoll_wait and dispatches each event through
// the number in its epoll_data (libuv's loop->watchers[fd]). The application polls a
// connection's socket (uv_poll_start: EPOLL_CTL_ADD, data = fd), then hands the socket to
// another component, which keeps a dup() of it (uvloop #61: the polled fd was a dup of a
// stream's), and stops polling by closing its own descriptor without EPOLL_CTL_DEL (libuv #1148,
// fixed by #1468 "make uv_poll_stop() remove fd from pollset"). epoll(7) Q6: an interest entry
// belongs to the open file description and goes away only when every descriptor of it is
// closed; the dup keeps it, so when the peer sends, epoll_wait still reports EPOLLIN with the
// closed number (libuv #1099: a socket still open elsewhere "continuously generate[s] junk
// events"; libuv #4323: the same after io_uring dup'd a descriptor; uSockets #216). Meanwhile a
// worker thread opens a client socket, and open() returns the lowest free number: the closed
// one. The loop reads the event's number and acts on the worker's socket: stale events invoke
// callbacks on the wrong watcher (libuv #968 "fix reopened fd bug"), or on nothing (EBADF). The
// model reports the use of the event's number as an event-for-reused-descriptor finding.
//
// Fix: deregister before closing (EPOLL_CTL_DEL, what libuv #1100 and #1468 landed), so no
// event can carry the number once it is closed.
#include <cstdint>

#include "hc/hc.hpp"
#include "hc/models/posix_io.hpp"

namespace {

using hc::models::EpollOp;
using hc::models::Fd;
using hc::models::PosixIo;

void poll_stop_with_dup(bool deregister) {
  PosixIo io;
  const Fd ep = io.epoll_create("loop");        // fd 3
  auto [wake_rd, wake_wr] = io.pipe("wakeup");  // fd 4, fd 5: uv_async's pipe
  auto [conn, peer] = io.socketpair("conn");    // fd 6: the polled socket; fd 7: its peer
  io.epoll_ctl(ep, EpollOp::add, wake_rd, hc::models::kEpollIn);
  io.epoll_ctl(ep, EpollOp::add, conn, hc::models::kEpollIn);  // uv_poll_start: data = 6

  hc::thread loop("loop", [&] {
    // uv_run: dispatch each event through the number in its data until woken to stop.
    for (bool stop = false; !stop;) {
      for (const hc::models::EpollEvent& ev : io.epoll_wait(ep)) {
        const Fd fd = io.fd_of(ev);  // loop->watchers[ev.data.fd]
        io.read(fd);                 // the watcher's callback reads what arrived
        if (ev.data == static_cast<std::uint64_t>(wake_rd.value)) stop = true;
      }
    }
  });
  hc::thread worker("worker", [&] {
    auto [client, server] = io.socketpair("client");  // open(): the lowest free number
    io.close(client);
    io.close(server);
  });

  // Hand the socket to a stream that keeps its own descriptor, then stop polling.
  const Fd stream = io.dup(conn);
  if (deregister) io.epoll_ctl(ep, EpollOp::del, conn, 0);  // uv_poll_stop after #1468
  io.close(conn);
  io.send(peer, "request");  // the peer talks to the stream: the description becomes readable
  io.write(wake_wr, "x");    // uv_async_send: stop the loop
  loop.join();
  worker.join();
  for (const Fd& fd : {stream, peer, wake_rd, wake_wr, ep})
    io.close(fd);
}

}  // namespace

HC_SCENARIO("posix/epoll-event-for-reused-descriptor",
            .tags = {"posix", "eventloop", "i18-epoll-reuse"},
            .expect = hc::FindingKind::event_for_reused_descriptor,
            .message = "from an epoll event that epoll_wait returned at step",
            .summary =
                "a polled socket is dup'd and closed without EPOLL_CTL_DEL: its events "
                "keep coming with the closed number, which a concurrent open reuses",
            .pattern = "I18-epoll-reuse",
            .source = "libuv/libuv#1468, joyent/libuv#1099, joyent/libuv#968, libuv/libuv#4323") {
  poll_stop_with_dup(false);
}

HC_SCENARIO("posix/epoll-event-for-reused-descriptor.fixed",
            .tags = {"posix", "eventloop", "i18-epoll-reuse", "fixed"}, .expect = hc::clean,
            .summary =
                "EPOLL_CTL_DEL before close(): no event carries the number once it is "
                "closed",
            .pattern = "I18-epoll-reuse",
            .source = "libuv/libuv#1468, joyent/libuv#1099, joyent/libuv#968, libuv/libuv#4323") {
  poll_stop_with_dup(true);
}

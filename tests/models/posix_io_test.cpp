// Blocking POSIX descriptor I/O (hc/models/posix_io.hpp), each test asserting a man page:
// close(2) NOTES (close does not wake a read blocked on the descriptor, on Linux), shutdown(2)
// (SHUT_RD wakes it: read returns 0), pipe(7) (end of file once every descriptor of the write
// end is closed), epoll(7) Q6 (an interest entry lives while any descriptor of its open file
// description is open: after dup + close, events keep coming with the old number). Each finding
// has a minimal trigger with its message asserted and a clean counterpart explored exhaustively
// under dfs and dpor.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/posix_io.hpp"
#include "test_support.hpp"

namespace {

using hc::models::EpollOp;
using hc::models::Fd;
using hc::models::IoResult;
using hc::models::PosixIo;
using hc::models::Shut;
using hc::test::contains;
using hc::test::exhaustive;
using hc::test::explore_dfs_and_dpor;

std::string at_line(unsigned line) {
  return "tests/models/posix_io_test.cpp:" + std::to_string(line);
}

// --- numbers, data, end of file ------------------------------------------------------------------

TEST(PosixIo, PipeGivesTheTwoLowestNumbersAndCarriesBytesInOrder) {
  const hc::Result r = hc::explore(
      [] {
        PosixIo io;
        auto [rd, wr] = io.pipe("jobs");
        HC_CHECK(rd.value == 3 && wr.value == 4, "pipe() gave {} and {}", rd.value, wr.value);
        HC_CHECK(io.write(wr, "ab").n == 2, "write");
        HC_CHECK(io.write(wr, "c").n == 1, "write");
        const IoResult first = io.read(rd, 2);
        HC_CHECK(first.n == 2 && first.data == "ab", "read {} '{}'", first.n, first.data);
        const IoResult rest = io.read(rd);
        HC_CHECK(rest.data == "c", "read '{}'", rest.data);
        // read on a write end, write on a read end: EBADF (the descriptors are not open for it).
        HC_CHECK(io.read(wr).n == -1 && hc::models::last_error() == hc::models::kEBADF, "EBADF");
        io.close(wr);
        // The write end's last descriptor is closed: end of file.
        HC_CHECK(io.read(rd).n == 0, "end of file");
        io.close(rd);
        // close() frees the number: the next open gets the lowest free one.
        auto [a, b] = io.socketpair("conn");
        HC_CHECK(a.value == 3 && b.value == 4, "socketpair() gave {} and {}", a.value, b.value);
        io.close(a);
        io.close(b);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// pipe(7): "If all file descriptors referring to the write end of a pipe have been closed, then
// an attempt to read(2) from the pipe will see end-of-file". A dup of the write end keeps it.
TEST(PosixIo, EndOfFileOnlyWhenTheWriteEndsLastDescriptorCloses) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    auto [rd, wr] = io.pipe("jobs");
    const Fd wr2 = io.dup(wr);
    std::string got;
    hc::thread reader("reader", [&] {
      for (;;) {
        const IoResult got_now = io.read(rd);
        if (got_now.n <= 0) break;
        got += got_now.data;
      }
    });
    io.close(wr);  // not the last: the reader keeps waiting for data or end of file
    io.write(wr2, "x");
    io.close(wr2);  // the last: end of file
    reader.join();
    io.close(rd);
    HC_CHECK(got == "x", "read '{}'", got);
    outcomes.insert(got);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, std::set<std::string>{"x"});
}

// --- close does not wake a blocked read; shutdown does ------------------------------------------

// close(2) NOTES: on Linux, closing a descriptor another thread is blocked reading does not
// wake it. Nothing else writes: the run ends in a deadlock that says why.
TEST(PosixIo, CloseDoesNotWakeABlockedReadAndTheDeadlockSaysWhy) {
  unsigned read_line = 0, close_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        PosixIo io;
        auto [a, b] = io.socketpair("conn");
        hc::thread reader("reader", [&] {
          read_line = __LINE__ + 1;
          io.recv(a);
        });
        // Wait until the reader is blocked (so that the close comes while it waits).
        while (hc::rt::blocked_on(reader.id()).wait != hc::WaitFor::event_set)
          hc::this_thread::yield();
        close_line = __LINE__ + 1;
        io.close(a);
        reader.join();
        io.close(b);
      },
      exhaustive());
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock) << f.message;
  EXPECT_TRUE(contains(f.message, "thread 'reader' waits for")) << f.message;
  EXPECT_TRUE(contains(f.message, "at " + at_line(read_line) +
                                      ": recv(fd 3) is blocked on socket 'conn' (end A), and "
                                      "thread 'main' closed fd 3 at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "(close at " + at_line(close_line) + ")")) << f.message;
  EXPECT_TRUE(contains(f.message, "on Linux close(2) does not wake a thread blocked")) << f.message;
  EXPECT_TRUE(contains(f.message, "call shutdown(fd, SHUT_RD)")) << f.message;
  EXPECT_FALSE(contains(f.message, "WaitForSingleObject")) << f.message;
}

// The blocked call holds the description: data written after the close still reaches it.
TEST(PosixIo, ABlockedReadCompletesOnTheClosedDescriptor) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    auto [a, b] = io.socketpair("conn");
    IoResult got;
    hc::thread reader("reader", [&] { got = io.recv(a); });
    while (hc::rt::blocked_on(reader.id()).wait != hc::WaitFor::event_set)
      hc::this_thread::yield();
    io.close(a);  // does not wake the reader
    io.send(b, "late");
    reader.join();
    io.close(b);
    HC_CHECK(got.data == "late", "recv got {} '{}'", got.n, got.data);
    outcomes.insert(got.data);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// shutdown(2): SHUT_RD on the socket wakes the blocked recv, which returns 0; then close.
TEST(PosixIo, ShutdownWakesABlockedReadWhichReturnsZero) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    auto [a, b] = io.socketpair("conn");
    long n = -2;
    hc::thread reader("reader", [&] { n = io.recv(a).n; });
    io.shutdown(a, Shut::rdwr);
    reader.join();
    io.close(a);
    io.close(b);
    HC_CHECK(n == 0, "recv returned {}", n);
    outcomes.insert(std::to_string(n));
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

TEST(PosixIo, ShutdownOfAPipeFailsWithENOTSOCK) {
  const hc::Result r = hc::explore(
      [] {
        PosixIo io;
        auto [rd, wr] = io.pipe("p");
        const hc::models::Status st = io.shutdown(rd, Shut::rd);
        HC_CHECK(!st.ok && st.error == hc::models::kENOTSOCK, "shutdown on a pipe: {}", st.error);
        io.close(rd);
        io.close(wr);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// SHUT_WR: the peer reads the data already sent, then end of file; a later send is EPIPE.
TEST(PosixIo, ShutdownWriteGivesThePeerEndOfFileAfterTheData) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    auto [a, b] = io.socketpair("conn");
    std::string got;
    hc::thread peer("peer", [&] {
      for (IoResult part = io.recv(b); part.n > 0; part = io.recv(b))
        got += part.data;
    });
    io.send(a, "bye");
    io.shutdown(a, Shut::wr);
    HC_CHECK(io.send(a, "more").n == -1 && hc::models::last_error() == hc::models::kEPIPE,
             "send after SHUT_WR");
    peer.join();
    io.close(a);
    io.close(b);
    HC_CHECK(got == "bye", "got '{}'", got);
    outcomes.insert(got);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// --- stale descriptors ------------------------------------------------------------------------

TEST(PosixIo, AUseOfAClosedNumberThatWasReusedIsAStaleHandleUse) {
  unsigned use_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        PosixIo io;
        auto [rd, wr] = io.pipe("jobs");
        io.close(rd);
        auto [a, b] = io.socketpair("conn");  // takes fd 3
        use_line = __LINE__ + 1;
        io.read(rd);
        io.close(a);
        io.close(b);
        io.close(wr);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::stale_handle_use,
                         "stale handle use: thread 'main' at step");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "(" + at_line(use_line) +
                           ") used (via read) fd 3 (pipe 'jobs' (read end), generation 1, "
                           "closed by thread 'main'"))
      << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "but fd 3 now names socket 'conn' (end A)"))
      << r.findings[0].message;
}

TEST(PosixIo, ADescriptorLeftOpenIsALeak) {
  const hc::Result r = hc::explore(
      [] {
        PosixIo io;
        auto [rd, wr] = io.pipe("jobs");
        io.close(wr);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::handle_leak,
                         "1 descriptor still open in 'process' at the end of the execution "
                         "(leaked):\n  fd 3 pipe 'jobs' (read end)");
}

// --- epoll --------------------------------------------------------------------------------------

// epoll(7) Q6: after dup(fd) + close(fd) the entry stays (the description is open through the
// dup) and its events still carry the registered number. When a new open took that number,
// handling the event through it is the finding.
TEST(PosixIoEpoll, AnEventForADupedAndClosedNumberThatWasReusedIsReported) {
  unsigned use_line = 0, close_line = 0, add_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        PosixIo io;
        const Fd ep = io.epoll_create("loop");  // fd 3
        auto [rd, wr] = io.pipe("jobs");        // fd 4, fd 5
        add_line = __LINE__ + 1;
        io.epoll_ctl(ep, EpollOp::add, rd, hc::models::kEpollIn);
        const Fd keep = io.dup(rd);  // fd 6
        close_line = __LINE__ + 1;
        io.close(rd);                           // fd 4 is free; the entry stays
        auto [a, b] = io.socketpair("client");  // fd 4 (and 7)
        io.write(wr, "job");
        const auto events = io.epoll_wait(ep);
        HC_CHECK(events.size() == 1 && events[0].data == 4, "events");
        use_line = __LINE__ + 1;
        io.read(io.fd_of(events[0]));
        for (const Fd& fd : {keep, wr, a, b, ep})
          io.close(fd);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::event_for_reused_descriptor,
                         "event for reused descriptor: thread 'main' at step");
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m, "(" + at_line(use_line) +
                              ") used (via read) fd 4 from an epoll event that epoll_wait "
                              "returned at step"))
      << m;
  EXPECT_TRUE(contains(m, "for pipe 'jobs' (read end), registered as fd 4 by epoll_ctl at step"))
      << m;
  EXPECT_TRUE(contains(m, "but fd 4 was closed by thread 'main' at step")) << m;
  EXPECT_TRUE(contains(m, at_line(close_line))) << m;
  EXPECT_TRUE(contains(m, "and now names socket 'client' (end A)")) << m;
  EXPECT_TRUE(contains(m, "the description is still open through fd 6")) << m;
  EXPECT_TRUE(contains(m, "Call epoll_ctl(EPOLL_CTL_DEL) before close()")) << m;
  EXPECT_EQ(r.findings[0].line, use_line);
  (void)add_line;
}

// The same with EPOLL_CTL_DEL before the close, on the loop's thread (libuv closes a watched
// descriptor on the loop, uv__platform_invalidate_fd): while another thread opens a socket
// that may take the number, no event comes for it.
TEST(PosixIoEpoll, DeregisteringBeforeTheCloseIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    const Fd ep = io.epoll_create("loop");
    auto [rd, wr] = io.pipe("jobs");
    auto [wake_rd, wake_wr] = io.pipe("wake");
    io.epoll_ctl(ep, EpollOp::add, rd, hc::models::kEpollIn);
    io.epoll_ctl(ep, EpollOp::add, wake_rd, hc::models::kEpollIn);
    std::string handled;
    Fd keep;
    hc::thread loop("loop", [&] {
      for (bool done = false; !done;) {
        for (const auto& ev : io.epoll_wait(ep)) {
          const Fd fd = io.fd_of(ev);
          const IoResult got = io.read(fd);
          if (ev.data == static_cast<std::uint64_t>(wake_rd.value)) {
            done = true;
          } else {
            handled += got.data;
            keep = io.dup(fd);  // handed to another component
            io.epoll_ctl(ep, EpollOp::del, fd, 0);
            io.close(fd);
          }
        }
      }
    });
    hc::thread opener("opener", [&] {
      auto [a, b] = io.socketpair("client");  // may take the closed number
      io.send(b, "x");
      io.close(a);
      io.close(b);
    });
    io.write(wr, "job");
    io.write(wake_wr, "!");
    loop.join();
    opener.join();
    for (const Fd& fd : {keep, wr, wake_rd, wake_wr, ep})
      io.close(fd);
    outcomes.insert(handled);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"job"}));
}

// Closing every descriptor of the description removes the entry: no event, no finding.
TEST(PosixIoEpoll, ClosingTheLastDescriptorRemovesTheEntry) {
  const hc::Result r = hc::explore(
      [] {
        PosixIo io;
        const Fd ep = io.epoll_create("loop");
        auto [rd, wr] = io.pipe("jobs");
        auto [x, y] = io.pipe("other");
        io.epoll_ctl(ep, EpollOp::add, rd, hc::models::kEpollIn);
        io.epoll_ctl(ep, EpollOp::add, x, hc::models::kEpollIn);
        io.write(wr, "job");
        io.close(rd);  // the last descriptor: the entry goes although data is buffered
        io.write(y, "o");
        const auto events = io.epoll_wait(ep);
        HC_CHECK(events.size() == 1 && events[0].data == static_cast<std::uint64_t>(x.value),
                 "{} events", events.size());
        // A second ADD of the same (description, number) is EEXIST; DEL of an absent entry ENOENT.
        HC_CHECK(!io.epoll_ctl(ep, EpollOp::add, x, hc::models::kEpollIn).ok &&
                     hc::models::last_error() == hc::models::kEEXIST,
                 "EEXIST");
        HC_CHECK(!io.epoll_ctl(ep, EpollOp::del, y, 0).ok &&
                     hc::models::last_error() == hc::models::kENOENT,
                 "ENOENT");
        for (const Fd& fd : {wr, x, y, ep})
          io.close(fd);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// epoll_wait blocks until a write from another thread makes an entry ready.
TEST(PosixIoEpoll, EpollWaitBlocksUntilAnEntryIsReady) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    const Fd ep = io.epoll_create("loop");
    auto [a, b] = io.socketpair("conn");
    io.epoll_ctl(ep, EpollOp::add, a, hc::models::kEpollIn);
    std::string got;
    hc::thread loop("loop", [&] {
      const auto events = io.epoll_wait(ep);
      HC_CHECK(events.size() == 1 && (events[0].events & hc::models::kEpollIn) != 0, "events");
      got = io.recv(io.fd_of(events[0])).data;
    });
    io.send(b, "hi");
    loop.join();
    for (const Fd& fd : {a, b, ep})
      io.close(fd);
    outcomes.insert(got);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, std::set<std::string>{"hi"});
}

// --- listening sockets -----------------------------------------------------------------------

// accept(2) blocks until a connection is queued; the accepted socket talks to the client.
TEST(PosixIoAccept, AcceptBlocksUntilAConnectionIsQueued) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    const Fd srv = io.listen("srv");
    std::string got;
    hc::thread server("server", [&] {
      const Fd conn = io.accept(srv);
      HC_CHECK(conn.valid(), "accept failed: {}", hc::models::last_error());
      got = io.recv(conn).data;
      io.close(conn);
    });
    const Fd client = io.connect(srv, "c1");
    io.send(client, "hi");
    server.join();
    io.close(client);
    io.close(srv);
    outcomes.insert(got);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, std::set<std::string>{"hi"});
}

// shutdown(2) on the listening socket wakes a blocked accept, which fails with EINVAL; a
// connect after it is refused.
TEST(PosixIoAccept, ShutdownWakesABlockedAcceptWhichFailsWithEINVAL) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    PosixIo io;
    const Fd srv = io.listen("srv");
    std::uint32_t error = 0;
    hc::thread server("server", [&] {
      const Fd conn = io.accept(srv);
      HC_CHECK(!conn.valid(), "accept returned fd {}", conn.value);
      error = hc::models::last_error();
    });
    io.shutdown(srv, Shut::rdwr);
    server.join();
    HC_CHECK(
        !io.connect(srv, "late").valid() && hc::models::last_error() == hc::models::kECONNREFUSED,
        "connect after shutdown");
    io.close(srv);
    HC_CHECK(error == hc::models::kEINVAL, "accept failed with {}", error);
    outcomes.insert(std::to_string(error));
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// close(2) of the listening socket does not wake a blocked accept (Linux): the deadlock line
// says so, with accept's fix.
TEST(PosixIoAccept, CloseDoesNotWakeABlockedAccept) {
  const hc::Result r = hc::explore(
      [&] {
        PosixIo io;
        const Fd srv = io.listen("srv");
        hc::thread server("server", [&] { io.accept(srv); });
        while (hc::rt::blocked_on(server.id()).wait != hc::WaitFor::event_set)
          hc::this_thread::yield();
        io.close(srv);
        server.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock) << f.message;
  EXPECT_TRUE(contains(f.message,
                       "accept(fd 3) is blocked on listening socket 'srv', and thread "
                       "'main' closed fd 3 at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "shutdown(2) wakes the blocked accept, which fails with EINVAL"))
      << f.message;
}

// --- HandleTable's POSIX tables: the same Linux semantics for its blocking wait ------------------

// A POSIX HandleTable words its blocking call as read(), and a close from another thread is no
// close-while-waiting finding (that is Windows' verdict): the waiter is not woken, and the
// deadlock line says so.
TEST(PosixHandleTable, CloseDoesNotWakeABlockedReadAndIsWordedAsPosix) {
  unsigned close_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        hc::models::HandleTable t{{.style = hc::models::ValueStyle::posix,
                                   .reuse = hc::models::ReusePolicy::lowest_free,
                                   .report_leaks = false}};
        const hc::models::RawHandle e = t.create_event("eventfd", true, false);
        hc::thread waiter("waiter", [&] { t.wait(e); });
        while (hc::rt::blocked_on(waiter.id()).wait != hc::WaitFor::event_set)
          hc::this_thread::yield();
        close_line = __LINE__ + 1;
        t.close(e);
        waiter.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::deadlock) << f.message;
  EXPECT_TRUE(contains(f.message,
                       "read(fd 3) is blocked on Event 'eventfd', and thread 'main' "
                       "closed fd 3 at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "(close at " + at_line(close_line) + ")")) << f.message;
  EXPECT_TRUE(contains(f.message, "on Linux close(2) does not wake a thread blocked")) << f.message;
  EXPECT_FALSE(contains(f.message, "WaitForSingleObject")) << f.message;
  for (const hc::RichStep& step : f.trace)
    EXPECT_EQ(step.label.find("WaitForSingleObject"), std::string::npos) << step.label;
  ASSERT_EQ(f.blocked.size(), 2u);
  EXPECT_EQ(f.blocked[1].pending.label, "read (blocked)");
}

// Signalled before the close, the POSIX table's wait returns: clean under dfs and dpor.
TEST(PosixHandleTable, ASignalledReadReturnsAndTheCloseAfterItIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    hc::models::HandleTable t{
        {.style = hc::models::ValueStyle::posix, .reuse = hc::models::ReusePolicy::lowest_free}};
    const hc::models::RawHandle e = t.create_event("eventfd", true, false);
    bool woke = false;
    hc::thread waiter("waiter", [&] { woke = t.wait(e).ok; });
    t.signal(e);
    waiter.join();
    t.close(e);
    outcomes.insert(woke ? "woke" : "failed");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, std::set<std::string>{"woke"});
}

}  // namespace

// Asynchronous I/O racing Close/Dispose (hc/models/async_io.hpp), against the Windows
// documentation (ReadFile with an OVERLAPPED, CancelIoEx, CloseHandle, GetQueuedCompletionStatus)
// and io_uring(7): each semantic, each finding with its message words, the clean counterparts
// explored exhaustively under dfs and dpor with the same outcomes (the footprints' check).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hc/hc.hpp"
#include "hc/models/async_io.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/safe_handle.hpp"
#include "test_support.hpp"

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
using hc::test::contains;
using hc::test::exhaustive;
using hc::test::explore_dfs_and_dpor;

std::string at_line(unsigned line) {
  return "tests/models/async_io_test.cpp:" + std::to_string(line);
}

std::string first_message(const hc::Result& r) {
  return r.findings.empty() ? std::string("(no finding)") : r.findings.front().message;
}

hc::models::HandleTableOptions posix() {
  return {.style = ValueStyle::posix, .reuse = ReusePolicy::lowest_free};
}

// --- Windows: overlapped I/O on a completion port ---------------------------------------------

// CloseHandle with a read pending cancels it, and the completion STILL arrives on the port,
// with ERROR_OPERATION_ABORTED; when the device completed it before the close, it arrives with
// success. Both orders are explored; freeing after the dequeue is clean.
TEST(AsyncIoWindows, CloseHandleWithPendingReadStillDeliversTheCompletionOnThePort) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory buffer("read buffer");
    UserMemory ov("OVERLAPPED");
    CompletionQueue port("IOCP");
    AsyncIo io(table);
    const RawHandle pipe = table.create(ObjectType::file, "pipe");
    ASSERT_TRUE(io.associate(pipe, port, 42).ok);
    const std::uint32_t op = io.read_file(pipe, buffer, ov);
    ASSERT_EQ(op, 1u);
    EXPECT_EQ(table.last_error(), hc::models::kErrorIoPending);
    table.close(pipe);  // CloseHandle: cancels the pending read
    const Completion c = port.dequeue();
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.key, 42u);
    EXPECT_EQ(c.overlapped, &ov);
    EXPECT_EQ(c.buffer, &buffer);
    EXPECT_EQ(c.file, "File 'pipe'");
    EXPECT_TRUE(io.completed(op));
    outcomes.insert(fmt::format("error {} bytes {}", c.error, c.bytes));
    ov.free();  // after the completion was dequeued: clean
    buffer.free();
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"error 0 bytes 1", "error 995 bytes 0"}));
}

// Closing one of two handles to the file does not cancel (IRP_MJ_CLEANUP comes with the last
// handle): the read completes with success whatever the order.
TEST(AsyncIoWindows, ClosingADuplicateDoesNotCancel) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory buffer("read buffer");
    UserMemory ov("OVERLAPPED");
    CompletionQueue port("IOCP");
    AsyncIo io(table);
    const RawHandle file = table.create(ObjectType::file, "data");
    const RawHandle copy = table.duplicate(file, table);
    io.associate(file, port, 1);
    io.read_file(file, buffer, ov);
    table.close(copy);
    const Completion c = port.dequeue();
    outcomes.insert(fmt::format("error {}", c.error));
    table.close(file);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"error 0"}));
}

// Finding (a) and (c): Dispose closes the handle with the read pending and frees the OVERLAPPED
// and the buffer at once; the cancelled completion arrives later and writes its status into the
// freed OVERLAPPED (dotnet/runtime #134271).
TEST(AsyncIoWindows, FreeingTheOverlappedAfterCloseWithReadPendingIsReported) {
  unsigned read_line = 0, free_line = 0, close_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable table;
        UserMemory buffer("read buffer");
        UserMemory ov("OVERLAPPED");
        CompletionQueue port("IOCP");
        AsyncIo io(table);
        const RawHandle pipe = table.create(ObjectType::file, "pipe", "stream");
        io.associate(pipe, port, 7);
        hc::thread pool("threadpool", [&] { port.dequeue(); });
        read_line = __LINE__ + 1;
        io.read_file(pipe, buffer, ov);
        close_line = __LINE__ + 1;
        table.close(pipe, "stream");  // Dispose
        free_line = __LINE__ + 1;
        ov.free();
        buffer.free();
        pool.join();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::io_completed_after_free,
                         "I/O completed after free: the ReadFile started by thread 'main' at "
                         "step 3 (" +
                             at_line(read_line) + ") on 0x4 (File 'pipe')");
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m, "with ERROR_OPERATION_ABORTED")) << m;
  EXPECT_TRUE(contains(m,
                       "wrote its status (Internal, InternalHigh) into 'OVERLAPPED', which "
                       "thread 'main' freed at " +
                           at_line(free_line)))
      << m;
  EXPECT_TRUE(contains(m, "closed by thread 'main' at step 4 (" + at_line(close_line) + ")")) << m;
  EXPECT_TRUE(contains(m, "it still arrives on 'IOCP'")) << m;
  EXPECT_TRUE(contains(m, "free them in the completion callback")) << m;
  // Located at the user's ReadFile, never in models/.
  EXPECT_TRUE(contains(r.findings[0].file, "async_io_test.cpp")) << r.findings[0].file;
  EXPECT_EQ(r.findings[0].line, read_line);
  // dpor finds it too.
  hc::ExploreOptions dpor = exhaustive();
  dpor.strategy = "dpor";
  const hc::Result d = hc::explore(
      [] {
        HandleTable table;
        UserMemory buffer("read buffer");
        UserMemory ov("OVERLAPPED");
        CompletionQueue port("IOCP");
        AsyncIo io(table);
        const RawHandle pipe = table.create(ObjectType::file, "pipe");
        io.associate(pipe, port, 7);
        hc::thread pool("threadpool", [&] { port.dequeue(); });
        io.read_file(pipe, buffer, ov);
        table.close(pipe);
        ov.free();
        buffer.free();
        pool.join();
      },
      dpor);
  ASSERT_EQ(d.findings.size(), 1u) << first_message(d);
  EXPECT_EQ(d.findings[0].kind, hc::FindingKind::io_completed_after_free);
}

// The fix ThreadPoolBoundHandle follows: the completion callback frees the NativeOverlapped and
// the buffer, so nothing is freed while the I/O may still write it.
TEST(AsyncIoWindows, FreeingInTheCompletionCallbackIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory buffer("read buffer");
    UserMemory ov("OVERLAPPED");
    CompletionQueue port("IOCP");
    AsyncIo io(table);
    const RawHandle pipe = table.create(ObjectType::file, "pipe");
    io.associate(pipe, port, 7);
    hc::thread pool("threadpool", [&] {
      const Completion c = port.dequeue();
      outcomes.insert(fmt::format("error {}", c.error));
      c.overlapped->free();  // FreeNativeOverlapped in the IOCompletionCallback
      c.buffer->free();
    });
    io.read_file(pipe, buffer, ov);
    table.close(pipe);
    pool.join();
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"error 0", "error 995"}));
}

// .NET keeps the handle open while its I/O is pending (SafeFileHandle / PipeStream): the read
// takes a DangerousAddRef and the completion callback releases it. Dispose then only marks the
// SafeHandle closed; ReleaseHandle (CloseHandle) runs at the callback's release, after the
// completion: the read is never cancelled by the Dispose, whatever the order.
TEST(AsyncIoWindows, ASafeHandleAddRefHeldByThePendingReadDefersTheClose) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    UserMemory buffer("read buffer");
    UserMemory ov("NativeOverlapped");
    hc::models::Gc gc;
    HandleTable table;
    CompletionQueue port("IOCP");
    AsyncIo io(table);
    hc::models::SafeHandle file(gc, table, {.type_name = "SafeFileHandle", .name = "file"});
    const RawHandle raw = table.create(ObjectType::file, "data", file.label());
    file.SetHandle(raw);
    io.associate(file.DangerousGetHandle(), port, 1);
    hc::thread pool("threadpool", [&] {
      const Completion c = port.dequeue();
      outcomes.insert(fmt::format("error {}", c.error));
      c.overlapped->free();
      c.buffer->free();
      file.DangerousRelease();  // the read's reference: the last one after Dispose
    });
    bool added = false;
    file.DangerousAddRef(added);  // held by the pending read
    ASSERT_TRUE(added);
    io.read_file(file.DangerousGetHandle(), buffer, ov);
    file.Dispose();
    pool.join();
    EXPECT_FALSE(table.is_open(raw));  // ReleaseHandle ran, at the callback's release
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"error 0"}));
}

// CancelIoEx, then wait for the completion (it still arrives, aborted, unless the device
// completed first: then CancelIoEx finds nothing and says ERROR_NOT_FOUND), then free: clean.
TEST(AsyncIoWindows, CancelIoExThenWaitForTheCompletionBeforeFreeingIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory buffer("read buffer");
    UserMemory ov("OVERLAPPED");
    CompletionQueue port("IOCP");
    AsyncIo io(table);
    const RawHandle file = table.create(ObjectType::file, "data");
    io.associate(file, port, 1);
    io.read_file(file, buffer, ov);
    const hc::models::Status cancel = io.cancel_io_ex(file, &ov);
    const Completion c = port.dequeue();  // wait for the completion
    outcomes.insert(
        fmt::format("cancel {} error {} completion {}", cancel.ok, cancel.error, c.error));
    ov.free();
    buffer.free();
    table.close(file);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"cancel true error 0 completion 995",
                                                   "cancel false error 1168 completion 0"}));
}

// CancelIoEx without waiting for the completion, then free: the aborted completion writes the
// freed OVERLAPPED.
TEST(AsyncIoWindows, FreeingRightAfterCancelIoExIsReported) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable table;
        UserMemory buffer("read buffer");
        UserMemory ov("OVERLAPPED");
        AsyncIo io(table);
        const RawHandle file = table.create(ObjectType::file, "data");
        io.read_file(file, buffer, ov);  // no port: only the OVERLAPPED reports the completion
        io.cancel_io_ex(file, nullptr);
        ov.free();
        buffer.free();
        table.close(file);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::io_completed_after_free,
                         "completed at step 7 with ERROR_OPERATION_ABORTED");
  EXPECT_TRUE(contains(r.findings[0].message, "into 'OVERLAPPED'")) << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "CancelIoEx and wait for the completion"))
      << r.findings[0].message;
}

// Without a port: CancelIoEx, then GetOverlappedResult(TRUE) waits for the completion (wil #326,
// microsoft/STL #1632), then free: clean, the wait returns whichever status the race gave.
TEST(AsyncIoWindows, CancelIoExThenGetOverlappedResultBeforeFreeingIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory buffer("notification buffer");
    UserMemory ov("OVERLAPPED");
    AsyncIo io(table);
    const RawHandle folder = table.create(ObjectType::file, "C:\\watched");
    const std::uint32_t op = io.read_file(folder, buffer, ov);  // ReadDirectoryChangesW
    io.cancel_io_ex(folder, &ov);
    const Completion c = io.get_overlapped_result(op);
    EXPECT_TRUE(io.completed(op));
    outcomes.insert(fmt::format("error {} bytes {}", c.error, c.bytes));
    ov.free();
    buffer.free();
    table.close(folder);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"error 0 bytes 1", "error 995 bytes 0"}));
}

// A read that completes with data after the buffer was freed (the program freed the buffer but
// not the OVERLAPPED): the data lands in freed memory.
TEST(AsyncIoWindows, DataWrittenIntoAFreedBufferIsReported) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable table;
        UserMemory buffer("read buffer");
        UserMemory ov("OVERLAPPED");
        AsyncIo io(table);
        const RawHandle file = table.create(ObjectType::file, "data");
        io.read_file(file, buffer, ov);
        buffer.free();  // the pooled buffer goes back while the read is in flight
        table.close(file);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::io_completed_after_free,
                         "completed at step 4 successfully, and the completion wrote its data "
                         "into 'read buffer'");
}

// CancelIoEx with nothing pending: FALSE + ERROR_NOT_FOUND; on a handle that names nothing,
// the table's failure (InvalidUse::fail) or finding (raise).
TEST(AsyncIoWindows, CancelIoExWithNothingPendingAndOnAClosedHandle) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table{{.invalid_use = InvalidUse::fail}};
    UserMemory ov("OVERLAPPED");
    AsyncIo io(table);
    const RawHandle file = table.create(ObjectType::file, "data");
    const hc::models::Status none = io.cancel_io_ex(file, &ov);
    table.close(file);
    const hc::models::Status closed = io.cancel_io_ex(file, &ov);
    UserMemory buffer("read buffer");
    const std::uint32_t op = io.read_file(file, buffer, ov);
    outcomes.insert(fmt::format("{} {} / {} {} / op {} error {}", none.ok, none.error, closed.ok,
                                closed.error, op, table.last_error()));
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"false 1168 / false 6 / op 0 error 6"}));
  const hc::Result raised = hc::explore(
      [] {
        HandleTable table;
        UserMemory buffer("read buffer");
        UserMemory ov("OVERLAPPED");
        AsyncIo io(table);
        const RawHandle file = table.create(ObjectType::file, "data");
        table.close(file);
        io.read_file(file, buffer, ov);
      },
      exhaustive());
  ASSERT_EQ(raised.findings.size(), 1u);
  EXPECT_EQ(raised.findings[0].kind, hc::FindingKind::invalid_handle_use);
  EXPECT_TRUE(contains(raised.findings[0].message, "ReadFile")) << raised.findings[0].message;
}

// A bare number (a value the program read from somewhere, no provenance) names whatever its
// slot holds when the call runs: the request holds that generation's file from then on.
TEST(AsyncIoUring, ABareNumberNamesTheFileItsSlotHoldsAtSubmission) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds{posix()};
    UserMemory buffer("recv buffer");
    CompletionQueue ring("ring", QueueKind::io_uring);
    AsyncIo io(fds);
    const RawHandle fd = fds.create(ObjectType::file, "conn-1");
    io.submit_read(ring, fds.value(3), buffer, 3);
    fds.close(fd);
    const Completion cqe = ring.dequeue();
    EXPECT_EQ(cqe.handle.generation, 1u);
    outcomes.insert(cqe.file);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"File 'conn-1'"}));
}

// --- Linux: io_uring-like requests -------------------------------------------------------------

// io_uring(7): a request holds its own reference to the file; close(N) neither cancels it nor
// waits for it, and after N is reused by another open the request still completes on the OLD
// file, never on the new one; the CQE carries the user_data (the fd number).
TEST(AsyncIoUring, RequestAfterCloseAndReuseCompletesOnTheOldFile) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds{posix()};
    UserMemory buffer("recv buffer");
    CompletionQueue ring("ring", QueueKind::io_uring);
    AsyncIo io(fds);
    const RawHandle old_fd = fds.create(ObjectType::file, "conn-1");
    const std::uint32_t op = io.submit_read(ring, old_fd, buffer, old_fd.value);
    fds.close(old_fd);
    const RawHandle new_fd = fds.create(ObjectType::file, "conn-2");
    EXPECT_EQ(new_fd.value, old_fd.value);  // lowest_free: fd 3 again
    const Completion cqe = ring.dequeue();
    EXPECT_EQ(cqe.key, 3u);
    EXPECT_EQ(cqe.overlapped, nullptr);
    EXPECT_EQ(io.file_of(op), "File 'conn-1'");
    EXPECT_EQ(fds.describe_object(new_fd), "File 'conn-2'");  // the number names the new file
    outcomes.insert(fmt::format("res {} on {} (user_data {})", cqe.res, cqe.file, cqe.key));
    fds.close(new_fd);
    buffer.free();
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  // Never cancelled, always the old file: whether the device completed before or after the
  // close and the reuse.
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"res 1 on File 'conn-1' (user_data 3)"}));
  EXPECT_GT(r.dfs.stats.executions, 1u);
}

// Finding (b): the completion handler acts on the number the CQE names (its user_data), which
// was closed and reused: a stale-handle-use of the table naming the close and the new file
// (liburing #363).
TEST(AsyncIoUring, HandlerActingOnAClosedAndReusedFdIsAStaleHandleUse) {
  unsigned close_line = 0, handler_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable fds{{.style = ValueStyle::posix,
                         .reuse = ReusePolicy::lowest_free,
                         .invalid_use = InvalidUse::fail}};
        UserMemory buffer("recv buffer");
        CompletionQueue ring("ring", QueueKind::io_uring);
        AsyncIo io(fds);
        const RawHandle fd = fds.create(ObjectType::file, "conn-1");
        hc::thread reaper("reaper", [&] {
          const Completion cqe = ring.dequeue();
          handler_line = __LINE__ + 1;
          fds.write(cqe.handle);  // reply on the connection the user_data names
        });
        io.submit_read(ring, fd, buffer, fd.value);
        close_line = __LINE__ + 1;
        fds.close(fd);
        const RawHandle next = fds.create(ObjectType::file, "conn-2");
        reaper.join();
        fds.close(next);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::stale_handle_use, "used (via write) handle fd 3");
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m, "(File 'conn-1', generation 1, closed by thread 'main'")) << m;
  EXPECT_TRUE(contains(m, at_line(close_line))) << m;
  EXPECT_TRUE(contains(m, "now names File 'conn-2'")) << m;
  EXPECT_EQ(r.findings[0].line, handler_line);
}

// The fix (tokio-uring #2): close the fd only after the request's CQE was reaped.
TEST(AsyncIoUring, ClosingOnlyAfterTheCqeIsReapedIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds{posix()};
    UserMemory buffer("recv buffer");
    CompletionQueue ring("ring", QueueKind::io_uring);
    AsyncIo io(fds);
    const RawHandle fd = fds.create(ObjectType::file, "conn-1");
    hc::thread reaper("reaper", [&] {
      const Completion cqe = ring.dequeue();
      fds.write(cqe.handle);
      fds.close(cqe.handle);  // the request's owner closes after its CQE
      outcomes.insert(cqe.file);
    });
    io.submit_read(ring, fd, buffer, fd.value);
    reaper.join();
    const RawHandle next = fds.create(ObjectType::file, "conn-2");
    fds.close(next);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"File 'conn-1'"}));
}

// close() does not cancel an io_uring read: freeing the buffer after close writes freed memory.
TEST(AsyncIoUring, FreeingTheBufferAfterCloseWithAReadInFlightIsReported) {
  unsigned submit_line = 0, free_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable fds{posix()};
        UserMemory buffer("recv buffer");
        CompletionQueue ring("ring", QueueKind::io_uring);
        AsyncIo io(fds);
        const RawHandle fd = fds.create(ObjectType::file, "conn-1");
        submit_line = __LINE__ + 1;
        io.submit_read(ring, fd, buffer, fd.value);
        fds.close(fd);
        free_line = __LINE__ + 1;
        buffer.free();
        ring.dequeue();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::io_completed_after_free,
                         "the io_uring read started by thread 'main' at step 2 (" +
                             at_line(submit_line) + ") on fd 3 (File 'conn-1')");
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m, "close() neither cancels nor waits for it")) << m;
  EXPECT_TRUE(contains(m, "into 'recv buffer', which thread 'main' freed at " + at_line(free_line)))
      << m;
  EXPECT_TRUE(contains(m, "Keep the buffer until the request's CQE has been reaped")) << m;
}

// A write request does not write its buffer on completion: freeing it after the submission is
// the program's business (the kernel copied nothing back); the table's file is what it touches.
TEST(AsyncIoUring, AWriteDoesNotWriteItsBufferOnCompletion) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds{posix()};
    UserMemory buffer("send buffer");
    CompletionQueue ring("ring", QueueKind::io_uring);
    AsyncIo io(fds);
    const RawHandle fd = fds.create(ObjectType::file, "log");
    io.submit_write(ring, fd, buffer, 99);
    const Completion cqe = ring.dequeue();
    buffer.free();
    outcomes.insert(fmt::format("{} {}", cqe.key, cqe.res));
    fds.close(fd);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"99 1"}));
}

// --- footprints --------------------------------------------------------------------------------

// Two threads each with their own table, queue and request, plus a close racing each device:
// dfs and dpor reach the same outcomes (every completion status of each), and dpor needs fewer
// executions (the two halves commute).
TEST(AsyncIoFootprints, IndependentRequestsCommuteAndDporAgreesWithDfs) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable table;
    UserMemory b1("buffer 1"), o1("OVERLAPPED 1"), b2("buffer 2"), o2("OVERLAPPED 2");
    CompletionQueue p1("IOCP 1"), p2("IOCP 2");
    AsyncIo io1(table, "I/O 1");
    AsyncIo io2(table, "I/O 2");
    std::string first, second;
    hc::thread t1("t1", [&] {
      const RawHandle f = table.create(ObjectType::file, "one");
      io1.associate(f, p1, 1);
      io1.read_file(f, b1, o1);
      table.close(f);
      first = fmt::format("{}", p1.dequeue().error);
    });
    hc::thread t2("t2", [&] {
      const RawHandle f = table.create(ObjectType::file, "two");
      io2.associate(f, p2, 2);
      io2.write_file(f, b2, o2);
      io2.cancel_io_ex(f, &o2);
      second = fmt::format("{}", p2.dequeue().error);
      table.close(f);
    });
    t1.join();
    t2.join();
    outcomes.insert(first + "/" + second);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"0/0", "0/995", "995/0", "995/995"}));
  EXPECT_LT(r.dpor.stats.executions, r.dfs.stats.executions);
}

// --- dpor against dfs on generated programs of the new operations ------------------------------

// Seeded programs (xorshift64: program i is the same everywhere) of two threads, 1-3 operations
// each, on one file: Windows (ReadFile with the thread's own buffer and OVERLAPPED, CancelIoEx,
// CloseHandle, GetOverlappedResult of the thread's last read, a free of its OVERLAPPED or
// buffer) or io_uring (a read submitted with the thread's buffer, close, an open that may take
// the number again, a reap that writes through the CQE's fd, a free of the buffer). Both
// exhaustive, dfs and dpor must reach the same outcomes (every observation of every thread) and
// the same findings (io-completed-after-free, stale-handle-use, double-free, ...): the check of
// the model's footprints that dpor relies on.
struct GenOp {
  int act = 0;
};
struct GenProgram {
  bool uring = false;
  std::vector<std::vector<GenOp>> threads;
};

std::uint64_t next(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

GenProgram generate(std::uint64_t seed) {
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  GenProgram p;
  p.uring = next(state) % 2 == 1;
  p.threads.resize(2);
  for (auto& t : p.threads) {
    const int n = 1 + static_cast<int>(next(state) % 3);
    for (int i = 0; i < n; ++i)
      t.push_back({static_cast<int>(next(state) % 5)});
  }
  return p;
}

std::string describe_program(const GenProgram& p) {
  std::string out = p.uring ? "uring:" : "windows:";
  for (const auto& t : p.threads) {
    out += " [";
    for (const GenOp& op : t)
      out += std::to_string(op.act);
    out += "]";
  }
  return out;
}

void run_program(const GenProgram& p, std::set<std::string>& outcomes) {
  HandleTable table{{.style = p.uring ? ValueStyle::posix : ValueStyle::win32,
                     .reuse = p.uring ? ReusePolicy::lowest_free : ReusePolicy::lifo,
                     .invalid_use = InvalidUse::fail,
                     .report_leaks = false}};
  UserMemory b0("buffer 0"), b1("buffer 1"), o0("OVERLAPPED 0"), o1("OVERLAPPED 1");
  UserMemory* buffers[2] = {&b0, &b1};
  UserMemory* overlapped[2] = {&o0, &o1};
  CompletionQueue ring("ring", QueueKind::io_uring);
  AsyncIo io(table);
  const RawHandle file = table.create(ObjectType::file, "file");
  std::vector<std::string> seen(2);
  std::vector<hc::thread> threads;
  for (std::size_t t = 0; t < 2; ++t) {
    threads.emplace_back("T" + std::to_string(t), [&, t] {
      std::string& out = seen[t];
      std::uint32_t last = 0;
      int unreaped = 0;
      bool freed = false;  // each thread frees once: a second free would end every execution
      for (const GenOp& op : p.threads[t]) {
        if (!p.uring) {
          switch (op.act) {
            case 0:
              last = io.read_file(file, *buffers[t], *overlapped[t]);
              out += fmt::format("r{} ", last);
              break;
            case 1: {
              const hc::models::Status s = io.cancel_io_ex(file, overlapped[t]);
              out += fmt::format("c{} ", s.error);
              break;
            }
            case 2:
              out += fmt::format("x{} ", table.close(file).error);
              break;
            case 3:
              if (last != 0) out += fmt::format("g{} ", io.get_overlapped_result(last).error);
              break;
            default:
              if (!freed) (last % 2 == 0 ? overlapped[t] : buffers[t])->free();
              freed = true;
              break;
          }
        } else {
          switch (op.act) {
            case 0:
              if (io.submit_read(ring, file, *buffers[t], t) != 0) ++unreaped;
              break;
            case 1:
              out += fmt::format("x{} ", table.close(file).error);
              break;
            case 2: {
              const RawHandle other = table.create(ObjectType::file, "other");
              out += fmt::format("o{} ", other.value);
              break;
            }
            case 3:
              if (unreaped > 0) {
                --unreaped;
                const Completion cqe = ring.dequeue();
                out += fmt::format("q{}:{}:{} ", cqe.key, cqe.res, table.write(cqe.handle).error);
              }
              break;
            default:
              if (!freed) buffers[t]->free();
              freed = true;
              break;
          }
        }
      }
    });
  }
  for (hc::thread& t : threads)
    t.join();
  // CQEs nobody reaped stay queued (a device never waits for its reaping); ~AsyncIo joins the
  // devices.
  outcomes.insert(seen[0] + "| " + seen[1]);
}

TEST(AsyncIoDifferential, GeneratedProgramsReachTheSameOutcomesAndFindingsUnderDfsAndDpor) {
  hc::ExploreOptions options = exhaustive();
  options.stop_at_first = false;
  options.max_executions = 20000;
  std::map<std::string, int> kinds;
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    const GenProgram p = generate(seed);
    const auto r = explore_dfs_and_dpor(
        [&p](std::set<std::string>& outcomes) { run_program(p, outcomes); }, options);
    if (!r.dfs.stats.exhausted) continue;  // too big for this test: skipped, counted below
    ++compared;
    EXPECT_TRUE(r.dpor.stats.exhausted) << describe_program(p);
    EXPECT_EQ(r.dfs_outcomes, r.dpor_outcomes) << describe_program(p);
    std::set<std::string> dfs_findings, dpor_findings;
    for (const hc::Finding& f : r.dfs.findings)
      dfs_findings.insert(f.signature);
    for (const hc::Finding& f : r.dpor.findings)
      dpor_findings.insert(f.signature);
    EXPECT_EQ(dfs_findings, dpor_findings) << describe_program(p);
    EXPECT_LE(r.dpor.stats.executions, r.dfs.stats.executions) << describe_program(p);
    for (const hc::Finding& f : r.dfs.findings)
      ++kinds[std::string(hc::finding_kind_name(f.kind))];
  }
  EXPECT_GT(compared, 950);
  // The generator reaches the new finding and the reuse one (fixed seeds: a property of this code).
  EXPECT_GT(kinds["io-completed-after-free"], 0);
  EXPECT_GT(kinds["stale-handle-use"], 0);
  std::string summary;
  for (const auto& [kind, n] : kinds)
    summary += fmt::format(" {} {},", kind, n);
  std::printf("[ async differential ] %d programs compared; findings:%s\n", compared,
              summary.c_str());
}

}  // namespace

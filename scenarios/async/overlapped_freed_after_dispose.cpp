// async/overlapped-freed-after-dispose — Dispose closes a pipe with a read pending and frees the
// OVERLAPPED and the buffer at once; the cancelled read's completion still arrives and writes
// into the freed OVERLAPPED (issue 18, item 3; DOMAIN.md §6.3).
//
// Story: dotnet/runtime #134271. A NamedPipeServerStream opened with PipeOptions.Asynchronous
// has a ReadAsync in flight (ReadFile with an OVERLAPPED, bound to the thread pool's I/O
// completion port) when the test disposes it. Dispose closes the pipe handle, which cancels the
// pending read, and frees the read's native state (the NativeOverlapped and its pinned buffer)
// right away. But cancelling does not retract the completion: the I/O manager still completes
// the read, with ERROR_OPERATION_ABORTED, writes its status into the OVERLAPPED and queues a
// packet on the port, and the thread pool's completion poller dequeues it after the owner freed
// everything. In production the poller throws "Handle is not initialized" and the process dies
// (1-5 runs in 60), or a completion is lost; corefx #2961 describes the same hazard for a pooled
// buffer returned by Dispose while a ReadAsync is in flight. The explorer interleaves the
// "device" completing the read (before or after the close and the frees) with the program: when
// it completes after the free, the completion's write is an io-completed-after-free finding.
//
// Fix: what ThreadPoolBoundHandle does for FileStream and PipeStream: the IOCompletionCallback
// frees the NativeOverlapped (FreeNativeOverlapped) and releases the buffer, so only the
// completion itself, which runs after every write of the I/O, frees what the I/O uses. Dispose
// only closes the handle.
#include "hc/hc.hpp"
#include "hc/models/async_io.hpp"

namespace {

using hc::models::AsyncIo;
using hc::models::Completion;
using hc::models::CompletionQueue;
using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::UserMemory;

void dispose_pipe_with_read_pending(bool free_in_callback) {
  HandleTable process;
  UserMemory buffer("pipe read buffer");      // pinned for the read
  UserMemory overlapped("NativeOverlapped");  // AllocateNativeOverlapped
  CompletionQueue port("thread pool IOCP");
  AsyncIo io(process);
  const RawHandle pipe = process.create(ObjectType::file, "\\\\.\\pipe\\repro", "PipeStream");
  io.associate(pipe, port, /*key=*/1);  // ThreadPoolBoundHandle.BindHandle

  // The thread pool's completion poller: GetQueuedCompletionStatus, then the callback.
  hc::thread poller("IOCP poller", [&] {
    const Completion packet = port.dequeue();
    if (free_in_callback) {
      // IOCompletionCallback: complete the task (aborted or not), then free what the I/O used.
      packet.overlapped->free();  // ThreadPoolBoundHandle.FreeNativeOverlapped
      packet.buffer->free();      // unpin / return the buffer
    }
  });

  io.read_file(pipe, buffer, overlapped);  // ReadAsync: ERROR_IO_PENDING
  // Dispose: CloseHandle cancels the pending read...
  process.close(pipe, "PipeStream");
  if (!free_in_callback) {
    overlapped.free();  // ...and frees the read's native state at once
    buffer.free();
  }
  poller.join();
}

}  // namespace

HC_SCENARIO("async/overlapped-freed-after-dispose", .tags = {"async", "windows"},
            .expect = hc::FindingKind::io_completed_after_free,
            .message =
                "wrote its status (Internal, InternalHigh) into 'NativeOverlapped', which "
                "thread 'main' freed at scenarios/async/",
            .summary =
                "Dispose closes the pipe (cancelling the pending read) and frees the "
                "OVERLAPPED at once; the aborted completion still arrives and writes it",
            .pattern = "I18-pending-io", .source = "dotnet/runtime #134271") {
  dispose_pipe_with_read_pending(false);
}

HC_SCENARIO("async/overlapped-freed-after-dispose.fixed", .tags = {"async", "windows", "fixed"},
            .expect = hc::clean,
            .summary =
                "the completion callback frees the NativeOverlapped and the buffer "
                "(ThreadPoolBoundHandle): nothing is freed while the I/O may write it",
            .pattern = "I18-pending-io", .source = "dotnet/runtime #134271") {
  dispose_pipe_with_read_pending(true);
}

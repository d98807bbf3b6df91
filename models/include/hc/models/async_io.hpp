// hc/models/async_io.hpp — asynchronous I/O racing Close/Dispose: Windows overlapped I/O
// completing on an I/O completion port, and Linux io_uring-like requests (issue 18, item 3).
//
// What it defines.
//   CompletionQueue  an I/O completion port (CreateIoCompletionPort) or an io_uring completion
//                    queue: completions are queued on it and a thread dequeues them
//                    (GetQueuedCompletionStatus / io_uring_wait_cqe), blocking while it is empty.
//   AsyncIo          the I/O manager / the kernel side of a HandleTable: it starts pending
//                    operations (ReadFile / WriteFile with an OVERLAPPED; io_uring read / write
//                    submissions), runs the "device" that completes each of them at an explored
//                    point (one model thread per operation, "device: <api> #n"), and cancels them
//                    (CancelIoEx; CloseHandle of the file's last handle).
//   Completion       what a dequeue returns: the key / user_data, the status, the OVERLAPPED,
//                    the handle value the request was submitted on and the file it completed on.
//
// Windows (ReadFile, CancelIoEx, CloseHandle, GetQueuedCompletionStatus documentation; the
// dotnet/runtime reports cited by issue 18):
//   - read_file / write_file on a handle associated with a port return ERROR_IO_PENDING (997):
//     the operation is pending until the device completes it. The completion writes the data into
//     the caller's buffer (a read that was not cancelled), then its status (Internal /
//     InternalHigh) into the caller's OVERLAPPED, then queues a packet on the port. Both are the
//     caller's memory (UserMemory) until the completion has been dequeued.
//   - cancel_io_ex(h, ov) requests cancellation: the operation still completes, with
//     ERROR_OPERATION_ABORTED (995), and its packet still arrives on the port.
//   - Closing the file's last handle (HandleTable::close, CloseHandle) cancels its pending I/O
//     the same way (IRP_MJ_CLEANUP): the completion STILL arrives later, after the owner may
//     have freed the OVERLAPPED and the buffer. A completion after the free is an
//     io-completed-after-free finding.
//   - .NET's FileStream / ThreadPoolBoundHandle free the NativeOverlapped only in the completion
//     callback (IOCompletionCallback -> FreeNativeOverlapped): the fix the catalogue shows.
// Linux io_uring (io_uring(7), io_uring_enter(2); liburing #363 #782, tokio-uring #2):
//   - submit_read / submit_write take their own reference to the open file description: close(N)
//     neither cancels nor wakes them, and they complete on the OLD file even after N is reused by
//     another open (the new file is untouched). The CQE carries the user_data the program
//     registered (often the fd number). A completion after the buffer was freed is an
//     io-completed-after-free finding.
//   - Completion::handle is the value the request was submitted on, with the provenance the
//     program had: a completion handler that acts on it (the fd its user_data names) after the
//     number was closed and reused is a stale-handle-use finding of the table, which names the
//     close and the object the number names now. No new kind: that message says what happened.
//
// Why a kind of its own (io-completed-after-free) rather than UserMemory's use-after-free: the
// write is not the program's code on the thread that runs it but the kernel completing an
// operation the program started earlier, maybe cancelled, on a thread (the device) the program
// never sees; the message must name the submission, the cancel or close, the free and the
// completion, and the fix is not "don't touch it" but "don't free it before the completion"
// (free in the completion callback, or cancel and wait). The signature groups by the memory,
// the submitting line and the freeing line. (c) of issue 18 ("Dispose while I/O is pending
// without cancel-and-wait, then free") is this finding: it fires when the completion comes.
// A completion on a closed and reused number is the table's stale-handle-use (see above).
//
// Usage (Windows):
//   HandleTable table;                                 // win32 handles
//   UserMemory buffer("read buffer"), ov("OVERLAPPED");
//   CompletionQueue port("IOCP");
//   AsyncIo io(table);                                 // declared after what its devices write
//   RawHandle pipe = table.create(ObjectType::file, "\\\\.\\pipe\\p");
//   io.associate(pipe, port, /*key=*/1);               // CreateIoCompletionPort(pipe, port, 1)
//   hc::thread pool("threadpool", [&] {
//     Completion c = port.dequeue();                   // GetQueuedCompletionStatus(INFINITE)
//     c.overlapped->free(); buffer.free();             // the callback frees what the I/O used
//   });
//   io.read_file(pipe, buffer, ov);                    // ERROR_IO_PENDING
//   table.close(pipe);                                 // cancels: the completion still arrives
//   pool.join();
// Usage (io_uring):
//   HandleTable fds{{.style = ValueStyle::posix, .reuse = ReusePolicy::lowest_free}};
//   CompletionQueue ring("ring", QueueKind::io_uring);
//   AsyncIo io(fds);
//   RawHandle fd = fds.create(ObjectType::file, "conn-1");      // fd 3
//   io.submit_read(ring, fd, buffer, /*user_data=*/fd.value);
//   fds.close(fd);                                              // does not cancel the read
//   RawHandle other = fds.create(ObjectType::file, "conn-2");   // fd 3 again
//   Completion cqe = ring.dequeue();      // completes on conn-1; cqe.key == 3
//   fds.write(cqe.handle);                // finding: stale-handle-use (fd 3 now names conn-2)
//
// Every operation is one scheduling point (the device's completion is one step of its thread).
// Declare the AsyncIo after the memory, the queues and the table its devices touch: its
// destructor joins the device threads (every pending operation completes before it returns).
//
// What it touches (each operation's footprint; H(h) is HandleTable::use_touches(h): T read, S[h]
// read, K(h) read, K(parent) read):
//   R    the requests ("<name>: requests"): every operation's state (pending, cancel requested,
//        completed) and the port associations. One cell: every operation of one AsyncIo
//        conflicts with every other (small scenarios; sound).
//   Q    a queue's packets ("<queue>: packets"); E(Q) its engine event (auto-reset, set while
//        packets are queued).
//   associate(h, q, key)        R write; H(h).
//   read_file / write_file      R write; H(h). The device thread is born in the step.
//   submit_read / submit_write  R write; H(h).
//   cancel_io_ex(h, ov)         R write; H(h).
//   get_overlapped_result(op)   D(op) sync (blocks until set); R read. D(op) is the operation's
//                               engine event (manual reset), born in the step that started it.
//   device completion (its own thread, announced at the submitting line)
//                               R write; K(h) write (the transfer, and the file's open-handle
//                               count: was its last handle closed?); the buffer and the
//                               OVERLAPPED (write: UserMemory::freed_in_step); Q write; E(Q)
//                               write; D(op) write.
//   dequeue                     E(Q) sync (blocks until set); Q write.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/user_memory.hpp"
#include "hc/thread.hpp"

namespace hc::models {

inline constexpr std::uint32_t kErrorOperationAborted = 995;  // ERROR_OPERATION_ABORTED
inline constexpr std::uint32_t kErrorIoPending = 997;         // ERROR_IO_PENDING
inline constexpr std::uint32_t kErrorNotFound = 1168;         // ERROR_NOT_FOUND (CancelIoEx)
inline constexpr std::int32_t kECANCELED = 125;

enum class QueueKind : std::uint8_t {
  iocp,      // an I/O completion port: GetQueuedCompletionStatus
  io_uring,  // an io_uring completion queue: io_uring_wait_cqe + io_uring_cqe_seen
};

/// One dequeued completion (a packet of GetQueuedCompletionStatus, an io_uring CQE).
struct Completion {
  bool ok = false;                   // false: nothing was dequeued (the execution is ending)
  std::uint32_t op = 0;              // which operation (1-based, in submission order)
  std::uint64_t key = 0;             // IOCP: the completion key; io_uring: the user_data
  std::uint32_t error = 0;           // IOCP: ERROR_SUCCESS or ERROR_OPERATION_ABORTED (995)
  std::int32_t res = 0;              // io_uring: bytes transferred, or -ECANCELED
  std::uint32_t bytes = 0;           // bytes transferred (0 when cancelled)
  UserMemory* overlapped = nullptr;  // IOCP: lpOverlapped; io_uring: null
  UserMemory* buffer = nullptr;      // the operation's buffer
  RawHandle handle;                  // the value the request was submitted on (its provenance)
  std::string file;                  // the kernel object it completed on ("File 'conn-1'")
};

class AsyncIo;

/// An I/O completion port or an io_uring completion queue (see the header).
class CompletionQueue {
 public:
  explicit CompletionQueue(std::string name, QueueKind kind = QueueKind::iocp);
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  /// GetQueuedCompletionStatus(port, ..., INFINITE) / io_uring_wait_cqe + io_uring_cqe_seen:
  /// blocks until a completion is queued, then dequeues the oldest. One scheduling point.
  Completion dequeue(const std::source_location& where = std::source_location::current());

  // --- peeks (tests, reports) -----------------------------------------------------------------
  std::size_t queued() const noexcept { return packets_.peek().size(); }
  const std::string& name() const noexcept { return name_; }
  QueueKind kind() const noexcept { return kind_; }

 private:
  friend class AsyncIo;
  std::string name_;
  QueueKind kind_;
  ModelCell<std::deque<Completion>> packets_;  // Q
  ObjectId ready_ = kNoObject;                 // E(Q): auto-reset, set while packets are queued
};

/// The I/O manager of one HandleTable: pending operations and their devices (see the header).
class AsyncIo {
 public:
  explicit AsyncIo(HandleTable& table, std::string_view name = "I/O",
                   const std::source_location& where = std::source_location::current());
  /// Joins the device threads: every pending operation completes first.
  ~AsyncIo();
  AsyncIo(const AsyncIo&) = delete;
  AsyncIo& operator=(const AsyncIo&) = delete;

  /// CreateIoCompletionPort(h, port, key): completions of overlapped I/O on the file `h` names
  /// are queued on `port` with `key`. Fails (ERROR_INVALID_HANDLE) when `h` names nothing.
  Status associate(const RawHandle& h, CompletionQueue& port, std::uint64_t key,
                   const std::source_location& where = std::source_location::current());
  /// ReadFile(h, buffer, n, NULL, overlapped): starts a pending read (FALSE + ERROR_IO_PENDING,
  /// reported here as the operation's number, 1-based; 0 and the table's failure when `h`
  /// names nothing). Without an association the completion only updates the operation.
  std::uint32_t read_file(const RawHandle& h, UserMemory& buffer, UserMemory& overlapped,
                          const std::source_location& where = std::source_location::current());
  /// WriteFile(h, buffer, n, NULL, overlapped): as read_file; the completion writes only the
  /// OVERLAPPED (the data went out of the buffer).
  std::uint32_t write_file(const RawHandle& h, UserMemory& buffer, UserMemory& overlapped,
                           const std::source_location& where = std::source_location::current());
  /// CancelIoEx(h, overlapped): requests cancellation of the pending operations on the file
  /// `h` names that use `overlapped` (all of them when null). They still complete, with
  /// ERROR_OPERATION_ABORTED, and their packets still arrive. FALSE + ERROR_NOT_FOUND when none
  /// is pending.
  Status cancel_io_ex(const RawHandle& h, const UserMemory* overlapped,
                      const std::source_location& where = std::source_location::current());
  /// GetOverlappedResult(h, overlapped, &n, TRUE) for operation `op` (read_file's result):
  /// blocks until the operation has completed, then returns its status (error: ERROR_SUCCESS or
  /// ERROR_OPERATION_ABORTED; bytes). The wait that makes freeing after CancelIoEx safe. (It
  /// does not check the OVERLAPPED it reads: free it after this returns.)
  Completion get_overlapped_result(
      std::uint32_t op, const std::source_location& where = std::source_location::current());

  /// io_uring_prep_read(sqe, fd, buffer) + io_uring_sqe_set_data64(sqe, user_data) +
  /// io_uring_submit: the request holds its own reference to the file `fd` names now; it
  /// completes on that file whatever happens to the number. Returns the operation's number (0
  /// and the table's failure when `fd` names nothing).
  std::uint32_t submit_read(CompletionQueue& ring, const RawHandle& fd, UserMemory& buffer,
                            std::uint64_t user_data,
                            const std::source_location& where = std::source_location::current());
  /// io_uring_prep_write: as submit_read; the completion does not write the buffer.
  std::uint32_t submit_write(CompletionQueue& ring, const RawHandle& fd, UserMemory& buffer,
                             std::uint64_t user_data,
                             const std::source_location& where = std::source_location::current());

  // --- peeks (tests, reports) -----------------------------------------------------------------
  /// Whether operation `op` (1-based) has completed.
  bool completed(std::uint32_t op) const;
  /// "File 'conn-1'": the file operation `op` was started on (and completes on).
  std::string file_of(std::uint32_t op) const;
  std::size_t operations() const noexcept { return ops_.size(); }

 private:
  enum class Api : std::uint8_t { read_file, write_file, uring_read, uring_write };
  struct Op;  // one operation: what it was started on (fixed), its device thread
  /// R's value.
  struct OpState {
    bool completed = false;
    bool aborted = false;  // completed with ERROR_OPERATION_ABORTED / -ECANCELED
    bool cancel_requested = false;
    std::optional<Provenance> cancelled_by;  // finding bookkeeping: CancelIoEx's call
  };
  struct Association {
    ObjectId file = kNoObject;  // K
    CompletionQueue* port = nullptr;
    std::uint64_t key = 0;
  };
  struct Requests {
    std::vector<OpState> ops;  // index = op - 1
    std::vector<Association> associations;
  };

  std::uint32_t start(Api api, CompletionQueue* ring, const RawHandle& h, UserMemory& buffer,
                      UserMemory* overlapped, std::uint64_t user_data,
                      const std::source_location& where);
  void complete(Op& op);
  [[noreturn]] void report_after_free(const Op& op, const UserMemory& memory, bool cancelled,
                                      const char* wrote);

  HandleTable& table_;
  std::string name_;
  ModelCell<Requests> requests_;  // R
  // Each operation, in submission order (the vector only grows, in the submitting step;
  // a device thread holds its own Op*).
  std::vector<std::unique_ptr<Op>> ops_;
};

}  // namespace hc::models

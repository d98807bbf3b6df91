// hc/models/posix_io.hpp — blocking POSIX descriptor I/O with Linux semantics: pipes, connected
// stream sockets, close() that does not wake a blocked read, shutdown() that does, and epoll
// whose interest entries belong to the open file description (DOMAIN.md §7; close(2) NOTES,
// shutdown(2), epoll(7) Q6).
//
//   hc::models::PosixIo io;
//   auto [rd, wr] = io.pipe("jobs");       // fd 3 (read end), fd 4 (write end)
//   hc::thread reader("reader", [&] { io.read(rd); });  // blocks: the pipe is empty
//   io.write(wr, "job");                   // wakes it: read returns 3 bytes
//   auto [a, b] = io.socketpair("conn");   // two connected stream sockets
//   io.shutdown(a, hc::models::Shut::rd);  // a read blocked on `a` returns 0 (end of file)
//   hc::models::Fd ep = io.epoll_create("loop");
//   io.epoll_ctl(ep, hc::models::EpollOp::add, b, hc::models::kEpollIn);  // data = b's number
//   for (const auto& ev : io.epoll_wait(ep)) io.read(io.fd_of(ev));  // blocks until an event
//
// Descriptors. The table gives the lowest free number (first_fd, 3 by default, is the first);
// each number's openings are generations, as in HandleTable. An Fd carries the number, the
// generation it was created for and the open file description it named (its provenance): a use
// or close through an Fd whose number was closed is a stale-handle-use (double-close when
// closing) when the number now names another description, else an invalid-handle-use (double
// close) under InvalidUse::raise, or EBADF under InvalidUse::fail. dup() gives a new number for
// the same description; the description lives until its last descriptor closes.
//
// Blocking. read/recv on an empty pipe or socket blocks the simulated thread until data
// arrives, the write side's last descriptor closes (end of file: read returns 0), the write
// side is shut down (SHUT_WR: end of file after the data), or the reading socket is shut down
// (SHUT_RD: read returns 0). A blocked call holds its own reference to the description:
// close(fd) from another thread does NOT wake it (Linux; close(2) NOTES), and it can still
// complete on the old description when data arrives later. If nothing else wakes it, the run
// ends in a deadlock finding whose line for that thread says so: the blocked call and its
// descriptor, who closed the descriptor at which step, close(2)'s Linux behaviour and the fix
// (shutdown(2) for a socket; for a pipe, closing the write end or writing a wake-up byte).
// epoll_wait blocks until an entry is ready.
//
// epoll. Interest entries are keyed by (open file description, number registered), as in
// Linux; an entry goes away only when every descriptor of its description is closed
// (epoll(7) Q6), so after dup(fd) + close(fd) events keep coming with the registered number in
// their data. Entries are level-triggered: EPOLLIN while the description is readable (data,
// end of file, SHUT_RD), EPOLLHUP once its peer's write side is gone, EPOLLOUT while it can
// write. fd_of(event) is the number the program reads back from epoll_data: using it (read,
// write, close, epoll_ctl, ...) when that number no longer names the description the event
// came from (it was closed, and names another description or nothing) is an
// event-for-reused-descriptor finding — libuv's "events for a closed (and reused) fd" (libuv
// #1099 #968 #1191 #1468 #4323, uSockets #216).
//
// Listening sockets: listen() gives one, connect() queues a connection on it, accept() blocks
// until one is queued; shutdown(SHUT_RD) wakes a blocked accept (it fails with EINVAL), close()
// does not (Linux), with the same deadlock line as a read.
//
// Not modelled: EPIPE/SIGPIPE for a pipe without readers,
// partial writes and bounded buffers (write never blocks), EPOLLET/EPOLLONESHOT, poll().
//
// What it touches (the footprint each operation declares; the footprint audit checks it).
// Cells, one engine object each:
//   T      the descriptor table ("descriptors 'NAME'"): every number's generation and
//          description, whether it is open. Written by what opens or closes a number.
//   C[c]   one per channel (one direction of a pipe or a socket pair, "pipe 'jobs'"; a
//          listening socket's queue): its buffered bytes (queued connections), whether its write
//          side is gone or shut, whether its read side is shut, the threads blocked reading it.
//   E[c]   each channel's engine event, set while it is readable (a blocked read waits on it).
//   P[e]   one per epoll instance ("epoll 'loop'"): its interest entries.
//   R      the readiness event ("... epoll readiness"), shared by the epoll instances of this
//          PosixIo: set by every step that may make an entry ready.
// A description's channels: a pipe's read end reads C, its write end writes C; a socket reads
// one channel of its pair and writes the other. D(fd) below: the description of the Fd's
// provenance (fixed, whatever the number names by the time the call runs).
//   pipe / socketpair / epoll_create   T write (new C, E, P are born in the step).
//   listen                             T write (its queue C and E are born in the step).
//   connect(l, ...)                    T write; C(l) read-write, E(l) write, R write.
//   accept(l)                          C(l) read-write (announced); T read-write, E(l) write;
//                                      blocked: E(l) sync; C(l) read-write, T read-write.
//   dup(fd)                            T write.
//   close(fd)                          T write; D's channels read-write, their events write, D's
//                                      P read-write (an epoll descriptor), R write.
//   read(fd)                           D's read channel read-write (announced); T read, E write;
//                                      blocked: E sync; its C read-write.
//   write(fd, data)                    D's write channel read-write (announced); T read, E
//                                      write, R write.
//   shutdown(fd, how)                  T read (announced); D's channels read-write, their events
//                                      write, R write.
//   epoll_ctl(ep, op, fd, ...)         P(ep) read-write (announced); T read, R write.
//   epoll_wait(ep)                     P(ep) read-write (announced); every model object (it
//                                      checks the readiness of each entry), R read-write;
//                                      blocked: R sync; every model object.
// An Fd without provenance (a default-constructed one) touches T only and fails with EBADF.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/models/handle_table.hpp"  // InvalidUse, Status, last_error(), errno values
#include "hc/operation.hpp"

namespace hc::models {

/// errno values the model returns besides EBADF, EINTR, EINVAL and EMFILE (handle_table.hpp).
inline constexpr std::uint32_t kENOENT = 2;
inline constexpr std::uint32_t kEEXIST = 17;
inline constexpr std::uint32_t kEPIPE = 32;
inline constexpr std::uint32_t kENOTSOCK = 88;
inline constexpr std::uint32_t kENOTCONN = 107;
inline constexpr std::uint32_t kECONNREFUSED = 111;

/// epoll event bits (sys/epoll.h values).
inline constexpr std::uint32_t kEpollIn = 0x001;
inline constexpr std::uint32_t kEpollOut = 0x004;
inline constexpr std::uint32_t kEpollHup = 0x010;

/// shutdown(2)'s `how`: SHUT_RD, SHUT_WR, SHUT_RDWR.
enum class Shut : std::uint8_t { rd, wr, rdwr };
/// epoll_ctl(2)'s `op`: EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL.
enum class EpollOp : std::uint8_t { add, mod, del };

struct PosixIoOptions {
  std::uint32_t first_fd = 3;  // the lowest number an open returns (0-2 are stdio)
  InvalidUse invalid_use = InvalidUse::raise;
  bool report_leaks = true;  // descriptors still open when the PosixIo is destroyed: a finding
  std::string_view name = "process";
};

class PosixIo;

/// A descriptor number with its provenance: what pipe(), socketpair(), dup() or
/// epoll_create() returned, or fd_of(an epoll event). Copying it copies the number.
struct Fd {
  int value = -1;                     // the number the program sees
  std::uint32_t generation = 0;       // which opening of the number it came from (0: none)
  std::shared_ptr<void> description;  // the open file description it named (provenance)
  Provenance created;
  ObjectId io = kNoObject;  // the PosixIo that handed it out
  // fd_of(event): the number comes from an epoll event's data; these say which event.
  bool from_event = false;
  Provenance delivered;   // the epoll_wait that returned the event
  Provenance registered;  // the epoll_ctl that added (or last modified) the entry

  bool valid() const { return value >= 0; }
  friend bool operator==(const Fd& a, const Fd& b) {
    return a.value == b.value && a.generation == b.generation && a.description == b.description;
  }
};

/// One event epoll_wait returned.
struct EpollEvent {
  std::uint32_t events = 0;  // kEpollIn | kEpollOut | kEpollHup
  std::uint64_t data = 0;    // epoll_data: what epoll_ctl registered (the number by default)
  // Provenance (what fd_of needs): the entry's description and number, when it was registered
  // and when this event was delivered.
  int registered_fd = -1;
  std::shared_ptr<void> description;
  Provenance registered;
  Provenance delivered;
};

/// read / write / recv / send: the byte count (-1 on error, with the errno in `error`), and
/// for a read the bytes read.
struct IoResult {
  long n = -1;
  std::string data;
  std::uint32_t error = kErrorSuccess;
  explicit operator bool() const { return n >= 0; }
};

class PosixIo {
 public:
  explicit PosixIo(PosixIoOptions options = {});
  ~PosixIo();  // reports descriptors still open (options.report_leaks)
  PosixIo(const PosixIo&) = delete;
  PosixIo& operator=(const PosixIo&) = delete;

  /// pipe(): {read end, write end}, one open file description each.
  std::pair<Fd, Fd> pipe(std::string_view name,
                         const std::source_location& where = std::source_location::current());
  /// socketpair(AF_UNIX, SOCK_STREAM): two connected stream sockets.
  std::pair<Fd, Fd> socketpair(std::string_view name,
                               const std::source_location& where = std::source_location::current());
  /// socket() + bind() + listen(): a listening stream socket.
  Fd listen(std::string_view name,
            const std::source_location& where = std::source_location::current());
  /// socket() + connect() to a listening socket of this PosixIo: the client's socket; the
  /// server's end is queued for accept(). ECONNREFUSED when `listener` is not listening (or
  /// was shut down).
  Fd connect(const Fd& listener, std::string_view name,
             const std::source_location& where = std::source_location::current());
  /// accept(): the next queued connection's server end, a new descriptor; blocks while none is
  /// queued. shutdown(listener, SHUT_RD or SHUT_RDWR) wakes it and it fails with EINVAL (an
  /// invalid Fd); close(listener) from another thread does not wake it (Linux).
  Fd accept(const Fd& listener,
            const std::source_location& where = std::source_location::current());
  /// dup(): the lowest free number, naming the same description.
  Fd dup(const Fd& fd, const std::source_location& where = std::source_location::current());
  /// close(): frees the number. The description is released with its last descriptor: a
  /// pipe's or socket's write side then gives end of file to its reader, and its epoll entries
  /// go. A thread blocked reading it is NOT woken (Linux).
  Status close(const Fd& fd, const std::source_location& where = std::source_location::current());
  /// read() / recv(): up to `max` bytes; blocks while there is nothing to read (see the header).
  IoResult read(const Fd& fd, std::size_t max = std::numeric_limits<std::size_t>::max(),
                const std::source_location& where = std::source_location::current()) {
    return receive(fd, max, "read", where);
  }
  IoResult recv(const Fd& fd, std::size_t max = std::numeric_limits<std::size_t>::max(),
                const std::source_location& where = std::source_location::current()) {
    return receive(fd, max, "recv", where);
  }
  /// write() / send(): appends the bytes (never blocks); EPIPE after SHUT_WR.
  IoResult write(const Fd& fd, std::string_view data,
                 const std::source_location& where = std::source_location::current()) {
    return transmit(fd, data, "write", where);
  }
  IoResult send(const Fd& fd, std::string_view data,
                const std::source_location& where = std::source_location::current()) {
    return transmit(fd, data, "send", where);
  }
  /// shutdown(): sockets only (ENOTSOCK otherwise). SHUT_RD wakes readers of this socket (read
  /// returns 0); SHUT_WR gives the peer end of file after the data already sent.
  Status shutdown(const Fd& fd, Shut how,
                  const std::source_location& where = std::source_location::current());

  /// epoll_create1(0).
  Fd epoll_create(std::string_view name,
                  const std::source_location& where = std::source_location::current());
  /// epoll_ctl(ep, op, fd, {events, data}); data defaults to fd's number (libuv's way).
  Status epoll_ctl(const Fd& ep, EpollOp op, const Fd& fd, std::uint32_t events,
                   const std::source_location& where = std::source_location::current());
  Status epoll_ctl(const Fd& ep, EpollOp op, const Fd& fd, std::uint32_t events, std::uint64_t data,
                   const std::source_location& where = std::source_location::current());
  /// epoll_wait(ep, events, max_events, -1): blocks until an entry is ready.
  std::vector<EpollEvent> epoll_wait(
      const Fd& ep, std::size_t max_events = 16,
      const std::source_location& where = std::source_location::current());
  /// The descriptor an event names as the program reads it back: the number in its data,
  /// with the event's provenance (not a scheduling point). See the header.
  Fd fd_of(const EpollEvent& event) const;

  // --- inspection without scheduling points (tests, reports) --------------------------------
  std::size_t open_count() const;
  bool is_open(const Fd& fd) const;
  /// "pipe 'jobs' (read end)" for what `number` names now ("" when nothing).
  std::string describe_number(int number) const;
  ObjectId id() const { return table_.id(); }
  const PosixIoOptions& options() const { return options_; }

  struct Description;  // an open file description
  struct Channel;      // one direction of a pipe or socket pair
  struct Epoll;        // an epoll instance's interest list

 private:
  struct Slot {
    std::uint32_t generation = 0;
    bool open = false;
    std::shared_ptr<Description> description;
  };
  struct Opening {  // one generation of a number (finding bookkeeping)
    std::shared_ptr<Description> description;
    Provenance created;
    std::optional<Provenance> closed;
  };
  struct Touches {
    std::array<Touch, kMaxExtraTouches> entries{};
    std::size_t size = 0;
    void add(ObjectId object, Access access);
    std::span<const Touch> view() const { return {entries.data(), size}; }
  };

  IoResult receive(const Fd& fd, std::size_t max, const char* api,
                   const std::source_location& where);
  IoResult transmit(const Fd& fd, std::string_view data, const char* api,
                    const std::source_location& where);
  Description* provenance(const Fd& fd) const;
  /// What the call acts on, checked (see the header): null, with `*failure`, when the Fd does
  /// not name the description of its provenance (or a finding).
  Description* resolve(const Fd& fd, const char* api, bool closing,
                       const std::source_location& where, Status* failure);
  Status fail(std::uint32_t code);
  Fd install(std::shared_ptr<Description> d, const std::source_location& where);
  std::size_t descriptors_of(const Description* d) const;  // open numbers naming it (reads T)
  void add_channels(Touches& t, const Description* d, Access access) const;
  std::string label_of(const Fd& fd) const;

  PosixIoOptions options_;
  ModelCell<std::vector<Slot>> table_;  // T; index = number
  ObjectId readiness_ = kNoObject;      // R
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::unique_ptr<Epoll>> epolls_;
  std::vector<std::vector<Opening>> history_;  // history_[number]: its generations
};

}  // namespace hc::models

// descriptors.cpp — file descriptors of unmodified C++ under the engine: the calls that open,
// close or use a descriptor are scheduling points, and a shadow of the descriptor table knows
// each number's current incarnation (who opened it, where, at which point of that thread's
// history). The calls themselves are real: the descriptors are the kernel's.
//
// Provenance. A number names a different file once it is closed and opened again. A thread may
// rightly use the new incarnation only if it learnt the number from that open: then the open
// happens before the use through the program's own synchronisation (a lock, an atomic, a thread
// start or join: rt::hb_before). The kernel's own locking of its descriptor table is no such
// edge, and the scheduling points below are placed so that they add none: each call parks on an
// object of its own thread and declares the number's object in its footprint only (dpor orders
// calls on one number; nothing else follows from it).
//
// Findings, in the handle table's words (the models' kinds):
//  * stale-handle-use: a use of a number whose current incarnation another thread opened, with
//    no happens-before from that open: the caller holds the number of an earlier incarnation,
//    closed since, and reads or writes another file.
//  * double-close: a close of a number closed earlier in this execution and not opened since
//    (EBADF), or of one opened again by another thread since, with no happens-before from that
//    open (the caller closes another file's descriptor).
//  * invalid-handle-use: a use of a number closed earlier in this execution and not opened since.
//  * handle-leak: descriptors the execution opened and had not closed when the test body
//    returned.
// Only numbers this execution opened or closed are judged (stdio and descriptors opened before
// the test are not). Descriptors an execution left open (it ended early, at a finding) are
// closed when the next execution on this OS thread starts, after checking that the number still
// names the file they opened.
//
// Blocking calls would block the whole OS thread (every simulated thread runs on it): a read on a
// descriptor with nothing to read, or a write to a full pipe, yields until poll() says it would
// not block (a program whose reader waits for ever ends in a livelock finding); the waits (poll,
// ppoll, select, pselect, epoll_wait, epoll_pwait) poll and yield (wait_polling), and an fcntl
// lock wait tries the lock and yields while another holds it.
//
// Streams. fopen, fopen64, fdopen, freopen and fclose are interposed too (libstdc++'s
// basic_filebuf, so std::ofstream and std::ifstream, calls fopen64, fdopen and fclose): the
// number a FILE holds (fileno) is opened or closed in the shadow like a raw one, and the FILE is
// remembered with it, so that a leftover stream is closed with fclose when the next execution
// starts (at a finding of ours it only forgets its number: orphan_stream). glibc's own
// calls inside them go to its internal functions and never reach these definitions; the
// interposers run the real call inside an EngineScope all the same. What a stream reads or
// writes through its buffer is no use of the number: glibc's internal read and write are not
// seen (basic_filebuf's are: it calls read and write itself).
//
// Not seen: other descriptors opened or closed inside glibc (opendir, popen, tmpfile),
// _FORTIFY_SOURCE's __read_chk and friends, and with --jobs the numbers are one process's:
// workers open and close side by side, so which number a call gets depends on timing (run
// descriptor tests with one worker).
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "native_state.hpp"

using hc::Access;
using hc::FindingKind;
using hc::ObjectId;
using hc::ObjectKind;
using hc::ThreadId;
namespace rt = hc::rt;
using namespace hc::native::detail;  // NOLINT(google-build-using-namespace): this file's subject

namespace {

/// One number's current incarnation, and how the last one ended.
struct Incarnation {
  bool open = false;
  rt::HbPoint opened;
  ThreadId opener = hc::kNoThread;
  std::source_location open_site;
  std::uint32_t open_step = 0;
  dev_t dev = 0;  // what the open gave: checked before closing a leftover
  ino_t ino = 0;
  ThreadId closer = hc::kNoThread;
  std::source_location close_site;
  std::uint32_t close_step = 0;
  ObjectId object = hc::kNoObject;  // "descriptor N" of this execution
  FILE* stream = nullptr;           // the stream that holds it (fopen, fdopen), if any
};

/// The worker's shadow of the descriptor table (its executions run one at a time), in
/// rt::layer_state slot kShadowSlot: one for every simulated thread, on fibers or OS threads.
struct Shadow {
  std::map<int, Incarnation> numbers;
  std::array<ObjectId, hc::kMaxThreads> calls{};  // per simulated thread: what its calls park on
  std::vector<FILE*> orphans;                     // see orphan_stream

  void reset() {
    numbers.clear();
    orphans.clear();
    calls.fill(hc::kNoObject);
  }
};

constexpr int kShadowSlot = 1;
void close_open_descriptors(Shadow& s, bool free_streams);
/// The worker's Execution ends: what its last execution left open is closed, and the shadow goes.
void destroy_shadow(void* p) noexcept {
  auto* s = static_cast<Shadow*>(p);
  close_open_descriptors(*s, /*free_streams=*/true);
  delete s;
}
const bool shadow_destructor_set =
    (rt::set_layer_state_destructor(kShadowSlot, &destroy_shadow), true);

/// The worker's shadow, if it has one yet (outside executions: none).
Shadow* shadow_if_any() noexcept {
  return worker_state_if_any<Shadow>(kShadowSlot);
}

Shadow& shadow() {
  return worker_state<Shadow>(kShadowSlot);
}

std::string thread_label(ThreadId t) {
  return fmt::format("thread '{}'", rt::thread_name(t));
}

std::string site_text(const std::source_location& where) {
  return fmt::format("{}:{}", rt::display_path(where.file_name()), where.line());
}

/// A stream whose number the shadow took back (a finding ended the execution): the FILE forgets
/// its number (glibc's _fileno; its fclose then skips the close and still unlinks and frees it)
/// and is kept, not freed, for the code under test may still fclose it while its threads unwind
/// (a destructor). Those that nobody closed are freed when the next execution starts.
void orphan_stream(Shadow& s, FILE* stream) {
  stream->_fileno = -1;
  s.orphans.push_back(stream);
}

/// Closes, for real, what this execution opened and has not closed (its numbers may still name
/// the files it opened: checked first). Before a finding of ours, which ends the execution
/// (`free_streams` false: streams become orphans), when the next execution starts (an
/// execution that ended at another finding left them; its streams are freed with fclose), and
/// when the worker's Execution ends (destroy_shadow).
void close_open_descriptors(Shadow& s, bool free_streams) {
  HC_REAL(close);
  static std::atomic<void*> fclose_slot{nullptr};
  const auto real_fclose = lazy_real<decltype(&::fclose)>(fclose_slot, "fclose");
  for (auto& [fd, inc] : s.numbers) {
    if (!inc.open) continue;
    struct stat st {};
    const bool same = fstat(fd, &st) == 0 && st.st_dev == inc.dev && st.st_ino == inc.ino;
    if (inc.stream != nullptr && free_streams) {
      if (!same) inc.stream->_fileno = -1;  // the number names another file by now
      (void)real_fclose(inc.stream);
    } else {
      if (same) real(fd);
      if (inc.stream != nullptr) orphan_stream(s, inc.stream);
    }
    inc.open = false;
    inc.stream = nullptr;
  }
  if (free_streams) {
    for (FILE* stream : s.orphans)
      (void)real_fclose(stream);
    s.orphans.clear();
  }
}

void close_execution_descriptors(bool free_streams) {
  close_open_descriptors(shadow(), free_streams);
}

/// A check of ours found a bug: the execution ends here (rt::report), leaving nothing open.
void report(FindingKind kind, const std::string& message, const std::source_location& where,
            const std::string& signature, hc::FindingRefs refs) {
  close_execution_descriptors(/*free_streams=*/false);
  rt::report(kind, message, where, signature, std::move(refs));
}

/// What the calling thread's descriptor calls park on: an object of its own, so that they order
/// nothing between threads (see "Provenance"). Registered on the thread's first call.
ObjectId calls_object(Shadow& s, const std::source_location& where) {
  const ThreadId me = rt::current_thread();
  if (s.calls[me] == hc::kNoObject)
    s.calls[me] = rt::register_object(ObjectKind::model,
                                      fmt::format("descriptor calls of thread {}", me), where);
  return s.calls[me];
}

/// The scheduling point of a descriptor call: parks on the caller's own object, declaring the
/// number's object in its footprint (see "Provenance"). Returns the number's shadow entry.
Incarnation& descriptor_call(int fd, Access access, const char* label,
                             const std::source_location& where) {
  Shadow& s = shadow();
  Incarnation& inc = s.numbers[fd];
  if (inc.object == hc::kNoObject)
    inc.object = rt::register_object(ObjectKind::model, fmt::format("descriptor {}", fd), where);
  const std::array<hc::Touch, 1> touches{hc::Touch{inc.object, access}};
  rt::model_op(Access::write, calls_object(s, where), touches, label, where);
  return inc;
}

/// A use of `fd` by user code: a scheduling point, then the provenance check.
void check_use(int fd, const char* label, const std::source_location& where) {
  Incarnation& inc = descriptor_call(fd, Access::read, label, where);
  const ThreadId me = rt::current_thread();
  const std::uint32_t step = rt::current_step();
  if (!inc.open) {
    if (inc.closer == hc::kNoThread) return;  // never opened or closed here: not ours to judge
    report(FindingKind::invalid_handle_use,
           fmt::format("{} uses descriptor {} ({}) at {} (step {}) after {} closed it at {} "
                       "(step {}): the number names no open file (EBADF)",
                       thread_label(me), fd, label, site_text(where), step,
                       thread_label(inc.closer), site_text(inc.close_site), inc.close_step),
           where, fmt::format("invalid-handle-use|{}|{}", label, site_text(inc.close_site)),
           {.steps = {step, inc.close_step}, .objects = {inc.object}});
    return;
  }
  if (inc.closer != hc::kNoThread && !rt::hb_before(inc.opened)) {
    report(
        FindingKind::stale_handle_use,
        fmt::format("{} uses descriptor {} ({}) at {} (step {}), a stale number: {} closed "
                    "it at {} (step {}) and {} opened it again at {} (step {}), so it now "
                    "names another file, and {} never learnt the new descriptor (nothing "
                    "orders that open before this use)",
                    thread_label(me), fd, label, site_text(where), step, thread_label(inc.closer),
                    site_text(inc.close_site), inc.close_step, thread_label(inc.opener),
                    site_text(inc.open_site), inc.open_step, thread_label(me)),
        where,
        fmt::format("stale-handle-use|{}|{}|{}", label, site_text(where),
                    site_text(inc.close_site)),
        {.steps = {step, inc.close_step, inc.open_step}, .objects = {inc.object}});
  }
}

/// The scheduling point of an open-like call comes before the call: the number it gets depends
/// on which closes ran before it, so it declares every descriptor (every model object: a
/// conservative footprint, dpor orders it with all of them).
void before_open(const char* label, const std::source_location& where) {
  static constexpr std::array<hc::Touch, 1> kEveryDescriptor{
      hc::Touch{hc::kAllModelObjects, Access::write}};
  rt::model_op(Access::write, calls_object(shadow(), where), kEveryDescriptor, label, where);
}

/// A new descriptor `fd` from an open-like call, made right after before_open's scheduling
/// point (no other one in between: an execution that ends meanwhile cannot lose it); `stream`
/// the FILE that holds it (fopen).
void opened(int fd, const std::source_location& where, FILE* stream = nullptr) {
  Incarnation& inc = shadow().numbers[fd];
  if (inc.object == hc::kNoObject)
    inc.object = rt::register_object(ObjectKind::model, fmt::format("descriptor {}", fd), where);
  inc.open = true;
  inc.stream = stream;
  inc.opened = rt::hb_point();
  inc.opener = rt::current_thread();
  inc.open_site = where;
  inc.open_step = rt::current_step();
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    inc.dev = st.st_dev;
    inc.ino = st.st_ino;
  }
}

/// The checks of a close of `fd` (close, fclose, freopen), after its scheduling point: a finding
/// ends the execution here (true: reported outside a live execution, in teardown, where report
/// returns). `stream`, the FILE being closed (fclose, freopen), becomes an orphan first: its
/// number is not the caller's to close.
bool check_close(int fd, Incarnation& inc, const char* label, const std::source_location& where,
                 FILE* stream) {
  const ThreadId me = rt::current_thread();
  const std::uint32_t step = rt::current_step();
  const bool closed = !inc.open && inc.closer != hc::kNoThread;
  const bool reused = inc.open && inc.closer != hc::kNoThread && !rt::hb_before(inc.opened);
  if (!closed && !reused) return false;
  const std::string how =
      std::string_view(label) == "close" ? std::string() : fmt::format(" ({})", label);
  if (stream != nullptr) {
    if (inc.stream == stream) inc.stream = nullptr;
    orphan_stream(shadow(), stream);
  }
  if (closed) {
    report(FindingKind::double_close,
           fmt::format("{} closes descriptor {}{} at {} (step {}), which {} closed already at "
                       "{} (step {}) and nobody opened since: the second close fails with "
                       "EBADF, and had another thread opened a file meanwhile it would have "
                       "closed that file's descriptor",
                       thread_label(me), fd, how, site_text(where), step, thread_label(inc.closer),
                       site_text(inc.close_site), inc.close_step),
           where,
           fmt::format("double-close|closed|{}|{}", site_text(where), site_text(inc.close_site)),
           {.steps = {step, inc.close_step}, .objects = {inc.object}});
    return true;
  }
  report(FindingKind::double_close,
         fmt::format("{} closes descriptor {}{} at {} (step {}), a number it no longer owns: "
                     "{} closed it at {} (step {}) and {} opened it again at {} (step {}) "
                     "for another file, whose descriptor this close takes away",
                     thread_label(me), fd, how, site_text(where), step, thread_label(inc.closer),
                     site_text(inc.close_site), inc.close_step, thread_label(inc.opener),
                     site_text(inc.open_site), inc.open_step),
         where,
         fmt::format("double-close|reused|{}|{}", site_text(where), site_text(inc.close_site)),
         {.steps = {step, inc.close_step, inc.open_step}, .objects = {inc.object}});
  return true;
}

/// The number's incarnation ended: `where` closed it (close, fclose, freopen).
void mark_closed(Incarnation& inc, const std::source_location& where) {
  inc.open = false;
  inc.stream = nullptr;
  inc.closer = rt::current_thread();
  inc.close_site = where;
  inc.close_step = rt::current_step();
}

/// Yields until `fd` is ready for `events` (a blocking call would block every simulated thread).
void wait_ready(int fd, short events, const std::source_location& where) {
  HC_REAL(fcntl);
  const int flags = real(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK) != 0) return;
  for (;;) {
    pollfd p{fd, events, 0};
    if (poll(&p, 1, 0) != 0) return;  // ready, or an error the call itself will report
    rt::yield(where);
  }
}

/// A wait's timeout as the polling loop needs it: for ever, none (poll once) or finite.
enum class Timeout : std::uint8_t { forever, none, finite };

Timeout timeout_of(int milliseconds) {
  return milliseconds < 0 ? Timeout::forever : milliseconds == 0 ? Timeout::none : Timeout::finite;
}
Timeout timeout_of(const timespec* t) {
  return t == nullptr                        ? Timeout::forever
         : t->tv_sec == 0 && t->tv_nsec == 0 ? Timeout::none
                                             : Timeout::finite;
}

/// Waits never block the OS thread (every simulated thread runs on it): `poll_once` asks the
/// kernel without waiting, and while nothing is ready the caller yields. A finite timeout returns
/// what a second poll says after one yield (there is no virtual time yet), so a wait nobody
/// satisfies ends in a livelock or step-bound finding, not a hang.
template <class PollOnce>
int wait_polling(Timeout timeout, const std::source_location& where, PollOnce&& poll_once) {
  for (;;) {
    const int n = poll_once();
    if (n != 0 || timeout == Timeout::none) return n;
    rt::yield(where);
    if (timeout == Timeout::finite) return poll_once();
  }
}

/// select's and pselect's sets: each descriptor in them (below nfds) is a use.
void check_sets(int nfds, const fd_set* r, const fd_set* w, const fd_set* e, const char* label,
                const std::source_location& where) {
  const int end = nfds < FD_SETSIZE ? nfds : FD_SETSIZE;
  for (int fd = 0; fd < end; ++fd) {
    if ((r != nullptr && FD_ISSET(fd, r)) || (w != nullptr && FD_ISSET(fd, w)) ||
        (e != nullptr && FD_ISSET(fd, e)))
      check_use(fd, label, where);
  }
}

/// select and pselect polled without waiting (wait_polling): each poll starts from the caller's
/// sets (a poll that finds nothing clears them).
template <class SelectOnce>
int select_polling(fd_set* r, fd_set* w, fd_set* e, Timeout timeout,
                   const std::source_location& where, SelectOnce&& select_once) {
  fd_set sets[3];
  fd_set* const user_sets[3] = {r, w, e};
  for (int k = 0; k < 3; ++k)
    if (user_sets[k] != nullptr) sets[k] = *user_sets[k];
  return wait_polling(timeout, where, [&] {
    for (int k = 0; k < 3; ++k)
      if (user_sets[k] != nullptr) *user_sets[k] = sets[k];
    return select_once();
  });
}

}  // namespace

namespace hc::native::detail {

void reset_descriptors() {
  close_execution_descriptors(/*free_streams=*/true);
  shadow().reset();
}

void report_leaked_descriptors() {
  if (!user()) return;
  EngineScope scope;
  for (const auto& [fd, inc] : shadow().numbers) {
    if (!inc.open) continue;
    const Incarnation leaked = inc;  // report() closes it
    report(
        FindingKind::handle_leak,
        fmt::format("descriptor {} is still open when the test body returns: {} opened it at "
                    "{} (step {}) and no thread closed it",
                    fd, thread_label(leaked.opener), site_text(leaked.open_site), leaked.open_step),
        leaked.open_site, fmt::format("handle-leak|{}", site_text(leaked.open_site)),
        {.steps = {leaked.open_step}, .objects = {leaked.object}});
    return;
  }
}

}  // namespace hc::native::detail

// --- the interposers ----------------------------------------------------------------------------

namespace {

mode_t mode_argument(int flags, va_list args) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE
             ? static_cast<mode_t>(va_arg(args, int))
             : 0;
}

template <class Call>
int open_like(const char* label, const void* pc, Call&& call) {
  EngineScope scope;
  const std::source_location where = site(pc);
  before_open(label, where);
  const int fd = call();
  if (fd >= 0) opened(fd, where);
  return fd;
}

template <class Call>
auto use_like(int fd, const char* label, const void* pc, short wait_for, Call&& call) {
  std::source_location where;
  {
    EngineScope scope;
    where = site(pc);
    check_use(fd, label, where);
    if (wait_for != 0) wait_ready(fd, wait_for, where);
  }
  return call();
}

int open_file(const char* path, int flags, mode_t mode, const void* pc) {
  static std::atomic<void*> real_slot{nullptr};  // see lazy_real (no function-local guard)
  const auto real = lazy_real<int (*)(const char*, int, ...)>(real_slot, "open");
  if (!user()) return real(path, flags, mode);
  return open_like("open", pc, [&] { return real(path, flags, mode); });
}

/// pipe, pipe2, socketpair: one call that opens two descriptors.
template <class Call>
int pair_like(const char* label, const void* pc, int fds[2], Call&& call) {
  EngineScope scope;
  const std::source_location where = site(pc);
  before_open(label, where);
  const int rc = call();
  if (rc == 0) {
    opened(fds[0], where);
    opened(fds[1], where);
  }
  return rc;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(path, flags, mode, HC_PC);
}

// open64 is open on 64-bit Linux (one entry in glibc); callers that name it come here.
int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(path, flags, mode, HC_PC);
}

int openat(int dirfd, const char* path, int flags, ...) {
  HC_REAL(openat);
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  if (!user()) return real(dirfd, path, flags, mode);
  return open_like("openat", HC_PC, [&] { return real(dirfd, path, flags, mode); });
}

int creat(const char* path, mode_t mode) {
  HC_REAL(creat);
  if (!user()) return real(path, mode);
  return open_like("creat", HC_PC, [&] { return real(path, mode); });
}

int dup(int old) {
  HC_REAL(dup);
  if (!user()) return real(old);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  check_use(old, "dup", where);
  before_open("dup", where);
  const int fd = real(old);
  if (fd >= 0) opened(fd, where);
  return fd;
}

int socket(int domain, int type, int protocol) {
  HC_REAL(socket);
  if (!user()) return real(domain, type, protocol);
  return open_like("socket", HC_PC, [&] { return real(domain, type, protocol); });
}

int eventfd(unsigned int count, int flags) {
  HC_REAL(eventfd);
  if (!user()) return real(count, flags);
  return open_like("eventfd", HC_PC, [&] { return real(count, flags); });
}

int pipe(int fds[2]) {
  HC_REAL(pipe);
  if (!user()) return real(fds);
  return pair_like("pipe", HC_PC, fds, [&] { return real(fds); });
}

int pipe2(int fds[2], int flags) {
  HC_REAL(pipe2);
  if (!user()) return real(fds, flags);
  return pair_like("pipe2", HC_PC, fds, [&] { return real(fds, flags); });
}

int socketpair(int domain, int type, int protocol, int fds[2]) {
  HC_REAL(socketpair);
  if (!user()) return real(domain, type, protocol, fds);
  return pair_like("socketpair", HC_PC, fds, [&] { return real(domain, type, protocol, fds); });
}

int close(int fd) {
  HC_REAL(close);
  if (!user()) return real(fd);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  Incarnation& inc = descriptor_call(fd, Access::write, "close", where);
  if (check_close(fd, inc, "close", where, nullptr)) return real(fd);
  const int rc = real(fd);
  mark_closed(inc, where);
  return rc;
}

// A use of a descriptor: its check, a wait for readiness when the call would block, the call.
#define HC_DESCRIPTOR_USE(RET, NAME, WAIT, PARAMS, ARGS)                \
  RET NAME PARAMS {                                                     \
    HC_REAL(NAME);                                                      \
    if (!user()) return real ARGS;                                      \
    return use_like(fd, #NAME, HC_PC, WAIT, [&] { return real ARGS; }); \
  }

HC_DESCRIPTOR_USE(ssize_t, read, POLLIN, (int fd, void* buf, size_t n), (fd, buf, n))
HC_DESCRIPTOR_USE(ssize_t, write, POLLOUT, (int fd, const void* buf, size_t n), (fd, buf, n))
HC_DESCRIPTOR_USE(ssize_t, pread, 0, (int fd, void* buf, size_t n, off_t at), (fd, buf, n, at))
HC_DESCRIPTOR_USE(ssize_t, pwrite, 0, (int fd, const void* buf, size_t n, off_t at),
                  (fd, buf, n, at))
HC_DESCRIPTOR_USE(ssize_t, readv, POLLIN, (int fd, const iovec* iov, int count), (fd, iov, count))
HC_DESCRIPTOR_USE(ssize_t, writev, POLLOUT, (int fd, const iovec* iov, int count), (fd, iov, count))
HC_DESCRIPTOR_USE(ssize_t, send, POLLOUT, (int fd, const void* buf, size_t n, int flags),
                  (fd, buf, n, flags))
HC_DESCRIPTOR_USE(int, fstat, 0, (int fd, struct stat* st), (fd, st))
HC_DESCRIPTOR_USE(off_t, lseek, 0, (int fd, off_t offset, int whence), (fd, offset, whence))
HC_DESCRIPTOR_USE(int, fsync, 0, (int fd), (fd))
HC_DESCRIPTOR_USE(int, ftruncate, 0, (int fd, off_t length), (fd, length))

int epoll_create1(int flags) {
  HC_REAL(epoll_create1);
  if (!user()) return real(flags);
  return open_like("epoll_create1", HC_PC, [&] { return real(flags); });
}

int epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  HC_REAL(epoll_ctl);
  if (!user()) return real(epfd, op, fd, event);
  {
    EngineScope scope;
    const std::source_location where = site(HC_PC);
    check_use(epfd, "epoll_ctl", where);
    check_use(fd, "epoll_ctl", where);
  }
  return real(epfd, op, fd, event);
}

// Waits never block the OS thread: they poll and yield (wait_polling).
int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
  HC_REAL(epoll_wait);
  if (!user()) return real(epfd, events, max, timeout);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  check_use(epfd, "epoll_wait", where);
  return wait_polling(timeout_of(timeout), where, [&] { return real(epfd, events, max, 0); });
}

int epoll_pwait(int epfd, epoll_event* events, int max, int timeout, const sigset_t* mask) {
  HC_REAL(epoll_pwait);
  if (!user()) return real(epfd, events, max, timeout, mask);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  check_use(epfd, "epoll_pwait", where);
  return wait_polling(timeout_of(timeout), where, [&] { return real(epfd, events, max, 0, mask); });
}

int poll(pollfd* fds, nfds_t count, int timeout) {
  HC_REAL(poll);
  if (!user()) return real(fds, count, timeout);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  for (nfds_t k = 0; k < count; ++k)
    if (fds[k].fd >= 0) check_use(fds[k].fd, "poll", where);
  return wait_polling(timeout_of(timeout), where, [&] { return real(fds, count, 0); });
}

int ppoll(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* mask) {
  HC_REAL(ppoll);
  if (!user()) return real(fds, count, timeout, mask);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  for (nfds_t k = 0; k < count; ++k)
    if (fds[k].fd >= 0) check_use(fds[k].fd, "ppoll", where);
  const timespec zero{};
  return wait_polling(timeout_of(timeout), where, [&] { return real(fds, count, &zero, mask); });
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
  HC_REAL(select);
  if (!user()) return real(nfds, r, w, e, timeout);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  check_sets(nfds, r, w, e, "select", where);
  const Timeout kind = timeout == nullptr                              ? Timeout::forever
                       : timeout->tv_sec == 0 && timeout->tv_usec == 0 ? Timeout::none
                                                                       : Timeout::finite;
  const int n = select_polling(r, w, e, kind, where, [&] {
    timeval zero{};
    return real(nfds, r, w, e, &zero);
  });
  if (n == 0 && timeout != nullptr) *timeout = timeval{};  // Linux: the time left, none
  return n;
}

int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* timeout,
            const sigset_t* mask) {
  HC_REAL(pselect);
  if (!user()) return real(nfds, r, w, e, timeout, mask);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  check_sets(nfds, r, w, e, "pselect", where);
  const timespec zero{};
  return select_polling(r, w, e, timeout_of(timeout), where,
                        [&] { return real(nfds, r, w, e, &zero, mask); });
}

namespace {

int accept_connection(int fd, sockaddr* address, socklen_t* length, int flags, const void* pc) {
  HC_REAL(accept4);
  if (!user()) return real(fd, address, length, flags);
  EngineScope scope;
  const std::source_location where = site(pc);
  check_use(fd, "accept", where);
  wait_ready(fd, POLLIN, where);
  before_open("accept", where);
  const int accepted = real(fd, address, length, flags);
  if (accepted >= 0) opened(accepted, where);
  return accepted;
}
}  // namespace

int accept4(int fd, sockaddr* address, socklen_t* length, int flags) {
  return accept_connection(fd, address, length, flags, HC_PC);
}

int accept(int fd, sockaddr* address, socklen_t* length) {
  return accept_connection(fd, address, length, 0, HC_PC);
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  HC_REAL(recv);
  if (!user()) return real(fd, buf, n, flags);
  return use_like(fd, "recv", HC_PC, (flags & MSG_DONTWAIT) != 0 ? 0 : POLLIN,
                  [&] { return real(fd, buf, n, flags); });
}

}  // extern "C"

namespace {

/// fcntl and fcntl64 (one function in glibc on 64-bit Linux). The third argument is read as a
/// pointer, as glibc reads it: an int, a long or a pointer alike (an absent one is never used).
/// F_DUPFD and F_DUPFD_CLOEXEC open a new incarnation like dup; every other command is a use.
/// A lock wait (F_SETLKW, F_OFD_SETLKW) tries the lock and yields while another holds it.
int fcntl_call(int fd, int cmd, void* arg, const void* pc) {
  static std::atomic<void*> real_slot{nullptr};  // see lazy_real (no function-local guard)
  const auto real = lazy_real<int (*)(int, int, ...)>(real_slot, "fcntl");
  if (!user()) return real(fd, cmd, arg);
  EngineScope scope;
  const std::source_location where = site(pc);
  check_use(fd, "fcntl", where);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    before_open("fcntl", where);
    const int copy = real(fd, cmd, arg);
    if (copy >= 0) opened(copy, where);
    return copy;
  }
  if (cmd != F_SETLKW && cmd != F_OFD_SETLKW) return real(fd, cmd, arg);
  const int try_cmd = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
  for (;;) {
    const int rc = real(fd, try_cmd, arg);
    if (rc == 0 || (errno != EAGAIN && errno != EACCES)) return rc;
    rt::yield(where);
  }
}

/// A stream closed where the shadow does not look (an fclose outside user code: a static's
/// destructor, run when the next execution starts): the shadow forgets it, so that it is not
/// closed again.
void forget_stream(FILE* stream) {
  // Also called outside executions (any fclose of the process: the watchdog's, a worker's
  // static's at the end of the run), where there is no shadow.
  Shadow* shadow_now = shadow_if_any();
  if (shadow_now == nullptr) return;
  Shadow& s = *shadow_now;
  std::erase(s.orphans, stream);
  for (auto& [fd, inc] : s.numbers) {
    if (inc.stream != stream) continue;
    inc.stream = nullptr;
    inc.open = false;
  }
}

/// fopen, fopen64: a new incarnation held by the stream.
template <class Call>
FILE* stream_open_like(const char* label, const void* pc, Call&& call) {
  EngineScope scope;
  const std::source_location where = site(pc);
  before_open(label, where);
  FILE* stream = call();
  if (stream != nullptr && fileno(stream) >= 0) opened(fileno(stream), where, stream);
  return stream;
}

}  // namespace

extern "C" {

int fcntl(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  return fcntl_call(fd, cmd, arg, HC_PC);
}

int fcntl64(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  return fcntl_call(fd, cmd, arg, HC_PC);
}

FILE* fopen(const char* path, const char* mode) {
  HC_REAL(fopen);
  if (!user()) return real(path, mode);
  return stream_open_like("fopen", HC_PC, [&] { return real(path, mode); });
}

// fopen64 is fopen on 64-bit Linux; libstdc++'s basic_filebuf::open calls this one.
FILE* fopen64(const char* path, const char* mode) {
  HC_REAL(fopen64);
  if (!user()) return real(path, mode);
  return stream_open_like("fopen64", HC_PC, [&] { return real(path, mode); });
}

// A stream over a descriptor the caller has: a use; the stream holds the number from now on.
FILE* fdopen(int fd, const char* mode) noexcept {
  HC_REAL(fdopen);
  if (!user()) return real(fd, mode);
  EngineScope scope;
  check_use(fd, "fdopen", site(HC_PC));
  FILE* stream = real(fd, mode);
  Incarnation& inc = shadow().numbers[fd];
  if (stream != nullptr && inc.open) inc.stream = stream;
  return stream;
}

// A new file on an old stream: the close of its number and an open. Without a path (a new mode
// for the same file) the number stays: a use (glibc reopens it under the same number).
FILE* freopen(const char* path, const char* mode, FILE* stream) {
  HC_REAL(freopen);
  if (!user()) return real(path, mode, stream);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  const int old = fileno(stream);
  if (old >= 0) {
    if (path == nullptr) {
      check_use(old, "freopen", where);
    } else {
      Incarnation& inc = descriptor_call(old, Access::write, "freopen", where);
      if (check_close(old, inc, "freopen", where, stream)) return nullptr;
    }
  }
  if (path != nullptr) before_open("freopen", where);
  FILE* result = real(path, mode, stream);
  if (old >= 0 && (path != nullptr || result == nullptr))  // closed (also when it fails)
    mark_closed(shadow().numbers[old], where);
  if (result != nullptr && path != nullptr && fileno(result) >= 0)
    opened(fileno(result), where, result);
  return result;
}

int fclose(FILE* stream) {
  HC_REAL(fclose);
  if (!user()) {
    forget_stream(stream);
    return real(stream);
  }
  EngineScope scope;
  const int fd = fileno(stream);
  if (fd < 0) {  // an orphan (orphan_stream), or no descriptor (fmemopen, open_memstream)
    std::erase(shadow().orphans, stream);
    return real(stream);
  }
  const std::source_location where = site(HC_PC);
  Incarnation& inc = descriptor_call(fd, Access::write, "fclose", where);
  if (check_close(fd, inc, "fclose", where, stream)) return EOF;
  const int rc = real(stream);
  mark_closed(inc, where);
  return rc;
}

}  // extern "C"

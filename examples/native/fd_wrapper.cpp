// fd_wrapper.cpp — a reference-counted descriptor wrapper, plain C++ tested unmodified
// (handlecheck::native; README, "Unmodified C++ code").
//
// The story: a connection object owns a descriptor through SharedFd, a hand-rolled intrusive
// reference count. A request thread takes a reference (add_ref) while it writes, and drops it
// when done; the owner drops its own reference on shutdown. Whoever drops the last reference
// closes the descriptor. With a plain `long` count the two decrements race: both threads can
// read 2 and write 1 (the descriptor leaks), or both can read 1 (it is closed twice, and the
// second close may hit a descriptor number the process has meanwhile reused for another file).
// handlecheck reports the data race on the count, naming both lines. The fix counts with
// std::atomic<long>: fetch_sub's result says who was last.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <thread>

#include "hc/native.hpp"

namespace {

template <class Count>
class SharedFd {
 public:
  explicit SharedFd(int fd) : fd_(fd) {}
  int get() const { return fd_; }
  void add_ref() { refs_ += 1; }
  void release() {
    if (--refs_ == 0) {
      const int rc = ::close(fd_);
      assert(rc == 0 && "the descriptor was closed twice");
      (void)rc;
    }
  }

 private:
  int fd_;
  Count refs_{1};
};

template <class Count>
void serve_one_request() {
  SharedFd<Count> conn(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  conn.add_ref();  // the request thread's reference
  std::thread request([&conn] {
    const char reply[] = "ok";
    (void)!::write(conn.get(), reply, sizeof reply);
    conn.release();
  });
  conn.release();  // shutdown drops the owner's reference
  request.join();
}

}  // namespace

// excerpt-begin: test
HC_NATIVE_TEST("native/fd-wrapper-refcount", .expect = hc::FindingKind::data_race,
               .message = "examples/native/fd_wrapper.cpp:",
               .summary =
                   "a descriptor wrapper counts references in a plain long: two releases "
                   "race, and the descriptor leaks or is closed twice") {
  serve_one_request<long>();
}
// excerpt-end: test

HC_NATIVE_TEST("native/fd-wrapper-refcount.fixed",
               .summary = "the count is a std::atomic<long>: exactly one release closes it") {
  serve_one_request<std::atomic<long>>();
}

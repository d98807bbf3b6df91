// shared_fd.cpp — a descriptor owned by a std::shared_ptr whose deleter calls close(), plain C++
// tested unmodified (handlecheck::native; README, "Unmodified C++ code").
//
// The story: a connection's descriptor lives in a std::shared_ptr<File> whose deleter closes it.
// The process also keeps, per descriptor number, what that number is for (a table indexed by
// number, as an epoll server keeps its connections): opening fills the entry, the deleter clears
// it. A request thread gets its own copy of the shared_ptr. The buggy request copies the raw
// number out (`int fd = conn->fd;`), drops its copy and then writes through fd; meanwhile the
// owner drops the last copy on shutdown, and the deleter closes the descriptor: the write goes to
// a closed number, or — once the process opens another file and gets the number back — to that
// file. handlecheck reports the data race on the table entry for that number between the
// request's use of it and the deleter's update, naming both lines. The fix keeps the shared_ptr
// until the write is done, so the last owner's close happens after it.
//
// Descriptors are real here (handlecheck::native does not model them yet: it cannot see that a
// close orders the open that reuses the number); the table is what makes the stale use visible,
// as plain memory the engine checks.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "hc/native.hpp"

namespace {

/// What each descriptor number is for (the path it was opened on), or nullptr while it is closed.
class FdTable {
 public:
  int open(const char* path) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    if (static_cast<std::size_t>(fd) >= names_.size()) names_.resize(fd + 1, nullptr);
    names_[fd] = path;
    return fd;
  }
  void closed(int fd) { names_[fd] = nullptr; }
  /// Writes `text` to `fd`, if the table says it is open.
  bool send(int fd, const char* text) {
    if (names_[fd] == nullptr) return false;
    return ::write(fd, text, std::strlen(text)) >= 0;
  }

 private:
  std::vector<const char*> names_ = std::vector<const char*>(64, nullptr);
};

struct File {
  int fd;
};

/// A shared descriptor: the last owner's release closes it.
std::shared_ptr<File> open_shared(FdTable& table, const char* path) {
  return std::shared_ptr<File>(new File{table.open(path)}, [&table](File* file) {
    ::close(file->fd);
    table.closed(file->fd);
    delete file;
  });
}

enum class Request { copies_raw_fd, keeps_owner };

template <Request How>
void serve_and_shut_down() {
  FdTable table;
  auto conn = open_shared(table, "/dev/null");
  std::thread request([&table, mine = conn]() mutable {
    if constexpr (How == Request::copies_raw_fd) {
      const int fd = mine->fd;  // the raw number, copied out of the shared_ptr
      mine.reset();             // done with the connection, but not with fd
      table.send(fd, "reply");  // fd may be closed, or name another file, by now
    } else {
      table.send(mine->fd, "reply");  // the shared_ptr keeps the descriptor open meanwhile
      mine.reset();
    }
  });
  conn.reset();  // shutdown drops the owner's copy
  request.join();
}

}  // namespace

HC_NATIVE_TEST("native/shared-fd-raw-copy", .expect = hc::FindingKind::data_race,
               .message = "examples/native/shared_fd.cpp:",
               .summary =
                   "a request copies the raw descriptor out of its shared_ptr and drops it: "
                   "the last owner's deleter closes the number under the request's write") {
  serve_and_shut_down<Request::copies_raw_fd>();
}

HC_NATIVE_TEST("native/shared-fd-raw-copy.fixed",
               .summary = "the request keeps its shared_ptr until its write is done") {
  serve_and_shut_down<Request::keeps_owner>();
}

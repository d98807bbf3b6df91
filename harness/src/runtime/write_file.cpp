// write_file.cpp — see hc/write_file.hpp.
#include "hc/write_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc {
namespace {

[[noreturn]] void fail(const std::string& path, int error, const char* what) {
  throw usage_error(fmt::format(
      "cannot write '{}': {} ({}){}", path, std::strerror(error), what,
      error == ENOSPC || error == EDQUOT ? ": free some space, or write elsewhere"
      : error == EROFS || error == EACCES || error == EPERM ? ": choose a writable directory"
                                                            : ""));
}

}  // namespace

std::string write_temporary_file(const std::string& path, std::string_view text) {
  const std::filesystem::path target(path);
  if (target.filename().empty()) fail(path, EISDIR, "the name is a directory");
  if (const auto parent = target.parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) fail(path, ec.value(), "creating its directory");
  }
  const std::string temporary = fmt::format("{}.tmp{}", path, ::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, errno, "creating a temporary file beside it");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(temporary.c_str());
      fail(path, error, "writing");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    fail(path, error, "flushing to disk");
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail(path, error, "closing");
  }
  return temporary;
}

bool file_holds(const std::string& path, std::string_view text) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) != text.size() || ec) return false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string read(text.size(), '\0');
  std::size_t done = 0;
  while (done < read.size()) {
    const ssize_t n = ::read(fd, read.data() + done, read.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return done == read.size() && read == text;
}

void write_file_atomically(const std::string& path, std::string_view text) {
  if (file_holds(path, text)) return;  // written already (the header says why)
  const std::string temporary = write_temporary_file(path, text);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail(path, error, "moving it into place");
  }
}

}  // namespace hc

// linux_close.hpp — the words the two POSIX models (HandleTable's POSIX style, PosixIo) give a
// blocked call that a close(2) from another thread did not wake: its line of the deadlock
// finding, should nothing else wake it (rt::set_wait_note). Private to models/src.
#pragma once

#include <source_location>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "hc/models/common.hpp"

namespace hc::models::detail {

/// "read(fd 3) is blocked on File 'x', and thread 'T' closed fd 3 at step 7 (close at f.cpp:40),
/// but on Linux close(2) does not wake ... (close(2), NOTES); to stop it, <fix>".
inline std::string close_does_not_wake(std::string_view call, std::string_view fd,
                                       std::string_view object, const Provenance& close,
                                       const std::source_location& where, std::string_view fix) {
  return fmt::format(
      "{}({}) is blocked on {}, and thread '{}' closed {} at step {} (close at {}), but on Linux "
      "close(2) does not wake a thread blocked in a system call on that descriptor: the call "
      "keeps its own reference to the open file description and waits on (close(2), NOTES); to "
      "stop it, {}",
      call, fd, object, close.thread_name, fd, close.step, site(where), fix);
}

}  // namespace hc::models::detail

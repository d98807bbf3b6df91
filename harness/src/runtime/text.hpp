// text.hpp — small helpers the runtime and the detectors share: thread masks and how a source
// location is printed in a finding.
#pragma once

#include <bit>
#include <source_location>
#include <string>

#include <fmt/format.h>

#include "hc/strategy.hpp"
#include "runtime/paths.hpp"

namespace hc::detail {

constexpr ThreadMask bit(ThreadId t) {
  return ThreadMask{1} << t;
}
inline ThreadId lowest(ThreadMask m) {
  return static_cast<ThreadId>(std::countr_zero(m));
}

/// "file:line" relative to the project, or what to do when the line was not recorded.
inline std::string site(const std::source_location& where) {
  if (where.line() == 0)
    return "an unrecorded line (an implicit conversion: call read() or load())";
  return fmt::format("{}:{}", display_path(where.file_name()), where.line());
}

}  // namespace hc::detail

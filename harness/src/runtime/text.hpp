// text.hpp — small helpers the runtime and the detectors share: thread masks, type names and
// how a source location is printed in a finding.
#pragma once

#include <cxxabi.h>

#include <bit>
#include <cstdlib>
#include <memory>
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

/// A type name as people write it ("std::runtime_error"), or the mangled one if that fails.
inline std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

/// "file:line" relative to the project, or what to do when the line was not recorded.
inline std::string site(const std::source_location& where) {
  if (where.line() == 0)
    return "an unrecorded line (an implicit conversion: call read() or load())";
  return fmt::format("{}:{}", display_path(where.file_name()), where.line());
}

}  // namespace hc::detail

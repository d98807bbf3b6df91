// paths.hpp — how source locations are printed: relative to the project's source tree when
// they are inside it (reports then read the same on every machine), absolute otherwise.
#pragma once

#include <string>
#include <string_view>

namespace hc::detail {

inline std::string display_path(std::string_view file) {
#ifdef HC_SOURCE_ROOT
  constexpr std::string_view root = HC_SOURCE_ROOT "/";
  if (file.starts_with(root)) file.remove_prefix(root.size());
#endif
  return std::string(file);
}

}  // namespace hc::detail

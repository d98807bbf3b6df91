// paths.hpp — how source locations are printed: relative to the project's source tree when
// they are inside it (reports then read the same on every machine, and with or without ccache's
// relative paths), as the compiler was given them otherwise.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace hc::detail {

inline std::string display_path(std::string_view file) {
#ifdef HC_SOURCE_ROOT
  constexpr std::string_view root = HC_SOURCE_ROOT "/";
  if (file.starts_with(root)) return std::string(file.substr(root.size()));
#ifdef HC_BINARY_ROOT
  // A path that steps out of a directory is relative to where the compiler ran, the build
  // tree's top (Ninja runs every compilation there): ccache with CCACHE_BASEDIR hands it
  // "../scenarios/x.cpp". Other relative paths are already from the source root (the root
  // CMakeLists.txt maps both spellings with -fmacro-prefix-map) and are kept as they are.
  if (file.starts_with("../")) {
    const std::string absolute =
        (std::filesystem::path(HC_BINARY_ROOT) / file).lexically_normal().string();
    if (std::string_view(absolute).starts_with(root)) return absolute.substr(root.size());
  }
#endif
#endif
  return std::string(file);
}

}  // namespace hc::detail

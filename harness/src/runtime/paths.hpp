// paths.hpp — how source locations are printed: relative to the project's source tree when
// they are inside it (reports then read the same on every machine), absolute otherwise.
//
// Surprise: a compiler names a file the way its command line did. ccache's base_dir rewrites
// absolute paths under it to paths relative to the compiler's working directory, a build
// directory, so a file of the tree arrives as "../scenarios/x.cpp" (Ninja) or
// "../../scenarios/x.cpp" (Makefiles, which compile in each target's directory). The "../"
// that step out of the build directory are dropped: that names the file from the source root
// whenever the build directory lies inside it (build/, build/release/), as the README's does.
#pragma once

#include <string>
#include <string_view>

namespace hc::detail {

inline std::string display_path(std::string_view file) {
#ifdef HC_SOURCE_ROOT
  constexpr std::string_view root = HC_SOURCE_ROOT "/";
  if (file.starts_with(root)) file.remove_prefix(root.size());
#endif
  while (file.starts_with("../"))
    file.remove_prefix(3);
  return std::string(file);
}

}  // namespace hc::detail

// hc/json_input.hpp — limits every JSON file handlecheck reads (replay files, checkpoints,
// summaries) is held to before a parser sees it.
//
//   if (auto why = hc::json_nesting_error(text)) return error(*why);
//
// nlohmann::json parses recursively: a file nested 100,000 deep overflows the stack. No file
// handlecheck writes nests deeper than a handful of levels, so anything past kMaxJsonNesting
// is refused with a message instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hc {

inline constexpr int kMaxJsonNesting = 64;

/// Why `text` nests arrays and objects deeper than `limit`, or nullopt when it does not.
inline std::optional<std::string> json_nesting_error(std::string_view text,
                                                     int limit = kMaxJsonNesting) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return fmt::format(
            "arrays and objects nest deeper than {} levels (at byte {}): not a "
            "file handlecheck wrote",
            limit, i);
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace hc

// choices.cpp — the choice-string form of a schedule ("1.2.v0.1"), accepted by --replay.
#include <charconv>

#include <fmt/format.h>

#include "hc/strategy.hpp"

namespace hc {

std::string format_choices(std::span<const Choice> choices) {
  std::string out;
  out.reserve(choices.size() * 3);
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i != 0) out += '.';
    if (choices[i].kind == Choice::Kind::value) out += 'v';
    out += std::to_string(choices[i].value);
  }
  return out;
}

std::optional<std::vector<Choice>> parse_choices(std::string_view text, std::string* error) {
  std::vector<Choice> out;
  if (text.empty()) return out;
  std::size_t index = 0;
  while (true) {
    const std::size_t dot = text.find('.');
    std::string_view item = text.substr(0, dot);
    ++index;
    Choice c;
    if (!item.empty() && item.front() == 'v') {
      c.kind = Choice::Kind::value;
      item.remove_prefix(1);
    }
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() ||
        (c.kind == Choice::Kind::thread && value >= kMaxThreads)) {
      if (error != nullptr) {
        *error = fmt::format(
            "choice {} is '{}': expected a thread id (0-{}) or 'v' and a value, separated by "
            "dots, as in 1.2.v0.1",
            index, text.substr(0, dot), kMaxThreads - 1);
      }
      return std::nullopt;
    }
    c.value = value;
    out.push_back(c);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return out;
}

}  // namespace hc

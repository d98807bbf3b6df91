// common.cpp — helpers the handlecheck commands share (see cli.hpp).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/cli.hpp"
#include "hc/reports/terminal.hpp"

namespace hc::cli {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best_distance <= std::max<std::size_t>(3, word.size() / 3) ? best : std::string();
}

std::string tags_text(const ScenarioInfo& info) {
  std::string out;
  for (std::string_view t : info.tags)
    out += fmt::format("{}{}", out.empty() ? "" : ",", t);
  return out;
}

std::string expected_text(const ScenarioInfo& info) {
  return expected_kinds_text(info.expect);
}

bool has_tag(const Scenario& s, std::string_view tag) {
  return std::find(s.info.tags.begin(), s.info.tags.end(), tag) != s.info.tags.end();
}

/// Finds a long option the user mistyped before CLI11 sees it, to name the closest match.
void check_long_options(const CLI::App& command, const std::vector<std::string>& args) {
  std::vector<std::string> known;
  for (const CLI::Option* o : command.get_options()) {
    for (const std::string& n : o->get_lnames())
      known.push_back("--" + n);
  }
  for (const std::string& arg : args) {
    if (!arg.starts_with("--") || arg == "--") continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const std::string hint = closest(name, known);
    throw UsageError{fmt::format(
        "unknown option '{}' for 'handlecheck {}'{}; see 'handlecheck {} "
        "--help'",
        name, command.get_name(), hint.empty() ? "" : fmt::format(": did you mean '{}'?", hint),
        command.get_name())};
  }
}

/// A whole number in [0, 2^64): CLI11 would wrap "-1" and accept "".
const CLI::Validator kWholeNumber(
    [](std::string& text) -> std::string {
      const bool digits =
          !text.empty() && text.size() <= 20 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits && (text.size() < 20 || text <= "18446744073709551615")) return {};
      return fmt::format("'{}' is not a whole number from 0 to 18446744073709551615", text);
    },
    "UINT");

void add_output_options(CLI::App& command, OutputStyle& style) {
  command.add_flag("--columns", style.columns,
                   "Show the interleaving as a column per thread, a row per step (fitted to the "
                   "terminal's width, else 100 columns)");
  command
      .add_option("--color", style.colour,
                  "Colour PASS, FAIL and finding kinds: auto (on a terminal, unless NO_COLOR "
                  "is set), always or never")
      ->capture_default_str();
}

reports::TextLayout text_layout(const OutputStyle& style) {
  const auto mode = reports::parse_colour_mode(style.colour);
  if (!mode) {
    throw UsageError{
        fmt::format("--color '{}': say auto, always or never (NO_COLOR in the environment turns "
                    "auto off)",
                    style.colour)};
  }
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  reports::TextLayout layout;
  layout.columns = style.columns;
  layout.width = terminal ? reports::terminal_width_of(STDOUT_FILENO) : 100;
  layout.colour =
      reports::use_colour(*mode, terminal, std::getenv("NO_COLOR"), std::getenv("TERM"));
  return layout;
}

}  // namespace hc::cli

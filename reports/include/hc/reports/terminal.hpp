// hc/reports/terminal.hpp — what a terminal shows: lines fitted to its width, ETAs in words,
// whether to colour, colours for verdicts and finding kinds, and the progress line of a run.
//
// Everything but terminal_width_of() is a pure function of its arguments (the CLI does the
// I/O), so tests call them directly:
//
//   const std::size_t width = hc::reports::terminal_width_of(STDERR_FILENO);  // ioctl, $COLUMNS,
//   80 std::string line = hc::reports::fit_to_width(hc::reports::progress_text(facts), width - 1);
//   hc::reports::eta_text(8000.0);  // "2 h 13 min"
//
// Widths count bytes: the texts fitted here (names, numbers, kinds) are ASCII.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hc/explorer.hpp"

namespace hc::reports {

/// --color: auto (colour on a terminal unless NO_COLOR is set), always, never.
enum class ColourMode { automatic, always, never };

/// "auto", "always" or "never"; nullopt for anything else.
std::optional<ColourMode> parse_colour_mode(std::string_view text);

/// Whether to colour a stream: always and never decide by themselves (an explicit option beats
/// NO_COLOR, as no-color.org asks); auto colours only a terminal, and not when `no_color` (the
/// NO_COLOR variable, nullptr when unset) is set to a non-empty value or `term` ($TERM) is
/// "dumb".
bool use_colour(ColourMode mode, bool is_terminal, const char* no_color, const char* term);

/// The width to fit: the terminal's (`ioctl_columns`, 0 when unknown), else $COLUMNS
/// (`columns_env`, nullptr when unset) when it is a positive number, else `fallback`.
std::size_t terminal_width(unsigned ioctl_columns, const char* columns_env,
                           std::size_t fallback = 80);

/// terminal_width() of the terminal on `fd` (TIOCGWINSZ) and the environment's $COLUMNS.
std::size_t terminal_width_of(int fd, std::size_t fallback = 80);

/// `line` cut to `width` columns, ending in "..." when cut: never wraps.
std::string fit_to_width(std::string_view line, std::size_t width);

/// A duration as people say it: "45 s", "12 min 5 s", "2 h 13 min", "3 d 4 h", "> 1 year";
/// "?" for a negative or unknown (NaN) one.
std::string eta_text(double seconds);

/// What a coloured piece of text is.
enum class Paint {
  pass,     // PASS
  fail,     // FAIL
  part,     // PART (a shard's or an interrupted run's partial verdict)
  finding,  // a finding kind's name
};

/// `text` in the colour of `paint` (ANSI SGR codes via fmt/color.h) when `colour`, else as is.
std::string paint(std::string_view text, Paint paint, bool colour);

/// What the progress line of one scenario knows.
struct ProgressFacts {
  std::string_view scenario;
  std::size_t position = 0;  // 1-based index of the scenario in the run ...
  std::size_t count = 1;     // ... of this many (the line shows [position/count] when > 1)
  std::string_view strategy;
  bool reduces = false;              // dpor: Knuth estimates the dfs tree, an upper bound
  std::uint64_t max_executions = 0;  // the execution budget (0: none)
  double time_budget_seconds = 0;    // the time budget (0: none)
  Progress progress;
};

/// The progress line, without "\r" or newline: executions, rate, findings, depth; then how
/// far: a percentage of the execution budget, of Knuth's estimate (exhaustive strategies) or
/// of the time budget (the nearest to the end), and the ETA (the soonest end) in words. With a
/// `width` (0: none), what matters least goes first until it fits (depth, dpor's dfs tree, the
/// rate, what the percentage is of, the findings), then fit_to_width cuts the rest.
std::string progress_text(const ProgressFacts& facts, std::size_t width = 0);

}  // namespace hc::reports

#include "hc/reports/terminal.hpp"

#include <sys/ioctl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include <fmt/color.h>
#include <fmt/format.h>

namespace hc::reports {

std::optional<ColourMode> parse_colour_mode(std::string_view text) {
  if (text == "auto") return ColourMode::automatic;
  if (text == "always") return ColourMode::always;
  if (text == "never") return ColourMode::never;
  return std::nullopt;
}

bool use_colour(ColourMode mode, bool is_terminal, const char* no_color, const char* term) {
  switch (mode) {
    case ColourMode::always:
      return true;
    case ColourMode::never:
      return false;
    case ColourMode::automatic:
      break;
  }
  if (no_color != nullptr && *no_color != '\0') return false;
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return is_terminal;
}

std::size_t terminal_width(unsigned ioctl_columns, const char* columns_env, std::size_t fallback) {
  if (ioctl_columns > 0) return ioctl_columns;
  if (columns_env != nullptr) {
    const std::string_view text(columns_env);
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && value > 0) return value;
  }
  return fallback;
}

std::size_t terminal_width_of(int fd, std::size_t fallback) {
  winsize size{};
  const unsigned columns = ::ioctl(fd, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
  return terminal_width(columns, std::getenv("COLUMNS"), fallback);
}

std::string fit_to_width(std::string_view line, std::size_t width) {
  if (line.size() <= width) return std::string(line);
  if (width <= 3) return std::string(line.substr(0, width));
  return std::string(line.substr(0, width - 3)) + "...";
}

std::string eta_text(double seconds) {
  if (std::isnan(seconds) || seconds < 0) return "?";
  constexpr double kYear = 365.0 * 24 * 3600;
  if (seconds >= kYear) return "> 1 year";
  const auto s = static_cast<std::uint64_t>(std::llround(seconds));
  auto two = [](std::uint64_t big, const char* big_unit, std::uint64_t small,
                const char* small_unit) {
    return small == 0 ? fmt::format("{} {}", big, big_unit)
                      : fmt::format("{} {} {} {}", big, big_unit, small, small_unit);
  };
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return two(s / 60, "min", s % 60, "s");
  if (s < 86400) return two(s / 3600, "h", s % 3600 / 60, "min");
  return two(s / 86400, "d", s % 86400 / 3600, "h");
}

std::string paint(std::string_view text, Paint paint, bool colour) {
  if (!colour) return std::string(text);
  const fmt::terminal_color c = paint == Paint::pass   ? fmt::terminal_color::green
                                : paint == Paint::fail ? fmt::terminal_color::red
                                : paint == Paint::part ? fmt::terminal_color::yellow
                                                       : fmt::terminal_color::magenta;
  return fmt::format(fmt::fg(c) | fmt::emphasis::bold, "{}", text);
}

std::string progress_text(const ProgressFacts& facts, std::size_t width) {
  const Progress& p = facts.progress;
  const double done = static_cast<double>(p.executions);
  const double rate = p.seconds > 0 ? done / p.seconds : 0;
  // How far, by the known end nearest to being reached; the ETA is the soonest end.
  constexpr double kUnknown = std::numeric_limits<double>::infinity();
  double share = -1;
  std::string share_of;
  double eta = kUnknown;
  bool eta_bound = false;    // an upper bound (dpor under the dfs tree's estimate)
  bool of_estimate = false;  // the share is of Knuth's estimate, which a run may pass
  std::string tree;          // dpor: the size of the dfs tree it reduces
  auto remaining = [&](double total) { return rate > 0 ? (total - done) / rate : kUnknown; };
  const double budget = static_cast<double>(facts.max_executions);
  const double estimate = p.estimated_total >= 1 ? p.estimated_total : 0;
  if (facts.max_executions > 0 && (estimate == 0 || facts.reduces || budget <= estimate)) {
    share = done / budget;
    share_of = fmt::format(" of {}", facts.max_executions);
    eta = remaining(budget);
  } else if (estimate > 0 && !facts.reduces) {
    share = done / estimate;
    share_of = fmt::format(" of ~{:.3g} (Knuth)", estimate);
    of_estimate = true;
    eta = share < 1 ? remaining(estimate) : kUnknown;
  }
  if (estimate > 0 && facts.reduces) {
    tree = fmt::format(", dfs tree ~{:.3g} (Knuth; {} explores less)", estimate, facts.strategy);
    if (done < estimate && remaining(estimate) < eta) {
      eta = remaining(estimate);
      eta_bound = true;
    }
  }
  if (facts.time_budget_seconds > 0) {
    const double time_share = p.seconds / facts.time_budget_seconds;
    if (time_share > share) {
      share = time_share;
      share_of = fmt::format(" of {}", eta_text(facts.time_budget_seconds));
      of_estimate = false;
    }
    if (facts.time_budget_seconds - p.seconds < eta) {
      eta = std::max(0.0, facts.time_budget_seconds - p.seconds);
      eta_bound = false;
    }
  }

  // The parts in the order they are shown; `drop` orders what goes first when the line does
  // not fit (0: kept): depth, the dfs tree, the rate, what the share is of, the findings.
  struct Part {
    std::string text;
    int drop;
  };
  std::vector<Part> parts;
  parts.push_back({facts.count > 1 ? fmt::format("[{}/{}] ", facts.position, facts.count) : "", 0});
  parts.push_back({fmt::format("{}: {} executions", facts.scenario, p.executions), 0});
  parts.push_back({fmt::format(", {:.0f}/s", rate), 3});
  parts.push_back({fmt::format(", {} finding{}", p.findings, p.findings == 1 ? "" : "s"), 1});
  parts.push_back({fmt::format(", depth {}", p.depth), 5});
  parts.push_back({tree, 4});
  if (share >= 1 && of_estimate) {
    parts.push_back({", past the estimate", 0});
    parts.push_back({share_of, 2});
  } else if (share >= 0) {
    parts.push_back(
        {fmt::format(", {}{:.0f}%", of_estimate ? "~" : "", 100 * std::min(share, 1.0)), 0});
    parts.push_back({share_of, 2});
  }
  if (eta != kUnknown)
    parts.push_back({fmt::format(", ETA {}{}", eta_bound ? "at most ~" : "", eta_text(eta)), 0});

  auto joined = [&] {
    std::string out;
    for (const Part& part : parts)
      out += part.text;
    return out;
  };
  std::string out = joined();
  for (int drop = 5; width != 0 && out.size() > width && drop >= 1; --drop) {
    for (Part& part : parts) {
      if (part.drop == drop) part.text.clear();
    }
    out = joined();
  }
  return width == 0 ? out : fit_to_width(out, width);
}

}  // namespace hc::reports

// list_commands.cpp — `handlecheck list` (the scenario catalogue) and `handlecheck strategies`
// (the strategy table).
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli.hpp"

namespace hc::cli {
namespace {

/// The catalogue as a Markdown table (the README's).
void print_markdown(const std::string& tag) {
  std::cout << "| scenario | pattern | source | expected verdict | what it shows |\n"
               "|---|---|---|---|---|\n";
  for (const hc::Scenario& s : hc::scenarios()) {
    if (!tag.empty() && !has_tag(s, tag)) continue;
    std::cout << fmt::format("| `{}` | {} | {} | {} | {} |\n", s.info.name, s.info.pattern,
                             s.info.source, expected_text(s.info), s.info.summary);
  }
}

}  // namespace

/// `handlecheck strategies [--markdown]`: the strategy table.
int strategies_command(bool markdown) {
  auto kind = [](hc::SearchKind k) {
    switch (k) {
      case hc::SearchKind::exhaustive:
        return "exhaustive";
      case hc::SearchKind::seeded:
        return "seeded";
      case hc::SearchKind::single:
        return "single";
    }
    return "?";
  };
  if (markdown) {
    std::cout << "| strategy | search | what it does |\n|---|---|---|\n";
  }
  for (const hc::StrategyInfo& row : hc::strategy_table()) {
    std::cout << (markdown ? fmt::format("| `{}` | {} | {} |\n", row.name, kind(row.kind), row.help)
                           : fmt::format("{:<12} {:<10} {}\n", row.name, kind(row.kind), row.help));
  }
  return kExitOk;
}

int list_command(const std::string& tag, bool names_only, bool markdown) {
  if (markdown) {
    print_markdown(tag);
    return kExitOk;
  }
  std::size_t width = 4;
  for (const hc::Scenario& s : hc::scenarios())
    width = std::max(width, s.info.name.size());
  std::size_t shown = 0;
  for (const hc::Scenario& s : hc::scenarios()) {
    if (!tag.empty() && !has_tag(s, tag)) continue;
    ++shown;
    if (names_only) {
      std::cout << s.info.name << "\n";
      continue;
    }
    std::cout << fmt::format("{:<{}}  expect {:<20} [{}]  {}\n", s.info.name, width,
                             expected_text(s.info), tags_text(s.info), s.info.summary);
  }
  if (shown == 0 && !tag.empty())
    throw UsageError{fmt::format("no scenario has the tag '{}'", tag)};
  return kExitOk;
}

}  // namespace hc::cli

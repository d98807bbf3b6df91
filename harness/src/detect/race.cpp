// race.cpp — the data-race finding: both accesses, their threads, sites and steps.
// The detection itself (vector-clock epochs, FastTrack-style) is in Execution::var_op.
#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "runtime/execution.hpp"
#include "runtime/paths.hpp"
#include "runtime/text.hpp"

namespace hc::detail {

Finding Execution::race_finding(ObjectId object, const Epoch& earlier, bool earlier_write,
                                bool now_write, const std::source_location& where) {
  const bool constructed = earlier.where.line() == 0;
  const std::string earlier_site =
      constructed ? std::string("when it was constructed")
                  : fmt::format("at {} (step {})", site(earlier.where), earlier.step);
  // The message names this access's step, then the earlier one's (unless construction).
  FindingRefs refs{.steps = {static_cast<std::uint32_t>(trace_.size())}, .objects = {object}};
  if (!constructed) refs.steps.push_back(earlier.step);
  Finding f = make_finding(
      FindingKind::data_race,
      fmt::format("data race on {}: thread '{}' {} it at {} (step {}), and thread '{}' {} it {}; "
                  "no happens-before edge (lock, atomic, event, thread start or join) orders "
                  "the two accesses",
                  object_label(object), thread_name(current_), now_write ? "writes" : "reads",
                  site(where), trace_.size(), thread_name(earlier.thread),
                  earlier_write ? "wrote" : "read", earlier_site),
      &where, refs);
  std::string a = fmt::format("{}:{}", site(earlier.where), earlier_write ? "w" : "r");
  std::string b = fmt::format("{}:{}", site(where), now_write ? "w" : "r");
  if (b < a) std::swap(a, b);
  f.signature = fmt::format("data-race|{}|{}|{}", object_label(object), a, b);
  return f;
}

}  // namespace hc::detail

// race.cpp — RaceDetector's finding (the protocol and the detection: race.hpp): both
// accesses, their threads, sites and steps.
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

Finding RaceDetector::finding(const Execution& exec, ObjectId object, const Race& race,
                              bool now_write, const std::source_location& where,
                              bool between_steps) const {
  const Epoch& earlier = *race.earlier;
  const bool earlier_write = race.earlier_write;
  const std::uint32_t step = exec.step_count();
  const bool constructed = earlier.where.line() == 0 && !between_steps;
  // A native plain access (rt::plain_access) is no step: it came after its thread's latest one.
  auto when = [between_steps](std::uint32_t s) {
    if (!between_steps) return fmt::format("step {}", s);
    return s == 0 ? std::string("before step 1") : fmt::format("after step {}", s);
  };
  const std::string earlier_site =
      constructed ? std::string("when it was constructed")
                  : fmt::format("at {} ({})", site(earlier.where), when(earlier.step));
  // The message names this access's step, then the earlier one's (unless construction).
  FindingRefs refs{.steps = {step}, .objects = {object}};
  if (!constructed) refs.steps.push_back(earlier.step);
  Finding f = exec.make_finding(
      FindingKind::data_race,
      fmt::format("data race on {}: thread '{}' {} it at {} ({}), and thread '{}' {} it {}; "
                  "no happens-before edge (lock, atomic, event, thread start or join) orders "
                  "the two accesses",
                  exec.object_label(object), exec.thread_name_view(exec.current_thread()),
                  now_write ? "writes" : "reads", site(where), when(step),
                  exec.thread_name_view(earlier.thread), earlier_write ? "wrote" : "read",
                  earlier_site),
      &where, refs);
  std::string a = fmt::format("{}:{}", site(earlier.where), earlier_write ? "w" : "r");
  std::string b = fmt::format("{}:{}", site(where), now_write ? "w" : "r");
  if (b < a) std::swap(a, b);
  f.signature = fmt::format("data-race|{}|{}|{}", exec.object_label(object), a, b);
  return f;
}

}  // namespace hc::detail

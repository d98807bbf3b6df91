// step_bound.cpp — StepBoundDetector's finding (the protocol: step_bound.hpp): which thread
// took the last steps, and where, with the advice that tells a spin-wait from a livelock.
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

Finding StepBoundDetector::finding(const Execution& exec) const {
  const std::span<const Step> trace = exec.trace();
  // Who was running, and where: count over the last steps.
  const std::size_t window = std::min<std::size_t>(trace.size(), 1000);
  std::array<std::uint32_t, kMaxThreads> per_thread{};
  for (std::size_t i = trace.size() - window; i < trace.size(); ++i)
    ++per_thread[trace[i].thread];
  const auto busiest = static_cast<ThreadId>(
      std::max_element(per_thread.begin(), per_thread.end()) - per_thread.begin());
  std::map<std::pair<std::string, std::uint32_t>, std::uint32_t> sites;  // ordered: stable text
  const Step* example = nullptr;  // the first step at the site the busiest thread ran most
  std::uint32_t hottest = 0;      // how often it ran there
  auto example_site = sites.end();
  for (std::size_t i = trace.size() - window; i < trace.size(); ++i) {
    const Step& s = trace[i];
    if (s.thread != busiest) continue;
    const auto site_it =
        sites.try_emplace({display_path(s.where.file_name()), s.where.line()}, 0).first;
    if (++site_it->second <= hottest) continue;
    hottest = site_it->second;
    if (site_it != example_site) {
      example = &s;
      example_site = site_it;
    }
  }
  // A loop repeats its sites; a scenario that is merely longer than the bound does not.
  const bool looping = hottest >= 3;
  std::string hot;
  FindingRefs refs;  // the object the busiest thread used most, which the message names
  if (example != nullptr) {
    refs.objects.push_back(example->object);
    const std::string obj = exec.object_label(example->object);
    hot = fmt::format(", mostly {}{} at {}", op_kind_name(example->kind),
                      obj.empty() ? std::string() : " of " + obj, site(example->where));
  }
  Finding f = exec.make_finding(
      FindingKind::step_bound_exceeded,
      fmt::format(
          "step bound exceeded: the execution ran {} steps without finishing "
          "(--max-steps {}); thread '{}' took {} of the last {}{}. {}",
          trace.size(), max_steps, exec.thread_name_view(busiest), per_thread[busiest], window, hot,
          looping ? "A spin-wait needs hc::this_thread::yield() in its loop so the "
                    "scheduler runs the thread it waits for; if the loop yields already, no "
                    "thread can make progress: a livelock"
                  : "No operation repeats, so this looks like a scenario longer than the "
                    "bound rather than a loop: raise --max-steps "
                    "(ExploreOptions::max_steps)"),
      nullptr, refs);
  f.signature = fmt::format("step-bound-exceeded|{}|{}", exec.thread_name_view(busiest),
                            example != nullptr ? site(example->where) : std::string());
  return f;
}

}  // namespace hc::detail

// step_bound.cpp — the step-bound finding: which thread took the last steps, and where,
// with the advice that tells a spin-wait from a livelock.
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

Finding Execution::step_bound_finding() {
  // Who was running, and where: count over the last steps.
  const std::size_t window = std::min<std::size_t>(trace_.size(), 1000);
  std::array<std::uint32_t, kMaxThreads> per_thread{};
  for (std::size_t i = trace_.size() - window; i < trace_.size(); ++i)
    ++per_thread[trace_[i].thread];
  const auto busiest = static_cast<ThreadId>(
      std::max_element(per_thread.begin(), per_thread.end()) - per_thread.begin());
  std::map<std::pair<std::string, std::uint32_t>, std::uint32_t> sites;  // ordered: stable text
  const Step* example = nullptr;  // the first step at the site the busiest thread ran most
  std::uint32_t hottest = 0;      // how often it ran there
  auto example_site = sites.end();
  for (std::size_t i = trace_.size() - window; i < trace_.size(); ++i) {
    const Step& s = trace_[i];
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
    const std::string obj = object_label(example->object);
    hot = fmt::format(", mostly {}{} at {}", op_kind_name(example->kind),
                      obj.empty() ? std::string() : " of " + obj, site(example->where));
  }
  Finding f = make_finding(
      FindingKind::step_bound_exceeded,
      fmt::format(
          "step bound exceeded: the execution ran {} steps without finishing "
          "(--max-steps {}); thread '{}' took {} of the last {}{}. {}",
          trace_.size(), config_.max_steps, thread_name(busiest), per_thread[busiest], window, hot,
          looping ? "A spin-wait needs hc::this_thread::yield() in its loop so the "
                    "scheduler runs the thread it waits for; if the loop yields already, no "
                    "thread can make progress: a livelock"
                  : "No operation repeats, so this looks like a scenario longer than the "
                    "bound rather than a loop: raise --max-steps "
                    "(ExploreOptions::max_steps)"),
      nullptr, refs);
  f.signature = fmt::format("step-bound-exceeded|{}|{}", thread_name(busiest),
                            example != nullptr ? site(example->where) : std::string());
  return f;
}

Finding Execution::livelock_finding(ThreadMask enabled) {
  std::string threads;
  std::string key;
  FindingRefs refs;  // what each spinning thread is about to touch (none for a bare yield)
  for (ThreadMask m = enabled; m != 0; m &= m - 1) {
    const ThreadId t = lowest(m);
    const Operation& op = pending_[t];
    refs.objects.push_back(op.object);
    threads += fmt::format("\n  thread '{}' at {} ({})", thread_name(t), op_kind_name(op.kind),
                           site(op.where));
    key += fmt::format("|{}@{}", thread_name(t), site(op.where));
  }
  Finding f = make_finding(
      FindingKind::livelock,
      fmt::format("livelock: for {} scheduling points every runnable thread has yielded and no "
                  "thread has written shared state, so none can make progress: each spins "
                  "waiting for another (--livelock-bound {}):{}",
                  no_progress_, config_.livelock_bound, threads),
      nullptr, refs);
  f.signature = "livelock" + key;
  return f;
}

}  // namespace hc::detail

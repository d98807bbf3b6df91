// minimize.cpp — shrinking a failing schedule: fewest preemptions first, then fewest steps.
//
// Two passes, every candidate checked by running it (the finding's kind must recur), and kept
// only if it has no more preemptions and no more steps than the best so far:
//  1. Prefix completion: for every prefix of the schedule, follow it, then never preempt
//     again (the non-preemptive strategy). The full prefix is the original execution, so the
//     best candidate is never worse than the original.
//  2. Greedy removal: for each preemption left in the best schedule, drop that decision and
//     follow the rest by thread names and labels for as long as it fits, then never preempt.
//     Repeat while a candidate improves (preemptions, then steps), within a budget.
// This is the CHESS/Coyote view of a "simpler" schedule (fewer context switches a person must
// follow); like delta debugging it finds a local minimum, not a global one.
#include <algorithm>
#include <tuple>

#include "hc/explorer.hpp"

namespace hc {
namespace {

constexpr std::uint64_t kBudget = 400;  // candidate executions at most

/// A candidate replaces the best so far only if it is no worse in preemptions and in steps
/// and better in one of them (preemptions first): minimisation never lengthens a schedule.
bool better(const Finding& candidate, const Finding& best) {
  const bool no_worse =
      candidate.preemptions <= best.preemptions && candidate.trace.size() <= best.trace.size();
  return no_worse && std::tuple(candidate.preemptions, candidate.trace.size()) <
                         std::tuple(best.preemptions, best.trace.size());
}

}  // namespace

std::vector<ReplayEntry> replay_entries(const Finding& f) {
  std::vector<ReplayEntry> out;
  for (std::size_t i = 0; i < f.schedule.size(); ++i) {
    ReplayEntry e;
    e.kind = f.schedule[i].kind;
    e.value = f.schedule[i].value;
    if (i < f.schedule_info.size()) {
      const ChoiceRecord& c = f.schedule_info[i];
      e.thread_name = c.thread_name;
      e.label = c.label;
      e.step = c.step;
      if (c.line != 0) e.site = c.file + ":" + std::to_string(c.line);
    }
    out.push_back(std::move(e));
  }
  return out;
}

MinimizeResult minimize(const std::function<void()>& body, const ExploreOptions& options,
                        const Finding& finding) {
  MinimizeResult result;
  result.minimal = finding;
  result.preemptions_before = finding.preemptions;
  result.steps_before = static_cast<std::uint32_t>(finding.trace.size());
  result.preemptions_after = finding.preemptions;
  result.steps_after = result.steps_before;
  // Every candidate of a no-progress finding runs until the watchdog fires: too slow to search.
  if (finding.kind == FindingKind::no_progress) return result;

  auto attempt = [&](std::function<std::unique_ptr<Strategy>()> factory) -> std::optional<Finding> {
    if (result.executions >= kBudget) return std::nullopt;
    ++result.executions;
    ExploreOptions o = options;
    // One execution on this thread: never the caller's workers, shard, checkpoint or resume
    // (a replay prefix cannot be split into units, and the checkpoint is the caller's).
    o.jobs = 1;
    o.shard_index = 0;
    o.shard_count = 1;
    o.checkpoint_file.clear();
    o.resume_file.clear();
    o.interrupt_after_executions = 0;
    o.time_budget_seconds = 0;
    o.strategy_factory = std::move(factory);
    o.replay.clear();
    o.replay_file.reset();
    o.max_executions = 1;
    o.stop_at_first = true;
    o.must_reach.clear();
    o.must_cover.clear();
    o.coverage = false;
    o.progress = nullptr;
    Result r = explore(body, o);
    if (r.findings.empty() || r.findings.front().kind != finding.kind) return std::nullopt;
    return std::move(r.findings.front());
  };
  auto consider = [&](std::optional<Finding> candidate) {
    if (candidate && better(*candidate, result.minimal)) result.minimal = std::move(*candidate);
  };

  // 1. Every prefix, completed without further preemptions.
  for (std::size_t k = 0; k <= finding.schedule.size(); ++k) {
    std::vector<Choice> prefix(finding.schedule.begin(),
                               finding.schedule.begin() + static_cast<std::ptrdiff_t>(k));
    consider(
        attempt([prefix] { return make_replay_strategy(prefix, make_non_preemptive_strategy()); }));
  }

  // 2. Drop one remaining preemption at a time; follow the rest while it fits.
  for (bool improved = true; improved && result.minimal.preemptions > 0;) {
    improved = false;
    const Finding best = result.minimal;
    const std::vector<ReplayEntry> entries = replay_entries(best);
    for (std::size_t i = 0; i < entries.size() && !improved; ++i) {
      if (entries[i].kind != Choice::Kind::thread) continue;
      const std::uint32_t step_index = entries[i].step - 1;
      if (step_index >= best.trace.size() || !best.trace[step_index].preemption) continue;
      std::vector<ReplayEntry> head(entries.begin(),
                                    entries.begin() + static_cast<std::ptrdiff_t>(i));
      std::vector<Choice> prefix(best.schedule.begin(),
                                 best.schedule.begin() + static_cast<std::ptrdiff_t>(i));
      std::vector<ReplayEntry> tail(entries.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                    entries.end());
      // Up to decision i as before; there, no preemption; then the rest by names, leniently.
      auto candidate = attempt([prefix, tail] {
        return make_replay_strategy(
            prefix,
            make_named_replay_strategy(tail, make_non_preemptive_strategy(), true, nullptr));
      });
      if (candidate && better(*candidate, result.minimal)) {
        result.minimal = std::move(*candidate);
        improved = true;
      }
    }
  }

  // Every candidate is the first execution of its own run: the minimal finding keeps the
  // number of the execution of the exploration that found the bug ("found by execution N").
  result.minimal.execution = finding.execution;
  result.preemptions_after = result.minimal.preemptions;
  result.steps_after = static_cast<std::uint32_t>(result.minimal.trace.size());
  return result;
}

}  // namespace hc

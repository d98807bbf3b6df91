// shared_search.hpp — SharedSearch: one search tree that the workers of a run (--jobs) explore
// together, for searches that cannot be cut into independent units without exploring more.
//
// dpor is the case: a race found deep in one subtree inserts a wakeup sequence at a decision
// near the root, so the subtrees below that decision are not independent of each other. Cut at a
// fixed depth, every worker had to branch on every thread above the cut (sleep sets alone), and
// lastzero(12) under --jobs 2 ran 367,167 sleep-set-blocked executions besides its 15,360 traces
// (18x the CPU of one worker). A shared search instead keeps the decisions above the cut in one
// place (the "top" of the tree) and hands out the subtrees below it one at a time:
//
//   * A unit is the first branch of a top decision that no one explored yet, with everything a
//     sequential search would know when it got there (the decisions above, their sleep sets, the
//     wakeup subtree to follow). A worker explores it to the end like a sequential search would,
//     and returns what it learnt about the top: the top decisions its first execution created
//     below the branch, and the races it found that insert sequences there.
//   * The results are committed in the order a sequential search would meet them, so the tree,
//     every unit's input, and thus every execution and finding are the same as with one worker.
//   * To keep workers busy, units further along are handed out before the ones before them are
//     committed (speculation): their input is predicted assuming the units before them add
//     nothing to the top. When a commit changes such a unit's input (a unit before it inserted
//     under its branch), its runner is told to stop, its result is discarded, and it runs again
//     when the commit reaches it.
//   * A unit that has run unit_size executions hands its decisions down to the shallowest one
//     with branches left to the top, as a part committed in its turn, and goes on below them:
//     other workers take those branches. A count decides, so the split is the same every run.
//
// The explorer tags each execution with the dispatch that ran it (ExecutionTag::unit) and, at the
// end, asks which dispatches were committed and as which unit (their order in a sequential
// search), which were discarded, and whether a stop-at-first finding ended the search.
#pragma once

#include <cstdint>
#include <optional>

namespace hc::detail {

class SharedSearch {
 public:
  virtual ~SharedSearch() = default;

  /// The unit, numbered in the order of a sequential search, that dispatch `dispatch` was
  /// committed as; nullopt when its result was discarded or never committed (an interrupted
  /// run: see committed_units()).
  virtual std::optional<std::uint64_t> committed_unit(std::uint64_t dispatch) const = 0;
  /// Dispatches whose result was discarded: their executions do not count.
  virtual bool discarded(std::uint64_t dispatch) const = 0;
  /// How many units were committed.
  virtual std::uint64_t committed_units() const = 0;
  /// The committed unit that a stop-at-first finding ended the search in, if one did.
  virtual std::optional<std::uint64_t> stopped_at() const = 0;
  /// Whether every unit of the tree was committed: the search is exhausted.
  virtual bool finished() const = 0;
  /// Ends the search early (a budget, an interrupt): every worker waiting for a unit is woken
  /// and gets none.
  virtual void cancel() = 0;
  /// The executions the discarded dispatches ran (as far as they got before being stopped).
  virtual std::uint64_t discarded_executions() const = 0;
};

}  // namespace hc::detail

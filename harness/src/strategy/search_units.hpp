// search_units.hpp — SearchUnits: the work units of the exhaustive strategies (dfs, dpor), sized
// by the search itself.
//
// A unit is the subtree below a node of the search tree, named by the decisions that lead to
// it; units are numbered 0, 1, 2, ... in the order a sequential search reaches them. Which nodes
// name units is decided the same way by every worker, shard and resumed run, without them
// talking to each other:
//
//   * The first execution through a node that is not yet known to be inside a unit (a "probe":
//     the run's first execution, and every execution after backtracking took a new option
//     above the current unit) runs to its end; everyone who explores the tree runs it, and it
//     is the same execution for all of them (it is the first one through its prefix).
//   * Its decisions give each node on its path Knuth's estimate of the node's subtree: the
//     product of the options of the decisions below it on this path (Knuth, "Estimating the
//     efficiency of backtrack programs", 1975, with one probe).
//   * The unit is the first node at depth >= min_depth (split_depth) whose estimate is at most
//     unit_size (hc::unit_size_for: 256, or 32 in a sharded run), or the whole path when it is
//     shorter than min_depth. Big subtrees are thus
//     split deeper, small ones stay whole: many units of bounded size, which is what balances
//     shards (units are dealt round-robin) and what lets a checkpoint keep nearly everything
//     done (only the units in progress are redone).
//   * Above the unit, every decision branches on each of its options whoever owns what is
//     below (dpor: sleep sets alone, no wakeup trees; `split_frames()` says how many): that is
//     what makes a unit's subtree the same for every owner.
//
// dpor sizes its units the same way for shards and checkpoints (its options at a decision: the
// threads awake there, which a decision above a unit branches on, sleep sets alone). Its
// workers under --jobs share one search tree instead (shared_search.hpp, shared_dpor.cpp):
// there, deeper split decisions multiplied the sleep-set-blocked executions (lastzero(12) under
// --jobs 2: 2.0 M pruned against 0.37 M). unit_size 0 gives units at a fixed depth (every node
// at min_depth names one).
//
// A strategy reports its stack depth at four moments and gets told what to do:
//
//   begin(depth)           begin_execution: true when the stack already names a unit that is
//                          not ours; the strategy backtracks past it and asks again
//   entered(depth)         a new decision was pushed: true when it completes the prefix of a
//                          fixed-depth unit that is not ours; the strategy prunes the execution
//   ended(depth, options)  end_execution, once the stack holds the path: a probe's path decides
//                          its unit (options(k): how many options decision k has)
//   backtracked_at(index)  backtracking took a new option at decision `index`
//
// Without a filter there is no split (split() == 0) and everything is unit 0, ours.
#pragma once

#include <cstdint>
#include <utility>

#include "hc/strategy.hpp"

namespace hc::detail {

class SearchUnits {
 public:
  /// unit_size 0: units at a fixed depth (every node at min_depth names one; dpor, see below).
  SearchUnits(UnitFilter owns, std::uint32_t min_depth, std::uint64_t unit_size)
      : owns_(std::move(owns)), split_(owns_ ? min_depth : 0), unit_size_(unit_size) {}

  /// The minimum depth of a unit's prefix (0: the run is not partitioned).
  std::uint32_t split() const { return split_; }
  std::uint64_t unit() const { return unit_; }
  /// The current execution belongs to a unit that is not ours (it is pruned or not counted).
  bool foreign() const { return foreign_; }
  /// Decisions [0, split_frames()) of the current path are above its unit: they branch on
  /// every option. Exact after ended(); during a probe, the decisions known so far.
  std::size_t split_frames() const { return probing_ ? known_ : boundary_; }
  /// The next execution continues the current unit (the search is partitioned).
  bool in_unit() const { return split_ != 0 && !probing_; }
  /// The execution that ended last was its unit's first: it named the unit.
  bool named_unit() const { return named_; }
  /// Units are sized by the search (unit_size != 0), not at a fixed depth.
  bool sized() const { return split_ != 0 && unit_size_ != 0; }
  /// The current execution is a probe: the first through its prefix, which names a unit.
  bool probing() const { return probing_; }

  bool begin(std::size_t depth) {
    named_ = false;
    if (split_ == 0) return false;
    // Fixed depth: backtracking at decision min_depth - 1 names the next unit before it runs.
    if (unit_size_ == 0 && probing_ && depth >= split_) {
      new_unit(split_);
      return foreign_;
    }
    foreign_ = !probing_ && depth >= boundary_ && !owns_(unit_);
    return foreign_;
  }

  /// Fixed-depth units: a new decision at min_depth completes a unit's prefix; true when the
  /// unit is not ours (the strategy prunes the execution). Sized units are known only at the
  /// probe's end: always false.
  bool entered(std::size_t depth) {
    if (split_ == 0 || unit_size_ != 0 || !probing_ || depth != split_) return false;
    new_unit(depth);
    return foreign_;
  }

  template <class Options>
  void ended(std::size_t depth, Options&& options) {
    if (split_ == 0 || !probing_) return;
    // The unit: the first node at depth >= split_ whose estimated subtree is at most
    // unit_size_ (the path's end, estimate 1, always is), found from the leaf up.
    std::size_t boundary = depth;
    if (unit_size_ != 0 && depth > split_) {
      double estimate = 1;
      for (std::size_t k = depth; k-- > std::max<std::size_t>(split_, known_);) {
        estimate *= static_cast<double>(options(k));
        if (estimate > static_cast<double>(unit_size_)) break;
        boundary = k;
      }
    }
    new_unit(boundary);
  }

  void backtracked_at(std::size_t index) {
    foreign_ = false;
    if (split_ != 0 && index < boundary_) {
      probing_ = true;  // a new node above the unit: the next execution probes below it
      known_ = index + 1;
    }
  }

  /// Where backtracking starts: a unit that is not ours is skipped whole.
  std::size_t skip_depth(std::size_t depth) const {
    return foreign_ && depth > boundary_ ? boundary_ : depth;
  }

 private:
  void new_unit(std::size_t boundary) {
    named_ = true;
    boundary_ = std::max(boundary, known_);
    probing_ = false;
    if (started_) ++unit_;
    started_ = true;
    foreign_ = !owns_(unit_);
  }

  UnitFilter owns_;
  std::uint32_t split_;
  std::uint64_t unit_size_;
  std::uint64_t unit_ = 0;
  std::size_t boundary_ = 0;  // the current unit's prefix: decisions [0, boundary_)
  std::size_t known_ = 0;     // probing: decisions [0, known_) are above the unit
  bool probing_ = true;
  bool started_ = false;
  bool foreign_ = false;
  bool named_ = false;
};

}  // namespace hc::detail

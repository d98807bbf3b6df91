// search_units.hpp — SearchUnits: the work units of the exhaustive strategies (dfs, dpor).
//
// A unit is the subtree below the first `split` decisions of the search stack, numbered in the
// order a sequential search reaches them (an execution with fewer decisions is a unit of its
// own). A strategy reports its stack depth at four moments and gets told what to do:
//
//   begin(depth)           begin_execution: true when the stack already names a unit that is
//                          not ours; the strategy backtracks past it and asks again
//   entered(depth)         a new decision was pushed: true when it completes a foreign unit's
//                          prefix; the strategy prunes the execution
//   ended(depth)           end_execution: a short execution is a unit of its own, known only now
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
  SearchUnits(UnitFilter owns, std::uint32_t split_depth)
      : owns_(std::move(owns)), split_(owns_ ? split_depth : 0) {}

  std::uint32_t split() const { return split_; }
  std::uint64_t unit() const { return unit_; }
  /// The current execution belongs to a unit that is not ours (it is pruned or not counted).
  bool foreign() const { return foreign_; }

  bool begin(std::size_t depth) {
    if (new_unit_) {
      ++unit_;
      new_unit_ = false;
    }
    foreign_ = split_ > 0 && depth >= split_ && !owns_(unit_);
    return foreign_;
  }
  bool entered(std::size_t depth) {
    if (split_ == 0 || depth != split_ || owns_(unit_)) return false;
    foreign_ = true;
    return true;
  }
  void ended(std::size_t depth) {
    if (!foreign_ && split_ > 0 && depth < split_ && !owns_(unit_)) foreign_ = true;
  }
  void backtracked_at(std::size_t index) {
    foreign_ = false;
    if (index < split_) new_unit_ = true;
  }

 private:
  UnitFilter owns_;
  std::uint32_t split_;
  std::uint64_t unit_ = 0;
  bool new_unit_ = false;
  bool foreign_ = false;
};

}  // namespace hc::detail

// exhaustive_strategy.hpp — ExhaustiveStrategy: the base of the systematic searches (dfs,
// dpor). It owns their work units (SearchUnits: subtrees sized by the search), the loop that
// skips a unit that is not theirs, and the tag of each execution, so a search keeps only its
// stack and how it backtracks:
//
//   class MySearch final : public ExhaustiveStrategy {
//     std::size_t stack_depth() const override;     // decisions on the search stack
//     void backtrack() override;                    // see below
//     void begin_path() override;                   // reset what one execution tracks
//     ... end_execution: trim the stack, then tag_execution(counted, options), then backtrack()
//   };
//
// backtrack() first calls skip_foreign_unit() (a unit that is not ours is dropped whole), then
// moves to the deepest decision with an untried option, calls units().backtracked_at(index)
// when it takes one, and finish() when there is none.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>

#include "hc/strategy.hpp"
#include "strategy/search_units.hpp"

namespace hc::detail {

class ExhaustiveStrategy : public Strategy {
 public:
  /// sized_units: units sized by the search (search_units.hpp); false: at split_depth.
  ExhaustiveStrategy(const StrategyOptions& o, bool sized_units)
      : units_(o.owns_unit, o.split_depth, sized_units ? unit_size_for(o, 1) : 0),
        unit_positions_(o.unit_positions) {}

  bool begin_execution() final {
    for (;;) {
      if (done_) return false;
      // A foreign unit whose first decisions are on the stack is skipped without running it.
      if (!units_.begin(stack_depth())) break;
      backtrack();
    }
    if (!acquire_unit()) {
      done_ = true;
      return false;
    }
    begin_path();
    return true;
  }
  ExecutionTag last_execution() const final { return tag_; }
  bool splits_into_units() const final { return true; }

 protected:
  virtual std::size_t stack_depth() const = 0;
  virtual void backtrack() = 0;
  virtual void begin_path() = 0;
  /// Before each execution: a strategy that takes its units from a shared search
  /// (shared_search.hpp) waits here for one when it has none; false: there are no more.
  virtual bool acquire_unit() { return true; }

  SearchUnits& units() { return units_; }
  const SearchUnits& units() const { return units_; }
  /// A decision just pushed completed the prefix of a fixed-depth unit that is not ours: the
  /// execution is to be pruned.
  bool entered_foreign_unit() { return units_.entered(stack_depth()); }
  /// end_execution, once the stack holds what this execution decided: its unit and whether it
  /// counts (`counted`: the strategy's own verdict, e.g. not pruned). options(k): how many
  /// options decision k of the path has (a probe's path sizes its unit, see SearchUnits).
  template <class Options>
  void tag_execution(bool counted, Options&& options) {
    units_.ended(stack_depth(), options);
    tag_ = ExecutionTag{units_.unit(), counted && !units_.foreign()};
  }
  /// The same for a strategy whose units a shared search hands out: `dispatch` names the unit.
  void tag_dispatched_execution(std::uint64_t dispatch, bool counted) {
    tag_ = ExecutionTag{dispatch, counted};
  }
  /// The first step of backtrack(): the depth to cut the stack to when the execution was in a
  /// unit that is not ours (its subtree is skipped whole), or the stack depth.
  std::size_t unit_skip_depth() const { return units_.skip_depth(stack_depth()); }
  /// After tag_execution: the position a checkpoint saved inside the unit this execution just
  /// named and that is ours, or nullptr. The strategy then continues from it (its stack is the
  /// next execution to run) and calls resumed_from_position().
  const std::string* saved_position() const {
    if (!units_.named_unit() || units_.foreign()) return nullptr;
    const auto it = unit_positions_.find(units_.unit());
    return it == unit_positions_.end() ? nullptr : &it->second;
  }
  /// The execution that just ended was counted before the checkpoint: it does not count again.
  void resumed_from_position() {
    tag_.counted = false;
    tag_.resumed = true;
  }
  /// No decision has an untried option left: the search is finished.
  void finish() { done_ = true; }

 private:
  SearchUnits units_;
  std::map<std::uint64_t, std::string> unit_positions_;
  ExecutionTag tag_;
  bool done_ = false;
};

}  // namespace hc::detail

// dfs.cpp — `dfs`: exhaustive depth-first search over thread and value choices.
//
// Stateless model checking as in VeriSoft (Godefroid, POPL 1997) and CHESS (Musuvathi et al.,
// OSDI 2008): the strategy keeps the stack of decisions of the current path; every execution
// re-runs the scenario from its start, replays the stack and extends it with first options;
// end_execution() backtracks to the deepest decision with an untried option. Replaying checks
// that each decision sees the same options as before: a difference means the scenario is not
// deterministic, and is reported as such instead of silently exploring garbage.
//
// Optional preemption bounding (CHESS, Musuvathi & Qadeer, PLDI 2007): switching away from a
// thread that could continue is a preemption; with bound b, a path never has more than b.
// Deviation: no partial-order reduction here (that is `dpor`); every interleaving of
// dependent and independent steps alike is explored.
//
// Work units (see UnitFilter): the subtrees below the first `split_depth` decisions, numbered in
// the order the search reaches them; a unit that is not ours is skipped whole, after at most one
// pruned execution to learn its first decisions.
#include <bit>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "hc/strategy.hpp"
#include "strategy/exhaustive_strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

class DfsStrategy final : public ExhaustiveStrategy {
 public:
  explicit DfsStrategy(const StrategyOptions& o)
      : ExhaustiveStrategy(o), bound_(o.preemption_bound) {}

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    ThreadMask options = d.enabled;
    if (bound_ >= 0 && d.current_enabled && preemptions_ >= bound_) {
      options = ThreadMask{1} << d.current;  // out of preemptions: the current thread goes on
      cut_by_bound_ = true;
    }
    std::uint32_t chosen;
    if (depth_ < stack_.size()) {
      const Frame& f = stack_[depth_];
      if (f.is_value || f.options != options) {
        d.diverge(fmt::format(
            "decision {} of this path offered {} before and now {}: the scenario does not "
            "behave the same when re-run",
            depth_ + 1, describe(f), fmt::format("threads {:#x}", options)));
        return static_cast<ThreadId>(std::countr_zero(d.enabled));
      }
      chosen = f.chosen;
    } else {
      chosen = static_cast<std::uint32_t>(std::countr_zero(options));
      stack_.push_back(Frame{options, chosen, false});
      if (prune_foreign_unit()) return std::nullopt;
    }
    ++depth_;
    if (d.current_enabled && chosen != d.current) ++preemptions_;
    return static_cast<ThreadId>(chosen);
  }

  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    std::uint32_t chosen = 0;
    if (depth_ < stack_.size()) {
      const Frame& f = stack_[depth_];
      if (!f.is_value || f.options != d.bound) {
        d.diverge(fmt::format(
            "decision {} of this path offered {} before and now choose({}, \"{}\"): the "
            "scenario does not behave the same when re-run",
            depth_ + 1, describe(f), d.bound, d.label));
        return 0u;
      }
      chosen = f.chosen;
    } else {
      stack_.push_back(Frame{d.bound, 0, true});
      if (prune_foreign_unit()) return std::nullopt;
    }
    ++depth_;
    return chosen;
  }

  void end_execution(std::span<const Step>, const Verdict& verdict) override {
    if (!units().foreign()) stack_.resize(std::min(stack_.size(), depth_));
    tag_execution(!verdict.pruned);
    backtrack();
  }

  std::string_view name() const override { return "dfs"; }
  StrategyStatistics statistics() const override {
    return {.cut_by_preemption_bound = cut_by_bound_};
  }

 private:
  struct Frame {
    std::uint32_t options;  // thread decision: mask of allowed threads; value: the bound
    std::uint32_t chosen;   // thread id, or value
    bool is_value;
  };
  static std::string describe(const Frame& f) {
    return f.is_value ? fmt::format("a value choice of {}", f.options)
                      : fmt::format("threads {:#x}", f.options);
  }

  /// A new decision completed the first decisions of a unit that is not ours.
  bool prune_foreign_unit() {
    if (!entered_foreign_unit()) return false;
    depth_ = stack_.size();
    return true;
  }

  std::size_t stack_depth() const override { return stack_.size(); }
  void begin_path() override {
    depth_ = 0;
    preemptions_ = 0;
  }
  void backtrack() override {
    stack_.resize(unit_skip_depth());  // a unit that is not ours is skipped whole
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.is_value) {
        if (f.chosen + 1 < f.options) {
          ++f.chosen;
          units().backtracked_at(stack_.size() - 1);
          return;
        }
      } else {
        const ThreadMask later = f.options & ~((ThreadMask{2} << f.chosen) - 1);
        if (later != 0) {
          f.chosen = static_cast<std::uint32_t>(std::countr_zero(later));
          units().backtracked_at(stack_.size() - 1);
          return;
        }
      }
      stack_.pop_back();
    }
    finish();
  }

  int bound_;
  bool cut_by_bound_ = false;  // the bound left out a schedule (statistics)
  std::vector<Frame> stack_;
  std::size_t depth_ = 0;
  int preemptions_ = 0;
};

}  // namespace

std::unique_ptr<Strategy> make_dfs_strategy(const StrategyOptions& options) {
  return std::make_unique<DfsStrategy>(options);
}

}  // namespace hc::detail

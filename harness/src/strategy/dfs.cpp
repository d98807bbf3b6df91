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
// Work units (see UnitFilter and search_units.hpp): subtrees sized by the search, numbered in
// the order it reaches them; a unit that is not ours is skipped whole, after the one execution
// that sized it.
#include <bit>
#include <cstdlib>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "hc/strategy.hpp"
#include "strategy/exhaustive_strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

class DfsStrategy final : public ExhaustiveStrategy {
 public:
  explicit DfsStrategy(const StrategyOptions& o)
      : ExhaustiveStrategy(o, /*sized_units=*/true), bound_(o.preemption_bound) {}

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    ThreadMask options = d.enabled;
    if (bound_ >= 0 && d.current_enabled && preemptions_ >= bound_) {
      options = ThreadMask{1} << d.current;  // out of preemptions: the current thread goes on
      cut_by_bound_ = true;
    }
    // Replaying the path (most picks): the frame's choice again. Extending it and reporting a
    // divergence are out of line, so that a replayed pick saves no registers it does not use.
    if (depth_ >= stack_.size()) [[unlikely]]
      return extend(d, options);
    const Frame& f = stack_[depth_];
    if (f.is_value || f.options != options) [[unlikely]]
      return diverged(d, f, options);
    return take(d, f.chosen);
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
    }
    ++depth_;
    return chosen;
  }

  void end_execution(std::span<const Step>, const Verdict& verdict) override {
    truncate(depth_);
    tag_execution(!verdict.pruned, [this](std::size_t k) {
      const Frame& f = stack_[k];
      return f.is_value ? f.options : static_cast<std::uint32_t>(std::popcount(f.options));
    });
    if (const std::string* saved = saved_position()) {
      // A checkpoint stopped inside this unit: go on from there (this execution, the unit's
      // first, was counted before the interruption).
      continue_from(*saved);
      resumed_from_position();
      return;
    }
    backtrack();
  }

  /// The stack that runs next, when it is still inside the current unit: frames as
  /// "t<options, hex>:<thread>" and "v<bound, hex>:<value>", separated by spaces.
  std::optional<std::string> position() const override {
    if (!units().in_unit() || units().foreign() || stack_.empty()) return std::nullopt;
    std::string text;
    for (const Frame& f : stack_) {
      text += fmt::format("{}{}{:x}:{}", text.empty() ? "" : " ", f.is_value ? 'v' : 't', f.options,
                          f.chosen);
    }
    return text;
  }

  std::string_view name() const override { return "dfs"; }
  StrategyStatistics statistics() const override {
    return {.cut_by_preemption_bound = cut_by_bound_};
  }

 private:
  // 16 bytes, not 12: the stack's size, read at every pick, is then a shift, not a
  // multiplication by the inverse of 12.
  struct alignas(16) Frame {
    std::uint32_t options;  // thread decision: mask of allowed threads; value: the bound
    std::uint32_t chosen;   // thread id, or value
    bool is_value;
  };
  static_assert(sizeof(Frame) == 16);
  /// A decision below the path: its first option, pushed.
  [[gnu::noinline]] ThreadId extend(const Decision& d, ThreadMask options) {
    const auto chosen = static_cast<std::uint32_t>(std::countr_zero(options));
    stack_.push_back(Frame{options, chosen, false});
    return take(d, chosen);
  }
  /// Drops the frames from `depth` on, if any (inline: vector::resize is a call, with the
  /// growing it never does here).
  void truncate(std::size_t depth) {
    if (depth < stack_.size())
      stack_.erase(stack_.begin() + static_cast<std::ptrdiff_t>(depth), stack_.end());
  }
  /// Moves past a thread decision that chose `chosen`, counting a preemption.
  ThreadId take(const Decision& d, std::uint32_t chosen) {
    ++depth_;
    preemptions_ += d.current_enabled && chosen != d.current;
    return static_cast<ThreadId>(chosen);
  }
  /// A replayed decision offers other options than before.
  [[gnu::cold, gnu::noinline]] ThreadId diverged(const Decision& d, const Frame& f,
                                                 ThreadMask options) const {
    d.diverge(
        fmt::format("decision {} of this path offered {} before and now {}: the scenario does not "
                    "behave the same when re-run",
                    depth_ + 1, describe(f), fmt::format("threads {:#x}", options)));
    return static_cast<ThreadId>(std::countr_zero(d.enabled));
  }
  static std::string describe(const Frame& f) {
    return f.is_value ? fmt::format("a value choice of {}", f.options)
                      : fmt::format("threads {:#x}", f.options);
  }

  /// Replaces the stack with a saved position (see position()); it must extend the decisions
  /// that name the current unit.
  void continue_from(const std::string& text) {
    auto malformed = [&] {
      return usage_error(fmt::format(
          "the checkpoint's position inside work unit {} ('{}') does not fit this search: start "
          "afresh without --resume",
          units().unit(), text));
    };
    std::vector<Frame> frames;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t end = std::min(text.find(' ', at), text.size());
      const std::string item = text.substr(at, end - at);
      at = end + 1;
      const std::size_t colon = item.find(':');
      if (item.size() < 4 || (item[0] != 't' && item[0] != 'v') || colon == std::string::npos)
        throw malformed();
      Frame f{};
      f.is_value = item[0] == 'v';
      char* stop = nullptr;
      f.options = static_cast<std::uint32_t>(std::strtoul(item.c_str() + 1, &stop, 16));
      if (stop != item.c_str() + colon) throw malformed();
      f.chosen = static_cast<std::uint32_t>(std::strtoul(item.c_str() + colon + 1, &stop, 10));
      if (*stop != '\0') throw malformed();
      if (f.is_value ? f.chosen >= f.options : (f.options >> f.chosen & 1u) == 0) throw malformed();
      frames.push_back(f);
    }
    const std::size_t prefix = units().split_frames();
    if (frames.size() < prefix) throw malformed();
    for (std::size_t k = 0; k < prefix; ++k) {
      const Frame& a = frames[k];
      const Frame& b = stack_[k];
      if (a.is_value != b.is_value || a.options != b.options || a.chosen != b.chosen)
        throw malformed();
    }
    stack_ = std::move(frames);
  }

  std::size_t stack_depth() const override { return stack_.size(); }
  void begin_path() override {
    depth_ = 0;
    preemptions_ = 0;
  }
  void backtrack() override {
    truncate(unit_skip_depth());  // a unit that is not ours is skipped whole
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

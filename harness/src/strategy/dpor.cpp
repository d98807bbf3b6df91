// dpor.cpp — `dpor`: dynamic partial-order reduction (Flanagan & Godefroid, "Dynamic
// partial-order reduction for model checking software", POPL 2005), stateless, over the same
// decision stack as `dfs`.
//
// After each execution the trace is scanned for races: a step j and an earlier step i of
// another thread that touch the same object, one of them writing (or a sync operation), with i
// not happening-before j's thread. For each race, the decision before i gets j's thread as a
// backtrack candidate if that thread was enabled there, and every enabled thread otherwise.
// Only backtrack candidates are explored at each decision, so schedules that merely commute
// independent steps are not repeated.
// Deviations, all on the side of exploring more (sound, less reduction): no sleep sets yet and
// not the optimal variant with wakeup trees (Abdulla et al., POPL 2014, is the next step);
// thread creation adds no happens-before (a race with the parent's steps before the spawn just
// adds candidates); condition-variable operations count as dependent with everything; model
// operations are all dependent with each other (their one announced object does not yet cover
// everything they read); value choices (hc::choose) are explored exhaustively, as by dfs.
#include <algorithm>
#include <array>
#include <bit>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "hc/strategy.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace {

bool dependent(const Step& a, const Step& b) {
  auto global = [](const Step& s) {
    return s.kind == OpKind::cv_wait || s.kind == OpKind::cv_wake ||
           s.kind == OpKind::cv_notify_one || s.kind == OpKind::cv_notify_all;
  };
  if (global(a) || global(b)) return true;
  // Model operations announce one object each, but some read state others write under
  // another object (a GC collection reads every object's reachability; a handle use depends on
  // the table's close): until the models declare finer dependencies, they are all dependent.
  if (a.kind == OpKind::model && b.kind == OpKind::model) return true;
  if (a.object == kNoObject || b.object == kNoObject || a.object != b.object) return false;
  return a.access != Access::read || b.access != Access::read;
}

class DporStrategy final : public Strategy {
 public:
  bool begin_execution() override {
    if (done_) return false;
    depth_ = 0;
    return true;
  }

  ThreadId pick_thread(const Decision& d) override {
    if (depth_ < stack_.size()) {
      Frame& f = stack_[depth_];
      if (f.is_value || f.enabled != d.enabled) {
        d.diverge(
            fmt::format("decision {} of this path offered other choices before: the "
                        "scenario does not behave the same when re-run",
                        depth_ + 1));
        return static_cast<ThreadId>(std::countr_zero(d.enabled));
      }
      f.step = d.step;
      ++depth_;
      return static_cast<ThreadId>(f.chosen);
    }
    Frame f;
    f.enabled = d.enabled;
    f.chosen =
        d.current_enabled ? d.current : static_cast<std::uint32_t>(std::countr_zero(d.enabled));
    f.backtrack = ThreadMask{1} << f.chosen;
    f.done = f.backtrack;
    f.step = d.step;
    stack_.push_back(f);
    ++depth_;
    return static_cast<ThreadId>(f.chosen);
  }

  std::uint32_t pick_value(std::uint32_t bound, const char*, std::string* divergence) override {
    if (depth_ < stack_.size()) {
      const Frame& f = stack_[depth_];
      if (!f.is_value || f.enabled != bound) {
        if (divergence != nullptr && divergence->empty())
          *divergence = "a value choice changed between runs of the same path";
        return 0;
      }
      ++depth_;
      return f.chosen;
    }
    Frame f;
    f.is_value = true;
    f.enabled = bound;
    f.chosen = 0;
    stack_.push_back(f);
    ++depth_;
    return 0;
  }

  void end_execution(std::span<const Step> steps, const Verdict&) override {
    stack_.resize(std::min(stack_.size(), depth_));
    add_backtrack_points(steps);
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.is_value) {
        if (f.chosen + 1 < f.enabled) {
          ++f.chosen;
          return;
        }
      } else if (const ThreadMask todo = f.backtrack & ~f.done; todo != 0) {
        f.chosen = static_cast<std::uint32_t>(std::countr_zero(todo));
        f.done |= ThreadMask{1} << f.chosen;
        return;
      }
      stack_.pop_back();
    }
    done_ = true;
  }

  std::string_view name() const override { return "dpor"; }

 private:
  struct Frame {
    std::uint32_t enabled = 0;  // thread decision: enabled mask; value decision: the bound
    std::uint32_t chosen = 0;
    ThreadMask backtrack = 0;
    ThreadMask done = 0;
    std::uint32_t step = 0;  // the trace index of the step it decided
    bool is_value = false;
  };

  void add_backtrack_points(std::span<const Step> steps) {
    const std::size_t n = steps.size();
    // Happens-before clocks: clock[j][t] = how many steps of thread t happen before step j
    // (inclusive of j for its own thread).
    std::vector<std::array<std::uint32_t, kMaxThreads>> clock(n);
    std::array<std::array<std::uint32_t, kMaxThreads>, kMaxThreads> thread_clock{};
    std::array<std::uint32_t, kMaxThreads> count{};
    std::array<std::vector<std::size_t>, kMaxThreads> by_thread;
    for (std::size_t j = 0; j < n; ++j) {
      const Step& s = steps[j];
      const ThreadId t = s.thread;
      auto c = thread_clock[t];  // what t has seen before j
      if (s.kind == OpKind::thread_join && s.value < kMaxThreads) {
        for (std::size_t k : by_thread[s.value]) {
          for (int u = 0; u < kMaxThreads; ++u)
            c[u] = std::max(c[u], clock[k][u]);
        }
      } else {
        for (std::size_t i = 0; i < j; ++i) {
          const Step& e = steps[i];
          if (e.thread == t || !dependent(e, s)) continue;
          // i is the clock[i][e.thread]-th step of its thread: a race unless t has seen it.
          if (thread_clock[t][e.thread] < clock[i][e.thread]) add_candidate(i, t);
          for (int u = 0; u < kMaxThreads; ++u)
            c[u] = std::max(c[u], clock[i][u]);
        }
      }
      c[t] = ++count[t];
      clock[j] = c;
      thread_clock[t] = c;
      by_thread[t].push_back(j);
    }
  }

  /// The decision before step `i` should also try thread `t`.
  void add_candidate(std::size_t i, ThreadId t) {
    for (Frame& f : stack_) {
      if (f.is_value || f.step != i) continue;
      if ((f.enabled >> t) & 1u) {
        f.backtrack |= ThreadMask{1} << t;
      } else {
        f.backtrack |= f.enabled;
      }
      return;
    }
  }

  std::vector<Frame> stack_;
  std::size_t depth_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Strategy> make_dpor_strategy() {
  return std::make_unique<DporStrategy>();
}

}  // namespace hc::detail

// replay.cpp — `replay`: a recorded choice prefix that any strategy continues from.
//
// As in Coyote, replay is not a separate mode of the engine but a strategy: every execution
// first takes the prefix's choices, checking each one (the thread must be enabled, a value
// must be in range, a thread choice must meet a thread decision); then the inner strategy
// decides. Without an inner strategy it runs exactly one execution, and asking for a choice
// past the prefix is a divergence too. A divergence names the decision number, what the
// prefix expected and what the program offered.
#include <bit>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hc/strategy.hpp"

namespace hc {
namespace {

std::string mask_text(ThreadMask m) {
  std::string out;
  for (; m != 0; m &= m - 1) {
    if (!out.empty()) out += ", ";
    out += std::to_string(std::countr_zero(m));
  }
  return out;
}

class ReplayStrategy final : public Strategy {
 public:
  ReplayStrategy(std::vector<Choice> prefix, std::unique_ptr<Strategy> inner)
      : prefix_(std::move(prefix)), inner_(std::move(inner)) {}

  bool begin_execution() override {
    position_ = 0;
    if (inner_) return inner_->begin_execution();
    return !std::exchange(ran_, true);
  }

  ThreadId pick_thread(const Decision& d) override {
    if (position_ < prefix_.size()) {
      const Choice c = prefix_[position_++];
      const ThreadId first = static_cast<ThreadId>(std::countr_zero(d.enabled));
      if (c.kind != Choice::Kind::thread) {
        d.diverge(
            fmt::format("replay diverged at decision {}: the schedule has a value choice "
                        "(v{}) but the program asks which thread runs (enabled: {})",
                        position_, c.value, mask_text(d.enabled)));
        return first;
      }
      if (!d.is_enabled(static_cast<ThreadId>(c.value))) {
        d.diverge(
            fmt::format("replay diverged at decision {}: the schedule runs thread {} but "
                        "it is not enabled here (enabled: {})",
                        position_, c.value, mask_text(d.enabled)));
        return first;
      }
      return static_cast<ThreadId>(c.value);
    }
    if (inner_) return inner_->pick_thread(d);
    d.diverge(
        fmt::format("replay diverged at decision {}: the schedule has ended but the "
                    "program asks which thread runs (enabled: {})",
                    position_ + 1, mask_text(d.enabled)));
    return static_cast<ThreadId>(std::countr_zero(d.enabled));
  }

  std::uint32_t pick_value(std::uint32_t bound, const char* label,
                           std::string* divergence) override {
    auto diverge = [&](std::string why) {
      if (divergence != nullptr && divergence->empty()) *divergence = std::move(why);
      return 0u;
    };
    if (position_ < prefix_.size()) {
      const Choice c = prefix_[position_++];
      if (c.kind != Choice::Kind::value) {
        return diverge(
            fmt::format("replay diverged at decision {}: the schedule runs thread {} "
                        "but the program asks for choose({}, \"{}\")",
                        position_, c.value, bound, label));
      }
      if (c.value >= bound) {
        return diverge(
            fmt::format("replay diverged at decision {}: the schedule chooses v{} but "
                        "choose({}, \"{}\") has only {} values",
                        position_, c.value, bound, label, bound));
      }
      return c.value;
    }
    if (inner_) return inner_->pick_value(bound, label, divergence);
    return diverge(
        fmt::format("replay diverged at decision {}: the schedule has ended but the "
                    "program asks for choose({}, \"{}\")",
                    position_ + 1, bound, label));
  }

  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    if (inner_) inner_->end_execution(steps, verdict);
  }

  std::string_view name() const override { return inner_ ? inner_->name() : "replay"; }

 private:
  std::vector<Choice> prefix_;
  std::unique_ptr<Strategy> inner_;
  std::size_t position_ = 0;
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Strategy> make_replay_strategy(std::vector<Choice> prefix,
                                               std::unique_ptr<Strategy> inner) {
  return std::make_unique<ReplayStrategy>(std::move(prefix), std::move(inner));
}

}  // namespace hc

// non_preemptive.cpp — `non-preemptive`: never switch away from a thread that can go on.
//
// Keeps the running thread when it is enabled, else takes the lowest enabled one; picks value 0
// for every choose(). Used by minimisation to complete a schedule prefix with no further
// preemptions (the shortest-preemption completion, as CHESS's preemption bounding counts them).
#include <bit>
#include <memory>
#include <utility>

#include "hc/strategy.hpp"

namespace hc {
namespace {

class NonPreemptiveStrategy final : public Strategy {
 public:
  bool begin_execution() override { return !std::exchange(ran_, true); }
  std::optional<ThreadId> pick_thread(const Decision& d) override {
    if (d.current_enabled) return d.current;
    return static_cast<ThreadId>(std::countr_zero(d.enabled));
  }
  std::optional<std::uint32_t> pick_value(const ValueDecision&) override { return 0u; }
  void end_execution(std::span<const Step>, const Verdict&) override {}
  std::string_view name() const override { return "non-preemptive"; }

 private:
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Strategy> make_non_preemptive_strategy() {
  return std::make_unique<NonPreemptiveStrategy>();
}

}  // namespace hc

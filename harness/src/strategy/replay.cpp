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
#include <optional>
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

  /// Follows `schedule` from now on, as if made with it (detail::follow_schedule).
  void follow(std::vector<Choice>& schedule) {
    prefix_.swap(schedule);
    position_ = 0;
    ran_ = false;
  }

  bool begin_execution() override {
    position_ = 0;
    if (inner_) return inner_->begin_execution();
    return !std::exchange(ran_, true);
  }

  std::optional<ThreadId> pick_thread(const Decision& d) override {
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

  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    const std::uint32_t bound = d.bound;
    const char* label = d.label;
    auto diverge = [&](std::string why) {
      d.diverge(std::move(why));
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
    if (inner_) return inner_->pick_value(d);
    return diverge(
        fmt::format("replay diverged at decision {}: the schedule has ended but the "
                    "program asks for choose({}, \"{}\")",
                    position_ + 1, bound, label));
  }

  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    if (inner_) inner_->end_execution(steps, verdict);
  }

  std::string_view name() const override { return inner_ ? inner_->name() : "replay"; }
  ExecutionTag last_execution() const override {
    return inner_ ? inner_->last_execution() : ExecutionTag{};
  }
  StrategyStatistics statistics() const override {
    return inner_ ? inner_->statistics() : StrategyStatistics{};
  }

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

namespace detail {

std::unique_ptr<Strategy> make_schedule_replay() {
  return std::make_unique<ReplayStrategy>(std::vector<Choice>{}, nullptr);
}

void follow_schedule(Strategy& replay, std::vector<Choice>& schedule) {
  static_cast<ReplayStrategy&>(replay).follow(schedule);
}

}  // namespace detail

}  // namespace hc

namespace hc {
namespace {

/// Replay by names (replay files). See make_named_replay_strategy in hc/strategy.hpp.
class NamedReplayStrategy final : public Strategy {
 public:
  NamedReplayStrategy(std::vector<ReplayEntry> entries, std::unique_ptr<Strategy> inner,
                      bool lenient, std::string* note)
      : entries_(std::move(entries)), inner_(std::move(inner)), lenient_(lenient), note_(note) {}

  bool begin_execution() override {
    position_ = 0;
    following_ = true;
    if (inner_) return inner_->begin_execution();
    return !std::exchange(ran_, true);
  }

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    if (following_ && position_ < entries_.size()) {
      const ReplayEntry& e = entries_[position_];
      const std::size_t number = position_ + 1;
      if (e.kind == Choice::Kind::thread) {
        std::optional<ThreadId> named;
        for (ThreadMask m = d.live; m != 0; m &= m - 1) {
          const auto t = static_cast<ThreadId>(std::countr_zero(m));
          if (d.view.thread_name(t) != e.thread_name) continue;
          if (!named || (d.is_enabled(t) && std::string_view(d.view.pending(t).label) == e.label))
            named = t;
        }
        if (named && d.is_enabled(*named) &&
            std::string_view(d.view.pending(*named).label) == e.label) {
          ++position_;
          return *named;
        }
        std::string did;
        if (!named) {
          did = fmt::format("no thread is named '{}'", e.thread_name);
        } else if (!d.is_enabled(*named)) {
          did = fmt::format("thread '{}' is blocked at '{}' ({})", e.thread_name,
                            d.view.pending(*named).label, site_of(d.view.pending(*named)));
        } else {
          did = fmt::format("thread '{}' is at '{}' ({})", e.thread_name,
                            d.view.pending(*named).label, site_of(d.view.pending(*named)));
        }
        if (diverged(d, fmt::format("replay diverged at step {} (decision {}): the file expects "
                                    "thread '{}' to run '{}'{} but {}; enabled: {}",
                                    d.step + 1, number, e.thread_name, e.label, recorded_at(e), did,
                                    enabled_text(d))))
          return fallback(d);
        return static_cast<ThreadId>(std::countr_zero(d.enabled));
      }
      if (diverged(d, fmt::format("replay diverged at step {} (decision {}): the file expects the "
                                  "value choice '{}'{} but the program asks which thread runs; "
                                  "enabled: {}",
                                  d.step + 1, number, e.label, recorded_at(e), enabled_text(d))))
        return fallback(d);
      return static_cast<ThreadId>(std::countr_zero(d.enabled));
    }
    if (following_ && position_ >= entries_.size() && !lenient_ && !inner_) {
      d.diverge(
          fmt::format("replay diverged at step {}: the file's schedule has ended but the "
                      "program asks which thread runs; enabled: {}",
                      d.step + 1, enabled_text(d)));
      return static_cast<ThreadId>(std::countr_zero(d.enabled));
    }
    return fallback(d);
  }

  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    const std::uint32_t bound = d.bound;
    const std::string_view label = d.label;
    if (following_ && position_ < entries_.size()) {
      const ReplayEntry& e = entries_[position_];
      const std::size_t number = position_ + 1;
      if (e.kind == Choice::Kind::value && e.label == label && e.value < bound) {
        ++position_;
        return e.value;
      }
      const std::string why =
          e.kind == Choice::Kind::value
              ? fmt::format(
                    "replay diverged at decision {}: the file chooses {} for '{}'{} but "
                    "the program asks for choose({}, \"{}\")",
                    number, e.value, e.label, recorded_at(e), bound, label)
              : fmt::format(
                    "replay diverged at decision {}: the file expects thread '{}' to "
                    "run '{}'{} but the program asks for choose({}, \"{}\")",
                    number, e.thread_name, e.label, recorded_at(e), bound, label);
      if (!lenient_) {
        d.diverge(why);
        return 0u;
      }
      note(why);
      following_ = false;
    } else if (following_ && !lenient_ && !inner_) {
      d.diverge(
          fmt::format("replay diverged at decision {}: the file's schedule has ended "
                      "but the program asks for choose({}, \"{}\")",
                      position_ + 1, bound, label));
      return 0u;
    }
    return inner_ ? inner_->pick_value(d) : std::optional<std::uint32_t>(0u);
  }

  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    if (inner_) inner_->end_execution(steps, verdict);
  }

  std::string_view name() const override { return inner_ ? inner_->name() : "replay"; }
  ExecutionTag last_execution() const override {
    return inner_ ? inner_->last_execution() : ExecutionTag{};
  }
  StrategyStatistics statistics() const override {
    return inner_ ? inner_->statistics() : StrategyStatistics{};
  }

 private:
  static std::string site_of(const Operation& op) {
    if (op.where.line() == 0) return "no line";
    std::string_view file = op.where.file_name();
    if (const auto slash = file.rfind('/'); slash != std::string_view::npos)
      file.remove_prefix(slash + 1);
    return fmt::format("{}:{}", file, op.where.line());
  }
  static std::string recorded_at(const ReplayEntry& e) {
    if (e.site.empty()) return fmt::format(" (recorded at step {})", e.step);
    return fmt::format(" ({}, recorded at step {})", e.site, e.step);
  }
  static std::string enabled_text(const Decision& d) {
    std::string out;
    for (ThreadMask m = d.enabled; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      out += fmt::format("{}'{}' at '{}'", out.empty() ? "" : ", ", d.view.thread_name(t),
                         d.view.pending(t).label);
    }
    return out;
  }
  /// Lenient: note the divergence and stop following; returns true. Strict: report it.
  bool diverged(const DivergenceSink& sink, std::string why) {
    if (!lenient_) {
      sink.diverge(std::move(why));
      return false;
    }
    note(std::move(why));
    following_ = false;
    return true;
  }
  void note(std::string why) {
    if (note_ != nullptr && note_->empty()) *note_ = std::move(why);
  }
  std::optional<ThreadId> fallback(const Decision& d) {
    if (inner_) return inner_->pick_thread(d);
    if (d.current_enabled) return d.current;
    return static_cast<ThreadId>(std::countr_zero(d.enabled));
  }

  std::vector<ReplayEntry> entries_;
  std::unique_ptr<Strategy> inner_;
  bool lenient_;
  std::string* note_;
  std::size_t position_ = 0;
  bool following_ = true;
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Strategy> make_named_replay_strategy(std::vector<ReplayEntry> entries,
                                                     std::unique_ptr<Strategy> inner,
                                                     bool continue_after_divergence,
                                                     std::string* note) {
  return std::make_unique<NamedReplayStrategy>(std::move(entries), std::move(inner),
                                               continue_after_divergence, note);
}

}  // namespace hc

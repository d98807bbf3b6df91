// dpor.cpp — the strategies `dpor` (Optimal-DPOR) and `dpor-source` (Source-DPOR). The search
// is DporStrategy (dpor_search.hpp, with the algorithm and its deviations); parallel workers
// share its tree through SharedDpor (shared_dpor.cpp). Here too: a dpor search's position inside
// a work unit as text, which a checkpoint keeps (DporStrategy::position, continue_from).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "strategy/dpor_search.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace dpor {
namespace {

// The position format: "dpor1" and then numbers in hex separated by single spaces:
//   follow_from + 1, shared_steps, frame count, then each frame:
//     is_value split enabled chosen value step sleep chosen_child
//     next-mask, then the next event of each thread in the mask (lowest first)
//     ran (an event; thread ff: not yet)
//     wakeup-tree version, node count, then each node: its event, child count, children
//   an event: thread kind after_yield object spawned joined touch-count (object access)...
// Nothing in it depends on addresses or timing: the same search saves the same text.
constexpr std::string_view kMagic = "dpor1";

class Writer {
 public:
  void number(std::uint64_t n) { fmt::format_to(std::back_inserter(text_), " {:x}", n); }
  void ev(const Ev& e) {
    number(e.thread);
    number(static_cast<std::uint64_t>(e.kind));
    number(e.after_yield ? 1 : 0);
    number(e.object);
    number(e.spawned);
    number(e.joined);
    number(e.footprint.size);
    for (std::uint8_t i = 0; i < e.footprint.size; ++i) {
      number(e.footprint.at(i).object);
      number(static_cast<std::uint64_t>(e.footprint.at(i).access));
    }
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_{kMagic};
};

/// Reads what Writer wrote; `bad()` is the error for anything else.
class Reader {
 public:
  Reader(const std::string& text, std::uint64_t unit) : text_(text), unit_(unit) {
    if (text_.compare(0, kMagic.size(), kMagic) != 0) throw bad();
    at_ = kMagic.size();
  }
  std::uint64_t number(std::uint64_t max) {
    if (at_ >= text_.size() || text_[at_] != ' ') throw bad();
    ++at_;
    std::uint64_t n = 0;
    std::size_t digits = 0;
    for (; at_ < text_.size() && text_[at_] != ' '; ++at_, ++digits) {
      const char c = text_[at_];
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (d < 0 || digits >= 16) throw bad();
      n = n * 16 + static_cast<std::uint64_t>(d);
    }
    if (digits == 0 || n > max) throw bad();
    return n;
  }
  Ev ev() {
    Ev e;
    e.thread = static_cast<ThreadId>(number(kNoThread));
    e.kind = static_cast<OpKind>(number(0xFF));
    e.after_yield = number(1) != 0;
    e.object = static_cast<ObjectId>(number(kNoObject));
    e.spawned = static_cast<ThreadMask>(number(0xFFFFFFFFu));
    e.joined = static_cast<ThreadMask>(number(0xFFFFFFFFu));
    const auto touches = static_cast<std::uint8_t>(number(Footprint::kCapacity));
    for (std::uint8_t k = 0; k < touches; ++k) {
      Touch t;
      t.object = static_cast<ObjectId>(number(kNoObject));
      t.access = static_cast<Access>(number(static_cast<std::uint64_t>(Access::sync)));
      e.footprint.add(t);
    }
    if (e.footprint.size != touches) throw bad();  // a touch repeated or of no object
    classify(e);
    return e;
  }
  bool done() const { return at_ == text_.size(); }
  usage_error bad() const {
    return usage_error(fmt::format(
        "the checkpoint's position inside work unit {} does not fit this dpor search (another "
        "program, version or option?): start afresh without --resume",
        unit_));
  }

 private:
  const std::string& text_;
  std::uint64_t unit_;
  std::size_t at_ = 0;
};

}  // namespace

std::optional<std::string> DporStrategy::position() const {
  if (shared_ != nullptr || driver_ || exhausted_ || !units().in_unit() || units().foreign() ||
      stack_.empty())
    return std::nullopt;
  Writer w;
  w.number(static_cast<std::uint64_t>(follow_from_ + 1));
  w.number(shared_steps_);
  w.number(stack_.size());
  for (const Frame& f : stack_) {
    w.number(f.is_value ? 1 : 0);
    w.number(f.split ? 1 : 0);
    w.number(f.enabled);
    w.number(f.chosen);
    w.number(f.value);
    w.number(f.step);
    w.number(f.sleep);
    w.number(f.chosen_child);
    ThreadMask known = 0;
    for (std::size_t t = 0; t < f.next.stored(); ++t) {
      if (f.next[t].thread != kNoThread) known |= bit(static_cast<ThreadId>(t));
    }
    w.number(known);
    for (ThreadMask m = known; m != 0; m &= m - 1)
      w.ev(f.next[static_cast<std::size_t>(std::countr_zero(m))]);
    w.ev(f.ran);
    w.number(f.wut.version);
    w.number(f.wut.nodes.size());
    for (std::size_t n = 0; n < f.wut.nodes.size(); ++n) {
      const WakeupTree::Node& node = f.wut.nodes[n];
      w.ev(node.ev);
      w.number(node.children.size());
      for (std::uint32_t c : node.children)
        w.number(c);
    }
  }
  return w.take();
}

void DporStrategy::continue_from(const std::string& text) {
  Reader r(text, units().unit());
  const auto follow = static_cast<int>(r.number(0xFFFFFFFFu)) - 1;
  const auto shared_steps = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
  const std::size_t count = r.number(1u << 24);
  const std::size_t prefix = units().split_frames();
  if (count < prefix || count > (1u << 24) || follow >= static_cast<int>(count)) throw r.bad();
  std::vector<Frame> frames;
  frames.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    Frame f(take_tree());
    f.is_value = r.number(1) != 0;
    f.split = r.number(1) != 0;
    f.enabled = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
    f.chosen = static_cast<ThreadId>(r.number(kMaxThreads - 1));
    f.value = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
    f.step = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
    f.sleep = static_cast<ThreadMask>(r.number(0xFFFFFFFFu));
    f.chosen_child = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
    const auto known = static_cast<ThreadMask>(r.number(0xFFFFFFFFu));
    for (ThreadMask m = known; m != 0; m &= m - 1)
      f.next[static_cast<std::size_t>(std::countr_zero(m))] = r.ev();
    f.ran = r.ev();
    const std::uint64_t version = r.number(~std::uint64_t{0});
    const std::size_t nodes = r.number(0xFFFFFFFFu);
    if (nodes == 0) throw r.bad();  // f.wut is a root alone (take_tree)
    for (std::size_t n = 0; n < nodes; ++n) {
      const Ev ev = r.ev();
      if (n == 0) {
        f.wut.nodes[0].ev = ev;
      } else {
        f.wut.nodes.push_back(WakeupTree::Node{ev, {}});
      }
      const std::size_t children = r.number(0xFFFFFFFFu);
      for (std::size_t c = 0; c < children; ++c) {
        const auto child = static_cast<std::uint32_t>(r.number(0xFFFFFFFFu));
        if (child == 0 || child >= nodes) throw r.bad();
        f.wut.nodes[n].children.push_back(child);
      }
    }
    f.wut.version = version;
    if (!f.is_value && f.chosen_child >= nodes) throw r.bad();
    frames.push_back(std::move(f));
  }
  if (!r.done()) throw r.bad();
  // The decisions above the unit are this run's: the saved ones must be the same path.
  if (stack_.size() < prefix) throw r.bad();
  for (std::size_t k = 0; k < prefix; ++k) {
    const Frame& a = frames[k];
    const Frame& b = stack_[k];
    if (a.is_value != b.is_value || a.enabled != b.enabled || a.chosen != b.chosen ||
        a.value != b.value)
      throw r.bad();
  }
  truncate(prefix);
  for (std::size_t k = prefix; k < count; ++k)
    stack_.push_back(std::move(frames[k]));
  follow_from_ = follow;
  shared_steps_ = shared_steps;
  // The next execution replays the saved path; the races among its shared steps were analysed
  // before the interruption.
  events_valid_ = false;
  analysed_steps_ = shared_steps;
}

namespace {

std::unique_ptr<Strategy> make_dpor(const StrategyOptions& options, bool optimal) {
  return std::make_unique<DporStrategy>(options, optimal, shared_dpor_of(options.shared_search));
}

}  // namespace
}  // namespace dpor

std::unique_ptr<Strategy> make_dpor_strategy(const StrategyOptions& options) {
  return dpor::make_dpor(options, true);
}

std::unique_ptr<Strategy> make_source_dpor_strategy(const StrategyOptions& options) {
  return dpor::make_dpor(options, false);
}

}  // namespace hc::detail

// shared_dpor.cpp — SharedDpor: the search tree that dpor's parallel workers share
// (shared_search.hpp says why and what the explorer sees), and the runner's side of it in
// DporStrategy (dpor_search.hpp): taking a unit, returning it, handing part of a big one over.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <vector>

#include "strategy/dpor_search.hpp"
#include "strategy/shared_search.hpp"
#include "strategy/strategies.hpp"

namespace hc::detail {
namespace dpor {

/// The shared search of dpor (shared_search.hpp): a driver over the top of the tree, units
/// handed out to runners, results committed in the order of a sequential search.
///
/// Protocol. A runner asks next_unit() for a unit (it waits while there is none to give) and
/// returns it with complete(), in parts when it grows big (UnitResult::promoted: the decisions
/// it hands to the top, then the rest). The unit the driver stands at (the "needed" one) is
/// handed out first; then, up to `lookahead_` units ahead, the ones DporStrategy::predict says
/// come after it, each with the input it would have if the units before it added nothing to
/// the top (their paths and sleep sets cannot change; their wakeup subtrees can). complete()
/// commits, in order, every returned part of the unit the driver stands at: a unit whose input
/// is still the one it ran with is applied to the driver, which then moves on; one whose input
/// changed is discarded (its `lost` flag stops its runner) and handed out again when reached.
/// Commits also look for units ahead whose input they changed (find_lost_locked); a unit found
/// lost is not predicted again before the next commit (cooling_). The unit the driver stands
/// at is validated when the driver reaches it, and from then on its runner streams its races
/// into the top as it finds them (stream()): they are applied at once, as its commit would
/// apply them, so the units predicted meanwhile know them. Everything
/// happens under one mutex; handing a unit over costs about 25-35 us on a small machine, so a
/// cut that makes units of a few executions loses (bench/, table 3).
class SharedDpor final : public SharedSearch {
 public:
  SharedDpor(const StrategyOptions& o, bool optimal, int workers)
      : driver_(driver_options(o), optimal, nullptr, /*driver=*/true),
        // Two units per worker in flight: a unit handed out ahead may be discarded (a unit
        // before it changes its input), so more costs executions and buys no speed. With 2
        // workers, split depth 3, medians of 5 rounds: lastzero(12) 2 in flight 1.24-1.25x the
        // CPU of one worker at 1.30-1.32x its speed, 3 in flight 1.20-1.22x at 1.44-1.46x, 4 in
        // flight 1.26-1.28x at 1.42-1.44x, 6 in flight 1.31-1.32x at 1.39-1.40x; but 3 in
        // flight against 4 made increments(3, 4) 1.36x faster than one worker instead of
        // 1.44-1.61x, and readers(13) 1.13-1.21x instead of 1.19-1.27x, at the same CPU.
        lookahead_(static_cast<std::size_t>(std::max(workers, 1)) * 2),
        needed_key_(driver_.next_key()) {}

  using Input = DporStrategy::UnitInput;
  using Result = DporStrategy::UnitResult;
  struct Dispatch {
    std::uint64_t id = 0;
    Input input;
    std::shared_ptr<UnitSignals> signals;  // shared with the runner
  };

  /// A unit for a runner, or nullopt when the search is over (finished, stopped or cancelled).
  std::optional<Dispatch> next_unit() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (over_locked()) return std::nullopt;
      if (std::optional<Dispatch> d = pick_locked()) return d;
      wake_.wait(lock);
    }
  }

  /// A runner finished dispatch `id` (or, result.promoted, a part of it: it goes on below).
  void complete(std::uint64_t id, Result result) {
    {
      std::lock_guard lock(mu_);
      const auto it = live_.find(id);
      if (it == live_.end()) return;  // discarded meanwhile (the search stopped)
      const bool last = !result.promoted;
      if (it->second.signals->lost) {
        discarded_executions_ += result.executions;
        if (last) live_.erase(it);
        return;
      }
      it->second.parts.push_back(std::move(result));
      if (last) it->second.done = true;
      commit_locked();
    }
    // After the unlock: a waiter woken while the lock is held would only block on it again.
    wake_.notify_all();
  }

  /// The runner of dispatch `id` hands over the races into the top it found since its last
  /// part, and what the top's chosen threads ran as. If the driver stands at that unit (its
  /// input validated, its returned parts all committed), they are applied now, as its next
  /// commit would apply them first: nothing before it is left to commit, and only its commits
  /// change the driver. The tree ends the same; what changes is that units handed out from now
  /// on are predicted with these races, and units ahead that they change stop now instead of
  /// at the commit. Returns false, taking nothing, when the driver is not at that unit.
  bool stream(std::uint64_t id, std::span<DporStrategy::TopRace> races,
              const std::vector<Ev>& ran) {
    std::lock_guard lock(mu_);
    if (over_locked()) return false;
    const auto it = live_.find(id);
    if (it == live_.end() || !it->second.signals->validated || !it->second.parts.empty() ||
        it->second.signals->lost)
      return false;
    const auto k = by_key_.find(needed_key_);
    if (k == by_key_.end() || k->second != id) return false;
    driver_.learn_ran(ran);
    driver_.apply_races(races);
    find_lost_locked();
    return true;
  }

  std::optional<std::uint64_t> committed_unit(std::uint64_t dispatch) const override {
    std::lock_guard lock(mu_);
    if (dispatch >= fate_.size() || fate_[dispatch] < 0) return std::nullopt;
    return static_cast<std::uint64_t>(fate_[dispatch]);
  }
  bool discarded(std::uint64_t dispatch) const override {
    std::lock_guard lock(mu_);
    return dispatch < fate_.size() && fate_[dispatch] == kDiscarded;
  }
  std::uint64_t committed_units() const override {
    std::lock_guard lock(mu_);
    return committed_;
  }
  std::optional<std::uint64_t> stopped_at() const override {
    std::lock_guard lock(mu_);
    return stopped_at_;
  }
  bool finished() const override {
    std::lock_guard lock(mu_);
    return driver_.exhausted();
  }
  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    wake_.notify_all();
  }
  std::uint64_t discarded_executions() const override {
    std::lock_guard lock(mu_);
    return discarded_executions_;
  }

 private:
  static constexpr std::int64_t kPending = -1;
  static constexpr std::int64_t kDiscarded = -2;

  using Key = DporStrategy::UnitKey;
  struct Live {
    Key key;
    DporStrategy::Frame branch;     // the input's last frame, without its subtree (branch_only)
    DporStrategy::BranchMark mark;  // ... and what tells whether its subtree changed
    std::shared_ptr<UnitSignals> signals;  // lost, validated: shared with its runner
    std::uint64_t version = 0;             // of its branch's wakeup tree when last found unchanged
    std::deque<Result> parts;  // returned, not yet committed (promoted ones, then the last)
    bool done = false;         // its last part came back
  };

  /// The version of the wakeup tree a unit's branch hangs in (0 for the first unit).
  std::uint64_t branch_version(const Key& key) const {
    return key.empty() ? 0 : driver_.tree_version(key.size() - 1);
  }

  static StrategyOptions driver_options(const StrategyOptions& o) {
    StrategyOptions d;
    static_cast<RunSettings&>(d) = o;
    return d;
  }

  bool over_locked() const { return cancelled_ || stopped_at_ || driver_.exhausted(); }

  std::optional<Dispatch> pick_locked() {
    if (by_key_.count(needed_key_) == 0)
      return dispatch_locked(needed_key_, driver_.take_next_input());
    if (live_.size() >= lookahead_) return std::nullopt;
    Key chosen;
    std::optional<Input> in = driver_.predict(lookahead_, [&](const Key& k) {
      if (by_key_.count(k) != 0 || cooling_.count(k) != 0) return false;
      chosen = k;
      return true;
    });
    if (!in) return std::nullopt;
    return dispatch_locked(std::move(chosen), std::move(*in));
  }

  Dispatch dispatch_locked(Key key, Input in) {
    const std::uint64_t id = fate_.size();
    fate_.push_back(kPending);
    by_key_[key] = id;
    Live& unit = live_[id];
    unit.key = std::move(key);
    unit.version = branch_version(unit.key);
    if (!in.frames.empty()) unit.branch = DporStrategy::branch_only(in.frames.back());
    unit.mark = in.mark;
    unit.signals = std::make_shared<UnitSignals>();
    // The unit the driver stands at is validated as it is handed out (commit_locked).
    if (unit.key == needed_key_) validate_locked(id, unit);
    return Dispatch{id, std::move(in), unit.signals};
  }

  /// After a commit: units handed out ahead whose branch the commit changed are lost (their
  /// runners stop early; they run again when the driver reaches them).
  void find_lost_locked() {
    for (auto it = live_.begin(); it != live_.end();) {
      Live& unit = it->second;
      const std::uint64_t version = branch_version(unit.key);
      if (unit.signals->validated || unit.signals->lost || version == unit.version ||
          driver_.branch_unchanged(unit.key, unit.branch, unit.mark)) {
        unit.version = version;
        ++it;
        continue;
      }
      unit.signals->lost = true;
      fate_[it->first] = kDiscarded;
      cooling_.insert(unit.key);
      by_key_.erase(unit.key);
      for (const Result& part : unit.parts)
        discarded_executions_ += part.executions;
      unit.parts.clear();
      if (unit.done) {
        it = live_.erase(it);
      } else {
        ++it;  // its runner returns it (complete() drops it)
      }
    }
  }

  /// The unit the driver stands at: its input is final (nothing before it is left to commit),
  /// so it is valid for good, or never. Returns false when it was discarded.
  bool validate_locked(std::uint64_t id, Live& unit) {
    if (unit.signals->validated) return true;
    if ((unit.version != branch_version(unit.key) &&
         !driver_.same_branch(unit.branch, unit.mark)) ||
        !driver_.same_sleepers(unit.branch)) {
      // Predicted wrong: a unit before it inserted below its branch. It runs again.
      unit.signals->lost = true;
      fate_[id] = kDiscarded;
      for (const Result& part : unit.parts)
        discarded_executions_ += part.executions;
      unit.parts.clear();
      return false;
    }
    unit.signals->validated = true;
    fate_[id] = static_cast<std::int64_t>(committed_++);
    return true;
  }

  void commit_locked() {
    while (!over_locked()) {
      const auto k = by_key_.find(needed_key_);
      if (k == by_key_.end()) return;  // not handed out yet
      const std::uint64_t id = k->second;
      Live& unit = live_.at(id);
      // Validated as soon as the driver reaches it: a wrong one stops (and runs again) now,
      // and a right one streams its races (stream()).
      if (!validate_locked(id, unit)) {
        by_key_.erase(k);
        if (unit.done) live_.erase(id);  // else its runner returns it (complete() drops it)
        continue;
      }
      if (unit.parts.empty()) return;  // still running
      by_key_.erase(k);
      Result part = std::move(unit.parts.front());
      unit.parts.pop_front();
      if (part.stopped) {
        stopped_at_ = static_cast<std::uint64_t>(fate_[id]);
        unit.signals->lost = true;  // nothing after it counts
        live_.erase(id);
        break;
      }
      const bool promoted = part.promoted;
      driver_.apply_unit(std::move(part));
      needed_key_ = driver_.next_key();
      cooling_.clear();
      if (promoted) {
        // The rest of the unit is the branch the driver now stands at: still its runner's.
        by_key_[needed_key_] = id;
        unit.key = needed_key_;
      } else {
        live_.erase(id);
      }
      find_lost_locked();
    }
    if (stopped_at_ || driver_.exhausted()) {
      // Units handed out ahead of the end are not part of the search.
      for (const auto& [id, unit] : live_) {
        fate_[id] = kDiscarded;
        unit.signals->lost = true;
      }
      live_.clear();
      by_key_.clear();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable wake_;
  DporStrategy driver_;
  const std::size_t lookahead_;          // units handed out and not yet committed, at most
  Key needed_key_;                       // the unit the driver stands at
  std::map<Key, std::uint64_t> by_key_;  // handed out, not yet committed: dispatch by unit
  std::map<std::uint64_t, Live> live_;   // ... by dispatch
  std::vector<std::int64_t> fate_;       // per dispatch: committed unit, kPending, kDiscarded
  /// Units ahead found lost since the last commit: not predicted again until the next one.
  /// The unit the driver stands at streams races into the top (stream()) for as long as it
  /// runs, and each can change the branch of a unit ahead again: handed out again at once, a
  /// unit was lost again and again. lastzero(12), 2 workers, depth 3: 257-345 units handed
  /// out for 58 committed, 1,257-1,646 executions run again; cooling, 78-84 handed out,
  /// 101-303 run again.
  std::set<Key> cooling_;
  std::uint64_t committed_ = 0;
  std::uint64_t discarded_executions_ = 0;  // executions of the discarded dispatches
  std::optional<std::uint64_t> stopped_at_;
  bool cancelled_ = false;
};

bool DporStrategy::acquire_unit() {
  if (shared_ == nullptr || !need_unit_) return true;
  std::optional<SharedDpor::Dispatch> d = shared_->next_unit();
  if (!d) return false;
  truncate(0);  // keeps its capacity (frames are big) and its trees' storage
  for (Frame& f : d->input.frames)
    stack_.push_back(std::move(f));
  follow_from_ = d->input.follow_from;
  dispatch_ = d->id;
  signals_ = std::move(d->signals);
  ran_streamed_ = false;
  abandoned_ = false;
  given_ = stack_.size();
  top_races_.clear();
  stopped_ = false;
  events_valid_ = false;  // the last analysed execution was another unit's
  shared_steps_ = 0;
  // The races among the steps before the unit's branch were analysed in the executions before
  // it (of other units, which a sequential search ran just before): the sequential search's
  // next execution would analyse only the races of the steps from the branch on.
  analysed_steps_ = 0;
  for (std::size_t k = stack_.size(); k-- > 0;) {
    if (!stack_[k].is_value) {
      analysed_steps_ = stack_[k].step;
      break;
    }
  }
  need_unit_ = false;
  return true;
}

void DporStrategy::promote_shared_part() {
  std::size_t cut = 0;
  for (std::size_t i = unit_top(); i < stack_.size(); ++i) {
    if (has_branches_left(stack_[i])) {
      cut = i + 1;
      break;
    }
  }
  if (cut == 0) return;  // a single path is left: nothing to share
  UnitResult r;
  r.ran = top_ran();
  for (std::size_t k = given_; k < cut; ++k) {
    // The top takes the frame and its wakeup tree. The runner replays through the frame and
    // keeps what it still reads of the tree: the branch in progress and, at the last frame
    // (the only one with branches left, where backtrack() may just have picked the branch the
    // next execution follows), the sequence below it. The frames above it have no branch left:
    // the runner never follows from them again, and what their trees hold below the branch was
    // copied into the decisions below when it was followed. (Copying the whole trees of the
    // first decisions, thousands of nodes, at every promotion cost more memory traffic than the
    // executions; copying every branch's subtree, a third of what units copy on lastzero(12).)
    Frame& f = stack_[k];
    WakeupTree kept = take_tree();
    std::uint32_t child = 0;
    if (!f.is_value) {
      child = kept.add_child(0, f.wut.nodes[f.chosen_child].ev);
      if (k + 1 == cut) kept.copy_subtree(f.wut, f.chosen_child, child);
    }
    r.fresh.push_back(std::move(f));
    f.wut = std::move(kept);
    f.chosen_child = child;
  }
  r.promoted = true;
  given_ = cut;  // the top now ends there
  return_part(std::move(r));
}

void DporStrategy::finish_shared_unit() {
  UnitResult r;
  r.ran = top_ran();
  for (std::size_t k = given_; k < std::min(stack_.size(), unit_top()); ++k)
    r.fresh.push_back(std::move(stack_[k]));
  truncate(0);  // its trees' storage serves the next unit
  r.stopped = stopped_;
  need_unit_ = true;
  return_part(std::move(r));
}

void DporStrategy::stream_to_top() {
  // Not in a part's first kStreamAfter executions: a unit that small returns its races with
  // its part as soon, and would pay the lock for nothing (increments(3, 4) at split depth 10,
  // whose units are a few executions each, took 15% more CPU when they streamed).
  if (unit_executions_ < kStreamAfter) return;
  if ((top_races_.empty() && ran_streamed_) || !signals_->validated.load(std::memory_order_acquire))
    return;
  // Only races into decisions the driver has: those below given_ (the cut, for a unit that
  // came with fewer) reach it as frames with the part that ends them. Races into different
  // decisions commute (the driver inserts each into its own decision's tree), so handing these
  // over ahead of the others keeps the result; among themselves they keep the order found.
  // (Moved aside into storage kept from call to call: std::stable_partition allocated a buffer
  // at every call, once an execution.)
  streaming_.clear();
  std::size_t kept = 0;
  for (TopRace& race : top_races_) {
    if (race.frame < given_) {
      streaming_.push_back(std::move(race));
    } else {
      if (&top_races_[kept] != &race) top_races_[kept] = std::move(race);
      ++kept;
    }
  }
  top_races_.resize(kept);
  if (streaming_.empty() && ran_streamed_) return;
  top_ran_into(ran_scratch_);
  if (shared_->stream(dispatch_, std::span<TopRace>(streaming_), ran_scratch_)) {
    ran_streamed_ = true;
    for (TopRace& race : streaming_) {
      if (spare_sequences_.size() == kSpareSequences) break;
      race.v.clear();
      spare_sequences_.push_back(std::move(race.v));
    }
  } else {
    // Not applied: they go with the unit's next part (after the others, which commute).
    for (TopRace& race : streaming_)
      top_races_.push_back(std::move(race));
  }
}

void DporStrategy::return_part(UnitResult r) {
  r.races = std::move(top_races_);
  top_races_.clear();
  r.executions = unit_executions_;
  unit_executions_ = 0;
  shared_->complete(dispatch_, std::move(r));
}

std::shared_ptr<SharedDpor> shared_dpor_of(const std::shared_ptr<SharedSearch>& search) {
  if (!search) return nullptr;
  std::shared_ptr<SharedDpor> shared = std::dynamic_pointer_cast<SharedDpor>(search);
  if (!shared) throw std::logic_error("dpor: the shared search is not dpor's");
  return shared;
}

}  // namespace dpor

std::shared_ptr<SharedSearch> make_shared_dpor_search(const StrategyOptions& options, int workers) {
  return std::make_shared<dpor::SharedDpor>(options, true, workers);
}

std::shared_ptr<SharedSearch> make_shared_source_dpor_search(const StrategyOptions& options,
                                                             int workers) {
  return std::make_shared<dpor::SharedDpor>(options, false, workers);
}

}  // namespace hc::detail

// coverage.cpp — which pairs of conflicting operations were seen in which order (coverage.hpp).
#include "explore/coverage.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "strategy/dependence.hpp"

namespace hc::detail {
namespace {

constexpr std::string_view kBoth = " <> ";
constexpr std::string_view kOne = " -> ";

std::string_view family(OpKind kind) {
  switch (kind) {
    case OpKind::atomic_load:
    case OpKind::atomic_store:
    case OpKind::atomic_rmw:
    case OpKind::atomic_cas:
      return "atomic";
    case OpKind::var_read:
    case OpKind::var_write:
      return "var";
    case OpKind::mutex_lock:
    case OpKind::mutex_try_lock:
    case OpKind::mutex_unlock:
      return "mutex";
    case OpKind::cv_wait:
    case OpKind::cv_wake:
    case OpKind::cv_notify_one:
    case OpKind::cv_notify_all:
      return "cv";
    case OpKind::event_set:
    case OpKind::event_reset:
    case OpKind::event_wait:
      return "event";
    case OpKind::thread_join:
    case OpKind::thread_yield:
      return "thread";
    case OpKind::choice:
    case OpKind::model:
      break;
  }
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::size_t hash_of(const void* a, OpKind ka, const void* b, OpKind kb) {
  std::uint64_t h = reinterpret_cast<std::uintptr_t>(a) * 0x9E3779B97F4A7C15ull;
  h ^= std::rotl(reinterpret_cast<std::uintptr_t>(b) * 0xC2B2AE3D27D4EB4Full, 29);
  h ^= (static_cast<std::uint64_t>(ka) << 8 | static_cast<std::uint64_t>(kb)) *
       0x165667B19E3779F9ull;
  return static_cast<std::size_t>(h ^ (h >> 32));
}

}  // namespace

std::string PairCoverage::operation_name(OpKind kind, const char* label) {
  const std::string_view text = label != nullptr ? std::string_view(label) : std::string_view();
  const std::string_view fam = family(kind);
  if (fam.empty()) return text.empty() ? std::string(op_kind_name(kind)) : std::string(text);
  return fmt::format("{}.{}", fam, text.empty() ? op_kind_name(kind) : text);
}

namespace {

// What pairs depend on in a step (thread, kind, access, object, label) are its first 16 bytes:
// comparing them as two words is the cheapest way to find the prefix an execution shares with
// the one before (has_value comes along: equal in equal prefixes anyway).
static_assert(std::is_standard_layout_v<Step> && offsetof(Step, thread) == 0 &&
                  offsetof(Step, kind) == 1 && offsetof(Step, access) == 2 &&
                  offsetof(Step, has_value) == 3 && offsetof(Step, object) == 4 &&
                  offsetof(Step, label) == 8 && sizeof(Step::label) == 8,
              "coverage.cpp compares the first 16 bytes of hc::Step: update step_head");

void step_head(const Step& s, std::uint64_t (&head)[2]) {
  std::memcpy(head, &s, sizeof head);
}

}  // namespace

ObjectId PairCoverage::Done::object() const {
  ObjectId id;
  std::memcpy(&id, reinterpret_cast<const char*>(head) + offsetof(Step, object), sizeof id);
  return id;
}

// Inlined into add(): called for every step after the shared prefix.
[[gnu::always_inline]] inline void PairCoverage::process(const Step& s, Done& done) {
  step_head(s, done.head);
  done.old_seen = kUntouched;
  if (s.object == kNoObject || s.kind == OpKind::choice) return;  // touches nothing
  if (s.object >= objects_.size()) objects_.resize(static_cast<std::size_t>(s.object) + 1);
  std::vector<Entry>& entries = objects_[s.object];
  const Op op{s.label != nullptr ? s.label : "", s.kind};
  const bool read = s.access == Access::read;
  const auto n = static_cast<std::uint32_t>(entries.size());
  std::uint32_t self = n;
  for (std::uint32_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    if (e.thread == s.thread && e.read == read && e.op == op) {
      self = i;
      break;
    }
  }
  // Pairs with the entries this (thread, operation) has not yet followed: all of them for a
  // new one, only those added since its last occurrence for a known one.
  for (std::uint32_t i = self == n ? 0 : entries[self].seen; i < n; ++i) {
    const Entry& e = entries[i];
    // Conflict as dpor defines it (strategy/dependence.hpp), on the step's announced object.
    if (e.thread == s.thread || !conflicting(e.read ? Access::read : Access::write, s.access))
      continue;
    record(e.op, op);
  }
  done.entry = self;
  if (self == n) {
    done.old_seen = kAppended;
    entries.push_back(Entry{op, s.thread, read, n + 1});
  } else {
    done.old_seen = entries[self].seen;
    entries[self].seen = n;
  }
}

void PairCoverage::add(std::span<const Step> steps) {
  // The prefix this execution shares with the previous one left the entries as they are.
  std::size_t common = 0;
  const std::size_t limit = std::min(steps.size(), done_count_);
  for (; common < limit; ++common) {
    std::uint64_t head[2];
    step_head(steps[common], head);
    if (((head[0] ^ done_[common].head[0]) | (head[1] ^ done_[common].head[1])) != 0) break;
  }
  if (2 * common < done_count_) {
    // Little in common (random strategies): forget everything rather than undo step by step.
    for (std::size_t i = 0; i < done_count_; ++i)
      if (done_[i].old_seen != kUntouched) objects_[done_[i].object()].clear();
    common = 0;
  } else {
    for (std::size_t i = done_count_; i-- > common;) {
      const Done& d = done_[i];
      if (d.old_seen == kAppended) {
        objects_[d.object()].pop_back();
      } else if (d.old_seen != kUntouched) {
        objects_[d.object()][d.entry].seen = d.old_seen;
      }
    }
  }
  if (done_.size() < steps.size()) done_.resize(steps.size());
  last_.reset();
  for (std::size_t i = common; i < steps.size(); ++i)
    process(steps[i], done_[i]);
  done_count_ = steps.size();
}

void PairCoverage::record(const Op& before, const Op& after) {
  const PairKey key{before, after};
  if (last_ && *last_ == key) return;
  last_ = key;
  if (!insert_key(key)) return;
  ordered_.emplace(operation_name(before.kind, before.label),
                   operation_name(after.kind, after.label));
}

bool PairCoverage::insert_key(const PairKey& key) {
  if (2 * (key_count_ + 1) > keys_.size()) {
    std::vector<PairKey> old = std::move(keys_);
    keys_.assign(std::max<std::size_t>(64, 2 * old.size()), PairKey{});
    key_count_ = 0;
    for (const PairKey& k : old)
      if (k.before.label != nullptr) insert_key(k);
  }
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t i =
           hash_of(key.before.label, key.before.kind, key.after.label, key.after.kind) & mask;
       ; i = (i + 1) & mask) {
    PairKey& k = keys_[i];
    if (k.before.label == nullptr) {
      k = key;
      ++key_count_;
      return true;
    }
    if (k == key) return false;
  }
}

void PairCoverage::merge(const PairCoverage& other) {
  ordered_.insert(other.ordered_.begin(), other.ordered_.end());
}

std::vector<std::string> PairCoverage::both_orders() const {
  std::vector<std::string> out;
  for (const auto& [a, b] : ordered_) {
    if (a <= b && ordered_.contains({b, a})) out.push_back(fmt::format("{}{}{}", a, kBoth, b));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PairCoverage::one_order() const {
  std::vector<std::string> out;
  for (const auto& [a, b] : ordered_) {
    if (!ordered_.contains({b, a})) out.push_back(fmt::format("{}{}{}", a, kOne, b));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool PairCoverage::seen(std::string_view before, std::string_view after) const {
  return ordered_.contains({std::string(before), std::string(after)});
}

bool PairCoverage::covers(std::string_view goal) const {
  const auto names = parse_goal(goal);
  return names && seen(names->first, names->second) && seen(names->second, names->first);
}

std::optional<std::pair<std::string, std::string>> PairCoverage::parse_goal(std::string_view goal) {
  const std::size_t at = goal.find("<>");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view a = trim(goal.substr(0, at));
  const std::string_view b = trim(goal.substr(at + 2));
  if (a.empty() || b.empty() || b.find("<>") != std::string_view::npos) return std::nullopt;
  return std::pair<std::string, std::string>(a, b);
}

void check_cover_goals(const ExploreOptions& o) {
  for (const std::string& goal : o.must_cover) {
    if (!PairCoverage::parse_goal(goal)) {
      throw usage_error(fmt::format(
          "must_cover goal '{}' is not of the form \"A <> B\" (two operation labels)", goal));
    }
  }
}

void report_coverage(const PairCoverage& coverage, const ExploreOptions& o,
                     std::string_view searched, bool stopped_by_finding, Result& result) {
  if (!wants_coverage(o)) return;
  result.covered_pairs = coverage.both_orders();
  result.one_order_pairs = coverage.one_order();
  if (stopped_by_finding) return;
  for (const std::string& goal : o.must_cover) {
    const auto names = PairCoverage::parse_goal(goal);
    if (!names) continue;  // check_cover_goals rejected it before the run
    const auto& [a, b] = *names;
    const bool ab = coverage.seen(a, b);
    const bool ba = coverage.seen(b, a);
    if (ab && ba) continue;
    const std::string pair = fmt::format("{}{}{}", a, kBoth, b);
    Finding f;
    f.kind = FindingKind::unreached;
    f.message = fmt::format(
        "'{}' was never covered: no execution of {} ({}) ran {} and {} on one object from two "
        "threads in both orders ({})",
        pair, result.stats.executions, searched, a, b,
        ab   ? fmt::format("only {}{}{} was seen", a, kOne, b)
        : ba ? fmt::format("only {}{}{} was seen", b, kOne, a)
             : std::string("neither order was seen"));
    f.signature = "unreached|cover|" + pair;
    result.findings.push_back(std::move(f));
  }
}

}  // namespace hc::detail

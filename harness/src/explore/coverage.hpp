// coverage.hpp — coverage of conflicting operations: which pairs of operations of different
// threads on one object, at least one of them not a read, were seen in which order.
//
//   detail::PairCoverage coverage;
//   coverage.add(exec.trace());           // after every counted execution
//   coverage.merge(worker_coverage);      // parallel workers: unite at the end
//   coverage.both_orders();               // {"CloseHandle <> DangerousGetHandle", ...}
//   coverage.covers("Dispose <> DangerousAddRef");
//
// An operation is named by its label: a model's verb as it is ("CloseHandle",
// "DangerousAddRef"), an engine primitive's with its family in front ("atomic.load",
// "mutex.lock", "event.set"). Two operations with the same name count as seen in both orders
// once seen at all (the name cannot tell the two threads apart). Choices are not operations.
//
// Cost: add() is O(steps * distinct (thread, operation) per object) per execution, with no
// allocation once warm, and only for the steps after the prefix it shares with the previous
// execution (dfs and dpor backtrack: most of a trace is the previous one's); strings are made
// only for a pair never seen before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "explore/observer.hpp"
#include "hc/explorer.hpp"
#include "hc/operation.hpp"

namespace hc::detail {

class PairCoverage {
 public:
  /// Records the conflicting pairs of one execution's lean trace.
  void add(std::span<const Step> steps);
  /// Adds everything `other` saw (another worker's coverage, or another shard's).
  void merge(const PairCoverage& other);

  /// "A <> B" (A <= B) for every pair seen in both orders, sorted.
  std::vector<std::string> both_orders() const;
  /// "A -> B" for every pair seen only with A first, sorted.
  std::vector<std::string> one_order() const;
  /// Every ordered pair seen (for checkpoints), and adding one back.
  std::vector<std::pair<std::string, std::string>> pairs() const {
    return {ordered_.begin(), ordered_.end()};
  }
  void add_pair(std::string before, std::string after) {
    ordered_.emplace(std::move(before), std::move(after));
  }
  /// Whether some execution ran `before`, then `after`, on one object from two threads.
  bool seen(std::string_view before, std::string_view after) const;
  /// Whether the goal "A <> B" (either way round) was seen in both orders; false if malformed.
  bool covers(std::string_view goal) const;

  /// A goal "A <> B" as its two names (trimmed), or nullopt if it is not of that form.
  static std::optional<std::pair<std::string, std::string>> parse_goal(std::string_view goal);
  /// The name of an operation in coverage pairs: a model's label, "<family>.<label>" else.
  static std::string operation_name(OpKind kind, const char* label);

 private:
  // An operation as the trace identifies it: labels are static strings, so their addresses
  // identify them (two addresses with the same text merely cost one extra string insertion).
  struct Op {
    const char* label = nullptr;
    OpKind kind = OpKind::model;
    friend bool operator==(const Op&, const Op&) = default;
  };
  // A distinct (thread, operation, read?) on one object in the current execution; `seen` is
  // how many of the object's entries it has already been paired after.
  struct Entry {
    Op op;
    ThreadId thread = kNoThread;
    bool read = false;
    std::uint32_t seen = 0;
  };
  // A step of the previous execution, as far as pairs depend on it, and how to undo what it
  // did to the entries: executions of exhaustive strategies share long prefixes with the one
  // before, so add() rolls back to the common prefix and processes only the rest.
  struct Done {
    std::uint64_t head[2] = {0, 0};  // the step's first bytes: thread .. object, label
    std::uint32_t entry = 0;         // the entry it added or followed
    std::uint32_t old_seen = 0;      // that entry's seen before it, kAppended or kUntouched
    ObjectId object() const;
  };
  static constexpr std::uint32_t kAppended = 0xFFFFFFFFu;   // it added the entry
  static constexpr std::uint32_t kUntouched = 0xFFFFFFFEu;  // it touched no object
  struct PairKey {
    Op before;
    Op after;
    friend bool operator==(const PairKey&, const PairKey&) = default;
  };

  void process(const Step& s, Done& done);  // `done`: a fresh Done to fill
  void record(const Op& before, const Op& after);
  bool insert_key(const PairKey& key);  // true if new

  std::vector<std::vector<Entry>> objects_;  // by object id: the current execution's entries
  std::vector<Done> done_;  // the steps the entries reflect, in order (the first done_count_)
  std::size_t done_count_ = 0;
  std::vector<PairKey> keys_;  // open addressing, label == nullptr: empty
  std::size_t key_count_ = 0;
  std::optional<PairKey> last_;                            // the last pair recorded
  std::set<std::pair<std::string, std::string>> ordered_;  // (before, after) by name
};

/// Throws usage_error if a goal of o.must_cover is not of the form "A <> B".
void check_cover_goals(const ExploreOptions& o);

/// Whether explore() records coverage at all: o.coverage, or goals to check.
inline bool wants_coverage(const ExploreOptions& o) {
  return o.coverage || !o.must_cover.empty();
}

/// The end of a run: fills result.covered_pairs and one_order_pairs and, unless a finding
/// stopped the run, appends an unreached finding for every goal of o.must_cover not covered.
/// `searched`: what the run explored, for the message ("the whole search space", "the budget").
void report_coverage(const PairCoverage& coverage, const ExploreOptions& o,
                     std::string_view searched, bool stopped_by_finding, Result& result);

/// A worker's coverage: its own pairs, united into the run's (under the run's lock) when a
/// unit ends, so a checkpoint has them, and when the worker stops.
class CoverageObserver final : public ExecutionObserver {
 public:
  CoverageObserver(PairCoverage& run, std::mutex& run_lock) : run_(run), lock_(run_lock) {}
  void on_execution(const Execution& exec, std::uint64_t) override { mine_.add(exec.trace()); }
  void on_unit_end() override { flush(); }
  void on_worker_end() override { flush(); }

 private:
  void flush() {
    std::lock_guard lock(lock_);
    run_.merge(mine_);
  }
  PairCoverage& run_;
  std::mutex& lock_;
  PairCoverage mine_;
};

}  // namespace hc::detail

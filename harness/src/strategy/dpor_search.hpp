// dpor_search.hpp — DporStrategy, the search of `dpor`: optimal dynamic partial-order reduction
// with source sets, sleep sets and wakeup trees (Abdulla, Aronis, Jonsson, Sagonas, "Optimal
// dynamic partial order reduction", POPL 2014, Algorithm 2 "Optimal-DPOR"), stateless, over a
// decision stack like `dfs`.
//
// `dpor-source` is the paper's Algorithm 1 (Source-DPOR) over the same machinery: a race adds
// one initial of v to the decision's backtrack set (unless one is there) instead of inserting v;
// it explores the same executions to completion, plus some that sleep sets cut short.
//
// Vocabulary of the paper, as it appears here:
//  * An event is a scheduled step together with the unscheduled steps its thread records right
//    after it (hc::choose, joining a finished thread): Step::scheduled marks where events start.
//  * Happens-before (→) is the transitive closure of program order, spawn (a child's events come
//    after the parent event that spawned it), join, and dependence between events of different
//    threads (`dependent` below). Events are compared by vector clocks.
//  * A race e ≾ e' is a pair of dependent events of different threads with e → e' and no event
//    between them in →. After every execution that did not end sleep-set blocked, each race whose
//    e sits at a decision of this path gives v = notdep(e, E).e' (the events after e, up to e',
//    that do not happen after e, then e'), and v is inserted into the wakeup tree of the decision
//    before e unless a thread in that decision's sleep set is a weak initial of v.
//  * Each decision keeps a sleep set (threads whose next event was explored from here, or from an
//    ancestor with only independent events since) and a wakeup tree (ordered sequences still to
//    run from here). Backtracking puts the thread just explored to sleep and follows the next
//    wakeup sequence; a new decision reached while a sequence is followed inherits its subtree.
//
// Deviations, each on the side of exploring more, never less:
//  * Blocking. The paper assumes every process is always enabled. A race whose first event
//    enables the second cannot be reversed (an unlock and the lock that waited for it): those are
//    skipped, and the two lock acquisitions around the critical section are raced instead, as
//    Nidhugg does. A wakeup sequence that turns out infeasible (a thread not enabled when its
//    turn comes) is dropped at that point and the decision continues as a fresh one; a decision
//    whose enabled threads are all asleep ends the execution as pruned (sleep-set blocked): not
//    counted, never reported.
//  * Value choices (hc::choose, faults) are explored exhaustively, as by dfs. A choice made
//    before the first decision (no thread decision above it) starts one search per value, each
//    the paper's algorithm from the state the choice leaves: no race reaches above it (the steps
//    before it had no alternative), and no sleep set comes from above. Below a choice made after
//    a decision, every decision branches on every thread not asleep (sleep sets alone, which
//    are complete and keep complete executions one per trace): a wakeup sequence records the
//    threads of its events but not the values their choices took, so following it below a
//    choice that took another value would not reach the trace it stands for, and full branching
//    there needs no sequence. (Source-DPOR's races there instead lost outcomes on two generated
//    programs with a collection: DporDifferential.ValueChoiceBesideACollection.) Programs
//    without choices get the paper's algorithm unchanged.
//  * Parallel workers (--jobs) share one tree (shared_dpor.cpp): the driver owns the decisions
//    above the cut, runners explore the units below it with this same search, and their
//    results are committed in the order of a sequential search, so nothing changes.
//  * Fixed work units (shards, checkpoints): the first `split_depth` decisions branch on every
//    enabled thread not asleep (sleep sets alone) instead of on their wakeup trees, so the
//    subtrees below them are explored identically by whoever owns them. Optimal-DPOR's
//    sleep-set test on a race assumes the wakeup sequences of every decision above, which split
//    decisions do not keep, so below them races are handled as in Source-DPOR (Algorithm 1).
//    Sleep sets keep complete executions one per Mazurkiewicz trace either way: a partitioned
//    run counts the same executions, and prunes more. Shards size their units by Knuth's
//    estimate (search_units.hpp), for balance between machines that cannot share work; that
//    puts more decisions above the units, all branching on sleep sets alone, and multiplies the
//    sleep-set blocked executions (lastzero(10) under a checkpoint: 143,559 pruned with sized
//    units, 48,459 at the fixed depth). Checkpoints and workers of one machine, which need no
//    such balance (a checkpoint keeps the position inside a unit: position()), keep units at
//    the fixed depth.
//  * Dependence is strategy/dependence.hpp's: two events conflict when their footprints share
//    an object one of them writes. A model operation's footprint is what it declared
//    (rt::model_op; the footprint audit checks it), one without a declaration conflicts with
//    everything. Executed events, and a sleeping thread's event as it was explored, use
//    realized footprints (a failed compare-exchange or try_lock reads); a thread's announced
//    operation, and the last event of a reversed race, use their may-footprints (it may now
//    write). The header of dependence.hpp gives the soundness argument. A unit handed out to a
//    parallel worker before the driver knew what a sleeping thread ran as carries its
//    may-footprint; the commit finds the difference and runs the unit again. Still conservative:
//    condition-variable operations are dependent with everything, a yield (and a yielded
//    thread's next event) with every write.
//  * A wakeup sequence that insert() delegates to a decision below may begin with a thread
//    blocked there; backtracking drops it (it cannot start there), as a followed sequence that
//    turns out infeasible is dropped.
//  * Invariants (hc::invariant) are checked in the states the explored executions pass through;
//    one linearization per trace is explored, so an invariant broken only in the intermediate
//    states of other linearizations of a trace can be missed.
//
// The search's code is this header: dpor.cpp makes the strategies, shared_dpor.cpp the tree that
// parallel workers share (SharedDpor) and the runner's side of it.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hc/strategy.hpp"
#include "strategy/dependence.hpp"
#include "strategy/exhaustive_strategy.hpp"
#include "strategy/shared_search.hpp"

namespace hc::detail::dpor {

constexpr ThreadMask bit(ThreadId t) {
  return ThreadMask{1} << t;
}

/// What dependence needs to know of an event, or of a thread's next operation.
struct Ev {
  ThreadId thread = kNoThread;
  OpKind kind = OpKind::model;
  bool after_yield = false;  // the thread yielded just before: enabled again by any write
  /// Whether dependent() must look past the footprints (classify() says when); false: two
  /// events of different threads depend exactly when their footprints conflict. Whoever sets
  /// the fields it is derived from calls classify() again.
  bool special = false;
  ObjectId object = kNoObject;  // the object it announced (locks: which mutex)
  ThreadMask spawned = 0;       // threads spawned during this event
  ThreadMask joined = 0;        // threads whose end this event waited for
  Footprint footprint;          // every object it touches (dependence.hpp)
};

inline bool is_cv(OpKind k) {
  return k == OpKind::cv_wait || k == OpKind::cv_wake || k == OpKind::cv_notify_one ||
         k == OpKind::cv_notify_all;
}

/// Sets e.special: the event spawns or joins threads, is a join, a condition-variable
/// operation or a yield, follows a yield, or touches every model object or undeclared ones:
/// everything dependent() decides on besides the threads and the footprints' touches.
inline void classify(Ev& e) {
  e.special = e.spawned != 0 || e.joined != 0 || e.after_yield || e.kind == OpKind::thread_join ||
              e.kind == OpKind::thread_yield || is_cv(e.kind) || e.footprint.all_models() ||
              e.footprint.undeclared();
}

/// Each thread's next event at a decision (Frame::next), indexed by thread id, as an array of
/// kMaxThreads events would be; but only entries [0, stored()) are kept, and the others read as
/// Ev{} (no thread). Writing entry t first stores Ev{} in the entries below it not stored yet.
///
/// Why: the search makes a decision at every step, and copies and moves decisions at every unit
/// handed out, returned or promoted (shared search). A whole array is kMaxThreads x 52 bytes,
/// about 1.7 KB, zeroed or copied each time, where a scenario has a few threads.
class ThreadEvents {
 public:
  ThreadEvents() noexcept {}  // nothing stored; the storage stays uninitialized
  ThreadEvents(const ThreadEvents& other) noexcept : stored_(other.stored_) {
    std::memcpy(storage_, other.storage_, stored_ * sizeof(Ev));
  }
  ThreadEvents& operator=(const ThreadEvents& other) noexcept {
    if (this != &other) {
      stored_ = other.stored_;
      std::memcpy(storage_, other.storage_, stored_ * sizeof(Ev));
    }
    return *this;
  }

  const Ev& operator[](std::size_t t) const noexcept { return t < stored_ ? data()[t] : none(); }
  Ev& operator[](std::size_t t) noexcept {
    for (; stored_ <= t; ++stored_)  // into the raw storage: no Ev lives there yet
      ::new (static_cast<void*>(storage_ + stored_ * sizeof(Ev))) Ev{};
    return data()[t];
  }
  /// Entries [stored(), kMaxThreads) read as Ev{}.
  std::size_t stored() const noexcept { return stored_; }

 private:
  static const Ev& none() noexcept {
    static constexpr Ev kNone{};
    return kNone;
  }
  // Only where entries are stored (memcpy of a trivially copyable type creates them too).
  Ev* data() noexcept { return std::launder(reinterpret_cast<Ev*>(storage_)); }
  const Ev* data() const noexcept { return std::launder(reinterpret_cast<const Ev*>(storage_)); }

  std::uint8_t stored_ = 0;
  alignas(Ev) unsigned char storage_[kMaxThreads * sizeof(Ev)];
};
static_assert(std::is_trivially_copyable_v<Ev> && std::is_trivially_destructible_v<Ev>,
              "ThreadEvents copies events as bytes");

/// Whether two events are the same event (what a unit's input is compared by).
inline bool same_ev(const Ev& a, const Ev& b) {
  // (special is derived from the fields compared.)
  if (a.thread != b.thread || a.kind != b.kind || a.after_yield != b.after_yield ||
      a.object != b.object || a.spawned != b.spawned || a.joined != b.joined ||
      a.footprint.size != b.footprint.size)
    return false;
  for (std::uint8_t i = 0; i < a.footprint.size; ++i) {
    if (a.footprint.packed[i] != b.footprint.packed[i]) return false;
  }
  return true;
}

inline bool writes(const Ev& e) {
  for (std::uint8_t i = 0; i < e.footprint.size; ++i) {
    if (e.footprint.at(i).access != Access::read) return true;
  }
  return e.footprint.size == 0 && e.kind != OpKind::thread_yield && e.kind != OpKind::choice &&
         e.kind != OpKind::thread_join;
}

/// Dependence between events of different threads (program order is handled by callers).
inline bool dependent(const Ev& a, const Ev& b) {
  if (a.thread == b.thread) return true;
  // Most pairs are two plain accesses: the rest of the checks below would all pass through to
  // conflict(). (It was the largest item of a dpor profile on lastzero(12), 15%.)
  if (!a.special && !b.special) [[likely]]
    return conflicting_touches(a.footprint, b.footprint);
  if (((a.spawned | a.joined) & bit(b.thread)) != 0) return true;
  if (((b.spawned | b.joined) & bit(a.thread)) != 0) return true;
  // A join touches nothing but the end of the thread it joins (above).
  if (a.kind == OpKind::thread_join || b.kind == OpKind::thread_join) return false;
  if (is_cv(a.kind) || is_cv(b.kind)) return true;
  if ((a.kind == OpKind::thread_yield || a.after_yield) && writes(b)) return true;
  if ((b.kind == OpKind::thread_yield || b.after_yield) && writes(a)) return true;
  return conflict(a.footprint, a.kind == OpKind::model, b.footprint, b.kind == OpKind::model);
}

/// The events of an execution that may depend on a given one, found without asking every
/// earlier event. dependent(a, b) of two events that are not special is a conflict of their
/// footprints, so they share an object; so the events that may depend on an event are the
/// special ones and those that touch one of its objects (every event, for a special one). This
/// keeps, per object, the indices of the events that touch it, and the special events, in
/// ascending order, and visits the candidates before an index latest first: the order in which
/// the analysis scans events (build_events, add_wakeup_sequences), minus events dependent() would
/// turn away anyway. (Scanning every earlier event was a third of dpor's instructions on
/// lastzero(12): 370 events looked at per execution for 83 that could depend.) When the lists
/// hold half as many entries as there are events or more (a model's table that most events
/// touch), merging them costs more than it spares and every event is visited, as before.
/// (Merging them anyway made a model scenario's analysis three times as slow.)
///
/// Events are added in index order; truncate(n) forgets those from n on (an execution keeps
/// the previous one's first events).
class EventCandidates {
 public:
  /// Keeps events [0, n) (those of them it holds).
  void truncate(std::size_t n) {
    while (!added_.empty() && added_.back().index >= n) {
      lists_[added_.back().list].pop_back();
      added_.pop_back();
    }
    count_ = std::min(count_, n);
  }
  /// How many events it holds: events [0, size()).
  std::size_t size() const { return count_; }
  /// Event `index` == size(), which is `e`.
  void add(std::uint32_t index, const Ev& e) {
    count_ = std::size_t{index} + 1;
    if (e.special) {
      push(kSpecial, index);
      return;
    }
    for (std::uint8_t k = 0; k < e.footprint.size; ++k)
      push((e.footprint.packed[k] & Footprint::kObjectBits) + 1, index);
  }
  /// The events before an index that may depend on an event, latest first:
  ///   for (auto c = index.before(e, limit); c.more();) { const std::size_t i = c.next(); ... }
  /// or, where every() says it walks every event, the caller's own plain loop instead
  /// (DporStrategy::scan_candidates: a cursor's next() per event cost more than the index
  /// spared on the catalogue's small executions). The every-mode flag rather than an
  /// optional cursor: with std::optional the analysis took 2% more instructions.
  class Cursor {
   public:
    /// Every event i < limit, latest first.
    static Cursor every(std::size_t limit) {
      Cursor c;
      c.every_ = limit;
      return c;
    }
    /// Whether it walks every event (a special event, or lists as long as the events).
    bool every() const { return every_ != kMerging; }
    bool more() const { return every_ != kMerging ? every_ != 0 : n_ != 0; }
    /// The next candidate (more() must be true).
    std::size_t next() {
      if (every_ != kMerging) return --every_;
      std::size_t best = 0;
      for (std::size_t c = 1; c < n_; ++c) {
        if (lists_[c].at[-1] > lists_[best].at[-1]) best = c;
      }
      const std::uint32_t i = lists_[best].at[-1];
      // Every list holding i holds it last (nothing above i is left): an event that touches
      // two of e's objects is in two lists, and taken from both now, so returned once.
      for (std::size_t c = n_; c-- > 0;) {
        if (lists_[c].at[-1] != i) continue;
        if (--lists_[c].at == lists_[c].begin) lists_[c] = lists_[--n_];
      }
      return i;
    }

   private:
    friend class EventCandidates;
    static constexpr std::size_t kMerging = ~std::size_t{0};
    struct List {
      const std::uint32_t* begin;
      const std::uint32_t* at;  // the next candidate is at[-1]
    };

    std::size_t every_ = kMerging;  // kMerging: merging lists_; else the events left, all
    std::array<List, Footprint::kCapacity + 1> lists_;
    std::size_t n_ = 0;  // lists_[0, n_): the lists with candidates left
  };

  /// A cursor over the events i < limit that may depend on `e`, latest first (every event
  /// i < limit, when `e` is special). The events must have been added up to `limit`.
  Cursor before(const Ev& e, std::size_t limit) const {
    if (e.special) return Cursor::every(limit);
    // The special events' list, then each object's.
    Cursor c;
    auto open = [&](std::uint32_t list) {
      if (list >= lists_.size()) return;
      const std::vector<std::uint32_t>& l = lists_[list];
      const std::uint32_t* at =
          std::lower_bound(l.data(), l.data() + l.size(), static_cast<std::uint32_t>(limit));
      if (at != l.data()) c.lists_[c.n_++] = Cursor::List{l.data(), at};
    };
    open(kSpecial);
    for (std::uint8_t k = 0; k < e.footprint.size; ++k)
      open((e.footprint.packed[k] & Footprint::kObjectBits) + 1);
    std::size_t entries = 0;
    for (std::size_t k = 0; k < c.n_; ++k)
      entries += static_cast<std::size_t>(c.lists_[k].at - c.lists_[k].begin);
    // Most events are candidates anyway (an object most events touch: a model's table), and
    // merging costs more per event than scanning: every event, as without the index.
    if (2 * entries >= limit) return Cursor::every(limit);
    return c;
  }

 private:
  static constexpr std::uint32_t kSpecial = 0;  // list 0; object o's is o + 1

  void push(std::uint32_t list, std::uint32_t index) {
    if (list >= lists_.size()) lists_.resize(std::size_t{list} + 1);
    lists_[list].push_back(index);
    added_.push_back(Added{list, index});
  }

  struct Added {
    std::uint32_t list;
    std::uint32_t index;
  };
  std::vector<std::vector<std::uint32_t>> lists_;
  std::vector<Added> added_;  // every push, in order: what truncate() takes back
  std::size_t count_ = 0;
};

inline bool acquires(OpKind k) {
  return k == OpKind::mutex_lock || k == OpKind::mutex_try_lock || k == OpKind::cv_wake;
}
inline bool releases(OpKind k) {
  return k == OpKind::mutex_unlock || k == OpKind::cv_wait;
}

inline Ev make_ev(ThreadId t, OpKind kind, ObjectId object, Footprint footprint,
                  std::uint64_t join_target, bool after_yield, ThreadMask spawned = 0) {
  Ev e;
  e.thread = t;
  e.kind = kind;
  e.object = object;
  e.footprint = footprint;
  e.after_yield = after_yield;
  e.spawned = spawned;
  if (kind == OpKind::thread_join && join_target < kMaxThreads)
    e.joined = bit(static_cast<ThreadId>(join_target));
  classify(e);
  return e;
}

/// An executed step as the event it was: its realized footprint (a failed compare-exchange or
/// try_lock only read). See dependence.hpp for when realized footprints are sound.
/// `spawned`: the threads spawned during it.
inline Ev event_of(const Step& s, std::span<const Touch> touches, bool after_yield,
                   ThreadMask spawned = 0) {
  return make_ev(s.thread, s.kind, s.object, realized_footprint(s, touches), s.value, after_yield,
                 spawned);
}

/// An announced operation, whatever it will do: its may-footprint.
inline Ev summary_of(const Operation& op, ThreadId t, bool after_yield) {
  return make_ev(t, op.kind, op.object, may_footprint(op), op.arg, after_yield);
}

/// An executed event as the operation it is, to run in another state: the last event of a
/// reversed race (it may now succeed where it failed).
inline Ev as_operation(Ev e) {
  e.footprint = as_operation(e.footprint, e.kind, e.object);
  return e;
}

/// One past the last step of the event that starts at `from`: a scheduled step and the
/// unscheduled steps its thread records right after it.
inline std::uint32_t event_end(const Step* steps, std::uint32_t n, std::uint32_t from) {
  std::uint32_t j = from + 1;
  while (j < n && !steps[j].scheduled && steps[j].thread == steps[from].thread)
    ++j;
  return j;
}

using Sequence = std::vector<Ev>;

/// Whether thread `p`, whose next event is `next`, is a weak initial of `w`: `w` may start with
/// p's event (it is p's first in w and nothing before it in w happens before it), or p does not
/// occur in w and its next event commutes with all of w.
inline bool weak_initial(ThreadId p, const Ev& next, const Sequence& w) {
  for (std::size_t k = 0; k < w.size(); ++k) {
    if (w[k].thread != p) continue;
    for (std::size_t i = 0; i < k; ++i) {
      if (dependent(w[i], w[k])) return false;
    }
    return true;
  }
  for (const Ev& e : w) {
    if (dependent(next, e)) return false;
  }
  return true;
}

inline void remove_first(Sequence& w, ThreadId p) {
  for (auto it = w.begin(); it != w.end(); ++it) {
    if (it->thread == p) {
      w.erase(it);
      return;
    }
  }
}

/// The children of a wakeup-tree node, in order: up to two inline (most nodes have one, a
/// sequence's next event), more on the heap. 16 bytes: a node is an Ev and this, and copying
/// subtrees (a decision that follows a sequence, a unit handed out) moves node after node, so
/// its size is memory traffic. (Building trees allocated per node before: a third of dpor's
/// time on lastzero(12) was WakeupTree::add_child. Four inline beside a std::vector made a node
/// 136 bytes, and 104 with 8-byte footprint entries; it is 72.)
class ChildList {
 public:
  ChildList() noexcept = default;
  ChildList(const ChildList& other) : ChildList() { *this = other; }
  ChildList(ChildList&& other) noexcept : ChildList() { swap(other); }
  ChildList& operator=(const ChildList& other) {
    if (this == &other) return *this;
    size_ = 0;
    reserve(other.size_);
    std::copy(other.begin(), other.end(), begin());
    size_ = other.size_;
    return *this;
  }
  ChildList& operator=(ChildList&& other) noexcept {
    swap(other);
    return *this;
  }
  ~ChildList() {
    if (capacity_ != 0) delete[] storage_.heap;
  }

  std::uint32_t* begin() { return capacity_ != 0 ? storage_.heap : storage_.inline_children; }
  std::uint32_t* end() { return begin() + size_; }
  const std::uint32_t* begin() const {
    return capacity_ != 0 ? storage_.heap : storage_.inline_children;
  }
  const std::uint32_t* end() const { return begin() + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint32_t front() const { return *begin(); }
  std::uint32_t operator[](std::size_t k) const { return begin()[k]; }
  void push_back(std::uint32_t c) {
    if (size_ == (capacity_ != 0 ? capacity_ : kInline)) reserve(size_ * 2);
    begin()[size_++] = c;
  }
  void erase(std::uint32_t* first, std::uint32_t* last) {
    std::copy(last, end(), first);
    size_ -= static_cast<std::uint32_t>(last - first);
  }
  void erase(std::uint32_t* at) { erase(at, at + 1); }
  /// Empty again; a spilled list keeps its heap storage for its next children (nodes are
  /// reused).
  void clear() { size_ = 0; }

 private:
  static constexpr std::uint32_t kInline = 2;

  /// Room for `n` children, keeping the ones there.
  void reserve(std::size_t n) {
    if (n <= (capacity_ != 0 ? capacity_ : kInline)) return;
    const auto capacity = static_cast<std::uint32_t>(std::max<std::size_t>(n, 4));
    auto* grown = new std::uint32_t[capacity];
    std::copy(begin(), end(), grown);
    if (capacity_ != 0) delete[] storage_.heap;
    storage_.heap = grown;
    capacity_ = capacity;
  }
  void swap(ChildList& other) noexcept {
    std::swap(storage_, other.storage_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  union Storage {
    std::uint32_t inline_children[kInline];  // capacity_ == 0
    std::uint32_t* heap;                     // capacity_ != 0
  };
  Storage storage_{};
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;  // of storage_.heap; 0: the children are inline
};
static_assert(sizeof(ChildList) == 16);

/// A wakeup tree's nodes, in chunks that never move: a tree grows without copying what it
/// holds. Chunks a tree lets go of (reset, destruction) wait for the next tree that grows: in
/// a small pool of the thread's, and beyond it in a depot all threads share. (In one vector per
/// tree, growing and copying the trees of the first decisions, thousands of nodes on
/// lastzero(12), reallocated and page-faulted all the time. With a pool per thread only,
/// parallel workers page-faulted instead: a tree grown by one worker is let go of by another
/// (units move trees to the shared top and back), so one worker's pool overflowed into free()
/// while the other's ran dry and grew its malloc arena; the depot closes that loop.)
template <class Node>
class NodeStore {
 public:
  static constexpr std::size_t kChunk = 32;

  NodeStore() = default;
  NodeStore(const NodeStore& other) { *this = other; }
  NodeStore(NodeStore&& other) noexcept
      : chunks_(std::move(other.chunks_)), size_(std::exchange(other.size_, 0)) {}
  NodeStore& operator=(const NodeStore& other) {
    if (this == &other) return *this;
    size_ = 0;
    for (std::size_t i = 0; i < other.size_; ++i)
      grow() = other[i];
    return *this;
  }
  NodeStore& operator=(NodeStore&& other) noexcept {
    release(0);
    chunks_ = std::move(other.chunks_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~NodeStore() { release(0); }

  Node& operator[](std::size_t i) { return (*chunks_[i / kChunk])[i % kChunk]; }
  const Node& operator[](std::size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void push_back(Node n) { grow() = std::move(n); }
  /// A new last node, holding whatever the slot held before (a pooled chunk's old node, or a
  /// default one): the caller sets every field. Reusing the slot keeps its storage (a child
  /// list's heap) where a push_back would free it and allocate again.
  Node& grow() {
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(take_chunk());
    return (*this)[size_++];
  }
  /// Just a root (Node{}); the first chunk stays, the others go back to the pool.
  void reset() {
    release(1);
    size_ = 0;
    push_back(Node{});
  }

 private:
  using Chunk = std::array<Node, kChunk>;
  using ChunkPtr = std::unique_ptr<Chunk>;
  // A thread's pool trades with the depot in batches of kBatch: one lock per kBatch chunks.
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kPooledChunks = 4 * kBatch;  // per thread
  static constexpr std::size_t kDepotChunks = 4096;         // all threads (about 18 MB)

  /// Chunks no thread's pool holds. Never destroyed: threads' pools return to it at their
  /// exit, in whatever order the runtime ends them.
  struct Depot {
    std::mutex mu;
    std::vector<ChunkPtr> chunks;
  };
  static Depot& depot() {
    static Depot* d = new Depot;  // NOLINT: deliberately immortal (see above)
    return *d;
  }
  struct Pool {
    std::vector<ChunkPtr> chunks;
    ~Pool() { give_back(chunks, 0); }
  };
  static std::vector<ChunkPtr>& pool() {
    thread_local Pool p;
    return p.chunks;
  }
  /// Moves all but `keep` of `from`'s chunks to the depot (those beyond its capacity are freed).
  static void give_back(std::vector<ChunkPtr>& from, std::size_t keep) {
    Depot& d = depot();
    std::lock_guard lock(d.mu);
    while (from.size() > keep) {
      if (d.chunks.size() < kDepotChunks) d.chunks.push_back(std::move(from.back()));
      from.pop_back();
    }
  }
  static ChunkPtr take_chunk() {
    auto& p = pool();
    if (p.empty()) {
      Depot& d = depot();
      std::lock_guard lock(d.mu);
      for (std::size_t k = 0; k < kBatch && !d.chunks.empty(); ++k) {
        p.push_back(std::move(d.chunks.back()));
        d.chunks.pop_back();
      }
    }
    if (p.empty()) return std::make_unique<Chunk>();
    ChunkPtr c = std::move(p.back());
    p.pop_back();
    return c;
  }
  /// Keeps the first `keep` chunks, pools the rest.
  void release(std::size_t keep) {
    auto& p = pool();
    while (chunks_.size() > keep) {
      p.push_back(std::move(chunks_.back()));
      chunks_.pop_back();
      if (p.size() > kPooledChunks) give_back(p, kPooledChunks - kBatch);
    }
    size_ = std::min(size_, keep * kChunk);
  }

  std::vector<ChunkPtr> chunks_;
  std::size_t size_ = 0;
};

/// An ordered tree of event sequences; node 0 is the root (the decision's state).
struct WakeupTree {
  struct Node {
    Ev ev;
    ChildList children;
  };
  static_assert(sizeof(Node) <= 72, "a node's size is what copying subtrees moves");
  NodeStore<Node> nodes = root_only();
  std::uint64_t version = 0;  // counts additions: an unchanged version is an unchanged tree

  static NodeStore<Node> root_only() {
    NodeStore<Node> n;
    n.reset();
    return n;
  }

  std::uint32_t add_child(std::uint32_t parent, const Ev& ev) {
    ++version;
    Node& node = nodes.grow();
    node.ev = ev;
    node.children.clear();
    const auto id = static_cast<std::uint32_t>(nodes.size() - 1);
    nodes[parent].children.push_back(id);
    return id;
  }
  /// Copies the subtree below `from`'s node `at` as this tree's root's children.
  void copy_below(const WakeupTree& from, std::uint32_t at) {
    clear();
    copy_children(from, at, 0);
  }
  /// What copy_below(from, at) makes of this tree, a root alone, by taking `from`'s storage
  /// instead of copying it. For a tree whose root has one child, the branch `at` lies in,
  /// whose subtree `from` never reads again (DporStrategy::follow_into says why): `from` is
  /// left its root and that child, a leaf, and keeps its version and its count of additions
  /// below the child. Returns the child's id in `from` now. The nodes of `from` outside the
  /// subtree stay in this tree's storage, unreachable, until it is cleared.
  std::uint32_t take_below(WakeupTree& from, std::uint32_t at) {
    std::swap(nodes, from.nodes);
    const std::uint32_t branch = nodes[0].children.front();
    const std::uint32_t kept = from.keep_leaf(nodes[branch].ev, from.additions_below(branch));
    // This tree's root takes over `at`'s children (the old root's, swapped out, are dropped).
    nodes[0].ev = Ev{};
    std::swap(nodes[0].children, nodes[at].children);
    nodes[at].children.clear();
    additions_.clear();
    ++version;
    return kept;
  }
  /// Gives `to` this whole tree (taking `to`'s storage in exchange) and keeps its root and
  /// the root's one child `branch`, now a leaf: what a decision whose only branch was handed
  /// out keeps (SharedDpor, the unit the driver stands at). The version and the count of
  /// additions below the branch stay; `to` gets the nodes with their ids. Returns the leaf's
  /// id here.
  std::uint32_t hand_over(WakeupTree& to, std::uint32_t branch) {
    const std::uint32_t added = additions_below(branch);
    std::swap(nodes, to.nodes);
    to.additions_.clear();
    to.version = version;
    nodes.reset();
    return keep_leaf(to.nodes[branch].ev, added);
  }
  void clear() {
    nodes.reset();
    additions_.clear();
  }
  /// Sequences inserted below root child `top` since the tree was made (insert() says so with
  /// added_below): the shared search tells whether a branch it handed out is still the same by
  /// this count instead of by a copy of the branch's subtree. Copies do not count.
  std::uint32_t additions_below(std::uint32_t top) const {
    for (const auto& [node, count] : additions_)
      if (node == top) return count;
    return 0;
  }
  void added_below(std::uint32_t top) {
    for (auto& [node, count] : additions_) {
      if (node == top) {
        ++count;
        return;
      }
    }
    additions_.emplace_back(top, 1);
  }
  /// Copies the subtree below `from`'s node `at` below this tree's node `dst`.
  void copy_subtree(const WakeupTree& from, std::uint32_t at, std::uint32_t dst) {
    copy_children(from, at, dst);
  }

 private:
  void copy_children(const WakeupTree& from, std::uint32_t src, std::uint32_t dst) {
    for (std::uint32_t c : from.nodes[src].children) {
      const std::uint32_t n = add_child(dst, from.nodes[c].ev);
      copy_children(from, c, n);
    }
  }

  /// What take_below leaves `from` and hand_over leaves this tree, just after its storage was
  /// swapped for another tree's: its root with one leaf for `ev` (the branch whose subtree went
  /// away), with the `added` sequences counted below the branch. Returns the leaf's id.
  std::uint32_t keep_leaf(const Ev& ev, std::uint32_t added) {
    Node& leaf = nodes.grow();  // not add_child: this tree gained nothing
    leaf.ev = ev;
    leaf.children.clear();
    const auto kept = static_cast<std::uint32_t>(nodes.size() - 1);
    nodes[0].children.clear();
    nodes[0].children.push_back(kept);
    additions_.clear();
    if (added != 0) additions_.emplace_back(kept, added);
    return kept;
  }

  std::vector<std::pair<std::uint32_t, std::uint32_t>> additions_;  // (root child, count)
};

class SharedDpor;

/// What SharedDpor tells the runner of a unit while it runs: one per unit handed out, shared by
/// both, set under SharedDpor's lock and read by the runner without it.
struct UnitSignals {
  std::atomic<bool> lost{false};  // a unit committed before it changed its input: stop
  /// The driver reached it with its input unchanged: it commits, and its runner streams its
  /// races into the top from now on (SharedDpor::stream).
  std::atomic<bool> validated{false};
};

/// dpor over a search tree its workers share (shared_search.hpp). Three roles of one class:
///  * alone (shared_ == nullptr, driver_ false): the sequential search, or one worker of a
///    fixed-depth partition (shards, checkpoints);
///  * a runner (shared_ set): explores the units SharedDpor hands out. Decisions
///    [0, top_) belong to the shared top: the runner never backtracks them, and a race whose
///    sequence goes to one of them is recorded (TopRace) for the driver instead of inserted;
///  * the driver (driver_ true, inside SharedDpor): its stack is the top path; it never runs an
///    execution, only applies committed units (apply_unit) and backtracks to the next one.
/// Runner and driver run the same code on the same frames as a sequential search would, in the
/// same order, so a shared search explores exactly the sequential search's executions.
class DporStrategy final : public ExhaustiveStrategy {
 public:
  DporStrategy(const StrategyOptions& o, bool optimal, std::shared_ptr<SharedDpor> shared = {},
               bool driver = false)
      : ExhaustiveStrategy(o, /*sized_units=*/shared == nullptr && !driver && o.sharded),
        optimal_(optimal),
        shared_(std::move(shared)),
        driver_(driver),
        top_(shared_ != nullptr || driver ? o.split_depth : 0),
        unit_size_(unit_size_for(o, 1)),
        stop_at_first_(o.stop_at_first) {}

  std::size_t stack_depth() const override { return stack_.size(); }
  void begin_path() override {
    depth_ = 0;
    processed_ = 0;
    running_sleep_ = 0;
    entered_ = kNoFrame;
    yielded_ = 0;
    blocked_ = false;
    following_ = follow_from_ >= 0;
    follow_frame_ = follow_from_;
    follow_node_ = 0;
  }

  std::optional<ThreadId> pick_thread(const Decision& d) override {
    catch_up(d.view.trace().data(), d.view.touches(), d.step);
    if (blocked_) return std::nullopt;  // a sleeping thread was forced to run
    const ThreadMask awake = d.enabled & ~running_sleep_;
    if (depth_ < stack_.size()) {
      Frame& f = stack_[depth_];
      if (f.is_value || f.enabled != d.enabled) {
        events_valid_ = false;
        d.diverge(
            fmt::format("decision {} of this path offered other choices before: the "
                        "scenario does not behave the same when re-run",
                        depth_ + 1));
        return static_cast<ThreadId>(std::countr_zero(d.enabled));
      }
      f.step = d.step;
      enter(depth_);
      ++depth_;
      return f.chosen;
    }
    // A new decision.
    const std::size_t above = stack_.size();
    stack_.emplace_back(take_tree());
    Frame& f = stack_.back();
    f.enabled = d.enabled;
    f.step = d.step;
    f.sleep = running_sleep_ & d.live;
    for (ThreadMask m = d.live; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      // A sleeping thread has not run since it was put to sleep: it keeps the event it was
      // explored as (dependence.hpp, sleep sets).
      f.next[t] = (f.sleep & bit(t)) != 0
                      ? sleeping_next(t)
                      : summary_of(d.view.pending(t), t, (yielded_ & bit(t)) != 0);
    }
    // Below a value choice made after a decision, every decision branches on every thread
    // (see the header).
    const bool split = above < std::max<std::size_t>(units().split(), units().split_frames()) ||
                       below_choice_after_decision();
    f.split = split;
    bool picked = false;
    if (!split && following_) {
      // Inherit the wakeup subtree being followed; its first feasible sequence decides.
      follow_into(f);
      auto& root = f.wut.nodes[0].children;
      while (!root.empty()) {
        const ThreadId t = f.wut.nodes[root.front()].ev.thread;
        // A sequence whose thread is asleep here was explored already (insertions are checked
        // against the sleep set of their decision, not of every decision they pass through).
        if (d.is_enabled(t) && (running_sleep_ & bit(t)) == 0) {
          f.chosen = t;
          f.chosen_child = root.front();
          picked = true;
          break;
        }
        root.erase(root.begin());  // infeasible or redundant here: drop it
      }
    }
    if (!picked) {
      following_ = false;
      f.wut.clear();
      if (awake == 0) {
        ++depth_;
        blocked_ = true;
        return std::nullopt;  // every enabled thread is asleep: nothing new below
      }
      f.chosen = d.current_enabled && (awake & bit(d.current)) != 0
                     ? d.current
                     : static_cast<ThreadId>(std::countr_zero(awake));
      f.chosen_child = f.wut.add_child(0, f.next[f.chosen]);
    }
    const ThreadId chosen = f.chosen;
    enter(stack_.size() - 1);
    if (following_) {
      follow_frame_ = static_cast<int>(stack_.size() - 1);  // consumed by catch_up from here
      follow_node_ = 0;
    }
    ++depth_;
    if (entered_foreign_unit()) return std::nullopt;  // a unit that is not ours
    return chosen;
  }

  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    if (depth_ < stack_.size()) {
      const Frame& f = stack_[depth_];
      if (!f.is_value || f.enabled != d.bound) {
        d.diverge("a value choice changed between runs of the same path");
        return 0u;
      }
      ++depth_;
      return f.value;
    }
    Frame& f = stack_.emplace_back(take_tree());
    f.is_value = true;
    f.enabled = d.bound;
    f.value = 0;
    ++depth_;
    if (entered_foreign_unit()) return std::nullopt;
    return 0u;
  }

  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    truncate(std::min(stack_.size(), depth_));
    if (!verdict.pruned)
      catch_up(steps.data(), verdict.touches, static_cast<std::uint32_t>(steps.size()));
    if (shared_ != nullptr) {
      ++unit_executions_;
      tag_dispatched_execution(dispatch_, !verdict.pruned && !blocked_);
      if (verdict.finding && stop_at_first_) {
        // A sequential search ends here: so does this unit (SharedDpor ends the search when
        // it commits the unit, and only if no unit before it ended it first).
        stopped_ = true;
        backtrack();
        return;
      }
      if (signals_->lost.load(std::memory_order_relaxed)) {
        abandoned_ = true;  // its result would be discarded: stop now
        backtrack();
        return;
      }
    } else if (units().sized() && units().probing()) {
      // A probe (the first execution below a new node above the units) names its unit by
      // Knuth's estimate; the decisions above that unit then branch on every awake thread
      // (sleep sets alone), as every owner's must, so the unit's subtree is the same whoever
      // explores it.
      tag_execution(!verdict.pruned && !blocked_,
                    [this](std::size_t k) { return branches(stack_[k]); });
      split_units();
    } else {
      tag_execution(!verdict.pruned && !blocked_, [](std::size_t) { return 1u; });  // fixed depth
    }
    if (const std::string* saved = shared_ == nullptr ? saved_position() : nullptr) {
      // A checkpoint stopped inside this unit: go on from there (this execution, the unit's
      // first, was counted and analysed before the interruption).
      continue_from(*saved);
      resumed_from_position();
      return;
    }
    // A sleep-set blocked execution is not counted, but its prefix is a real one: its races are
    // reversed too (Source-DPOR analyses every prefix; without this it would miss traces).
    if (!units().foreign()) {
      build_events(steps, verdict.touches, verdict.spawns, verdict.waiting, verdict.pending);
      add_wakeup_sequences();
      events_valid_ = true;
      if (shared_ != nullptr) stream_to_top();
    } else {
      events_valid_ = false;
    }
    backtrack();
    // A shared unit that grew to unit_size executions hands what is left of it to the top, so
    // the workers share it (a count, never a clock, decides: the split is the same every run).
    if (shared_ != nullptr && !need_unit_ && unit_size_ != 0 && unit_executions_ >= unit_size_)
      promote_shared_part();
  }

  std::string_view name() const override { return optimal_ ? "dpor" : "dpor-source"; }

  /// Between executions, inside a unit of a partitioned search (checkpoints, shards): the
  /// search's whole state, as text (dpor.cpp has the format): the decisions of the path with
  /// their sleep sets, next events and wakeup trees, the decision whose wakeup sequence runs
  /// next and how many steps the next execution shares with the last. A checkpoint keeps it,
  /// so a resumed run loses none of a big unit's work.
  std::optional<std::string> position() const override;

  struct Frame {
    bool is_value = false;
    /// Branches on every thread not asleep: a unit split, or below a choice made after a
    /// decision (see the header).
    bool split = false;
    std::uint32_t enabled = 0;  // thread decision: enabled mask; value decision: the bound
    ThreadId chosen = 0;
    std::uint32_t value = 0;  // value decision: the value of this branch
    std::uint32_t step = 0;   // trace index of the step this decision chose
    ThreadMask sleep = 0;
    /// Each live thread's next event here. A thread awake here: the operation it announced, as
    /// whatever it may do (its may-footprint). A thread asleep here: the event it was explored
    /// as, from here or from the decision above it slept at, with its realized footprint (a
    /// compare-exchange that failed reads). It keeps that outcome while it sleeps: anything that
    /// could change it conflicts with it and wakes it (dependence.hpp).
    ThreadEvents next;
    Ev ran;  // the chosen thread's event here, once an execution ran it (thread kNoThread: not yet)
    WakeupTree wut;
    std::uint32_t chosen_child = 0;  // the root child being explored

    Frame() = default;
    explicit Frame(WakeupTree tree) : wut(std::move(tree)) {}
  };

  // --- the shared search's side (see SharedDpor) ----------------------------------------------

  /// A race whose sequence goes to decision `frame` of the top: the driver inserts it when the
  /// unit that found it is committed.
  struct TopRace {
    std::size_t frame = 0;
    Sequence v;
  };
  static constexpr std::uint32_t kNewChild = 0xFFFFFFFFu;  // see Branch

  /// The driver's wakeup node of a unit's branch, and the sequences inserted below it so far
  /// (WakeupTree::additions_below): what tells later whether the unit's input is still the
  /// same. node kNewChild: a branch not in the driver's tree yet (a split decision's next thread).
  struct BranchMark {
    std::uint32_t node = kNewChild;
    std::uint32_t additions = 0;
  };
  /// What a runner needs to explore a unit: the top path down to the unit's branch (its last
  /// frame; chosen and chosen_child name the branch) and where the branch's wakeup sequence
  /// starts (follow_from, -1: the branch decides freshly). A unit is identified by its path.
  struct UnitInput {
    std::vector<Frame> frames;
    int follow_from = -1;
    BranchMark mark;
  };
  /// What a unit learnt about the top: the decisions its first execution created below its
  /// branch and above the cut, its races into the top in the order found, and whether a
  /// stop-at-first finding ended it.
  struct UnitResult {
    std::vector<Frame> fresh;
    std::vector<TopRace> races;
    bool stopped = false;
    /// A part of a unit that goes on (promote_shared_part): its frames stand at the branches in
    /// progress, the last one's being the rest of the unit, which the driver waits for next.
    bool promoted = false;
    std::uint64_t executions = 0;  // how many it ran (what a discarded unit cost)
    /// The events the chosen threads of the top's decisions ran as (Frame::ran), which the
    /// driver's own frames learn from it: it never runs an execution.
    std::vector<Ev> ran;
  };

  /// A unit's identity: the choices of its path.
  using UnitKey = std::vector<std::uint32_t>;

  /// Driver: the unit to explore next (the branch the driver's stack names).
  UnitInput next_input() const {
    if (stack_.empty()) return UnitInput{};  // the first unit: the whole tree's first branch
    const Frame& f = stack_.back();
    return input_at(stack_.size() - 1, Branch{f.sleep, {}, f.chosen, f.chosen_child, f.value});
  }
  /// Driver: next_input() for the unit it stands at, handed out now. That unit is never lost
  /// (nothing before it is left to commit), and the driver never reads below its branch
  /// again: insert() leaves the sequences that run into it to the runner, backtrack() drops
  /// it. So when the branch is its decision's only wakeup child (30 of 31 such dispatches on
  /// lastzero(12)), the input takes the decision's tree instead of a copy of the branch's
  /// subtree (WakeupTree::hand_over), and the decision keeps the branch as a leaf. On
  /// lastzero(12) with two workers that is about 51,000 of the 175,000 nodes units were
  /// handed out with.
  UnitInput take_next_input() {
    if (stack_.empty()) return UnitInput{};
    Frame& f = stack_.back();
    const ChildList& root = f.wut.nodes[0].children;
    if (f.is_value || f.split || root.size() != 1 || root.front() != f.chosen_child)
      return next_input();
    UnitInput in =
        input_at(stack_.size() - 1, Branch{f.sleep, {}, f.chosen, f.chosen_child, f.value},
                 /*copy_subtree=*/false);
    Frame& last = in.frames.back();
    last.chosen_child = f.chosen_child;
    f.chosen_child = f.wut.hand_over(last.wut, f.chosen_child);
    in.mark.node = f.chosen_child;  // input_at counted its additions, which the leaf keeps
    return in;
  }
  UnitKey next_key() const {
    if (stack_.empty()) return {};
    const Frame& f = stack_.back();
    return key_at(stack_.size() - 1, f.chosen, f.value);
  }
  /// Driver: the first of the `n` units after the current one that `wanted(key)`, with the
  /// input it will have if the units before it add nothing to the top (see SharedDpor). The
  /// backtracking of backtrack(), simulated on the branch being taken at each decision.
  template <class Wanted>
  std::optional<UnitInput> predict(std::size_t n, Wanted&& wanted) const {
    std::size_t depth = stack_.size();
    std::optional<Branch> at;  // the simulated state of decision depth - 1
    while (n > 0 && depth > 0) {
      const Frame& f = stack_[depth - 1];
      Branch b = at ? std::move(*at)
                    : Branch{f.sleep, f.wut.nodes[0].children, f.chosen, f.chosen_child, f.value};
      bool found = false;
      if (f.is_value) {
        if (b.value + 1 < f.enabled) {
          ++b.value;
          found = true;
        }
      } else {
        b.sleep |= bit(b.chosen);
        b.root.erase(std::remove(b.root.begin(), b.root.end(), b.chosen_child), b.root.end());
        if (f.split) {
          const ThreadMask left = f.enabled & ~b.sleep;
          if (left != 0) {
            b.chosen = static_cast<ThreadId>(std::countr_zero(left));
            b.chosen_child = kNewChild;
            found = true;
          }
        } else {
          while (!b.root.empty()) {
            const ThreadId t = f.wut.nodes[b.root.front()].ev.thread;
            if ((f.enabled & bit(t)) != 0 && (b.sleep & bit(t)) == 0) break;
            b.root.erase(b.root.begin());
          }
          if (!b.root.empty()) {
            b.chosen_child = b.root.front();
            b.chosen = f.wut.nodes[b.chosen_child].ev.thread;
            found = true;
          }
        }
      }
      if (!found) {
        --depth;
        at.reset();
        continue;
      }
      --n;
      if (wanted(key_at(depth - 1, b.chosen, b.value))) return input_at(depth - 1, b);
      at = std::move(b);
    }
    return std::nullopt;
  }
  /// Driver: whether the branch a unit ahead was handed out with (its key and branch frame)
  /// still has the wakeup subtree it had. Value and split decisions have none to change.
  bool branch_unchanged(const UnitKey& key, const Frame& branch, const BranchMark& mark) const {
    if (key.empty() || key.size() > stack_.size()) return true;  // checked when reached
    const Frame& f = stack_[key.size() - 1];
    if (f.is_value || f.split) return true;
    for (std::uint32_t c : f.wut.nodes[0].children) {
      if (f.wut.nodes[c].ev.thread != branch.chosen) continue;
      return same_node(f, c, branch, mark);
    }
    return false;
  }
  /// Driver, standing at a unit's branch: whether the unit ran with the input it has now (what
  /// next_input() would give). Its path, the sleep sets along it and its branch's event are
  /// fixed once the branch exists (a unit before it can only add branches after it); what a
  /// unit before it can change is the wakeup subtree below its branch, and what a prediction
  /// may not have known is the event a sleeping thread sleeps as.
  bool same_branch(const Frame& ran, const BranchMark& mark) const {
    if (stack_.empty()) return true;  // the first unit
    const Frame& b = stack_.back();
    if (ran.is_value != b.is_value || ran.chosen != b.chosen || ran.value != b.value ||
        ran.sleep != b.sleep)
      return false;
    if (ran.is_value) return true;
    for (ThreadMask m = ran.sleep; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      if (!same_ev(ran.next[t], b.next[t])) return false;
    }
    return same_node(b, b.chosen_child, ran, mark);
  }
  /// A unit's branch without the wakeup subtree below it (SharedDpor keeps one per unit handed
  /// out; what may change below it is counted, not copied).
  static Frame branch_only(const Frame& f) {
    Frame b;
    b.is_value = f.is_value;
    b.split = f.split;
    b.enabled = f.enabled;
    b.chosen = f.chosen;
    b.value = f.value;
    b.step = f.step;
    b.sleep = f.sleep;
    b.next = f.next;
    b.ran = f.ran;
    if (!f.is_value) b.chosen_child = b.wut.add_child(0, f.wut.nodes[f.chosen_child].ev);
    return b;
  }
  /// Driver: whether the threads asleep at the branch a unit was handed out with sleep there as
  /// the events they sleep as at the decision the driver stands at (a unit predicted before
  /// the unit ahead of it came back may not have known what that unit's thread ran as).
  bool same_sleepers(const Frame& branch) const {
    if (stack_.empty() || branch.is_value) return true;
    const Frame& f = stack_.back();
    for (ThreadMask m = branch.sleep; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      if (!same_ev(branch.next[t], f.next[t])) return false;
    }
    return true;
  }
  /// Driver: the version of decision f's wakeup tree (WakeupTree::version); 0 past the path.
  std::uint64_t tree_version(std::size_t f) const {
    return f < stack_.size() ? stack_[f].wut.version : 0;
  }
  /// Driver: every unit was explored.
  bool exhausted() const { return exhausted_; }
  /// Driver: commits a unit explored from next_input(), then moves to the next unit.
  void apply_unit(UnitResult r) {
    learn_ran(r.ran);
    for (Frame& f : r.fresh)
      stack_.push_back(std::move(f));
    apply_races(r.races);
    if (!r.promoted) backtrack();
  }
  /// Driver: what the chosen threads of the top's decisions ran as, from a unit (UnitResult::ran).
  void learn_ran(const std::vector<Ev>& ran) {
    for (std::size_t k = 0; k < std::min(ran.size(), stack_.size()); ++k) {
      if (stack_[k].ran.thread == kNoThread && ran[k].thread == stack_[k].chosen)
        stack_[k].ran = ran[k];
    }
  }
  /// Driver: a unit's races into the top, in the order found (their sequences are moved out).
  void apply_races(std::span<TopRace> races) {
    for (TopRace& race : races) {
      if (race.frame >= stack_.size()) throw std::logic_error("dpor: a unit's race names no frame");
      if (!optimal_) {
        add_source(stack_[race.frame], race.v);
      } else {
        insert(race.frame, race.v);
      }
    }
  }

 private:
  /// The branch a decision takes: its sleep set then, what is left of its wakeup tree's root,
  /// its thread (or value) and wakeup child (kNewChild: one not in the tree yet, a split).
  struct Branch {
    ThreadMask sleep = 0;
    ChildList root;
    ThreadId chosen = 0;
    std::uint32_t chosen_child = 0;
    std::uint32_t value = 0;
  };

  /// Whether node `c` of decision `f`'s tree is the branch a unit was handed out with: the
  /// same node with no sequence inserted below since, or, for a branch that was not in the tree
  /// then, a node for the same event with nothing below.
  static bool same_node(const Frame& f, std::uint32_t c, const Frame& branch,
                        const BranchMark& mark) {
    if (mark.node == kNewChild)
      return f.wut.nodes[c].children.empty() &&
             same_ev(f.wut.nodes[c].ev, branch.wut.nodes[branch.chosen_child].ev);
    return c == mark.node && f.wut.additions_below(c) == mark.additions;
  }

  UnitKey key_at(std::size_t f, ThreadId chosen, std::uint32_t value) const {
    UnitKey k;
    k.reserve(f + 1);
    for (std::size_t i = 0; i < f; ++i)
      k.push_back(stack_[i].is_value ? (stack_[i].value | 0x80000000u) : stack_[i].chosen);
    k.push_back(stack_[f].is_value ? (value | 0x80000000u) : chosen);
    return k;
  }

  /// A unit's input: decisions [0, f] of the driver's path, decision f taking branch b. Each
  /// frame carries only its branch's wakeup child (the top's trees stay the driver's), the
  /// last one with the subtree the runner follows.
  UnitInput input_at(std::size_t f, const Branch& b, bool copy_subtree = true) const {
    UnitInput in;
    in.frames.reserve(f + 1);
    for (std::size_t i = 0; i <= f; ++i) {
      const Frame& from = stack_[i];
      Frame c;
      c.is_value = from.is_value;
      c.split = from.split;
      c.enabled = from.enabled;
      c.chosen = i == f ? b.chosen : from.chosen;
      c.value = i == f ? b.value : from.value;
      c.step = from.step;
      c.sleep = i == f ? b.sleep : from.sleep;
      c.next = from.next;
      if (i == f) {
        // Threads put to sleep by a simulated backtrack (predict) sleep as the event they ran
        // as, when this decision knows it; else as the operation they are, which a commit then
        // finds changed (SharedDpor::same_branch) if it was not.
        for (ThreadMask m = b.sleep & ~from.sleep; m != 0; m &= m - 1) {
          const auto t = static_cast<ThreadId>(std::countr_zero(m));
          if (t == from.chosen && from.ran.thread == t) c.next[t] = from.ran;
        }
      }
      if (!from.is_value) {
        const std::uint32_t child = i == f ? b.chosen_child : from.chosen_child;
        if (child == kNewChild) {
          c.chosen_child = c.wut.add_child(0, from.next[c.chosen]);
        } else {
          c.chosen_child = c.wut.add_child(0, from.wut.nodes[child].ev);
          if (i == f && copy_subtree) c.wut.copy_subtree(from.wut, child, c.chosen_child);
        }
      }
      in.frames.push_back(std::move(c));
    }
    const Frame& last = stack_[f];
    in.follow_from = !last.is_value && !last.split ? static_cast<int>(f) : -1;
    if (!last.is_value && b.chosen_child != kNewChild) {
      in.mark.node = b.chosen_child;
      in.mark.additions = last.wut.additions_below(b.chosen_child);
    }
    return in;
  }

  /// A new decision `f` on a followed wakeup sequence inherits the subtree below the node being
  /// followed (follow_frame_, follow_node_). The decision it is followed from never reads that
  /// subtree again: insert() hands a sequence that runs into its branch to the decisions below
  /// (the branch's subtree lives there), backtrack() drops the branch, and only a branch not
  /// followed yet is copied into a unit's input or kept by a promotion. So when that decision's
  /// branch is the only one its tree has (most decisions on a sequence: 9 in 10 on lastzero(12)),
  /// `f` takes the tree's storage (WakeupTree::take_below) instead of copying it: a sequence
  /// followed down L decisions was copied L times, O(L^2) nodes, a tenth of dpor's time.
  void follow_into(Frame& f) {
    Frame& from = stack_[static_cast<std::size_t>(follow_frame_)];
    const ChildList& root = from.wut.nodes[0].children;
    if (follow_node_ != 0 && !from.is_value && root.size() == 1 &&
        root.front() == from.chosen_child) {
      from.chosen_child = f.wut.take_below(from.wut, follow_node_);
    } else {
      f.wut.copy_below(from.wut, follow_node_);
    }
  }

  /// Starts the sleep set that travels below decision `index` (the chosen thread is awake).
  void enter(std::size_t index) {
    const Frame& f = stack_[index];
    running_sleep_ = f.sleep & ~bit(f.chosen);
    processed_ = f.step;
    entered_ = index;
  }

  /// Processes the steps executed since the last decision: sleep sets, yields, the wakeup
  /// sequence being followed.
  void catch_up(const Step* trace, std::span<const Touch> touches, std::uint32_t step) {
    if (trace == nullptr) return;
    std::uint32_t i = processed_;
    while (i < step) {
      const Step& s = trace[i];
      Ev e = event_of(s, touches, (yielded_ & bit(s.thread)) != 0);
      const std::uint32_t j = event_end(trace, step, i);
      // The chosen thread's event at the decision entered last: what it sleeps as there once
      // its branch is explored.
      if (entered_ < stack_.size() && i == stack_[entered_].step) {
        Frame& f = stack_[entered_];
        if (e.thread == f.chosen) f.ran = e;
        entered_ = kNoFrame;
      }
      // Sleep sets: a sleeping thread forced to run means everything below is explored.
      if ((running_sleep_ & bit(e.thread)) != 0) blocked_ = true;
      for (ThreadMask m = running_sleep_; m != 0; m &= m - 1) {
        const auto q = static_cast<ThreadId>(std::countr_zero(m));
        if (dependent(sleeping_next(q), e)) running_sleep_ &= ~bit(q);
      }
      if (s.kind == OpKind::thread_yield) {
        yielded_ |= bit(s.thread);
      } else {
        yielded_ &= ~bit(s.thread);
      }
      if (following_ && follow_frame_ >= 0 &&
          i >= stack_[static_cast<std::size_t>(follow_frame_)].step) {
        advance_follow(e.thread);
      }
      i = j;
    }
    processed_ = step;
  }

  /// The next event of sleeping thread q: as recorded at the deepest decision on the path (the
  /// event it was explored as: Frame::next).
  const Ev& sleeping_next(ThreadId q) const {
    for (std::size_t k = std::min(depth_, stack_.size()); k-- > 0;) {
      if (!stack_[k].is_value) return stack_[k].next[q];
    }
    static const Ev none;
    return none;
  }

  void advance_follow(ThreadId t) {
    const WakeupTree& tree = stack_[static_cast<std::size_t>(follow_frame_)].wut;
    for (std::uint32_t c : tree.nodes[follow_node_].children) {
      if (tree.nodes[c].ev.thread == t) {
        follow_node_ = c;
        return;
      }
    }
    following_ = false;  // the execution left the sequence: decide freshly from here
  }

  // --- race analysis --------------------------------------------------------------------------

  struct Event {
    Ev ev;
    ThreadMask absorbed_joins = 0;  // finished threads joined after the event's step
    std::uint32_t step = 0;         // trace index of its scheduled step
    std::uint32_t pos = 0;          // 1-based index among its thread's events
    // Of the events up to this one: how many are not special, and their touches (what
    // index_candidates decides by, counted as events are made).
    std::uint32_t plain_upto = 0;
    std::uint32_t touches_upto = 0;
    std::array<std::uint32_t, kMaxThreads> clock{};
  };

  /// Builds events_ and their vector clocks for this execution. The events before
  /// shared_steps_ are the previous analysed execution's (the path is replayed up to the
  /// decision that backtracked), so they and their clocks are kept, and only the rest is built.
  void build_events(std::span<const Step> steps, std::span<const Touch> touches,
                    std::span<const Spawn> spawns, ThreadMask waiting, const Operation* pending) {
    std::size_t kept = 0;
    if (events_valid_) {
      while (kept < real_events_ && events_[kept].step < shared_steps_ &&
             events_[kept].step < steps.size())
        ++kept;
    }
    events_.resize(kept);
    candidates_.truncate(kept);
    first_new_event_ = kept;
    ThreadMask yielded = 0;
    for (const Event& e : events_) {
      if (e.ev.kind == OpKind::thread_yield) {
        yielded |= bit(e.ev.thread);
      } else {
        yielded &= ~bit(e.ev.thread);
      }
    }
    for (std::uint32_t i = kept == 0
                               ? 0
                               : event_end(steps.data(), static_cast<std::uint32_t>(steps.size()),
                                           events_.back().step);
         i < steps.size();) {
      const Step& s = steps[i];
      Event e;
      e.step = i;
      const auto n = static_cast<std::uint32_t>(steps.size());
      const std::uint32_t j = event_end(steps.data(), n, i);
      ThreadMask spawned = 0;
      std::uint32_t next = kNotYet;  // where the thread's next event starts, found once
      for (const Spawn& sp : spawns) {
        // Spawned during this event: after its steps began, before the thread's next event.
        if (sp.parent != s.thread || sp.step <= i) continue;
        if (next == kNotYet) next = next_step_of(steps, s.thread, j);
        if (sp.step <= next) spawned |= bit(sp.child);
      }
      e.ev = event_of(s, touches, (yielded & bit(s.thread)) != 0, spawned);
      for (std::uint32_t k = i + 1; k < j; ++k) {
        // Joining a finished thread within the event orders the thread's later events after
        // it, not the event's own step: it does not make the step dependent.
        if (steps[k].kind == OpKind::thread_join && steps[k].value < kMaxThreads)
          e.absorbed_joins |= bit(static_cast<ThreadId>(steps[k].value));
      }
      if (s.kind == OpKind::thread_yield) {
        yielded |= bit(s.thread);
      } else {
        yielded &= ~bit(s.thread);
      }
      e.plain_upto = events_.empty() ? 0 : events_.back().plain_upto;
      e.touches_upto = events_.empty() ? 0 : events_.back().touches_upto;
      if (!e.ev.special) {
        ++e.plain_upto;
        e.touches_upto += e.ev.footprint.size;
      }
      events_.push_back(e);
      i = j;
    }
    // The operations threads were left waiting to run (blocked, or cut off by a finding) are
    // raced too, as events that never happened: a deadlock or an early finding must not hide
    // the orders in which they would have run first.
    real_events_ = events_.size();
    index_candidates();
    if (analysed_steps_ != 0) {
      while (first_new_event_ < real_events_ && events_[first_new_event_].step < analysed_steps_)
        ++first_new_event_;
      analysed_steps_ = 0;
    }
    for (ThreadMask m = pending != nullptr ? waiting : 0; m != 0; m &= m - 1) {
      const auto t = static_cast<ThreadId>(std::countr_zero(m));
      Event e;
      e.step = static_cast<std::uint32_t>(steps.size());
      e.ev = summary_of(pending[t], t, (yielded & bit(t)) != 0);
      events_.push_back(e);
    }
    threads_ = 1;
    for (const Event& e : events_)
      threads_ = std::max(threads_, e.ev.thread + 1);
    // Vector clocks: what each thread has seen after the kept events, then the new ones. Rows
    // and entries from nt on stay unused (no event has a thread id that high); the rows below
    // are set from the kept events.
    std::array<std::array<std::uint32_t, kMaxThreads>, kMaxThreads> thread_clock;
    std::array<int, kMaxThreads> last_event{};
    last_event.fill(-1);
    const int nt = threads_;
    auto absorb_joins = [&](const Event& e, std::array<std::uint32_t, kMaxThreads>& c) {
      for (ThreadMask m = e.absorbed_joins; m != 0; m &= m - 1) {
        const int k = last_event[std::countr_zero(m)];
        if (k < 0) continue;
        for (int u = 0; u < nt; ++u)
          c[u] = std::max(c[u], events_[static_cast<std::size_t>(k)].clock[u]);
      }
    };
    // A thread has seen what its last kept event saw, and the ends of the threads it joined
    // after it (finished threads: their last events then are their last kept events).
    for (std::size_t j = 0; j < kept; ++j)
      last_event[events_[j].ev.thread] = static_cast<int>(j);
    for (int t = 0; t < nt; ++t) {
      auto& c = thread_clock[static_cast<std::size_t>(t)];
      if (last_event[t] < 0) {
        c.fill(0);
        continue;
      }
      const Event& e = events_[static_cast<std::size_t>(last_event[t])];
      c = e.clock;
      absorb_joins(e, c);
    }
    for (std::size_t j = kept; j < events_.size(); ++j) {
      Event& e = events_[j];
      auto c = thread_clock[e.ev.thread];
      scan_candidates(
          e.ev, std::min(j, real_events_), [&](std::size_t i) __attribute__((always_inline)) {
            const Event& o = events_[i];
            // Latest first: an event already known (through a later one) adds nothing.
            if (o.ev.thread == e.ev.thread || c[o.ev.thread] >= o.pos || !dependent(o.ev, e.ev))
              return;
            for (int u = 0; u < nt; ++u)
              c[u] = std::max(c[u], o.clock[u]);
          });
      c[e.ev.thread] += 1;
      e.pos = c[e.ev.thread];
      e.clock = c;
      absorb_joins(e, c);
      thread_clock[e.ev.thread] = c;
      last_event[e.ev.thread] = static_cast<int>(j);
    }
  }

  static constexpr std::uint32_t kNotYet = ~std::uint32_t{0};  // next_step_of not asked yet
  /// The trace index where `t`'s next scheduled step after index `from` starts (or the end).
  static std::uint32_t next_step_of(std::span<const Step> steps, ThreadId t, std::uint32_t from) {
    for (std::uint32_t k = from; k < steps.size(); ++k) {
      if (steps[k].thread == t && steps[k].scheduled) return k;
    }
    return static_cast<std::uint32_t>(steps.size());
  }

  /// Whether this execution's analysis scans the candidates (EventCandidates) rather than every
  /// earlier event, and if so, indexes the events it does not hold yet. The index pays when
  /// the plain events touch one object each (atomics, variables, locks: most of them then share
  /// none); a model operation's footprint names several objects, a table most operations touch
  /// among them, and keeping their lists cost more than scanning spared (the catalogue's model
  /// scenarios: +20% to +67% of the analysis's instructions when indexed).
  void index_candidates() {
    const std::size_t plain = real_events_ == 0 ? 0 : events_[real_events_ - 1].plain_upto;
    const std::size_t touches = real_events_ == 0 ? 0 : events_[real_events_ - 1].touches_upto;
    use_candidates_ = plain >= kCandidatesFrom && 4 * touches <= 5 * plain;
    if (!use_candidates_) return;
    for (std::size_t i = candidates_.size(); i < real_events_; ++i)
      candidates_.add(static_cast<std::uint32_t>(i), events_[i].ev);
  }
  static constexpr std::size_t kCandidatesFrom = 16;  // plain events; fewer: scan them all
  /// body(i) for the events i < limit that may depend on `e`, latest first: the candidates when
  /// indexed, else every one. The scan of every event is the plain loop, and `body` (a lambda
  /// marked always_inline) is inlined into both loops: walked by the cursor's every-mode, or
  /// called through a function, it cost more per event than the index spared on the
  /// catalogue's executions (+10% of the analysis's instructions).
  template <class Body>
  [[gnu::always_inline]] void scan_candidates(const Ev& e, std::size_t limit, Body&& body) const {
    if (use_candidates_) {
      EventCandidates::Cursor c = candidates_.before(e, limit);
      if (!c.every()) {
        while (c.more())
          body(c.next());
        return;
      }
    }
    for (std::size_t i = limit; i-- > 0;)
      body(i);
  }

  bool happens_before(const Event& a, const Event& b) const {
    return b.clock[a.ev.thread] >= a.pos;
  }

  void add_wakeup_sequences() {
    const std::size_t n = events_.size();
    // Races between two kept events were reversed when their execution was analysed.
    for (std::size_t j = first_new_event_; j < n; ++j) {
      const Event& ej = events_[j];
      const ThreadId q = ej.ev.thread;
      // Direct predecessors of j from other threads, latest first; M = what happens before
      // the later ones (and before j's previous event), to keep only immediate races.
      std::array<std::uint32_t, kMaxThreads> m{};
      if (ej.pos > 1) {
        for (std::size_t k = j; k-- > 0;) {
          if (events_[k].ev.thread == q) {
            m = events_[k].clock;
            break;
          }
        }
      }
      // Two operations that never ran do not race: only real events before j.
      scan_candidates(
          ej.ev, std::min(j, real_events_), [&](std::size_t i) __attribute__((always_inline)) {
            const Event& ei = events_[i];
            // An event M already covers happens before an event M joined, so M covers its clock
            // too: its race is not immediate and joining it changes nothing. Testing that first
            // spares the dependence check.
            if (ei.ev.thread == q || m[ei.ev.thread] >= ei.pos || !dependent(ei.ev, ej.ev)) return;
            for (int u = 0; u < threads_; ++u)
              m[u] = std::max(m[u], ei.clock[u]);
            // Spawn and join order events for good: those races cannot be reversed.
            if ((ei.ev.spawned & bit(q)) != 0 || (ej.ev.joined & bit(ei.ev.thread)) != 0) return;
            if (releases(ei.ev.kind) && acquires(ej.ev.kind) && ei.ev.object == ej.ev.object &&
                !is_cv(ei.ev.kind) && !is_cv(ej.ev.kind)) {
              // The release enabled the acquisition: race the acquisition that began the critical
              // section instead.
              for (std::size_t a = i; a-- > 0;) {
                const Event& ea = events_[a];
                if (ea.ev.thread == ei.ev.thread && acquires(ea.ev.kind) &&
                    ea.ev.object == ei.ev.object) {
                  if (!reached_by_previous(ea, j)) reverse(a, j);
                  break;
                }
              }
              return;
            }
            reverse(i, j);
          });
    }
  }

  /// Whether j's thread had already seen event `a` before j.
  bool reached_by_previous(const Event& a, std::size_t j) const {
    const ThreadId q = events_[j].ev.thread;
    for (std::size_t k = j; k-- > 0;) {
      if (events_[k].ev.thread == q) return happens_before(a, events_[k]);
    }
    return false;
  }

  /// The race (events i, j): insert notdep(i).j at the decision before event i.
  void reverse(std::size_t i, std::size_t j) {
    const Event& ei = events_[i];
    std::size_t f = 0;
    for (; f < stack_.size(); ++f) {
      if (!stack_[f].is_value && stack_[f].step == ei.step) break;
    }
    if (f == stack_.size()) return;  // no decision there: only i's thread could run
    Frame& frame = stack_[f];
    if (frame.split) return;  // branches on every thread anyway
    // Built in storage kept from race to race: a new vector grown per race was most of the
    // allocations of a search (with two workers, in malloc arenas that grow and shrink).
    Sequence& v = reverse_scratch_;
    v.clear();
    for (std::size_t k = i + 1; k < std::min(j, real_events_); ++k) {
      if (!happens_before(ei, events_[k])) v.push_back(events_[k].ev);
    }
    // The raced event runs before the one it raced with: it may now do what it did not (a
    // compare-exchange that failed may succeed), so it enters v as the operation it is.
    v.push_back(as_operation(events_[j].ev));
    // Below split decisions (work units) the subtrees are explored without the wakeup sequences
    // an optimal search would have inserted above them, which Optimal-DPOR's sleep-set test
    // relies on; Source-DPOR's test does not, so partitioned runs use it there.
    if (!optimal_ || units().split() > 0) {
      if (on_top(f)) {
        record_top_race(f, v);  // the driver's backtrack set
        return;
      }
      add_source(frame, v);
      return;
    }
    const ThreadMask wi = weak_initial_set(frame, v);
    if ((wi & frame.sleep) != 0) return;  // an equivalent sequence was explored from here
    if ((frame.enabled & bit(v.front().thread)) == 0) {
      // Start with an initial of v that can run here (an equivalent sequence), if there is one.
      std::size_t k = 1;
      for (; k < v.size(); ++k) {
        if ((frame.enabled & bit(v[k].thread)) != 0 && (wi & bit(v[k].thread)) != 0 &&
            first_of_thread(v, k))
          break;
      }
      if (k == v.size()) return;  // v cannot start here
      const Ev moved = v[k];
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(k));
      v.insert(v.begin(), moved);
    }
    insert(f, v);
  }

  /// Source-DPOR (Algorithm 1 of the paper): unless an initial of v is in the backtrack set of
  /// `frame` already (explored, asleep, or still to do), one that can run there joins it.
  static void add_source(Frame& frame, const Sequence& v) {
    ThreadMask initials = 0;
    for (std::size_t k = 0; k < v.size(); ++k) {
      if (first_of_thread(v, k) && weak_initial(v[k].thread, v[k], v)) initials |= bit(v[k].thread);
    }
    ThreadMask backtrack = frame.sleep;
    for (std::uint32_t c : frame.wut.nodes[0].children)
      backtrack |= bit(frame.wut.nodes[c].ev.thread);
    if ((initials & backtrack) != 0) return;
    const ThreadMask runnable = initials & frame.enabled;
    if (runnable == 0) return;  // v cannot start here
    const auto p = static_cast<ThreadId>(std::countr_zero(runnable));
    frame.wut.add_child(0, frame.next[p]);
  }

  /// Runner: decision f is above the cut, the driver's.
  bool on_top(std::size_t f) const { return shared_ != nullptr && f < unit_top(); }
  /// Runner: decisions [0, unit_top()) are the top's: the cut, or the decisions its unit came
  /// with (or handed over) when deeper.
  std::size_t unit_top() const { return std::max(top_, given_); }

  static bool first_of_thread(const Sequence& v, std::size_t k) {
    for (std::size_t i = 0; i < k; ++i) {
      if (v[i].thread == v[k].thread) return false;
    }
    return true;
  }

  /// The threads live at `frame` that are weak initials of v there.
  ThreadMask weak_initial_set(const Frame& frame, const Sequence& v) const {
    ThreadMask wi = 0;
    ThreadMask candidates = frame.sleep | frame.enabled;
    for (const Ev& e : v)
      candidates |= bit(e.thread);
    for (ThreadMask c = candidates; c != 0; c &= c - 1) {
      const auto p = static_cast<ThreadId>(std::countr_zero(c));
      if (weak_initial(p, frame.next[p], v)) wi |= bit(p);
    }
    return wi;
  }

  /// insert[E](w, wut(E)) of the paper, at decision f; a sequence that runs into the branch
  /// being explored continues at the next decision of this path. Uses up w (what is left of it
  /// is unspecified).
  void insert(std::size_t f, Sequence& w) {
    for (;;) {
      Frame& frame = stack_[f];
      WakeupTree& tree = frame.wut;
      if (on_top(f)) {
        // The branch being explored is the root's first child (backtrack and pick_thread take
        // the front): unless w runs into it, w stays in the top, and the driver inserts it
        // there, where other units' sequences are.
        if (tree.nodes[0].children.empty() || tree.nodes[0].children.front() != frame.chosen_child)
          throw std::logic_error("dpor: a top decision's branch is not its first wakeup child");
        const Ev& ev = tree.nodes[frame.chosen_child].ev;
        if (!weak_initial(ev.thread, ev, w)) {
          record_top_race(f, w);
          return;
        }
      }
      std::uint32_t node = 0;
      std::uint32_t top = 0;  // the root child the walk went through (0: none yet)
      bool delegated = false;
      for (;;) {
        bool descended = false;
        // Nothing below changes the tree before the loop ends.
        for (std::uint32_t c : tree.nodes[node].children) {
          const Ev& ev = tree.nodes[c].ev;
          if (!weak_initial(ev.thread, ev, w)) continue;
          if (node == 0 && c == frame.chosen_child) {
            // The driver receives the sequences that do not run into its branch (on_top).
            if (driver_)
              throw std::logic_error("dpor: a committed race runs into the top's branch");
            // The branch being explored: its subtree lives in the decisions below.
            remove_first(w, ev.thread);
            if (w.empty()) return;
            std::size_t g = f + 1;
            while (g < stack_.size() && stack_[g].is_value)
              ++g;
            if (g >= stack_.size()) return;  // nothing below to hold it
            // Steps forced between the two decisions must open w as well.
            for (const Event& e : events_) {
              if (e.step <= frame.step || e.step >= stack_[g].step) continue;
              if (!weak_initial(e.ev.thread, e.ev, w)) return;  // w cannot run here
              remove_first(w, e.ev.thread);
              if (w.empty()) return;
            }
            f = g;
            delegated = true;
            break;
          }
          if (tree.nodes[c].children.empty()) return;  // a leaf covers w
          remove_first(w, ev.thread);
          if (w.empty()) return;
          if (node == 0) top = c;
          node = c;
          descended = true;
          break;
        }
        if (delegated) break;
        if (!descended) {
          for (const Ev& e : w) {
            node = tree.add_child(node, e);
            if (top == 0) top = node;
          }
          tree.added_below(top);
          return;
        }
      }
      if (stack_[f].split) return;
    }
  }

  // --- backtracking ---------------------------------------------------------------------------

  void backtrack() override {
    follow_from_ = -1;
    truncate(unit_skip_depth());  // a unit that is not ours is skipped whole
    // A runner backtracks its unit's decisions only: the top is the driver's.
    const std::size_t floor = shared_ != nullptr ? unit_top() : 0;
    while (stack_.size() > floor && !stopped_ && !abandoned_) {
      Frame& f = stack_.back();
      const std::size_t index = stack_.size() - 1;
      if (f.is_value) {
        if (f.value + 1 < f.enabled) {
          ++f.value;
          backtracked_at(index);
          return;
        }
      } else {
        put_to_sleep(f);
        auto& root = f.wut.nodes[0].children;
        root.erase(std::remove(root.begin(), root.end(), f.chosen_child), root.end());
        if (f.split) {
          const ThreadMask left = f.enabled & ~f.sleep;
          if (left != 0) {
            f.chosen = static_cast<ThreadId>(std::countr_zero(left));
            f.chosen_child = f.wut.add_child(0, f.next[f.chosen]);
            backtracked_at(index);
            return;
          }
        } else {
          // A sequence delegated here by insert() may begin with a thread that is blocked at
          // this decision (waiting for a lock or a notification) or asleep: it cannot start
          // here, so it is dropped, as when a followed sequence turns out infeasible. (Taking it
          // anyway replayed the path into "picked thread N, which is not enabled".)
          while (!root.empty()) {
            const ThreadId t = f.wut.nodes[root.front()].ev.thread;
            if ((f.enabled & bit(t)) != 0 && (f.sleep & bit(t)) == 0) break;
            root.erase(root.begin());
          }
        }
        if (!f.split && !root.empty()) {
          f.chosen_child = root.front();
          f.chosen = f.wut.nodes[f.chosen_child].ev.thread;
          follow_from_ = static_cast<int>(index);
          backtracked_at(index);
          return;
        }
      }
      truncate(stack_.size() - 1);
    }
    if (shared_ != nullptr) {
      finish_shared_unit();
      return;
    }
    exhausted_ = true;
    finish();
  }

  bool acquire_unit() override;  // below SharedDpor
  /// Runner: the unit is done.
  void finish_shared_unit();
  /// Runner: what the chosen threads of the top's decisions ran as (UnitResult::ran).
  std::vector<Ev> top_ran() const {
    std::vector<Ev> ran;
    top_ran_into(ran);
    return ran;
  }
  /// top_ran() into `ran`, whose storage is kept (stream_to_top, once an execution).
  void top_ran_into(std::vector<Ev>& ran) const {
    ran.clear();
    for (std::size_t k = 0; k < std::min(given_, stack_.size()); ++k)
      ran.push_back(stack_[k].ran);
  }
  /// Runner: records a race into top decision f, its sequence copied into storage kept from
  /// race to race (spare_sequences_): a vector allocated per race, freed by the driver's thread
  /// or after streaming, was most of what a runner allocated beyond a sequential search.
  void record_top_race(std::size_t f, const Sequence& v) {
    TopRace& race = top_races_.emplace_back();
    race.frame = f;
    if (!spare_sequences_.empty()) {
      race.v = std::move(spare_sequences_.back());
      spare_sequences_.pop_back();
    }
    race.v.assign(v.begin(), v.end());
  }
  /// Runner: sends a part of its unit with the races and executions since the last one.
  void return_part(UnitResult r);
  /// Runner of the unit the driver stands at: hands the races into the top found since the
  /// last part (and, once, what the top's chosen threads ran as) to the driver now, which
  /// applies them as the unit's commit would (SharedDpor::stream).
  void stream_to_top();
  /// Runner: the unit ran unit_size_ executions more. Its decisions down to the shallowest one
  /// with branches left go to the top (a part of the unit, committed in its turn, whose
  /// branches other workers then take), and it goes on below them.
  void promote_shared_part();
  /// Decision f's options for Knuth's estimate of a subtree (SearchUnits::ended): a value's
  /// bound, or the threads awake at it, which a decision above a unit branches on. (The
  /// branches dpor itself takes grow as the unit is explored; the first execution's races
  /// leave too few to size a unit by.)
  static std::uint32_t branches(const Frame& f) {
    if (f.is_value) return std::max<std::uint32_t>(f.enabled, 1);
    return static_cast<std::uint32_t>(std::max(1, std::popcount(f.enabled & ~f.sleep)));
  }
  /// Sized units: the decisions above the unit a probe named branch on every awake thread
  /// (sleep sets alone), so that the unit's subtree is the same whoever owns it.
  void split_units() {
    const std::size_t above = std::min(units().split_frames(), stack_.size());
    for (std::size_t k = 0; k < above; ++k)
      stack_[k].split = true;
  }
  /// Whether the decision being pushed (the stack's last frame) lies below a value choice that
  /// lies below a thread decision. (Below a choice with no decision above it, the decisions are
  /// the roots of one search per value: see the header.)
  bool below_choice_after_decision() const {
    const auto pushed = stack_.end() - 1;
    const auto is_value = [](const Frame& g) { return g.is_value; };
    return std::any_of(std::find_if_not(stack_.begin(), pushed, is_value), pushed, is_value);
  }
  /// Whether backtracking would find another branch at f (the chosen one is in progress).
  static bool has_branches_left(const Frame& f) {
    if (f.is_value) return f.value + 1 < f.enabled;
    const ThreadMask awake = f.enabled & ~(f.sleep | bit(f.chosen));
    if (f.split) return awake != 0;
    for (std::uint32_t c : f.wut.nodes[0].children) {
      if (c != f.chosen_child && (awake & bit(f.wut.nodes[c].ev.thread)) != 0) return true;
    }
    return false;
  }

  /// Replaces the path below the unit's prefix with a saved position (see position()); its
  /// prefix must be the current one. Throws usage_error naming the unit when it does not fit.
  void continue_from(const std::string& text);

  /// Drops the frames from `size` on; their wakeup trees' storage serves the next new frames.
  void truncate(std::size_t size) {
    deepest_ = std::max(deepest_, stack_.size());
    while (stack_.size() > size) {
      WakeupTree& tree = stack_.back().wut;
      // Spares and frames together no more than the deepest stack yet: a runner of a shared
      // search also pops the frames its units came with, which no spare made, and kept them
      // all, up to kSpareTrees of trees holding a chunk each that no frame would ask for.
      if (!driver_ && spare_trees_.size() < kSpareTrees &&
          spare_trees_.size() + stack_.size() <= deepest_) {
        tree.clear();
        tree.version = 0;
        spare_trees_.push_back(std::move(tree));
      }
      stack_.pop_back();
    }
  }
  /// An empty wakeup tree for a new frame.
  WakeupTree take_tree() {
    if (spare_trees_.empty()) return WakeupTree{};
    WakeupTree tree = std::move(spare_trees_.back());
    spare_trees_.pop_back();
    return tree;  // truncate() left it a root alone
  }

  /// Backtracking: the branch of f's chosen thread is explored, the thread sleeps here as the
  /// event it ran as (or, if no execution got to record it, as the operation it is).
  static void put_to_sleep(Frame& f) {
    f.sleep |= bit(f.chosen);
    if (f.ran.thread == f.chosen) f.next[f.chosen] = f.ran;
    f.ran = Ev{};
  }

  /// Backtracking took a new option at decision `index`.
  void backtracked_at(std::size_t index) {
    // The next execution replays the path up to this decision: the steps before it are shared.
    shared_steps_ = 0;
    for (std::size_t k = index + 1; k-- > 0;) {
      if (!stack_[k].is_value) {
        shared_steps_ = stack_[k].step;
        break;
      }
    }
    units().backtracked_at(index);
  }

  bool optimal_;  // false: Source-DPOR (backtrack sets of single threads, no wakeup sequences)
  std::shared_ptr<SharedDpor> shared_;  // runner: the search it takes units from
  bool driver_ = false;                 // the driver of a shared search
  std::size_t top_ = 0;                 // shared search: decisions [0, top_) are the top's
  std::uint64_t unit_size_ = 0;         // runner: executions after which a unit is split
  bool stop_at_first_ = true;
  bool exhausted_ = false;  // backtracking found nothing left (finish())
  // Runner: the unit being explored.
  bool need_unit_ = true;           // the next execution needs a unit first
  std::uint64_t dispatch_ = 0;      // its dispatch number (ExecutionTag::unit)
  std::size_t given_ = 0;           // frames [0, given_) came with it or were handed to the top
  std::vector<TopRace> top_races_;  // its races into the top, in the order found
  std::vector<TopRace> streaming_;  // stream_to_top(): the races it hands over, kept for storage
  std::vector<Ev> ran_scratch_;     // stream_to_top(): top_ran(), kept for its storage
  std::vector<Sequence> spare_sequences_;  // streamed races' sequences, for record_top_race
  static constexpr std::size_t kSpareSequences = 64;
  Sequence reverse_scratch_;                         // reverse()'s sequence, kept for its storage
  bool stopped_ = false;                             // a stop-at-first finding ended it
  bool abandoned_ = false;                           // SharedDpor discarded it while it ran
  std::shared_ptr<UnitSignals> signals_;             // what SharedDpor says of it
  bool ran_streamed_ = false;                        // stream_to_top() gave the driver top_ran()
  static constexpr std::uint64_t kStreamAfter = 16;  // see stream_to_top()
  std::uint64_t unit_executions_ = 0;                // executions it ran so far
  std::vector<Frame> stack_;
  std::size_t depth_ = 0;
  std::vector<WakeupTree> spare_trees_;            // of frames popped: their storage, for new ones
  std::size_t deepest_ = 0;                        // the most frames the stack held (truncate)
  static constexpr std::size_t kSpareTrees = 256;  // (the driver makes no frames: it keeps none)
  static constexpr std::size_t kNoFrame = ~std::size_t{0};
  std::size_t entered_ = kNoFrame;  // the decision whose chosen step catch_up records next

  // The execution running now.
  std::uint32_t processed_ = 0;    // trace steps already seen by catch_up
  ThreadMask running_sleep_ = 0;   // the sleep set at the current point of the path
  ThreadMask yielded_ = 0;         // threads whose last event was a yield
  bool blocked_ = false;           // sleep-set blocked: pruned
  int follow_from_ = -1;           // set by backtrack: the decision whose wakeup child runs next
  bool following_ = false;         // following a wakeup sequence
  int follow_frame_ = -1;          // ... in this decision's tree
  std::uint32_t follow_node_ = 0;  // ... at this node (the events consumed so far)

  std::vector<Event> events_;
  EventCandidates candidates_;      // of events_[0, candidates_.size()) (index_candidates)
  bool use_candidates_ = false;     // this execution's analysis scans candidates_
  std::size_t real_events_ = 0;     // events_[real_events_ ..]: operations left waiting
  int threads_ = 1;                 // 1 + the highest thread id among events_
  bool events_valid_ = false;       // events_ are the last analysed execution's
  std::uint32_t shared_steps_ = 0;  // leading steps the next execution shares with it
  std::size_t first_new_event_ = 0;
  std::uint32_t analysed_steps_ = 0;  // runner, a unit's first execution: races among the steps
                                      // before this one were analysed (acquire_unit)
};

/// The SharedDpor behind a strategy's options (nullptr when there is none).
std::shared_ptr<SharedDpor> shared_dpor_of(const std::shared_ptr<SharedSearch>& search);

}  // namespace hc::detail::dpor

// mazurkiewicz.hpp — counting the Mazurkiewicz traces of a scenario independently of `dpor`:
// exhaustive `dfs` runs every interleaving, and TraceCollector records one canonical form per
// equivalence class. An optimal DPOR (Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic
// partial order reduction", POPL 2014) explores exactly one execution per class.
//
// Happens-before over an execution's steps:
//   - program order;
//   - a join (OpKind::thread_join, `value` = the joined thread) after every step of that thread;
//   - a spawn before every step of the child: a `thread-spawn` step (value = the child) where
//     the engine records one, or a Verdict spawn record (the parent's steps before `step`);
//   - step i before a later step j of another thread when they are dependent:
//       (a) either is a condition-variable operation (wait, wake, notify_one, notify_all), or
//       (b) either is a yield and the other is not a read, or
//       (c) neither is a value choice nor a join, and their footprints conflict, as the engine
//           defines it (harness/src/strategy/dependence.hpp: a shared object that one of them
//           writes, a failed compare-exchange or try_lock being a read; a model step's footprint is
//           the object it announced plus the ones it declared).
// Value choices (OpKind::choice) are ordered by program order alone.
//
// Canonical form: the linearization of happens-before that always runs the lowest-numbered
// thread whose next step has all its predecessors done, written as the sequence of (thread,
// kind, object, access, value). Equivalent executions have the same steps per thread and the
// same dependent pairs in the same order, hence the same canonical form; and equal canonical
// forms are themselves one linearization of both, so they are equivalent.
//
// The engine's interfaces are being extended (spawn records, pruned executions): the helpers
// below read those members only where this version of hc/strategy.hpp has them.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "hc/hc.hpp"
#include "strategy/dependence.hpp"

namespace hc::test {

inline bool is_cv_op(OpKind k) {
  return k == OpKind::cv_wait || k == OpKind::cv_wake || k == OpKind::cv_notify_one ||
         k == OpKind::cv_notify_all;
}

/// The dependency relation above, for two steps of different threads (`touches`: the
/// execution's footprint entries, Verdict::touches).
inline bool dependent(const Step& a, const Step& b, std::span<const Touch> touches) {
  if (is_cv_op(a.kind) || is_cv_op(b.kind)) return true;
  if (a.kind == OpKind::thread_yield && b.access != Access::read) return true;
  if (b.kind == OpKind::thread_yield && a.access != Access::read) return true;
  if (a.kind == OpKind::choice || b.kind == OpKind::choice) return false;
  // A join is ordered by its own edge (after the joined thread's last step), nothing else.
  if (a.kind == OpKind::thread_join || b.kind == OpKind::thread_join) return false;
  return detail::conflict(detail::realized_footprint(a, touches), a.kind == OpKind::model,
                          detail::realized_footprint(b, touches), b.kind == OpKind::model);
}

/// Compared by name so that this compiles whether or not OpKind::thread_spawn exists.
inline bool is_spawn_step(const Step& s) {
  return op_kind_name(s.kind) == "thread-spawn";
}

/// A spawn recorded beside the trace: `child`'s steps come after `parent`'s steps among the
/// first `before` trace entries.
struct SpawnEdge {
  ThreadId child;
  ThreadId parent;
  std::uint32_t before;
};

template <class V>
std::vector<SpawnEdge> spawn_edges(const V& verdict) {
  std::vector<SpawnEdge> out;
  if constexpr (requires { verdict.spawns; }) {
    for (const auto& s : verdict.spawns)
      out.push_back({s.child, s.parent, static_cast<std::uint32_t>(s.step)});
  }
  return out;
}

/// True when the strategy cut the execution short (it is not a whole execution).
template <class V>
bool was_pruned(const V& verdict) {
  if constexpr (requires { verdict.pruned; }) {
    return verdict.pruned;
  } else {
    return false;
  }
}

/// False when the strategy says the execution that just ended does not count.
template <class S>
bool was_counted(const S& strategy) {
  if constexpr (requires { strategy.last_execution().counted; }) {
    return strategy.last_execution().counted;
  } else {
    return true;
  }
}

inline constexpr const char* kCyclicHappensBefore = "cyclic happens-before (a bug in this test)";

/// The canonical form of the Mazurkiewicz trace of `steps` (see the header comment).
inline std::string canonical_form(std::span<const Step> steps, std::span<const SpawnEdge> spawns,
                                  std::span<const Touch> touches = {}) {
  const std::size_t n = steps.size();
  std::vector<std::vector<std::size_t>> preds(n);
  std::vector<std::vector<std::size_t>> by_thread(kMaxThreads);
  for (std::size_t j = 0; j < n; ++j) {
    const Step& s = steps[j];
    std::vector<std::size_t>& mine = by_thread[s.thread];
    if (!mine.empty()) {
      preds[j].push_back(mine.back());  // program order
    } else {
      // A thread's first step comes after its spawn.
      for (std::size_t i = 0; i < j; ++i) {
        if (is_spawn_step(steps[i]) && steps[i].value == s.thread) preds[j].push_back(i);
      }
      for (const SpawnEdge& e : spawns) {
        if (e.child != s.thread) continue;
        for (std::size_t i = 0; i < j && i < e.before; ++i) {
          if (steps[i].thread == e.parent) preds[j].push_back(i);
        }
      }
    }
    if (s.kind == OpKind::thread_join && s.value < kMaxThreads && !by_thread[s.value].empty())
      preds[j].push_back(by_thread[s.value].back());  // the joined thread's last step
    if (s.kind != OpKind::choice) {
      for (std::size_t i = 0; i < j; ++i) {
        const Step& e = steps[i];
        if (e.thread != s.thread && e.kind != OpKind::choice && dependent(e, s, touches))
          preds[j].push_back(i);
      }
    }
    mine.push_back(j);
  }

  std::vector<char> done(n, 0);
  std::vector<std::size_t> next(kMaxThreads, 0);  // per thread: its next index in by_thread
  std::string key;
  key.reserve(n * 15);
  auto append = [&key](const void* p, std::size_t size) {
    key.append(static_cast<const char*>(p), size);
  };
  for (std::size_t emitted = 0; emitted < n; ++emitted) {
    std::size_t pick = n;
    for (int t = 0; t < kMaxThreads && pick == n; ++t) {
      if (next[t] == by_thread[t].size()) continue;
      const std::size_t j = by_thread[t][next[t]];
      bool ready = true;
      for (std::size_t i : preds[j])
        ready = ready && done[i] != 0;
      if (ready) pick = j;
    }
    if (pick == n) return kCyclicHappensBefore;
    done[pick] = 1;
    ++next[steps[pick].thread];
    const Step& s = steps[pick];
    append(&s.thread, sizeof s.thread);
    append(&s.kind, sizeof s.kind);
    append(&s.object, sizeof s.object);
    append(&s.access, sizeof s.access);
    append(&s.value, sizeof s.value);
  }
  return key;
}

/// Exhaustive dfs that also inserts the canonical form of every whole execution it ends into
/// `*traces`: afterwards traces->size() is the number of Mazurkiewicz traces. Use it through
/// ExploreOptions::strategy_factory.
class TraceCollector final : public Strategy {
 public:
  explicit TraceCollector(std::set<std::string>* traces)
      : inner_(make_strategy("dfs", {})), traces_(traces) {}

  bool begin_execution() override { return inner_->begin_execution(); }
  std::optional<ThreadId> pick_thread(const Decision& d) override { return inner_->pick_thread(d); }
  std::optional<std::uint32_t> pick_value(const ValueDecision& d) override {
    return inner_->pick_value(d);
  }
  void end_execution(std::span<const Step> steps, const Verdict& verdict) override {
    inner_->end_execution(steps, verdict);
    if (was_pruned(verdict) || !was_counted(*inner_)) return;
    const std::vector<SpawnEdge> spawns = spawn_edges(verdict);
    traces_->insert(canonical_form(steps, spawns, verdict.touches));
  }
  std::string_view name() const override { return inner_->name(); }

 private:
  std::unique_ptr<Strategy> inner_;
  std::set<std::string>* traces_;
};

}  // namespace hc::test

// deadlock.cpp — DeadlockDetector's finding (the protocol: deadlock.hpp): what each blocked
// thread waits for, and the wait-for cycle (mutex owners, join targets) when there is one.
#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "runtime/execution.hpp"
#include "runtime/paths.hpp"
#include "runtime/text.hpp"

namespace hc::detail {

Finding DeadlockDetector::finding(const Execution& exec) const {
  const ThreadMask live_threads = exec.live();
  const std::span<const Step> trace = exec.trace();
  // What each blocked thread waits for, and whom.
  std::array<ThreadId, kMaxThreads> waits_on{};
  waits_on.fill(kNoThread);
  std::string lines;
  std::vector<std::string> keys;
  std::vector<ObjectId> waited;  // what the blocked threads wait for, in the message's order
  std::vector<BlockedThread> blocked_threads;  // Finding::blocked
  std::vector<std::uint32_t> note_steps;       // the steps the wait notes mention
  for (ThreadMask live = live_threads; live != 0; live &= live - 1) {
    const ThreadId t = lowest(live);
    const Operation& op = exec.pending()[t];
    std::string what;
    switch (op.wait) {
      case WaitFor::mutex_free: {
        const ThreadId owner = exec.owner_of(op.object);
        waits_on[t] = owner;
        waited.push_back(op.object);
        what = owner == t
                   ? fmt::format("to lock {}, which it already holds", exec.object_label(op.object))
                   : fmt::format("to lock {}, held by thread '{}'", exec.object_label(op.object),
                                 exec.thread_name_view(owner));
        break;
      }
      case WaitFor::cv_notified: {
        const ThreadId owner = exec.owner_of(static_cast<ObjectId>(op.arg));
        if (exec.notified(t) && owner != kNoThread) {
          waits_on[t] = owner;
          waited.push_back(static_cast<ObjectId>(op.arg));
          what = fmt::format("to reacquire {} after a notification, held by thread '{}'",
                             exec.object_label(op.arg), exec.thread_name_view(owner));
        } else {
          waited.push_back(op.object);
          what = fmt::format("for a notification of {} that no thread will send",
                             exec.object_label(op.object));
        }
        break;
      }
      case WaitFor::event_set:
        waited.push_back(op.object);
        what = fmt::format("for {} to be set, and no thread will set it",
                           exec.object_label(op.object));
        break;
      case WaitFor::thread_finished:
        waits_on[t] = static_cast<ThreadId>(op.arg);
        what = fmt::format("to join thread '{}'",
                           exec.thread_name_view(static_cast<ThreadId>(op.arg)));
        break;
      case WaitFor::nothing:
        what = "for nothing (handlecheck internal error: an enabled thread in a deadlock)";
        break;
    }
    lines += fmt::format("\n  thread '{}' waits {} at {}", exec.thread_name_view(t), what,
                         site(op.where));
    if (!exec.wait_note(t).empty()) {
      // A model's word on why nothing will wake this call (rt::set_wait_note).
      lines += fmt::format(": {}", exec.wait_note(t));
      what += ": " + exec.wait_note(t);
      if (exec.wait_note_step(t) != 0) note_steps.push_back(exec.wait_note_step(t));
    }
    BlockedThread b;
    b.pending.thread = t;
    b.pending.thread_name = exec.thread_name_view(t);
    b.pending.operation = std::string(op_kind_name(op.kind));
    b.pending.object = op.wait == WaitFor::thread_finished
                           ? fmt::format("thread '{}'", exec.thread_name_view(waits_on[t]))
                           : exec.object_label(op.object);
    b.pending.label = op.label;
    if (op.where.line() != 0) {
      b.pending.file = display_path(op.where.file_name());
      b.pending.line = op.where.line();
    }
    b.waits_for = what;
    b.waits_on = waits_on[t];
    if (b.waits_on != kNoThread) b.waits_on_name = exec.thread_name_view(b.waits_on);
    blocked_threads.push_back(std::move(b));
    keys.push_back(
        fmt::format("{}:{}@{}", exec.thread_name_view(t), op_kind_name(op.kind), site(op.where)));
  }
  // The wait-for cycle, if any: follow the edges from each blocked thread in id order.
  std::string cycle;
  std::vector<ThreadId> cycle_threads;
  for (ThreadMask live = live_threads; live != 0 && cycle.empty(); live &= live - 1) {
    ThreadMask seen = 0;
    ThreadId t = lowest(live);
    while (t != kNoThread && (seen & bit(t)) == 0) {
      seen |= bit(t);
      t = waits_on[t];
    }
    if (t == kNoThread) continue;
    // t is on a cycle: print it starting from its lowest id for a stable text.
    ThreadMask on_cycle = 0;
    for (ThreadId u = t; (on_cycle & bit(u)) == 0; u = waits_on[u])
      on_cycle |= bit(u);
    const ThreadId start = lowest(on_cycle);
    cycle = fmt::format("'{}'", exec.thread_name_view(start));
    cycle_threads.push_back(start);
    for (ThreadId u = waits_on[start];; u = waits_on[u]) {
      cycle += fmt::format(" -> '{}'", exec.thread_name_view(u));
      if (u == start) break;
      cycle_threads.push_back(u);
    }
  }
  // The objects waited for, listed in the order the trace first touched them (the order the
  // locks were taken tells the story); those it never touched last.
  auto first_use = [&](ObjectId object) {
    for (std::size_t i = 0; i < trace.size(); ++i) {
      if (trace[i].object == object) return i;
    }
    return trace.size();
  };
  std::stable_sort(waited.begin(), waited.end(),
                   [&](ObjectId a, ObjectId b) { return first_use(a) < first_use(b); });
  FindingRefs refs;
  refs.objects.assign(waited.begin(), waited.end());
  refs.steps = std::move(note_steps);
  const int blocked = std::popcount(live_threads);
  Finding f = exec.make_finding(
      FindingKind::deadlock,
      fmt::format("deadlock: no thread can run, and {} {} not finished:{}{}", blocked,
                  blocked == 1 ? "has" : "have", lines,
                  cycle.empty() ? std::string() : fmt::format("\n  wait-for cycle: {}", cycle)),
      nullptr, refs);
  std::sort(keys.begin(), keys.end());
  f.blocked = std::move(blocked_threads);
  f.wait_cycle = std::move(cycle_threads);
  f.signature = "deadlock";
  for (const std::string& k : keys)
    f.signature += "|" + k;
  return f;
}

}  // namespace hc::detail

// livelock.cpp — LivelockDetector's finding (the protocol: livelock.hpp): each spinning
// thread and where it spins.
#include <string>

#include <fmt/format.h>

#include "runtime/execution.hpp"
#include "runtime/text.hpp"

namespace hc::detail {

Finding LivelockDetector::finding(const Execution& exec, ThreadMask enabled) const {
  std::string threads;
  std::string key;
  FindingRefs refs;  // what each spinning thread is about to touch (none for a bare yield)
  for (ThreadMask m = enabled; m != 0; m &= m - 1) {
    const ThreadId t = lowest(m);
    const Operation& op = exec.pending()[t];
    refs.objects.push_back(op.object);
    threads += fmt::format("\n  thread '{}' at {} ({})", exec.thread_name_view(t),
                           op_kind_name(op.kind), site(op.where));
    key += fmt::format("|{}@{}", exec.thread_name_view(t), site(op.where));
  }
  Finding f = exec.make_finding(
      FindingKind::livelock,
      fmt::format("livelock: for {} scheduling points every runnable thread has yielded and no "
                  "thread has written shared state, so none can make progress: each spins "
                  "waiting for another (--livelock-bound {}):{}",
                  no_progress, bound, threads),
      nullptr, refs);
  f.signature = "livelock" + key;
  return f;
}

}  // namespace hc::detail

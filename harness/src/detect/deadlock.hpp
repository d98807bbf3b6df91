// deadlock.hpp — DeadlockDetector: live threads remain and none is enabled, so none can ever
// run again (each waits for a mutex, a notification, an event or a join that cannot come).
//
// Protocol (Execution calls each directly, on the scheduling path; no virtual call):
//  * reset()                     at the start of each execution.
//  * at_decision(enabled, live)  at a scheduling decision, with the enabled and the live
//                                threads; true: a deadlock, and the execution ends with
//                                finding(exec). (An execution with no live thread is over.)
//  * finding(exec)               the finding: what each blocked thread waits for, and the
//                                wait-for cycle (mutex owners, join targets) when there is one
//                                (detect/deadlock.cpp).
// State: none; the finding reads the blocked threads' pending operations from the Execution.
#pragma once

#include "hc/finding.hpp"
#include "hc/strategy.hpp"

namespace hc::detail {

class Execution;

struct DeadlockDetector {
  void reset() noexcept {}
  [[nodiscard, gnu::always_inline]] bool at_decision(ThreadMask enabled,
                                                     ThreadMask live) const noexcept {
    return enabled == 0 && live != 0;
  }
  Finding finding(const Execution& exec) const;
};

}  // namespace hc::detail

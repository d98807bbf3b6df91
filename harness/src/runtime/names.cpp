// names.cpp — the stable printable names of the engine's enums. Never rename one: they appear
// in reports, replay files and tests.
#include <array>

#include "hc/finding.hpp"
#include "hc/operation.hpp"

namespace hc {

std::string_view op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::atomic_load:
      return "atomic-load";
    case OpKind::atomic_store:
      return "atomic-store";
    case OpKind::atomic_rmw:
      return "atomic-rmw";
    case OpKind::atomic_cas:
      return "atomic-cas";
    case OpKind::var_read:
      return "var-read";
    case OpKind::var_write:
      return "var-write";
    case OpKind::mutex_lock:
      return "mutex-lock";
    case OpKind::mutex_try_lock:
      return "mutex-try-lock";
    case OpKind::mutex_unlock:
      return "mutex-unlock";
    case OpKind::cv_wait:
      return "cv-wait";
    case OpKind::cv_wake:
      return "cv-wake";
    case OpKind::cv_notify_one:
      return "cv-notify-one";
    case OpKind::cv_notify_all:
      return "cv-notify-all";
    case OpKind::event_set:
      return "event-set";
    case OpKind::event_reset:
      return "event-reset";
    case OpKind::event_wait:
      return "event-wait";
    case OpKind::thread_join:
      return "thread-join";
    case OpKind::thread_yield:
      return "thread-yield";
    case OpKind::choice:
      return "choice";
    case OpKind::model:
      return "model";
  }
  return "unknown";
}

std::string_view access_name(Access access) {
  switch (access) {
    case Access::read:
      return "read";
    case Access::write:
      return "write";
    case Access::read_write:
      return "read-write";
    case Access::sync:
      return "sync";
  }
  return "unknown";
}

std::string_view object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::atomic:
      return "atomic";
    case ObjectKind::var:
      return "var";
    case ObjectKind::mutex:
      return "mutex";
    case ObjectKind::condition_variable:
      return "condition_variable";
    case ObjectKind::event:
      return "event";
    case ObjectKind::thread:
      return "thread";
    case ObjectKind::model:
      return "object";
  }
  return "unknown";
}

namespace {
constexpr std::array<std::string_view, kFindingKindCount> kFindingNames = {
    "check-failure",
    "uncaught-exception",
    "deadlock",
    "data-race",
    "step-bound-exceeded",
    "unreached",
    "nondeterminism",
    "internal-error",
    "stale-handle-use",
    "invalid-handle-use",
    "double-close",
    "close-by-non-owner",
    "close-while-waiting",
    "wrong-type-use",
    "handle-leak",
    "release-handle-failed",
    "refcount-underflow",
    "addref-in-release-handle",
    "safe-handle-invariant",
    "release-handle-twice",
    "finalizer-exception",
    "finalizer-blocked",
    "use-of-finalized-object",
    "finalizer-ran-twice",
    "use-after-destruction",
    "addref-from-zero",
    "double-destruction",
    "neutered-object-call",
    "left-side-cleanup-while-running",
    "lock-order-violation",
    "heavy-cleanup-in-destructor",
    "livelock",
    "crash",
    "stack-overflow",
    "no-progress",
    "handle-invalidated-in-use",
    "child-used-after-parent-release",
    "release-after-subsystem-shutdown",
    "handle-used-after-dispose",
    "com-object-leak",
    "use-after-free",
    "double-free",
    "io-completed-after-free",
    "event-for-reused-descriptor",
    "descriptor-inherited",
    "release-on-wrong-thread",
};
static_assert(kFindingNames.back() == "release-on-wrong-thread");
}  // namespace

std::string_view finding_kind_name(FindingKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < kFindingNames.size() ? kFindingNames[i] : "unknown";
}

std::optional<FindingKind> parse_finding_kind(std::string_view name) {
  for (std::size_t i = 0; i < kFindingNames.size(); ++i) {
    if (kFindingNames[i] == name) return static_cast<FindingKind>(i);
  }
  return std::nullopt;
}

std::string expected_kinds_text(const Expected& expected) {
  if (expected.clean()) return "clean";
  std::string out;
  const std::vector<FindingKind> kinds = expected.kinds();
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i != 0) out += i + 1 == kinds.size() ? " or " : ", ";
    out += finding_kind_name(kinds[i]);
  }
  return out;
}

}  // namespace hc

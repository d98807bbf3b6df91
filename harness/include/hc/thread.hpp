// hc/thread.hpp — simulated threads: hc::thread and hc::this_thread::yield.
//
//   hc::thread producer("producer", [&] { flag.store(true); });
//   producer.join();
//
// A simulated thread is a fiber scheduled by the engine, not an OS thread. Its destructor joins
// it if it is still joinable (std::jthread's rule), so a scenario never leaks one. When an
// execution ends early, the threads still running are unwound (runtime/execution.hpp,
// "Teardown"): the destructors of their locals run.
#pragma once

#include <memory>
#include <new>
#include <source_location>
#include <string_view>
#include <type_traits>
#include <utility>

#include "hc/runtime.hpp"

namespace hc {

class thread {
 public:
  thread() = default;

  /// Spawns `fn` as a simulated thread named `name` (names appear in every report).
  template <class F>
  thread(std::string_view name, F&& fn,
         const std::source_location& where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    Fn local(std::forward<F>(fn));
    const rt::ThreadBody body{
        sizeof(Fn),
        alignof(Fn),
        [](void* dst, void* src) { ::new (dst) Fn(std::move(*static_cast<Fn*>(src))); },
        [](void* self) { (*static_cast<Fn*>(self))(); },
        [](void* self) noexcept { static_cast<Fn*>(self)->~Fn(); },
        std::addressof(local)};
    id_ = rt::spawn(name, body, where);
  }

  thread(thread&& other) noexcept : id_(std::exchange(other.id_, kNoThread)) {}
  thread& operator=(thread&& other) noexcept {
    if (this != &other) {
      join_if_joinable();
      id_ = std::exchange(other.id_, kNoThread);
    }
    return *this;
  }
  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;
  ~thread() { join_if_joinable(); }

  bool joinable() const noexcept { return id_ != kNoThread; }
  ThreadId id() const noexcept { return id_; }

  /// Blocks until the thread finishes; establishes happens-before from all its steps.
  void join(const std::source_location& where = std::source_location::current()) {
    if (!joinable()) throw usage_error("hc::thread::join on a thread that is not joinable");
    const ThreadId t = std::exchange(id_, kNoThread);
    rt::join(t, where);
  }

 private:
  /// The implicit join of the destructor and the move assignment (both noexcept): when an
  /// execution ends with this thread parked here, the teardown lets the join return instead of
  /// unwinding through the noexcept frame.
  void join_if_joinable(const std::source_location& where = std::source_location::current()) {
    if (joinable()) rt::join_in_destructor(std::exchange(id_, kNoThread), where);
  }

  ThreadId id_ = kNoThread;
};

namespace this_thread {

/// Use in every spin-wait: `while (!ready.load()) hc::this_thread::yield();`
///
/// Contract: the caller cannot make progress until another thread writes shared state. The
/// scheduler relies on it for fairness: a yielding thread is not scheduled again while another
/// enabled thread has not yet written something (or until every enabled thread yields), so
/// spin-waits terminate under exhaustive search. A yield outside a spin-wait may hide schedules.
inline void yield(const std::source_location& where = std::source_location::current()) {
  rt::yield(where);
}

}  // namespace this_thread
}  // namespace hc

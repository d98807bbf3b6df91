// hc/sync.hpp — instrumented blocking primitives: hc::mutex, hc::condition_variable and
// hc::event (Win32-style manual/auto-reset event).
//
// A thread blocked on any of them is not enabled: the scheduler never picks it, and when no
// thread is enabled while some have not finished, the execution ends with a deadlock finding
// listing what each blocked thread waits for and the wait-for cycle.
//
// hc::mutex is Lockable, so std::lock_guard and std::unique_lock work (their calls are then
// located in the standard headers; call lock()/unlock() directly for exact source lines).
#pragma once

#include <mutex>
#include <source_location>
#include <string_view>

#include "hc/runtime.hpp"

namespace hc {

class mutex {
  using Loc = std::source_location;

 public:
  explicit mutex(std::string_view name = {}) : id_(rt::register_object(ObjectKind::mutex, name)) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock(const Loc& where = Loc::current()) { rt::mutex_lock(id_, where); }
  bool try_lock(const Loc& where = Loc::current()) { return rt::mutex_try_lock(id_, where); }
  void unlock(const Loc& where = Loc::current()) { rt::mutex_unlock(id_, where); }

  ObjectId id() const noexcept { return id_; }

 private:
  ObjectId id_;
};

/// Spurious wake-ups are an explored choice when ExploreOptions::spurious_wakeups is on
/// (off by default): then wait() may return without a notification.
class condition_variable {
  using Loc = std::source_location;

 public:
  explicit condition_variable(std::string_view name = {})
      : id_(rt::register_object(ObjectKind::condition_variable, name)) {}
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;

  void wait(std::unique_lock<hc::mutex>& lock, const Loc& where = Loc::current()) {
    if (!lock.owns_lock()) throw usage_error("hc::condition_variable::wait without the lock held");
    rt::cv_wait(id_, lock.mutex()->id(), where);
  }
  template <class Predicate>
  void wait(std::unique_lock<hc::mutex>& lock, Predicate pred, const Loc& where = Loc::current()) {
    while (!pred())
      wait(lock, where);
  }
  void notify_one(const Loc& where = Loc::current()) { rt::cv_notify(id_, false, where); }
  void notify_all(const Loc& where = Loc::current()) { rt::cv_notify(id_, true, where); }

  ObjectId id() const noexcept { return id_; }

 private:
  ObjectId id_;
};

/// A Win32-style event. An auto-reset event releases one waiter per set() and resets itself;
/// a manual-reset event stays signalled until reset().
class event {
  using Loc = std::source_location;

 public:
  enum class reset_mode { manual, automatic };
  explicit event(reset_mode mode, bool initially_set = false, std::string_view name = {})
      : id_(rt::register_event(name, mode == reset_mode::manual, initially_set)) {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  void set(const Loc& where = Loc::current()) { rt::event_set(id_, where); }
  void reset(const Loc& where = Loc::current()) { rt::event_reset(id_, where); }
  void wait(const Loc& where = Loc::current()) { rt::event_wait(id_, where); }

  ObjectId id() const noexcept { return id_; }

 private:
  ObjectId id_;
};

}  // namespace hc

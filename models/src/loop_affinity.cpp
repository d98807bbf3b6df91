// loop_affinity.cpp — an event loop's thread-affine handles and posted callbacks, and the
// release-on-wrong-thread finding of a handle closed off its loop thread (see
// loop_affinity.hpp).
#include "hc/models/loop_affinity.hpp"

#include <span>
#include <utility>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

// --- LoopThread --------------------------------------------------------------------------------

LoopThread::LoopThread(std::string_view name)
    : name_(name),
      thread_(rt::current_thread()),
      state_(fmt::format("loop '{}'", name)),
      wake_(rt::in_execution()
                ? rt::register_event(fmt::format("async wake-up of loop '{}' (thread '{}')", name,
                                                 rt::thread_name(rt::current_thread())),
                                     /*manual_reset=*/false, /*initially_set=*/false)
                : kNoObject) {}

void LoopThread::require_loop_thread(const char* api) const {
  if (rt::current_thread() != thread_) {
    throw usage_error(
        fmt::format("{} of loop '{}' on thread '{}': only its own thread '{}' runs "
                    "a loop (construct the LoopThread on that thread)",
                    api, name_, rt::thread_name(rt::current_thread()), rt::thread_name(thread_)));
  }
}

void LoopThread::enqueue(std::function<void()> callback, const char* api,
                         const std::source_location& where) {
  const Touch also[] = {{wake_, Access::write}};
  if (rt::model_op(Access::read_write, state_.id(), also, api, where) == nullptr) return;
  state_.write().queue.push_back(std::move(callback));
  rt::event_signal(wake_);
}

void LoopThread::post(std::function<void()> callback, const std::source_location& where) {
  if (!callback) throw usage_error("hc::models::LoopThread::post: an empty callback");
  enqueue(std::move(callback), "uv_async_send (post)", where);
}

void LoopThread::stop(const std::source_location& where) {
  enqueue(std::function<void()>{}, "uv_async_send (stop)", where);
}

std::size_t LoopThread::run_once(const std::source_location& where) {
  require_loop_thread("run_once");
  if (rt::model_op(Access::read_write, state_.id(), std::span<const Touch>{},
                   "uv_run (UV_RUN_NOWAIT)", where) == nullptr)
    return 0;
  std::deque<std::function<void()>> now = std::exchange(state_.write().queue, {});
  std::size_t ran = 0;
  for (std::function<void()>& callback : now) {
    if (!callback) continue;  // a stop: nothing to stop here
    callback();
    ++ran;
  }
  return ran;
}

void LoopThread::run(const std::source_location& where) {
  require_loop_thread("run");
  for (;;) {
    // Look: the wake-up is cleared here, so whatever is posted from now on sets it again.
    const Touch also[] = {{wake_, Access::write}};
    if (rt::model_op(Access::read_write, state_.id(), also, "uv_run", where) == nullptr) return;
    rt::event_clear(wake_);
    std::deque<std::function<void()>>& queue = state_.write().queue;
    if (!queue.empty()) {
      std::function<void()> callback = std::move(queue.front());
      queue.pop_front();
      if (!callback) return;  // stop()
      callback();
      continue;
    }
    if (rt::model_op(Access::sync, wake_, std::span<const Touch>{}, "uv_run (waiting)", where,
                     WaitFor::event_set) == nullptr)
      return;
  }
}

// --- LoopHandle --------------------------------------------------------------------------------

LoopHandle::LoopHandle(LoopThread& loop, std::string_view name, const char* type,
                       const std::source_location& where)
    : loop_(&loop),
      name_(name),
      type_(type),
      state_(fmt::format("handle '{}' ({})", name, type)),
      created_(rt::in_execution() ? here(where) : Provenance{}) {}

std::string LoopHandle::label() const {
  return fmt::format("handle '{}' ({})", name_, type_);
}

void LoopHandle::close(const std::source_location& where) {
  if (rt::model_op(Access::read_write, state_.id(), std::span<const Touch>{}, "uv_close", where) ==
      nullptr)
    return;
  State& s = state_.write();
  const Provenance now = here(where);
  if (rt::current_thread() != loop_->thread()) {
    const std::string_view owner = rt::thread_name(loop_->thread());
    report(FindingKind::release_on_wrong_thread,
           fmt::format("release on wrong thread: uv_close of {} at step {} by thread '{}' ({}): "
                       "the handle belongs to loop '{}' of thread '{}' (created by {}), and "
                       "libuv is not thread-safe: only thread '{}' may close it (a uv_close on "
                       "another thread races the loop's own use of the handle: an assertion, a "
                       "corrupted handle queue or a crash in production, on some schedules "
                       "only). Post the close to the loop thread: loop.post([&] {{ "
                       "handle.close(); }}) (uv_async_send), as Kestrel's UvHandle.ReleaseHandle "
                       "does (KestrelThread.PostCloseHandle)",
                       label(), now.step, now.thread_name, site(where), loop_->name(), owner,
                       describe(created_), owner),
           where, fmt::format("{}|uv_close|{}", name_, site(where)),
           {.steps = {now.step, created_.step}, .objects = {state_.id()}});
  }
  if (s.closed) {
    report(FindingKind::check_failure,
           fmt::format("uv_close of {} at step {} by thread '{}' ({}), which {} already closed: "
                       "libuv asserts !uv_is_closing(handle)",
                       label(), now.step, now.thread_name, site(where), describe(closed_by_)),
           where, fmt::format("{}|uv_close twice|{}", name_, site(where)),
           {.steps = {now.step, closed_by_.step}, .objects = {state_.id()}});
  }
  s.closed = true;
  closed_by_ = now;
}

void LoopHandle::use(const char* api, const std::source_location& where) {
  if (rt::model_op(Access::read, state_.id(), std::span<const Touch>{}, api, where) == nullptr)
    return;
  if (!state_.read().closed) return;
  const Provenance now = here(where);
  report(FindingKind::check_failure,
         fmt::format("{} on {} at step {} by thread '{}' ({}), which {} closed (uv_close)", api,
                     label(), now.step, now.thread_name, site(where), describe(closed_by_)),
         where, fmt::format("{}|{}|{}", name_, api, site(where)),
         {.steps = {now.step, closed_by_.step}, .objects = {state_.id()}});
}

}  // namespace hc::models

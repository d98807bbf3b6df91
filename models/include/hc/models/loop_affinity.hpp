// hc/models/loop_affinity.hpp — thread-affine handles of an event loop (issue 18 item 4): a
// libuv-style loop owned by one thread, handles that only that thread may close, and the posted
// callbacks (uv_async_send) through which other threads reach it. Kestrel's libuv transport
// worked this way: a UvHandle's ReleaseHandle, run on another thread, posted its uv_close to
// the loop thread (KestrelThread.PostCloseHandle, aspnet/KestrelHttpServer#202).
//
// What it defines:
//   LoopThread   the loop of the thread that constructs it: post(callback) from any thread
//                queues a callback that the loop thread runs (uv_async_send + a queue, never
//                blocking the poster); run_once() runs what is queued now (UV_RUN_NOWAIT);
//                run() runs the loop until stop() (UV_RUN_DEFAULT: it blocks while nothing is
//                queued); stop() from any thread is itself posted (uv_stop is not thread-safe).
//   LoopHandle   a handle of the loop (uv_tcp_t, uv_pipe_t, uv_timer_t): close() (uv_close) on
//                the loop thread closes it; on any other thread it is release-on-wrong-thread.
//
//   hc::models::LoopThread loop("libuv");                      // on the loop thread (main)
//   hc::models::LoopHandle conn(loop, "connection", "uv_tcp_t");
//   hc::thread request("request", [&] {
//     conn.close();                          // finding: uv_close off the loop thread
//     loop.post([&] { conn.close(); });      // the fix: the loop thread closes it
//     loop.stop();
//   });
//   loop.run();
//
// Findings: release_on_wrong_thread (a close on a thread other than the loop's, naming the
// handle, the loop thread, the closing thread's step and line, and the fix: post the close);
// check_failure for a second close of one handle (uv_close twice asserts in libuv).
//
// What it touches (DPOR footprints, checked by the footprint audit): ONE cell per loop (its
// queue and its stop request) and an auto-reset engine event (its wake-up); ONE cell per
// handle (open or closed).
//   LoopThread::post, stop     read_write on the loop, write on its wake-up event
//   LoopThread::run_once       read_write on the loop (then the callbacks' own steps)
//   LoopThread::run            each look: read_write on the loop, write on the wake-up; each
//                              block: a sync on the wake-up (enabled once something is posted)
//   LoopHandle::close          read_write on the handle
//   LoopHandle::use            read on the handle
// Which thread owns a loop is configuration (the constructing thread), and a check of the
// calling thread reads no cell.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <source_location>
#include <string>
#include <string_view>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/operation.hpp"

namespace hc::models {

class LoopThread {
  using Loc = std::source_location;

 public:
  /// The loop of the calling thread; `name` in messages ("loop 'libuv'").
  explicit LoopThread(std::string_view name);
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  /// uv_async_send with a queue: `callback` runs on the loop thread in a later iteration. Any
  /// thread; never blocks.
  void post(std::function<void()> callback, const Loc& where = Loc::current());
  /// Asks the loop to stop after what is queued before it (posted: any thread).
  void stop(const Loc& where = Loc::current());
  /// One iteration on the loop thread, without waiting: runs the callbacks queued now (each
  /// one's operations are this thread's next steps). Returns how many ran.
  std::size_t run_once(const Loc& where = Loc::current());
  /// Runs the loop on its thread until a stop() is reached; blocks while nothing is queued.
  void run(const Loc& where = Loc::current());

  const std::string& name() const noexcept { return name_; }
  ThreadId thread() const noexcept { return thread_; }
  /// Callbacks queued and not yet run (peeked).
  std::size_t queued() const noexcept { return state_.peek().queue.size(); }

 private:
  struct State {
    std::deque<std::function<void()>> queue;  // a stop is an empty callback
  };
  void require_loop_thread(const char* api) const;
  void enqueue(std::function<void()> callback, const char* api, const Loc& where);

  std::string name_;
  ThreadId thread_;
  ModelCell<State> state_;
  ObjectId wake_;
};

class LoopHandle {
  using Loc = std::source_location;

 public:
  /// A handle of `loop` named `name`, of libuv type `type` (a static string: "uv_tcp_t").
  /// Initializing it is configuration (uv_tcp_init on the loop thread), not an operation.
  LoopHandle(LoopThread& loop, std::string_view name, const char* type,
             const Loc& where = Loc::current());
  LoopHandle(const LoopHandle&) = delete;
  LoopHandle& operator=(const LoopHandle&) = delete;

  /// uv_close: read-write on the handle; only on the loop's thread.
  void close(const Loc& where = Loc::current());
  /// A call of `api` (a static string: "uv_read_start") on the handle: read on it.
  void use(const char* api, const Loc& where = Loc::current());

  bool closed() const noexcept { return state_.peek().closed; }  // peeked
  /// "handle 'connection' (uv_tcp_t)".
  std::string label() const;

 private:
  struct State {
    bool closed = false;
  };
  LoopThread* loop_;
  std::string name_;
  const char* type_;
  ModelCell<State> state_;
  Provenance created_;
  Provenance closed_by_;
};

}  // namespace hc::models

// affinity/uv-handle-closed-off-loop-thread — a libuv handle closed by a thread other than its
// loop's (issue 18 item 4: thread affinity).
//
// Story: libuv is not thread-safe; apart from uv_async_send, a handle may only be touched,
// and closed, on the thread that runs its loop. supamii/QttpServer#31: the main thread closed
// a response's connection (uv_write / uv_close from the Qt event thread) while a second thread
// ran the libuv loop: "a race condition ... which leads to a memory access violation", and the
// libuv developers' answer that the call "should be moved to the event thread using
// uv_async_send". realm/realm-js#1125 ("Close uv handles on the loop thread") and
// lynckia/licode#1443 ("Do not call uv_close from uv loop other than the main one") fixed the
// same bug; Kestrel's libuv transport was built around the rule: a UvHandle released on any
// other thread posted its close to the loop thread (KestrelThread.PostCloseHandle, in the
// stack of aspnet/KestrelHttpServer#202). Here the main thread runs the loop that owns a
// connection's uv_tcp_t; a request thread finishes the response, aborts the connection and
// closes the handle itself. The loop model reports the uv_close on the wrong thread, naming the
// loop thread, the request thread and its line.
//
// Fix: post the close to the loop thread (uv_async_send with a queue, LoopThread::post), which
// closes the handle in its next iteration, and then post the stop.
#include "hc/hc.hpp"
#include "hc/models/loop_affinity.hpp"

namespace {

using hc::models::LoopHandle;
using hc::models::LoopThread;

void abort_connection(bool post_the_close) {
  LoopThread loop("libuv");  // the main thread runs the loop
  LoopHandle connection(loop, "connection 1", "uv_tcp_t");
  hc::thread request("request", [&] {
    loop.post([&] { connection.use("uv_write"); });  // the response, written on the loop
    if (post_the_close) {
      loop.post([&] { connection.close(); });  // on the loop thread
    } else {
      connection.close();  // Abort(): uv_close on the request thread
    }
    loop.stop();
  });
  loop.run();
  request.join();
}

}  // namespace

HC_SCENARIO("affinity/uv-handle-closed-off-loop-thread", .tags = {"affinity", "libuv"},
            .expect = hc::FindingKind::release_on_wrong_thread,
            .message = "uv_close of handle 'connection 1' (uv_tcp_t) at step",
            .summary =
                "a request thread closes a libuv handle whose loop runs on another thread: "
                "uv_close is not thread-safe",
            .pattern = "I18-affinity", .source = "supamii/QttpServer#31") {
  abort_connection(false);
}

HC_SCENARIO("affinity/uv-handle-closed-off-loop-thread.fixed",
            .tags = {"affinity", "libuv", "fixed"}, .expect = hc::clean,
            .summary =
                "the close is posted to the loop thread (uv_async_send), which closes the handle "
                "in its next iteration",
            .pattern = "I18-affinity", .source = "supamii/QttpServer#31") {
  abort_connection(true);
}

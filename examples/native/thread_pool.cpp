// thread_pool.cpp — a one-worker thread pool on std::mutex and std::condition_variable, plain
// C++ tested unmodified (handlecheck::native; README, "Unmodified C++ code").
//
// The story: the worker loops `while (!stop)`, and under the lock waits for work when the queue
// is empty. shutdown() sets the (atomic) stop flag and notifies without taking the lock. If the
// worker has just read stop == false and not yet started waiting, the notification finds nobody
// waiting and is lost: the worker then waits for ever, and shutdown's join waits for the worker.
// handlecheck reports the deadlock with the line each thread waits at. The fix changes the flag
// under the lock and waits with a predicate that checks it under the lock too.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "hc/native.hpp"

namespace {

class LossyPool {
 public:
  LossyPool() : worker_([this] { run(); }) {}
  void submit(std::function<void()> job) {
    {
      const std::lock_guard<std::mutex> lock(m_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  void shutdown() {
    stop_ = true;  // not under the lock: the worker may be between its check and its wait
    cv_.notify_all();
    worker_.join();
  }

 private:
  void run() {
    while (!stop_) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        if (queue_.empty()) {
          cv_.wait(lock);
          continue;
        }
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

class Pool {
 public:
  Pool() : worker_([this] { run(); }) {}
  void submit(std::function<void()> job) {
    {
      const std::lock_guard<std::mutex> lock(m_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  void shutdown() {
    {
      const std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to do
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread worker_;
};

template <class P>
void run_one_job() {
  std::atomic<int> done{0};
  P pool;
  pool.submit([&done] { done.fetch_add(1); });
  pool.shutdown();
}

}  // namespace

HC_NATIVE_TEST("native/pool-lost-wakeup", .expect = hc::FindingKind::deadlock,
               .message = "examples/native/thread_pool.cpp:",
               .summary =
                   "shutdown sets the stop flag and notifies without the lock: the "
                   "worker's wait misses the notification, and join waits for ever") {
  run_one_job<LossyPool>();
}

HC_NATIVE_TEST("native/pool-lost-wakeup.fixed",
               .summary =
                   "the flag changes under the lock, and the worker waits with a "
                   "predicate: no notification is lost") {
  run_one_job<Pool>();
}

// helper_threads.cpp — see helper_threads.hpp.
#include "explore/helper_threads.hpp"

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/process_wide.hpp"

namespace hc::detail {
namespace {

/// What run_on_helpers waits for: the helpers of its call that have not returned yet.
struct Countdown {
  std::mutex mu;
  std::condition_variable zero;
  int left = 0;

  void one_returned() {
    std::lock_guard lock(mu);
    if (--left == 0) zero.notify_all();  // under the lock: the waiter may destroy this after
  }
};

/// One helper thread: it waits for a task, runs it, says so, and waits for the next.
struct Helper {
  std::mutex mu;
  std::condition_variable wake;
  const std::function<void(int)>* task = nullptr;  // set by run_on_helpers: run task(worker)
  int worker = 0;
  Countdown* countdown = nullptr;

  [[noreturn]] void loop() {
    std::unique_lock lock(mu);
    for (;;) {
      wake.wait(lock, [this] { return task != nullptr; });
      const std::function<void(int)>* const t = std::exchange(task, nullptr);
      Countdown* const c = std::exchange(countdown, nullptr);
      lock.unlock();
      (*t)(worker);
      c->one_returned();  // the last thing it touches of this run
      lock.lock();
    }
  }
};

/// The helpers not in use, the process's (runtime/process_wide.hpp: a child of fork() makes
/// its own, the parent's threads not being in it).
struct Idle {
  std::mutex mu;
  std::vector<Helper*> helpers;
};

}  // namespace

void run_on_helpers(int n, const std::function<void(int)>& task) {
  if (n <= 1) {
    task(0);
    return;
  }
  const auto helpers = static_cast<std::size_t>(n - 1);
  std::vector<Helper*> mine;
  mine.reserve(helpers);
  Idle& pool = ProcessWide<Idle>::get();
  {
    std::lock_guard lock(pool.mu);
    while (mine.size() < helpers && !pool.helpers.empty()) {
      mine.push_back(pool.helpers.back());
      pool.helpers.pop_back();
    }
  }
  try {
    while (mine.size() < helpers) {
      auto h = std::make_unique<Helper>();
      std::thread([raw = h.get()] { raw->loop(); }).detach();
      mine.push_back(h.release());  // lives as long as its thread, which never ends
    }
  } catch (...) {
    // No thread to be had (a limit of the system): the helpers taken wait for the next run.
    std::lock_guard lock(pool.mu);
    pool.helpers.insert(pool.helpers.end(), mine.begin(), mine.end());
    throw;
  }
  Countdown countdown;
  countdown.left = n - 1;
  for (std::size_t k = 0; k < mine.size(); ++k) {
    Helper* h = mine[k];
    {
      std::lock_guard lock(h->mu);
      h->worker = static_cast<int>(k) + 1;
      h->countdown = &countdown;
      h->task = &task;
    }
    h->wake.notify_one();
  }
  task(0);
  {
    std::unique_lock lock(countdown.mu);
    countdown.zero.wait(lock, [&] { return countdown.left == 0; });
  }
  std::lock_guard lock(pool.mu);
  pool.helpers.insert(pool.helpers.end(), mine.begin(), mine.end());
}

}  // namespace hc::detail

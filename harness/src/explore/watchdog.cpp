// watchdog.cpp — see watchdog.hpp.
#include "explore/watchdog.hpp"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/execution.hpp"
#include "runtime/faults.hpp"
#include "runtime/process_wide.hpp"

namespace hc::detail {
namespace {

using Clock = std::chrono::steady_clock;  // the watchdog's bound only: never decides a schedule
constexpr double kStopGrace = 0.2;        // seconds a stuck thread may delay a stop
// The watchdog looks every quarter of its bound, between 5 and 50 ms: a short bound (a
// scenario whose bug is a hang) is noticed soon after it passes.
std::chrono::microseconds tick_for(double bound) {
  const double quarter_us = bound > 0 ? bound * 250'000 : 50'000;
  return std::chrono::microseconds(
      static_cast<std::int64_t>(std::clamp(quarter_us, 5'000.0, 50'000.0)));
}

/// CPU time of an OS thread, by kernel thread id, in seconds (0 when it cannot be read). By id,
/// not pthread_t: under the os-threads substrate the thread may have ended meanwhile, and a
/// pthread_t of a joined thread must not be used.
double cpu_seconds(int tid) {
  // The kernel's per-thread CPU clock (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)), as glibc's
  // pthread_getcpuclockid builds it.
  const clockid_t clock = (~static_cast<clockid_t>(tid) << 3) | 6;
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Closes every descriptor in the calling thread's descriptor table.
void close_every_descriptor() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 0U, ~0U, 0U) == 0) return;
#endif
  // Kernels before 5.9: close what /proc lists (listed in this table, so the list's own
  // descriptor is among them).
  std::vector<int> open;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') open.push_back(std::atoi(entry->d_name));
    ::closedir(dir);
  }
  for (const int fd : open)
    ::close(fd);
}

/// Gives the calling thread a descriptor table of its own, and empties it, so that what the
/// watchdog opens takes no number from the process's table. Code under test may rely on open()
/// returning the lowest free number (a recycled descriptor is the bug class native scenarios
/// test); a /proc read in the shared table would take that number for a moment, whenever an
/// execution's heartbeat stalls. Where the kernel refuses (a seccomp profile that forbids
/// unshare), the table stays shared and the watchdog reads /proc in it, as it always did.
void own_descriptor_table() {
  if (::unshare(CLONE_FILES) != 0) return;
  // The copy holds every descriptor open now. Closed at once: else a pipe's reader in the code
  // under test would never see its end of file while the watchdog lives.
  close_every_descriptor();
}

/// Whether the thread sleeps in the kernel (state S or D in /proc): blocked, not descheduled.
bool asleep(int tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  char text[512];
  const std::size_t n = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  text[n] = '\0';
  // "tid (comm) S ...": the state follows the last ')' (comm may contain anything).
  const char* close = nullptr;
  for (const char* p = text; *p != '\0'; ++p)
    if (*p == ')') close = p;
  return close != nullptr && close[1] == ' ' && (close[2] == 'S' || close[2] == 'D');
}

}  // namespace

/// The process's watchdog thread (watchdog.hpp): the Watchdogs alive, and the thread that
/// ticks for them.
class WatchdogThread {
 public:
  /// The process's (runtime/process_wide.hpp: a child of fork() starts its own thread).
  static WatchdogThread& get() { return ProcessWide<WatchdogThread>::get(); }

  void add(Watchdog* dog) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      dogs_.push_back(dog);
      if (!started_) {
        std::thread([this] { loop(); }).detach();
        started_ = true;  // only once it exists: a failed start is tried again by the next
      }
      // Woken only when idle or waiting longer than this one's tick: short explorations one
      // after another (a test suite, every finding's replay) find it waiting for its tick
      // already, and a wake-up of another thread costs more than such an exploration.
      wake = waiting_ == kIdle || tick_for(dog->bound_) < waiting_;
    }
    if (wake) wake_.notify_all();
  }
  /// After it returns the thread no longer looks at `dog` (a tick in progress ends first).
  void remove(Watchdog* dog) {
    std::lock_guard lock(mu_);
    dogs_.erase(std::remove(dogs_.begin(), dogs_.end(), dog), dogs_.end());
  }

 private:
  void loop() {
    own_descriptor_table();
    const Clock::time_point start = Clock::now();
    std::unique_lock lock(mu_);
    for (;;) {
      if (dogs_.empty()) {
        waiting_ = kIdle;
        wake_.wait(lock);
        continue;
      }
      auto tick = tick_for(dogs_.front()->bound_);
      for (const Watchdog* dog : dogs_)
        tick = std::min(tick, tick_for(dog->bound_));
      waiting_ = tick;
      wake_.wait_for(lock, tick);
      waiting_ = std::chrono::microseconds::zero();  // ticking: add() need not wake it
      const double now = std::chrono::duration<double>(Clock::now() - start).count();
      for (Watchdog* dog : dogs_)
        dog->tick(now);
    }
  }

  static constexpr std::chrono::microseconds kIdle = std::chrono::microseconds::max();
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Watchdog*> dogs_;
  bool started_ = false;
  /// The tick the thread waits for now; kIdle: it waits for a Watchdog (none is alive); zero:
  /// it is ticking or about to wait (it computes its tick from every Watchdog alive then).
  std::chrono::microseconds waiting_ = kIdle;
};

Watchdog::Watchdog(double no_progress_seconds, std::function<bool()> should_stop)
    : bound_(no_progress_seconds), should_stop_(std::move(should_stop)) {
  WatchdogThread::get().add(this);
}

Watchdog::~Watchdog() {
  WatchdogThread::get().remove(this);
}

Watchdog::Watch::Watch(Watchdog& dog, Execution& exec) : dog_(dog), exec_(exec) {
  exec_.set_watchdog_seconds(dog_.bound_);
  std::lock_guard lock(dog_.mu_);
  // The calling OS thread's kernel id, asked once per thread (a system call per exploration
  // was a tenth of a small one's CPU). A fork()ed child's thread has another id: it asks again
  // (the process's WatchdogThread is another object in a child, never freed: it tells).
  thread_local int cached_tid = 0;
  thread_local const WatchdogThread* cached_in = nullptr;
  if (const WatchdogThread* now = &WatchdogThread::get(); cached_in != now) {
    cached_in = now;
    cached_tid = static_cast<int>(::gettid());
  }
  const int tid = cached_tid;
  dog_.watched_.push_back(Watched{&exec_, tid, exec_.heartbeat(), tid, -1, 0, -1});
}

Watchdog::Watch::~Watch() {
  std::lock_guard lock(dog_.mu_);
  auto& w = dog_.watched_;
  w.erase(std::remove_if(w.begin(), w.end(), [this](const Watched& x) { return x.exec == &exec_; }),
          w.end());
}

void Watchdog::tick(double now) {
  std::lock_guard lock(mu_);
  const bool stop = should_stop_ && should_stop_();
  for (Watched& w : watched_) {
    const std::uint32_t beat = w.exec->heartbeat();
    // The OS thread that runs the execution: the worker, or under the os-threads substrate
    // the current simulated thread's own (execution.hpp, "Substrates").
    const int os_tid = w.exec->running_os_tid();
    const int tid = os_tid != 0 ? os_tid : w.tid;
    if (beat != w.heartbeat || w.since < 0 || tid != w.running_tid) {
      w.heartbeat = beat;
      w.running_tid = tid;
      w.since = now;
      w.cpu_since = cpu_seconds(tid);
      w.asleep_since = -1;
      continue;
    }
    if (!w.exec->running()) continue;
    const double stuck = now - w.since;
    bool no_progress = false;
    if (bound_ > 0) {
      if (asleep(tid)) {
        if (w.asleep_since < 0) w.asleep_since = now;
      } else {
        w.asleep_since = -1;
      }
      no_progress = cpu_seconds(tid) - w.cpu_since >= bound_ ||
                    (w.asleep_since >= 0 && now - w.asleep_since >= bound_);
    }
    FaultRecord::Cause cause;
    if (no_progress) {
      cause = FaultRecord::Cause::no_progress;
    } else if (stop && stuck >= kStopGrace) {
      cause = FaultRecord::Cause::stop;
    } else {
      continue;
    }
    // Repeated every tick until the heartbeat moves: a signal that arrived while the thread
    // was briefly in host code is simply sent again.
    w.exec->request_interrupt(cause, beat);
    // A thread that ended meanwhile gets nothing (ESRCH); one that got its id gets a signal
    // its handler ignores (the heartbeat moved, and it is not the current thread).
    ::syscall(SYS_tgkill, ::getpid(), tid, kInterruptSignal);
  }
}

}  // namespace hc::detail

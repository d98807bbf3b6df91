// watchdog.hpp — Watchdog: a thread beside an exploration's workers that ends executions whose
// simulated thread stopped reaching scheduling points.
//
//   Watchdog dog(options.watchdog_seconds, [&] { return run.must_stop(); });
//   // in each worker, around its executions:
//   Watchdog::Watch watch(dog, exec);
//
// Every quarter of its bound (5 to 50 ms) it reads each watched Execution's heartbeat (scheduling
// points so far). A worker inside an execution whose heartbeat has not moved gets a no-progress
// request (FaultRecord::Cause::no_progress) once it has either spent the bound in CPU time (a loop)
// or slept in the kernel for the bound (blocked in a call handlecheck does not control). A worker
// the OS merely did not run (a loaded machine) has neither, so it is never taken for stuck. One
// that has not moved for 0.2 s while should_stop() says the run must stop (SIGINT, SIGTERM, the
// time budget) gets a stop request, so a stuck thread cannot keep the run from stopping. A request
// is a flag in the Execution plus kInterruptSignal to the worker's OS thread; the handler acts
// only if the execution is still at the heartbeat the watchdog saw (runtime/faults.hpp).
//
// should_stop() is asked every tick, stuck thread or not: it is where a run reads the clock for
// its time budget (explorer.cpp), instead of at every execution.
//
// The watchdog reads a thread's state in /proc from a descriptor table of its own, so its reads
// never take a descriptor number the code under test would have got (where the kernel refuses
// one, as under some seccomp profiles, it reads in the shared table).
//
// The bound is wall time, the only thing that can tell a thread that will never come back from
// one that is slow: it decides whether an execution ends in a no-progress finding, never which
// schedule runs.
//
// One OS thread of the process ticks for every Watchdog alive (at the shortest tick among
// them), started by the first Watchdog and kept for the next ones; with no Watchdog alive it
// sleeps. A thread per Watchdog (one per exploration, so one per scenario and per replayed
// finding of `run --all`) cost a thread's creation, the descriptor table's copy and its join
// each time: 14% of the CPU of the catalogue's run under dpor. A child of fork() starts its own
// thread when it needs one (the parent's is not in it).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace hc::detail {

class Execution;

class Watchdog {
 public:
  /// `no_progress_seconds` 0: no no-progress findings (stop requests still work). Watches from
  /// now until destroyed.
  Watchdog(double no_progress_seconds, std::function<bool()> should_stop);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Watches `exec`, run by the calling OS thread, for the Watch's lifetime.
  class Watch {
   public:
    Watch(Watchdog& dog, Execution& exec);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    Watchdog& dog_;
    Execution& exec_;
  };

 private:
  struct Watched {
    Execution* exec;
    int tid;                  // its kernel thread id (/proc/self/task/TID/stat; signalled by it)
    std::uint32_t heartbeat;  // as last seen
    int running_tid;          // the OS thread that ran the execution then (os-threads: changes)
    double since;             // when it was first seen at that heartbeat (seconds)
    double cpu_since;         // its CPU time then (seconds)
    double asleep_since;      // since when it has been seen asleep at that heartbeat (-1: awake)
  };
  friend class WatchdogThread;
  /// One look at every watched Execution, at `now` (seconds on the watchdog thread's clock).
  void tick(double now);

  double bound_;
  std::function<bool()> should_stop_;
  std::mutex mu_;  // watched_
  std::vector<Watched> watched_;
};

}  // namespace hc::detail

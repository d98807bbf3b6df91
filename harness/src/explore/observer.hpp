// observer.hpp — ExecutionObserver: the concerns that watch a worker's executions (coverage of
// conflicting operations, the Knuth estimator, progress), apart from the loop that runs them.
//
// Protocol (one observer of each kind per worker; the worker loop calls them):
//
//   on_execution(exec, total)  after every counted execution, once (never per step); `exec`
//                              holds it, read only; `total` counts the run's executions so far
//                              (with several workers, as this worker sees the sum: short by
//                              what the others ran since they last added, under 32 each)
//   on_unit_end()              the worker's work unit ended, before the run records it: what a
//                              checkpoint must hold goes into the run now
//   on_worker_end()            the worker stops: whatever is left goes into the run
//
// Observers never decide anything about the search: take them all away and the same executions
// run, with the same findings and counts.
#pragma once

#include <cstdint>

#include "runtime/execution.hpp"

namespace hc::detail {

class ExecutionObserver {
 public:
  virtual ~ExecutionObserver() = default;
  virtual void on_execution(const Execution& exec, std::uint64_t total) = 0;
  virtual void on_unit_end() {}
  virtual void on_worker_end() {}
};

}  // namespace hc::detail

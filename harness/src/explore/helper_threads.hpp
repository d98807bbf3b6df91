// helper_threads.hpp — run_on_helpers: the OS threads that run workers 1..N-1 of an exploration
// with --jobs N, kept from one exploration to the next.
//
//   run_on_helpers(jobs, [&](int w) { run.worker(w); });  // worker 0 runs on the caller
//
// A thread made per worker per exploration cost its creation and join, and its memory started
// cold every time: a new stack, its first page faults in a malloc arena, dpor's node pool and the
// signal stack. A run of many scenarios with --jobs 2 (`run --all`) paid that for each one.
// Helpers wait between explorations; run_on_helpers takes as many as it needs (making more when
// explorations run at once) and gives them back when every worker has returned. A child of
// fork() makes its own (the parent's are not in it).
#pragma once

#include <functional>

namespace hc::detail {

/// Runs task(w) for every w in [1, n) on helper threads and task(0) on the calling thread, and
/// returns when all have returned. `task` must not throw (the explorer's catches everything).
void run_on_helpers(int n, const std::function<void(int)>& task);

}  // namespace hc::detail

// hc/suite.hpp — Relacy-style suites: a fixed set of threads that are the whole execution,
// and a final check when the last of them finishes. explore_suite<Suite>() runs one.
//
//   struct Refcount {
//     static constexpr int kThreads = 3;         // threads "T0", "T1", "T2"
//     hc::atomic<int> refs{1};
//     int closes = 0;                            // plain bookkeeping
//     void thread(int index) { ... }             // the body of thread `index`
//     void after() { HC_CHECK(closes == 1, "closed {} times", closes); }  // optional
//   };
//   hc::Result r = hc::explore_suite<Refcount>(options);
//   HC_SCENARIO("refcount/suite") { hc::run_suite<Refcount>(); }  // or as a scenario's body
//
// What an execution runs: main constructs a Suite (its constructor is Relacy's before()),
// spawns kThreads threads named "T0".."T<kThreads-1>", each running thread(index), and ends.
// When the last of them finishes its body, it joins the others (so after() happens after every
// step of every thread, as a join makes it) and runs after(), if the Suite has one. That is the
// whole difference from the same test written as a scenario body (spawn, join each thread,
// check): no thread waits for the others, so no thread is switched back to at the end to run
// the check. On the refcount protocol that is 8-15% of a random execution's CPU time (README,
// Performance).
//
// Rules, each checked where it can be:
//   * kThreads is 1 to kMaxThreads - 1 (main is a thread too): a static_assert.
//   * A Suite is trivially destructible (a static_assert): it is never destroyed, and the next
//     execution on the same worker constructs the next one in its storage. Its state is what a
//     Relacy suite's is: hc:: primitives (hc::atomic, hc::var, hc::mutex, ...) and plain
//     values. Objects that need destructors (handle tables, containers, the models) belong in
//     a scenario body with hc::thread, whose teardown destroys them.
//   * after() runs only when every thread finished its body: not when the execution ended
//     early (a finding). It runs on the last thread to finish, a simulated thread: it may read
//     with operations (they are that thread's steps; no other thread is left to interleave) or
//     with peek(), and report with HC_CHECK.
//   * Findings, replay files and reports show the threads as any others main spawns ("T0"..,
//     spawned at the line that called explore_suite or run_suite).
#pragma once

#include <cstddef>
#include <iterator>
#include <new>
#include <source_location>
#include <string_view>
#include <type_traits>

#include "hc/explorer.hpp"
#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc {
namespace detail {

/// Storage for one suite object, per worker (per Execution: the same for every simulated
/// thread of the worker's executions, on fibers or on OS threads), at least `size` bytes
/// aligned to `align`, kept from one execution to the next. Only inside an execution.
void* suite_storage(std::size_t size, std::size_t align);

inline constexpr std::string_view kSuiteThreadNames[] = {
    "T0",  "T1",  "T2",  "T3",  "T4",  "T5",  "T6",  "T7",  "T8",  "T9",  "T10",
    "T11", "T12", "T13", "T14", "T15", "T16", "T17", "T18", "T19", "T20", "T21",
    "T22", "T23", "T24", "T25", "T26", "T27", "T28", "T29", "T30"};
static_assert(std::size(kSuiteThreadNames) >= kMaxThreads - 1);

/// What a suite's threads share: the suite, how many of them are still running their bodies,
/// and who they are (the last one joins the others).
template <class Suite>
struct SuiteFrame {
  Suite suite;
  int running = Suite::kThreads;
  ThreadId ids[Suite::kThreads] = {};
};

template <class Suite>
struct SuiteThread {
  SuiteFrame<Suite>* frame;
  int index;
  std::source_location where;

  void operator()() const {
    frame->suite.thread(index);
    if (--frame->running != 0) return;
    // The last one: after() sees every thread's steps.
    for (int k = 0; k < Suite::kThreads; ++k) {
      if (k != index) rt::join(frame->ids[k], where);
    }
    if constexpr (requires(Suite & s) { s.after(); }) frame->suite.after();
  }
};

}  // namespace detail

/// The body of an execution whose threads are the suite `Suite` (what explore_suite explores):
/// constructs it, spawns its threads and returns. Also a scenario's body, so that a suite runs
/// from the catalogue, the CLI and ctest like any scenario:
///
///   HC_SCENARIO("refcount/try-add-ref-without-cas", .expect = hc::FindingKind::check_failure,
///               .message = "closed 2 times") {
///     hc::run_suite<Refcount>();
///   }
///
/// It is the whole body (main's), run once: code after it would run beside the suite's threads,
/// and a second suite would take the first one's storage.
template <class Suite>
void run_suite(const std::source_location& where = std::source_location::current()) {
  static_assert(Suite::kThreads >= 1 && Suite::kThreads <= kMaxThreads - 1,
                "a suite has 1 to kMaxThreads - 1 threads (main is one more)");
  static_assert(std::is_default_constructible_v<Suite>,
                "a suite is default-constructible: each execution constructs a fresh one");
  static_assert(std::is_trivially_destructible_v<Suite>,
                "a suite is never destroyed (its storage is reused by the next execution): keep "
                "its state in hc:: primitives and plain values, and objects with destructors in "
                "a scenario body (hc/suite.hpp)");
  static_assert(
      requires(Suite & s, int i) { s.thread(i); }, "a suite has void thread(int index)");
  using Frame = detail::SuiteFrame<Suite>;
  using Thread = detail::SuiteThread<Suite>;
  auto* frame = ::new (detail::suite_storage(sizeof(Frame), alignof(Frame))) Frame();
  for (int i = 0; i < Suite::kThreads; ++i) {
    Thread body{frame, i, where};
    const rt::ThreadBody erased{
        sizeof(Thread),
        alignof(Thread),
        [](void* dst, void* src) { ::new (dst) Thread(*static_cast<Thread*>(src)); },
        [](void* self) { (*static_cast<Thread*>(self))(); },
        [](void*) noexcept {},  // trivially destructible
        &body};
    const ThreadId id = rt::spawn(detail::kSuiteThreadNames[i], erased, where);
    if (id == kNoThread) return;  // the execution is over (spawn made no thread)
    frame->ids[i] = id;
  }
}

/// Explores the suite `Suite` (see the top of this header) as explore() explores a scenario
/// body: the same options, strategies, findings and replay files.
template <class Suite>
Result explore_suite(const ExploreOptions& options,
                     const std::source_location& where = std::source_location::current()) {
  return explore([where] { run_suite<Suite>(where); }, options);
}

}  // namespace hc

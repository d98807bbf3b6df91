// The models' atomics under Relacy's exhaustive search (rl::sched_full; rl::sched_bound, which is
// exhaustive up to a number of preemptions, where the full search takes hours): the SafeHandle
// state word (hc::models::SafeHandleStateWord<RlAtomic>, the models' own template and memory
// orders) and the COM reference count (RefCount<RlAtomic>, protocols.hpp). The correct orders
// pass; a final release weakened to relaxed must be caught.
//
// The same source builds twice:
//   hc_relacy_models_test      the C++11 memory model; plain variables are rl::var, so a
//                              missing happens-before is reported as a DATA RACE
//   hc_relacy_models_cli_test  HC_RELACY_CLI: <relacy/relacy_cli.hpp>, Relacy's .NET (CLI)
//                              mode. Plain fields are rl::nvar (relaxed: .NET has no data-race
//                              UB, so a missing barrier shows up as a stale read, which
//                              ReleaseHandle's / the destructor's checks catch), and the CLI
//                              memory model (RL_IMPROVED_SEQ_CST_RMW) makes EVERY atomic
//                              read-modify-write a full fence, whatever order it names: .NET
//                              has no relaxed Interlocked operation. So "relaxed on the final
//                              release" cannot be expressed as an RMW there and is asserted to
//                              be harmless; the .NET code that does lose the barrier, a plain
//                              non-interlocked write of the count (ClrAtomic with relaxed), is
//                              the weakened variant the CLI model must catch.
// Tests named Nightly* are the long ones (ctest label nightly).
#include <gtest/gtest.h>

#include <string>

#include "protocols.hpp"
#include "relacy_platform.hpp"

namespace {

using namespace hc_rl;
using hc::models::SafeHandleOrders;

template <class Proto>
RunResult exhaustive() {
  return run<Suite<Proto>>(rl::sched_full);
}
/// Every schedule with at most `preemptions` preemptions (Relacy's context-bound search).
template <class Proto>
RunResult bounded(unsigned preemptions) {
  return run<Suite<Proto>>(rl::sched_bound, 0, preemptions);
}

void expect_clean(const RunResult& r, std::uint64_t min_executions) {
  EXPECT_TRUE(r.as_expected) << r.output;
  EXPECT_EQ(r.result, rl::test_result_success) << rl::test_result_str(r.result) << "\n" << r.output;
  // The search really explored: more than the handful of serial schedules.
  EXPECT_GE(r.executions, min_executions) << r.output;
}

/// Caught as a data race (C++ model, rl::var payloads) or a failed check (a stale read or a
/// lost update; CLI model, rl::nvar payloads).
void expect_caught(const RunResult& r, rl::test_result_e kind, const char* text) {
  EXPECT_FALSE(r.as_expected);
  EXPECT_EQ(r.result, kind) << rl::test_result_str(r.result) << "\n" << r.output;
  EXPECT_NE(r.output.find(text), std::string::npos) << r.output;
}
[[maybe_unused]] void expect_data_race(const RunResult& r) {
  expect_caught(r, rl::test_result_data_race, "DATA RACE");
}
[[maybe_unused]] void expect_check_failure(const RunResult& r) {
  // ReleaseHandle's / the destructor's check: a stale read of a user's write.
  expect_caught(r, rl::test_result_user_assert_failed, "does not see a user's write");
}

// --- SafeHandle: Dispose (thread 0) against DangerousAddRef/DangerousRelease users ---------
// RlAtomic: the model's C++ memory orders (SafeHandleOrders: acquire loads, acq_rel CAS).

TEST(RelacySafeHandle, ModelOrdersOneUserNoFailure) {
  expect_clean(exhaustive<SafeHandleRace<RlPlatform, 1>>(), 100);
}

#if !defined(HC_RELACY_CLI)
TEST(RelacySafeHandle, ModelOrdersTwoUsersNoFailure) {
  expect_clean(exhaustive<SafeHandleRace<RlPlatform, 2>>(), 1000000);  // 6.1 M executions
}

TEST(RelacySafeHandle, RelaxedFinalReleaseIsCaughtOneUser) {
  expect_data_race(exhaustive<SafeHandleRace<RlPlatform, 1, SafeHandleRelaxedRelease>>());
}

TEST(RelacySafeHandle, RelaxedFinalReleaseIsCaughtTwoUsers) {
  expect_data_race(exhaustive<SafeHandleRace<RlPlatform, 2, SafeHandleRelaxedRelease>>());
}

// Dropping only the acquire half of the release CAS looks harmless (the loop's load and its
// failure order are acquire) but is a bug by ABA: user A loads refcount 1, user B's AddRef and
// DangerousRelease take it 1 -> 2 -> 1, and A's CAS succeeds on B's value without acquiring B's
// writes; A then runs ReleaseHandle. Needs two users.
TEST(RelacySafeHandle, ReleaseWithoutAcquireIsCaughtByAba) {
  expect_data_race(exhaustive<SafeHandleRace<RlPlatform, 2, SafeHandleReleaseOnlyRelease>>());
}

// The random scheduler finds the weakened variant too.
TEST(RelacySafeHandle, RandomSchedulerAlsoCatchesTheRelaxedFinalRelease) {
  expect_data_race(run<Suite<SafeHandleRace<RlPlatform, 1, SafeHandleRelaxedRelease>>>(
      rl::sched_random, 100000));
}

TEST(RelacySafeHandleNightly, ModelOrdersThreeUsersFourPreemptionsNoFailure) {
  expect_clean(bounded<SafeHandleRace<RlPlatform, 3>>(4), 1000000);
}

TEST(RelacySafeHandleNightly, RelaxedFinalReleaseIsCaughtThreeUsers) {
  expect_data_race(exhaustive<SafeHandleRace<RlPlatform, 3, SafeHandleRelaxedRelease>>());
}
#else
// Under the CLI model the full search of two users takes hours (every rl::nvar read may be
// stale): exhaustive up to 3 preemptions in the default run, 7 nightly.
TEST(RelacySafeHandle, ModelOrdersTwoUsersThreePreemptionsNoFailure) {
  expect_clean(bounded<SafeHandleRace<RlPlatform, 2>>(3), 10000);
}

TEST(RelacySafeHandleNightly, ModelOrdersTwoUsersSevenPreemptionsNoFailure) {
  expect_clean(bounded<SafeHandleRace<RlPlatform, 2>>(7), 1000000);
}

// Every RMW is a full fence in the CLI model: the relaxed release CAS (and the release-only
// one) synchronise anyway, so the C++ model's bugs are not bugs here.
TEST(RelacySafeHandle, RelaxedFinalReleaseCasIsAFullFenceUnderTheCliModel) {
  expect_clean(exhaustive<SafeHandleRace<RlPlatform, 1, SafeHandleRelaxedRelease>>(), 100);
  expect_clean(bounded<SafeHandleRace<RlPlatform, 2, SafeHandleRelaxedRelease>>(3), 10000);
  expect_clean(bounded<SafeHandleRace<RlPlatform, 2, SafeHandleReleaseOnlyRelease>>(3), 10000);
}

// --- The .NET code itself: Volatile.Read and Interlocked.CompareExchange (ClrAtomic) --------

TEST(RelacyClrSafeHandle, InterlockedOneUserNoFailure) {
  expect_clean(exhaustive<SafeHandleRace<RlPlatform, 1, SafeHandleOrders, ClrAtomic>>(), 100);
}

TEST(RelacyClrSafeHandle, InterlockedTwoUsersThreePreemptionsNoFailure) {
  expect_clean(bounded<SafeHandleRace<RlPlatform, 2, SafeHandleOrders, ClrAtomic>>(3), 10000);
}

// The weakened variant in .NET terms: the final release's CAS written as a plain field read
// and write (`if (_state == old) _state = new;`) instead of Interlocked.CompareExchange.
TEST(RelacyClrSafeHandle, PlainFieldFinalReleaseIsCaughtOneUser) {
  expect_check_failure(
      exhaustive<SafeHandleRace<RlPlatform, 1, SafeHandleRelaxedRelease, ClrAtomic>>());
}

TEST(RelacyClrSafeHandle, PlainFieldFinalReleaseIsCaughtTwoUsers) {
  expect_check_failure(
      exhaustive<SafeHandleRace<RlPlatform, 2, SafeHandleRelaxedRelease, ClrAtomic>>());
}
#endif

// --- COM reference count: the final Release runs the destructor --------------------------

TEST(RelacyComRefCount, ModelOrdersTwoUsersNoFailure) {
  expect_clean(exhaustive<RefCountRelease<RlPlatform, 2>>(), 50);
}

TEST(RelacyComRefCountNightly, ModelOrdersThreeUsersNoFailure) {
  expect_clean(exhaustive<RefCountRelease<RlPlatform, 3>>(), 10000);
}

#if !defined(HC_RELACY_CLI)
TEST(RelacyComRefCount, RelaxedReleaseIsCaught) {
  expect_data_race(exhaustive<RefCountRelease<RlPlatform, 2, ComRelaxedRelease>>());
}

// Release without acquire: the destroyer's reads are not ordered after the other owner's
// writes (Boost adds an acquire fence before `delete this` for exactly this).
TEST(RelacyComRefCount, ReleaseWithoutAcquireIsCaught) {
  expect_data_race(exhaustive<RefCountRelease<RlPlatform, 2, ComReleaseOnlyRelease>>());
}
#else
TEST(RelacyComRefCount, RelaxedDecrementIsAFullFenceUnderTheCliModel) {
  expect_clean(exhaustive<RefCountRelease<RlPlatform, 2, ComRelaxedRelease>>(), 50);
  expect_clean(exhaustive<RefCountRelease<RlPlatform, 2, ComReleaseOnlyRelease>>(), 50);
}

// InterlockedIncrement / InterlockedDecrement.
TEST(RelacyClrComRefCount, InterlockedTwoUsersNoFailure) {
  expect_clean(exhaustive<RefCountRelease<RlPlatform, 2, ComSeqCst, ClrAtomic>>(), 50);
}

// `_count = _count - 1` instead of InterlockedDecrement.
TEST(RelacyClrComRefCount, PlainFieldDecrementIsCaught) {
  expect_check_failure(exhaustive<RefCountRelease<RlPlatform, 2, ComRelaxedRelease, ClrAtomic>>());
}
#endif

}  // namespace

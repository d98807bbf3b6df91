// B21 (DOMAIN.md §10, §3.6, §1.2): an exception escaping a finalizer or a SafeHandle's
// ReleaseHandle on the finalizer thread terminates the process, and the finalizers still queued
// do not run. What the GC and SafeHandle models do with such an exception: the finding's kind,
// its words, and that any exception type counts (not only std::exception).
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"
#include "test_support.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;
using hc::test::contains;
using hc::test::exhaustive;

/// A managed object whose finalizer runs `body`.
struct Finalizable : ManagedObject {
  Finalizable(Gc& gc, std::string_view name, std::function<void()> body)
      : ManagedObject(gc, "Conn", name, /*has_finalizer=*/true), body_(std::move(body)) {}
  void finalize() override { body_(); }
  std::function<void()> body_;
};

/// An exception type of the user's that does not derive from std::exception.
struct NativeError {
  int code;
};

// Before: only std::exception was caught around a finalizer, so `throw NativeError{...}` left
// the finalizer thread as an uncaught-exception of thread 'finalizer', without the process
// termination and the skipped finalizers. Any exception terminates the process (§3.6).
TEST(FinalizerException, AnExceptionOfAnyTypeTerminatesTheProcess) {
  const hc::Result r = hc::explore(
      [] {
        Gc gc;
        gc.make<Finalizable>(gc, "socket", [] { throw NativeError{5}; });
        gc.collect();
        gc.wait_for_pending_finalizers();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::finalizer_exception,
                         "unhandled exception on the finalizer thread in the finalizer of Conn "
                         "'socket': an exception not derived from std::exception: the process "
                         "terminates");
  EXPECT_TRUE(contains(r.findings[0].file, "finalizer_exception_test.cpp")) << r.findings[0].file;
}

// A SafeHandle's ReleaseHandle that throws on the finalizer thread (its critical finalizer is
// Dispose(false), §1.2): finalizer-exception naming the SafeHandle and the exception, and the
// other handle's finalizer, still queued, never runs (its ReleaseHandle never closes its file).
TEST(FinalizerException, ReleaseHandleThrowingOnTheFinalizerThreadSkipsTheRemainingFinalizers) {
  bool second_closed = false;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable table;
        Gc gc;
        second_closed = false;
        SafeHandle& first = gc.make<SafeHandle>(
            gc, table, SafeHandleOptions{.name = "cache.db"}, [](const RawHandle&) -> bool {
              throw ObjectDisposedException("Cannot write to a closed TextWriter.");
            });
        first.SetHandle(table.create(ObjectType::file, "cache.db", first.label()));
        SafeHandle& second = gc.make<SafeHandle>(gc, table, SafeHandleOptions{.name = "scratch"},
                                                 [&](const RawHandle& raw) {
                                                   second_closed = true;
                                                   return table.close(raw).ok;
                                                 });
        second.SetHandle(table.create(ObjectType::file, "scratch", second.label()));
        gc.collect();  // both unreachable: queued, critical, in allocation order
        gc.wait_for_pending_finalizers();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::finalizer_exception,
                         "in the finalizer of SafeFileHandle 'cache.db': Cannot write to a closed "
                         "TextWriter.: the process terminates; pending finally blocks and the 1 "
                         "finalizers still queued do not run");
  EXPECT_FALSE(second_closed);
}

// The guarded ReleaseHandle (B21's fix): the exception is caught inside ReleaseHandle, which
// closes the handle and returns true: clean on every schedule, and both handles are closed.
TEST(FinalizerException, AGuardedReleaseHandleExploresClean) {
  int closed = 0;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable table;
        Gc gc;
        closed = 0;
        auto guarded = [&](const RawHandle& raw) {
          try {
            throw ObjectDisposedException("Cannot write to a closed TextWriter.");
          } catch (const ObjectDisposedException&) {
          }
          closed += table.close(raw).ok ? 1 : 0;
          return true;
        };
        SafeHandle& a = gc.make<SafeHandle>(gc, table, SafeHandleOptions{.name = "a"}, guarded);
        a.SetHandle(table.create(ObjectType::file, "a", a.label()));
        SafeHandle& b = gc.make<SafeHandle>(gc, table, SafeHandleOptions{.name = "b"}, guarded);
        b.SetHandle(table.create(ObjectType::file, "b", b.label()));
        gc.collect();
        gc.wait_for_pending_finalizers();
        HC_CHECK(closed == 2, "closed {}", closed);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

}  // namespace

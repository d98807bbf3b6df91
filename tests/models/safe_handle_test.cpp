// The SafeHandle and CriticalHandle models: every row of DOMAIN.md §1.2's table, §1.3's
// ReleaseHandle rules, the P/Invoke bracket, the critical finalizer, §2's transitions, every
// finding with its correct counterpart, and I1–I5 firing on broken state machines only.
#include "hc/models/safe_handle.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "hc/models/critical_handle.hpp"
#include "test_support.hpp"

namespace {

using hc::models::CriticalHandle;
using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::HandleTableOptions;
using hc::models::ObjectDisposedException;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;
using hc::test::exhaustive;

using hc::test::contains;

constexpr int kRefOne = 4;
constexpr int kClosed = 1;
constexpr int kDisposed = 2;

/// Runs `body(gc, table)` inside an execution, exhaustively.
hc::Result run(const std::function<void(Gc&, HandleTable&)>& body,
               hc::ExploreOptions options = exhaustive(),
               hc::models::HandleTableOptions table_options = {}) {
  return hc::explore(
      [&] {
        Gc gc;
        HandleTable table(table_options);
        body(gc, table);
      },
      options);
}

/// The same with the production error return for a value that names nothing
/// (InvalidUse::fail), for the tests of what code sees on that path (ReleaseHandle's false
/// return, GetLastError) and of what stays silent in production.
hc::Result run_production(const std::function<void(Gc&, HandleTable&)>& body) {
  return run(body, exhaustive(), {.invalid_use = hc::models::InvalidUse::fail});
}

/// A SafeHandle owning a fresh file handle.
RawHandle open_file(HandleTable& table, SafeHandle& h, const char* name = "log") {
  const RawHandle raw = table.create(ObjectType::file, name, h.label());
  h.SetHandle(raw);
  return raw;
}

// --- §1.2, row by row --------------------------------------------------------------------------

TEST(SafeHandleTable, ConstructionGivesRefcountOneOpen) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    HC_CHECK(h.state() == kRefOne, "state {:#x}", h.state());
    HC_CHECK(h.IsInvalid(), "a new SafeHandle holds the invalid value");
    h.Dispose();  // invalid: no ReleaseHandle
    HC_CHECK(h.release_handle_calls() == 0, "ReleaseHandle ran for an invalid handle");
    HC_CHECK(h.state() == (kClosed | kDisposed), "state {:#x}", h.state());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(SafeHandleTable, AddRefIncrementsAndReleaseDecrements) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    bool ok = false;
    h.DangerousAddRef(ok);
    HC_CHECK(ok && h.state() == 2 * kRefOne, "after AddRef: ok {} state {:#x}", ok, h.state());
    h.DangerousRelease();
    HC_CHECK(h.state() == kRefOne && h.release_handle_calls() == 0, "after Release: {:#x}",
             h.state());
    h.Dispose();
    HC_CHECK(h.release_handle_calls() == 1 && !t.is_open(h.handle()), "Dispose did not close");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(SafeHandleTable, AddRefOnAClosedHandleThrowsAndLeavesSuccessFalse) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    h.Dispose();
    bool ok = false;
    bool threw = false;
    try {
      h.DangerousAddRef(ok);
    } catch (const ObjectDisposedException& e) {
      threw = std::string(e.what()).starts_with("Safe handle has been closed");
    }
    HC_CHECK(threw && !ok, "threw {} ok {}", threw, ok);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(SafeHandleTable, ASecondDisposeIsSilent) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    h.Dispose();
    h.Close();
    HC_CHECK(h.release_handle_calls() == 1, "ReleaseHandle ran {} times", h.release_handle_calls());
    HC_CHECK(h.state() == (kClosed | kDisposed), "state {:#x}", h.state());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// Dispose while a user holds a reference does not close: C stays clear, AddRef still works,
// and ReleaseHandle runs on the thread of the last release.
TEST(SafeHandleTable, DisposeDuringAnAddRefWindowDefersReleaseHandleToTheLastRelease) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    std::string released_on;
    SafeHandle h(gc, t, {}, [&](const RawHandle& raw) {
      released_on = std::string(hc::rt::thread_name(hc::rt::current_thread()));
      return t.close(raw).ok;
    });
    open_file(t, h);
    bool ok = false;
    h.DangerousAddRef(ok);
    hc::thread disposer("disposer", [&] { h.Dispose(); });
    disposer.join();
    HC_CHECK(h.state() == (kRefOne | kDisposed), "state {:#x}", h.state());
    HC_CHECK(t.is_open(h.handle()), "closed while referenced");
    bool again = false;
    h.DangerousAddRef(again);  // C is clear: still succeeds
    h.DangerousRelease();
    h.DangerousRelease();  // the last one: 1 -> 0
    HC_CHECK(released_on == "main", "ReleaseHandle ran on '{}'", released_on);
    HC_CHECK(h.state() == (kClosed | kDisposed), "state {:#x}", h.state());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// The runtime's own answer to an unbalanced count (early detection off): DangerousRelease at
// n = 0 throws, and so does a Dispose that finds n = 0 without D (DOMAIN.md §1.2, derived).
TEST(SafeHandleTable, ReleaseAndDisposeAtZeroThrow) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandleOptions o;
    o.detect_unbalanced_release = false;
    SafeHandle h(gc, t, o);
    open_file(t, h);
    h.DangerousRelease();  // unbalanced: n 1 -> 0, C set, ReleaseHandle runs
    HC_CHECK(h.state() == kClosed && h.release_handle_calls() == 1, "state {:#x}", h.state());
    int thrown = 0;
    try {
      h.DangerousRelease();
    } catch (const ObjectDisposedException&) {
      ++thrown;
    }
    try {
      h.Dispose();
    } catch (const ObjectDisposedException&) {
      ++thrown;
    }
    HC_CHECK(thrown == 2, "{} of 2 calls threw ObjectDisposedException", thrown);
    HC_CHECK(h.state() == kClosed, "the failed calls changed the state: {:#x}", h.state());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(SafeHandleTable, SetHandleAsInvalidLeaksByDesign) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    h.SetHandleAsInvalid();
    HC_CHECK(h.state() == (kRefOne | kClosed), "state {:#x}", h.state());
    h.Dispose();  // takes n to 0 but C was already set: no ReleaseHandle
    HC_CHECK(h.release_handle_calls() == 0, "ReleaseHandle ran");
  });
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::handle_leak);
  EXPECT_TRUE(contains(r.findings[0].message, "File 'log'")) << r.findings[0].message;
}

TEST(SafeHandleTable, OwnsHandleFalseNeverReleasesAndIsNotFinalized) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandleOptions o;
    o.owns_handle = false;
    const RawHandle borrowed = t.create(ObjectType::file, "borrowed", "owner");
    {
      SafeHandle h(gc, t, o);
      h.SetHandle(borrowed);
      h.Dispose();
      HC_CHECK(h.release_handle_calls() == 0 && t.is_open(borrowed), "released a borrowed value");
    }
    t.close(borrowed, "owner");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// --- §1.3 and the releaseHandleFailed finding ------------------------------------------------

TEST(ReleaseHandleFailed, NamesTheTypeTheValueAndItsHistory) {
  const hc::Result r = run_production([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t, {.type_name = "SafeFileHandle", .name = "log"});
    const RawHandle raw = open_file(t, h);
    t.close(raw);  // B3/B22: the raw value closed directly, behind the SafeHandle's back
    h.Dispose();   // ReleaseHandle's CloseHandle fails: ERROR_INVALID_HANDLE
  });
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::release_handle_failed);
  EXPECT_TRUE(contains(f.message,
                       "releaseHandleFailed: ReleaseHandle of SafeFileHandle 'log' "
                       "(type SafeFileHandle) returned false for handle 0x4"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "History of the value: 0x4: generation 1: File 'log' created "
                       "by thread 'main' at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "closed by thread 'main' at step")) << f.message;
}

TEST(ReleaseHandleFailed, TheCorrectProtocolExploresClean) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    hc::thread user("user", [&] {
      bool ok = false;
      try {
        h.DangerousAddRef(ok);
      } catch (const ObjectDisposedException&) {
        return;
      }
      t.write(h.DangerousGetHandle());
      h.DangerousRelease();
    });
    h.Dispose();
    user.join();
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 10u);
}

// --- §1.5: the P/Invoke bracket --------------------------------------------------------------

TEST(PInvoke, AClosedHandleThrowsBeforeTheNativeCall) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t);
    open_file(t, h);
    int calls = 0;
    const bool wrote = h.pinvoke([&](const RawHandle& raw) {
      ++calls;
      return t.write(raw).ok;
    });
    HC_CHECK(wrote && calls == 1 && h.state() == kRefOne, "state {:#x}", h.state());
    h.Dispose();
    bool threw = false;
    try {
      h.pinvoke([&](const RawHandle& raw) {
        ++calls;
        return t.write(raw).ok;
      });
    } catch (const ObjectDisposedException&) {
      threw = true;
    }
    HC_CHECK(threw && calls == 1, "native called {} times after Dispose", calls);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// B1: the raw value used outside an AddRef window while another thread disposes and a third
// opens: the number is recycled underneath. Passing the SafeHandle (the bracket) fixes it.
TEST(PInvoke, RawValueAfterDisposeIsStaleAndTheBracketIsClean) {
  auto body = [](bool bracket) {
    return [bracket](Gc& gc, HandleTable& t) {
      SafeHandle h(gc, t, {.name = "log"});
      open_file(t, h);
      hc::thread user("user", [&] {
        if (bracket) {
          try {
            h.pinvoke([&](const RawHandle& raw) { return t.write(raw).ok; });
          } catch (const ObjectDisposedException&) {
          }
        } else {
          const RawHandle raw = h.DangerousGetHandle();
          t.write(raw);
        }
      });
      hc::thread disposer("disposer", [&] { h.Dispose(); });
      hc::thread opener("opener", [&] { t.close(t.create_event("ready", true, false)); });
      user.join();
      disposer.join();
      opener.join();
    };
  };
  // Under InvalidUse::fail only the recycled interleaving is a finding (the others are silent
  // ERROR_INVALID_HANDLEs); under the default raise, see the next test.
  const hc::Result racy = run_production(body(false));
  ASSERT_EQ(racy.findings.size(), 1u);
  EXPECT_EQ(racy.findings[0].kind, hc::FindingKind::stale_handle_use);
  EXPECT_TRUE(contains(racy.findings[0].message, "thread 'user'")) << racy.findings[0].message;
  EXPECT_TRUE(contains(racy.findings[0].message, "now names Event 'ready'"));
  const hc::Result fixed = run(body(true));
  EXPECT_TRUE(fixed.findings.empty()) << fixed.findings.front().message;
  EXPECT_TRUE(fixed.stats.exhausted);
}

// Issue 17 item 4: by default (InvalidUse::raise) a raw value used after another thread's
// Dispose is a finding whether or not the number was recycled: the first interleaving dfs tries
// (write after the close, before any reuse) is reported as invalid-handle-use, with the value's
// close named as the recycled case names it. Under the old default (fail) it was a silent
// ERROR_INVALID_HANDLE, and a scenario without a third thread found nothing at all.
TEST(PInvoke, ARawValueUsedAfterDisposeIsAFindingByDefaultEvenWithoutReuse) {
  EXPECT_EQ(hc::models::HandleTableOptions{}.invalid_use, hc::models::InvalidUse::raise);
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t, {.name = "log"});
    open_file(t, h);
    hc::thread user("user", [&] { t.write(h.DangerousGetHandle()); });
    h.Dispose();
    user.join();
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::invalid_handle_use,
                         "used (via WriteFile) handle 0x4 (File 'log', generation 1, closed by "
                         "thread 'main'");
  const hc::Result silent = run_production([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t, {.name = "log"});
    open_file(t, h);
    hc::thread user("user", [&] { t.write(h.DangerousGetHandle()); });
    h.Dispose();
    user.join();
  });
  EXPECT_TRUE(silent.findings.empty()) << silent.findings.front().message;
  EXPECT_TRUE(silent.stats.exhausted);
}

// --- unbalanced releases (B6) ----------------------------------------------------------------

TEST(UnbalancedRelease, IsReportedAtTheRelease) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t, {.name = "log"});
    open_file(t, h);
    h.Dispose();
    bool ok = false;
    try {
      h.DangerousAddRef(ok);  // throws: closed
    } catch (const ObjectDisposedException&) {
    }
    h.DangerousRelease();  // the finally block releases anyway
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::refcount_underflow,
                         "called DangerousRelease on SafeFileHandle 'log' with no outstanding "
                         "successful DangerousAddRef (an unbalanced release, B6)");
}

// The runtime alone notices only at n = 0: the finalizer's Dispose(false) throws
// ObjectDisposedException on the finalizer thread, which terminates the process.
TEST(UnbalancedRelease, WithoutEarlyDetectionTheFinalizerThrows) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandleOptions o;
    o.name = "log";
    o.detect_unbalanced_release = false;
    SafeHandle& h = gc.make<SafeHandle>(gc, t, o);
    open_file(t, h);
    h.DangerousRelease();  // unbalanced: n 1 -> 0 closes the handle without Dispose
    gc.collect();          // unreachable: its critical finalizer is queued
    gc.wait_for_pending_finalizers();
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::finalizer_exception,
                         "unhandled exception on the finalizer thread in the finalizer of "
                         "SafeFileHandle 'log': Dispose on SafeFileHandle 'log' with refcount 0");
}

TEST(AddRefInReleaseHandle, IsReported) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle* self = nullptr;
    SafeHandle h(gc, t, {.name = "pipe"}, [&](const RawHandle& raw) {
      bool ok = false;
      self->DangerousAddRef(ok);  // B10: ReleaseHandle marshals its own SafeHandle
      return t.close(raw).ok;
    });
    self = &h;
    open_file(t, h);
    h.Dispose();
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::addref_in_release_handle,
                         "called DangerousAddRef on SafeFileHandle 'pipe' from inside its own "
                         "ReleaseHandle");
}

// Issue 17: ReleaseHandle is over once it throws. A later DangerousAddRef on the same thread is
// no re-entry: it throws ObjectDisposedException (C is set) and is no addref-in-release-handle.
TEST(AddRefInReleaseHandle, NotReportedAfterAReleaseHandleThatThrew) {
  bool release_threw = false, addref_threw = false;
  const hc::Result r = run([&](Gc& gc, HandleTable& t) {
    SafeHandle h(gc, t, {.name = "pipe"}, [&](const RawHandle& raw) -> bool {
      t.close(raw);
      throw std::runtime_error("ReleaseHandle failed");  // escapes to Dispose's caller
    });
    open_file(t, h);
    try {
      h.Dispose();
    } catch (const std::runtime_error& e) {
      release_threw = std::string(e.what()) == "ReleaseHandle failed";
    }
    bool ok = false;
    try {
      h.DangerousAddRef(ok);
    } catch (const ObjectDisposedException&) {
      addref_threw = true;
    }
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(release_threw);
  EXPECT_TRUE(addref_threw);
}

// --- §1.3: the last error around ReleaseHandle -------------------------------------------------

// Issue 17: the P/Invoke last error is saved before ReleaseHandle and restored after it: a
// release that runs ReleaseHandle (its CloseHandle succeeds, setting 0) leaves the error of the
// failed call before it for GetLastError. The same for CriticalHandle's Cleanup (§2).
TEST(LastError, IsSavedAndRestoredAroundReleaseHandle) {
  std::uint32_t before = 0, after_dispose = 99, after_release = 99, after_close = 99;
  const hc::Result r = run_production([&](Gc& gc, HandleTable& t) {
    SafeHandle disposed(gc, t, {.name = "a"});
    open_file(t, disposed, "a");
    SafeHandle released(gc, t, {.name = "b"});
    open_file(t, released, "b");
    CriticalHandle closed(gc, t, {.name = "c"});
    closed.SetHandle(t.create(ObjectType::file, "c", closed.label()));
    HC_CHECK(!t.write(t.value(0x400)).ok, "a write to a value that names nothing must fail");
    before = t.last_error();
    disposed.Dispose();  // ReleaseHandle: CloseHandle succeeds
    after_dispose = t.last_error();
    bool ok = false;
    released.DangerousAddRef(ok);
    released.Dispose();
    released.DangerousRelease();  // the last release runs ReleaseHandle
    after_release = t.last_error();
    closed.Close();
    after_close = t.last_error();
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(before, hc::models::kErrorInvalidHandle);
  EXPECT_EQ(after_dispose, hc::models::kErrorInvalidHandle);
  EXPECT_EQ(after_release, hc::models::kErrorInvalidHandle);
  EXPECT_EQ(after_close, hc::models::kErrorInvalidHandle);
}

// --- the critical finalizer ------------------------------------------------------------------

TEST(CriticalFinalizer, AnUnreachableSafeHandleIsReleasedOnTheFinalizerThread) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    std::string released_on;
    SafeHandle& h = gc.make<SafeHandle>(gc, t, SafeHandleOptions{}, [&](const RawHandle& raw) {
      released_on = std::string(hc::rt::thread_name(hc::rt::current_thread()));
      return t.close(raw).ok;
    });
    {
      hc::models::Ref<SafeHandle> ref(h);
      open_file(t, h);
      gc.collect();  // reachable: nothing happens
      HC_CHECK(gc.pending_finalizers() == 0, "a reachable object was queued");
    }
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(released_on == "finalizer", "released on '{}'", released_on);
    HC_CHECK(h.state() == (kClosed | kDisposed), "state {:#x}", h.state());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(CriticalFinalizer, DisposeSuppressesIt) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandle& h = gc.make<SafeHandle>(gc, t);
    open_file(t, h);
    h.Dispose();
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(h.times_finalized() == 0, "finalized after Dispose");
    HC_CHECK(h.release_handle_calls() == 1, "ReleaseHandle ran {} times", h.release_handle_calls());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// --- I1–I5 on broken state machines ------------------------------------------------------------

using RealWord = hc::models::SafeHandleModelWord;

/// I1: a release without the n == 0 check goes below zero.
struct NoUnderflowCheck : RealWord {
  template <class IsInvalid>
  Transition release(bool dispose, bool owns, IsInvalid is_invalid,
                     const std::source_location& where = std::source_location::current()) {
    if ((state_.peek() & kRefCountMask) != 0)
      return RealWord::release(dispose, owns, is_invalid, where);
    Transition t;
    t.old_state = state_.load();
    t.new_state = t.old_state - kRefCountOne;
    state_.store(t.new_state);
    return t;
  }
};

/// I2: an AddRef that ignores C.
struct AddRefIgnoresClosed : RealWord {
  Transition add_ref(const std::source_location& = std::source_location::current()) {
    Transition t;
    t.old_state = state_.fetch_add(kRefCountOne);
    t.new_state = t.old_state + kRefCountOne;
    return t;
  }
};

/// I3: Dispose runs ReleaseHandle even while others hold references.
struct ReleaseOnDispose : RealWord {
  template <class IsInvalid>
  Transition release(bool dispose, bool owns, IsInvalid is_invalid,
                     const std::source_location& where = std::source_location::current()) {
    Transition t = RealWord::release(dispose, owns, is_invalid, where);
    if (dispose && t.kind == Transition::Kind::done) t.perform_release = owns && !is_invalid();
    return t;
  }
};

/// I4: one release takes two references.
struct DoubleDecrement : RealWord {
  template <class IsInvalid>
  Transition release(bool dispose, bool owns, IsInvalid is_invalid,
                     const std::source_location& where = std::source_location::current()) {
    Transition t = RealWord::release(dispose, owns, is_invalid, where);
    if (t.kind == Transition::Kind::done && (t.new_state & kRefCountMask) != 0) {
      t.new_state = (t.new_state - kRefCountOne) | kClosed;
      state_.store(t.new_state);
      t.perform_release = owns && !is_invalid();
      t.old_state = kRefCountOne;  // what the broken loop believes it saw
    }
    return t;
  }
};

/// I5: reports the 1 -> 0 transition but never stores the decrement.
struct ForgetsTheDecrement : RealWord {
  template <class IsInvalid>
  Transition release(bool dispose, bool owns, IsInvalid is_invalid,
                     const std::source_location& where = std::source_location::current()) {
    Transition t = RealWord::release(dispose, owns, is_invalid, where);
    if (t.perform_release) state_.store(t.old_state);  // n stays 1
    return t;
  }
};

template <class Word>
hc::Result broken(bool two_users) {
  return run([two_users](Gc& gc, HandleTable& t) {
    hc::models::BasicSafeHandle<Word> h(gc, t, {.name = "h"});
    h.SetHandle(t.create(ObjectType::file, "f", h.label()));
    if (two_users) {
      bool ok = false;
      h.DangerousAddRef(ok);
      h.Dispose();  // the user still holds a reference
      try {
        bool again = false;
        h.DangerousAddRef(again);
        h.DangerousRelease();
      } catch (const ObjectDisposedException&) {
      }
      h.DangerousRelease();
    } else {
      h.Dispose();
      try {
        bool ok = false;
        h.DangerousAddRef(ok);
      } catch (const ObjectDisposedException&) {
      }
      h.Dispose();
    }
  });
}

void expect_invariant(const hc::Result& r, const std::string& which) {
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::safe_handle_invariant) << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "SafeHandle invariant " + which +
                                                  " broken on "
                                                  "SafeFileHandle 'h'"))
      << r.findings[0].message;
}

TEST(Invariants, NeverFireOnTheRealStateMachine) {
  EXPECT_TRUE(broken<RealWord>(true).findings.empty());
  EXPECT_TRUE(broken<RealWord>(false).findings.empty());
}

TEST(Invariants, I2FiresWhenAddRefIgnoresClosed) {
  expect_invariant(broken<AddRefIgnoresClosed>(false), "I2");
}

TEST(Invariants, I3FiresWhenDisposeReleasesUnderUsers) {
  expect_invariant(broken<ReleaseOnDispose>(true), "I3");
}

TEST(Invariants, I4FiresWhenTheValueIsReleasedUnderAnAddRef) {
  expect_invariant(broken<DoubleDecrement>(true), "I4");
}

TEST(Invariants, I5FiresWhenReleaseHandleRunsWithReferencesLeft) {
  expect_invariant(broken<ForgetsTheDecrement>(false), "I5");
}

TEST(Invariants, I1FiresWhenTheCountGoesBelowZero) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    SafeHandleOptions o;
    o.name = "h";
    o.detect_unbalanced_release = false;
    hc::models::BasicSafeHandle<NoUnderflowCheck> h(gc, t, o);
    h.SetHandle(t.create(ObjectType::file, "f", h.label()));
    h.Dispose();
    h.DangerousRelease();  // n 0 -> -1
  });
  expect_invariant(r, "I1");
}

// --- CriticalHandle (§2) -------------------------------------------------------------------------

TEST(CriticalHandle, CloseReleasesOnceAndIsIdempotent) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    CriticalHandle h(gc, t, {.name = "ev"});
    h.SetHandle(t.create_event("e", true, false, h.label()));
    h.Close();
    h.Close();
    HC_CHECK(h.release_handle_calls() == 1 && h.IsClosed(), "calls {}", h.release_handle_calls());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(CriticalHandle, AnInvalidHandleClosesWithoutReleaseHandle) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    CriticalHandle h(gc, t);
    h.Close();
    HC_CHECK(h.release_handle_calls() == 0 && h.IsClosed(), "calls {}", h.release_handle_calls());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(CriticalHandle, SetHandleAsInvalidLeaks) {
  const hc::Result r = run([](Gc& gc, HandleTable& t) {
    CriticalHandle h(gc, t, {.name = "ev"});
    h.SetHandle(t.create_event("e", true, false, h.label()));
    h.SetHandleAsInvalid();
    h.Close();
  });
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::handle_leak);
}

TEST(CriticalHandle, RacingCloseRunsReleaseHandleTwice) {
  auto body = [](bool locked) {
    return [locked](Gc& gc, HandleTable& t) {
      CriticalHandle h(gc, t, {.name = "ev"});
      h.SetHandle(t.create_event("e", true, false, h.label()));
      hc::mutex m("close lock");
      auto closer = [&] {
        if (locked) m.lock();
        h.Close();
        if (locked) m.unlock();
      };
      hc::thread a("closer-a", closer);
      hc::thread b("closer-b", closer);
      a.join();
      b.join();
    };
  };
  const hc::Result racy = run(body(false));
  HC_EXPECT_ONLY_FINDING(racy, hc::FindingKind::release_handle_twice,
                         "ReleaseHandle of CriticalHandle 'ev' runs a "
                         "second time, on thread 'closer-b'");
  EXPECT_TRUE(contains(racy.findings[0].message, "it first ran on thread 'closer-a'"));
  const hc::Result fixed = run(body(true));
  EXPECT_TRUE(fixed.findings.empty()) << fixed.findings.front().message;
  EXPECT_TRUE(fixed.stats.exhausted);
}

}  // namespace

// --- handle-invalidated-in-use (B23) ------------------------------------------------------------

namespace {

/// A worker holds a DangerousAddRef (the P/Invoke bracket) while main calls SetHandleAsInvalid;
/// `after_join`: main invalidates only after the worker's bracket is over. Main's own reference
/// (inside its own P/Invoke) never counts. Native code that took the value over closes it
/// after the invalidation, so nothing leaks whichever variant runs.
void invalidate_while_worker_writes(bool after_join) {
  Gc gc;
  HandleTable table;
  SafeHandle port(gc, table, {.type_name = "SafeFileHandle", .name = "port"});
  const RawHandle raw = open_file(table, port, "COM1");
  hc::thread worker("worker", [&] {
    try {
      port.pinvoke([&](const RawHandle& h) { return table.write(h); });
    } catch (const ObjectDisposedException&) {
      // Invalidated before the write started.
    }
  });
  if (after_join) worker.join();
  port.pinvoke([&](const RawHandle&) {
    port.SetHandleAsInvalid();  // inside main's own AddRef: not "another user"
    return true;
  });
  if (!after_join) worker.join();
  table.close(raw, port.label());  // native code took the value over and closes it
  port.Dispose();
}

}  // namespace

TEST(HandleInvalidatedInUse, IsReportedWhileAnotherThreadHoldsAReference) {
  const hc::Result r = hc::explore([] { invalidate_while_worker_writes(false); }, exhaustive());
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, hc::FindingKind::handle_invalidated_in_use);
  EXPECT_TRUE(contains(f.message, "handle invalidated while in use: thread 'main' at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "called SetHandleAsInvalid on SafeFileHandle 'port' (handle 0x4 File 'COM1' "
                       "(generation 1)) while 1 "
                       "other reference was outstanding, held by thread 'worker' (1 "
                       "DangerousAddRef)"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "ReleaseHandle never runs")) << f.message;
  EXPECT_TRUE(contains(f.file, "safe_handle_test.cpp")) << f.file;
}

TEST(HandleInvalidatedInUse, NotReportedForTheCallersOwnReferenceUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    invalidate_while_worker_writes(true);
    outcomes.insert("done");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

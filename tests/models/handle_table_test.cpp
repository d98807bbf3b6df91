// The handle-table model: values, reuse policies, typed use, waits, and every finding it
// reports, each with its correct counterpart explored clean.
#include "hc/models/handle_table.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "test_support.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::HandleTableOptions;
using hc::models::InvalidUse;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::ValueStyle;
using hc::test::exhaustive;

using hc::test::contains;

/// Runs `body` once (dfs; these bodies have no thread choices) and returns its finding text.
hc::Result once(const std::function<void()>& body) {
  return hc::explore(body, exhaustive());
}

HandleTableOptions quiet(ReusePolicy reuse, ValueStyle style = ValueStyle::win32) {
  HandleTableOptions o;
  o.reuse = reuse;
  o.style = style;
  o.report_leaks = false;
  return o;
}

// --- values and reuse policies ---------------------------------------------------------------

TEST(HandleValues, Win32ValuesAreMultiplesOfFourAndTagBitsAreIgnored) {
  const hc::Result r = once([] {
    HandleTableOptions o = quiet(ReusePolicy::lifo);
    o.invalid_use = hc::models::InvalidUse::fail;  // 0's error code, below
    HandleTable t(o);
    const RawHandle a = t.create(ObjectType::file, "a");
    const RawHandle b = t.create(ObjectType::file, "b");
    HC_CHECK(a.value == 0x4 && b.value == 0x8, "values {:#x} {:#x}", a.value, b.value);
    HC_CHECK(t.format_value(0x1C) == "0x1C", "{}", t.format_value(0x1C));
    // A bare value with a tag bit set resolves to the same entry.
    HC_CHECK(t.write(t.value(b.value | 1)).ok, "tagged value rejected");
    HC_CHECK(!t.write(t.value(0)).ok && t.last_error() == hc::models::kErrorInvalidHandle,
             "0 must be invalid, got error {}", t.last_error());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

/// The values a policy hands out for a fixed script of creates and closes.
std::vector<std::uint64_t> script(ReusePolicy policy, ValueStyle style,
                                  std::uint32_t min_free = 100) {
  std::vector<std::uint64_t> out;
  hc::explore(
      [&] {
        out.clear();
        HandleTableOptions o = quiet(policy, style);
        o.strict_fifo_min_free = min_free;
        HandleTable t(o);
        RawHandle a = t.create(ObjectType::file, "a");
        RawHandle b = t.create(ObjectType::file, "b");
        RawHandle c = t.create(ObjectType::file, "c");
        t.close(a);
        t.close(b);
        out.push_back(t.create(ObjectType::file, "d").value);  // after closing a, b
        t.close(c);
        out.push_back(t.create(ObjectType::file, "e").value);  // after closing c
        out.push_back(t.create(ObjectType::file, "f").value);
      },
      exhaustive());
  return out;
}

TEST(ReusePolicies, LifoReusesTheMostRecentlyFreedValue) {
  // a=4 b=8 c=12; free a, b -> d gets b (8); free c -> e gets c (12), f gets a (4).
  EXPECT_EQ(script(ReusePolicy::lifo, ValueStyle::win32), (std::vector<std::uint64_t>{8, 12, 4}));
}

TEST(ReusePolicies, NtBatchedDrainsFirstFreeBeforeTheNewBatch) {
  // free a, b -> LastFree [a, b]; d: FirstFree empty, the batch moves: d gets b (8); free c ->
  // LastFree [c]; e: FirstFree still holds a -> 4 (LIFO would give c); f: batch [c] -> 12.
  EXPECT_EQ(script(ReusePolicy::nt_batched, ValueStyle::win32),
            (std::vector<std::uint64_t>{8, 4, 12}));
}

TEST(ReusePolicies, StrictFifoReusesOldestFirstAndOnlyWithEnoughFree) {
  // min_free 2: free a, b -> 2 free: the batch moves reversed, d gets a (4, freed first); free
  // c -> LastFree [c], FirstFree [b]: e gets b (8); f: FirstFree empty, 1 free < 2 -> grow 16.
  EXPECT_EQ(script(ReusePolicy::strict_fifo, ValueStyle::win32, 2),
            (std::vector<std::uint64_t>{4, 8, 16}));
  // With the default 100 nothing is ever reused in this script.
  EXPECT_EQ(script(ReusePolicy::strict_fifo, ValueStyle::win32),
            (std::vector<std::uint64_t>{16, 20, 24}));
}

TEST(ReusePolicies, LowestFreeIsPosixOpen) {
  // fds a=3 b=4 c=5; free 3, 4 -> d gets 3; free 5 -> e gets 4, f gets 5.
  EXPECT_EQ(script(ReusePolicy::lowest_free, ValueStyle::posix),
            (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST(ReusePolicies, NeverReuses) {
  EXPECT_EQ(script(ReusePolicy::never, ValueStyle::win32),
            (std::vector<std::uint64_t>{16, 20, 24}));
}

// Issue 17: "which free value (or a new one)": a new value is one of the explored answers (the
// old model chose among the free values only: 2 executions, {4, 8}).
TEST(ReusePolicies, ExploreTriesEveryFreeValueAndANewOne) {
  std::set<std::uint64_t> seen;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable t(quiet(ReusePolicy::explore));
        RawHandle a = t.create(ObjectType::file, "a");
        RawHandle b = t.create(ObjectType::file, "b");
        t.close(a);
        t.close(b);
        seen.insert(t.create(ObjectType::file, "c").value);
      },
      exhaustive());
  EXPECT_EQ(r.stats.executions, 3u);
  EXPECT_EQ(seen, (std::set<std::uint64_t>{4, 8, 12}));
}

// With nothing free there is no choice: the table grows, one execution.
TEST(ReusePolicies, ExploreGrowsWithoutAChoiceWhenNothingIsFree) {
  std::set<std::uint64_t> seen;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable t(quiet(ReusePolicy::explore));
        (void)t.create(ObjectType::file, "a");
        seen.insert(t.create(ObjectType::file, "b").value);
      },
      exhaustive());
  EXPECT_EQ(r.stats.executions, 1u);
  EXPECT_EQ(seen, (std::set<std::uint64_t>{8}));
}

// --- kernel objects, duplicate, waits ----------------------------------------------------------

TEST(KernelObjects, DuplicateKeepsTheObjectAliveAcrossTables) {
  const hc::Result r = once([] {
    HandleTable a(quiet(ReusePolicy::lifo));
    HandleTableOptions ob = quiet(ReusePolicy::lifo);
    ob.name = "child";
    HandleTable b(ob);
    const RawHandle f = a.create(ObjectType::file, "log");
    const RawHandle g = a.duplicate(f, b);
    HC_CHECK(b.describe_object(g) == "File 'log'", "{}", b.describe_object(g));
    HC_CHECK(a.close(f).ok, "close");
    HC_CHECK(b.write(g).ok, "the duplicate must still work after the original's close");
    HC_CHECK(b.close(g).ok, "close dup");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(KernelObjects, OpenByNameGivesASecondHandle) {
  const hc::Result r = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    const RawHandle e = t.create_event("ready", true, false);
    const RawHandle e2 = t.open("ready");
    HC_CHECK(e2.valid() && e2.value != e.value, "open gave {:#x}", e2.value);
    HC_CHECK(t.describe_object(e2) == "Event 'ready'", "{}", t.describe_object(e2));
    HC_CHECK(!t.open("missing").valid(), "opened a missing name");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Waits, AWaitBlocksUntilTheEventIsSignalled) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable t(quiet(ReusePolicy::lifo));
        const RawHandle e = t.create_event("ready", false, false);
        hc::atomic<int> data{0, "data"};
        hc::thread waiter("waiter", [&] {
          HC_CHECK(t.wait(e).ok, "wait failed");
          HC_CHECK(data.load() == 1, "woke before the signal: data {}", data.peek());
        });
        data.store(1);
        t.signal(e);
        waiter.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(Waits, AnAutoResetEventReleasesOneWaiterPerSignal) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable t(quiet(ReusePolicy::lifo));
        const RawHandle e = t.create_event("go", false, false);
        hc::thread w1("w1", [&] { t.wait(e); });
        hc::thread w2("w2", [&] { t.wait(e); });
        t.signal(e);
        w1.join();
        w2.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::deadlock);
}

// --- findings ----------------------------------------------------------------------------------

// B1 in miniature: a raw value used after its close, recycled by the next create.
TEST(StaleHandleUse, ARecycledValueNamesTheOldAndTheNewObject) {
  const hc::Result r = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    const RawHandle log = t.create(ObjectType::file, "log");       // step 1
    t.close(log);                                                  // step 2
    const RawHandle ready = t.create_event("ready", true, false);  // step 3, same value
    (void)ready;
    t.write(log);  // step 4
  });
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::stale_handle_use);
  EXPECT_TRUE(contains(f.message, "stale handle use: thread 'main' at step 4")) << f.message;
  EXPECT_TRUE(contains(f.message,
                       "used (via WriteFile) handle 0x4 (File 'log', generation 1, "
                       "closed by thread 'main' at step 2"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "but 0x4 now names Event 'ready' (generation 2, created by "
                       "thread 'main' at step 3"))
      << f.message;
}

// The finding carries what its message refers to: the use (step 4), the close (step 2) and the
// reuse (step 3) in the message's order; the old and the new object, then the table. An owner
// that names no object of the execution ('logger') is not an object of the finding.
TEST(StaleHandleUse, TheFindingRecordsItsStepsAndObjects) {
  const hc::Result r = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    const RawHandle log = t.create(ObjectType::file, "log", "logger");  // step 1
    t.close(log, "logger");                                             // step 2
    (void)t.create_event("ready", true, false);                         // step 3, same value
    t.write(log);                                                       // step 4
  });
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::stale_handle_use);
  EXPECT_EQ(f.step, 4u);
  EXPECT_EQ(f.related_steps, (std::vector<std::uint32_t>{4, 2, 3})) << f.message;
  EXPECT_EQ(f.objects,
            (std::vector<std::string>{"File 'log'", "Event 'ready'", "handle table 'process'"}));
}

// A handle's owner and closer known by a label that names an object of the execution (here a
// SafeHandle's label) are objects of the finding: its lifecycle shows the wrapper.
TEST(DoubleClose, TheFindingNamesTheOwnerByItsLabelWhenItIsAnObject) {
  const hc::Result r = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    const hc::ObjectId wrapper = hc::rt::register_object(hc::ObjectKind::model, "Wrapper 'w'");
    (void)wrapper;
    const RawHandle h = t.create(ObjectType::file, "data", "Wrapper 'w'");  // step 1
    t.close(h, "Wrapper 'w'");                                              // step 2
    (void)t.create(ObjectType::file, "other");                              // step 3
    t.close(h, "Wrapper 'w'");                                              // step 4
  });
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  ASSERT_EQ(f.kind, hc::FindingKind::double_close);
  EXPECT_EQ(f.related_steps, (std::vector<std::uint32_t>{4, 2, 3})) << f.message;
  EXPECT_EQ(f.objects, (std::vector<std::string>{"Wrapper 'w'", "File 'data'", "File 'other'",
                                                 "handle table 'process'"}));
}

TEST(StaleHandleUse, ARaceBetweenUseCloseAndOpenIsFoundAndTheOrderedVersionIsClean) {
  auto body = [](bool ordered) {
    // InvalidUse::fail: only the recycled interleaving is a finding (the write between the close
    // and the create is a silent ERROR_INVALID_HANDLE), which is what this test is about.
    HandleTableOptions o = quiet(ReusePolicy::lifo);
    o.invalid_use = hc::models::InvalidUse::fail;
    HandleTable t(o);
    const RawHandle log = t.create(ObjectType::file, "log");
    hc::thread user("user", [&] { t.write(log); });
    if (ordered) user.join();
    hc::thread closer("closer", [&] {
      t.close(log);
      (void)t.create(ObjectType::file, "other");
    });
    closer.join();
    if (!ordered) user.join();
  };
  const hc::Result racy = hc::explore([&] { body(false); }, exhaustive());
  ASSERT_EQ(racy.findings.size(), 1u);
  EXPECT_EQ(racy.findings[0].kind, hc::FindingKind::stale_handle_use);
  EXPECT_TRUE(contains(racy.findings[0].message, "now names File 'other'"));
  const hc::Result ordered = hc::explore([&] { body(true); }, exhaustive());
  EXPECT_TRUE(ordered.findings.empty()) << ordered.findings.front().message;
  EXPECT_TRUE(ordered.stats.exhausted);
}

TEST(InvalidHandleUse, FailsQuietlyOrIsAFindingUnderADebugger) {
  auto body = [](InvalidUse mode) {
    HandleTableOptions o = quiet(ReusePolicy::lifo);
    o.invalid_use = mode;
    HandleTable t(o);
    const hc::models::Status st = t.write(t.value(0x40));
    HC_CHECK(!st.ok && st.error == hc::models::kErrorInvalidHandle, "error {}", st.error);
  };
  const hc::Result quietly = once([&] { body(InvalidUse::fail); });
  EXPECT_TRUE(quietly.findings.empty()) << quietly.findings.front().message;
  const hc::Result raised = once([&] { body(InvalidUse::raise); });
  HC_EXPECT_ONLY_FINDING(raised, hc::FindingKind::invalid_handle_use,
                         "invalid handle use: thread 'main' at step 1 (");
  EXPECT_TRUE(contains(raised.findings[0].message,
                       "passed 0x40 to WriteFile, a value that was never a handle of table "
                       "'process'"))
      << raised.findings[0].message;
}

// --- table identity (issue 17) ------------------------------------------------------------------

// A value duplicated into table 'child' and then closed through table 'process' (the parent's):
// in 'process' the number names the parent's own, unrelated handle, which production closes
// silently. A finding whatever InvalidUse says; the unrelated object stays open.
TEST(TableIdentity, AnotherTablesValueClosedHereIsAFindingNamingTheUnrelatedObject) {
  for (const InvalidUse mode : {InvalidUse::fail, InvalidUse::raise}) {
    bool log_open = false;
    const hc::Result r = once([&] {
      HandleTableOptions oa = quiet(ReusePolicy::lifo);
      oa.invalid_use = mode;
      HandleTable parent(oa);
      HandleTableOptions ob = quiet(ReusePolicy::lifo);
      ob.name = "child";
      HandleTable child(ob);
      const RawHandle log = parent.create(ObjectType::file, "log", "logger");
      const RawHandle pipe = parent.create(ObjectType::file, "pipe");
      const RawHandle dup = parent.duplicate(pipe, child);  // 0x4 in 'child'
      HC_CHECK(dup.value == log.value, "the duplicate is {:#x}", dup.value);
      log_open = true;
      parent.close(dup);  // closes through the wrong table
      log_open = parent.is_open(log);
    });
    HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::invalid_handle_use,
                           "passed handle 0x4 of handle table 'child' (created by thread 'main' "
                           "at step 3 (");
    EXPECT_TRUE(contains(r.findings[0].message,
                         "to CloseHandle on handle table 'process': a handle value is an index "
                         "into the handle table of the process that received it"))
        << r.findings[0].message;
    EXPECT_TRUE(contains(r.findings[0].message,
                         "in table 'process', 0x4 names File 'log' (generation 1, created by "
                         "thread 'main' at step 1 ("))
        << r.findings[0].message;
    EXPECT_TRUE(contains(r.findings[0].message,
                         "for 'logger'), an unrelated object that this call closes instead"))
        << r.findings[0].message;
    EXPECT_TRUE(log_open);  // the finding ends the execution before the close
  }
}

// Where the number names nothing, another table's value fails as any invalid value does
// (ERROR_INVALID_HANDLE), and is a finding under a debugger.
TEST(TableIdentity, AnotherTablesValueThatNamesNothingHereFailsOrIsRaised) {
  auto body = [](InvalidUse mode) {
    HandleTableOptions oa = quiet(ReusePolicy::lifo);
    oa.invalid_use = mode;
    HandleTable parent(oa);
    HandleTableOptions ob = quiet(ReusePolicy::lifo);
    ob.name = "child";
    HandleTable child(ob);
    (void)child.create(ObjectType::file, "a");
    const RawHandle b = child.create(ObjectType::file, "b");  // 0x8 in 'child'
    const hc::models::Status st = parent.write(b);
    HC_CHECK(!st.ok && st.error == hc::models::kErrorInvalidHandle, "error {}", st.error);
  };
  const hc::Result quietly = once([&] { body(InvalidUse::fail); });
  EXPECT_TRUE(quietly.findings.empty()) << quietly.findings.front().message;
  const hc::Result raised = once([&] { body(InvalidUse::raise); });
  HC_EXPECT_ONLY_FINDING(raised, hc::FindingKind::invalid_handle_use,
                         "passed handle 0x8 of handle table 'child'");
  EXPECT_TRUE(contains(raised.findings[0].message, "to WriteFile on handle table 'process'"))
      << raised.findings[0].message;
  EXPECT_TRUE(contains(raised.findings[0].message,
                       "in table 'process', 0x8 names nothing: STATUS_INVALID_HANDLE"))
      << raised.findings[0].message;
}

// Values used in their own tables, and DuplicateHandle's value in its target, stay clean.
TEST(TableIdentity, EachTablesOwnValuesAreClean) {
  const hc::Result r = once([] {
    HandleTableOptions oa = quiet(ReusePolicy::lifo);
    oa.invalid_use = InvalidUse::raise;
    HandleTable parent(oa);
    HandleTableOptions ob = oa;
    ob.name = "child";
    HandleTable child(ob);
    const RawHandle pipe = parent.create(ObjectType::file, "pipe");
    const RawHandle dup = parent.duplicate(pipe, child);
    HC_CHECK(child.write(dup).ok && child.close(dup).ok, "the duplicate in its table");
    HC_CHECK(parent.write(pipe).ok && parent.close(pipe).ok, "the original in its table");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// --- GetLastError per thread (issue 17) ----------------------------------------------------------

// GetLastError is thread state, one value per thread: a failed call on one table then a
// successful call on another reads success; another thread's failure is not seen.
TEST(LastError, IsOneValuePerThreadWhateverTableSetIt) {
  std::uint32_t after_other_table = 99, seen_by_other_thread = 99, own_after_other_thread = 0;
  const hc::Result r = once([&] {
    HandleTableOptions oa = quiet(ReusePolicy::lifo);
    oa.invalid_use = hc::models::InvalidUse::fail;  // the failed write's error code
    HandleTable a(oa);
    HandleTableOptions ob = quiet(ReusePolicy::lifo);
    ob.name = "second";
    HandleTable b(ob);
    const RawHandle f = b.create(ObjectType::file, "f");
    HC_CHECK(!a.write(a.value(0x40)).ok, "0x40 names nothing in 'process'");
    HC_CHECK(b.write(f).ok, "the write to f");
    after_other_table = a.last_error();
    HC_CHECK(!a.write(a.value(0x40)).ok, "0x40 names nothing in 'process'");
    hc::thread other("other", [&] { seen_by_other_thread = b.last_error(); });
    other.join();
    own_after_other_thread = a.last_error();
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(after_other_table, hc::models::kErrorSuccess);
  EXPECT_EQ(seen_by_other_thread, hc::models::kErrorSuccess);
  EXPECT_EQ(own_after_other_thread, hc::models::kErrorInvalidHandle);
}

TEST(DoubleClose, TheSecondCloseHitsTheObjectThatRecycledTheValue) {
  const hc::Result r = once([] {
    HandleTableOptions o = quiet(ReusePolicy::lowest_free, ValueStyle::posix);
    HandleTable t(o);
    const RawHandle fd = t.create(ObjectType::file, "config");
    t.close(fd);
    (void)t.create(ObjectType::file, "socket");
    t.close(fd);  // B5: the cleanup path closes again
  });
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::double_close);
  EXPECT_TRUE(contains(f.message, "double close: thread 'main' at step 4"));
  EXPECT_TRUE(contains(f.message,
                       "closed handle fd 3 (File 'config', generation 1, closed by "
                       "thread 'main' at step 2"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "fd 3 now names File 'socket' (generation 2")) << f.message;
}

TEST(DoubleClose, WithoutReuseItFailsWithEbadfOrIsAFindingWhenRaised) {
  auto body = [](InvalidUse mode) {
    HandleTableOptions o = quiet(ReusePolicy::lowest_free, ValueStyle::posix);
    o.invalid_use = mode;
    HandleTable t(o);
    const RawHandle fd = t.create(ObjectType::file, "config");
    HC_CHECK(t.close(fd).ok, "first close");
    const hc::models::Status again = t.close(fd);
    HC_CHECK(!again.ok && again.error == hc::models::kEBADF, "second close: error {}", again.error);
  };
  EXPECT_TRUE(once([&] { body(InvalidUse::fail); }).findings.empty());
  const hc::Result raised = once([&] { body(InvalidUse::raise); });
  HC_EXPECT_ONLY_FINDING(raised, hc::FindingKind::double_close,
                         "generation 1, closed by thread 'main' at step 2");
}

TEST(CloseByNonOwner, NamesBothOwners) {
  auto body = [](const char* closer) {
    HandleTable t(quiet(ReusePolicy::lifo));
    const RawHandle h = t.create(ObjectType::thread, "worker", "CRT");
    t.close(h, closer);
  };
  EXPECT_TRUE(once([&] { body("CRT"); }).findings.empty());
  const hc::Result r = once([&] { body("app"); });
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::close_by_non_owner);
  EXPECT_TRUE(
      contains(r.findings[0].message, "'app' closed handle 0x4 (Thread 'worker', generation 1)"))
      << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "the handle is owned by 'CRT'"));
}

TEST(CloseWhileWaiting, IsFoundOnTheInterleavingWhereTheWaitIsPending) {
  auto body = [](bool fixed) {
    // InvalidUse::fail: a wait that starts after the close fails (WAIT_FAILED) silently; the
    // finding this test is about is the close of a handle with a pending wait.
    HandleTableOptions o = quiet(ReusePolicy::lifo);
    o.invalid_use = hc::models::InvalidUse::fail;
    HandleTable t(o);
    const RawHandle e = t.create_event("done", true, false);
    hc::thread waiter("waiter", [&] { t.wait(e); });
    t.signal(e);
    if (fixed) waiter.join();  // wait for the waiter before closing
    t.close(e);
    if (!fixed) waiter.join();
  };
  const hc::Result racy = hc::explore([&] { body(false); }, exhaustive());
  HC_EXPECT_ONLY_FINDING(racy, hc::FindingKind::close_while_waiting,
                         "closed handle 0x4 (Event 'done', generation 1) while thread 'waiter' "
                         "waits on it");
  const hc::Result fixed = hc::explore([&] { body(true); }, exhaustive());
  EXPECT_TRUE(fixed.findings.empty()) << fixed.findings.front().message;
  EXPECT_TRUE(fixed.stats.exhausted);
}

TEST(WrongTypeUse, SetEventOnAFile) {
  const hc::Result r = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    const RawHandle f = t.create(ObjectType::file, "log");
    t.signal(f);
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::wrong_type_use,
                         "called SetEvent on handle 0x4 (File 'log', generation 1): a File does "
                         "not support SetEvent");
  const hc::Result ok = once([] {
    HandleTable t(quiet(ReusePolicy::lifo));
    t.signal(t.create_event("e", true, false));
  });
  EXPECT_TRUE(ok.findings.empty());
}

TEST(HandleLeak, OpenHandlesAtTheEndAreReportedAndClosedOnesAreNot) {
  auto body = [](bool close_it) {
    HandleTableOptions o;
    o.name = "app";
    HandleTable t(o);
    const RawHandle f = t.create(ObjectType::file, "log", "logger");
    const RawHandle e = t.create_event("ready", true, false);
    t.close(e);
    if (close_it) t.close(f);
  };
  const hc::Result leaky = once([&] { body(false); });
  HC_EXPECT_ONLY_FINDING(leaky, hc::FindingKind::handle_leak,
                         "1 handle still open in handle table 'app' at the end of the execution "
                         "(leaked):\n  0x4 File 'log' (generation 1) created by thread 'main' at "
                         "step 1");
  EXPECT_TRUE(contains(leaky.findings[0].message, "owner 'logger'"));
  EXPECT_TRUE(once([&] { body(true); }).findings.empty());
}

TEST(Faults, ATransientCloseFailureLeaksOnWin32AndIsExploredBothWays) {
  HandleTableOptions o;
  o.fault_close = true;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable t(o);
        t.close(t.create(ObjectType::file, "log"));
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::handle_leak);
  EXPECT_EQ(r.stats.executions, 2u);  // the close that works ran clean first
}

TEST(Faults, PosixCloseFreesTheNumberBeforeEintr) {
  HandleTableOptions o = quiet(ReusePolicy::lowest_free, ValueStyle::posix);
  o.fault_close = true;
  o.report_leaks = true;
  const hc::Result r = hc::explore(
      [&] {
        HandleTable t(o);
        const RawHandle fd = t.create(ObjectType::file, "log");
        const hc::models::Status st = t.close(fd);
        // Either way the number is free: retrying close() (B4) would be a double close.
        HC_CHECK(!t.is_open(fd), "fd still open after close returned error {}", st.error);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(r.stats.executions, 2u);
}

TEST(Faults, CreateMayFailWhenEnabled) {
  HandleTableOptions o = quiet(ReusePolicy::lifo);
  o.fault_create = true;
  std::set<bool> outcomes;
  hc::explore(
      [&] {
        HandleTable t(o);
        const RawHandle h = t.create(ObjectType::file, "log");
        outcomes.insert(h.valid());
        HC_CHECK(h.valid() || t.last_error() == hc::models::kErrorNotEnoughMemory, "error {}",
                 t.last_error());
      },
      exhaustive());
  EXPECT_EQ(outcomes, (std::set<bool>{false, true}));
}

}  // namespace

// --- footprints: dpor reaches what dfs reaches -------------------------------------------------

// dpor orders two table operations only when their declared footprints conflict (a close of one
// slot commutes with a use of another, uses of different objects commute, a create conflicts
// with every lookup). If a footprint missed something an operation reads or writes, dpor would
// skip interleavings that reach other outcomes. Each program below runs exhaustively under both
// strategies: the sets of final states (each thread's results, the open handles) and finding
// kinds must be equal, and dpor must not explore more than dfs.
struct Outcomes {
  std::set<std::string> seen;
  std::uint64_t executions = 0;
};

Outcomes outcomes_of(const char* strategy, const std::function<void(std::string*)>& program,
                     int threads) {
  Outcomes o;
  hc::ExploreOptions options = exhaustive();
  options.strategy = strategy;
  options.max_executions = 0;
  options.stop_at_first = false;
  options.check_determinism = false;
  const hc::Result r = hc::explore(
      [&] {
        std::vector<std::string> results(static_cast<std::size_t>(threads) + 1);
        program(results.data());
        std::string state;
        for (const std::string& s : results)
          state += s + " | ";
        o.seen.insert(state);
      },
      options);
  for (const hc::Finding& f : r.findings)
    o.seen.insert(std::string("finding: ") + std::string(hc::finding_kind_name(f.kind)));
  EXPECT_TRUE(r.stats.exhausted) << strategy;
  o.executions = r.stats.executions;
  return o;
}

void expect_same_outcomes(const std::function<void(std::string*)>& program, int threads) {
  const Outcomes dfs = outcomes_of("dfs", program, threads);
  const Outcomes dpor = outcomes_of("dpor", program, threads);
  EXPECT_EQ(dpor.seen, dfs.seen);
  EXPECT_LE(dpor.executions, dfs.executions);
  std::printf("[ footprints ] dfs %llu executions, dpor %llu, %zu outcomes\n",
              static_cast<unsigned long long>(dfs.executions),
              static_cast<unsigned long long>(dpor.executions), dfs.seen.size());
}

std::string status_text(const hc::models::Status& s) {
  return s.ok ? "ok" : fmt::format("e{}", s.error);
}

TEST(Footprints, CloseUseAndCreateOfDifferentSlotsUnderDporAndDfs) {
  for (ReusePolicy policy : {ReusePolicy::lifo, ReusePolicy::lowest_free, ReusePolicy::explore}) {
    expect_same_outcomes(
        [policy](std::string* out) {
          HandleTable t(quiet(policy));
          const RawHandle a = t.create(ObjectType::file, "a");
          const RawHandle b = t.create(ObjectType::file, "b");
          const RawHandle c = t.create(ObjectType::file, "c");
          hc::thread t1("T1", [&] {
            out[1] += status_text(t.close(a)) + " ";
            out[1] += fmt::format("{:#x} ", t.create(ObjectType::file, "x").value);
          });
          hc::thread t2("T2", [&] {
            out[2] += status_text(t.write(b)) + " ";
            out[2] += status_text(t.close(c)) + " ";
          });
          hc::thread t3("T3", [&] {
            out[3] += status_text(t.read(t.value(a.value))) + " ";  // a bare value
            out[3] += status_text(t.use(t.value(c.value), "GetFileType")) + " ";
          });
          t1.join();
          t2.join();
          t3.join();
          out[0] = fmt::format("open {}", t.open_count());
        },
        3);
  }
}

TEST(Footprints, SignalWaitResetAndCloseUnderDporAndDfs) {
  expect_same_outcomes(
      [](std::string* out) {
        HandleTable t(quiet(ReusePolicy::lifo));
        const RawHandle e = t.create_event("e", /*manual_reset=*/false, false);
        const RawHandle m = t.create_event("m", /*manual_reset=*/true, false);
        hc::thread waiter("waiter", [&] {
          out[1] += status_text(t.wait(e)) + " ";
          out[1] += status_text(t.reset(m)) + " ";
        });
        hc::thread signaller("signaller", [&] {
          out[2] += status_text(t.signal(m)) + " ";
          out[2] += status_text(t.signal(t.value(e.value))) + " ";  // a bare value
        });
        hc::thread closer("closer", [&] { out[3] += status_text(t.close(m)) + " "; });
        waiter.join();
        signaller.join();
        closer.join();
        out[0] = fmt::format("open {}", t.open_count());
      },
      3);
}

TEST(Footprints, DuplicateAcrossTablesUnderDporAndDfs) {
  expect_same_outcomes(
      [](std::string* out) {
        HandleTable a(quiet(ReusePolicy::lifo));
        HandleTableOptions ob = quiet(ReusePolicy::lifo);
        ob.name = "child";
        HandleTable b(ob);
        const RawHandle f = a.create(ObjectType::file, "f");
        hc::thread dup("dup", [&] {
          const RawHandle g = a.duplicate(f, b);
          out[1] += fmt::format("{:#x} ", g.value);
          out[1] += status_text(b.write(g)) + " ";
        });
        hc::thread closer("closer", [&] {
          out[2] += status_text(a.close(f)) + " ";
          out[2] += fmt::format("{:#x} ", a.create(ObjectType::file, "h").value);
        });
        hc::thread opener("opener", [&] {
          out[3] += fmt::format("{:#x} ", a.open("f").value);
          out[3] += fmt::format("{:#x} ", b.create(ObjectType::file, "k").value);
        });
        dup.join();
        closer.join();
        opener.join();
        out[0] = fmt::format("open {} {}", a.open_count(), b.open_count());
      },
      3);
}

// --- child-used-after-parent-release (B12) ------------------------------------------------------

namespace {

/// A session (parent) and a request opened through it (child). Thread `closer` closes the
/// session. Main uses and closes the request: concurrently with `closer` (the bug), or, when
/// `child_first`, before `closer` starts (the correct order: children before their parent).
void session_and_request(bool child_first) {
  HandleTable t({.name = "WinHTTP"});
  const RawHandle session = t.create(ObjectType::user, "session");
  const RawHandle request = t.create_child(session, ObjectType::user, "request");
  HC_CHECK(request.valid(), "create_child failed: error {}", t.last_error());
  if (child_first) {
    t.use(request, "WinHttpSendRequest");
    t.close(request);
  }
  hc::thread closer("closer", [&] { t.close(session); });
  if (!child_first) {
    t.use(request, "WinHttpSendRequest");
    t.close(request);
  }
  closer.join();
}

}  // namespace

TEST(ChildUsedAfterParentRelease, AUseOrCloseOfTheChildAfterTheParentsCloseIsReported) {
  std::set<std::string> messages;
  hc::ExploreOptions o = exhaustive();
  o.stop_at_first = false;
  const hc::Result r = hc::explore([] { session_and_request(false); }, o);
  ASSERT_FALSE(r.findings.empty());
  for (const hc::Finding& f : r.findings) {
    EXPECT_EQ(f.kind, hc::FindingKind::child_used_after_parent_release) << f.message;
    EXPECT_TRUE(contains(f.message, "child used after its parent's release: thread 'main'"))
        << f.message;
    EXPECT_TRUE(contains(f.message,
                         "handle 0x8 (Object 'request'), a child of parent Object 'session' "
                         "opened through 0x4 (table 'WinHTTP') by thread 'main' at step 2"))
        << f.message;
    EXPECT_TRUE(contains(f.message,
                         "its last handle 0x4 (table 'WinHTTP') was closed by thread "
                         "'closer'"))
        << f.message;
    EXPECT_TRUE(contains(f.file, "handle_table_test.cpp")) << f.file;
    messages.insert(contains(f.message, "used (via WinHttpSendRequest)") ? "use" : "close");
  }
  // Both the use and the close of the child are caught (on different schedules).
  EXPECT_EQ(messages, (std::set<std::string>{"close", "use"}));
}

TEST(ChildUsedAfterParentRelease, ClosingTheChildFirstIsCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    session_and_request(true);
    outcomes.insert("done");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// A duplicate of the parent keeps it open: the child is usable until the parent's last handle.
TEST(ChildUsedAfterParentRelease, ADuplicateOfTheParentKeepsTheChildUsable) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable t({.name = "WinHTTP"});
        const RawHandle session = t.create(ObjectType::user, "session");
        const RawHandle request = t.create_child(session, ObjectType::user, "request");
        const RawHandle copy = t.duplicate(session, t);
        t.close(session);
        HC_CHECK(t.use(request, "WinHttpSendRequest").ok, "use failed");
        t.close(request);
        t.close(copy);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// The subsystem-lifetime model: COM apartments (CoInitialize / CoUninitialize, an init count per
// thread) and libraries (LoadLibrary / FreeLibrary), the objects that belong to them, and the
// release-after-subsystem-shutdown finding with its correct counterparts explored clean.
#include "hc/models/subsystem.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hc/models/com_object.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"
#include "test_support.hpp"

namespace {

using hc::FindingKind;
using hc::models::ComApartment;
using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::Library;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;
using hc::models::SubsystemGuard;
using hc::test::contains;
using hc::test::exhaustive;

struct Doc : ComObject {
  Doc() : ComObject("Doc") {}
};

TEST(ComApartment, CountsInitsPerThreadAndTearsDownAtZero) {
  std::vector<std::uint32_t> seen;
  const hc::Result r = hc::explore(
      [&] {
        seen.clear();
        ComApartment com;
        seen.push_back(com.CoInitialize());  // S_OK
        seen.push_back(com.CoInitialize());  // S_FALSE: already initialized
        seen.push_back(com.count());
        com.CoUninitialize();
        seen.push_back(com.initialized() ? 1 : 0);
        com.CoUninitialize();
        seen.push_back(com.initialized() ? 1 : 0);
        HC_CHECK(com.name() == "COM (thread main)", "name {}", com.name());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{0, 1, 2, 1, 0}));
}

TEST(ReleaseAfterSubsystemShutdown, ASmartPointerReleasedAfterCoUninitializeIsReported) {
  int uninit_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComApartment com;
        com.CoInitialize();
        ComWorld world({.subsystem = &com});
        ComPtr<Doc> doc = world.make<Doc>("doc");
        // clang-format off
        com.CoUninitialize(); uninit_line = __LINE__;
        doc.reset();  // the line after
        // clang-format on
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, FindingKind::release_after_subsystem_shutdown);
  EXPECT_TRUE(contains(f.message,
                       "release after subsystem shutdown: Release of ComObject 'doc' (type Doc) "
                       "by thread 'main' at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "into subsystem 'COM (thread main)' after CoUninitialize at "
                       "tests/models/subsystem_test.cpp:" +
                           std::to_string(uninit_line)))
      << f.message;
  EXPECT_EQ(f.line, static_cast<std::uint32_t>(uninit_line + 1));
  EXPECT_TRUE(contains(f.file, "subsystem_test.cpp")) << f.file;
}

// A new CoInitialize starts a new apartment: objects of the old one stay dead.
TEST(ReleaseAfterSubsystemShutdown, ReinitializingDoesNotReviveTheOldApartmentsObjects) {
  const hc::Result r = hc::explore(
      [] {
        ComApartment com;
        com.CoInitialize();
        ComWorld world({.subsystem = &com});
        ComPtr<Doc> doc = world.make<Doc>("doc");
        com.CoUninitialize();
        com.CoInitialize();
        doc.use("Save");
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, FindingKind::release_after_subsystem_shutdown);
  EXPECT_TRUE(contains(f.message, "Save of ComObject 'doc' (type Doc)")) << f.message;
  EXPECT_TRUE(contains(f.message, "CoInitialize since started a new COM (thread main)"))
      << f.message;
}

// The fix: an RAII guard declared before the smart pointers.
TEST(ReleaseAfterSubsystemShutdown, AGuardOutsideThePointersScopeIsCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment com;
    const SubsystemGuard init(com);
    ComWorld world({.subsystem = &com});
    ComPtr<Doc> doc = world.make<Doc>("doc");
    ComPtr<Doc> mine(doc);
    hc::thread reader("reader", [p = std::move(mine)]() mutable {
      p.use("Read");
      p.reset();
    });
    doc.use("Write");
    reader.join();
    outcomes.insert("done");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

/// A SafeHandle whose ReleaseHandle calls into a native library; thread `unloader` unloads the
/// library (FreeLibrary), after the handle is disposed when `dispose_first`.
void release_into_library(bool dispose_first, std::set<std::string>* outcomes) {
  Gc gc;
  HandleTable table;
  Library native("native.dll");
  native.LoadLibrary();
  SafeHandle h(gc, table, {.type_name = "SafeContextHandle", .name = "ctx"},
               [&](const RawHandle& raw) {
                 native.call("native_close_context");  // the ReleaseHandle's call into the DLL
                 return table.close(raw).ok;
               });
  h.SetHandle(table.create(ObjectType::user, "context", h.label()));
  if (dispose_first) h.Dispose();
  hc::thread unloader("unloader", [&] { native.FreeLibrary(); });
  if (!dispose_first) h.Dispose();
  unloader.join();
  if (outcomes != nullptr) outcomes->insert("done");
}

TEST(ReleaseAfterSubsystemShutdown, AReleaseHandleCallingIntoAnUnloadedLibraryIsReported) {
  const hc::Result r = hc::explore([] { release_into_library(false, nullptr); }, exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, FindingKind::release_after_subsystem_shutdown);
  EXPECT_TRUE(contains(f.message, "Call of native_close_context by thread 'main' at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "into subsystem 'library 'native.dll'' after FreeLibrary at "
                       "tests/models/subsystem_test.cpp:"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "(by thread 'unloader' at step")) << f.message;
}

TEST(ReleaseAfterSubsystemShutdown, DisposingBeforeTheUnloadIsCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor(
      [](std::set<std::string>& outcomes) { release_into_library(true, &outcomes); });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// DPOR against dfs where the teardown races the calls: the same outcomes (which calls saw the
// library loaded) and the same finding kinds.
TEST(ReleaseAfterSubsystemShutdown, DporReachesWhatDfsReaches) {
  hc::ExploreOptions o = exhaustive();
  o.stop_at_first = false;
  const auto r = hc::test::explore_dfs_and_dpor(
      [](std::set<std::string>& outcomes) {
        Library lib("sqlite3.dll");
        lib.LoadLibrary();
        lib.LoadLibrary();
        hc::thread a("a", [&] {
          lib.call("sqlite3_open");  // after both FreeLibrary calls: the finding
          lib.call("sqlite3_close");
        });
        hc::thread b("b", [&] { lib.FreeLibrary(); });
        lib.FreeLibrary();
        a.join();
        b.join();
        outcomes.insert(std::to_string(lib.count()));
      },
      o);
  EXPECT_TRUE(r.dfs.stats.exhausted);
  EXPECT_TRUE(r.dpor.stats.exhausted);
  EXPECT_EQ(r.dfs_outcomes, r.dpor_outcomes);
  std::set<FindingKind> dfs_kinds;
  std::set<FindingKind> dpor_kinds;
  for (const hc::Finding& f : r.dfs.findings)
    dfs_kinds.insert(f.kind);
  for (const hc::Finding& f : r.dpor.findings)
    dpor_kinds.insert(f.kind);
  EXPECT_EQ(dfs_kinds, (std::set<FindingKind>{FindingKind::release_after_subsystem_shutdown}));
  EXPECT_EQ(dfs_kinds, dpor_kinds);
}

TEST(ComApartment, AnObjectMadeBeforeCoInitializeIsAUsageError) {
  const hc::Result r = hc::explore(
      [] {
        ComApartment com;
        ComWorld world({.subsystem = &com});
        ComPtr<Doc> doc = world.make<Doc>("doc");
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_TRUE(contains(r.findings.front().message, "CoInitialize first"))
      << r.findings.front().message;
}

}  // namespace

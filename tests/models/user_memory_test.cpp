// Tracked user memory (hc/models/user_memory.hpp): a minimal trigger for each finding
// (use-after-free, double-free) with its message asserted, the correct counterparts explored
// exhaustively clean under dfs and dpor, and the footprints (reads commute, a free conflicts).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hc/hc.hpp"
#include "hc/models/user_memory.hpp"
#include "test_support.hpp"

namespace {

using hc::models::UserMemory;
using hc::test::contains;
using hc::test::exhaustive;
using hc::test::explore_dfs_and_dpor;

std::string at_line(unsigned line) {
  return "tests/models/user_memory_test.cpp:" + std::to_string(line);
}

std::string first_message(const hc::Result& r) {
  return r.findings.empty() ? std::string("(no finding)") : r.findings.front().message;
}

// A parser reads a buffer while its owner frees it on another thread: on the schedules where
// the free comes first, the read is a use after free naming both user lines.
TEST(UseAfterFree, ReadAfterAnotherThreadFreedItIsReported) {
  unsigned alloc_line = 0, read_line = 0, free_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        alloc_line = __LINE__ + 1;
        UserMemory buffer("request buffer");
        hc::thread owner("owner", [&] {
          free_line = __LINE__ + 1;
          buffer.free();
        });
        read_line = __LINE__ + 1;
        buffer.read("parse_request");
        owner.join();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::use_after_free,
                         "use after free: 'request buffer' used (read by parse_request) at " +
                             at_line(read_line) + " by thread 'main'");
  EXPECT_TRUE(
      contains(r.findings[0].message, "after thread 'owner' freed it at " + at_line(free_line)))
      << r.findings[0].message;
  EXPECT_TRUE(
      contains(r.findings[0].message, "allocated by thread 'main' at " + at_line(alloc_line)))
      << r.findings[0].message;
  // The finding is located at the user's read, never in models/.
  EXPECT_TRUE(contains(r.findings[0].file, "user_memory_test.cpp")) << r.findings[0].file;
  EXPECT_EQ(r.findings[0].line, read_line);
}

TEST(UseAfterFree, AWriteAfterFreeOnTheSameThreadIsReported) {
  unsigned write_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        UserMemory pixels("pixels");
        pixels.free();
        write_line = __LINE__ + 1;
        pixels.write("fill");
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::use_after_free,
                         "'pixels' used (write by fill) at " + at_line(write_line));
}

// Two owners each free the block (B3's shape for memory): the second free is a double free.
TEST(DoubleFree, TwoOwnersFreeingOneBlockIsReported) {
  unsigned first_line = 0, second_line = 0;
  hc::ExploreOptions o = exhaustive();
  const hc::Result r = hc::explore(
      [&] {
        UserMemory node("list node");
        hc::thread remover("remover", [&] {
          first_line = __LINE__ + 1;
          node.free();
        });
        remover.join();
        second_line = __LINE__ + 1;
        node.free();
      },
      o);
  HC_EXPECT_ONLY_FINDING(
      r, hc::FindingKind::double_free,
      "double free: 'list node' freed at " + at_line(second_line) + " by thread 'main'");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "after thread 'remover' already freed it at " + at_line(first_line)))
      << r.findings[0].message;
}

// The clean counterpart: the owner frees only after the readers are done (joined), and frees
// once. Every schedule under dfs and dpor: no finding, exhausted, the same outcomes.
TEST(UserMemoryClean, FreeAfterTheReadersJoinedExploresClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    UserMemory buffer("request buffer");
    hc::atomic<int> done{0, "done"};
    hc::thread a("reader-a", [&] {
      buffer.read("parse");
      done.fetch_add(1);
    });
    hc::thread b("reader-b", [&] {
      buffer.write("decode");
      done.fetch_add(1);
    });
    a.join();
    b.join();
    buffer.free();
    outcomes.insert(std::to_string(done.load()) + (buffer.freed() ? " freed" : " live"));
  });
  EXPECT_TRUE(r.dfs.findings.empty()) << first_message(r.dfs);
  EXPECT_TRUE(r.dpor.findings.empty()) << first_message(r.dpor);
  EXPECT_TRUE(r.dfs.stats.exhausted);
  EXPECT_TRUE(r.dpor.stats.exhausted);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"2 freed"}));
  EXPECT_EQ(r.dfs_outcomes, r.dpor_outcomes);
}

// Footprints: reads of one allocation commute (dpor explores one execution for two readers),
// a write does not commute with a read (two executions), and a free conflicts with a read:
// dpor reaches both the clean order and the use after free, as dfs does.
TEST(UserMemoryFootprints, ReadsCommuteWritesAndFreesConflict) {
  hc::ExploreOptions all = exhaustive();
  all.stop_at_first = false;
  const auto readers = explore_dfs_and_dpor(
      [](std::set<std::string>&) {
        UserMemory m("table");
        hc::thread a("a", [&] { m.read("lookup"); });
        hc::thread b("b", [&] { m.read("lookup"); });
      },
      all);
  EXPECT_TRUE(readers.dpor.findings.empty()) << first_message(readers.dpor);
  EXPECT_EQ(readers.dpor.stats.executions, 1u);
  EXPECT_GT(readers.dfs.stats.executions, 1u);

  const auto writer = explore_dfs_and_dpor(
      [](std::set<std::string>&) {
        UserMemory m("table");
        hc::thread a("a", [&] { m.read("lookup"); });
        hc::thread b("b", [&] { m.write("insert"); });
      },
      all);
  EXPECT_EQ(writer.dpor.stats.executions, 2u);

  const auto freer = explore_dfs_and_dpor(
      [](std::set<std::string>& outcomes) {
        UserMemory m("table");
        hc::thread a("a", [&] {
          m.read("lookup");
          outcomes.insert("read survived");
        });
        hc::thread b("b", [&] { m.free(); });
      },
      all);
  std::set<hc::FindingKind> dfs_kinds, dpor_kinds;
  for (const hc::Finding& f : freer.dfs.findings)
    dfs_kinds.insert(f.kind);
  for (const hc::Finding& f : freer.dpor.findings)
    dpor_kinds.insert(f.kind);
  EXPECT_EQ(dfs_kinds, (std::set<hc::FindingKind>{hc::FindingKind::use_after_free}));
  EXPECT_EQ(dpor_kinds, dfs_kinds);
  EXPECT_EQ(freer.dfs_outcomes, (std::set<std::string>{"read survived"}));
  EXPECT_EQ(freer.dpor_outcomes, freer.dfs_outcomes);
}

}  // namespace

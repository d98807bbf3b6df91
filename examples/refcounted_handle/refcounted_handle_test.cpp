// Testing the user's wrapper (refcounted_handle.hpp) against the handle-table model: the first
// version's close-while-in-use is found, the fixed one explores clean exhaustively.
#include "refcounted_handle.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>

#include "hc/gtest.hpp"
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::RawHandle;

/// The product code compiles with std::atomic: the seam costs nothing.
using Production = example::RefCountedHandle<std::atomic, int, std::function<void(int)>>;
static_assert(sizeof(Production) > 0);

/// One owner closes the log file while a worker writes to it; a third thread opens a file and
/// the OS hands it the freed value (LIFO reuse): the worker's write lands on the wrong file.
/// Silent in production; the handle table's provenance tells it apart from a valid use.
template <example::ClosePolicy policy>
void write_while_closing() {
  HandleTable table;
  const RawHandle raw = table.create(hc::models::ObjectType::file, "log");
  auto closer = [&table](const RawHandle& h) { table.close(h); };
  example::RefCountedHandle<hc::atomic, RawHandle, decltype(closer), policy> log(raw, closer);
  hc::thread worker("worker", [&] {
    if (!log.acquire()) return;
    table.write(log.get());  // the raw value goes to the OS
    log.release();
  });
  hc::thread owner("owner", [&] { log.close(); });
  hc::thread opener("opener",
                    [&] { table.close(table.create(hc::models::ObjectType::file, "tmp")); });
  worker.join();
  owner.join();
  opener.join();
}

TEST(RefCountedHandle, TheFirstVersionClosesWhileInUse) {
  HC_EXPECT_FINDING(hc::FindingKind::stale_handle_use,
                    write_while_closing<example::ClosePolicy::immediate>);
}

TEST(RefCountedHandle, TheFixedVersionIsCleanOnEverySchedule) {
  HC_EXPECT_CLEAN(write_while_closing<example::ClosePolicy::deferred>);
}

TEST(RefCountedHandle, TheFixedVersionExploresExhaustively) {
  const hc::Result r = hc::explore(write_while_closing<example::ClosePolicy::deferred>, {});
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 100u);
}

}  // namespace

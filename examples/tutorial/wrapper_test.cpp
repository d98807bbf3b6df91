// wrapper_test.cpp — the tutorial's test: the wrapper against the handle-table model.
#include <gtest/gtest.h>

#include "hc/gtest.hpp"
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"
#include "refcounted_handle.hpp"

using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;

// The owner closes the log file while a worker writes to it; a third thread opens a file, and
// the table may hand it the value just freed.
void write_while_closing() {
  HandleTable table;  // a simulated process handle table
  const RawHandle raw = table.create(ObjectType::file, "log");
  auto closer = [&table](const RawHandle& h) { table.close(h); };
  example::RefCountedHandle<hc::atomic, RawHandle, decltype(closer)> log(raw, closer);
  hc::thread worker("worker", [&] {
    if (!log.acquire()) return;
    table.write(log.get());  // the raw value goes to the OS
    log.release();
  });
  hc::thread owner("owner", [&] { log.close(); });
  hc::thread opener("opener", [&] { table.close(table.create(ObjectType::file, "tmp")); });
}

TEST(RefCountedHandle, IsSafe) {
  HC_EXPECT_CLEAN(write_while_closing);  // exhaustive dfs: every interleaving
}

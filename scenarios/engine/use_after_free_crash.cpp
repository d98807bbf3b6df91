// engine/use-after-free-crash — a raw pointer used after another thread freed what it named.
//
// Story: a reader takes the connection's buffer pointer out of a shared field and then reads
// through it; a closer frees the buffer and clears the field. When the closer runs between the
// reader's load and its read, the reader dereferences freed memory; when it runs first, the
// reader dereferences the cleared (null) field. In production the first is silent and random,
// the second kills the process. Under handlecheck the process survives: the fault is a `crash`
// finding of that one interleaving, with a replay file, and the exploration goes on (see
// runtime/faults.hpp). The handle-world form is the raw value after Dispose (B1): here the
// "value" is a pointer and the "recycling" is the allocator's.
// Fix: the reader holds a reference for as long as it uses the buffer (a count the closer
// waits for, as SafeHandle's DangerousAddRef/Release do), and a cleared field means "closed".
#include "hc/hc.hpp"

namespace {

struct Buffer {
  int bytes = 512;
};

/// The bug: a read through a buffer pointer that may be null or freed. Exempt from UBSan (the
/// sanitizers job), which would end the process before the fault handlecheck reports.
[[gnu::no_sanitize_undefined]] int size_of(const Buffer* b) {
  return static_cast<const volatile int&>(b->bytes);
}

/// The connection's buffer field as an index into a table (slot 0 is "cleared", a null
/// pointer), so that traces print 1 and 0 rather than addresses, which vary from run to run.
struct Connection {
  Buffer* table[2] = {nullptr, new Buffer};
  hc::atomic<int> field{1, "buffer"};
};

}  // namespace

HC_SCENARIO("engine/use-after-free-crash", .tags = {"engine", "demo"},
            .expect = hc::FindingKind::crash, .message = "crashed with SIGSEGV",
            .summary =
                "a reader dereferences the buffer pointer a closer cleared: SIGSEGV, "
                "reported as a finding while the run goes on",
            .pattern = "engine demo (B1 shape)", .source = "handlecheck") {
  Connection c;
  hc::thread reader("reader", [&] {
    Buffer* b = c.table[c.field.load()];
    volatile int n = size_of(b);  // null when the closer ran first
    (void)n;
  });
  hc::thread closer("closer", [&] { delete c.table[c.field.exchange(0)]; });
  reader.join();
  closer.join();
}

HC_SCENARIO("engine/use-after-free-crash.fixed", .tags = {"engine", "demo", "fixed"},
            .expect = hc::clean,
            .summary = "the reader holds a reference while it reads; a cleared field is closed",
            .pattern = "engine demo (B1 shape)", .source = "handlecheck") {
  Connection c;
  hc::atomic<int> users{0, "users"};
  hc::thread reader("reader", [&] {
    users.fetch_add(1);  // the reference: the closer frees only when nobody holds one
    if (Buffer* b = c.table[c.field.load()]) {
      volatile int n = b->bytes;
      (void)n;
    }
    users.fetch_sub(1);
  });
  hc::thread closer("closer", [&] {
    const int slot = c.field.exchange(0);
    while (users.load() != 0)
      hc::this_thread::yield();
    delete c.table[slot];
  });
  reader.join();
  closer.join();
}

// The consumer's own scenario pair: a cached raw handle value used after its close, and maybe
// recycled by another open first (B1 in miniature: invalid-handle-use or stale-handle-use,
// whichever interleaving comes first), and the fixed version that orders the use before the
// close. And a Relacy-style suite (hc/suite.hpp) run as a scenario's body, with its fixed version.
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

void use_cached_value(bool fixed) {
  hc::models::HandleTable table;
  const hc::models::RawHandle cached = table.create(hc::models::ObjectType::file, "config");
  hc::thread reader("reader", [&] { table.read(cached); });
  if (fixed) reader.join();
  hc::thread closer("closer", [&] {
    table.close(cached);
    table.close(table.create(hc::models::ObjectType::file, "socket"));
  });
  closer.join();
  if (!fixed) reader.join();
}

/// Two holders of a reference count (the owner's reference and a TryAddRef); the last release
/// closes. Without a compare-exchange, TryAddRef can revive a count that fell to zero.
template <bool kWithCas>
struct RefcountSuite {
  static constexpr int kThreads = 2;
  hc::atomic<int> refs{1, "refs"};
  int closes = 0;
  void thread(int index) {
    if (index == 1) {
      int seen = refs.load();
      if constexpr (kWithCas) {
        while (seen > 0 && !refs.compare_exchange_strong(seen, seen + 1)) {
        }
      } else if (seen > 0) {
        refs.fetch_add(1);
      }
      if (seen == 0) return;  // released already: no reference taken
    }
    if (refs.fetch_sub(1) == 1) ++closes;
  }
  void after() { HC_CHECK(closes == 1, "closed {} times", closes); }
};

}  // namespace

HC_SCENARIO("consumer/suite-double-close", .tags = {"consumer"},
            .expect = hc::FindingKind::check_failure, .message = "closed 2 times",
            .summary = "a suite whose TryAddRef revives a released count") {
  hc::run_suite<RefcountSuite<false>>();
}

HC_SCENARIO("consumer/suite-double-close.fixed", .tags = {"consumer"}, .expect = hc::clean,
            .summary = "the same suite with TryAddRef's compare-exchange loop") {
  hc::run_suite<RefcountSuite<true>>();
}

HC_SCENARIO("consumer/cached-value", .tags = {"consumer"},
            .expect = hc::expect_any({hc::FindingKind::stale_handle_use,
                                      hc::FindingKind::invalid_handle_use}),
            .message =
                "used (via ReadFile) handle 0x4 (File 'config', generation 1, closed by "
                "thread 'closer'",
            .summary = "a cached raw value used after its close") {
  use_cached_value(false);
}

HC_SCENARIO("consumer/cached-value.fixed", .tags = {"consumer"}, .expect = hc::clean,
            .summary = "the use ordered before the close") {
  use_cached_value(true);
}

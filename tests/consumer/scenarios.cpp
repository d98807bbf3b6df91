// The consumer's own scenario pair: a cached raw handle value used after its close, and maybe
// recycled by another open first (B1 in miniature: invalid-handle-use or stale-handle-use,
// whichever interleaving comes first), and the fixed version that orders the use before the
// close.
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

}  // namespace

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

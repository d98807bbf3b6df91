// safehandle/bitwise-clone — a SafeHandle cloned bitwise by serialization across application
// domains: two instances own one value (B3).
//
// Story: a SafeHandle-derived type, SerializableFileHandle, was marked [Serializable] so that
// objects holding it can be marshalled from application domain A to domain B. It does not
// implement ISerializable, so the default serialization copies its fields bitwise: the
// deserialized instance in domain B holds the same raw value as the original in domain A,
// and both believe they own it. Each domain disposes its instance on its own thread (at
// unload, or its finalizer runs); both ReleaseHandles call CloseHandle on the same value and
// the second one fails: releaseHandleFailed (ignored on .NET Core, B22), or, had the value
// been recycled in between, the close of an unrelated object. The MDA documentation: "the
// default serialization action is to create a bitwise clone of the enclosed raw handle value,
// resulting in two SafeHandle instances thinking they own the same handle. Both will try to
// call ReleaseHandle on the same handle at some point. The second SafeHandle to do this will
// fail."
// The harness reports release-handle-failed on whichever instance closes second.
// Fix: serialize by calling DuplicateHandle (HandleTable::duplicate) to make a distinct,
// separately owned copy for the other domain, taken while the original is AddRef'd; each
// instance closes its own value. (A handle type that cannot be duplicated must not be
// serializable.)
//
// Pattern B3 (DOMAIN.md §10); source: the releaseHandleFailed MDA documentation.
#include "hc/hc.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"

namespace {

using hc::models::Gc;
using hc::models::HandleTable;
using hc::models::InvalidUse;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::SafeHandle;

void marshal_across_domains(bool fixed) {
  // The story is the production error path: CloseHandle on a value that names nothing returns
  // FALSE and ReleaseHandle fails (the releaseHandleFailed MDA). Under the default
  // InvalidUse::raise the same second close is reported at once as a double close instead.
  HandleTable table{{.invalid_use = InvalidUse::fail}};
  Gc gc;
  // SerializableFileHandle.ReleaseHandle: `return CloseHandle(handle);`
  auto close_handle = [&](const RawHandle& raw) { return table.close(raw).ok; };
  SafeHandle original(gc, table, {.type_name = "SerializableFileHandle", .name = "log@domain-A"},
                      close_handle);
  original.SetHandle(table.create(ObjectType::file, "log", original.label()));

  // Marshalling to domain B: serialize the original, deserialize a new instance.
  SafeHandle clone(gc, table, {.type_name = "SerializableFileHandle", .name = "log@domain-B"},
                   close_handle);
  if (fixed) {
    // ISerializable: DuplicateHandle while the original is AddRef'd (the P/Invoke bracket).
    clone.SetHandle(original.pinvoke(
        [&](const RawHandle& raw) { return table.duplicate(raw, table, clone.label()); }));
  } else {
    clone.SetHandle(original.DangerousGetHandle());  // the default: a bitwise copy of `handle`
  }

  hc::thread domain_a("domain-A", [&] { original.Dispose(); });
  hc::thread domain_b("domain-B", [&] { clone.Dispose(); });
  domain_a.join();
  domain_b.join();
}

}  // namespace

HC_SCENARIO("safehandle/bitwise-clone", .tags = {"safehandle", "b3"},
            .expect = hc::FindingKind::release_handle_failed,
            .message = "releaseHandleFailed: ReleaseHandle of SerializableFileHandle 'log@domain-",
            .summary =
                "a [Serializable] SafeHandle cloned bitwise into another domain: two "
                "owners, the second ReleaseHandle fails",
            .pattern = "B3", .source = "releaseHandleFailed MDA") {
  marshal_across_domains(false);
}

HC_SCENARIO("safehandle/bitwise-clone.fixed", .tags = {"safehandle", "b3", "fixed"},
            .expect = hc::clean,
            .summary =
                "serialization duplicates the handle (DuplicateHandle): each domain "
                "closes its own value",
            .pattern = "B3", .source = "releaseHandleFailed MDA") {
  marshal_across_domains(true);
}

// com/smart-pointer-outlives-couninitialize — a smart pointer's destructor Releases its COM
// object after the thread's CoUninitialize tore the apartment down (DOMAIN.md §5, §10 B15).
//
// Story (Raymond Chen, "Do you know when your destructors run?" [ONT-0520]): a settings loader
// is written the way COM samples are:
//
//     void LoadSettings() {
//       CoInitialize(NULL);
//       CComPtr<IXMLDOMDocument> doc;
//       doc.CoCreateInstance(CLSID_DOMDocument);
//       ... a validator thread checks the document through its own reference ...
//       CoUninitialize();
//     }  // ~CComPtr runs here: doc->Release() after CoUninitialize
//
// The smart pointer's destructor runs at the closing brace, after CoUninitialize: its Release
// calls into an apartment that no longer exists (the object's proxy, its DLL, the COM runtime's
// per-thread state are gone). In production it is a crash at shutdown, or a hang, depending on
// what the Release touches. The validator thread, which finishes with its own reference before
// the join, is what the explorer interleaves; the late Release happens on every schedule. The
// COM model knows which apartment each object belongs to (ComWorldOptions::subsystem) and
// reports the Release into the torn-down apartment: release-after-subsystem-shutdown, at the
// line whose reference the destructor released, naming the CoUninitialize that ended it.
//
// Fix [ONT-0520]: an RAII guard for the apartment (a CCoInitialize class), declared before, so
// outside the scope of, the smart pointers: destructors run in reverse order, so every smart
// pointer is released before the guard's destructor calls CoUninitialize.
#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/subsystem.hpp"

namespace {

using hc::models::ComApartment;
using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::models::SubsystemGuard;

struct XmlDocument : ComObject {
  XmlDocument() : ComObject("IXMLDOMDocument") {}
};

// Everything LoadSettings does once COM is initialized. `doc` is declared by the caller, after
// (buggy) or inside the scope of (fixed) the CoInitialize.
void use_document(ComPtr<XmlDocument>& doc) {
  ComPtr<XmlDocument> mine(doc);  // the validator's own reference, taken before it starts
  hc::thread validator("validator", [p = std::move(mine)]() mutable {
    p.use("selectNodes");
    p.reset();
  });
  doc.use("load");
  validator.join();
}

void load_settings_buggy() {
  ComApartment com;  // the main thread's apartment: "COM (thread main)"
  com.CoInitialize();
  ComWorld world({.subsystem = &com});
  ComPtr<XmlDocument> doc = world.make<XmlDocument>("settings");  // CoCreateInstance
  use_document(doc);
  com.CoUninitialize();
}  // ~ComPtr: doc's Release, after CoUninitialize

void load_settings_fixed() {
  ComApartment com;
  const SubsystemGuard init(com);  // CoInitialize now, CoUninitialize after every pointer below
  ComWorld world({.subsystem = &com});
  ComPtr<XmlDocument> doc = world.make<XmlDocument>("settings");
  use_document(doc);
}  // ~ComPtr (Release), then ~SubsystemGuard (CoUninitialize)

}  // namespace

HC_SCENARIO("com/smart-pointer-outlives-couninitialize", .tags = {"com", "b15", "subsystem"},
            .expect = hc::FindingKind::release_after_subsystem_shutdown,
            .message =
                "into subsystem 'COM (thread main)' after CoUninitialize at "
                "scenarios/com/smart_pointer_outlives_couninitialize.cpp:",
            .summary =
                "a CComPtr's destructor runs at the closing brace, after CoUninitialize: its "
                "Release calls into a torn-down apartment",
            .pattern = "B15", .source = "DOMAIN.md") {
  load_settings_buggy();
}

HC_SCENARIO("com/smart-pointer-outlives-couninitialize.fixed",
            .tags = {"com", "b15", "subsystem", "fixed"}, .expect = hc::clean,
            .summary =
                "an RAII guard declared before the smart pointers: they are released before its "
                "destructor calls CoUninitialize",
            .pattern = "B15", .source = "DOMAIN.md") {
  load_settings_fixed();
}

// icordebug/release-races-api-call — a client's final Release, whose destructor does
// "complicated" work (it unregisters the value from its process's cache under the process
// lock), races another thread's API call that looks the value up in that cache: inside the
// window between the count reaching 0 and the destructor taking the lock, the lookup AddRefs a
// dying object ("Don't do complicated work in Release()", issue 2; DOMAIN.md §10 B14, B18).
//
// Story: "Clients can call Release at any time, including 'bad' times such as when the library
// is not in a good state to do complicated work or in the middle of a race window. If Release()
// is doing complicated work, it may race against other calls into the library." In V1.0 a
// CordbValue was plain reference counted and the process kept a cache of raw pointers to its
// values; the value's destructor removed itself from the cache under the process lock. MDbg's
// finalizer makes the value's final Release while the debugger thread calls an API that finds
// the value in the cache (say, a lookup by address) and, following the COM rules, AddRefs the
// pointer it hands out while still holding the process lock. When the Release has taken the
// count to 0 but its destructor has not yet reached the cache (it is waiting for the lock the
// lookup holds), the lookup's AddRef rescues a dying object 0→1: the model reports the AddRef
// from zero, and the object is destroyed under the caller's feet anyway.
//
// Fix (v2.0, the blog's mitigation 1: "The library could maintain an extra reference to avoid
// the dtor being called at a bad time, and then dispose() at a good time and release that extra
// reference"): the cache is a neuter list holding an internal reference, so the client's final
// Release only marks the value NeuterAtWill and never runs the destructor in the middle of
// another call. A lookup under the process lock may hand out a fresh external reference (the
// internal one keeps the memory valid). The next Continue sweeps the list at its safe point:
// it neuters and releases NeuterAtWill values, after which the lookup no longer finds them and
// a holder's calls answer CORDBG_E_OBJECT_NEUTERED.
#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"

namespace {

using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::models::NeuterCheck;
using hc::models::Process;
using hc::models::RSLockHolder;
using hc::models::RsObject;
namespace cordbg = hc::models::cordbg;

// --- V1.0: plain COM reference counting, a cache of raw pointers -------------------------------

struct ValueCache;

struct CordbValueV1 : ComObject {
  explicit CordbValueV1(ValueCache* owner) : ComObject("CordbValue"), cache(owner) {}
  void on_destroy() override;  // the complicated work: unregister under the process lock
  ValueCache* cache;
};

struct ValueCache {
  hc::mutex process_lock{"process lock"};
  hc::var<CordbValueV1*> by_address{nullptr, "process value cache"};  // guarded by process_lock
};

void CordbValueV1::on_destroy() {
  cache->process_lock.lock();
  if (cache->by_address.read() == this) cache->by_address = nullptr;
  cache->process_lock.unlock();
}

void release_races_lookup_v1() {
  ComWorld world;
  ValueCache cache;
  ComPtr<CordbValueV1> client_ref = world.make<CordbValueV1>("v", &cache);
  cache.by_address.write(client_ref.get());

  hc::thread finalizer("finalizer", [v = std::move(client_ref)]() mutable {
    v.reset();  // the client's final Release, on the finalizer thread
  });
  hc::thread debugger("debugger", [&] {
    // ICorDebugProcess lookup: find the value and AddRef the pointer it hands out.
    cache.process_lock.lock();
    ComPtr<CordbValueV1> found(cache.by_address.read());  // AddRef under the lock
    cache.process_lock.unlock();
    if (found) found.use("GetAddress");
  });
  finalizer.join();
  debugger.join();
}

// --- V2.0: an internal reference from the cache, neutered at the next Continue -----------------

void release_races_lookup_v2() {
  Process p("debuggee");  // stopped
  RsObject v(p, "CordbValue", "v");
  p.exit_list().add(v);  // the cache holds an internal reference
  v.add_ref();           // the client's reference

  hc::thread finalizer("finalizer", [&] {
    v.release();  // external 0: NeuterAtWill, nothing else
  });
  hc::thread debugger("debugger", [&] {
    RSLockHolder lock(p.process_lock());
    const bool found = p.exit_list().contains(v) && !v.neutered();
    if (found) v.add_ref();  // a fresh external reference; the internal one keeps it alive
    lock.release();
    if (!found) return;
    const cordbg::HRESULT hr =
        v.call("GetAddress", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; });
    HC_CHECK(hr == cordbg::S_OK || hr == cordbg::CORDBG_E_OBJECT_NEUTERED, "GetAddress: {}",
             cordbg::hresult_name(hr));
    v.release();
  });
  finalizer.join();
  debugger.join();
  p.continue_();  // the safe point: the sweep neuters and frees the NeuterAtWill value
  HC_CHECK(v.neutered() && v.deleted(), "the value outlived every reference");
}

}  // namespace

HC_SCENARIO("icordebug/release-races-api-call", .tags = {"icordebug", "b14", "b18", "race-window"},
            .expect = hc::FindingKind::addref_from_zero,
            .message =
                "on a count that already reached 0 (a rescue, 0→1): its last reference was "
                "released by thread 'finalizer'",
            .summary =
                "the finalizer's final Release races a lookup in the process's value "
                "cache; the lookup AddRefs the value while its destructor waits for the lock",
            .pattern = "B14, B18", .source = "Don't do complicated work in Release()") {
  release_races_lookup_v1();
}

HC_SCENARIO("icordebug/release-races-api-call.fixed",
            .tags = {"icordebug", "b14", "b18", "race-window", "fixed"}, .expect = hc::clean,
            .summary =
                "the cache holds an internal reference: Release only marks NeuterAtWill "
                "and the next Continue neuters and frees the value",
            .pattern = "B14, B18", .source = "Don't do complicated work in Release()") {
  release_races_lookup_v2();
}

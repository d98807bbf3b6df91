// icordebug/release-order-weak-process-pointer — a client releases a process A, a module B and
// a function C in any order from two threads; C's destructor reaches A through a weak
// back-pointer, and in the orders where A goes first it touches a deleted process ("Don't do
// complicated work in Release()", issue 4; DOMAIN.md §10 B14, §4.1).
//
// Story: "Clients may call Release on a set of objects in any order. If a client has
// references to objects A, B, and C, it can release them in any order ... what if C has a weak
// reference to A? In v1.0, many ICorDebug objects had a weak reference to their containing
// ICorDebugProcess object." Here A is the CordbProcess, B a CordbModule and C a CordbFunction
// whose destructor unregisters itself from its process's cache through its weak `m_process`.
// The debugger thread releases A and B (in either order: an explored choice) while MDbg's
// finalizer thread releases C, so every one of the six release orders is explored. With v1.0's
// plain reference counting each object is deleted by its own final Release; whenever A is
// released before C (A,B,C among others) C's destructor calls into the deleted process: a use
// after destruction, reported by the model with the thread that deleted A. (V1.0 did not
// neuter, so the product's "neutered before deleted" debug assert is off in that variant.)
//
// Fix (v2.0, DOMAIN.md §4.1): the parent neuters its children. The process holds B and C as
// strong children (internal references) and is itself held by the debugger's process list;
// ExitProcess / Detach neuters the process under the process lock, and A's Neuter neuters
// each child (which releases C's weak back-pointer) before releasing it. No release order of
// the client can then delete C while its back-pointer is set, and A outlives its children. The
// detach runs concurrently with the client's releases here.
#include "hc/hc.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"

namespace {

using hc::models::NeuterCheck;
using hc::models::Process;
using hc::models::RsObject;
namespace cordbg = hc::models::cordbg;

/// C: its destructor unregisters it from its process's cache through the weak back-pointer.
class CordbFunction : public RsObject {
 public:
  CordbFunction(Process& p, RsObject& process_object) : RsObject(p, "CordbFunction", "C") {
    set_weak_back_pointer(&process_object);  // m_process: no reference
  }

 protected:
  void on_destroy(const std::source_location& where) override {
    RsObject* process_object = weak_back_pointer();
    if (process_object == nullptr) return;  // released by the parent's Neuter
    process_object->call(
        "RemoveFromFunctionCache", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; },
        where);
  }
};

void release_in_any_order(bool parent_neuters_children) {
  Process p("debuggee");
  p.assert_neutered_before_delete = parent_neuters_children;  // v1.0 had no neutering
  RsObject a(p, "CordbProcess", "A");
  RsObject b(p, "CordbModule", "B");
  CordbFunction c(p, a);
  if (parent_neuters_children) {
    p.exit_list().add(a);  // the debugger's process list holds the process (internal)
    a.add_strong_child(b);
    a.add_strong_child(c);
  }
  a.add_ref();  // the client's references
  b.add_ref();
  c.add_ref();

  hc::thread debugger("debugger", [&] {
    const bool process_first = hc::choose(2, "release A before B") == 1;
    RsObject& first = process_first ? a : b;
    RsObject& second = process_first ? b : a;
    first.release();
    second.release();
  });
  hc::thread finalizer("finalizer", [&] { c.release(); });
  if (parent_neuters_children) p.detach();  // CordbProcess::Neuter, racing the releases
  debugger.join();
  finalizer.join();

  HC_CHECK(a.deleted() && b.deleted() && c.deleted(), "an object outlived every reference");
}

}  // namespace

HC_SCENARIO("icordebug/release-order-weak-process-pointer",
            .tags = {"icordebug", "b14", "release-order"},
            .expect = hc::FindingKind::use_after_destruction,
            .message = "calls RemoveFromFunctionCache on CordbProcess 'A', which was deleted",
            .summary =
                "A, B, C released in any order from two threads: when A goes before C, "
                "C's destructor calls the deleted process through its weak back-pointer",
            .pattern = "B14", .source = "Don't do complicated work in Release()") {
  release_in_any_order(false);
}

HC_SCENARIO("icordebug/release-order-weak-process-pointer.fixed",
            .tags = {"icordebug", "b14", "release-order", "fixed"}, .expect = hc::clean,
            .summary =
                "the process holds B and C as strong children and its Neuter neuters "
                "them, nulling C's back-pointer: every release order is clean",
            .pattern = "B14", .source = "Don't do complicated work in Release()") {
  release_in_any_order(true);
}

// The ICorDebug-style lifetime model (hc/models/neuter.hpp, hc/models/process.hpp): every
// transition of DOMAIN.md §4.1-4.2 on state and result, and for each finding a minimal
// trigger and its correct counterpart explored exhaustively.
#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <source_location>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"
#include "test_support.hpp"

namespace {

using hc::models::DisposedHandlePolicy;
using hc::models::HandleValue;
using hc::models::LeftSideResource;
using hc::models::LockLevel;
using hc::models::NeuterCheck;
using hc::models::NeuteredCallPolicy;
using hc::models::NeuterList;
using hc::models::Process;
using hc::models::ProcessState;
using hc::models::RSLock;
using hc::models::RSLockHolder;
using hc::models::RsObject;
using hc::test::exhaustive;
namespace cordbg = hc::models::cordbg;

using hc::test::contains;

std::string at_line(int line) {
  return "neuter_test.cpp:" + std::to_string(line);
}

std::string first_message(const hc::Result& r) {
  return r.findings.empty() ? std::string("(no finding)") : r.findings.front().message;
}

// Neuters `o` the way the product does: under the process lock.
void neuter_locked(Process& p, RsObject& o) {
  RSLockHolder lock(p.process_lock());
  o.neuter();
}

// ================================================================================================
// §4.1 object lifetime
// ================================================================================================

TEST(RsObjectLifetime, MixedCountKeepsExternalInTheHighHalfAndInternalInTheLow) {
  std::uint64_t mixed = 0;
  std::uint32_t external = 0, internal = 0, returned_add = 0, returned_release = 0;
  bool at_will_after_first_release = true;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject o(p, "CordbValue", "v");
        o.add_ref();
        returned_add = o.add_ref();
        o.internal_add_ref();
        mixed = o.mixed_count();
        external = o.external_count();
        internal = o.internal_count();
        returned_release = o.release();
        at_will_after_first_release = o.neuter_at_will();
        neuter_locked(p, o);
        o.release();
        o.internal_release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(mixed, (std::uint64_t{2} << 32) | 1u);
  EXPECT_EQ(external, 2u);
  EXPECT_EQ(internal, 1u);
  EXPECT_EQ(returned_add, 2u);
  EXPECT_EQ(returned_release, 1u);
  EXPECT_FALSE(at_will_after_first_release);
}

TEST(RsObjectLifetime, ExternalCountZeroSetsNeuterAtWillButInternalReferencesKeepItAlive) {
  bool at_will = false, deleted = true, neutered = true;
  std::uint32_t internal = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject o(p, "CordbValue", "v");
        p.exit_list().add(o);  // internal reference
        o.add_ref();
        o.release();
        at_will = o.neuter_at_will();
        deleted = o.deleted();
        neutered = o.neutered();
        internal = o.internal_count();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(at_will);
  EXPECT_FALSE(deleted);
  EXPECT_FALSE(neutered);
  EXPECT_EQ(internal, 1u);
}

TEST(RsObjectLifetime, DeletedWhenTheWholeCountReachesZeroThroughEitherKindOfRelease) {
  bool alive_after_external = false, deleted_after_internal = false;
  bool alive_after_internal = false, deleted_after_external = false;
  std::uint32_t dead_signature = 0, live_signature = 0;
  std::vector<std::string> history;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        p.record_history(true);
        // The internal reference goes last.
        RsObject a(p, "CordbValue", "a");
        a.add_ref();
        a.internal_add_ref();
        neuter_locked(p, a);
        a.release();
        alive_after_external = !a.deleted();
        live_signature = a.signature();
        a.internal_release();
        deleted_after_internal = a.deleted();
        dead_signature = a.signature();
        // The external reference goes last.
        RsObject b(p, "CordbValue", "b");
        b.add_ref();
        b.internal_add_ref();
        neuter_locked(p, b);
        b.internal_release();
        alive_after_internal = !b.deleted();
        b.release();
        deleted_after_external = b.deleted();
        history = p.history();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(alive_after_external);
  EXPECT_TRUE(deleted_after_internal);
  EXPECT_TRUE(alive_after_internal);
  EXPECT_TRUE(deleted_after_external);
  EXPECT_EQ(live_signature, RsObject::kLiveSignature);
  EXPECT_EQ(dead_signature, RsObject::kDeadSignature);
  EXPECT_EQ(history, (std::vector<std::string>{"neuter CordbValue 'a'", "delete CordbValue 'a'",
                                               "neuter CordbValue 'b'", "delete CordbValue 'b'"}));
}

TEST(RsObjectLifetime, NeuterIsIdempotentAndRecordsTheFirstNeuter) {
  std::vector<std::string> history;
  std::uint32_t first_step = 0, recorded_step = 0;
  std::uint32_t child_internal = 99;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        p.record_history(true);
        RsObject parent(p, "CordbModule", "mod");
        RsObject child(p, "CordbClass", "cls");
        child.add_ref();
        parent.add_strong_child(child);
        RSLockHolder lock(p.process_lock());
        parent.neuter();
        first_step = hc::rt::current_step() - 2;  // Neuter(parent), then Neuter(child), release
        parent.neuter();
        parent.neuter();
        recorded_step = parent.neutered_by()->step;
        child_internal = child.internal_count();
        lock.release();
        history = p.history();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(history,
            (std::vector<std::string>{"neuter CordbModule 'mod'", "neuter CordbClass 'cls'"}));
  EXPECT_EQ(recorded_step, first_step);
  EXPECT_EQ(child_internal, 0u);
}

TEST(RsObjectLifetime, MethodsOfANeuteredObjectReturnObjectNeuteredWithoutRunningTheirBody) {
  cordbg::HRESULT before = -1, after = 0;
  int bodies = 0;
  const hc::Result r = hc::explore(
      [&] {
        bodies = 0;  // per execution: the explorer also re-runs executions to check them
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        before = frame.call("GetIP", NeuterCheck::fail_if_neutered, [&] {
          ++bodies;
          return cordbg::S_OK;
        });
        p.continue_();
        after = frame.call("GetIP", NeuterCheck::fail_if_neutered, [&] {
          ++bodies;
          return cordbg::S_OK;
        });
        frame.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(before, cordbg::S_OK);
  EXPECT_EQ(static_cast<std::uint32_t>(after), 0x8013134Fu);
  EXPECT_EQ(after, cordbg::CORDBG_E_OBJECT_NEUTERED);
  EXPECT_EQ(bodies, 1);
}

TEST(RsObjectLifetime, OkIfNeuteredMethodsStillWorkOnANeuteredObject) {
  cordbg::HRESULT hr = -1;
  int bodies = 0;
  bool neutered = false;
  const hc::Result r = hc::explore(
      [&] {
        bodies = 0;  // per execution: the explorer also re-runs executions to check them
        Process p;
        RsObject proc(p, "CordbProcess", "proc");
        proc.add_ref();
        p.exit_list().add(proc);
        p.exit();
        neutered = proc.neutered();
        hr = proc.call("GetID", NeuterCheck::ok_if_neutered, [&] {
          ++bodies;  // reads embedded blittable data only
          return cordbg::S_OK;
        });
        proc.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(neutered);
  EXPECT_EQ(hr, cordbg::S_OK);
  EXPECT_EQ(bodies, 1);
}

TEST(RsObjectLifetime, ParentNeuterNeutersAndReleasesStrongChildrenAndNullsWeakBackPointers) {
  bool child_neutered = false, grandchild_neutered = false, child_deleted = true;
  bool weak_cleared = false, weak_set_before = false, grandchild_deleted = false;
  std::uint32_t child_internal = 99;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject appdomain(p, "CordbAppDomain", "ad");
        RsObject module(p, "CordbModule", "mod");
        RsObject function(p, "CordbFunction", "f");
        appdomain.add_strong_child(module);
        module.add_strong_child(function);
        module.set_weak_back_pointer(&appdomain);
        function.set_weak_back_pointer(&module);
        module.add_ref();  // the client still holds the module
        weak_set_before = module.weak_back_pointer() == &appdomain;
        neuter_locked(p, appdomain);
        child_neutered = module.neutered();
        grandchild_neutered = function.neutered();
        child_deleted = module.deleted();
        child_internal = module.internal_count();
        weak_cleared =
            module.weak_back_pointer() == nullptr && function.weak_back_pointer() == nullptr;
        grandchild_deleted = function.deleted();
        module.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(weak_set_before);
  EXPECT_TRUE(child_neutered);
  EXPECT_TRUE(grandchild_neutered);
  EXPECT_FALSE(child_deleted);  // neutered, memory valid: the client's reference
  EXPECT_EQ(child_internal, 0u);
  EXPECT_TRUE(weak_cleared);
  EXPECT_TRUE(grandchild_deleted);  // no external reference: deleted by the release
}

// ================================================================================================
// §4.2 neuter lists and Continue
// ================================================================================================

TEST(NeuterLists, NeuterAndClearEmptiesTheListAndNeutersEveryNode) {
  std::size_t before = 0, after = 99;
  bool all_neutered = false;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        NeuterList& list = p.continue_list();
        RsObject a(p, "CordbValueEnum", "a");
        RsObject b(p, "CordbValueEnum", "b");
        a.add_ref();
        b.add_ref();
        list.add(a);
        list.add(b);
        before = list.size();
        {
          RSLockHolder lock(p.process_lock());
          list.neuter_and_clear();
        }
        after = list.size();
        all_neutered = a.neutered() && b.neutered() && a.internal_count() == 0;
        a.release();
        b.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(before, 2u);
  EXPECT_EQ(after, 0u);
  EXPECT_TRUE(all_neutered);
}

TEST(NeuterLists, SweepAllNeuterAtWillKeepsObjectsStillReferenced) {
  bool dead_neutered = false, live_neutered = true, kept = false;
  std::size_t size = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject dead(p, "CordbValue", "dead");
        RsObject live(p, "CordbValue", "live");
        dead.add_ref();
        live.add_ref();
        p.exit_list().add(dead);
        p.exit_list().add(live);
        dead.release();
        p.exit_list().sweep_all_neuter_at_will();
        dead_neutered = dead.neutered() && dead.deleted();
        live_neutered = live.neutered();
        kept = p.exit_list().contains(live) && !p.exit_list().contains(dead);
        size = p.exit_list().size();
        live.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(dead_neutered);
  EXPECT_FALSE(live_neutered);
  EXPECT_TRUE(kept);
  EXPECT_EQ(size, 1u);
}

TEST(NeuterLists, LeftSideSweepFreesNeuterAtWillNodesAndSplicesSurvivorsBack) {
  bool survivor_intact = false, dead_cleaned = false, survivor_on_list = false;
  std::size_t size = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        HandleValue a(p, "a");
        HandleValue b(p, "b");
        HandleValue c(p, "c");
        a.add_ref();
        b.add_ref();
        c.add_ref();
        b.release();  // only b is NeuterAtWill
        {
          RSLockHolder stop_go(p.stop_go_lock());
          p.left_side_list().sweep_neuter_left_side_resources();
        }
        dead_cleaned = b.gc_handle().freed() && b.neutered() && b.deleted();
        survivor_intact = !a.neutered() && !c.neutered() && !a.gc_handle().freed() &&
                          !c.gc_handle().freed() && a.internal_count() == 1;
        survivor_on_list = p.left_side_list().contains(a) && p.left_side_list().contains(c) &&
                           !p.left_side_list().contains(b);
        size = p.left_side_list().size();
        a.release();
        c.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(dead_cleaned);
  EXPECT_TRUE(survivor_intact);
  EXPECT_TRUE(survivor_on_list);
  EXPECT_EQ(size, 2u);
}

/// A value on an AppDomain's sweepable list that owns a debuggee resource (a CordbReferenceValue
/// backed by a GC handle): NeuterLeftSideResources frees it, then neuters.
struct DomainValue : RsObject {
  DomainValue(Process& p, const std::string& name)
      : RsObject(p, "CordbReferenceValue", name), handle(p, "GC handle '" + name + "'") {}
  void neuter_left_side_resources(const std::source_location& where) override {
    handle.free(where);
    RsObject::neuter_left_side_resources(where);
  }
  LeftSideResource handle;
};

// The true Continue's sweeps in CordbProcess::ContinueInternal's order (DOMAIN.md §4.2, as
// corrected): ContinueNeuterList, drop the process lock, the LeftSideResource list (then the
// model's deferred cleanup queue), the Exit list, each AppDomain's sweepable list, which is a
// LeftSideResourceCleanupList (its values free their GC handles), re-take the lock, and only then
// FlushProcessRunning marks the stacks dirty (the RefreshStack lists). Issue 17 corrected this
// test: it pinned "mark stacks dirty" first and the AppDomain list swept as a plain NeuterList
// (SweepAllNeuterAtWillObjects: the GC handle of 'ref' was never freed).
TEST(NeuterLists, ContinueSweepsInTheDocumentedOrder) {
  std::vector<std::string> history;
  bool survivors = false, domain_handle_freed = false;
  ProcessState state = ProcessState::stopped;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        NeuterList& stack = p.add_refresh_stack_list("main");
        NeuterList& domain = p.add_appdomain_list("DefaultDomain");
        RsObject frame(p, "CordbILFrame", "frame");
        stack.add(frame);
        RsObject values(p, "CordbValueEnum", "enum");
        p.continue_list().add(values);
        HandleValue dead(p, "dead");
        dead.add_ref();
        dead.release();
        HandleValue kept(p, "kept");
        kept.add_ref();
        RsObject value(p, "CordbValue", "value");
        value.add_ref();
        p.exit_list().add(value);
        value.release();
        RsObject mda(p, "CordbMDA", "mda");
        mda.add_ref();
        p.exit_list().add(mda);
        RsObject assembly(p, "CordbAssembly", "asm");
        assembly.add_ref();
        domain.add(assembly);
        assembly.release();
        DomainValue ref(p, "ref");
        ref.add_ref();
        domain.add(ref);
        ref.release();
        LeftSideResource buffer(p, "func-eval buffer 'eval'");
        p.deferred_cleanup().enqueue(buffer);
        p.record_history(true);
        p.continue_();
        p.record_history(false);
        history = p.history();
        survivors = p.left_side_list().contains(kept) && !kept.neutered() &&
                    p.exit_list().contains(mda) && !mda.neutered() && stack.empty() &&
                    p.continue_list().empty() && p.deferred_cleanup().empty() && domain.empty();
        domain_handle_freed = ref.handle.freed();
        state = p.state();
        p.stop();
        kept.release();
        mda.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(survivors);
  EXPECT_TRUE(domain_handle_freed);
  EXPECT_EQ(state, ProcessState::running);
  const std::vector<std::string> expected = {
      "Continue #1",
      "ContinueNeuterList.NeuterAndClear",
      "neuter CordbValueEnum 'enum'",
      "delete CordbValueEnum 'enum'",
      "drop process lock",
      "sweep LeftSideResource list",
      "free GC handle 'dead'",
      "neuter CordbHandleValue 'dead'",
      "delete CordbHandleValue 'dead'",
      "drain deferred cleanup queue",
      "free func-eval buffer 'eval'",
      "sweep Exit list",
      "neuter CordbValue 'value'",
      "delete CordbValue 'value'",
      "sweep sweepable list of AppDomain 'DefaultDomain'",
      "free GC handle 'ref'",
      "neuter CordbReferenceValue 'ref'",
      "delete CordbReferenceValue 'ref'",
      "neuter CordbAssembly 'asm'",
      "delete CordbAssembly 'asm'",
      "re-take process lock",
      "mark stacks dirty",
      "neuter CordbILFrame 'frame'",
      "delete CordbILFrame 'frame'",
      "resume",
  };
  EXPECT_EQ(history, expected);
}

// --- the stop count and queued callbacks (DOMAIN.md §4.2, issue 17) ------------------------------

// Stop, Stop, Continue: the runtime returns S_OK and stays stopped, nothing is neutered; only the
// Continue matching the last Stop resumes and neuters; one more is superfluous.
TEST(StopCount, OnlyTheContinueMatchingTheLastStopResumesAndNeuters) {
  cordbg::HRESULT first = -1, second = -1, third = 0;
  ProcessState after_first = ProcessState::exited, after_second = ProcessState::exited;
  bool neutered_after_first = true, neutered_after_second = false;
  const hc::Result r = hc::explore(
      [&] {
        Process p("debuggee", ProcessState::running);
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        RsObject values(p, "CordbValueEnum", "enum");
        values.add_ref();
        p.continue_list().add(values);
        p.stop();
        p.stop();
        first = p.continue_();
        after_first = p.state();
        neutered_after_first = frame.neutered() || values.neutered();
        second = p.continue_();
        after_second = p.state();
        neutered_after_second = frame.neutered() && values.neutered();
        third = p.continue_();
        frame.release();
        values.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(first, cordbg::S_OK);
  EXPECT_EQ(after_first, ProcessState::stopped);
  EXPECT_FALSE(neutered_after_first);
  EXPECT_EQ(second, cordbg::S_OK);
  EXPECT_EQ(after_second, ProcessState::running);
  EXPECT_TRUE(neutered_after_second);
  EXPECT_EQ(static_cast<std::uint32_t>(third), 0x8013132Fu);  // CORDBG_E_SUPERFLOUS_CONTINUE
}

// The count as the model keeps it, and the history of a Continue that only counts down.
TEST(StopCount, CountsEveryStopAndEveryContinue) {
  std::vector<std::uint32_t> counts;
  std::vector<std::string> history;
  std::string superfluous;
  const hc::Result r = hc::explore(
      [&] {
        counts.clear();
        Process p;  // created stopped at its first event: one stop outstanding
        counts.push_back(p.stop_count());
        p.stop();  // already stopped: counted all the same
        counts.push_back(p.stop_count());
        p.record_history(true);
        p.continue_();
        counts.push_back(p.stop_count());
        p.continue_();
        counts.push_back(p.stop_count());
        superfluous = cordbg::hresult_name(p.continue_());
        counts.push_back(p.stop_count());
        history = p.history();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{1, 2, 1, 0, 0}));
  EXPECT_EQ(superfluous, "CORDBG_E_SUPERFLOUS_CONTINUE (0x8013132F)");
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[0], "Continue: stop count 1, stays stopped");
  EXPECT_EQ(history[1], "Continue #1");
  EXPECT_EQ(history.back(), "Continue: superfluous");
}

// With managed callbacks queued, the Continue that takes the count to 0 only lets the next
// callback be dispatched: "the LS is not actually continuing, and so our cached state is still
// valid" (process.cpp, ContinueInternal). Nothing is neutered, the process stays synchronized with
// the dispatched event's stop; the Continue after the last callback is the true one.
TEST(QueuedCallbacks, ContinueDispatchesTheNextCallbackAndNeutersNothing) {
  cordbg::HRESULT first = -1, second = -1;
  bool queued_before = false, queued_after = true, neutered_after_first = true;
  bool neutered_after_second = false;
  ProcessState after_first = ProcessState::exited, after_second = ProcessState::exited;
  std::uint32_t count_after_first = 0, true_continues_after_first = 99;
  std::vector<std::string> history;
  const hc::Result r = hc::explore(
      [&] {
        Process p;  // stopped at a Breakpoint callback
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        RsObject values(p, "CordbValueEnum", "enum");
        values.add_ref();
        p.continue_list().add(values);
        p.queue_callback("StepComplete");  // arrived with the breakpoint, not yet dispatched
        queued_before = p.has_queued_callbacks();
        p.record_history(true);
        first = p.continue_();
        after_first = p.state();
        count_after_first = p.stop_count();
        true_continues_after_first = p.continue_count();
        neutered_after_first = frame.neutered() || values.neutered();
        queued_after = p.has_queued_callbacks();
        second = p.continue_();
        after_second = p.state();
        neutered_after_second = frame.neutered() && values.neutered();
        p.record_history(false);
        history = p.history();
        frame.release();
        values.release();
        p.stop();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(queued_before);
  EXPECT_EQ(first, cordbg::S_OK);
  EXPECT_EQ(after_first, ProcessState::stopped);
  EXPECT_EQ(count_after_first, 1u);
  EXPECT_EQ(true_continues_after_first, 0u);
  EXPECT_FALSE(neutered_after_first);
  EXPECT_FALSE(queued_after);
  EXPECT_EQ(second, cordbg::S_OK);
  EXPECT_EQ(after_second, ProcessState::running);
  EXPECT_TRUE(neutered_after_second);
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[0], "Continue: dispatch queued callback StepComplete");
  EXPECT_EQ(history[1], "Continue #1");
}

TEST(NeuterLists, ExitNeutersEveryListAndLaterCallsAnswerTerminated) {
  cordbg::HRESULT stop = 0, cont = 0, detach = 0;
  bool all_neutered = false, all_freed = false;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        HandleValue hv(p, "hv");
        hv.add_ref();
        RsObject value(p, "CordbValue", "value");
        value.add_ref();
        p.exit_list().add(value);
        p.continue_();
        p.exit();
        all_neutered = hv.neutered() && value.neutered() && p.exit_list().empty() &&
                       p.left_side_list().empty();
        all_freed = hv.gc_handle().freed();
        stop = p.stop();
        cont = p.continue_();
        detach = p.detach();
        hv.release();
        value.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(all_neutered);
  EXPECT_TRUE(all_freed);
  EXPECT_EQ(static_cast<std::uint32_t>(stop), 0x80131301u);
  EXPECT_EQ(cont, cordbg::CORDBG_E_PROCESS_TERMINATED);
  EXPECT_EQ(detach, cordbg::CORDBG_E_PROCESS_TERMINATED);
}

TEST(Process, StopContinueAndDetachResults) {
  cordbg::HRESULT continue_running = 0, detach_running = 0, detach_stopped = 0, after = 0;
  ProcessState s1 = ProcessState::exited, s2 = ProcessState::exited, s3 = ProcessState::exited;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        p.continue_();
        s1 = p.state();
        continue_running = p.continue_();
        detach_running = p.detach();
        p.stop();
        s2 = p.state();
        detach_stopped = p.detach();
        s3 = p.state();
        after = p.stop();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(s1, ProcessState::running);
  // A Continue with no stop outstanding is CORDBG_E_SUPERFLOUS_CONTINUE (DOMAIN.md §4.2;
  // issue 17 corrected this line, which pinned CORDBG_E_PROCESS_NOT_SYNCHRONIZED, 0x80131302).
  EXPECT_EQ(static_cast<std::uint32_t>(continue_running), 0x8013132Fu);
  EXPECT_EQ(detach_running, cordbg::CORDBG_E_PROCESS_NOT_SYNCHRONIZED);
  EXPECT_EQ(s2, ProcessState::stopped);
  EXPECT_EQ(detach_stopped, cordbg::S_OK);
  EXPECT_EQ(s3, ProcessState::detached);
  EXPECT_EQ(static_cast<std::uint32_t>(after), 0x80131335u);
}

TEST(HandleValues, DisposedHandleAnswersHandleHasBeenDisposed) {
  cordbg::HRESULT first = -1, again = 0, deref = 0, deref_running = 0;
  bool freed = false;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        // The product's answer alone (the default reports the client's use: see below).
        p.disposed_handle_calls = DisposedHandlePolicy::return_hresult;
        HandleValue hv(p, "hv");
        HandleValue other(p, "other");
        hv.add_ref();
        other.add_ref();
        first = hv.dispose();
        freed = hv.gc_handle().freed();
        again = hv.dispose();
        deref = hv.dereference();
        p.continue_();  // both survive Continue: they are still referenced
        deref_running = other.dereference();
        p.stop();
        hv.release();
        other.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(first, cordbg::S_OK);
  EXPECT_TRUE(freed);
  EXPECT_EQ(static_cast<std::uint32_t>(again), 0x80131C01u);
  EXPECT_EQ(static_cast<std::uint32_t>(deref), 0x80131C01u);
  EXPECT_EQ(static_cast<std::uint32_t>(deref_running), 0x80131302u);
}

// handle_used_after_dispose (B17), the minimal trigger: a variables cache dereferences a handle
// value that the debugger thread disposed. The finding names both user lines, the HRESULT and
// the stuck-suspended outcome.
TEST(HandleValues, UseAfterDisposeIsReportedWithTheStuckSuspendedOutcome) {
  int dispose_line = 0, deref_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        HandleValue hv(p, "this");
        hv.add_ref();
        hc::thread cache("variables-cache", [&] {
          deref_line = __LINE__ + 1;
          hv.dereference();
        });
        dispose_line = __LINE__ + 1;
        hv.dispose();
        cache.join();
        hv.release();
        p.exit();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::handle_used_after_dispose,
                         "handle used after Dispose: thread 'variables-cache'");
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m, at_line(deref_line) +
                              ") calls Dereference on CordbHandleValue "
                              "'this', whose GC handle was disposed (Dispose by thread 'main'"))
      << m;
  EXPECT_TRUE(contains(m, at_line(dispose_line) + ")): it returns "
                                                  "CORDBG_E_HANDLE_HAS_BEEN_DISPOSED (0x80131C01)"))
      << m;
  EXPECT_TRUE(contains(m, "Outcome stuck-suspended: process 'debuggee' is stopped")) << m;
  EXPECT_TRUE(contains(m, "the debuggee stays suspended until Detach")) << m;
  EXPECT_EQ(r.findings[0].line, static_cast<std::uint32_t>(deref_line));
}

// Re-disposing is a use too (B17: "using or re-disposing").
TEST(HandleValues, ASecondDisposeIsReported) {
  int again_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        HandleValue hv(p, "watch");
        hv.add_ref();
        hv.dispose();
        again_line = __LINE__ + 1;
        hv.dispose();
        hv.release();
        p.exit();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::handle_used_after_dispose,
                         at_line(again_line) + ") calls Dispose on CordbHandleValue 'watch'");
}

// The clean counterpart: the cache entry is dropped under the cache lock before Dispose, and
// the cache dereferences only what it still holds, under the same lock. Every schedule under
// dfs and dpor: no finding, exhausted, the same outcomes.
TEST(HandleValues, DroppingTheCacheEntryBeforeDisposeExploresClean) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    Process p;
    HandleValue hv(p, "this");
    hv.add_ref();
    hc::mutex cache_lock{"variables cache"};
    HandleValue* cached = &hv;
    cordbg::HRESULT seen = cordbg::S_FALSE;
    hc::thread cache("variables-cache", [&] {
      std::lock_guard<hc::mutex> lock(cache_lock);
      if (cached != nullptr) seen = cached->dereference();
    });
    {
      std::lock_guard<hc::mutex> lock(cache_lock);
      cached = nullptr;
      HC_CHECK(hv.dispose() == cordbg::S_OK, "Dispose failed");
    }
    cache.join();
    hv.release();
    p.exit();
    outcomes.insert(cordbg::hresult_name(seen));
  });
  EXPECT_TRUE(r.dfs.findings.empty()) << first_message(r.dfs);
  EXPECT_TRUE(r.dpor.findings.empty()) << first_message(r.dpor);
  EXPECT_TRUE(r.dfs.stats.exhausted);
  EXPECT_TRUE(r.dpor.stats.exhausted);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"S_FALSE", "S_OK"}));
  EXPECT_EQ(r.dpor_outcomes, r.dfs_outcomes);
}

TEST(HandleValues, DisposeWhileRunningIsRefusedWithNotSynchronized) {
  cordbg::HRESULT hr = 0;
  bool freed = true;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        HandleValue hv(p, "hv");
        hv.add_ref();
        p.continue_();
        hr = hv.dispose();
        freed = hv.gc_handle().freed();
        p.stop();
        hv.release();
        p.exit();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(hr, cordbg::CORDBG_E_PROCESS_NOT_SYNCHRONIZED);
  EXPECT_FALSE(freed);
}

// ================================================================================================
// lock_order_violation (§4.3, O6)
// ================================================================================================

TEST(LockOrder, TakingStopGoWhileHoldingTheProcessLockIsAViolation) {
  int line_outer = 0, line_inner = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        line_outer = __LINE__ + 1;
        p.process_lock().lock();
        line_inner = __LINE__ + 1;
        p.stop_go_lock().lock();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::lock_order_violation);
  EXPECT_TRUE(contains(f.message, "thread 'main'")) << f.message;
  EXPECT_TRUE(contains(f.message, "takes 'Stop-Go Lock' (level 5)")) << f.message;
  EXPECT_TRUE(contains(f.message, "while holding 'Process Lock' (level 2)")) << f.message;
  EXPECT_TRUE(contains(f.message, at_line(line_inner))) << f.message;
  EXPECT_TRUE(contains(f.message, at_line(line_outer))) << f.message;
  EXPECT_FALSE(contains(f.signature, "step")) << f.signature;
}

TEST(LockOrder, TwoLocksOfTheSameLevelAreNeverHeldTogether) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RSLock process_list(p.threads(), "Process-List Lock", LockLevel::leaf);
        RSLock send(p.threads(), "Win32-Send Lock", LockLevel::leaf);
        process_list.lock();
        send.lock();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::lock_order_violation,
                         "takes 'Win32-Send Lock' (level 0) while holding "
                         "'Process-List Lock' (level 0)");
  EXPECT_TRUE(contains(r.findings[0].message, "the same level")) << r.findings[0].message;
}

TEST(LockOrder, RetakingANonReentrantLockIsAViolation) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        p.win32_event_thread_lock().lock();
        p.win32_event_thread_lock().lock();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::lock_order_violation,
                         "'Win32 Event Thread Lock' (level 4) again");
}

// Cordb::Neuter, wrong: neutering (which takes the process lock) under the process-list lock.
TEST(LockOrder, NeuteringProcessesUnderTheProcessListLockIsAViolation) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RSLock process_list(p.threads(), "Process-List Lock", LockLevel::leaf);
        RsObject proc(p, "CordbProcess", "proc");
        proc.add_ref();
        hc::thread debugger("debugger", [&] {
          process_list.lock();
          neuter_locked(p, proc);
          process_list.unlock();
        });
        debugger.join();
        proc.release();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::lock_order_violation);
  EXPECT_TRUE(contains(f.message, "thread 'debugger'")) << f.message;
  EXPECT_TRUE(contains(f.message,
                       "takes 'Process Lock' (level 2) while holding 'Process-List "
                       "Lock' (level 0)"))
      << f.message;
}

// Cordb::Neuter, right: copy the processes under the small lock, release it, then neuter each;
// meanwhile another thread uses the locks in decreasing order.
TEST(LockOrder, PrivatizeUnderTheSmallLockThenNeuterIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RSLock process_list(p.threads(), "Process-List Lock", LockLevel::leaf);
        RsObject proc(p, "CordbProcess", "proc");
        proc.add_ref();
        hc::thread debugger("debugger", [&] {
          process_list.lock();
          RsObject* copy = &proc;
          process_list.unlock();
          neuter_locked(p, *copy);
        });
        hc::thread user("user", [&] {
          RSLockHolder stop_go(p.stop_go_lock());
          RSLockHolder lock(p.process_lock());
          RSLockHolder list(process_list);
        });
        debugger.join();
        user.join();
        HC_CHECK(proc.neutered(), "the process was not neutered");
        proc.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// ================================================================================================
// left_side_cleanup_while_running (O5, B18)
// ================================================================================================

// The v1.0 design: the finalizer's final Release frees the GC handle while the debuggee runs.
TEST(LeftSideCleanup, FinalizerReleaseFreesTheGcHandleWhileTheDebuggeeRuns) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        HandleValue hv(p, "hv", HandleValue::ReleaseCleanup::free_in_release);
        hv.add_ref();
        hc::thread finalizer("finalizer", [&] { hv.release(); });
        p.continue_();
        finalizer.join();
        p.stop();
        p.exit();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::left_side_cleanup_while_running);
  EXPECT_EQ(f.thread_name, "finalizer");
  EXPECT_TRUE(contains(f.message, "thread 'finalizer'")) << f.message;
  EXPECT_TRUE(contains(f.message, "frees GC handle 'hv' in process 'debuggee'")) << f.message;
  EXPECT_TRUE(contains(f.message, "without holding the 'Stop-Go Lock' (level 5)")) << f.message;
}

TEST(LeftSideCleanup, ReleaseAfterContinueNamesTheRunningState) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        HandleValue hv(p, "hv", HandleValue::ReleaseCleanup::free_in_release);
        hv.add_ref();
        p.continue_();
        hc::thread finalizer("finalizer", [&] { hv.release(); });
        finalizer.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::left_side_cleanup_while_running);
  EXPECT_TRUE(
      contains(r.findings[0].message,
               "frees GC handle 'hv' in process 'debuggee', while the process is running (by "
               "Continue #1 on thread 'main'"))
      << r.findings[0].message;
}

// The fix (B18): Release only marks NeuterAtWill; the next Continue's LeftSideResource sweep
// frees the handle, on the thread that holds Stop-Go while the process is synchronized.
TEST(LeftSideCleanup, ReleaseDefersTheGcHandleToTheNextStopCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        HandleValue hv(p, "hv");
        hv.add_ref();
        hc::thread finalizer("finalizer", [&] { hv.release(); });
        p.continue_();
        p.stop();
        p.continue_();
        finalizer.join();
        p.stop();
        p.continue_();
        HC_CHECK(hv.gc_handle().freed(), "GC handle not freed");
        HC_CHECK(hv.gc_handle().freed_by()->thread_name == "main", "freed on {}",
                 hv.gc_handle().freed_by()->thread_name);
        HC_CHECK(hv.deleted() && hv.neutered(), "hv not neutered and deleted");
        HC_CHECK(p.left_side_list().empty(), "left-side list not empty");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// The fix with an explicit Dispose while stopped: the finalizer's Release has nothing left.
TEST(LeftSideCleanup, DisposeWhileStoppedThenReleaseAnywhereIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        HandleValue hv(p, "hv", HandleValue::ReleaseCleanup::free_in_release);
        hv.add_ref();
        HC_CHECK(hv.dispose() == cordbg::S_OK, "Dispose failed");
        hc::thread finalizer("finalizer", [&] { hv.release(); });
        p.continue_();
        finalizer.join();
        p.stop();
        p.continue_();
        HC_CHECK(hv.deleted(), "hv not deleted");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
}

TEST(LeftSideCleanup, FreeingUnderTheProcessLockIsAViolation) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        LeftSideResource buffer(p, "func-eval buffer 'eval'");
        RSLockHolder stop_go(p.stop_go_lock());
        RSLockHolder lock(p.process_lock());
        buffer.free();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::left_side_cleanup_while_running,
                         "while holding the 'Process Lock' (level 2)");
  EXPECT_FALSE(contains(r.findings[0].message, "without holding the 'Stop-Go Lock'"))
      << r.findings[0].message;
}

TEST(LeftSideCleanup, SweepingWithoutStopGoIsAViolationEvenWhenEmpty) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        p.left_side_list().sweep_neuter_left_side_resources();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::left_side_cleanup_while_running,
                         "sweeps the LeftSideResource list");
}

// A destructor that frees its func-eval buffer directly vs. one that queues it (B18's fix).
class EvalHolder : public RsObject {
 public:
  EvalHolder(Process& p, std::string name, bool defer)
      : RsObject(p, "CordbEval", name),
        buffer_(p, "func-eval buffer '" + name + "'"),
        defer_(defer) {}
  LeftSideResource& buffer() { return buffer_; }

 protected:
  void on_destroy(const std::source_location& where) override {
    if (defer_) {
      process().deferred_cleanup().enqueue(buffer_, where);
    } else {
      buffer_.free(where);
    }
  }

 private:
  LeftSideResource buffer_;
  bool defer_;
};

TEST(LeftSideCleanup, DestructorFreeingOnTheFinalizerWhileRunningIsAViolation) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        EvalHolder eval(p, "eval", /*defer=*/false);
        eval.add_ref();
        {
          RSLockHolder lock(p.process_lock());
          eval.neuter();
        }
        p.continue_();
        hc::thread finalizer("finalizer", [&] { eval.release(); });
        finalizer.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::left_side_cleanup_while_running);
  EXPECT_TRUE(contains(r.findings[0].message, "thread 'finalizer'")) << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "frees func-eval buffer 'eval'"))
      << r.findings[0].message;
}

TEST(LeftSideCleanup, DestructorQueueingForTheNextContinueIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        EvalHolder eval(p, "eval", /*defer=*/true);
        eval.add_ref();
        {
          RSLockHolder lock(p.process_lock());
          eval.neuter();
        }
        hc::thread finalizer("finalizer", [&] { eval.release(); });
        p.continue_();
        finalizer.join();
        // Queued by the finalizer's destructor; freed by the first Continue that drains it.
        HC_CHECK(eval.buffer().freed() != (p.deferred_cleanup().size() == 1), "queue size {}",
                 p.deferred_cleanup().size());
        p.stop();
        p.continue_();
        HC_CHECK(eval.buffer().freed(), "not freed at the next Continue");
        HC_CHECK(eval.buffer().freed_by()->thread_name == "main", "freed on '{}'",
                 eval.buffer().freed_by()->thread_name);
        HC_CHECK(p.deferred_cleanup().empty(), "queue not drained");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// ================================================================================================
// heavy_cleanup_in_destructor (the seed: don't do complicated work in Release)
// ================================================================================================

class NeuteringDestructor : public RsObject {
 public:
  NeuteringDestructor(Process& p, std::string name, RsObject* cached)
      : RsObject(p, "CordbFrame", std::move(name)), cached_(cached) {}

 protected:
  void on_destroy(const std::source_location& where) override {
    if (cached_ == nullptr) return;
    RSLockHolder lock(process().process_lock(), where);
    cached_->neuter(where);  // the bug: neutering from a destructor
  }

 private:
  RsObject* cached_;
};

TEST(HeavyCleanup, DestructorThatNeutersIsReported) {
  int line = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject value(p, "CordbValue", "cached");
        value.add_ref();
        NeuteringDestructor frame(p, "frame", &value);
        frame.add_ref();
        p.continue_list().add(frame);
        p.continue_();
        hc::thread finalizer("finalizer", [&] {
          line = __LINE__ + 1;
          frame.release();
        });
        finalizer.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::heavy_cleanup_in_destructor);
  EXPECT_TRUE(contains(f.message, "thread 'finalizer'")) << f.message;
  EXPECT_TRUE(contains(f.message,
                       "neuters CordbValue 'cached' inside the destructor of "
                       "CordbFrame 'frame'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(line))) << f.message;
}

// The fix: the frame's value is a strong child, neutered by the frame's Neuter at Continue;
// the destructor is trivial, whichever thread runs it.
TEST(HeavyCleanup, ChildNeuteredByTheParentsNeuterIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "cached");
        value.add_ref();
        NeuteringDestructor frame(p, "frame", nullptr);
        frame.add_strong_child(value);
        frame.add_ref();
        p.continue_list().add(frame);
        hc::thread finalizer("finalizer", [&] { frame.release(); });
        p.continue_();
        finalizer.join();
        HC_CHECK(value.neutered() && frame.deleted(), "not cleaned up");
        value.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

class IpcOnDestroy : public RsObject {
 public:
  IpcOnDestroy(Process& p, std::string name, bool in_destructor)
      : RsObject(p, "CordbValue", std::move(name)), in_destructor_(in_destructor) {}

  void neuter_left_side_resources(const std::source_location& where) override {
    if (!in_destructor_) process().send_ipc("DB_IPCE_RELEASE_VALUE", where);
    RsObject::neuter_left_side_resources(where);
  }

 protected:
  void on_destroy(const std::source_location& where) override {
    if (in_destructor_) process().send_ipc("DB_IPCE_RELEASE_VALUE", where);
  }

 private:
  bool in_destructor_;
};

// Wherever the finalizer's Release falls, the last reference goes in a Continue's sweep, whose
// release runs the destructor, and the destructor sends IPC: heavy cleanup in every schedule.
TEST(HeavyCleanup, IpcFromTheDestructorIsReportedInEverySchedule) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        IpcOnDestroy value(p, "v", /*in_destructor=*/true);
        value.add_ref();
        p.left_side_list().add(value);
        hc::thread finalizer("finalizer", [&] { value.release(); });
        p.continue_();
        finalizer.join();
        p.stop();
        p.continue_();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::heavy_cleanup_in_destructor,
                         "sends IPC event DB_IPCE_RELEASE_VALUE to process 'debuggee' inside the "
                         "destructor of CordbValue 'v'");
}

TEST(HeavyCleanup, IpcFromNeuterLeftSideResourcesAtTheSafePointIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        IpcOnDestroy value(p, "v", /*in_destructor=*/false);
        value.add_ref();
        p.left_side_list().add(value);
        hc::thread finalizer("finalizer", [&] { value.release(); });
        p.continue_();
        finalizer.join();
        p.stop();
        p.continue_();
        HC_CHECK(value.deleted(), "value not deleted");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
}

class StopGoInRelease : public RsObject {
 public:
  using RsObject::RsObject;

 protected:
  void on_final_external_release(const std::source_location& where) override {
    RSLockHolder stop_go(process().stop_go_lock(), where);
  }
};

TEST(HeavyCleanup, TakingStopGoInsideTheFinalReleaseIsReported) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        StopGoInRelease value(p, "CordbValue", "v");
        value.add_ref();
        p.exit_list().add(value);
        value.release();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::heavy_cleanup_in_destructor,
                         "takes the 'Stop-Go Lock' (level 5) inside the "
                         "final Release of CordbValue 'v'");
}

// Inside Continue's LeftSideResource sweep O5 holds (Stop-Go, synchronized, no process lock),
// but the free happens in the destructor the sweep's release ran: still heavy cleanup.
TEST(HeavyCleanup, LeftSideFreeFromADestructorInsideTheSweepIsReported) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        EvalHolder eval(p, "eval", /*defer=*/false);
        eval.add_ref();
        p.left_side_list().add(eval);
        eval.release();
        p.continue_();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::heavy_cleanup_in_destructor,
                         "frees func-eval buffer 'eval' in process "
                         "'debuggee' inside the destructor of CordbEval "
                         "'eval'");
}

// ================================================================================================
// neutered_object_call (B16)
// ================================================================================================

TEST(NeuteredCall, UncheckedMethodSucceedingAfterContinueIsReported) {
  int line = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        p.continue_();
        line = __LINE__ + 1;
        frame.call("GetIP", NeuterCheck::unchecked, [] { return cordbg::S_OK; });
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  const hc::Finding& f = r.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::neutered_object_call);
  EXPECT_TRUE(contains(f.message, "thread 'main'")) << f.message;
  EXPECT_TRUE(contains(f.message, "calls CordbILFrame 'frame'.GetIP, which returns S_OK"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "neutered at Continue #1 by thread 'main'")) << f.message;
  EXPECT_TRUE(contains(f.message, at_line(line))) << f.message;
}

TEST(NeuteredCall, UncheckedMethodFailingOnANeuteredObjectIsNotReported) {
  cordbg::HRESULT hr = 0;
  const hc::Result r = hc::explore(
      [&] {
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        p.continue_();
        hr = frame.call("GetIP", NeuterCheck::unchecked, [] { return cordbg::E_FAIL; });
        frame.release();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_EQ(hr, cordbg::E_FAIL);
}

// A UI thread calls a frame method while main continues: with the check missing, the call
// succeeds on a neutered frame in the schedules where Continue comes first.
TEST(NeuteredCall, RaceWithContinueFindsTheUncheckedMethod) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        hc::thread ui("ui", [&] {
          frame.call("GetIP", NeuterCheck::unchecked, [] { return cordbg::S_OK; });
          frame.release();
        });
        p.continue_();
        ui.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::neutered_object_call);
  EXPECT_EQ(r.findings[0].thread_name, "ui");
}

TEST(NeuteredCall, CheckedMethodRacingWithContinueIsCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        hc::thread ui("ui", [&] {
          const cordbg::HRESULT hr =
              frame.call("GetIP", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; });
          HC_CHECK(hr == cordbg::S_OK || hr == cordbg::CORDBG_E_OBJECT_NEUTERED, "hr {}",
                   cordbg::hresult_name(hr));
          HC_CHECK((hr == cordbg::S_OK) == !frame.neutered(), "result {} disagrees with state",
                   cordbg::hresult_name(hr));
          frame.release();
        });
        p.continue_();
        ui.join();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

TEST(NeuteredCall, ReportPolicyFlagsCachedFramesUsedAfterContinue) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        p.neutered_calls = NeuteredCallPolicy::report;
        RsObject frame(p, "CordbILFrame", "frame");
        frame.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        p.continue_();
        p.stop();
        p.continue_();
        frame.call("GetIP", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; });
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::neutered_object_call,
                         "CordbILFrame 'frame'.GetIP, which was neutered at "
                         "Continue #1");
}

TEST(NeuteredCall, OkIfNeuteredMethodTakingALockIsReported) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject proc(p, "CordbProcess", "proc");
        proc.add_ref();
        neuter_locked(p, proc);
        proc.call("GetHandle", NeuterCheck::ok_if_neutered, [&] {
          RSLockHolder lock(p.process_lock());
          return cordbg::S_OK;
        });
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::neutered_object_call,
                         "OK_IF_NEUTERED method CordbProcess "
                         "'proc'.GetHandle of a neutered object takes RS "
                         "lock 'Process Lock' (level 2)");
}

// ================================================================================================
// refcount_underflow, use_after_destruction, the product's asserts
// ================================================================================================

TEST(Refcount, ExtraExternalReleaseIsAnUnderflow) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "v");
        p.exit_list().add(value);
        value.add_ref();
        hc::thread a("client-a", [&] { value.release(); });
        hc::thread b("client-b", [&] { value.release(); });
        a.join();
        b.join();
      },
      exhaustive());
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::refcount_underflow);
  EXPECT_TRUE(contains(r.findings[0].message, "extra external Release")) << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message,
                       "releases CordbValue 'v', whose external count is "
                       "already 0 (internal 1)"))
      << r.findings[0].message;
}

TEST(Refcount, BalancedReleasesFromTwoThreadsAreCleanExhaustively) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "v");
        p.exit_list().add(value);
        value.add_ref();
        value.add_ref();
        hc::thread a("client-a", [&] { value.release(); });
        hc::thread b("client-b", [&] { value.release(); });
        a.join();
        b.join();
        HC_CHECK(value.neuter_at_will() && value.external_count() == 0, "count {:#x}",
                 value.mixed_count());
        p.exit();
        HC_CHECK(value.deleted(), "not deleted at exit");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << first_message(r);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

TEST(Refcount, CallOnADeletedObjectIsUseAfterDestruction) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "v");
        value.add_ref();
        neuter_locked(p, value);
        value.release();
        value.call("GetType", NeuterCheck::ok_if_neutered, [] { return cordbg::S_OK; });
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::use_after_destruction,
                         "calls GetType on CordbValue 'v', which was deleted "
                         "by thread 'main'");
}

TEST(Asserts, NeuterWithoutTheProcessLockIsAnAssertion) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "v");
        value.neuter();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::check_failure,
                         "ICorDebug assertion failed: thread 'main'");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "neuters CordbValue 'v' without holding the "
                       "'Process Lock' (level 2)"))
      << r.findings[0].message;
}

TEST(Asserts, NeuterAndClearWithoutTheProcessLockIsAnAssertion) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        p.continue_list().neuter_and_clear();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::check_failure, "NeuterAndClear on the Continue list");
}

TEST(Asserts, DeletingAnObjectThatWasNeverNeuteredIsAnAssertion) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject value(p, "CordbValue", "v");
        value.add_ref();
        value.release();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::check_failure,
                         "CordbValue 'v' is deleted by thread 'main'");
}

TEST(Asserts, AStrongReferenceCycleIsAnAssertion) {
  const hc::Result r = hc::explore(
      [] {
        Process p;
        RsObject a(p, "CordbThread", "t");
        RsObject b(p, "CordbChain", "c");
        a.add_strong_child(b);
        b.add_strong_child(a);
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::check_failure, "cycle of strong references");
}

// ================================================================================================
// dpor: the footprints the model declares
// ================================================================================================

// dpor orders two steps only when their footprints conflict (count and state words, lists, the
// process state, ...): against exhaustive dfs it reaches the same outcomes (what the client's
// calls returned, what was neutered, deleted and freed) in far fewer executions (16 against
// 487635).
TEST(NeuterDpor, ReachesTheOutcomesOfDfsInFewerExecutions) {
  const hc::test::DfsAndDpor r =
      hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
        Process p;
        RsObject frame(p, "CordbILFrame", "frame");
        RsObject value(p, "CordbValue", "value");
        HandleValue hv(p, "hv");
        frame.add_strong_child(value);
        frame.add_ref();
        hv.add_ref();
        p.add_refresh_stack_list("main").add(frame);
        cordbg::HRESULT ip = cordbg::S_OK;
        cordbg::HRESULT deref = cordbg::S_OK;
        hc::thread client("client", [&] {
          ip = frame.call("GetIP", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; });
          deref = hv.dereference();
          hv.release();
        });
        hc::thread debugger("debugger", [&] {
          p.continue_();
          p.stop();
          p.continue_();
        });
        client.join();
        debugger.join();
        frame.release();
        outcomes.insert(fmt::format(
            "{} {} frame {}{} value {}{} hv {}{}{}", cordbg::hresult_name(ip),
            cordbg::hresult_name(deref), frame.neutered(), frame.deleted(), value.neutered(),
            value.deleted(), hv.neutered(), hv.deleted(), hv.gc_handle().freed()));
      });
  const hc::Result& dfs = r.dfs;
  const hc::Result& dpor = r.dpor;
  const std::set<std::string>& by_dfs = r.dfs_outcomes;
  const std::set<std::string>& by_dpor = r.dpor_outcomes;
  EXPECT_TRUE(dfs.findings.empty()) << first_message(dfs);
  EXPECT_TRUE(dpor.findings.empty()) << first_message(dpor);
  EXPECT_EQ(by_dpor, by_dfs);
  EXPECT_GT(by_dfs.size(), 2u);
  EXPECT_LT(dpor.stats.executions, dfs.stats.executions);
}

}  // namespace

// The traced GC (issue 17 item 2): Ref fields of managed objects are edges of an object graph,
// reachability is traced from the roots, f-reachable objects are promoted with what they
// reference, unreachable cycles are collected, the order of critical finalizers is explored as
// well as that of normal ones, long weak references outlive their target's finalizer, and what
// is still queued at process exit is drained before the handle tables' leak checks.
//
// Each test failed on the root-counting model this replaces (which assertion, in its comment).
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"
#include "test_support.hpp"

namespace {

using hc::models::Gc;
using hc::models::GcOptions;
using hc::models::HandleTable;
using hc::models::ManagedObject;
using hc::models::ObjectType;
using hc::models::Ref;
using hc::models::SafeHandle;
using hc::models::SafeHandleOptions;
using hc::models::WeakRef;
using hc::test::contains;
using hc::test::exhaustive;

/// A managed object with a normal (or critical) finalizer running `body`, and one Ref field.
struct Node : ManagedObject {
  Node(Gc& gc, std::string_view name, bool has_finalizer = true, bool critical = false,
       std::function<void()> body = {})
      : ManagedObject(gc, "Node", name, has_finalizer, critical), body_(std::move(body)) {}
  void finalize() override {
    if (body_) body_();
  }
  Ref<Node> next;  // a field: an edge, not a root
  std::function<void()> body_;
};

/// The natural wrapper: a normal finalizer and a SafeHandle field.
struct Wrapper : ManagedObject {
  explicit Wrapper(Gc& gc) : ManagedObject(gc, "FileStream", "log", /*has_finalizer=*/true) {}
  void finalize() override {
    // The wrapper's finalizer runs before its field's critical one (same collection): the
    // handle is still open here.
    HC_CHECK(!file->IsClosed(), "the wrapper's finalizer found its SafeHandle already closed");
    flushed = true;
  }
  Ref<SafeHandle> file;
  bool flushed = false;
};

// Old model: the field was a root, so the SafeHandle was never finalized ("finalized 0").
TEST(TracedGc, AWrapperIsFinalizedWithItsSafeHandleFieldNormalBeforeCritical) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable table;
        Gc gc;
        Ref<Wrapper> w = gc.allocate<Wrapper>(gc);
        w->file = gc.allocate<SafeHandle>(
            gc, table, SafeHandleOptions{.type_name = "SafeFileHandle", .name = "log"});
        w->file->SetHandle(table.create(ObjectType::file, "log", w->file->label()));
        SafeHandle& file = *w->file;
        Wrapper& wrapper = *w;
        w.last_use();  // the wrapper, and with it its field, is unreachable
        gc.collect();
        gc.wait_for_pending_finalizers();
        HC_CHECK(wrapper.times_finalized() == 1 && file.times_finalized() == 1,
                 "wrapper finalized {}, its SafeHandle field finalized {}",
                 wrapper.times_finalized(), file.times_finalized());
        HC_CHECK(wrapper.flushed, "the wrapper's finalizer did not run");
        const std::vector<std::string> order = gc.finalization_order();
        HC_CHECK(order == (std::vector<std::string>{"FileStream 'log'", "SafeFileHandle 'log'"}),
                 "finalization order {}", fmt::join(order, ", "));
        HC_CHECK(file.IsClosed(), "the SafeHandle's finalizer did not close it");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// A field keeps its target alive exactly as long as its holder is reachable. Old model: the
// field was a root ("the child is still reachable without its holder").
TEST(TracedGc, AFieldKeepsItsTargetAliveAsLongAsItsHolder) {
  const hc::Result r = hc::explore(
      [] {
        Gc gc;
        Ref<Node> holder = gc.allocate<Node>(gc, "holder");
        holder->next = gc.allocate<Node>(gc, "child");
        Node& child = *holder->next;
        Node& parent = *holder;
        gc.collect();
        gc.wait_for_pending_finalizers();
        HC_CHECK(child.times_finalized() == 0 && child.reachable(),
                 "a field of a rooted object was collected");
        holder.reset();  // the holder goes, and with it the only path to the child
        HC_CHECK(!child.reachable(), "the child is still reachable without its holder");
        gc.collect();
        gc.wait_for_pending_finalizers();
        HC_CHECK(parent.times_finalized() == 1 && child.times_finalized() == 1,
                 "holder finalized {}, child finalized {}", parent.times_finalized(),
                 child.times_finalized());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// Old model: the two field Refs were roots, so neither node was ever finalized ("a finalized 0").
TEST(TracedGc, AnUnreachableCycleIsCollectedAndBothAreFinalized) {
  const hc::Result r = hc::explore(
      [] {
        Gc gc;
        Ref<Node> a = gc.allocate<Node>(gc, "a");
        Ref<Node> b = gc.allocate<Node>(gc, "b");
        a->next = b;
        b->next = a;
        Node& na = *a;
        Node& nb = *b;
        // A cycle without finalizers, watched by a short weak reference.
        Ref<Node> c = gc.allocate<Node>(gc, "c", /*has_finalizer=*/false);
        Ref<Node> d = gc.allocate<Node>(gc, "d", /*has_finalizer=*/false);
        c->next = d;
        d->next = c;
        WeakRef<Node> weak_c(*c, WeakRef<Node>::Kind::short_weak);
        a.reset();
        b.reset();
        c.reset();
        d.reset();
        gc.collect();
        HC_CHECK(weak_c.cleared(), "the collection kept an unreachable cycle");
        gc.wait_for_pending_finalizers();
        HC_CHECK(na.times_finalized() == 1 && nb.times_finalized() == 1,
                 "a finalized {}, b finalized {}", na.times_finalized(), nb.times_finalized());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// Old model: critical entries were dequeued in allocation order: dfs saw only "ab".
TEST(TracedGc, BothOrdersOfTwoCriticalFinalizersAreExplored) {
  const hc::test::DfsAndDpor r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& orders) {
    std::string order;  // appended on the finalizer thread, read after it drained
    {
      Gc gc;
      auto note = [&order](const char* name) { return [&order, name] { order += name; }; };
      gc.make<Node>(gc, "a", true, /*critical=*/true, note("a"));
      gc.make<Node>(gc, "b", true, /*critical=*/true, note("b"));
      gc.collect();
      gc.wait_for_pending_finalizers();
    }
    orders.insert(order);
  });
  EXPECT_TRUE(r.dfs.findings.empty()) << r.dfs.findings.front().message;
  EXPECT_TRUE(r.dpor.findings.empty()) << r.dpor.findings.front().message;
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"ab", "ba"}));
  EXPECT_EQ(r.dpor_outcomes, r.dfs_outcomes);
}

// The order explored among normal ones stays, and normal ones still come first; with
// explore_finalizer_order off, queue order (allocation order) is the only one. (Old model: no
// such option; with the order explored it saw only abCD and baCD.)
TEST(TracedGc, NormalFinalizersComeFirstAndTheOrderChoiceCanBeTurnedOff) {
  auto orders_seen = [](bool explore_order) {
    std::set<std::string> orders;
    const hc::Result r = hc::explore(
        [&] {
          std::string order;
          {
            Gc gc(GcOptions{.explore_finalizer_order = explore_order});
            auto note = [&order](const char* name) { return [&order, name] { order += name; }; };
            gc.make<Node>(gc, "C", true, /*critical=*/true, note("C"));
            gc.make<Node>(gc, "D", true, /*critical=*/true, note("D"));
            gc.make<Node>(gc, "a", true, false, note("a"));
            gc.make<Node>(gc, "b", true, false, note("b"));
            gc.collect();
            gc.wait_for_pending_finalizers();
          }
          orders.insert(order);
        },
        exhaustive());
    EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
    return orders;
  };
  EXPECT_EQ(orders_seen(true), (std::set<std::string>{"abCD", "abDC", "baCD", "baDC"}));
  EXPECT_EQ(orders_seen(false), (std::set<std::string>{"abCD"}));
}

// DOMAIN.md §3.2 step 4. Old model: the finalizer's own collection cleared the long weak
// reference ("cleared while its target's finalizer runs"), since the running object had no
// root and was no longer queued.
TEST(TracedGc, ALongWeakReferenceReturnsItsTargetUntilItIsFinalizedAndUnreachable) {
  const hc::Result r = hc::explore(
      [] {
        Gc gc;
        WeakRef<Node>* longw = nullptr;
        WeakRef<Node>* shortw = nullptr;
        Node& o = gc.make<Node>(gc, "session", true, false, [&] {
          gc.collect();  // another collection while the finalizer runs
          HC_CHECK(!longw->cleared(),
                   "the long weak reference was cleared while its target's "
                   "finalizer still runs");
          Ref<Node> again = longw->target();
          HC_CHECK(again.get() != nullptr,
                   "WeakReference.Target returned null during the "
                   "finalizer");
        });
        WeakRef<Node> l(o, WeakRef<Node>::Kind::long_weak);
        WeakRef<Node> s(o, WeakRef<Node>::Kind::short_weak);
        longw = &l;
        shortw = &s;
        gc.collect();  // queued: the short one goes, the long one stays
        HC_CHECK(shortw->cleared() && !longw->cleared(), "short cleared {}, long cleared {}",
                 shortw->cleared(), longw->cleared());
        gc.wait_for_pending_finalizers();
        HC_CHECK(o.times_finalized() == 1, "finalized {}", o.times_finalized());
        gc.collect();  // finalized and unreachable: now the long one goes too
        HC_CHECK(longw->cleared(), "the long weak reference outlived its finalized target");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// B24 trigger 3 while the finalizer runs: a long weak reference hands out the object between
// its finalizer's start and its return; using it then is a use of a finalized object. The
// finalizer's own calls on its object are not. Old model: use() read the count of finalizer
// runs that returned (0 here): no finding.
TEST(TracedGc, AUseWhileItsFinalizerRunsIsAUseOfAFinalizedObjectButNotByThatFinalizer) {
  const hc::Result r = hc::explore(
      [] {
        Gc gc;
        hc::event started(hc::event::reset_mode::manual, false, "finalizer started");
        hc::event proceed(hc::event::reset_mode::manual, false, "finalizer may proceed");
        Node* self = nullptr;
        Node& o = gc.make<Node>(gc, "session", true, false, [&] {
          self->use("Flush");  // its own finalizer: fine
          started.set();
          proceed.wait();
        });
        self = &o;
        WeakRef<Node> longw(o, WeakRef<Node>::Kind::long_weak);
        gc.collect();
        started.wait();
        if (Ref<Node> again = longw.target()) again->use("Refresh");
        proceed.set();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::use_of_finalized_object,
                         "called Refresh on Node 'session' after its finalizer started, while "
                         "it still runs (started by thread 'finalizer'");
}

// Old model: at process exit the finalizer thread stopped with the SafeHandle still queued, so
// the table's leak check reported "1 handle ... still open (leaked)" in correct code.
TEST(TracedGc, FinalizersStillQueuedAtTheEndAreDrainedBeforeTheLeakCheck) {
  const hc::Result r = hc::explore(
      [] {
        HandleTable table;
        Gc gc(GcOptions{.background_collections = 1});
        {
          Ref<SafeHandle> h = gc.allocate<SafeHandle>(
              gc, table, SafeHandleOptions{.type_name = "SafeFileHandle", .name = "tmp"});
          h->SetHandle(table.create(ObjectType::file, "tmp", h->label()));
          h.last_use();
        }
        gc.collect();  // queues it if the background collection did not; nobody waits
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// A background collection against a user thread that moves a SafeHandle from a local into a
// wrapper's field and drops the wrapper: whether anything is finalized before the end depends
// on when the collection comes; dpor (the declared footprints, audited) reaches every outcome of
// dfs, in fewer executions.
TEST(TracedGcDpor, FieldMovesAgainstABackgroundCollectionReachTheOutcomesOfDfs) {
  const hc::test::DfsAndDpor r =
      hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
        HandleTable table{{.report_leaks = false}};  // not collected at all: a leak, not the point
        Gc gc(GcOptions{.background_collections = 1});
        Ref<Wrapper> w = gc.allocate<Wrapper>(gc);
        Ref<SafeHandle> h = gc.allocate<SafeHandle>(
            gc, table, SafeHandleOptions{.type_name = "SafeFileHandle", .name = "log"});
        h->SetHandle(table.create(ObjectType::file, "log", h->label()));
        Wrapper& wrapper = *w;
        SafeHandle& file = *h;
        hc::thread user("user", [&] {
          w->file = std::move(h);  // root -> field: one "move reference"
          w.reset();
        });
        user.join();
        gc.wait_for_pending_finalizers();
        outcomes.insert(
            fmt::format("wrapper {} file {}", wrapper.times_finalized(), file.times_finalized()));
      });
  EXPECT_TRUE(r.dfs.findings.empty()) << r.dfs.findings.front().message;
  EXPECT_TRUE(r.dpor.findings.empty()) << r.dpor.findings.front().message;
  EXPECT_EQ(r.dpor_outcomes, r.dfs_outcomes);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"wrapper 0 file 0", "wrapper 1 file 1"}));
  EXPECT_LT(r.dpor.stats.executions, r.dfs.stats.executions);
}

}  // namespace

// The COM object model: IUnknown counts, destruction on the releasing thread,
// cascades, weak back-pointers, ComPtr semantics, and the four findings (use
// after destruction, AddRef from zero, double destruction, refcount underflow),
// each with its correct counterpart explored clean exhaustively.
#include "hc/models/com_object.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using hc::FindingKind;
using hc::models::ComObject;
using hc::models::ComPtr;
using hc::models::ComState;
using hc::models::ComWeak;
using hc::models::ComWorld;
using hc::test::exhaustive;

using hc::test::contains;

std::string current_thread_name() {
  return std::string(hc::rt::thread_name(hc::rt::current_thread()));
}

std::string at_line(int line) {
  return "com_object_test.cpp:" + std::to_string(line);
}

const hc::Finding& only_finding(const hc::Result& r) {
  EXPECT_EQ(r.findings.size(), 1u);
  static const hc::Finding none{};
  return r.findings.empty() ? none : r.findings.front();
}

/// A leaf object that records who ran its destructor body, and when.
struct Widget : ComObject {
  explicit Widget(std::vector<std::string>* log = nullptr) : ComObject("Widget"), log_(log) {}
  void on_destroy() override {
    destroyed_on = current_thread_name();
    destroyed_at = hc::rt::current_step();
    if (log_ != nullptr) log_->push_back(name() + " destroyed on " + destroyed_on);
  }
  std::string title = "untitled";
  std::string destroyed_on;
  std::uint32_t destroyed_at = 0;

 private:
  std::vector<std::string>* log_;
};

/// A container that owns children and whose children point back at it weakly.
struct Document;
struct Page : ComObject {
  Page() : ComObject("Page") {}
  ComWeak<Document> parent;  // back-pointer: no reference
  bool call_parent_in_destructor = false;
  std::vector<std::string>* log = nullptr;
  void on_destroy() override;
};

struct Document : ComObject {
  explicit Document(std::vector<std::string>* log = nullptr) : ComObject("Document"), log_(log) {}
  ComPtr<Page> first;
  ComPtr<Page> second;
  std::uint32_t destroyed_at = 0;
  void on_destroy() override {
    destroyed_at = hc::rt::current_step();
    if (log_ != nullptr) log_->push_back("doc destroying on " + current_thread_name());
    first.reset();
    second.reset();
    if (log_ != nullptr) log_->push_back("doc destroyed");
  }

 private:
  std::vector<std::string>* log_;
};

void Page::on_destroy() {
  // A child calling back into its parent during the parent's cascade: same
  // thread, legal.
  if (call_parent_in_destructor) parent.use("OnChildGone");
  if (log != nullptr) log->push_back(name() + " destroyed on " + current_thread_name());
}

// --- transitions
// -----------------------------------------------------------------------------

TEST(ComObjectCounts, AddRefAndReleaseReturnTheNewCount) {
  std::vector<std::uint32_t> seen;
  ComState final_state = ComState::alive;
  const hc::Result r = hc::explore(
      [&] {
        seen.clear();
        ComWorld world;
        Widget* w = world.make<Widget>("w").detach();  // the creator's reference: count 1
        seen.push_back(w->count());
        seen.push_back(w->AddRef());
        seen.push_back(w->AddRef());
        seen.push_back(w->Release());
        seen.push_back(w->Release());
        seen.push_back(w->Release());
        final_state = w->state();
        HC_CHECK(world.alive().empty(), "still alive: {}", world.describe_alive());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{1, 2, 3, 2, 1, 0}));
  EXPECT_EQ(final_state, ComState::destroyed);
}

TEST(ComObjectCounts, EachAddRefAndReleaseIsOneModelStepOnTheObject) {
  std::vector<std::uint32_t> steps;
  const hc::Result r = hc::explore(
      [&] {
        steps.clear();
        ComWorld world;
        ComPtr<Widget> w = world.make<Widget>("w");
        steps.push_back(hc::rt::current_step());
        w->AddRef();
        steps.push_back(hc::rt::current_step());
        w.use("GetTitle");
        steps.push_back(hc::rt::current_step());
        w->Release();
        steps.push_back(hc::rt::current_step());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[1], steps[0] + 1);
  EXPECT_EQ(steps[2], steps[1] + 1);
  EXPECT_EQ(steps[3], steps[2] + 1);
}

TEST(ComObjectDestruction, FinalReleaseDestroysOnTheReleasingThread) {
  std::string destroyed_on;
  std::string destroyed_by;
  std::uint32_t step_of_release = 0;
  std::uint32_t destroyed_at = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Widget> w = world.make<Widget>("w");
        Widget* raw = w.get();
        hc::thread releaser("releaser", [&, p = std::move(w)]() mutable {
          p.reset();  // the last reference
          step_of_release = raw->destroyed_at;
        });
        releaser.join();
        destroyed_on = raw->destroyed_on;
        destroyed_by = raw->destroyed_by().thread_name;
        destroyed_at = raw->destroyed_by().step;
        HC_CHECK(raw->state() == ComState::destroyed, "state {}",
                 hc::models::com_state_name(raw->state()));
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(destroyed_on, "releaser");
  EXPECT_EQ(destroyed_by, "releaser");
  EXPECT_NE(destroyed_at, 0u);
  EXPECT_EQ(destroyed_at, step_of_release);
}

// Whoever makes the last Release runs the destructor: every order of three
// releasing threads is explored, and each thread is the destroyer on some
// schedule (B17's A/B/C orders).
TEST(ComObjectDestruction, TheLastOfThreeReleasersDestroysWhicheverItIs) {
  std::set<std::string> destroyers;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Widget> w = world.make<Widget>("shared");
        Widget* raw = w.get();
        std::vector<hc::thread> threads;
        for (const char* name : {"A", "B", "C"}) {
          ComPtr<Widget> mine(w);  // one reference per thread, taken before it starts
          threads.emplace_back(name, [p = std::move(mine)]() mutable { p.reset(); });
        }
        w.reset();
        for (hc::thread& t : threads)
          t.join();
        HC_CHECK(raw->state() == ComState::destroyed, "not destroyed");
        HC_CHECK(raw->destroyed_on == raw->destroyed_by().thread_name, "{} vs {}",
                 raw->destroyed_on, raw->destroyed_by().thread_name);
        destroyers.insert(raw->destroyed_on);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(destroyers, (std::set<std::string>{"A", "B", "C", "main"}));
}

TEST(ComObjectDestruction, CascadeReleasesChildrenOnTheReleasingThread) {
  std::vector<std::string> log;
  std::string context_after;
  const hc::Result r = hc::explore(
      [&] {
        log.clear();
        ComWorld world;
        ComPtr<Document> doc = world.make<Document>("doc", &log);
        doc->first = world.make<Page>("p1");
        doc->second = world.make<Page>("p2");
        doc->first->parent = ComWeak<Document>(doc, "parent");
        doc->first->call_parent_in_destructor = true;  // legal: same thread, during cascade
        doc->first->log = &log;
        doc->second->log = &log;
        hc::thread t("T1", [&, d = std::move(doc)]() mutable {
          d.reset();
          const ComObject* c = world.destroying_on(hc::rt::current_thread());
          context_after = c == nullptr ? "none" : c->name();
        });
        t.join();
        HC_CHECK(world.alive().empty(), "leaked:\n{}", world.describe_alive());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(log, (std::vector<std::string>{"doc destroying on T1", "p1 destroyed on T1",
                                           "p2 destroyed on T1", "doc destroyed"}));
  EXPECT_EQ(context_after, "none");
}

// A child's destructor body sees itself (innermost) and its parent as
// destructor context: what a later model checks before heavy cleanup (B18).
TEST(ComObjectDestruction, DestroyingOnNamesTheInnermostDestructorOfTheThread) {
  struct Child : ComObject {
    Child(ComWorld* w, std::string* seen) : ComObject("Child"), world_(w), seen_(seen) {}
    void on_destroy() override {
      const ComObject* c = world_->destroying_on(hc::rt::current_thread());
      *seen_ = c == nullptr ? "none" : c->name();
    }
    ComWorld* world_;
    std::string* seen_;
  };
  struct Parent : ComObject {
    Parent() : ComObject("Parent") {}
    ComPtr<Child> child;
    void on_destroy() override { child.reset(); }
  };
  std::string seen;
  std::string before;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Parent> p = world.make<Parent>("parent");
        p->child = world.make<Child>("child", &world, &seen);
        before = world.destroying_on(hc::rt::current_thread()) == nullptr ? "none" : "some";
        p.reset();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(seen, "child");
  EXPECT_EQ(before, "none");
}

// --- ComPtr and ComWeak
// ----------------------------------------------------------------------

TEST(ComPtrSemantics, CopyAddRefsMoveTransfersResetReleases) {
  std::vector<std::uint32_t> counts;
  bool moved_from_is_null = false;
  bool destroyed_after_last = false;
  const hc::Result r = hc::explore(
      [&] {
        counts.clear();
        ComWorld world;
        ComPtr<Widget> a = world.make<Widget>("w");
        Widget* raw = a.get();
        counts.push_back(raw->count());  // 1
        ComPtr<Widget> b(a);             // copy: AddRef
        counts.push_back(raw->count());  // 2
        ComPtr<Widget> c(std::move(b));  // move: no traffic
        moved_from_is_null = !b;
        counts.push_back(raw->count());  // 2
        ComPtr<ComObject> base = c;      // converting copy: AddRef
        counts.push_back(raw->count());  // 3
        c = nullptr;                     // Release
        counts.push_back(raw->count());  // 2
        ComPtr<Widget> d;
        d.assign(a);                     // AddRef
        counts.push_back(raw->count());  // 3
        d = ComPtr<Widget>();            // move-assign of null: Release of the old value
        counts.push_back(raw->count());  // 2
        base.reset();
        counts.push_back(raw->count());  // 1
        Widget* detached = a.detach();   // no traffic: the caller owns the reference
        counts.push_back(raw->count());  // 1
        ComPtr<Widget> adopted = ComPtr<Widget>::attach(detached);
        adopted.reset();  // the last reference
        destroyed_after_last = raw->state() == ComState::destroyed;
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{1, 2, 2, 3, 2, 3, 2, 1, 1}));
  EXPECT_TRUE(moved_from_is_null);
  EXPECT_TRUE(destroyed_after_last);
}

TEST(ComPtrSemantics, DestructorReleasesAndCallReachesTheObject) {
  std::string title;
  ComState state_after_scope = ComState::alive;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        Widget* raw = nullptr;
        {
          ComPtr<Widget> w = world.make<Widget>("w");
          raw = w.get();
          w->title = "hello";
          title = w.call("GetTitle", [](Widget& x) { return x.title; });
        }  // ~ComPtr: the last Release
        state_after_scope = raw->state();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(title, "hello");
  EXPECT_EQ(state_after_scope, ComState::destroyed);
}

TEST(ComWeakSemantics, HoldsNoReferenceAndTryUpgradeFailsAtZero) {
  std::vector<std::uint32_t> counts;
  bool upgraded_while_alive = false;
  bool upgraded_after_death = true;
  const hc::Result r = hc::explore(
      [&] {
        counts.clear();
        ComWorld world;
        ComPtr<Widget> w = world.make<Widget>("w");
        ComWeak<Widget> weak(w, "weak");
        counts.push_back(w->count());  // 1: a weak pointer holds nothing
        weak.use("GetTitle");
        {
          ComPtr<Widget> strong = weak.try_upgrade();
          upgraded_while_alive = static_cast<bool>(strong);
          counts.push_back(w->count());  // 2
        }
        counts.push_back(w->count());  // 1
        w.reset();
        upgraded_after_death = static_cast<bool>(weak.try_upgrade());
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{1, 2, 1}));
  EXPECT_TRUE(upgraded_while_alive);
  EXPECT_FALSE(upgraded_after_death);
}

TEST(ComObjectUsage, OperationsOnAnObjectNotMadeByAWorldAreAUsageError) {
  Widget loose;
  EXPECT_THROW(loose.AddRef(), hc::usage_error);
  EXPECT_THROW(loose.use("GetTitle"), hc::usage_error);
  ComWeak<Widget> none;
  EXPECT_THROW(none.use("GetTitle"), hc::usage_error);
}

// alive() is the inspection; the world's own leak report (com-object-leak, tested below) is off.
TEST(ComWorldLeaks, AliveListsObjectsNeverReleased) {
  std::string leaks;
  std::size_t n = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world({.report_leaks = false});
        ComPtr<Widget> a = world.make<Widget>("released");
        Widget* kept = world.make<Widget>("kept").detach();  // never released
        (void)kept;
        a.reset();
        n = world.alive().size();
        leaks = world.describe_alive();
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(contains(leaks,
                       "ComObject 'kept' (type Widget, count 1, alive, created by "
                       "thread 'main'"))
      << leaks;
  EXPECT_FALSE(contains(leaks, "released")) << leaks;
}

// --- use_after_destruction
// -------------------------------------------------------------------

// A child's weak back-pointer outlives its parent: deterministic, so steps are
// exact.
TEST(UseAfterDestruction, WeakBackPointerToADestroyedParent) {
  std::uint32_t destroyed_step = 0;
  std::uint32_t use_step = 0;
  int release_line = 0;
  int use_line = 0;
  int weak_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Document> doc = world.make<Document>("doc");
        doc->first = world.make<Page>("page");
        weak_line = __LINE__ + 1;
        doc->first->parent = ComWeak<Document>(doc, "parent");
        ComPtr<Page> page(doc->first);  // main keeps the page alive on its own
        Document* d = doc.get();
        release_line = __LINE__ + 1;
        doc.reset();
        destroyed_step = d->destroyed_at;
        use_step = hc::rt::current_step() + 1;
        use_line = __LINE__ + 1;
        page->parent.use("GetTitle");
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::use_after_destruction);
  EXPECT_EQ(f.thread_name, "main");
  EXPECT_EQ(f.step, use_step);
  EXPECT_TRUE(contains(f.message,
                       "use of ComObject 'doc' (type Document) through weak "
                       "reference 'parent' at step " +
                           std::to_string(use_step) + " by thread 'main' (GetTitle at"))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(use_line))) << f.message;
  EXPECT_TRUE(contains(f.message, "it was destroyed by thread 'main' at step " +
                                      std::to_string(destroyed_step) + " ("))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(release_line))) << f.message;
  EXPECT_TRUE(contains(f.message, "Weak reference 'parent' was obtained by thread 'main'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(weak_line))) << f.message;
  // The signature names the bug without steps: object, method and the two
  // sites.
  EXPECT_EQ(f.signature.rfind("use-after-destruction|doc|GetTitle|", 0), 0u) << f.signature;
  EXPECT_TRUE(contains(f.signature, at_line(use_line))) << f.signature;
  EXPECT_TRUE(contains(f.signature, at_line(release_line))) << f.signature;
  EXPECT_FALSE(contains(f.signature, "step")) << f.signature;
}

// The correct counterpart: the child drops its back-pointer use once it holds a
// strong reference obtained by try_upgrade, which fails after the parent's
// destruction.
TEST(UseAfterDestruction, WeakBackPointerUpgradedFirstIsClean) {
  bool upgraded = true;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Document> doc = world.make<Document>("doc");
        doc->first = world.make<Page>("page");
        doc->first->parent = ComWeak<Document>(doc, "parent");
        ComPtr<Page> page(doc->first);
        doc.reset();
        ComPtr<Document> parent = page->parent.try_upgrade();
        upgraded = static_cast<bool>(parent);
        if (parent) parent.use("GetTitle");
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_FALSE(upgraded);
}

// B14: a reader copies the shared pointer under the lock but without AddRef;
// the owner clears the slot under the lock and releases the last reference. On
// schedules where the release comes between the copy and the call, the call is
// a use after destruction.
void shared_slot_program(bool reader_addrefs) {
  ComWorld world;
  hc::mutex lock("slot lock");
  hc::var<Widget*> slot{nullptr, "g_widget"};
  ComPtr<Widget> owner_ref = world.make<Widget>("C");
  slot.write(owner_ref.get());
  hc::thread owner("owner", [&] {
    lock.lock();
    slot.write(nullptr);
    lock.unlock();
    owner_ref.reset();  // the last reference: destroys C on 'owner'
  });
  hc::thread reader("reader", [&] {
    lock.lock();
    Widget* p = slot.read();
    if (reader_addrefs) {
      ComPtr<Widget> local(p);  // AddRef under the lock: the fix
      lock.unlock();
      if (local) local.use("GetTitle");
    } else {
      ComWeak<Widget> local(p, "local");  // the bug: a copy without AddRef
      lock.unlock();
      if (local) local.use("GetTitle");
    }
  });
  owner.join();
  reader.join();
}

TEST(UseAfterDestruction, RawCopyOfASharedPointerRacesWithTheLastRelease) {
  const hc::Result r = hc::explore([] { shared_slot_program(false); }, exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::use_after_destruction);
  EXPECT_EQ(f.thread_name, "reader");
  EXPECT_TRUE(contains(f.message,
                       "use of ComObject 'C' (type Widget) through weak reference "
                       "'local' at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "by thread 'reader' (GetTitle at")) << f.message;
  EXPECT_TRUE(contains(f.message, "destroyed by thread 'owner' at step ")) << f.message;
  EXPECT_TRUE(contains(f.message, "Weak reference 'local' was obtained by thread 'reader'"))
      << f.message;
  EXPECT_FALSE(f.trace.empty());
}

TEST(UseAfterDestruction, AddRefUnderTheLockIsCleanOnEverySchedule) {
  const hc::Result r = hc::explore([] { shared_slot_program(true); }, exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// Another thread calls the object while its destructor body is still running on
// the destroyer thread: the message says so.
TEST(UseAfterDestruction, UseWhileAnotherThreadIsDestroyingIt) {
  struct Slow : ComObject {
    Slow(hc::event* entered, hc::event* proceed)
        : ComObject("Slow"), entered_(entered), proceed_(proceed) {}
    void on_destroy() override {
      entered_->set();
      proceed_->wait();
    }
    hc::event* entered_;
    hc::event* proceed_;
  };
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        hc::event entered(hc::event::reset_mode::manual, false, "entered");
        hc::event proceed(hc::event::reset_mode::manual, false, "proceed");
        ComPtr<Slow> s = world.make<Slow>("slow", &entered, &proceed);
        ComWeak<Slow> weak(s, "observer");
        hc::thread destroyer("destroyer", [&] { s.reset(); });
        hc::thread observer("observer", [&] {
          entered.wait();
          weak.use("GetState");
          proceed.set();
        });
        destroyer.join();
        observer.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::use_after_destruction);
  EXPECT_EQ(f.thread_name, "observer");
  EXPECT_TRUE(contains(f.message,
                       "it is being destroyed: its last reference was released by "
                       "thread 'destroyer' at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "its destructor body is still running there")) << f.message;
}

TEST(UseAfterDestruction, UseThroughAComPtrAfterAnOverRelease) {
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        ComPtr<Widget> w = world.make<Widget>("w");
        w.get()->Release();  // releases a reference it does not own: the ComPtr's
        w.use("GetTitle");
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::use_after_destruction);
  EXPECT_TRUE(contains(f.message, "use of ComObject 'w' (type Widget) through a ComPtr"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "some code released a reference it did not own")) << f.message;
}

// --- addref_from_zero
// ------------------------------------------------------------------------

TEST(AddRefFromZero, RescueOfADestroyedObjectThroughARawPointer) {
  std::uint32_t destroyed_step = 0;
  std::uint32_t addref_step = 0;
  int addref_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        Widget* raw = world.make<Widget>("w").detach();
        raw->Release();  // 1 → 0: destroyed
        destroyed_step = raw->destroyed_at;
        addref_step = hc::rt::current_step() + 1;
        addref_line = __LINE__ + 1;
        raw->AddRef();  // 0 → 1: a rescue
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::addref_from_zero);
  EXPECT_EQ(f.step, addref_step);
  EXPECT_TRUE(contains(f.message,
                       "AddRef of ComObject 'w' (type Widget) through a raw pointer "
                       "at step " +
                           std::to_string(addref_step) + " by thread 'main'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(addref_line))) << f.message;
  EXPECT_TRUE(contains(f.message, "on a count that already reached 0 (a rescue, 0→1)"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "its last reference was released by thread 'main' at step " +
                                      std::to_string(destroyed_step)))
      << f.message;
  EXPECT_TRUE(contains(f.message, "it was destroyed")) << f.message;
  EXPECT_TRUE(contains(f.signature, "addref-from-zero|w|")) << f.signature;
}

// B14's other half: the reader AddRefs its unowned copy outside the lock, after
// the owner's last Release on some schedules.
void addref_race_program(bool try_upgrade) {
  ComWorld world;
  hc::mutex lock("slot lock");
  hc::var<Widget*> slot{nullptr, "g_widget"};
  ComPtr<Widget> owner_ref = world.make<Widget>("C");
  slot.write(owner_ref.get());
  hc::thread owner("owner", [&] {
    lock.lock();
    slot.write(nullptr);
    lock.unlock();
    owner_ref.reset();
  });
  hc::thread reader("reader", [&] {
    lock.lock();
    ComWeak<Widget> local(slot.read(), "local");
    lock.unlock();
    if (!local) return;
    ComPtr<Widget> strong = try_upgrade ? local.try_upgrade() : local.add_ref();
    if (strong) strong.use("GetTitle");
  });
  owner.join();
  reader.join();
}

TEST(AddRefFromZero, AddRefOfAnUnownedCopyRacesWithTheLastRelease) {
  const hc::Result r = hc::explore([] { addref_race_program(false); }, exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::addref_from_zero);
  EXPECT_EQ(f.thread_name, "reader");
  EXPECT_TRUE(contains(f.message,
                       "AddRef of ComObject 'C' (type Widget) through weak "
                       "reference 'local' at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "by thread 'reader'")) << f.message;
  EXPECT_TRUE(contains(f.message, "its last reference was released by thread 'owner' at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "Weak reference 'local' was obtained by thread 'reader'"))
      << f.message;
}

TEST(AddRefFromZero, TryUpgradeIsCleanOnEverySchedule) {
  const hc::Result r = hc::explore([] { addref_race_program(true); }, exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// ONT-0928: a destructor hands `this` to a callee that keeps the reference past
// the call.
struct Leaky : ComObject {
  Leaky(ComPtr<Leaky>* keeper, bool guarded) : ComObject("Leaky"), keeper_(keeper) {
    if (guarded) guard_destruction(1);
  }
  void on_destroy() override { *keeper_ = ComPtr<Leaky>(this); }  // AddRef, kept
  ComPtr<Leaky>* keeper_;
};

TEST(AddRefFromZero, AReferenceTakenInTheDestructorOutlivesIt) {
  for (bool guarded : {false, true}) {
    int release_line = 0;
    const hc::Result r = hc::explore(
        [&] {
          ComWorld world;
          ComPtr<Leaky> keeper;
          ComPtr<Leaky> l = world.make<Leaky>("leaky", &keeper, guarded);
          release_line = __LINE__ + 1;
          l.reset();
          (void)keeper.detach();
        },
        exhaustive());
    const hc::Finding& f = only_finding(r);
    EXPECT_EQ(f.kind, FindingKind::addref_from_zero) << "guarded " << guarded;
    EXPECT_TRUE(contains(f.message,
                         "a reference to ComObject 'leaky' (type Leaky) taken during "
                         "its destruction outlives it"))
        << f.message;
    EXPECT_TRUE(contains(f.message, guarded ? "took its count 1→2" : "took its count 0→1"))
        << f.message;
    EXPECT_TRUE(contains(f.message, "1 reference was still held")) << f.message;
    EXPECT_TRUE(contains(f.message, "(entered by thread 'main' at step ")) << f.message;
    EXPECT_TRUE(contains(f.message, at_line(release_line))) << f.message;
  }
}

// --- double_destruction
// ----------------------------------------------------------------------

// B13: the destructor calls Save(), which sets `this` as a site (AddRef 0→1)
// and clears it (Release 1→0): destruction is entered a second time. With the
// artificial count of ONT-0928 the same code goes 1→2→1 and is clean.
struct Saver : ComObject {
  explicit Saver(bool guarded) : ComObject("Document") {
    if (guarded) guard_destruction(1);
  }
  void on_destroy() override { Save(); }
  void Save() {
    use("Save");
    ComPtr<Saver> site(this);  // SetSite(this): AddRef
    site.reset();              // SetSite(nullptr): Release
  }
};

TEST(DoubleDestruction, DestructorHandsOutThisAndTheCountGoesZeroOneZero) {
  std::uint32_t first_destruction = 0;
  int release_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Saver> doc = world.make<Saver>("doc", false);
        first_destruction = hc::rt::current_step() + 1;
        release_line = __LINE__ + 1;
        doc.reset();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::double_destruction);
  EXPECT_EQ(f.thread_name, "main");
  EXPECT_TRUE(contains(f.message, "second destruction of ComObject 'doc' (type Document) at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "took its count 0→1 while it was in the destroying state"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "takes it back 1→0")) << f.message;
  EXPECT_TRUE(contains(
      f.message, "entered by thread 'main' at step " + std::to_string(first_destruction) + " ("))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(release_line))) << f.message;
  EXPECT_TRUE(contains(f.signature, "double-destruction|doc|")) << f.signature;
  EXPECT_FALSE(contains(f.signature, "step")) << f.signature;
}

TEST(DoubleDestruction, ArtificialCountDuringDestructionIsCleanFromAnyThread) {
  std::set<std::string> destroyers;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        ComPtr<Saver> doc = world.make<Saver>("doc", true);
        Saver* raw = doc.get();
        hc::thread t1("T1", [p = ComPtr<Saver>(doc)]() mutable { p.reset(); });
        hc::thread t2("T2", [p = ComPtr<Saver>(doc)]() mutable { p.reset(); });
        doc.reset();
        t1.join();
        t2.join();
        HC_CHECK(raw->state() == ComState::destroyed, "not destroyed");
        destroyers.insert(raw->destroyed_by().thread_name);
      },
      exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(destroyers, (std::set<std::string>{"T1", "T2", "main"}));
}

// The same bug when the last Release happens on another thread: reported on
// that thread.
TEST(DoubleDestruction, ReportedOnWhicheverThreadMadeTheLastRelease) {
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        ComPtr<Saver> doc = world.make<Saver>("doc", false);
        hc::thread t1("T1", [p = ComPtr<Saver>(doc)]() mutable { p.reset(); });
        doc.reset();
        t1.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::double_destruction);
  EXPECT_TRUE(contains(f.message, "by thread '" + f.thread_name + "'")) << f.message;
  EXPECT_TRUE(f.thread_name == "T1" || f.thread_name == "main") << f.thread_name;
}

// --- refcount_underflow
// ----------------------------------------------------------------------

TEST(RefcountUnderflow, ReleaseOnACountAlreadyZero) {
  std::uint32_t second_release = 0;
  int first_line = 0;
  int second_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComWorld world;
        Widget* raw = world.make<Widget>("w").detach();
        first_line = __LINE__ + 1;
        raw->Release();  // 1 → 0
        second_release = hc::rt::current_step() + 1;
        second_line = __LINE__ + 1;
        raw->Release();  // already 0
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::refcount_underflow);
  EXPECT_EQ(f.step, second_release);
  EXPECT_TRUE(contains(f.message,
                       "Release of ComObject 'w' (type Widget) through a raw pointer "
                       "at step " +
                           std::to_string(second_release) + " by thread 'main'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "on a count already 0: more Releases than references"))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(second_line))) << f.message;
  EXPECT_TRUE(contains(f.message, "its last reference was released by thread 'main' at step " +
                                      std::to_string(second_release - 1) + " ("))
      << f.message;
  EXPECT_TRUE(contains(f.message, at_line(first_line))) << f.message;
  EXPECT_EQ(f.signature.rfind("refcount-underflow|w|", 0), 0u) << f.signature;
}

// Two threads each Release a pointer handed to both, but only one reference was
// handed over.
void two_releasers_program(bool addref_per_thread) {
  ComWorld world;
  Widget* raw = world.make<Widget>("w").detach();  // one reference
  if (addref_per_thread) raw->AddRef();            // the fix: one reference per releaser
  hc::thread a("A", [raw] { raw->Release(); });
  hc::thread b("B", [raw] { raw->Release(); });
  a.join();
  b.join();
  HC_CHECK(raw->state() == ComState::destroyed, "not destroyed");
}

TEST(RefcountUnderflow, TwoThreadsReleaseOneReference) {
  const hc::Result r = hc::explore([] { two_releasers_program(false); }, exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::refcount_underflow);
  ASSERT_TRUE(f.thread_name == "A" || f.thread_name == "B") << f.thread_name;
  const std::string other = f.thread_name == "A" ? "B" : "A";
  EXPECT_TRUE(contains(f.message, "by thread '" + f.thread_name + "'")) << f.message;
  EXPECT_TRUE(contains(f.message, "its last reference was released by thread '" + other + "'"))
      << f.message;
}

TEST(RefcountUnderflow, OneReferencePerReleaserIsCleanOnEverySchedule) {
  const hc::Result r = hc::explore([] { two_releasers_program(true); }, exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// A Release from another thread while the destroyer's destructor body runs: for
// that thread the count is already 0.
TEST(RefcountUnderflow, ReleaseFromAnotherThreadDuringDestruction) {
  struct Slow : ComObject {
    Slow(hc::event* entered, hc::event* proceed)
        : ComObject("Slow"), entered_(entered), proceed_(proceed) {}
    void on_destroy() override {
      entered_->set();
      proceed_->wait();
    }
    hc::event* entered_;
    hc::event* proceed_;
  };
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        hc::event entered(hc::event::reset_mode::manual, false, "entered");
        hc::event proceed(hc::event::reset_mode::manual, false, "proceed");
        Slow* raw = world.make<Slow>("slow", &entered, &proceed).detach();
        hc::thread releaser("releaser", [&] { raw->Release(); });
        hc::thread stray("stray", [&] {
          entered.wait();
          raw->Release();
          proceed.set();
        });
        releaser.join();
        stray.join();
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::refcount_underflow);
  EXPECT_EQ(f.thread_name, "stray");
  EXPECT_TRUE(contains(f.message,
                       "Release of ComObject 'slow' (type Slow) through a raw "
                       "pointer at step "))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "its last reference was released by thread 'releaser' at "
                       "step "))
      << f.message;
  EXPECT_TRUE(contains(f.message, "it is being destroyed there")) << f.message;
}

// --- determinism
// -----------------------------------------------------------------------------

TEST(ComFindings, ReRunReproducesTheSameFinding) {
  hc::ExploreOptions o = exhaustive();
  o.check_determinism = true;
  o.stop_at_first = false;
  const hc::Result r = hc::explore([] { shared_slot_program(false); }, o);
  ASSERT_FALSE(r.findings.empty());
  for (const hc::Finding& f : r.findings) {
    EXPECT_NE(f.kind, FindingKind::nondeterminism) << f.message;
    EXPECT_EQ(f.kind, FindingKind::use_after_destruction) << f.message;
  }
}

// --- dpor: the footprints the model declares -----------------------------------------------------

// A node that records which thread destroyed it (its own slot: one writer) and releases its
// child in its destructor body (a cascade).
struct RecordingNode : ComObject {
  explicit RecordingNode(std::string* destroyed_by)
      : ComObject("Node"), destroyed_by_(destroyed_by) {}
  void on_destroy() override {
    *destroyed_by_ = std::string(hc::rt::thread_name(hc::rt::current_thread()));
    child.reset();
  }
  ComPtr<RecordingNode> child;
  std::string* destroyed_by_;
};

// dpor orders two steps only when their footprints conflict (each object is one cell): against
// exhaustive dfs it reaches the same outcomes (which thread destroyed which object) in fewer
// executions (9 against 126).
TEST(ComDpor, ReachesTheOutcomesOfDfsInFewerExecutions) {
  const hc::test::DfsAndDpor r =
      hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
        std::string destroyed_by[3];
        {
          ComWorld world;
          ComPtr<RecordingNode> parent = world.make<RecordingNode>("parent", &destroyed_by[0]);
          RecordingNode* child_object = nullptr;
          {
            ComPtr<RecordingNode> child = world.make<RecordingNode>("child", &destroyed_by[1]);
            child_object = child.get();
            parent.get()->child = std::move(child);
          }
          ComPtr<RecordingNode> child(child_object);  // AddRef: T2's reference
          ComPtr<RecordingNode> other = world.make<RecordingNode>("other", &destroyed_by[2]);
          ComPtr<RecordingNode> other2 = other;  // AddRef
          hc::thread t1("T1", [mine = std::move(parent), o = std::move(other)]() mutable {
            o.use("Ping");
            mine.reset();  // destroys the parent, whose body releases the child
            o.reset();
          });
          hc::thread t2("T2", [mine = std::move(child), o = std::move(other2)]() mutable {
            mine.use("Read");
            o.use("Ping");
            mine.reset();
            o.reset();
          });
          t1.join();
          t2.join();
        }
        outcomes.insert(destroyed_by[0] + "," + destroyed_by[1] + "," + destroyed_by[2]);
      });
  const hc::Result& dfs = r.dfs;
  const hc::Result& dpor = r.dpor;
  const std::set<std::string>& by_dfs = r.dfs_outcomes;
  const std::set<std::string>& by_dpor = r.dpor_outcomes;
  EXPECT_TRUE(dfs.findings.empty()) << dfs.findings.front().message;
  EXPECT_TRUE(dpor.findings.empty()) << dpor.findings.front().message;
  EXPECT_EQ(by_dpor, by_dfs);
  EXPECT_EQ(by_dfs.size(), 4u);  // the child and the other object: by T1 or by T2
  EXPECT_LT(dpor.stats.executions, dfs.stats.executions);
}

}  // namespace

// --- com-object-leak
// ------------------------------------------------------------------------------

namespace {

/// Two threads share a widget; `forget` leaves the second thread's reference unreleased.
void share_widget(bool forget, hc::models::ComWorldOptions options = {}) {
  ComWorld world(options);
  ComPtr<Widget> w = world.make<Widget>("shared");
  Widget* copy = ComPtr<Widget>(w).detach();  // the worker's reference, raw COM style
  hc::thread worker("worker", [copy, forget] {
    copy->use("GetTitle");
    if (!forget) copy->Release();
  });
  w.reset();
  worker.join();
}

}  // namespace

TEST(ComObjectLeak, AnObjectStillReferencedAtTheEndIsReported) {
  const hc::Result r = hc::explore([] { share_widget(true); }, exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::com_object_leak);
  EXPECT_TRUE(
      contains(f.message, "COM object leak: 1 object still referenced at the end of the execution"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "ComObject 'shared' (type Widget, count 1, created by thread 'main' at "
                       "step 0"))
      << f.message;
  EXPECT_TRUE(contains(f.file, "com_object_test.cpp")) << f.file;
}

TEST(ComObjectLeak, BalancedReleasesAreCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    share_widget(false);
    outcomes.insert("done");
  });
  EXPECT_TRUE(r.dfs.findings.empty()) << r.dfs.findings.front().message;
  EXPECT_TRUE(r.dpor.findings.empty()) << r.dpor.findings.front().message;
  EXPECT_TRUE(r.dfs.stats.exhausted);
  EXPECT_TRUE(r.dpor.stats.exhausted);
}

TEST(ComObjectLeak, IsNotReportedWithReportLeaksOff) {
  const hc::Result r =
      hc::explore([] { share_widget(true, {.report_leaks = false}); }, exhaustive());
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// --- a user's own IUnknown
// ------------------------------------------------------------------------

namespace {

using hc::models::UserUnknown;

/// The classic Release: decrements, then reads m_ref again to decide (`correct` decides on the
/// value InterlockedDecrement returned, the seed's `if (!InterlockedDecrement(&m_ref))`).
class Gadget : public UserUnknown {
 public:
  Gadget(ComWorld& world, bool correct, int* destructors)
      : UserUnknown(world, "Gadget", "gadget"), correct_(correct), destructors_(destructors) {}
  ~Gadget() override { ++*destructors_; }
  long AddRef() { return InterlockedIncrement(&m_ref); }
  long Release() {
    if (correct_) {
      const long c = InterlockedDecrement(&m_ref);
      if (c == 0) delete this;
      return c;
    }
    InterlockedDecrement(&m_ref);
    if (m_ref == 0) delete this;  // reads m_ref after the decrement: another thread's count
    return 0;
  }
  void Work() { use("Work"); }

 private:
  bool correct_;
  int* destructors_;
};

/// Two threads release their references to one gadget.
void release_from_two_threads(bool correct, int* destructors) {
  ComWorld world;
  auto* g = new Gadget(world, correct, destructors);
  g->AddRef();  // the worker's reference
  hc::thread worker("worker", [g] {
    g->Work();
    g->Release();
  });
  g->Work();
  g->Release();
  worker.join();
}

}  // namespace

TEST(UserUnknown, TheRacyReleaseIsFoundAtTheUsersLines) {
  hc::ExploreOptions o = exhaustive();
  o.stop_at_first = false;
  int destructors = 0;
  const hc::Result r = hc::explore([&] { release_from_two_threads(false, &destructors); }, o);
  ASSERT_FALSE(r.findings.empty());
  std::set<FindingKind> kinds;
  for (const hc::Finding& f : r.findings) {
    kinds.insert(f.kind);
    EXPECT_TRUE(contains(f.file, "com_object_test.cpp")) << f.file << ": " << f.message;
    EXPECT_TRUE(contains(f.message, "ComObject 'gadget' (type Gadget)")) << f.message;
  }
  // Both threads read 0 and both delete (double destruction), or one reads the count of the
  // object the other already deleted (use after destruction).
  EXPECT_EQ(kinds, (std::set<FindingKind>{FindingKind::double_destruction,
                                          FindingKind::use_after_destruction}));
  for (const hc::Finding& f : r.findings) {
    if (f.kind == FindingKind::double_destruction) {
      EXPECT_TRUE(contains(f.message, "`delete this` again on another thread")) << f.message;
    } else {
      EXPECT_TRUE(contains(f.message, "(read m_ref at tests/models/com_object_test.cpp:"))
          << f.message;
    }
  }
}

TEST(UserUnknown, TheCorrectReleaseIsCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    int destructors = 0;
    release_from_two_threads(true, &destructors);
    HC_CHECK(destructors == 1, "{} destructor runs", destructors);
    outcomes.insert("done");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

TEST(UserUnknown, AnAddRefOnACountAnotherThreadTookToZeroIsAddRefFromZero) {
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        int destructors = 0;
        auto* g = new Gadget(world, true, &destructors);
        Gadget* unowned = g;  // fetched from a shared variable without AddRef (B14)
        hc::thread owner("owner", [g] { g->Release(); });
        unowned->AddRef();
        owner.join();
        unowned->Release();
      },
      exhaustive());
  ASSERT_FALSE(r.findings.empty());
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.kind, FindingKind::addref_from_zero) << f.message;
  EXPECT_TRUE(contains(f.message, "AddRef of ComObject 'gadget' (type Gadget)")) << f.message;
  EXPECT_TRUE(contains(f.file, "com_object_test.cpp")) << f.file;
}

TEST(UserUnknown, AnObjectNeverDeletedIsALeak) {
  const hc::Result r = hc::explore(
      [] {
        ComWorld world;
        int destructors = 0;
        auto* g = new Gadget(world, true, &destructors);
        g->AddRef();
        g->Release();  // one Release short
      },
      exhaustive());
  const hc::Finding& f = only_finding(r);
  EXPECT_EQ(f.kind, FindingKind::com_object_leak);
  EXPECT_TRUE(contains(f.message, "ComObject 'gadget' (type Gadget, count 1")) << f.message;
}

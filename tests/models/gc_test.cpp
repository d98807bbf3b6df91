// The GC and finalizer model: DOMAIN.md §3.1–3.4 transition by transition, weak references,
// explored collection timing, and its findings with their correct counterparts.
#include "hc/models/gc.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using hc::models::Gc;
using hc::models::GcOptions;
using hc::models::ManagedObject;
using hc::models::Ref;
using hc::models::WeakRef;
using hc::test::exhaustive;

using hc::test::contains;

/// A managed object whose finalizer runs `body` (if set).
struct Finalizable : ManagedObject {
  Finalizable(Gc& gc, std::string_view name, bool critical = false, std::function<void()> body = {})
      : ManagedObject(gc, "Conn", name, /*has_finalizer=*/true, critical), body_(std::move(body)) {}
  void finalize() override {
    if (body_) body_();
  }
  std::function<void()> body_;
};

hc::Result run(const std::function<void(Gc&)>& body, GcOptions options = {},
               hc::ExploreOptions explore = exhaustive()) {
  return hc::explore(
      [&] {
        Gc gc(options);
        body(gc);
      },
      explore);
}

// --- §3.1–3.3 ------------------------------------------------------------------------------------

TEST(Finalization, OnlyUnreachableObjectsAreFinalizedOnTheFinalizerThread) {
  const hc::Result r = run([](Gc& gc) {
    std::string ran_on;
    auto& live = gc.make<Finalizable>(gc, "live");
    auto& dead = gc.make<Finalizable>(gc, "dead", false, [&] {
      ran_on = std::string(hc::rt::thread_name(hc::rt::current_thread()));
    });
    Ref<Finalizable> keep(live);
    { Ref<Finalizable> temp(dead); }
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(dead.times_finalized() == 1 && live.times_finalized() == 0, "dead {} live {}",
             dead.times_finalized(), live.times_finalized());
    HC_CHECK(ran_on == "finalizer", "ran on '{}'", ran_on);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Finalization, SuppressFinalizeSkipsTheFinalizer) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "o");
    gc.suppress_finalize(o);
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(o.times_finalized() == 0, "finalized {}", o.times_finalized());
    // The bit was cleared at the scan: a re-registration now adds an entry again.
    gc.reregister_for_finalize(o);
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(o.times_finalized() == 1, "finalized {}", o.times_finalized());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(Finalization, ReregisterAfterSuppressOnlyClearsTheBit) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "o");
    gc.suppress_finalize(o);
    gc.reregister_for_finalize(o);  // clears the bit: one entry, one run
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(o.times_finalized() == 1, "finalized {}", o.times_finalized());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// B24 trigger 2: re-registering a registered object leaves two entries: the finalizer runs
// twice.
TEST(Finalization, ReregisteringARegisteredObjectRunsItsFinalizerTwice) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "cache");
    gc.reregister_for_finalize(o);
    gc.collect();
    gc.wait_for_pending_finalizers();
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::finalizer_ran_twice,
                         "the finalizer of Conn 'cache' runs a second time on the finalizer "
                         "thread (it already ran, by thread 'finalizer' at step");
}

TEST(Finalization, NormalFinalizersRunBeforeCriticalOnesInAnyOrderAmongThemselves) {
  std::set<std::vector<std::string>> orders;
  const hc::Result r = run([&](Gc& gc) {
    gc.make<Finalizable>(gc, "critical", true);
    gc.make<Finalizable>(gc, "a");
    gc.make<Finalizable>(gc, "b");
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(gc.finalization_order().back() == "Conn 'critical'", "critical ran before a normal");
    orders.insert(gc.finalization_order());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_EQ(orders.size(), 2u);  // a before b, and b before a: both explored
}

TEST(Finalization, WaitForPendingFinalizersOnTheFinalizerThreadReturnsAtOnce) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "o", false, [&] { gc.wait_for_pending_finalizers(); });
    (void)o;
    gc.collect();
    gc.wait_for_pending_finalizers();
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// B19: holding a lock across WaitForPendingFinalizers while a finalizer needs the lock.
TEST(Finalization, WaitingForFinalizersUnderALockTheyNeedDeadlocks) {
  auto body = [](bool release_first) {
    return [release_first](Gc& gc) {
      hc::mutex cache_lock("cache lock");
      gc.make<Finalizable>(gc, "entry", false, [&] {
        cache_lock.lock();
        cache_lock.unlock();
      });
      cache_lock.lock();
      gc.collect();
      if (release_first) cache_lock.unlock();
      gc.wait_for_pending_finalizers();
      if (!release_first) cache_lock.unlock();
    };
  };
  const hc::Result stuck = run(body(false));
  HC_EXPECT_ONLY_FINDING(stuck, hc::FindingKind::deadlock,
                         "thread 'finalizer' waits to lock mutex 'cache lock', held by thread "
                         "'main'");
  const hc::Result fixed = run(body(true));
  EXPECT_TRUE(fixed.findings.empty()) << fixed.findings.front().message;
  EXPECT_TRUE(fixed.stats.exhausted);
}

// --- findings ------------------------------------------------------------------------------------

TEST(FinalizerException, TerminatesTheProcess) {
  const hc::Result r = run([](Gc& gc) {
    gc.make<Finalizable>(gc, "socket", false, [] { throw std::runtime_error("native lib gone"); });
    gc.make<Finalizable>(gc, "file", true);
    gc.collect();
    gc.wait_for_pending_finalizers();
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::finalizer_exception,
                         "unhandled exception on the finalizer thread in the finalizer of Conn "
                         "'socket': native lib gone: the process terminates; pending finally "
                         "blocks and the 1 finalizers still queued do not run");
  const hc::Result guarded = run([](Gc& gc) {
    gc.make<Finalizable>(gc, "socket", false, [] {
      try {
        throw std::runtime_error("native lib gone");
      } catch (const std::exception&) {
      }
    });
    gc.collect();
    gc.wait_for_pending_finalizers();
  });
  EXPECT_TRUE(guarded.findings.empty());
}

// finalizer-blocked counts the consecutive steps in which the finalizer thread, inside a
// finalizer, cannot run because it waits for something another thread holds (issue 17 item 3).
// B20: the finalizer needs a lock the main thread holds while it works (12 steps) before
// letting go; the finding is the finalizer thread's, at the finalizer's lock, and names the
// lock, its holder and what is queued behind.
TEST(FinalizerBlocked, NamesWhatItWaitsForAndWhoHoldsIt) {
  GcOptions options;
  options.finalizer_block_bound = 6;
  auto body = [](int work) {
    return [work](Gc& gc) {
      hc::mutex sta("sta lock");
      auto& rcw = gc.make<Finalizable>(gc, "rcw", false, [&] {
        sta.lock();  // the call into the STA
        sta.unlock();
      });
      (void)rcw;
      gc.make<Finalizable>(gc, "behind", true);
      sta.lock();
      gc.collect();
      hc::atomic<int> busy{0, "busy"};
      for (int i = 0; i < work; ++i)
        busy.fetch_add(1);  // the STA thread is busy, not pumping
      sta.unlock();
      gc.wait_for_pending_finalizers();
    };
  };
  hc::ExploreOptions first = exhaustive();
  first.max_executions = 200;
  const hc::Result blocked = run(body(12), options, first);
  ASSERT_FALSE(blocked.findings.empty());
  const hc::Finding& f = blocked.findings[0];
  EXPECT_EQ(f.kind, hc::FindingKind::finalizer_blocked);
  EXPECT_EQ(f.thread_name, "finalizer");
  EXPECT_TRUE(f.file.ends_with("tests/models/gc_test.cpp")) << f.file;
  EXPECT_TRUE(contains(f.message,
                       "the finalizer thread has been blocked for 7 steps (bound 6) in the "
                       "finalizer of Conn 'rcw', waiting at "))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "to lock mutex 'sta lock', held by thread 'main'; 1 object is "
                       "queued behind it: Conn 'behind'"))
      << f.message;
  EXPECT_EQ(f.objects,
            (std::vector<std::string>{"Conn 'rcw'", "mutex 'sta lock'", "Conn 'behind'"}));
  // Blocked for 5 steps at most (the lock is let go after 4 of them): within the bound.
  const hc::Result short_wait = run(body(4), options);
  EXPECT_TRUE(short_wait.findings.empty()) << short_wait.findings.front().message;
}

// A finalizer that runs long, or that is merely preempted while other threads run, is not
// blocked: the finalizer and the main thread each do 12 steps in any interleaving, and no
// execution reports finalizer-blocked (the old count, steps since the finalizer started, did).
TEST(FinalizerBlocked, APreemptedFinalizerIsNeverBlocked) {
  GcOptions options;
  options.finalizer_block_bound = 3;
  const hc::Result r = run(
      [](Gc& gc) {
        hc::atomic<int> own{0, "own"};
        hc::atomic<int> other{0, "other"};
        gc.make<Finalizable>(gc, "slow", false, [&] {
          for (int i = 0; i < 6; ++i)
            own.fetch_add(1);
        });
        gc.collect();
        for (int i = 0; i < 6; ++i)
          other.fetch_add(1);
        gc.wait_for_pending_finalizers();
      },
      options);
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 100u);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// An event another thread sets late: the finalizer cannot run until it is set.
TEST(FinalizerBlocked, WaitingForAnEventNotSet) {
  GcOptions options;
  options.finalizer_block_bound = 4;
  const hc::Result r = run(
      [](Gc& gc) {
        hc::event pumped(hc::event::reset_mode::manual, false, "pumped");
        gc.make<Finalizable>(gc, "rcw", false, [&] { pumped.wait(); });
        gc.collect();
        hc::atomic<int> busy{0, "busy"};
        for (int i = 0; i < 8; ++i)
          busy.fetch_add(1);
        pumped.set();
        gc.wait_for_pending_finalizers();
      },
      options);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::finalizer_blocked);
  EXPECT_EQ(r.findings[0].thread_name, "finalizer");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "for event 'pumped' to be set, which no thread has done; 0 objects are "
                       "queued behind it"))
      << r.findings[0].message;
}

// The default bound (16) is on: a Gc made with no options reports a finalizer blocked for
// longer.
TEST(FinalizerBlocked, IsOnByDefault) {
  EXPECT_EQ(GcOptions{}.finalizer_block_bound, 16u);
  const hc::Result r = run(
      [](Gc& gc) {
        hc::mutex sta("sta lock");
        gc.make<Finalizable>(gc, "rcw", false, [&] {
          sta.lock();
          sta.unlock();
        });
        sta.lock();
        gc.collect();
        hc::atomic<int> busy{0, "busy"};
        for (int i = 0; i < 20; ++i)
          busy.fetch_add(1);
        sta.unlock();
        gc.wait_for_pending_finalizers();
      },
      GcOptions{});
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::finalizer_blocked);
  EXPECT_TRUE(contains(r.findings[0].message, "blocked for 17 steps (bound 16)"))
      << r.findings[0].message;
}

// Issue 17: the resurrect-and-re-register idiom (a pooled object returns itself to the pool from
// its finalizer and calls GC.ReRegisterForFinalize(this), DOC-RRF) is legitimate: each run of
// the finalizer comes from its own registration, so running it again is no finding. Only a run
// without a registration of its own (ReregisteringARegisteredObjectRunsItsFinalizerTwice) is.
TEST(Finalization, AFinalizerThatReRegistersItselfMayRunAgain) {
  const hc::Result r = run([](Gc& gc) {
    Ref<Finalizable> pool;  // a static field
    Finalizable* self = nullptr;
    auto& o = gc.make<Finalizable>(gc, "pooled", false, [&] {
      if (self->times_finalized() == 0) {
        pool = Ref<Finalizable>(*self);  // back into the pool
        gc.reregister_for_finalize(*self);
      }
    });
    self = &o;
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(o.times_finalized() == 1, "finalized {}", o.times_finalized());
    pool.reset();  // out of the pool for good
    gc.collect();
    gc.wait_for_pending_finalizers();
    HC_CHECK(o.times_finalized() == 2, "finalized {}", o.times_finalized());
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// B24 trigger 1: a finalizer resurrects the object; using it afterwards uses what its
// finalizer released.
TEST(UseOfFinalizedObject, ThroughResurrection) {
  auto body = [](bool resurrect) {
    return [resurrect](Gc& gc) {
      Ref<Finalizable> global;  // a static field
      Finalizable* self = nullptr;
      auto& o = gc.make<Finalizable>(gc, "conn", false, [&, resurrect] {
        if (resurrect) global = Ref<Finalizable>(*self);
      });
      self = &o;
      gc.collect();
      gc.wait_for_pending_finalizers();
      if (global) global->use("Send");
    };
  };
  const hc::Result r = run(body(true));
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::use_of_finalized_object,
                         "called Send on Conn 'conn' after its finalizer ran (finalized by thread "
                         "'finalizer'");
  EXPECT_TRUE(run(body(false)).findings.empty());
}

// --- weak references (§3.2 steps 2 and 4) ------------------------------------------------------

TEST(WeakReferences, ShortOnesClearAtTheCollectionLongOnesOnlyAfterFinalization) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "o");
    WeakRef<Finalizable> shortw(o, WeakRef<Finalizable>::Kind::short_weak);
    WeakRef<Finalizable> longw(o, WeakRef<Finalizable>::Kind::long_weak);
    gc.collect();  // o is queued for finalization (resurrected)
    HC_CHECK(shortw.cleared(), "a short weak reference survived the collection");
    HC_CHECK(!longw.cleared(), "a long weak reference to an f-reachable object was cleared");
    gc.wait_for_pending_finalizers();
    gc.collect();  // finalized and unreachable: now the long one goes too
    HC_CHECK(longw.cleared(), "the long weak reference survived");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// B24 trigger 3: a long weak reference hands out an object whose finalizer already ran.
TEST(WeakReferences, ALongWeakReferenceReachesAFinalizedObject) {
  const hc::Result r = run([](Gc& gc) {
    auto& o = gc.make<Finalizable>(gc, "session");
    WeakRef<Finalizable> longw(o, WeakRef<Finalizable>::Kind::long_weak);
    gc.collect();
    gc.wait_for_pending_finalizers();
    if (Ref<Finalizable> again = longw.target()) again->use("Refresh");
  });
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, hc::FindingKind::use_of_finalized_object);
}

// --- collection timing is explored (B2) ----------------------------------------------------------

TEST(CollectionTiming, AGcAfterTheLastUseCanFinalizeDuringTheNativeCall) {
  struct Wrapper : ManagedObject {
    explicit Wrapper(Gc& gc) : ManagedObject(gc, "Bitmap", "bmp", true) {}
    void finalize() override { freed.store(true); }  // frees the native pointer
    hc::atomic<bool> freed{false, "native pointer freed"};
  };
  auto body = [](bool keep_alive) {
    return [keep_alive](Gc& gc) {
      Ref<Wrapper> self = gc.allocate<Wrapper>(gc);
      Wrapper& w = *self;
      // The method reads its native pointer, then calls native code with it.
      if (!keep_alive) self.last_use();  // the JIT: `this` is dead after the field read
      HC_CHECK(!w.freed.load(), "native resource freed while the native call still uses it");
      if (keep_alive) self.keep_alive();  // GC.KeepAlive(this) after the call
    };
  };
  GcOptions options;
  options.background_collections = 1;
  const hc::Result racy = run(body(false), options);
  ASSERT_EQ(racy.findings.size(), 1u);
  EXPECT_EQ(racy.findings[0].kind, hc::FindingKind::check_failure);
  EXPECT_TRUE(contains(racy.findings[0].message, "native resource freed while the native call"));
  const hc::Result fixed = run(body(true), options);
  EXPECT_TRUE(fixed.findings.empty()) << fixed.findings.front().message;
  EXPECT_TRUE(fixed.stats.exhausted);
}

// --- dpor: the footprints the model declares -----------------------------------------------------

// dpor orders two steps only when their declared footprints conflict (the footprint audit, on in
// the test suite, checks every step touches nothing else): against exhaustive dfs it reaches the
// same outcomes (which finalizers ran, in which order) in fewer executions (235 against 1390).
TEST(GcDpor, ReachesTheOutcomesOfDfsInFewerExecutions) {
  const hc::test::DfsAndDpor r =
      hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
        std::string ran;  // appended on the finalizer thread only, read once ~Gc joined it
        {
          Gc gc(GcOptions{.background_collections = 1});
          auto note = [&ran](const char* name) { return [&ran, name] { ran += name; }; };
          Ref<Finalizable> a = gc.allocate<Finalizable>(gc, "a", false, note("a"));
          Ref<Finalizable> b = gc.allocate<Finalizable>(gc, "b", false, note("b"));
          Finalizable& b_object = *b;
          hc::thread user("user", [&] {
            a.reset();
            b.reset();
            gc.suppress_finalize(b_object);  // too late if a GC queued it and it ran
          });
          gc.collect();
          user.join();
          gc.wait_for_pending_finalizers();
        }
        outcomes.insert(ran.empty() ? "none" : ran);
      });
  const hc::Result& dfs = r.dfs;
  const hc::Result& dpor = r.dpor;
  const std::set<std::string>& by_dfs = r.dfs_outcomes;
  const std::set<std::string>& by_dpor = r.dpor_outcomes;
  EXPECT_TRUE(dfs.findings.empty()) << dfs.findings.front().message;
  EXPECT_TRUE(dpor.findings.empty()) << dpor.findings.front().message;
  EXPECT_EQ(by_dpor, by_dfs);
  EXPECT_GT(by_dfs.size(), 2u);
  EXPECT_LT(dpor.stats.executions, dfs.stats.executions);
}

}  // namespace

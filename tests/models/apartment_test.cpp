// COM apartments and thread affinity (subsystem.hpp's ComApartment and ComEvent, com_object.hpp's
// ComProxy), against the COM documentation ("Single-Threaded Apartments", "Multithreaded
// Apartments", CoWaitForMultipleHandles, CoMarshalInterThreadInterfaceInStream):
//  * a call on an STA object from another thread is marshalled and completes only when the STA
//    thread pumps; a pumping wait lets it complete;
//  * a non-pumping wait with nothing else to wake it is a deadlock naming the STA thread, its
//    wait and the blocked call;
//  * MTA objects are called directly from any thread;
//  * releasing an STA object on another thread without marshalling is release-on-wrong-thread;
// and each correct counterpart explored clean and exhaustively under dfs and dpor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hc/hc.hpp"
#include "hc/models/com_object.hpp"
#include "hc/models/loop_affinity.hpp"
#include "hc/models/subsystem.hpp"
#include "test_support.hpp"

namespace {

using hc::FindingKind;
using hc::models::ApartmentKind;
using hc::models::ComApartment;
using hc::models::ComEvent;
using hc::models::ComInit;
using hc::models::ComObject;
using hc::models::ComProxy;
using hc::models::ComPtr;
using hc::models::ComWorld;
using hc::test::contains;
using hc::test::exhaustive;
using hc::test::explore_dfs_and_dpor;

struct Bitmap : ComObject {
  Bitmap() : ComObject("Bitmap") {}
};

std::string thread_of_current() {
  return std::string(hc::rt::thread_name(hc::rt::current_thread()));
}

// A worker calls Draw on the STA's bitmap through a proxy and releases it; the STA thread (main)
// does some work of its own, then runs a message loop by hand until it has dispatched both
// calls. In every execution Draw and the Release run on main, and the worker's call returns
// only after main dispatched it.
TEST(Apartment, ACrossApartmentCallCompletesOnlyWhenTheStaPumps) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment sta;
    HC_CHECK(sta.CoInitializeEx(ComInit::apartment_threaded) == 0, "S_OK");
    HC_CHECK(sta.kind() == ApartmentKind::sta, "an STA");
    std::vector<std::string> order;
    hc::atomic<int> busy{0, "busy"};
    {
      ComWorld world({.subsystem = &sta});
      ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
      ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
      hc::thread worker("worker", [&order, p = std::move(proxy)]() mutable {
        p.call("Draw", [&order](Bitmap&) { order.push_back("Draw on " + thread_of_current()); });
        order.push_back("Draw returned");
        p.Release();
        order.push_back("Release returned");
      });
      busy.store(1);  // busy: the worker's call waits
      busy.store(2);
      bitmap.reset();  // main's own reference: the proxy's keeps the bitmap alive
      int dispatched = 0;
      while (dispatched < 2) {
        if (sta.pump()) {
          ++dispatched;
        } else {
          hc::this_thread::yield();
        }
      }
      worker.join();
      const auto alive = world.alive();
      HC_CHECK(alive.empty(), "the bitmap is destroyed");
    }
    std::string text;
    for (const std::string& s : order)
      text += s + ";";
    outcomes.insert(text);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes,
            (std::set<std::string>{"Draw on main;Draw returned;Release returned;"}));
  EXPECT_GT(r.dfs.stats.executions, 1u);
}

// The same calls while the STA thread waits with CoWaitForMultipleHandles for the worker's
// "done" event: the pumping wait dispatches them, and the Release destroys the bitmap on main.
TEST(Apartment, APumpingWaitLetsTheCallComplete) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment sta;
    sta.CoInitializeEx(ComInit::apartment_threaded);
    ComEvent done(sta, "worker done");
    std::string drawn_on;
    std::string destroyed_on;
    {
      ComWorld world({.subsystem = &sta});
      ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
      ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
      bitmap.reset();
      const ComObject* model = proxy.get();
      hc::thread worker("worker", [&, p = std::move(proxy)]() mutable {
        p.call("Draw", [&drawn_on](Bitmap&) { drawn_on = thread_of_current(); });
        p.Release();
        done.SetEvent();
      });
      sta.CoWaitForMultipleHandles(done);
      HC_CHECK(model->state() == hc::models::ComState::destroyed, "destroyed before done");
      destroyed_on = model->destroyed_by().thread_name;
      worker.join();
    }
    outcomes.insert(drawn_on + "/" + destroyed_on);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"main/main"}));
}

// The STA thread waits for the worker's "done" event with WaitForSingleObject, which does not
// pump: the worker's call never runs, and nothing else can set the event.
void non_pumping_wait() {
  ComApartment sta;
  sta.CoInitializeEx(ComInit::apartment_threaded);
  ComEvent done(sta, "worker done");
  ComWorld world({.subsystem = &sta});
  ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
  ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
  hc::thread worker("worker", [&, p = std::move(proxy)]() mutable {
    p.call("Draw");
    p.Release();
    done.SetEvent();
  });
  done.WaitForSingleObject();
  worker.join();
}

TEST(Apartment, ANonPumpingWaitWithNothingToWakeItIsADeadlockNamingTheCall) {
  for (const char* strategy : {"dfs", "dpor", "random"}) {
    hc::ExploreOptions o = exhaustive();
    o.strategy = strategy;
    if (std::string(strategy) == "random") o.max_executions = 50;
    const hc::Result r = hc::explore(non_pumping_wait, o);
    ASSERT_FALSE(r.findings.empty()) << strategy;
    const hc::Finding& f = r.findings.front();
    EXPECT_EQ(f.kind, FindingKind::deadlock) << strategy;
    EXPECT_TRUE(contains(f.message,
                         "thread 'main' waits for event 'worker done, waited for by STA thread "
                         "'main' without pumping (WaitForSingleObject dispatches no "
                         "cross-apartment call)' to be set"))
        << f.message;
    EXPECT_TRUE(contains(f.message,
                         "thread 'worker' waits for event 'reply of the cross-apartment call "
                         "Draw of ComObject 'bitmap' (type Bitmap) by thread 'worker' into the "
                         "STA of thread 'main', which only thread 'main' pumping messages "
                         "dispatches'"))
        << f.message;
    EXPECT_TRUE(contains(f.message, "apartment_test.cpp:")) << f.message;
  }
}

// Two workers call into one STA while it waits pumping for both: the calls run on main in
// either order, and dfs and dpor reach the same orders (the footprints' check), with the
// pumping wait and the events' SetEvent racing the sends.
TEST(Apartment, TwoCallersIntoOneStaRunInEitherOrderUnderDfsAndDpor) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment sta;
    sta.CoInitializeEx(ComInit::apartment_threaded);
    ComEvent first_done(sta, "first done");
    ComEvent second_done(sta, "second done");
    std::string log;
    {
      ComWorld world({.subsystem = &sta});
      ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
      ComProxy<Bitmap> p1 = ComProxy<Bitmap>::marshal(bitmap);
      ComProxy<Bitmap> p2 = ComProxy<Bitmap>::marshal(bitmap);
      // The proxies stay with main, which releases them (directly, on its own thread).
      auto caller = [&log](const ComProxy<Bitmap>& p, ComEvent& done, const char* who) {
        p.call("Draw",
               [&log, who](Bitmap&) { log += std::string(who) + "@" + thread_of_current() + ";"; });
        done.SetEvent();
      };
      hc::thread a("a", [&] { caller(p1, first_done, "a"); });
      hc::thread b("b", [&] { caller(p2, second_done, "b"); });
      sta.CoWaitForMultipleHandles(first_done);
      sta.CoWaitForMultipleHandles(second_done);
      a.join();
      b.join();
    }
    outcomes.insert(log);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"a@main;b@main;", "b@main;a@main;"}));
  EXPECT_LT(r.dpor.stats.executions, r.dfs.stats.executions);
}

// The MTA: a worker's calls through a proxy, and a plain ComPtr's Release on the worker, run
// directly on the worker; nobody pumps.
TEST(Apartment, MtaObjectsAreCalledDirectlyFromAnyThread) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment mta;
    mta.CoInitializeEx(ComInit::multithreaded);
    std::string drawn_on;
    std::string destroyed_on;
    {
      ComWorld world({.subsystem = &mta});
      ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
      ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
      ComPtr<Bitmap> mine(bitmap);
      const ComObject* model = bitmap.get();
      bitmap.reset();
      hc::thread worker("worker", [&, p = std::move(proxy), m = std::move(mine)]() mutable {
        p.call("Draw", [&drawn_on](Bitmap&) { drawn_on = thread_of_current(); });
        p.Release();
        m.reset();  // a ComPtr carried across: legal in the MTA
      });
      worker.join();
      destroyed_on = model->destroyed_by().thread_name;
    }
    outcomes.insert(drawn_on + "/" + destroyed_on);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"worker/worker"}));
}

// A ComPtr to an STA object carried to a worker and released there, without marshalling.
TEST(ReleaseOnWrongThread, AnStaObjectReleasedOnAnotherThreadIsReported) {
  int release_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        ComApartment sta;
        sta.CoInitializeEx(ComInit::apartment_threaded);
        ComWorld world({.subsystem = &sta});
        ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
        ComPtr<Bitmap> mine(bitmap);
        hc::thread worker("worker", [&, m = std::move(mine)]() mutable {
          m.use("Draw");
          release_line = __LINE__ + 1;
          m.reset();
        });
        worker.join();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, FindingKind::release_on_wrong_thread,
                         "release on wrong thread: Release of ComObject 'bitmap' (type Bitmap) "
                         "through a ComPtr at step ");
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.thread_name, "worker");
  EXPECT_EQ(f.line, static_cast<std::uint32_t>(release_line));
  EXPECT_TRUE(contains(f.message, "by thread 'worker' (tests/models/apartment_test.cpp:"))
      << f.message;
  EXPECT_TRUE(contains(f.message,
                       "the object belongs to the single-threaded apartment (STA) of thread "
                       "'main' (created by thread 'main' at step"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "Marshal the release to the owner")) << f.message;
  EXPECT_TRUE(contains(f.message, "ComProxy")) << f.message;
  EXPECT_EQ(hc::finding_kind_name(FindingKind::release_on_wrong_thread), "release-on-wrong-thread");
}

// The fix: the worker gets a marshalled proxy; its Release is a cross-apartment call the STA
// runs in its pumping wait. Clean under dfs and dpor.
TEST(ReleaseOnWrongThread, AMarshalledReleaseRunsOnTheOwnerAndIsClean) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    ComApartment sta;
    sta.CoInitializeEx(ComInit::apartment_threaded);
    ComEvent done(sta, "worker done");
    std::string destroyed_on;
    {
      ComWorld world({.subsystem = &sta});
      ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
      const ComObject* model = bitmap.get();
      ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
      hc::thread worker("worker", [&, p = std::move(proxy)]() mutable {
        p.call("Draw");
        p.Release();
        done.SetEvent();
      });
      bitmap.reset();  // either Release may be the last one: both run on main
      sta.CoWaitForMultipleHandles(done);
      worker.join();
      destroyed_on = model->destroyed_by().thread_name;
    }
    outcomes.insert(destroyed_on);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"main"}));
}

// A call into an STA whose thread already ran CoUninitialize: the apartment is gone, and the
// call is reported at its send (COM answers RPC_E_DISCONNECTED, or hangs).
TEST(Apartment, ACallIntoATornDownStaIsReleaseAfterSubsystemShutdown) {
  const hc::Result r = hc::explore(
      [] {
        ComApartment sta;
        sta.CoInitializeEx(ComInit::apartment_threaded);
        ComWorld world({.report_leaks = false, .subsystem = &sta});
        ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
        ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
        (void)bitmap.detach();
        sta.CoUninitialize();
        hc::thread worker("worker", [p = std::move(proxy)]() mutable {
          p.call("Draw");
          (void)p.get();
        });
        worker.join();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, FindingKind::release_after_subsystem_shutdown,
                         "release after subsystem shutdown: Draw of ComObject 'bitmap' (type "
                         "Bitmap) by thread 'worker'");
}

}  // namespace

// --- loop-affine handles (loop_affinity.hpp) ---------------------------------------------------

namespace {

using hc::models::LoopHandle;
using hc::models::LoopThread;

TEST(LoopAffinity, AHandleClosedOffItsLoopThreadIsReleaseOnWrongThread) {
  int close_line = 0;
  const hc::Result r = hc::explore(
      [&] {
        LoopThread loop("libuv");
        LoopHandle timer(loop, "timer", "uv_timer_t");
        hc::thread other("other", [&] {
          close_line = __LINE__ + 1;
          timer.close();
          loop.stop();
        });
        loop.run();
        other.join();
      },
      exhaustive());
  HC_EXPECT_ONLY_FINDING(r, FindingKind::release_on_wrong_thread,
                         "release on wrong thread: uv_close of handle 'timer' (uv_timer_t) at "
                         "step ");
  const hc::Finding& f = r.findings.front();
  EXPECT_EQ(f.thread_name, "other");
  EXPECT_EQ(f.line, static_cast<std::uint32_t>(close_line));
  EXPECT_TRUE(contains(f.message, "the handle belongs to loop 'libuv' of thread 'main'"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "Post the close to the loop thread")) << f.message;
}

// The posted close runs on the loop thread, after what was posted before it, and the loop
// returns at the stop posted after it: clean, under dfs and dpor.
TEST(LoopAffinity, APostedCloseRunsOnTheLoopThreadInOrder) {
  const auto r = explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    LoopThread loop("libuv");
    LoopHandle timer(loop, "timer", "uv_timer_t");
    std::string log;
    hc::thread other("other", [&] {
      loop.post([&] {
        timer.use("uv_timer_stop");
        log += "stop on " + thread_of_current() + ";";
      });
      loop.post([&] {
        timer.close();
        log += "close on " + thread_of_current() + ";";
      });
      loop.stop();
    });
    loop.run();
    HC_CHECK(timer.closed(), "closed when the loop stops");
    other.join();
    outcomes.insert(log);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"stop on main;close on main;"}));
}

// A loop nobody stops waits for ever once its queue is empty: a deadlock naming its wake-up.
TEST(LoopAffinity, ALoopNobodyStopsIsADeadlock) {
  const hc::Result r = hc::explore(
      [] {
        LoopThread loop("libuv");
        hc::thread other("other", [&] { loop.post([] {}); });
        loop.run();
        other.join();
      },
      exhaustive());
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.front().kind, FindingKind::deadlock);
  EXPECT_TRUE(contains(r.findings.front().message,
                       "thread 'main' waits for event 'async wake-up of loop 'libuv' (thread "
                       "'main')' to be set"))
      << r.findings.front().message;
}

}  // namespace

namespace {

// --- dpor against dfs on generated apartment and loop programs ---------------------------------
//
// Small programs: main is an STA with one object (`bitmap`, which main releases first) and a
// libuv-style loop; a worker does 1-4 of: a cross-apartment call through its own proxy
// (the call appends to a log and bumps `x` on the STA thread), a store or load of `x` on their
// own thread, a post to the loop (its callback appends on the loop thread), an unmarshalled use
// of the object through a ComPtr carried over (its Release on the worker is
// release-on-wrong-thread), then its proxy's Release and SetEvent of its "done" event. main
// waits for the worker pumping (CoWaitForMultipleHandles) or by a pump loop, as the seed says,
// then stops and runs the loop. Both searches, exhaustive, must reach the same final states (the
// log and x) and the same finding kinds: the footprints of the apartment's, the proxies' and the
// loop's operations are complete (the footprint audit is on as well).

enum class StaAct : std::uint8_t { call, store_x, load_x, post, carried_release };
constexpr int kStaActs = 5;

struct StaProgram {
  std::vector<std::vector<StaAct>> workers;
  bool pump_loop = false;  // main pumps by hand; else CoWaitForMultipleHandles per worker
};

StaProgram sta_program(std::uint64_t seed) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  auto below = [&s](int n) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<int>(s % static_cast<std::uint64_t>(n));
  };
  StaProgram p;
  p.workers.resize(1);  // two workers: up to a million dfs executions (TwoCallersIntoOneSta...)
  for (auto& ops : p.workers) {
    ops.resize(static_cast<std::size_t>(1 + below(4)));
    for (StaAct& a : ops)
      a = static_cast<StaAct>(below(kStaActs));
  }
  p.pump_loop = below(2) == 1;
  return p;
}

void run_sta_program(const StaProgram& program, std::set<std::string>& outcomes) {
  ComApartment sta;
  sta.CoInitializeEx(ComInit::apartment_threaded);
  LoopThread loop("loop");
  hc::atomic<int> x{0, "x"};
  std::string log;
  int calls = 0;  // cross-apartment calls main must dispatch in a pump loop (Release included)
  for (const auto& ops : program.workers) {
    for (StaAct a : ops)
      calls += a == StaAct::call ? 1 : 0;
    calls += 1;  // the proxy's Release
  }
  {
    ComWorld world({.report_leaks = false, .subsystem = &sta});
    ComPtr<Bitmap> bitmap = world.make<Bitmap>("bitmap");
    std::vector<std::unique_ptr<ComEvent>> done;
    std::vector<hc::thread> workers;
    for (std::size_t w = 0; w < program.workers.size(); ++w) {
      done.push_back(std::make_unique<ComEvent>(sta, "worker done"));
      ComEvent& my_done = *done.back();
      ComProxy<Bitmap> proxy = ComProxy<Bitmap>::marshal(bitmap);
      // Only a worker that releases it carries a ComPtr: any other would release it on its own
      // thread when its function object goes.
      const auto& ops = program.workers[w];
      ComPtr<Bitmap> carried;
      if (std::find(ops.begin(), ops.end(), StaAct::carried_release) != ops.end()) carried = bitmap;
      const std::string name = "w" + std::to_string(w + 1);
      workers.emplace_back(name, [&, ops = program.workers[w], name, p = std::move(proxy),
                                  c = std::move(carried)]() mutable {
        for (StaAct a : ops) {
          switch (a) {
            case StaAct::call:
              p.call("Draw", [&](Bitmap&) {
                log += name + "@" + thread_of_current() + ";";
                x.fetch_add(1);
              });
              break;
            case StaAct::store_x:
              x.store(10);
              break;
            case StaAct::load_x:
              (void)x.load();
              break;
            case StaAct::post:
              loop.post([&log, name] { log += "post " + name + "@" + thread_of_current() + ";"; });
              break;
            case StaAct::carried_release:
              c.reset();  // not marshalled: release-on-wrong-thread
              break;
          }
        }
        p.Release();
        my_done.SetEvent();
      });
    }
    bitmap.reset();
    if (program.pump_loop) {
      int dispatched = 0;
      while (dispatched < calls) {
        if (sta.pump()) {
          ++dispatched;
        } else {
          hc::this_thread::yield();
        }
      }
    } else {
      for (auto& event : done)
        sta.CoWaitForMultipleHandles(*event);
    }
    for (hc::thread& t : workers)
      t.join();
    loop.stop();
    loop.run();
  }
  outcomes.insert(log + " x=" + std::to_string(x.peek()));
}

TEST(ApartmentDifferential, DporReachesWhatDfsReachesOn200Programs) {
  std::uint64_t dfs_executions = 0;
  std::uint64_t dpor_executions = 0;
  std::set<std::string> kinds_seen;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const StaProgram program = sta_program(seed);
    hc::ExploreOptions o = exhaustive();
    o.stop_at_first = false;
    const auto r = hc::test::explore_dfs_and_dpor(
        [&](std::set<std::string>& outcomes) { run_sta_program(program, outcomes); }, o);
    HC_EXPECT_DPOR_AGREES_WITH_DFS(r, "program " + std::to_string(seed));
    const std::set<std::string> dfs_kinds = hc::test::finding_kinds(r.dfs);
    kinds_seen.insert(dfs_kinds.begin(), dfs_kinds.end());
    dfs_executions += r.dfs.stats.executions;
    dpor_executions += r.dpor.stats.executions;
  }
  std::printf("200 apartment programs: dfs %llu executions, dpor %llu\n",
              static_cast<unsigned long long>(dfs_executions),
              static_cast<unsigned long long>(dpor_executions));
  // The generator reaches the wrong-thread release, and dpor prunes somewhere.
  EXPECT_EQ(kinds_seen.count("release-on-wrong-thread"), 1u);
  EXPECT_LT(dpor_executions, dfs_executions);
}

}  // namespace

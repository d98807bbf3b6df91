// dpor's dependence between events (strategy/dpor_search.hpp, dependent()): two events that are
// not special (classify()) depend exactly when their footprints' touches conflict, and
// dependent() takes that short way for them. These tests check the short way against the full
// check over every pair of a set of events that covers each reason an event is special, and
// that the packed footprint entries (strategy/dependence.hpp) decide conflicts as the touches do.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include <fmt/format.h>

#include "strategy/dpor_search.hpp"

namespace {

using hc::Access;
using hc::OpKind;
using hc::ThreadId;
using hc::ThreadMask;
using hc::Touch;
using hc::detail::Footprint;
using hc::detail::dpor::Ev;

Footprint footprint_of(std::initializer_list<Touch> touches) {
  Footprint f;
  for (const Touch& t : touches)
    f.add(t);
  return f;
}

std::string describe(const Ev& e) {
  return fmt::format("thread {} kind {} after_yield {} spawned {:#x} joined {:#x} touches {}",
                     e.thread, static_cast<int>(e.kind), e.after_yield, e.spawned, e.joined,
                     e.footprint.size);
}

/// Two threads, eight kinds, with and without a yield before, with and without a spawn, and
/// footprints from none to every model object.
std::vector<Ev> events() {
  constexpr hc::ObjectId x = 5;
  constexpr hc::ObjectId y = 6;
  const std::vector<Footprint> footprints = {
      footprint_of({}),
      footprint_of({{x, Access::read}}),
      footprint_of({{x, Access::write}}),
      footprint_of({{y, Access::read_write}}),
      footprint_of({{x, Access::read}, {y, Access::write}}),
      footprint_of({{hc::kAllModelObjects, Access::write}}),
      footprint_of({{hc::kUndeclaredFootprint, Access::read_write}}),
  };
  std::vector<Ev> out;
  for (ThreadId t : {ThreadId{0}, ThreadId{1}}) {
    for (OpKind kind :
         {OpKind::atomic_load, OpKind::atomic_store, OpKind::model, OpKind::thread_join,
          OpKind::thread_yield, OpKind::cv_wait, OpKind::cv_notify_one, OpKind::mutex_lock}) {
      for (bool after_yield : {false, true}) {
        for (ThreadMask spawned : {ThreadMask{0}, ThreadMask{0b100}}) {
          for (const Footprint& f : footprints) {
            Ev e = hc::detail::dpor::make_ev(t, kind, x, f, /*join_target=*/2, after_yield);
            e.spawned = spawned;
            hc::detail::dpor::classify(e);
            out.push_back(e);
          }
        }
      }
    }
  }
  return out;
}

TEST(Dependence, TheShortWayForPlainEventsAgreesWithTheFullCheck) {
  const std::vector<Ev> all = events();
  int plain_pairs = 0;
  int plain_dependent = 0;
  for (const Ev& a : all) {
    for (const Ev& b : all) {
      Ev full_a = a;
      Ev full_b = b;
      full_a.special = full_b.special = true;  // forces every check
      const bool got = hc::detail::dpor::dependent(a, b);
      ASSERT_EQ(got, hc::detail::dpor::dependent(full_a, full_b))
          << describe(a) << " / " << describe(b);
      if (!a.special && !b.special && a.thread != b.thread) {
        ++plain_pairs;
        plain_dependent += got;
      }
    }
  }
  // The short way was taken, both ways.
  EXPECT_GT(plain_pairs, 100);
  EXPECT_GT(plain_dependent, 0);
  EXPECT_LT(plain_dependent, plain_pairs);
}

TEST(Dependence, EachReasonMakesAnEventSpecial) {
  using hc::detail::dpor::make_ev;
  const Footprint read_x = footprint_of({{5, Access::read}});
  EXPECT_FALSE(make_ev(0, OpKind::atomic_load, 5, read_x, 0, false).special);
  EXPECT_TRUE(make_ev(0, OpKind::atomic_load, 5, read_x, 0, true).special);  // after a yield
  EXPECT_TRUE(make_ev(0, OpKind::thread_yield, hc::kNoObject, {}, 0, false).special);
  EXPECT_TRUE(make_ev(0, OpKind::thread_join, hc::kNoObject, {}, 1, false).special);
  EXPECT_TRUE(make_ev(0, OpKind::cv_wake, 5, read_x, 0, false).special);
  EXPECT_TRUE(make_ev(0, OpKind::model, 5,
                      footprint_of({{hc::kAllModelObjects, Access::read_write}}), 0, false)
                  .special);
  EXPECT_TRUE(make_ev(0, OpKind::model, 5,
                      footprint_of({{hc::kUndeclaredFootprint, Access::read_write}}), 0, false)
                  .special);
  Ev spawner = make_ev(0, OpKind::atomic_store, 5, read_x, 0, false);
  spawner.spawned = 0b10;
  hc::detail::dpor::classify(spawner);
  EXPECT_TRUE(spawner.special);
}

TEST(Dependence, PackedTouchesConflictAsTheTouchesDo) {
  // Objects that differ only above the 30 bits a packed entry keeps cannot exist (the
  // Execution refuses that many); ids near the top of the range and the special ids can.
  const hc::ObjectId high = Footprint::kObjectBits - 3;
  for (hc::ObjectId a : {hc::ObjectId{0}, hc::ObjectId{7}, high}) {
    for (hc::ObjectId b : {hc::ObjectId{0}, hc::ObjectId{7}, high}) {
      for (Access p : {Access::read, Access::write, Access::read_write, Access::sync}) {
        for (Access q : {Access::read, Access::write, Access::read_write, Access::sync}) {
          const bool expected = a == b && (p != Access::read || q != Access::read);
          EXPECT_EQ(hc::detail::conflicting_touches(footprint_of({{a, p}}), footprint_of({{b, q}})),
                    expected)
              << a << " " << b;
          EXPECT_EQ(footprint_of({{a, p}}).at(0), (Touch{a, p}));
        }
      }
    }
  }
}

}  // namespace

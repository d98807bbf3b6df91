// dpor's dependence between events (strategy/dpor_search.hpp, dependent()): two events that are
// not special (classify()) depend exactly when their footprints' touches conflict, and
// dependent() takes that short way for them. These tests check the short way against the full
// check over every pair of a set of events that covers each reason an event is special, and
// that the packed footprint entries (strategy/dependence.hpp) decide conflicts as the touches do,
// and that EventCandidates, which the analysis scans instead of every earlier event, holds every
// event of another thread that an event depends on, latest first.
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

/// events(), then plain loads and stores of two threads, each object touched by two of them:
/// a trace whose special events are a minority, as in most executions.
std::vector<Ev> sequence() {
  std::vector<Ev> out = events();
  for (std::uint32_t k = 0; k < 600; ++k) {
    const auto object = static_cast<hc::ObjectId>(10 + k % 300);
    const Access access = k % 3 == 0 ? Access::write : Access::read;
    out.push_back(hc::detail::dpor::make_ev(static_cast<ThreadId>(k % 2), OpKind::atomic_load,
                                            object, footprint_of({{object, access}}), 0, false));
  }
  return out;
}

/// The indices EventCandidates visits for `e` below `limit`, in the order visited.
std::vector<std::size_t> candidates(const hc::detail::dpor::EventCandidates& index, const Ev& e,
                                    std::size_t limit) {
  std::vector<std::size_t> out;
  for (auto c = index.before(e, limit); c.more();)
    out.push_back(c.next());
  return out;
}

/// Every event of another thread below `limit` that `e` depends on is visited, latest first,
/// each once, and nothing at or above `limit`.
void expect_complete(const hc::detail::dpor::EventCandidates& index, const std::vector<Ev>& all,
                     const Ev& e, std::size_t limit) {
  const std::vector<std::size_t> got = candidates(index, e, limit);
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_LT(got[k], limit) << describe(e);
    if (k > 0) {
      ASSERT_LT(got[k], got[k - 1]) << "not latest first, or twice: " << describe(e);
    }
  }
  std::size_t at = 0;  // got is descending: walk it alongside i
  for (std::size_t i = limit; i-- > 0;) {
    while (at < got.size() && got[at] > i)
      ++at;
    const bool visited = at < got.size() && got[at] == i;
    if (all[i].thread != e.thread && hc::detail::dpor::dependent(all[i], e)) {
      ASSERT_TRUE(visited) << "missed " << describe(all[i]) << " for " << describe(e);
    }
  }
}

TEST(Dependence, CandidatesHoldEveryEventOfAnotherThreadThatMayDepend) {
  const std::vector<Ev> all = sequence();
  hc::detail::dpor::EventCandidates index;
  for (std::size_t i = 0; i < all.size(); ++i)
    index.add(static_cast<std::uint32_t>(i), all[i]);
  std::size_t fewer = 0;  // plain events for which the index skipped some
  for (const Ev& e : all) {
    for (std::size_t limit : {std::size_t{0}, std::size_t{1}, all.size() / 2, all.size()}) {
      expect_complete(index, all, e, limit);
      if (!e.special && candidates(index, e, limit).size() < limit) ++fewer;
    }
  }
  EXPECT_GT(fewer, 0u) << "the index never left an event out";
  // A special event's candidates are every earlier event.
  for (const Ev& e : all) {
    if (e.special) {
      EXPECT_EQ(candidates(index, e, all.size()).size(), all.size());
      break;
    }
  }
}

TEST(Dependence, TruncatedCandidatesForgetTheLaterEvents) {
  const std::vector<Ev> all = sequence();
  hc::detail::dpor::EventCandidates index;
  for (std::size_t i = 0; i < all.size(); ++i)
    index.add(static_cast<std::uint32_t>(i), all[i]);
  const std::size_t kept = all.size() / 3;
  index.truncate(kept);
  // The events from `kept` on are gone: with another run of events after the kept ones (the
  // same events again, in reverse), the index answers for that sequence.
  std::vector<Ev> next(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept));
  for (std::size_t i = all.size(); i-- > kept;)
    next.push_back(all[i]);
  for (std::size_t i = kept; i < next.size(); ++i)
    index.add(static_cast<std::uint32_t>(i), next[i]);
  for (const Ev& e : all)
    expect_complete(index, next, e, next.size());
  // And nothing of the old sequence's later events remains: a plain event visits exactly the
  // special events and those sharing one of its objects in the new sequence, unless its lists
  // hold at least half as many entries as there are events (then it visits every event).
  std::size_t fewer = 0;
  for (const Ev& e : all) {
    if (e.special) continue;
    std::size_t sharing = 0;
    std::size_t entries = 0;  // the special events, and per object of e the events touching it
    for (const Ev& o : next) {
      bool shares = o.special;
      entries += o.special;
      for (std::uint8_t b = 0; b < e.footprint.size; ++b) {
        bool touches = false;
        for (std::uint8_t a = 0; a < o.footprint.size && !o.special; ++a)
          touches |=
              ((o.footprint.packed[a] ^ e.footprint.packed[b]) & Footprint::kObjectBits) == 0;
        entries += touches;
        shares |= touches;
      }
      sharing += shares;
    }
    const std::size_t expected = 2 * entries >= next.size() ? next.size() : sharing;
    EXPECT_EQ(candidates(index, e, next.size()).size(), expected) << describe(e);
    fewer += expected < next.size();
  }
  EXPECT_GT(fewer, 0u) << "every plain event visited every event";
}

}  // namespace

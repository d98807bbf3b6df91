// dependence.hpp — the one definition of when two operations conflict: `dpor` races them,
// coverage pairs them, and the tests' Mazurkiewicz counter (tests/unit/mazurkiewicz.hpp) orders
// them by it. Header-only; it depends on the vocabulary of hc/operation.hpp alone.
//
// Footprints. Every operation names the objects it touches and how (hc::Touch): a primitive
// its one object; a model operation the object it announces plus up to kMaxExtraTouches more
// (a CloseHandle: the slot, the free list and the kernel object), or kAllModelObjects for an
// operation that scans the whole model (GC.Collect). Two events of different threads conflict
// when their footprints share an object and one of them writes it (`sync` counts as a write:
// locks, waits and joins are ordered with everything on their object), or when one touches
// kAllModelObjects and the other is a model operation. A model operation that declares no
// footprint (rt::model_op without `also`) carries kUndeclaredFootprint and conflicts with
// everything: correct for a model written quickly, just not reduced. The engine's footprint audit
// (RunSettings::audit_footprints) proves a model step touches nothing beyond its footprint.
//
// Outcome-dependent accesses. What a compare-exchange or a try_lock does depends on the state
// it runs in: when it fails it only reads. The trace records what each step did (a failed CAS
// is a read), and two kinds of question are asked of it:
//   * Of events that ran, in the order they ran (happens-before, races, the tests' trace
//     counter): `realized` footprints. This is sound: two adjacent events whose realized
//     footprints do not conflict commute in the state they ran in — a failed CAS next to a read
//     of its object, or next to anything on another object, still fails when swapped and
//     changes nothing — so executions that differ by such swaps reach the same state with the
//     same outcomes, and one of them stands for all (Nidhugg and GenMC treat failed CAS so).
//   * Of an event that may run in another state than the one it ran in: a thread's announced
//     operation at a decision, and the last event of a reversed race (it runs before the event
//     it raced with, so it may now succeed): `may` footprints (a CAS reads and writes, a
//     try_lock synchronises). A wakeup sequence whose last event uses its may-footprint is
//     compared with sleep sets as the operation, not as one of its outcomes. The events before
//     it in the sequence do not happen after the raced event, so they run in the same states as
//     before and keep their realized footprints.
//   * Of a sleeping thread: the event it was explored as, realized. A thread sleeps at a
//     decision once the branch that ran its event e there is explored, and it sleeps below that
//     decision while every event run since is independent of e. By the first point each of
//     those events commutes with e in the state it ran in, so e, run now, would still do what
//     it did (a failed CAS still fails: nothing wrote its object) and lead where the explored
//     branch led; an event that could change e's outcome writes what e read, conflicts with e
//     and wakes the thread. (Waking it on its may-footprint instead, as we once did, let reads
//     of a counter wake a failed CAS: the refcount protocol with three users ran 17,798
//     executions for 13,382 traces.)
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "hc/operation.hpp"

namespace hc::detail {

/// Whether two accesses to one object conflict: unless both only read.
constexpr bool conflicting(Access a, Access b) {
  return a != Access::read || b != Access::read;
}

/// The merged access of two touches of one object.
constexpr Access combined(Access a, Access b) {
  if (a == b) return a;
  if (a == Access::sync || b == Access::sync) return Access::sync;
  return Access::read_write;
}

/// Every object an event touches, inline (no allocation): copied into wakeup sequences.
///
/// A touch is packed into 4 bytes: the object in the low 30 bits (the three ids above every
/// real object, kNoObject, kAllModelObjects and kUndeclaredFootprint, in the top three of
/// them; Execution::register_object keeps real ids below) and the access in the top 2. An
/// event is copied into every wakeup-tree node and sequence that holds it, and eight 8-byte
/// touches made a footprint 68 bytes and a node 104; they are 36 and 72.
struct Footprint {
  static constexpr std::size_t kCapacity = 1 + kMaxExtraTouches;
  static constexpr std::uint32_t kObjectBits = 0x3FFF'FFFFu;
  static constexpr int kAccessShift = 30;
  /// Real object ids stay below this (Execution::register_object): the three values above it
  /// are the special ids.
  static constexpr std::uint32_t kMaxObjects = kObjectBits - 2;

  std::array<std::uint32_t, kCapacity> packed{};  // touches [0, size)
  std::uint8_t size = 0;
  // Whether it touches kAllModelObjects, kUndeclaredFootprint: kept by add(), because
  // conflict() asks for every pair of events.
  bool touches_all_models = false;
  bool touches_undeclared = false;

  static constexpr std::uint32_t pack(Touch t) {
    return (t.object & kObjectBits) | (static_cast<std::uint32_t>(t.access) << kAccessShift);
  }
  static constexpr Touch unpack(std::uint32_t p) {
    ObjectId object = p & kObjectBits;
    if (object >= kMaxObjects) object |= ~kObjectBits;  // the three special ids
    return Touch{object, static_cast<Access>(p >> kAccessShift)};
  }
  /// Touch `i` (i < size).
  constexpr Touch at(std::size_t i) const { return unpack(packed[i]); }
  constexpr void set_access(std::size_t i, Access a) {
    packed[i] = (packed[i] & kObjectBits) | (static_cast<std::uint32_t>(a) << kAccessShift);
  }

  /// Adds a touch; a second touch of one object merges into the first.
  constexpr void add(Touch t) {
    if (t.object == kNoObject) return;
    if (t.object == kAllModelObjects) touches_all_models = true;
    if (t.object == kUndeclaredFootprint) touches_undeclared = true;
    const std::uint32_t object = t.object & kObjectBits;
    for (std::uint8_t i = 0; i < size; ++i) {
      if ((packed[i] & kObjectBits) == object) {
        set_access(i, combined(at(i).access, t.access));
        return;
      }
    }
    if (size < kCapacity) packed[size++] = pack(t);
  }
  constexpr bool all_models() const { return touches_all_models; }
  constexpr bool undeclared() const { return touches_undeclared; }
  /// Whether the footprint allows `access` to `object` (`is_model_object`: an object of kind
  /// ObjectKind::model, which kAllModelObjects covers; events must be named).
  constexpr bool covers(ObjectId object, Access access, bool is_model_object) const {
    for (std::uint8_t i = 0; i < size; ++i) {
      const Touch t = at(i);
      if (t.object == kUndeclaredFootprint) return true;
      if (t.object == kAllModelObjects && is_model_object) return true;
      if (t.object != object) continue;
      return access == Access::read || t.access != Access::read;
    }
    return false;
  }
};
static_assert(sizeof(Footprint) == 36);
static_assert(Footprint::unpack(Footprint::pack(Touch{kNoObject, Access::sync})).object ==
              kNoObject);
static_assert(Footprint::unpack(Footprint::pack(Touch{kAllModelObjects, Access::write})) ==
              Touch{kAllModelObjects, Access::write});
static_assert(Footprint::unpack(Footprint::pack(Touch{kUndeclaredFootprint, Access::read})) ==
              Touch{kUndeclaredFootprint, Access::read});
static_assert(Footprint::unpack(Footprint::pack(Touch{12345, Access::read_write})) ==
              Touch{12345, Access::read_write});

/// Whether two footprints touch one object and not both only read it (their entries alone:
/// conflict() below adds kAllModelObjects and kUndeclaredFootprint).
constexpr bool conflicting_touches(const Footprint& a, const Footprint& b) {
  // Packed touches (Footprint): the same object when the low 30 bits agree; conflicting
  // accesses unless both are reads (Access::read is 0).
  for (std::uint8_t i = 0; i < a.size; ++i) {
    for (std::uint8_t j = 0; j < b.size; ++j) {
      const std::uint32_t x = a.packed[i];
      const std::uint32_t y = b.packed[j];
      if (((x ^ y) & Footprint::kObjectBits) == 0 && ((x | y) >> Footprint::kAccessShift) != 0)
        return true;
    }
  }
  return false;
}

/// Whether two footprints conflict (`a_model`/`b_model`: the events are model operations, which
/// a kAllModelObjects touch of the other conflicts with).
constexpr bool conflict(const Footprint& a, bool a_model, const Footprint& b, bool b_model) {
  if (a.undeclared() || b.undeclared()) return true;
  if ((a.all_models() && b_model) || (b.all_models() && a_model)) return true;
  return conflicting_touches(a, b);
}

/// The footprint of a step as it ran (`extras`: the execution's touch list).
inline Footprint realized_footprint(const Step& s, std::span<const Touch> extras) {
  Footprint f;
  if (s.kind == OpKind::choice) return f;  // a value choice touches nothing
  f.add(Touch{s.object, s.access});
  for (std::uint32_t k = 0; k < s.extra_count && s.first_extra + k < extras.size(); ++k)
    f.add(extras[s.first_extra + k]);
  return f;
}

/// What an operation of this kind may do, whatever the state: a CAS reads and writes, a
/// try_lock synchronises.
constexpr Access may_access(OpKind kind, Access recorded) {
  if (kind == OpKind::atomic_cas) return Access::read_write;
  if (kind == OpKind::mutex_try_lock) return Access::sync;
  return recorded;
}

/// A realized footprint widened back to what the operation (`kind` on `object`) may do in any
/// state: the announced object's entry, which Footprint::add placed first.
constexpr Footprint as_operation(Footprint f, OpKind kind, ObjectId object) {
  if (f.size > 0 && f.at(0).object == object) f.set_access(0, may_access(kind, f.at(0).access));
  return f;
}

/// The footprint of a step as the operation it is, in any state.
inline Footprint may_footprint(const Step& s, std::span<const Touch> extras) {
  return as_operation(realized_footprint(s, extras), s.kind, s.object);
}

/// The footprint of an announced operation (not yet run).
inline Footprint may_footprint(const Operation& op) {
  Footprint f;
  if (op.kind == OpKind::choice) return f;
  f.add(Touch{op.object, may_access(op.kind, op.access)});
  for (std::uint8_t k = 0; k < op.extra_count && op.extra != nullptr; ++k)
    f.add(op.extra[k]);
  return f;
}

}  // namespace hc::detail

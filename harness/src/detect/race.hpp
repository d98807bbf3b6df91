// race.hpp — RaceDetector: a data race on an hc::var, two accesses (at least one a write) by
// different threads that no happens-before edge (lock, atomic, event, thread start or join)
// orders. FastTrack-style: each var keeps the epoch of its last write and of each thread's
// last read since that write, and an access is checked against them with the accessing
// thread's vector clock.
//
// Protocol (Execution calls each directly, on the scheduling path; no virtual call):
//  * reset()                  at the start of each execution: forgets every var (keeps memory).
//  * on_register(me, clock, step)
//                             a var is constructed by thread `me`: construction is a write by
//                             it; returns the var's index (ObjectState::var_index).
//  * on_access(var, write, me, clock, step, where)
//                             after thread `me` parked and runs its read or write of `var`, as
//                             step `step` (1-based); returns the earlier access it races with
//                             (then the state is left as it was and the execution ends with
//                             finding(...)), or an empty Race after recording this access.
//  * forget_accesses(var)      a native location (rt::register_location): starts untouched.
//  * finding(exec, object, race, now_write, where)
//                             the finding: both accesses, their threads, sites and steps
//                             (detect/race.cpp).
// State: per var of this execution (`vars`, the first `n_vars` in use) the last write's epoch,
// each thread's last read's epoch since that write, and the mask of those readers.
#pragma once

#include <array>
#include <cstdint>
#include <source_location>
#include <vector>

#include "hc/finding.hpp"
#include "runtime/text.hpp"
#include "runtime/vector_clock.hpp"

namespace hc::detail {

class Execution;

struct RaceDetector {
  struct VarState {
    Epoch write;                             // last write
    std::array<Epoch, kMaxThreads> reads{};  // last read per thread since that write
    ThreadMask readers = 0;
  };
  /// What on_access found: the earlier access the new one races with, if any.
  struct Race {
    const Epoch* earlier = nullptr;
    bool earlier_write = false;
    explicit operator bool() const noexcept { return earlier != nullptr; }
  };

  std::vector<VarState> vars;
  std::uint32_t n_vars = 0;

  void reset() noexcept { n_vars = 0; }

  std::uint32_t on_register(ThreadId me, const VectorClock& clock, std::uint32_t step) {
    const std::uint32_t index = n_vars++;
    if (index == vars.size()) vars.emplace_back();
    VarState& v = vars[index];
    v.write = Epoch{clock.c[me], me, step, {}};
    v.readers = 0;
    return index;
  }

  /// A location of native code (rt::register_location): no access yet, not even construction.
  void forget_accesses(std::uint32_t var) noexcept {
    vars[var].write = Epoch{0, 0, 0, {}};  // clock 0: before everything
    vars[var].readers = 0;
  }

  [[nodiscard, gnu::always_inline]] Race on_access(std::uint32_t var, bool write, ThreadId me,
                                                   const VectorClock& clock, std::uint32_t step,
                                                   const std::source_location& where) noexcept {
    VarState& v = vars[var];
    if (v.write.thread != me && !v.write.happens_before(clock)) return Race{&v.write, true};
    if (write) {
      for (ThreadMask r = v.readers & ~bit(me); r != 0; r &= r - 1) {
        const Epoch& read = v.reads[lowest(r)];
        if (!read.happens_before(clock)) return Race{&read, false};
      }
      v.write = Epoch{clock.c[me], me, step, where};
      v.readers = 0;
    } else {
      v.reads[me] = Epoch{clock.c[me], me, step, where};
      v.readers |= bit(me);
    }
    return Race{};
  }

  /// `between_steps`: the accesses were native code's plain accesses (rt::plain_access), made
  /// after a step rather than as one.
  Finding finding(const Execution& exec, ObjectId object, const Race& race, bool now_write,
                  const std::source_location& where, bool between_steps = false) const;
};

}  // namespace hc::detail

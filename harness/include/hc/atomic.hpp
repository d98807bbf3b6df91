// hc/atomic.hpp — hc::atomic<T>: an instrumented atomic for code under test.
//
// Every operation is a scheduling point and is sequentially consistent in the engine; the
// memory order you pass is recorded (a later Relacy check covers weaker orders). Write code
// under test as a template on its atomic type (folly's seam) and it runs unchanged here and
// under std::atomic or rl::atomic:
//
//   template <template <class> class Atom = std::atomic> struct RefCount { Atom<int> n{1}; };
//   RefCount<hc::atomic> rc;   // under handlecheck
//
// peek() reads the value without a scheduling point: for invariants and post-join checks only.
//
// Names: `hc::atomic<int> n{0, "refs"}` shows as atomic 'refs' in reports. Unnamed, an atomic
// is named after the site that declared it, "atomic at refcount.hpp:66" (std::source_location
// of the constructor call, recorded once when the object registers: nothing per operation).
// C++ gives a data member's default initializer its class's constructor as that site, so the
// unnamed members of one class share it and the second one shows as "... #2": pass a name to
// the members you want told apart (the seam's `Atom<int> n{1}` compiles with std::atomic only
// without one; a model may construct its members with names of its own).
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>
#include <string_view>
#include <type_traits>

#include "hc/runtime.hpp"

namespace hc {
namespace detail {
template <class T>
inline void record_value(Step* step, const T& v) {
  if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    if (step) {
      step->has_value = true;
      step->value = static_cast<std::uint64_t>(v);
    }
  }
}
}  // namespace detail

template <class T>
class atomic {
  static_assert(std::is_trivially_copyable_v<T>, "hc::atomic<T> needs a trivially copyable T");
  using Loc = std::source_location;
  static constexpr auto kSeqCst = std::memory_order_seq_cst;

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a default constructor, like std::atomic's
  atomic(const Loc& declared = Loc::current()) : atomic(T{}, {}, declared) {}
  explicit atomic(T initial, std::string_view name = {}, const Loc& declared = Loc::current())
      : id_(rt::register_object(ObjectKind::atomic, name, declared)), value_(initial) {}
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(std::memory_order order = kSeqCst, const Loc& where = Loc::current()) const {
    Step* s = rt::atomic_op(OpKind::atomic_load, Access::read, id_, "load", order, where);
    detail::record_value(s, value_);
    return value_;
  }
  void store(T v, std::memory_order order = kSeqCst, const Loc& where = Loc::current()) {
    Step* s = rt::atomic_op(OpKind::atomic_store, Access::write, id_, "store", order, where);
    value_ = v;
    detail::record_value(s, v);
  }
  T exchange(T v, std::memory_order order = kSeqCst, const Loc& where = Loc::current()) {
    Step* s = rt::atomic_op(OpKind::atomic_rmw, Access::read_write, id_, "exchange", order, where);
    T old = value_;
    value_ = v;
    detail::record_value(s, old);
    return old;
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order order = kSeqCst,
                               const Loc& where = Loc::current()) {
    return cas(expected, desired, order, "compare_exchange_strong", where);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order /*failure*/, const Loc& where = Loc::current()) {
    return cas(expected, desired, success, "compare_exchange_strong", where);
  }
  /// Never fails spuriously in the engine (a spurious failure is just a retry of the loop).
  bool compare_exchange_weak(T& expected, T desired, std::memory_order order = kSeqCst,
                             const Loc& where = Loc::current()) {
    return cas(expected, desired, order, "compare_exchange_weak", where);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order /*failure*/, const Loc& where = Loc::current()) {
    return cas(expected, desired, success, "compare_exchange_weak", where);
  }

  T fetch_add(T d, std::memory_order o = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw(o, "fetch_add", w, [d](T v) { return static_cast<T>(v + d); });
  }
  T fetch_sub(T d, std::memory_order o = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw(o, "fetch_sub", w, [d](T v) { return static_cast<T>(v - d); });
  }
  T fetch_or(T d, std::memory_order o = kSeqCst,
             const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw(o, "fetch_or", w, [d](T v) { return static_cast<T>(v | d); });
  }
  T fetch_and(T d, std::memory_order o = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw(o, "fetch_and", w, [d](T v) { return static_cast<T>(v & d); });
  }
  T fetch_xor(T d, std::memory_order o = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw(o, "fetch_xor", w, [d](T v) { return static_cast<T>(v ^ d); });
  }

  /// Like std::atomic. An implicit load cannot know its line: call load() to record it.
  operator T() const { return load(kSeqCst, Loc{}); }  // NOLINT
  T operator=(located<T> v) {
    store(v.value, kSeqCst, v.where);
    return v.value;
  }

  /// The current value, without a scheduling point or happens-before: invariants only.
  T peek() const noexcept { return value_; }
  ObjectId id() const noexcept { return id_; }

 private:
  bool cas(T& expected, T desired, std::memory_order order, const char* label, const Loc& where) {
    // Announced as read-write (it may write); happens-before is released only on success.
    Step* s = rt::atomic_op(OpKind::atomic_cas, Access::read_write, id_, label, order, where);
    detail::record_value(s, value_);
    if (equal(value_, expected)) {
      value_ = desired;
      if (s) rt::atomic_release(id_);
      return true;
    }
    if (s) s->access = Access::read;
    expected = value_;
    return false;
  }
  template <class Op>
  T rmw(std::memory_order order, const char* label, const Loc& where, Op op) {
    Step* s = rt::atomic_op(OpKind::atomic_rmw, Access::read_write, id_, label, order, where);
    T old = value_;
    value_ = op(old);
    detail::record_value(s, old);
    return old;
  }
  static bool equal(const T& a, const T& b) {
    if constexpr (std::is_scalar_v<T>) {
      return a == b;
    } else {
      return __builtin_memcmp(&a, &b, sizeof(T)) == 0;
    }
  }

  ObjectId id_;
  T value_;
};

}  // namespace hc

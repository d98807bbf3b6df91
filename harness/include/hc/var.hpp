// hc/var.hpp — hc::var<T>: plain (non-atomic) shared memory with data-race detection.
//
//   hc::var<int> payload{0, "payload"};
//   payload = 42;          // a write: a scheduling point, checked against earlier accesses
//   int v = payload.read(); // a read (an implicit conversion reads too, without its line)
//
// Two accesses from different threads, at least one a write, that no happens-before edge
// orders (thread start/join, a lock, an atomic, an event) are a data-race finding naming both
// sites. Construction counts as a write by the constructing thread.
#pragma once

#include <source_location>
#include <string_view>
#include <utility>

#include "hc/atomic.hpp"
#include "hc/runtime.hpp"

namespace hc {

template <class T>
class var {
  using Loc = std::source_location;

 public:
  var() : var(T{}) {}
  explicit var(T initial, std::string_view name = {})
      : id_(rt::register_object(ObjectKind::var, name)), value_(std::move(initial)) {}
  var(const var&) = delete;
  var& operator=(const var&) = delete;

  T read(const Loc& where = Loc::current()) const {
    Step* s = rt::var_op(false, id_, where);
    detail::record_value(s, value_);
    return value_;
  }
  void write(T v, const Loc& where = Loc::current()) {
    Step* s = rt::var_op(true, id_, where);
    value_ = std::move(v);
    detail::record_value(s, value_);
  }

  /// An implicit read cannot know its line: reports show it without one. Call read() for it.
  operator T() const { return read(std::source_location{}); }  // NOLINT
  var& operator=(located<T> v) {
    write(std::move(v.value), v.where);
    return *this;
  }

  /// The value without a scheduling point or race check: invariants and post-join checks only.
  const T& peek() const noexcept { return value_; }
  ObjectId id() const noexcept { return id_; }

 private:
  ObjectId id_;
  T value_;
};

}  // namespace hc

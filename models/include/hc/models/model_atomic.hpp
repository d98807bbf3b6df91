// hc/models/model_atomic.hpp — ModelAtomic<T>: a model's interlocked word as model operations.
//
// A model whose protocol is a CAS loop on a word (the SafeHandle state word, CriticalHandle's
// _isClosed) writes it once as a template on its atomic type (folly's seam) so Relacy can
// check it with rl::atomic. Under handlecheck the model instantiates it with ModelAtomic: the
// same API as hc::atomic (load, store, compare-exchange, fetch_*, peek), but every operation is
// a model operation (rt::model_op) on a ModelCell, whose footprint is the word plus what the
// model's code reads between this operation and its thread's next scheduling point (the
// handle field a CAS loop tests, the value ReleaseHandle closes): set it once with
// also_touch(). An hc::atomic step could not declare those reads.
//
//   hc::models::ModelAtomic<int> word{4, "state word"};
//   word.also_touch({{handle_cell.reads()}});     // read after every operation of the word
//   int seen = word.load();                        // one scheduling point: "load"
//   word.compare_exchange_strong(seen, seen + 4);  // one scheduling point
//
// Labels are hc::atomic's ("load", "compare_exchange_strong", "fetch_or", ...), so replay
// files recorded against hc::atomic still match. Happens-before is a model operation's: each
// acquires; stores, compare-exchanges and read-modify-writes also release (a failed
// compare-exchange too: it is announced, and recorded, as the read-modify-write it may be).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include "hc/model_cell.hpp"
#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

template <class T>
class ModelAtomic {
  static_assert(std::is_trivially_copyable_v<T>, "ModelAtomic<T> needs a trivially copyable T");
  using Loc = std::source_location;
  static constexpr auto kSeqCst = std::memory_order_seq_cst;

 public:
  ModelAtomic() : ModelAtomic(T{}) {}
  explicit ModelAtomic(T initial, std::string_view name = {}) : cell_(name, initial) {}
  ModelAtomic(const ModelAtomic&) = delete;
  ModelAtomic& operator=(const ModelAtomic&) = delete;

  /// What every operation of the word declares besides the word (the announced object): at
  /// most kMaxExtraTouches entries.
  void also_touch(std::initializer_list<Touch> touches) {
    if (touches.size() > also_.size()) throw std::logic_error("ModelAtomic: too many touches");
    n_also_ = 0;
    for (const Touch& t : touches) {
      if (t.object != kNoObject) also_[n_also_++] = t;
    }
  }

  T load(std::memory_order = kSeqCst, const Loc& where = Loc::current()) const {
    Step* s = op(Access::read, "load", where);
    const T v = cell_.read(where);
    record(s, v);
    return v;
  }
  void store(T v, std::memory_order = kSeqCst, const Loc& where = Loc::current()) {
    Step* s = op(Access::write, "store", where);
    cell_.set(v, where);
    record(s, v);
  }
  T exchange(T v, std::memory_order = kSeqCst, const Loc& where = Loc::current()) {
    return rmw("exchange", where, [v](T) { return v; });
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order = kSeqCst,
                               const Loc& where = Loc::current()) {
    return cas(expected, desired, "compare_exchange_strong", where);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order, std::memory_order,
                               const Loc& where = Loc::current()) {
    return cas(expected, desired, "compare_exchange_strong", where);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order = kSeqCst,
                             const Loc& where = Loc::current()) {
    return cas(expected, desired, "compare_exchange_weak", where);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order, std::memory_order,
                             const Loc& where = Loc::current()) {
    return cas(expected, desired, "compare_exchange_weak", where);
  }
  T fetch_add(T d, std::memory_order = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw("fetch_add", w, [d](T v) { return static_cast<T>(v + d); });
  }
  T fetch_sub(T d, std::memory_order = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw("fetch_sub", w, [d](T v) { return static_cast<T>(v - d); });
  }
  T fetch_or(T d, std::memory_order = kSeqCst,
             const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw("fetch_or", w, [d](T v) { return static_cast<T>(v | d); });
  }
  T fetch_and(T d, std::memory_order = kSeqCst,
              const Loc& w = Loc::current()) requires std::is_integral_v<T> {
    return rmw("fetch_and", w, [d](T v) { return static_cast<T>(v & d); });
  }

  /// The value without a scheduling point or the audit: invariants and messages only.
  T peek() const noexcept { return cell_.peek(); }
  ObjectId id() const noexcept { return cell_.id(); }

 private:
  Step* op(Access access, const char* label, const Loc& where) const {
    return rt::model_op(access, cell_.id(), std::span<const Touch>(also_.data(), n_also_), label,
                        where);
  }
  bool cas(T& expected, T desired, const char* label, const Loc& where) {
    Step* s = op(Access::read_write, label, where);
    const T v = cell_.read(where);
    record(s, v);
    const bool succeeded = v == expected;
    if (s != nullptr) s->cas_outcome = succeeded ? 1 : 2;  // what reports say it did
    if (succeeded) {
      cell_.set(desired, where);
      return true;
    }
    expected = v;
    return false;
  }
  template <class Op>
  T rmw(const char* label, const Loc& where, Op f) {
    Step* s = op(Access::read_write, label, where);
    const T old = cell_.read(where);
    cell_.set(f(old), where);
    record(s, old);
    return old;
  }
  static void record(Step* s, const T& v) {
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      if (s != nullptr) {
        s->has_value = true;
        s->value = static_cast<std::uint64_t>(v);
      }
    }
  }

  ModelCell<T> cell_;
  std::array<Touch, kMaxExtraTouches> also_{};
  std::uint8_t n_also_ = 0;
};

}  // namespace hc::models

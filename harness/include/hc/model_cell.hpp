// hc/model_cell.hpp — ModelCell<T>: a piece of a model's state that the engine can see.
//
// A model (models/: handle tables, SafeHandle, the GC, COM, ICorDebug) keeps what its
// operations read and write in cells. Each cell is an engine object (ObjectKind::model) with a
// value beside it; a model operation names the cells it touches in its footprint
// (rt::model_op's `also`), and dpor orders two model steps only when their footprints conflict
// (harness/src/strategy/dependence.hpp). Every access goes through the cell:
//
//   hc::ModelCell<int> count{"refcount", 1};
//   const Touch fp[] = {{count.id(), Access::read_write}};
//   if (rt::model_op(Access::read_write, object_, fp, "Release", where) == nullptr) return;
//   if (--count.write() == 0) ...
//
// With the footprint audit on (RunSettings::audit_footprints; the test suite turns it on), a
// read or write of a cell that the calling thread's current step did not declare ends the
// execution with an internal error naming the cell, the step and the site: the audit proves the
// footprints dpor relies on. "Current step" is the thread's latest step: a model's code runs on
// behalf of the operation whose scheduling point came last, until the next one.
//
// peek() reads without the audit. It is for what only decides or explains findings — messages,
// invariants, reports, the host inspecting a finished execution — never for what the model
// does: a model branch on peek() is a dependence dpor cannot see.
//
// Cells register their object when constructed inside an execution; outside one (a model
// object built by the host) the cell has no id and is never audited.
#pragma once

#include <source_location>
#include <string_view>
#include <utility>

#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc {

template <class T>
class ModelCell {
 public:
  explicit ModelCell(std::string_view name, T initial = T{})
      : id_(rt::in_execution() ? rt::register_object(ObjectKind::model, name) : kNoObject),
        value_(std::move(initial)) {}
  ModelCell(const ModelCell&) = delete;
  ModelCell& operator=(const ModelCell&) = delete;

  /// The engine object of this cell: what footprints name.
  ObjectId id() const noexcept { return id_; }
  Touch reads() const noexcept { return {id_, Access::read}; }
  Touch writes() const noexcept { return {id_, Access::read_write}; }

  /// The value, read by the current step (audited).
  const T& read(const std::source_location& where = std::source_location::current()) const {
    audit(Access::read, where);
    return value_;
  }
  /// The value, for the current step to change (audited as a write).
  T& write(const std::source_location& where = std::source_location::current()) {
    audit(Access::write, where);
    return value_;
  }
  void set(T value, const std::source_location& where = std::source_location::current()) {
    write(where) = std::move(value);
  }
  /// The value without the audit: findings, invariants and reports only (see the header).
  const T& peek() const noexcept { return value_; }

 private:
  void audit(Access access, const std::source_location& where) const {
    if (id_ != kNoObject) rt::audit_touch(id_, access, where);
  }

  ObjectId id_;
  T value_;
};

}  // namespace hc

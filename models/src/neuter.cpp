// Right-side objects, neutering and neuter lists (hc/models/neuter.hpp).
#include "hc/models/neuter.hpp"

#include <algorithm>
#include <array>
#include <span>

#include <fmt/format.h>

#include "hc/models/process.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

namespace cordbg {
std::string hresult_name(HRESULT hr) {
  switch (hr) {
    case S_OK:
      return "S_OK";
    case S_FALSE:
      return "S_FALSE";
    case CORDBG_E_PROCESS_TERMINATED:
      return "CORDBG_E_PROCESS_TERMINATED (0x80131301)";
    case CORDBG_E_PROCESS_NOT_SYNCHRONIZED:
      return "CORDBG_E_PROCESS_NOT_SYNCHRONIZED (0x80131302)";
    case CORDBG_E_OBJECT_NEUTERED:
      return "CORDBG_E_OBJECT_NEUTERED (0x8013134F)";
    case CORDBG_E_PROCESS_DETACHED:
      return "CORDBG_E_PROCESS_DETACHED (0x80131335)";
    case CORDBG_E_HANDLE_HAS_BEEN_DISPOSED:
      return "CORDBG_E_HANDLE_HAS_BEEN_DISPOSED (0x80131C01)";
    case CORDBG_E_SUPERFLOUS_CONTINUE:
      return "CORDBG_E_SUPERFLOUS_CONTINUE (0x8013132F)";
    default:
      return fmt::format("{:#010X}", static_cast<std::uint32_t>(hr));
  }
}
}  // namespace cordbg

namespace {

constexpr std::uint64_t kExternalOne = std::uint64_t{1} << 32;

/// The product's debug asserts: a check_failure in ICorDebug's words; `refs` what `what`
/// refers to.
[[noreturn]] void assertion_failed(std::string what, const std::source_location& where,
                                   std::string_view signature, FindingRefs refs) {
  report(FindingKind::check_failure, "ICorDebug assertion failed: " + std::move(what), where,
         fmt::format("icordebug-assert|{}|{}", signature, site(where)), std::move(refs));
}

/// The step neutered_text(o) mentions, if any.
void add_neutered_step(const RsObject& o, FindingRefs& refs) {
  if (o.neutered_by()) refs.steps.push_back(o.neutered_by()->step);
}

std::string neutered_text(const RsObject& o) {
  if (!o.neutered_by()) return "neutered";
  if (o.neutered_at_continue() != 0) {
    return fmt::format("neutered at Continue #{} by {}", o.neutered_at_continue(),
                       describe(*o.neutered_by()));
  }
  return "neutered by " + describe(*o.neutered_by());
}

}  // namespace

// --- RsObject ----------------------------------------------------------------------------------

RsObject::RsObject(Process& process, std::string type_name, std::string name)
    : process_(process),
      type_name_(std::move(type_name)),
      name_(std::move(name)),
      count_(type_name_ + " " + name_ + ": count"),
      state_(type_name_ + " " + name_ + ": state") {}

RsObject::~RsObject() = default;

std::string RsObject::description() const {
  return fmt::format("{} '{}'", type_name_, name_);
}

void RsObject::report_deleted_use(const char* what, ObjectId on,
                                  const std::source_location& where) {
  const Provenance now = here(where);
  // The operation's object; the delete's step (on the state) is named too.
  FindingRefs refs{.steps = {now.step}, .objects = {on}};
  if (deleted_by_) refs.steps.push_back(deleted_by_->step);
  report(FindingKind::use_after_destruction,
         fmt::format("use after destruction: {} {} {}, which was deleted by {} when its mixed "
                     "reference count reached 0 (signature {:#010x}); only a reference the "
                     "caller owns keeps a right-side object alive",
                     describe(now), what, description(),
                     deleted_by_ ? describe(*deleted_by_) : std::string("an earlier Release"),
                     signature()),
         where, fmt::format("deleted-use|{}|{}|{}", type_name_, what, site(where)),
         std::move(refs));
}

std::uint32_t RsObject::add_ref(const std::source_location& where) {
  const Touch fp[] = {state_.reads()};
  if (rt::model_op(Access::read_write, count_.id(), fp, "AddRef", where) == nullptr)
    return external_count();
  if (state_.read().deleted) report_deleted_use("calls AddRef on", count_.id(), where);
  CountWord& c = count_.write();
  c.count += kExternalOne;
  return static_cast<std::uint32_t>(c.count >> 32);
}

std::uint32_t RsObject::release(const std::source_location& where) {
  std::array<Touch, kMaxExtraTouches> fp{};
  std::size_t n = 0;
  for (const Touch& t : final_release_footprint())
    fp.at(n++) = t;
  if (rt::model_op(Access::read_write, count_.id(), std::span<const Touch>(fp.data(), n), "Release",
                   where) == nullptr)
    return external_count();
  CountWord& c = count_.write();
  if ((c.count >> 32) == 0) {
    const Provenance now = here(where);
    FindingRefs refs{.steps = {now.step}, .objects = {count_.id()}};
    if (deleted() && deleted_by_) refs.steps.push_back(deleted_by_->step);
    report(FindingKind::refcount_underflow,
           fmt::format("extra external Release: {} releases {}, whose external count is already "
                       "0 (internal {}){}; CordbCommonBase::BaseRelease asserts and ignores it "
                       "(returns 0): the caller released a reference it did not own",
                       describe(now), description(), internal_count(),
                       deleted() ? fmt::format(", and which was deleted by {}",
                                               deleted_by_ ? describe(*deleted_by_) : "?")
                                 : std::string()),
           where, fmt::format("external|{}|{}", type_name_, site(where)), std::move(refs));
  }
  c.count -= kExternalOne;
  const auto external = static_cast<std::uint32_t>(c.count >> 32);
  // BaseRelease decides on the word its CAS wrote: the destructor context below may perform
  // operations of its own.
  const bool whole_zero = c.count == 0;
  if (external == 0) {
    c.neuter_at_will = true;
    RsThreads::DestructorScope scope(process_.threads(), *this, "final Release", where);
    on_final_external_release(where);
  }
  if (whole_zero) destroy(where);
  return external;
}

void RsObject::internal_add_ref(const std::source_location& where) {
  internal_add_ref_touching(Touch{}, where);
}

bool RsObject::internal_add_ref_touching(Touch also, const std::source_location& where) {
  const Touch fp[] = {state_.reads(), also};
  // `also` may be {} (kNoObject): the engine ignores such entries.
  if (rt::model_op(Access::read_write, count_.id(), fp, "InternalAddRef", where) == nullptr)
    return false;
  if (state_.read().deleted)
    report_deleted_use("takes an internal reference to", count_.id(), where);
  ++count_.write().count;
  return true;
}

void RsObject::internal_release(const std::source_location& where) {
  if (rt::model_op(Access::read_write, count_.id(), std::span<const Touch>{}, "InternalRelease",
                   where) == nullptr)
    return;
  CountWord& c = count_.write();
  if (static_cast<std::uint32_t>(c.count) == 0) {
    const Provenance now = here(where);
    report(FindingKind::refcount_underflow,
           fmt::format("extra internal Release: {} releases an internal reference to {}, whose "
                       "internal count is already 0 (external {}){}",
                       describe(now), description(), external_count(),
                       deleted() ? ", and which was already deleted" : ""),
           where, fmt::format("internal|{}|{}", type_name_, site(where)),
           {.steps = {now.step}, .objects = {count_.id()}});
  }
  --c.count;
  if (c.count == 0) destroy(where);
}

bool RsObject::query_neuter_at_will(const std::source_location& where) {
  return query_neuter_at_will_touching(Touch{}, where);
}

bool RsObject::query_neuter_at_will_touching(Touch also, const std::source_location& where) {
  const Touch fp[] = {state_.reads(), also};
  if (rt::model_op(Access::read, count_.id(), fp, "IsNeuterAtWill", where) == nullptr) return false;
  return count_.read().neuter_at_will || state_.read().neutered;
}

void RsObject::destroy(const std::source_location& where) {
  if (rt::model_op(Access::write, state_.id(), std::span<const Touch>{}, "delete", where) ==
      nullptr)
    return;
  const std::uint32_t entered = rt::current_step();
  {
    RsThreads::DestructorScope scope(process_.threads(), *this, "destructor", where);
    on_destroy(where);
  }
  // The destructor's operations were steps of their own: marking the object deleted is then a
  // step of its own on the state word.
  if (rt::current_step() != entered &&
      rt::model_op(Access::write, state_.id(), std::span<const Touch>{},
                   "delete: destructor returned", where) == nullptr)
    return;
  StateWord& st = state_.write();
  st.deleted = true;
  deleted_by_ = here(where);
  if (process_.recording()) process_.note("delete " + description());
  if (!st.neutered && process_.assert_neutered_before_delete) {
    assertion_failed(
        fmt::format("{} is deleted by {} without having been neutered (~CordbBase asserts "
                    "IsNeutered(): an object must be on a NeuterList or held by a parent that "
                    "neuters it before its last reference goes)",
                    description(), describe(*deleted_by_)),
        where, "delete-not-neutered|" + type_name_,
        {.steps = {deleted_by_->step}, .objects = {state_.id()}});
  }
}

void RsObject::neuter(const std::source_location& where) {
  if (rt::model_op(Access::write, state_.id(), std::span<const Touch>{}, "Neuter", where) ==
      nullptr)
    return;
  if (process_.threads().in_destructor())
    process_.threads().check_not_in_destructor("neuters " + description(), "neuter", where,
                                               state_.id());
  StateWord& st = state_.write();
  if (st.deleted) report_deleted_use("neuters", state_.id(), where);
  if (!process_.process_lock().held_by_current_thread()) {
    const Provenance now = here(where);
    assertion_failed(fmt::format("{} neuters {} without holding the 'Process Lock' (level 2); "
                                 "Neuter runs under the process lock, which protects against "
                                 "a double-delete race (ThreadHoldsProcessLock)",
                                 describe(now), description()),
                     where, "neuter-without-process-lock|" + type_name_,
                     {.steps = {now.step}, .objects = {state_.id(), process_.process_lock().id()}});
  }
  if (st.neutered) return;  // Neuter can be called twice
  st.neutered = true;
  neutered_by_ = here(where);
  neutered_at_continue_ = process_.current_continue();
  if (process_.recording()) process_.note("neuter " + description());
  // The base part, in this step: weak back-pointers are released by Neuter, and the strong
  // children are taken (neutered and released below, after the derived part).
  st.weak_released = true;
  std::vector<RsObject*> children = std::move(st.children);
  st.children.clear();
  on_neuter(where);
  for (RsObject* child : children) {
    child->neuter(where);
    child->internal_release(where);
  }
}

void RsObject::neuter_left_side_resources(const std::source_location& where) {
  RSLockHolder lock(process_.process_lock(), where);
  neuter(where);
}

bool RsObject::reaches(const RsObject* target) const {
  if (this == target) return true;
  const std::vector<RsObject*>& children = state_.peek().children;
  return std::any_of(children.begin(), children.end(),
                     [target](const RsObject* c) { return c->reaches(target); });
}

void RsObject::add_strong_child(RsObject& child, const std::source_location& where) {
  if (child.reaches(this)) {
    const Provenance now = here(where);
    assertion_failed(fmt::format("{} makes {} a strong child of {}, which closes a cycle of "
                                 "strong references (the strong-reference graph must stay "
                                 "acyclic; back-pointers are weak)",
                                 describe(now), child.description(), description()),
                     where, "strong-cycle|" + type_name_,
                     {.steps = {now.step}, .objects = {child.state_id(), state_id()}});
  }
  if (!child.internal_add_ref_touching(state_.writes(), where)) return;
  state_.write().children.push_back(&child);
}

RsObject::CallTicket RsObject::enter_call(const char* method, NeuterCheck check,
                                          std::span<const Touch> also, cordbg::HRESULT& refused,
                                          const std::source_location& where) {
  const Step* s = rt::model_op(Access::read, state_.id(), also, method, where);
  CallTicket ticket;
  ticket.step = rt::current_step();
  if (s == nullptr) return ticket;
  const StateWord& st = state_.read();
  if (st.deleted)
    report_deleted_use(fmt::format("calls {} on", method).c_str(), state_.id(), where);
  if (!st.neutered) return ticket;
  switch (check) {
    case NeuterCheck::fail_if_neutered:
      if (process_.neutered_calls == NeuteredCallPolicy::report) {
        const Provenance now = here(where);
        FindingRefs refs{.steps = {now.step}, .objects = {state_.id()}};
        add_neutered_step(*this, refs);
        report(FindingKind::neutered_object_call,
               fmt::format("call on neutered object: {} calls {}.{}, which was {}; it answers "
                           "CORDBG_E_OBJECT_NEUTERED (0x8013134F): frames, chains and values "
                           "must be re-fetched after every Continue (use a handle value to keep "
                           "one across Continue)",
                           describe(now), description(), method, neutered_text(*this)),
               where, fmt::format("neutered-call|{}|{}|{}", type_name_, method, site(where)),
               std::move(refs));
      }
      refused = cordbg::CORDBG_E_OBJECT_NEUTERED;
      ticket.entry = CallEntry::refused;
      return ticket;
    case NeuterCheck::ok_if_neutered: {
      const RsThreads::OkIfNeuteredCall previous =
          process_.threads().exchange_ok_if_neutered({this, method});
      ticket.previous_object = previous.object;
      ticket.previous_method = previous.method;
      ticket.entry = CallEntry::neutered_ok;
      return ticket;
    }
    case NeuterCheck::unchecked:
      ticket.entry = CallEntry::neutered_unchecked;
      return ticket;
  }
  return ticket;
}

void RsObject::leave_call(const char* method, const CallTicket& ticket, cordbg::HRESULT hr,
                          const std::source_location& where) {
  if (ticket.entry == CallEntry::neutered_ok) {
    process_.threads().exchange_ok_if_neutered({ticket.previous_object, ticket.previous_method});
  } else if (ticket.entry == CallEntry::neutered_unchecked && cordbg::succeeded(hr)) {
    Provenance p = here(where);
    p.step = ticket.step;
    FindingRefs refs{.steps = {p.step}, .objects = {state_.id()}};
    add_neutered_step(*this, refs);
    report(FindingKind::neutered_object_call,
           fmt::format("call on neutered object succeeded: {} calls {}.{}, which returns {} "
                       "although the object was {}; every method except OK_IF_NEUTERED ones must "
                       "fail on a neutered object with CORDBG_E_OBJECT_NEUTERED (0x8013134F): "
                       "the implementation lacks FAIL_IF_NEUTERED",
                       describe(p), description(), method, cordbg::hresult_name(hr),
                       neutered_text(*this)),
           where, fmt::format("neutered-success|{}|{}|{}", type_name_, method, site(where)),
           std::move(refs));
  }
}

// --- NeuterList --------------------------------------------------------------------------------

NeuterList::NeuterList(Process& process, std::string name)
    : process_(process),
      name_(std::move(name)),
      nodes_("process '" + process.name() + "': " + name_) {}

NeuterList::~NeuterList() = default;

bool NeuterList::contains(const RsObject& object) const noexcept {
  const std::vector<RsObject*>& nodes = nodes_.peek();
  return std::find(nodes.begin(), nodes.end(), &object) != nodes.end();
}

void NeuterList::add(RsObject& object, const std::source_location& where) {
  RSLockHolder lock(process_.process_lock(), where);
  rt::model_op(Access::write, nodes_.id(), std::span<const Touch>{}, "NeuterList::Add", where);
  // The node holds an internal reference: taken, then linked, in the InternalAddRef step.
  if (!object.internal_add_ref_touching(nodes_.writes(), where)) return;
  nodes_.write().push_back(&object);
}

void NeuterList::neuter_and_clear(const std::source_location& where) {
  if (rt::model_op(Access::write, nodes_.id(), std::span<const Touch>{},
                   "NeuterList::NeuterAndClear", where) == nullptr)
    return;
  if (!process_.process_lock().held_by_current_thread()) {
    const Provenance now = here(where);
    assertion_failed(fmt::format("{} calls NeuterAndClear on the {} of process '{}' without "
                                 "holding the 'Process Lock' (level 2)",
                                 describe(now), name_, process_.name()),
                     where, "neuter-and-clear-without-process-lock",
                     {.steps = {now.step}, .objects = {nodes_.id(), process_.process_lock().id()}});
  }
  std::vector<RsObject*> nodes = std::move(nodes_.write());
  nodes_.write().clear();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    (*it)->neuter(where);
    (*it)->internal_release(where);
  }
}

void NeuterList::sweep_all_neuter_at_will(const std::source_location& where) {
  RSLockHolder lock(process_.process_lock(), where);
  if (rt::model_op(Access::write, nodes_.id(), std::span<const Touch>{},
                   "NeuterList::SweepAllNeuterAtWillObjects", where) == nullptr)
    return;
  std::vector<RsObject*> nodes = std::move(nodes_.write());
  nodes_.write().clear();
  // Newest first; a survivor goes back to the front of the list in its IsNeuterAtWill step, so
  // the survivors keep their order (nothing else is added meanwhile: the process lock is held).
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    RsObject* o = *it;
    if (o->query_neuter_at_will_touching(nodes_.writes(), where)) {
      o->neuter(where);
      o->internal_release(where);
    } else {
      std::vector<RsObject*>& list = nodes_.write();
      list.insert(list.begin(), o);
    }
  }
}

// --- LeftSideResourceCleanupList ---------------------------------------------------------------

void LeftSideResourceCleanupList::sweep_neuter_left_side_resources(
    const std::source_location& where) {
  sweep(false, "LeftSideResourceCleanupList::SweepNeuterLeftSideResources", where);
}

void LeftSideResourceCleanupList::neuter_left_side_resources_and_clear(
    const std::source_location& where) {
  sweep(true, "LeftSideResourceCleanupList::NeuterLeftSideResourcesAndClear", where);
}

void LeftSideResourceCleanupList::sweep(bool all, const char* label,
                                        const std::source_location& where) {
  rt::model_op(Access::read, process_.state_id(), std::span<const Touch>{}, label, where);
  process_.check_left_side_cleanup("sweeps the", name_, where, nodes_.id());
  RSLockHolder lock(process_.process_lock(), where);
  rt::model_op(Access::write, nodes_.id(), std::span<const Touch>{},
               "LeftSideResourceCleanupList: take the head", where);
  std::vector<RsObject*> nodes = std::move(nodes_.write());
  nodes_.write().clear();
  lock.release(where);  // NeuterLeftSideResources may send IPC
  std::vector<RsObject*> survivors;
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    RsObject* o = *it;
    if (all || o->query_neuter_at_will(where)) {
      o->neuter_left_side_resources(where);
      o->internal_release(where);
    } else {
      survivors.push_back(o);
    }
  }
  lock.acquire(where);
  rt::model_op(Access::write, nodes_.id(), std::span<const Touch>{},
               "LeftSideResourceCleanupList: splice survivors back", where);
  // The list is unordered; survivors go back behind whatever was added meanwhile.
  std::reverse(survivors.begin(), survivors.end());
  std::vector<RsObject*>& list = nodes_.write();
  survivors.insert(survivors.end(), list.begin(), list.end());
  list = std::move(survivors);
}

// --- LeftSideResource --------------------------------------------------------------------------

LeftSideResource::LeftSideResource(Process& process, std::string name)
    : process_(process),
      name_(std::move(name)),
      freed_("process '" + process.name() + "': " + name_, false) {}

bool LeftSideResource::free(const std::source_location& where) {
  // O5 reads the process state.
  const Touch fp[] = {{process_.state_id(), Access::read}};
  if (rt::model_op(Access::write, freed_.id(), fp, "free left-side resource (IPC)", where) ==
      nullptr)
    return false;
  if (freed_.read()) return false;
  process_.check_left_side_cleanup("frees", name_, where, freed_.id());
  const RsThreads::OkIfNeuteredCall ok = process_.threads().ok_if_neutered_call();
  if (ok.object != nullptr) {
    const Provenance now = here(where);
    report(
        FindingKind::neutered_object_call,
        fmt::format("call on neutered object: the OK_IF_NEUTERED method {}.{} of a neutered "
                    "object frees {} ({}); an OK_IF_NEUTERED method may read only embedded "
                    "blittable data: no locks, no back-pointers, no IPC",
                    ok.object->description(), ok.method, name_, describe(now)),
        where,
        fmt::format("ok-if-neutered-free|{}|{}|{}", ok.object->type_name(), ok.method, site(where)),
        {.steps = {now.step}, .objects = {ok.object->state_id(), freed_.id()}});
  }
  freed_.set(true);
  freed_by_ = here(where);
  if (process_.recording()) process_.note("free " + name_);
  return true;
}

// --- DeferredCleanupQueue ----------------------------------------------------------------------

DeferredCleanupQueue::DeferredCleanupQueue(Process& process, std::string name)
    : process_(process),
      name_(std::move(name)),
      items_("process '" + process.name() + "': " + name_),
      lock_(std::make_unique<RSLock>(process.threads(), "Deferred Cleanup Lock", LockLevel::leaf)) {
}

DeferredCleanupQueue::~DeferredCleanupQueue() = default;

void DeferredCleanupQueue::enqueue(LeftSideResource& resource, const std::source_location& where) {
  RSLockHolder lock(*lock_, where);
  if (rt::model_op(Access::write, items_.id(), std::span<const Touch>{},
                   "DeferredCleanupQueue::Enqueue", where) == nullptr)
    return;
  items_.write().push_back(&resource);
}

void DeferredCleanupQueue::drain(const std::source_location& where) {
  RSLockHolder lock(*lock_, where);
  if (rt::model_op(Access::write, items_.id(), std::span<const Touch>{},
                   "DeferredCleanupQueue::Drain", where) == nullptr)
    return;
  std::vector<LeftSideResource*> items = std::move(items_.write());
  items_.write().clear();
  lock.release(where);  // privatized under the small lock, processed outside it
  for (LeftSideResource* r : items)
    r->free(where);
}

// --- HandleValue -------------------------------------------------------------------------------

HandleValue::HandleValue(Process& process, std::string name, ReleaseCleanup cleanup,
                         const std::source_location& where)
    : RsObject(process, "CordbHandleValue", name),
      cleanup_(cleanup),
      gc_handle_(process, "GC handle '" + name + "'"),
      disposed_("CordbHandleValue " + name + ": handle", false),
      handle_touch_(disposed_.writes()) {
  process.left_side_list().add(*this, where);
}

cordbg::HRESULT HandleValue::dispose(const std::source_location& where) {
  return call(
      "Dispose", NeuterCheck::fail_if_neutered,
      [&]() -> cordbg::HRESULT {
        Process& p = process();
        RSLockHolder stop_go(p.stop_go_lock(), where);
        if (!p.check_synchronized(where)) return cordbg::CORDBG_E_PROCESS_NOT_SYNCHRONIZED;
        {
          RSLockHolder lock(p.process_lock(), where);
          if (rt::model_op(Access::read_write, disposed_.id(), std::span<const Touch>{},
                           "Dispose: clear the handle", where) == nullptr)
            return cordbg::S_OK;
          if (disposed_.read()) {
            disposed_use("Dispose", where);
            return cordbg::CORDBG_E_HANDLE_HAS_BEEN_DISPOSED;
          }
          disposed_.set(true);
          mark_disposed("Dispose", where);
        }
        gc_handle_.free(where);  // DB_IPCE_DESTROY_HANDLE, outside the process lock
        return cordbg::S_OK;
      },
      where);
}

cordbg::HRESULT HandleValue::dereference(const std::source_location& where) {
  // The body reads the handle before its first operation: in the call's entry step.
  const Touch fp[] = {disposed_.reads()};
  return call_touching(
      "Dereference", NeuterCheck::fail_if_neutered, fp,
      [&]() -> cordbg::HRESULT {
        if (disposed_.read()) {
          disposed_use("Dereference", where);
          return cordbg::CORDBG_E_HANDLE_HAS_BEEN_DISPOSED;
        }
        if (!process().check_synchronized(where)) return cordbg::CORDBG_E_PROCESS_NOT_SYNCHRONIZED;
        return cordbg::S_OK;
      },
      where);
}

void HandleValue::neuter_left_side_resources(const std::source_location& where) {
  if (rt::model_op(Access::read_write, disposed_.id(), std::span<const Touch>{},
                   "CordbHandleValue::NeuterLeftSideResources", where) == nullptr)
    return;
  if (!disposed_.read()) {
    disposed_.set(true);
    mark_disposed("CordbHandleValue::NeuterLeftSideResources", where);
    gc_handle_.free(where);
  }
  RSLockHolder lock(process().process_lock(), where);
  neuter(where);
}

void HandleValue::on_final_external_release(const std::source_location& where) {
  // Runs in the final Release's step, whose footprint includes the handle
  // (final_release_footprint).
  if (cleanup_ != ReleaseCleanup::free_in_release || disposed_.read()) return;
  disposed_.set(true);
  mark_disposed("the final Release", where);
  gc_handle_.free(where);  // the bug: debuggee work on the releasing thread, at any time
}

void HandleValue::mark_disposed(const char* how, const std::source_location& where) {
  disposed_by_ = here(where);
  disposed_how_ = how;
}

// B17 (DOMAIN.md §4.2, §10; [SDBG-24][DI-VAL]): the product answers
// CORDBG_E_HANDLE_HAS_BEEN_DISPOSED; the harness reports the client's use, and what it costs in
// production: a client whose Continue path stops at this error never issues the Continue it owes
// for the current stop, every retry meets the same cached handle, and the debuggee stays
// suspended until the debugger detaches.
void HandleValue::disposed_use(const char* method, const std::source_location& where) const {
  if (process().disposed_handle_calls != DisposedHandlePolicy::report) return;
  const Provenance now = here(where);
  FindingRefs refs{.steps = {now.step}, .objects = {disposed_.id(), state_id()}};
  std::string by = "an earlier Dispose";
  if (disposed_by_) {
    refs.steps.push_back(disposed_by_->step);
    by = fmt::format("{} by {}", disposed_how_, describe(*disposed_by_));
  }
  report(FindingKind::handle_used_after_dispose,
         fmt::format("handle used after Dispose: {} calls {} on {}, whose GC handle was disposed "
                     "({}): it returns CORDBG_E_HANDLE_HAS_BEEN_DISPOSED (0x80131C01). Outcome "
                     "stuck-suspended: process '{}' is {}; a client whose Continue path fails on "
                     "this error never issues the Continue it owes, every retry meets the same "
                     "cached handle, and the debuggee stays suspended until Detach. Drop the "
                     "handle value from every cache when disposing it",
                     describe(now), method, description(), by, process().name(),
                     process_state_name(process().state())),
         where, fmt::format("handle-used-after-dispose|{}|{}|{}", type_name(), method, site(where)),
         std::move(refs));
}

}  // namespace hc::models

#include "hc/models/gc.hpp"

#include <algorithm>
#include <exception>
#include <typeinfo>

#include <fmt/format.h>

#include "hc/check.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

// --- managed objects ---------------------------------------------------------------------------

void detail::add_root(ManagedObject& o, const std::source_location& where) {
  o.gc().add_root(o, where);
}
void detail::drop_root(ManagedObject& o, const std::source_location& where) {
  o.gc().drop_root(o, where);
}

ManagedObject::ManagedObject(Gc& gc, std::string_view type_name, std::string_view name,
                             bool has_finalizer, bool critical)
    : gc_(&gc),
      type_name_(type_name),
      name_(name),
      object_(rt::register_object(ObjectKind::model, fmt::format("{} '{}'", type_name, name))),
      critical_(critical) {
  if (has_finalizer) entries_.push_back(0);
  gc.register_object(*this);
}

std::string ManagedObject::label() const {
  return fmt::format("{} '{}'", type_name_, name_);
}

void ManagedObject::use(const char* method, const std::source_location& where) {
  if (rt::model_op(Access::read, object_, method, where) == nullptr || finalized_ == 0) return;
  report(FindingKind::use_of_finalized_object,
         fmt::format("{} called {} on {} after its finalizer ran (finalized by {}); it was "
                     "reached again through resurrection or a long weak reference, and what "
                     "its finalizer released is gone",
                     describe(here(where)), method, label(), describe(finalized_by_)),
         where, fmt::format("{}|{}|{}", label(), method, site(where)),
         {.steps = {rt::current_step(), finalized_by_.step}, .objects = {object_}});
}

// --- the GC ------------------------------------------------------------------------------------

Gc::Gc(GcOptions options, const std::source_location& where)
    : options_(options),
      gc_object_(rt::register_object(ObjectKind::model, "GC")),
      work_(hc::event::reset_mode::automatic, false, "finalizer work"),
      drained_(hc::event::reset_mode::manual, true, "finalizer queue drained") {
  (void)where;
  if (options_.finalizer_block_bound > 0) {
    invariant_token_ = rt::add_invariant(
        "finalizer not blocked", [](void* self) { return static_cast<Gc*>(self)->check_blocked(); },
        this);
  }
  finalizer_ = hc::thread("finalizer", [this] { finalizer_loop(); });
  if (options_.background_collections > 0) {
    collector_ = hc::thread("gc", [this] {
      for (std::uint32_t i = 0; i < options_.background_collections; ++i)
        collect();
    });
  }
}

Gc::~Gc() {
  if (!rt::in_execution()) return;
  // Process exit: no finalizer starts from here on (.NET Core runs none at exit), even for
  // objects the "gc" thread still collects.
  shutdown_ = true;
  if (collector_.joinable()) collector_.join();
  rt::event_signal(work_.id());
  finalizer_.join();
  if (invariant_token_ != 0) rt::remove_invariant(invariant_token_);
}

void Gc::register_object(ManagedObject& o) {
  registered_.push_back(&o);
}

void Gc::add_root(ManagedObject& o, const std::source_location& where) {
  if (rt::model_op(Access::write, o.object_, "new reference", where) == nullptr) return;
  ++o.roots_;
}

void Gc::drop_root(ManagedObject& o, const std::source_location& where) {
  if (rt::model_op(Access::write, o.object_, "drop reference", where) == nullptr) return;
  if (o.roots_ > 0) --o.roots_;
}

void Gc::add_weak(ManagedObject** slot, bool long_weak) {
  weaks_.push_back(Weak{slot, long_weak});
}

void Gc::remove_weak(ManagedObject** slot) {
  std::erase_if(weaks_, [slot](const Weak& w) { return w.slot == slot; });
}

void Gc::read_weak(ManagedObject& o, const std::source_location& where) {
  rt::model_op(Access::read, o.object_, "WeakReference.Target", where);
}

void Gc::collect(const std::source_location& where) {
  if (rt::model_op(Access::write, gc_object_, "GC.Collect", where) == nullptr) return;
  // Queued objects stay alive (f-reachable) until their finalizer ran.
  auto unreachable = [](const ManagedObject& o) { return o.roots_ == 0 && !o.queued_; };
  // 2. Short weak references to unreachable objects are cleared.
  for (const Weak& w : weaks_) {
    if (!w.long_weak && *w.slot != nullptr && unreachable(**w.slot)) *w.slot = nullptr;
  }
  // 3. Scan for finalization, in allocation order: suppressed entries are dropped (clearing the
  //    bit, so a second entry of the same object is queued), the others queued.
  bool queued = false;
  for (ManagedObject* o : registered_) {
    if (!unreachable(*o) || o->entries_.empty()) continue;
    std::vector<std::uint32_t> entries;
    entries.swap(o->entries_);
    for (std::uint32_t registered_at : entries) {
      if (o->suppressed_) {
        o->suppressed_ = false;
        continue;
      }
      (o->critical_ ? critical_queue_ : normal_queue_).push_back(Entry{o, registered_at});
      o->queued_ = true;
      queued = true;
    }
  }
  // 4. Long weak references are cleared only for objects not waiting for finalization.
  for (const Weak& w : weaks_) {
    if (w.long_weak && *w.slot != nullptr && unreachable(**w.slot)) *w.slot = nullptr;
  }
  // 5. The finalizer event is signalled.
  if (queued) {
    rt::event_clear(drained_.id());
    rt::event_signal(work_.id());
  }
}

void Gc::suppress_finalize(ManagedObject& o, const std::source_location& where) {
  if (rt::model_op(Access::write, o.object_, "GC.SuppressFinalize", where) == nullptr) return;
  o.suppressed_ = true;
}

void Gc::reregister_for_finalize(ManagedObject& o, const std::source_location& where) {
  if (rt::model_op(Access::write, o.object_, "GC.ReRegisterForFinalize", where) == nullptr) return;
  if (o.suppressed_) {
    o.suppressed_ = false;  // only clear the bit: the existing entry stands
  } else {
    o.entries_.push_back(o.finalized_);  // another entry: two if one is still there
  }
}

void Gc::wait_for_pending_finalizers(const std::source_location& where) {
  if (rt::current_thread() == finalizer_.id()) {
    // On the finalizer thread itself it returns at once: no self-deadlock (§3.4).
    rt::model_op(Access::read, gc_object_, "GC.WaitForPendingFinalizers", where);
    return;
  }
  // Blocks (INFINITE) until the finalizer has drained the queue.
  rt::model_op(Access::sync, drained_.id(), "GC.WaitForPendingFinalizers", where,
               WaitFor::event_set);
}

void Gc::finalizer_loop() {
  for (;;) {
    work_.wait();
    if (shutdown_) return;
    while (!shutdown_ && (!normal_queue_.empty() || !critical_queue_.empty())) {
      // Every normal entry before any critical one; no order among normal ones (§3.3).
      Entry entry;
      if (!normal_queue_.empty()) {
        const auto n = static_cast<std::uint32_t>(normal_queue_.size());
        const std::uint32_t i = n > 1 ? hc::choose(n, "which normal finalizer runs next") : 0;
        entry = normal_queue_[i];
        normal_queue_.erase(normal_queue_.begin() + i);
      } else {
        entry = critical_queue_.front();
        critical_queue_.erase(critical_queue_.begin());
      }
      run_finalizer(entry);
    }
    if (normal_queue_.empty() && critical_queue_.empty()) rt::event_signal(drained_.id());
  }
}

void Gc::run_finalizer(const Entry& entry) {
  ManagedObject& o = *entry.object;
  const std::source_location where = std::source_location::current();
  if (rt::model_op(Access::write, o.object_, "run finalizer", where) == nullptr) return;
  o.queued_ = std::any_of(normal_queue_.begin(), normal_queue_.end(),
                          [&](const Entry& e) { return e.object == &o; }) ||
              std::any_of(critical_queue_.begin(), critical_queue_.end(),
                          [&](const Entry& e) { return e.object == &o; });
  if (o.suppressed_) {
    // SuppressFinalize after it became f-reachable: clear the bit, skip the finalizer (§3.1).
    o.suppressed_ = false;
    return;
  }
  if (o.finalized_ > entry.finalized_when_registered) {
    report(FindingKind::finalizer_ran_twice,
           fmt::format("the finalizer of {} runs a second time on the finalizer thread (it "
                       "already ran, by {}): it was registered twice (ReRegisterForFinalize on "
                       "an object still registered) without a SuppressFinalize in between",
                       o.label(), describe(o.finalized_by_)),
           where, o.label(), {.steps = {o.finalized_by_.step}, .objects = {o.object_}});
  }
  running_ = &o;
  running_since_ = rt::current_step();
  const Provenance started = here(where);  // the "run finalizer" step
  try {
    const FindingContext context(o.object_);  // findings inside the finalizer are about `o` too
    o.finalize();
  } catch (const std::exception& e) {
    report(FindingKind::finalizer_exception,
           fmt::format("unhandled exception on the finalizer thread in the finalizer of {}: "
                       "{}: the process terminates; pending finally blocks and the {} "
                       "finalizers still queued do not run",
                       o.label(), e.what(), pending_finalizers()),
           where, o.label() + "|" + typeid(e).name(), {.steps = {}, .objects = {o.object_}});
  }
  running_ = nullptr;
  ++o.finalized_;
  o.finalized_by_ = started;
  order_.push_back(o.label());
}

bool Gc::check_blocked() {
  if (running_ == nullptr) return true;
  const std::uint32_t ran = rt::current_step() - running_since_;
  if (ran <= options_.finalizer_block_bound) return true;
  std::string behind;
  FindingRefs refs{.steps = {}, .objects = {running_->object_}};  // then those queued behind
  for (const Entry& e : normal_queue_) {
    behind += fmt::format("{}{}", behind.empty() ? "" : ", ", e.object->label());
    refs.objects.emplace_back(e.object->object_);
  }
  for (const Entry& e : critical_queue_) {
    behind += fmt::format("{}{}", behind.empty() ? "" : ", ", e.object->label());
    refs.objects.emplace_back(e.object->object_);
  }
  report(FindingKind::finalizer_blocked,
         fmt::format("the finalizer thread has been in the finalizer of {} for {} steps (bound "
                     "{}); {} object{} queued behind it{}: every later finalizer waits, and the "
                     "memory they hold is not reclaimed",
                     running_->label(), ran, options_.finalizer_block_bound, pending_finalizers(),
                     pending_finalizers() == 1 ? " is" : "s are",
                     behind.empty() ? std::string() : ": " + behind),
         std::source_location::current(), running_->label(), std::move(refs));
  return true;
}

}  // namespace hc::models

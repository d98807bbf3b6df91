#include "hc/models/gc.hpp"

#include <algorithm>
#include <exception>
#include <span>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include "hc/check.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

// --- managed objects ---------------------------------------------------------------------------

ManagedObject* detail::acquire(ManagedObject& target, const void* ref,
                               const std::source_location& where) {
  return target.gc().acquire(target, ref, where);
}
void detail::release(ManagedObject& target, ManagedObject* holder,
                     const std::source_location& where) {
  target.gc().release(target, holder, where);
}
ManagedObject* detail::transfer(ManagedObject& target, ManagedObject* from, const void* to,
                                const std::source_location& where) {
  return target.gc().transfer(target, from, to, where);
}

ManagedObject::ManagedObject(Gc& gc, std::string_view type_name, std::string_view name,
                             bool has_finalizer, bool critical, const std::source_location& where)
    : gc_(&gc),
      label_(fmt::format("{} '{}'", type_name, name)),
      created_at_(where),
      object_(rt::register_object(ObjectKind::model, label())),
      critical_(critical),
      finalized_(label() + ": finalized", 0),
      roots_(label() + ": roots", gc.take_rooted_allocation() ? 1 : 0),
      fields_(label() + ": fields"),
      registration_(label() + ": registration",
                    Registration{.entries = has_finalizer ? std::vector<std::uint32_t>{0}
                                                          : std::vector<std::uint32_t>{}}) {
  gc.register_object(*this);
}

bool ManagedObject::reachable() const {
  // A peek: a collection's mark phase (Gc::trace), from the roots only.
  std::vector<ManagedObject*> stack;
  std::vector<char> seen(gc_->registered_.size(), 0);
  for (ManagedObject* o : gc_->registered_) {
    if (o->roots_.peek() > 0) {
      seen[o->index_] = 1;
      stack.push_back(o);
    }
  }
  gc_->trace(seen, stack, /*peek=*/true);
  return seen[index_] != 0;
}

// A use counts from the moment the object's finalizer started: a finalizer that is running (its
// return not yet recorded) has released, or is releasing, what the object needs; only the
// finalizer's own calls on its object (on the finalizer thread while it runs) are not a misuse.
void ManagedObject::use(const char* method, const std::source_location& where) {
  const Touch fp[] = {registration_.reads()};
  if (rt::model_op(Access::read, object_, fp, method, where) == nullptr) return;
  const Registration& reg = registration_.read();
  if (reg.runs_started == 0) return;
  if (reg.running && rt::current_thread() == gc_->finalizer_thread()) return;  // its own finalizer
  const bool returned = gc_->running_ != this;  // bookkeeping: only the message's wording
  report(FindingKind::use_of_finalized_object,
         fmt::format("{} called {} on {} after its finalizer {} ({} by {}); it was reached again "
                     "through resurrection or a long weak reference, and what its finalizer "
                     "released is gone",
                     describe(here(where)), method, label(),
                     returned ? "ran" : "started, while it still runs",
                     returned ? "finalized" : "started", describe(finalizer_started_)),
         where, fmt::format("{}|{}|{}", label(), method, site(where)),
         {.steps = {rt::current_step(), finalizer_started_.step}, .objects = {object_}});
}

// --- the GC ------------------------------------------------------------------------------------

bool Gc::Queue::contains(const ManagedObject* o) const {
  auto is = [o](const Entry& e) { return e.object == o; };
  return std::any_of(normal.begin(), normal.end(), is) ||
         std::any_of(critical.begin(), critical.end(), is);
}

Gc::Gc(GcOptions options, const std::source_location& where)
    : options_(options),
      where_(where),
      queue_("GC finalization queue"),
      exiting_("GC process exit", false),
      work_(hc::event::reset_mode::automatic, false, "finalizer work"),
      drained_(hc::event::reset_mode::manual, true, "finalizer queue drained") {
  if (options_.finalizer_block_bound > 0) {
    invariant_token_ = rt::add_invariant(
        "finalizer not blocked", [](void* self) { return static_cast<Gc*>(self)->check_blocked(); },
        this);
  }
  finalizer_ = hc::thread("finalizer", [this] { finalizer_loop(); });
  if (options_.background_collections > 0) {
    collector_ = hc::thread("gc", [this] {
      for (std::uint32_t i = 0; i < options_.background_collections; ++i)
        collect(where_);
    });
  }
}

Gc::~Gc() {
  if (rt::in_execution()) {
    // Process exit. The "gc" thread's collections finish first; then the flag: the finalizer
    // thread drains what is queued (every collection is over, so nothing is queued after it
    // looked) and stops at the dequeue that finds the queue empty.
    if (collector_.joinable()) collector_.join(where_);
    const Touch fp[] = {{work_.id(), Access::write}};
    if (rt::model_op(Access::write, exiting_.id(), fp, "process exit", where_) != nullptr) {
      exiting_.set(true);
      rt::event_signal(work_.id());
    }
    finalizer_.join(where_);
    if (invariant_token_ != 0) rt::remove_invariant(invariant_token_);
  }
  destroy_heap();
}

// The objects are destroyed in allocation order; the Refs among their members are destroyed
// with them and do nothing (detail::heap_teardown): their targets may be gone already, and the
// graph dies with the process.
void Gc::destroy_heap() noexcept {
  ++detail::heap_teardown;
  for (HeapObject& h : heap_) {
    h.destroy(h.storage);
  }
  heap_.clear();
  --detail::heap_teardown;
}

void Gc::register_object(ManagedObject& o) {
  o.index_ = static_cast<std::uint32_t>(registered_.size());
  registered_.push_back(&o);
  // Claim the storage make() registered for it (the innermost range that contains it and has
  // no object yet: the object under construction).
  const auto at = reinterpret_cast<std::uintptr_t>(&o);
  for (auto it = heap_.rbegin(); it != heap_.rend(); ++it) {
    if (it->object == nullptr && it->begin <= at && at < it->end) {
      it->object = &o;
      break;
    }
  }
}

ManagedObject* Gc::holder_of(const void* ref) const {
  if (ref == nullptr) return nullptr;
  const auto at = reinterpret_cast<std::uintptr_t>(ref);
  for (const HeapObject& h : heap_) {
    if (h.begin <= at && at < h.end) return h.object;
  }
  return nullptr;
}

// A root counts in the target's roots, a field in its holder's fields: the footprint names the
// one cell the reference changes.
ManagedObject* Gc::acquire(ManagedObject& target, const void* ref,
                           const std::source_location& where) {
  ManagedObject* holder = holder_of(ref);
  const Touch fp[] = {holder != nullptr ? holder->fields_.writes() : target.roots_.writes()};
  if (rt::model_op(Access::read, target.object_, fp,
                   holder != nullptr ? "store field" : "new reference", where) == nullptr)
    return holder;
  if (holder != nullptr) {
    holder->fields_.write().push_back(&target);
  } else {
    ++target.roots_.write();
  }
  return holder;
}

namespace {
void erase_one(std::vector<ManagedObject*>& fields, const ManagedObject* target) {
  auto it = std::find(fields.begin(), fields.end(), target);
  if (it != fields.end()) fields.erase(it);
}
}  // namespace

void Gc::release(ManagedObject& target, ManagedObject* holder, const std::source_location& where) {
  const Touch fp[] = {holder != nullptr ? holder->fields_.writes() : target.roots_.writes()};
  if (rt::model_op(Access::read, target.object_, fp,
                   holder != nullptr ? "clear field" : "drop reference", where) == nullptr)
    return;
  if (holder != nullptr) {
    erase_one(holder->fields_.write(), &target);
  } else if (target.roots_.read() > 0) {
    --target.roots_.write();
  }
}

ManagedObject* Gc::transfer(ManagedObject& target, ManagedObject* from, const void* to,
                            const std::source_location& where) {
  ManagedObject* const source = from;
  ManagedObject* const destination = holder_of(to);
  if (source == destination) return destination;  // root to root, or within one object
  auto cell = [&target](ManagedObject* holder) {
    return holder != nullptr ? holder->fields_.writes() : target.roots_.writes();
  };
  const Touch fp[] = {cell(destination), cell(source)};
  if (rt::model_op(Access::read, target.object_, fp, "move reference", where) == nullptr)
    return destination;
  if (destination != nullptr) {
    destination->fields_.write().push_back(&target);
  } else {
    ++target.roots_.write();
  }
  if (source != nullptr) {
    erase_one(source->fields_.write(), &target);
  } else if (target.roots_.read() > 0) {
    --target.roots_.write();
  }
  return destination;
}

void Gc::add_weak(hc::ModelCell<ManagedObject*>* slot, bool long_weak) {
  weaks_.push_back(Weak{slot, long_weak});
}

void Gc::remove_weak(hc::ModelCell<ManagedObject*>* slot) {
  std::erase_if(weaks_, [slot](const Weak& w) { return w.slot == slot; });
}

ManagedObject* Gc::read_weak(ManagedObject& o, const hc::ModelCell<ManagedObject*>& slot,
                             const std::source_location& where) {
  const Touch fp[] = {slot.reads()};
  if (rt::model_op(Access::read, o.object_, fp, "WeakReference.Target", where) == nullptr)
    return nullptr;
  return slot.read();
}

void Gc::trace(std::vector<char>& marked, std::vector<ManagedObject*>& stack, bool peek) const {
  while (!stack.empty()) {
    const ManagedObject* o = stack.back();
    stack.pop_back();
    for (ManagedObject* t : peek ? o->fields_.peek() : o->fields_.read()) {
      if (marked[t->index_] == 0) {
        marked[t->index_] = 1;
        stack.push_back(t);
      }
    }
  }
}

void Gc::collect(const std::source_location& where) {
  // The whole heap: every object's roots, fields and registration, every weak slot; and the
  // events.
  const Touch fp[] = {{kAllModelObjects, Access::read_write},
                      {work_.id(), Access::write},
                      {drained_.id(), Access::write}};
  if (rt::model_op(Access::read_write, queue_.id(), fp, "GC.Collect", where) == nullptr) return;
  Queue& queue = queue_.write();
  // 1. Mark from the roots, the f-reachable queue and the running finalizer's object, through
  //    fields. registered_ is in allocation order: the marking is deterministic.
  std::vector<char> marked(registered_.size(), 0);
  std::vector<ManagedObject*> stack;
  auto mark = [&marked, &stack](ManagedObject* o) {
    if (marked[o->index_] != 0) return;
    marked[o->index_] = 1;
    stack.push_back(o);
  };
  for (ManagedObject* o : registered_) {
    const ManagedObject::Registration& reg = o->registration_.read();
    if (o->roots_.read() > 0 || reg.queued || reg.running) mark(o);
  }
  trace(marked, stack);
  auto unmarked = [&marked](const ManagedObject* o) { return marked[o->index_] == 0; };
  // 2. Short weak references to unmarked objects are cleared.
  for (const Weak& w : weaks_) {
    ManagedObject* target = w.slot->read();
    if (!w.long_weak && target != nullptr && unmarked(target)) w.slot->set(nullptr);
  }
  // 3. Scan for finalization, in allocation order: suppressed entries are dropped (clearing the
  //    bit, so a second entry of the same object is queued), the others queued. Every object
  //    is scanned against the marks of step 1: an object reachable only from another queued
  //    one is queued in this same collection.
  std::vector<ManagedObject*> newly_queued;
  for (ManagedObject* o : registered_) {
    if (!unmarked(o) || o->registration_.read().entries.empty()) continue;
    ManagedObject::Registration& reg = o->registration_.write();
    std::vector<std::uint32_t> entries;
    entries.swap(reg.entries);
    for (std::uint32_t registered_at : entries) {
      if (o->suppressed(reg)) {
        ManagedObject::set_suppressed(reg, false);
        continue;
      }
      (o->critical_ ? queue.critical : queue.normal).push_back(Entry{o, registered_at});
      if (!reg.queued) newly_queued.push_back(o);
      reg.queued = true;
    }
  }
  //    Then the queued objects are promoted with everything they reference (resurrected until
  //    their finalizers ran).
  for (ManagedObject* o : newly_queued)
    mark(o);
  trace(marked, stack);
  // 4. Long weak references are cleared only for objects that are still unmarked: neither
  //    reachable nor waiting for finalization (nor finalizing).
  for (const Weak& w : weaks_) {
    ManagedObject* target = w.slot->read();
    if (w.long_weak && target != nullptr && unmarked(target)) w.slot->set(nullptr);
  }
  // 5. The finalizer event is signalled.
  if (!newly_queued.empty()) {
    rt::event_clear(drained_.id());
    rt::event_signal(work_.id());
  }
}

// SuppressFinalize and ReRegisterForFinalize write the object's header (the finalizer-run bit):
// they announce the object as written, so that pair coverage sees them against the object's
// other operations (safehandle/raw-value-after-dispose.fixed covers DangerousGetHandle against
// the SuppressFinalize of Dispose), although only the registration cell changes.
void Gc::suppress_finalize(ManagedObject& o, const std::source_location& where) {
  const Touch fp[] = {o.registration_.writes()};
  if (rt::model_op(Access::write, o.object_, fp, "GC.SuppressFinalize", where) == nullptr) return;
  ManagedObject::set_suppressed(o.registration_.write(), true);
}

void Gc::reregister_for_finalize(ManagedObject& o, const std::source_location& where) {
  const Touch fp[] = {o.registration_.writes()};
  if (rt::model_op(Access::write, o.object_, fp, "GC.ReRegisterForFinalize", where) == nullptr)
    return;
  ManagedObject::Registration& reg = o.registration_.write();
  if (o.suppressed(reg)) {
    ManagedObject::set_suppressed(reg, false);  // only clear the bit: the existing entry stands
  } else {
    reg.entries.push_back(reg.runs_started);  // another entry: two if one is still there
  }
}

void Gc::wait_for_pending_finalizers(const std::source_location& where) {
  if (rt::current_thread() == finalizer_.id()) {
    // On the finalizer thread itself it returns at once: no self-deadlock (§3.4).
    rt::model_op(Access::read, queue_.id(), std::span<const Touch>{}, "GC.WaitForPendingFinalizers",
                 where);
    return;
  }
  // Blocks (INFINITE) until the finalizer has drained the queue.
  rt::model_op(Access::sync, drained_.id(), std::span<const Touch>{}, "GC.WaitForPendingFinalizers",
               where, WaitFor::event_set);
}

void Gc::finalizer_loop() {
  for (;;) {
    work_.wait(where_);
    for (;;) {
      // GC.RunFinalizers takes the next entry: its own operation on the queue. The finalizer
      // that returned before it is recorded here (its body's operations came in between).
      Touch fp[4] = {exiting_.reads(), {drained_.id(), Access::write}, {}, {}};
      std::size_t n = 2;
      if (returned_ != nullptr) {
        fp[n++] = returned_->finalized_.writes();
        fp[n++] = returned_->registration_.writes();
      }
      if (rt::model_op(Access::read_write, queue_.id(), std::span<const Touch>(fp, n),
                       "finalizer: dequeue", where_) == nullptr)
        return;
      if (returned_ != nullptr) {
        ManagedObject* o = std::exchange(returned_, nullptr);
        ++o->finalized_.write();
        o->registration_.write().running = false;
      }
      Queue& queue = queue_.write();
      if (queue.empty()) {
        rt::event_signal(drained_.id());
        if (exiting_.read()) return;  // process exit: drained, the thread ends
        break;
      }
      // Every normal entry before any critical one (§3.3); which one of the list runs next is
      // explored: no order among normal ones, none documented among critical ones.
      const bool normal = !queue.normal.empty();
      std::vector<Entry>& list = normal ? queue.normal : queue.critical;
      const auto count = static_cast<std::uint32_t>(list.size());
      const std::uint32_t i = count > 1 && options_.explore_finalizer_order
                                  ? hc::choose(count,
                                               normal ? "which normal finalizer runs next"
                                                      : "which critical finalizer runs next",
                                               where_)
                                  : 0;
      const Entry entry = list[i];
      list.erase(list.begin() + i);
      run_finalizer(entry);
    }
  }
}

void Gc::run_finalizer(const Entry& entry) {
  ManagedObject& o = *entry.object;
  // Located where the user's code constructed the object: the finalizer is its type's code.
  const std::source_location& where = o.created_at_;
  // Announced as a write of the object: pair coverage sees a finalizer racing the object's
  // other operations (a raw use), as for SuppressFinalize.
  const Touch fp[] = {o.registration_.writes(), queue_.reads()};
  if (rt::model_op(Access::write, o.object_, fp, "run finalizer", where) == nullptr) return;
  ManagedObject::Registration& reg = o.registration_.write();
  reg.queued = queue_.read().contains(&o);
  if (o.suppressed(reg)) {
    // SuppressFinalize after it became f-reachable: clear the bit, skip the finalizer (§3.1).
    ManagedObject::set_suppressed(reg, false);
    return;
  }
  if (reg.runs_started > entry.runs_started_when_registered) {
    report(FindingKind::finalizer_ran_twice,
           fmt::format("the finalizer of {} runs a second time on the finalizer thread (it "
                       "already ran, by {}): it was registered twice (ReRegisterForFinalize on "
                       "an object still registered) without a SuppressFinalize in between",
                       o.label(), describe(o.finalizer_started_)),
           where, o.label(), {.steps = {o.finalizer_started_.step}, .objects = {o.object_}});
  }
  ++reg.runs_started;
  reg.running = true;  // the finalizer thread's `this`: reachable until the return is recorded
  running_ = &o;
  blocked_since_ = kNotBlocked;
  const Provenance started = here(where);  // the "run finalizer" step
  o.finalizer_started_ = started;
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
  } catch (...) {
    // Any exception escapes the same way (`throw 42;`, a user type not derived from
    // std::exception): the process terminates all the same (§3.6, B21). The engine's own unwind
    // of an ended execution (runtime/execution.hpp, "Teardown") must pass through.
    if (rt::tearing_down()) throw;
    report(FindingKind::finalizer_exception,
           fmt::format("unhandled exception on the finalizer thread in the finalizer of {}: an "
                       "exception not derived from std::exception: the process terminates; "
                       "pending finally blocks and the {} finalizers still queued do not run",
                       o.label(), pending_finalizers()),
           where, o.label() + "|non-std", {.steps = {}, .objects = {o.object_}});
  }
  // The body's operations may have come in between: the finalized count is recorded by the
  // next dequeue (returned_); the rest is finding bookkeeping.
  running_ = nullptr;
  returned_ = &o;
  order_.push_back(o.label());
}

// finalizer-blocked (an invariant, checked whenever a thread parks): counts the consecutive
// steps in which the finalizer thread, inside a finalizer, could not run because its operation
// waits for something (rt::blocked_on). A step in which it could run — it ran, or it was
// preempted — ends the count. Past the bound it is a finding of the finalizer thread, at the
// line of the finalizer where it waits, naming what it waits for and who holds that.
bool Gc::check_blocked() {
  const rt::BlockedOn blocked =
      running_ != nullptr ? rt::blocked_on(finalizer_.id()) : rt::BlockedOn{};
  if (blocked.wait == WaitFor::nothing) {
    blocked_since_ = kNotBlocked;
    return true;
  }
  const std::uint32_t now = rt::current_step();
  if (blocked_since_ == kNotBlocked) blocked_since_ = now;  // blocked from the next step on
  const std::uint32_t steps = now - blocked_since_;
  if (steps <= options_.finalizer_block_bound) return true;
  const std::string object = rt::object_label(blocked.object);
  const std::string holder =
      blocked.holder != kNoThread ? std::string(rt::thread_name(blocked.holder)) : std::string();
  std::string waits;
  switch (blocked.wait) {
    case WaitFor::mutex_free:
      waits = fmt::format("to lock {}, held by thread '{}'", object, holder);
      break;
    case WaitFor::event_set:
      waits = fmt::format("for {} to be set, which no thread has done", object);
      break;
    case WaitFor::cv_notified:
      waits = holder.empty() ? fmt::format("for a notification of {}", object)
                             : fmt::format("to reacquire the mutex of {}, held by thread '{}'",
                                           object, holder);
      break;
    case WaitFor::thread_finished:
      waits = fmt::format("to join thread '{}', which has not finished", holder);
      break;
    case WaitFor::nothing:
      break;
  }
  std::string behind;
  FindingRefs refs{.steps = {}, .objects = {running_->object_}};  // then what it waits for
  if (blocked.object != kNoObject) refs.objects.emplace_back(blocked.object);
  const Queue& queue = queue_.peek();
  for (const std::vector<Entry>* list : {&queue.normal, &queue.critical}) {
    for (const Entry& e : *list) {
      behind += fmt::format("{}{}", behind.empty() ? "" : ", ", e.object->label());
      refs.objects.emplace_back(e.object->object_);
    }
  }
  const std::size_t pending = queue.size();
  rt::report_for(
      finalizer_.id(), FindingKind::finalizer_blocked,
      fmt::format("the finalizer thread has been blocked for {} steps (bound {}) in the finalizer "
                  "of {}, waiting at {} {}; {} object{} queued behind it{}: every later "
                  "finalizer waits, and the memory they hold is not reclaimed",
                  steps, options_.finalizer_block_bound, running_->label(), site(blocked.where),
                  waits, pending, pending == 1 ? " is" : "s are",
                  behind.empty() ? std::string() : ": " + behind),
      blocked.where, fmt::format("{}|{}", running_->label(), site(blocked.where)), std::move(refs));
  return true;  // rt::report_for returns only while an ended execution is torn down
}

}  // namespace hc::models

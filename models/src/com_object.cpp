// com_object.cpp — the COM object model: reference counts, destruction on the releasing
// thread, liveness checks and the findings of DOMAIN.md §5 / O7 (see com_object.hpp).
#include "hc/models/com_object.hpp"

#include <span>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

namespace {

// Depth of ComWorld destructors running on this OS thread. Fibers share the OS thread, but a
// ComWorld destructor performs no operation, so no other fiber runs while it is set.
thread_local int t_world_closing = 0;

Provenance provenance(const ComStamp& s) {
  Provenance p;
  p.thread = s.thread;
  p.thread_name = s.thread == kNoThread ? std::string("?") : std::string(rt::thread_name(s.thread));
  p.step = s.step;
  p.where = s.where;
  return p;
}

// "through weak reference 'parent'", "through a ComPtr", "through a raw pointer".
std::string through(const ComReference& via) {
  switch (via.kind) {
    case ComReference::Kind::weak:
      return fmt::format("through weak reference '{}'", via.name != nullptr ? via.name : "");
    case ComReference::Kind::strong:
      return "through a ComPtr";
    case ComReference::Kind::proxy:
      return "through a marshalled ComProxy";
    case ComReference::Kind::raw:
      break;
  }
  return "through a raw pointer";
}

// The step origin(via) mentions, if any: when a weak reference or a ComPtr's was obtained.
void add_origin_step(const ComReference& via, FindingRefs& refs) {
  if (via.kind != ComReference::Kind::raw) refs.steps.push_back(via.obtained.step);
}

// Where the reference came from, and why it did not keep the object alive.
std::string origin(const ComReference& via) {
  switch (via.kind) {
    case ComReference::Kind::weak:
      return fmt::format(
          " Weak reference '{}' was obtained by {} and holds no reference: AddRef a copy "
          "fetched from a shared variable under the lock that protects it, or upgrade a weak "
          "reference with try_upgrade, which fails at 0.",
          via.name != nullptr ? via.name : "", describe(provenance(via.obtained)));
    case ComReference::Kind::strong:
      return fmt::format(
          " The ComPtr owned a reference taken by {}, so some code released a reference it "
          "did not own.",
          describe(provenance(via.obtained)));
    case ComReference::Kind::proxy:
      return fmt::format(
          " The ComProxy owned a reference taken by {}, so some code released a reference it "
          "did not own.",
          describe(provenance(via.obtained)));
    case ComReference::Kind::raw:
      break;
  }
  return " A raw pointer holds no reference: the caller must own one (AddRef) while it uses "
         "the object.";
}

}  // namespace

namespace detail {

bool com_world_closing() noexcept {
  return t_world_closing > 0;
}

ComStamp com_stamp(const std::source_location& where) {
  return ComStamp{rt::current_thread(), rt::current_step(), where};
}

}  // namespace detail

std::string_view com_state_name(ComState state) {
  switch (state) {
    case ComState::alive:
      return "alive";
    case ComState::destroying:
      return "destroying";
    case ComState::destroyed:
      return "destroyed";
  }
  return "unknown";
}

// --- ComObject -------------------------------------------------------------------------------

ComObject::ComObject(std::string type_name) : type_(std::move(type_name)) {}

ComObject::~ComObject() = default;

ComWorld& ComObject::world() const {
  require_world("world()");
  return *world_;
}

void ComObject::require_world(const char* operation) const {
  if (world_ == nullptr) {
    throw usage_error(
        fmt::format("hc::models::ComObject::{} on an object of type {} that was not created by "
                    "ComWorld::make",
                    operation, type_));
  }
}

std::string ComObject::label() const {
  return fmt::format("ComObject '{}' (type {})", name_, type_);
}

Provenance ComObject::created_by() const {
  return provenance(created_);
}

Provenance ComObject::destroyed_by() const {
  return provenance(destroyed_);
}

void ComObject::guard_destruction(std::uint32_t artificial) noexcept {
  guard_ = artificial;
}

bool ComObject::announce(Access access, const char* label, const std::source_location& where) {
  // The footprint beside the object: its subsystem's cell when it belongs to one.
  Touch subsystem_cell{};
  std::span<const Touch> footprint;
  if (subsystem_ != nullptr) {
    subsystem_cell = subsystem_->reads();
    footprint = {&subsystem_cell, 1};
  }
  return rt::model_op(access, id_, footprint, label, where) != nullptr;
}

void ComObject::belongs_to(Subsystem& subsystem) {
  subsystem_epoch_ = subsystem.bind(label());
  subsystem_ = &subsystem;
  owner_ = subsystem.owner_thread();  // an STA's thread, else none (a peek: configuration)
  apartment_ = owner_ != kNoThread ? dynamic_cast<ComApartment*>(&subsystem) : nullptr;
  if (apartment_ == nullptr) owner_ = kNoThread;
}

void ComObject::check_owner_thread(const char* call, const ComReference& via,
                                   const std::source_location& where) {
  // The owner is configuration and the calling thread is the step's own: no cell to declare.
  if (owner_ != kNoThread && rt::current_thread() != owner_) report_wrong_thread(call, via, where);
}

void ComObject::proxy_call(const char* method, const std::function<void()>& then,
                           const ComReference& via, const std::source_location& where) {
  require_world("call");
  auto run = [this, method, &then, via, where] {
    use_via(method, via, where);
    if (then) then();
  };
  if (owner_ == kNoThread || rt::current_thread() == owner_) {
    run();  // the object's own thread, or an object of the MTA: a direct call
    return;
  }
  apartment_->send(fmt::format("{} of {}", method, label()), subsystem_epoch_, run, where);
}

void ComObject::proxy_release(const ComReference& via, const std::source_location& where) {
  require_world("Release");
  auto run = [this, via, where] { release_via(via, where); };
  if (owner_ == kNoThread || rt::current_thread() == owner_) {
    run();
    return;
  }
  apartment_->send(fmt::format("Release of {}", label()), subsystem_epoch_, run, where);
}

void ComObject::check_subsystem(const char* call, const std::source_location& where) {
  if (subsystem_ == nullptr || subsystem_->is_current(subsystem_epoch_)) return;
  subsystem_->report_entry(subsystem_epoch_, fmt::format("{} of {}", call, label()), where);
}

bool ComObject::on_destroyer_thread(const Life& life) noexcept {
  return life.state == ComState::destroying && life.destroyer == rt::current_thread();
}

std::uint32_t ComObject::AddRef(const std::source_location& where) {
  return add_ref_via(ComReference{}, "AddRef", where);
}

std::uint32_t ComObject::Release(const std::source_location& where) {
  return release_via(ComReference{}, where);
}

void ComObject::use(const char* method, const std::source_location& where) {
  use_via(method, ComReference{}, where);
}

std::uint32_t ComObject::add_ref_via(const ComReference& via, const char* label,
                                     const std::source_location& where) {
  require_world("AddRef");
  if (!announce(Access::read_write, label, where)) return count();  // teardown
  Life& life = life_->write();
  switch (life.state) {
    case ComState::alive:
      // A user IUnknown's count can be 0 while alive: its Release decremented it and has not
      // deleted it yet. Taking a reference now is the rescue of ONT-0811.
      if (life.count == 0) report_addref_from_zero(via, where);
      check_subsystem("AddRef", where);
      return ++life.count;
    case ComState::destroying:
      // The destructor body (or a callee it handed `this` to) takes a reference: legal only
      // if it is released before the body returns, and even then, without a guard, that
      // Release is a second destruction (B13). Remember the first one for the report.
      if (on_destroyer_thread(life)) {
        if (!rescued_.valid()) rescued_ = detail::com_stamp(where);
        return ++life.count;
      }
      report_addref_from_zero(via, where);
    case ComState::destroyed:
      break;
  }
  report_addref_from_zero(via, where);
}

std::uint32_t ComObject::release_via(const ComReference& via, const std::source_location& where) {
  require_world("Release");
  if (!announce(Access::read_write, "Release", where)) return count();
  Life& life = life_->write();
  if (life.state == ComState::alive) {
    check_owner_thread("Release", via, where);
    check_subsystem("Release", where);
  }
  switch (life.state) {
    case ComState::alive:
      // alive ⇒ count >= 1: the count reaches 0 only here, and that ends `alive`.
      if (--life.count > 0) return life.count;
      destroy(detail::com_stamp(where), life);
      return 0;
    case ComState::destroying:
      // Only the destroyer may still hold references (taken inside the destructor body); for
      // any other thread the count is 0.
      if (!on_destroyer_thread(life) || life.count == 0) report_underflow(via, where);
      if (--life.count == 0) report_double_destruction(via, where);
      return life.count;
    case ComState::destroyed:
      break;
  }
  report_underflow(via, where);
}

bool ComObject::try_upgrade_via(const ComReference& /*via*/, const std::source_location& where) {
  require_world("try_upgrade");
  // A compare-exchange loop on the count that refuses 0: announced as a read-write.
  if (!announce(Access::read_write, "AddRef (weak upgrade)", where)) return false;
  Life& life = life_->write();
  if (life.state != ComState::alive || life.count == 0) return false;
  check_subsystem("AddRef (weak upgrade)", where);
  ++life.count;
  return true;
}

void ComObject::use_via(const char* method, const ComReference& via,
                        const std::source_location& where) {
  require_world("use");
  if (!announce(Access::read, method, where)) return;
  check_alive(method, via, where, life_->read());
  check_subsystem(method, where);
}

void ComObject::peek_alive(const char* method, const ComReference& via,
                           const std::source_location& where) {
  require_world("use");
  // A safety net without a scheduling point (ComPtr::operator->): a peek, not part of any
  // step's footprint; the checked call is use().
  check_alive(method, via, where, life_->peek());
}

// --- a user IUnknown's operations (UserUnknown, ComRefCount) ----------------------------------

namespace {

// The line a user operation is attributed to: its own when it has one, else the thread's last
// line on the object (ComRefCount's operators cannot capture one). Finding bookkeeping.
struct UserSites {
  std::vector<std::pair<ThreadId, std::source_location>> last;
  std::source_location resolve(const std::source_location& where) {
    const ThreadId me = rt::current_thread();
    for (auto& [thread, site] : last) {
      if (thread != me) continue;
      if (where.line() != 0) site = where;
      return site;
    }
    last.emplace_back(me, where);
    return where;
  }
};

}  // namespace

namespace detail {

/// The model side of a UserUnknown: owned by the world, it outlives the user's object (whose
/// memory it frees when the world ends). Its destructor body is the user's C++ destructor.
class UserShadow final : public ComObject {
 public:
  explicit UserShadow(std::string type) : ComObject(std::move(type)) {}
  ~UserShadow() override {
    if (memory != nullptr) ::operator delete(memory);
  }
  UserUnknown* user = nullptr;
  void* memory = nullptr;  // the allocation of `new`, when the object was created by it
  UserSites sites;

 protected:
  void on_destroy() override { user->~UserUnknown(); }  // virtual: the user's destructor
};

}  // namespace detail

namespace {

std::source_location user_site(ComObject* self, const std::source_location& where) {
  auto* shadow = dynamic_cast<detail::UserShadow*>(self);
  return shadow != nullptr ? shadow->sites.resolve(where) : where;
}

}  // namespace

std::uint32_t ComObject::user_decrement(const std::source_location& at) {
  const std::source_location where = user_site(this, at);
  if (!announce(Access::read_write, "InterlockedDecrement(&m_ref)", where)) return count();
  Life& life = life_->write();
  switch (life.state) {
    case ComState::alive:
      if (life.count == 0) report_underflow(ComReference{}, where);
      check_owner_thread("Release (InterlockedDecrement(&m_ref))", ComReference{}, where);
      check_subsystem("Release", where);
      return --life.count;
    case ComState::destroying:
      if (!on_destroyer_thread(life)) break;
      if (life.count == 0) report_underflow(ComReference{}, where);
      return --life.count;  // inside its own destructor: the next `delete this` tells
    case ComState::destroyed:
      break;
  }
  report_use_after_destruction("InterlockedDecrement(&m_ref)", ComReference{}, where);
}

std::uint32_t ComObject::user_read(const std::source_location& at) {
  const std::source_location where = user_site(this, at);
  if (!announce(Access::read, "read m_ref", where)) return count();
  const Life& life = life_->read();
  check_alive("read m_ref", ComReference{}, where, life);
  return life.count;
}

void ComObject::user_write(std::uint32_t value, const std::source_location& at) {
  const std::source_location where = user_site(this, at);
  if (!announce(Access::read_write, "write m_ref", where)) return;
  Life& life = life_->write();
  check_alive("write m_ref", ComReference{}, where, life);
  life.count = value;
}

void ComObject::user_delete(const std::source_location& at) {
  const std::source_location where = user_site(this, at);
  if (!announce(Access::read_write, "delete this", where))
    return;  // teardown: the object is left as it is (its memory is the world's)
  Life& life = life_->write();
  if (life.state != ComState::alive) report_double_destruction(ComReference{}, where);
  check_subsystem("delete (the destructor)", where);
  // The count at `delete this` is what the destructor must leave: 0, or ONT-0928's artificial
  // count. A reference taken inside the destructor and kept is then addref_from_zero.
  guard_ = life.count;
  destroy(detail::com_stamp(where), life);
}

long InterlockedIncrement(ComRefCount* count, const std::source_location& where) {
  ComObject& o = count->model();
  const std::source_location at = user_site(&o, where);
  return static_cast<long>(o.add_ref_via(ComReference{}, "InterlockedIncrement(&m_ref)", at));
}

long InterlockedDecrement(ComRefCount* count, const std::source_location& where) {
  return static_cast<long>(count->model().user_decrement(where));
}

// --- UserUnknown -----------------------------------------------------------------------------

namespace {
// The last allocation of UserUnknown::operator new on this OS thread: the constructor that
// runs next takes it if `this` lies inside it (fibers share the thread; a scheduling point in
// a new-expression's arguments may interleave another allocation, then the check fails and the
// object is simply not freed by the world).
thread_local void* t_allocation = nullptr;
thread_local std::size_t t_allocation_size = 0;
}  // namespace

void* UserUnknown::operator new(std::size_t size) {
  void* p = ::operator new(size);
  t_allocation = p;
  t_allocation_size = size;
  return p;
}

void UserUnknown::operator delete(void* p) noexcept {
  ::operator delete(p);
}

UserUnknown::UserUnknown(ComWorld& world, std::string type_name, ComName name)
    : shadow_([&] {
        ComPtr<detail::UserShadow> made =
            world.make<detail::UserShadow>(name, std::move(type_name));
        return static_cast<ComObject*>(made.detach());  // the count: m_ref's 1
      }()),
      m_ref(shadow_) {
  auto* shadow = static_cast<detail::UserShadow*>(shadow_);
  shadow->user = this;
  shadow->user_managed_ = true;
  const auto* self = reinterpret_cast<const unsigned char*>(this);
  const auto* start = static_cast<const unsigned char*>(t_allocation);
  if (start != nullptr && self >= start && self < start + t_allocation_size) {
    shadow->memory = t_allocation;
    t_allocation = nullptr;
  }
}

void UserUnknown::operator delete(UserUnknown* p, std::destroying_delete_t) {
  p->shadow_->user_delete(std::source_location{});
}

void UserUnknown::use(const char* method, const std::source_location& where) const {
  shadow_->use_via(method, ComReference{}, user_site(shadow_, where));
}

void ComObject::check_alive(const char* method, const ComReference& via,
                            const std::source_location& where, const Life& life) {
  if (life.state == ComState::destroyed ||
      (life.state == ComState::destroying && !on_destroyer_thread(life))) {
    report_use_after_destruction(method, via, where);
  }
}

void ComObject::destroy(const ComStamp& by, Life& life) {
  life.state = ComState::destroying;
  life.destroyer = by.thread;
  life.count = guard_;  // 0, or the artificial count of a guarded destruction
  destroyed_ = by;
  world_->destroying_.push_back(this);
  const std::uint32_t entered = rt::current_step();
  {
    const FindingContext context(id_);  // findings inside the destructor are about it too
    on_destroy();                       // the cascade: its operations run on this thread
  }
  world_->destroying_.pop_back();
  destroy_end_step_ = rt::current_step();
  // The body's operations were steps of their own (on other objects): the end of the
  // destruction is then a step of its own on this object.
  if (destroy_end_step_ != entered &&
      rt::model_op(Access::read_write, id_, std::span<const Touch>{}, "end of destructor",
                   by.where) == nullptr)
    return;
  Life& now = life_->write();
  if (now.count != guard_) report_escaped_reference(now.count);
  now.count = 0;
  now.state = ComState::destroyed;
}

// --- findings --------------------------------------------------------------------------------

namespace {

std::string fate(ComState state, const Provenance& destroyed) {
  if (state == ComState::destroying) {
    return fmt::format(
        "it is being destroyed: its last reference was released by {}, and its destructor "
        "body is still running there",
        describe(destroyed));
  }
  return fmt::format("it was destroyed by {}, when its last reference was released",
                     describe(destroyed));
}

}  // namespace

void ComObject::report_use_after_destruction(const char* method, const ComReference& via,
                                             const std::source_location& where) {
  const Provenance now = here(where);
  const Provenance destroyed = provenance(destroyed_);
  std::string message = fmt::format("use of {} {} at step {} by thread '{}' ({} at {}): {}.{}",
                                    label(), through(via), now.step, now.thread_name, method,
                                    site(where), fate(state(), destroyed), origin(via));
  FindingRefs refs{.steps = {now.step, destroyed.step}, .objects = {id_}};
  add_origin_step(via, refs);
  report(FindingKind::use_after_destruction, std::move(message), where,
         fmt::format("{}|{}|{}|{}", name_, method, site(where), site(destroyed_.where)),
         std::move(refs));
}

void ComObject::report_wrong_thread(const char* call, const ComReference& via,
                                    const std::source_location& where) {
  const Provenance now = here(where);
  const Provenance created = provenance(created_);
  const std::string_view owner = rt::thread_name(owner_);
  std::string message = fmt::format(
      "release on wrong thread: {} of {} {} at step {} by thread '{}' ({}): the object belongs "
      "to the single-threaded apartment (STA) of thread '{}' (created by {}), and only thread "
      "'{}' may release it: its Release, and the destructor it may run, touch state that is "
      "thread '{}''s alone (in production a crash, a corruption or a hang, on some schedules "
      "only). Marshal the release to the owner: release through a marshalled pointer "
      "(ComProxy: CoMarshalInterThreadInterfaceInStream, the Global Interface Table, an agile "
      "reference), whose Release is a cross-apartment call that thread '{}' runs when it pumps, "
      "or post the release to thread '{}' and release there (Marshal.FinalReleaseComObject on "
      "the STA).",
      call, label(), through(via), now.step, now.thread_name, site(where), owner, describe(created),
      owner, owner, owner, owner);
  FindingRefs refs{.steps = {now.step, created.step}, .objects = {id_}};
  report(FindingKind::release_on_wrong_thread, std::move(message), where,
         fmt::format("{}|{}|{}", name_, call, site(where)), std::move(refs));
}

void ComObject::report_addref_from_zero(const ComReference& via,
                                        const std::source_location& where) {
  const Provenance now = here(where);
  const Provenance destroyed = provenance(destroyed_);
  std::string message = fmt::format(
      "AddRef of {} {} at step {} by thread '{}' ({}) on a count that already reached 0 "
      "(a rescue, 0→1): its last reference was released by {} and {}; the caller owns no "
      "reference to it.{}",
      label(), through(via), now.step, now.thread_name, site(where), describe(destroyed),
      state() == ComState::destroying ? "it is being destroyed there" : "it was destroyed",
      origin(via));
  FindingRefs refs{.steps = {now.step, destroyed.step}, .objects = {id_}};
  add_origin_step(via, refs);
  report(FindingKind::addref_from_zero, std::move(message), where,
         fmt::format("{}|{}|{}", name_, site(where), site(destroyed_.where)), std::move(refs));
}

void ComObject::report_underflow(const ComReference& via, const std::source_location& where) {
  const Provenance now = here(where);
  const Provenance destroyed = provenance(destroyed_);
  std::string message = fmt::format(
      "Release of {} {} at step {} by thread '{}' ({}) on a count already 0: more Releases "
      "than references; its last reference was released by {} and {}",
      label(), through(via), now.step, now.thread_name, site(where), describe(destroyed),
      state() == ComState::destroying ? "it is being destroyed there" : "it was destroyed");
  if (state() == ComState::destroying && on_destroyer_thread(life_->peek())) {
    message += " (this Release runs inside its own destructor body)";
  }
  message += '.';
  report(FindingKind::refcount_underflow, std::move(message), where,
         fmt::format("{}|{}|{}", name_, site(where), site(destroyed_.where)),
         {.steps = {now.step, destroyed.step}, .objects = {id_}});
}

void ComObject::report_double_destruction(const ComReference& /*via*/,
                                          const std::source_location& where) {
  const Provenance now = here(where);
  const Provenance first = provenance(destroyed_);
  std::string how;
  FindingRefs refs{.steps = {now.step}, .objects = {id_}};
  if (user_managed_ && now.thread != destroyed_.thread) {
    how = fmt::format(
        "`delete this` again on another thread: its count reached 0 once, and both this thread "
        "and thread '{}' read it as 0 and deleted it (Release must decide on the value "
        "InterlockedDecrement returned, never on m_ref read again)",
        first.thread_name);
  } else if (guard_ == 0 && rescued_.valid()) {
    refs.steps.push_back(rescued_.step);
    how = fmt::format(
        "its destructor handed out `this`: AddRef by {} took its count 0→1 while it was in "
        "the destroying state, and this Release takes it back 1→0",
        describe(provenance(rescued_)));
  } else {
    how = fmt::format(
        "inside its destructor body its artificial count {} went back to 0: more Releases "
        "than AddRefs there",
        guard_);
  }
  std::string message = fmt::format(
      "second destruction of {} at step {} by thread '{}' ({}): {}, so its destruction is "
      "entered again while the first one, entered by {}, is still running.",
      label(), now.step, now.thread_name, site(where), how, describe(first));
  refs.steps.push_back(first.step);
  report(FindingKind::double_destruction, std::move(message), where,
         fmt::format("{}|{}|{}", name_, site(rescued_.valid() ? rescued_.where : destroyed_.where),
                     site(where)),
         std::move(refs));
}

void ComObject::report_escaped_reference(std::uint32_t count) {
  const Provenance first = provenance(destroyed_);
  const std::source_location where = rescued_.valid() ? rescued_.where : destroyed_.where;
  if (count < guard_) {
    std::string message = fmt::format(
        "Release of {} inside its own destructor body, entered by {}: its artificial count {} "
        "dropped to {} by step {}, more Releases than AddRefs there.",
        label(), describe(first), guard_, count, destroy_end_step_);
    report(FindingKind::refcount_underflow, std::move(message), destroyed_.where,
           fmt::format("{}|destructor|{}", name_, site(destroyed_.where)),
           {.steps = {first.step, destroy_end_step_}, .objects = {id_}});
  }
  const std::uint32_t kept = count - guard_;
  std::string message = fmt::format(
      "a reference to {} taken during its destruction outlives it: AddRef by {} took its count "
      "{}→{} while it was being destroyed (entered by {}), and {} reference{} still held when "
      "its destructor body returned at step {}; the holder owns a reference to a destroyed "
      "object (ONT-0928).",
      label(), rescued_.valid() ? describe(provenance(rescued_)) : std::string("?"), guard_,
      guard_ + 1, describe(first), kept, kept == 1 ? " was" : "s were", destroy_end_step_);
  FindingRefs refs{.steps = {}, .objects = {id_}};
  if (rescued_.valid()) refs.steps.push_back(rescued_.step);
  refs.steps.push_back(first.step);
  refs.steps.push_back(destroy_end_step_);
  report(FindingKind::addref_from_zero, std::move(message), where,
         fmt::format("{}|escaped|{}|{}", name_, site(where), site(destroyed_.where)),
         std::move(refs));
}

// --- ComWorld --------------------------------------------------------------------------------

ComWorld::ComWorld(ComWorldOptions options) : options_(options) {}

ComWorld::~ComWorld() {
  // Not while an ended execution is unwound: its objects are referenced because it ended early.
  if (options_.report_leaks && rt::in_execution() && !rt::tearing_down()) report_leaks();
  ++t_world_closing;
  while (!objects_.empty())
    objects_.pop_back();  // newest first; ComPtr members release nothing while closing
  --t_world_closing;
}

void ComWorld::adopt(std::unique_ptr<ComObject> object, std::string_view name,
                     const std::source_location& where) {
  object->life_.emplace(fmt::format("{} ({})", name, object->type_));
  object->id_ = object->life_->id();
  object->world_ = this;
  object->name_ = std::string(name);
  object->created_ = detail::com_stamp(where);
  if (options_.subsystem != nullptr) object->belongs_to(*options_.subsystem);
  objects_.push_back(std::move(object));
}

void ComWorld::report_leaks() const {
  std::string list;
  std::string signature;
  std::size_t leaked = 0;
  std::source_location first{};
  FindingRefs refs{.steps = {}, .objects = {}};
  for (const auto& o : objects_) {
    if (o->state() != ComState::alive) continue;
    ++leaked;
    list += fmt::format("\n  ComObject '{}' (type {}, count {}, created by {})", o->name_, o->type_,
                        o->count(), describe(provenance(o->created_)));
    signature += fmt::format("|{}@{}", o->name_, site(o->created_.where));
    if (leaked == 1) first = o->created_.where;
    refs.steps.push_back(o->created_.step);
    refs.objects.emplace_back(o->id_);
  }
  if (leaked == 0) return;
  // rt::report, as HandleTable's leak report: in a destructor the report may return.
  rt::report(FindingKind::com_object_leak,
             fmt::format("COM object leak: {} object{} still referenced at the end of the "
                         "execution (a missing Release: the destructor never runs, and what it "
                         "would free leaks with it):{}",
                         leaked, leaked == 1 ? "" : "s", list),
             first, "com-object-leak" + signature, std::move(refs));
}

const ComObject* ComWorld::destroying_on(ThreadId thread) const noexcept {
  for (auto it = destroying_.rbegin(); it != destroying_.rend(); ++it) {
    if ((*it)->destroyed_.thread == thread) return *it;
  }
  return nullptr;
}

std::vector<const ComObject*> ComWorld::alive() const {
  std::vector<const ComObject*> out;
  for (const auto& o : objects_) {
    if (o->state() != ComState::destroyed) out.push_back(o.get());
  }
  return out;
}

std::string ComWorld::describe_alive() const {
  std::string out;
  for (const ComObject* o : alive()) {
    if (!out.empty()) out += '\n';
    out += fmt::format("ComObject '{}' (type {}, count {}, {}, created by {})", o->name_, o->type_,
                       o->count(), com_state_name(o->state()), describe(provenance(o->created_)));
  }
  return out;
}

}  // namespace hc::models

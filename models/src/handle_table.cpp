#include "hc/models/handle_table.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "hc/check.hpp"
#include "hc/runtime.hpp"

namespace hc::models {

std::string_view reuse_policy_name(ReusePolicy policy) {
  switch (policy) {
    case ReusePolicy::lifo:
      return "lifo";
    case ReusePolicy::nt_batched:
      return "nt-batched";
    case ReusePolicy::strict_fifo:
      return "strict-fifo";
    case ReusePolicy::lowest_free:
      return "lowest-free";
    case ReusePolicy::never:
      return "never";
    case ReusePolicy::explore:
      return "explore";
  }
  return "unknown";
}

std::string_view object_type_name(ObjectType type) {
  switch (type) {
    case ObjectType::file:
      return "File";
    case ObjectType::event:
      return "Event";
    case ObjectType::mutex:
      return "Mutex";
    case ObjectType::semaphore:
      return "Semaphore";
    case ObjectType::section:
      return "Section";
    case ObjectType::thread:
      return "Thread";
    case ObjectType::process:
      return "Process";
    case ObjectType::user:
      return "Object";
  }
  return "Object";
}

namespace {

constexpr std::uint32_t bit_of(ObjectType t) {
  return 1u << static_cast<unsigned>(t);
}
constexpr std::uint32_t kAnyType = 0xFFFFFFFFu;
constexpr std::uint32_t kReadable =
    bit_of(ObjectType::file) | bit_of(ObjectType::section) | bit_of(ObjectType::user);
constexpr std::uint32_t kSignalable = bit_of(ObjectType::event) | bit_of(ObjectType::mutex) |
                                      bit_of(ObjectType::semaphore) | bit_of(ObjectType::user);
constexpr std::uint32_t kResettable = bit_of(ObjectType::event) | bit_of(ObjectType::user);
constexpr std::uint32_t kWaitable = bit_of(ObjectType::event) | bit_of(ObjectType::mutex) |
                                    bit_of(ObjectType::semaphore) | bit_of(ObjectType::thread) |
                                    bit_of(ObjectType::process) | bit_of(ObjectType::user);

bool waitable(ObjectType t) {
  return (kWaitable & bit_of(t)) != 0;
}

}  // namespace

struct HandleTable::KernelObject {
  ObjectType type = ObjectType::user;
  std::string name;
  ObjectId object = kNoObject;  // the engine object operations are announced on
  ObjectId event = kNoObject;   // waitable objects: the engine event a wait blocks on
  bool manual_reset = true;
  std::uint32_t count = 0;    // signal state: event 0/1, mutex 1 when free, semaphore count
  std::uint32_t handles = 0;  // open handles (in any table) naming it
  Provenance created;

  std::string label() const { return fmt::format("{} '{}'", object_type_name(type), name); }
};

struct HandleTable::Slot {
  struct Generation {
    std::string object;              // "File 'log'"
    ObjectId object_id = kNoObject;  // the kernel object's engine object
    std::string owner;
    std::string closer;  // who closed it (close()'s `closer`), once closed
    Provenance created;
    std::optional<Provenance> closed;
  };
  bool open = false;
  std::shared_ptr<KernelObject> object;
  std::vector<Generation> generations;  // generations[g - 1]
  std::vector<ThreadId> waiters;        // threads waiting on the object through this slot

  std::uint32_t generation() const { return static_cast<std::uint32_t>(generations.size()); }
  Generation& current() { return generations.back(); }
};

namespace {

/// The objects of one generation of a slot, for a finding about it: the code that owns it and
/// the code that closed it (by label: a SafeHandle's, a wrapper's; labels that name no object,
/// such as a thread's name, are dropped by the engine), then its kernel object.
void add_generation_objects(const HandleTable::Slot::Generation& g, FindingRefs& refs) {
  if (!g.owner.empty()) refs.objects.emplace_back(g.owner);
  if (!g.closer.empty()) refs.objects.emplace_back(g.closer);
  refs.objects.emplace_back(g.object_id);
}

}  // namespace

HandleTable::HandleTable(HandleTableOptions options, const std::source_location& where)
    : options_(options),
      table_object_(
          rt::register_object(ObjectKind::model, fmt::format("handle table '{}'", options.name))) {
  (void)where;
  rt::note_parameter("handle values", options.style == ValueStyle::posix ? "posix" : "win32");
  rt::note_parameter("handle reuse", reuse_policy_name(options.reuse));
  slots_.resize(1);  // slot 0: never valid (Win32 value 0; POSIX: "no descriptor")
}

HandleTable::~HandleTable() {
  if (!options_.report_leaks || !rt::in_execution()) return;
  std::string list;
  std::size_t leaked = 0;
  std::string signature;
  std::source_location first{};
  FindingRefs refs{.steps = {}, .objects = {table_object_}};  // the table, then each handle's
  for (std::uint32_t s = 1; s < slots_.size(); ++s) {
    const Slot& slot = slots_[s];
    if (!slot.open) continue;
    ++leaked;
    const Slot::Generation& g = slot.generations.back();
    list += fmt::format("\n  {} {} (generation {}) created by {}{}", format_value(value_of(s)),
                        g.object, slot.generation(), describe(g.created),
                        g.owner.empty() ? std::string() : fmt::format(", owner '{}'", g.owner));
    signature += fmt::format("|{}@{}", g.object, site(g.created.where));
    if (leaked == 1) first = g.created.where;
    refs.steps.push_back(g.created.step);
    add_generation_objects(g, refs);
  }
  if (leaked == 0) return;
  report(FindingKind::handle_leak,
         fmt::format("{} handle{} still open in handle table '{}' at the end of the execution "
                     "(leaked):{}",
                     leaked, leaked == 1 ? "" : "s", options_.name, list),
         first, "handle-leak" + signature, std::move(refs));
}

std::string HandleTable::format_value(std::uint64_t value) const {
  if (options_.style == ValueStyle::posix) return fmt::format("fd {}", value);
  return fmt::format("{:#X}", value).replace(0, 2, "0x");
}

std::uint64_t HandleTable::value_of(std::uint32_t slot) const {
  if (options_.style == ValueStyle::posix) return options_.first_fd + slot - 1;
  return std::uint64_t{slot} << 2;
}

std::uint32_t HandleTable::slot_of(std::uint64_t value) const {
  if (options_.style == ValueStyle::posix) {
    if (value < options_.first_fd) return 0;
    const std::uint64_t s = value - options_.first_fd + 1;
    return s < slots_.size() ? static_cast<std::uint32_t>(s) : 0;
  }
  const std::uint64_t s = value >> 2;  // the low two tag bits are ignored
  return s < slots_.size() ? static_cast<std::uint32_t>(s) : 0;
}

RawHandle HandleTable::value(std::uint64_t number) const {
  RawHandle h;
  h.value = number;
  return h;  // no slot: the table resolves it by number only
}

std::uint32_t HandleTable::allocate_slot() {
  auto grow = [this] {
    slots_.emplace_back();
    return static_cast<std::uint32_t>(slots_.size() - 1);
  };
  switch (options_.reuse) {
    case ReusePolicy::never:
      return grow();
    case ReusePolicy::lifo:
      if (first_free_.empty()) return grow();
      break;
    case ReusePolicy::lowest_free: {
      if (first_free_.empty()) return grow();
      auto lowest = std::min_element(first_free_.begin(), first_free_.end());
      const std::uint32_t s = *lowest;
      first_free_.erase(lowest);
      return s;
    }
    case ReusePolicy::nt_batched:
      if (first_free_.empty()) {
        // Move the whole LastFree chain over at once; LastFree is a stack (most recent free
        // on top), and the chain keeps that order: the most recent free is popped first.
        first_free_.assign(last_free_.begin(), last_free_.end());
        last_free_.clear();
      }
      if (first_free_.empty()) return grow();
      break;
    case ReusePolicy::strict_fifo:
      if (first_free_.empty()) {
        // Only when enough entries are free; the chain is reversed, so reuse is FIFO.
        if (last_free_.size() < options_.strict_fifo_min_free) return grow();
        first_free_.assign(last_free_.rbegin(), last_free_.rend());
        last_free_.clear();
      }
      break;
    case ReusePolicy::explore: {
      if (first_free_.empty()) return grow();
      std::vector<std::uint32_t> sorted = first_free_;
      std::sort(sorted.begin(), sorted.end());
      const std::uint32_t pick = hc::choose(static_cast<std::uint32_t>(sorted.size()),
                                            "handle table: which free value is reused");
      const std::uint32_t s = sorted[pick];
      first_free_.erase(std::find(first_free_.begin(), first_free_.end(), s));
      return s;
    }
  }
  const std::uint32_t s = first_free_.back();
  first_free_.pop_back();
  return s;
}

void HandleTable::free_slot(std::uint32_t slot) {
  if (options_.reuse == ReusePolicy::nt_batched || options_.reuse == ReusePolicy::strict_fifo) {
    last_free_.push_back(slot);
  } else if (options_.reuse != ReusePolicy::never) {
    first_free_.push_back(slot);
  }
}

RawHandle HandleTable::install(std::shared_ptr<KernelObject> object, std::string_view owner,
                               const std::source_location& where) {
  const std::uint32_t s = allocate_slot();
  Slot& slot = slots_[s];
  slot.open = true;
  ++object->handles;
  Slot::Generation g;
  g.object = object->label();
  g.object_id = object->object;
  g.owner = std::string(owner);
  g.created = here(where);
  slot.generations.push_back(std::move(g));
  slot.object = std::move(object);
  slot.waiters.clear();
  RawHandle h;
  h.value = value_of(s);
  h.slot = s;
  h.generation = slot.generation();
  h.owner = slot.current().owner;
  h.created = slot.current().created;
  return h;
}

RawHandle HandleTable::create(ObjectType type, std::string_view name, std::string_view owner,
                              const std::source_location& where) {
  // Mutexes start free, processes and threads running (unsignalled); files do not wait.
  const bool initially = type == ObjectType::mutex;
  return create_object(type, name,
                       /*manual_reset=*/type != ObjectType::mutex && type != ObjectType::semaphore,
                       initially, owner, where);
}

RawHandle HandleTable::create_event(std::string_view name, bool manual_reset, bool initially_set,
                                    std::string_view owner, const std::source_location& where) {
  return create_object(ObjectType::event, name, manual_reset, initially_set, owner, where);
}

RawHandle HandleTable::create_object(ObjectType type, std::string_view name, bool manual_reset,
                                     bool initially_set, std::string_view owner,
                                     const std::source_location& where) {
  if (rt::model_op(Access::write, table_object_, "create", where) == nullptr) return {};
  if (options_.fault_create && hc::fault("create fails (out of memory / EMFILE)", where)) {
    last_error_ = options_.style == ValueStyle::posix ? kEMFILE : kErrorNotEnoughMemory;
    return RawHandle{};
  }
  auto object = std::make_shared<KernelObject>();
  object->type = type;
  object->name = std::string(name);
  object->object = rt::register_object(ObjectKind::model, object->label());
  if (waitable(type)) {
    object->manual_reset = manual_reset;
    object->count = initially_set ? 1 : 0;
    object->event = rt::register_event(object->label(), manual_reset, initially_set);
  }
  object->created = here(where);
  objects_.push_back(object);
  last_error_ = kErrorSuccess;
  return install(std::move(object), owner, where);
}

RawHandle HandleTable::open(std::string_view name, std::string_view owner,
                            const std::source_location& where) {
  if (rt::model_op(Access::write, table_object_, "open", where) == nullptr) return {};
  for (const auto& object : objects_) {
    if (object->name == name && object->handles > 0) return install(object, owner, where);
  }
  last_error_ = options_.style == ValueStyle::posix ? 2 : 2;  // ENOENT / ERROR_FILE_NOT_FOUND
  return RawHandle{};
}

RawHandle HandleTable::duplicate(const RawHandle& source, HandleTable& target,
                                 std::string_view owner, const std::source_location& where) {
  if (rt::model_op(Access::write, target.table_object_, "DuplicateHandle", where) == nullptr)
    return {};
  Status failure;
  Slot* slot = resolve(source, "DuplicateHandle", false, where, &failure);
  if (slot == nullptr) {
    last_error_ = failure.error;
    return RawHandle{};
  }
  return target.install(slot->object, owner, where);
}

Status HandleTable::close(const RawHandle& handle, std::string_view closer,
                          const std::source_location& where) {
  const char* api = options_.style == ValueStyle::posix ? "close" : "CloseHandle";
  if (rt::model_op(Access::write, table_object_, api, where) == nullptr) return {};
  Status failure;
  Slot* slot = resolve(handle, api, true, where, &failure, closer);
  if (slot == nullptr) return failure;
  Slot::Generation& g = slot->current();
  if (!closer.empty() && !g.owner.empty() && closer != g.owner) {
    const Provenance now = here(where);
    report(FindingKind::close_by_non_owner,
           fmt::format("'{}' closed handle {} ({}, generation {}) at {}, on {}; the handle is "
                       "owned by '{}' (created by {}), which will close it again",
                       closer, format_value(handle.value), g.object, slot->generation(),
                       site(where), describe(now), g.owner, describe(g.created)),
           where, fmt::format("{}|{}|{}", g.object, closer, site(where)),
           {.steps = {now.step, g.created.step},
            .objects = {closer, g.object_id, g.owner, table_object_}});
  }
  if (!slot->waiters.empty()) {
    std::string waiting;
    for (ThreadId t : slot->waiters)
      waiting += fmt::format("{}'{}'", waiting.empty() ? "" : ", ", rt::thread_name(t));
    const Provenance now = here(where);
    // The wait blocks on the object's engine event: the waiters' steps are on it.
    FindingRefs refs{.steps = {now.step}, .objects = {closer}};
    add_generation_objects(g, refs);
    refs.objects.emplace_back(slot->object->event);
    refs.objects.emplace_back(table_object_);
    report(FindingKind::close_while_waiting,
           fmt::format("{} closed handle {} ({}, generation {}) while thread {} waits on it: "
                       "the wait's outcome is undefined (WAIT_FAILED, an invalid-handle "
                       "exception, or a wait on whatever object recycles the value)",
                       describe(now), format_value(handle.value), g.object, slot->generation(),
                       waiting),
           where, fmt::format("{}|{}", g.object, site(where)), std::move(refs));
  }
  const bool transient = options_.fault_close && hc::fault("close fails transiently", where);
  if (transient && options_.style == ValueStyle::win32) {
    last_error_ = kErrorInvalidFunction;
    return Status{false, kErrorInvalidFunction};  // the handle stays open
  }
  g.closed = here(where);
  g.closer = std::string(closer);
  slot->open = false;
  KernelObject& object = *slot->object;
  --object.handles;
  slot->object.reset();
  free_slot(handle.slot);
  if (transient) {
    last_error_ = kEINTR;  // Linux freed the number first: never retry close()
    return Status{false, kEINTR};
  }
  last_error_ = kErrorSuccess;
  return Status{};
}

HandleTable::Slot* HandleTable::resolve(const RawHandle& h, const char* api, bool closing,
                                        const std::source_location& where, Status* failure,
                                        std::string_view closer) {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value);
  if (s == 0 || s >= slots_.size() || slots_[s].generations.empty()) {
    *failure = fail(api, h, where, closing);
    return nullptr;
  }
  Slot& slot = slots_[s];
  if (h.slot == 0) {
    // A bare number: it names whatever the slot holds now (that is what the kernel does).
    if (slot.open) return &slot;
    *failure = fail(api, h, where, closing);
    return nullptr;
  }
  if (slot.open && slot.generation() == h.generation) return &slot;
  const Slot::Generation& mine = slot.generations[h.generation - 1];
  const std::string closed =
      mine.closed ? fmt::format("closed by {}", describe(*mine.closed)) : std::string("closed");
  const Provenance at = here(where);
  // What the findings below refer to: this call's step, the value's close (then the recycled
  // generation's creation); who closes it now, its generation's owner, closer and object (then
  // the recycled generation's object and owner), this table. Built only for a finding.
  auto refs_of_value = [&] {
    FindingRefs refs{.steps = {at.step}, .objects = {closer}};
    if (mine.closed) refs.steps.push_back(mine.closed->step);
    add_generation_objects(mine, refs);
    return refs;
  };
  if (slot.open) {
    // The value was recycled: it now names another object. Silent in production.
    const Slot::Generation& now = slot.current();
    const std::string message = fmt::format(
        "{} {} handle {} ({}, generation {}, {}) but {} now names {} (generation {}, created "
        "by {})",
        describe(at), closing ? "closed" : fmt::format("used (via {})", api), format_value(h.value),
        mine.object, h.generation, closed, format_value(h.value), now.object, slot.generation(),
        describe(now.created));
    FindingRefs refs = refs_of_value();
    refs.steps.push_back(now.created.step);
    refs.objects.emplace_back(now.object_id);  // the victim: what the value names now,
    if (!now.owner.empty()) refs.objects.emplace_back(now.owner);  // and who owns that
    refs.objects.emplace_back(table_object_);
    report(closing ? FindingKind::double_close : FindingKind::stale_handle_use,
           closing ? "double close: " + message : "stale handle use: " + message, where,
           fmt::format("{}|{}|{}", mine.object, now.object, site(where)), std::move(refs));
  }
  // The value names nothing now.
  if (options_.invalid_use == InvalidUse::raise) {
    FindingRefs refs = refs_of_value();
    refs.objects.emplace_back(table_object_);
    report(closing ? FindingKind::double_close : FindingKind::invalid_handle_use,
           fmt::format("{}{} {} handle {} ({}, generation {}), which was {} and names nothing "
                       "now: {}",
                       closing ? "double close: " : "invalid handle use: ", describe(at),
                       closing ? "closed" : fmt::format("used (via {})", api),
                       format_value(h.value), mine.object, h.generation, closed,
                       options_.style == ValueStyle::posix
                           ? "EBADF"
                           : "STATUS_INVALID_HANDLE (0xC0000008) under a debugger"),
           where, fmt::format("{}|{}", mine.object, site(where)), std::move(refs));
  }
  const std::uint32_t code = options_.style == ValueStyle::posix ? kEBADF : kErrorInvalidHandle;
  last_error_ = code;
  *failure = Status{false, code};
  return nullptr;
}

Status HandleTable::fail(const char* api, const RawHandle& h, const std::source_location& where,
                         bool closing) {
  if (options_.invalid_use == InvalidUse::raise) {
    const Provenance at = here(where);
    report(FindingKind::invalid_handle_use,
           fmt::format("invalid handle use: {} passed {} to {}, a value that was never a handle "
                       "of table '{}'",
                       describe(at), format_value(h.value), api, options_.name),
           where, fmt::format("{}|{}", api, site(where)),
           {.steps = {at.step}, .objects = {table_object_}});
  }
  (void)closing;
  const std::uint32_t code = options_.style == ValueStyle::posix ? kEBADF : kErrorInvalidHandle;
  last_error_ = code;
  return Status{false, code};
}

Status HandleTable::typed(const RawHandle& h, const char* api, Access access, std::uint32_t allowed,
                          const std::source_location& where, Slot** out) {
  // Announce on the object the value names now; a stale or invalid value still has its one
  // scheduling point, on the table.
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value);
  const bool names_object = s != 0 && s < slots_.size() && slots_[s].open;
  const ObjectId announced = names_object ? slots_[s].object->object : table_object_;
  if (rt::model_op(names_object ? access : Access::read, announced, api, where) == nullptr)
    return {};
  Status failure;
  Slot* slot = resolve(h, api, false, where, &failure);
  if (slot == nullptr) return failure;
  const KernelObject& object = *slot->object;
  if ((allowed & bit_of(object.type)) == 0) {
    const Provenance at = here(where);
    FindingRefs refs{.steps = {at.step}, .objects = {}};
    add_generation_objects(slot->current(), refs);
    refs.objects.emplace_back(table_object_);
    report(FindingKind::wrong_type_use,
           fmt::format("wrong-type use: {} called {} on handle {} ({}, generation {}): a {} "
                       "does not support {} (Windows fails it with ERROR_INVALID_HANDLE)",
                       describe(at), api, format_value(h.value), object.label(), slot->generation(),
                       object_type_name(object.type), api),
           where, fmt::format("{}|{}|{}", api, object_type_name(object.type), site(where)),
           std::move(refs));
  }
  *out = slot;
  last_error_ = kErrorSuccess;
  return Status{};
}

Status HandleTable::read(const RawHandle& h, const std::source_location& where) {
  Slot* slot = nullptr;
  return typed(h, options_.style == ValueStyle::posix ? "read" : "ReadFile", Access::read,
               kReadable, where, &slot);
}

Status HandleTable::write(const RawHandle& h, const std::source_location& where) {
  Slot* slot = nullptr;
  return typed(h, options_.style == ValueStyle::posix ? "write" : "WriteFile", Access::write,
               kReadable, where, &slot);
}

Status HandleTable::use(const RawHandle& h, const char* api, const std::source_location& where) {
  Slot* slot = nullptr;
  return typed(h, api, Access::read, kAnyType, where, &slot);
}

Status HandleTable::signal(const RawHandle& h, const std::source_location& where) {
  Slot* slot = nullptr;
  Status st = typed(h, "SetEvent", Access::write, kSignalable, where, &slot);
  if (slot == nullptr) return st;
  KernelObject& object = *slot->object;
  ++object.count;
  if (object.type == ObjectType::event || object.type == ObjectType::mutex) object.count = 1;
  rt::event_signal(object.event);
  return st;
}

Status HandleTable::reset(const RawHandle& h, const std::source_location& where) {
  Slot* slot = nullptr;
  Status st = typed(h, "ResetEvent", Access::write, kResettable, where, &slot);
  if (slot == nullptr) return st;
  slot->object->count = 0;
  rt::event_clear(slot->object->event);
  return st;
}

Status HandleTable::wait(const RawHandle& h, const std::source_location& where) {
  // First the checks, announced on the object: the value must name a waitable object.
  Slot* slot = nullptr;
  Status st = typed(h, "WaitForSingleObject", Access::read, kWaitable, where, &slot);
  if (slot == nullptr) return st;
  std::shared_ptr<KernelObject> object = slot->object;  // the wait holds the object
  const ThreadId me = rt::current_thread();
  slot->waiters.push_back(me);
  // Then the blocking part: enabled once the object is signalled.
  if (rt::model_op(Access::sync, object->event, "WaitForSingleObject (blocked)", where,
                   WaitFor::event_set) == nullptr)
    return {};
  auto& waiters = slots_[h.slot != 0 ? h.slot : slot_of(h.value)].waiters;
  waiters.erase(std::find(waiters.begin(), waiters.end(), me));
  if (object->count > 0 && !object->manual_reset) --object->count;
  if (object->count > 0) rt::event_signal(object->event);  // a semaphore with units left
  return st;
}

std::size_t HandleTable::open_count() const {
  return static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.open; }));
}

bool HandleTable::is_open(const RawHandle& h) const {
  return h.slot != 0 && h.slot < slots_.size() && slots_[h.slot].open &&
         slots_[h.slot].generation() == h.generation;
}

std::string HandleTable::describe_object(const RawHandle& h) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value);
  if (s == 0 || s >= slots_.size() || !slots_[s].open) return {};
  return slots_[s].object->label();
}

std::string HandleTable::history(const RawHandle& h) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value);
  if (s == 0 || s >= slots_.size())
    return fmt::format("{} was never a handle", format_value(h.value));
  std::string out;
  const Slot& slot = slots_[s];
  for (std::size_t i = 0; i < slot.generations.size(); ++i) {
    const Slot::Generation& g = slot.generations[i];
    out += fmt::format("{}generation {}: {} created by {}{}{}", out.empty() ? "" : "; ", i + 1,
                       g.object, describe(g.created),
                       g.owner.empty() ? std::string() : fmt::format(" for '{}'", g.owner),
                       g.closed ? fmt::format(", closed by {}", describe(*g.closed))
                                : std::string(", still open"));
  }
  return fmt::format("{}: {}", format_value(h.value), out);
}

void HandleTable::add_history_refs(const RawHandle& h, FindingRefs& refs) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value);
  if (s != 0 && s < slots_.size()) {
    for (const Slot::Generation& g : slots_[s].generations) {
      refs.steps.push_back(g.created.step);
      if (g.closed) refs.steps.push_back(g.closed->step);
      add_generation_objects(g, refs);
    }
  }
  refs.objects.emplace_back(table_object_);
}

}  // namespace hc::models

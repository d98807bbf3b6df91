#include "hc/models/handle_table.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "hc/check.hpp"
#include "hc/runtime.hpp"
#include "linux_close.hpp"

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
  /// K's value: what operations on the object change.
  struct State {
    std::uint32_t count = 0;    // signal state: event 0/1, mutex 1 when free, semaphore count
    std::uint32_t handles = 0;  // open handles (in any table) naming it
  };
  KernelObject(ObjectType t, std::string_view n, bool manual, std::uint32_t count)
      : type(t),
        name(n),
        manual_reset(manual),
        state(fmt::format("{} '{}'", object_type_name(t), n), State{count, 1}) {}

  // Fixed at creation.
  const ObjectType type;
  const std::string name;
  const bool manual_reset;
  ModelCell<State> state;      // K; its id is the engine object typed uses are announced on
  ObjectId event = kNoObject;  // waitable objects: E, the engine event a wait blocks on
  Provenance created;          // finding bookkeeping
  // Parent/child (create_child): the object this one was opened through, fixed at creation.
  // The child is usable only while the parent has an open handle (K(parent).handles > 0).
  std::shared_ptr<KernelObject> parent;
  std::uint64_t parent_value = 0;  // finding bookkeeping: the parent's value it was opened by
  // Finding bookkeeping: who closed this object's last handle (the object's release).
  std::optional<Provenance> released;
  std::uint64_t released_value = 0;

  ObjectId object() const { return state.id(); }
  std::string label() const { return fmt::format("{} '{}'", object_type_name(type), name); }
};

/// One opening of a slot: finding bookkeeping, except `kernel`, which a RawHandle of this
/// generation acts on and which never changes.
struct HandleTable::Generation {
  std::string object;              // "File 'log'"
  ObjectId object_id = kNoObject;  // the kernel object's engine object
  std::shared_ptr<KernelObject> kernel;
  std::string owner;
  std::string closer;  // who closed it (close()'s `closer`), once closed
  Provenance created;
  std::optional<Provenance> closed;
  std::shared_ptr<ForkNote> note;  // POSIX: set once fork() copied this descriptor
};

void HandleTable::Touches::add(ObjectId object, Access access) {
  if (object == kNoObject) return;
  if (size == entries.size()) throw std::logic_error("a handle-table footprint overflows");
  entries[size++] = Touch{object, access};
}

namespace {

/// The objects of one generation of a slot, for a finding about it: the code that owns it and
/// the code that closed it (by label: a SafeHandle's, a wrapper's; labels that name no object,
/// such as a thread's name, are dropped by the engine), then its kernel object.
void add_generation_objects(const HandleTable::Generation& g, FindingRefs& refs) {
  if (!g.owner.empty()) refs.objects.emplace_back(g.owner);
  if (!g.closer.empty()) refs.objects.emplace_back(g.closer);
  refs.objects.emplace_back(g.object_id);
}

}  // namespace

HandleTable::HandleTable(HandleTableOptions options, const std::source_location& where)
    : options_(effective_options(options)),
      // Slot 0: never valid (Win32 value 0; POSIX: "no descriptor"); stdio: slots 1-3 (0-2).
      table_(fmt::format("handle table '{}'", options.name), initial_table(options_)),
      free_(fmt::format("handle table '{}' free list", options.name)),
      slot_cells_(1),
      history_(1) {
  open_stdio(where);
  rt::note_parameter("handle values", options.style == ValueStyle::posix ? "posix" : "win32");
  rt::note_parameter("handle reuse", reuse_policy_name(options.reuse));
}

HandleTable::~HandleTable() {
  // Not while an ended execution is unwound: its handles are open because it ended early.
  if (!options_.report_leaks || !rt::in_execution() || rt::tearing_down()) return;
  std::string list;
  std::size_t leaked = 0;
  std::string signature;
  std::source_location first{};
  FindingRefs refs{.steps = {}, .objects = {id()}};  // the table, then each handle's
  for (std::uint32_t s = 1; s < history_.size(); ++s) {
    if (!open_now(s)) continue;
    if (options_.stdio && options_.style == ValueStyle::posix && value_of(s) <= 2) continue;
    ++leaked;
    const Generation& g = history_[s].back();
    list += fmt::format("\n  {} {} (generation {}) created by {}{}", format_value(value_of(s)),
                        g.object, history_[s].size(), describe(g.created),
                        g.owner.empty() ? std::string() : fmt::format(", owner '{}'", g.owner));
    signature += fmt::format("|{}@{}", g.object, site(g.created.where));
    if (leaked == 1) first = g.created.where;
    refs.steps.push_back(g.created.step);
    add_generation_objects(g, refs);
  }
  if (leaked == 0) return;
  // rt::report, not models::report: when the teardown resumes this thread here (a destructor,
  // where it may not unwind), the report returns and the destructor ends normally.
  rt::report(FindingKind::handle_leak,
             fmt::format("{} handle{} still open in handle table '{}' at the end of the execution "
                         "(leaked):{}",
                         leaked, leaked == 1 ? "" : "s", options_.name, list),
             first, "handle-leak" + signature, std::move(refs));
}

std::uint32_t last_error() {
  return rt::model_last_error();
}

void set_last_error(std::uint32_t code) {
  rt::model_last_error() = code;
}

void HandleTable::set_error(std::uint32_t code) {
  set_last_error(code);
}

std::string HandleTable::format_value(std::uint64_t value) const {
  if (options_.style == ValueStyle::posix) return fmt::format("fd {}", value);
  return fmt::format("{:#X}", value).replace(0, 2, "0x");
}

std::uint64_t HandleTable::value_of(std::uint32_t slot) const {
  if (options_.style == ValueStyle::posix) return options_.first_fd + slot - 1;
  return std::uint64_t{slot} << 2;
}

std::uint32_t HandleTable::slot_of(std::uint64_t value, std::size_t slots) const {
  if (options_.style == ValueStyle::posix) {
    if (value < options_.first_fd) return 0;
    const std::uint64_t s = value - options_.first_fd + 1;
    return s < slots ? static_cast<std::uint32_t>(s) : 0;
  }
  const std::uint64_t s = value >> 2;  // the low two tag bits are ignored
  return s < slots ? static_cast<std::uint32_t>(s) : 0;
}

bool HandleTable::open_now(std::uint32_t slot) const {
  const TableState& t = table_.peek();
  return slot != 0 && slot < t.slots.size() &&
         t.slots[slot].generation > slot_cells_[slot]->peek().closed;
}

RawHandle HandleTable::value(std::uint64_t number) const {
  RawHandle h;
  h.value = number;
  return h;  // no slot: the table resolves it by number only
}

std::uint32_t HandleTable::allocate_slot() {
  // Runs in a step that writes T and F.
  auto grow = [this] {
    TableState& t = table_.write();
    t.slots.emplace_back();
    const auto s = static_cast<std::uint32_t>(t.slots.size() - 1);
    slot_cells_.push_back(std::make_unique<ModelCell<SlotState>>(
        fmt::format("handle table '{}' slot {}", options_.name, format_value(value_of(s)))));
    history_.emplace_back();
    return s;
  };
  if (options_.reuse == ReusePolicy::never) return grow();
  FreeLists& f = free_.write();
  switch (options_.reuse) {
    case ReusePolicy::never:
    case ReusePolicy::lifo:
      if (f.first.empty()) return grow();
      break;
    case ReusePolicy::lowest_free: {
      if (f.first.empty()) return grow();
      auto lowest = std::min_element(f.first.begin(), f.first.end());
      const std::uint32_t s = *lowest;
      f.first.erase(lowest);
      return s;
    }
    case ReusePolicy::nt_batched:
      if (f.first.empty()) {
        // Move the whole LastFree chain over at once; LastFree is a stack (most recent free
        // on top), and the chain keeps that order: the most recent free is popped first.
        f.first.assign(f.last.begin(), f.last.end());
        f.last.clear();
      }
      if (f.first.empty()) return grow();
      break;
    case ReusePolicy::strict_fifo:
      if (f.first.empty()) {
        // Only when enough entries are free; the chain is reversed, so reuse is FIFO.
        if (f.last.size() < options_.strict_fifo_min_free) return grow();
        f.first.assign(f.last.rbegin(), f.last.rend());
        f.last.clear();
      }
      break;
    case ReusePolicy::explore: {
      // An explored choice among the free values (in increasing order) and a new value (the
      // table grows, as NT does when its free lists are empty or StrictFIFO holds back fewer
      // than its minimum): every allocation policy's answer is one of these.
      if (f.first.empty()) return grow();
      std::vector<std::uint32_t> sorted = f.first;
      std::sort(sorted.begin(), sorted.end());
      const auto free_values = static_cast<std::uint32_t>(sorted.size());
      const std::uint32_t pick =
          hc::choose(free_values + 1, "handle table: which free value is reused, or a new one");
      if (pick == free_values) return grow();
      const std::uint32_t s = sorted[pick];
      f.first.erase(std::find(f.first.begin(), f.first.end(), s));
      return s;
    }
  }
  const std::uint32_t s = f.first.back();
  f.first.pop_back();
  return s;
}

void HandleTable::free_slot(std::uint32_t slot) {
  if (options_.reuse == ReusePolicy::nt_batched || options_.reuse == ReusePolicy::strict_fifo) {
    free_.write().last.push_back(slot);
  } else if (options_.reuse != ReusePolicy::never) {
    free_.write().first.push_back(slot);
  }
}

RawHandle HandleTable::install(std::shared_ptr<KernelObject> object, bool counted,
                               std::string_view owner, const std::source_location& where) {
  // Runs in a step that writes T and F (and K, unless the object is new and `counted`).
  const std::uint32_t s = allocate_slot();
  if (!counted) ++object->state.write().handles;
  Generation g;
  g.object = object->label();
  g.object_id = object->object();
  g.kernel = object;
  g.owner = std::string(owner);
  g.created = here(where);
  SlotEntry& entry = table_.write().slots[s];
  ++entry.generation;
  entry.object = std::move(object);
  entry.cloexec = false;
  history_[s].push_back(std::move(g));
  RawHandle h;
  h.value = value_of(s);
  h.slot = s;
  h.generation = entry.generation;
  h.owner = history_[s].back().owner;
  h.created = history_[s].back().created;
  h.table = id();
  h.table_name = options_.name;
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
  const Touch footprint[] = {free_.writes()};
  if (rt::model_op(Access::write, id(), footprint, "create", where) == nullptr) return {};
  return make_object(type, name, manual_reset, initially_set, owner, where, nullptr, 0);
}

RawHandle HandleTable::create_child(const RawHandle& parent, ObjectType type, std::string_view name,
                                    std::string_view owner, const std::source_location& where) {
  // Like create, plus a use of the parent: its slot and kernel object (its open-handle count,
  // and its own parent's when it is a child itself: the check of typed uses).
  Touches footprint;
  footprint.add(free_.id(), Access::read_write);
  if (own(parent)) {
    footprint.add(slot_cells_[parent.slot]->id(), Access::read);
    KernelObject* p = object_of(parent);
    footprint.add(p->object(), Access::read);
    if (p->parent) footprint.add(p->parent->object(), Access::read);
  } else if (raw_slot(parent.value) != 0) {
    footprint.add(kAllModelObjects, Access::read_write);
  }
  const char* api = "create (through a parent handle)";
  if (rt::model_op(Access::write, id(), footprint.view(), api, where) == nullptr) return {};
  Status failure;
  const std::uint32_t s = resolve(parent, api, false, where, &failure);
  if (s == 0) {
    set_error(failure.error);
    return RawHandle{};
  }
  std::shared_ptr<KernelObject> p = table_.read().slots[s].object;
  check_parent(*p, parent, api, false, where);
  return make_object(type, name, true, false, owner, where, std::move(p), parent.value);
}

void HandleTable::check_parent(KernelObject& child, const RawHandle& h, const char* api,
                               bool closing, const std::source_location& where) {
  if (!child.parent) return;
  KernelObject& parent = *child.parent;
  if (parent.state.read().handles > 0) return;  // K(parent), declared by the caller
  const Provenance at = here(where);
  // A child's parent is in this table (create_child resolves it here).
  auto in_table = [&](std::uint64_t value) {
    return fmt::format("{} (table '{}')", format_value(value), options_.name);
  };
  const std::string released =
      parent.released ? fmt::format("its last handle {} was closed by {}",
                                    in_table(parent.released_value), describe(*parent.released))
                      : std::string("it has no open handle");
  // The steps in the message's order: this call, the child's creation, the parent's release.
  FindingRefs refs{.steps = {at.step, child.created.step}, .objects = {}};
  if (parent.released) refs.steps.push_back(parent.released->step);
  if (!h.owner.empty()) refs.objects.emplace_back(h.owner);
  refs.objects.emplace_back(child.object());
  refs.objects.emplace_back(parent.object());
  refs.objects.emplace_back(id());
  report(FindingKind::child_used_after_parent_release,
         fmt::format("child used after its parent's release: {} {} handle {} ({}), a child of "
                     "parent {} opened through {} by {}, after the parent was released: {}. A "
                     "child handle is valid only while its parent is open (WinHTTP "
                     "session -> connect -> request): the child must keep its parent alive "
                     "(AddRef the parent's SafeHandle, SetParentHandle) and release it after "
                     "closing itself",
                     describe(at), closing ? "closed" : fmt::format("used (via {})", api),
                     format_value(h.value), child.label(), parent.label(),
                     in_table(child.parent_value), describe(child.created), released),
         where, fmt::format("child|{}|{}|{}", child.label(), parent.label(), site(where)),
         std::move(refs));
}

RawHandle HandleTable::make_object(ObjectType type, std::string_view name, bool manual_reset,
                                   bool initially_set, std::string_view owner,
                                   const std::source_location& where,
                                   std::shared_ptr<KernelObject> parent,
                                   std::uint64_t parent_value) {
  if (options_.fault_create && hc::fault("create fails (out of memory / EMFILE)", where)) {
    set_error(options_.style == ValueStyle::posix ? kEMFILE : kErrorNotEnoughMemory);
    return RawHandle{};
  }
  const bool waits = waitable(type);
  // Born with its one handle: nobody else can see K yet.
  auto object = std::make_shared<KernelObject>(type, name, waits ? manual_reset : true,
                                               waits && initially_set ? 1 : 0);
  if (waits) object->event = rt::register_event(object->label(), manual_reset, initially_set);
  object->created = here(where);
  object->parent = std::move(parent);
  object->parent_value = parent_value;
  table_.write().objects.push_back(object);
  set_error(kErrorSuccess);
  return install(std::move(object), /*counted=*/true, owner, where);
}

RawHandle HandleTable::open(std::string_view name, std::string_view owner,
                            const std::source_location& where) {
  // Any kernel object created here may be the live one of that name.
  const Touch footprint[] = {{kAllModelObjects, Access::read_write}};
  if (rt::model_op(Access::write, id(), footprint, "open", where) == nullptr) return {};
  for (const auto& object : table_.read().objects) {
    if (object->name == name && object->state.read().handles > 0) {
      std::shared_ptr<KernelObject> found = object;
      return install(std::move(found), /*counted=*/false, owner, where);
    }
  }
  set_error(2);  // ENOENT / ERROR_FILE_NOT_FOUND
  return RawHandle{};
}

std::uint32_t HandleTable::raw_slot(std::uint64_t value) const {
  if (options_.style == ValueStyle::posix) {
    return value < options_.first_fd ? 0
                                     : static_cast<std::uint32_t>(value - options_.first_fd + 1);
  }
  return static_cast<std::uint32_t>(value >> 2);
}

HandleTable::KernelObject* HandleTable::object_of(const RawHandle& h) const {
  // Fixed once the generation exists, which it does for every RawHandle the table handed out.
  return history_[h.slot][h.generation - 1].kernel.get();
}

RawHandle HandleTable::duplicate(const RawHandle& source, HandleTable& target,
                                 std::string_view owner, const std::source_location& where) {
  Touches footprint;
  footprint.add(id(), Access::read);  // merged with target's write when it is this table
  if (own(source)) {
    footprint.add(slot_cells_[source.slot]->id(), Access::read);
    footprint.add(object_of(source)->object(), Access::read_write);
    footprint.add(target.free_.id(), Access::read_write);
  } else if (raw_slot(source.value) != 0) {
    footprint.add(kAllModelObjects, Access::read_write);  // whatever the number names then
  }
  if (rt::model_op(Access::write, target.id(), footprint.view(), "DuplicateHandle", where) ==
      nullptr)
    return {};
  Status failure;
  const std::uint32_t s = resolve(source, "DuplicateHandle", false, where, &failure);
  if (s == 0) {
    set_error(failure.error);
    return RawHandle{};
  }
  std::shared_ptr<KernelObject> object = table_.read().slots[s].object;
  return target.install(std::move(object), /*counted=*/false, owner, where);
}

Status HandleTable::close(const RawHandle& handle, std::string_view closer,
                          const std::source_location& where) {
  const char* api = options_.style == ValueStyle::posix ? "close" : "CloseHandle";
  Touches footprint;
  if (own(handle)) {
    footprint.add(slot_cells_[handle.slot]->id(), Access::read_write);
    footprint.add(free_.id(), Access::read_write);
    footprint.add(object_of(handle)->object(), Access::read_write);
    if (object_of(handle)->parent) footprint.add(object_of(handle)->parent->object(), Access::read);
  } else if (raw_slot(handle.value) != 0) {
    footprint.add(kAllModelObjects, Access::read_write);  // whatever the number names then
  }
  if (rt::model_op(Access::read, id(), footprint.view(), api, where) == nullptr) return {};
  Status failure;
  const std::uint32_t s = resolve(handle, api, true, where, &failure, closer);
  if (s == 0) return failure;
  check_parent(*table_.read().slots[s].object, handle, api, true, where);
  Generation& g = history_[s].back();
  const auto generation = static_cast<std::uint32_t>(history_[s].size());
  if (!closer.empty() && !g.owner.empty() && closer != g.owner) {
    const Provenance now = here(where);
    report(FindingKind::close_by_non_owner,
           fmt::format("'{}' closed handle {} ({}, generation {}) at {}, on {}; the handle is "
                       "owned by '{}' (created by {}), which will close it again",
                       closer, format_value(handle.value), g.object, generation, site(where),
                       describe(now), g.owner, describe(g.created)),
           where, fmt::format("{}|{}|{}", g.object, closer, site(where)),
           {.steps = {now.step, g.created.step}, .objects = {closer, g.object_id, g.owner, id()}});
  }
  KernelObject& object = *table_.read().slots[s].object;
  const std::vector<ThreadId>& waiters = slot_cells_[s]->read().waiters;
  // --- i18-io: POSIX close semantics (begin) ---
  // Linux: close(2) does not wake a thread blocked on the descriptor (close(2), NOTES); the
  // blocked call keeps the object and waits on. Not a finding by itself: if nothing else wakes
  // the thread, the deadlock finding's line for it says why (rt::set_wait_note).
  if (!waiters.empty() && options_.style == ValueStyle::posix) {
    const Provenance now = here(where);
    for (ThreadId t : waiters) {
      rt::set_wait_note(t,
                        detail::close_does_not_wake(
                            "read", format_value(handle.value), g.object, now, where,
                            "wake it first (shutdown(2) on a socket, a write or a last close of "
                            "a pipe's write end), then close"),
                        now.step);
    }
  }
  // --- i18-io: POSIX close semantics (end); Windows: a finding (the wait's outcome is undefined)
  if (!waiters.empty() && options_.style == ValueStyle::win32) {
    std::string waiting;
    for (ThreadId t : waiters)
      waiting += fmt::format("{}'{}'", waiting.empty() ? "" : ", ", rt::thread_name(t));
    const Provenance now = here(where);
    // The wait blocks on the object's engine event: the waiters' steps are on it.
    FindingRefs refs{.steps = {now.step}, .objects = {closer}};
    add_generation_objects(g, refs);
    refs.objects.emplace_back(object.event);
    refs.objects.emplace_back(id());
    report(FindingKind::close_while_waiting,
           fmt::format("{} closed handle {} ({}, generation {}) while thread {} waits on it: "
                       "the wait's outcome is undefined (WAIT_FAILED, an invalid-handle "
                       "exception, or a wait on whatever object recycles the value)",
                       describe(now), format_value(handle.value), g.object, generation, waiting),
           where, fmt::format("{}|{}", g.object, site(where)), std::move(refs));
  }
  const bool transient = options_.fault_close && hc::fault("close fails transiently", where);
  if (transient && options_.style == ValueStyle::win32) {
    set_error(kErrorInvalidFunction);
    return Status{false, kErrorInvalidFunction};  // the handle stays open
  }
  g.closed = here(where);
  g.closer = std::string(closer);
  slot_cells_[s]->write().closed = generation;
  if (--object.state.write().handles == 0) {
    object.released = g.closed;
    object.released_value = value_of(s);
  }
  free_slot(s);
  if (transient) {
    set_error(kEINTR);  // Linux freed the number first: never retry close()
    return Status{false, kEINTR};
  }
  set_error(kErrorSuccess);
  return Status{};
}

std::uint32_t HandleTable::resolve(const RawHandle& h, const char* api, bool closing,
                                   const std::source_location& where, Status* failure,
                                   std::string_view closer) {
  const TableState& t = table_.read();
  const bool provenance = own(h);
  const std::uint32_t s = provenance ? h.slot : slot_of(h.value, t.slots.size());
  if (!provenance && h.slot != 0 && h.table != id()) {
    // Another table's value (see the header, "Table identity"): what the number names here.
    const bool names = s != 0 && s < t.slots.size() && t.slots[s].generation != 0 &&
                       t.slots[s].generation > slot_cells_[s]->read().closed;
    return foreign(h, api, closing, where, names ? s : 0, failure);
  }
  if (s == 0 || s >= t.slots.size() || t.slots[s].generation == 0) {
    *failure = fail(api, h, where, closing);
    return 0;
  }
  const std::uint32_t generation = t.slots[s].generation;
  const bool open = generation > slot_cells_[s]->read().closed;
  if (!provenance) {
    // A bare number: it names whatever the slot holds now (that is what the kernel does).
    if (open) return s;
    *failure = fail(api, h, where, closing);
    return 0;
  }
  if (open && generation == h.generation) return s;
  const Generation& mine = history_[s][h.generation - 1];
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
  if (open) {
    // The value was recycled: it now names another object. Silent in production.
    const Generation& now = history_[s].back();
    const std::string message = fmt::format(
        "{} {} handle {} ({}, generation {}, {}) but {} now names {} (generation {}, created "
        "by {})",
        describe(at), closing ? "closed" : fmt::format("used (via {})", api), format_value(h.value),
        mine.object, h.generation, closed, format_value(h.value), now.object, generation,
        describe(now.created));
    FindingRefs refs = refs_of_value();
    refs.steps.push_back(now.created.step);
    refs.objects.emplace_back(now.object_id);  // the victim: what the value names now,
    if (!now.owner.empty()) refs.objects.emplace_back(now.owner);  // and who owns that
    refs.objects.emplace_back(id());
    report(closing ? FindingKind::double_close : FindingKind::stale_handle_use,
           closing ? "double close: " + message : "stale handle use: " + message, where,
           fmt::format("{}|{}|{}", mine.object, now.object, site(where)), std::move(refs));
  }
  // The value names nothing now.
  if (options_.invalid_use == InvalidUse::raise) {
    FindingRefs refs = refs_of_value();
    refs.objects.emplace_back(id());
    report(
        closing ? FindingKind::double_close : FindingKind::invalid_handle_use,
        // Worded as the recycled case above up to "but": a scenario's message words can
        // name the value and its close whichever of the two an interleaving gives.
        fmt::format("{}{} {} handle {} ({}, generation {}, {}) and {} names nothing now: {}",
                    closing ? "double close: " : "invalid handle use: ", describe(at),
                    closing ? "closed" : fmt::format("used (via {})", api), format_value(h.value),
                    mine.object, h.generation, closed, format_value(h.value),
                    options_.style == ValueStyle::posix
                        ? "EBADF"
                        : "STATUS_INVALID_HANDLE (0xC0000008) under a debugger"),
        where, fmt::format("{}|{}", mine.object, site(where)), std::move(refs));
  }
  const std::uint32_t code = options_.style == ValueStyle::posix ? kEBADF : kErrorInvalidHandle;
  set_error(code);
  *failure = Status{false, code};
  return 0;
}

std::uint32_t HandleTable::foreign(const RawHandle& h, const char* api, bool closing,
                                   const std::source_location& where, std::uint32_t open_slot,
                                   Status* failure) {
  const Provenance at = here(where);
  const std::string what = fmt::format(
      "{} passed handle {} of handle table '{}' (created by {}{}) to {} on handle table '{}': a "
      "handle value is an index into the handle table of the process that received it "
      "(DuplicateHandle's target value is valid only in the target process)",
      describe(at), format_value(h.value), h.table_name, describe(h.created),
      h.owner.empty() ? std::string() : fmt::format(" for '{}'", h.owner), api, options_.name);
  FindingRefs refs{.steps = {at.step, h.created.step}, .objects = {}};
  if (!h.owner.empty()) refs.objects.emplace_back(h.owner);
  if (open_slot != 0) {
    // Silent in production: the call uses or closes an unrelated object of this table.
    const Generation& now = history_[open_slot].back();
    refs.steps.push_back(now.created.step);
    refs.objects.emplace_back(now.object_id);
    if (!now.owner.empty()) refs.objects.emplace_back(now.owner);
    refs.objects.emplace_back(id());
    report(FindingKind::invalid_handle_use,
           fmt::format("invalid handle use: {}; in table '{}', {} names {} (generation {}, created "
                       "by {}{}), an unrelated object that this call {} instead",
                       what, options_.name, format_value(h.value), now.object,
                       history_[open_slot].size(), describe(now.created),
                       now.owner.empty() ? std::string() : fmt::format(" for '{}'", now.owner),
                       closing ? "closes" : "uses"),
           where, fmt::format("foreign|{}|{}|{}", h.table_name, api, site(where)), std::move(refs));
  }
  if (options_.invalid_use == InvalidUse::raise) {
    refs.objects.emplace_back(id());
    report(FindingKind::invalid_handle_use,
           fmt::format("invalid handle use: {}; in table '{}', {} names nothing: {}", what,
                       options_.name, format_value(h.value),
                       options_.style == ValueStyle::posix
                           ? "EBADF"
                           : "STATUS_INVALID_HANDLE (0xC0000008) under a debugger"),
           where, fmt::format("foreign|{}|{}|{}", h.table_name, api, site(where)), std::move(refs));
  }
  const std::uint32_t code = options_.style == ValueStyle::posix ? kEBADF : kErrorInvalidHandle;
  set_error(code);
  *failure = Status{false, code};
  return 0;
}

Status HandleTable::fail(const char* api, const RawHandle& h, const std::source_location& where,
                         bool closing) {
  if (options_.invalid_use == InvalidUse::raise) {
    const Provenance at = here(where);
    report(FindingKind::invalid_handle_use,
           fmt::format("invalid handle use: {} passed {} to {}, a value that was never a handle "
                       "of table '{}'",
                       describe(at), format_value(h.value), api, options_.name),
           where, fmt::format("{}|{}", api, site(where)), {.steps = {at.step}, .objects = {id()}});
  }
  (void)closing;
  const std::uint32_t code = options_.style == ValueStyle::posix ? kEBADF : kErrorInvalidHandle;
  set_error(code);
  return Status{false, code};
}

Status HandleTable::typed(const RawHandle& h, const char* api, Access access, std::uint32_t allowed,
                          Access slot_access, bool event, const std::source_location& where,
                          KernelObject** out, std::uint32_t* out_slot) {
  // Announced on the kernel object of the value's generation (fixed, whatever the value names
  // by the time the call runs); a value without provenance, on the table.
  Touches footprint;
  ObjectId announced = id();
  Access announced_access = Access::read;
  bool declared = true;
  if (own(h)) {
    KernelObject* object = object_of(h);
    announced = object->object();
    announced_access = access;
    footprint.add(id(), Access::read);
    footprint.add(slot_cells_[h.slot]->id(), slot_access);
    footprint.add(object->object(), access);
    if (event) footprint.add(object->event, Access::write);
    if (object->parent) footprint.add(object->parent->object(), Access::read);
  } else if (raw_slot(h.value) != 0) {
    // Whatever the number names when the call runs: any model object, and for a call that
    // signals or waits, an event known only then, so no footprint (conflicts with everything).
    if (event || slot_access != Access::read) {
      declared = false;
    } else {
      footprint.add(kAllModelObjects, Access::read_write);
    }
  }
  Step* step = declared ? rt::model_op(announced_access, announced, footprint.view(), api, where)
                        : rt::model_op(Access::read, announced, api, where);
  if (step == nullptr) return {};
  Status failure;
  const std::uint32_t s = resolve(h, api, false, where, &failure);
  if (s == 0) return failure;
  KernelObject& object = *table_.read().slots[s].object;
  check_parent(object, h, api, false, where);
  if ((allowed & bit_of(object.type)) == 0) {
    const Provenance at = here(where);
    FindingRefs refs{.steps = {at.step}, .objects = {}};
    add_generation_objects(history_[s].back(), refs);
    refs.objects.emplace_back(id());
    report(FindingKind::wrong_type_use,
           fmt::format("wrong-type use: {} called {} on handle {} ({}, generation {}): a {} "
                       "does not support {} (Windows fails it with ERROR_INVALID_HANDLE)",
                       describe(at), api, format_value(h.value), object.label(), history_[s].size(),
                       object_type_name(object.type), api),
           where, fmt::format("{}|{}|{}", api, object_type_name(object.type), site(where)),
           std::move(refs));
  }
  *out = &object;
  *out_slot = s;
  set_error(kErrorSuccess);
  return Status{};
}

Status HandleTable::read(const RawHandle& h, const std::source_location& where) {
  KernelObject* object = nullptr;
  std::uint32_t slot = 0;
  return typed(h, options_.style == ValueStyle::posix ? "read" : "ReadFile", Access::read,
               kReadable, Access::read, false, where, &object, &slot);
}

Status HandleTable::write(const RawHandle& h, const std::source_location& where) {
  KernelObject* object = nullptr;
  std::uint32_t slot = 0;
  return typed(h, options_.style == ValueStyle::posix ? "write" : "WriteFile", Access::write,
               kReadable, Access::read, false, where, &object, &slot);
}

Status HandleTable::use(const RawHandle& h, const char* api, const std::source_location& where) {
  KernelObject* object = nullptr;
  std::uint32_t slot = 0;
  return typed(h, api, Access::read, kAnyType, Access::read, false, where, &object, &slot);
}

Status HandleTable::signal(const RawHandle& h, const std::source_location& where) {
  KernelObject* object = nullptr;
  std::uint32_t slot = 0;
  Status st =
      typed(h, "SetEvent", Access::write, kSignalable, Access::read, true, where, &object, &slot);
  if (object == nullptr) return st;
  KernelObject::State& k = object->state.write();
  ++k.count;
  if (object->type == ObjectType::event || object->type == ObjectType::mutex) k.count = 1;
  rt::event_signal(object->event);
  return st;
}

Status HandleTable::reset(const RawHandle& h, const std::source_location& where) {
  KernelObject* object = nullptr;
  std::uint32_t slot = 0;
  Status st =
      typed(h, "ResetEvent", Access::write, kResettable, Access::read, true, where, &object, &slot);
  if (object == nullptr) return st;
  object->state.write().count = 0;
  rt::event_clear(object->event);
  return st;
}

Status HandleTable::wait(const RawHandle& h, const std::source_location& where) {
  // First the checks, announced on the object: the value must name a waitable object.
  KernelObject* found = nullptr;
  std::uint32_t slot = 0;
  // i18-io: a POSIX table's blocking call is worded as the POSIX call, never WaitForSingleObject.
  const bool posix = options_.style == ValueStyle::posix;
  Status st = typed(h, posix ? "read" : "WaitForSingleObject", Access::read, kWaitable,
                    Access::read_write, false, where, &found, &slot);
  if (found == nullptr) return st;
  std::shared_ptr<KernelObject> object = table_.read().slots[slot].object;  // the wait holds it
  ModelCell<SlotState>& cell = *slot_cells_[slot];
  const ThreadId me = rt::current_thread();
  cell.write().waiters.push_back(me);
  // Then the blocking part: enabled once the object is signalled.
  const Touch footprint[] = {cell.writes(), object->state.writes()};
  if (rt::model_op(Access::sync, object->event, footprint,
                   posix ? "read (blocked)" : "WaitForSingleObject (blocked)", where,
                   WaitFor::event_set) == nullptr)
    return {};
  if (posix) rt::set_wait_note(me, {});  // i18-io: woken; a close's note no longer applies
  std::vector<ThreadId>& waiters = cell.write().waiters;
  waiters.erase(std::find(waiters.begin(), waiters.end(), me));
  KernelObject::State& k = object->state.write();
  if (k.count > 0 && !object->manual_reset) --k.count;
  if (k.count > 0) rt::event_signal(object->event);  // a semaphore with units left
  return st;
}

// --- For a model whose own operation takes a handle (i18-async) -------------------------------

std::size_t HandleTable::use_touches(const RawHandle& h, Access access,
                                     std::span<Touch> out) const {
  Touches t;
  if (own(h)) {
    // As typed(): what a use of a value with provenance may touch, fixed by its generation.
    KernelObject* object = object_of(h);
    t.add(id(), Access::read);
    t.add(slot_cells_[h.slot]->id(), Access::read);
    t.add(object->object(), access);
    if (object->parent) t.add(object->parent->object(), Access::read);
  } else {
    t.add(id(), Access::read);
    if (raw_slot(h.value) != 0) t.add(kAllModelObjects, Access::read_write);
  }
  if (t.size > out.size()) throw std::logic_error("use_touches: the footprint does not fit");
  std::copy_n(t.entries.begin(), t.size, out.begin());
  return t.size;
}

RawHandle HandleTable::use_in_step(const RawHandle& h, const char* api,
                                   const std::source_location& where, Status* failure) {
  const std::uint32_t s = resolve(h, api, false, where, failure);
  if (s == 0) return {};
  check_parent(*table_.read().slots[s].object, h, api, false, where);
  set_error(kErrorSuccess);
  if (own(h)) return h;
  const Generation& g = history_[s].back();
  RawHandle named;
  named.value = value_of(s);
  named.slot = s;
  named.generation = static_cast<std::uint32_t>(history_[s].size());
  named.owner = g.owner;
  named.created = g.created;
  named.table = id();
  named.table_name = options_.name;
  return named;
}

ObjectId HandleTable::kernel_object(const RawHandle& h) const {
  return own(h) ? object_of(h)->object() : kNoObject;
}

std::uint32_t HandleTable::kernel_handles(const RawHandle& h,
                                          const std::source_location& where) const {
  return own(h) ? object_of(h)->state.read(where).handles : 0;
}

std::string HandleTable::kernel_label(const RawHandle& h) const {
  return own(h) ? object_of(h)->label() : std::string();
}

// --- end of the i18-async additions -------------------------------------------------------------

std::size_t HandleTable::open_count() const {
  std::size_t n = 0;
  for (std::uint32_t s = 1; s < history_.size(); ++s)
    n += open_now(s) ? 1 : 0;
  return n;
}

bool HandleTable::is_open(const RawHandle& h) const {
  return h.slot != 0 && open_now(h.slot) && table_.peek().slots[h.slot].generation == h.generation;
}

std::string HandleTable::describe_object(const RawHandle& h) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value, history_.size());
  return open_now(s) ? table_.peek().slots[s].object->label() : std::string();
}

std::string HandleTable::history(const RawHandle& h) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value, history_.size());
  if (s == 0 || s >= history_.size())
    return fmt::format("{} was never a handle", format_value(h.value));
  std::string out;
  for (std::size_t i = 0; i < history_[s].size(); ++i) {
    const Generation& g = history_[s][i];
    out += fmt::format("{}generation {}: {} created by {}{}{}", out.empty() ? "" : "; ", i + 1,
                       g.object, describe(g.created),
                       g.owner.empty() ? std::string() : fmt::format(" for '{}'", g.owner),
                       g.closed ? fmt::format(", closed by {}", describe(*g.closed))
                                : std::string(", still open"));
  }
  return fmt::format("{}: {}", format_value(h.value), out);
}

void HandleTable::add_history_refs(const RawHandle& h, FindingRefs& refs) const {
  const std::uint32_t s = h.slot != 0 ? h.slot : slot_of(h.value, history_.size());
  if (s != 0 && s < history_.size()) {
    for (const Generation& g : history_[s]) {
      refs.steps.push_back(g.created.step);
      if (g.closed) refs.steps.push_back(g.closed->step);
      add_generation_objects(g, refs);
    }
  }
  refs.objects.emplace_back(id());
}

// =================================================================================================
// POSIX descriptors (issue 18): stdio as ordinary numbers, dup2/dup3, FD_CLOEXEC, fork, exec.
// DOMAIN.md §7, dup(2), fcntl(2), fork(2), execve(2). See the header's "POSIX descriptors".
// =================================================================================================

/// A descriptor that fork() copied into a child, shared by the parent's generation and its copies:
/// finding bookkeeping for descriptor-inherited (who opened it, whether the program said it is
/// private, and the first exec'd child that kept it).
struct HandleTable::ForkNote {
  std::string object;  // "File 'secret'"
  ObjectId object_id = kNoObject;
  std::uint64_t value = 0;
  std::string table;  // the parent table's name
  std::string value_text;
  Provenance opened;
  std::optional<Provenance> marked;  // fcntl(F_SETFD, FD_CLOEXEC) on a copy
  struct Kept {
    Provenance fork;
    Provenance exec;
    std::string child;
    std::string program;
  };
  std::optional<Kept> kept;  // the first exec'd child that still held it
};

HandleTableOptions HandleTable::effective_options(HandleTableOptions options) {
  if (options.stdio && options.style == ValueStyle::posix) options.first_fd = 0;
  return options;
}

HandleTable::TableState HandleTable::initial_table(const HandleTableOptions& options) {
  TableState t{.slots = std::vector<SlotEntry>(1), .objects = {}};
  if (!options.stdio || options.style != ValueStyle::posix) return t;
  for (const char* name : {"stdin", "stdout", "stderr"}) {
    // Born with the table and its one descriptor: no thread can see them before.
    auto object = std::make_shared<KernelObject>(ObjectType::file, name, true, 0);
    t.objects.push_back(object);
    t.slots.push_back(SlotEntry{.generation = 1, .object = std::move(object), .cloexec = false});
  }
  return t;
}

void HandleTable::open_stdio(const std::source_location& where) {
  const TableState& t = table_.peek();  // initial_table's value: nothing has read it yet
  if (t.slots.size() == 1) return;
  Provenance at;
  at.where = where;
  if (rt::in_execution()) at = here(where);
  for (std::uint32_t s = 1; s < t.slots.size(); ++s) {
    KernelObject& object = *t.slots[s].object;
    object.created = at;
    slot_cells_.push_back(std::make_unique<ModelCell<SlotState>>(
        fmt::format("handle table '{}' slot {}", options_.name, format_value(value_of(s)))));
    Generation g;
    g.object = object.label();
    g.object_id = object.object();
    g.kernel = t.slots[s].object;
    g.created = at;
    history_.emplace_back();
    history_.back().push_back(std::move(g));
  }
}

HandleTable::HandleTable(ForkTag, const HandleTableOptions& parent, std::string_view child)
    : options_(parent),
      table_(fmt::format("handle table '{}'", child),
             TableState{.slots = std::vector<SlotEntry>(1), .objects = {}}),
      free_(fmt::format("handle table '{}' free list", child)),
      slot_cells_(1),
      history_(1) {
  child_ = true;
  options_.name = child;
  options_.report_leaks = false;  // the child's descriptors are its program's business
}

RawHandle HandleTable::handle_of(std::uint32_t s) const {
  const Generation& g = history_[s].back();
  RawHandle h;
  h.value = value_of(s);
  h.slot = s;
  h.generation = static_cast<std::uint32_t>(history_[s].size());
  h.owner = g.owner;
  h.created = g.created;
  h.table = id();
  h.table_name = options_.name;
  return h;
}

bool HandleTable::cloexec_of(std::uint32_t s) const {
  const SlotState& st = slot_cells_[s]->read();
  const SlotEntry& e = table_.read().slots[s];
  return st.flags_generation == e.generation ? st.cloexec : e.cloexec;
}

void HandleTable::drop(std::uint32_t s, const Provenance& at, std::string_view closer,
                       bool free_number) {
  Generation& g = history_[s].back();
  g.closed = at;
  g.closer = std::string(closer);
  slot_cells_[s]->write().closed = static_cast<std::uint32_t>(history_[s].size());
  KernelObject& object = *table_.read().slots[s].object;
  if (--object.state.write().handles == 0) {
    object.released = g.closed;
    object.released_value = value_of(s);
  }
  if (free_number) free_slot(s);
}

RawHandle HandleTable::create(ObjectType type, std::string_view name, OpenFlags flags,
                              std::string_view owner, const std::source_location& where) {
  RawHandle h = create(type, name, owner, where);
  // Still create's step (T write): O_CLOEXEC is set with the descriptor, atomically.
  if (h.valid() && flags == OpenFlags::cloexec) table_.write().slots[h.slot].cloexec = true;
  return h;
}

RawHandle HandleTable::dup2(const RawHandle& old, std::uint64_t newfd, std::string_view owner,
                            const std::source_location& where) {
  return dup_onto(old, newfd, false, false, owner, where);
}

RawHandle HandleTable::dup3(const RawHandle& old, std::uint64_t newfd, OpenFlags flags,
                            std::string_view owner, const std::source_location& where) {
  return dup_onto(old, newfd, true, flags == OpenFlags::cloexec, owner, where);
}

RawHandle HandleTable::dup_onto(const RawHandle& old, std::uint64_t newfd, bool dup3, bool cloexec,
                                std::string_view owner, const std::source_location& where) {
  if (options_.style != ValueStyle::posix)
    throw std::logic_error("dup2/dup3 are POSIX calls: use a ValueStyle::posix handle table");
  const char* api = dup3 ? "dup3" : "dup2";
  // Which object newfd names (and closes) is known only when the call runs.
  const Touch footprint[] = {{kAllModelObjects, Access::read_write}};
  if (rt::model_op(Access::write, id(), footprint, api, where) == nullptr) return {};
  Status failure;
  const std::uint32_t s = resolve(old, api, false, where, &failure);
  if (s == 0) {
    set_error(failure.error);  // EBADF: newfd is left as it was
    return RawHandle{};
  }
  if (newfd < options_.first_fd || newfd - options_.first_fd > 1u << 20) {
    set_error(kEBADF);  // not a number of this table (0-2 without `stdio`)
    return RawHandle{};
  }
  const auto target = static_cast<std::uint32_t>(newfd - options_.first_fd + 1);
  if (target == s) {
    // dup2(fd, fd) does nothing and returns fd; dup3 fails with EINVAL.
    if (dup3) {
      set_error(kEINVAL);
      return RawHandle{};
    }
    set_error(kErrorSuccess);
    return handle_of(s);
  }
  std::shared_ptr<KernelObject> object = table_.read().slots[s].object;
  const Provenance at = here(where);
  if (target >= table_.read().slots.size()) {
    // Grow up to newfd; the numbers in between are free.
    while (table_.read().slots.size() <= target) {
      TableState& t = table_.write();
      t.slots.emplace_back();
      const auto n = static_cast<std::uint32_t>(t.slots.size() - 1);
      slot_cells_.push_back(std::make_unique<ModelCell<SlotState>>(
          fmt::format("handle table '{}' slot {}", options_.name, format_value(value_of(n)))));
      history_.emplace_back();
      if (n != target) free_slot(n);
    }
  } else if (table_.read().slots[target].generation > slot_cells_[target]->read().closed) {
    // newfd is open: closed in this same step (silently, as dup2 does), by `owner`.
    Generation& g = history_[target].back();
    if (!owner.empty() && !g.owner.empty() && owner != g.owner) {
      report(FindingKind::close_by_non_owner,
             fmt::format("'{}' closed handle {} ({}, generation {}) at {}, on {}, by {}() onto "
                         "it; the handle is owned by '{}' (created by {}), which will use and "
                         "close it again",
                         owner, format_value(newfd), g.object, history_[target].size(), site(where),
                         describe(at), api, g.owner, describe(g.created)),
             where, fmt::format("{}|{}|{}|{}", g.object, owner, api, site(where)),
             {.steps = {at.step, g.created.step}, .objects = {owner, g.object_id, g.owner, id()}});
    }
    drop(target, at, owner, /*free_number=*/false);
  } else {
    // newfd is free: take it off the free lists.
    FreeLists& f = free_.write();
    for (std::vector<std::uint32_t>* list : {&f.first, &f.last}) {
      auto it = std::find(list->begin(), list->end(), target);
      if (it != list->end()) list->erase(it);
    }
  }
  // Install old's object at newfd (what install() does, at a chosen number).
  ++object->state.write().handles;
  Generation g;
  g.object = object->label();
  g.object_id = object->object();
  g.kernel = object;
  g.owner = std::string(owner);
  g.created = at;
  SlotEntry& entry = table_.write().slots[target];
  ++entry.generation;
  entry.object = std::move(object);
  entry.cloexec = cloexec;
  history_[target].push_back(std::move(g));
  set_error(kErrorSuccess);
  return handle_of(target);
}

Status HandleTable::set_cloexec(const RawHandle& h, bool on, const std::source_location& where) {
  const char* api = "fcntl(F_SETFD)";
  Touches footprint;
  if (own(h)) {
    footprint.add(slot_cells_[h.slot]->id(), Access::read_write);
  } else if (raw_slot(h.value) != 0) {
    footprint.add(kAllModelObjects, Access::read_write);  // whatever the number names then
  }
  if (rt::model_op(Access::read, id(), footprint.view(), api, where) == nullptr) return {};
  Status failure;
  const std::uint32_t s = resolve(h, api, false, where, &failure);
  if (s == 0) return failure;
  SlotState& st = slot_cells_[s]->write();
  st.flags_generation = table_.read().slots[s].generation;
  st.cloexec = on;
  set_error(kErrorSuccess);
  if (!on) return Status{};
  // The program says the descriptor is private: too late if an exec'd child already kept it.
  // (The note is shared with the copies; exec, which writes it, declares every model object.)
  if (const std::shared_ptr<ForkNote>& note = history_[s].back().note) {
    if (!note->marked) note->marked = here(where);
    if (note->kept) report_inherited(*note, where);
  }
  return Status{};
}

std::unique_ptr<HandleTable> HandleTable::fork(std::string_view child,
                                               const std::source_location& where) {
  if (options_.style != ValueStyle::posix)
    throw std::logic_error("fork() copies a POSIX descriptor table: use ValueStyle::posix");
  // Reads every slot and its flags, adds a handle to every open kernel object.
  const Touch footprint[] = {{kAllModelObjects, Access::read_write}};
  if (rt::model_op(Access::read, id(), footprint, "fork", where) == nullptr) return nullptr;
  std::unique_ptr<HandleTable> c(new HandleTable(ForkTag{}, options_, child));
  const Provenance at = here(where);
  const TableState& t = table_.read();
  c->free_.write() = free_.read();  // the same free numbers, in the same order
  for (std::uint32_t s = 1; s < t.slots.size(); ++s) {
    TableState& ct = c->table_.write();
    ct.slots.emplace_back();
    c->slot_cells_.push_back(std::make_unique<ModelCell<SlotState>>(
        fmt::format("handle table '{}' slot {}", child, c->format_value(c->value_of(s)))));
    c->history_.emplace_back();
    const bool open =
        t.slots[s].generation != 0 && t.slots[s].generation > slot_cells_[s]->read().closed;
    if (!open) continue;
    Generation& mine = history_[s].back();
    if (!mine.note) {
      mine.note = std::make_shared<ForkNote>();
      mine.note->object = mine.object;
      mine.note->object_id = mine.object_id;
      mine.note->value = value_of(s);
      mine.note->table = std::string(options_.name);
      mine.note->value_text = format_value(value_of(s));
      mine.note->opened = mine.created;
    }
    const std::shared_ptr<KernelObject>& object = t.slots[s].object;
    ++object->state.write().handles;
    ct.slots[s] = SlotEntry{.generation = 1, .object = object, .cloexec = cloexec_of(s)};
    ct.objects.push_back(object);
    Generation g;
    g.object = mine.object;
    g.object_id = mine.object_id;
    g.kernel = object;
    g.owner = mine.owner;
    g.created = at;  // the child's copy was made by the fork
    g.note = mine.note;
    c->history_[s].push_back(std::move(g));
  }
  set_error(kErrorSuccess);
  return c;
}

Status HandleTable::exec(std::string_view program, const std::source_location& where) {
  if (options_.style != ValueStyle::posix)
    throw std::logic_error("execve() acts on a POSIX descriptor table: use ValueStyle::posix");
  // Closes the FD_CLOEXEC descriptors; checks the rest against the notes shared with the
  // parent's descriptors (which its fcntl reads).
  const Touch footprint[] = {{kAllModelObjects, Access::read_write}};
  if (rt::model_op(Access::write, id(), footprint, "execve", where) == nullptr) return {};
  const Provenance at = here(where);
  const std::size_t slots = table_.read().slots.size();
  const std::shared_ptr<ForkNote>* leaked = nullptr;
  for (std::uint32_t s = 1; s < slots; ++s) {
    const std::uint32_t generation = table_.read().slots[s].generation;
    if (generation == 0 || generation <= slot_cells_[s]->read().closed) continue;
    if (cloexec_of(s)) {
      drop(s, at, {}, /*free_number=*/true);
      continue;
    }
    const std::shared_ptr<ForkNote>& note = history_[s].back().note;
    if (!note) continue;  // not a fork's copy: the program's own choice
    if (!note->kept)
      note->kept = ForkNote::Kept{history_[s].back().created, at, std::string(options_.name),
                                  std::string(program)};
    const bool is_stdio = options_.stdio && value_of(s) <= 2;
    if (leaked == nullptr && (note->marked || (options_.descriptors_private && !is_stdio)))
      leaked = &note;
  }
  if (leaked != nullptr) report_inherited(**leaked, where);
  set_error(kErrorSuccess);
  return Status{};
}

Status HandleTable::exit_process(const std::source_location& where) {
  const Touch footprint[] = {{kAllModelObjects, Access::read_write}};
  if (rt::model_op(Access::write, id(), footprint, "_exit", where) == nullptr) return {};
  const Provenance at = here(where);
  const std::size_t slots = table_.read().slots.size();
  for (std::uint32_t s = 1; s < slots; ++s) {
    const std::uint32_t generation = table_.read().slots[s].generation;
    if (generation != 0 && generation > slot_cells_[s]->read().closed)
      drop(s, at, {}, /*free_number=*/true);
  }
  set_error(kErrorSuccess);
  return Status{};
}

void HandleTable::report_inherited(const ForkNote& note, const std::source_location& where) {
  const ForkNote::Kept& kept = *note.kept;
  std::string intent;
  if (note.marked) {
    intent = fmt::format(
        "fcntl(F_SETFD, FD_CLOEXEC) marks it private, called by {}{}", describe(*note.marked),
        note.marked->step > kept.fork.step ? ", after the fork had copied it" : " on another copy");
  } else {
    intent = fmt::format(
        "every descriptor of process '{}' is private "
        "(HandleTableOptions::descriptors_private) and it was never marked "
        "FD_CLOEXEC",
        note.table);
  }
  FindingRefs refs{.steps = {note.opened.step, kept.fork.step, kept.exec.step}, .objects = {}};
  if (note.marked) refs.steps.push_back(note.marked->step);
  refs.objects.emplace_back(note.object_id);
  refs.objects.emplace_back(id());
  report(FindingKind::descriptor_inherited,
         fmt::format("descriptor inherited: {} ({}) of process '{}', opened by {} without "
                     "O_CLOEXEC, was copied into process '{}' by fork() ({}) and survived "
                     "execve('{}') ({}), although the program meant it private: {}. The new "
                     "program holds the open file description (it stays open, readable and "
                     "writable there, until that program exits). Fix: create it with O_CLOEXEC "
                     "(open/socket with the flag, pipe2, dup3, accept4 with SOCK_CLOEXEC): "
                     "setting FD_CLOEXEC by fcntl after the descriptor exists races with a "
                     "concurrent fork",
                     note.value_text, note.object, note.table, describe(note.opened), kept.child,
                     describe(kept.fork), kept.program, describe(kept.exec), intent),
         where, fmt::format("descriptor-inherited|{}|{}", note.object, site(where)),
         std::move(refs));
}

bool HandleTable::cloexec(const RawHandle& h) const {
  if (!is_open(h)) return false;
  const SlotState& st = slot_cells_[h.slot]->peek();
  const SlotEntry& e = table_.peek().slots[h.slot];
  return st.flags_generation == e.generation ? st.cloexec : e.cloexec;
}

std::uint32_t HandleTable::handle_count(const RawHandle& h) const {
  if (own(h)) return object_of(h)->state.peek().handles;
  const std::uint32_t s = slot_of(h.value, history_.size());  // a bare number: what it names now
  return open_now(s) ? table_.peek().slots[s].object->state.peek().handles : 0;
}

RawHandle HandleTable::stdio_handle(std::uint64_t fd) const {
  if (!options_.stdio || options_.style != ValueStyle::posix || fd > 2)
    throw std::logic_error("stdio_handle: descriptors 0-2 of a table with the stdio option");
  const auto s = static_cast<std::uint32_t>(fd + 1);
  RawHandle h = handle_of(s);
  // The pre-opened generation, whatever the slot holds now.
  const Generation& g = history_[s].front();
  h.generation = 1;
  h.owner = g.owner;
  h.created = g.created;
  return h;
}

}  // namespace hc::models

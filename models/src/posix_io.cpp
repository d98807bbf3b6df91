#include "hc/models/posix_io.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "linux_close.hpp"

namespace hc::models {

/// One direction of a pipe or a socket pair: the bytes written and not yet read.
struct PosixIo::Channel {
  struct Waiter {
    ThreadId thread = kNoThread;
    int fd = -1;            // the number the blocked call was given
    const char* call = "";  // "read", "recv"
  };
  struct State {
    std::string bytes;
    bool writer_gone = false;  // the write side's description was released (last close)
    bool write_shut = false;   // shutdown(SHUT_WR) on the write side
    bool read_shut = false;    // shutdown(SHUT_RD) on the read side
    std::vector<Waiter> waiters;
    // A listening socket's queue: the server ends of connections accept() has not taken yet.
    std::vector<std::shared_ptr<Description>> pending;
    bool readable() const {
      return !bytes.empty() || !pending.empty() || writer_gone || write_shut || read_shut;
    }
  };
  Channel(std::string_view l, bool socket)
      : label(l),
        is_socket(socket),
        state(l),
        readable(rt::register_event(fmt::format("{}: data or end of file", l),
                                    /*manual_reset=*/true, false)) {}
  const std::string label;  // "pipe 'jobs'", "socket 'conn' (A to B)"
  const bool is_socket;
  ModelCell<State> state;   // C
  const ObjectId readable;  // E: set while state.readable()
};

/// An epoll instance: its interest list (P).
struct PosixIo::Epoll {
  struct Interest {
    std::shared_ptr<Description> description;
    int fd = -1;
    std::uint32_t events = 0;
    std::uint64_t data = 0;
    Provenance registered;
  };
  explicit Epoll(std::string_view l) : label(l), state(l) {}
  const std::string label;
  ModelCell<std::vector<Interest>> state;
};

/// An open file description: fixed at creation; its mutable state is in its channels (and for
/// an epoll descriptor, its interest list). How many numbers name it is in T.
struct PosixIo::Description {
  enum class Kind : std::uint8_t { pipe_read, pipe_write, socket, epoll, listener };
  Kind kind = Kind::pipe_read;
  std::string label;            // "pipe 'jobs' (read end)"
  Channel* in = nullptr;        // what read consumes
  Channel* out = nullptr;       // what write appends to
  Epoll* epoll = nullptr;       // an epoll descriptor's instance
  ObjectId object = kNoObject;  // the engine object findings name (its first channel or P)

  /// A pipe end, a socket or a listening socket: it reads `in` and writes `out` (either may be
  /// null); findings name the channel it reads, else the one it writes.
  static std::shared_ptr<Description> of_channels(Kind kind, std::string label, Channel* in,
                                                  Channel* out) {
    auto d = std::make_shared<Description>();
    d->kind = kind;
    d->label = std::move(label);
    d->in = in;
    d->out = out;
    d->object = (in != nullptr ? in : out)->state.id();
    return d;
  }
};

void PosixIo::Touches::add(ObjectId object, Access access) {
  if (object == kNoObject) return;
  for (std::size_t i = 0; i < size; ++i) {
    if (entries[i].object == object) {
      if (access != Access::read) entries[i].access = Access::read_write;
      return;
    }
  }
  if (size == entries.size()) throw std::logic_error("a posix-io footprint overflows");
  entries[size++] = Touch{object, access};
}

PosixIo::PosixIo(PosixIoOptions options)
    : options_(options),
      table_(fmt::format("descriptors '{}'", options.name), std::vector<Slot>(options.first_fd)),
      readiness_(rt::in_execution()
                     ? rt::register_event(fmt::format("'{}' epoll readiness", options.name),
                                          /*manual_reset=*/true, false)
                     : kNoObject),
      history_(options.first_fd) {
  rt::note_parameter("handle values", "posix");
}

PosixIo::~PosixIo() {
  if (!options_.report_leaks || !rt::in_execution() || rt::tearing_down()) return;
  const std::vector<Slot>& t = table_.peek();
  std::string list;
  std::size_t leaked = 0;
  std::string signature;
  std::source_location first{};
  FindingRefs refs;
  for (std::size_t n = 0; n < t.size(); ++n) {
    if (!t[n].open) continue;
    const Opening& o = history_[n].back();
    ++leaked;
    list += fmt::format("\n  fd {} {} (generation {}) opened by {}", n, o.description->label,
                        history_[n].size(), models::describe(o.created));
    signature += fmt::format("|{}@{}", o.description->label, site(o.created.where));
    if (leaked == 1) first = o.created.where;
    refs.steps.push_back(o.created.step);
    refs.objects.emplace_back(o.description->object);
  }
  if (leaked == 0) return;
  refs.objects.emplace_back(id());
  rt::report(FindingKind::handle_leak,
             fmt::format("{} descriptor{} still open in '{}' at the end of the execution "
                         "(leaked):{}",
                         leaked, leaked == 1 ? "" : "s", options_.name, list),
             first, "descriptor-leak" + signature, std::move(refs));
}

// --- helpers ----------------------------------------------------------------------------------

PosixIo::Description* PosixIo::provenance(const Fd& fd) const {
  if (fd.io != id() || !fd.description) return nullptr;
  return static_cast<Description*>(fd.description.get());
}

Status PosixIo::fail(std::uint32_t code) {
  set_last_error(code);
  return Status{false, code};
}

std::size_t PosixIo::descriptors_of(const Description* d) const {
  std::size_t n = 0;
  for (const Slot& s : table_.read())
    n += s.open && s.description.get() == d ? 1 : 0;
  return n;
}

void PosixIo::add_channels(Touches& t, const Description* d, Access access) const {
  for (const Channel* c : {d->in, d->out}) {
    if (c == nullptr) continue;
    t.add(c->state.id(), access);
    t.add(c->readable, Access::write);
  }
  if (d->epoll != nullptr) t.add(d->epoll->state.id(), access);
}

std::string PosixIo::label_of(const Fd& fd) const {
  const Description* d = provenance(fd);
  return d != nullptr ? d->label : std::string("nothing");
}

Fd PosixIo::install(std::shared_ptr<Description> d, const std::source_location& where) {
  // Runs in a step that writes T: the lowest free number.
  std::vector<Slot>& t = table_.write();
  std::size_t n = options_.first_fd;
  while (n < t.size() && t[n].open)
    ++n;
  if (n == t.size()) {
    t.emplace_back();
    history_.emplace_back();
  }
  Slot& slot = t[n];
  ++slot.generation;
  slot.open = true;
  slot.description = d;
  history_[n].push_back(Opening{d, here(where), std::nullopt});
  Fd fd;
  fd.value = static_cast<int>(n);
  fd.generation = slot.generation;
  fd.description = d;
  fd.created = history_[n].back().created;
  fd.io = id();
  return fd;
}

PosixIo::Description* PosixIo::resolve(const Fd& fd, const char* api, bool closing,
                                       const std::source_location& where, Status* failure) {
  const std::vector<Slot>& t = table_.read();
  Description* mine = provenance(fd);
  const bool in_range = fd.value >= 0 && static_cast<std::size_t>(fd.value) < t.size();
  const Slot* slot = in_range ? &t[static_cast<std::size_t>(fd.value)] : nullptr;
  const bool open = slot != nullptr && slot->open;
  const std::string verb = closing ? std::string("closed") : fmt::format("used (via {})", api);
  if (mine == nullptr) {
    // Not a descriptor this PosixIo handed out: EBADF (or a finding under InvalidUse::raise).
    if (options_.invalid_use == InvalidUse::raise) {
      const Provenance at = here(where);
      report(FindingKind::invalid_handle_use,
             fmt::format("invalid handle use: {} passed fd {} to {}, a value that was never a "
                         "descriptor of '{}'",
                         models::describe(at), fd.value, api, options_.name),
             where, fmt::format("{}|{}", api, site(where)),
             {.steps = {at.step}, .objects = {id()}});
    }
    *failure = fail(kEBADF);
    return nullptr;
  }
  if (fd.from_event) {
    // A number read back from an epoll event: fine while it names the event's description.
    if (open && slot->description.get() == mine) return mine;
    const Provenance at = here(where);
    // The opening of the number that named the event's description, and its close.
    const Opening* closed_opening = nullptr;
    if (in_range) {
      for (const Opening& o : history_[static_cast<std::size_t>(fd.value)]) {
        if (o.description.get() == mine && o.closed) closed_opening = &o;
      }
    }
    std::vector<int> others;  // the numbers that still name the description
    for (std::size_t n = 0; n < t.size(); ++n) {
      if (t[n].open && t[n].description.get() == mine) others.push_back(static_cast<int>(n));
    }
    FindingRefs refs{.steps = {at.step, fd.delivered.step, fd.registered.step}, .objects = {}};
    std::string closed = "was closed";
    if (closed_opening != nullptr) {
      closed = fmt::format("was closed by {}", models::describe(*closed_opening->closed));
      refs.steps.push_back(closed_opening->closed->step);
    }
    std::string now = "names nothing now (EBADF)";
    if (open) {
      const Opening& o = history_[static_cast<std::size_t>(fd.value)].back();
      now = fmt::format("now names {} (opened by {})", o.description->label,
                        models::describe(o.created));
      refs.steps.push_back(o.created.step);
    }
    std::string why = others.empty()
                          ? std::string(
                                "the event was delivered before the description's last descriptor "
                                "closed")
                          : fmt::format("the description is still open through fd {}{}",
                                        others.front(), others.size() > 1 ? " (and others)" : "");
    refs.objects.emplace_back(mine->object);
    if (open) refs.objects.emplace_back(slot->description->object);
    refs.objects.emplace_back(id());
    report(FindingKind::event_for_reused_descriptor,
           fmt::format("event for reused descriptor: {} {} fd {} from an epoll event that "
                       "epoll_wait returned at step {} for {}, registered as fd {} by "
                       "epoll_ctl at step {}; but fd {} {} and {}. The interest entry outlived "
                       "the close because {}: epoll(7) removes an entry only when every "
                       "descriptor of the open file description is closed, and its events "
                       "still carry the registered number. Call epoll_ctl(EPOLL_CTL_DEL) "
                       "before close(), or close every dup of the descriptor",
                       models::describe(at), verb, fd.value, fd.delivered.step, mine->label,
                       fd.value, fd.registered.step, fd.value, closed, now, why),
           where, fmt::format("event-reuse|{}|{}|{}", mine->label, api, site(where)),
           std::move(refs));
  }
  if (open && slot->generation == fd.generation) return mine;
  // The number's generation of this Fd was closed.
  const Opening& opening = history_[static_cast<std::size_t>(fd.value)][fd.generation - 1];
  const Provenance at = here(where);
  const std::string closed = opening.closed
                                 ? fmt::format("closed by {}", models::describe(*opening.closed))
                                 : std::string("closed");
  FindingRefs refs{.steps = {at.step}, .objects = {}};
  if (opening.closed) refs.steps.push_back(opening.closed->step);
  refs.objects.emplace_back(mine->object);
  if (open) {
    const Opening& now = history_[static_cast<std::size_t>(fd.value)].back();
    refs.steps.push_back(now.created.step);
    refs.objects.emplace_back(now.description->object);
    refs.objects.emplace_back(id());
    const std::string message = fmt::format(
        "{} {} fd {} ({}, generation {}, {}) but fd {} now names {} (generation {}, opened by "
        "{})",
        models::describe(at), verb, fd.value, mine->label, fd.generation, closed, fd.value,
        now.description->label, slot->generation, models::describe(now.created));
    report(closing ? FindingKind::double_close : FindingKind::stale_handle_use,
           closing ? "double close: " + message : "stale handle use: " + message, where,
           fmt::format("{}|{}|{}", mine->label, now.description->label, site(where)),
           std::move(refs));
  }
  if (options_.invalid_use == InvalidUse::raise) {
    refs.objects.emplace_back(id());
    report(closing ? FindingKind::double_close : FindingKind::invalid_handle_use,
           fmt::format("{}{} {} fd {} ({}, generation {}, {}) and fd {} names nothing now: EBADF",
                       closing ? "double close: " : "invalid handle use: ", models::describe(at),
                       verb, fd.value, mine->label, fd.generation, closed, fd.value),
           where, fmt::format("{}|{}", mine->label, site(where)), std::move(refs));
  }
  *failure = fail(kEBADF);
  return nullptr;
}

// --- opening ----------------------------------------------------------------------------------

std::pair<Fd, Fd> PosixIo::pipe(std::string_view name, const std::source_location& where) {
  if (rt::model_op(Access::write, id(), {}, "pipe", where) == nullptr) return {};
  channels_.push_back(std::make_unique<Channel>(fmt::format("pipe '{}'", name), false));
  Channel* c = channels_.back().get();
  auto rd = Description::of_channels(Description::Kind::pipe_read,
                                     fmt::format("pipe '{}' (read end)", name), c, nullptr);
  auto wr = Description::of_channels(Description::Kind::pipe_write,
                                     fmt::format("pipe '{}' (write end)", name), nullptr, c);
  set_last_error(kErrorSuccess);
  Fd a = install(std::move(rd), where);
  Fd b = install(std::move(wr), where);
  return {std::move(a), std::move(b)};
}

std::pair<Fd, Fd> PosixIo::socketpair(std::string_view name, const std::source_location& where) {
  if (rt::model_op(Access::write, id(), {}, "socketpair", where) == nullptr) return {};
  channels_.push_back(std::make_unique<Channel>(fmt::format("socket '{}' (A to B)", name), true));
  Channel* ab = channels_.back().get();
  channels_.push_back(std::make_unique<Channel>(fmt::format("socket '{}' (B to A)", name), true));
  Channel* ba = channels_.back().get();
  auto a = Description::of_channels(Description::Kind::socket,
                                    fmt::format("socket '{}' (end A)", name), ba, ab);
  auto b = Description::of_channels(Description::Kind::socket,
                                    fmt::format("socket '{}' (end B)", name), ab, ba);
  set_last_error(kErrorSuccess);
  Fd x = install(std::move(a), where);
  Fd y = install(std::move(b), where);
  return {std::move(x), std::move(y)};
}

Fd PosixIo::epoll_create(std::string_view name, const std::source_location& where) {
  if (rt::model_op(Access::write, id(), {}, "epoll_create", where) == nullptr) return {};
  epolls_.push_back(std::make_unique<Epoll>(fmt::format("epoll '{}'", name)));
  auto d = std::make_shared<Description>();
  d->kind = Description::Kind::epoll;
  d->label = epolls_.back()->label;
  d->epoll = epolls_.back().get();
  d->object = d->epoll->state.id();
  set_last_error(kErrorSuccess);
  return install(std::move(d), where);
}

Fd PosixIo::listen(std::string_view name, const std::source_location& where) {
  if (rt::model_op(Access::write, id(), {}, "listen", where) == nullptr) return {};
  channels_.push_back(
      std::make_unique<Channel>(fmt::format("socket '{}' (listening)", name), true));
  auto d = Description::of_channels(Description::Kind::listener,
                                    fmt::format("listening socket '{}'", name),
                                    channels_.back().get(), nullptr);
  set_last_error(kErrorSuccess);
  return install(std::move(d), where);
}

Fd PosixIo::connect(const Fd& listener, std::string_view name, const std::source_location& where) {
  Touches footprint;
  if (const Description* p = provenance(listener); p != nullptr && p->in != nullptr) {
    footprint.add(p->in->state.id(), Access::read_write);
    footprint.add(p->in->readable, Access::write);
  }
  footprint.add(readiness_, Access::write);
  if (rt::model_op(Access::write, id(), footprint.view(), "connect", where) == nullptr) return {};
  Status failure;
  Description* l = resolve(listener, "connect", false, where, &failure);
  if (l == nullptr) return {};
  if (l->kind != Description::Kind::listener || l->in->state.read().read_shut) {
    fail(kECONNREFUSED);
    return {};
  }
  channels_.push_back(
      std::make_unique<Channel>(fmt::format("socket '{}' (to server)", name), true));
  Channel* up = channels_.back().get();
  channels_.push_back(
      std::make_unique<Channel>(fmt::format("socket '{}' (to client)", name), true));
  Channel* down = channels_.back().get();
  auto client = Description::of_channels(Description::Kind::socket,
                                         fmt::format("socket '{}' (client)", name), down, up);
  auto server = Description::of_channels(Description::Kind::socket,
                                         fmt::format("socket '{}' (accepted)", name), up, down);
  l->in->state.write().pending.push_back(std::move(server));
  rt::event_signal(l->in->readable, where);
  rt::event_signal(readiness_, where);
  set_last_error(kErrorSuccess);
  return install(std::move(client), where);
}

Fd PosixIo::accept(const Fd& listener, const std::source_location& where) {
  const Description* p = provenance(listener);
  Touches footprint;
  ObjectId announced = id();
  if (p != nullptr && p->in != nullptr) {
    announced = p->in->state.id();
    footprint.add(p->in->readable, Access::write);
  }
  footprint.add(id(), Access::read_write);  // installs the accepted socket
  if (rt::model_op(Access::read_write, announced, footprint.view(), "accept", where) == nullptr)
    return {};
  Status failure;
  Description* d = resolve(listener, "accept", false, where, &failure);
  if (d == nullptr) return {};
  if (d->kind != Description::Kind::listener) {
    fail(kEINVAL);
    return {};
  }
  Channel& c = *d->in;
  const ThreadId me = rt::current_thread();
  bool blocked = false;
  while (!c.state.read().readable()) {
    // Blocks until a connection is queued or the socket is shut down; close() does not wake it.
    c.state.write().waiters.push_back({me, listener.value, "accept"});
    const Touch wait_footprint[] = {c.state.writes(), {id(), Access::read_write}};
    if (rt::model_op(Access::sync, c.readable, wait_footprint, "accept (blocked)", where,
                     WaitFor::event_set) == nullptr)
      return {};
    std::vector<Channel::Waiter>& waiters = c.state.write().waiters;
    waiters.erase(std::find_if(waiters.begin(), waiters.end(),
                               [&](const Channel::Waiter& w) { return w.thread == me; }));
    blocked = true;
  }
  if (blocked) rt::set_wait_note(me, {});
  Channel::State& s = c.state.write();
  if (s.read_shut) {
    fail(kEINVAL);  // shutdown(2) on the listening socket: accept fails with EINVAL
    return {};
  }
  std::shared_ptr<Description> server = std::move(s.pending.front());
  s.pending.erase(s.pending.begin());
  if (!s.readable()) rt::event_clear(c.readable, where);
  set_last_error(kErrorSuccess);
  return install(std::move(server), where);
}

Fd PosixIo::dup(const Fd& fd, const std::source_location& where) {
  if (rt::model_op(Access::write, id(), {}, "dup", where) == nullptr) return {};
  Status failure;
  Description* d = resolve(fd, "dup", false, where, &failure);
  if (d == nullptr) return {};
  std::shared_ptr<Description> shared =
      table_.read()[static_cast<std::size_t>(fd.value)].description;
  set_last_error(kErrorSuccess);
  return install(std::move(shared), where);
}

// --- close and shutdown -------------------------------------------------------------------------

Status PosixIo::close(const Fd& fd, const std::source_location& where) {
  Touches footprint;
  if (const Description* d = provenance(fd)) add_channels(footprint, d, Access::read_write);
  footprint.add(readiness_, Access::write);
  if (rt::model_op(Access::write, id(), footprint.view(), "close", where) == nullptr) return {};
  Status failure;
  Description* d = resolve(fd, "close", true, where, &failure);
  if (d == nullptr) return failure;
  const auto n = static_cast<std::size_t>(fd.value);
  std::vector<Slot>& t = table_.write();
  std::shared_ptr<Description> keep = t[n].description;  // the numbers may not hold it now
  t[n].open = false;
  t[n].description.reset();
  const Provenance now = here(where);
  history_[n].back().closed = now;
  // Linux: a thread blocked reading through this number keeps its own reference and is not
  // woken. Say so on its line of the deadlock finding, if nothing else wakes it.
  if (d->in != nullptr) {
    for (const Channel::Waiter& w : d->in->state.read().waiters) {
      if (w.fd != fd.value) continue;
      const std::string fix =
          d->kind == Description::Kind::listener
              ? std::string(
                    "call shutdown(fd, SHUT_RD) (or SHUT_RDWR) before close(): "
                    "shutdown(2) wakes the blocked accept, which fails with EINVAL")
          : d->in->is_socket
              ? std::string(
                    "call shutdown(fd, SHUT_RD) (or SHUT_RDWR) before close(): "
                    "shutdown(2) wakes the blocked call, which returns 0")
              : std::string(
                    "shutdown(2) wakes a blocked read on a socket; for a pipe, close "
                    "every descriptor of its write end (the read returns 0) or write a "
                    "wake-up byte before close()");
      rt::set_wait_note(w.thread,
                        detail::close_does_not_wake(w.call, fmt::format("fd {}", fd.value),
                                                    d->label, now, where, fix),
                        now.step);
    }
  }
  if (descriptors_of(d) == 0) {
    // The description's last descriptor: its write side is gone (end of file for the reader),
    // and its epoll entries go (epoll_wait drops entries whose description has no descriptor).
    if (d->out != nullptr) {
      d->out->state.write().writer_gone = true;
      rt::event_signal(d->out->readable, where);
    }
    rt::event_signal(readiness_, where);
  }
  set_last_error(kErrorSuccess);
  return Status{};
}

Status PosixIo::shutdown(const Fd& fd, Shut how, const std::source_location& where) {
  Touches footprint;
  if (const Description* d = provenance(fd)) add_channels(footprint, d, Access::read_write);
  footprint.add(readiness_, Access::write);
  if (rt::model_op(Access::read, id(), footprint.view(), "shutdown", where) == nullptr) return {};
  Status failure;
  Description* d = resolve(fd, "shutdown", false, where, &failure);
  if (d == nullptr) return failure;
  if (d->kind != Description::Kind::socket && d->kind != Description::Kind::listener)
    return fail(kENOTSOCK);
  if (d->kind == Description::Kind::listener && how == Shut::wr) return fail(kENOTCONN);
  if (how == Shut::rd || how == Shut::rdwr) {
    d->in->state.write().read_shut = true;
    rt::event_signal(d->in->readable, where);
  }
  if ((how == Shut::wr || how == Shut::rdwr) && d->out != nullptr) {
    d->out->state.write().write_shut = true;
    rt::event_signal(d->out->readable, where);
  }
  rt::event_signal(readiness_, where);
  set_last_error(kErrorSuccess);
  return Status{};
}

// --- read and write ---------------------------------------------------------------------------

IoResult PosixIo::receive(const Fd& fd, std::size_t max, const char* api,
                          const std::source_location& where) {
  const Description* p = provenance(fd);
  Touches footprint;
  footprint.add(id(), Access::read);
  ObjectId announced = id();
  if (p != nullptr && p->in != nullptr) {
    announced = p->in->state.id();
    footprint.add(p->in->readable, Access::write);
  }
  if (rt::model_op(Access::read_write, announced, footprint.view(), api, where) == nullptr)
    return {};
  Status failure;
  Description* d = resolve(fd, api, false, where, &failure);
  if (d == nullptr) return IoResult{-1, {}, failure.error};
  if (d->in == nullptr) return IoResult{-1, {}, fail(kEBADF).error};  // a pipe's write end
  if (d->kind == Description::Kind::listener) return IoResult{-1, {}, fail(kENOTCONN).error};
  Channel& c = *d->in;
  const ThreadId me = rt::current_thread();
  bool blocked = false;
  while (!c.state.read().readable()) {
    // Blocks on the channel's event. It holds the description: close(fd) does not wake it.
    c.state.write().waiters.push_back({me, fd.value, api});
    const Touch wait_footprint[] = {c.state.writes()};
    if (rt::model_op(Access::sync, c.readable, wait_footprint,
                     std::string_view(api) == "recv" ? "recv (blocked)" : "read (blocked)", where,
                     WaitFor::event_set) == nullptr)
      return {};
    std::vector<Channel::Waiter>& waiters = c.state.write().waiters;
    waiters.erase(std::find_if(waiters.begin(), waiters.end(),
                               [&](const Channel::Waiter& w) { return w.thread == me; }));
    blocked = true;
  }
  if (blocked) rt::set_wait_note(me, {});
  Channel::State& s = c.state.write();
  IoResult r;
  if (!s.read_shut) {
    const std::size_t n = std::min(max, s.bytes.size());
    r.data = s.bytes.substr(0, n);
    s.bytes.erase(0, n);
  }
  r.n = static_cast<long>(r.data.size());  // 0: end of file, or SHUT_RD
  if (!s.readable()) rt::event_clear(c.readable, where);
  set_last_error(kErrorSuccess);
  return r;
}

IoResult PosixIo::transmit(const Fd& fd, std::string_view data, const char* api,
                           const std::source_location& where) {
  const Description* p = provenance(fd);
  Touches footprint;
  footprint.add(id(), Access::read);
  ObjectId announced = id();
  if (p != nullptr && p->out != nullptr) {
    announced = p->out->state.id();
    footprint.add(p->out->readable, Access::write);
  }
  footprint.add(readiness_, Access::write);
  if (rt::model_op(Access::read_write, announced, footprint.view(), api, where) == nullptr)
    return {};
  Status failure;
  Description* d = resolve(fd, api, false, where, &failure);
  if (d == nullptr) return IoResult{-1, {}, failure.error};
  if (d->out == nullptr) return IoResult{-1, {}, fail(kEBADF).error};  // a pipe's read end
  Channel::State& s = d->out->state.write();
  if (s.write_shut) return IoResult{-1, {}, fail(kEPIPE).error};
  s.bytes.append(data);
  if (s.readable()) rt::event_signal(d->out->readable, where);
  rt::event_signal(readiness_, where);
  set_last_error(kErrorSuccess);
  return IoResult{static_cast<long>(data.size()), {}, kErrorSuccess};
}

// --- epoll ------------------------------------------------------------------------------------

Status PosixIo::epoll_ctl(const Fd& ep, EpollOp op, const Fd& fd, std::uint32_t events,
                          const std::source_location& where) {
  return epoll_ctl(ep, op, fd, events, static_cast<std::uint64_t>(fd.value), where);
}

Status PosixIo::epoll_ctl(const Fd& ep, EpollOp op, const Fd& fd, std::uint32_t events,
                          std::uint64_t data, const std::source_location& where) {
  const Description* p = provenance(ep);
  Touches footprint;
  footprint.add(id(), Access::read);
  ObjectId announced = id();
  if (p != nullptr && p->epoll != nullptr) announced = p->epoll->state.id();
  footprint.add(readiness_, Access::write);
  const char* api = op == EpollOp::add   ? "epoll_ctl(EPOLL_CTL_ADD)"
                    : op == EpollOp::mod ? "epoll_ctl(EPOLL_CTL_MOD)"
                                         : "epoll_ctl(EPOLL_CTL_DEL)";
  if (rt::model_op(Access::read_write, announced, footprint.view(), api, where) == nullptr)
    return {};
  Status failure;
  Description* e = resolve(ep, api, false, where, &failure);
  if (e == nullptr) return failure;
  Description* d = resolve(fd, api, false, where, &failure);
  if (d == nullptr) return failure;
  if (e->epoll == nullptr || d == e) return fail(kEINVAL);
  std::vector<Epoll::Interest>& list = e->epoll->state.write();
  // Entries whose description has no descriptor left are gone (epoll(7) Q6).
  std::erase_if(list,
                [&](const Epoll::Interest& i) { return descriptors_of(i.description.get()) == 0; });
  auto it = std::find_if(list.begin(), list.end(), [&](const Epoll::Interest& i) {
    return i.description.get() == d && i.fd == fd.value;
  });
  switch (op) {
    case EpollOp::add:
      if (it != list.end()) return fail(kEEXIST);
      list.push_back({table_.read()[static_cast<std::size_t>(fd.value)].description, fd.value,
                      events, data, here(where)});
      rt::event_signal(readiness_, where);  // an entry ready now wakes epoll_wait
      break;
    case EpollOp::mod:
      if (it == list.end()) return fail(kENOENT);
      it->events = events;
      it->data = data;
      it->registered = here(where);
      rt::event_signal(readiness_, where);
      break;
    case EpollOp::del:
      if (it == list.end()) return fail(kENOENT);
      list.erase(it);
      break;
  }
  set_last_error(kErrorSuccess);
  return Status{};
}

std::vector<EpollEvent> PosixIo::epoll_wait(const Fd& ep, std::size_t max_events,
                                            const std::source_location& where) {
  const Description* p = provenance(ep);
  ObjectId announced = id();
  if (p != nullptr && p->epoll != nullptr) announced = p->epoll->state.id();
  // It checks every entry's description: any model object.
  const Touch footprint[] = {{kAllModelObjects, Access::read_write},
                             {readiness_, Access::read_write}};
  if (rt::model_op(Access::read_write, announced, footprint, "epoll_wait", where) == nullptr)
    return {};
  Status failure;
  Description* e = resolve(ep, "epoll_wait", false, where, &failure);
  if (e == nullptr) return {};
  if (e->epoll == nullptr) {
    fail(kEINVAL);
    return {};
  }
  // Which events an entry has now.
  auto ready = [&](const Epoll::Interest& i) {
    const Description& d = *i.description;
    std::uint32_t got = 0;
    if (d.in != nullptr) {
      const Channel::State& s = d.in->state.read();
      if (s.readable()) got |= kEpollIn;
      if (s.writer_gone) got |= kEpollHup;
    }
    if (d.out != nullptr && !d.out->state.read().write_shut) got |= kEpollOut;
    return got & (i.events | kEpollHup);
  };
  auto collect = [&] {
    std::vector<EpollEvent> out;
    std::vector<Epoll::Interest>& list = e->epoll->state.write();
    std::erase_if(
        list, [&](const Epoll::Interest& i) { return descriptors_of(i.description.get()) == 0; });
    const Provenance now = here(where);
    for (const Epoll::Interest& i : list) {
      const std::uint32_t got = ready(i);
      if (got == 0 || out.size() == max_events) continue;
      out.push_back(EpollEvent{got, i.data, i.fd, i.description, i.registered, now});
    }
    return out;
  };
  for (;;) {
    std::vector<EpollEvent> events = collect();
    if (!events.empty()) {
      set_last_error(kErrorSuccess);
      return events;
    }
    // Nothing ready: clear the readiness event unless another instance has an entry ready
    // (it may have been set for that one), then block until a step sets it.
    bool any = false;
    for (const auto& other : epolls_) {
      for (const Epoll::Interest& i : other->state.read())
        any = any || (descriptors_of(i.description.get()) > 0 && ready(i) != 0);
    }
    if (!any) rt::event_clear(readiness_, where);
    const Touch blocked[] = {{kAllModelObjects, Access::read_write}};
    if (rt::model_op(Access::sync, readiness_, blocked, "epoll_wait (blocked)", where,
                     WaitFor::event_set) == nullptr)
      return {};
  }
}

Fd PosixIo::fd_of(const EpollEvent& event) const {
  Fd fd;
  fd.value = static_cast<int>(event.data);
  fd.description = event.description;
  fd.io = id();
  fd.from_event = true;
  fd.delivered = event.delivered;
  fd.registered = event.registered;
  fd.created = event.delivered;
  return fd;
}

// --- inspection -------------------------------------------------------------------------------

std::size_t PosixIo::open_count() const {
  std::size_t n = 0;
  for (const Slot& s : table_.peek())
    n += s.open ? 1 : 0;
  return n;
}

bool PosixIo::is_open(const Fd& fd) const {
  const std::vector<Slot>& t = table_.peek();
  return fd.value >= 0 && static_cast<std::size_t>(fd.value) < t.size() &&
         t[static_cast<std::size_t>(fd.value)].open &&
         (fd.from_event ? t[static_cast<std::size_t>(fd.value)].description == fd.description
                        : t[static_cast<std::size_t>(fd.value)].generation == fd.generation);
}

std::string PosixIo::describe_number(int number) const {
  const std::vector<Slot>& t = table_.peek();
  if (number < 0 || static_cast<std::size_t>(number) >= t.size() ||
      !t[static_cast<std::size_t>(number)].open)
    return {};
  return t[static_cast<std::size_t>(number)].description->label;
}

}  // namespace hc::models

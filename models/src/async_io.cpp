// Asynchronous I/O racing Close/Dispose (hc/models/async_io.hpp).
#include "hc/models/async_io.hpp"

#include <array>
#include <span>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

// --- the completion queue ----------------------------------------------------------------------

CompletionQueue::CompletionQueue(std::string name, QueueKind kind)
    : name_(std::move(name)), kind_(kind), packets_(name_ + ": packets") {
  if (rt::in_execution()) ready_ = rt::register_event(name_ + ": completions queued", false, false);
}

Completion CompletionQueue::dequeue(const std::source_location& where) {
  const char* api = kind_ == QueueKind::iocp ? "GetQueuedCompletionStatus" : "io_uring_wait_cqe";
  const Touch footprint[] = {packets_.writes()};
  if (rt::model_op(Access::sync, ready_, footprint, api, where, WaitFor::event_set) == nullptr)
    return {};
  std::deque<Completion>& q = packets_.write();
  Completion c = std::move(q.front());
  q.pop_front();
  if (!q.empty()) rt::event_signal(ready_, where);  // more packets: the next waiter may go
  return c;
}

// --- the I/O manager ---------------------------------------------------------------------------

struct AsyncIo::Op {
  std::uint32_t number = 0;  // 1-based
  Api api = Api::read_file;
  RawHandle handle;           // the value it was started on, with its provenance
  ObjectId file = kNoObject;  // K: the kernel object the request holds
  std::string file_label;
  UserMemory* buffer = nullptr;
  UserMemory* overlapped = nullptr;  // Windows only
  CompletionQueue* queue = nullptr;  // where its completion goes (none: not associated)
  std::uint64_t key = 0;             // the completion key / user_data
  Provenance submitted;
  std::source_location where{};
  std::string thread_name;    // "device: ReadFile #1"
  ObjectId done = kNoObject;  // D(op): set when it completes
  hc::thread device;

  bool windows() const { return api == Api::read_file || api == Api::write_file; }
  bool reads() const { return api == Api::read_file || api == Api::uring_read; }
  const char* api_name() const {
    switch (api) {
      case Api::read_file:
        return "ReadFile";
      case Api::write_file:
        return "WriteFile";
      case Api::uring_read:
        return "io_uring read";
      case Api::uring_write:
        return "io_uring write";
    }
    return "?";
  }
};

AsyncIo::AsyncIo(HandleTable& table, std::string_view name, const std::source_location&)
    : table_(table), name_(name), requests_(fmt::format("{}: requests", name)) {}

AsyncIo::~AsyncIo() {
  // Every pending operation completes first. While an ended execution is torn down, the
  // threads' own destructors join (hc::thread's join_in_destructor returns there).
  if (!rt::in_execution() || rt::tearing_down()) return;
  for (std::unique_ptr<Op>& op : ops_)
    if (op->device.joinable()) op->device.join(op->where);
}

Status AsyncIo::associate(const RawHandle& h, CompletionQueue& port, std::uint64_t key,
                          const std::source_location& where) {
  std::array<Touch, 5> footprint{};
  const std::size_t n = table_.use_touches(h, Access::read, footprint);
  if (rt::model_op(Access::read_write, requests_.id(), std::span<const Touch>(footprint.data(), n),
                   "CreateIoCompletionPort", where) == nullptr)
    return {};
  Status failure;
  const RawHandle named = table_.use_in_step(h, "CreateIoCompletionPort", where, &failure);
  if (!named.valid()) return failure;
  requests_.write().associations.push_back({table_.kernel_object(named), &port, key});
  return {};
}

std::uint32_t AsyncIo::read_file(const RawHandle& h, UserMemory& buffer, UserMemory& overlapped,
                                 const std::source_location& where) {
  return start(Api::read_file, nullptr, h, buffer, &overlapped, 0, where);
}

std::uint32_t AsyncIo::write_file(const RawHandle& h, UserMemory& buffer, UserMemory& overlapped,
                                  const std::source_location& where) {
  return start(Api::write_file, nullptr, h, buffer, &overlapped, 0, where);
}

std::uint32_t AsyncIo::submit_read(CompletionQueue& ring, const RawHandle& fd, UserMemory& buffer,
                                   std::uint64_t user_data, const std::source_location& where) {
  return start(Api::uring_read, &ring, fd, buffer, nullptr, user_data, where);
}

std::uint32_t AsyncIo::submit_write(CompletionQueue& ring, const RawHandle& fd, UserMemory& buffer,
                                    std::uint64_t user_data, const std::source_location& where) {
  return start(Api::uring_write, &ring, fd, buffer, nullptr, user_data, where);
}

std::uint32_t AsyncIo::start(Api api, CompletionQueue* ring, const RawHandle& h, UserMemory& buffer,
                             UserMemory* overlapped, std::uint64_t user_data,
                             const std::source_location& where) {
  auto op = std::make_unique<Op>();
  op->api = api;
  const char* label = op->api_name();
  std::array<Touch, 5> footprint{};
  const std::size_t n = table_.use_touches(h, Access::read, footprint);
  if (rt::model_op(Access::read_write, requests_.id(), std::span<const Touch>(footprint.data(), n),
                   label, where) == nullptr)
    return 0;
  Status failure;
  const RawHandle named = table_.use_in_step(h, label, where, &failure);
  if (!named.valid()) return 0;
  Requests& r = requests_.write();
  r.ops.emplace_back();
  op->number = static_cast<std::uint32_t>(r.ops.size());
  op->handle = named;
  op->file = table_.kernel_object(named);
  op->file_label = table_.kernel_label(named);
  op->buffer = &buffer;
  op->overlapped = overlapped;
  op->submitted = here(where);
  op->where = where;
  if (ring != nullptr) {
    op->queue = ring;
    op->key = user_data;
  } else {
    // The file's association (CreateIoCompletionPort), if any: the latest one for the file.
    for (const Association& a : r.associations) {
      if (a.file == op->file) {
        op->queue = a.port;
        op->key = a.key;
      }
    }
  }
  if (op->windows()) models::set_last_error(kErrorIoPending);  // FALSE + ERROR_IO_PENDING
  op->thread_name = fmt::format("device: {} #{}", label, op->number);
  op->done = rt::register_event(fmt::format("{}: {} #{} completed", name_, label, op->number), true,
                                false);
  Op* raw = op.get();
  ops_.push_back(std::move(op));
  raw->device = hc::thread(
      raw->thread_name, [this, raw] { complete(*raw); }, where);
  return raw->number;
}

Status AsyncIo::cancel_io_ex(const RawHandle& h, const UserMemory* overlapped,
                             const std::source_location& where) {
  std::array<Touch, 5> footprint{};
  const std::size_t n = table_.use_touches(h, Access::read, footprint);
  if (rt::model_op(Access::read_write, requests_.id(), std::span<const Touch>(footprint.data(), n),
                   "CancelIoEx", where) == nullptr)
    return {};
  Status failure;
  const RawHandle named = table_.use_in_step(h, "CancelIoEx", where, &failure);
  if (!named.valid()) return failure;
  const ObjectId file = table_.kernel_object(named);
  Requests& r = requests_.write();
  bool found = false;
  for (std::size_t i = 0; i < ops_.size() && i < r.ops.size(); ++i) {
    const Op& op = *ops_[i];
    if (!op.windows() || op.file != file || r.ops[i].completed) continue;
    if (overlapped != nullptr && op.overlapped != overlapped) continue;
    if (!r.ops[i].cancel_requested) {
      r.ops[i].cancel_requested = true;
      r.ops[i].cancelled_by = here(where);
    }
    found = true;
  }
  if (!found) {
    models::set_last_error(kErrorNotFound);
    return Status{false, kErrorNotFound};
  }
  return {};
}

Completion AsyncIo::get_overlapped_result(std::uint32_t number, const std::source_location& where) {
  if (number == 0 || number > ops_.size())
    throw usage_error(fmt::format("GetOverlappedResult: {} is no operation of '{}' ({} started)",
                                  number, name_, ops_.size()));
  const Op& op = *ops_[number - 1];
  const Touch footprint[] = {requests_.reads()};
  if (rt::model_op(Access::sync, op.done, footprint, "GetOverlappedResult (wait)", where,
                   WaitFor::event_set) == nullptr)
    return {};
  const OpState& state = requests_.read().ops[number - 1];
  Completion c;
  c.ok = true;
  c.op = number;
  c.key = op.key;
  c.error = state.aborted ? kErrorOperationAborted : kErrorSuccess;
  c.bytes = state.aborted ? 0 : 1;
  c.res = state.aborted ? -kECANCELED : static_cast<std::int32_t>(c.bytes);
  c.overlapped = op.overlapped;
  c.buffer = op.buffer;
  c.handle = op.handle;
  c.file = op.file_label;
  return c;
}

void AsyncIo::complete(Op& op) {
  // The device completes the operation: one step of its own thread, at an explored point,
  // announced at the line that started the operation (the user's line).
  std::array<Touch, 7> footprint{};
  std::size_t n = 0;
  footprint[n++] = {op.file, Access::read_write};
  footprint[n++] = {op.buffer->id(), Access::read_write};
  if (op.overlapped != nullptr) footprint[n++] = {op.overlapped->id(), Access::read_write};
  footprint[n++] = {op.done, Access::write};
  if (op.queue != nullptr) {
    footprint[n++] = op.queue->packets_.writes();
    footprint[n++] = {op.queue->ready_, Access::write};
  }
  if (rt::model_op(Access::read_write, requests_.id(), std::span<const Touch>(footprint.data(), n),
                   op.reads() ? "I/O completion (read)" : "I/O completion (write)",
                   op.where) == nullptr)
    return;
  OpState& state = requests_.write().ops[op.number - 1];
  // Windows: a cancel request, or the file's last handle closed (CloseHandle's cleanup cancels
  // the file's pending I/O): the operation completes with ERROR_OPERATION_ABORTED. io_uring:
  // close() does not cancel (the request holds its own reference to the file).
  const bool cancelled =
      op.windows() && (state.cancel_requested || table_.kernel_handles(op.handle, op.where) == 0);
  if (op.reads() && !cancelled) {
    if (op.buffer->freed_in_step(op.where)) report_after_free(op, *op.buffer, cancelled, "data");
  }
  if (op.overlapped != nullptr && op.overlapped->freed_in_step(op.where))
    report_after_free(op, *op.overlapped, cancelled, "status (Internal, InternalHigh)");
  state.completed = true;
  state.aborted = cancelled;
  rt::event_signal(op.done, op.where);
  if (op.queue == nullptr) return;
  Completion c;
  c.ok = true;
  c.op = op.number;
  c.key = op.key;
  c.error = cancelled ? kErrorOperationAborted : kErrorSuccess;
  c.bytes = cancelled ? 0 : 1;
  c.res = cancelled ? -kECANCELED : static_cast<std::int32_t>(c.bytes);
  c.overlapped = op.overlapped;
  c.buffer = op.buffer;
  c.handle = op.handle;
  c.file = op.file_label;
  op.queue->packets_.write().push_back(std::move(c));
  rt::event_signal(op.queue->ready_, op.where);
}

void AsyncIo::report_after_free(const Op& op, const UserMemory& memory, bool cancelled,
                                const char* wrote) {
  const Provenance now = here(op.where);
  const Provenance& freed = *memory.freed_by();
  const std::string value = table_.format_value(op.handle.value);
  std::string outcome;
  std::string advice;
  if (op.windows()) {
    outcome = cancelled ? "with ERROR_OPERATION_ABORTED (cancelled: CancelIoEx, or CloseHandle "
                          "of the file's last handle; a cancelled operation still completes)"
                        : "successfully";
    advice = fmt::format(
        "Cancelling (CancelIoEx, CloseHandle, Dispose) does not stop the completion: it still "
        "arrives{} and writes the OVERLAPPED (and a read's buffer). Free them only once the "
        "completion has been dequeued (free them in the completion callback, as "
        "ThreadPoolBoundHandle's FreeNativeOverlapped does), or CancelIoEx and wait for the "
        "completion before freeing",
        op.queue != nullptr ? fmt::format(" on '{}'", op.queue->name()) : std::string());
  } else {
    outcome = "on the file the request holds (close() neither cancels nor waits for it)";
    advice =
        "close() does not cancel an io_uring request: it keeps its own reference to the file. "
        "Keep the buffer until the request's CQE has been reaped (cancel with "
        "IORING_OP_ASYNC_CANCEL and reap both CQEs first if it must end early)";
  }
  const std::string closes = table_.history(op.handle);
  FindingRefs refs{.steps = {op.submitted.step, now.step, freed.step},
                   .objects = {memory.id(), op.file}};
  table_.add_history_refs(op.handle, refs);
  report(FindingKind::io_completed_after_free,
         fmt::format("I/O completed after free: the {} started by {} on {} ({}) completed at step "
                     "{} {}, and the completion wrote its {} into '{}', which thread '{}' freed "
                     "at {} (step {}). Handle history: {}. {}",
                     op.api_name(), describe(op.submitted), value, op.file_label, now.step, outcome,
                     wrote, memory.name(), freed.thread_name, site(freed.where), freed.step, closes,
                     advice),
         op.where,
         fmt::format("io-completed-after-free|{}|{}|{}", memory.name(), site(op.where),
                     site(freed.where)),
         std::move(refs));
}

bool AsyncIo::completed(std::uint32_t op) const {
  const Requests& r = requests_.peek();
  return op >= 1 && op <= r.ops.size() && r.ops[op - 1].completed;
}

std::string AsyncIo::file_of(std::uint32_t op) const {
  return op >= 1 && op <= ops_.size() ? ops_[op - 1]->file_label : std::string();
}

}  // namespace hc::models

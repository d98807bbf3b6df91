#include "runtime/trace_renderer.hpp"

#include <string>

#include <fmt/format.h>

#include "runtime/execution.hpp"
#include "runtime/paths.hpp"

namespace hc {

std::string rt::display_path(std::string_view file) {
  return detail::display_path(file);
}

namespace detail {

std::vector<ChoiceRecord> render_choice_records(const Execution& exec) {
  const std::span<const Step> trace = exec.trace();
  const std::size_t choices = exec.choice_count();
  std::vector<ChoiceRecord> out;
  out.reserve(choices);
  for (std::size_t i = 0; i < choices; ++i) {
    ChoiceRecord r;
    const std::uint32_t index = exec.choice_step(i);
    r.step = index + 1;
    if (index < trace.size()) {
      const Step& s = trace[index];
      r.thread_name = exec.thread_name_view(s.thread);
      r.operation = std::string(op_kind_name(s.kind));
      r.label = s.label;
      if (s.where.line() != 0) {
        r.file = display_path(s.where.file_name());
        r.line = s.where.line();
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RichStep> render_trace(const Execution& exec) {
  const std::span<const Step> trace = exec.trace();
  // The steps that preempted a thread, ascending: thread choices that did.
  std::vector<std::uint32_t> preemptions;
  for (std::size_t i = 0; i < exec.choice_count(); ++i) {
    if (exec.preempted_at_choice(i)) preemptions.push_back(exec.choice_step(i));
  }
  std::vector<RichStep> out;
  out.reserve(trace.size());
  std::size_t p = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const Step& s = trace[i];
    RichStep r;
    r.index = static_cast<std::uint32_t>(i + 1);
    r.thread = s.thread;
    r.thread_name = exec.thread_name_view(s.thread);
    r.operation = std::string(op_kind_name(s.kind));
    r.object =
        s.kind == OpKind::thread_join
            ? fmt::format("thread '{}'", exec.thread_name_view(static_cast<ThreadId>(s.value)))
            : exec.object_label(s.object);
    r.label = s.label;
    if (s.where.line() != 0) {
      r.file = display_path(s.where.file_name());
      r.line = s.where.line();
    }
    r.has_value = s.has_value;
    r.value = s.value;
    // hc::atomic's compare-exchange is announced as a read-write and turned into a read when
    // it fails (atomic.hpp): the recorded access says which. ModelAtomic's is a model
    // operation, recorded as the read-modify-write it may be either way: it says its outcome
    // in cas_outcome.
    if (s.kind == OpKind::atomic_cas) r.succeeded = s.access != Access::read;
    if (s.cas_outcome != 0) r.succeeded = s.cas_outcome == 1;
    while (p < preemptions.size() && preemptions[p] < i)
      ++p;
    r.preemption = p < preemptions.size() && preemptions[p] == i;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace detail
}  // namespace hc

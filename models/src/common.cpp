#include "hc/models/common.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

Provenance here(const std::source_location& where) {
  Provenance p;
  p.thread = rt::current_thread();
  p.thread_name = std::string(rt::thread_name(p.thread));
  p.step = rt::current_step();
  p.where = where;
  return p;
}

std::string site(const std::source_location& where) {
  if (where.line() == 0) return "an unrecorded line";
  return fmt::format("{}:{}", rt::display_path(where.file_name()), where.line());
}

std::string describe(const Provenance& p) {
  return fmt::format("thread '{}' at step {} ({})", p.thread_name, p.step, site(p.where));
}

void report(FindingKind kind, std::string message, const std::source_location& where,
            const std::string& signature, FindingRefs refs) {
  rt::report(kind, std::move(message), where, signature, std::move(refs));
  // rt::report returns only while an ended execution is unwound (runtime/execution.hpp,
  // "Teardown"), where the model cannot go on from a finding: abort() in a thread the teardown
  // unwinds abandons that thread (runtime/faults.hpp), a fallback counted in
  // Stats::unwind_fallbacks. Models skip their checks while tearing down where they can.
  std::abort();
}

}  // namespace hc::models

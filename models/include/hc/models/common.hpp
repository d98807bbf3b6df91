// hc/models/common.hpp — what every model shares: provenance (who did something, at which
// step, where) and how findings name places, so that every model reports in the same words.
//
//   hc::models::Provenance created = hc::models::here(where);
//   ... "created by " + describe(created) ...   // "thread 'T3' at step 19 (file.cpp:42)"
#pragma once

#include <cstdint>
#include <source_location>
#include <string>

#include "hc/finding.hpp"
#include "hc/operation.hpp"

namespace hc::models {

/// Who did something, when (the step it happened at) and where in the source.
struct Provenance {
  ThreadId thread = kNoThread;
  std::string thread_name;
  std::uint32_t step = 0;  // the step number of the operation (1-based)
  std::source_location where{};
};

/// The current thread, at the step being executed, at `where`.
Provenance here(const std::source_location& where);

/// "thread 'T3' at step 19 (scenarios/x.cpp:42)".
std::string describe(const Provenance& p);

/// "scenarios/x.cpp:42", relative to the project when inside it.
std::string site(const std::source_location& where);

/// Ends the execution with a model finding (hc::rt::report with the site in the signature).
/// `refs` lists every step the message mentions ("at step 19", in the message's order, the
/// current one included) and the objects the finding is about (see hc::FindingRefs).
[[noreturn]] void report(FindingKind kind, std::string message, const std::source_location& where,
                         const std::string& signature, FindingRefs refs = {});

}  // namespace hc::models

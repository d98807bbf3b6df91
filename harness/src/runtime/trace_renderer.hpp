// trace_renderer.hpp — a finished execution in people's words: the rich trace (thread and
// object names, sites, values, preemptions) and the choice records of a finding.
//
// The renderer only reads: it works over the const accessors of an Execution whose run is
// over (trace(), choices(), choice_step(), preempted_at_choice(), thread_name_view(),
// object_label()), valid until that Execution runs again. Nothing here is on the scheduling path.
#pragma once

#include <vector>

#include "hc/finding.hpp"

namespace hc::detail {

class Execution;

/// The last run's trace in people's words: thread and object names, locations, values, and
/// whether each compare-exchange succeeded (RichStep::succeeded).
std::vector<RichStep> render_trace(const Execution& exec);

/// The last run's choices in words (thread name, operation, label, site of each).
std::vector<ChoiceRecord> render_choice_records(const Execution& exec);

}  // namespace hc::detail

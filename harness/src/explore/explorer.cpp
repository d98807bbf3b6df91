// explorer.cpp — the loop of executions: strategy, budgets, de-duplication, the determinism
// re-run of every new finding, and the scenario-level verdict.
#include "hc/explorer.hpp"

#include <chrono>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "runtime/execution.hpp"

namespace hc {
namespace {

using Clock = std::chrono::steady_clock;  // budgets and progress only: never decides a schedule

std::unique_ptr<Strategy> build_strategy(const ExploreOptions& o, Metrics* metrics,
                                         std::string* replay_note, int* bound_reached) {
  std::unique_ptr<Strategy> base;
  if (o.strategy_factory) {
    base = o.strategy_factory();
  } else if (o.replay_file) {
    std::unique_ptr<Strategy> inner;
    if (o.strategy != "replay") {
      inner = make_strategy(
          o.strategy, StrategyOptions{o.seed, o.preemption_bound, o.pct_depth, bound_reached});
      if (!inner) throw usage_error(fmt::format("unknown strategy '{}'", o.strategy));
    }
    base = make_named_replay_strategy(*o.replay_file, std::move(inner), o.continue_after_divergence,
                                      replay_note);
  } else if (o.strategy == "replay") {
    if (o.replay.empty()) {
      throw usage_error("strategy 'replay' needs a schedule to replay: pass --replay CHOICES");
    }
    base = make_replay_strategy(o.replay, nullptr);
  } else {
    base = make_strategy(o.strategy,
                         StrategyOptions{o.seed, o.preemption_bound, o.pct_depth, bound_reached});
    if (!base) {
      std::string names;
      for (std::string_view n : strategy_names())
        names += fmt::format("{}{}", names.empty() ? "" : ", ", n);
      throw usage_error(fmt::format("unknown strategy '{}': use one of {}", o.strategy, names));
    }
    if (!o.replay.empty()) base = make_replay_strategy(o.replay, std::move(base));
  }
  return make_metrics_strategy(std::move(base), metrics);
}

/// What must be equal for a re-run to count as the same execution.
using Shape = std::vector<std::tuple<ThreadId, OpKind, ObjectId>>;

Shape shape_of(std::span<const Step> steps) {
  Shape s;
  s.reserve(steps.size());
  for (const Step& st : steps)
    s.emplace_back(st.thread, st.kind, st.object);
  return s;
}

/// Re-runs the failing execution from its choices; returns a nondeterminism finding if it does
/// something else.
std::optional<Finding> check_reproduces(detail::Execution& exec, const std::function<void()>& body,
                                        const Finding& original, const Shape& original_shape) {
  auto replay = make_replay_strategy(original.schedule, nullptr);
  replay->begin_execution();
  std::optional<Finding> again = exec.run(body, *replay);
  const Shape shape = shape_of(exec.trace());
  const bool same = again && again->kind == original.kind &&
                    again->signature == original.signature && shape == original_shape;
  if (same) return std::nullopt;
  std::size_t first_difference = 0;
  while (first_difference < shape.size() && first_difference < original_shape.size() &&
         shape[first_difference] == original_shape[first_difference])
    ++first_difference;
  Finding f = original;
  f.kind = FindingKind::nondeterminism;
  f.message = fmt::format(
      "uncontrolled nondeterminism: execution {} found {} ({}) after {} steps, but re-run from "
      "the same {} choices it {} after {} steps (first difference at step {}). The scenario "
      "depends on something handlecheck does not control. Usual causes: state that survives "
      "from one execution to the next (static or global variables, caches, singletons); the "
      "wall clock, rand() or std::random_device; iteration over containers keyed or hashed by "
      "pointers; real OS threads, std::mutex or std::atomic instead of hc:: primitives",
      original.execution + 1, finding_kind_name(original.kind), original.message,
      original_shape.size(), original.schedule.size(),
      again ? fmt::format("found {} ({})", finding_kind_name(again->kind), again->message)
            : std::string("ran clean"),
      shape.size(), first_difference + 1);
  f.signature = "nondeterminism|" + original.signature;
  return f;
}

}  // namespace

Result explore(const std::function<void()>& body, const ExploreOptions& o) {
  if (o.must_reach.size() > 64) throw usage_error("at most 64 must_reach labels per exploration");
  if (o.max_steps == 0) throw usage_error("max_steps must be at least 1");
  Metrics metrics;
  std::string replay_note;
  int bound_reached = -1;
  std::unique_ptr<Strategy> strategy = build_strategy(o, &metrics, &replay_note, &bound_reached);

  detail::ExecutionConfig config;
  config.stack_size = o.stack_size;
  config.guard_pages = o.guard_pages;
  config.max_steps = o.max_steps;
  config.spurious_wakeups = o.spurious_wakeups;
  config.livelock_bound = o.livelock_bound;
  config.must_reach = o.must_reach;
  detail::Execution exec(std::move(config));

  Result result;
  result.strategy = o.strategy;
  std::set<std::string> signatures;
  std::uint64_t reached = 0;
  bool stopped_by_finding = false;
  const Clock::time_point start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

  for (;;) {
    if (o.max_executions != 0 && metrics.executions >= o.max_executions) break;
    if (o.time_budget_seconds > 0 && elapsed() >= o.time_budget_seconds) break;
    if (!strategy->begin_execution()) {
      result.stats.exhausted = true;
      break;
    }
    std::optional<Finding> found = exec.run(body, *strategy);
    Verdict verdict;
    if (found) verdict.finding = found->kind;
    strategy->end_execution(exec.trace(), verdict);
    reached |= exec.reached_mask();

    if (found) {
      if (signatures.insert(found->signature).second) {
        Finding f = std::move(*found);
        f.execution = metrics.executions - 1;
        f.schedule.assign(exec.choices().begin(), exec.choices().end());
        f.schedule_info = exec.choice_records();
        for (const auto& [key, value] : exec.parameters())
          f.parameters.emplace_back(key, value);
        f.trace = exec.rich_trace();
        f.preemptions = exec.preemption_count();
        if (o.check_determinism && f.kind != FindingKind::nondeterminism &&
            f.kind != FindingKind::internal_error) {
          if (auto nd = check_reproduces(exec, body, f, shape_of(exec.trace()))) f = std::move(*nd);
        }
        result.findings.push_back(std::move(f));
      }
      if (o.stop_at_first) {
        stopped_by_finding = true;
        break;
      }
    }
    if (o.progress && (metrics.executions & 1023) == 0) {
      o.progress(Progress{metrics.executions, result.findings.size(), elapsed()});
    }
  }

  if (!stopped_by_finding) {
    for (std::size_t i = 0; i < o.must_reach.size(); ++i) {
      if ((reached >> i) & 1u) continue;
      Finding f;
      f.kind = FindingKind::unreached;
      f.message = fmt::format(
          "'{}' was never reached: no execution of {} ({}) called hc::reached(\"{}\")",
          o.must_reach[i], metrics.executions,
          result.stats.exhausted ? "the whole search space" : "the budget", o.must_reach[i]);
      f.signature = "unreached|" + o.must_reach[i];
      result.findings.push_back(std::move(f));
    }
  }

  result.stats.executions = metrics.executions;
  result.stats.steps = metrics.steps;
  result.stats.context_switches = metrics.context_switches;
  result.stats.preemptions = metrics.preemptions;
  result.stats.max_steps_in_execution = metrics.max_steps_in_execution;
  result.stats.seconds = elapsed();
  result.replay_note = std::move(replay_note);
  result.stats.bound_reached = bound_reached;
  return result;
}

ExploreOptions options_for(const Scenario& scenario, const OptionOverrides& ov) {
  ExploreOptions o;
  const ScenarioInfo& info = scenario.info;
  o.strategy = std::string(info.strategy);
  o.max_executions = info.max_executions;
  o.max_steps = info.max_steps;
  o.preemption_bound = info.preemption_bound;
  for (std::string_view label : info.must_reach)
    o.must_reach.emplace_back(label);
  if (ov.replay) {
    o.replay = *ov.replay;
    o.strategy = "replay";  // exact reproduction unless a strategy is named too
  }
  if (ov.strategy) o.strategy = *ov.strategy;
  if (ov.seed) o.seed = *ov.seed;
  if (ov.max_executions) o.max_executions = *ov.max_executions;
  if (ov.time_budget_seconds) o.time_budget_seconds = *ov.time_budget_seconds;
  if (ov.preemption_bound) o.preemption_bound = *ov.preemption_bound;
  if (ov.pct_depth) o.pct_depth = *ov.pct_depth;
  if (ov.livelock_bound) o.livelock_bound = *ov.livelock_bound;
  if (ov.max_steps) o.max_steps = *ov.max_steps;
  if (ov.stop_at_first) o.stop_at_first = *ov.stop_at_first;
  if (ov.stack_size) o.stack_size = *ov.stack_size;
  if (ov.guard_pages) o.guard_pages = *ov.guard_pages;
  if (ov.spurious_wakeups) o.spurious_wakeups = *ov.spurious_wakeups;
  return o;
}

ScenarioOutcome run_scenario(const Scenario& scenario, const ExploreOptions& options) {
  ScenarioOutcome out;
  out.scenario = &scenario;
  out.options = options;
  const std::function<void()> body = scenario.body;
  out.result = explore(body, options);
  const ScenarioInfo& info = scenario.info;
  const Result& r = out.result;
  if (info.expect.clean()) {
    out.as_expected = r.findings.empty();
    if (!out.as_expected) {
      out.explanation =
          fmt::format("expected clean, found {}", finding_kind_name(r.findings.front().kind));
    }
    return out;
  }
  const FindingKind want = *info.expect.kind;
  for (const Finding& f : r.findings) {
    if (f.kind == want && f.message.find(info.message) != std::string::npos) {
      out.as_expected = true;
      return out;
    }
  }
  if (r.findings.empty()) {
    out.explanation =
        fmt::format("expected {}, but {} execution{} found nothing{}", finding_kind_name(want),
                    r.stats.executions, r.stats.executions == 1 ? "" : "s",
                    r.stats.exhausted ? " (search space exhausted)" : " (budget ran out)");
  } else if (r.findings.front().kind == want) {
    out.explanation = fmt::format(
        "expected {} with a message containing \"{}\"; the message is "
        "\"{}\"",
        finding_kind_name(want), info.message, r.findings.front().message);
  } else {
    out.explanation = fmt::format("expected {}, found {}", finding_kind_name(want),
                                  finding_kind_name(r.findings.front().kind));
  }
  return out;
}

}  // namespace hc

// hc/scenario.hpp — registering scenarios: HC_SCENARIO and the scenario registry.
//
//   HC_SCENARIO("engine/lost-update",
//               .tags = {"engine", "demo"},
//               .expect = hc::FindingKind::check_failure,
//               .message = "lost update") {
//     ... the body is the main simulated thread ...
//   }
//
// Fields after the name are designated initializers of hc::ScenarioInfo, in its order. The
// expected verdict is `.expect` (hc::clean, the default, or a finding kind) and, for a finding,
// `.message`: text its message must contain. A bug whose kind depends on the schedule a
// strategy reaches first may accept several kinds, reported and checked like one:
//
//   .expect = hc::expect_any({hc::FindingKind::deadlock, hc::FindingKind::finalizer_blocked}),
//
// (`list` shows "deadlock or finalizer-blocked"; a finding of any other kind, or none, fails
// the scenario). Registration is static; put scenarios in an OBJECT library (or link the object
// files) so the linker keeps them.
#pragma once

#include <cstdint>
#include <source_location>
#include <span>
#include <string_view>
#include <vector>

#include "hc/finding.hpp"

namespace hc {

struct ScenarioInfo {
  std::string_view name{};                // stable path: "area/what", fixed variants end ".fixed"
  std::vector<std::string_view> tags{};   // for `handlecheck list --tag` / `run --tag`
  Expected expect{};                      // hc::clean, a FindingKind or hc::expect_any({...})
  std::string_view message{};             // a finding's message must contain this
  std::string_view strategy = "dfs";      // default strategy
  std::uint64_t max_executions = 100000;  // default budget (0 = until the strategy is done)
  std::uint32_t max_steps = 10000;        // per execution
  int preemption_bound = -1;              // dfs: -1 = unbounded
  std::vector<std::string_view> must_reach{};  // labels some execution must hc::reached()
  std::vector<std::string_view> must_cover{};  // "A <> B": conflicting ops seen both ways
  std::string_view summary{};                  // one line for `handlecheck list`
  std::string_view pattern{};                  // the bug pattern(s): "B1", "B3, B22"
  std::string_view source{};                   // the document the pattern comes from
  std::string_view bound{};     // why a clean variant's search is bounded ("": its default
                                // strategy exhausts it)
  double watchdog_seconds = 3;  // no-progress bound (ExploreOptions::watchdog_seconds): a
                                // scenario whose bug is a hang sets a short one
  bool os_threads = false;      // RunSettings::os_threads (HC_NATIVE_TEST sets it)
  int max_jobs = 0;  // `run --jobs N` gives it at most this many workers (0: no limit): its
                     // executions share process state (globals, descriptor numbers) that the
                     // workers would otherwise share too (HC_NATIVE_TEST: 1 unless set)
};

struct Scenario {
  ScenarioInfo info;
  void (*body)() = nullptr;
  std::source_location where;
};

/// All registered scenarios, sorted by name (never in link order).
std::span<const Scenario> scenarios();
/// The scenario named `name`, or nullptr.
const Scenario* find_scenario(std::string_view name);

namespace detail {
struct ScenarioRegistration {
  ScenarioRegistration(ScenarioInfo info, void (*body)(),
                       std::source_location where = std::source_location::current());
};
}  // namespace detail
}  // namespace hc

#define HC_DETAIL_CONCAT2(a, b) a##b
#define HC_DETAIL_CONCAT(a, b) HC_DETAIL_CONCAT2(a, b)
#define HC_DETAIL_SCENARIO(ID, NAME, ...)                                                       \
  static void HC_DETAIL_CONCAT(hc_scenario_body_, ID)();                                        \
  static const ::hc::detail::ScenarioRegistration HC_DETAIL_CONCAT(hc_scenario_reg_, ID){       \
      ::hc::ScenarioInfo{.name = NAME, __VA_ARGS__}, &HC_DETAIL_CONCAT(hc_scenario_body_, ID)}; \
  static void HC_DETAIL_CONCAT(hc_scenario_body_, ID)()

/// HC_SCENARIO(name, .field = value, ...) { body }
#define HC_SCENARIO(NAME, ...) HC_DETAIL_SCENARIO(__COUNTER__, NAME, __VA_ARGS__)

// scenarios.cpp — the static scenario registry.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hc/scenario.hpp"

namespace hc {
namespace {

struct Registry {
  std::vector<Scenario> all;
  bool sorted = true;
};

Registry& registry() {
  static Registry r;  // function-local: safe during static initialisation of other TUs
  return r;
}

void sort_if_needed() {
  Registry& r = registry();
  if (r.sorted) return;
  std::sort(r.all.begin(), r.all.end(),
            [](const Scenario& a, const Scenario& b) { return a.info.name < b.info.name; });
  r.sorted = true;
}

}  // namespace

namespace detail {
ScenarioRegistration::ScenarioRegistration(ScenarioInfo info, void (*body)(),
                                           std::source_location where) {
  Registry& r = registry();
  for (const Scenario& s : r.all) {
    if (s.info.name == info.name) {
      std::fprintf(stderr,
                   "handlecheck: scenario '%.*s' is registered twice (%s:%u and %s:%u); "
                   "scenario names must be unique\n",
                   static_cast<int>(info.name.size()), info.name.data(), s.where.file_name(),
                   static_cast<unsigned>(s.where.line()), where.file_name(),
                   static_cast<unsigned>(where.line()));
      std::abort();
    }
  }
  r.all.push_back(Scenario{std::move(info), body, where});
  r.sorted = false;
}
}  // namespace detail

std::span<const Scenario> scenarios() {
  sort_if_needed();
  return registry().all;
}

const Scenario* find_scenario(std::string_view name) {
  for (const Scenario& s : scenarios()) {
    if (s.info.name == name) return &s;
  }
  return nullptr;
}

}  // namespace hc

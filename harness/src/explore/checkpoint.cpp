// checkpoint.cpp — reading and writing checkpoints (see checkpoint.hpp).
#include "explore/checkpoint.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "explore/watchdog.hpp"
#include "hc/json_input.hpp"
#include "hc/runtime.hpp"
#include "hc/write_file.hpp"
#include "runtime/execution.hpp"

namespace hc::detail {

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

/// The checksum covers everything but itself: the JSON text of the other fields.
std::string checksum_of(const nlohmann::json& j) {
  nlohmann::json body = j;
  body.erase("checksum");
  return fmt::format("fnv1a64:{:016x}", fnv1a64(body.dump()));
}

nlohmann::json counts_json(const UnitCounts& u) {
  return {{"executions", u.executions},
          {"steps", u.steps},
          {"context_switches", u.context_switches},
          {"preemptions", u.preemptions},
          {"max_steps", u.max_steps_in_execution},
          {"pruned", u.pruned},
          {"reached", u.reached}};
}

UnitCounts counts_from(const nlohmann::json& j) {
  UnitCounts u;
  u.executions = j.at("executions").get<std::uint64_t>();
  u.steps = j.at("steps").get<std::uint64_t>();
  u.context_switches = j.at("context_switches").get<std::uint64_t>();
  u.preemptions = j.at("preemptions").get<std::uint64_t>();
  u.max_steps_in_execution = j.at("max_steps").get<std::uint32_t>();
  u.pruned = j.at("pruned").get<std::uint64_t>();
  u.reached = j.at("reached").get<std::uint64_t>();
  return u;
}

}  // namespace

std::string scenario_fingerprint(const std::function<void()>& body, const ExecutionConfig& config,
                                 Watchdog* dog) {
  Execution exec(config);
  std::optional<Watchdog::Watch> watch;
  if (dog != nullptr) watch.emplace(*dog, exec);
  auto strategy = make_non_preemptive_strategy();
  strategy->begin_execution();
  (void)exec.run(body, *strategy);
  std::string shape;
  for (const Step& s : exec.trace()) {
    shape += fmt::format("{}|{}|{}|{}|{}:{};", s.thread, static_cast<int>(s.kind), s.object,
                         s.label, s.where.file_name(), s.where.line());
  }
  return fmt::format("handlecheck {}; first execution {} steps, shape {:016x}", HC_VERSION,
                     exec.trace().size(), fnv1a64(shape));
}

std::map<std::string, std::string> checkpoint_settings(const ExploreOptions& o,
                                                       const std::string& fingerprint) {
  std::string must_reach;
  for (const std::string& label : o.must_reach)
    must_reach += (must_reach.empty() ? "" : ",") + label;
  std::map<std::string, std::string> settings{
      {"run", o.run_name},
      {"shard", fmt::format("{}/{}", o.shard_index + 1, o.shard_count)},
      {"must_reach", must_reach},
      {"replay", format_choices(o.replay)},
      {"fingerprint", fingerprint},
  };
  // Every run-shaping setting a resumed run must share (not budgets, which it may change).
  RunSettings::fields(o, [&](const SettingInfo& info, const auto& value) {
    if (info.resume_must_match) settings.emplace(info.key, fmt::format("{}", value));
  });
  return settings;
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  nlohmann::json j;
  j["format"] = "handlecheck-checkpoint";
  j["version"] = 1;
  j["settings"] = c.settings;
  nlohmann::json units = nlohmann::json::array();
  for (const auto& [unit, u] : c.units) {
    nlohmann::json entry = counts_json(u);
    entry["unit"] = unit;
    units.push_back(std::move(entry));
  }
  j["units"] = std::move(units);
  nlohmann::json positions = nlohmann::json::array();
  for (const auto& [unit, p] : c.positions) {
    nlohmann::json entry = counts_json(p.counts);
    entry["unit"] = unit;
    entry["position"] = p.position;
    positions.push_back(std::move(entry));
  }
  j["positions"] = std::move(positions);
  nlohmann::json folded = counts_json(c.folded);
  folded["below"] = c.folded_below;
  folded["units"] = c.folded_units;
  j["folded"] = std::move(folded);
  nlohmann::json findings = nlohmann::json::array();
  for (const CheckpointFinding& f : c.findings) {
    findings.push_back({{"unit", f.unit},
                        {"ordinal", f.ordinal},
                        {"kind", f.kind},
                        {"signature", f.signature},
                        {"message", f.message},
                        {"schedule", f.schedule}});
  }
  j["findings"] = std::move(findings);
  j["coverage"] = c.coverage;
  j["checksum"] = checksum_of(j);
  write_file_atomically(path, j.dump(1) + "\n");  // a failed write keeps the old checkpoint
}

Checkpoint read_checkpoint(const std::string& path, const ExploreOptions& o,
                           const std::string& fingerprint) {
  std::ifstream in(path);
  if (!in) throw usage_error(fmt::format("cannot read the checkpoint '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  Checkpoint c;
  if (auto why = json_nesting_error(text.str()))
    throw usage_error(fmt::format("checkpoint '{}' is malformed: {}", path, *why));
  try {
    const nlohmann::json j = nlohmann::json::parse(text.str());
    if (j.value("format", "") != "handlecheck-checkpoint") {
      throw usage_error(fmt::format(
          "'{}' is not a handlecheck checkpoint (no \"format\": \"handlecheck-checkpoint\")",
          path));
    }
    if (j.value("version", 0) != 1) {
      throw usage_error(fmt::format("checkpoint '{}' has version {}; this handlecheck reads 1",
                                    path, j.value("version", 0)));
    }
    if (!j.contains("checksum") || !j.at("checksum").is_string() ||
        j.at("checksum").get<std::string>() != checksum_of(j)) {
      throw usage_error(fmt::format(
          "checkpoint '{}' does not match its checksum: it was edited or damaged after it was "
          "written; start afresh without --resume",
          path));
    }
    c.settings = j.at("settings").get<std::map<std::string, std::string>>();
    for (const auto& u : j.at("units"))
      c.units[u.at("unit").get<std::uint64_t>()] = counts_from(u);
    if (j.contains("positions")) {
      for (const auto& p : j.at("positions")) {
        c.positions[p.at("unit").get<std::uint64_t>()] =
            UnitPosition{counts_from(p), p.at("position").get<std::string>()};
      }
    }
    if (j.contains("folded")) {
      const nlohmann::json& folded = j.at("folded");
      c.folded_below = folded.at("below").get<std::uint64_t>();
      c.folded_units = folded.at("units").get<std::uint64_t>();
      c.folded = counts_from(folded);
    }
    for (const auto& f : j.at("findings")) {
      c.findings.push_back(CheckpointFinding{
          f.at("unit").get<std::uint64_t>(), f.at("ordinal").get<std::uint64_t>(),
          f.at("kind").get<std::string>(), f.at("signature").get<std::string>(),
          f.at("message").get<std::string>(), f.at("schedule").get<std::string>()});
    }
    if (j.contains("coverage"))
      c.coverage = j.at("coverage").get<std::vector<std::pair<std::string, std::string>>>();
  } catch (const nlohmann::json::exception& e) {
    throw usage_error(fmt::format("checkpoint '{}' is malformed: {}", path, e.what()));
  }
  auto expected = checkpoint_settings(o, fingerprint);
  // What was explored first (another scenario is the likeliest mistake), then the rest.
  std::vector<std::pair<std::string, std::string>> ordered{{"run", expected["run"]}};
  for (const auto& [key, value] : expected) {
    if (key != "run") ordered.emplace_back(key, value);
  }
  for (const auto& [key, value] : ordered) {
    const auto it = c.settings.find(key);
    const std::string recorded = it == c.settings.end() ? "(missing)" : it->second;
    if (recorded != value) {
      throw usage_error(fmt::format(
          "checkpoint '{}' was written with {} = {}, but this run has {} = {}: resume with the "
          "same settings (or start afresh without --resume)",
          path, key, recorded, key, value));
    }
  }
  return c;
}

}  // namespace hc::detail

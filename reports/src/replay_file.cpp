#include "hc/reports/replay_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hc/json_input.hpp"
#include "hc/runtime.hpp"
#include "hc/write_file.hpp"

namespace hc::reports {
namespace {

using ordered = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::uint32_t fnv1a(const std::string& text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string read_all(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Reads a field of `j`, naming the path of a missing or mistyped one. Strict: an integer
/// field takes only an integer JSON number within the field's range (nlohmann would truncate
/// 1.5 to 1 and wrap 4294967296 to 0), a bool only true or false.
template <class T>
bool field(const nlohmann::json& j, const char* key, const std::string& where, T* out,
           std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) {
    *error = fmt::format("{}{} is missing", where, key);
    return false;
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) {
      *error = fmt::format("{}{} must be true or false, not {}", where, key, it->dump());
      return false;
    }
  } else if constexpr (std::is_integral_v<T>) {
    const bool fits =
        it->is_number_unsigned()
            ? it->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
        : it->is_number_integer()
            ? it->get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                  (it->get<std::int64_t>() < 0 ||
                   static_cast<std::uint64_t>(it->get<std::int64_t>()) <=
                       static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
            : false;
    if (!fits) {
      *error =
          fmt::format("{}{} must be a whole number from {} to {}, not {}", where, key,
                      std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), it->dump());
      return false;
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number()) {
      *error = fmt::format("{}{} must be a number, not {}", where, key, it->dump());
      return false;
    }
  }
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    *error = fmt::format("{}{} has the wrong type ({})", where, key, it->type_name());
    return false;
  }
  return true;
}

/// Like field(), but an absent key leaves *out as it is.
template <class T>
bool optional_field(const nlohmann::json& j, const char* key, const std::string& where, T* out,
                    std::string* error) {
  return !j.contains(key) || field(j, key, where, out, error);
}

}  // namespace

ReplayFile make_replay_file(const std::string& scenario, const ExploreOptions& o,
                            const Finding& f) {
  ReplayFile r;
#ifdef HC_VERSION
  r.handlecheck_version = HC_VERSION;
#endif
  r.scenario = scenario;
  r.settings = o;
  r.parameters = f.parameters;
  r.schedule = replay_entries(f);
  r.kind = std::string(finding_kind_name(f.kind));
  r.message = f.message;
  r.signature = f.signature;
  r.thread = f.thread_name;
  r.step = f.step;
  r.steps = static_cast<std::uint32_t>(f.trace.size());
  r.preemptions = f.preemptions;
  r.execution = f.execution;
  return r;
}

std::string to_json(const ReplayFile& r) {
  ordered j;
  j["format"] = "handlecheck-replay";
  j["version"] = r.version;
  j["handlecheck_version"] = r.handlecheck_version;
  j["scenario"] = r.scenario;
  ordered options;
  RunSettings::fields(
      r.settings, [&](const SettingInfo& info, const auto& value) { options[info.key] = value; });
  j["options"] = options;
  ordered parameters = ordered::object();
  for (const auto& [k, v] : r.parameters)
    parameters[k] = v;
  j["parameters"] = parameters;
  ordered schedule = ordered::array();
  for (const ReplayEntry& e : r.schedule) {
    ordered c;
    c["step"] = e.step;
    if (e.kind == Choice::Kind::thread) {
      c["thread"] = e.thread_name;
      c["operation"] = e.label;
    } else {
      c["choose"] = e.label;
      c["value"] = e.value;
      c["thread"] = e.thread_name;
    }
    if (!e.site.empty()) c["site"] = e.site;
    schedule.push_back(c);
  }
  j["schedule"] = schedule;
  ordered finding;
  finding["kind"] = r.kind;
  finding["message"] = r.message;
  finding["signature"] = r.signature;
  finding["thread"] = r.thread;
  finding["step"] = r.step;
  j["finding"] = finding;
  ordered execution;
  execution["index"] = r.execution;
  execution["steps"] = r.steps;
  execution["preemptions"] = r.preemptions;
  j["execution"] = execution;
  return j.dump(2) + "\n";
}

std::optional<ReplayFile> parse_replay_file(const std::string& text, std::string* error) {
  if (auto why = json_nesting_error(text)) {
    *error = *why;
    return std::nullopt;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (1e999)
    *error = fmt::format("not valid JSON (truncated or hand-edited?): {}", e.what());
    return std::nullopt;
  }
  if (!j.is_object()) {
    *error = "not a replay file: the top level is not a JSON object";
    return std::nullopt;
  }
  ReplayFile r;
  std::string format;
  if (!field(j, "format", "", &format, error)) return std::nullopt;
  if (format != "handlecheck-replay") {
    *error =
        fmt::format("not a replay file: format is '{}', expected 'handlecheck-replay'", format);
    return std::nullopt;
  }
  if (!field(j, "version", "", &r.version, error)) return std::nullopt;
  if (r.version != kReplayFormatVersion) {
    *error = fmt::format(
        "unknown replay format version {}: this handlecheck reads version {}; "
        "re-record the reproducer with this version",
        r.version, kReplayFormatVersion);
    return std::nullopt;
  }
  if (!field(j, "handlecheck_version", "", &r.handlecheck_version, error) ||
      !field(j, "scenario", "", &r.scenario, error))
    return std::nullopt;
  nlohmann::json options;
  if (!field(j, "options", "", &options, error)) return std::nullopt;
  // Every setting, strictly typed; then what the engine would refuse or misread later, named.
  bool settings_ok = true;
  RunSettings::fields(r.settings, [&](const SettingInfo& info, auto& value) {
    if (!settings_ok) return;
    const std::string key(info.key);
    settings_ok = info.optional_in_files
                      ? optional_field(options, key.c_str(), "options.", &value, error)
                      : field(options, key.c_str(), "options.", &value, error);
  });
  if (!settings_ok) return std::nullopt;
  if (const std::string range = settings_range_error(r.settings); !range.empty()) {
    *error = "options." + range;
    return std::nullopt;
  }
  nlohmann::json parameters;
  if (!field(j, "parameters", "", &parameters, error)) return std::nullopt;
  if (!parameters.is_object()) {
    *error = "parameters must be an object";
    return std::nullopt;
  }
  // The order parameters were noted in is part of the file: read them in file order.
  const ordered in_order = ordered::parse(text)["parameters"];
  for (auto it = in_order.begin(); it != in_order.end(); ++it) {
    if (!it->is_string()) {
      *error = fmt::format("parameters.{} must be a string", it.key());
      return std::nullopt;
    }
    r.parameters.emplace_back(it.key(), it->get<std::string>());
  }
  nlohmann::json schedule;
  if (!field(j, "schedule", "", &schedule, error)) return std::nullopt;
  if (!schedule.is_array()) {
    *error = "schedule must be an array";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    const std::string where = fmt::format("schedule[{}].", i);
    const nlohmann::json& c = schedule[i];
    if (!c.is_object()) {
      *error = fmt::format("schedule[{}] must be an object", i);
      return std::nullopt;
    }
    ReplayEntry e;
    if (!field(c, "step", where, &e.step, error) ||
        !field(c, "thread", where, &e.thread_name, error))
      return std::nullopt;
    if (c.contains("choose")) {
      e.kind = Choice::Kind::value;
      if (!field(c, "choose", where, &e.label, error) || !field(c, "value", where, &e.value, error))
        return std::nullopt;
    } else if (!field(c, "operation", where, &e.label, error)) {
      return std::nullopt;
    }
    if (c.contains("site") && !field(c, "site", where, &e.site, error)) return std::nullopt;
    r.schedule.push_back(std::move(e));
  }
  nlohmann::json finding;
  if (!field(j, "finding", "", &finding, error)) return std::nullopt;
  if (!field(finding, "kind", "finding.", &r.kind, error) ||
      !field(finding, "message", "finding.", &r.message, error) ||
      !field(finding, "signature", "finding.", &r.signature, error) ||
      !field(finding, "thread", "finding.", &r.thread, error) ||
      !field(finding, "step", "finding.", &r.step, error))
    return std::nullopt;
  if (!parse_finding_kind(r.kind)) {
    *error = fmt::format("finding.kind '{}' is not a finding kind this handlecheck knows", r.kind);
    return std::nullopt;
  }
  nlohmann::json execution;
  if (!field(j, "execution", "", &execution, error) ||
      !field(execution, "index", "execution.", &r.execution, error) ||
      !field(execution, "steps", "execution.", &r.steps, error) ||
      !field(execution, "preemptions", "execution.", &r.preemptions, error))
    return std::nullopt;
  return r;
}

std::optional<ReplayFile> read_replay_file(const std::string& path, std::string* error) {
  std::string read_error;
  const std::string text = read_all(path, &read_error);
  if (!read_error.empty()) {
    *error = read_error;
    return std::nullopt;
  }
  std::string parse_error;
  auto r = parse_replay_file(text, &parse_error);
  if (!r) *error = fmt::format("'{}': {}", path, parse_error);
  return r;
}

std::string settings_range_error(const RunSettings& settings) {
  std::string error;
  RunSettings::fields(settings, [&](const SettingInfo& info, const auto& value) {
    if (!error.empty() || !info.has_range()) return;
    if constexpr (std::is_arithmetic_v<std::remove_cvref_t<decltype(value)>>) {
      const double low = info.min * static_cast<double>(info.scale);
      const double high = info.max * static_cast<double>(info.scale);
      const double v = static_cast<double>(value);
      if (!(v >= low && v <= high))
        error = fmt::format("{} is {}; it must be from {} to {}", info.key, value, low, high);
    }
  });
  return error;
}

std::string portable_file_name(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const bool portable = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += portable ? c : '_';
  }
  // Not hidden (".x") and not taken for an option ("-x") by the tools that get it.
  if (out.empty() || out.front() == '.' || out.front() == '-') out.insert(out.begin(), '_');
  return out;
}

std::string replay_file_name(const ReplayFile& r) {
  std::string base = portable_file_name(r.scenario);
  // A long name (a parameterised gtest) is cut, and the hash of the whole name keeps apart the
  // names it would otherwise merge: a path stays within the limits of every file system.
  constexpr std::size_t kMaxBase = 96;
  if (base.size() > kMaxBase) {
    base = fmt::format("{}-{:08x}", base.substr(0, kMaxBase - 9), fnv1a(r.scenario));
  }
  return fmt::format("{}.{}.{:08x}", base, portable_file_name(r.kind), fnv1a(r.signature));
}

std::string write_replay_file(const std::string& dir, const ReplayFile& r, std::string* error,
                              const std::string& suffix) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string text = to_json(r);
  const std::string base = (fs::path(dir) / replay_file_name(r)).string() + suffix;
  const auto name = [&base](int n) {
    return n == 1 ? base + ".json" : fmt::format("{}-{}.json", base, n);
  };
  // The same reproducer written by an earlier run (every build's run finds the same bugs): kept
  // as it is, without writing and flushing a copy to disk first (an fsync per finding was most
  // of the kernel's time in a run of the catalogue).
  for (int n = 1; n < 1000; ++n) {
    if (!fs::exists(name(n), ec)) break;  // the first free name: nothing to reuse
    if (file_holds(name(n), text)) return name(n);
  }
  std::string temporary;
  try {
    temporary = write_temporary_file(base, text);  // checked and fsynced
  } catch (const usage_error& e) {
    *error = e.what();
    return {};
  }
  for (int n = 1; n < 1000; ++n) {
    const std::string path = name(n);
    if (::link(temporary.c_str(), path.c_str()) == 0) {  // exclusive: fails if it exists
      ::unlink(temporary.c_str());
      return path;
    }
    if (errno != EEXIST) {
      *error = fmt::format("cannot create '{}': {}", path, std::strerror(errno));
      ::unlink(temporary.c_str());
      return {};
    }
    if (file_holds(path, text)) {  // the same reproducer is already there
      ::unlink(temporary.c_str());
      return path;
    }
  }
  ::unlink(temporary.c_str());
  *error = fmt::format("too many different replay files named '{}*'", base);
  return {};
}

ExploreOptions replay_options(const ReplayFile& r, bool continue_after_divergence) {
  ExploreOptions o;
  static_cast<RunSettings&>(o) = r.settings;
  if (!continue_after_divergence) {
    o.strategy = "replay";
    o.max_executions = 1;
  }
  o.replay_file = r.schedule;
  o.continue_after_divergence = continue_after_divergence;
  o.check_determinism = true;
  return o;
}

}  // namespace hc::reports

// The machine outputs of a run: JUnit XML, the JSON run summary (docs/run-summary.md) and the
// merge of several summaries (shards) into one. Everything here is a pure function of the
// records, so the same records always give the same bytes.
#include "hc/reports/summary.hpp"

#include "hc/json_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace hc::reports {
namespace {

constexpr std::string_view kFormat = "handlecheck-summary";
constexpr std::int64_t kVersion = 1;

// Wall time as reported: a non-finite or negative value (a clock hiccup) is reported as 0, so
// the JSON stays parseable (nlohmann writes NaN as null) and JUnit times stay sane.
double sane_seconds(double seconds) {
  return std::isfinite(seconds) && seconds > 0 ? seconds : 0.0;
}

// ---------------------------------------------------------------------------------------------
// XML

// Appends `c` (one byte of UTF-8 text) escaped for XML 1.0. In attributes, whitespace other
// than a space is written as a character reference so that attribute-value normalisation
// does not turn a newline into a space. Control characters XML 1.0 cannot represent at all
// (not even as references) become U+FFFD.
void append_escaped_char(std::string& out, char c, bool attribute) {
  switch (c) {
    case '&':
      out += "&amp;";
      return;
    case '<':
      out += "&lt;";
      return;
    case '>':
      out += "&gt;";
      return;
    case '"':
      out += attribute ? "&quot;" : "\"";
      return;
    case '\'':
      out += attribute ? "&apos;" : "'";
      return;
    case '\n':
      out += attribute ? "&#10;" : "\n";
      return;
    case '\r':
      out += "&#13;";
      return;  // a raw CR would be normalised away on read
    case '\t':
      out += attribute ? "&#9;" : "\t";
      return;
    default:
      break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7f) {
    out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    return;
  }
  out += c;
}

std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    append_escaped_char(out, c, /*attribute=*/false);
  return out;
}

std::string xml_attr(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    append_escaped_char(out, c, /*attribute=*/true);
  return out;
}

std::string junit_time(double seconds) {
  return fmt::format("{:.3f}", sane_seconds(seconds));
}

// The area of "safehandle/raw-value-after-dispose" is "safehandle"; a name without '/' has
// no area and is filed under "handlecheck".
std::string area_of(const std::string& name) {
  const std::size_t slash = name.find('/');
  if (slash == std::string::npos || slash == 0) return "handlecheck";
  return name.substr(0, slash);
}

// Continuation lines of a multi-line value are indented to stay under their label.
std::string indent_continuations(std::string_view s, std::string_view indent) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

// The plain-text listing of a scenario's findings (unescaped).
std::string findings_text(const ScenarioRecord& r) {
  std::string out;
  for (std::size_t i = 0; i < r.findings.size(); ++i) {
    const FindingRecord& f = r.findings[i];
    out += fmt::format("finding {} of {}: {}\n", i + 1, r.findings.size(), f.kind);
    out += fmt::format("  message: {}\n", indent_continuations(f.message, "    "));
    out += fmt::format("  replay: {}\n", f.replay_command.empty() ? "(none)" : f.replay_command);
    out += fmt::format("  replay file: {}\n", f.replay_file.empty() ? "(none)" : f.replay_file);
  }
  return out;
}

std::string failure_message(const ScenarioRecord& r) {
  if (!r.explanation.empty()) return r.explanation;
  return fmt::format("expected {}, got {}", r.expected, r.verdict);
}

// ---------------------------------------------------------------------------------------------
// JSON reading

class Reader {
 public:
  explicit Reader(std::string* error) : error_(error) {}

  bool fail(const std::string& path, const std::string& what) {
    if (error_ != nullptr) *error_ = path.empty() ? what : fmt::format("{}: {}", path, what);
    return false;
  }

  // The member `key` of object `obj` (at `path`), or nullptr after setting the error.
  const nlohmann::json* member(const nlohmann::json& obj, const std::string& path,
                               const char* key) {
    const auto it = obj.find(key);
    if (it == obj.end()) {
      fail(join(path, key), "missing");
      return nullptr;
    }
    return &*it;
  }

  bool string(const nlohmann::json& obj, const std::string& path, const char* key,
              std::string& out) {
    const nlohmann::json* v = member(obj, path, key);
    if (v == nullptr) return false;
    if (!v->is_string()) return fail(join(path, key), "expected a string");
    out = v->get<std::string>();
    return true;
  }

  bool boolean(const nlohmann::json& obj, const std::string& path, const char* key, bool& out) {
    const nlohmann::json* v = member(obj, path, key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(join(path, key), "expected a boolean");
    out = v->get<bool>();
    return true;
  }

  bool count(const nlohmann::json& obj, const std::string& path, const char* key,
             std::uint64_t& out) {
    const nlohmann::json* v = member(obj, path, key);
    if (v == nullptr) return false;
    if (!v->is_number()) return fail(join(path, key), "expected a number");
    if (v->is_number_unsigned()) {
      out = v->get<std::uint64_t>();
      return true;
    }
    if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
      out = static_cast<std::uint64_t>(v->get<std::int64_t>());
      return true;
    }
    return fail(join(path, key), "expected a non-negative integer");
  }

  bool number(const nlohmann::json& obj, const std::string& path, const char* key, double& out) {
    const nlohmann::json* v = member(obj, path, key);
    if (v == nullptr) return false;
    if (!v->is_number()) return fail(join(path, key), "expected a number");
    out = v->get<double>();
    return true;
  }

  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

 private:
  std::string* error_;
};

bool read_finding(Reader& in, const nlohmann::json& j, const std::string& path, FindingRecord& f) {
  if (!j.is_object()) return in.fail(path, "expected an object");
  if (!(in.string(j, path, "kind", f.kind) && in.string(j, path, "message", f.message) &&
        in.string(j, path, "signature", f.signature) &&
        in.string(j, path, "replay_file", f.replay_file) &&
        in.string(j, path, "replay_command", f.replay_command)))
    return false;
  // Optional (summaries written before they existed): where a sequential search meets it.
  for (const auto& [key, field] :
       {std::pair{"unit", &f.unit}, {"unit_execution", &f.unit_execution}}) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_number_unsigned())
      return in.fail(Reader::join(path, key), "expected a non-negative integer");
    *field = it->get<std::uint64_t>();
  }
  return true;
}

// Coverage pairs: "A <> B" (both orders) and "A -> B" (one order), as hc::Result has them.
constexpr std::string_view kBothOrders = " <> ";
constexpr std::string_view kOneOrder = " -> ";

// An array of pair strings at `path`, each containing `separator` between two names.
bool read_pairs(Reader& in, const nlohmann::json& coverage, const std::string& path,
                const char* key, std::string_view separator, std::vector<std::string>& out) {
  const nlohmann::json* v = in.member(coverage, path, key);
  if (v == nullptr) return false;
  const std::string at = Reader::join(path, key);
  if (!v->is_array()) return in.fail(at, "expected an array");
  out.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    const std::string e_path = fmt::format("{}[{}]", at, i);
    if (!e.is_string()) return in.fail(e_path, "expected a string");
    std::string pair = e.get<std::string>();
    const std::size_t split = pair.find(separator);
    if (split == std::string::npos || split == 0 || split + separator.size() >= pair.size())
      return in.fail(e_path, fmt::format("expected \"A{}B\", got \"{}\"", separator, pair));
    out.push_back(std::move(pair));
  }
  return true;
}

// The optional "coverage" object (summaries written before it existed have none).
bool read_coverage(Reader& in, const nlohmann::json& j, const std::string& path,
                   ScenarioRecord& r) {
  const auto it = j.find("coverage");
  if (it == j.end()) return true;
  const std::string at = Reader::join(path, "coverage");
  if (!it->is_object()) return in.fail(at, "expected an object");
  return read_pairs(in, *it, at, "both_orders", kBothOrders, r.covered_pairs) &&
         read_pairs(in, *it, at, "one_order", kOneOrder, r.one_order_pairs);
}

// The optional "settings" object (hc/settings.hpp; summaries written before it have none):
// every field, strictly typed.
bool read_settings(Reader& in, const nlohmann::json& j, const std::string& path,
                   ScenarioRecord& r) {
  const auto it = j.find("settings");
  if (it == j.end()) return true;
  const std::string at = Reader::join(path, "settings");
  if (!it->is_object()) return in.fail(at, "expected an object");
  RunSettings settings;
  bool ok = true;
  RunSettings::fields(settings, [&](const SettingInfo& info, auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if (!ok) return;
    const std::string key(info.key);
    if constexpr (std::is_same_v<T, std::string>) {
      ok = in.string(*it, at, key.c_str(), value);
    } else if constexpr (std::is_same_v<T, bool>) {
      ok = in.boolean(*it, at, key.c_str(), value);
    } else if constexpr (std::is_floating_point_v<T>) {
      ok = in.number(*it, at, key.c_str(), value);
    } else {
      const nlohmann::json* v = in.member(*it, at, key.c_str());
      if (v == nullptr) {
        ok = false;
      } else if (v->is_number_unsigned() &&
                 v->get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<T>::max()}) {
        value = static_cast<T>(v->get<std::uint64_t>());
      } else if (v->is_number_integer() && std::is_signed_v<T> &&
                 v->get<std::int64_t>() >=
                     static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                 v->get<std::int64_t>() <=
                     static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
        value = static_cast<T>(v->get<std::int64_t>());
      } else {
        ok = in.fail(Reader::join(at, key.c_str()),
                     fmt::format("expected a whole number from {} to {}",
                                 std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
      }
    }
  });
  if (ok) r.settings = settings;
  return ok;
}

bool read_scenario(Reader& in, const nlohmann::json& j, const std::string& path,
                   ScenarioRecord& r) {
  if (!j.is_object()) return in.fail(path, "expected an object");
  if (!(in.string(j, path, "name", r.name) && in.string(j, path, "expected", r.expected) &&
        in.string(j, path, "verdict", r.verdict) &&
        in.boolean(j, path, "as_expected", r.as_expected) &&
        in.string(j, path, "explanation", r.explanation) &&
        in.string(j, path, "strategy", r.strategy) &&
        in.count(j, path, "executions", r.executions) &&
        in.boolean(j, path, "exhausted", r.exhausted) && in.number(j, path, "seconds", r.seconds)))
    return false;
  const nlohmann::json* findings = in.member(j, path, "findings");
  if (findings == nullptr) return false;
  const std::string findings_path = Reader::join(path, "findings");
  if (!findings->is_array()) return in.fail(findings_path, "expected an array");
  r.findings.reserve(findings->size());
  for (std::size_t i = 0; i < findings->size(); ++i) {
    FindingRecord f;
    if (!read_finding(in, (*findings)[i], fmt::format("{}[{}]", findings_path, i), f)) return false;
    r.findings.push_back(std::move(f));
  }
  if (const auto it = j.find("bounded_by"); it != j.end()) {  // optional: older summaries
    if (!it->is_string()) return in.fail(Reader::join(path, "bounded_by"), "expected a string");
    r.bounded_by = it->get<std::string>();
  }
  if (j.contains("pruned") && !in.count(j, path, "pruned", r.pruned))  // optional: older ones
    return false;
  if (const auto it = j.find("partial"); it != j.end()) {  // optional: older summaries
    if (!it->is_boolean()) return in.fail(Reader::join(path, "partial"), "expected a boolean");
    r.partial = it->get<bool>();
  }
  return read_coverage(in, j, path, r) && read_settings(in, j, path, r);
}

nlohmann::json run_json(const RunRecord& run) {
  nlohmann::json j = {{"version", run.version},
                      {"options", run.options},
                      {"shard", {{"index", run.shard_index + 1}, {"count", run.shard_count}}},
                      {"host", run.host},
                      {"started", run.started},
                      {"interrupted", run.interrupted}};
  if (run.merged != 0) j["merged"] = run.merged;
  return j;
}

// The optional "run" object.
bool read_run(Reader& in, const nlohmann::json& summary, std::optional<RunRecord>& out) {
  const auto it = summary.find("run");
  if (it == summary.end()) return true;
  const nlohmann::json& j = *it;
  if (!j.is_object()) return in.fail("run", "expected an object");
  RunRecord run;
  if (!(in.string(j, "run", "version", run.version) && in.string(j, "run", "host", run.host) &&
        in.string(j, "run", "started", run.started) &&
        in.boolean(j, "run", "interrupted", run.interrupted)))
    return false;
  const nlohmann::json* options = in.member(j, "run", "options");
  if (options == nullptr) return false;
  if (!options->is_array()) return in.fail("run.options", "expected an array of strings");
  for (const nlohmann::json& o : *options) {
    if (!o.is_string()) return in.fail("run.options", "expected an array of strings");
    run.options.push_back(o.get<std::string>());
  }
  const nlohmann::json* shard = in.member(j, "run", "shard");
  if (shard == nullptr) return false;
  if (!shard->is_object()) return in.fail("run.shard", "expected an object");
  std::uint64_t index = 0, count = 0;
  if (!(in.count(*shard, "run.shard", "index", index) &&
        in.count(*shard, "run.shard", "count", count)))
    return false;
  if (count < 1 || count > 1'000'000 || index < 1 || index > count) {
    return in.fail("run.shard",
                   fmt::format("index {} of count {}: expected 1 <= index <= count", index, count));
  }
  run.shard_index = static_cast<std::uint32_t>(index - 1);
  run.shard_count = static_cast<std::uint32_t>(count);
  if (const auto m = j.find("merged"); m != j.end()) {
    std::uint64_t merged = 0;
    if (!in.count(j, "run", "merged", merged)) return false;
    run.merged = static_cast<std::uint32_t>(std::min<std::uint64_t>(merged, 1'000'000));
  }
  out = std::move(run);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Merge

// Findings are united by signature; a finding without one is identified by kind and message.
std::string finding_key(const FindingRecord& f) {
  if (!f.signature.empty()) return "s:" + f.signature;
  return fmt::format("k:{}\n{}", f.kind, f.message);
}

// Coverage pairs as ordered (before, after) names: "A <> B" is both (A, B) and (B, A).
using OrderedPairs = std::set<std::pair<std::string, std::string>>;

void add_pairs(OrderedPairs& to, const ScenarioRecord& r) {
  for (const std::string& p : r.covered_pairs) {
    const std::size_t split = p.find(kBothOrders);
    std::string a = p.substr(0, split);
    std::string b = p.substr(split + kBothOrders.size());
    to.emplace(a, b);
    to.emplace(std::move(b), std::move(a));
  }
  for (const std::string& p : r.one_order_pairs) {
    const std::size_t split = p.find(kOneOrder);
    to.emplace(p.substr(0, split), p.substr(split + kOneOrder.size()));
  }
}

// Back to "A <> B" (A <= B) for pairs seen both ways and "A -> B" for the others, sorted.
void set_pairs(ScenarioRecord& r, const OrderedPairs& pairs) {
  r.covered_pairs.clear();
  r.one_order_pairs.clear();
  for (const auto& [a, b] : pairs) {
    const bool both = pairs.contains({b, a});
    if (both && a <= b) r.covered_pairs.push_back(fmt::format("{}{}{}", a, kBothOrders, b));
    if (!both) r.one_order_pairs.push_back(fmt::format("{}{}{}", a, kOneOrder, b));
  }
  std::sort(r.covered_pairs.begin(), r.covered_pairs.end());
  std::sort(r.one_order_pairs.begin(), r.one_order_pairs.end());
}

// A shard's "unreached|cover|A <> B" finding (a must_cover goal it did not see in both orders)
// that the united coverage does cover: not a finding of the merged run.
bool covered_goal_finding(const FindingRecord& f, const OrderedPairs& pairs) {
  constexpr std::string_view kPrefix = "unreached|cover|";
  if (!std::string_view(f.signature).starts_with(kPrefix)) return false;
  const std::string goal = f.signature.substr(kPrefix.size());
  const std::size_t split = goal.find(kBothOrders);
  if (split == std::string::npos) return false;
  std::string a = goal.substr(0, split);
  std::string b = goal.substr(split + kBothOrders.size());
  return pairs.contains({a, b}) && pairs.contains({b, a});
}

// Whether a finding of kind `kind` is the verdict `expected` names: one kind, or several
// (hc::expect_any, written "a, b or c" by hc::expected_kinds_text).
bool expected_accepts(const std::string& expected, const std::string& kind) {
  std::string_view rest = expected;
  while (!rest.empty()) {
    std::size_t end = std::min(rest.find(", "), rest.find(" or "));
    const std::string_view one = rest.substr(0, end);
    if (one == kind) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + (rest.substr(end, 2) == ", " ? 2 : 4));
  }
  return false;
}

// Recomputes verdict, as_expected and explanation from the expectation and the findings. A
// partial record (an interrupted run's part) that found nothing decides nothing: as expected,
// with a note.
void rejudge(ScenarioRecord& r) {
  r.verdict = r.findings.empty() ? "clean" : r.findings.front().kind;
  if (r.expected == "clean") {
    r.as_expected = r.findings.empty();
  } else {
    r.as_expected = false;
    for (const FindingRecord& f : r.findings)
      if (expected_accepts(r.expected, f.kind)) r.as_expected = true;
  }
  if (r.partial && !r.as_expected && r.findings.empty()) {
    r.as_expected = true;
    r.explanation =
        fmt::format("partial: expects {}, not found in the part explored ({} execution{})",
                    r.expected, r.executions, r.executions == 1 ? "" : "s");
  } else if (r.as_expected) {
    r.explanation.clear();
  } else if (r.expected == "clean") {
    r.explanation = fmt::format("expected clean, found {} finding{} (first: {})", r.findings.size(),
                                r.findings.size() == 1 ? "" : "s", r.verdict);
  } else if (r.findings.empty()) {
    r.explanation = fmt::format("expected {}, found no finding in {} execution{}", r.expected,
                                r.executions, r.executions == 1 ? "" : "s");
  } else {
    std::set<std::string> kinds;
    for (const FindingRecord& f : r.findings)
      kinds.insert(f.kind);
    r.explanation = fmt::format("expected {}, found only {}", r.expected, fmt::join(kinds, ", "));
  }
}

}  // namespace

namespace {

// One <testsuite>: the records of one source file (or, for records that name none, of the
// whole run), in the order the records first name it.
struct JUnitSuite {
  std::string file;  // "" for the records without one
  std::vector<const ScenarioRecord*> records;
};

// An empty run is one empty suite named "handlecheck" (CI tools take a report without a suite
// for a broken one).
std::vector<JUnitSuite> junit_suites(const std::vector<ScenarioRecord>& records) {
  std::vector<JUnitSuite> suites;
  if (records.empty()) suites.push_back({});
  std::map<std::string, std::size_t> by_file;  // file -> index in suites
  for (const ScenarioRecord& r : records) {
    const auto [it, inserted] = by_file.try_emplace(r.file, suites.size());
    if (inserted) suites.push_back({r.file, {}});
    suites[it->second].records.push_back(&r);
  }
  return suites;
}

// tests, failures, errors and time of `records`: the counts both <testsuites> and <testsuite>
// carry. (`skipped` is a <testsuite> attribute only: junit-10.xsd refuses it on <testsuites>.)
std::string junit_counts(const std::vector<const ScenarioRecord*>& records) {
  std::size_t failures = 0;
  double seconds = 0;
  for (const ScenarioRecord* r : records) {
    if (!r->as_expected) ++failures;
    seconds += sane_seconds(r->seconds);
  }
  return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{}\"", records.size(),
                     failures, junit_time(seconds));
}

void append_testcase(std::string& out, const ScenarioRecord& r) {
  out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                     xml_attr(area_of(r.name)), xml_attr(r.name), junit_time(r.seconds));
  std::string listing = findings_text(r);
  if (r.partial) listing = fmt::format("partial: {}\n{}", r.explanation, listing);
  if (r.as_expected && listing.empty()) {
    out += "/>\n";
    return;
  }
  out += ">\n";
  if (!r.as_expected) {
    const std::string message = failure_message(r);
    out +=
        fmt::format("      <failure message=\"{}\" type=\"{}\">{}\n{}</failure>\n",
                    xml_attr(message), xml_attr(r.verdict), xml_text(message), xml_text(listing));
  } else {
    // As expected, and the findings are the expected bug: kept for the curious reader.
    out += fmt::format("      <system-out>{}</system-out>\n", xml_text(listing));
  }
  out += "    </testcase>\n";
}

}  // namespace

std::string format_junit(const std::vector<ScenarioRecord>& records,
                         const std::optional<RunRecord>& run) {
  std::vector<const ScenarioRecord*> all;
  all.reserve(records.size());
  for (const ScenarioRecord& r : records)
    all.push_back(&r);
  // The run's start (UTC) and host, on every suite. The timestamp is written as Ant writes it,
  // without a zone ("2026-12-05T04:52:10"): Ant's schema allows no zone designator.
  std::string when;
  if (run && !run->started.empty()) {
    std::string_view started = run->started;
    if (started.ends_with('Z')) started.remove_suffix(1);
    when += fmt::format(" timestamp=\"{}\"", xml_attr(started));
  }
  if (run && !run->host.empty()) when += fmt::format(" hostname=\"{}\"", xml_attr(run->host));

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"handlecheck\" {}>\n", junit_counts(all));
  const std::vector<JUnitSuite> suites = junit_suites(records);
  for (std::size_t i = 0; i < suites.size(); ++i) {
    const JUnitSuite& suite = suites[i];
    const std::string where =
        suite.file.empty()
            ? std::string()
            : fmt::format(" package=\"{}\" file=\"{}\"",
                          xml_attr(area_of(suite.records.front()->name)), xml_attr(suite.file));
    out += fmt::format("  <testsuite name=\"{}\" {} skipped=\"0\"{} id=\"{}\"{}>\n",
                       xml_attr(suite.file.empty() ? "handlecheck" : suite.file),
                       junit_counts(suite.records), when, i, where);
    for (const ScenarioRecord* r : suite.records)
      append_testcase(out, *r);
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

nlohmann::json summary_json(const std::vector<ScenarioRecord>& records,
                            const std::optional<RunRecord>& run) {
  nlohmann::json scenarios = nlohmann::json::array();
  std::uint64_t as_expected = 0;
  std::uint64_t partial = 0;
  std::uint64_t executions = 0;
  std::uint64_t pruned = 0;
  std::uint64_t findings = 0;
  for (const ScenarioRecord& r : records) {
    nlohmann::json fs = nlohmann::json::array();
    for (const FindingRecord& f : r.findings) {
      fs.push_back({{"kind", f.kind},
                    {"message", f.message},
                    {"signature", f.signature},
                    {"replay_file", f.replay_file},
                    {"replay_command", f.replay_command},
                    {"unit", f.unit},
                    {"unit_execution", f.unit_execution}});
    }
    nlohmann::json scenario = {
        {"name", r.name},
        {"expected", r.expected},
        {"verdict", r.verdict},
        {"as_expected", r.as_expected},
        {"explanation", r.explanation},
        {"strategy", r.strategy},
        {"executions", r.executions},
        {"pruned", r.pruned},
        {"exhausted", r.exhausted},
        {"bounded_by", r.bounded_by},
        {"seconds", sane_seconds(r.seconds)},
        {"findings", std::move(fs)},
        {"coverage", {{"both_orders", r.covered_pairs}, {"one_order", r.one_order_pairs}}},
        {"partial", r.partial}};
    if (r.settings) {
      nlohmann::json settings = nlohmann::json::object();
      RunSettings::fields(*r.settings, [&](const SettingInfo& info, const auto& value) {
        settings[std::string(info.key)] = value;
      });
      scenario["settings"] = std::move(settings);
    }
    scenarios.push_back(std::move(scenario));
    if (r.as_expected) ++as_expected;
    if (r.partial) ++partial;
    executions += r.executions;
    pruned += r.pruned;
    findings += r.findings.size();
  }
  const auto total = static_cast<std::uint64_t>(records.size());
  nlohmann::json summary;
  summary["format"] = kFormat;
  summary["version"] = kVersion;
  if (run) summary["run"] = run_json(*run);
  summary["scenarios"] = std::move(scenarios);
  summary["totals"] = {
      {"scenarios", total},  {"as_expected", as_expected}, {"unexpected", total - as_expected},
      {"partial", partial},  {"executions", executions},   {"pruned", pruned},
      {"findings", findings}};
  return summary;
}

std::optional<nlohmann::json> parse_summary_text(const std::string& text, std::string* error) {
  if (auto why = json_nesting_error(text)) {
    *error = *why;
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (1e999)
    *error = fmt::format("not valid JSON: {}", e.what());
    return std::nullopt;
  }
}

std::optional<std::vector<ScenarioRecord>> parse_summary(const nlohmann::json& summary,
                                                         std::string* error,
                                                         std::optional<RunRecord>* run) {
  Reader in(error);
  if (!summary.is_object()) {
    in.fail("", "summary: expected a JSON object");
    return std::nullopt;
  }
  std::string format;
  if (!in.string(summary, "", "format", format)) return std::nullopt;
  if (format != kFormat) {
    in.fail("format", fmt::format("unknown format \"{}\" (expected \"{}\")", format, kFormat));
    return std::nullopt;
  }
  const nlohmann::json* version = in.member(summary, "", "version");
  if (version == nullptr) return std::nullopt;
  if (!version->is_number_integer()) {
    in.fail("version", "expected an integer");
    return std::nullopt;
  }
  const bool is_known = version->is_number_unsigned()
                            ? version->get<std::uint64_t>() == static_cast<std::uint64_t>(kVersion)
                            : version->get<std::int64_t>() == kVersion;
  if (!is_known) {
    in.fail("version", fmt::format("unsupported version {} (only version {} is known)",
                                   version->dump(), kVersion));
    return std::nullopt;
  }

  std::optional<RunRecord> run_record;
  if (!read_run(in, summary, run_record)) return std::nullopt;
  if (run != nullptr) *run = std::move(run_record);

  const nlohmann::json* scenarios = in.member(summary, "", "scenarios");
  if (scenarios == nullptr) return std::nullopt;
  if (!scenarios->is_array()) {
    in.fail("scenarios", "expected an array");
    return std::nullopt;
  }
  std::vector<ScenarioRecord> records;
  records.reserve(scenarios->size());
  for (std::size_t i = 0; i < scenarios->size(); ++i) {
    ScenarioRecord r;
    if (!read_scenario(in, (*scenarios)[i], fmt::format("scenarios[{}]", i), r))
      return std::nullopt;
    records.push_back(std::move(r));
  }

  // The totals are derived from the scenarios (and recomputed by whoever writes a summary
  // again); they must be present and well-typed, their values are not cross-checked.
  const nlohmann::json* totals = in.member(summary, "", "totals");
  if (totals == nullptr) return std::nullopt;
  if (!totals->is_object()) {
    in.fail("totals", "expected an object");
    return std::nullopt;
  }
  for (const char* key : {"scenarios", "as_expected", "unexpected", "executions", "findings"}) {
    std::uint64_t ignored = 0;
    if (!in.count(*totals, "totals", key, ignored)) return std::nullopt;
  }
  return records;
}

namespace {

// The label of summaries[i] in merge errors.
std::string label_of(const std::vector<std::string>& labels, std::size_t i) {
  return i < labels.size() ? fmt::format("'{}'", labels[i]) : fmt::format("summaries[{}]", i);
}

// Shards merge only as a complete set of one run: one shard count, one set of options, every
// index exactly once. Summaries without a shard count above 1 (whole runs) merge freely.
bool check_shards(const std::vector<std::optional<RunRecord>>& runs,
                  const std::vector<std::string>& labels, std::string* error) {
  std::size_t first = runs.size();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i] && runs[i]->shard_count > 1) {
      first = i;
      break;
    }
  }
  if (first == runs.size()) return true;
  const RunRecord& model = *runs[first];
  auto fail = [&](std::string what) {
    if (error != nullptr) *error = std::move(what);
    return false;
  };
  std::vector<std::vector<std::size_t>> by_index(model.shard_count);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i] || runs[i]->shard_count != model.shard_count) {
      return fail(fmt::format(
          "{} is {}, but {} is shard {} of {}: merge the shards of one run only",
          label_of(labels, i),
          runs[i] ? fmt::format("shard {} of {}", runs[i]->shard_index + 1, runs[i]->shard_count)
                  : std::string("not a shard (no \"run\" record)"),
          label_of(labels, first), model.shard_index + 1, model.shard_count));
    }
    if (runs[i]->options != model.options) {
      return fail(fmt::format(
          "{} ran with options \"{}\", but {} with \"{}\": the shards of one run share their "
          "options",
          label_of(labels, i), fmt::join(runs[i]->options, " "), label_of(labels, first),
          fmt::join(model.options, " ")));
    }
    by_index[runs[i]->shard_index].push_back(i);
  }
  std::vector<std::string> missing;
  for (std::uint32_t k = 0; k < model.shard_count; ++k) {
    if (by_index[k].size() > 1) {
      std::vector<std::string> names;
      for (std::size_t i : by_index[k])
        names.push_back(label_of(labels, i));
      return fail(fmt::format("shard {} of {} appears {} times ({}): pass each shard once", k + 1,
                              model.shard_count, by_index[k].size(), fmt::join(names, ", ")));
    }
    if (by_index[k].empty()) missing.push_back(std::to_string(k + 1));
  }
  if (!missing.empty()) {
    return fail(fmt::format(
        "shard{} {} of {} {} missing: a merge needs every shard of the run (got {} of {}); a "
        "partial set decides no verdict",
        missing.size() == 1 ? "" : "s", fmt::join(missing, ", "), model.shard_count,
        missing.size() == 1 ? "is" : "are", runs.size(), model.shard_count));
  }
  return true;
}

}  // namespace

std::optional<nlohmann::json> merge_summaries(const std::vector<nlohmann::json>& summaries,
                                              std::string* error,
                                              const std::vector<std::string>& labels) {
  struct Merged {
    ScenarioRecord record;
    std::size_t expected_from = 0;  // the shard that first named the scenario
    std::set<std::string> finding_keys;
    std::map<std::string, std::size_t> unreached;  // must_reach goal signature: shards missing it
    std::size_t parts = 0;                         // summaries that ran the scenario
    OrderedPairs pairs;                            // coverage, united
  };
  std::map<std::string, Merged> by_name;  // sorted by name: the merged order

  std::vector<std::vector<ScenarioRecord>> all(summaries.size());
  std::vector<std::optional<RunRecord>> runs(summaries.size());
  for (std::size_t s = 0; s < summaries.size(); ++s) {
    std::string shard_error;
    std::optional<std::vector<ScenarioRecord>> records =
        parse_summary(summaries[s], &shard_error, &runs[s]);
    if (!records) {
      if (error != nullptr) *error = fmt::format("{}: {}", label_of(labels, s), shard_error);
      return std::nullopt;
    }
    all[s] = std::move(*records);
  }
  if (!check_shards(runs, labels, error)) return std::nullopt;
  const bool shards = !runs.empty() && runs.front() && runs.front()->shard_count > 1;
  bool interrupted = false;
  for (const std::optional<RunRecord>& run : runs)
    interrupted = interrupted || (run && run->interrupted);

  for (std::size_t s = 0; s < summaries.size(); ++s) {
    for (ScenarioRecord& r : all[s]) {
      auto [it, inserted] = by_name.try_emplace(r.name);
      Merged& m = it->second;
      if (inserted) {
        m.expected_from = s;
        m.record.name = r.name;
        m.record.expected = r.expected;
        m.record.strategy = r.strategy;
        m.record.exhausted = r.exhausted;
        m.record.bounded_by = r.bounded_by;
        m.record.settings = r.settings;
      } else {
        if (r.expected != m.record.expected) {
          if (error != nullptr)
            *error = fmt::format("scenario \"{}\": {} expects \"{}\" but {} expects \"{}\"", r.name,
                                 label_of(labels, m.expected_from), m.record.expected,
                                 label_of(labels, s), r.expected);
          return std::nullopt;
        }
        if (r.strategy != m.record.strategy) m.record.strategy = "mixed";
        if (r.settings != m.record.settings) m.record.settings.reset();  // not one run's
        m.record.exhausted = m.record.exhausted && r.exhausted;
        if (m.record.bounded_by.empty()) m.record.bounded_by = r.bounded_by;
      }
      ++m.parts;
      // A shard's part is partial by construction; the complete set is not, unless a signal
      // stopped one of them. Whole runs merged together keep what each said.
      if (!shards && r.partial) m.record.partial = true;
      m.record.executions += r.executions;
      m.record.pruned += r.pruned;
      m.record.seconds += sane_seconds(r.seconds);
      for (FindingRecord& f : r.findings) {
        if (shards && f.kind == "unreached" && !f.signature.starts_with("unreached|cover|"))
          ++m.unreached[finding_key(f)];
        if (shards) {
          m.record.findings.push_back(std::move(f));  // ordered and de-duplicated below
        } else if (m.finding_keys.insert(finding_key(f)).second) {
          m.record.findings.push_back(std::move(f));
        }
      }
      add_pairs(m.pairs, r);
    }
  }

  std::vector<ScenarioRecord> merged;
  merged.reserve(by_name.size());
  for (auto& [name, m] : by_name) {
    if (shards) {
      // The order one run meets them in (its verdict is the first), each kept where it is met
      // first: shards number their units alike, and each unit is one shard's.
      std::stable_sort(m.record.findings.begin(), m.record.findings.end(),
                       [](const FindingRecord& a, const FindingRecord& b) {
                         return std::tie(a.unit, a.unit_execution) <
                                std::tie(b.unit, b.unit_execution);
                       });
      std::erase_if(m.record.findings, [&](const FindingRecord& f) {
        return !m.finding_keys.insert(finding_key(f)).second;
      });
    }
    std::erase_if(m.record.findings, [&](const FindingRecord& f) {
      if (covered_goal_finding(f, m.pairs)) return true;
      // A must_reach goal one shard reached is reached: unreached only if every shard says so.
      const auto u = m.unreached.find(finding_key(f));
      return u != m.unreached.end() && u->second < m.parts;
    });
    if (interrupted) m.record.partial = true;
    if (m.record.partial) m.record.exhausted = false;
    rejudge(m.record);
    set_pairs(m.record, m.pairs);
    merged.push_back(std::move(m.record));
  }
  std::optional<RunRecord> run;
  if (shards) {
    run = *runs.front();
    run->shard_index = 0;
    run->shard_count = 1;
    run->merged = static_cast<std::uint32_t>(runs.size());
    run->interrupted = interrupted;
    std::set<std::string> hosts;
    for (const std::optional<RunRecord>& r : runs) {
      hosts.insert(r->host);
      run->started = std::min(run->started, r->started);  // ISO 8601 UTC sorts as text
    }
    run->host = fmt::format("{}", fmt::join(hosts, ", "));
  }
  return summary_json(merged, run);
}

}  // namespace hc::reports

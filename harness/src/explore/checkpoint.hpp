// checkpoint.hpp — what a resumable checkpoint holds, and its file format.
//
// A partitioned run (see UnitFilter in hc/strategy.hpp) is a set of work units whose results do
// not depend on who explores them or when. A checkpoint therefore records only finished units —
// their counts, the findings they produced (as schedules, re-run on resume to rebuild traces) and
// the labels they reached — plus every setting that shapes the search. Resuming skips the
// finished units and redoes the ones that were in progress, so an interrupted and resumed run
// ends with the totals of an uninterrupted one.
//
// File: JSON, {"format": "handlecheck-checkpoint", "version": 1, "settings": {...},
// "units": [{"unit", "executions", "steps", "context_switches", "preemptions", "max_steps",
// "pruned", "reached"}], "positions": [{"unit", the same counts, "position"}] (units an interrupt
// stopped inside: dfs goes on from there), "folded": {"below", "units", and the same counts: seeded
// strategies' finished prefix of units, summed}, "findings": [{"unit", "ordinal", "kind",
// "signature", "message", "schedule"}], "coverage": [[before, after], ...], "checksum":
// "fnv1a64:..."}. The checksum covers every other field, and the settings include the scenario's
// fingerprint: an edited or damaged file, or one of another build or changed scenario, is refused
// on resume. Findings are re-run on resume and must recur. Written with hc::write_file_atomically:
// a crash or a full disk never leaves half a file or destroys the previous checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hc/explorer.hpp"

namespace hc::detail {

struct ExecutionConfig;  // runtime/execution.hpp

/// The counts of one finished work unit.
using UnitCounts = Counts;

struct CheckpointFinding {
  std::uint64_t unit = 0;
  std::uint64_t ordinal = 0;  // counted executions of its unit before it
  std::string kind;
  std::string signature;
  std::string message;
  std::string schedule;  // choice string
};

/// A unit an interruption stopped inside: its counts so far and where its search stood
/// (Strategy::position); resuming goes on from there.
struct UnitPosition {
  UnitCounts counts;
  std::string position;
};

struct Checkpoint {
  std::map<std::string, std::string> settings;      // everything that shapes the search
  std::map<std::uint64_t, UnitCounts> units;        // finished units
  std::map<std::uint64_t, UnitPosition> positions;  // units stopped inside (dfs)
  // Seeded strategies: every unit of this run below folded_below is finished too, their
  // counts summed in `folded` (folded_units of them), so the file stays bounded.
  std::uint64_t folded_below = 0;
  UnitCounts folded;
  std::uint64_t folded_units = 0;
  std::vector<CheckpointFinding> findings;
  std::vector<std::pair<std::string, std::string>>
      coverage;  // ordered pairs seen (see coverage.hpp)
};

class Watchdog;

/// FNV-1a, 64 bits: a text's stable number (the checksum, the fingerprint, the shard a run's
/// units start at); never an address or std::hash, which may differ between builds.
std::uint64_t fnv1a64(std::string_view text);

/// The scenario's fingerprint: this handlecheck's version and the shape (threads, operations,
/// objects, labels, sites) of the scenario's first non-preemptive execution. A checkpoint of
/// another build or of a changed scenario is refused on resume. `dog` (if any) watches that
/// execution: a first execution stuck in a loop without scheduling points ends in no-progress
/// there as in the run, instead of hanging the run before it starts.
std::string scenario_fingerprint(const std::function<void()>& body, const ExecutionConfig& config,
                                 Watchdog* dog = nullptr);

/// The settings of `o` a checkpoint must agree on, as text, with the scenario's fingerprint.
std::map<std::string, std::string> checkpoint_settings(const ExploreOptions& o,
                                                       const std::string& fingerprint);

/// Writes atomically (FILE.tmp, then rename). Throws usage_error when the file cannot be written.
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads a checkpoint; throws usage_error naming what is wrong (missing file, malformed JSON,
/// another format or version, settings that differ from `o`'s).
Checkpoint read_checkpoint(const std::string& path, const ExploreOptions& o,
                           const std::string& fingerprint);

}  // namespace hc::detail

// hc/reports/replay_file.hpp — replay files: one self-contained, versioned JSON file per
// finding (schema: docs/replay-file.md), enough to reproduce it with no other flag.
//
//   hc::reports::ReplayFile file = hc::reports::make_replay_file(name, options, finding);
//   std::string path = hc::reports::write_replay_file(out_dir, file, &error);
//   auto back = hc::reports::read_replay_file(path, &error);          // nullopt + error
//   hc::ExploreOptions o = hc::reports::replay_options(*back, false);  // then hc::explore
//
// The schedule records each thread choice by thread name and operation label, each value
// choice by its label, so replay matches steps by names (a reproducer survives unrelated code
// changes where it still fits). Files are written atomically with exclusive create: parallel
// runs never clobber each other's files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/explorer.hpp"
#include "hc/finding.hpp"
#include "hc/settings.hpp"
#include "hc/strategy.hpp"

namespace hc::reports {

inline constexpr int kReplayFormatVersion = 1;

struct ReplayFile {
  int version = kReplayFormatVersion;
  std::string handlecheck_version;
  std::string scenario;
  /// Every run-shaping setting (hc/settings.hpp), under "options". Settings added after
  /// version 1 are optional when read (absent: the default); all are always written.
  RunSettings settings;
  std::vector<std::pair<std::string, std::string>> parameters;  // model parameters
  std::vector<ReplayEntry> schedule;
  // The finding it reproduces.
  std::string kind;
  std::string message;
  std::string signature;
  std::string thread;
  std::uint32_t step = 0;
  // Its execution.
  std::uint32_t steps = 0;
  std::uint32_t preemptions = 0;
  std::uint64_t execution = 0;
};

ReplayFile make_replay_file(const std::string& scenario, const ExploreOptions& options,
                            const Finding& finding);

std::string to_json(const ReplayFile& file);
std::optional<ReplayFile> parse_replay_file(const std::string& text, std::string* error);
std::optional<ReplayFile> read_replay_file(const std::string& path, std::string* error);

/// "<scenario>.<kind>.<8 hex digits of the signature's hash>" (write_replay_file adds the
/// suffix and ".json"), portable (portable_file_name): "engine/lost-update" gives
/// "engine_lost-update.check-failure.6ce0e7e8", the gtest exploration "gtest:Suite.Test#1"
/// gives "gtest_Suite.Test_1.<kind>.<hash>". A scenario part longer than 96 characters is cut
/// to 87 and followed by "-" and the 8 hex digits of the whole name's hash.
std::string replay_file_name(const ReplayFile& file);

/// `text` with every character outside the POSIX portable file name set [A-Za-z0-9._-] made
/// '_' (so '/', ':', '#', spaces, quotes and non-ASCII bytes, which CI artifact uploaders and
/// some file systems refuse), and '_' put before a leading '.' or '-'.
std::string portable_file_name(std::string_view text);

/// The first setting of `settings` outside its range (hc::SettingInfo::min/max, in stored
/// units), as "pct_depth is 0; it must be from 1 to 64"; "" when all are within theirs.
std::string settings_range_error(const RunSettings& settings);

/// Writes `file` into `dir` under replay_file_name() (with `suffix` before ".json", e.g.
/// ".min"), atomically and never over a different file (an existing identical file is kept;
/// a different one gets "-2", "-3", ...). Returns the path, or "" and *error.
std::string write_replay_file(const std::string& dir, const ReplayFile& file, std::string* error,
                              const std::string& suffix = "");

/// The options that replay `file`: its settings, its schedule, strategy "replay" (one
/// execution) or, with `continue_after_divergence`, the file's strategy after a divergence.
ExploreOptions replay_options(const ReplayFile& file, bool continue_after_divergence);

}  // namespace hc::reports

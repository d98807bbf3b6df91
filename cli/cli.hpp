// cli.hpp — what the handlecheck commands share: exit codes, usage errors, the run command's
// arguments and the commands themselves (one file each: run_command.cpp, file_commands.cpp,
// list_commands.cpp; main.cpp wires them to the command line).
//
// The CLI sits above every library: harness (explore), models, reports (replay files, reports,
// the reproduction policy). A command throws UsageError (or hc::usage_error) for bad input;
// main() turns it into exit 2 with the message.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "hc/hc.hpp"
#include "hc/reports/reproduce.hpp"
#include "hc/reports/text_report.hpp"

namespace hc::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUnexpected = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;
inline constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM stopped the run

/// Bad input: main() prints "handlecheck: <message>" and exits 2, as for an hc::usage_error
/// from below (an unwritable file: hc::write_file_atomically names it and the cause).
struct UsageError {
  std::string message;
};

/// The candidate closest to `word` by edit distance, or "" when none is close ("did you mean").
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
std::string tags_text(const ScenarioInfo& info);
std::string expected_text(const ScenarioInfo& info);
bool has_tag(const Scenario& s, std::string_view tag);
/// Finds a long option the user mistyped before CLI11 sees it, to name the closest match.
void check_long_options(const CLI::App& command, const std::vector<std::string>& args);
/// A whole number in [0, 2^64): CLI11 would wrap "-1" and accept "".
extern const CLI::Validator kWholeNumber;

/// How stdout shows verdicts and reports (--columns, --color of run and replay).
struct OutputStyle {
  bool columns = false;         // the interleaving as a column per thread
  std::string colour = "auto";  // auto, always, never
};

/// The text layout for stdout: the column view fitted to the terminal (else 100 columns),
/// colour as --color and NO_COLOR say. Throws UsageError for a --color other than
/// auto/always/never.
reports::TextLayout text_layout(const OutputStyle& style);

/// Adds --columns and --color to a command that prints reports.
void add_output_options(CLI::App& command, OutputStyle& style);

struct RunArgs {
  std::vector<std::string> names;
  std::string tag;
  bool all = false;
  /// The run-shaping settings given on the command line: one flag per RunSettings field
  /// (add_setting_flags), marked as set when the flag was given.
  hc::OptionOverrides overrides;
  struct SettingFlag {
    CLI::Option* option;
    hc::SettingInfo info;
    std::string name;  // "--keep-going": a boolean setting has two flags
  };
  std::vector<SettingFlag> setting_flags;
  std::string out_dir = reports::default_out_dir();
  std::string replay;
  bool verbose = false;
  bool no_minimize = false;
  std::string summary_file;
  std::string junit_file;
  std::string trace_format;  // --trace-format: "" (as $HC_TRACE_FORMAT says), none, perfetto
  // Scale: parallel workers, shards, checkpoints.
  int jobs = 1;
  std::string shard;  // "I/N", 1-based
  std::string checkpoint;
  double checkpoint_interval = 30;
  std::string resume;
  bool progress = false;
  OutputStyle output;
  /// The command line as given (argv), for the resume command an interrupted run prints.
  std::vector<std::string> command_line;

  /// A strategy named on the command line ("" when the scenario's default stands).
  std::string strategy() const {
    return overrides.is_set("strategy") ? overrides.values().strategy : std::string();
  }
};

/// Where this process sits in a batch of shards: --shard I/N, else the index and count an
/// existing batch engine gives its tasks. Returns {0, 1} when there is none; *source says which.

/// One flag per RunSettings field (hc/settings.hpp), with its help and range; the strategy's
/// help lists the strategy table. Marked as given in RunArgs::overrides by the run command.
void add_setting_flags(CLI::App& run, RunArgs& a);

int run_command(const RunArgs& a, const std::string& program);
int replay_command(const std::string& path, bool continue_after, bool quiet,
                   const OutputStyle& output);
int minimize_command(const std::string& path, const std::string& program);
int merge_command(const std::vector<std::string>& inputs, const std::string& output);
int list_command(const std::string& tag, bool names_only, bool markdown);
int strategies_command(bool markdown);

}  // namespace hc::cli

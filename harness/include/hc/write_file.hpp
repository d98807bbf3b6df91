// hc/write_file.hpp — write_file_atomically: how every report, summary, JUnit file, replay file
// and checkpoint reaches the disk.
//
//   hc::write_file_atomically("nightly.json", text);  // throws hc::usage_error naming the cause
//
// The text goes to a temporary file beside the target, every write is checked, the file is
// fsynced and closed (a full disk shows up here, not as a truncated file), then renamed over
// the target, so the target is either its old content or the whole new text, never a part: a
// failed write leaves a previous checkpoint as it was. Missing parent directories are created;
// a bare file name ("s.json") is written in the current directory. A target that holds the text
// already is left as it is: a run that writes what the last one wrote (a CI job's run finds the
// same bugs and renders the same reports every build) flushes nothing to disk.
#pragma once

#include <string>
#include <string_view>

namespace hc {

/// Throws hc::usage_error "cannot write 'PATH': CAUSE" when any step fails.
void write_file_atomically(const std::string& path, std::string_view text);

/// Whether the file at `path` holds exactly `text` (false when it cannot be read): what
/// write_file_atomically, and replay files, test before writing.
bool file_holds(const std::string& path, std::string_view text);

/// Writes `text` to a new temporary file beside `path` ("PATH.tmpPID"), checked and fsynced;
/// returns its name. Throws hc::usage_error like write_file_atomically. For callers that move
/// it into place themselves (replay files link it to the first free name).
std::string write_temporary_file(const std::string& path, std::string_view text);

}  // namespace hc

// posix/double-close-on-error-path — closedir() closes the descriptor, then the cleanup path
// closes it again (DOMAIN.md §10 B5, §7).
//
// Story: a spool scanner opens a directory with open(O_DIRECTORY), wraps it with fdopendir(),
// and reads entries. On the error leg (readdir fails with EIO) it calls closedir(dir) and jumps
// to the shared cleanup label, which runs `close(fd)`. But fdopendir() gave the descriptor to
// the DIR, and closedir() has already closed it. Meanwhile a worker thread opens its request
// log. open() returns the lowest free number, which is the scanner's just-closed one, so the
// second close closes the worker's file. Nothing fails in the scanner. The worker's writes
// hit EBADF, or go to whatever file takes the number next. In production this looks like
// flaky concurrent tests and an unrelated request's descriptor dying
// [LXD-18930][BEDROCK-334][PROXY-542][TRAIL-44]. The explorer takes the error leg or not
// (an explored fault) and interleaves the worker's open. The model reports the second close
// as a double close: of the worker's generation of the number when its open got in first, else
// of the free number (EBADF, reported under the default InvalidUse::raise).
//
// Fix: single ownership. Once fdopendir() succeeds the DIR owns the descriptor. The scanner
// sets fd = -1, so the cleanup closes only what it still owns.
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::ValueStyle;

void scan_spool_while_worker_opens(bool single_owner) {
  HandleTable fds{{.style = ValueStyle::posix, .reuse = ReusePolicy::lowest_free}};
  RawHandle fd = fds.create(ObjectType::file, "/var/spool/jobs", "scanner");  // open(): fd 3

  hc::thread worker("worker", [&] {
    const RawHandle log = fds.create(ObjectType::file, "request.log", "worker");
    fds.write(log);
    fds.close(log, "worker");
  });

  // DIR* dir = fdopendir(fd): the DIR takes the descriptor over (dirfd(dir) == fd).
  const RawHandle dir = fd;
  if (single_owner) fd = RawHandle{};  // fd = -1: the DIR is its only owner now
  // readdir(dir), which may fail (EIO): the error leg is an explored fault.
  const bool failed = !fds.read(dir).ok || hc::fault("readdir fails (EIO)");
  fds.close(dir, "scanner");  // closedir(dir) on both legs: it closes the descriptor
  if (failed) {
    // goto out; ... out: if (fd != -1) close(fd);
    if (fd.valid()) fds.close(fd, "scanner");
  }
  worker.join();
}

}  // namespace

HC_SCENARIO(
    "posix/double-close-on-error-path", .tags = {"posix", "b5"},
    .expect = hc::FindingKind::double_close,
    .message = "closed handle fd 3 (File '/var/spool/jobs', generation 1, closed by thread 'main'",
    .summary =
        "closedir() closes the fd, then the error path's cleanup closes it "
        "again: the worker's newly opened file gets closed",
    .pattern = "B5", .source = "DOMAIN.md") {
  scan_spool_while_worker_opens(false);
}

HC_SCENARIO("posix/double-close-on-error-path.fixed", .tags = {"posix", "b5", "fixed"},
            .expect = hc::clean,
            .summary =
                "single ownership: after fdopendir() fd is set to -1, and only closedir() "
                "closes the descriptor",
            .pattern = "B5", .source = "DOMAIN.md") {
  scan_spool_while_worker_opens(true);
}

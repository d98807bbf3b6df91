// POSIX descriptors in the handle table (issue 18): 0-2 as ordinary numbers, dup2/dup3, FD_CLOEXEC
// per descriptor, fork and exec, and the descriptor-inherited finding, each asserted against the
// man pages (dup(2), fcntl(2), fork(2), execve(2)) with its clean counterpart explored
// exhaustively under dfs and dpor.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>

#include "hc/models/handle_table.hpp"
#include "test_support.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::HandleTableOptions;
using hc::models::InvalidUse;
using hc::models::ObjectType;
using hc::models::OpenFlags;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::ValueStyle;
using hc::test::contains;
using hc::test::exhaustive;

HandleTableOptions posix(bool report_leaks = true) {
  return {.style = ValueStyle::posix,
          .reuse = ReusePolicy::lowest_free,
          .report_leaks = report_leaks,
          .name = "app",
          .stdio = true};
}

/// Runs `body` once (dfs; these bodies have no thread choices).
hc::Result once(const std::function<void()>& body) {
  return hc::explore(body, exhaustive());
}

std::string line_of(int line) {
  return fmt::format("tests/models/posix_fd_test.cpp:{}", line);
}

// --- 0-2 are ordinary descriptors ------------------------------------------------------------

// open() returns the lowest free number: 3 while stdio is open, 0 once stdin is closed.
TEST(PosixStdio, FirstOpenIsThreeAndCloseZeroThenOpenReturnsZero) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    HC_CHECK(fds.open_count() == 3, "stdio pre-opened: {} open", fds.open_count());
    HC_CHECK(fds.describe_object(fds.value(1)) == "File 'stdout'", "fd 1 names {}",
             fds.describe_object(fds.value(1)));
    const RawHandle a = fds.create(ObjectType::file, "a");
    HC_CHECK(a.value == 3, "first open returned fd {}", a.value);
    HC_CHECK(fds.close(fds.stdio_handle(0)).ok, "close(0) failed");
    const RawHandle b = fds.create(ObjectType::file, "b");
    HC_CHECK(b.value == 0, "open after close(0) returned fd {}", b.value);
    HC_CHECK(fds.format_value(b.value) == "fd 0", "{}", fds.format_value(b.value));
    fds.close(a);
    fds.close(b);  // stdout and stderr stay open: not a leak
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// A descriptor above 2 left open is still a leak; 0-2 are not.
TEST(PosixStdio, ADescriptorAboveTwoLeftOpenIsALeakButStdioIsNot) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    fds.create(ObjectType::file, "forgotten");
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::handle_leak,
                         "1 handle still open in handle table 'app'");
  EXPECT_TRUE(contains(r.findings[0].message, "fd 3 File 'forgotten'")) << r.findings[0].message;
  EXPECT_FALSE(contains(r.findings[0].message, "stdout")) << r.findings[0].message;
}

// --- dup2 / dup3 ----------------------------------------------------------------------------

// dup2 onto an open descriptor: newfd is closed (the old object's count drops) and now refers
// to old's object; the value the program held for the old stdout is stale.
TEST(PosixDup2, OntoAnOpenTargetClosesItAndReusesTheNumber) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    const RawHandle out = fds.stdio_handle(1);
    const RawHandle log = fds.create(ObjectType::file, "out.log");
    HC_CHECK(fds.handle_count(out) == 1 && fds.handle_count(log) == 1, "counts {} {}",
             fds.handle_count(out), fds.handle_count(log));
    const RawHandle one = fds.dup2(log, 1);
    HC_CHECK(one.valid() && one.value == 1, "dup2 returned fd {}", one.value);
    HC_CHECK(fds.last_error() == hc::models::kErrorSuccess, "errno {}", fds.last_error());
    HC_CHECK(!fds.is_open(out), "the old stdout generation is still open");
    HC_CHECK(fds.handle_count(out) == 0, "stdout still has {} handles", fds.handle_count(out));
    HC_CHECK(fds.handle_count(log) == 2, "out.log has {} handles", fds.handle_count(log));
    HC_CHECK(fds.describe_object(fds.value(1)) == "File 'out.log'", "fd 1 names {}",
             fds.describe_object(fds.value(1)));
    HC_CHECK(!fds.cloexec(one), "dup2 must clear FD_CLOEXEC");
    fds.close(log);
    HC_CHECK(fds.handle_count(one) == 1, "fd 1 keeps out.log alive");
    fds.write(out);  // the program's old value of stdout: fd 1 now names out.log
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::stale_handle_use, "used (via write) handle fd 1");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "File 'stdout', generation 1, closed by thread "
                       "'main'"))
      << r.findings[0].message;
  EXPECT_TRUE(contains(r.findings[0].message, "but fd 1 now names File 'out.log'"))
      << r.findings[0].message;
}

// One step: under every interleaving with a concurrent open(), the opener never gets fd 1 and
// fd 1 ends naming out.log. dfs and dpor agree.
TEST(PosixDup2, NoOtherThreadCanTakeTheNumberInBetween) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds(posix());
    const RawHandle log = fds.create(ObjectType::file, "out.log");
    RawHandle other;
    hc::thread opener("opener", [&] {
      other = fds.create(ObjectType::file, "other");
      fds.write(other);
    });
    const RawHandle one = fds.dup2(log, 1);
    opener.join();
    HC_CHECK(one.value == 1 && other.value != 1, "dup2 gave fd {}, the opener fd {}", one.value,
             other.value);
    HC_CHECK(fds.describe_object(fds.value(1)) == "File 'out.log'", "fd 1 names {}",
             fds.describe_object(fds.value(1)));
    outcomes.insert(fmt::format("other={}", other.value));
    fds.close(other);
    fds.close(log);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"other=4"}));
}

// The same redirection written as close(1) + dup(log) is two steps: the opener can take fd 1 in
// between (found by dfs and by dpor: the footprints order close, open and dup).
TEST(PosixDup2, CloseThenDupIsTwoStepsAndAConcurrentOpenTakesTheNumber) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds(posix());
    const RawHandle log = fds.create(ObjectType::file, "out.log");
    RawHandle other;
    hc::thread opener("opener", [&] { other = fds.create(ObjectType::file, "other"); });
    fds.close(fds.stdio_handle(1));
    const RawHandle copy = fds.duplicate(log, fds);
    opener.join();
    outcomes.insert(fmt::format("dup={} other={}", copy.value, other.value));
    fds.close(copy);
    fds.close(other);
    fds.close(log);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  EXPECT_EQ(r.dfs_outcomes, (std::set<std::string>{"dup=1 other=4", "dup=4 other=1"}));
}

// An invalid old: EBADF, and newfd stays open on what it named.
TEST(PosixDup2, AnInvalidOldFailsWithEbadfAndLeavesNewOpen) {
  const hc::Result r = once([] {
    HandleTableOptions o = posix();
    o.invalid_use = InvalidUse::fail;
    HandleTable fds(o);
    const RawHandle out = fds.stdio_handle(1);
    const RawHandle got = fds.dup2(fds.value(9), 1);
    HC_CHECK(!got.valid(), "dup2 of an invalid fd returned fd {}", got.value);
    HC_CHECK(fds.last_error() == hc::models::kEBADF, "errno {}", fds.last_error());
    HC_CHECK(fds.is_open(out) && fds.handle_count(out) == 1, "fd 1 was closed");
    HC_CHECK(fds.write(out).ok, "stdout unusable after the failed dup2");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// dup2(fd, fd) does nothing and returns fd; dup3(fd, fd, ...) fails with EINVAL.
TEST(PosixDup2, OntoItselfIsANoOpAndDup3OntoItselfIsEinval) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    const RawHandle log = fds.create(ObjectType::file, "out.log", OpenFlags::cloexec);
    const RawHandle same = fds.dup2(log, log.value);
    HC_CHECK(same == log, "dup2(fd, fd) returned fd {} generation {}", same.value, same.generation);
    HC_CHECK(fds.is_open(log) && fds.handle_count(log) == 1 && fds.cloexec(log),
             "dup2(fd, fd) changed the descriptor");
    const RawHandle bad = fds.dup3(log, log.value, OpenFlags::cloexec);
    HC_CHECK(!bad.valid() && fds.last_error() == hc::models::kEINVAL, "dup3: errno {}",
             fds.last_error());
    HC_CHECK(fds.is_open(log), "dup3(fd, fd) closed it");
    fds.close(log);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// FD_CLOEXEC is per descriptor: dup() of a CLOEXEC descriptor is not CLOEXEC, dup3 sets it,
// fcntl sets and clears it on one descriptor only; dup2 onto a number beyond the table grows it.
TEST(PosixCloexec, IsPerDescriptorNotPerOpenFileDescription) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    const RawHandle a = fds.create(ObjectType::file, "a", OpenFlags::cloexec);
    const RawHandle copy = fds.duplicate(a, fds);
    HC_CHECK(fds.cloexec(a) && !fds.cloexec(copy), "dup copied FD_CLOEXEC");
    const RawHandle far = fds.dup3(a, 9, OpenFlags::cloexec);
    HC_CHECK(far.value == 9 && fds.cloexec(far), "dup3 onto 9: fd {}", far.value);
    HC_CHECK(fds.set_cloexec(copy).ok && fds.cloexec(copy) && fds.cloexec(a), "fcntl set");
    HC_CHECK(fds.set_cloexec(a, false).ok && !fds.cloexec(a) && fds.cloexec(copy), "fcntl clear");
    const RawHandle next = fds.create(ObjectType::file, "b");
    HC_CHECK(next.value == 5, "the numbers below 9 are free: got fd {}", next.value);
    HC_CHECK(fds.handle_count(a) == 3, "a has {} descriptors", fds.handle_count(a));
    for (const RawHandle& h : {a, copy, far, next})
      fds.close(h);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// --- fork and exec -------------------------------------------------------------------------

// The child copies the parent's descriptors (same numbers, same flags, same objects); exec
// closes the CLOEXEC ones and the rest are inherited; an object lives while any process holds it.
TEST(PosixFork, ExecClosesCloexecDescriptorsAndTheRestAreInherited) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    const RawHandle plain = fds.create(ObjectType::file, "plain");                        // fd 3
    const RawHandle secret = fds.create(ObjectType::file, "secret", OpenFlags::cloexec);  // fd 4
    std::unique_ptr<HandleTable> child = fds.fork("child");
    HC_CHECK(child->open_count() == 5, "child has {} descriptors", child->open_count());
    HC_CHECK(fds.handle_count(plain) == 2 && fds.handle_count(secret) == 2, "counts {} {}",
             fds.handle_count(plain), fds.handle_count(secret));
    HC_CHECK(child->describe_object(child->value(4)) == "File 'secret'", "child fd 4: {}",
             child->describe_object(child->value(4)));
    HC_CHECK(child->exec("/bin/sh").ok, "exec failed");
    HC_CHECK(child->describe_object(child->value(4)).empty(), "fd 4 survived exec");
    HC_CHECK(child->describe_object(child->value(3)) == "File 'plain'", "fd 3 not inherited");
    HC_CHECK(child->describe_object(child->value(1)) == "File 'stdout'", "stdout not inherited");
    HC_CHECK(fds.handle_count(secret) == 1, "exec did not drop the child's secret");
    // The parent closes plain: the open file description lives on in the child.
    fds.close(plain);
    fds.close(secret);
    HC_CHECK(child->handle_count(child->value(3)) == 1, "plain died with the parent's close");
    HC_CHECK(child->write(child->value(3)).ok, "the child cannot write its inherited fd 3");
    HC_CHECK(child->close(child->value(3)).ok, "close in the child");
    HC_CHECK(child->handle_count(child->value(3)) == 0, "fd 3 still open in the child");
    // The child's own numbering continues: its next open takes its lowest free number.
    const RawHandle mine = child->create(ObjectType::file, "child.log");
    HC_CHECK(mine.value == 3, "the child's open returned fd {}", mine.value);
    // _exit closes everything the child holds: its inherited stdout goes back to one handle.
    HC_CHECK(fds.handle_count(fds.stdio_handle(1)) == 2, "stdout: {} handles",
             fds.handle_count(fds.stdio_handle(1)));
    HC_CHECK(child->exit_process().ok, "_exit failed");
    HC_CHECK(child->open_count() == 0, "the child still holds {}", child->open_count());
    HC_CHECK(fds.handle_count(fds.stdio_handle(1)) == 1, "stdout: {} handles after _exit",
             fds.handle_count(fds.stdio_handle(1)));
    HC_CHECK(child->handle_count(mine) == 0, "child.log outlived the child");
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// Opened without O_CLOEXEC, fork, then fcntl(F_SETFD), then exec: reported at the exec.
TEST(DescriptorInherited, FcntlAfterTheForkIsReportedAtTheExec) {
  int open_line = 0;
  int fork_line = 0;
  int exec_line = 0;
  const hc::Result r = once([&] {
    HandleTable fds(posix());
    open_line = __LINE__ + 1;
    const RawHandle secret = fds.create(ObjectType::file, "secret.db");
    fork_line = __LINE__ + 1;
    std::unique_ptr<HandleTable> child = fds.fork("child");
    fds.set_cloexec(secret);
    exec_line = __LINE__ + 1;
    child->exec("/usr/bin/convert");
    fds.close(secret);
  });
  HC_EXPECT_ONLY_FINDING(
      r, hc::FindingKind::descriptor_inherited,
      fmt::format("descriptor inherited: fd 3 (File 'secret.db') of process 'app', opened by "
                  "thread 'main' at step 1 ({}) without O_CLOEXEC, was copied into process "
                  "'child' by fork() (thread 'main' at step 2 ({})) and survived "
                  "execve('/usr/bin/convert') (thread 'main' at step 4 ({}))",
                  line_of(open_line), line_of(fork_line), line_of(exec_line)));
  const std::string& m = r.findings[0].message;
  EXPECT_TRUE(contains(m,
                       "fcntl(F_SETFD, FD_CLOEXEC) marks it private, called by thread "
                       "'main' at step 3"))
      << m;
  EXPECT_TRUE(contains(m, "after the fork had copied it")) << m;
  EXPECT_TRUE(contains(m, "Fix: create it with O_CLOEXEC")) << m;
  EXPECT_TRUE(contains(m, "pipe2, dup3, accept4")) << m;
  EXPECT_TRUE(contains(r.findings[0].file, "posix_fd_test.cpp")) << r.findings[0].file;
  EXPECT_EQ(r.findings[0].line, exec_line);
}

// fork, exec, then the parent's fcntl: the intent becomes known at the fcntl, reported there.
TEST(DescriptorInherited, FcntlAfterTheExecIsReportedAtTheFcntl) {
  int fcntl_line = 0;
  const hc::Result r = once([&] {
    HandleTable fds(posix());
    const RawHandle secret = fds.create(ObjectType::file, "secret.db");
    std::unique_ptr<HandleTable> child = fds.fork("child");
    child->exec("/usr/bin/convert");
    fcntl_line = __LINE__ + 1;
    fds.set_cloexec(secret);
    fds.close(secret);
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::descriptor_inherited,
                         "survived execve('/usr/bin/convert') (thread 'main' at step 3");
  EXPECT_TRUE(contains(
      r.findings[0].message,
      fmt::format("called by thread 'main' at step 4 ({}), after the fork", line_of(fcntl_line))))
      << r.findings[0].message;
  EXPECT_EQ(r.findings[0].line, fcntl_line);
}

// Without fcntl and without descriptors_private, an inherited descriptor is the program's choice.
TEST(DescriptorInherited, AnUnmarkedDescriptorIsInheritedWithoutAFinding) {
  const hc::Result r = once([] {
    HandleTable fds(posix());
    const RawHandle shared = fds.create(ObjectType::file, "shared.pipe");
    std::unique_ptr<HandleTable> child = fds.fork("child");
    child->exec("/bin/cat");
    HC_CHECK(child->describe_object(child->value(3)) == "File 'shared.pipe'", "not inherited");
    fds.close(shared);
  });
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

// descriptors_private: a never-marked descriptor that survives exec is a finding; stdio is not.
TEST(DescriptorInherited, DescriptorsPrivateReportsANeverMarkedDescriptor) {
  const hc::Result r = once([] {
    HandleTableOptions o = posix();
    o.descriptors_private = true;
    HandleTable fds(o);
    const RawHandle log = fds.create(ObjectType::file, "vips.log");
    std::unique_ptr<HandleTable> child = fds.fork("child");
    child->exec("/bin/sh");
    fds.close(log);
  });
  HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::descriptor_inherited,
                         "descriptor inherited: fd 3 (File 'vips.log')");
  EXPECT_TRUE(contains(r.findings[0].message,
                       "(HandleTableOptions::descriptors_private) and it was never marked "
                       "FD_CLOEXEC"))
      << r.findings[0].message;
}

// The race itself: open, then fcntl, in one thread; fork+exec in another. dfs and dpor find it.
void open_then_fcntl_racing_fork(bool o_cloexec) {
  HandleTable fds(posix());
  hc::thread spawner("spawner", [&] {
    std::unique_ptr<HandleTable> child = fds.fork("child");
    child->exec("/bin/sh");
  });
  const RawHandle secret =
      fds.create(ObjectType::file, "secret.db", o_cloexec ? OpenFlags::cloexec : OpenFlags::none);
  if (!o_cloexec) fds.set_cloexec(secret);
  fds.close(secret);
  spawner.join();
}

TEST(DescriptorInherited, TheOpenThenFcntlRaceIsFoundByDfsAndDpor) {
  for (const char* strategy : {"dfs", "dpor"}) {
    hc::ExploreOptions o = exhaustive();
    o.strategy = strategy;
    const hc::Result r = hc::explore([] { open_then_fcntl_racing_fork(false); }, o);
    HC_EXPECT_ONLY_FINDING(r, hc::FindingKind::descriptor_inherited,
                           "was copied into process 'child' by fork() (thread 'spawner'");
    EXPECT_TRUE(contains(r.findings[0].message, "opened by thread 'main'")) << strategy;
  }
}

TEST(DescriptorInherited, OCloexecAtOpenIsCleanUnderDfsAndDpor) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    open_then_fcntl_racing_fork(true);
    outcomes.insert("done");
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
}

// What the exec'd child holds, over every order of open, fcntl, fork and exec: dfs and dpor
// reach the same outcomes (the footprints of fork, exec and fcntl are complete).
TEST(PosixFork, DfsAndDporAgreeOnWhatTheChildInherits) {
  const auto r = hc::test::explore_dfs_and_dpor([](std::set<std::string>& outcomes) {
    HandleTable fds(posix(false));
    std::unique_ptr<HandleTable> child;
    hc::thread spawner("spawner", [&] {
      child = fds.fork("child");
      child->exec("/bin/sh");
    });
    const RawHandle a = fds.create(ObjectType::file, "a", OpenFlags::cloexec);
    fds.set_cloexec(a, false);  // clearing FD_CLOEXEC says nothing about intent
    const RawHandle b = fds.dup2(a, 0);
    spawner.join();
    outcomes.insert(fmt::format("child: fd0={} fd3={} handles(a)={}",
                                child->describe_object(child->value(0)),
                                child->describe_object(child->value(3)), fds.handle_count(a)));
    fds.close(a);
    fds.close(b);
  });
  HC_EXPECT_CLEAN_UNDER_DFS_AND_DPOR(r);
  // fork before the open, or before FD_CLOEXEC is cleared: exec leaves the child without fd 3;
  // between the clear and dup2: fd 3 is inherited; after dup2: fd 0 as well.
  EXPECT_EQ(r.dfs_outcomes,
            (std::set<std::string>{"child: fd0=File 'stdin' fd3= handles(a)=2",
                                   "child: fd0=File 'stdin' fd3=File 'a' handles(a)=3",
                                   "child: fd0=File 'a' fd3=File 'a' handles(a)=4"}));
}

// --- dpor against dfs on generated descriptor programs ----------------------------------------
//
// Small programs of 2-3 threads (1-3 operations each) over one table with stdio and a descriptor
// `shared` (fd 3) that main opens: open (with or without O_CLOEXEC), close(3), dup2 onto 1 and 5,
// dup3(O_CLOEXEC) onto 4, fcntl(F_SETFD) on and off through `shared`, fork+exec (+_exit), writes
// through fd 1 and through `shared`, reads through `shared`. Both searches exhaustive must reach
// the same final states (every descriptor 0-6 and what each exec'd child kept) and the same finding
// kinds: the footprints of the new operations are complete (the engine's footprint audit is on as
// well).

enum class FdAct : std::uint8_t {
  open,
  open_cloexec,
  close3,
  dup2_to1,
  dup2_to5,
  dup3_to4,
  fcntl_on,
  fcntl_off,
  fork_exec,
  write1,
  write_shared,
  read_shared,
};
constexpr int kFdActs = 12;

std::vector<std::vector<FdAct>> fd_program(std::uint64_t seed) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  auto below = [&s](int n) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<int>(s % static_cast<std::uint64_t>(n));
  };
  const int threads = 2 + below(2);
  std::vector<std::vector<FdAct>> p(static_cast<std::size_t>(threads));
  for (auto& ops : p) {
    ops.resize(static_cast<std::size_t>(1 + below(threads == 2 ? 3 : 2)));
    for (FdAct& a : ops)
      a = static_cast<FdAct>(below(kFdActs));
  }
  return p;
}

void run_fd_program(const std::vector<std::vector<FdAct>>& program,
                    std::set<std::string>& outcomes) {
  HandleTableOptions o = posix(false);
  o.invalid_use = InvalidUse::fail;
  HandleTable fds(o);
  const RawHandle shared = fds.create(ObjectType::file, "shared");
  std::vector<std::string> kept(program.size());
  std::vector<hc::thread> threads;
  for (std::size_t t = 0; t < program.size(); ++t) {
    threads.emplace_back(fmt::format("T{}", t), [&, t] {
      for (const FdAct a : program[t]) {
        switch (a) {
          case FdAct::open:
            fds.create(ObjectType::file, fmt::format("t{}", t));
            break;
          case FdAct::open_cloexec:
            fds.create(ObjectType::file, fmt::format("t{}c", t), OpenFlags::cloexec);
            break;
          case FdAct::close3:
            fds.close(fds.value(3));
            break;
          case FdAct::dup2_to1:
            fds.dup2(fds.value(3), 1);
            break;
          case FdAct::dup2_to5:
            fds.dup2(fds.value(1), 5);
            break;
          case FdAct::dup3_to4:
            fds.dup3(fds.value(3), 4, OpenFlags::cloexec);
            break;
          case FdAct::fcntl_on:
            fds.set_cloexec(shared, true);
            break;
          case FdAct::fcntl_off:
            fds.set_cloexec(shared, false);
            break;
          case FdAct::fork_exec: {
            std::unique_ptr<HandleTable> child = fds.fork("child");
            child->exec("/bin/true");
            for (std::uint64_t fd = 0; fd <= 6; ++fd)
              kept[t] += child->describe_object(child->value(fd)) + ",";
            if (t == 0) child->exit_process();  // T0's child exits, the others live on
            break;
          }
          case FdAct::write1:
            fds.write(fds.value(1));
            break;
          case FdAct::write_shared:
            fds.write(shared);
            break;
          case FdAct::read_shared:
            fds.read(shared);
            break;
        }
      }
    });
  }
  for (hc::thread& t : threads)
    t.join();
  std::string state;
  for (std::uint64_t fd = 0; fd <= 6; ++fd)
    state += fmt::format("{}={}({}) ", fd, fds.describe_object(fds.value(fd)),
                         fds.handle_count(fds.value(fd)));
  for (const std::string& k : kept)
    state += "| " + k;
  outcomes.insert(state);
}

TEST(PosixFdDifferential, DporReachesWhatDfsReachesOn300Programs) {
  std::uint64_t dfs_executions = 0;
  std::uint64_t dpor_executions = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    const auto program = fd_program(seed);
    hc::ExploreOptions o = exhaustive();
    o.stop_at_first = false;
    const auto r = hc::test::explore_dfs_and_dpor(
        [&](std::set<std::string>& outcomes) { run_fd_program(program, outcomes); }, o);
    HC_EXPECT_DPOR_AGREES_WITH_DFS(r, "program " + std::to_string(seed));
    dfs_executions += r.dfs.stats.executions;
    dpor_executions += r.dpor.stats.executions;
  }
  std::printf("300 descriptor programs: dfs %llu executions, dpor %llu\n",
              static_cast<unsigned long long>(dfs_executions),
              static_cast<unsigned long long>(dpor_executions));
  // dpor prunes (reads of `shared` commute): not every footprint is "everything".
  EXPECT_LT(dpor_executions, dfs_executions);
}
}  // namespace

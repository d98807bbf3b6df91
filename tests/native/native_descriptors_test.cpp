// native_descriptors_test.cpp — handlecheck::native's descriptor shadow (native/src/
// descriptors.cpp): plain C++ that opens, closes and uses real descriptors from std::threads,
// explored with dfs; each test asserts the verdict, the finding's kind and its message with
// this file's lines, and that no real descriptor outlives the exploration.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "hc/check.hpp"
#include "hc/explorer.hpp"
#include "hc/native.hpp"
#include "substrate.hpp"

namespace {

hc::Result explore(void (*body)(), bool stop_at_first = true) {
  hc::ExploreOptions o;
  o.strategy = "dfs";
  o.max_executions = 5000;
  o.stop_at_first = stop_at_first;
  o.os_threads = hc_test::os_threads_under_test();
  o.watchdog_seconds = 10;
  return hc::explore(hc::native::test_body(body), o);
}

std::string line(int n) {
  return "tests/native/native_descriptors_test.cpp:" + std::to_string(n);
}

/// How many descriptors above stdio name /dev/null: what the tests' bodies open. An exploration
/// must leave as many as there were before it (the process may have inherited some).
int dev_null_descriptors() {
  struct stat null_stat {};
  if (stat("/dev/null", &null_stat) != 0) return -1;
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int own = dirfd(d);
    while (const dirent* e = readdir(d)) {
      const int fd = std::atoi(e->d_name);
      struct stat st {};
      if (fd > 2 && fd != own && fstat(fd, &st) == 0 && st.st_rdev == null_stat.st_rdev &&
          S_ISCHR(st.st_mode))
        ++n;
    }
    closedir(d);
  }
  return n;
}

// --- a stale number: closed, opened again by another thread, used by the old holder --------

constexpr int kStaleWriteLine = __LINE__ + 5;
constexpr int kCloseLine = __LINE__ + 5;
constexpr int kReopenLine = __LINE__ + 6;
void stale_write() {
  const int fd = open("/dev/null", O_WRONLY);
  std::thread logger([fd] { (void)write(fd, "x", 1); });
  close(fd);
  // The lowest free number: the one just closed.
  const int other = open("/dev/null", O_WRONLY);
  logger.join();
  close(other);
}

TEST(NativeDescriptors, AWriteThroughARecycledNumberIsAStaleHandleUse) {
  const hc::Result r = explore(stale_write);
  ASSERT_EQ(r.verdict(), hc::FindingKind::stale_handle_use) << r.stats.executions;
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("uses descriptor"), std::string::npos) << m;
  EXPECT_NE(m.find("(write) at " + line(kStaleWriteLine)), std::string::npos) << m;
  EXPECT_NE(m.find("closed it at " + line(kCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find("opened it again at " + line(kReopenLine)), std::string::npos) << m;
  EXPECT_NE(m.find("never learnt the new descriptor"), std::string::npos) << m;
}

// The fix: the logger is joined before the number is closed. Every schedule is clean.
void joined_before_close() {
  const int fd = open("/dev/null", O_WRONLY);
  std::thread logger([fd] { (void)write(fd, "x", 1); });
  logger.join();
  close(fd);
  const int other = open("/dev/null", O_WRONLY);
  (void)write(other, "y", 1);
  close(other);
}

TEST(NativeDescriptors, UsesOrderedAfterTheirOpenAreClean) {
  const hc::Result r = explore(joined_before_close);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
}

// A number handed over through an atomic after it was opened again is the new descriptor: the
// reader learnt it from the open (release/acquire), so its use is no stale one.
std::atomic<int> g_current{-1};
void handed_over_after_reopen() {
  g_current.store(open("/dev/null", O_WRONLY));
  std::thread user([] {
    const int fd = g_current.load();
    if (fd >= 0) (void)write(fd, "x", 1);
  });
  const int first = g_current.exchange(-1);
  close(first);
  user.join();
  g_current.store(-1);
}

TEST(NativeDescriptors, ANumberLearntThroughAnAtomicIsNotStale) {
  // The user either sees the first descriptor before the close (its use then races with the
  // close: reported as a use after close when the close came first) or -1. No stale use.
  const hc::Result r = explore(handed_over_after_reopen, /*stop_at_first=*/false);
  for (const hc::Finding& f : r.findings)
    EXPECT_NE(f.kind, hc::FindingKind::stale_handle_use) << f.message;
}

// --- double close -------------------------------------------------------------------------------

constexpr int kFirstCloseLine = __LINE__ + 3;
void closed_twice() {
  const int fd = open("/dev/null", O_RDONLY);
  std::thread a([fd] { close(fd); });
  std::thread b([fd] { close(fd); });
  a.join();
  b.join();
}

TEST(NativeDescriptors, TwoThreadsClosingOneDescriptorIsADoubleClose) {
  const hc::Result r = explore(closed_twice);
  ASSERT_EQ(r.verdict(), hc::FindingKind::double_close);
  const std::string& m = r.findings.front().message;
  // Either thread may close first: the message names both closes.
  EXPECT_NE(m.find("closed already at "), std::string::npos) << m;
  EXPECT_NE(m.find(line(kFirstCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find(line(kFirstCloseLine + 1)), std::string::npos) << m;
  EXPECT_NE(m.find("EBADF"), std::string::npos) << m;
}

constexpr int kLateCloseLine = __LINE__ + 3;
void close_after_reuse() {
  const int fd = open("/dev/null", O_RDONLY);
  std::thread late([fd] { close(fd); });  // holds the number it was started with
  close(fd);
  const int other = open("/dev/null", O_RDONLY);  // the same number again
  late.join();
  close(other);
}

TEST(NativeDescriptors, ClosingANumberOpenedAgainByAnotherThreadIsADoubleClose) {
  // Three bugs of one race: the late close first (main's close is then the second), between
  // main's close and its reopen, or after the reopen, when it closes main's new descriptor.
  const hc::Result r = explore(close_after_reuse, /*stop_at_first=*/false);
  bool reuse = false;
  for (const hc::Finding& f : r.findings) {
    EXPECT_EQ(f.kind, hc::FindingKind::double_close) << f.message;
    if (f.message.find("a number it no longer owns") == std::string::npos) continue;
    reuse = true;
    EXPECT_NE(f.message.find("closes descriptor"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find(line(kLateCloseLine)), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("opened it again at " + line(kLateCloseLine + 2)), std::string::npos)
        << f.message;
  }
  EXPECT_TRUE(reuse) << "no finding for the close after the reuse among " << r.findings.size();
}

// --- use after close, leaks, blocking reads ------------------------------------------------

constexpr int kReadAfterCloseLine = __LINE__ + 6;
void read_after_close() {
  const int fd = open("/dev/zero", O_RDONLY);
  std::thread closer([fd] { close(fd); });
  closer.join();
  char c = 0;
  (void)read(fd, &c, 1);
}

TEST(NativeDescriptors, AUseAfterTheCloseIsAnInvalidHandleUse) {
  const hc::Result r = explore(read_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(read) at " + line(kReadAfterCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find("EBADF"), std::string::npos) << m;
}

constexpr int kLeakLine = __LINE__ + 2;
void leaks_one() {
  const int fd = open("/dev/null", O_RDONLY);
  (void)fd;
}

TEST(NativeDescriptors, ADescriptorOpenWhenTheBodyReturnsIsAHandleLeak) {
  const int before = dev_null_descriptors();
  const hc::Result r = explore(leaks_one);
  ASSERT_EQ(r.verdict(), hc::FindingKind::handle_leak);
  EXPECT_NE(r.findings.front().message.find("opened it at " + line(kLeakLine)), std::string::npos)
      << r.findings.front().message;
  EXPECT_EQ(dev_null_descriptors(), before) << "the leaked descriptor was not closed afterwards";
}

TEST(NativeDescriptors, DescriptorsLeftOpenByEndedExecutionsAreClosed) {
  // Every execution of stale_write that ends at its finding still holds the reopened number;
  // explored to the end of its space, the run must leave none of them open.
  const int before = dev_null_descriptors();
  const hc::Result r = explore(stale_write, /*stop_at_first=*/false);
  EXPECT_FALSE(r.findings.empty());
  EXPECT_GT(r.stats.executions, 1u);
  EXPECT_EQ(dev_null_descriptors(), before);
}

std::atomic<int> g_received{0};
void pipe_handoff() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread reader([fd = fds[0]] {
    char c = 0;
    if (read(fd, &c, 1) == 1) g_received.store(c);
  });
  (void)write(fds[1], "k", 1);
  reader.join();
  close(fds[0]);
  close(fds[1]);
  HC_CHECK(g_received.exchange(0) == 'k', "the reader got nothing");
}

TEST(NativeDescriptors, ABlockingReadWaitsForTheWriterWithoutHangingTheRun) {
  const hc::Result r = explore(pipe_handoff);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);  // the read's yield points interleave with the write
}

// --- epoll: a wait with no timeout neither hangs the run nor misses the event -----------------

std::atomic<int> g_events{0};
void epoll_handoff() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.fd = fds[0];
  HC_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &interest) == 0, "epoll_ctl failed");
  std::thread writer([w = fds[1]] { (void)write(w, "e", 1); });
  epoll_event ready{};
  g_events.store(epoll_wait(ep, &ready, 1, -1));
  writer.join();
  close(ep);
  close(fds[0]);
  close(fds[1]);
  HC_CHECK(g_events.exchange(0) == 1, "epoll_wait returned without the event");
}

TEST(NativeDescriptors, AnEpollWaitWithoutTimeoutGetsTheEventWithoutHangingTheRun) {
  const hc::Result r = explore(epoll_handoff);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);  // the wait's yields interleave with the write
}

void epoll_nobody_writes() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  HC_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &interest) == 0, "epoll_ctl failed");
  epoll_event ready{};
  (void)epoll_wait(ep, &ready, 1, -1);  // nobody writes
  close(ep);
  close(fds[0]);
  close(fds[1]);
}

TEST(NativeDescriptors, AnEpollWaitNobodySatisfiesIsAFindingNotAHang) {
  const hc::Result r = explore(epoll_nobody_writes);
  ASSERT_TRUE(r.verdict().has_value());
  EXPECT_TRUE(r.verdict() == hc::FindingKind::livelock ||
              r.verdict() == hc::FindingKind::step_bound_exceeded)
      << r.findings.front().message;
}

// --- fcntl: F_DUPFD and F_DUPFD_CLOEXEC open a new incarnation like dup; the rest are uses ------

constexpr int kFcntlStaleWriteLine = __LINE__ + 6;
constexpr int kFcntlCloseLine = __LINE__ + 6;
constexpr int kFcntlDupLine = __LINE__ + 6;
void stale_write_after_fcntl_dup() {
  const int keep = open("/dev/null", O_WRONLY);
  const int fd = open("/dev/null", O_WRONLY);
  std::thread logger([fd] { (void)write(fd, "x", 1); });
  close(fd);
  const int copy = fcntl(keep, F_DUPFD_CLOEXEC, 0);  // the lowest free number: fd's
  logger.join();
  close(copy);
  close(keep);
}

TEST(NativeDescriptors, ANumberReusedByFcntlDupfdIsAStaleHandleForItsOldHolder) {
  const hc::Result r = explore(stale_write_after_fcntl_dup);
  ASSERT_EQ(r.verdict(), hc::FindingKind::stale_handle_use) << r.stats.executions;
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(write) at " + line(kFcntlStaleWriteLine)), std::string::npos) << m;
  EXPECT_NE(m.find("closed it at " + line(kFcntlCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find("opened it again at " + line(kFcntlDupLine)), std::string::npos) << m;
}

constexpr int kFcntlAfterCloseLine = __LINE__ + 5;
void fcntl_after_close() {
  const int fd = open("/dev/null", O_RDONLY);
  std::thread closer([fd] { close(fd); });
  closer.join();
  (void)fcntl(fd, F_GETFL);
}

// fcntl64, fcntl's other name (glibc 2.28; what fcntl is with _FILE_OFFSET_BITS=64 on 32-bit).
constexpr int kFcntl64AfterCloseLine = __LINE__ + 5;
void fcntl64_after_close() {
  const int fd = open("/dev/null", O_RDONLY);
  std::thread closer([fd] { close(fd); });
  closer.join();
  (void)fcntl64(fd, F_GETFD);
}

TEST(NativeDescriptors, AnFcntl64CommandOnAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(fcntl64_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(fcntl) at " + line(kFcntl64AfterCloseLine)), std::string::npos) << m;
}

TEST(NativeDescriptors, AnFcntlCommandOnAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(fcntl_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("uses descriptor"), std::string::npos) << m;
  EXPECT_NE(m.find("(fcntl) at " + line(kFcntlAfterCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find("EBADF"), std::string::npos) << m;
}

// Clean: a number another thread closed comes back through F_DUPFD (the caller's own open), and
// the commands' third arguments (an int, a minimum number) reach the kernel intact. The user's
// write and the second F_DUPFD run in either order.
void fcntl_dup_of_a_recycled_number() {
  const int base = open("/dev/null", O_WRONLY);
  std::thread passer([] { close(open("/dev/null", O_WRONLY)); });  // opens and frees base + 1
  passer.join();
  const int copy = fcntl(base, F_DUPFD, 0);  // that number again
  HC_CHECK(fcntl(copy, F_SETFL, O_NONBLOCK) == 0, "F_SETFL failed");
  HC_CHECK((fcntl(copy, F_GETFL) & O_NONBLOCK) != 0, "F_SETFL's argument was lost");
  std::thread user([copy] { (void)write(copy, "x", 1); });
  const int high = fcntl(base, F_DUPFD_CLOEXEC, 100);
  HC_CHECK(high >= 100, "F_DUPFD_CLOEXEC's minimum was lost");
  HC_CHECK((fcntl(high, F_GETFD) & FD_CLOEXEC) != 0, "no close-on-exec flag");
  user.join();
  close(high);
  close(copy);
  close(base);
}

TEST(NativeDescriptors, FcntlDuplicatesOrderedAfterTheirUsesAreClean) {
  const hc::Result r = explore(fcntl_dup_of_a_recycled_number);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// An open-file-description lock wait (F_OFD_SETLKW, a struct pointer as the third argument)
// yields to the holder instead of blocking the OS thread every simulated thread runs on.
char g_lock_path[] = "/tmp/hc-native-lock-XXXXXX";
std::atomic<int> g_lock_holders{0};
void take_the_lock() {
  const int fd = open(g_lock_path, O_RDWR);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  HC_CHECK(fcntl(fd, F_OFD_SETLKW, &lock) == 0, "F_OFD_SETLKW failed");
  HC_CHECK(g_lock_holders.fetch_add(1) == 0, "two holders of one write lock");
  g_lock_holders.fetch_sub(1);
  lock.l_type = F_UNLCK;
  HC_CHECK(fcntl(fd, F_OFD_SETLK, &lock) == 0, "unlock failed");
  close(fd);
}
void ofd_lock_handoff() {
  std::thread other(take_the_lock);
  take_the_lock();
  other.join();
}

TEST(NativeDescriptors, AnFcntlLockWaitYieldsToTheHolderWithoutHangingTheRun) {
  const int made = mkstemp(g_lock_path);
  ASSERT_GE(made, 0);
  close(made);
  const hc::Result r = explore(ofd_lock_handoff);
  unlink(g_lock_path);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

// --- select, pselect, ppoll, epoll_pwait: uses, and waits that poll and yield ------------------

std::atomic<int> g_selected{0};
void select_handoff() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread writer([w = fds[1]] { (void)write(w, "s", 1); });
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(fds[0], &readable);
  const int n = select(fds[0] + 1, &readable, nullptr, nullptr, nullptr);  // no timeout
  g_selected.store(n == 1 && FD_ISSET(fds[0], &readable) ? 1 : 0);
  writer.join();
  close(fds[0]);
  close(fds[1]);
  HC_CHECK(g_selected.exchange(0) == 1, "select returned without the readable end");
}

TEST(NativeDescriptors, ASelectWithoutTimeoutGetsTheWriteWithoutHangingTheRun) {
  const hc::Result r = explore(select_handoff);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);  // the wait's yields interleave with the write
}

constexpr int kSelectAfterCloseLine = __LINE__ + 10;
void select_after_close() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread closer([r = fds[0]] { close(r); });
  closer.join();
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(fds[0], &readable);
  timeval none{};
  (void)select(fds[0] + 1, &readable, nullptr, nullptr, &none);
  close(fds[1]);
}

TEST(NativeDescriptors, ASelectOnAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(select_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(select) at " + line(kSelectAfterCloseLine)), std::string::npos) << m;
  EXPECT_NE(m.find("EBADF"), std::string::npos) << m;
}

// A finite timeout (30 s here) returns after one yield: ready if the writer ran meanwhile, else 0
// with the set cleared. Both happen; neither waits.
std::atomic<int> g_pselect_outcomes{0};  // bit 0: timed out, bit 1: readable
void pselect_with_timeout() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread writer([w = fds[1]] { (void)write(w, "p", 1); });
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(fds[0], &readable);
  const timespec thirty_seconds{30, 0};
  const int n = pselect(fds[0] + 1, &readable, nullptr, nullptr, &thirty_seconds, nullptr);
  HC_CHECK(n == (FD_ISSET(fds[0], &readable) ? 1 : 0), "pselect's set and count disagree");
  g_pselect_outcomes.fetch_or(n == 1 ? 2 : 1);
  writer.join();
  close(fds[0]);
  close(fds[1]);
}

TEST(NativeDescriptors, APselectWithAFiniteTimeoutReturnsAfterOneYield) {
  g_pselect_outcomes.store(0);
  const hc::Result r = explore(pselect_with_timeout);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_EQ(g_pselect_outcomes.load(), 3) << "both a timeout and a ready descriptor happen";
}

std::atomic<int> g_ppolled{0};
void ppoll_handoff() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread writer([w = fds[1]] { (void)write(w, "q", 1); });
  pollfd wanted{fds[0], POLLIN, 0};
  g_ppolled.store(ppoll(&wanted, 1, nullptr, nullptr));  // no timeout
  writer.join();
  close(fds[0]);
  close(fds[1]);
  HC_CHECK(g_ppolled.exchange(0) == 1, "ppoll returned without the readable end");
}

TEST(NativeDescriptors, APpollWithoutTimeoutGetsTheWriteWithoutHangingTheRun) {
  const hc::Result r = explore(ppoll_handoff);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

constexpr int kPpollAfterCloseLine = __LINE__ + 7;
void ppoll_after_close() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  std::thread closer([r = fds[0]] { close(r); });
  closer.join();
  pollfd wanted{fds[0], POLLIN, 0};
  (void)ppoll(&wanted, 1, nullptr, nullptr);
  close(fds[1]);
}

TEST(NativeDescriptors, APpollOnAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(ppoll_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(ppoll) at " + line(kPpollAfterCloseLine)), std::string::npos) << m;
}

std::atomic<int> g_pwaited{0};
void epoll_pwait_handoff() {
  int fds[2];
  HC_CHECK(pipe(fds) == 0, "pipe failed");
  const int ep = epoll_create1(0);
  epoll_event interest{};
  interest.events = EPOLLIN;
  HC_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &interest) == 0, "epoll_ctl failed");
  std::thread writer([w = fds[1]] { (void)write(w, "e", 1); });
  epoll_event ready{};
  g_pwaited.store(epoll_pwait(ep, &ready, 1, -1, nullptr));
  writer.join();
  close(ep);
  close(fds[0]);
  close(fds[1]);
  HC_CHECK(g_pwaited.exchange(0) == 1, "epoll_pwait returned without the event");
}

TEST(NativeDescriptors, AnEpollPwaitWithoutTimeoutGetsTheEventWithoutHangingTheRun) {
  const hc::Result r = explore(epoll_pwait_handoff);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
}

constexpr int kEpollPwaitAfterCloseLine = __LINE__ + 7;
void epoll_pwait_after_close() {
  const int ep = epoll_create1(0);
  std::thread closer([ep] { close(ep); });
  closer.join();
  epoll_event ready{};
  (void)ready;
  (void)epoll_pwait(ep, &ready, 1, 0, nullptr);
}

TEST(NativeDescriptors, AnEpollPwaitOnAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(epoll_pwait_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(epoll_pwait) at " + line(kEpollPwaitAfterCloseLine)), std::string::npos) << m;
}

// --- streams: the number a FILE holds (fopen, fdopen, freopen, fclose; std::fstream) ----------

constexpr int kFopenLeakLine = __LINE__ + 2;
void leaks_a_stream() {
  FILE* leaked = fopen("/dev/null", "r");
  (void)leaked;
}

TEST(NativeDescriptors, AStreamOpenWhenTheBodyReturnsIsAHandleLeak) {
  const int before = dev_null_descriptors();
  const hc::Result r = explore(leaks_a_stream);
  ASSERT_EQ(r.verdict(), hc::FindingKind::handle_leak);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("is still open when the test body returns"), std::string::npos) << m;
  EXPECT_NE(m.find("opened it at " + line(kFopenLeakLine)), std::string::npos) << m;
  EXPECT_EQ(dev_null_descriptors(), before) << "the leaked stream's descriptor was not closed";
}

constexpr int kOfstreamLeakLine = __LINE__ + 2;
void leaks_an_ofstream() {
  auto* log = new std::ofstream("/dev/null");  // never deleted: its file is never closed
  *log << "x";
}

TEST(NativeDescriptors, AnOfstreamNeverClosedIsAHandleLeakAtTheUsersLine) {
  const int before = dev_null_descriptors();
  const hc::Result r = explore(leaks_an_ofstream);
  ASSERT_EQ(r.verdict(), hc::FindingKind::handle_leak);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("opened it at " + line(kOfstreamLeakLine)), std::string::npos) << m;
  EXPECT_EQ(dev_null_descriptors(), before);
}

// A function-local static std::ofstream (a logger) outlives the test body: its descriptor is a
// leak when the body returns (as a raw one a static holds is), and its destructor, run when the
// next execution starts (outside user code), closes the stream once: the shadow forgets it then
// instead of closing it again.
constexpr int kStaticLogLine = __LINE__ + 3;
void static_logger() {
  std::thread other([] { close(open("/dev/null", O_RDONLY)); });
  static std::ofstream log("/dev/null");
  log << "x" << std::flush;
  other.join();
}

TEST(NativeDescriptors, AStaticOfstreamIsAHandleLeakClosedOnceByItsDestructor) {
  const int before = dev_null_descriptors();
  const hc::Result r = explore(static_logger, /*stop_at_first=*/false);
  ASSERT_FALSE(r.findings.empty());
  for (const hc::Finding& f : r.findings) {
    EXPECT_EQ(f.kind, hc::FindingKind::handle_leak) << f.message;
    EXPECT_NE(f.message.find("opened it at " + line(kStaticLogLine)), std::string::npos)
        << f.message;
  }
  EXPECT_GT(r.stats.executions, 1u);
  EXPECT_EQ(dev_null_descriptors(), before);
}

// A stream over a raw descriptor (fdopen) owns it; the raw owner must not close it too.
constexpr int kLateFcloseLine = __LINE__ + 4;
void fclose_after_reuse() {
  const int fd = open("/dev/null", O_RDONLY);
  FILE* stream = fdopen(fd, "r");
  std::thread late([stream] { fclose(stream); });  // the stream's owner closes it
  close(fd);                                       // the bug: the raw number was given away
  const int other = open("/dev/null", O_RDONLY);   // the same number again
  late.join();
  close(other);
}

TEST(NativeDescriptors, AnFcloseOfANumberOpenedAgainByAnotherThreadIsADoubleClose) {
  const hc::Result r = explore(fclose_after_reuse, /*stop_at_first=*/false);
  bool reuse = false;
  for (const hc::Finding& f : r.findings) {
    EXPECT_EQ(f.kind, hc::FindingKind::double_close) << f.message;
    if (f.message.find("a number it no longer owns") == std::string::npos) continue;
    reuse = true;
    EXPECT_NE(f.message.find("(fclose) at " + line(kLateFcloseLine)), std::string::npos)
        << f.message;
    EXPECT_NE(f.message.find("opened it again at " + line(kLateFcloseLine + 2)), std::string::npos)
        << f.message;
  }
  EXPECT_TRUE(reuse) << "no finding for the fclose after the reuse among " << r.findings.size();
}

constexpr int kFdopenAfterCloseLine = __LINE__ + 5;
void fdopen_after_close() {
  const int fd = open("/dev/null", O_RDONLY);
  std::thread closer([fd] { close(fd); });
  closer.join();
  FILE* stream = fdopen(fd, "r");
  if (stream != nullptr) fclose(stream);
}

TEST(NativeDescriptors, AnFdopenOfAClosedNumberIsAnInvalidHandleUse) {
  const hc::Result r = explore(fdopen_after_close);
  ASSERT_EQ(r.verdict(), hc::FindingKind::invalid_handle_use);
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(fdopen) at " + line(kFdopenAfterCloseLine)), std::string::npos) << m;
}

// A raw number opened and closed by another thread comes back under a stream: fopen, then a
// std::ofstream (libstdc++'s fopen64 and its own write), a freopen, an fdopen and a
// std::ifstream. Each is the caller's own open: every schedule is clean, and nothing leaks.
void streams_on_a_recycled_number() {
  std::thread passer([] { close(open("/dev/null", O_WRONLY)); });
  passer.join();
  FILE* stream = fopen("/dev/null", "w");  // the number the passer freed
  HC_CHECK(stream != nullptr, "fopen failed");
  std::thread writer([stream] {
    (void)fputs("x", stream);
    struct stat st {};
    HC_CHECK(fstat(fileno(stream), &st) == 0, "fstat failed");
  });
  {
    std::ofstream side("/dev/null");  // another number, opened while the writer runs
    side << "y" << std::flush;
  }
  writer.join();
  fclose(stream);
  {
    std::ofstream out("/dev/null");  // the passer's number again
    out << "z" << std::flush;        // write(2) from libstdc++: a use
  }
  stream = fopen("/dev/null", "r");
  stream = freopen("/dev/zero", "r", stream);  // closed and opened again
  HC_CHECK(stream != nullptr && fgetc(stream) == 0, "freopen failed");
  fclose(stream);
  FILE* wrapped = fdopen(open("/dev/null", O_RDONLY), "r");
  fclose(wrapped);
  std::ifstream in("/dev/zero");
  char c = 1;
  in.read(&c, 1);
  HC_CHECK(c == 0, "the ifstream read nothing");
}

TEST(NativeDescriptors, StreamsOnARecycledNumberAreClean) {
  const int before = dev_null_descriptors();
  const hc::Result r = explore(streams_on_a_recycled_number);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
  EXPECT_TRUE(r.stats.exhausted);
  EXPECT_GT(r.stats.executions, 1u);
  EXPECT_EQ(dev_null_descriptors(), before);
}

// freopen closes the stream's number: a thread that kept it uses another file.
constexpr int kFreopenStaleLine = __LINE__ + 5;
constexpr int kFreopenLine = __LINE__ + 5;
void stale_use_after_freopen() {
  FILE* stream = fopen("/dev/null", "w");
  const int fd = fileno(stream);
  std::thread logger([fd] { (void)write(fd, "x", 1); });
  stream = freopen("/dev/zero", "r", stream);
  logger.join();
  fclose(stream);
}

TEST(NativeDescriptors, ANumberKeptAcrossFreopenIsAStaleHandle) {
  const hc::Result r = explore(stale_use_after_freopen);
  ASSERT_EQ(r.verdict(), hc::FindingKind::stale_handle_use) << r.stats.executions;
  const std::string& m = r.findings.front().message;
  EXPECT_NE(m.find("(write) at " + line(kFreopenStaleLine)), std::string::npos) << m;
  EXPECT_NE(m.find("closed it at " + line(kFreopenLine)), std::string::npos) << m;
  EXPECT_NE(m.find("opened it again at " + line(kFreopenLine)), std::string::npos) << m;
}

}  // namespace

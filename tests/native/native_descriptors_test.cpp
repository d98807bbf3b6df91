// native_descriptors_test.cpp — handlecheck::native's descriptor shadow (native/src/
// descriptors.cpp): plain C++ that opens, closes and uses real descriptors from std::threads,
// explored with dfs; each test asserts the verdict, the finding's kind and its message with
// this file's lines, and that no real descriptor outlives the exploration.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <atomic>
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

}  // namespace

// Scale: parallel workers (--jobs), shards (--shard I/N) and checkpoints (--resume) split one
// search into work units; whatever the split, an exhaustive run ends with the totals and the
// findings of one sequential run, and a seeded run with the same executions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "explore/checkpoint.hpp"
#include "hc/stop.hpp"
#include "test_support.hpp"

namespace {

/// Three threads racing on a counter and a flag: a lost update (a check failure) in some
/// interleavings, several thousand executions under dfs. Without `check` the same operations
/// find nothing.
void racy_counter_checked(bool check) {
  hc::atomic<int> counter{0, "counter"};
  hc::atomic<int> flag{0, "flag"};
  std::vector<hc::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back("T" + std::to_string(t), [&, t] {
      const int v = counter.load();
      flag.store(t);
      counter.store(v + 1);
    });
  }
  for (hc::thread& t : ts)
    t.join();
  const int final_count = counter.load();
  HC_CHECK(!check || final_count == 3, "lost update");
}

void racy_counter() {
  racy_counter_checked(true);
}

hc::ExploreOptions options(const std::string& strategy) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = strategy == "random" || strategy == "pct" ? 3000 : 0;
  o.seed = 11;
  o.stop_at_first = false;
  o.coverage = true;
  return o;
}

std::set<std::string> signatures(const hc::Result& r) {
  std::set<std::string> s;
  for (const hc::Finding& f : r.findings)
    s.insert(f.signature);
  return s;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hc-scale-" + name)).string();
}

class Scale : public testing::TestWithParam<std::string> {};

TEST_P(Scale, ParallelWorkersGiveTheTotalsAndFindingsOfOneWorker) {
  const hc::Result one = hc::explore(racy_counter, options(GetParam()));
  hc::ExploreOptions o = options(GetParam());
  o.jobs = 2;
  const hc::Result two = hc::explore(racy_counter, o);
  ASSERT_FALSE(one.findings.empty());
  EXPECT_EQ(two.stats.executions, one.stats.executions);
  EXPECT_EQ(two.stats.exhausted, one.stats.exhausted);
  EXPECT_EQ(signatures(two), signatures(one));
  EXPECT_EQ(two.covered_pairs, one.covered_pairs);
  // The first finding is the one a sequential run meets first, at the same execution.
  EXPECT_EQ(two.findings.front().signature, one.findings.front().signature);
  // dpor's workers share one search tree whose units commit in sequential order.
  EXPECT_EQ(two.findings.front().execution, one.findings.front().execution);
  EXPECT_EQ(two.stats.steps, one.stats.steps);
}

TEST_P(Scale, ThreeShardsSumToOneUnshardedRun) {
  const hc::Result whole = hc::explore(racy_counter, options(GetParam()));
  std::uint64_t executions = 0;
  std::uint64_t units = 0;
  std::set<std::string> found;
  for (std::uint32_t i = 0; i < 3; ++i) {
    hc::ExploreOptions o = options(GetParam());
    o.shard_index = i;
    o.shard_count = 3;
    const hc::Result part = hc::explore(racy_counter, o);
    EXPECT_GT(part.stats.executions, 0u) << "shard " << i + 1 << " of 3 explored nothing";
    executions += part.stats.executions;
    units += part.stats.units;
    const auto s = signatures(part);
    found.insert(s.begin(), s.end());
  }
  EXPECT_EQ(executions, whole.stats.executions);
  EXPECT_EQ(found, signatures(whole));
  EXPECT_GE(units, 3u);
}

TEST_P(Scale, AnInterruptedRunResumedFromItsCheckpointEndsWithTheSameTotals) {
  const hc::Result whole = hc::explore(racy_counter, options(GetParam()));
  const std::string file = temp_path(GetParam() + ".checkpoint.json");
  std::remove(file.c_str());
  hc::ExploreOptions o = options(GetParam());
  o.checkpoint_file = file;
  o.interrupt_after_executions = whole.stats.executions / 3;
  const hc::Result first = hc::explore(racy_counter, o);
  EXPECT_TRUE(first.stats.interrupted);
  EXPECT_FALSE(first.stats.exhausted);
  EXPECT_LT(first.stats.executions, whole.stats.executions);
  ASSERT_TRUE(std::filesystem::exists(file));

  hc::ExploreOptions again = options(GetParam());
  again.checkpoint_file = file;
  again.resume_file = file;
  const hc::Result rest = hc::explore(racy_counter, again);
  EXPECT_FALSE(rest.stats.interrupted);
  EXPECT_EQ(rest.stats.executions, whole.stats.executions);
  EXPECT_EQ(rest.stats.exhausted, whole.stats.exhausted);
  EXPECT_EQ(signatures(rest), signatures(whole));
  EXPECT_EQ(rest.covered_pairs, whole.covered_pairs);  // the checkpoint keeps the pairs seen
  EXPECT_EQ(rest.one_order_pairs, whole.one_order_pairs);
  // Findings carried over from the checkpoint are rebuilt with their traces.
  for (const hc::Finding& f : rest.findings)
    EXPECT_FALSE(f.trace.empty()) << f.signature;
  std::remove(file.c_str());
}

INSTANTIATE_TEST_SUITE_P(Strategies, Scale, testing::Values("dfs", "dpor", "random", "pct"));

// However a dpor search is split — workers, shards, any split depth — it completes one
// execution per trace, as the unsplit search does.
TEST(Scale, DporKeepsOneExecutionPerTraceHoweverItIsSplit) {
  for (const char* strategy : {"dpor", "dpor-source"}) {
    hc::ExploreOptions o = options(strategy);
    EXPECT_EQ(hc::explore(hc::test::lastzero(4), o).stats.executions, 28u) << strategy;
    for (std::uint32_t depth = 1; depth <= 5; ++depth) {
      o.split_depth = depth;
      o.jobs = 2;
      EXPECT_EQ(hc::explore(hc::test::lastzero(4), o).stats.executions, 28u)
          << strategy << ", 2 workers, split depth " << depth;
      o.jobs = 1;
      std::uint64_t sum = 0;
      for (std::uint32_t i = 0; i < 3; ++i) {
        o.shard_index = i;
        o.shard_count = 3;
        sum += hc::explore(hc::test::lastzero(4), o).stats.executions;
      }
      o.shard_count = 1;
      o.shard_index = 0;
      EXPECT_EQ(sum, 28u) << strategy << ", 3 shards, split depth " << depth;
    }
  }
}

// --- the process's helper threads (explore/helper_threads.hpp) ----------------------------------

/// The kernel ids of the OS threads that ran the executions of one exploration with `jobs`
/// workers (each execution runs on one worker's thread). `first` runs at the start of its
/// first execution.
std::set<long> worker_threads(int jobs, std::uint64_t* executions = nullptr,
                              const std::function<void()>& first = {}) {
  std::mutex mu;  // a real one, held without an hc:: operation inside: never a scheduling point
  std::set<long> tids;
  bool started = false;
  hc::ExploreOptions o = options("dfs");
  o.jobs = jobs;
  const hc::Result r = hc::explore(
      [&] {
        bool run_first = false;
        {
          std::lock_guard lock(mu);
          tids.insert(::syscall(SYS_gettid));
          run_first = !std::exchange(started, true);
        }
        if (run_first && first) first();
        hc::test::threads_with_steps(3, 4)();
      },
      o);
  if (executions != nullptr) *executions = r.stats.executions;
  return tids;
}
constexpr std::uint64_t kWorkerThreadsExecutions = 34650;

TEST(HelperThreads, TheNextExplorationsWorkersRunOnTheSameThreads) {
  std::uint64_t executions = 0;
  const std::set<long> first = worker_threads(3, &executions);
  EXPECT_EQ(executions, kWorkerThreadsExecutions);
  ASSERT_EQ(first.size(), 3u) << "each of the 3 workers ran executions";
  const std::set<long> second = worker_threads(3);
  EXPECT_EQ(second, first) << "the helpers were made again (a thread per worker per run)";
  // With more workers than helpers waiting, the others are made: the first ones are kept.
  const std::set<long> more = worker_threads(4);
  EXPECT_EQ(more.size(), 4u);
  EXPECT_TRUE(std::includes(more.begin(), more.end(), first.begin(), first.end()));
}

TEST(HelperThreads, ExplorationsRunningAtOnceEachGetTheirOwn) {
  // Each run's first execution waits until the other run has begun: they overlap, so a helper
  // of one cannot have been given back and taken by the other meanwhile.
  std::atomic<int> begun{0};
  const auto meet = [&begun] {
    begun.fetch_add(1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (begun.load() < 2 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::set<long> mine;
  std::set<long> theirs;
  std::thread other([&] { theirs = worker_threads(2, &b, meet); });
  mine = worker_threads(2, &a, meet);
  other.join();
  ASSERT_EQ(begun.load(), 2);
  EXPECT_EQ(a, kWorkerThreadsExecutions);
  EXPECT_EQ(b, kWorkerThreadsExecutions);
  std::vector<long> shared;
  std::set_intersection(mine.begin(), mine.end(), theirs.begin(), theirs.end(),
                        std::back_inserter(shared));
  EXPECT_TRUE(shared.empty()) << "a thread worked for both runs at once";
}

TEST(HelperThreads, AForkedChildMakesItsOwn) {
  ASSERT_EQ(worker_threads(2).size(), 2u);  // the parent has a helper waiting now
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);  // handed to the parent's helper, which is not in the child, it would hang
    std::uint64_t executions = 0;
    const std::set<long> tids = worker_threads(2, &executions);
    ::_exit(executions == kWorkerThreadsExecutions && tids.size() == 2u ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child's run hung: it ended by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Scale, StopAtFirstInParallelStopsWhereASequentialRunStops) {
  hc::ExploreOptions o = options("dfs");
  o.stop_at_first = true;
  const hc::Result one = hc::explore(racy_counter, o);
  o.jobs = 2;
  const hc::Result two = hc::explore(racy_counter, o);
  ASSERT_EQ(one.findings.size(), 1u);
  ASSERT_EQ(two.findings.size(), 1u);
  EXPECT_EQ(two.findings[0].signature, one.findings[0].signature);
  EXPECT_EQ(two.stats.executions, one.stats.executions);
}

// Stopping at the first finding survives an interruption: the resumed run stops where an
// uninterrupted one does, with the same finding.
TEST(Scale, AResumedStopAtFirstRunStopsWhereAnUninterruptedOneStops) {
  for (const char* strategy : {"dfs", "random"}) {
    hc::ExploreOptions o = options(strategy);
    o.stop_at_first = true;
    const hc::Result whole = hc::explore(racy_counter, o);
    ASSERT_EQ(whole.findings.size(), 1u) << strategy;
    for (std::uint64_t cut :
         {std::uint64_t{1}, whole.stats.executions / 2, whole.stats.executions}) {
      const std::string file = temp_path(std::string(strategy) + "-first.checkpoint.json");
      std::remove(file.c_str());
      hc::ExploreOptions first = o;
      first.checkpoint_file = file;
      first.interrupt_after_executions = std::max<std::uint64_t>(cut, 1);
      (void)hc::explore(racy_counter, first);
      hc::ExploreOptions rest = o;
      rest.checkpoint_file = file;
      rest.resume_file = file;
      const hc::Result r = hc::explore(racy_counter, rest);
      ASSERT_EQ(r.findings.size(), 1u) << strategy << " cut " << cut;
      EXPECT_EQ(r.findings[0].signature, whole.findings[0].signature) << strategy << " cut " << cut;
      EXPECT_EQ(r.findings[0].execution, whole.findings[0].execution) << strategy << " cut " << cut;
      EXPECT_EQ(r.stats.executions, whole.stats.executions) << strategy << " cut " << cut;
      std::remove(file.c_str());
    }
  }
}

TEST(Scale, ResumingWithOtherSettingsIsAnErrorNamingTheSetting) {
  const std::string file = temp_path("mismatch.checkpoint.json");
  hc::ExploreOptions o = options("dfs");
  o.checkpoint_file = file;
  o.interrupt_after_executions = 10;
  hc::explore(racy_counter, o);
  hc::ExploreOptions other = options("dfs");
  other.resume_file = file;
  other.max_steps = 77;
  try {
    hc::explore(racy_counter, other);
    ADD_FAILURE() << "resuming with another max_steps was accepted";
  } catch (const hc::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("was written with max_steps = 10000, but this run has "
                                         "max_steps = 77"),
              std::string::npos)
        << e.what();
  }
  std::remove(file.c_str());
}

TEST(Scale, AMissingOrMalformedCheckpointIsAnError) {
  hc::ExploreOptions o = options("dfs");
  o.resume_file = temp_path("does-not-exist.json");
  EXPECT_THROW(hc::explore(racy_counter, o), hc::usage_error);
  const std::string bad = temp_path("malformed.json");
  {
    std::FILE* f = std::fopen(bad.c_str(), "w");
    std::fputs("{\"format\": \"something-else\"}", f);
    std::fclose(f);
  }
  o.resume_file = bad;
  try {
    hc::explore(racy_counter, o);
    ADD_FAILURE() << "a file of another format was accepted";
  } catch (const hc::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a handlecheck checkpoint"), std::string::npos)
        << e.what();
  }
  std::remove(bad.c_str());
}

TEST(Scale, StrategiesWithoutUnitsCannotBeSplit) {
  hc::ExploreOptions o = options("ipb");
  o.jobs = 2;
  try {
    hc::explore(racy_counter, o);
    ADD_FAILURE() << "ipb was split";
  } catch (const hc::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be split into work units"), std::string::npos);
  }
  hc::ExploreOptions bad = options("dfs");
  bad.shard_index = 3;
  bad.shard_count = 3;
  EXPECT_THROW(hc::explore(racy_counter, bad), hc::usage_error);
}

}  // namespace

// Resume is exact with parallel workers, wherever the run is cut: by SIGTERM (its final
// checkpoint) at several points, or by SIGKILL after a periodic checkpoint (a forked child
// killed as soon as its first checkpoint is on disk). Only units a worker finished itself are
// recorded, so the resumed totals equal an uninterrupted run's.
class ResumeExact : public testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(ResumeExact, InterruptedAtSeveralPointsAndResumedGivesTheUninterruptedTotals) {
  const auto& [strategy, jobs] = GetParam();
  const hc::Result whole = hc::explore(racy_counter, options(strategy));
  const std::string file = temp_path(fmt::format("exact-{}-{}.json", strategy, jobs));
  for (int fifth = 1; fifth <= 4; ++fifth) {
    std::remove(file.c_str());
    hc::ExploreOptions o = options(strategy);
    o.jobs = jobs;
    o.checkpoint_file = file;
    o.interrupt_after_executions = std::max<std::uint64_t>(whole.stats.executions * fifth / 5, 1);
    const hc::Result first = hc::explore(racy_counter, o);
    ASSERT_TRUE(first.stats.interrupted) << "cut at " << fifth << "/5";
    hc::ExploreOptions again = options(strategy);
    again.jobs = jobs;
    again.checkpoint_file = file;
    again.resume_file = file;
    const hc::Result rest = hc::explore(racy_counter, again);
    EXPECT_EQ(rest.stats.executions, whole.stats.executions) << "cut at " << fifth << "/5";
    EXPECT_EQ(rest.stats.steps, whole.stats.steps) << "cut at " << fifth << "/5";
    EXPECT_EQ(rest.stats.exhausted, whole.stats.exhausted) << "cut at " << fifth << "/5";
    EXPECT_EQ(signatures(rest), signatures(whole)) << "cut at " << fifth << "/5";
  }
  std::remove(file.c_str());
}

TEST_P(ResumeExact, KilledAfterAPeriodicCheckpointAndResumedGivesTheUninterruptedTotals) {
  const auto& [strategy, jobs] = GetParam();
  // Long enough that the kill lands mid-run: 3 threads x 5 steps (756,756 dfs executions).
  const auto body = hc::test::threads_with_steps(3, 5);
  hc::ExploreOptions base = options(strategy);
  if (strategy == "random" || strategy == "pct") base.max_executions = 300000;
  base.stop_at_first = false;
  const hc::Result whole = hc::explore(body, base);
  const std::string file = temp_path(fmt::format("killed-{}-{}.json", strategy, jobs));
  std::remove(file.c_str());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    hc::ExploreOptions o = base;
    o.jobs = jobs;
    o.checkpoint_file = file;
    o.checkpoint_interval_seconds = 1e-9;  // after every finished unit
    (void)hc::explore(body, o);
    ::_exit(0);
  }
  // SIGKILL as soon as a periodic checkpoint exists: no final checkpoint is written.
  while (!std::filesystem::exists(file)) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) FAIL() << "the run ended before a checkpoint";
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before the kill: make it longer";
  hc::ExploreOptions again = base;
  again.jobs = jobs;
  again.resume_file = file;
  const hc::Result rest = hc::explore(body, again);
  EXPECT_EQ(rest.stats.executions, whole.stats.executions);
  EXPECT_EQ(rest.stats.steps, whole.stats.steps);
  EXPECT_EQ(rest.stats.exhausted, whole.stats.exhausted);
  std::remove(file.c_str());
}

INSTANTIATE_TEST_SUITE_P(StrategiesAndJobs, ResumeExact,
                         testing::Combine(testing::Values("dfs", "dpor", "random", "pct"),
                                          testing::Values(1, 2)),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) + "_jobs" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

// --- checkpoint integrity ---------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

/// An interrupted dfs run's checkpoint of racy_counter (its lost update found and recorded).
std::string interrupted_checkpoint(const std::string& name) {
  const std::string file = temp_path(name);
  std::remove(file.c_str());
  const std::uint64_t total = hc::explore(racy_counter, options("dfs")).stats.executions;
  hc::ExploreOptions o = options("dfs");
  o.checkpoint_file = file;
  o.interrupt_after_executions = total * 2 / 3;
  const hc::Result r = hc::explore(racy_counter, o);
  EXPECT_TRUE(r.stats.interrupted);
  return file;
}

std::string resume_error(const std::function<void()>& body, const std::string& file) {
  hc::ExploreOptions o = options("dfs");
  o.resume_file = file;
  try {
    hc::explore(body, o);
  } catch (const hc::usage_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CheckpointIntegrity, EditedCountsAreRefusedByTheChecksum) {
  const std::string file = interrupted_checkpoint("edited.json");
  nlohmann::json j = nlohmann::json::parse(read_text(file));
  ASSERT_FALSE(j["units"].empty());
  j["units"][0]["executions"] = j["units"][0]["executions"].get<std::uint64_t>() + 1000;
  write_text(file, j.dump(1));
  const std::string error = resume_error(racy_counter, file);
  EXPECT_TRUE(hc::test::contains(error, "does not match its checksum: it was edited or damaged"))
      << error;
  std::remove(file.c_str());
}

TEST(CheckpointIntegrity, AnInjectedFindingIsRefused) {
  const std::string file = interrupted_checkpoint("injected.json");
  nlohmann::json j = nlohmann::json::parse(read_text(file));
  j["findings"].push_back({{"unit", 0},
                           {"ordinal", 0},
                           {"kind", "double-close"},
                           {"signature", "double-close|made-up.cpp:1"},
                           {"message", "made up"},
                           {"schedule", ""}});
  write_text(file, j.dump(1));
  const std::string error = resume_error(racy_counter, file);
  EXPECT_TRUE(hc::test::contains(error, "does not match its checksum")) << error;
  std::remove(file.c_str());
}

TEST(CheckpointIntegrity, ACheckpointOfChangedScenarioCodeIsRefusedByItsFingerprint) {
  const std::string file = interrupted_checkpoint("changed.json");
  auto changed = [] {  // the same name and settings, other code: one more operation
    hc::atomic<int> extra{0, "extra"};
    extra.store(1);
    racy_counter();
  };
  const std::string error = resume_error(changed, file);
  EXPECT_TRUE(hc::test::contains(error, "was written with fingerprint =")) << error;
  std::remove(file.c_str());
}

bool g_check_lost_update = true;  // flipped between the interrupted run and its resume

void racy_counter_maybe_checked() {
  racy_counter_checked(g_check_lost_update);
}

TEST(CheckpointIntegrity, ARecordedFindingMustRecurWhenResumed) {
  // Same code and first execution (so the same fingerprint), but the finding the checkpoint
  // records no longer happens: the file's word for it is not taken.
  const std::string file = temp_path("recur.json");
  std::remove(file.c_str());
  g_check_lost_update = true;
  const std::uint64_t total =
      hc::explore(racy_counter_maybe_checked, options("dfs")).stats.executions;
  hc::ExploreOptions o = options("dfs");
  o.checkpoint_file = file;
  o.interrupt_after_executions = total * 2 / 3;
  ASSERT_TRUE(hc::explore(racy_counter_maybe_checked, o).stats.interrupted);
  ASSERT_FALSE(nlohmann::json::parse(read_text(file))["findings"].empty());
  g_check_lost_update = false;
  const std::string error = resume_error(racy_counter_maybe_checked, file);
  g_check_lost_update = true;
  EXPECT_TRUE(
      hc::test::contains(error, "does not recur when its schedule is re-run (it ran clean)"))
      << error;
  std::remove(file.c_str());
}

// A seeded run keeps its finished units as one sum: its checkpoint does not grow with the run
// (it used to gain an entry per 64 executions), and resuming from it still gives the totals.
TEST(CheckpointIntegrity, ASeededRunsCheckpointStaysBounded) {
  const std::string file = temp_path("bounded.json");
  std::remove(file.c_str());
  hc::ExploreOptions o = options("random");
  o.max_executions = 64 * 500;
  o.checkpoint_file = file;
  const hc::Result whole = hc::explore(racy_counter, o);
  const nlohmann::json j = nlohmann::json::parse(read_text(file));
  EXPECT_LE(j["units"].size(), 2u) << "units listed one by one";
  EXPECT_EQ(j["folded"]["units"].get<std::uint64_t>() + j["units"].size(), 500u);
  EXPECT_EQ(j["folded"]["executions"].get<std::uint64_t>() +
                (j["units"].empty() ? 0 : j["units"][0]["executions"].get<std::uint64_t>()),
            whole.stats.executions);
  std::remove(file.c_str());
}

// --- work units sized by the search (search_units.hpp) -----------------------------------------

/// One long thread and two short ones, the shape of most handle scenarios (a disposer or a
/// finalizer racing a thread that does the work): nearly all of dfs's executions lie below the
/// first decisions in which the long thread goes on, so units at a fixed depth are a few big
/// ones and many tiny ones.
void one_long_thread() {
  hc::atomic<int> work{0, "work"};
  hc::atomic<int> state{0, "state"};
  hc::thread disposer("disposer", [&] {
    state.store(1);
    state.store(2);
    state.store(3);
  });
  hc::thread finalizer("finalizer", [&] {
    (void)state.load();
    (void)state.load();
  });
  for (int i = 0; i < 14; ++i)
    work.fetch_add(1);
  disposer.join();
  finalizer.join();
}

/// Each of `shards` shards' executions, for `unit_size`.
std::vector<std::uint64_t> per_shard(std::uint32_t shards, std::uint64_t unit_size) {
  std::vector<std::uint64_t> out;
  for (std::uint32_t i = 0; i < shards; ++i) {
    hc::ExploreOptions o = options("dfs");
    o.coverage = false;
    o.unit_size = unit_size;
    o.shard_index = i;
    o.shard_count = shards;
    out.push_back(hc::explore(one_long_thread, o).stats.executions);
  }
  return out;
}

double max_over_mean(const std::vector<std::uint64_t>& v) {
  std::uint64_t sum = 0;
  std::uint64_t max = 0;
  for (std::uint64_t x : v) {
    sum += x;
    max = std::max(max, x);
  }
  return static_cast<double>(max) * static_cast<double>(v.size()) / static_cast<double>(sum);
}

TEST(SizedUnits, EightShardsOfAProgramWithOneLongThreadAreBalanced) {
  hc::ExploreOptions o = options("dfs");
  o.coverage = false;
  const std::uint64_t whole = hc::explore(one_long_thread, o).stats.executions;
  const std::vector<std::uint64_t> sized = per_shard(8, o.unit_size);
  const std::vector<std::uint64_t> fixed = per_shard(8, 1'000'000'000'000);  // split depth only
  std::uint64_t sum = 0;
  for (std::uint64_t x : sized)
    sum += x;
  EXPECT_EQ(sum, whole);
  EXPECT_LE(max_over_mean(sized), 1.25) << fmt::format("{}", fmt::join(sized, " "));
  // What units at the split depth alone gave: the test shows the difference it makes.
  EXPECT_GT(max_over_mean(fixed), 2.0) << fmt::format("{}", fmt::join(fixed, " "));
}

/// Two threads of ten steps each: its units are too big for their estimate (Knuth's estimate
/// from the leftmost path is 2^10 where 184,756 executions lie below), so only the position
/// inside the unit keeps the work of a checkpoint taken early.
void two_even_threads() {
  hc::test::threads_with_steps(2, 10)();
}

/// Three threads of four conflicting steps: 34,650 executions under dfs and dpor alike.
void three_threads_of_four_steps() {
  hc::test::threads_with_steps(3, 4)();
}

/// A program and a number of workers. Printed by name: gtest would print the function
/// pointer, an address that differs between runs of a position-independent binary, and ctest
/// would then look for a test that is not there.
struct KeepsCase {
  const char* name;
  void (*program)();
  int jobs;
  const char* strategy = "dfs";
  friend void PrintTo(const KeepsCase& c, std::ostream* os) {
    *os << c.name << ", jobs " << c.jobs << ", " << c.strategy;
  }
};

class CheckpointKeeps : public testing::TestWithParam<KeepsCase> {};

TEST_P(CheckpointKeeps, NearlyEveryExecutionDoneAndTheResumedRunEndsWithTheTotals) {
  const auto [name, program, jobs, strategy] = GetParam();
  const std::string file =
      temp_path(fmt::format("keeps-{}-{}-{}.checkpoint.json", name, jobs, strategy));
  hc::ExploreOptions o = options(strategy);
  o.coverage = false;
  o.jobs = jobs;
  const hc::Result whole = hc::explore(program, o);
  for (std::uint64_t cut :
       {whole.stats.executions / 10, whole.stats.executions / 4, whole.stats.executions * 3 / 5}) {
    std::remove(file.c_str());
    hc::ExploreOptions first = o;
    first.checkpoint_file = file;
    first.interrupt_after_executions = cut;
    const hc::Result part = hc::explore(program, first);
    ASSERT_TRUE(part.stats.interrupted);
    EXPECT_GE(static_cast<double>(part.stats.checkpoint_executions),
              0.9 * static_cast<double>(part.stats.executions))
        << part.stats.checkpoint_executions << " of " << part.stats.executions;
    hc::ExploreOptions rest = o;
    rest.checkpoint_file = file;
    rest.resume_file = file;
    const hc::Result resumed = hc::explore(program, rest);
    EXPECT_EQ(resumed.stats.executions, whole.stats.executions) << "cut at " << cut;
    EXPECT_EQ(resumed.stats.steps, whole.stats.steps) << "cut at " << cut;
    EXPECT_TRUE(resumed.stats.exhausted);
  }
  std::remove(file.c_str());
}

std::string checkpoint_keeps_name(const testing::TestParamInfo<KeepsCase>& info) {
  std::string strategy = info.param.strategy;
  std::replace(strategy.begin(), strategy.end(), '-', '_');  // gtest names: letters, digits, _
  return fmt::format("{}_jobs{}_{}", info.param.name, info.param.jobs, strategy);
}

INSTANTIATE_TEST_SUITE_P(DfsPrograms, CheckpointKeeps,
                         testing::Values(KeepsCase{"one_long_thread", &one_long_thread, 1},
                                         KeepsCase{"two_even_threads", &two_even_threads, 1},
                                         KeepsCase{"two_even_threads", &two_even_threads, 2}),
                         checkpoint_keeps_name);

// dpor under a checkpoint: its units are sized by Knuth's estimate as dfs's are (SearchUnits),
// and a checkpoint keeps the units it finished and, for the unit in progress, dpor's position
// inside it (its path, sleep sets and wakeup trees: DporStrategy::position). two_even_threads'
// units are far bigger than their estimate: without positions a checkpoint at 10% kept 0 of its
// 18,475 executions, and 32,318 of 46,190 at 25% with two workers. lastzero(8) is a program
// dpor reduces, races reversed inside every unit: resuming must end with the same totals.
void lastzero_8() {
  hc::test::lastzero(8)();
}
INSTANTIATE_TEST_SUITE_P(
    DporPrograms, CheckpointKeeps,
    testing::Values(KeepsCase{"three_threads", &three_threads_of_four_steps, 1, "dpor"},
                    KeepsCase{"two_even_threads", &two_even_threads, 1, "dpor"},
                    KeepsCase{"two_even_threads", &two_even_threads, 2, "dpor"},
                    KeepsCase{"lastzero_8", &lastzero_8, 1, "dpor"},
                    KeepsCase{"lastzero_8", &lastzero_8, 1, "dpor-source"}),
    checkpoint_keeps_name);

// A position that does not parse (a hand-edited or truncated checkpoint) is a usage error that
// names the unit and says what to do, not a crash or a silently different search.
TEST(CheckpointKeeps, ADamagedDporPositionIsAUsageError) {
  const std::string file = temp_path("damaged-dpor.checkpoint.json");
  std::remove(file.c_str());
  hc::ExploreOptions o = options("dpor");
  o.coverage = false;
  o.checkpoint_file = file;
  o.interrupt_after_executions = 2000;
  ASSERT_TRUE(hc::explore(two_even_threads, o).stats.interrupted);
  // Damage the position and sign the file again, as the checkpoint writer does (the checksum of
  // the JSON of every other field, explore/checkpoint.hpp): only the position is wrong.
  nlohmann::json j;
  {
    std::ifstream in(file);
    in >> j;
  }
  bool damaged = false;
  std::function<void(nlohmann::json&)> damage = [&](nlohmann::json& v) {
    if (v.is_string() && v.get<std::string>().rfind("dpor1 ", 0) == 0) {
      v = "dpor1 zz" + v.get<std::string>().substr(5);
      damaged = true;
    } else if (v.is_structured()) {
      for (auto& item : v)
        damage(item);
    }
  };
  damage(j);
  ASSERT_TRUE(damaged) << "the checkpoint keeps no dpor position:\n" << j.dump(2);
  j.erase("checksum");
  j["checksum"] = fmt::format("fnv1a64:{:016x}", hc::detail::fnv1a64(j.dump()));
  {
    std::ofstream out(file);
    out << j.dump();
  }
  hc::ExploreOptions rest = options("dpor");
  rest.coverage = false;
  rest.resume_file = file;
  try {
    (void)hc::explore(two_even_threads, rest);
    ADD_FAILURE() << "a damaged position was accepted";
  } catch (const hc::usage_error& e) {
    EXPECT_THAT(std::string(e.what()),
                testing::MatchesRegex(".*position inside work unit [0-9]+ does not fit this dpor "
                                      "search.*start afresh without --resume.*"));
  }
  std::remove(file.c_str());
}

/// Two threads of twelve steps each: about 2.7 million dfs executions, a few seconds.
void two_long_threads() {
  hc::test::threads_with_steps(2, 12)();
}
void two_shorter_threads() {
  hc::test::threads_with_steps(2, 11)();
}

// The nightly's case: a real SIGTERM about a second into a long dfs run, as Slurm or Kubernetes
// send it. The checkpoint keeps at least 90% of the executions run, and resuming from it ends
// with the totals of the uninterrupted run.
class RealSigterm : public testing::TestWithParam<std::string> {};

TEST_P(RealSigterm, AfterAboutASecondTheCheckpointKeepsNearlyEverything) {
  const std::string file = temp_path("sigterm-" + GetParam() + ".checkpoint.json");
  std::remove(file.c_str());
  hc::ExploreOptions o = options(GetParam());
  // dpor runs these executions about three times slower than dfs: a smaller program lasts as
  // long (2 x 11 steps: 705,432 executions).
  const auto program = GetParam() == "dpor" ? two_shorter_threads : two_long_threads;
  o.coverage = false;
  o.check_determinism = false;
  const hc::Result whole = hc::explore(program, o);
  hc::Result part;
  {
    hc::StopFlag stop;
    hc::StopOnSignals signals(stop);
    hc::ExploreOptions first = o;
    first.stop = &stop;
    first.checkpoint_file = file;
    std::thread sender([] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      ::kill(::getpid(), SIGTERM);
    });
    part = hc::explore(program, first);
    sender.join();
  }
  if (!part.stats.interrupted) {  // a machine that ran it all within a second
    EXPECT_EQ(part.stats.executions, whole.stats.executions);
    return;
  }
  EXPECT_GE(static_cast<double>(part.stats.checkpoint_executions),
            0.9 * static_cast<double>(part.stats.executions))
      << part.stats.checkpoint_executions << " of " << part.stats.executions;
  hc::ExploreOptions rest = o;
  rest.checkpoint_file = file;
  rest.resume_file = file;
  const hc::Result resumed = hc::explore(program, rest);
  EXPECT_EQ(resumed.stats.executions, whole.stats.executions);
  EXPECT_EQ(resumed.stats.steps, whole.stats.steps);
  EXPECT_TRUE(resumed.stats.exhausted);
  std::remove(file.c_str());
}

INSTANTIATE_TEST_SUITE_P(Strategies, RealSigterm, testing::Values("dfs", "dpor"),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

// A resumed run interrupted again keeps the positions it did not reach and the ones it reached.
TEST(CheckpointKeeps, AResumedRunInterruptedAgainStillEndsWithTheTotals) {
  const std::string file = temp_path("twice.checkpoint.json");
  std::remove(file.c_str());
  hc::ExploreOptions o = options("dfs");
  o.coverage = false;
  o.jobs = 2;
  const hc::Result whole = hc::explore(two_even_threads, o);
  std::uint64_t kept = 0;
  for (int round = 0; round < 3; ++round) {
    hc::ExploreOptions part = o;
    part.checkpoint_file = file;
    if (round > 0) part.resume_file = file;
    part.interrupt_after_executions = whole.stats.executions / 5;
    const hc::Result r = hc::explore(two_even_threads, part);
    ASSERT_TRUE(r.stats.interrupted) << "round " << round;
    EXPECT_GT(r.stats.checkpoint_executions, kept) << "round " << round << ": no progress kept";
    kept = r.stats.checkpoint_executions;
  }
  hc::ExploreOptions rest = o;
  rest.checkpoint_file = file;
  rest.resume_file = file;
  const hc::Result resumed = hc::explore(two_even_threads, rest);
  EXPECT_EQ(resumed.stats.executions, whole.stats.executions);
  EXPECT_EQ(resumed.stats.steps, whole.stats.steps);
  std::remove(file.c_str());
}

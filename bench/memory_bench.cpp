// memory_bench — hc_bench_memory: does a long random run hold more memory than a short one?
// Peak RSS (VmHWM) after a small and a large number of random executions of four scenarios,
// clean and with --keep-going (issue 15's target: the figure after 2e7 executions within 10% of
// the figure after 1e6).
//
//   build/bench/hc_bench_memory                                # every case, 1e6 and 2e7
//   build/bench/hc_bench_memory --executions-small 100000 --executions-large 1000000
//   build/bench/hc_bench_memory --case finding-heap --rss-cap-mb 2048
//
// Options: --executions-small N (default 1000000), --executions-large N (default 20000000),
// --case NAME[,NAME...] (default: all), --seed S (default 1), --rss-cap-mb M (default 4096: a
// run whose resident set passes M MiB is stopped there, so a leak cannot take the shared
// machine's memory; the row then says "cap" and the executions it reached).
//
// The cases (the bodies are below):
//   clean          issue 14's refcount protocol, 2 users x 2 rounds and a disposer, each user
//                  building a std::string per round: every execution is clean
//   clean-model    the catalogue's icordebug/release-order-weak-process-pointer.fixed (ICorDebug
//                  process, module and function objects released in any order, the parent
//                  neutering its children): clean, and the models allocate
//   finding-heap   --keep-going on a body whose every execution ends in a failed HC_CHECK while
//                  main and a blocked thread hold heap memory (a std::vector, a std::string):
//                  what an execution abandoned at a finding leaks shows here
//   finding-model  --keep-going on the ICorDebug release order with the process always released
//                  before the function: every execution ends in a use-after-destruction
//                  finding of the model, with the model objects alive on main's stack
// Every case runs hc::explore with strategy random (seed S), explore()'s defaults otherwise
// (the determinism check samples one clean execution in 64), in a child process of its own per
// count (fork), so each figure is the peak of one run of that many executions from a fresh
// process: what `handlecheck run --strategy random --max-executions N` would reach. First, in
// a child of its own, each case checks its premise on 2000 executions run by Execution::run
// directly: every one clean, or every one a finding.
//
// Printed: one Markdown table (case, options, executions and peak RSS in MiB at each count,
// growth in percent, bytes per execution between the two counts, executions/s of the large
// run). Nothing here is a test: no figure is asserted.
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hc/hc.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"
#include "runtime/execution.hpp"

namespace {

// --- the scenarios ---------------------------------------------------------------------------

/// Issue 14's refcount protocol (tests/unit/dpor_classic_test.cpp) with users = 2, ops = 2;
/// each user also keeps a std::string (beyond the small-string buffer) for each round.
void clean_refcount() {
  hc::atomic<int> refs{1, "refs"};
  hc::atomic<int> handle{1, "handle"};
  auto release = [&refs, &handle] {
    if (refs.fetch_sub(1) == 1) handle.store(0);
  };
  auto user = [&] {
    for (int round = 0; round < 2; ++round) {
      std::string note(48, 'u');  // heap, freed at the end of the round
      int seen = refs.load();
      bool added = false;
      while (seen > 0 && !added)
        added = refs.compare_exchange_strong(seen, seen + 1);
      if (!added) continue;
      HC_CHECK(handle.load() == 1, "a user holding a reference sees the handle closed ({})", note);
      release();
    }
  };
  hc::thread disposer("disposer", release);
  hc::thread u1("user1", user);
  hc::thread u2("user2", user);
  disposer.join();
  u1.join();
  u2.join();
}

/// Every execution fails a check while main and 'holder' hold heap memory: 'holder' is blocked
/// on a mutex main never releases before the check, and main's vector is in its frame.
void finding_with_heap() {
  std::vector<int> log(16, 1);  // main's heap, alive at the finding
  hc::mutex gate;
  hc::atomic<int> x{0, "x"};
  gate.lock();
  hc::thread holder("holder", [&] {
    std::string note(48, 'h');  // heap, alive at the finding: 'holder' is blocked below
    x.fetch_add(1);
    gate.lock();
    x.fetch_add(static_cast<int>(note.size()));
    gate.unlock();
  });
  hc::thread other("other", [&] {
    std::string scratch(48, 'o');  // heap: alive at the finding unless 'other' finished
    x.fetch_add(1);
    x.fetch_add(static_cast<int>(scratch.size()));
  });
  x.fetch_add(1);
  const int seen = x.load();
  HC_CHECK(seen < 0, "every execution ends here (x = {}, {} entries)", seen, log.size());
  gate.unlock();
  holder.join();
  other.join();
}

using hc::models::NeuterCheck;
using hc::models::Process;
using hc::models::RsObject;
namespace cordbg = hc::models::cordbg;

/// As in scenarios/icordebug/release_order_weak_process_pointer.cpp (finding_model's variant of
/// it is not in the catalogue): C's destructor reaches the process A through a weak back-pointer.
class CordbFunction : public RsObject {
 public:
  CordbFunction(Process& p, RsObject& process_object) : RsObject(p, "CordbFunction", "C") {
    set_weak_back_pointer(&process_object);
  }

 protected:
  void on_destroy(const std::source_location& where) override {
    RsObject* process_object = weak_back_pointer();
    if (process_object == nullptr) return;
    process_object->call(
        "RemoveFromFunctionCache", NeuterCheck::fail_if_neutered, [] { return cordbg::S_OK; },
        where);
  }
};

/// The catalogue's icordebug/release-order-weak-process-pointer.fixed: clean.
void clean_model() {
  static void (*const body)() =
      hc::find_scenario("icordebug/release-order-weak-process-pointer.fixed")->body;
  body();
}

/// The v1.0 release order with the process A always released before the function C: C's
/// destructor calls the deleted process in every execution (use_after_destruction), while
/// main waits in a join with every model object on its stack.
void finding_model() {
  Process p("debuggee");
  p.assert_neutered_before_delete = false;  // v1.0 did not neuter
  RsObject a(p, "CordbProcess", "A");
  RsObject b(p, "CordbModule", "B");
  CordbFunction c(p, a);
  a.add_ref();
  b.add_ref();
  c.add_ref();
  hc::thread debugger("debugger", [&] { a.release(); });
  hc::thread module("module", [&] { b.release(); });
  debugger.join();  // A is deleted from here on
  hc::thread finalizer("finalizer", [&] { c.release(); });
  module.join();
  finalizer.join();
}

struct Case {
  const char* name;
  const char* what;
  void (*body)();
  bool keep_going;
  bool every_execution_a_finding;  // otherwise every execution is clean
};

const Case kCases[] = {
    {"clean", "refcount (2,2) + a heap string per round", clean_refcount, false, false},
    {"clean-model", "icordebug release order .fixed", clean_model, false, false},
    {"finding-heap", "HC_CHECK fails, heap held", finding_with_heap, true, true},
    {"finding-model", "use after destruction, models", finding_model, true, true},
};

// --- measuring ---------------------------------------------------------------------------------

/// A field of /proc/self/status in kB (VmHWM, VmRSS), or 0.
std::uint64_t status_kb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':')
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

/// The resident set in kB, cheaply (/proc/self/statm: pages).
std::uint64_t resident_kb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

/// Picks uniformly with a xorshift generator: the premise check's strategy.
class PremiseStrategy final : public hc::Strategy {
 public:
  bool begin_execution() override { return true; }
  std::optional<hc::ThreadId> pick_thread(const hc::Decision& d) override {
    hc::ThreadMask m = d.enabled;
    for (std::uint64_t k = next() % static_cast<std::uint64_t>(std::popcount(m)); k > 0; --k)
      m &= m - 1;
    return static_cast<hc::ThreadId>(std::countr_zero(m));
  }
  std::optional<std::uint32_t> pick_value(const hc::ValueDecision& d) override {
    return static_cast<std::uint32_t>(next() % d.bound);
  }
  void end_execution(std::span<const hc::Step>, const hc::Verdict&) override {}
  std::string_view name() const override { return "premise"; }

 private:
  std::uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  std::uint64_t state_ = 0x9e3779b97f4a7c15ULL;
};

/// "" if 2000 executions of the case are all clean / all findings, else what is wrong.
std::string check_premise(const Case& c) {
  hc::detail::Execution exec(hc::detail::ExecutionConfig{});
  PremiseStrategy s;
  const std::function<void()> body = c.body;
  for (int i = 0; i < 2000; ++i) {
    s.begin_execution();
    const std::optional<hc::Finding> f = exec.run(body, s);
    if (f.has_value() != c.every_execution_a_finding) {
      return f ? fmt::format("execution {} found: {}", i, f->message)
               : fmt::format("execution {} ran clean", i);
    }
  }
  return "";
}

struct Figure {
  std::uint64_t executions = 0;
  std::uint64_t hwm_kb = 0;  // VmHWM after the run
  std::uint64_t rss_kb = 0;  // VmRSS after the run
  double seconds = 0;
  std::size_t findings = 0;  // distinct findings
  bool capped = false;       // stopped at the RSS cap
  std::string error;
};

/// One run of `executions` (in a child process: see run_in_child).
Figure run_case(const Case& c, std::uint64_t executions, std::uint64_t seed, std::uint64_t cap_kb) {
  Figure fig;
  hc::StopFlag stop;
  hc::ExploreOptions o;
  o.strategy = "random";
  o.seed = seed;
  o.max_executions = executions;
  o.stop_at_first = !c.keep_going;
  o.stop = &stop;
  o.progress = [&stop, cap_kb](const hc::Progress&) {
    if (cap_kb != 0 && resident_kb() > cap_kb) stop.request();
  };
  const hc::Result r = hc::explore(c.body, o);
  fig.hwm_kb = status_kb("VmHWM");
  fig.rss_kb = status_kb("VmRSS");
  fig.executions = r.stats.executions;
  fig.seconds = r.stats.seconds;
  fig.findings = r.findings.size();
  fig.capped = r.stats.interrupted;
  if (!fig.capped && fig.executions != executions) {
    fig.error = fmt::format("ran {} executions, not {}", fig.executions, executions);
  } else if (c.every_execution_a_finding != !r.findings.empty()) {
    fig.error = r.findings.empty() ? "no finding" : "finding: " + r.findings[0].message;
  }
  return fig;
}

/// Runs `f` in a child process (fork) and returns the line it printed through a pipe, or
/// nullopt if the child ended without one.
std::optional<std::string> in_child(const std::function<std::string()>& f) {
  int fds[2];
  if (pipe(fds) != 0) return std::nullopt;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    close(fds[0]);
    std::string line;
    try {
      line = f();
    } catch (const std::exception& e) {
      line = std::string("exception: ") + e.what();
    }
    for (char& ch : line)
      if (ch == '\n') ch = ' ';
    line += '\n';
    const ssize_t w = write(fds[1], line.data(), line.size());
    _exit(w == static_cast<ssize_t>(line.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (text.empty() || text.back() != '\n') return std::nullopt;
  text.pop_back();
  return text;
}

/// One run of the case in a child process of its own.
Figure run_in_child(const Case& c, std::uint64_t executions, std::uint64_t seed,
                    std::uint64_t cap_kb) {
  const std::optional<std::string> text = in_child([&] {
    const Figure fig = run_case(c, executions, seed, cap_kb);
    return fmt::format("{} {} {} {} {} {} {}", fig.executions, fig.hwm_kb, fig.rss_kb, fig.seconds,
                       fig.findings, fig.capped ? 1 : 0, fig.error);
  });
  Figure fig;
  std::istringstream in(text.value_or(""));
  int capped = 0;
  if (!(in >> fig.executions >> fig.hwm_kb >> fig.rss_kb >> fig.seconds >> fig.findings >>
        capped)) {
    fig.error = text ? "the child said: " + *text : "the child ended without a figure";
    return fig;
  }
  fig.capped = capped != 0;
  std::getline(in >> std::ws, fig.error);
  return fig;
}

double mib(std::uint64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}

std::string count_text(const Figure& f) {
  return f.capped ? fmt::format("cap at {}", f.executions) : fmt::format("{}", f.executions);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t small = 1000000, large = 20000000, seed = 1, cap_mb = 4096;
  std::string only;
  const char* usage =
      "usage: %s [--executions-small N] [--executions-large N] [--case NAME[,NAME...]] "
      "[--seed S] [--rss-cap-mb M]\n";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) {
      std::fprintf(stderr, usage, argv[0]);
      return 2;
    }
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--executions-small") {
      small = std::strtoull(value, nullptr, 10);
    } else if (flag == "--executions-large") {
      large = std::strtoull(value, nullptr, 10);
    } else if (flag == "--case") {
      only = value;
    } else if (flag == "--seed") {
      seed = std::strtoull(value, nullptr, 10);
    } else if (flag == "--rss-cap-mb") {
      cap_mb = std::strtoull(value, nullptr, 10);
    } else {
      std::fprintf(stderr, usage, argv[0]);
      return 2;
    }
  }
  if (small == 0 || large == 0) {
    std::fprintf(stderr, "the execution counts must be at least 1\n");
    return 2;
  }
  std::vector<const Case*> cases;
  for (const Case& c : kCases) {
    if (only.empty() ||
        ("," + only + ",").find(std::string(",") + c.name + ",") != std::string::npos)
      cases.push_back(&c);
  }
  if (cases.empty()) {
    std::fprintf(stderr, "no case named '%s' (clean, clean-model, finding-heap, finding-model)\n",
                 only.c_str());
    return 2;
  }

  fmt::print(
      "# Peak RSS (VmHWM) after {} and after {} random executions (seed {}; one process per "
      "figure; RSS cap {} MiB)\n\n",
      small, large, seed, cap_mb);
  fmt::print(
      "| case | scenario | options | executions | peak RSS MiB | executions | peak RSS MiB | "
      "growth | bytes/execution | large run exec/s |\n");
  fmt::print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  int errors = 0;
  for (const Case* c : cases) {
    const std::uint64_t cap_kb = cap_mb * 1024;
    // In a child of its own: the premise's leaks must not count in the figures.
    const std::string premise = in_child([c] { return check_premise(*c); }).value_or("crashed");
    if (!premise.empty()) {
      ++errors;
      fmt::print("| {} | {} | | ERROR: premise: {} | | | | | | |\n", c->name, c->what, premise);
      std::fflush(stdout);
      continue;
    }
    std::fprintf(stderr, "%s: %llu executions...\n", c->name,
                 static_cast<unsigned long long>(small));
    const Figure a = run_in_child(*c, small, seed, cap_kb);
    std::fprintf(stderr, "%s: %llu executions...\n", c->name,
                 static_cast<unsigned long long>(large));
    const Figure b = run_in_child(*c, large, seed, cap_kb);
    const std::string options = c->keep_going ? "--keep-going" : "-";
    if (!a.error.empty() || !b.error.empty()) {
      ++errors;
      fmt::print("| {} | {} | {} | ERROR: {} | | ERROR: {} | | | | |\n", c->name, c->what, options,
                 a.error, b.error);
      std::fflush(stdout);
      continue;
    }
    const double growth = 100.0 * (static_cast<double>(b.hwm_kb) - static_cast<double>(a.hwm_kb)) /
                          static_cast<double>(a.hwm_kb);
    const double per_execution =
        b.executions > a.executions
            ? 1024.0 * (static_cast<double>(b.hwm_kb) - static_cast<double>(a.hwm_kb)) /
                  static_cast<double>(b.executions - a.executions)
            : 0;
    // A capped run would have grown further: its growth is a lower bound, and the growth the
    // large count would reach at the same bytes per execution follows it.
    std::string growth_text = fmt::format("{}{:+.1f}%", a.capped || b.capped ? ">" : "", growth);
    if (b.capped && !a.capped && per_execution > 0) {
      const double projected_kb = static_cast<double>(a.hwm_kb) +
                                  per_execution * static_cast<double>(large - a.executions) / 1024;
      growth_text += fmt::format(
          " (projected {:+.0f}%: {:.0f} MiB)",
          100.0 * (projected_kb - static_cast<double>(a.hwm_kb)) / static_cast<double>(a.hwm_kb),
          projected_kb / 1024);
    }
    fmt::print("| {} | {} | {} | {} | {:.1f} | {} | {:.1f} | {} | {:.1f} | {:.0f} |\n", c->name,
               c->what, options, count_text(a), mib(a.hwm_kb), count_text(b), mib(b.hwm_kb),
               growth_text, per_execution,
               b.seconds > 0 ? static_cast<double>(b.executions) / b.seconds : 0);
    std::fflush(stdout);
  }
  fmt::print(
      "\ngrowth: peak RSS after the large run against after the small one (target: within "
      "10%). bytes/execution: the difference of the two peaks over the difference of the "
      "executions. A run stopped at the RSS cap shows `cap at N`: its peak is the cap's, N "
      "executions reached it, and the growth is a lower bound (>), followed by the peak the large "
      "count would reach at the same bytes per execution (projected).\n");
  return errors == 0 ? 0 : 1;
}

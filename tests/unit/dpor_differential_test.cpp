// dpor against dfs on generated programs. Both exhaustive, they must reach the same outcomes
// (the set of distinct final states, with every load's value, plus the kinds of the findings);
// and where dpor's dependence coincides with the one Mazurkiewicz traces are counted with
// (mazurkiewicz.hpp; see Comparison::comparable), dpor must explore one execution per trace,
// the traces being counted from the dfs run by hc::test::TraceCollector.
//
// The generator (seeded xorshift64: program i is the same on every machine and in every run)
// makes small programs of 2-4 threads, 1-5 operations each, on
//   two atomics x, y     load, store, fetch_add, compare-exchange;
//   a variable v         read-modify-write under mutex m1;
//   lock sections        m1 alone, m1 then m2, m2 then m1 (two such threads can deadlock), m2
//                        alone; each updates v (under m1) or y (under m2 alone);
//   a value choice       hc::choose(2): store to one atomic, or load the other;
//   a handle table       (one program in three; models/handle_table.hpp, LIFO reuse) with one
//                        handle `shared` that main creates: threads write through it, close it,
//                        or create and close a handle of their own. A close followed by a
//                        create recycles the value, so later uses and second closes of `shared`
//                        are stale-handle-use and double-close findings.
//   the managed models   (half of the table programs) a SafeHandle `safe` over a handle of the
//                        table (the P/Invoke bracket, Dispose), the GC with an unreachable
//                        finalizable object `fin` (Collect, SuppressFinalize,
//                        ReRegisterForFinalize; the finalizer thread runs its finalizer) and a
//                        COM object (AddRef/Release through a ComPtr copy), and a block of
//                        tracked user memory `mem` (models/user_memory.hpp: read, write,
//                        free; a use after the free and a second free are findings).
// A draw whose interleaving count (an upper bound from the step counts) exceeds a cap is
// replaced by the next draw, to keep exhaustive dfs cheap.
//
// Suites: DporDifferential (2000 programs, about 17 s of CPU in RelWithDebInfo) in the default
// suite; DporDifferentialNightly (20000 further programs).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hc/models/com_object.hpp"
#include "hc/models/gc.hpp"
#include "hc/models/handle_table.hpp"
#include "hc/models/safe_handle.hpp"
#include "hc/models/user_memory.hpp"
#include "mazurkiewicz.hpp"
#include "test_support.hpp"

namespace {

namespace hm = hc::models;

// --- the generator ----------------------------------------------------------------------------

enum class Act : std::uint8_t {
  load,          // observe atomic[obj]
  store,         // atomic[obj] = value
  fetch_add,     // atomic[obj] += value, observe the old value
  cas,           // compare_exchange(atomic[obj], expected 0, value), observe success
  locked_add,    // under m1: v += value, observe the old v
  section,       // obj: 0 m1; 1 m1 then m2; 2 m2 then m1; 3 m2 alone (then y += value)
  branch,        // choose(2) = b: b ? atomic[obj] = value : observe atomic[1 - obj]
  handle_use,    // table.write(shared), observe ok / error
  handle_close,  // table.close(shared), observe ok / error
  handle_cycle,  // create a handle of its own, observe its value, close it
  // The managed models (programs with the table, one in two of them):
  safe_bracket,   // SafeHandle `safe`: DangerousAddRef, write through DangerousGetHandle,
                  // DangerousRelease; observe added / ObjectDisposedException
  safe_dispose,   // safe.Dispose()
  gc_collect,     // GC.Collect (the finalizer thread then runs `fin`'s finalizer, if queued)
  gc_suppress,    // GC.SuppressFinalize(fin)
  gc_reregister,  // GC.ReRegisterForFinalize(fin)
  com_cycle,      // a ComPtr copy of the shared COM object (AddRef), then its reset (Release)
  mem_read,       // mem.read()
  mem_write,      // mem.write()
  mem_free,       // mem.free()
};

struct Op {
  Act act = Act::load;
  int obj = 0;
  int value = 1;
};

struct Program {
  std::vector<std::vector<Op>> threads;
  bool uses_table = false;
  bool uses_managed = false;  // SafeHandle, GC, COM (with the table)
  // The outcome comparison is about complete executions: a use of a closed value returns its
  // error (InvalidUse::fail) and the execution goes on. Under the models' default (raise) such
  // a use is a finding that ends the execution where it happened; what dpor promises then is
  // weaker (AFindingIsFoundByDporWheneverDfsFindsOne, below).
  hm::InvalidUse invalid_use = hm::InvalidUse::fail;
};

class Xorshift {
 public:
  explicit Xorshift(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
    if (s_ == 0) s_ = 1;
  }
  std::uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t s_;
};

/// Scheduling points of an operation (value choices are not scheduling points).
int steps_of(const Op& op) {
  switch (op.act) {
    case Act::locked_add:
      return 4;  // lock, read, write, unlock
    case Act::section:
      return op.obj == 0 ? 4 : op.obj == 3 ? 3 : 6;
    case Act::handle_cycle:
    case Act::com_cycle:
      return 2;
    case Act::safe_bracket:
      return 6;  // load, CAS, DangerousGetHandle, write, load, CAS
    case Act::safe_dispose:
      return 3;
    default:
      return 1;
  }
}

/// An upper bound on dfs's executions: the multinomial of the threads' step counts (blocking
/// only removes interleavings), times 2 per value choice.
double interleavings(const Program& p) {
  double bound = 1;
  int total = 0;
  std::vector<std::vector<Op>> threads = p.threads;
  // The managed models run the finalizer thread too (its dequeues, a finalizer, process exit):
  // counted as a thread of six one-step operations.
  if (p.uses_managed) threads.emplace_back(6, Op{});
  for (const std::vector<Op>& ops : threads) {
    int mine = 0;
    for (const Op& op : ops) {
      for (int i = 0; i < steps_of(op); ++i) {
        ++total;
        ++mine;
        bound = bound * total / mine;  // total! / prod(mine!), one factor per step
      }
      if (op.act == Act::branch) bound *= 2;
    }
  }
  return bound;
}

constexpr double kMaxInterleavings = 20000;
constexpr int kMaxOps2 = 5;  // operations per thread, at most, by thread count
constexpr int kMaxOps3 = 4;
constexpr int kMaxOps4 = 3;

/// Program `seed`. One program in three has the handle table; a draw whose interleaving
/// bound exceeds kMaxInterleavings is replaced by the next draw of the same generator.
Program generate(std::uint64_t seed) {
  Xorshift rng(seed);
  // Relative frequencies of the operations, in Act order (the handle operations only in
  // programs with the table).
  static constexpr int kWeights[] = {3, 3, 2, 2, 2, 3, 2, 3, 1, 2, 3, 1, 2, 1, 1, 2, 1, 1, 1};
  constexpr int kFirstHandle = static_cast<int>(Act::handle_use);
  constexpr int kFirstManaged = static_cast<int>(Act::safe_bracket);
  for (;;) {
    Program p;
    const bool table = rng.below(3) == 0;
    const bool managed = table && rng.below(2) == 0;
    const int kinds = managed ? static_cast<int>(std::size(kWeights))
                      : table ? kFirstManaged
                              : kFirstHandle;
    int total_weight = 0;
    for (int a = 0; a < kinds; ++a)
      total_weight += kWeights[a];
    // The managed models add the finalizer thread and several steps per operation: their
    // programs stay at 2 threads of 1-2 operations.
    const int threads = managed ? 2 : 2 + rng.below(3);
    const int max_ops = managed ? 2 : threads == 2 ? kMaxOps2 : threads == 3 ? kMaxOps3 : kMaxOps4;
    for (int t = 0; t < threads; ++t) {
      std::vector<Op> ops(static_cast<std::size_t>(1 + rng.below(max_ops)));
      for (Op& op : ops) {
        int pick = rng.below(total_weight);
        int a = 0;
        while (pick >= kWeights[a])
          pick -= kWeights[a++];
        op.act = static_cast<Act>(a);
        op.obj = op.act == Act::section ? rng.below(4) : rng.below(2);
        op.value = 1 + rng.below(3);
        p.uses_table = p.uses_table || op.act >= Act::handle_use;
        p.uses_managed = p.uses_managed || op.act >= Act::safe_bracket;
      }
      p.threads.push_back(std::move(ops));
    }
    if (interleavings(p) <= kMaxInterleavings) return p;
  }
}

std::string describe(const Program& p) {
  static constexpr const char* kNames[] = {
      "load",         "store",        "fetch_add",  "cas",          "locked_add",
      "section",      "branch",       "handle_use", "handle_close", "handle_cycle",
      "safe_bracket", "safe_dispose", "gc_collect", "gc_suppress",  "gc_reregister",
      "com_cycle",    "mem_read",     "mem_write",  "mem_free"};
  std::string out;
  for (std::size_t t = 0; t < p.threads.size(); ++t) {
    out += fmt::format("  T{}:", t);
    for (const Op& op : p.threads[t])
      out += fmt::format(" {}({},{})", kNames[static_cast<int>(op.act)], op.obj, op.value);
    out += "\n";
  }
  return out;
}

// --- running a program ------------------------------------------------------------------------

/// The body of program `p`; every execution that ends clean adds its final state to *outcomes.
std::function<void()> body_of(const Program& p, std::set<std::string>* outcomes) {
  return [&p, outcomes] {
    hc::atomic<int> x{0, "x"};
    hc::atomic<int> y{0, "y"};
    hc::atomic<int>* atomics[2] = {&x, &y};
    hc::mutex m1("m1");
    hc::mutex m2("m2");
    hc::var<int> v{0, "v"};
    // Declared before the table: destroyed after it (a SafeHandle closes through the table).
    std::optional<hm::Gc> gc;
    std::optional<hm::ComWorld> world;
    std::optional<hm::HandleTable> table;
    hm::RawHandle shared;
    if (p.uses_table) {
      hm::HandleTableOptions o;
      o.reuse = hm::ReusePolicy::lifo;
      o.report_leaks = false;
      o.invalid_use = p.invalid_use;
      table.emplace(o);
      shared = table->create(hm::ObjectType::file, "shared");
    }
    struct Finalizable : hm::ManagedObject {
      explicit Finalizable(hm::Gc& gc) : ManagedObject(gc, "Finalizable", "fin", true) {}
    };
    Finalizable* fin = nullptr;
    std::optional<hm::SafeHandle> safe;
    struct Unknown : hm::ComObject {
      Unknown() : ComObject("Unknown") {}
    };
    std::optional<hm::ComPtr<Unknown>> com;
    std::optional<hm::UserMemory> mem;
    if (p.uses_managed) {
      mem.emplace("mem");
      gc.emplace();
      world.emplace();
      fin = &gc->make<Finalizable>(*gc);  // unreachable: a collection queues it
      safe.emplace(*gc, *table,
                   hm::SafeHandleOptions{.type_name = "SafeFileHandle", .name = "safe"});
      safe->SetHandle(table->create(hm::ObjectType::file, "safe file", safe->label()));
      com.emplace(world->make<Unknown>("com"));
    }
    std::vector<std::string> seen(p.threads.size());  // each thread appends to its own
    std::vector<hc::thread> threads;
    for (std::size_t t = 0; t < p.threads.size(); ++t) {
      threads.emplace_back("T" + std::to_string(t), [&, t] {
        std::string& out = seen[t];
        for (const Op& op : p.threads[t]) {
          hc::atomic<int>& a = *atomics[op.obj & 1];
          switch (op.act) {
            case Act::load:
              out += fmt::format("l{} ", a.load());
              break;
            case Act::store:
              a.store(op.value);
              break;
            case Act::fetch_add:
              out += fmt::format("f{} ", a.fetch_add(op.value));
              break;
            case Act::cas: {
              int expected = 0;
              out += a.compare_exchange_strong(expected, op.value) ? "c1 " : "c0 ";
              break;
            }
            case Act::locked_add: {
              m1.lock();
              const int old = v.read();
              v.write(old + op.value);
              m1.unlock();
              out += fmt::format("v{} ", old);
              break;
            }
            case Act::section:
              if (op.obj == 3) {
                m2.lock();
                y.fetch_add(op.value);
                m2.unlock();
              } else {
                hc::mutex& first = op.obj == 2 ? m2 : m1;
                hc::mutex& second = op.obj == 2 ? m1 : m2;
                first.lock();
                if (op.obj != 0) second.lock();
                v.write(v.read() + op.value);
                if (op.obj != 0) second.unlock();
                first.unlock();
              }
              break;
            case Act::branch:
              if (hc::choose(2, "branch") == 1) {
                a.store(op.value);
              } else {
                out += fmt::format("b{} ", atomics[1 - (op.obj & 1)]->load());
              }
              break;
            case Act::handle_use: {
              const hm::Status s = table->write(shared);
              out += s.ok ? "w+ " : fmt::format("w{} ", s.error);
              break;
            }
            case Act::handle_close: {
              const hm::Status s = table->close(shared);
              out += s.ok ? "x+ " : fmt::format("x{} ", s.error);
              break;
            }
            case Act::handle_cycle: {
              const hm::RawHandle mine = table->create(hm::ObjectType::file, "mine");
              out += fmt::format("h{:#x} ", mine.value);
              table->close(mine);
              break;
            }
            case Act::safe_bracket: {
              bool added = false;
              try {
                safe->DangerousAddRef(added);
                const hm::Status st = table->write(safe->DangerousGetHandle());
                out += st.ok ? "s+ " : fmt::format("s{} ", st.error);
              } catch (const hm::ObjectDisposedException&) {
                out += "sD ";
              }
              if (added) safe->DangerousRelease();
              break;
            }
            case Act::safe_dispose:
              safe->Dispose();
              break;
            case Act::gc_collect:
              gc->collect();
              break;
            case Act::gc_suppress:
              gc->suppress_finalize(*fin);
              break;
            case Act::gc_reregister:
              gc->reregister_for_finalize(*fin);
              break;
            case Act::com_cycle: {
              hm::ComPtr<Unknown> copy(*com);
              copy.reset();
              break;
            }
            case Act::mem_read:
              mem->read();
              break;
            case Act::mem_write:
              mem->write();
              break;
            case Act::mem_free:
              mem->free();
              break;
          }
        }
      });
    }
    for (hc::thread& t : threads)
      t.join();
    std::string state = fmt::format("x={} y={} v={}", x.peek(), y.peek(), v.peek());
    if (fin != nullptr) {
      // First let the finalizer thread finish (a queued SafeHandle closes its handle there):
      // the counts below are read without a scheduling point.
      gc->wait_for_pending_finalizers();
      state += fmt::format(" finalized={} closed={} freed={}", fin->times_finalized(),
                           safe->IsClosed(), mem->freed());
    }
    if (table) state += fmt::format(" open={}", table->open_count());
    for (std::size_t t = 0; t < seen.size(); ++t)
      state += fmt::format(" | T{}: {}", t, seen[t]);
    static std::mutex outcomes_mu;  // parallel workers (--jobs) run executions at once
    std::lock_guard lock(outcomes_mu);
    outcomes->insert(state);
  };
}

struct Run {
  std::set<std::string> outcomes;  // final states, then "finding: <kind>" per finding kind
  std::uint64_t executions = 0;
  bool exhausted = false;
  bool clean = true;  // no finding
};

hc::ExploreOptions exhaustive(const char* strategy) {
  hc::ExploreOptions o;
  o.strategy = strategy;
  o.max_executions = 0;
  o.stop_at_first = false;
  o.check_determinism = false;
  return o;
}

Run run(const Program& p, hc::ExploreOptions options) {
  Run r;
  const hc::Result result = hc::explore(body_of(p, &r.outcomes), options);
  for (const hc::Finding& f : result.findings)
    r.outcomes.insert(fmt::format("finding: {}", hc::finding_kind_name(f.kind)));
  r.executions = result.stats.executions;
  r.exhausted = result.stats.exhausted;
  r.clean = result.findings.empty();
  return r;
}

/// The elements of `a` that are not in `b`, one per line.
std::string only_in(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::string out;
  for (const std::string& e : a) {
    if (!b.contains(e)) out += "\n    " + e;
  }
  return out.empty() ? " (none)" : out;
}

bool uses(const Program& p, Act act) {
  for (const std::vector<Op>& ops : p.threads) {
    for (const Op& op : ops) {
      if (op.act == act) return true;
    }
  }
  return false;
}

/// One program under dfs (counting its traces) and under dpor.
struct Comparison {
  Run dfs;
  Run dpor;
  std::uint64_t traces = 0;
  /// Where dpor must explore one execution per trace: clean programs (a finding cuts
  /// executions short at different points) without compare-exchange. dpor and the trace count
  /// share one definition of conflict (strategy/dependence.hpp: footprints; a failed
  /// compare-exchange reads), but a sleeping thread's compare-exchange is woken as the write
  /// it may be, so with compare-exchange dpor may explore more executions, never fewer; and a
  /// collection wakes the finalizer thread, which blocks on its event again, where dpor races
  /// blocked operations conservatively (see dpor.cpp): programs with GC.Collect too.
  bool comparable = false;
};

Comparison compare(const Program& p) {
  Comparison c;
  std::set<std::string> traces;
  hc::ExploreOptions dfs = exhaustive("dfs");
  dfs.strategy_factory = [&traces] { return std::make_unique<hc::test::TraceCollector>(&traces); };
  c.dfs = run(p, dfs);
  c.dpor = run(p, exhaustive("dpor"));
  c.traces = traces.size();
  c.comparable = c.dfs.clean && !uses(p, Act::cas) && !uses(p, Act::gc_collect);
  return c;
}

std::string outcome_difference(const Comparison& c) {
  return "only under dfs:" + only_in(c.dfs.outcomes, c.dpor.outcomes) +
         "\nonly under dpor:" + only_in(c.dpor.outcomes, c.dfs.outcomes);
}

/// Runs programs first_seed .. first_seed + count - 1 under dfs and dpor: the outcomes must be
/// equal, and comparable programs must take one dpor execution per trace (details for the
/// first few failures of each kind). Prints a summary.
void differential(std::uint64_t first_seed, std::uint64_t count) {
  constexpr int kDetails = 10;
  std::uint64_t dfs_executions = 0;
  std::uint64_t dpor_executions = 0;
  int outcome_differences = 0;
  std::uint64_t comparable = 0;
  std::uint64_t comparable_traces = 0;
  std::uint64_t comparable_dpor = 0;
  int not_optimal = 0;
  std::uint64_t other_clean = 0;  // clean programs with compare-exchange or GC.Collect
  std::uint64_t other_traces = 0;
  std::uint64_t other_dpor = 0;
  std::map<std::string, int> findings;  // how many programs reach each finding kind
  for (std::uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    const Program p = generate(seed);
    const Comparison c = compare(p);
    ASSERT_TRUE(c.dfs.exhausted) << "program " << seed << ":\n" << describe(p);
    ASSERT_TRUE(c.dpor.exhausted) << "program " << seed << ":\n" << describe(p);
    dfs_executions += c.dfs.executions;
    dpor_executions += c.dpor.executions;
    for (const std::string& o : c.dfs.outcomes) {
      if (o.starts_with("finding: ")) ++findings[o.substr(9)];
    }
    if (c.dpor.outcomes != c.dfs.outcomes && ++outcome_differences <= kDetails) {
      ADD_FAILURE() << "program " << seed << " reaches other outcomes under dpor than under dfs:\n"
                    << describe(p) << outcome_difference(c);
    }
    if (c.comparable) {
      ++comparable;
      comparable_traces += c.traces;
      comparable_dpor += c.dpor.executions;
      if (c.dpor.executions != c.traces && ++not_optimal <= kDetails) {
        ADD_FAILURE() << "program " << seed << ": dpor explored " << c.dpor.executions
                      << " executions for " << c.traces << " Mazurkiewicz traces (dfs "
                      << c.dfs.executions << "):\n"
                      << describe(p);
      }
    } else if (c.dfs.clean) {
      ++other_clean;
      other_traces += c.traces;
      other_dpor += c.dpor.executions;
    }
  }
  std::string kinds;
  for (const auto& [kind, programs] : findings)
    kinds += fmt::format(" {} {},", kind, programs);
  std::printf(
      "[ differential ] %llu programs: dfs %llu executions, dpor %llu, %d with other outcomes\n"
      "[ differential ] %llu clean without cas or collect: %llu traces, dpor %llu executions, "
      "%d not one per trace\n"
      "[ differential ] %llu clean with cas or collect: %llu traces, dpor %llu executions\n"
      "[ differential ] programs with findings:%s\n",
      static_cast<unsigned long long>(count), static_cast<unsigned long long>(dfs_executions),
      static_cast<unsigned long long>(dpor_executions), outcome_differences,
      static_cast<unsigned long long>(comparable),
      static_cast<unsigned long long>(comparable_traces),
      static_cast<unsigned long long>(comparable_dpor), not_optimal,
      static_cast<unsigned long long>(other_clean), static_cast<unsigned long long>(other_traces),
      static_cast<unsigned long long>(other_dpor), kinds.c_str());
  std::fflush(stdout);
  EXPECT_EQ(outcome_differences, 0) << "programs whose outcomes differ (details above)";
  EXPECT_EQ(not_optimal, 0) << "programs where dpor is not one execution per trace";
  // The generator exercises what it is meant to (fixed seeds: a property of this code).
  EXPECT_GT(findings["deadlock"], 0);
  EXPECT_GT(findings["stale-handle-use"], 0);
  EXPECT_GT(findings["double-close"], 0);
  EXPECT_GT(findings["use-after-free"], 0);
  EXPECT_GT(findings["double-free"], 0);
  EXPECT_GT(comparable, count / 10);
  EXPECT_LT(dpor_executions * 2, dfs_executions);
}

TEST(DporDifferential, GeneratorIsDeterministicAndBounded) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const Program a = generate(seed);
    EXPECT_EQ(describe(a), describe(generate(seed)));
    EXPECT_LE(interleavings(a), kMaxInterleavings);
    EXPECT_GE(a.threads.size(), 2u);
    EXPECT_LE(a.threads.size(), 4u);
  }
}

// Small programs, found by the generator, on which the dpor under development differed from
// dfs (written out: the generator's numbering changes with its parameters). Each has a value
// choice before an access that races with another thread's.
TEST(DporDifferential, ValueChoiceBeforeARace) {
  const std::vector<Program> programs = {
      // T1 chooses to store x = 1 (after storing y): the two loads of x each see 0 or 1, and
      // T0 = 1 with T2 = 0 was missed (5 traces: 1 for branch 0, 4 for branch 1).
      {{{{Act::load, 0, 1}}, {{Act::store, 1, 2}, {Act::branch, 0, 1}}, {{Act::load, 0, 3}}},
       false},
      // A lock section (m2 then m1) before T1's choice to store x = 1; T2 reading 0 while T0
      // chose to store y was missed (9 traces).
      {{{{Act::branch, 1, 1}}, {{Act::section, 2, 1}, {Act::branch, 0, 1}}, {{Act::load, 0, 1}}},
       false},
      // T1's choice stores y = 2 between two compare-exchanges; T0 reading 2 while T2 reads 0
      // was missed.
      {{{{Act::load, 1, 3}},
        {{Act::cas, 0, 3}, {Act::branch, 1, 2}, {Act::cas, 1, 2}},
        {{Act::load, 1, 2}}},
       false},
  };
  for (const Program& p : programs) {
    const Comparison c = compare(p);
    EXPECT_TRUE(c.dpor.exhausted) << describe(p);
    EXPECT_TRUE(c.dpor.outcomes == c.dfs.outcomes) << describe(p) << outcome_difference(c);
    if (c.comparable) {
      EXPECT_EQ(c.dpor.executions, c.traces) << describe(p) << "dfs: " << c.dfs.executions;
    }
  }
}

// Found by the nightly run (programs 100096 and 101730) when decisions below a value choice
// first used Source-DPOR: a choice and a GC.SuppressFinalize in one thread, a
// ReRegisterForFinalize and a collection in the other.
TEST(DporDifferential, ValueChoiceBesideACollection) {
  std::vector<Program> programs = {
      {{{{Act::gc_reregister, 1, 1}, {Act::gc_collect, 0, 1}},
        {{Act::branch, 0, 2}, {Act::gc_suppress, 1, 3}}},
       true,
       true},
      {{{{Act::gc_reregister, 0, 2}, {Act::gc_collect, 1, 3}},
        {{Act::fetch_add, 0, 1}, {Act::gc_suppress, 1, 2}}},
       true,
       true},
  };
  for (const char* strategy : {"dpor", "dpor-source"}) {
    for (const Program& p : programs) {
      const ::Run dfs = run(p, exhaustive("dfs"));
      const ::Run dpor = run(p, exhaustive(strategy));
      EXPECT_TRUE(dpor.exhausted) << describe(p);
      EXPECT_EQ(dpor.outcomes, dfs.outcomes) << strategy << "\n" << describe(p);
      std::set<std::string> sharded;
      for (std::uint32_t shard = 0; shard < 3; ++shard) {
        hc::ExploreOptions o = exhaustive(strategy);
        o.shard_index = shard;
        o.shard_count = 3;
        o.unit_size = 2;
        const ::Run part = run(p, o);
        sharded.insert(part.outcomes.begin(), part.outcomes.end());
      }
      EXPECT_EQ(sharded, dfs.outcomes) << strategy << " in 3 shards\n" << describe(p);
    }
  }
}

/// Runs programs first_seed .. first_seed + count - 1 under `strategy` with one worker and
/// with two sharing one search tree (SharedDpor in dpor.cpp), the top cut after two decisions
/// and, in odd programs, units split after 4 executions (many units even on small programs):
/// the two runs must be the same, execution for execution.
void shared_against_one_worker(const char* strategy, std::uint64_t first_seed,
                               std::uint64_t count) {
  int differences = 0;
  std::uint64_t units = 0;
  for (std::uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    const Program p = generate(seed);
    auto summary = [](const hc::Result& r, const std::set<std::string>& outcomes) {
      std::string s =
          fmt::format("executions {}, pruned {}, steps {}, exhausted {}\n", r.stats.executions,
                      r.stats.pruned, r.stats.steps, r.stats.exhausted);
      for (const hc::Finding& f : r.findings)
        s += fmt::format("  {} at execution {}\n", f.signature, f.execution);
      for (const std::string& o : outcomes)
        s += "  " + o + "\n";
      return s;
    };
    std::set<std::string> alone_outcomes;
    const hc::Result alone = hc::explore(body_of(p, &alone_outcomes), exhaustive(strategy));
    hc::ExploreOptions o = exhaustive(strategy);
    o.jobs = 2;
    o.split_depth = 2;
    o.unit_size = seed % 2 == 0 ? 256 : 4;  // odd programs: units split after 4 executions
    std::set<std::string> shared_outcomes;
    const hc::Result shared = hc::explore(body_of(p, &shared_outcomes), o);
    units += shared.stats.units;
    const std::string expected = summary(alone, alone_outcomes);
    const std::string got = summary(shared, shared_outcomes);
    if (got != expected && ++differences <= 5) {
      ADD_FAILURE() << "program " << seed << " under " << strategy << " with two workers:\n"
                    << describe(p) << "one worker:\n"
                    << expected << "two workers:\n"
                    << got;
    }
  }
  std::printf("[ differential ] %llu programs under %s with two workers: %llu units\n",
              static_cast<unsigned long long>(count), strategy,
              static_cast<unsigned long long>(units));
  EXPECT_EQ(differences, 0);
  EXPECT_GT(units, 2 * count);  // the search was split, not run by one worker
}

TEST(DporDifferential, TwoWorkersRunWhatOneWorkerRunsOn500Programs) {
  shared_against_one_worker("dpor", 1, 500);
  shared_against_one_worker("dpor-source", 501, 200);
}

TEST(DporDifferentialNightly, TwoWorkersRunWhatOneWorkerRunsOn5000Programs) {
  shared_against_one_worker("dpor", 100001, 5000);
}

TEST(DporDifferential, SameOutcomesAsDfsOn2000Programs) {
  differential(1, 2000);
}

TEST(DporDifferentialNightly, SameOutcomesAsDfsOn20000Programs) {
  differential(100001, 20000);
}

// Under the models' default (InvalidUse::raise) a use of a closed value ends its execution with
// a finding. Up to the first finding, dpor explores what it explores without findings (a
// representative of every trace of the prefixes it ran), so a search that stops at the first
// finding (the default) finds one whenever dfs does. Past it (--keep-going), executions cut by a
// finding hide the operations their threads had not reached: dpor may miss a further kind or a
// clean outcome that dfs reaches (the README's "What handlecheck does not prove"), which is why
// this test compares only whether there is a finding.
TEST(DporDifferential, AFindingIsFoundByDporWheneverDfsFindsOne) {
  int with_findings = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    Program p = generate(seed);
    if (!p.uses_table) continue;
    p.invalid_use = hm::InvalidUse::raise;
    hc::ExploreOptions dfs = exhaustive("dfs");
    dfs.stop_at_first = true;
    hc::ExploreOptions dpor = exhaustive("dpor");
    dpor.stop_at_first = true;
    const auto by_dfs = run(p, dfs);
    const auto by_dpor = run(p, dpor);
    if (!by_dfs.clean) ++with_findings;
    EXPECT_EQ(by_dpor.clean, by_dfs.clean) << "program " << seed << "\n" << describe(p);
  }
  std::printf("[ differential ] %d programs with a finding under raise\n", with_findings);
  EXPECT_GT(with_findings, 20);  // the default makes findings of the handle programs' misuses
}

}  // namespace

// Program 105927 of the nightly set: dpor raced the operation a thread was left parked at (its
// close of a recycled handle) with the footprint the close declared on its thread's stack, read
// after the execution's threads were torn down; it missed the outcome in which that close runs
// before the other thread's write. Execution::keep_pending_footprints copies them first.
TEST(DporDifferential, APendingOperationsFootprintOutlivesItsThreadsTeardown) {
  const Program p = generate(105927);
  const Comparison c = compare(p);
  EXPECT_EQ(c.dpor.outcomes, c.dfs.outcomes) << describe(p) << outcome_difference(c);
  EXPECT_TRUE(
      c.dpor.outcomes.contains("x=3 y=0 v=4 open=0 | T0: x+ h0x8 w6  | T1: v0 v1 h0x4 c1 "));
}

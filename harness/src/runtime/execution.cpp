#include "runtime/execution.hpp"

#include <cxxabi.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unwind.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include "hc/runtime.hpp"
#include "runtime/paths.hpp"
#include "runtime/text.hpp"
#include "strategy/dependence.hpp"

// The scheduling path (announce, park, choose_next, transfer, begin_step) is inlined into each
// operation: after a fiber switch every return up the call chain mispredicts (the return stack
// buffer holds the other fiber's frames), so each call level between an operation and the
// switch costs a misprediction per step. bench/engine_bench measures it.
#define HC_HOT_INLINE [[gnu::always_inline]] inline

// AddressSanitizer must be told about every switch between stacks, or it takes the fibers'
// frames for stack buffer overflows (see execution.hpp, "Sanitizers"). Nothing here exists in
// other builds.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define HC_ASAN_START_SWITCH(fake, t) \
  __sanitizer_start_switch_fiber((fake), threads_[t].stack_bottom, threads_[t].stack_size)
#define HC_ASAN_FINISH_SWITCH(fake) __sanitizer_finish_switch_fiber((fake), nullptr, nullptr)
#else
#define HC_ASAN_START_SWITCH(fake, t) ((void)0)
#define HC_ASAN_FINISH_SWITCH(fake) ((void)0)
#endif

namespace hc::detail {
namespace {

thread_local Execution* t_current = nullptr;
thread_local const OsThread* t_os = nullptr;  // os-threads substrate: the record of this thread
std::atomic<int> g_live{0};  // Executions that exist in the process, on any OS thread

struct CurrentScope {
  Execution* previous;
  explicit CurrentScope(Execution* e) : previous(t_current) { t_current = e; }
  ~CurrentScope() { t_current = previous; }
  CurrentScope(const CurrentScope&) = delete;
  CurrentScope& operator=(const CurrentScope&) = delete;
};

/// Thrown at a thread the teardown resumes, to unwind it (see the header). Not derived from
/// std::exception, so that code under test that catches std::exception lets it pass; run_body
/// catches it silently.
struct ThreadUnwind {};

// --- would ThreadUnwind thrown here terminate? -----------------------------------------------
// A phase-1 search of the frames above, done by hand so that nothing is unwound: for each frame
// with a language-specific data area (the C++ exception tables, Itanium C++ ABI "LSDA"), the
// call-site record of its return address says what a thrown exception meets there, read the
// way libstdc++'s __gxx_personality_v0 reads it. The search ends at the first frame that would
// catch ThreadUnwind (a catch (...): run_body's own, or the code under test's) or terminate (no
// call-site record: a noexcept function; a negative filter: an exception specification). A
// typed catch never matches: ThreadUnwind is private. Anything unexpected counts as a catch:
// the throw then happens, and std::terminate's fallback still abandons the thread.
// Compilers that implement noexcept as a catch (...) calling std::terminate (Clang) are not
// told apart from a real catch (...): the fallback handles them.
// The search also tells whether any frame on the way runs code when unwound (a cleanup: a
// destructor, a catch block's end): when none does and the catch is run_body's own (its
// catch (const ThreadUnwind&), told by the type_info the clause names), there is nothing to
// unwind, and the teardown skips the throw (Execution::drop_without_unwinding).

enum class FrameSays : std::uint8_t { nothing, cleans, catches, catches_in_run_body, terminates };

const std::uint8_t* read_uleb128(const std::uint8_t* p, std::uint64_t* value) {
  std::uint64_t result = 0;
  unsigned shift = 0;
  std::uint8_t byte = 0;
  do {
    byte = *p++;
    if (shift < 64) result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) != 0);
  *value = result;
  return p;
}

const std::uint8_t* read_sleb128(const std::uint8_t* p, std::int64_t* value) {
  std::uint64_t result = 0;
  unsigned shift = 0;
  std::uint8_t byte = 0;
  do {
    byte = *p++;
    if (shift < 64) result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) != 0);
  if (shift < 64 && (byte & 0x40) != 0) result |= ~std::uint64_t{0} << shift;
  *value = static_cast<std::int64_t>(result);
  return p;
}

/// A call-site table value (an absolute displacement: the encoding's application bits do not
/// apply) in DWARF pointer encoding `encoding`; nullptr for an encoding not seen there.
const std::uint8_t* read_displacement(const std::uint8_t* p, std::uint8_t encoding,
                                      std::uint64_t* value) {
  auto fixed = [&](auto type) {
    decltype(type) v;
    std::memcpy(&v, p, sizeof v);
    *value = static_cast<std::uint64_t>(v);
    return p + sizeof v;
  };
  switch (encoding & 0x0f) {
    case 0x00:  // absptr
    case 0x04:  // udata8
    case 0x0c:  // sdata8
      return fixed(std::uint64_t{});
    case 0x01:  // uleb128
      return read_uleb128(p, value);
    case 0x02:  // udata2
      return fixed(std::uint16_t{});
    case 0x03:  // udata4
      return fixed(std::uint32_t{});
    case 0x0a:  // sdata2
      return fixed(std::int16_t{});
    case 0x0b:  // sdata4
      return fixed(std::int32_t{});
    default:
      return nullptr;
  }
}

/// The size of a type-table entry in `encoding`; 0 when not a fixed size.
std::size_t entry_size(std::uint8_t encoding) {
  switch (encoding & 0x07) {
    case 0x00:
      return sizeof(void*);
    case 0x02:
      return 2;
    case 0x03:
      return 4;
    case 0x04:
      return 8;
    default:
      return 0;
  }
}

/// The type_info a type-table entry in `encoding` at `entry` names, as an address: 0 for
/// catch (...); *known is false for an encoding this reader does not decode.
std::uintptr_t catch_type(const std::uint8_t* entry, std::uint8_t encoding, bool* known) {
  std::uint64_t raw = 0;
  if (read_displacement(entry, encoding, &raw) == nullptr) {
    *known = false;
    return 1;
  }
  if (raw == 0) return 0;
  std::uintptr_t value = 0;
  switch (encoding & 0x70) {
    case 0x00:  // absolute
      value = static_cast<std::uintptr_t>(raw);
      break;
    case 0x10:  // pc-relative
      value = reinterpret_cast<std::uintptr_t>(entry) + static_cast<std::uintptr_t>(raw);
      break;
    default:
      *known = false;
      return 1;
  }
  if ((encoding & 0x80) != 0) {  // indirect: the address of a pointer to it (a GOT entry)
    std::memcpy(&value, reinterpret_cast<const void*>(value), sizeof value);
  }
  return value;
}

/// What an exception thrown through `ip` (a return address minus one) in the function starting
/// at `start` meets in that frame, by the frame's LSDA.
FrameSays frame_says(const std::uint8_t* lsda, std::uintptr_t ip, std::uintptr_t start) {
  constexpr std::uint8_t kOmit = 0xff;
  const std::uint8_t* p = lsda;
  if (*p++ != kOmit) return FrameSays::catches;  // an explicit @LPStart: not produced by GCC
  const std::uint8_t ttype_encoding = *p++;
  const std::uint8_t* ttype = nullptr;
  if (ttype_encoding != kOmit) {
    std::uint64_t offset = 0;
    p = read_uleb128(p, &offset);
    ttype = p + offset;
  }
  const std::uint8_t call_site_encoding = *p++;
  std::uint64_t table_length = 0;
  p = read_uleb128(p, &table_length);
  const std::uint8_t* action_table = p + table_length;
  while (p < action_table) {
    std::uint64_t cs_start = 0, cs_length = 0, cs_landing_pad = 0, cs_action = 0;
    p = read_displacement(p, call_site_encoding, &cs_start);
    if (p != nullptr) p = read_displacement(p, call_site_encoding, &cs_length);
    if (p != nullptr) p = read_displacement(p, call_site_encoding, &cs_landing_pad);
    if (p == nullptr) return FrameSays::catches;
    p = read_uleb128(p, &cs_action);
    if (ip < start + cs_start) break;  // sorted: passed it
    if (ip >= start + cs_start + cs_length) continue;
    if (cs_landing_pad == 0) return FrameSays::nothing;
    if (cs_action == 0) return FrameSays::cleans;
    const std::uint8_t* action = action_table + cs_action - 1;
    bool cleans = false;
    for (;;) {
      std::int64_t filter = 0, displacement = 0;
      const std::uint8_t* at_displacement = read_sleb128(action, &filter);
      read_sleb128(at_displacement, &displacement);
      if (filter < 0) return FrameSays::terminates;  // an exception specification
      if (filter == 0) cleans = true;
      if (filter > 0) {
        const std::size_t size = entry_size(ttype_encoding);
        if (ttype == nullptr || size == 0) return FrameSays::catches;
        bool known = true;
        const std::uintptr_t type =
            catch_type(ttype - static_cast<std::size_t>(filter) * size, ttype_encoding, &known);
        if (type == 0) return FrameSays::catches;  // catch (...)
        if (known && type == reinterpret_cast<std::uintptr_t>(&typeid(ThreadUnwind)))
          return FrameSays::catches_in_run_body;
      }
      // Typed catches only: the landing pad compares and resumes, running nothing of ours.
      if (displacement == 0) return cleans ? FrameSays::cleans : FrameSays::nothing;
      action = at_displacement + displacement;
    }
  }
  return FrameSays::terminates;  // no call-site record: the personality calls std::terminate
}

struct Search {
  FrameSays verdict = FrameSays::terminates;  // the walk ends without a handler: do not throw
  bool cleans = false;                        // a frame before the one that decides runs code
};

_Unwind_Reason_Code search_frame(_Unwind_Context* context, void* state) {
  auto* search = static_cast<Search*>(state);
  const auto* lsda = static_cast<const std::uint8_t*>(_Unwind_GetLanguageSpecificData(context));
  if (lsda == nullptr) return _URC_NO_REASON;  // nothing to run or catch in this frame
  int before_instruction = 0;
  std::uintptr_t ip = _Unwind_GetIPInfo(context, &before_instruction);
  if (before_instruction == 0) --ip;
  const FrameSays says = frame_says(lsda, ip, _Unwind_GetRegionStart(context));
  if (says == FrameSays::nothing) return _URC_NO_REASON;
  if (says == FrameSays::cleans) {
    search->cleans = true;
    return _URC_NO_REASON;
  }
  search->verdict = says;
  return _URC_END_OF_STACK;  // stops the walk
}

/// What an exception thrown by the caller would meet: the search above. Not noexcept, and
/// neither may any caller between it and the throw be: a noexcept caller would itself read as a
/// frame that terminates.
[[gnu::noinline]] Search search_unwinding() {
  Search search;
  _Unwind_Backtrace(&search_frame, &search);
  return search;
}

/// s == name, inline: thread names are short, and a call to memcmp costs more than comparing.
bool same_name(const std::string& s, std::string_view name) noexcept {
  if (s.size() != name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (s[i] != name[i]) return false;
  }
  return true;
}

}  // namespace

Execution* Execution::current() noexcept {
  return t_current;
}

// --- the os-threads substrate (execution.hpp, "Substrates") -----------------------------------

/// One OS thread of the os-threads substrate, for one simulated thread of one execution. Records
/// are reused (Execution::os_records_) once their thread was joined; an abandoned thread keeps
/// its record for good (it waits on its baton forever).
struct OsThread {
  static constexpr std::size_t kSignalStackSize = 64 * 1024;

  Execution* execution = nullptr;
  ThreadId slot = kNoThread;
  Baton baton;
  pthread_t handle{};       // written by the creator (pthread_create)
  std::atomic<int> tid{0};  // written by the thread before its first wait; the watchdog reads it
  std::uintptr_t stack_low = 0;  // the lowest address of its stack (overflow detection)
  // Its alternate signal stack (the fault handlers run there), unless the thread started with
  // one (has_signal_stack: AddressSanitizer's, which ASan unmaps when the thread ends).
  void* signal_stack = nullptr;
  sigjmp_buf base;       // os_thread_main's frame, where a reclaimed thread jumps
  bool reclaim = false;  // abandoned: jump to `base` and end when next posted
  bool ended = false;    // it handed on for the last time (finish_os_thread)

  OsThread() {
    signal_stack = ::mmap(nullptr, kSignalStackSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (signal_stack == MAP_FAILED) signal_stack = nullptr;
  }
  ~OsThread() {
    if (signal_stack != nullptr) ::munmap(signal_stack, kSignalStackSize);
  }
  OsThread(const OsThread&) = delete;
  OsThread& operator=(const OsThread&) = delete;
};

pthread_key_t Execution::finish_key() {
  static const pthread_key_t key = [] {
    pthread_key_t k{};
    if (::pthread_key_create(&k, &finish_os_thread) != 0) std::abort();
    return k;
  }();
  return key;
}

bool Execution::on_current_os_thread() const noexcept {
  if (!os_threads_) return true;
  return current_ < kMaxThreads && t_os != nullptr && t_os == threads_[current_].os;
}

bool Execution::overflowed_stack(std::uintptr_t address, std::uintptr_t sp) const noexcept {
  if (!os_threads_) return pool_->overflowed(current_, address, sp);
  if (t_os == nullptr || t_os->stack_low == 0) return false;
  // Its guard page (pthread's, below the stack) or a frame that starts below the stack: as
  // StackPool::overflowed, a large frame may fault beyond the guard.
  const std::uintptr_t low = t_os->stack_low;
  const std::uintptr_t page = 4096;
  const bool address_below = address < low && address + 64 * page >= low;
  const bool sp_below = sp < low + 256 && sp + 64 * page >= low;
  return address_below || sp_below;
}

int Execution::running_os_tid() const noexcept {
  // A record is reused only after its thread was joined, never freed while the Execution
  // lives: reading one that just stopped running is harmless.
  const OsThread* os = running_os_.load(std::memory_order_acquire);
  return os != nullptr ? os->tid.load(std::memory_order_relaxed) : 0;
}

int Execution::create_os_thread(ThreadId t) {
  std::unique_ptr<OsThread> os;
  if (!os_records_.empty()) {
    os = std::move(os_records_.back());
    os_records_.pop_back();
  } else {
    os = std::make_unique<OsThread>();
  }
  os->execution = this;
  os->slot = t;
  os->reclaim = false;
  os->ended = false;
  os->tid.store(0, std::memory_order_relaxed);
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(
      &attr,
      std::max<std::size_t>(config_.stack_size, static_cast<std::size_t>(PTHREAD_STACK_MIN)));
  // Always a guard page, whatever --no-guard-pages says: below a thread's stack lies another
  // thread's block, whose top holds that thread's TCB and TLS, which an overflow would corrupt.
  ::pthread_attr_setguardsize(&attr, 4096);
  const int rc = ::pthread_create(&os->handle, &attr, &os_thread_main, os.get());
  ::pthread_attr_destroy(&attr);
  if (rc != 0) {
    os_records_.push_back(std::move(os));
    return rc;
  }
  threads_[t].os = os.release();  // owned by the slot until end_os_threads
  return 0;
}

Finding Execution::os_thread_finding(ThreadId t, int error) const {
  Finding f = make_finding(
      FindingKind::internal_error,
      fmt::format("handlecheck could not start an OS thread for simulated thread {} "
                  "(--os-threads): {}; lower --jobs, or run this scenario on fibers (--fibers)",
                  t, std::strerror(error)),
      nullptr);
  f.signature = "internal-error|os-thread";
  return f;
}

void* Execution::os_thread_main(void* arg) {
  auto* os = static_cast<OsThread*>(arg);
  Execution* const self = os->execution;
  t_current = self;
  t_os = os;
  os->tid.store(static_cast<int>(::gettid()), std::memory_order_relaxed);
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
    void* low = nullptr;
    std::size_t size = 0;
    ::pthread_attr_getstack(&attr, &low, &size);
    os->stack_low = reinterpret_cast<std::uintptr_t>(low);
    ::pthread_attr_destroy(&attr);
  }
  if (os->signal_stack != nullptr && !has_signal_stack()) {
    stack_t ss{};
    ss.ss_sp = os->signal_stack;
    ss.ss_size = OsThread::kSignalStackSize;
    ::sigaltstack(&ss, nullptr);
  }
  ::pthread_setspecific(finish_key(), os);  // finish_os_thread runs when the thread ends
  if (sigsetjmp(os->base, 1) == 0) {
    os->baton.wait();  // its first run, or run() for main, hands it the baton
    // Else it never started, and the teardown destroyed its body: it ends.
    if (self->threads_[os->slot].body != nullptr) self->run_body(os->slot);
  }
  // Else the teardown reclaimed it (reclaim_os_thread): its frames were left as an abandoned
  // fiber's are, and its signal mask is the one from here.
  return nullptr;  // thread_local destructors run, then finish_os_thread
}

void Execution::finish_os_thread(void* arg) {
  // The record (and its signal stack) is reused only after this thread was joined.
  auto* os = static_cast<OsThread*>(arg);
  os->ended = true;                        // read by the host after the hand-off below
  os->execution->finish_thread(os->slot);  // hands on and returns at once (hand_off_os)
  t_os = nullptr;
  t_current = nullptr;
}

void Execution::transfer_os(ThreadId to) {
  OsThread* const mine = current_ < kMaxThreads ? threads_[current_].os : nullptr;
  hand_off_os(to);
  (mine != nullptr ? mine->baton : host_baton_).wait();
  if (mine != nullptr && mine->reclaim) [[unlikely]]
    siglongjmp(mine->base, 1);  // abandoned, now reclaimed: end without unwinding
}

void Execution::hand_off_os(ThreadId to) noexcept {
  OsThread* const next = to < kMaxThreads ? threads_[to].os : nullptr;
  current_ = to;
  running_os_.store(next, std::memory_order_release);
  (next != nullptr ? next->baton : host_baton_).post();
}

void Execution::end_os_threads() {
  for (int t = 0; t < n_threads_; ++t) {
    ThreadState& s = threads_[t];
    if (s.os == nullptr) continue;
    if (s.os->ended) {
      ::pthread_join(s.os->handle, nullptr);
      os_records_.emplace_back(s.os);
    } else {
      // Stopped again while it was reclaimed (a fault or a hang in its thread_local
      // destructors): it waits on its baton for the rest of the process, which nothing posts
      // again, and keeps its record.
      ::pthread_detach(s.os->handle);
    }
    s.os = nullptr;
  }
}

void Execution::reclaim_os_thread(ThreadId t) {
  // Abandoned (a fault, a fallback): it waits in transfer_os, or in a fault handler that called
  // it. Posted with `reclaim` set, it jumps back to os_thread_main's frame, leaving its frames
  // as an abandoned fiber's are, and ends: its thread_local destructors run (as while tearing
  // down: operations do nothing) and it hands control back here.
  threads_[t].os->reclaim = true;
  transfer(t);
}

Execution::Execution(ExecutionConfig config)
    : config_(std::move(config)), pool_(StackPool::take(config_.stack_size, config_.guard_pages)) {
  os_threads_ = config_.os_threads;
  fp_env_per_thread_ = config_.fp_env_per_thread && !config_.os_threads;
  special_switch_ = os_threads_ || fp_env_per_thread_;
  // A choice records its step in 30 bits (ChoiceEntry): the step bound keeps traces below.
  step_bound_.max_steps = std::min(config_.max_steps, kStepBits);
  livelock_.bound = config_.livelock_bound;
  install_fault_handlers();
  g_live.fetch_add(1, std::memory_order_relaxed);
  trace_.reserve(std::min<std::uint32_t>(config_.max_steps + 1, 1u << 14));
  objects_.reserve(64);
  choices_.reserve(256);
}

Execution::~Execution() {
  {
    // The layer's state goes in slot order, with this Execution current: what one slot's
    // destructor runs (a static's destructor closing a stream) still finds the later slots.
    // A slot reads as empty while its own destructor runs.
    const CurrentScope scope(this);
    for (std::size_t slot = 0; slot < layer_state_.size(); ++slot) {
      void (*destroy)(void*) noexcept = layer_destructors[slot].load(std::memory_order_relaxed);
      void* state = std::exchange(layer_state_[slot], nullptr);
      if (state != nullptr && destroy != nullptr) destroy(state);
    }
  }
  g_live.fetch_sub(1, std::memory_order_relaxed);
  // The fibers waiting for a body are dropped with their stacks (the pool's): their frames own
  // nothing (fiber_main between bodies).
}

std::vector<Choice> Execution::choices() const {
  std::vector<Choice> out;
  choices_into(out);
  return out;
}

void Execution::choices_into(std::vector<Choice>& out) const {
  out.clear();
  out.reserve(choices_.size());
  for (std::size_t i = 0; i < choices_.size(); ++i)
    out.push_back(choice(i));
}

void Execution::reset() {
  // A clock's nonzero entries are those of the threads of an execution that used the slot: its
  // next user clears up to there (spawn, start_clocks), not all 32. A slot whose clocks were
  // off is not cleared, so the bound only grows until one clears it; and an execution that kept
  // no clocks wrote none.
  if (clock_width_ != 0) {
    for (int t = 0; t < n_threads_; ++t) {
      ThreadState& s = threads_[t];
      s.clock_dirty = std::max(s.clock_dirty, static_cast<std::uint8_t>(n_threads_));
    }
  }
  // Each thread's own state is started by run() (main) and spawn() (ThreadState::start).
  n_threads_ = 0;
  live_ = finished_ = unstarted_ = waiting_ = join_blocked_ = yielded_ = spurious_woken_ = 0;
  join_done_by_first_runs_ = false;
  clock_width_ = 0;
  current_ = kHost;
  yield_scan_from_ = 0;
  deadlock_.reset();
  step_bound_.reset();
  livelock_.reset();
  race_.reset();
  n_objects_ = 0;
  trace_.clear();
  touches_.clear();
  choices_.clear();
  preemption_count_ = 0;
  step_thread_changes_ = 0;
  last_step_thread_ = kNoThread;
  spawns_.clear();
  pruned_ = false;
  running_at_end_ = kNoThread;
  parameters_.clear();
  invariants_.clear();
  park_flags_.invariants = false;
  park_flags_.first_runs = 0;
  reached_mask_ = 0;
  finding_.reset();
  divergence_.clear();
  park_flags_.tearing_down = false;
  park_flags_.in_invariant = false;
  if (fault_.cause != FaultRecord::Cause::none) fault_ = FaultRecord{};
  stopped_ = false;
}

namespace {
std::atomic<rt::ExecutionStartHook> execution_start_hook{nullptr};
}  // namespace

std::atomic<void (*)(void*) noexcept> layer_destructors[rt::kLayerSlots]{};

std::optional<Finding> Execution::run(const std::function<void()>& body, Strategy& strategy) {
  reset();
  const rt::ExecutionStartHook hook = execution_start_hook.load(std::memory_order_relaxed);
  if (hook != nullptr) [[unlikely]]
    hook();
  strategy_ = &strategy.decider();
  CurrentScope scope(this);
  ensure_signal_stack();
#if defined(__SANITIZE_ADDRESS__)
  if (threads_[kHost].stack_size == 0) {  // the OS thread's own stack, for switches back
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
      void* bottom = nullptr;
      std::size_t size = 0;
      ::pthread_attr_getstack(&attr, &bottom, &size);
      threads_[kHost].stack_bottom = bottom;
      threads_[kHost].stack_size = size;
      ::pthread_attr_destroy(&attr);
    }
  }
#endif
  // This OS thread's exception state and errno: found once per OS thread (both lookups go
  // through the dynamic TLS of shared libraries).
  thread_local EhGlobals* os_eh = nullptr;
  thread_local int* os_errno = nullptr;
  if (os_eh == nullptr) [[unlikely]] {
    os_eh = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
    os_errno = &errno;
  }
  eh_ = os_eh;
  errno_ = os_errno;
  heartbeat_.store(heartbeat_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  running_.store(true, std::memory_order_relaxed);

  ThreadState& main = threads_[0];
  n_threads_ = 1;
  if (main.name.empty()) main.name.assign("main");  // the slot's name for good
  main.body = const_cast<std::function<void()>*>(&body);
  main.heap_align = 0;
  main.invoke = [](void* f) { (*static_cast<const std::function<void()>*>(f))(); };
  main.destroy = [](void*) noexcept {};
  main.start();
  live_ = bit(0);
  if (os_threads_) {
    if (const int error = create_os_thread(0); error != 0) {
      live_ = 0;
      finish_run();
      return os_thread_finding(0, error);
    }
  } else {
    if (main.fiber == nullptr) create_fiber(0);
    if (fp_env_per_thread_) {
      set_fp_control_of(main.fiber, current_fp_control());  // not what the last main left
    } else if (!host_fp_control_known_) [[unlikely]] {
      host_fp_control_ = current_fp_control();
      host_fp_control_known_ = true;
    }
  }
  transfer(0);  // returns when the execution is over

  if (fault_.cause != FaultRecord::Cause::none) [[unlikely]] {
    // A handler abandoned a thread (see faults.hpp): the mask it blocked is still blocked.
    if (fault_.restore_mask) ::pthread_sigmask(SIG_SETMASK, &fault_.mask, nullptr);
    if (fault_.cause == FaultRecord::Cause::stop) {
      stopped_ = true;
    } else {
      finding_ = fault_finding();
    }
  }
  keep_pending_footprints();
  teardown();
  if (os_threads_) {
    end_os_threads();
  } else if (!fp_env_per_thread_) {
    restore_fp_control();
  }
  finish_run();
  return std::move(finding_);
}

void Execution::restore_fp_control() noexcept {
  const std::uint64_t now = current_fp_control();
  changed_fp_control_ = false;
  if (now == host_fp_control_) [[likely]]
    return;
  // MXCSR's low six bits are exception flags, which any inexact division sets: put back, but
  // not counted as a change of the environment. The rest is control: MXCSR's DAZ, masks,
  // rounding and flush-to-zero bits, and the x87 control word.
  constexpr std::uint64_t kControlBits = 0x0000'FFFF'0000'FFC0;
  changed_fp_control_ = ((now ^ host_fp_control_) & kControlBits) != 0;
  load_fp_control(host_fp_control_);
}

void Execution::finish_run() noexcept {
  strategy_ = nullptr;
  running_.store(false, std::memory_order_relaxed);
  heartbeat_.store(heartbeat_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

HC_HOT_INLINE void Execution::keep_pending_footprints() {
  // A parked operation's footprint beyond its object (Operation::extra) is the caller's storage,
  // on its thread's stack; teardown unwinds those stacks, and the strategy reads the pending
  // operations afterwards (Verdict::pending: dpor races them). Copy them here first.
  pending_touches_.clear();
  // Every thread finished (most executions): none is waiting. (Inline in run(): a call here
  // cost 21 instructions per execution, most of it saving registers for the loops below.)
  if (live_ == 0) return;
  const ThreadMask waiting_threads = waiting();
  std::size_t n = 0;
  for (ThreadMask m = waiting_threads; m != 0; m &= m - 1)
    n += pending_[static_cast<std::size_t>(std::countr_zero(m))].extra_count;
  if (n == 0) return;
  pending_touches_.reserve(n);  // no reallocation below: the pointers stay valid
  for (ThreadMask m = waiting_threads; m != 0; m &= m - 1) {
    Operation& op = pending_[static_cast<std::size_t>(std::countr_zero(m))];
    if (op.extra_count == 0) continue;
    const Touch* first = pending_touches_.data() + pending_touches_.size();
    pending_touches_.insert(pending_touches_.end(), op.extra, op.extra + op.extra_count);
    op.extra = first;
  }
}

void Execution::teardown() {
  park_flags_.tearing_down = true;
  // Every thread finished (most executions): no body is left to unwind or abandon.
  if (live_ == 0) return;
  // The thread a fault stopped runs no more code (its fiber may be suspended in a signal
  // handler, its state corrupt).
  const ThreadId faulted = fault_.cause != FaultRecord::Cause::none ? running_at_end_ : kNoThread;
  // Children before their parents (a parent's locals outlive its children's, as they would
  // have had the children finished): the highest id first.
  for (int t = n_threads_ - 1; t >= 0; --t) {
    ThreadState& s = threads_[t];
    // Finished: its fiber waits for its next body. (Known gap, os-threads substrate: a thread
    // whose body is over but which is parked in an hc operation inside one of its thread_local
    // destructors is skipped too; its OS thread then stays blocked for the rest of the process.
    // Native code's thread_local destructors make no operations: they run outside user code.)
    if (s.body == nullptr) continue;
    if ((unstarted_ & bit(static_cast<ThreadId>(t))) != 0) {
      // Never started (the execution ended before its first run): no frame of it exists. Its
      // body is destroyed here, on the host, as run_body would have; its OS thread, if it has
      // one, then ends without running anything (os_thread_main).
      destroy_body(s);
      if (s.os != nullptr) transfer(static_cast<ThreadId>(t));
      continue;
    }
    if (t != faulted) {
      teardown_ops_ = 0;
      // A new heartbeat per thread: the watchdog times each thread's unwinding on its own.
      heartbeat_.store(heartbeat_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      transfer(static_cast<ThreadId>(t));  // it unwinds; back here when it finished or was cut
      if (teardown_restore_mask_) {        // abandoned from a signal handler: the mask it blocked
        ::pthread_sigmask(SIG_SETMASK, &teardown_mask_, nullptr);
        teardown_restore_mask_ = false;
      }
      if (s.body == nullptr) {  // unwound: run_body (or drop_without_unwinding) destroyed it
        if (s.drop_fiber) s.fiber = nullptr;  // its frames own nothing
        s.drop_fiber = false;
        continue;
      }
      ++unwind_fallbacks_;
    }
    // Abandoned: free the body's storage but skip its destructor (it may refer to objects on
    // the abandoned stack). The slot gets a new fiber when it is next used.
    ++abandoned_threads_;
    if (s.os != nullptr) {
      reclaim_os_thread(static_cast<ThreadId>(t));
    } else {
      s.fiber = nullptr;  // its frames are left as they are; the stack is the pool's
    }
    if (s.heap_align != 0) ::operator delete(s.body, std::align_val_t(s.heap_align));
    s.body = nullptr;
    s.heap_align = 0;
  }
}

Execution::Unwinding Execution::how_to_unwind() const {
  const ThreadState& me = threads_[current_];
  // Not while this thread's own exception is in flight (a destructor that unwinding runs: a
  // second exception leaving it would terminate), nor inside hc::thread's destructor, nor
  // where a noexcept frame would stop it.
  if (me.no_unwind != 0 || std::uncaught_exceptions() != 0) return Unwinding::not_here;
  const Search search = search_unwinding();
  switch (search.verdict) {
    case FrameSays::catches_in_run_body:
      return search.cleans ? Unwinding::by_throw : Unwinding::nothing_to_run;
    case FrameSays::catches:  // the code under test's catch (...)
      return Unwinding::by_throw;
    default:
      return Unwinding::not_here;
  }
}

Step* Execution::teardown_operation() {
  // Counts throws too: code that swallows ThreadUnwind (catch (...) without a rethrow) in a
  // loop is cut the same way.
  if (++teardown_ops_ > kTeardownOperationBound) [[unlikely]]
    abandon_in_teardown(nullptr);
  switch (how_to_unwind()) {
    case Unwinding::by_throw:
      throw ThreadUnwind{};
    case Unwinding::nothing_to_run:
      // An OS thread cannot leave its frames without ending: it throws (see "Substrates").
      if (os_threads_) throw ThreadUnwind{};
      drop_without_unwinding();
    case Unwinding::not_here:
      break;
  }
  return nullptr;
}

void Execution::drop_without_unwinding() {
  // No frame between here and run_body would run code if ThreadUnwind went through it: a
  // throw (two walks of the frames) would only end in run_body, which destroys the body. Do
  // that here instead, and leave the frames: the teardown drops the fiber and the slot gets a
  // new one (create_fiber costs a fraction of a throw).
  ThreadState& me = threads_[current_];
  destroy_body(me);
  me.drop_fiber = true;
  transfer(kHost);
  std::abort();  // unreachable: a dropped fiber is never resumed
}

void Execution::abandon_in_teardown(const sigset_t* mask) noexcept {
  if (mask != nullptr) {
    teardown_mask_ = *mask;
    teardown_restore_mask_ = true;
  }
  transfer(kHost);  // the teardown loop sees the body still there and abandons the fiber
  std::abort();     // unreachable: an abandoned fiber is never resumed
}

void Execution::drop_terminating_unwind() noexcept {
  // std::terminate was called with ThreadUnwind caught by the runtime's terminate call (it
  // reached a noexcept frame): end that catch, which frees the exception, before the fiber is
  // abandoned. Anything else in flight is left as it is (it leaks with the fiber).
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type != nullptr && *type == typeid(ThreadUnwind)) abi::__cxa_end_catch();
}

void Execution::create_fiber(ThreadId t) {
  ThreadState& s = threads_[t];
  ++fibers_created_;
  const boost::context::stack_context stack = pool_->stack_for(t);
#if defined(__SANITIZE_ADDRESS__)
  // A pooled stack may still carry the poisoned redzones of an abandoned fiber's frames.
  s.stack_bottom = static_cast<char*>(stack.sp) - stack.size;
  s.stack_size = stack.size;
  __asan_unpoison_memory_region(s.stack_bottom, s.stack_size);
#endif
  s.fiber = make_context(stack.sp, stack.size, &Execution::fiber_main, this, t);
}

void Execution::fiber_main(void* self_pointer, std::uintptr_t slot) {
  HC_ASAN_FINISH_SWITCH(nullptr);
  auto* self = static_cast<Execution*>(self_pointer);
  const auto t = static_cast<ThreadId>(slot);
  for (;;) {
    self->run_body(t);
    self->finish_thread(t);  // returns with the body of the slot's next thread
  }
}

HC_HOT_INLINE void Execution::run_body(ThreadId t) {
  ThreadState& me = threads_[t];
  try {
    me.invoke(me.body);
  } catch (const ThreadUnwind&) {
    // Unwound by the teardown: nothing to report.
  } catch (const std::exception& e) {
    if (!finding_ && !park_flags_.tearing_down) {
      finding_ = make_finding(FindingKind::uncaught_exception,
                              fmt::format("uncaught exception in thread '{}': {}: {}", me.name,
                                          demangle(typeid(e).name()), e.what()),
                              nullptr);
      finding_->signature =
          fmt::format("uncaught-exception|{}|{}", me.name, demangle(typeid(e).name()));
    }
  } catch (...) {
    if (!finding_ && !park_flags_.tearing_down) {
      finding_ = make_finding(
          FindingKind::uncaught_exception,
          fmt::format("uncaught exception in thread '{}' (not derived from std::exception)",
                      me.name),
          nullptr);
      finding_->signature = fmt::format("uncaught-exception|{}|unknown", me.name);
    }
  }
  destroy_body(me);
}

HC_HOT_INLINE void Execution::finish_thread(ThreadId t) {
  ThreadState& me = threads_[t];
  ThreadId next;
  if (park_flags_.tearing_down) [[unlikely]] {
    next = kHost;  // unwound (or it finished while tearing down): back to the teardown loop
  } else {
    live_ &= ~bit(t);
    finished_ |= bit(t);
    for (ThreadMask m = join_blocked_; m != 0; m &= m - 1) {
      if (pending_[lowest(m)].arg == t) join_blocked_ &= ~bit(lowest(m));
    }
    current_ = t;
    if (!finding_ && !invariants_.empty()) finding_ = check_invariants();
    if (finding_) {
      next = kHost;
    } else if (park_flags_.first_runs != 0) [[unlikely]] {
      next = first_runs_at(t);  // finished in its first run, or first runs are due
    } else if (me.joiner != kNoThread) {
      next = me.joiner;  // completing the join observes nothing else: no decision needed
    } else {
      next = choose_next();
    }
  }
  if (os_threads_) [[unlikely]] {
    hand_off_os(next);  // its OS thread ends (finish_os_thread): it owns nothing from here
    return;
  }
  // The fiber waits here for its next body: its next first run (or run(), for main) resumes
  // it with one.
  transfer(next);
}

HC_HOT_INLINE void Execution::transfer(ThreadId to) {
  if (special_switch_) [[unlikely]] {
    transfer_special(to);
    return;
  }
  switch_fiber<&switch_context>(to);
}

void Execution::transfer_special(ThreadId to) {
  if (os_threads_) {
    transfer_os(to);
    return;
  }
  switch_fiber<&switch_context_fp>(to);  // fibers with their own floating-point control words
}

template <void (*kSwitch)(void**, void*) noexcept>
HC_HOT_INLINE void Execution::switch_fiber(ThreadId to) {
  ThreadState& from = threads_[current_];
  copy_eh(&from.eh, eh_);
  from.error_number = *errno_;
  load_thread_state(to);
  current_ = to;
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
#endif
  HC_ASAN_START_SWITCH(&fake_stack, to);
  kSwitch(&from.fiber, threads_[to].fiber);
  HC_ASAN_FINISH_SWITCH(fake_stack);
  // Resumed: whoever switched to us set current_ to us.
}

void Execution::start_clocks() noexcept {
  // Only the race detector reads clocks, and only about accesses to vars, which all happen
  // after the first var exists. A happens-before chain from one such access to another runs
  // through synchronisation after the first, so clocks kept from this point on order those
  // accesses exactly as clocks kept from the start would. Every thread's own entry starts at 1
  // (0 means "no access" in an Epoch).
  clock_width_ = n_threads_;
  for (int t = 0; t < n_threads_; ++t) {
    ThreadState& s = threads_[t];
    s.clock.clear(0, std::max<int>(s.clock_dirty, n_threads_));
    s.clock.c[t] = 1;
    s.clock_dirty = static_cast<std::uint8_t>(n_threads_);
  }
  for (std::uint32_t i = 0; i < n_objects_; ++i)
    objects_[i].clock.clear();
}

HC_HOT_INLINE ThreadMask Execution::enabled_threads() const noexcept {
  ThreadMask enabled = live_ & ~waiting_;
  for (ThreadMask waiting = live_ & waiting_ & ~join_blocked_; waiting != 0;
       waiting &= waiting - 1) {
    const ThreadId t = lowest(waiting);
    const Operation& op = pending_[t];
    bool on = true;
    switch (op.wait) {
      case WaitFor::nothing:
        break;
      case WaitFor::mutex_free:
        on = objects_[op.object].owner == kNoThread;
        break;
      case WaitFor::event_set:
        on = objects_[op.object].signalled;
        break;
      case WaitFor::cv_notified:
        on = threads_[t].notified && objects_[op.arg].owner == kNoThread;
        break;
      case WaitFor::thread_finished:
        on = (finished_ & bit(static_cast<ThreadId>(op.arg))) != 0;
        break;
    }
    if (on) enabled |= bit(t);
  }
  return enabled;
}

HC_HOT_INLINE ThreadId Execution::choose_next() {
  ThreadMask enabled = enabled_threads();
  if (enabled == 0) {
    if (deadlock_.at_decision(enabled, live_) && !finding_) finding_ = deadlock_.finding(*this);
    return kHost;
  }
  // Fairness for spin-waits: a thread that yielded waits until another thread writes shared
  // state, unless every enabled thread has yielded.
  bool all_yielded = false;
  if ((yielded_ | spurious_woken_) != 0) {
    for (std::size_t i = yield_scan_from_; i < trace_.size(); ++i) {
      if (trace_[i].access == Access::read) continue;
      yielded_ &= bit(trace_[i].thread);
      spurious_woken_ &= bit(trace_[i].thread);
    }
    if (const ThreadMask others = enabled & ~yielded_; others != 0) {
      enabled = others;
    } else {
      all_yielded = true;
    }
  }
  if (livelock_.at_decision(all_yielded)) [[unlikely]] {
    // Every runnable thread yielded and nobody writes: none can ever make progress.
    if (!finding_) finding_ = livelock_.finding(*this, enabled);
    return kHost;
  }
  yield_scan_from_ = trace_.size();
  const ThreadId cur = current_;
  // cur is a thread or kHost (32): the 64-bit shift reads 0 for the host.
  static_assert(kHost < 64);
  const bool cur_enabled = ((std::uint64_t{enabled} >> cur) & 1u) != 0;
  ThreadId next;
  if ((enabled & (enabled - 1)) == 0) {
    next = lowest(enabled);
  } else {
    Decision& d = decision_;
    d.enabled = enabled;
    d.current = cur;
    d.current_enabled = cur_enabled;
    d.step = static_cast<std::uint32_t>(trace_.size());
    d.live = live_;
    const std::optional<ThreadId> picked = strategy_->pick_thread(d);
    // One test for the three ways a pick ends the execution (refuse_pick tells them apart):
    // the strategy pruned, diverged, or picked a thread that is not enabled (a thread id of
    // 32 or more shifts the 64-bit mask to 0, or past it: picked_ok() bounds it first).
    next = picked.value_or(kHost);
    if (!picked_ok(picked.has_value(), next, enabled)) [[unlikely]]
      return refuse_pick(picked.has_value(), next, enabled);
    const bool preempted = cur_enabled && next != cur;
    preemption_count_ += preempted;
    choices_.push_back(ChoiceEntry{
        next, static_cast<std::uint32_t>(trace_.size()) | (preempted ? kPreempted : 0u)});
  }
  return next;
}

ThreadId Execution::refuse_pick(bool picked, ThreadId next, ThreadMask enabled) {
  if (!picked) {
    pruned_ = true;
    return kHost;
  }
  if (!divergence_.empty()) {
    finding_ = make_finding(FindingKind::nondeterminism, divergence_message(), nullptr);
    finding_->signature = "nondeterminism|divergence";
    return kHost;
  }
  finding_ = make_finding(
      FindingKind::internal_error,
      fmt::format("handlecheck internal error: strategy '{}' picked thread {}, which is not "
                  "enabled (enabled mask {:#x})",
                  strategy_->name(), static_cast<int>(next), enabled),
      nullptr);
  finding_->signature = "internal-error|bad-pick";
  return kHost;
}

HC_HOT_INLINE Operation& Execution::announce(OpKind kind, Access access, WaitFor wait,
                                             ObjectId object, const char* label,
                                             const std::source_location& where,
                                             std::memory_order order) noexcept {
  static thread_local Operation scratch;  // only while tearing down, when nothing parks
  Operation* target = &scratch;
  if (current_ < kMaxThreads) [[likely]] {
    target = &pending_[current_];
    const ThreadMask me = bit(current_);
    waiting_ = wait == WaitFor::nothing ? waiting_ & ~me : waiting_ | me;
  }
  Operation& op = *target;
  op.kind = kind;
  op.access = access;
  op.wait = wait;
  op.memory_order = static_cast<std::uint8_t>(order);
  op.object = object;
  op.arg = 0;
  op.label = label;
  op.where = where;
  op.extra = nullptr;
  op.extra_count = 0;
  return op;
}

void Execution::fail_operation_in_invariant(const Operation& op) {
  park_flags_.in_invariant = false;
  fail(make_finding(FindingKind::check_failure,
                    fmt::format("an invariant performed an operation ({} at {}); invariants "
                                "must only read state, with peek()",
                                op_kind_name(op.kind), site(op.where)),
                    &op.where, {.steps = {}, .objects = {op.object}}));
}

HC_HOT_INLINE Step* Execution::park(bool touches_more) {
  bool first_runs = false;
  if (park_flags_.any()) [[unlikely]] {
    if (park_flags_.tearing_down) return teardown_operation();
    if (park_flags_.in_invariant) fail_operation_in_invariant(pending_[current_]);
    if (park_flags_.invariants) check_invariants_or_fail();
    first_runs = park_flags_.first_runs != 0;
  }
  const ThreadId me = current_;
  const Operation& op = pending_[me];
  ThreadId next;
  if (first_runs) [[unlikely]] {
    next = first_runs_at(me);
  } else {
    next = choose_next();
  }
  if (next != me) {
    transfer(next);  // kHost: the execution is over; resumed only by the teardown
    if (park_flags_.tearing_down) [[unlikely]]
      return teardown_operation();
  }
  return begin_step(me, op, touches_more);
}

ThreadId Execution::first_runs_at(ThreadId t) {
  ThreadState& s = threads_[t];
  if (s.first_run_decider != kNoThread) {
    // Its first run ended (it parked before its first operation, or finished): the next one's
    // begins, or the last decides.
    const ThreadId decider = std::exchange(s.first_run_decider, kNoThread);
    --park_flags_.first_runs;
    return first_run_next(decider);
  }
  return first_run_next(t);  // first runs are due before t's decision, if any is unstarted
}

ThreadId Execution::first_run_next(ThreadId decider) {
  if (unstarted_ == 0) return decide_for(decider);
  const ThreadId t = lowest(unstarted_);  // spawn order: ids grow
  unstarted_ &= ~bit(t);
  threads_[t].first_run_decider = decider;
  return t;
}

ThreadId Execution::decide_for(ThreadId decider) {
  if (finding_) return kHost;
  if (threads_[decider].first_runs_return) {
    threads_[decider].first_runs_return = false;
    return decider;
  }
  if ((live_ & bit(decider)) == 0) {  // it finished: as finish_thread goes on
    const ThreadId joiner = threads_[decider].joiner;
    if (joiner != kNoThread) return joiner;
  } else {
    const Operation& op = pending_[decider];
    if (op.kind == OpKind::thread_join && (finished_ & bit(static_cast<ThreadId>(op.arg))) != 0) {
      join_done_by_first_runs_ = true;  // as if the joinee had finished at its spawn
      return decider;
    }
  }
  // The decision is the decider's: made as the current thread (the strategy's Decision, a
  // preemption, a finding's thread), while the last first run's fiber is the one running.
  const ThreadId running = current_;
  current_ = decider;
  const ThreadId next = choose_next();
  current_ = running;
  return next;
}

void Execution::run_first_runs(ThreadId me) {
  threads_[me].first_runs_return = true;
  transfer(first_run_next(me));  // back when the last first run ended (decide_for)
}

HC_HOT_INLINE Step* Execution::begin_step(ThreadId t, const Operation& op, bool touches_more) {
  if (step_bound_.on_step(trace_.size())) [[unlikely]]
    fail_step_bound();
  heartbeat_.store(heartbeat_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // The thread's own clock entry counts its steps only while clocks are kept (start_clocks
  // sets it when they start).
  if (clock_width_ != 0) ++threads_[t].clock.c[t];
  step_thread_changes_ += t != last_step_thread_;
  last_step_thread_ = t;
  // One initialisation (the step is 40 bytes): `value` says whom a join joins (has_value stays
  // false).
  Step& s = trace_.push_back(Step{.thread = t,
                                  .kind = op.kind,
                                  .access = op.access,
                                  .object = op.object,
                                  .label = op.label,
                                  .where = op.where,
                                  .value = op.kind == OpKind::thread_join ? op.arg : 0});
  if (touches_more && op.extra_count != 0) [[unlikely]] {
    s.first_extra = static_cast<std::uint32_t>(touches_.size());
    s.extra_count = op.extra_count;
    for (std::uint8_t k = 0; k < op.extra_count; ++k)
      touches_.push_back(op.extra[k]);
  }
  return &s;
}

void Execution::fail_step_bound() {
  fail(step_bound_.finding(*this));
}

void Execution::check_invariants_or_fail() {
  if (auto f = check_invariants()) fail(std::move(*f));
}

void Execution::end_with(Finding finding) {
  if (!finding_) finding_ = std::move(finding);
  running_at_end_ = current_;
  transfer(kHost);
  teardown_operation();  // resumed only by the teardown: unwinds from here, or returns
}

void Execution::fail(Finding finding) {
  end_with(std::move(finding));
  abandon_in_teardown(nullptr);  // may not unwind here, and cannot return
}

void Execution::abandon_for_fault() noexcept {
  running_at_end_ = current_;
  transfer(kHost);
  std::abort();  // unreachable: the teardown never resumes a thread a fault stopped
}

Finding Execution::fault_finding() {
  const ThreadId t = running_at_end_;
  const std::string& name = threads_[t].name;
  const Step* last = nullptr;
  for (std::size_t i = trace_.size(); i-- > 0;) {
    if (trace_[i].thread == t) {
      last = &trace_[i];
      break;
    }
  }
  const std::string after =
      last == nullptr ? std::string("before its first operation")
                      : fmt::format("after its last operation ({}{}{} at {}, step {})",
                                    op_kind_name(last->kind), *last->label != '\0' ? " " : "",
                                    last->label, site(last->where), last - trace_.begin() + 1);
  const std::string last_site = last == nullptr ? std::string("start") : site(last->where);
  Finding f;
  if (last != nullptr) {
    // The message names the thread's last operation and its step.
    f.related_steps.push_back(static_cast<std::uint32_t>(last - trace_.begin() + 1));
    if (const std::string object = object_label(last->object); !object.empty())
      f.objects.push_back(object);
  }
  std::string signature;
  switch (fault_.cause) {
    case FaultRecord::Cause::signal:
      if (fault_.stack_overflow) {
        f.kind = FindingKind::stack_overflow;
        f.message = fmt::format(
            "stack overflow in thread '{}' (its stack is {} KiB), {}: the thread recurses "
            "without end, or needs a bigger stack: raise it with --stack-size "
            "(ExploreOptions::stack_size)",
            name, pool_->stack_size() / 1024, after);
        signature = fmt::format("stack-overflow|{}|{}", name, last_site);
      } else {
        std::string what;
        switch (fault_.signal) {
          case SIGSEGV:
            what = fault_.address < 4096 ? "a null pointer was dereferenced"
                                         : "an access to memory it may not touch";
            break;
          case SIGBUS:
            what = "a bus error (a misaligned access or a mapping past the end of a file)";
            break;
          case SIGFPE:
            what =
                fault_.code == FPE_INTDIV ? "an integer division by zero" : "an arithmetic error";
            break;
          case SIGILL:
            what = "an illegal instruction (__builtin_trap, or a corrupted return address)";
            break;
          case SIGABRT:
            what = "abort() was called: a failed assert(), or a library that gave up";
            break;
          default:
            what = "a fatal signal";
            break;
        }
        f.kind = FindingKind::crash;
        f.message = fmt::format("thread '{}' crashed with {}, {}: {}", name,
                                signal_name(fault_.signal), after, what);
        signature = fmt::format("crash|{}|{}|{}", name, signal_name(fault_.signal), last_site);
      }
      break;
    case FaultRecord::Cause::terminate:
      f.kind = FindingKind::crash;
      f.message = fmt::format("thread '{}' called std::terminate, {}: {}", name, after,
                              fault_.terminate_reason);
      signature = fmt::format("crash|{}|terminate|{}", name, last_site);
      break;
    default:
      f.kind = FindingKind::no_progress;
      f.message = fmt::format(
          "thread '{}' ran for {:g} s without reaching a scheduling point, {}. Either it loops "
          "without an hc operation (spinning on a plain variable: make it an hc::atomic, or "
          "call hc::this_thread::yield() in the loop), or it is blocked in a call handlecheck "
          "does not control (a std::mutex another simulated thread holds, a real system call "
          "or std::thread): use hc:: primitives in the code under test. If it merely computes "
          "for long, raise the bound with --watchdog",
          name, watchdog_seconds_, after);
      signature = fmt::format("no-progress|{}|{}", name, last_site);
      break;
  }
  f.thread = t;
  f.thread_name = name;
  f.step = static_cast<std::uint32_t>(trace_.size());
  add_context_objects(f, t);
  if (last != nullptr && last->where.line() != 0) {
    f.file = display_path(last->where.file_name());
    f.line = last->where.line();
  }
  f.signature = std::move(signature);
  return f;
}

void Execution::prune() {
  pruned_ = true;
  transfer(kHost);
  teardown_operation();          // resumed only by the teardown: unwinds from here
  abandon_in_teardown(nullptr);  // or, where it may not, cannot return
}

std::optional<Finding> Execution::check_invariants() {
  struct Guard {
    bool& flag;
    explicit Guard(bool& f) : flag(f) { flag = true; }
    ~Guard() { flag = false; }
  } guard(park_flags_.in_invariant);
  for (const Invariant& inv : invariants_) {
    if (!inv.fn(inv.context)) {
      std::string after = "before the first step";
      FindingRefs refs;
      if (!trace_.empty()) {
        refs.steps = {static_cast<std::uint32_t>(trace_.size())};
        const Step& s = trace_.back();
        after = fmt::format("after step {} ({} by thread '{}' at {})", trace_.size(),
                            op_kind_name(s.kind), thread_name(s.thread), site(s.where));
      }
      Finding f = make_finding(FindingKind::check_failure,
                               fmt::format("invariant '{}' does not hold {}", inv.label, after),
                               nullptr, refs);
      f.signature = fmt::format("check-failure|invariant|{}", inv.label);
      return f;
    }
  }
  return std::nullopt;
}

// --- objects --------------------------------------------------------------------------------

ObjectId Execution::register_object(ObjectKind kind, std::string_view name,
                                    const std::source_location& declared) {
  // dpor packs an object id into 30 bits, whose top three values name no object
  // (strategy/dependence.hpp, Footprint).
  if (n_objects_ >= Footprint::kMaxObjects) [[unlikely]] {
    throw usage_error(fmt::format("too many objects in one execution: at most {} hc objects",
                                  Footprint::kMaxObjects));
  }
  const ObjectId id = n_objects_++;
  if (id == objects_.size()) objects_.emplace_back();
  ObjectState& o = objects_[id];
  o.kind = kind;
  // Usually the name the slot had (an execution registers the same objects as the last).
  if (!same_name(o.name, name)) o.name.assign(name);
  o.declared = declared;
  if (clock_width_ != 0) o.clock.clear();
  o.owner = kNoThread;
  o.manual_reset = false;
  o.signalled = false;
  o.waiters = 0;
  o.between_steps = false;
  if (kind == ObjectKind::var) {
    const ThreadId me = current_ < kMaxThreads ? current_ : 0;
    if (clock_width_ == 0) start_clocks();
    // Construction is a write by the constructing thread.
    o.var_index =
        race_.on_register(me, threads_[me].clock, static_cast<std::uint32_t>(trace_.size()));
  }
  return id;
}

ObjectId Execution::register_event(std::string_view name, bool manual_reset, bool initially_set) {
  const ObjectId id = register_object(ObjectKind::event, name);
  objects_[id].manual_reset = manual_reset;
  objects_[id].signalled = initially_set;
  return id;
}

namespace {

/// Whether an object's declaring site says where the user declared it: not a standard
/// library header (make_unique, a vector's construct_at: every object made there has one site).
bool user_site(const std::source_location& where) {
  const std::string_view file = where.file_name();
  return where.line() != 0 && !file.empty() &&
         file.find("/include/c++/") == std::string_view::npos && !file.starts_with("/usr/include/");
}

bool same_site(const std::source_location& a, const std::source_location& b) {
  return a.line() == b.line() && std::string_view(a.file_name()) == b.file_name();
}

}  // namespace

std::string Execution::object_label(ObjectId id) const {
  if (id == kNoObject || id >= n_objects_) return {};
  const ObjectState& o = objects_[id];
  if (o.name.empty() && user_site(o.declared)) {
    // Named after its declaring site (file name and line): "atomic at refcount.hpp:66". The
    // data members of one class share their constructor's site, and one declaration may make
    // several objects: the second object of a site and later ones add their rank there
    // (" #2"), counted over the objects created before them, so a label never changes once
    // printed (messages made mid-execution and the trace agree).
    std::uint32_t rank = 1;
    for (ObjectId other = 0; other < id; ++other) {
      if (objects_[other].kind == o.kind && objects_[other].name.empty() &&
          same_site(objects_[other].declared, o.declared))
        ++rank;
    }
    std::string_view file = o.declared.file_name();
    if (const std::size_t slash = file.find_last_of('/'); slash != std::string_view::npos)
      file.remove_prefix(slash + 1);
    return rank == 1 ? fmt::format("{} at {}:{}", object_kind_name(o.kind), file, o.declared.line())
                     : fmt::format("{} at {}:{} #{}", object_kind_name(o.kind), file,
                                   o.declared.line(), rank);
  }
  if (o.name.empty()) return fmt::format("{} #{}", object_kind_name(o.kind), id);
  if (o.kind == ObjectKind::model) return o.name;  // a model names its objects itself
  return fmt::format("{} '{}'", object_kind_name(o.kind), o.name);
}

// --- atomics and plain memory ---------------------------------------------------------------

HC_HOT_INLINE Step* Execution::atomic_op(OpKind kind, Access access, ObjectId object,
                                         const char* label, std::memory_order order,
                                         const std::source_location& where) {
  announce(kind, access, WaitFor::nothing, object, label, where, order);
  Step* s = park();
  if (s == nullptr) return nullptr;
  if (clock_width_ != 0) [[unlikely]] {  // clocks are kept (start_clocks)
    ObjectState& o = objects_[object];
    VectorClock& clock = threads_[current_].clock;
    if (access != Access::write) clock.join(o.clock, clock_width_);
    // A compare-exchange releases only when it succeeds (atomic_release).
    if (kind == OpKind::atomic_store || kind == OpKind::atomic_rmw)
      o.clock.assign(clock, clock_width_);
  }
  return s;
}

void Execution::atomic_release(ObjectId object) noexcept {
  if (park_flags_.tearing_down) return;
  objects_[object].clock.assign(threads_[current_].clock, clock_width_);
}

HC_HOT_INLINE Step* Execution::var_op(bool write, ObjectId object,
                                      const std::source_location& where) {
  announce(write ? OpKind::var_write : OpKind::var_read, write ? Access::write : Access::read,
           WaitFor::nothing, object, write ? "write" : "read", where);
  Step* s = park();
  if (s == nullptr) return nullptr;
  const ThreadId me = current_;
  const RaceDetector::Race race =
      race_.on_access(objects_[object].var_index, write, me, threads_[me].clock,
                      static_cast<std::uint32_t>(trace_.size()), where);
  if (race) [[unlikely]]
    fail(race_.finding(*this, object, race, write, where));
  return s;
}

ObjectId Execution::register_location(const std::source_location& first_touch) {
  const ObjectId id = register_object(ObjectKind::var, {}, first_touch);
  objects_[id].between_steps = true;
  race_.forget_accesses(objects_[id].var_index);  // registering it is no access
  return id;
}

void Execution::plain_access(bool write, ObjectId object, const std::source_location& where) {
  if (park_flags_.tearing_down || current_ >= kMaxThreads || finding_) [[unlikely]]
    return;
  const ThreadId me = current_;
  VectorClock& clock = threads_[me].clock;
  // A tick of the thread's own entry: an access after a release (an unlock, a store) is not
  // covered by what other threads acquire from that release. No step ticks it here.
  ++clock.c[me];
  const RaceDetector::Race race = race_.on_access(objects_[object].var_index, write, me, clock,
                                                  static_cast<std::uint32_t>(trace_.size()), where);
  if (race) [[unlikely]]
    fail(race_.finding(*this, object, race, write, where, /*between_steps=*/true));
}

rt::HbPoint Execution::hb_point() noexcept {
  if (park_flags_.tearing_down || current_ >= kMaxThreads) [[unlikely]]
    return {};
  if (clock_width_ == 0) start_clocks();
  // A tick first: what the thread released before the point (an unlock, a store) carries the
  // entry's old value, so whoever acquired it is not after the point.
  std::uint32_t& own = threads_[current_].clock.c[current_];
  return {current_, ++own};
}

bool Execution::hb_before(rt::HbPoint point) const noexcept {
  if (point.thread == kNoThread || point.thread == current_ || current_ >= kMaxThreads) return true;
  return point.clock <= threads_[current_].clock.c[point.thread];
}

// --- mutex, condition variable, event -------------------------------------------------------

void Execution::mutex_lock(ObjectId m, const std::source_location& where) {
  announce(OpKind::mutex_lock, Access::sync, WaitFor::mutex_free, m, "lock", where);
  if (park() == nullptr) return;
  ObjectState& o = objects_[m];
  o.owner = current_;
  threads_[current_].clock.join(o.clock, clock_width_);
}

bool Execution::mutex_try_lock(ObjectId m, const std::source_location& where) {
  announce(OpKind::mutex_try_lock, Access::sync, WaitFor::nothing, m, "try_lock", where);
  Step* s = park();
  if (s == nullptr) return false;
  ObjectState& o = objects_[m];
  s->has_value = true;
  if (o.owner != kNoThread) {
    s->access = Access::read;  // a failed try_lock changes nothing
    s->value = 0;
    return false;
  }
  s->value = 1;
  o.owner = current_;
  threads_[current_].clock.join(o.clock, clock_width_);
  return true;
}

void Execution::mutex_unlock(ObjectId m, const std::source_location& where) {
  announce(OpKind::mutex_unlock, Access::sync, WaitFor::nothing, m, "unlock", where);
  if (park() == nullptr) return;
  ObjectState& o = objects_[m];
  if (o.owner != current_) {
    fail(make_finding(FindingKind::check_failure,
                      fmt::format("thread '{}' unlocks {} at {}, but {}", thread_name(current_),
                                  object_label(m), site(where),
                                  o.owner == kNoThread
                                      ? std::string("it is not locked")
                                      : fmt::format("thread '{}' holds it", thread_name(o.owner))),
                      &where, {.steps = {}, .objects = {m}}));
  }
  o.clock.assign(threads_[current_].clock, clock_width_);
  o.owner = kNoThread;
}

void Execution::cv_wait(ObjectId cv, ObjectId m, const std::source_location& where) {
  Operation& op = announce(OpKind::cv_wait, Access::sync, WaitFor::nothing, cv, "wait", where);
  op.arg = m;
  if (park() == nullptr) return;
  const ThreadId me = current_;
  if (objects_[m].owner != me) {
    fail(make_finding(FindingKind::check_failure,
                      fmt::format("thread '{}' waits on {} at {} without holding {}",
                                  thread_name(me), object_label(cv), site(where), object_label(m)),
                      &where, {.steps = {}, .objects = {cv, m}}));
  }
  objects_[m].clock.assign(threads_[me].clock, clock_width_);
  objects_[m].owner = kNoThread;
  ThreadState& self = threads_[me];
  self.notified = false;
  self.woken_by_notify = false;
  objects_[cv].waiters |= bit(me);
  // A spurious wake-up is offered unless the thread already woke spuriously since another
  // thread last wrote shared state (a second one would observe nothing new), so that
  // `while (!pred) wait()` terminates under exhaustive search.
  if (config_.spurious_wakeups && (spurious_woken_ & bit(me)) == 0 &&
      choose(2, "spurious wake-up", where) == 1) {
    self.notified = true;  // wakes without a notification: no happens-before from a notifier
    objects_[cv].waiters &= ~bit(me);
    spurious_woken_ |= bit(me);
  }
  Operation& wake =
      announce(OpKind::cv_wake, Access::sync, WaitFor::cv_notified, cv, "wake", where);
  wake.arg = m;
  if (park() == nullptr) return;
  ObjectState& mutex = objects_[m];
  mutex.owner = me;
  self.clock.join(mutex.clock, clock_width_);
  if (self.woken_by_notify) self.clock.join(objects_[cv].clock, clock_width_);
  self.notified = false;
}

void Execution::cv_notify(ObjectId cv, bool all, const std::source_location& where) {
  announce(all ? OpKind::cv_notify_all : OpKind::cv_notify_one, Access::sync, WaitFor::nothing, cv,
           all ? "notify_all" : "notify_one", where);
  if (park() == nullptr) return;
  objects_[cv].clock.join(threads_[current_].clock, clock_width_);
  ThreadMask waiters = objects_[cv].waiters;
  if (waiters == 0) return;
  if (!all) {
    const auto n = static_cast<std::uint32_t>(std::popcount(waiters));
    std::uint32_t k = n > 1 ? choose(n, "notify_one: which waiter", where) : 0;
    while (k-- > 0)
      waiters &= waiters - 1;
    waiters = bit(lowest(waiters));
  }
  for (ThreadMask w = waiters; w != 0; w &= w - 1) {
    ThreadState& t = threads_[lowest(w)];
    t.notified = true;
    t.woken_by_notify = true;
  }
  objects_[cv].waiters &= ~waiters;
}

void Execution::event_set(ObjectId e, const std::source_location& where) {
  announce(OpKind::event_set, Access::sync, WaitFor::nothing, e, "set", where);
  if (park() == nullptr) return;
  objects_[e].signalled = true;
  objects_[e].clock.join(threads_[current_].clock, clock_width_);
}

void Execution::event_reset(ObjectId e, const std::source_location& where) {
  announce(OpKind::event_reset, Access::sync, WaitFor::nothing, e, "reset", where);
  if (park() == nullptr) return;
  objects_[e].signalled = false;
}

void Execution::event_wait(ObjectId e, const std::source_location& where) {
  announce(OpKind::event_wait, Access::sync, WaitFor::event_set, e, "wait", where);
  if (park() == nullptr) return;
  ObjectState& o = objects_[e];
  threads_[current_].clock.join(o.clock, clock_width_);
  if (!o.manual_reset) o.signalled = false;
}

// --- threads --------------------------------------------------------------------------------

ThreadId Execution::spawn(std::string_view name, const rt::ThreadBody& body,
                          const std::source_location& /*where: kept for reports*/) {
  if (park_flags_.tearing_down) [[unlikely]] {
    teardown_operation();
    return kNoThread;
  }
  if (n_threads_ >= kMaxThreads) {
    throw usage_error(fmt::format(
        "too many simulated threads: an execution holds at most {}; '{}' would be one more",
        kMaxThreads, name));
  }
  const ThreadId parent = current_;
  const auto t = static_cast<ThreadId>(n_threads_++);
  ThreadState& s = threads_[t];
  // Into the slot's storage, reused from execution to execution: no allocation once it fits,
  // and no copy when the name is the one the slot had (a scenario spawns the same threads).
  char unnamed[4] = {'T'};
  if (name.empty()) {
    std::size_t n = 1;
    if (t >= 10) unnamed[n++] = static_cast<char>('0' + t / 10);
    unnamed[n++] = static_cast<char>('0' + t % 10);
    name = std::string_view(unnamed, n);
  }
  if (!same_name(s.name, name)) s.name.assign(name);
  s.start();
  if (clock_width_ != 0) {
    // The parent's entries of the threads that exist, not all 32; the entries above are zero
    // in the parent and must be in the child, whose slot may hold an earlier execution's
    // entries below clock_dirty.
    s.clock.assign(threads_[parent].clock, n_threads_);
    s.clock.clear(n_threads_, s.clock_dirty);
    s.clock_dirty = static_cast<std::uint8_t>(n_threads_);
    clock_width_ = n_threads_;
    ++threads_[parent].clock.c[parent];  // the parent's later steps are not before the child
  }
  spawns_.push_back(Spawn{t, parent, static_cast<std::uint32_t>(trace_.size())});
  if (body.size <= sizeof s.inline_body && body.align <= alignof(std::max_align_t)) {
    s.body = s.inline_body;
    s.heap_align = 0;
  } else {
    s.heap_align = std::max(body.align, alignof(std::max_align_t));
    s.body = ::operator new(body.size, std::align_val_t(s.heap_align));
  }
  body.relocate(s.body, body.source);
  s.invoke = body.invoke;
  s.destroy = body.destroy;
  if (os_threads_) {
    // Made by its parent now, as pthread_create would (it inherits the parent's signal mask
    // and floating-point environment), it waits for its first run.
    if (const int error = create_os_thread(t); error != 0) {
      destroy_body(s);
      fail(os_thread_finding(t, error));
    }
  } else {
    if (s.fiber == nullptr) create_fiber(t);  // else the slot's fiber waits for a body
    // Its parent's control words, as a new OS thread has its creator's (not what the slot's
    // last thread left).
    if (fp_env_per_thread_) set_fp_control_of(s.fiber, current_fp_control());
  }
  live_ |= bit(t);
  unstarted_ |= bit(t);  // its first run comes before the next decision (first_runs_at)
  ++park_flags_.first_runs;
  // The child took the body: returned even if the execution ends before it starts (then the
  // teardown destroys the body; pthread_create must not report a failure, after which
  // std::thread's constructor would destroy the callable a second time).
  return t;
}

void Execution::join(ThreadId t, const std::source_location& where) {
  if (park_flags_.tearing_down) [[unlikely]] {
    teardown_operation();
    return;
  }
  const ThreadId me = current_;
  if (t >= n_threads_) throw usage_error(fmt::format("hc::thread::join: no thread {}", t));
  if (t == me) {
    fail(make_finding(FindingKind::check_failure,
                      fmt::format("thread '{}' joins itself at {}", thread_name(me), site(where)),
                      &where));
  }
  if ((unstarted_ & bit(t)) != 0 && threads_[me].first_run_decider != kNoThread) [[unlikely]] {
    run_first_runs(me);
    if (park_flags_.tearing_down) {  // a first run ended the execution
      teardown_operation();
      return;
    }
  }
  Operation& op = announce(OpKind::thread_join, Access::sync, WaitFor::thread_finished, kNoObject,
                           "join", where);
  op.arg = t;
  if ((finished_ & bit(t)) != 0) {
    // Not a scheduling point: the one operation a join depends on, the exit, has happened.
    // The step belongs to the thread's scheduled step before it, whose footprint the audit
    // keeps checking.
    begin_step(me, op)->scheduled = false;  // op is pending_[me]: no decision is needed
  } else {
    threads_[t].joiner = me;
    join_blocked_ |= bit(me);
    Step* const s = park();
    if (s == nullptr) return;
    if (join_done_by_first_runs_) [[unlikely]] {
      s->scheduled = false;  // t finished in its first run: no decision came between
      join_done_by_first_runs_ = false;
    }
  }
  threads_[me].clock.join(threads_[t].clock, clock_width_);
}

void Execution::join_in_destructor(ThreadId t, const std::source_location& where) {
  // A destructor may not let ThreadUnwind out: while tearing down, the join returns (the
  // thread it joins was unwound before this one) and the code after the destructor unwinds
  // at its next operation.
  struct NoUnwind {
    std::uint8_t& depth;
    explicit NoUnwind(std::uint8_t& d) : depth(d) { ++depth; }
    ~NoUnwind() { --depth; }
    NoUnwind(const NoUnwind&) = delete;
    NoUnwind& operator=(const NoUnwind&) = delete;
  } guard(threads_[current_ < kMaxThreads ? current_ : kHost].no_unwind);
  join(t, where);
}

void Execution::yield(const std::source_location& where) {
  announce(OpKind::thread_yield, Access::read, WaitFor::nothing, kNoObject, "yield", where);
  if (park() == nullptr) return;
  yielded_ |= bit(current_);
}

std::uint32_t Execution::choose(std::uint32_t n, const char* label,
                                const std::source_location& where) {
  if (park_flags_.tearing_down) [[unlikely]] {
    teardown_operation();
    return 0;
  }
  if (n == 0) throw usage_error(fmt::format("hc::choose(0, \"{}\"): n must be at least 1", label));
  std::uint32_t value = 0;
  if (n > 1) {
    const std::optional<std::uint32_t> picked =
        strategy_->pick_value(ValueDecision{DivergenceSink(&divergence_), n, label, current_,
                                            static_cast<std::uint32_t>(trace_.size())});
    if (!picked) [[unlikely]]
      prune();
    value = picked.value_or(0);
    if (!divergence_.empty()) {
      Finding f = make_finding(FindingKind::nondeterminism, divergence_message(), &where);
      f.signature = "nondeterminism|divergence";
      fail(std::move(f));
    }
    if (value >= n) {
      Finding f = make_finding(
          FindingKind::internal_error,
          fmt::format("handlecheck internal error: strategy '{}' chose {} for choose({}, \"{}\")",
                      strategy_->name(), value, n, label),
          &where);
      f.signature = "internal-error|bad-value";
      fail(std::move(f));
    }
    choices_.push_back(
        ChoiceEntry{value, static_cast<std::uint32_t>(trace_.size()) | kValueChoice});
  }
  Operation choice;  // not a scheduling point: a trace entry only
  Operation& op = choice;
  op.kind = OpKind::choice;
  op.access = Access::read;
  op.label = label;
  op.where = where;
  // Not a scheduling point: the code after the choice still runs on behalf of the thread's
  // last scheduled step, whose footprint the audit checks (a model operation that chooses, e.g.
  // an injected fault, goes on touching what it declared).
  Step* s = begin_step(current_, op);
  s->has_value = true;
  s->value = value;
  s->scheduled = false;
  return value;
}

void Execution::check_failed(std::string message, const char* expression,
                             const std::source_location& where, const FindingRefs& refs) {
  if (park_flags_.tearing_down) [[unlikely]] {
    teardown_operation();
    return;
  }
  Finding f =
      make_finding(FindingKind::check_failure,
                   fmt::format("HC_CHECK({}) failed: {}", expression, message), &where, refs);
  f.signature = fmt::format("check-failure|{}|{}", site(where), expression);
  end_with(std::move(f));  // HC_CHECK may return while tearing down
}

std::uint32_t Execution::add_invariant(const char* label, rt::InvariantFn fn, void* context) {
  const std::uint32_t token = next_invariant_token_++;
  invariants_.push_back(Invariant{label, fn, context, token});
  park_flags_.invariants = true;
  return token;
}

void Execution::remove_invariant(std::uint32_t token) noexcept {
  std::erase_if(invariants_, [token](const Invariant& i) { return i.token == token; });
  park_flags_.invariants = !invariants_.empty();
}

void Execution::reached(const char* label) noexcept {
  if (park_flags_.tearing_down) return;  // the execution is over: unwinding reaches nothing
  for (std::size_t i = 0; i < config_.must_reach.size() && i < 64; ++i) {
    if (config_.must_reach[i] == label) reached_mask_ |= std::uint64_t{1} << i;
  }
}

// --- models ---------------------------------------------------------------------------------

Step* Execution::model_op(Access access, ObjectId object, std::span<const Touch> also,
                          const char* label, const std::source_location& where, WaitFor wait) {
  if (also.size() > static_cast<std::size_t>(kMaxExtraTouches)) [[unlikely]] {
    throw usage_error(fmt::format(
        "model operation '{}' at {} declares {} objects besides the one it announces; at most "
        "{} fit a footprint: declare kAllModelObjects for an operation that scans the model",
        label, site(where), also.size(), kMaxExtraTouches));
  }
  Operation& op = announce(OpKind::model, access, wait, object, label, where);
  op.extra = also.data();
  op.extra_count = static_cast<std::uint8_t>(also.size());
  Step* s = park(/*touches_more=*/true);
  if (s == nullptr) return nullptr;
  // Kernel calls are synchronised: acquire every object touched, release those written.
  VectorClock& clock = threads_[current_].clock;
  auto sync_with = [&](ObjectId id, Access a) {
    if (id >= n_objects_) return;  // kNoObject, kAllModelObjects
    ObjectState& o = objects_[id];
    clock.join(o.clock, clock_width_);
    if (a != Access::read) o.clock.assign(clock, clock_width_);
  };
  sync_with(object, access);
  for (const Touch& t : also)
    sync_with(t.object, t.access);
  if (wait == WaitFor::event_set && object < n_objects_ && !objects_[object].manual_reset)
    objects_[object].signalled = false;
  return s;
}

std::uint32_t Execution::scheduled_step_of(ThreadId t) const noexcept {
  // Only the audit asks (it is off the scheduling path): a backward scan of the trace.
  for (std::size_t i = trace_.size(); i-- > 0;) {
    if (trace_[i].thread == t && trace_[i].scheduled) return static_cast<std::uint32_t>(i);
  }
  return kNoStep;
}

bool Execution::footprint_allows(ObjectId object, Access access) const noexcept {
  const ThreadId me = current_;
  if (me >= kMaxThreads) return true;
  const std::uint32_t at = scheduled_step_of(me);
  if (at == kNoStep) return me == 0 && n_threads_ == 1;  // main, before any other thread exists
  // kAllModelObjects covers the model's own objects; events are named one by one (an event
  // is also waited on by steps that are not model operations).
  const bool model_object = object < n_objects_ && objects_[object].kind == ObjectKind::model;
  return realized_footprint(trace_[at], touches_).covers(object, access, model_object);
}

void Execution::audit_touch(ObjectId object, Access access, const std::source_location& where) {
  if (!config_.audit_footprints || park_flags_.tearing_down || current_ >= kMaxThreads) return;
  if (footprint_allows(object, access)) return;
  const std::uint32_t at = scheduled_step_of(current_);
  const std::string step =
      at == kNoStep
          ? fmt::format("before thread '{}' ran any operation", thread_name(current_))
          : fmt::format(
                "in step {} ({} at {}), whose footprint does not include it", at + 1,
                *trace_[at].label != '\0' ? trace_[at].label : op_kind_name(trace_[at].kind),
                site(trace_[at].where));
  Finding f = make_finding(
      FindingKind::internal_error,
      fmt::format("footprint audit: {} {} at {} {}: a model operation must declare every "
                  "object it touches (rt::model_op's footprint), or dpor would miss the "
                  "interleavings that touch reveals",
                  access == Access::read ? "read of" : "write to", object_label(object),
                  site(where), step),
      &where, {.steps = {}, .objects = {object}});
  f.signature =
      fmt::format("internal-error|footprint-audit|{}|{}", object_label(object), site(where));
  fail(std::move(f));
}

void Execution::report(FindingKind kind, std::string message, const std::source_location& where,
                       std::string signature, const FindingRefs& refs) {
  report_for(current_, kind, std::move(message), where, std::move(signature), refs);
}

void Execution::report_for(ThreadId t, FindingKind kind, std::string message,
                           const std::source_location& where, std::string signature,
                           const FindingRefs& refs) {
  if (park_flags_.tearing_down) [[unlikely]] {
    teardown_operation();
    return;
  }
  Finding f = make_finding(kind, std::move(message), &where, refs);
  if (t < n_threads_) {
    f.thread = t;
    f.thread_name = threads_[t].name;
    add_context_objects(f, t);
  }
  f.signature = fmt::format("{}|{}", finding_kind_name(kind), signature);
  end_with(std::move(f));  // rt::report may return while tearing down
}

void Execution::start_for_query(ThreadId t) noexcept {
  if (t >= kMaxThreads || (unstarted_ & bit(t)) == 0 || current_ >= kMaxThreads ||
      park_flags_.tearing_down || park_flags_.in_invariant)
    return;
  run_first_runs(current_);  // a first run that ends the execution: the caller's next
                             // operation unwinds it (this query may not throw)
}

rt::BlockedOn Execution::blocked_on(ThreadId t) const noexcept {
  rt::BlockedOn b;
  // The running thread is parked at its announced operation only while the invariants run
  // (park() checks them before choosing); otherwise its pending operation is the one it runs.
  if (t >= n_threads_ || (live_ & ~unstarted_ & bit(t)) == 0 ||
      (t == current_ && !park_flags_.in_invariant))
    return b;
  const Operation& op = pending_[t];
  switch (op.wait) {
    case WaitFor::nothing:
      return b;
    case WaitFor::mutex_free:
      if (objects_[op.object].owner == kNoThread) return b;
      b.holder = objects_[op.object].owner;
      break;
    case WaitFor::event_set:
      if (objects_[op.object].signalled) return b;
      break;
    case WaitFor::cv_notified: {
      const ThreadId owner = objects_[op.arg].owner;
      if (threads_[t].notified && owner == kNoThread) return b;
      if (threads_[t].notified) b.holder = owner;  // notified: waits to reacquire the mutex
      break;
    }
    case WaitFor::thread_finished:
      if ((finished_ & bit(static_cast<ThreadId>(op.arg))) != 0) return b;
      b.holder = static_cast<ThreadId>(op.arg);
      break;
  }
  b.wait = op.wait;
  b.object = op.object;
  b.where = op.where;
  return b;
}

void Execution::event_signal(ObjectId event, const std::source_location& where) noexcept {
  if (park_flags_.tearing_down || event >= n_objects_) return;
  audit_touch(event, Access::write, where);
  objects_[event].signalled = true;
  if (current_ < kMaxThreads) objects_[event].clock.join(threads_[current_].clock, clock_width_);
}

void Execution::note_parameter(const char* key, std::string_view value) {
  if (park_flags_.tearing_down) return;
  for (const auto& [k, v] : parameters_) {
    if (k == key) return;  // the first setting of a key stands
  }
  parameters_.emplace_back(key, value);
}

void Execution::set_wait_note(ThreadId t, std::string note, std::uint32_t step) {
  if (park_flags_.tearing_down || t >= n_threads_) return;
  threads_[t].wait_note = std::move(note);
  threads_[t].wait_note_step = threads_[t].wait_note.empty() ? 0 : step;
}

void Execution::event_clear(ObjectId event, const std::source_location& where) noexcept {
  if (park_flags_.tearing_down || event >= n_objects_) return;
  audit_touch(event, Access::write, where);
  objects_[event].signalled = false;
}

void Execution::push_finding_context(ObjectId object) {
  if (park_flags_.tearing_down || current_ >= kMaxThreads) return;
  threads_[current_].context.push_back(object);
}

void Execution::pop_finding_context() noexcept {
  if (park_flags_.tearing_down || current_ >= kMaxThreads) return;
  std::vector<ObjectId>& context = threads_[current_].context;
  if (!context.empty()) context.pop_back();
}

// --- findings -------------------------------------------------------------------------------

std::string Execution::divergence_message() const {
  // A replay file's divergence is the file's problem, said as such; a search strategy's is the
  // program's: it did something else when its own earlier decisions were followed again.
  if (divergence_.starts_with("replay diverged")) return divergence_;
  return fmt::format("uncontrolled nondeterminism: {}. {}", divergence_, kNondeterminismCauses);
}

Finding Execution::make_finding(FindingKind kind, std::string message,
                                const std::source_location* where, const FindingRefs& refs) const {
  Finding f;
  f.kind = kind;
  f.message = std::move(message);
  if (current_ < kMaxThreads) {
    f.thread = current_;
    f.thread_name = threads_[current_].name;
  }
  f.step = static_cast<std::uint32_t>(trace_.size());
  if (where != nullptr && where->line() != 0) {
    f.file = display_path(where->file_name());
    f.line = where->line();
  }
  f.signature = fmt::format("{}|{}:{}", finding_kind_name(kind), f.file, f.line);
  for (const std::uint32_t step : refs.steps) {
    if (step != 0 &&
        std::find(f.related_steps.begin(), f.related_steps.end(), step) == f.related_steps.end())
      f.related_steps.push_back(step);
  }
  // Objects by their trace label (object_label, as the trace renderer names them); a label given by
  // a model counts only when an object of this execution has it.
  for (const ObjectRef& ref : refs.objects) {
    std::string label;
    if (ref.id != kNoObject) {
      label = object_label(ref.id);
    } else if (!ref.label.empty()) {
      for (ObjectId id = 0; id < n_objects_ && label.empty(); ++id) {
        if (object_label(id) == ref.label) label = ref.label;
      }
    }
    if (!label.empty() && std::find(f.objects.begin(), f.objects.end(), label) == f.objects.end())
      f.objects.push_back(std::move(label));
  }
  if (current_ < kMaxThreads) add_context_objects(f, current_);
  return f;
}

void Execution::add_context_objects(Finding& f, ThreadId t) const {
  for (const ObjectId id : threads_[t].context) {
    std::string label = object_label(id);
    if (!label.empty() && std::find(f.objects.begin(), f.objects.end(), label) == f.objects.end())
      f.objects.push_back(std::move(label));
  }
}

}  // namespace hc::detail

// --- hc::rt: the functions instrumented primitives call -------------------------------------
// In this translation unit so that each inlines its Execution method: one call per operation.

namespace hc::rt {
namespace {

[[noreturn, gnu::noinline]] void misuse(const char* what, const std::source_location* where) {
  const std::string at =
      where != nullptr && where->line() != 0 ? fmt::format(" at {}", detail::site(*where)) : "";
  if (detail::g_live.load(std::memory_order_relaxed) > 0) {  // an exploration is under way
    throw usage_error(fmt::format(
        "{} used{} from a thread handlecheck did not create (a std::thread, a thread pool or a "
        "library's callback thread inside the scenario?): handlecheck controls only the threads "
        "it creates, so this one's operations cannot be scheduled or checked. Start it with "
        "hc::thread instead",
        what, at));
  }
  throw usage_error(fmt::format(
      "{} used{} outside an execution (in main(), a static initializer, or after the scenario "
      "returned?): create and use instrumented objects only inside a scenario body "
      "(HC_SCENARIO, hc::explore) or a thread it spawns with hc::thread",
      what, at));
}

HC_HOT_INLINE detail::Execution& require(const char* what,
                                         const std::source_location* where = nullptr) {
  detail::Execution* e = detail::Execution::current();
  if (e == nullptr) [[unlikely]]
    misuse(what, where);
  return *e;
}

}  // namespace

bool in_execution() noexcept {
  return detail::Execution::current() != nullptr;
}

ThreadId current_thread() noexcept {
  const detail::Execution* e = detail::Execution::current();
  return e != nullptr ? e->current_thread() : kNoThread;
}

std::uint32_t& model_last_error() {
  return require("hc::models' GetLastError / errno").model_last_error();
}

ObjectId register_object(ObjectKind kind, std::string_view name,
                         const std::source_location& declared) {
  return require("an hc:: object").register_object(kind, name, declared);
}

ObjectId register_event(std::string_view name, bool manual_reset, bool initially_set) {
  return require("hc::event").register_event(name, manual_reset, initially_set);
}

Step* atomic_op(OpKind kind, Access access, ObjectId object, const char* label,
                std::memory_order order, const std::source_location& where) {
  return require("hc::atomic", &where).atomic_op(kind, access, object, label, order, where);
}

void atomic_release(ObjectId object) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->atomic_release(object);
}

Step* var_op(bool write, ObjectId object, const std::source_location& where) {
  return require("hc::var", &where).var_op(write, object, where);
}

ObjectId register_location(const std::source_location& first_touch) {
  return require("a native location", &first_touch).register_location(first_touch);
}

void plain_access(bool write, ObjectId location, const std::source_location& where) {
  if (detail::Execution* e = detail::Execution::current()) e->plain_access(write, location, where);
}

void set_execution_start_hook(ExecutionStartHook hook) noexcept {
  detail::execution_start_hook.store(hook, std::memory_order_relaxed);
}

void** layer_state(int slot) noexcept {
  detail::Execution* e = detail::Execution::current();
  return e != nullptr && slot >= 0 && slot < kLayerSlots ? e->layer_state(slot) : nullptr;
}

void set_layer_state_destructor(int slot, void (*destroy)(void*) noexcept) noexcept {
  if (slot >= 0 && slot < kLayerSlots)
    detail::layer_destructors[slot].store(destroy, std::memory_order_relaxed);
}

HbPoint hb_point() noexcept {
  detail::Execution* e = detail::Execution::current();
  return e != nullptr ? e->hb_point() : HbPoint{};
}

bool hb_before(HbPoint point) noexcept {
  const detail::Execution* e = detail::Execution::current();
  return e == nullptr || e->hb_before(point);
}

void mutex_lock(ObjectId mutex, const std::source_location& where) {
  require("hc::mutex", &where).mutex_lock(mutex, where);
}
bool mutex_try_lock(ObjectId mutex, const std::source_location& where) {
  return require("hc::mutex", &where).mutex_try_lock(mutex, where);
}
void mutex_unlock(ObjectId mutex, const std::source_location& where) {
  require("hc::mutex", &where).mutex_unlock(mutex, where);
}

void cv_wait(ObjectId cv, ObjectId mutex, const std::source_location& where) {
  require("hc::condition_variable", &where).cv_wait(cv, mutex, where);
}
void cv_notify(ObjectId cv, bool all, const std::source_location& where) {
  require("hc::condition_variable", &where).cv_notify(cv, all, where);
}

void event_set(ObjectId event, const std::source_location& where) {
  require("hc::event", &where).event_set(event, where);
}
void event_reset(ObjectId event, const std::source_location& where) {
  require("hc::event", &where).event_reset(event, where);
}
void event_wait(ObjectId event, const std::source_location& where) {
  require("hc::event", &where).event_wait(event, where);
}

ThreadId spawn(std::string_view name, const ThreadBody& body, const std::source_location& where) {
  return require("hc::thread", &where).spawn(name, body, where);
}
void join(ThreadId thread, const std::source_location& where) {
  require("hc::thread::join", &where).join(thread, where);
}
void join_in_destructor(ThreadId thread, const std::source_location& where) {
  require("hc::thread::~thread", &where).join_in_destructor(thread, where);
}
void yield(const std::source_location& where) {
  require("hc::this_thread::yield", &where).yield(where);
}

std::uint32_t choose(std::uint32_t n, const char* label, const std::source_location& where) {
  return require("hc::choose", &where).choose(n, label, where);
}

void check_failed(std::string message, const char* expression, const std::source_location& where,
                  FindingRefs refs) {
  require("HC_CHECK", &where).check_failed(std::move(message), expression, where, refs);
}

std::uint32_t add_invariant(const char* label, InvariantFn fn, void* context) {
  return require("hc::invariant").add_invariant(label, fn, context);
}
void remove_invariant(std::uint32_t token) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->remove_invariant(token);
}

Step* model_op(Access access, ObjectId object, const char* label, const std::source_location& where,
               WaitFor wait) {
  static constexpr Touch undeclared[] = {{kUndeclaredFootprint, Access::read_write}};
  return require("a model operation", &where)
      .model_op(access, object, undeclared, label, where, wait);
}

Step* model_op(Access access, ObjectId object, std::span<const Touch> also, const char* label,
               const std::source_location& where, WaitFor wait) {
  return require("a model operation", &where).model_op(access, object, also, label, where, wait);
}

void audit_touch(ObjectId object, Access access, const std::source_location& where) {
  if (detail::Execution* e = detail::Execution::current()) e->audit_touch(object, access, where);
}

void report(FindingKind kind, std::string message, const std::source_location& where,
            std::string signature, FindingRefs refs) {
  require("a model finding", &where)
      .report(kind, std::move(message), where, std::move(signature), refs);
}

std::string_view thread_name(ThreadId thread) {
  return require("hc::rt::thread_name").thread_name_view(thread);
}

void report_for(ThreadId thread, FindingKind kind, std::string message,
                const std::source_location& where, std::string signature, FindingRefs refs) {
  require("a model finding", &where)
      .report_for(thread, kind, std::move(message), where, std::move(signature), refs);
}

BlockedOn blocked_on(ThreadId thread) noexcept {
  detail::Execution* e = detail::Execution::current();
  if (e == nullptr) return BlockedOn{};
  e->start_for_query(thread);
  return e->blocked_on(thread);
}

std::string object_label(ObjectId object) {
  return require("hc::rt::object_label").object_label(object);
}

std::uint32_t current_step() noexcept {
  const detail::Execution* e = detail::Execution::current();
  return e != nullptr ? e->step_count() : 0;
}

void event_signal(ObjectId event, const std::source_location& where) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->event_signal(event, where);
}

void event_clear(ObjectId event, const std::source_location& where) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->event_clear(event, where);
}

bool tearing_down() noexcept {
  const detail::Execution* e = detail::Execution::current();
  return e != nullptr && e->tearing_down();
}

void note_parameter(const char* key, std::string_view value) {
  if (detail::Execution* e = detail::Execution::current()) e->note_parameter(key, value);
}

void set_wait_note(ThreadId thread, std::string note, std::uint32_t step) {
  if (detail::Execution* e = detail::Execution::current())
    e->set_wait_note(thread, std::move(note), step);
}

void push_finding_context(ObjectId object) {
  if (detail::Execution* e = detail::Execution::current()) e->push_finding_context(object);
}

void pop_finding_context() noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->pop_finding_context();
}

void reached(const char* label) noexcept {
  if (detail::Execution* e = detail::Execution::current()) e->reached(label);
}

}  // namespace hc::rt

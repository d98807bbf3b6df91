// native_state.hpp — what handlecheck::native keeps while unmodified C++ code runs under the
// engine: the re-entry guard, the objects found by address, and call sites from return
// addresses. Internal to native/src; the public side is hc/native.hpp.
//
// The re-entry guard. The engine and the explorer use std::mutex and std::thread themselves, and
// the interposers (interpose.cpp) see those calls too. A call is the user's only while user code
// runs on a simulated thread: `t_user` (one per OS thread; the fibers of one execution share it,
// one runs at a time) is true exactly then. run_test() and a simulated thread's start set it;
// every hook and interposer that calls into the engine clears it for the length of the call
// (EngineScope) and sets it again when control returns to user code — also when the engine
// unwinds the thread (teardown), so destructors run as user code. A fault leaves it set on the
// OS thread's own context, so user() also asks the engine whether a simulated thread runs.
//
// Objects by address. Atomics, mutexes and condition variables get an engine object on their
// first touch in an execution (ObjectIds in first-touch order, deterministic), plain memory a
// location (rt::register_location) per 8-byte granule. Both maps are per OS thread (a worker of
// --jobs runs its own executions) and reset when an execution starts (run_test). free() forgets
// the range it frees: the allocator orders a free before the next malloc of the same memory,
// which the engine cannot see.
//
// Hidden synchronisation (sync.cpp) keys more than one engine object on one address: a futex word
// is an atomic of the code under test and also has a lock and a wait queue of ours; a
// static-initialisation guard is read by the compiler's inline fast path as an atomic. Those get
// a Role, kept in the key's top byte (no user-space address has it set).
//
// Statics reset between executions. A function-local static or a global std::once_flag is
// initialised once per process, but each execution re-runs the test body from the start: the
// guards and once controls in the executable's static storage that an execution set are zeroed
// when the next one starts (reset()), after the destructors that the execution registered with
// __cxa_atexit (a static's) have run, latest first. Replays and schedules then do not depend on
// which execution came first.
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <source_location>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc::native::detail {

extern thread_local bool t_user;

/// Whether the caller is user code on a simulated thread (see "The re-entry guard").
inline bool user() noexcept {
  return t_user && rt::current_thread() < kMaxThreads;
}

/// A range of code addresses, [begin, end).
struct CodeRange {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  bool contains(const void* pc) const noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(pc);
    return at >= begin && at < end;
  }
};
/// The unwinder's code (libgcc_s.so), found when the library loads; empty when the unwinder is
/// linked into the executable (-static-libgcc).
extern const CodeRange g_unwinder;

/// Whether an interposer called from `pc` (its return address, HC_PC) serves user code: user()
/// and not called by the unwinder. The unwinder guards its own tables with pthread_once and
/// pthread_mutex_lock, called from whatever frame throws or walks the stack: the code under
/// test's throw, also the engine's own stack walks while the teardown decides how to unwind a
/// thread (which run with t_user set, on the user's frames). Those are no synchronisation of the
/// code under test, and as engine operations they would reach the engine from inside the
/// unwinder: a scheduling point in the middle of a throw, or, in a teardown, ThreadUnwind thrown
/// through the unwinder's own frames (which corrupted the stack and heap: a spin lock of
/// symbolize.cpp left held, "free(): invalid pointer").
inline bool user_call(const void* pc) noexcept {
  return user() && !g_unwinder.contains(pc);
}

/// Clears t_user for the length of a call into the engine; user code resumes when it ends.
struct EngineScope {
  EngineScope() noexcept { t_user = false; }
  ~EngineScope() { t_user = true; }
  EngineScope(const EngineScope&) = delete;
  EngineScope& operator=(const EngineScope&) = delete;
};

/// Sets t_user for the length of user code: a native test's body, a simulated thread's start
/// routine. Cleared when it ends (back to the engine), also when it ends by unwinding.
struct UserScope {
  UserScope() noexcept { t_user = true; }
  ~UserScope() { t_user = false; }
  UserScope(const UserScope&) = delete;
  UserScope& operator=(const UserScope&) = delete;
};

/// The objects of the current execution found by address (per OS thread).
struct AddressMaps {
  struct Entry {
    ObjectId id;
    ObjectKind kind;
  };
  struct Recursion {
    ThreadId owner = kNoThread;
    std::uint32_t depth = 0;
  };
  std::map<std::uintptr_t, Entry> sync;  // atomics, mutexes, cvs (ordered: free() erases ranges)
  std::unordered_map<std::uintptr_t, ObjectId> locations;  // plain memory, per 8-byte granule
  std::map<std::uintptr_t, Recursion> recursive;           // recursive mutexes held
  std::unordered_map<ThreadId, void*> results;             // pthread_join's value, by thread
  std::map<std::uintptr_t, std::uint32_t> futex_waiters;   // simulated threads in FUTEX_WAIT
  /// Guards (8 bytes) and once controls (4) in static storage this execution set (sync.cpp).
  std::vector<std::pair<void*, std::size_t>> statics;
  /// What this execution added to the waiter counts of libstdc++'s futex waiter pool, by address
  /// (note_waiter_count).
  std::map<std::uintptr_t, long> waiter_counts;  // NOLINT(google-runtime-int)
  /// __cxa_atexit registrations of user code (a function-local static's destructor).
  std::vector<std::pair<void (*)(void*), void*>> exit_handlers;
  bool in_free = false;  // forgetting or resetting: the frees of our own nodes look nothing up

  /// Runs exit_handlers (latest first), zeroes statics, forgets every object.
  void reset();
  /// Forgets every object in [begin, end).
  void forget(std::uintptr_t begin, std::uintptr_t end);
};

/// The worker's T, kept in rt::layer_state slot `slot` (per Execution, not per OS thread: on the
/// os-threads substrate each simulated thread has an OS thread of its own). Created on first
/// use; whoever owns the slot registers what frees it (rt::set_layer_state_destructor).
template <class T>
T& worker_state(int slot) {
  void** state = rt::layer_state(slot);
  if (*state == nullptr) [[unlikely]]
    *state = new T;
  return *static_cast<T*>(*state);
}
/// The worker's T, or nullptr outside an execution or before its first use.
template <class T>
T* worker_state_if_any(int slot) noexcept {
  void** state = rt::layer_state(slot);
  return state != nullptr ? static_cast<T*>(*state) : nullptr;
}

/// The worker's maps (created by its first native execution).
AddressMaps& maps();
/// The worker's maps, or nullptr outside an execution or before its first (free() asks).
AddressMaps* maps_if_any() noexcept;

/// Which of the engine objects at one address (see "Hidden synchronisation" above).
enum class Role : std::uint8_t {
  object = 0,  // the object the code under test uses there (an atomic, a mutex, a cv)
  lock = 1,    // our lock over a futex word, a guard or a once control
  queue = 2,   // our condition variable: the threads waiting there
};
inline constexpr unsigned kRoleShift = 56;

/// The engine object for the sync object at `address`, registered on first touch and named
/// after that site, `where` (a kind mismatch registers a new one: the memory was reused).
ObjectId sync_object(const volatile void* address, ObjectKind kind,
                     const std::source_location& where, Role role = Role::object);

/// libstdc++'s atomic::wait counts the threads waiting on a futex in a process-wide pool
/// (std::__detail::__waiter_pool_base::_S_for's 16 entries; notify skips the futex when the
/// count is 0). A waiter the engine abandons (a deadlock: it cannot be unwound through the
/// noexcept syscall) never takes itself off, which would make later executions, and other tests
/// of the process, notify where a fresh process would not. The counts an execution added are
/// taken off again when the next one starts (reset()); another worker's are left alone.
void note_waiter_count(const volatile void* address, int delta);

/// Whether `address` is in the test executable's image (its static storage, its code).
bool in_main_image(const volatile void* address) noexcept;

/// glibc's (or libstdc++'s) definition of a function this library interposes.
template <class F>
F real_function(const char* name, const char* version = nullptr) {
  void* p = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  if (p == nullptr) {
    std::fprintf(stderr, "handlecheck native: the real %s not found\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(p);
}

/// real_function() once, kept in `slot`. Not a function-local static with a dynamic
/// initialiser: its guard would be __cxa_guard_acquire's, which is ours (sync.cpp) and, called
/// from user code, a scheduling point of the execution.
template <class F>
F lazy_real(std::atomic<void*>& slot, const char* name, const char* version = nullptr) {
  void* f = slot.load(std::memory_order_relaxed);
  if (f == nullptr) [[unlikely]] {
    f = reinterpret_cast<void*>(real_function<F>(name, version));
    slot.store(f, std::memory_order_relaxed);
  }
  return reinterpret_cast<F>(f);
}

/// The return address of the interposer or hook that uses it: where the user's code called.
#define HC_PC __builtin_return_address(0)

#define HC_REAL(name, ...)                                              \
  static std::atomic<void*> real_slot{nullptr};                         \
  const auto real = ::hc::native::detail::lazy_real<decltype(&::name)>( \
      real_slot, #name __VA_OPT__(, ) __VA_ARGS__)

/// The descriptor shadow (descriptors.cpp): reset_descriptors() when an execution starts
/// (closing what the last one left open), report_leaked_descriptors() when the test body
/// returns (a handle-leak finding for a descriptor still open).
void reset_descriptors();
void report_leaked_descriptors();

/// Loads the debug information of every module now (symbolize.cpp): before the first execution,
/// so that the files libdw keeps open take no descriptor number an execution would get.
void load_symbols() noexcept;

/// The call site of return address `pc` as the engine prints it: the innermost frame of the
/// inlined chain at pc that is not in a system header (std::atomic's code is in <atomic>),
/// else the first such frame of a caller, else the innermost frame. Resolved once per pc
/// (libdw) and cached; the std::source_location points at an interned, never freed record.
std::source_location site(const void* pc);

}  // namespace hc::native::detail

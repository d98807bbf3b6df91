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
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <source_location>
#include <unordered_map>

#include "hc/operation.hpp"
#include "hc/runtime.hpp"

namespace hc::native::detail {

extern thread_local bool t_user;

/// Whether the caller is user code on a simulated thread (see "The re-entry guard").
inline bool user() noexcept {
  return t_user && rt::current_thread() < kMaxThreads;
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
  bool in_free = false;  // forgetting or resetting: the frees of our own nodes look nothing up

  void reset();
  /// Forgets every object in [begin, end).
  void forget(std::uintptr_t begin, std::uintptr_t end);
};

/// This OS thread's maps (created by the first native execution on it).
AddressMaps& maps();
/// This OS thread's maps, or nullptr before its first native execution (free() asks).
AddressMaps* maps_if_any() noexcept;

/// The engine object for the sync object at `address`, registered on first touch and named
/// after that site, `where` (a kind mismatch registers a new one: the memory was reused).
ObjectId sync_object(const volatile void* address, ObjectKind kind,
                     const std::source_location& where);

/// The descriptor shadow (descriptors.cpp): reset_descriptors() when an execution starts
/// (closing what the last one left open), report_leaked_descriptors() when the test body
/// returns (a handle-leak finding for a descriptor still open).
void reset_descriptors();
void report_leaked_descriptors();

/// The call site of return address `pc` as the engine prints it: the innermost frame of the
/// inlined chain at pc that is not in a system header (std::atomic's code is in <atomic>),
/// else the first such frame of a caller, else the innermost frame. Resolved once per pc
/// (libdw) and cached; the std::source_location points at an interned, never freed record.
std::source_location site(const void* pc);

}  // namespace hc::native::detail

// interpose.cpp — POSIX threads under the engine. Defined in the test executable, these
// definitions interpose glibc's for every caller in the process, also inside libstdc++.so
// (std::thread's constructor, condition_variable::wait): the executable comes first in the
// dynamic linker's lookup, and an unversioned definition there matches libstdc++'s versioned
// references. hc_add_native_test exports them (-Wl,--export-dynamic-symbol).
//
// In user code on a simulated thread (native_state.hpp, user()) each maps to the engine on the
// object its address names: pthread_create/join/detach/self to rt::spawn and rt::join (a
// pthread_t is a thread id, not an address), the mutex family to rt::mutex_* (recursive mutexes
// count their depth here), the condition variables to rt::cv_*, sched_yield and the sleeps to
// rt::yield. Everywhere else (the engine, the explorer and its workers, code before main, and the
// unwinder's own pthread_mutex_lock/unlock: native_state.hpp, user_call()) they call glibc's
// (dlsym(RTLD_NEXT)).
//
// Timed waits (pthread_cond_timedwait/clockwait, pthread_mutex_timedlock/clocklock, sleeps):
// there is no virtual time yet, so a timed wait never blocks. A timed condition wait releases the
// mutex, yields and takes the mutex again, then reports ETIMEDOUT (the caller re-checks its
// predicate, as it must after any wake-up); a timed lock is a try_lock that yields before
// reporting ETIMEDOUT. A program whose progress needs a notification that a timeout hides shows a
// livelock or step-bound finding instead of a deadlock.
//
// free() forgets the objects and locations of the range it frees (native_state.hpp).
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "native_state.hpp"

using hc::ObjectId;
using hc::ObjectKind;
using hc::ThreadId;
namespace rt = hc::rt;
using namespace hc::native::detail;  // NOLINT(google-build-using-namespace): this file's subject

extern "C" void __libc_free(void*);  // NOLINT: glibc's allocator, under our free()

namespace {

// pthread_cond_* have two versions in glibc; libstdc++ and new code use this one.
constexpr const char* kCondVersion = "GLIBC_2.3.2";

// A simulated thread's pthread_t: its id under a tag no address has.
constexpr std::uint64_t kThreadTag = 0x4843544800000000ULL;  // "HCTH"
pthread_t fake_thread(ThreadId t) {
  return static_cast<pthread_t>(kThreadTag | t);
}
bool is_fake(pthread_t t) {
  return (static_cast<std::uint64_t>(t) & ~0xffULL) == kThreadTag;
}
ThreadId thread_of(pthread_t t) {
  return static_cast<ThreadId>(static_cast<std::uint64_t>(t) & 0xff);
}

bool recursive_kind(const pthread_mutex_t* m) {
  return (m->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE_NP;
}

struct Start {
  void* (*routine)(void*);
  void* arg;
};

void run_start(void* self) {
  const Start start = *static_cast<Start*>(self);
  const UserScope user_code;  // user code from here (native_state.hpp)
  void* result = start.routine(start.arg);
  maps().results[rt::current_thread()] = result;
}

int lock(pthread_mutex_t* m, const void* pc) {
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(m, ObjectKind::mutex, where);
  if (recursive_kind(m)) {
    AddressMaps::Recursion& r = maps().recursive[reinterpret_cast<std::uintptr_t>(m)];
    if (r.owner == rt::current_thread()) {
      ++r.depth;
      return 0;
    }
    rt::mutex_lock(id, where);
    maps().recursive[reinterpret_cast<std::uintptr_t>(m)] = {rt::current_thread(), 1};
    return 0;
  }
  rt::mutex_lock(id, where);
  return 0;
}

int try_lock(pthread_mutex_t* m, const void* pc) {
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(m, ObjectKind::mutex, where);
  if (recursive_kind(m)) {
    AddressMaps::Recursion& r = maps().recursive[reinterpret_cast<std::uintptr_t>(m)];
    if (r.owner == rt::current_thread()) {
      ++r.depth;
      return 0;
    }
    if (!rt::mutex_try_lock(id, where)) return EBUSY;
    maps().recursive[reinterpret_cast<std::uintptr_t>(m)] = {rt::current_thread(), 1};
    return 0;
  }
  return rt::mutex_try_lock(id, where) ? 0 : EBUSY;
}

/// pthread_cond_signal (all = false) and pthread_cond_broadcast in user code.
int notify(pthread_cond_t* c, bool all, const void* pc) {
  EngineScope scope;
  const std::source_location where = site(pc);
  rt::cv_notify(sync_object(c, ObjectKind::condition_variable, where), all, where);
  return 0;
}

int timed_wait(pthread_cond_t* c, pthread_mutex_t* m, const void* pc) {
  EngineScope scope;
  const std::source_location where = site(pc);
  sync_object(c, ObjectKind::condition_variable, where);
  const ObjectId mutex = sync_object(m, ObjectKind::mutex, where);
  rt::mutex_unlock(mutex, where);
  rt::yield(where);
  rt::mutex_lock(mutex, where);
  return ETIMEDOUT;
}

int timed_lock(pthread_mutex_t* m, const void* pc) {
  const int r = try_lock(m, pc);
  if (r == 0) return 0;
  EngineScope scope;
  rt::yield(site(pc));
  return ETIMEDOUT;
}

int yield_instead(const void* pc) {
  EngineScope scope;
  rt::yield(site(pc));
  return 0;
}

}  // namespace

extern "C" {

// --- threads
// ---------------------------------------------------------------------------------------

int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*routine)(void*),
                   void* arg) noexcept {
  HC_REAL(pthread_create);
  if (!user()) return real(thread, attr, routine, arg);
  EngineScope scope;
  Start start{routine, arg};
  const rt::ThreadBody body{sizeof(Start),
                            alignof(Start),
                            [](void* dst, void* src) { std::memcpy(dst, src, sizeof(Start)); },
                            &run_start,
                            [](void*) noexcept {},
                            &start};
  const ThreadId t = rt::spawn({}, body, site(HC_PC));
  if (t == hc::kNoThread) return EAGAIN;  // the execution is over: `routine` never runs
  *thread = fake_thread(t);
  return 0;
}

int pthread_join(pthread_t thread, void** result) {
  HC_REAL(pthread_join);
  if (!is_fake(thread) || !user()) return real(thread, result);
  EngineScope scope;
  const ThreadId t = thread_of(thread);
  // Cut by the teardown, the join returns instead of unwinding: std::thread::join marks its
  // thread joined only when pthread_join returns, and unwinding through a joinable std::thread
  // would call std::terminate (the thread then abandoned, its heap leaked). The caller unwinds
  // at its next operation.
  rt::join_in_destructor(t, site(HC_PC));
  if (result != nullptr) {
    const auto& results = maps().results;
    const auto it = results.find(t);
    *result = it != results.end() ? it->second : nullptr;
  }
  return 0;
}

int pthread_detach(pthread_t thread) noexcept {
  HC_REAL(pthread_detach);
  if (!is_fake(thread)) return real(thread);
  return 0;  // a detached simulated thread still runs to its end within the execution
}

pthread_t pthread_self() noexcept {
  HC_REAL(pthread_self);
  if (!user()) return real();
  return fake_thread(rt::current_thread());
}

int sched_yield() noexcept {
  HC_REAL(sched_yield);
  if (!user()) return real();
  return yield_instead(HC_PC);
}

int nanosleep(const struct timespec* duration, struct timespec* remaining) {
  HC_REAL(nanosleep);
  if (!user()) return real(duration, remaining);
  return yield_instead(HC_PC);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec* t, struct timespec* rem) {
  HC_REAL(clock_nanosleep);
  if (!user()) return real(clock, flags, t, rem);
  return yield_instead(HC_PC);
}

int usleep(useconds_t usec) {
  HC_REAL(usleep);
  if (!user()) return real(usec);
  return yield_instead(HC_PC);
}

// --- mutexes
// ---------------------------------------------------------------------------------------

int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) noexcept {
  HC_REAL(pthread_mutex_init);
  if (user())
    maps().forget(reinterpret_cast<std::uintptr_t>(m),
                  reinterpret_cast<std::uintptr_t>(m) + 1);  // a new mutex
  return real(m, attr);  // the real one too: its kind (recursive) is read from it
}

int pthread_mutex_destroy(pthread_mutex_t* m) noexcept {
  HC_REAL(pthread_mutex_destroy);
  if (!user()) return real(m);
  maps().forget(reinterpret_cast<std::uintptr_t>(m), reinterpret_cast<std::uintptr_t>(m) + 1);
  return 0;
}

int pthread_mutex_lock(pthread_mutex_t* m) noexcept {
  HC_REAL(pthread_mutex_lock);
  if (!user_call(HC_PC)) return real(m);
  return lock(m, HC_PC);
}

int pthread_mutex_trylock(pthread_mutex_t* m) noexcept {
  HC_REAL(pthread_mutex_trylock);
  if (!user()) return real(m);
  return try_lock(m, HC_PC);
}

int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) noexcept {
  HC_REAL(pthread_mutex_timedlock);
  if (!user()) return real(m, t);
  return timed_lock(m, HC_PC);
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock,
                            const struct timespec* t) noexcept {
  HC_REAL(pthread_mutex_clocklock);
  if (!user()) return real(m, clock, t);
  return timed_lock(m, HC_PC);
}

int pthread_mutex_unlock(pthread_mutex_t* m) noexcept {
  HC_REAL(pthread_mutex_unlock);
  if (!user_call(HC_PC)) return real(m);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  const ObjectId id = sync_object(m, ObjectKind::mutex, where);
  if (recursive_kind(m)) {
    AddressMaps::Recursion& r = maps().recursive[reinterpret_cast<std::uintptr_t>(m)];
    if (r.owner == rt::current_thread() && r.depth > 1) {
      --r.depth;
      return 0;
    }
    r = {};
  }
  rt::mutex_unlock(id, where);
  return 0;
}

// --- condition variables
// ---------------------------------------------------------------------------

int pthread_cond_init(pthread_cond_t* c, const pthread_condattr_t* attr) noexcept {
  HC_REAL(pthread_cond_init, kCondVersion);
  if (user())
    maps().forget(reinterpret_cast<std::uintptr_t>(c), reinterpret_cast<std::uintptr_t>(c) + 1);
  return real(c, attr);
}

int pthread_cond_destroy(pthread_cond_t* c) noexcept {
  HC_REAL(pthread_cond_destroy, kCondVersion);
  if (!user()) return real(c);
  maps().forget(reinterpret_cast<std::uintptr_t>(c), reinterpret_cast<std::uintptr_t>(c) + 1);
  return 0;
}

int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  HC_REAL(pthread_cond_wait, kCondVersion);
  if (!user()) return real(c, m);
  EngineScope scope;
  const std::source_location where = site(HC_PC);
  const ObjectId cv = sync_object(c, ObjectKind::condition_variable, where);
  rt::cv_wait(cv, sync_object(m, ObjectKind::mutex, where), where);
  return 0;
}

int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* t) {
  HC_REAL(pthread_cond_timedwait, kCondVersion);
  if (!user()) return real(c, m, t);
  return timed_wait(c, m, HC_PC);
}

int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock,
                           const struct timespec* t) {
  HC_REAL(pthread_cond_clockwait);
  if (!user()) return real(c, m, clock, t);
  return timed_wait(c, m, HC_PC);
}

int pthread_cond_signal(pthread_cond_t* c) noexcept {
  HC_REAL(pthread_cond_signal, kCondVersion);
  if (!user()) return real(c);
  return notify(c, false, HC_PC);
}

int pthread_cond_broadcast(pthread_cond_t* c) noexcept {
  HC_REAL(pthread_cond_broadcast, kCondVersion);
  if (!user()) return real(c);
  return notify(c, true, HC_PC);
}

// --- memory
// ----------------------------------------------------------------------------------------

void free(void* p) noexcept {
  if (p != nullptr && user()) {
    AddressMaps* m = maps_if_any();
    if (m != nullptr && !m->in_free) {
      m->in_free = true;
      const auto begin = reinterpret_cast<std::uintptr_t>(p);
      m->forget(begin, begin + malloc_usable_size(p));
      m->in_free = false;
    }
  }
  __libc_free(p);
}

}  // extern "C"

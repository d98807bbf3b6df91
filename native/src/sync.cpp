// sync.cpp — the hidden synchronisation and blocking calls of unmodified C++ code, under the
// engine: static-initialisation guards (__cxa_guard_*), pthread_once (and so std::call_once and
// std::promise's set-once), and futex waits made through syscall(SYS_futex) (std::atomic::wait
// and notify, std::counting_semaphore, std::latch, std::future's __atomic_futex_unsigned; and
// std::barrier, untested). Each gets a lock (rt::mutex) and a wait queue (rt::cv) of its own
// on its address (native_state.hpp, Role), so a waiting simulated thread blocks in the engine —
// a wait nobody ends is a deadlock finding — and the thread that ends it hands it a
// happens-before edge through the lock.
//
// Outside user code on a simulated thread each calls the real function. The linker exports these
// definitions (libstdc++.so refers to each), so libstdc++.so's own calls reach them too: a guard
// outside the test executable's image (a static of libstdc++.so) goes to the real guard
// functions, as does a __cxa_atexit for an object outside it; a once control outside it is
// controlled but never reset.
//
// Guards and once controls keep glibc's and libstdc++'s encoding (guard: byte 0 "done", byte 1
// "pending"; once: 1 in progress, 2 done), so a real call after an execution reads them right.
// The ones an execution set are reset when the next execution starts (native_state.hpp,
// "Statics reset between executions").
//
// Futexes: FUTEX_WAIT and FUTEX_WAIT_BITSET block until a FUTEX_WAKE or FUTEX_WAKE_BITSET on the
// same address (the bitset is ignored: any wake on the address matches), or return EAGAIN at
// once when the word no longer holds the expected value; the check and the wait are atomic with
// respect to wakes (both under the address's lock), as in the kernel. A wait with a timeout never
// blocks (there is no virtual time): it yields and reports ETIMEDOUT. Other futex operations and
// every other system call go to the real syscall().
#include <cxxabi.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <mutex>

#include "native_state.hpp"

using hc::ObjectId;
using hc::ObjectKind;
namespace rt = hc::rt;
using namespace hc::native::detail;  // NOLINT(google-build-using-namespace): this file's subject

namespace {

// The lock and the wait queue of ours at `address`.
struct Gate {
  std::source_location where;
  ObjectId lock;
  ObjectId queue;

  Gate(const volatile void* address, const void* pc)
      : where(site(pc)),
        lock(sync_object(address, ObjectKind::mutex, where, Role::lock)),
        queue(sync_object(address, ObjectKind::condition_variable, where, Role::queue)) {}
  void enter() const { rt::mutex_lock(lock, where); }
  void leave() const { rt::mutex_unlock(lock, where); }
  void wait() const { rt::cv_wait(queue, lock, where); }
  void wake_all() const { rt::cv_notify(queue, true, where); }
};

std::uint8_t read_byte(const volatile void* p, int i) {
  return __atomic_load_n(static_cast<const volatile std::uint8_t*>(p) + i, __ATOMIC_SEQ_CST);
}
void write_byte(volatile void* p, int i, std::uint8_t v) {
  __atomic_store_n(static_cast<volatile std::uint8_t*>(p) + i, v, __ATOMIC_SEQ_CST);
}

void note_static(void* address, std::size_t size) {
  AddressMaps& m = maps();
  const auto known = std::find_if(m.statics.begin(), m.statics.end(),
                                  [&](const auto& s) { return s.first == address; });
  if (known == m.statics.end()) m.statics.emplace_back(address, size);
}

// --- pthread_once ------------------------------------------------------------------------------
constexpr int kOnceInProgress = 1;  // glibc's __PTHREAD_ONCE_INPROGRESS
constexpr int kOnceDone = 2;        // glibc's __PTHREAD_ONCE_DONE

void once_finish(pthread_once_t* control, int state, const void* pc) {
  const EngineScope scope;
  const Gate gate(control, pc);
  gate.enter();
  __atomic_store_n(control, state, __ATOMIC_SEQ_CST);
  gate.wake_all();
  gate.leave();
}

// Ends an initialisation: done (release) or not (abort), and wakes the threads waiting for it.
// A release stores byte 0 through the engine: the compiler's inline fast path reads it with an
// acquire load (__tsan_atomic8_load, the guard's atomic object), so a thread that finds the
// static constructed there has a happens-before edge from its construction.
void guard_finish(volatile void* g, bool done, const void* pc) {
  const Gate gate(g, pc);
  gate.enter();
  if (done) {
    const ObjectId flag = sync_object(g, ObjectKind::atomic, gate.where);
    rt::atomic_op(hc::OpKind::atomic_store, hc::Access::write, flag, "store",
                  std::memory_order_release, gate.where);
    write_byte(g, 0, 1);
  }
  write_byte(g, 1, 0);
  gate.wake_all();
  gate.leave();
}

// --- futex -------------------------------------------------------------------------------------

long futex_wait(const volatile std::uint32_t* word, std::uint32_t expected, bool timed,
                const void* pc) {
  const EngineScope scope;
  const Gate gate(word, pc);
  gate.enter();
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) {
    gate.leave();
    errno = EAGAIN;
    return -1;
  }
  if (timed) {  // no virtual time: the timeout is over at once
    gate.leave();
    rt::yield(gate.where);
    errno = ETIMEDOUT;
    return -1;
  }
  ++maps().futex_waiters[reinterpret_cast<std::uintptr_t>(word)];
  gate.wait();
  gate.leave();
  return 0;
}

long futex_wake(const volatile std::uint32_t* word, long count, const void* pc) {
  const EngineScope scope;
  const Gate gate(word, pc);
  gate.enter();
  std::uint32_t& waiting = maps().futex_waiters[reinterpret_cast<std::uintptr_t>(word)];
  const auto woken = static_cast<std::uint32_t>(std::clamp<long>(count, 0, waiting));
  if (woken == waiting) {
    if (woken > 0) gate.wake_all();
  } else {
    for (std::uint32_t i = 0; i < woken; ++i)
      rt::cv_notify(gate.queue, false, gate.where);
  }
  waiting -= woken;
  gate.leave();
  return woken;
}

long futex(const volatile std::uint32_t* word, long op, long value, long timeout, const void* pc) {
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
      return futex_wait(word, static_cast<std::uint32_t>(value), timeout != 0, pc);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
      return futex_wake(word, value, pc);
    default:
      return -2;  // not modelled: the real call
  }
}

// The real guard functions and __cxa_atexit (lazy_real, native_state.hpp).
std::atomic<void*> g_real_guard_acquire{nullptr};
std::atomic<void*> g_real_guard_release{nullptr};
std::atomic<void*> g_real_guard_abort{nullptr};
std::atomic<void*> g_real_atexit{nullptr};

}  // namespace

// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier)
extern "C" {

// --- static-initialisation guards (guard_finish above) -----------------------------------------

int __cxxabiv1::__cxa_guard_acquire(__guard* g) {
  const auto real = lazy_real<decltype(&__cxxabiv1::__cxa_guard_acquire)>(g_real_guard_acquire,
                                                                          "__cxa_guard_acquire");
  if (!user()) return real(g);
  const EngineScope scope;
  if (!in_main_image(g)) return real(g);
  const Gate gate(g, HC_PC);
  gate.enter();
  while (read_byte(g, 1) != 0)  // another thread initialises it: wait for its release or abort
    gate.wait();
  if (read_byte(g, 0) != 0) {
    gate.leave();
    return 0;
  }
  write_byte(g, 1, 1);
  note_static(g, sizeof(*g));
  gate.leave();
  return 1;
}

void __cxxabiv1::__cxa_guard_release(__guard* g) noexcept {
  const auto real = lazy_real<decltype(&__cxxabiv1::__cxa_guard_release)>(g_real_guard_release,
                                                                          "__cxa_guard_release");
  if (!user()) return real(g);
  const EngineScope scope;
  if (!in_main_image(g)) return real(g);
  guard_finish(g, true, HC_PC);
}

void __cxxabiv1::__cxa_guard_abort(__guard* g) noexcept {
  const auto real =
      lazy_real<decltype(&__cxxabiv1::__cxa_guard_abort)>(g_real_guard_abort, "__cxa_guard_abort");
  if (!user()) return real(g);
  const EngineScope scope;
  if (!in_main_image(g)) return real(g);
  guard_finish(g, false, HC_PC);  // the initialiser threw: the next thread tries
}

// A destructor user code registers (a function-local static's, after its construction) runs when
// the next execution on this OS thread starts, before the static is reset, or when the OS thread
// ends (native_state.hpp); not again at exit.
int __cxa_atexit(void (*fn)(void*), void* arg, void* dso) noexcept {
  const auto real =
      lazy_real<int (*)(void (*)(void*), void*, void*)>(g_real_atexit, "__cxa_atexit");
  if (!user()) return real(fn, arg, dso);
  const EngineScope scope;
  // Only for objects in the executable's static storage, whose guards are reset: a static of
  // libstdc++.so constructed here stays constructed, and registered for real.
  if (!in_main_image(arg)) return real(fn, arg, dso);
  maps().exit_handlers.emplace_back(fn, arg);
  return 0;
}

// --- pthread_once --------------------------------------------------------------------------------

int pthread_once(pthread_once_t* control, void (*init)()) {
  HC_REAL(pthread_once);
  if (!user_call(HC_PC)) return real(control, init);  // not the unwinder's (native_state.hpp)
  // std::call_once hands its callable to __once_proxy in libstdc++'s thread-local
  // __once_callable/__once_call, which all simulated threads share: keep this thread's before
  // the first scheduling point, and put them back just before `init` reads them.
  void* const callable = std::__once_callable;
  void (*const call)() = std::__once_call;
  {
    const EngineScope scope;
    const Gate gate(control, HC_PC);
    gate.enter();
    while (__atomic_load_n(control, __ATOMIC_SEQ_CST) == kOnceInProgress)
      gate.wait();
    if (__atomic_load_n(control, __ATOMIC_SEQ_CST) == kOnceDone) {
      gate.leave();
      return 0;
    }
    __atomic_store_n(control, kOnceInProgress, __ATOMIC_SEQ_CST);
    if (in_main_image(control)) note_static(control, sizeof(*control));
    gate.leave();
  }
  std::__once_callable = callable;
  std::__once_call = call;
  try {
    init();
  } catch (...) {
    once_finish(control, 0, HC_PC);  // as glibc: not done, the next caller runs it
    throw;
  }
  once_finish(control, kOnceDone, HC_PC);
  return 0;
}

// --- syscall (futex) -----------------------------------------------------------------------------

long syscall(long number, ...) noexcept {  // NOLINT(google-runtime-int): glibc's signature
  HC_REAL(syscall);
  long a[6];  // NOLINT(google-runtime-int): the six argument registers, as glibc reads them
  va_list args;
  va_start(args, number);
  for (long& x : a)
    x = va_arg(args, long);  // NOLINT(google-runtime-int)
  va_end(args);
  if (number == SYS_futex && user()) {
    const long r =
        futex(reinterpret_cast<const volatile std::uint32_t*>(a[0]), a[1], a[2], a[3], HC_PC);
    if (r != -2) return r;
  }
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

}  // extern "C"
// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)

// tsan_hooks.cpp — the ThreadSanitizer ABI that `-fsanitize=thread` code calls (libtsan's entry
// points, without libtsan): every atomic is a scheduling point of the engine, every plain load
// and store is checked for a data race with the engine's happens-before (no scheduling point).
//
// The list is what g++ 12 emits (compile with -fsanitize=thread -c, `nm -u`): __tsan_init,
// __tsan_func_entry/exit, __tsan_{read,write}{1,2,4,8,16} and their unaligned variants,
// __tsan_{read,write}_range, __tsan_vptr_update/vptr_read, __tsan_atomic{8,16,32,64,128}_{load,
// store,exchange,fetch_add,fetch_sub,fetch_and,fetch_or,fetch_xor,fetch_nand,
// compare_exchange_strong,compare_exchange_weak,compare_exchange_val}, and the two fences. The
// volatile variants (`--param tsan-distinguish-volatile=1`) are plain accesses.
//
// Outside user code on a simulated thread (native_state.hpp, "The re-entry guard": gtest's main,
// static initialisation, the explorer) every hook performs the operation natively, sequentially
// consistent. Inside, an atomic parks at rt::atomic_op on the engine object of its address, then
// performs the operation on the real memory; a failed compare-exchange is a read (it releases
// nothing). The engine is sequentially consistent: memory orders are recorded, not modelled.
// Fences do nothing under it. Values of 64-bit atomics are shown in traces only when they fit 32
// bits: a pointer's value is an address and would make traces differ from run to run.
//
// Every hook is noexcept: the compiler treats these calls as non-throwing and gives them no
// landing pads, so the engine's teardown must not unwind through them (it sees the noexcept
// frame and does not).
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "native_state.hpp"

using hc::Access;
using hc::ObjectId;
using hc::ObjectKind;
using hc::OpKind;
using hc::Step;
namespace rt = hc::rt;
using namespace hc::native::detail;  // NOLINT(google-build-using-namespace): this file's subject

extern "C" char __libc_single_threaded;  // NOLINT: glibc's, <sys/single_threaded.h>

namespace {

using a8 = char;
using a16 = short;  // NOLINT(google-runtime-int): the ABI's types
using a32 = int;
using a64 = long;                              // NOLINT(google-runtime-int)
__extension__ using a128 = __int128;           // NOLINT
__extension__ using u128 = unsigned __int128;  // NOLINT

template <class T>
struct Unsigned {
  using type = std::make_unsigned_t<T>;
};
template <>
struct Unsigned<a128> {
  using type = u128;
};

std::memory_order order(int mo) {
  mo &= 0xffff;  // the HLE hint bits
  return mo >= 0 && mo <= 5 ? static_cast<std::memory_order>(mo) : std::memory_order_seq_cst;
}

template <class T>
void record(Step* s, T v) {
  if (s == nullptr) return;
  if constexpr (sizeof(T) <= 4) {
    s->has_value = true;
    s->value = static_cast<std::uint64_t>(v);
  } else if (v >= T{-2147483647 - 1} && v <= T{4294967295LL}) {
    s->has_value = true;
    s->value = static_cast<std::uint64_t>(v);
  }
}

// --- the operations themselves -----------------------------------------------------------------
// 128-bit atomics without libatomic: under a lock (nothing else uses it).
std::atomic_flag g_wide_lock = ATOMIC_FLAG_INIT;
struct WideLock {
  WideLock() noexcept {
    while (g_wide_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~WideLock() { g_wide_lock.clear(std::memory_order_release); }
  WideLock(const WideLock&) = delete;
  WideLock& operator=(const WideLock&) = delete;
};

enum class Rmw : std::uint8_t { exchange, add, sub, and_, or_, xor_, nand };
constexpr const char* kRmwLabel[] = {"exchange", "fetch_add", "fetch_sub", "fetch_and",
                                     "fetch_or", "fetch_xor", "fetch_nand"};

template <class T>
T apply(Rmw k, T old, T v) {
  using U = typename Unsigned<T>::type;  // wraps instead of overflowing
  switch (k) {
    case Rmw::exchange:
      return v;
    case Rmw::add:
      return static_cast<T>(static_cast<U>(old) + static_cast<U>(v));
    case Rmw::sub:
      return static_cast<T>(static_cast<U>(old) - static_cast<U>(v));
    case Rmw::and_:
      return static_cast<T>(old & v);
    case Rmw::or_:
      return static_cast<T>(old | v);
    case Rmw::xor_:
      return static_cast<T>(old ^ v);
    case Rmw::nand:
      return static_cast<T>(~(old & v));
  }
  return v;
}

template <class T>
T real_load(const volatile T* a) {
  if constexpr (sizeof(T) == 16) {
    WideLock lock;
    return *a;
  } else {
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);
  }
}

template <class T>
void real_store(volatile T* a, T v) {
  if constexpr (sizeof(T) == 16) {
    WideLock lock;
    *a = v;
  } else {
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);
  }
}

template <class T>
T real_rmw(volatile T* a, T v, Rmw k) {
  if constexpr (sizeof(T) == 16) {
    WideLock lock;
    const T old = *a;
    *a = apply(k, old, v);
    return old;
  } else {
    T old = __atomic_load_n(a, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(a, &old, apply(k, old, v), false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
    }
    return old;
  }
}

template <class T>
bool real_cas(volatile T* a, T* expected, T desired) {
  if constexpr (sizeof(T) == 16) {
    WideLock lock;
    if (*a == *expected) {
      *a = desired;
      return true;
    }
    *expected = *a;
    return false;
  } else {
    return __atomic_compare_exchange_n(a, expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
  }
}

// --- under the engine --------------------------------------------------------------------------

template <class T>
T load(const volatile T* a, int mo, const void* pc) noexcept {
  if (!user()) return real_load(a);
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(a, ObjectKind::atomic, where);
  Step* s = rt::atomic_op(OpKind::atomic_load, Access::read, id, "load", order(mo), where);
  const T v = real_load(a);
  record(s, v);
  return v;
}

template <class T>
void store(volatile T* a, T v, int mo, const void* pc) noexcept {
  if (!user()) return real_store(a, v);
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(a, ObjectKind::atomic, where);
  Step* s = rt::atomic_op(OpKind::atomic_store, Access::write, id, "store", order(mo), where);
  real_store(a, v);
  record(s, v);
}

template <class T>
T rmw(volatile T* a, T v, int mo, Rmw k, const void* pc) noexcept {
  if (!user()) return real_rmw(a, v, k);
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(a, ObjectKind::atomic, where);
  Step* s = rt::atomic_op(OpKind::atomic_rmw, Access::read_write, id,
                          kRmwLabel[static_cast<int>(k)], order(mo), where);
  const T old = real_rmw(a, v, k);
  record(s, old);
  if constexpr (sizeof(T) == sizeof(int)) {
    if (k == Rmw::add || k == Rmw::sub) note_waiter_count(a, k == Rmw::add ? v : -v);
  }
  return old;
}

template <class T>
bool cas(volatile T* a, T* expected, T desired, int mo, const char* label,
         const void* pc) noexcept {
  if (!user()) return real_cas(a, expected, desired);
  EngineScope scope;
  const std::source_location where = site(pc);
  const ObjectId id = sync_object(a, ObjectKind::atomic, where);
  // Announced as read-write (it may write); happens-before is released only on success.
  Step* s = rt::atomic_op(OpKind::atomic_cas, Access::read_write, id, label, order(mo), where);
  record(s, real_load(a));
  const bool ok = real_cas(a, expected, desired);
  if (s != nullptr) {
    if (ok) {
      rt::atomic_release(id);
    } else {
      s->access = Access::read;
    }
  }
  return ok;
}

// --- plain accesses ----------------------------------------------------------------------------

// errno is one address per OS thread, which every simulated thread on it shares; the engine
// saves and restores its value at each switch (each simulated thread has its own errno), so
// accesses to it are no shared memory. Nor are libstdc++'s thread-local __once_callable and
// __once_call, which std::call_once writes before pthread_once (sync.cpp keeps each thread's).
struct PrivateGranules {
  std::uintptr_t granule[3] = {};
  PrivateGranules() noexcept {
    const auto g = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) & ~7ULL; };
    granule[0] = g(&errno);
    granule[1] = g(&std::__once_callable);
    granule[2] = g(reinterpret_cast<const void*>(&std::__once_call));
  }
  bool contains(std::uintptr_t g) const noexcept {
    return g == granule[0] || g == granule[1] || g == granule[2];
  }
};

[[gnu::noinline]] void check_access(const volatile void* address, std::size_t size, bool write,
                                    const void* pc) noexcept {
  if (rt::current_thread() >= hc::kMaxThreads || size == 0) return;
  EngineScope scope;
  const std::source_location where = site(pc);
  AddressMaps& m = maps();
  const auto begin = reinterpret_cast<std::uintptr_t>(address) & ~std::uintptr_t{7};
  const auto last = (reinterpret_cast<std::uintptr_t>(address) + size - 1) & ~std::uintptr_t{7};
  static thread_local const PrivateGranules t_private;
  for (std::uintptr_t granule = begin; granule <= last; granule += 8) {
    if (t_private.contains(granule)) continue;
    auto [it, fresh] = m.locations.try_emplace(granule, hc::kNoObject);
    if (fresh) it->second = rt::register_location(where);
    rt::plain_access(write, it->second, where);
  }
}

inline void access(const volatile void* address, std::size_t size, bool write,
                   const void* pc) noexcept {
  if (t_user) check_access(address, size, write, pc);
}

}  // namespace

// --- the ABI -------------------------------------------------------------------------------------
// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier)

#define HC_RET __builtin_return_address(0)

extern "C" {

void __tsan_init() noexcept {
  // Threads the engine simulates are no real threads: glibc would keep believing the process is
  // single-threaded, and libstdc++ would then count shared_ptr references with plain adds.
  __libc_single_threaded = 0;
}
void __tsan_func_entry(void* /*caller*/) noexcept {}
void __tsan_func_exit() noexcept {}

#define HC_PLAIN(N)                                           \
  void __tsan_read##N(void* a) noexcept {                     \
    access(a, N, false, HC_RET);                              \
  }                                                           \
  void __tsan_write##N(void* a) noexcept {                    \
    access(a, N, true, HC_RET);                               \
  }                                                           \
  void __tsan_unaligned_read##N(void* a) noexcept {           \
    access(a, N, false, HC_RET);                              \
  }                                                           \
  void __tsan_unaligned_write##N(void* a) noexcept {          \
    access(a, N, true, HC_RET);                               \
  }                                                           \
  void __tsan_volatile_read##N(void* a) noexcept {            \
    access(a, N, false, HC_RET);                              \
  }                                                           \
  void __tsan_volatile_write##N(void* a) noexcept {           \
    access(a, N, true, HC_RET);                               \
  }                                                           \
  void __tsan_unaligned_volatile_read##N(void* a) noexcept {  \
    access(a, N, false, HC_RET);                              \
  }                                                           \
  void __tsan_unaligned_volatile_write##N(void* a) noexcept { \
    access(a, N, true, HC_RET);                               \
  }
HC_PLAIN(1)
HC_PLAIN(2)
HC_PLAIN(4)
HC_PLAIN(8)
HC_PLAIN(16)
#undef HC_PLAIN

void __tsan_read_range(void* a, unsigned long size) noexcept {  // NOLINT(google-runtime-int)
  access(a, size, false, HC_RET);
}
void __tsan_write_range(void* a, unsigned long size) noexcept {  // NOLINT(google-runtime-int)
  access(a, size, true, HC_RET);
}
void __tsan_vptr_update(void** vptr, void* /*value*/) noexcept {
  access(vptr, sizeof(void*), true, HC_RET);
}
void __tsan_vptr_read(void** vptr) noexcept {
  access(vptr, sizeof(void*), false, HC_RET);
}

#define HC_ATOMIC(N)                                                                        \
  a##N __tsan_atomic##N##_load(const volatile a##N* a, int mo) noexcept {                   \
    return load(a, mo, HC_RET);                                                             \
  }                                                                                         \
  void __tsan_atomic##N##_store(volatile a##N* a, a##N v, int mo) noexcept {                \
    store(a, v, mo, HC_RET);                                                                \
  }                                                                                         \
  a##N __tsan_atomic##N##_exchange(volatile a##N* a, a##N v, int mo) noexcept {             \
    return rmw(a, v, mo, Rmw::exchange, HC_RET);                                            \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_add(volatile a##N* a, a##N v, int mo) noexcept {            \
    return rmw(a, v, mo, Rmw::add, HC_RET);                                                 \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_sub(volatile a##N* a, a##N v, int mo) noexcept {            \
    return rmw(a, v, mo, Rmw::sub, HC_RET);                                                 \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_and(volatile a##N* a, a##N v, int mo) noexcept {            \
    return rmw(a, v, mo, Rmw::and_, HC_RET);                                                \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_or(volatile a##N* a, a##N v, int mo) noexcept {             \
    return rmw(a, v, mo, Rmw::or_, HC_RET);                                                 \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_xor(volatile a##N* a, a##N v, int mo) noexcept {            \
    return rmw(a, v, mo, Rmw::xor_, HC_RET);                                                \
  }                                                                                         \
  a##N __tsan_atomic##N##_fetch_nand(volatile a##N* a, a##N v, int mo) noexcept {           \
    return rmw(a, v, mo, Rmw::nand, HC_RET);                                                \
  }                                                                                         \
  int __tsan_atomic##N##_compare_exchange_strong(volatile a##N* a, a##N* c, a##N v, int mo, \
                                                 int /*fmo*/) noexcept {                    \
    return cas(a, c, v, mo, "compare_exchange_strong", HC_RET) ? 1 : 0;                     \
  }                                                                                         \
  int __tsan_atomic##N##_compare_exchange_weak(volatile a##N* a, a##N* c, a##N v, int mo,   \
                                               int /*fmo*/) noexcept {                      \
    return cas(a, c, v, mo, "compare_exchange_weak", HC_RET) ? 1 : 0;                       \
  }                                                                                         \
  a##N __tsan_atomic##N##_compare_exchange_val(volatile a##N* a, a##N c, a##N v, int mo,    \
                                               int /*fmo*/) noexcept {                      \
    cas(a, &c, v, mo, "compare_exchange_val", HC_RET);                                      \
    return c;                                                                               \
  }
HC_ATOMIC(8)
HC_ATOMIC(16)
HC_ATOMIC(32)
HC_ATOMIC(64)
HC_ATOMIC(128)
#undef HC_ATOMIC

// Sequentially consistent engine: a fence orders nothing more. Natively, a real fence.
void __tsan_atomic_thread_fence(int /*mo*/) noexcept {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
void __tsan_atomic_signal_fence(int /*mo*/) noexcept {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

}  // extern "C"
// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)

// native_state.cpp — the re-entry guard, the objects found by address, and the entry of a native
// test's body (native_state.hpp, hc/native.hpp).
#include "native_state.hpp"

#include <link.h>
#include <unwind.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "hc/native.hpp"

namespace hc::native::detail {

thread_local bool t_user = false;

namespace {
/// The executable segments of the shared object that holds _Unwind_Backtrace, if it is
/// libgcc_s (not the executable itself, under -static-libgcc: its range would be all the
/// user's code too).
CodeRange find_unwinder() noexcept {
  struct Search {
    std::uintptr_t address;
    CodeRange range;
  } search{reinterpret_cast<std::uintptr_t>(&_Unwind_Backtrace), {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        CodeRange code{};
        bool holds = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          const std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
          const std::uintptr_t end = begin + ph.p_memsz;
          if (s->address >= begin && s->address < end) holds = true;
          if ((ph.p_flags & PF_X) == 0) continue;
          code.begin = code.begin == 0 ? begin : std::min(code.begin, begin);
          code.end = std::max(code.end, end);
        }
        if (!holds) return 0;
        if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, "libgcc_s") != nullptr)
          s->range = code;
        return 1;
      },
      &search);
  return search.range;
}
}  // namespace

// Before main, while no user code runs (user_call() asks user() first).
const CodeRange g_unwinder = find_unwinder();

namespace {
// An execution that ended inside user code (a finding that unwound or abandoned its threads)
// leaves the guard set on this OS thread; the next execution starts in the engine.
std::atomic<bool> symbols_loaded{false};
void on_execution_start() noexcept {
  t_user = false;
  if (!symbols_loaded.exchange(true)) load_symbols();
}
const bool execution_start_hook_set = (rt::set_execution_start_hook(&on_execution_start), true);
}  // namespace

namespace {
// The maps are the worker's (rt::layer_state slot kMapsSlot), not the OS thread's: under the
// os-threads substrate every simulated thread runs on an OS thread of its own.
constexpr int kMapsSlot = 0;
void destroy_maps(void* p) noexcept {
  // A worker's Execution ends: what its last execution left in static storage (statics, waiter
  // counts) is undone as the next execution would, so that the next run in this process starts
  // where a fresh process does.
  auto* m = static_cast<AddressMaps*>(p);
  m->reset();
  delete m;
}
const bool maps_destructor_set = (rt::set_layer_state_destructor(kMapsSlot, &destroy_maps), true);
}  // namespace

AddressMaps& maps() {
  return worker_state<AddressMaps>(kMapsSlot);
}

AddressMaps* maps_if_any() noexcept {
  return worker_state_if_any<AddressMaps>(kMapsSlot);
}

void AddressMaps::reset() {
  // The previous execution's statics: destroyed as at exit, then uninitialised (sync.cpp).
  while (!exit_handlers.empty()) {
    const auto [fn, arg] = exit_handlers.back();
    exit_handlers.pop_back();
    fn(arg);
  }
  for (const auto& [address, size] : statics)
    std::memset(address, 0, size);
  for (const auto& [address, delta] : waiter_counts)
    __atomic_fetch_sub(reinterpret_cast<int*>(address), static_cast<int>(delta), __ATOMIC_SEQ_CST);
  in_free = true;  // the nodes these free are ours: free() must not look them up meanwhile
  sync.clear();
  locations.clear();
  recursive.clear();
  results.clear();
  futex_waiters.clear();
  statics.clear();
  waiter_counts.clear();
  in_free = false;
}

void AddressMaps::forget(std::uintptr_t begin, std::uintptr_t end) {
  if (end <= begin) return;
  const std::uintptr_t first = begin & ~std::uintptr_t{7};
  if (!locations.empty()) {
    if ((end - first) / 8 <= locations.size()) {
      for (std::uintptr_t g = first; g < end; g += 8)
        locations.erase(g);
    } else {
      std::erase_if(locations, [&](const auto& e) { return e.first >= first && e.first < end; });
    }
  }
  for (const Role role : {Role::object, Role::lock, Role::queue}) {
    const std::uintptr_t tag = std::uintptr_t{static_cast<std::uint8_t>(role)} << kRoleShift;
    sync.erase(sync.lower_bound(begin | tag), sync.lower_bound(end | tag));
  }
  futex_waiters.erase(futex_waiters.lower_bound(begin), futex_waiters.lower_bound(end));
  recursive.erase(recursive.lower_bound(begin), recursive.lower_bound(end));
}

ObjectId sync_object(const volatile void* address, ObjectKind kind,
                     const std::source_location& where, Role role) {
  AddressMaps& m = maps();
  const auto key = reinterpret_cast<std::uintptr_t>(address) |
                   (std::uintptr_t{static_cast<std::uint8_t>(role)} << kRoleShift);
  auto [it, fresh] = m.sync.try_emplace(key, AddressMaps::Entry{kNoObject, kind});
  if (fresh || it->second.kind != kind) {
    // No name: the engine names it after the site of its first touch ("mutex at pool.cpp:31"),
    // never after its address.
    it->second = AddressMaps::Entry{rt::register_object(kind, {}, where), kind};
  }
  return it->second.id;
}

void note_waiter_count(const volatile void* address, int delta) {
  // The pool: an inline function's static, one object in the executable, ours and the code
  // under test's alike; entry 0 is address 0's.
  static const auto pool =
      reinterpret_cast<std::uintptr_t>(&std::__detail::__waiter_pool_base::_S_for(nullptr));
  constexpr std::uintptr_t kEntry = sizeof(std::__detail::__waiter_pool_base);
  constexpr std::uintptr_t kEntries = 16;
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  if (pool == 0 || a < pool || a >= pool + kEntry * kEntries || (a - pool) % kEntry != 0) return;
  maps().waiter_counts[a] += delta;
}

bool in_main_image(const volatile void* address) noexcept {
  static void* const base = [] {
    Dl_info self{};
    return dladdr(reinterpret_cast<void*>(&in_main_image), &self) != 0 ? self.dli_fbase : nullptr;
  }();
  Dl_info info{};
  return base != nullptr && dladdr(const_cast<void*>(address), &info) != 0 &&
         info.dli_fbase == base;
}

void run_test(void (*body)()) {
  // Not user code yet (a thread the previous execution abandoned may have left it set).
  t_user = false;
  AddressMaps& m = maps();
  m.reset();
  reset_descriptors();
  {
    const UserScope user_code;  // user code from here (native_state.hpp)
    body();
  }
  // Still the test's own end: a leak it left is its finding. (A scope, so that the guard is
  // cleared also when the finding unwinds this frame.)
  const UserScope end_of_body;
  report_leaked_descriptors();
}

NativeRegistration::NativeRegistration(ScenarioInfo info, void (*body)(),
                                       std::source_location where) {
  info.tags.emplace_back("native");
  // Each simulated thread on an OS thread of its own: the code's thread_local variables are
  // its own (execution.hpp, "Substrates"); `--fibers` runs it on fibers instead.
  info.os_threads = true;
  // Its globals and descriptor numbers belong to the process: two workers would share them.
  if (info.max_jobs == 0) info.max_jobs = 1;
  const hc::detail::ScenarioRegistration registration(std::move(info), body, where);
}

void TestBody::operator()() const {
  run_test(body);
}

}  // namespace hc::native::detail

#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "hc/operation.hpp"
#include "runtime/process_wide.hpp"

namespace hc::detail {
namespace {

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t usable_size_for(std::size_t stack_size) {
  const std::size_t page = page_size();
  return std::max<std::size_t>((stack_size + page - 1) / page * page, 4 * page);
}

}  // namespace

StackPool::StackPool(std::size_t stack_size, bool guard_pages) {
  const std::size_t page = page_size();
  usable_size_ = usable_size_for(stack_size);
  guard_size_ = guard_pages ? page : 0;
  slot_size_ = usable_size_ + guard_size_;
  bottom_size_ = 16 * page;
  reserved_size_ = bottom_size_ + slot_size_ * static_cast<std::size_t>(kMaxThreads);
  // Address space only: a slot's pages become usable (and cost memory) when its thread first
  // runs, and only the pages a thread touches are ever committed.
  void* base = ::mmap(nullptr, reserved_size_, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  reserved_ = static_cast<char*>(base);
}

StackPool::~StackPool() {
#if defined(__SANITIZE_ADDRESS__)
  // The fibers' frames leave redzones poisoned (a fiber waiting for its next body, an abandoned
  // one): clear them, or memory mapped here later (another thread's stack and TLS) would start
  // poisoned and its first access would read as a stack buffer overflow.
  __asan_unpoison_memory_region(reserved_, reserved_size_);
#endif
  ::munmap(reserved_, reserved_size_);
}

namespace {

/// The spare pools (StackPool::take), the process's (runtime/process_wide.hpp).
struct SparePools {
  std::mutex mu;
  std::vector<StackPool*> pools;
};

}  // namespace

StackPool::Lease StackPool::take(std::size_t stack_size, bool guard_pages) {
  const std::size_t usable = usable_size_for(stack_size);
  const std::size_t guard = guard_pages ? page_size() : 0;
  {
    SparePools& spares = ProcessWide<SparePools>::get();
    std::lock_guard lock(spares.mu);
    for (auto it = spares.pools.rbegin(); it != spares.pools.rend(); ++it) {
      if ((*it)->usable_size_ == usable && (*it)->guard_size_ == guard) {
        StackPool* pool = *it;
        spares.pools.erase(std::next(it).base());
        return Lease(pool);
      }
    }
  }
  return Lease(new StackPool(stack_size, guard_pages));
}

std::size_t StackPool::spare_count() {
  SparePools& spares = ProcessWide<SparePools>::get();
  std::lock_guard lock(spares.mu);
  return spares.pools.size();
}

void StackPool::GiveBack::operator()(StackPool* pool) const noexcept {
  if (pool == nullptr) return;
#if defined(__SANITIZE_ADDRESS__)
  // As in the destructor: the next Execution's fibers start on clean stacks.
  __asan_unpoison_memory_region(pool->reserved_, pool->reserved_size_);
#endif
  StackPool* oldest = nullptr;
  {
    SparePools& spares = ProcessWide<SparePools>::get();
    std::lock_guard lock(spares.mu);
    if (spares.pools.size() == kSparePools) {
      // The pools of a stack size used long ago make way for the one in use now.
      oldest = spares.pools.front();
      spares.pools.erase(spares.pools.begin());
    }
    spares.pools.push_back(pool);
  }
  delete oldest;
}

char* StackPool::slot(int t) const noexcept {
  // Thread 0 at the top, thread kMaxThreads - 1 just above the bottom guard region.
  return reserved_ + bottom_size_ + slot_size_ * static_cast<std::size_t>(kMaxThreads - 1 - t);
}

boost::context::stack_context StackPool::stack_for(int t) {
  const auto bit = std::uint64_t{1} << t;
  char* s = slot(t);
  if ((mapped_ & bit) == 0) {
    if (::mprotect(s + guard_size_, usable_size_, PROT_READ | PROT_WRITE) != 0)
      throw std::bad_alloc();
    mapped_ |= bit;
  }
  boost::context::stack_context sc;
  sc.size = usable_size_;
  sc.sp = s + slot_size_;
  return sc;
}

bool StackPool::overflowed(int t, std::uintptr_t address, std::uintptr_t sp) const noexcept {
  if (t < 0 || t >= kMaxThreads) return false;
  const auto low = reinterpret_cast<std::uintptr_t>(reserved_);
  const auto usable_low = reinterpret_cast<std::uintptr_t>(slot(t)) + guard_size_;
  // Below thread t's stack but inside this pool: its guard page, the stacks of the threads
  // below it (without guard pages an overflow runs through them before it faults) or the
  // pool's bottom guard region. The stack pointer tells it too: a frame larger than a page may
  // fault beyond the guard, or the fault may be the first touch of a deeper frame.
  const bool address_below = address >= low && address < usable_low;
  const bool sp_below = sp >= low && sp < usable_low + 256;
  return address_below || sp_below;
}

}  // namespace hc::detail

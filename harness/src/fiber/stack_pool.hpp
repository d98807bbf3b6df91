// stack_pool.hpp — fiber stacks, allocated once and reused by every execution.
//
// StackPool owns one fixed-size stack per simulated thread id, all in one address-space
// reservation: thread 0's slot at the top, each next thread's slot below the previous one, and a
// region that is never mapped below the last. A slot becomes readable and writable when its
// thread first runs, except its lowest page when guard pages are on. Without guard pages an
// overflow runs into the stacks of higher-numbered threads (memory of this execution only,
// abandoned with it) and faults at the latest in the bottom region. Thread t of every execution
// runs on stack t, so an execution allocates nothing; the fiber on it is reused from execution
// to execution, and a fiber that is abandoned (execution.hpp, "Teardown") needs no cleanup: the
// slot's next fiber is made on the same stack. A guard page makes an overflow fault at once instead
// of corrupting a neighbour's stack; the fault handler (runtime/faults.hpp) asks overflowed()
// whether a fault was one, and the execution reports a stack-overflow finding.
//
// An Execution takes its pool with StackPool::take() and gives it back when it ends: the
// process keeps a few spare pools (kSparePools) for the next Execution of the same stack size,
// whose threads then run on stacks already mapped and touched. A run of many short explorations
// (`run --all`, a test suite, every finding's replay) made a pool per exploration and worker
// before: an mmap, an mprotect per thread, page faults on every stack page its threads touched,
// and an munmap, which on a virtual machine cost more than the explorations of the catalogue's
// small scenarios. The fault handler asks the pool of the Execution running on the thread, so
// a pool in the spares list is no one's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/context/stack_context.hpp>

namespace hc::detail {

class StackPool {
 public:
  StackPool(std::size_t stack_size, bool guard_pages);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  /// Gives a pool back to the process's spares (when they are full, the one given back the
  /// longest ago is freed).
  struct GiveBack {
    void operator()(StackPool* pool) const noexcept;
  };
  using Lease = std::unique_ptr<StackPool, GiveBack>;
  /// A spare pool of this shape, or a new one. Thread-safe.
  static Lease take(std::size_t stack_size, bool guard_pages);
  /// How many spare pools the process keeps: one per worker of a run with --jobs up to this.
  static constexpr std::size_t kSparePools = 8;
  /// How many it keeps now.
  static std::size_t spare_count();

  /// Whether thread t's stack is mapped: a thread of an Execution that had this pool ran on it.
  bool mapped(int t) const noexcept { return (mapped_ >> t & 1u) != 0; }

  /// The stack of thread `t` (0 <= t < kMaxThreads).
  boost::context::stack_context stack_for(int t);

  /// Whether a fault at `address` with stack pointer `sp` on thread `t`'s stack ran off its
  /// end. Async-signal-safe: reads only.
  bool overflowed(int t, std::uintptr_t address, std::uintptr_t sp) const noexcept;

  std::size_t stack_size() const noexcept { return usable_size_; }

 private:
  char* slot(int t) const noexcept;  // the lowest address of thread t's guard page and stack

  std::size_t usable_size_;
  std::size_t guard_size_;   // one page, or 0 without guard pages
  std::size_t slot_size_;    // guard + stack
  std::size_t bottom_size_;  // the never-mapped region below the lowest slot
  std::size_t reserved_size_;
  char* reserved_ = nullptr;  // one reservation for every slot (PROT_NONE until used)
  std::uint64_t mapped_ = 0;  // bit t: slot t is readable and writable
};

}  // namespace hc::detail

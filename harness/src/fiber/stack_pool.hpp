// stack_pool.hpp — fiber stacks, allocated once and reused by every execution.
//
// StackPool owns one fixed-size stack per simulated thread id (mmap'd on first use, optionally
// with a PROT_NONE guard page below it). Thread t of every execution runs on stack t, so an
// execution allocates nothing, and a fiber that is abandoned when its execution ends (see
// execution.hpp) needs no cleanup: its stack is simply reused by the next execution. Guard pages
// are registered with a process-wide SIGSEGV handler that runs on an alternate signal stack: an
// overflow ends the process with a message naming the simulated thread that overflowed instead of
// corrupting a neighbour's stack.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <boost/context/stack_context.hpp>

namespace hc::detail {

class StackPool {
 public:
  StackPool(std::size_t stack_size, bool guard_pages);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  /// The stack of thread `t`; `owner` is the name an overflow message reports.
  boost::context::stack_context stack_for(int t, std::string_view owner);

  std::size_t stack_size() const noexcept { return usable_size_; }

 private:
  struct Stack {
    void* base;      // start of the mapping (the guard page, if any)
    void* top;       // highest address: the initial stack pointer
    int guard_slot;  // index in the overflow registry, -1 without a guard page
  };
  Stack map_new_stack();

  std::size_t usable_size_;
  std::size_t mapping_size_;
  bool guard_pages_;
  std::vector<Stack> stacks_;  // index = thread id
};

/// A Boost.Context StackAllocator that hands a fiber its thread's stack. Deallocation is a
/// no-op: the pool keeps the stack for the next execution.
struct PooledStackAllocator {
  boost::context::stack_context context;
  boost::context::stack_context allocate() const noexcept { return context; }
  void deallocate(boost::context::stack_context&) const noexcept {}
};

/// Makes sure this OS thread has an alternate signal stack (for the overflow handler).
void ensure_signal_stack();

}  // namespace hc::detail

// baton.hpp — the hand-off between OS threads of the os-threads substrate (execution.hpp,
// "Substrates"): one Baton per OS thread; a thread that hands control on posts the next
// thread's baton and waits on its own, so exactly one of them runs at a time.
//
// Protocol: post() may come before or after the matching wait(); a post is consumed by exactly
// one wait. Both are async-signal-safe (an atomic and the futex system call): a fault handler
// hands control back to the host with them (faults.hpp).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace hc::detail {

/// The futex system call, made directly: a runtime layered on the engine may interpose libc's
/// syscall() (handlecheck::native models futex waits of the code under test), and the baton
/// must never be mistaken for one.
inline long raw_futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value) noexcept {
#if defined(__x86_64__)
  long result;
  register void* timeout asm("r10") = nullptr;
  asm volatile("syscall"
               : "=a"(result)
               : "0"(static_cast<long>(SYS_futex)), "D"(word), "S"(static_cast<long>(op)),
                 "d"(static_cast<long>(value)), "r"(timeout)
               : "rcx", "r11", "memory");
  return result;
#else
  return ::syscall(SYS_futex, word, op, value, nullptr, nullptr, 0);
#endif
}

class Baton {
 public:
  /// Lets the thread waiting on this baton (now or at its next wait) run.
  void post() noexcept {
    word_.store(1, std::memory_order_release);
    raw_futex(&word_, FUTEX_WAKE_PRIVATE, 1);
  }

  /// Returns once the baton was posted (consuming the post). Leaves errno alone (the raw call
  /// does not set it).
  void wait() noexcept {
    while (word_.exchange(0, std::memory_order_acquire) == 0)
      raw_futex(&word_, FUTEX_WAIT_PRIVATE, 0);
  }

 private:
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace hc::detail

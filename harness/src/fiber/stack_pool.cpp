#include "fiber/stack_pool.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace hc::detail {
namespace {

// The overflow registry: guard-page ranges and the name of the thread on each stack. Written
// by the owning OS thread, read by the signal handler; fixed size, no allocation, so the
// handler only does async-signal-safe reads.
constexpr int kMaxGuards = 4096;
struct GuardRange {
  std::atomic<std::uintptr_t> low{0};
  std::atomic<std::uintptr_t> high{0};  // end of the guard page
  std::size_t stack_size = 0;
  char owner[64] = {};
};
GuardRange g_guards[kMaxGuards];
std::atomic<int> g_guard_count{0};
struct sigaction g_previous_segv {};
std::atomic<bool> g_handler_installed{false};

void write_str(const char* s) {
  ssize_t ignored = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

void write_num(std::size_t n) {
  char buf[24];
  int i = 23;
  buf[i] = '\0';
  do {
    buf[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n && i > 0);
  write_str(buf + i);
}

void on_segv(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  const int n = g_guard_count.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    const std::uintptr_t low = g_guards[i].low.load(std::memory_order_relaxed);
    const std::uintptr_t high = g_guards[i].high.load(std::memory_order_relaxed);
    // A frame larger than a page may skip the guard: count a little below it too.
    if (addr + 16 * 4096 >= low && addr < high) {
      write_str("handlecheck: stack overflow in simulated thread '");
      write_str(g_guards[i].owner);
      write_str("' (its stack is ");
      write_num(g_guards[i].stack_size / 1024);
      write_str(
          " KiB). The thread recurses without end, or needs a bigger stack: raise it with "
          "--stack-size (ExploreOptions::stack_size). The run was aborted.\n");
      ::_exit(1);
    }
  }
  // Not ours: hand over to whoever handled SIGSEGV before us, or die the default way.
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction) return g_previous_segv.sa_sigaction(sig, info, context);
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    return g_previous_segv.sa_handler(sig);
  }
  ::signal(SIGSEGV, SIG_DFL);  // returning re-executes the fault, now fatal
}

void install_handler() {
  bool expected = false;
  if (!g_handler_installed.compare_exchange_strong(expected, true)) return;
  struct sigaction sa {};
  sa.sa_sigaction = &on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSEGV, &sa, &g_previous_segv);
}

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

void ensure_signal_stack() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  const std::size_t size = 64 * 1024;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // no overflow message on this thread, nothing worse
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = size;
  ::sigaltstack(&ss, nullptr);  // lives as long as the OS thread; never unmapped
}

StackPool::StackPool(std::size_t stack_size, bool guard_pages) : guard_pages_(guard_pages) {
  const std::size_t page = page_size();
  usable_size_ = std::max<std::size_t>((stack_size + page - 1) / page * page, 4 * page);
  mapping_size_ = usable_size_ + (guard_pages_ ? page : 0);
  if (guard_pages_) {
    install_handler();
    ensure_signal_stack();
  }
}

StackPool::~StackPool() {
  for (const Stack& s : stacks_) {
    if (s.base == nullptr) continue;
    if (s.guard_slot >= 0) {
      g_guards[s.guard_slot].low.store(0, std::memory_order_relaxed);
      g_guards[s.guard_slot].high.store(0, std::memory_order_relaxed);
    }
    ::munmap(s.base, mapping_size_);
  }
}

StackPool::Stack StackPool::map_new_stack() {
  void* base =
      ::mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  int slot = -1;
  if (guard_pages_) {
    ::mprotect(base, page_size(), PROT_NONE);
    slot = g_guard_count.fetch_add(1, std::memory_order_acq_rel);
    if (slot >= kMaxGuards) {
      slot = -1;  // registry full: the stack still has its guard page, just no name
    } else {
      const auto low = reinterpret_cast<std::uintptr_t>(base);
      g_guards[slot].stack_size = usable_size_;
      g_guards[slot].high.store(low + page_size(), std::memory_order_relaxed);
      g_guards[slot].low.store(low, std::memory_order_release);
    }
  }
  return Stack{base, static_cast<char*>(base) + mapping_size_, slot};
}

boost::context::stack_context StackPool::stack_for(int t, std::string_view owner) {
  const auto index = static_cast<std::size_t>(t);
  if (index >= stacks_.size()) stacks_.resize(index + 1, Stack{nullptr, nullptr, -1});
  Stack& s = stacks_[index];
  if (s.base == nullptr) s = map_new_stack();
  if (s.guard_slot >= 0) {
    char* name = g_guards[s.guard_slot].owner;
    const std::size_t n = std::min(owner.size(), sizeof g_guards[0].owner - 1);
    std::memcpy(name, owner.data(), n);
    name[n] = '\0';
  }
  boost::context::stack_context sc;
  sc.size = usable_size_;
  sc.sp = s.top;
  return sc;
}

}  // namespace hc::detail

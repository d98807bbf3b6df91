// faults.cpp — the signal and terminate handlers of faults.hpp.
#include "runtime/faults.hpp"

#include <cxxabi.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <typeinfo>

#include <fmt/format.h>

#include "runtime/execution.hpp"
#include "runtime/text.hpp"

namespace hc::detail {
namespace {

// The handlers run on the alternate signal stack and leave it by a fiber switch. AddressSanitizer
// would unpoison "the current stack" before the switch (a noreturn call) and take the
// alternate stack for a fiber's: they are not instrumented.
#if defined(__SANITIZE_ADDRESS__)
#define HC_NOT_INSTRUMENTED __attribute__((no_sanitize_address))
#else
#define HC_NOT_INSTRUMENTED
#endif

constexpr std::array kFatalSignals = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

struct sigaction g_previous[NSIG];
std::terminate_handler g_previous_terminate = nullptr;

std::uintptr_t stack_pointer(const ucontext_t* uc) {
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
  (void)uc;
  return 0;  // unknown: overflow is then told by the faulting address alone
#endif
}

/// Not a fault of a simulated thread: behave as if handlecheck had installed nothing.
void pass_on(int sig, siginfo_t* info, void* ucontext) {
  const struct sigaction& old = g_previous[sig];
  if ((old.sa_flags & SA_SIGINFO) != 0 && old.sa_sigaction != nullptr) {
    old.sa_sigaction(sig, info, ucontext);
    return;
  }
  if ((old.sa_flags & SA_SIGINFO) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
    return;
  }
  // The default action: pending now, delivered (fatal) when the handler returns.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

extern "C" HC_NOT_INSTRUMENTED void on_fatal_signal(int sig, siginfo_t* info, void* ucontext) {
  Execution* e = Execution::current();
  if (e != nullptr && e->accepts_fault()) {
    const auto* uc = static_cast<const ucontext_t*>(ucontext);
    FaultRecord& r = e->fault_record();
    r.cause = FaultRecord::Cause::signal;
    r.signal = sig;
    r.code = info->si_code;
    r.address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    r.mask = uc->uc_sigmask;
    r.restore_mask = true;
    r.stack_overflow =
        (sig == SIGSEGV || sig == SIGBUS) && e->overflowed_stack(r.address, stack_pointer(uc));
    e->abandon_for_fault();  // never returns
  }
  if (e != nullptr && e->accepts_teardown_fault()) {
    // A thread the teardown unwinds crashed: abandon it, the execution is over already.
    e->abandon_in_teardown(&static_cast<const ucontext_t*>(ucontext)->uc_sigmask);
  }
  pass_on(sig, info, ucontext);
}

extern "C" HC_NOT_INSTRUMENTED void on_interrupt_signal(int /*sig*/, siginfo_t* /*info*/,
                                                        void* ucontext) {
  Execution* e = Execution::current();
  FaultRecord::Cause cause{};
  if (e != nullptr && e->accepts_teardown_fault() && e->take_interrupt(&cause)) {
    // A thread the teardown unwinds is stuck (a destructor's loop without operations), or the
    // run must stop: abandon it.
    e->abandon_in_teardown(&static_cast<const ucontext_t*>(ucontext)->uc_sigmask);
  }
  if (e == nullptr || !e->accepts_fault() || !e->take_interrupt(&cause)) return;  // too late
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  FaultRecord& r = e->fault_record();
  r.cause = cause;
  r.mask = uc->uc_sigmask;
  r.restore_mask = true;
  e->abandon_for_fault();  // never returns
}

std::string exception_in_flight() {
  const std::exception_ptr p = std::current_exception();
  if (!p) return "std::terminate was called with no exception in flight";
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& ex) {
    return fmt::format(
        "an exception ({}: {}) reached a function that may not throw (a "
        "destructor or another noexcept function)",
        demangle(typeid(ex).name()), ex.what());
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return fmt::format(
        "an exception ({}) reached a function that may not throw (a destructor "
        "or another noexcept function)",
        type != nullptr ? demangle(type->name()) : std::string("unknown type"));
  }
}

[[noreturn]] void on_terminate() {
  Execution* e = Execution::current();
  if (e != nullptr && e->accepts_fault()) {
    FaultRecord& r = e->fault_record();
    r.cause = FaultRecord::Cause::terminate;
    r.terminate_reason = exception_in_flight();
    r.restore_mask = false;
    e->abandon_for_fault();  // never returns
  }
  if (e != nullptr && e->accepts_teardown_fault()) {
    // The teardown's ThreadUnwind reached a noexcept frame (a destructor parked in an
    // operation), or a destructor threw while unwinding: abandon the thread.
    e->drop_terminating_unwind();
    e->abandon_in_teardown(nullptr);
  }
  if (g_previous_terminate != nullptr) g_previous_terminate();
  std::abort();
}

}  // namespace

void install_fault_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int sig : kFatalSignals)
      ::sigaction(sig, &sa, &g_previous[sig]);
    struct sigaction interrupt {};
    interrupt.sa_sigaction = &on_interrupt_signal;
    interrupt.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&interrupt.sa_mask);
    ::sigaction(kInterruptSignal, &interrupt, &g_previous[kInterruptSignal]);
    g_previous_terminate = std::set_terminate(&on_terminate);
  });
}

bool has_signal_stack() noexcept {
  stack_t current{};
  return ::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE);
}

void ensure_signal_stack() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  if (has_signal_stack()) return;
  const std::size_t size = 64 * 1024;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // an overflow then kills the process, as without handlecheck
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = size;
  ::sigaltstack(&ss, nullptr);  // lives as long as the OS thread; never unmapped
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return fmt::format("signal {}", signal);
  }
}

}  // namespace hc::detail

// faults.hpp — faults of the code under test that end an execution but not the run.
//
// A simulated thread may crash (a fatal signal: SIGSEGV, SIGBUS, SIGFPE, SIGILL, or SIGABRT
// from abort() or a failed assert), call std::terminate (an exception leaving a noexcept
// function such as a destructor), overflow its stack, or stop reaching scheduling points (a CPU
// loop, a spin on a plain variable, a blocking call handlecheck does not control). Each becomes
// a finding of the execution it happened in (crash, stack-overflow, no-progress) and the run
// goes on with the next execution.
//
// Protocol:
//  * install_fault_handlers() (once per process; every Execution calls it) installs handlers
//    for the fatal signals and for kInterruptSignal, running on the alternate signal stack that
//    ensure_signal_stack() gives each OS thread, and a std::terminate handler.
//  * A handler asks the Execution running on this OS thread (Execution::current()) whether the
//    fault happened inside one of its simulated threads (accepts_fault()). If so it fills the
//    execution's FaultRecord (plain data, no allocation) and calls abandon_for_fault(), which
//    switches to the host exactly as a finding does (see execution.hpp): the handler never
//    returns, the faulting fiber is abandoned. The host restores the signal mask the thread
//    had before the fault and turns the record into a Finding.
//  * While an ended execution is torn down (its threads unwound: execution.hpp, "Teardown"), a
//    fault of the thread being unwound (accepts_teardown_fault()): a fatal signal,
//    std::terminate (the unwinding reached a noexcept frame), a watchdog interrupt, abandons
//    that thread (abandon_in_teardown) and the teardown goes on; no finding is made.
//  * The watchdog (explore/watchdog.hpp) asks for an interrupt with
//    Execution::request_interrupt() and sends kInterruptSignal to the worker; the handler ends
//    the execution only if it is still inside the same step the watchdog saw (the heartbeat).
//  * Anything else (a fault in handlecheck itself, in host code, or on a thread handlecheck
//    did not create) goes to the handler installed before ours, or kills the process as it
//    would have without handlecheck.
//
// What this cannot survive: a fault that leaves process-wide state broken, such as heap
// corruption detected inside malloc while it holds an arena lock. The faulting fiber is never
// resumed: its locks (a std::mutex it held) and the heap memory its locals own stay as they were
// (the execution's other threads are unwound as after a finding).
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>

namespace hc::detail {

/// The signal the watchdog sends a worker whose simulated thread makes no progress. SIGURG is
/// ignored by default, so a stray one never kills a process.
inline constexpr int kInterruptSignal = SIGURG;

/// What ended an execution from outside the scheduler.
struct FaultRecord {
  enum class Cause : std::uint8_t {
    none,
    signal,       // a fatal signal in a simulated thread
    terminate,    // std::terminate in a simulated thread
    no_progress,  // the watchdog: no scheduling point for longer than its bound
    stop,         // the watchdog: SIGINT/SIGTERM or the time budget while a thread was stuck
  };
  Cause cause = Cause::none;
  int signal = 0;
  int code = 0;                  // siginfo si_code
  std::uintptr_t address = 0;    // siginfo si_addr (never printed: addresses vary per run)
  bool stack_overflow = false;   // the stack pointer or the address left the thread's stack
  bool restore_mask = false;     // `mask` holds the mask from before the handler
  sigset_t mask{};               // the thread's signal mask before the handler ran
  std::string terminate_reason;  // terminate: the exception in flight, in words
};

/// Installs the fault handlers (idempotent, thread-safe).
void install_fault_handlers();

/// Makes sure this OS thread has an alternate signal stack for the handlers (idempotent).
void ensure_signal_stack();
/// Whether this OS thread has an alternate signal stack. One it has (a sanitizer's, set up when
/// the thread started) is kept: its owner frees it when the thread ends.
bool has_signal_stack() noexcept;

/// "SIGSEGV", "SIGABRT", ... ("signal N" for others).
std::string signal_name(int signal);

}  // namespace hc::detail

// context.hpp — the engine's fiber switch: suspend the running context, resume another.
//
// A context is the stack pointer of a suspended flow of control, under which its callee-saved
// registers and the address to resume at are saved; null means none. Use:
//
//   void* fiber = make_context(top, size, entry, a, b);  // entry(a, b) runs at its first resume
//   switch_context(&me, fiber);  // saves this flow in `me` and runs `fiber`; returns when
//                                // some flow calls switch_context(&x, me)
//
// A context is resumed at most once per suspension: switch_context overwrites the saved slot
// each time the flow suspends again. entry never returns (it switches away for good). Dropping
// a context (forgetting the pointer) frees nothing and runs nothing: the stack belongs to its
// owner (StackPool).
//
// Why not Boost.Context's fiber: its jump_fcontext leaves through an indirect jump, so the call
// that entered it is never matched by a return, and the CPU's return stack buffer stays one
// entry off after every switch: each return up the resumed flow's call chain mispredicts until
// it drains. It also reloads the SSE and x87 control words at every switch (ldmxcsr and fldcw
// are slow, microcoded instructions). On x86-64 (System V) the switch here is a plain call that
// ends in `ret` when both flows suspended at the same call site (threads running the same
// operation: the call pushed the suspending flow's return address and the ret pops the resumed
// one's, the same address, so the return is predicted and the buffer stays balanced), and in
// an indirect jump otherwise (context.cpp). The control words are still each flow's own (as on OS
// threads): they are saved at every switch and reloaded only when the resumed flow's differ.
// bench/engine_bench measures the switch (BM_RawContextSwitch against BM_RawFiberSwitch, Boost's).
//
// Elsewhere (HC_BOOST_CONTEXT_SWITCH, the default on other architectures) the same interface is
// built on Boost.Context's fcontext functions.
//
// AddressSanitizer is not told about switches here: the caller announces them
// (runtime/execution.cpp, HC_ASAN_START_SWITCH).
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(HC_BOOST_CONTEXT_SWITCH) && !(defined(__x86_64__) && defined(__ELF__))
#define HC_BOOST_CONTEXT_SWITCH 1
#endif

#if defined(HC_BOOST_CONTEXT_SWITCH)
#include <boost/context/detail/fcontext.hpp>
#endif

namespace hc::detail {

/// What a new context runs: entry(a, b). It must never return.
using ContextEntry = void (*)(void* a, std::uintptr_t b);

/// Prepares a context on the stack of `stack_size` bytes whose highest address is `stack_top`
/// (exclusive): its first resume calls entry(a, b) there.
void* make_context(void* stack_top, std::size_t stack_size, ContextEntry entry, void* a,
                   std::uintptr_t b) noexcept;

#if defined(HC_BOOST_CONTEXT_SWITCH)
/// Suspends the running flow, saving its context in *save, and resumes `to`.
inline void switch_context(void** save, void* to) noexcept {
  const boost::context::detail::transfer_t t = boost::context::detail::jump_fcontext(to, save);
  *static_cast<void**>(t.data) = t.fctx;  // whoever resumed us: its own context, suspended now
}
#else
extern "C" void hc_switch_context(void** save, void* to) noexcept;
/// Suspends the running flow, saving its context in *save, and resumes `to`.
inline void switch_context(void** save, void* to) noexcept {
  hc_switch_context(save, to);
}
#endif

}  // namespace hc::detail

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
// it drains. On x86-64 (System V) the switch here is a plain call that ends in `ret` when both
// flows suspended at the same call site (threads running the same operation: the call pushed
// the suspending flow's return address and the ret pops the resumed one's, the same address,
// so the return is predicted and the buffer stays balanced), and in an indirect jump otherwise
// (context.cpp). bench/engine_bench measures the switch (BM_RawContextSwitch against
// BM_RawFiberSwitch, Boost's).
//
// The floating-point control words (MXCSR: SSE's rounding mode, exception masks and flags,
// flush-to-zero; the x87 control word) are callee-saved in the ABI, so each OS thread has its
// own. Two switches, one frame layout:
//  * switch_context leaves them alone: the flows share them, as they share thread-local
//    storage. Reading MXCSR (stmxcsr, microcoded) costs more than the rest of the switch.
//  * switch_context_fp saves the suspending flow's and reloads the resumed flow's when they
//    differ: each flow keeps its own, as on OS threads (BM_RawContextSwitchFp).
// A frame keeps a slot for them either way: set_fp_control_of() writes a suspended context's
// (what switch_context_fp will load); current_fp_control() and load_fp_control() read and set
// the running flow's. Use one switch for all the flows of a group: a context suspended by
// switch_context has a stale slot, which switch_context_fp would load.
//
// Elsewhere (HC_BOOST_CONTEXT_SWITCH, the default on other architectures) the same interface is
// built on Boost.Context's fcontext functions. Both switches are Boost's there (what it saves
// of the floating-point state is its choice for the architecture), and set_fp_control_of()
// does nothing.
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

/// The running flow's floating-point control words, as one word: MXCSR in the low 32 bits, the
/// x87 control word in the next 16 (0 where there are none to read).
std::uint64_t current_fp_control() noexcept;
/// Makes `word` (from current_fp_control) the running flow's control words.
void load_fp_control(std::uint64_t word) noexcept;

#if defined(HC_BOOST_CONTEXT_SWITCH)
/// Suspends the running flow, saving its context in *save, and resumes `to`.
inline void switch_context(void** save, void* to) noexcept {
  const boost::context::detail::transfer_t t = boost::context::detail::jump_fcontext(to, save);
  *static_cast<void**>(t.data) = t.fctx;  // whoever resumed us: its own context, suspended now
}
inline void switch_context_fp(void** save, void* to) noexcept {
  switch_context(save, to);
}
inline void set_fp_control_of(void* /*context*/, std::uint64_t /*word*/) noexcept {}
#else
extern "C" void hc_switch_context(void** save, void* to) noexcept;
extern "C" void hc_switch_context_fp(void** save, void* to) noexcept;
/// Suspends the running flow, saving its context in *save, and resumes `to`. The control
/// words stay as they are.
inline void switch_context(void** save, void* to) noexcept {
  hc_switch_context(save, to);
}
/// The same, and the control words are each flow's own: the suspending flow's are saved with
/// its context, and the resumed flow's (its slot) loaded.
inline void switch_context_fp(void** save, void* to) noexcept {
  hc_switch_context_fp(save, to);
}
/// Sets the control words that switch_context_fp will load when it resumes `context` (a
/// suspended context, or a new one from make_context).
inline void set_fp_control_of(void* context, std::uint64_t word) noexcept {
  *static_cast<std::uint64_t*>(context) = word;  // +0 of the frame (context.cpp)
}
#endif

}  // namespace hc::detail

// context.cpp — the fiber switch (see context.hpp for the protocol and why it is not Boost's).
#include "fiber/context.hpp"

#include <cstddef>
#include <cstdint>

namespace hc::detail {

#if defined(__x86_64__) || defined(__i386__)
std::uint64_t current_fp_control() noexcept {
  std::uint16_t x87_control = 0;
  asm volatile("fnstcw %0" : "=m"(x87_control));
  return __builtin_ia32_stmxcsr() | (std::uint64_t{x87_control} << 32);
}

void load_fp_control(std::uint64_t word) noexcept {
  const auto x87_control = static_cast<std::uint16_t>(word >> 32);
  __builtin_ia32_ldmxcsr(static_cast<unsigned>(word));
  asm volatile("fldcw %0" : : "m"(x87_control));
}
#else
std::uint64_t current_fp_control() noexcept {
  return 0;
}

void load_fp_control(std::uint64_t) noexcept {}
#endif

}  // namespace hc::detail

#if defined(HC_BOOST_CONTEXT_SWITCH)

namespace hc::detail {
namespace {

namespace fc = boost::context::detail;

struct Start {
  ContextEntry entry;
  void* a;
  std::uintptr_t b;
};

/// A new context's first code: takes its Start from make_context and suspends; its next resume
/// comes from switch_context, whose caller's context it saves before calling the entry.
void trampoline(fc::transfer_t t) {
  const Start start = *static_cast<const Start*>(t.data);
  t = fc::jump_fcontext(t.fctx, nullptr);  // back to make_context
  *static_cast<void**>(t.data) = t.fctx;
  start.entry(start.a, start.b);
  __builtin_trap();  // an entry never returns
}

}  // namespace

void* make_context(void* stack_top, std::size_t stack_size, ContextEntry entry, void* a,
                   std::uintptr_t b) noexcept {
  const fc::fcontext_t fresh = fc::make_fcontext(stack_top, stack_size, trampoline);
  Start start{entry, a, b};
  return fc::jump_fcontext(fresh, &start).fctx;
}

}  // namespace hc::detail

#else  // x86-64, System V

// hc_switch_context(void** save /* rdi */, void* to /* rsi */), and hc_switch_context_fp the same
//
// Frame of a suspended context, from its saved stack pointer up (8 bytes each):
//   +0 MXCSR (low 4 bytes) and the x87 control word (next 2)  +8 r12  +16 r13  +24 r14  +32 r15
//   +40 rbx  +48 rbp  +56 the address to resume at
// hc_switch_context_fp writes +0 when it suspends a flow, and reloads the control words from
// the resumed flow's +0 when they differ from the suspending flow's (ldmxcsr and fldcw are
// slow; the comparison is cheap). hc_switch_context neither writes nor reads +0.
// The CFI describes that frame, which is the same on both sides of the stack switch, so a
// signal taken inside the switch can still be unwound.
//
// How they leave: by `ret` when the resumed flow suspended at the same call site as the
// suspending one (the return stack buffer's prediction is then right, and the buffer stays
// balanced), else by an indirect jump, which the branch target predictor learns (a `ret` there
// would mispredict every time: the buffer holds the suspending flow's return address). The
// jump leaves one unmatched entry in the buffer, as Boost's switch does at every switch.
//
// hc_context_start: where a new context's first resume returns to (make_context's frame holds
// the entry in r12 and its arguments in r13 and r14). Its return address is undefined: unwinders
// stop there.
asm(R"(
    .text

    # Pushes the callee-saved registers and makes room for the control words' slot.
    .macro  hc_suspend_frame
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    .endm

    # On the resumed frame (rsp), with the suspending flow's return address in rcx: loads the
    # callee-saved registers and returns, or jumps. Leaves the CFI state of the frame
    # remembered: .cfi_restore_state after it describes the frame again.
    .macro  hc_resume_frame
    .cfi_remember_state
    movq    8(%rsp), %r12
    movq    16(%rsp), %r13
    movq    24(%rsp), %r14
    movq    32(%rsp), %r15
    movq    40(%rsp), %rbx
    movq    48(%rsp), %rbp
    cmpq    56(%rsp), %rcx
    jne     5f
    addq    $56, %rsp
    .cfi_remember_state
    .cfi_adjust_cfa_offset -56
    ret
    .cfi_restore_state
5:  movq    56(%rsp), %rcx
    addq    $64, %rsp
    .cfi_adjust_cfa_offset -64
    .cfi_register %rip, %rcx
    jmp     *%rcx
    .endm

    .globl  hc_switch_context
    .type   hc_switch_context, @function
    .p2align 4
hc_switch_context:
    .cfi_startproc
    hc_suspend_frame
    movq    %rsp, (%rdi)
    movq    56(%rsp), %rcx
    movq    %rsi, %rsp
    hc_resume_frame
    .cfi_restore_state
    .cfi_endproc
    .size   hc_switch_context, .-hc_switch_context

    .globl  hc_switch_context_fp
    .type   hc_switch_context_fp, @function
    .p2align 4
hc_switch_context_fp:
    .cfi_startproc
    hc_suspend_frame
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movl    (%rsp), %eax
    movzwl  4(%rsp), %edx
    movq    56(%rsp), %rcx
    movq    %rsi, %rsp
    cmpl    (%rsp), %eax
    jne     2f
1:  cmpw    4(%rsp), %dx
    jne     4f
3:  hc_resume_frame
    .cfi_restore_state
2:  ldmxcsr (%rsp)
    jmp     1b
4:  fldcw   4(%rsp)
    jmp     3b
    .cfi_endproc
    .size   hc_switch_context_fp, .-hc_switch_context_fp

    .type   hc_context_start, @function
    .p2align 4
hc_context_start:
    .cfi_startproc
    .cfi_undefined %rip
    movq    %r13, %rdi
    movq    %r14, %rsi
    callq   *%r12
    ud2
    .cfi_endproc
    .size   hc_context_start, .-hc_context_start
)");

extern "C" void hc_context_start();

namespace hc::detail {

void* make_context(void* stack_top, std::size_t /*stack_size*/, ContextEntry entry, void* a,
                   std::uintptr_t b) noexcept {
  // 16-byte aligned at the top: after the first resume's ret, rsp is `top`, and the call to
  // the entry leaves it 8 off 16 at the entry, as the ABI wants.
  const std::uintptr_t top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  auto* frame = reinterpret_cast<std::uint64_t*>(top - 64);
  // The creator's control words, as a new OS thread inherits its creator's.
  frame[0] = current_fp_control();
  frame[1] = reinterpret_cast<std::uint64_t>(entry);  // r12
  frame[2] = reinterpret_cast<std::uint64_t>(a);      // r13
  frame[3] = b;                                       // r14
  frame[4] = 0;                                       // r15
  frame[5] = 0;                                       // rbx
  frame[6] = 0;                                       // rbp
  frame[7] = reinterpret_cast<std::uint64_t>(&hc_context_start);
  return frame;
}

}  // namespace hc::detail

#endif

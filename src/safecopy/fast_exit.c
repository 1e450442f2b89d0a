/*
 * The fast exit: after a fault of safecopy's own routine, the handler jumps to the routine's landing
 * (asm/fast_exit.asm) instead of returning through rt_sigreturn, when that is provably the same for
 * the routine's caller. Otherwise it returns and the kernel restores the frame, as before.
 *
 * What rt_sigreturn does, and why the jump does the same (or the exit falls back):
 *
 * 1. General registers, RIP, RFLAGS, CS/SS from the frame. sc_fast_exit loads every general register
 *    and RSP from the frame and jumps to the landing; only RCX carries the target, and landings never
 *    read RCX (asm/safecopy.inc). Saved flags other than the arithmetic ones, IF and RF fall back (TF:
 *    someone single-steps; DF must be clear at a call; AC, NT, ID: rare, not worth reasoning about). The
 * arithmetic flags are dead at every landing; RF only hides a debug-register breakpoint on the landing's
 * first instruction from a debugger. DF is clear in the handler, as the kernel leaves it. CS and SS must be
 * the handler's own (the kernel's user selectors), or it falls back.
 * 2. The signal mask from uc_sigmask. At entry the kernel blocks uc_sigmask | sa_mask, plus the signal
 *    unless SA_NODEFER; safecopy's action has SA_NODEFER and an empty sa_mask, so the handler runs
 *    under exactly uc_sigmask and its own-fault path changes no mask: there is nothing to restore, and
 *    no pending signal becomes deliverable by a return (one arriving meanwhile was delivered at once).
 *    That holds only for frames the kernel built for safecopy's action, recognised by their return
 *    address: sc_signal_restorer, which only that action carries (glibc's sigaction installs its own
 *    restorer, so an action installed by anyone else, safecopy's handler re-installed included, has
 *    another). blocked.c's window is the one place where safecopy changes the mask around a routine;
 *    while any thread runs such a window (sc_gate != 0) faults take rt_sigreturn, the path its
 *    reasoning was made for.
 * 3. The alternate stack from uc_stack. The kernel decides "on the alternate stack" from RSP alone
 *    (on_sig_stack()), so being back on the saved RSP is all rt_sigreturn's restore amounts to: it
 *    cannot change settings while the thread is on the stack. The exception is SS_AUTODISARM, where the
 *    kernel disarmed the stack at entry and rt_sigreturn arms it again: that falls back.
 * 4. The FPU and extended state (x87, SSE, AVX, AVX-512, PKRU, ...). The kernel gives the handler the
 *    init state (MXCSR 0x1f80, x87 control word 0x37f, vector registers zero, PKRU its default) and
 *    leaves the interrupted state in the frame. The routines are leaf asm that use vector registers as
 *    scratch only, and no landing reads one. Under the SysV ABI the routine's caller may rely across
 *    the call only on MXCSR's control bits and the x87 control word: every vector and opmask register,
 *    the x87 stack and its status are caller-saved. sc_fast_exit restores MXCSR whole (its status
 *    flags too, so that fetestexcept() answers as before) and the x87 control word, or, when the x87
 *    status or tag word is not clean, the whole legacy region (FXRSTOR), x87 exception state included.
 *    Upper vector halves, AVX-512 and AMX state are left in their init state instead of the routine's
 *    scratch values. PKRU is no ABI state but the program's: the exit is taken only when the handler's
 *    PKRU already equals the saved one (no protection keys, or the program never changed its rights).
 * 5. The CET shadow stack: rt_sigreturn consumes the token the kernel pushed, and a jump would leave it
 *    there and break the next return. The exit is never set up when the initial thread has a shadow
 *    stack at safecopy_init(), and falls back in any thread that has one (RDSSP, a NOP without one).
 * 6. restart_block: rt_sigreturn makes a later restart_syscall fail with EINTR; the jump leaves it.
 *    The kernel consults it only when restart_syscall runs, which it arranges itself for a stopped
 *    system call; a safecopy fault never interrupts that arrangement directly, and any signal handler
 *    that does ends with an rt_sigreturn of its own, which resets it. Only a program that calls
 *    restart_syscall by hand inside a signal handler could tell.
 *
 * The frame must also be where the kernel builds it for this very interruption (get_sigframe()): the
 * ucontext just above the return address, the siginfo just above it, the saved FPU state 64-byte
 * aligned below the top the kernel chose (the interrupted RSP less the 128-byte red zone, or the
 * alternate stack's top when the interrupted code was not on it), the frame 16-byte aligned less 8
 * below that. Anything else (a frame some emulator built, a handler called by another handler) falls
 * back. A nested fault (a safecopy call in a handler running on the same stack, one chained from
 * safecopy's included) passes: its frame is the newest, the RSP it returns to is the inner handler's,
 * and nothing of the outer frames is touched. safecopy_handle_signal(), called from the program's own
 * handler, never jumps: it returns to that handler.
 */
#include <cpuid.h>
#include <stddef.h>
#include <ucontext.h>

#include "arch/x86_64.h"
#include "safecopy/cpuid.h"
#include "safecopy/fast_exit.h"
#include "safecopy/handler.h"
#include "safecopy/sigsys.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31)
#endif
#ifndef UC_SIGCONTEXT_SS
#define UC_SIGCONTEXT_SS 0x2
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

#define ARCH_SHSTK_STATUS 0x5005
#define ARCH_SHSTK_SHSTK  (1ul << 0)

/* The kernel's frame: return address, struct ucontext (304 bytes), siginfo (128), then padding. */
#define KERNEL_UCONTEXT_SIZE 304
#define KERNEL_FRAME_SIZE    (8 + KERNEL_UCONTEXT_SIZE + 128)
#define RED_ZONE             128

/*
 * The saved FPU state: FXSAVE layout, the kernel's software bytes (struct _fpx_sw_bytes, whose xstate_bv
 * is the features the frame holds) at 464 in XSAVE frames, the XSAVE header at 512.
 */
#define FX_SIZE       512
#define FX_SW_BYTES   464
#define XSAVE_HEADER  512
#define XFEATURE_PKRU 9

/* asm/fast_exit.asm reads glibc's ucontext_t as the kernel's struct ucontext. */
_Static_assert(offsetof(ucontext_t, uc_stack) == 16, "uc_stack offset");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs) == 40, "gregs offset");
_Static_assert(offsetof(ucontext_t, uc_mcontext.fpregs) == 40 + 23 * 8, "fpregs offset");
_Static_assert(REG_R8 == 0 && REG_RDI == 8 && REG_RSI == 9 && REG_RBP == 10 && REG_RBX == 11 &&
                   REG_RDX == 12 && REG_RAX == 13 && REG_RCX == 14 && REG_RSP == 15 && REG_RIP == 16,
               "asm/fast_exit.asm's register numbers");
_Static_assert(offsetof(ucontext_t, uc_sigmask) == KERNEL_UCONTEXT_SIZE - 8, "kernel ucontext size");

unsigned char sc_fast_exit_forced_off;
__thread unsigned long sc_fast_exit_count __attribute__((tls_model("initial-exec")));

static unsigned char shadow_stack_at_init;
static unsigned pkru_offset; /* of PKRU in the XSAVE layout; 0: the OS does not use protection keys */

static unsigned detect_pkru_offset(void)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_7, &a, &b, &c, &d);
	if (!(c & (1u << 4))) /* OSPKE */
		return 0;
	if (!__get_cpuid_count(0xd, XFEATURE_PKRU, &a, &b, &c, &d))
		return 0;
	return b;
}

/* Gives safecopy's action for sig its own restorer, if the kernel holds exactly that action. */
static void adopt(int sig)
{
	struct sc_kernel_sigaction act;
	if (arch_syscall4(SYS_rt_sigaction, sig, 0, (long)&act, sizeof(uint64_t)) != 0)
		return;
	unsigned long need = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	if ((uintptr_t)act.handler != (uintptr_t)sc_signal_handler || (act.flags & need) != need ||
	    act.mask != 0)
		return;
	act.flags |= SA_RESTORER;
	act.restorer = sc_signal_restorer;
	arch_syscall4(SYS_rt_sigaction, sig, (long)&act, 0, sizeof(uint64_t));
}

void sc_fast_exit_init(void)
{
	pkru_offset = detect_pkru_offset();
	unsigned long features = 0;
	if (arch_syscall4(SYS_arch_prctl, ARCH_SHSTK_STATUS, (long)&features, 0, 0) == 0 &&
	    (features & ARCH_SHSTK_SHSTK))
		shadow_stack_at_init = 1;
	if (shadow_stack_at_init)
		return;
	adopt(SIGSEGV);
	adopt(SIGBUS);
}

static const greg_t *gregs(const void *uc)
{
	return ((const ucontext_t *)uc)->uc_mcontext.gregs;
}

/* Built by the kernel for safecopy's action: our restorer, the ucontext and siginfo right above it. */
static bool our_kernel_frame(const void *frame, const void *uc, const siginfo_t *info)
{
	return frame != NULL && *(const uintptr_t *)frame == (uintptr_t)sc_signal_restorer &&
	       (uintptr_t)uc == (uintptr_t)frame + 8 &&
	       (uintptr_t)info == (uintptr_t)uc + KERNEL_UCONTEXT_SIZE;
}

/* Only flags no landing and no caller depends on: CF, PF, AF, ZF, SF, OF, IF, RF (bit 1 is fixed). */
static bool plain_flags(const void *uc)
{
	const uint64_t allowed = 0x1 | 0x2 | 0x4 | 0x10 | 0x40 | 0x80 | 0x200 | 0x800 | 0x10000;
	return ((uint64_t)gregs(uc)[REG_EFL] & ~allowed) == 0;
}

/* The saved CS and SS are the ones the handler runs with. */
static bool plain_segments(const void *uc)
{
	if (!(((const ucontext_t *)uc)->uc_flags & UC_SIGCONTEXT_SS))
		return false;
	uint16_t cs, ss;
	__asm__("mov %%cs, %0" : "=r"(cs));
	__asm__("mov %%ss, %0" : "=r"(ss));
	uint64_t saved = (uint64_t)gregs(uc)[REG_CSGSFS];
	return (uint16_t)saved == cs && (uint16_t)(saved >> 48) == ss;
}

static bool shadow_stack_active(void)
{
	uint64_t ssp = 0;
	__asm__ volatile(".byte 0xf3, 0x48, 0x0f, 0x1e, 0xc8" : "+a"(ssp)); /* rdsspq rax */
	return ssp != 0;
}

static const struct _fpx_sw_bytes *xsave_bytes(const unsigned char *fp)
{
	const struct _fpx_sw_bytes *sw = (const void *)(fp + FX_SW_BYTES);
	return sw->magic1 == FP_XSTATE_MAGIC1 ? sw : NULL;
}

/* Where get_sigframe() puts the frame for this interruption, with SA_ONSTACK. */
static bool frame_where_kernel_puts_it(const void *uc, const void *frame, const unsigned char *fp)
{
	const stack_t *alt = &((const ucontext_t *)uc)->uc_stack;
	uintptr_t top = (uintptr_t)gregs(uc)[REG_RSP] - RED_ZONE;
	uintptr_t alt_sp = (uintptr_t)alt->ss_sp;
	bool on_alt = top > alt_sp && top - alt_sp <= alt->ss_size;
	if (alt->ss_size != 0 && !(alt->ss_flags & SS_DISABLE) && !on_alt)
		top = alt_sp + alt->ss_size;
	const struct _fpx_sw_bytes *sw = xsave_bytes(fp);
	uintptr_t fp_size = sw ? sw->extended_size : FX_SIZE;
	uintptr_t want_fp = (top - fp_size) & ~(uintptr_t)63;
	uintptr_t want_frame = ((want_fp - KERNEL_FRAME_SIZE) & ~(uintptr_t)15) - 8;
	return (uintptr_t)fp == want_fp && (uintptr_t)frame == want_frame;
}

/* The handler runs with the PKRU the interrupted code had (the kernel gave it the default). */
static bool pkru_unchanged(const unsigned char *fp)
{
	if (pkru_offset == 0)
		return true;
	const struct _fpx_sw_bytes *sw = xsave_bytes(fp);
	if (!sw || !(sw->xstate_bv & (1u << XFEATURE_PKRU)) || pkru_offset + 4 > sw->xstate_size)
		return false;
	uint64_t present = *(const uint64_t *)(fp + XSAVE_HEADER);
	uint32_t saved = (present & (1u << XFEATURE_PKRU)) ? *(const uint32_t *)(fp + pkru_offset) : 0;
	uint32_t now, edx;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(now), "=d"(edx) : "c"(0)); /* rdpkru */
	return now == saved;
}

bool sc_fast_exit_allowed(const void *uc, const siginfo_t *info, const void *frame)
{
	if (sc_fast_exit_forced_off || shadow_stack_at_init || !our_kernel_frame(frame, uc, info))
		return false;
	if (__atomic_load_n(&sc_gate, __ATOMIC_ACQUIRE) != 0) /* blocked.c's windows may be open */
		return false;
	if (!plain_flags(uc) || !plain_segments(uc) || shadow_stack_active())
		return false;
	if (((const ucontext_t *)uc)->uc_stack.ss_flags & SS_AUTODISARM)
		return false;
	const unsigned char *fp = (const void *)((const ucontext_t *)uc)->uc_mcontext.fpregs;
	if (fp == NULL || !frame_where_kernel_puts_it(uc, frame, fp) || !pkru_unchanged(fp))
		return false;
	sc_fast_exit_count++;
	return true;
}

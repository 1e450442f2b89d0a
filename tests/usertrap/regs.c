/*
 * Test 2: registers across a patched syscall. A routine (top-level asm: yasm 1.3 has no AVX-512) loads
 * every GPR but RSP, the flags with DF set, MXCSR, ymm0-15, zmm16-31 and k1-7 (on AVX-512 CPUs) and the
 * 128-byte red zone with known values, jumps (no call: nothing may be pushed into the red zone) to a patched
 * site that jumps back, and stores everything. The hook clobbers every caller-saved GPR and all vector
 * registers it can, the opmask registers, MXCSR and the x87 control word (the test sets round-toward-zero
 * in both). Only RAX (result), RCX (= return address) and R11 (= RFLAGS) may differ. Each mode twice:
 * the hook answering, and the hook passing the call through (USERTRAP_RESULT_PASS).
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>

#include "usertrap/shapes.h"
#include "usertrap/util.h"

#include <criterion/parameterized.h> /* after criterion.h (util.h) */

struct regs {
	uint64_t gpr[16]; /* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
	uint64_t flags;
	uint64_t redzone[16];
	uint8_t ymm[16][32];
	uint8_t zmm[16][64]; /* zmm16..31 */
	uint64_t k[8];       /* k0..k7 (AVX-512) */
	uint32_t mxcsr;
	uint16_t fcw, pad; /* the x87 control word */
};
_Static_assert(sizeof(struct regs) == 1872, "layout used by the asm");

__attribute__((aligned(64), used)) struct regs rt_in, rt_out;
__attribute__((used)) uint64_t rt_scratch, rt_site, rt_avx512, rt_saved_rsp;
void regs_roundtrip(void);
extern char regs_resume[];

__asm__(".text\n"
        ".intel_syntax noprefix\n"
        ".globl regs_roundtrip\n"
        ".type regs_roundtrip, @function\n"
        "regs_roundtrip:\n"
        "\tendbr64\n"
        "\tkeep_caller rt_saved_rsp\n"
        "\tldmxcsr [rip + rt_in + 1864]\n"
        "\tfldcw [rip + rt_in + 1868]\n"
        "\tcmp qword ptr [rip + rt_avx512], 0\n"
        "\tje 1f\n"
        "\tkmovq k1, [rip + rt_in + 1808]\n"
        "\tkmovq k2, [rip + rt_in + 1816]\n"
        "\tkmovq k3, [rip + rt_in + 1824]\n"
        "\tkmovq k4, [rip + rt_in + 1832]\n"
        "\tkmovq k5, [rip + rt_in + 1840]\n"
        "\tkmovq k6, [rip + rt_in + 1848]\n"
        "\tkmovq k7, [rip + rt_in + 1856]\n"
        "\tvmovdqu64 zmm16, [rip + rt_in + 776]\n"
        "\tvmovdqu64 zmm17, [rip + rt_in + 840]\n"
        "\tvmovdqu64 zmm18, [rip + rt_in + 904]\n"
        "\tvmovdqu64 zmm19, [rip + rt_in + 968]\n"
        "\tvmovdqu64 zmm20, [rip + rt_in + 1032]\n"
        "\tvmovdqu64 zmm21, [rip + rt_in + 1096]\n"
        "\tvmovdqu64 zmm22, [rip + rt_in + 1160]\n"
        "\tvmovdqu64 zmm23, [rip + rt_in + 1224]\n"
        "\tvmovdqu64 zmm24, [rip + rt_in + 1288]\n"
        "\tvmovdqu64 zmm25, [rip + rt_in + 1352]\n"
        "\tvmovdqu64 zmm26, [rip + rt_in + 1416]\n"
        "\tvmovdqu64 zmm27, [rip + rt_in + 1480]\n"
        "\tvmovdqu64 zmm28, [rip + rt_in + 1544]\n"
        "\tvmovdqu64 zmm29, [rip + rt_in + 1608]\n"
        "\tvmovdqu64 zmm30, [rip + rt_in + 1672]\n"
        "\tvmovdqu64 zmm31, [rip + rt_in + 1736]\n"
        "1:\n"
        "\tvmovdqu ymm0, [rip + rt_in + 264]\n"
        "\tvmovdqu ymm1, [rip + rt_in + 296]\n"
        "\tvmovdqu ymm2, [rip + rt_in + 328]\n"
        "\tvmovdqu ymm3, [rip + rt_in + 360]\n"
        "\tvmovdqu ymm4, [rip + rt_in + 392]\n"
        "\tvmovdqu ymm5, [rip + rt_in + 424]\n"
        "\tvmovdqu ymm6, [rip + rt_in + 456]\n"
        "\tvmovdqu ymm7, [rip + rt_in + 488]\n"
        "\tvmovdqu ymm8, [rip + rt_in + 520]\n"
        "\tvmovdqu ymm9, [rip + rt_in + 552]\n"
        "\tvmovdqu ymm10, [rip + rt_in + 584]\n"
        "\tvmovdqu ymm11, [rip + rt_in + 616]\n"
        "\tvmovdqu ymm12, [rip + rt_in + 648]\n"
        "\tvmovdqu ymm13, [rip + rt_in + 680]\n"
        "\tvmovdqu ymm14, [rip + rt_in + 712]\n"
        "\tvmovdqu ymm15, [rip + rt_in + 744]\n"
        "\tpush qword ptr [rip + rt_in + 128]\n"
        "\tpopfq\n"
        "\tmov rax, [rip + rt_in + 136]\n"
        "\tmov [rsp - 128 + 0], rax\n"
        "\tmov rax, [rip + rt_in + 144]\n"
        "\tmov [rsp - 128 + 8], rax\n"
        "\tmov rax, [rip + rt_in + 152]\n"
        "\tmov [rsp - 128 + 16], rax\n"
        "\tmov rax, [rip + rt_in + 160]\n"
        "\tmov [rsp - 128 + 24], rax\n"
        "\tmov rax, [rip + rt_in + 168]\n"
        "\tmov [rsp - 128 + 32], rax\n"
        "\tmov rax, [rip + rt_in + 176]\n"
        "\tmov [rsp - 128 + 40], rax\n"
        "\tmov rax, [rip + rt_in + 184]\n"
        "\tmov [rsp - 128 + 48], rax\n"
        "\tmov rax, [rip + rt_in + 192]\n"
        "\tmov [rsp - 128 + 56], rax\n"
        "\tmov rax, [rip + rt_in + 200]\n"
        "\tmov [rsp - 128 + 64], rax\n"
        "\tmov rax, [rip + rt_in + 208]\n"
        "\tmov [rsp - 128 + 72], rax\n"
        "\tmov rax, [rip + rt_in + 216]\n"
        "\tmov [rsp - 128 + 80], rax\n"
        "\tmov rax, [rip + rt_in + 224]\n"
        "\tmov [rsp - 128 + 88], rax\n"
        "\tmov rax, [rip + rt_in + 232]\n"
        "\tmov [rsp - 128 + 96], rax\n"
        "\tmov rax, [rip + rt_in + 240]\n"
        "\tmov [rsp - 128 + 104], rax\n"
        "\tmov rax, [rip + rt_in + 248]\n"
        "\tmov [rsp - 128 + 112], rax\n"
        "\tmov rax, [rip + rt_in + 256]\n"
        "\tmov [rsp - 128 + 120], rax\n"
        "\tmov rbx, [rip + rt_in + 8]\n"
        "\tmov rcx, [rip + rt_in + 16]\n"
        "\tmov rdx, [rip + rt_in + 24]\n"
        "\tmov rsi, [rip + rt_in + 32]\n"
        "\tmov rdi, [rip + rt_in + 40]\n"
        "\tmov rbp, [rip + rt_in + 48]\n"
        "\tmov r8, [rip + rt_in + 64]\n"
        "\tmov r9, [rip + rt_in + 72]\n"
        "\tmov r10, [rip + rt_in + 80]\n"
        "\tmov r11, [rip + rt_in + 88]\n"
        "\tmov r12, [rip + rt_in + 96]\n"
        "\tmov r13, [rip + rt_in + 104]\n"
        "\tmov r14, [rip + rt_in + 112]\n"
        "\tmov r15, [rip + rt_in + 120]\n"
        "\tmov rax, [rip + rt_in]\n"
        "\tjmp qword ptr [rip + rt_site]\n"
        "regs_resume:\n"
        "\tmov [rip + rt_out + 0], rax\n"
        "\tmov [rip + rt_out + 8], rbx\n"
        "\tmov [rip + rt_out + 16], rcx\n"
        "\tmov [rip + rt_out + 24], rdx\n"
        "\tmov [rip + rt_out + 32], rsi\n"
        "\tmov [rip + rt_out + 40], rdi\n"
        "\tmov [rip + rt_out + 48], rbp\n"
        "\tmov [rip + rt_out + 56], rsp\n"
        "\tmov [rip + rt_out + 64], r8\n"
        "\tmov [rip + rt_out + 72], r9\n"
        "\tmov [rip + rt_out + 80], r10\n"
        "\tmov [rip + rt_out + 88], r11\n"
        "\tmov [rip + rt_out + 96], r12\n"
        "\tmov [rip + rt_out + 104], r13\n"
        "\tmov [rip + rt_out + 112], r14\n"
        "\tmov [rip + rt_out + 120], r15\n"
        "\tmov rax, [rsp - 128 + 0]\n"
        "\tmov [rip + rt_out + 136], rax\n"
        "\tmov rax, [rsp - 128 + 8]\n"
        "\tmov [rip + rt_out + 144], rax\n"
        "\tmov rax, [rsp - 128 + 16]\n"
        "\tmov [rip + rt_out + 152], rax\n"
        "\tmov rax, [rsp - 128 + 24]\n"
        "\tmov [rip + rt_out + 160], rax\n"
        "\tmov rax, [rsp - 128 + 32]\n"
        "\tmov [rip + rt_out + 168], rax\n"
        "\tmov rax, [rsp - 128 + 40]\n"
        "\tmov [rip + rt_out + 176], rax\n"
        "\tmov rax, [rsp - 128 + 48]\n"
        "\tmov [rip + rt_out + 184], rax\n"
        "\tmov rax, [rsp - 128 + 56]\n"
        "\tmov [rip + rt_out + 192], rax\n"
        "\tmov rax, [rsp - 128 + 64]\n"
        "\tmov [rip + rt_out + 200], rax\n"
        "\tmov rax, [rsp - 128 + 72]\n"
        "\tmov [rip + rt_out + 208], rax\n"
        "\tmov rax, [rsp - 128 + 80]\n"
        "\tmov [rip + rt_out + 216], rax\n"
        "\tmov rax, [rsp - 128 + 88]\n"
        "\tmov [rip + rt_out + 224], rax\n"
        "\tmov rax, [rsp - 128 + 96]\n"
        "\tmov [rip + rt_out + 232], rax\n"
        "\tmov rax, [rsp - 128 + 104]\n"
        "\tmov [rip + rt_out + 240], rax\n"
        "\tmov rax, [rsp - 128 + 112]\n"
        "\tmov [rip + rt_out + 248], rax\n"
        "\tmov rax, [rsp - 128 + 120]\n"
        "\tmov [rip + rt_out + 256], rax\n"
        "\tpushfq\n"
        "\tpop rax\n"
        "\tmov [rip + rt_out + 128], rax\n"
        "\tcld\n"
        "\tvmovdqu [rip + rt_out + 264], ymm0\n"
        "\tvmovdqu [rip + rt_out + 296], ymm1\n"
        "\tvmovdqu [rip + rt_out + 328], ymm2\n"
        "\tvmovdqu [rip + rt_out + 360], ymm3\n"
        "\tvmovdqu [rip + rt_out + 392], ymm4\n"
        "\tvmovdqu [rip + rt_out + 424], ymm5\n"
        "\tvmovdqu [rip + rt_out + 456], ymm6\n"
        "\tvmovdqu [rip + rt_out + 488], ymm7\n"
        "\tvmovdqu [rip + rt_out + 520], ymm8\n"
        "\tvmovdqu [rip + rt_out + 552], ymm9\n"
        "\tvmovdqu [rip + rt_out + 584], ymm10\n"
        "\tvmovdqu [rip + rt_out + 616], ymm11\n"
        "\tvmovdqu [rip + rt_out + 648], ymm12\n"
        "\tvmovdqu [rip + rt_out + 680], ymm13\n"
        "\tvmovdqu [rip + rt_out + 712], ymm14\n"
        "\tvmovdqu [rip + rt_out + 744], ymm15\n"
        "\tstmxcsr [rip + rt_out + 1864]\n"
        "\tfnstcw [rip + rt_out + 1868]\n"
        "\tmov dword ptr [rip + rt_scratch], 0x1f80\n"
        "\tldmxcsr [rip + rt_scratch]\n"
        "\tmov word ptr [rip + rt_scratch], 0x37f\n"
        "\tfldcw [rip + rt_scratch]\n"
        "\tcmp qword ptr [rip + rt_avx512], 0\n"
        "\tje 2f\n"
        "\tkmovq [rip + rt_out + 1808], k1\n"
        "\tkmovq [rip + rt_out + 1816], k2\n"
        "\tkmovq [rip + rt_out + 1824], k3\n"
        "\tkmovq [rip + rt_out + 1832], k4\n"
        "\tkmovq [rip + rt_out + 1840], k5\n"
        "\tkmovq [rip + rt_out + 1848], k6\n"
        "\tkmovq [rip + rt_out + 1856], k7\n"
        "\tvmovdqu64 [rip + rt_out + 776], zmm16\n"
        "\tvmovdqu64 [rip + rt_out + 840], zmm17\n"
        "\tvmovdqu64 [rip + rt_out + 904], zmm18\n"
        "\tvmovdqu64 [rip + rt_out + 968], zmm19\n"
        "\tvmovdqu64 [rip + rt_out + 1032], zmm20\n"
        "\tvmovdqu64 [rip + rt_out + 1096], zmm21\n"
        "\tvmovdqu64 [rip + rt_out + 1160], zmm22\n"
        "\tvmovdqu64 [rip + rt_out + 1224], zmm23\n"
        "\tvmovdqu64 [rip + rt_out + 1288], zmm24\n"
        "\tvmovdqu64 [rip + rt_out + 1352], zmm25\n"
        "\tvmovdqu64 [rip + rt_out + 1416], zmm26\n"
        "\tvmovdqu64 [rip + rt_out + 1480], zmm27\n"
        "\tvmovdqu64 [rip + rt_out + 1544], zmm28\n"
        "\tvmovdqu64 [rip + rt_out + 1608], zmm29\n"
        "\tvmovdqu64 [rip + rt_out + 1672], zmm30\n"
        "\tvmovdqu64 [rip + rt_out + 1736], zmm31\n"
        "2:\n"
        "\tvzeroupper\n"
        "\tback_to_caller rt_saved_rsp\n"
        ".att_syntax prefix\n");

enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11 };
static const char *const names[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

#define RESULT 0x1122334455667788L

/* Every caller-saved GPR, the flags, every vector and opmask register, MXCSR's and the x87's rounding. */
static void clobber_everything(void)
{
	__asm__ volatile("vpcmpeqb %%ymm0, %%ymm0, %%ymm0\n\tvpcmpeqb %%ymm1, %%ymm1, %%ymm1\n\t"
	                 "vpcmpeqb %%ymm2, %%ymm2, %%ymm2\n\tvpcmpeqb %%ymm3, %%ymm3, %%ymm3\n\t"
	                 "vpcmpeqb %%ymm4, %%ymm4, %%ymm4\n\tvpcmpeqb %%ymm5, %%ymm5, %%ymm5\n\t"
	                 "vpcmpeqb %%ymm6, %%ymm6, %%ymm6\n\tvpcmpeqb %%ymm7, %%ymm7, %%ymm7\n\t"
	                 "vpcmpeqb %%ymm8, %%ymm8, %%ymm8\n\tvpcmpeqb %%ymm9, %%ymm9, %%ymm9\n\t"
	                 "vpcmpeqb %%ymm10, %%ymm10, %%ymm10\n\tvpcmpeqb %%ymm11, %%ymm11, %%ymm11\n\t"
	                 "vpcmpeqb %%ymm12, %%ymm12, %%ymm12\n\tvpcmpeqb %%ymm13, %%ymm13, %%ymm13\n\t"
	                 "vpcmpeqb %%ymm14, %%ymm14, %%ymm14\n\tvpcmpeqb %%ymm15, %%ymm15, %%ymm15\n\t"
	                 "mov $-1, %%rdi\n\tmov $-1, %%rsi\n\tmov $-1, %%rdx\n\tmov $-1, %%r8\n\t"
	                 "mov $-1, %%r9\n\tmov $-1, %%r10\n\tmov $-1, %%r11\n\tmov $-1, %%rcx\n\t"
	                 "xor %%eax, %%eax\n\t" /* flags: ZF=1, CF=0, ... */
	                 ::
	                     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc", "memory",
	                       "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
	                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	if (rt_avx512)
		__asm__ volatile(".irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"
		                 "vpternlogd $0xff, %%zmm\\r, %%zmm\\r, %%zmm\\r\n\t.endr\n\t"
		                 ".irp r,1,2,3,4,5,6,7\n\tkxnorq %%k\\r, %%k\\r, %%k\\r\n\t.endr" ::
		                     : "memory");
	unsigned dflt = 0x1f80;
	unsigned short x87 = 0x37f;
	__asm__ volatile("ldmxcsr %0" ::"m"(dflt)); /* back to round-to-nearest */
	__asm__ volatile("fldcw %0" ::"m"(x87));    /* and the x87's too */
}

/* RFLAGS as the hook found them on its round trip's call (DF must be clear in C code, whatever the
 * site had: check_roundtrip). */
static uint64_t hook_flags;

static void note_hook_flags(const struct usertrap_call *call)
{
	if (call->nr != NR_FAKE2)
		return;
	uint64_t f;
	__asm__ volatile("pushfq\n\tpopq %0" : "=r"(f));
	hook_flags = f;
}

static long clobbering_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	note_hook_flags(call);
	if (call->nr != NR_FAKE2)
		return usertrap_syscall(call);
	clobber_everything();
	return RESULT;
}

static long quiet_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	note_hook_flags(call);
	return call->nr == NR_FAKE2 ? RESULT : usertrap_syscall(call);
}

/* The pass-through: NR_FAKE2 is no system call, so the kernel answers -ENOSYS. */
#define PASSED_RESULT (-(long)ENOSYS)

static long clobbering_pass_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	note_hook_flags(call);
	if (call->nr == NR_FAKE2)
		clobber_everything();
	return USERTRAP_RESULT_PASS;
}

static long quiet_pass_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	note_hook_flags(call);
	return USERTRAP_RESULT_PASS;
}

/* Flag bits of RFLAGS (pushfq's image). */
#define FL_CF       0x1u
#define FL_RESERVED 0x2u /* always set */
#define FL_PF       0x4u
#define FL_AF       0x10u
#define FL_ZF       0x40u
#define FL_SF       0x80u
#define FL_DF       0x400u
#define FL_OF       0x800u
#define FL_ARITH    (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* The flags regs_roundtrip loads: by default every arithmetic flag and DF (flags_* tests vary them). */
static uint64_t input_flags = FL_ARITH | FL_DF | FL_RESERVED;

static void fill_input(void)
{
	for (int i = 0; i < 16; i++)
		rt_in.gpr[i] = 0x0101010101010101ULL * (uint64_t)(i + 1) ^ 0x8000000000000000ULL;
	rt_in.flags = input_flags;
	for (int i = 0; i < 16; i++)
		rt_in.redzone[i] = 0xfeedface00000000ULL + (uint64_t)i;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 32; j++)
			rt_in.ymm[i][j] = (uint8_t)(i * 32 + j + 7);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++)
			rt_in.zmm[i][j] = (uint8_t)(i * 64 + j + 91);
	for (int i = 1; i < 8; i++)
		rt_in.k[i] = 0x0123456789abcdefULL * (uint64_t)i;
	rt_in.mxcsr = 0x1f80 | 0x6000; /* round toward zero */
	rt_in.fcw = 0x37f | 0xc00;     /* the x87's too */
	memset(&rt_out, 0, sizeof rt_out);
	hook_flags = FL_DF; /* as if the hook had not run */
}

static void check_roundtrip(long rax_want, uint64_t rcx_want, uint64_t rbx_want);

static void init_mode(usertrap_hook_fn hook, unsigned flags, enum usertrap_vector_save mode)
{
	struct usertrap_config cfg = {.hook = hook, .flags = flags, .vector_save = mode};
	struct usertrap_error err;
	int r = usertrap_init(&cfg, &err);
	cr_assert_eq(r, 0, "init: %s", usertrap_status_name(r));
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	rt_avx512 = (b & (1u << 16)) != 0; /* AVX512F (the kernel enables it when present) */
}

/* One round trip through a patched site, its result rax_want. */
static void run_expecting(usertrap_hook_fn hook, unsigned flags, enum usertrap_vector_save mode,
                          long rax_want)
{
	init_mode(hook, flags, mode);
	unsigned char *m = patched_jump_site(regs_resume);
	rt_site = (uint64_t)(uintptr_t)m;

	fill_input();
	regs_roundtrip();
	check_roundtrip(rax_want, (uint64_t)(uintptr_t)m + 7, rt_in.gpr[RBX]);
}

static void run(usertrap_hook_fn hook, unsigned flags, enum usertrap_vector_save mode)
{
	run_expecting(hook, flags, mode, RESULT);
}

/* The same with the hook passing the call through (USERTRAP_RESULT_PASS). */
static void run_pass(usertrap_hook_fn hook, unsigned flags, enum usertrap_vector_save mode)
{
	run_expecting(hook, flags, mode, PASSED_RESULT);
}

/* What regs_roundtrip stored, against its input: RAX as rax_want, RCX as rcx_want (0: anything), RBX
 * as rbx_want. */
static void check_roundtrip(long rax_want, uint64_t rcx_want, uint64_t rbx_want)
{
	struct usertrap_counters cnt;
	usertrap_get_counters(&cnt);
	cr_assert_eq(cnt.trampoline_calls, 1, "the call went through the trampoline");
	cr_expect_eq(rt_out.gpr[RAX], (uint64_t)rax_want, "RAX %#llx, want %#llx",
	             (unsigned long long)rt_out.gpr[RAX], (unsigned long long)rax_want);
	if (rcx_want)
		cr_expect_eq(rt_out.gpr[RCX], rcx_want, "RCX = the return address, as after syscall");
	cr_expect_eq(rt_out.gpr[R11], rt_out.flags, "R11 = RFLAGS, as after syscall");
	cr_expect_eq(rt_out.gpr[RSP], rt_saved_rsp, "RSP");
	cr_expect_eq(rt_out.gpr[RBX], rbx_want, "RBX %#llx, want %#llx", (unsigned long long)rt_out.gpr[RBX],
	             (unsigned long long)rbx_want);
	for (int i = 0; i < 16; i++)
		if (i != RAX && i != RCX && i != R11 && i != RSP && i != RBX)
			cr_expect_eq(rt_out.gpr[i], rt_in.gpr[i], "%s: %#llx, want %#llx", names[i],
			             (unsigned long long)rt_out.gpr[i], (unsigned long long)rt_in.gpr[i]);
	const uint64_t arith = FL_ARITH | FL_DF;
	cr_expect_eq(rt_out.flags & arith, rt_in.flags & arith, "flags %#llx, want %#llx",
	             (unsigned long long)rt_out.flags, (unsigned long long)rt_in.flags);
	cr_expect_eq(hook_flags & FL_DF, 0, "the hook ran with DF set (flags %#llx at the site)",
	             (unsigned long long)rt_in.flags);
	for (int i = 0; i < 16; i++)
		cr_expect_eq(rt_out.redzone[i], rt_in.redzone[i], "red zone qword %d", i);
	for (int i = 0; i < 16; i++)
		cr_expect_eq(memcmp(rt_out.ymm[i], rt_in.ymm[i], 32), 0, "ymm%d", i);
	cr_expect_eq(rt_out.mxcsr, rt_in.mxcsr, "MXCSR %#x, want %#x", rt_out.mxcsr, rt_in.mxcsr);
	cr_expect_eq(rt_out.fcw, rt_in.fcw, "x87 control word %#x, want %#x", rt_out.fcw, rt_in.fcw);
	if (rt_avx512) {
		for (int i = 0; i < 16; i++)
			cr_expect_eq(memcmp(rt_out.zmm[i], rt_in.zmm[i], 64), 0, "zmm%d", i + 16);
		for (int i = 1; i < 8; i++)
			cr_expect_eq(rt_out.k[i], rt_in.k[i], "k%d", i);
	}
}

/* The round trip in save mode `mode` (skipped where the CPU lacks it), the hook answering or passing
 * the call through (USERTRAP_RESULT_PASS, which the trampoline then makes itself from the trap table:
 * the same registers, flags, red zone and vector state, RCX the address after the site, the kernel's
 * own result in RAX). */
static void run_mode(enum usertrap_vector_save mode, bool pass)
{
	unsigned a, b, c, d;
	__cpuid_count(0xd, 1, a, b, c, d);
	if (mode == USERTRAP_VECTOR_XSAVEC && !(a & 2))
		cr_skip_test("the CPU has no XSAVEC");
	if (mode == USERTRAP_VECTOR_INUSE && !inuse_supported())
		cr_skip_test("no AVX-512 or no XINUSE: USERTRAP_VECTOR_INUSE is refused here");
	if (pass)
		run_pass(clobbering_pass_hook, 0, mode);
	else
		run(clobbering_hook, 0, mode);
}

Test(regs, preserved_with_xsavec)
{
	run_mode(USERTRAP_VECTOR_XSAVEC, false);
}

Test(regs, preserved_with_xsave)
{
	run_mode(USERTRAP_VECTOR_XSAVE, false);
}

Test(regs, preserved_with_plain_moves)
{
	run_mode(USERTRAP_VECTOR_REGS, false);
}

Test(regs, preserved_with_auto)
{
	run_mode(USERTRAP_VECTOR_AUTO, false);
}

Test(regs, preserved_with_inuse)
{
	run_mode(USERTRAP_VECTOR_INUSE, false);
}

/* With the promise not to touch vector state, the trampoline saves none; a hook that keeps it holds. */
Test(regs, preserved_with_no_vector_promise)
{
	run(quiet_hook, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO);
}

Test(regs, pass_through_preserved_with_xsavec)
{
	run_mode(USERTRAP_VECTOR_XSAVEC, true);
}

Test(regs, pass_through_preserved_with_xsave)
{
	run_mode(USERTRAP_VECTOR_XSAVE, true);
}

Test(regs, pass_through_preserved_with_plain_moves)
{
	run_mode(USERTRAP_VECTOR_REGS, true);
}

Test(regs, pass_through_preserved_with_auto)
{
	run_mode(USERTRAP_VECTOR_AUTO, true);
}

Test(regs, pass_through_preserved_with_inuse)
{
	run_mode(USERTRAP_VECTOR_INUSE, true);
}

Test(regs, pass_through_preserved_with_no_vector_promise)
{
	run_pass(quiet_pass_hook, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO);
}

/*
 * The same through a relocated window (window_shapes.asm, shape `regs`): `mov data(%rip),%rbx` and a
 * `jne` (not taken: ZF is set) moved into the stub with the syscall. RBX must hold the data the moved
 * RIP-relative load found; RCX is the stub's resume address there, not the site's.
 */
static void run_window(usertrap_hook_fn hook, long rax_want)
{
	init_mode(hook, 0, USERTRAP_VECTOR_AUTO);
	const struct shape s = SHAPE(regs, 9, 0, NULL);
	uint64_t back = (uint64_t)(uintptr_t)regs_resume;
	struct placed p = place_shape_with(&s, &back, sizeof back);
	struct usertrap_error err;
	int r = usertrap_patch_syscall(p.insn, p.fn, p.end, &err);
	cr_assert_eq(r, 0, "patch: %s", usertrap_status_name(r));
	cr_assert_eq(p.insn[-9], 0xe9, "the window starts at the RIP-relative load");
	rt_site = (uint64_t)(uintptr_t)p.fn;
	fill_input();
	regs_roundtrip();
	check_roundtrip(rax_want, 0, 0x5a5a5a5a12345678ULL);
}

Test(regs, preserved_through_a_relocated_window)
{
	run_window(clobbering_hook, RESULT);
}

/* Through a window the pass-through leaves from the trap table's window gate back into the stub. */
Test(regs, pass_through_preserved_through_a_relocated_window)
{
	run_window(clobbering_pass_hook, PASSED_RESULT);
}

/*
 * The flags on the way back, pattern by pattern: the trampoline sets the arithmetic flags with an add
 * (OF) and SAHF when nothing else differs from plain user code (IF and bit 1 only), and falls back to
 * POPFQ otherwise (DF here). Each arithmetic flag alone and set against all the others clear (an OF or
 * SAHF slip shows as one wrong bit), all and none of them, and DF with either: through a 7-byte site
 * and through a relocated window (whose moved `jne` wants ZF set), the hook answering or passing the
 * call through. A hook that clobbers the flags runs in between (clobber_everything).
 */
static const uint64_t flag_patterns[] = {FL_RESERVED,
                                         FL_RESERVED | FL_CF,
                                         FL_RESERVED | FL_PF,
                                         FL_RESERVED | FL_AF,
                                         FL_RESERVED | FL_ZF,
                                         FL_RESERVED | FL_SF,
                                         FL_RESERVED | FL_OF,
                                         FL_RESERVED | FL_ARITH,
                                         FL_RESERVED | FL_DF,
                                         FL_RESERVED | FL_ARITH | FL_DF,
                                         FL_RESERVED | (FL_ARITH & ~FL_OF),
                                         FL_RESERVED | (FL_ARITH & ~FL_CF),
                                         FL_RESERVED | FL_OF | FL_ZF};

ParameterizedTestParameters(regs, flags_through_a_patched_site)
{
	return cr_make_param_array(uint64_t, flag_patterns, sizeof flag_patterns / sizeof flag_patterns[0]);
}

ParameterizedTest(uint64_t *flags, regs, flags_through_a_patched_site)
{
	input_flags = *flags;
	run(clobbering_hook, 0, USERTRAP_VECTOR_AUTO);
}

ParameterizedTestParameters(regs, flags_through_a_patched_site_passed_through)
{
	return cr_make_param_array(uint64_t, flag_patterns, sizeof flag_patterns / sizeof flag_patterns[0]);
}

ParameterizedTest(uint64_t *flags, regs, flags_through_a_patched_site_passed_through)
{
	input_flags = *flags;
	run_pass(clobbering_pass_hook, 0, USERTRAP_VECTOR_AUTO);
}

ParameterizedTestParameters(regs, flags_through_a_window)
{
	return cr_make_param_array(uint64_t, flag_patterns, sizeof flag_patterns / sizeof flag_patterns[0]);
}

ParameterizedTest(uint64_t *flags, regs, flags_through_a_window)
{
	input_flags = *flags | FL_ZF;
	run_window(clobbering_hook, RESULT);
}

ParameterizedTestParameters(regs, flags_through_a_window_passed_through)
{
	return cr_make_param_array(uint64_t, flag_patterns, sizeof flag_patterns / sizeof flag_patterns[0]);
}

ParameterizedTest(uint64_t *flags, regs, flags_through_a_window_passed_through)
{
	input_flags = *flags | FL_ZF;
	run_window(clobbering_pass_hook, PASSED_RESULT);
}

/* Every save mode once more with DF clear and every arithmetic flag set, the SAHF way back (the mode
 * tests above set DF, the POPFQ way), answered and passed through. */
struct mode_case {
	enum usertrap_vector_save mode;
	bool no_vector; /* the hook flagged USERTRAP_HOOK_NO_VECTOR (mode unused) */
	bool pass;
};

static const struct mode_case sahf_cases[] = {
    {USERTRAP_VECTOR_XSAVEC, false, false}, {USERTRAP_VECTOR_XSAVEC, false, true},
    {USERTRAP_VECTOR_XSAVE, false, false},  {USERTRAP_VECTOR_XSAVE, false, true},
    {USERTRAP_VECTOR_REGS, false, false},   {USERTRAP_VECTOR_REGS, false, true},
    {USERTRAP_VECTOR_INUSE, false, false},  {USERTRAP_VECTOR_INUSE, false, true},
    {USERTRAP_VECTOR_AUTO, true, false},    {USERTRAP_VECTOR_AUTO, true, true}};

ParameterizedTestParameters(regs, arithmetic_flags_in_every_mode)
{
	return cr_make_param_array(struct mode_case, sahf_cases, sizeof sahf_cases / sizeof sahf_cases[0]);
}

ParameterizedTest(struct mode_case *c, regs, arithmetic_flags_in_every_mode)
{
	input_flags = FL_RESERVED | FL_ARITH;
	if (!c->no_vector)
		run_mode(c->mode, c->pass);
	else if (c->pass)
		run_pass(quiet_pass_hook, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO);
	else
		run(quiet_hook, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO);
}

/*
 * Vector state across a patched syscall in every save mode, on AVX-512 CPUs, in the shapes the XINUSE
 * body tells apart: a routine (top-level asm) loads all 512 bits of zmm0-31 and k0-7, then leaves them
 * in one of three shapes, jumps to a patched site and stores them when it comes back. The hook
 * clobbers every bit of zmm0-31 and k0-7. Each register must come back as the shape left it:
 *   ALL        every register holds data;
 *   VZEROUPPER after vzeroupper: zmm0-15 hold data below bit 128 only (AVX and ZMM_Hi256 not in use);
 *   HI_ZERO    zmm16-31 and k0-7 in their initial state (XRSTOR from an all-initial area): zeros, as
 *              for an app that never used them.
 * Where the CPU has XINUSE, the test also checks that the shape left the components in the state it
 * names, so that the XINUSE body's paths for components not in use are the ones tested.
 */
#include <stdio.h>

#include "cpu_vendor.h"
#include "usertrap/util.h"

struct vstate {
	uint8_t zmm[32][64];
	uint64_t k[8];
};
_Static_assert(sizeof(struct vstate) == 2112, "layout used by the asm");

enum shape { ALL, VZEROUPPER, HI_ZERO };

/* XSAVE state components (XCR0 and XINUSE bits). */
#define XF_AVX       0x04
#define XF_OPMASK    0x20
#define XF_ZMM_HI256 0x40
#define XF_HI16_ZMM  0x80

__attribute__((aligned(64), used)) struct vstate vs_in, vs_out;
__attribute__((used)) uint64_t vs_site, vs_saved_rsp, vs_shape, vs_has_xinuse, vs_inuse, vs_inuse_after;
/* An XSAVE area whose header says every component is in its initial state: XRSTOR from it with a
 * component in EDX:EAX puts that component in its initial state (zeros, and XINUSE clear). */
__attribute__((aligned(64), used)) uint8_t vs_init_area[4096];
void vstate_roundtrip(void);
extern char vstate_resume[];

__asm__(".text\n"
        ".intel_syntax noprefix\n"
        ".globl vstate_roundtrip\n"
        ".type vstate_roundtrip, @function\n"
        "vstate_roundtrip:\n"
        "\tendbr64\n"
        "\tkeep_caller vs_saved_rsp\n"
        "\tvmovdqu64 zmm0, [rip + vs_in + 0]\n"
        "\tvmovdqu64 zmm1, [rip + vs_in + 64]\n"
        "\tvmovdqu64 zmm2, [rip + vs_in + 128]\n"
        "\tvmovdqu64 zmm3, [rip + vs_in + 192]\n"
        "\tvmovdqu64 zmm4, [rip + vs_in + 256]\n"
        "\tvmovdqu64 zmm5, [rip + vs_in + 320]\n"
        "\tvmovdqu64 zmm6, [rip + vs_in + 384]\n"
        "\tvmovdqu64 zmm7, [rip + vs_in + 448]\n"
        "\tvmovdqu64 zmm8, [rip + vs_in + 512]\n"
        "\tvmovdqu64 zmm9, [rip + vs_in + 576]\n"
        "\tvmovdqu64 zmm10, [rip + vs_in + 640]\n"
        "\tvmovdqu64 zmm11, [rip + vs_in + 704]\n"
        "\tvmovdqu64 zmm12, [rip + vs_in + 768]\n"
        "\tvmovdqu64 zmm13, [rip + vs_in + 832]\n"
        "\tvmovdqu64 zmm14, [rip + vs_in + 896]\n"
        "\tvmovdqu64 zmm15, [rip + vs_in + 960]\n"
        "\tvmovdqu64 zmm16, [rip + vs_in + 1024]\n"
        "\tvmovdqu64 zmm17, [rip + vs_in + 1088]\n"
        "\tvmovdqu64 zmm18, [rip + vs_in + 1152]\n"
        "\tvmovdqu64 zmm19, [rip + vs_in + 1216]\n"
        "\tvmovdqu64 zmm20, [rip + vs_in + 1280]\n"
        "\tvmovdqu64 zmm21, [rip + vs_in + 1344]\n"
        "\tvmovdqu64 zmm22, [rip + vs_in + 1408]\n"
        "\tvmovdqu64 zmm23, [rip + vs_in + 1472]\n"
        "\tvmovdqu64 zmm24, [rip + vs_in + 1536]\n"
        "\tvmovdqu64 zmm25, [rip + vs_in + 1600]\n"
        "\tvmovdqu64 zmm26, [rip + vs_in + 1664]\n"
        "\tvmovdqu64 zmm27, [rip + vs_in + 1728]\n"
        "\tvmovdqu64 zmm28, [rip + vs_in + 1792]\n"
        "\tvmovdqu64 zmm29, [rip + vs_in + 1856]\n"
        "\tvmovdqu64 zmm30, [rip + vs_in + 1920]\n"
        "\tvmovdqu64 zmm31, [rip + vs_in + 1984]\n"
        "\tkmovq k0, [rip + vs_in + 2048]\n"
        "\tkmovq k1, [rip + vs_in + 2056]\n"
        "\tkmovq k2, [rip + vs_in + 2064]\n"
        "\tkmovq k3, [rip + vs_in + 2072]\n"
        "\tkmovq k4, [rip + vs_in + 2080]\n"
        "\tkmovq k5, [rip + vs_in + 2088]\n"
        "\tkmovq k6, [rip + vs_in + 2096]\n"
        "\tkmovq k7, [rip + vs_in + 2104]\n"
        "\tcmp qword ptr [rip + vs_shape], 1\n"
        "\tjne 1f\n"
        "\tvzeroupper\n"
        "1:\n"
        "\tcmp qword ptr [rip + vs_shape], 2\n"
        "\tjne 2f\n"
        "\tmov eax, 0xa0\n" /* opmask, Hi16_ZMM: to their initial state (zeros, not in use) */
        "\txor edx, edx\n"
        "\txrstor64 [rip + vs_init_area]\n"
        "2:\n"
        "\tcmp qword ptr [rip + vs_has_xinuse], 0\n"
        "\tje 3f\n"
        "\tmov ecx, 1\n"
        "\txgetbv\n"
        "\tmov [rip + vs_inuse], rax\n"
        "3:\n"
        "\tjmp qword ptr [rip + vs_site]\n"
        "vstate_resume:\n"
        "\tcmp qword ptr [rip + vs_has_xinuse], 0\n"
        "\tje 4f\n"
        "\tmov ecx, 1\n"
        "\txgetbv\n"
        "\tmov [rip + vs_inuse_after], rax\n"
        "4:\n"
        "\tvmovdqu64 [rip + vs_out + 0], zmm0\n"
        "\tvmovdqu64 [rip + vs_out + 64], zmm1\n"
        "\tvmovdqu64 [rip + vs_out + 128], zmm2\n"
        "\tvmovdqu64 [rip + vs_out + 192], zmm3\n"
        "\tvmovdqu64 [rip + vs_out + 256], zmm4\n"
        "\tvmovdqu64 [rip + vs_out + 320], zmm5\n"
        "\tvmovdqu64 [rip + vs_out + 384], zmm6\n"
        "\tvmovdqu64 [rip + vs_out + 448], zmm7\n"
        "\tvmovdqu64 [rip + vs_out + 512], zmm8\n"
        "\tvmovdqu64 [rip + vs_out + 576], zmm9\n"
        "\tvmovdqu64 [rip + vs_out + 640], zmm10\n"
        "\tvmovdqu64 [rip + vs_out + 704], zmm11\n"
        "\tvmovdqu64 [rip + vs_out + 768], zmm12\n"
        "\tvmovdqu64 [rip + vs_out + 832], zmm13\n"
        "\tvmovdqu64 [rip + vs_out + 896], zmm14\n"
        "\tvmovdqu64 [rip + vs_out + 960], zmm15\n"
        "\tvmovdqu64 [rip + vs_out + 1024], zmm16\n"
        "\tvmovdqu64 [rip + vs_out + 1088], zmm17\n"
        "\tvmovdqu64 [rip + vs_out + 1152], zmm18\n"
        "\tvmovdqu64 [rip + vs_out + 1216], zmm19\n"
        "\tvmovdqu64 [rip + vs_out + 1280], zmm20\n"
        "\tvmovdqu64 [rip + vs_out + 1344], zmm21\n"
        "\tvmovdqu64 [rip + vs_out + 1408], zmm22\n"
        "\tvmovdqu64 [rip + vs_out + 1472], zmm23\n"
        "\tvmovdqu64 [rip + vs_out + 1536], zmm24\n"
        "\tvmovdqu64 [rip + vs_out + 1600], zmm25\n"
        "\tvmovdqu64 [rip + vs_out + 1664], zmm26\n"
        "\tvmovdqu64 [rip + vs_out + 1728], zmm27\n"
        "\tvmovdqu64 [rip + vs_out + 1792], zmm28\n"
        "\tvmovdqu64 [rip + vs_out + 1856], zmm29\n"
        "\tvmovdqu64 [rip + vs_out + 1920], zmm30\n"
        "\tvmovdqu64 [rip + vs_out + 1984], zmm31\n"
        "\tkmovq [rip + vs_out + 2048], k0\n"
        "\tkmovq [rip + vs_out + 2056], k1\n"
        "\tkmovq [rip + vs_out + 2064], k2\n"
        "\tkmovq [rip + vs_out + 2072], k3\n"
        "\tkmovq [rip + vs_out + 2080], k4\n"
        "\tkmovq [rip + vs_out + 2088], k5\n"
        "\tkmovq [rip + vs_out + 2096], k6\n"
        "\tkmovq [rip + vs_out + 2104], k7\n"
        "\tvzeroupper\n"
        "\tback_to_caller vs_saved_rsp\n"
        ".att_syntax prefix\n");

#define RESULT 0x5566778899aabbccL

/* Every bit of zmm0-31 and k0-7 set. */
static long clobbering_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr != NR_FAKE2)
		return usertrap_syscall(call);
	__asm__ volatile(
	    ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
	    "29,30,31\n\tvpternlogd $0xff, %%zmm\\r, %%zmm\\r, %%zmm\\r\n\t.endr\n\t"
	    ".irp r,0,1,2,3,4,5,6,7\n\tkxnorq %%k\\r, %%k\\r, %%k\\r\n\t.endr" ::
	        : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
	          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return RESULT;
}

/* The modes that leave a state component in its initial state when it was at the site: INUSE (and
 * AUTO where it is INUSE: all but AMD's CPUs, include/usertrap.h) and the XRSTOR ones. */
static bool keeps_initial_state(enum usertrap_vector_save mode)
{
	return mode == USERTRAP_VECTOR_INUSE || mode == USERTRAP_VECTOR_XSAVE ||
	       mode == USERTRAP_VECTOR_XSAVEC || (mode == USERTRAP_VECTOR_AUTO && !cpu_is_amd());
}

/* What the routine leaves in the registers before the site, from vs_in. */
static void expected_state(enum shape shape, struct vstate *want)
{
	*want = vs_in;
	if (shape == VZEROUPPER)
		for (int i = 0; i < 16; i++)
			memset(want->zmm[i] + 16, 0, 48);
	if (shape == HI_ZERO) {
		memset(want->zmm[16], 0, 16 * 64);
		memset(want->k, 0, sizeof want->k);
	}
}

static void roundtrip(enum usertrap_vector_save mode, enum shape shape)
{
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	if (!(b & (1u << 16)) || !(b & (1u << 30)))
		cr_skip_test("the CPU has no AVX-512 F and BW");
	if (mode == USERTRAP_VECTOR_INUSE && !inuse_supported())
		cr_skip_test("no XINUSE: USERTRAP_VECTOR_INUSE is refused here");
	struct usertrap_config cfg = {.hook = clobbering_hook, .vector_save = mode};
	struct usertrap_error err;
	int r = usertrap_init(&cfg, &err);
	cr_assert_eq(r, 0, "init: %s", usertrap_status_name(r));
	vs_site = (uint64_t)(uintptr_t)patched_jump_site(vstate_resume);
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 64; j++)
			vs_in.zmm[i][j] = (uint8_t)(i * 64 + j + 13) | 1; /* never 0 */
	for (int i = 0; i < 8; i++)
		vs_in.k[i] = 0x0f1e2d3c4b5a6978ULL * (uint64_t)(i + 1);
	memset(&vs_out, 0xa5, sizeof vs_out);
	vs_shape = shape;
	vs_has_xinuse = inuse_supported();

	vstate_roundtrip();

	if (vs_has_xinuse && shape == VZEROUPPER)
		cr_assert_eq(vs_inuse & (XF_AVX | XF_ZMM_HI256), 0, "after vzeroupper XINUSE is %#llx",
		             (unsigned long long)vs_inuse);
	if (vs_has_xinuse && shape == HI_ZERO)
		cr_assert_eq(vs_inuse & (XF_OPMASK | XF_HI16_ZMM), 0,
		             "after XRSTOR of the initial state XINUSE is %#llx",
		             (unsigned long long)vs_inuse);
	if (vs_has_xinuse && shape == ALL)
		cr_assert_eq(vs_inuse & 0xe4, 0xe4, "with every register loaded XINUSE is %#llx",
		             (unsigned long long)vs_inuse);

	/* The modes that restore by XINUSE (AUTO but on AMD, src/usertrap/tramp.c) or by XRSTOR put the
	 * upper halves back in their initial state when they were in it at the site, although the hook
	 * used them: a program whose glibc ends with vzeroupper must not pay for dirty upper halves in its
	 * SSE code after every patched call. */
	if (vs_has_xinuse && shape == VZEROUPPER && keeps_initial_state(mode))
		cr_assert_eq(vs_inuse_after & (XF_AVX | XF_ZMM_HI256), 0, "after the call XINUSE is %#llx",
		             (unsigned long long)vs_inuse_after);

	struct usertrap_counters cnt;
	usertrap_get_counters(&cnt);
	cr_assert_eq(cnt.trampoline_calls, 1, "the call went through the trampoline");
	struct vstate want;
	expected_state(shape, &want);
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 64; j += 16)
			cr_expect_eq(memcmp(vs_out.zmm[i] + j, want.zmm[i] + j, 16), 0,
			             "zmm%d bits %d-%d: %02x.., want %02x..", i, j * 8, j * 8 + 127,
			             vs_out.zmm[i][j], want.zmm[i][j]);
	for (int i = 0; i < 8; i++)
		cr_expect_eq(vs_out.k[i], want.k[i], "k%d: %#llx, want %#llx", i,
		             (unsigned long long)vs_out.k[i], (unsigned long long)want.k[i]);
}

#define SHAPES(name, mode)                    \
	Test(vector_state, name##_all)        \
	{                                     \
		roundtrip(mode, ALL);         \
	}                                     \
	Test(vector_state, name##_vzeroupper) \
	{                                     \
		roundtrip(mode, VZEROUPPER);  \
	}                                     \
	Test(vector_state, name##_hi_zero)    \
	{                                     \
		roundtrip(mode, HI_ZERO);     \
	}

SHAPES(auto, USERTRAP_VECTOR_AUTO)
SHAPES(regs, USERTRAP_VECTOR_REGS)
SHAPES(inuse, USERTRAP_VECTOR_INUSE)
SHAPES(xsave, USERTRAP_VECTOR_XSAVE)
SHAPES(xsavec, USERTRAP_VECTOR_XSAVEC)

/* The bytes of a window's stub (see stubcode.h). */
#include <string.h>
#include <sys/syscall.h>

#include "usertrap/site.h"
#include "usertrap/stubcode.h"

/* Offsets of the words the stub builds for the body (asm/usertrap_table.inc: UT_D_RESUME, UT_D_NR;
 * the site at 0 is read by ut_dispatch). */
#define REC_SITE   0
#define REC_RESUME 8
#define REC_NR     16
#define REC_SIZE   24
#define RED_ZONE   128

struct emitter {
	unsigned char *out;
	size_t pos;
	uintptr_t base;
	bool far; /* a displacement did not fit */
};

static void put(struct emitter *e, const void *b, size_t n)
{
	memcpy(e->out + e->pos, b, n);
	e->pos += n;
}

static void put_byte(struct emitter *e, unsigned char b)
{
	e->out[e->pos++] = b;
}

/* The rel32 from the end of a field of `len` more bytes (the instruction's end) to target. */
static void put_rel32(struct emitter *e, uintptr_t target, size_t len_after)
{
	intptr_t d = (intptr_t)(target - (e->base + e->pos + 4 + len_after));
	if (d != (int32_t)d)
		e->far = true;
	int32_t v = (int32_t)d;
	put(e, &v, 4);
}

/* lea -(RED_ZONE + REC_SIZE)(%rsp),%rsp (disp32): the record below the red zone; mov %rax,REC_NR(%rsp) */
static const unsigned char make_record[] = {0x48, 0x8d, 0xa4,  0x24, (unsigned char)-(RED_ZONE + REC_SIZE),
                                            0xff, 0xff, 0xff,  0x48, 0x89,
                                            0x44, 0x24, REC_NR};
/* lea REC_SIZE(%rsp),%rsp: where the body resumes (it has already undone its RED_ZONE) */
static const unsigned char drop_record[] = {0x48, 0x8d, 0x64, 0x24, REC_SIZE};
static const long in_place_nrs[] = {SYS_rt_sigreturn, SYS_clone, SYS_clone3, SYS_vfork};

/* lea -nr(%rax),%ecx; jrcxz native_call: the in-place check without touching the flags (no pushfq and
 * popfq around it, each a microcoded instruction on the path of every call) and in RCX, which the
 * syscall clobbers anyway. 32 bits, as the kernel reads the number (EAX, sign-extended): the 32-bit lea
 * zero-extends, so RCX is 0 exactly when EAX is nr. Returns the position of the jrcxz displacement. */
static size_t put_in_place_check(struct emitter *e, uint32_t nr)
{
	int32_t disp = -(int32_t)nr;
	if (disp >= -128) {
		const unsigned char lea8[] = {0x8d, 0x48, (unsigned char)disp};
		put(e, lea8, sizeof lea8);
	} else {
		const unsigned char lea32[] = {0x8d, 0x88};
		put(e, lea32, sizeof lea32);
		put(e, &disp, 4);
	}
	put_byte(e, 0xe3); /* jrcxz */
	put_byte(e, 0);
	return e->pos - 1;
}

/* The hook call. Returns where the threads that made the syscall natively continue (after_syscall). */
static size_t emit_hook_call(struct emitter *e, uintptr_t insn, uint32_t common_cell)
{
	size_t jrcxz_disp[sizeof in_place_nrs / sizeof in_place_nrs[0]];
	for (size_t i = 0; i < sizeof in_place_nrs / sizeof in_place_nrs[0]; i++)
		jrcxz_disp[i] = put_in_place_check(e, (uint32_t)in_place_nrs[i]);
	put(e, make_record, sizeof make_record);
	const unsigned char lea_r11[] = {0x4c, 0x8d, 0x1d};
	const unsigned char store_site[] = {0x4c, 0x89, 0x1c, 0x24};
	const unsigned char store_resume[] = {0x4c, 0x89, 0x5c, 0x24, REC_RESUME};
	const unsigned char r11_is_rsp[] = {0x49, 0x89, 0xe3};
	put(e, lea_r11, sizeof lea_r11);
	put_rel32(e, insn, 0);
	put(e, store_site, sizeof store_site);
	put(e, lea_r11, sizeof lea_r11);
	size_t resume_field = e->pos;
	put(e, &(int32_t){0}, 4); /* filled below */
	put(e, store_resume, sizeof store_resume);
	put(e, r11_is_rsp, sizeof r11_is_rsp);
	put(e, ut_op_jmp_abs32, sizeof ut_op_jmp_abs32);
	put(e, &common_cell, 4);
	size_t native = e->pos;
	for (size_t i = 0; i < sizeof jrcxz_disp / sizeof jrcxz_disp[0]; i++)
		e->out[jrcxz_disp[i]] = (unsigned char)(native - (jrcxz_disp[i] + 1));
	put(e, ut_op_syscall, sizeof ut_op_syscall);
	put_byte(e, 0xeb); /* jmp over drop_record */
	put_byte(e, sizeof drop_record);
	int32_t resume = (int32_t)(e->pos - (resume_field + 4));
	memcpy(e->out + resume_field, &resume, 4);
	put(e, drop_record, sizeof drop_record);
	return e->pos;
}

static void emit_moved(struct emitter *e, const struct ut_plan *p, const struct ut_insn *in)
{
	const unsigned char *b = p->bytes + in->off;
	switch (in->kind) {
	case UT_INSN_JMP:
		put_byte(e, 0xe9);
		put_rel32(e, in->target, 0);
		break;
	case UT_INSN_JCC:
		put_byte(e, 0x0f);
		put_byte(e, (unsigned char)(0x80 | in->cc));
		put_rel32(e, in->target, 0);
		break;
	case UT_INSN_RIPREL: {
		size_t at = e->pos;
		put(e, b, in->len);
		e->pos = at + in->disp_off;
		put_rel32(e, in->target, in->len - in->disp_off - 4u);
		e->pos = at + in->len;
		break;
	}
	default:
		put(e, b, in->len);
		break;
	}
}

size_t ut_stub_emit(const struct ut_plan *p, uintptr_t stub, uint32_t common_cell, unsigned char *out,
                    struct ut_stub_map *map)
{
	struct emitter e = {.out = out, .base = stub};
	for (unsigned i = 0; i < p->n; i++) {
		map->at[i] = (uint16_t)e.pos;
		if (p->in[i].kind == UT_INSN_SYSCALL)
			map->after_syscall = (uint16_t)emit_hook_call(&e, p->insn, common_cell);
		else
			emit_moved(&e, p, &p->in[i]);
	}
	put_byte(&e, 0xe9); /* back to the window's end */
	put_rel32(&e, p->end, 0);
	return e.far ? 0 : e.pos;
}

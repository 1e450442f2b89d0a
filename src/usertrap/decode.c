/*
 * The window planner: one linear Zydis decode of the function, keeping the instructions just before
 * the syscall and the few after it, and every relative branch target near it; then the smallest window
 * that passes every rule of decode.h.
 */
#include <Zydis/Zydis.h>
#include <string.h>

#include "usertrap/decode.h"

#ifdef UT_ZYDIS_DLOPEN
#include <dlfcn.h>

/* The preload tool loads Zydis only when a plan is missing from the plan cache: as a DT_NEEDED
 * library its load was ~110 us of every process (a third of git --version's overhead). */
static struct {
	__typeof__(&ZydisDecoderInit) init;
	__typeof__(&ZydisDecoderEnableMode) enable;
	__typeof__(&ZydisDecoderDecodeInstruction) decode;
} zydis;
static bool zydis_ready; /* release-stored once the three pointers are set */

bool ut_decoder_load(void)
{
	if (__atomic_load_n(&zydis_ready, __ATOMIC_ACQUIRE))
		return true;
	void *lib = dlopen("libZydis.so.4.0", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return false;
	zydis.init = (__typeof__(zydis.init))dlsym(lib, "ZydisDecoderInit");
	zydis.enable = (__typeof__(zydis.enable))dlsym(lib, "ZydisDecoderEnableMode");
	zydis.decode = (__typeof__(zydis.decode))dlsym(lib, "ZydisDecoderDecodeInstruction");
	if (!zydis.init || !zydis.enable || !zydis.decode)
		return false;
	__atomic_store_n(&zydis_ready, true, __ATOMIC_RELEASE);
	return true;
}

bool ut_decoder_ready(void)
{
	return __atomic_load_n(&zydis_ready, __ATOMIC_ACQUIRE);
}
#define ZydisDecoderInit              zydis.init
#define ZydisDecoderEnableMode        zydis.enable
#define ZydisDecoderDecodeInstruction zydis.decode
#else
bool ut_decoder_load(void)
{
	return true;
}

bool ut_decoder_ready(void)
{
	return true;
}
#endif

#define NEAR_TARGETS 64 /* branch targets kept within UT_WIN_MAX_LEN of the site */
#define READ_CHUNK   256

/* One decoded instruction at an absolute address. */
struct decoded {
	uintptr_t at;
	uint8_t len, kind, disp_off, cc;
	bool movable;
	uintptr_t target;
};

struct sweep {
	ZydisDecoder zd;
	const struct ut_code_view *view;
	uintptr_t lo, hi, insn;
	unsigned char buf[READ_CHUNK];
	uintptr_t buf_at;
	size_t buf_len;
	struct decoded before[UT_WIN_MAX_INSNS]; /* ring: the last instructions before insn */
	unsigned n_before;
	struct decoded after[UT_WIN_MAX_INSNS]; /* after[0] is the syscall */
	unsigned n_after;
	uintptr_t targets[NEAR_TARGETS];
	unsigned n_targets;
	bool targets_overflow;
};

/* The bytes at a (up to `need`, not past the function's end; need <= READ_CHUNK) in the buffer, as
 * they were before any patch; their count, 0 if unreadable. */
static size_t bytes_at(struct sweep *s, uintptr_t a, size_t need, const unsigned char **out)
{
	size_t want = s->hi - a < need ? s->hi - a : need;
	if (a < s->buf_at || a + want > s->buf_at + s->buf_len) {
		size_t n = s->hi - a < READ_CHUNK ? s->hi - a : READ_CHUNK;
		if (safecopy_memcpy(s->buf, (const void *)a, n, NULL) != n)
			return 0;
		if (s->view && s->view->original)
			s->view->original(a, s->buf, n);
		s->buf_at = a;
		s->buf_len = n;
	}
	*out = s->buf + (a - s->buf_at);
	return want;
}

static bool is_short_or_near_jcc(const ZydisDecodedInstruction *d)
{
	if (d->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT)
		return d->opcode >= 0x70 && d->opcode <= 0x7f;
	return d->opcode_map == ZYDIS_OPCODE_MAP_0F && d->opcode >= 0x80 && d->opcode <= 0x8f;
}

static bool is_riprel(const ZydisDecodedInstruction *d)
{
	return (d->attributes & ZYDIS_ATTRIB_HAS_MODRM) && d->raw.modrm.mod == 0 && d->raw.modrm.rm == 5 &&
	       d->raw.disp.size == 32;
}

/* What moving d would take; movable false if it cannot be moved. */
static void classify(const ZydisDecodedInstruction *d, struct decoded *out)
{
	uintptr_t next = out->at + d->length;
	out->kind = UT_INSN_PLAIN;
	out->movable = true;
	switch (d->meta.category) {
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSTEM:
		out->movable = false;
		return;
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_COND_BR: {
		bool rel = d->raw.imm[0].is_relative && d->operand_width != 16;
		bool jmp = d->meta.category == ZYDIS_CATEGORY_UNCOND_BR;
		out->movable = rel && (jmp || is_short_or_near_jcc(d));
		out->kind = jmp ? UT_INSN_JMP : UT_INSN_JCC;
		out->cc = d->opcode & 0x0f;
		out->target = next + (uintptr_t)d->raw.imm[0].value.s;
		return;
	}
	default:
		break;
	}
	if (d->mnemonic == ZYDIS_MNEMONIC_ENDBR64 || d->mnemonic == ZYDIS_MNEMONIC_ENDBR32) {
		out->movable = false; /* an indirect branch target: allowed only at the window's start */
		return;
	}
	if (!(d->attributes & ZYDIS_ATTRIB_IS_RELATIVE))
		return;
	if (!is_riprel(d)) {
		out->movable = false; /* xbegin and the like */
		return;
	}
	out->kind = UT_INSN_RIPREL;
	out->disp_off = d->raw.disp.offset;
	out->target = next + (uintptr_t)d->raw.disp.value;
}

static void note_target(struct sweep *s, uintptr_t t)
{
	if (t + UT_WIN_MAX_LEN < s->insn || t > s->insn + UT_WIN_MAX_LEN)
		return;
	if (s->n_targets == NEAR_TARGETS)
		s->targets_overflow = true;
	else
		s->targets[s->n_targets++] = t;
}

/* Decodes the whole function. Returns an enum ut_plan_result. */
static int sweep_function(struct sweep *s)
{
	bool found = false;
	for (uintptr_t a = s->lo; a < s->hi;) {
		const unsigned char *b;
		size_t n = bytes_at(s, a, ZYDIS_MAX_INSTRUCTION_LENGTH, &b);
		if (!n)
			return UT_PLAN_FAULT;
		ZydisDecodedInstruction d;
		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&s->zd, NULL, b, n, &d)))
			return UT_PLAN_MISALIGNED;
		struct decoded x = {.at = a, .len = d.length};
		classify(&d, &x);
		if (d.raw.imm[0].is_relative)
			note_target(s, x.target);
		if (a < s->insn) {
			s->before[s->n_before++ % UT_WIN_MAX_INSNS] = x;
		} else if (a == s->insn) {
			if (d.mnemonic != ZYDIS_MNEMONIC_SYSCALL)
				return UT_PLAN_MISALIGNED;
			x.kind = UT_INSN_SYSCALL;
			x.movable = true;
			s->after[s->n_after++] = x;
			found = true;
		} else if (found && s->n_after < UT_WIN_MAX_INSNS) {
			s->after[s->n_after++] = x;
		} else if (!found) {
			return UT_PLAN_MISALIGNED; /* stepped over insn */
		}
		a += d.length;
	}
	return found && !s->targets_overflow ? UT_PLAN_OK : (found ? UT_PLAN_NO_WINDOW : UT_PLAN_MISALIGNED);
}

/* The k-th instruction before the syscall (k = 1: the one just before). */
static const struct decoded *before(const struct sweep *s, unsigned k)
{
	return &s->before[(s->n_before - k) % UT_WIN_MAX_INSNS];
}

static bool target_inside(const struct sweep *s, uintptr_t start, uintptr_t end)
{
	for (unsigned i = 0; i < s->n_targets; i++)
		if (s->targets[i] > start && s->targets[i] < end)
			return true;
	return false;
}

/* d may be moved out of [start, end): a RIP-relative operand must not point into the window itself,
 * whose bytes change. */
static bool movable_out_of(const struct decoded *d, uintptr_t start, uintptr_t end)
{
	return d->movable && !(d->kind == UT_INSN_RIPREL && d->target >= start && d->target < end);
}

/* The i-th instruction (from 0) of the window of `pre` instructions before the syscall. */
static const struct decoded *window_insn(const struct sweep *s, unsigned pre, unsigned i)
{
	return i < pre ? before(s, pre - i) : &s->after[i - pre];
}

/* The bytes of the jump's rel32 that an instruction boundary of the window falls on (bit k: byte k,
 * at window offset k + 1): they must be UT_GUARD. */
static unsigned pun_of(const struct sweep *s, unsigned pre, unsigned post)
{
	uintptr_t start = window_insn(s, pre, 0)->at;
	unsigned pun = 0;
	for (unsigned i = 1; i <= pre + post; i++) {
		uintptr_t off = window_insn(s, pre, i)->at - start;
		if (off < UT_JUMP_LEN)
			pun |= 1u << (off - 1);
	}
	return pun;
}

/* The window of `pre` instructions before the syscall and `post` after it, if it may be moved. */
static bool window_ok(const struct sweep *s, unsigned pre, unsigned post)
{
	uintptr_t start = window_insn(s, pre, 0)->at, end = s->after[post].at + s->after[post].len;
	if (end - start < UT_JUMP_LEN || end - start > UT_WIN_MAX_LEN || target_inside(s, start, end) ||
	    (s->view && s->view->patched && s->view->patched(start, end)))
		return false;
	for (unsigned i = 0; i <= pre + post; i++)
		if (i != pre && !movable_out_of(window_insn(s, pre, i), start, end))
			return false;
	return true;
}

/* The window's length in bytes. */
static uintptr_t window_len(const struct sweep *s, unsigned pre, unsigned post)
{
	return s->after[post].at + s->after[post].len - window_insn(s, pre, 0)->at;
}

/* What a window costs: its length, and far more for each punned byte, the more the higher the byte
 * (a punned byte 3 puts the stub about 100 MiB away, byte 2 at least 384 KiB). */
static uintptr_t cost(const struct sweep *s, unsigned pre, unsigned post)
{
	static const unsigned pun_cost[4] = {64, 128, 256, 1024};
	unsigned pun = pun_of(s, pre, post);
	uintptr_t c = window_len(s, pre, post);
	for (unsigned k = 0; k < 4; k++)
		if (pun & (1u << k))
			c += pun_cost[k];
	return c;
}

static bool fill_plan(struct sweep *s, unsigned pre, unsigned post, struct ut_plan *p)
{
	p->start = window_insn(s, pre, 0)->at;
	p->end = s->after[post].at + s->after[post].len;
	p->insn = s->insn;
	p->n = pre + 1 + post;
	p->pun = (uint8_t)pun_of(s, pre, post);
	for (unsigned i = 0; i < p->n; i++) {
		const struct decoded *d = window_insn(s, pre, i);
		p->in[i] = (struct ut_insn){.off = (uint8_t)(d->at - p->start),
		                            .len = d->len,
		                            .kind = d->kind,
		                            .disp_off = d->disp_off,
		                            .cc = d->cc,
		                            .target = d->target};
	}
	const unsigned char *b;
	size_t len = p->end - p->start;
	if (bytes_at(s, p->start, len, &b) != len)
		return false;
	memcpy(p->bytes, b, len);
	return true;
}

int ut_plan_window(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, const struct ut_code_view *view,
                   struct ut_plan *p)
{
	if (!ut_decoder_ready())
		return UT_PLAN_NO_DECODER;
	if (fn_lo > insn || fn_hi < insn + 2 || fn_hi - fn_lo > UT_FN_MAX_LEN)
		return UT_PLAN_MISALIGNED;
	struct sweep s;
	memset(&s, 0, sizeof s);
	s.lo = fn_lo;
	s.hi = fn_hi;
	s.insn = insn;
	s.view = view;
	if (ZYAN_FAILED(ZydisDecoderInit(&s.zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
		return UT_PLAN_MISALIGNED;
	int r = sweep_function(&s);
	if (r)
		return r;
	unsigned max_pre = s.n_before < UT_WIN_MAX_INSNS ? s.n_before : UT_WIN_MAX_INSNS;
	unsigned best_pre = 0, best_post = 0;
	uintptr_t best = UINTPTR_MAX;
	for (unsigned pre = 0; pre <= max_pre; pre++)
		for (unsigned post = 0; post < s.n_after && pre + post < UT_WIN_MAX_INSNS; post++) {
			/* A cost is at least the length, which only grows with post: no longer window of this
			 * pre can be cheaper (the choice is the same, without its pun and rule checks). */
			if (window_len(&s, pre, post) >= best)
				break;
			uintptr_t c = cost(&s, pre, post);
			if (c < best && window_ok(&s, pre, post)) {
				best = c;
				best_pre = pre;
				best_post = post;
			}
		}
	if (best == UINTPTR_MAX)
		return UT_PLAN_NO_WINDOW;
	return fill_plan(&s, best_pre, best_post, p) ? UT_PLAN_OK : UT_PLAN_FAULT;
}

int ut_plan_syscall_index(const struct ut_plan *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->in[i].kind == UT_INSN_SYSCALL)
			return (int)i;
	return -1;
}

/* The address of the last `0f 05` (the bytes of syscall) in [lo, hi), 0 if there is none, hi if some
 * byte cannot be read (the decode then reports it). Read backwards in chunks that overlap by a byte. */
static uintptr_t last_syscall_bytes(uintptr_t lo, uintptr_t hi)
{
	unsigned char b[READ_CHUNK];
	for (uintptr_t end = hi; end - lo >= 2;) {
		uintptr_t at = end - lo > READ_CHUNK ? end - READ_CHUNK : lo;
		size_t n = end - at;
		if (safecopy_memcpy(b, (const void *)at, n, NULL) != n)
			return hi;
		for (size_t i = n - 1; i-- > 0;)
			if (b[i] == 0x0f && b[i + 1] == 0x05)
				return at + i;
		end = at + 1;
	}
	return 0;
}

int ut_find_syscalls(uintptr_t fn_lo, uintptr_t fn_hi, uintptr_t *out, int max)
{
	if (fn_hi <= fn_lo || fn_hi - fn_lo > UT_FN_MAX_LEN || !ut_decoder_ready())
		return -1;
	/* No syscall starts after the last 0f 05: the sweep stops there (the instructions before it decode
	 * the same). Most wrappers' sites are near their start, and this decode was most of an eager pass. */
	uintptr_t last = last_syscall_bytes(fn_lo, fn_hi);
	struct sweep s;
	memset(&s, 0, sizeof s);
	s.lo = fn_lo;
	s.hi = fn_hi;
	/* Minimal mode: only lengths and mnemonics are needed here (it skips the operand semantics). */
	if (ZYAN_FAILED(ZydisDecoderInit(&s.zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
	    ZYAN_FAILED(ZydisDecoderEnableMode(&s.zd, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE)))
		return -1;
	int n = 0;
	for (uintptr_t a = fn_lo; a <= last && a < fn_hi;) {
		const unsigned char *b;
		size_t len = bytes_at(&s, a, ZYDIS_MAX_INSTRUCTION_LENGTH, &b);
		ZydisDecodedInstruction d;
		if (!len || ZYAN_FAILED(ZydisDecoderDecodeInstruction(&s.zd, NULL, b, len, &d)))
			return -1;
		if (d.mnemonic == ZYDIS_MNEMONIC_SYSCALL && n < max)
			out[n++] = a;
		a += d.length;
	}
	return n;
}

; sc_memset(dst = RDI, c = ESI, n = RDX, fault = RCX) -> RAX = n, the whole public memset fast path,
; entered from safecopy_memset's argument checks (entry.inc).
;
; Same shape as sc_copy (see copy.asm): success leaves inline (SC_RETURN_N) after the register,
; block and AVX2 paths, through sc_span_done after `rep stosb` and for n < 2; a fault lands in
; the routine's landing, which tail-jumps to sc_memset_after_fault(dst, c, n, fault, addr, word).
; Kept for the landing: RDI = dst (R10 during rep stosb), RSI = c, R9 = n, R11 = fault.
;
; Precision contract (as copy.asm's): when a store that starts at offset a is made, every byte before
; a is set and no earlier store reached a + 64 or beyond; a store that faults writes nothing.
; `rep stosb` is exact on a fault.
;
; Layout as copy.asm's: the level is chosen with the size first thing, by thresholds each level sets
; for itself (src/safecopy/cpu.c), with no flag test: n > sc_memset_zmm_above (63 at AVX-512) goes to
; the 64-byte blocks of blocks64.inc with ZMM16; n >= sc_memset_vec_below (64 at AVX-512, 65 at AVX2,
; 0 at SSE2) to .lower (AVX2's blocks as YMM pairs above 64 bytes, by sc_memset_ymm_above; SSE2's
; paths at every size); every other call is below 64 bytes at AVX-512 or up to 64 at AVX2 and runs
; the same VEX stores at both levels: 32..64 two YMM stores in the entry's line and the next with no
; taken branch, 16..31 two XMM stores, 8..15 two 8-byte ones, below 8 the scalar stores. Each size
; class starts a 64-byte line of its own (SC_LINE) and fits in it.
; Measured on the Intel Xeon (Sapphire Rapids class, 2026-12-03; ratios to glibc 2.36's memset,
; `safecopy-bench --filter memset/SIZE/safecopy`, alternating builds, two runs each): AVX-512's one
; store masked to n bytes below 64 (as glibc's own AVX-512 memset does; the path of before) took
; 1.37-1.40x glibc's time at 8, 16 and 32 B, these VEX stores 1.12-1.20x; at AVX2 8 and 16 B went
; from 1.17-1.24x to 1.00-1.08x and 32 and 64 B from 1.39-1.40x to 1.20x, with 64..512 unchanged.
; Adding a third compare before the small paths (AVX2's n > 64 straight to its blocks) put 8..32 B
; back at 1.3-1.4x at both levels: on this CPU every compare and branch ahead of a small path costs
; up to a cycle. Not measured on the AMD EPYC (Zen 5) where the masked store was chosen (memset/8B
; 1.10x there); the VEX stores are the AVX2 level's of before, 1.02-1.05x glibc's there.

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "entry.inc"

%define SC_REP_MIN 524288	; measured: the AVX2 loop beats rep stosb up to 256 KiB, rep wins from 1 MiB

%define SC_REP_MIN_AVX512 SC_REP_MIN	; measured: the 64-byte loop beats rep stosb up to 512 KiB too

%define SC_REP_MIN_SSE2 4096	; measured: rep stosb beats the 16-byte stores 1.1x from 4 KiB (glibc's
				; SSE2 memset takes it from 2 KiB)

extern sc_cpu_has_avx2
extern sc_memset_vec_below
extern sc_memset_ymm_above
extern sc_memset_zmm_above
extern sc_memset_after_fault

extern sc_span_done

%macro SC_SET_BLOCK64 2			; index, disp: one 64-byte block (blocks64.inc)
	SC_ZSTORE 16, rdi, %1, %2
%endmacro

%macro SC_SPREAD_BYTE 0			; RAX = the byte of ESI in all eight lanes
	movzx eax, sil
	mov r8, 0x0101010101010101
	imul rax, r8
%endmacro

%macro SC_SET_BLOCK16X4 2		; index, disp: one 64-byte block as four 16-byte stores (SSE2)
	SC_XSTORE %1, %2
	SC_XSTORE %1, %2 + 16
	SC_XSTORE %1, %2 + 32
	SC_XSTORE %1, %2 + 48
%endmacro

%macro SC_SET_BLOCK16X2 2		; index, disp: 32 bytes as two 16-byte stores (SSE2)
	SC_XSTORE %1, %2
	SC_XSTORE %1, %2 + 16
%endmacro

; SC_SET_8_TO_31 insn, q, below16, below8: n < 32 with XMM0 and q (RAX or XMM0) holding the byte in
; every lane: 16..31 bytes as 16-byte stores at 0 and n-16, 8..15 (from the label below16 on) as
; 8-byte stores of q by insn (mov or vmovq) at 0 and n-8; below 8 bytes to below8.
%macro SC_SET_8_TO_31 4
	cmp edx, 16
	jb %3
	SC_XSTORE none, 0
	SC_XSTORE rdx, -16
	SC_RETURN_N_SHORT
%3:
	cmp edx, 8
	jb %4
	SC_STORE rdi, none, 0, 8
	%1 [rdi], %2
	SC_STORE rdi, rdx, -8, 8
	%1 [rdi+rdx-8], %2
	SC_RETURN_N_SHORT
%endmacro

%macro SC_SET_BLOCK32X2 2		; index, disp: one 64-byte block as two 32-byte stores (AVX2)
	SC_YSTORE %1, %2
	SC_YSTORE %1, %2 + 32
%endmacro

SC_CHECKED_ENTRY safecopy_memset, sc_memset, sc_memset_cold, 19
SC_ROUTINE sc_memset
	SC_START_BY_LEVEL sc_memset_zmm_above, sc_memset_vec_below	; 63 at AVX-512; 64, 65 (AVX2), 0 (SSE2)
	vmovd xmm0, esi
	cmp edx, 32
	jb .below32
	vpbroadcastb ymm0, xmm0		; 32..64 at AVX2, 32..63 at AVX-512
	SC_YSTORE none, 0
	SC_YSTORE rdx, -32
	vzeroupper
	SC_RETURN_N_SHORT
SC_LINE
.below32:				; n < 32 at AVX2 and AVX-512
	vpbroadcastb xmm0, xmm0		; (VEX.128: the upper half of YMM0 stays clean)
	SC_SET_8_TO_31 vmovq, xmm0, .below16, .below8
.below8:
	vmovd eax, xmm0
	jmp .scalar_below8
SC_LINE
.zmm:					; AVX-512, n >= 64: the blocks of blocks64.inc with ZMM16
	SC_VPBROADCASTB_ZMM16_ESI
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK64, .zmm_above512, SC_NO_EXIT
SC_LINE
.lower:					; AVX2 above 64 bytes, SSE2 every n
	cmp rdx, [rel sc_memset_ymm_above]	; AVX2: 64; other levels never
	jbe .sse2
.ymm_above64:
	vmovd xmm0, esi
	vpbroadcastb ymm0, xmm0
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK32X2, .ymm_above512, vzeroupper
.ymm_above512:
	cmp rdx, SC_REP_MIN
	jb sc_memset_avx2_body
	vzeroupper
	jmp .rep
.sse2:					; SSE2, every n
	SC_SPREAD_BYTE
	cmp rdx, 32
	jae .sse2_from32
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	SC_SET_8_TO_31 mov, rax, .scalar_below16, .scalar_below8
.scalar_below8:				; RAX = the byte in every lane
	cmp edx, 4
	jb .below4
	SC_STORE rdi, none, 0, 4
	mov [rdi], eax
	SC_STORE rdi, rdx, -4, 4
	mov [rdi+rdx-4], eax
	SC_RETURN_N
.below4:
	test edx, edx
	jz sc_span_done
	SC_STORE rdi, none, 0, 1
	mov [rdi], al
	cmp edx, 2
	jb sc_span_done
	SC_STORE rdi, rdx, -2, 2
	mov [rdi+rdx-2], ax
	SC_RETURN_N
SC_LINE
.zmm_above512:
	SC_BLOCKS64_LOOP SC_SET_BLOCK64, .rep, SC_REP_MIN_AVX512, SC_NO_EXIT
.rep:
	mov eax, esi			; rep stosb stores AL
	jmp sc_memset_rep_body
.sse2_from32:				; SSE2, n >= 32, RAX = the byte in every lane
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	cmp rdx, 64
	ja .sse2_above64
	SC_SET_BLOCK16X2 none, 0
	SC_SET_BLOCK16X2 rdx, -32
	SC_RETURN_N
.sse2_above64:
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK16X4, .sse2_above512, SC_NO_EXIT
.sse2_above512:
	SC_BLOCKS64_LOOP SC_SET_BLOCK16X4, .rep, SC_REP_MIN_SSE2, SC_NO_EXIT
SC_LANDING sc_memset
	SC_LANDING_VZEROUPPER
	SC_LANDING_TO_C sc_memset_after_fault
SC_END sc_memset

; rep stosb moves RDI: a routine of its own whose landing puts it back. In: AL = the byte.
SC_ROUTINE sc_memset_rep
sc_memset_rep_body:
	mov r10, rdi
	mov rcx, rdx
	SC_REP_STOS
	rep stosb
	jmp sc_span_done
SC_LANDING sc_memset_rep
	mov rdi, r10
	SC_LANDING_TO_C sc_memset_after_fault
SC_END sc_memset_rep

; The AVX2 loop, for 513 bytes up to SC_REP_MIN-1, entered from sc_memset: 32-byte stores, four per
; round (measured: 1.25x faster at 1 KiB than the 64-byte blocks of blocks64.inc). In: YMM0 = the
; byte in every lane.
SC_LINE				; its loop in one 64-byte line (at 32 bytes in: 1.2-1.5x slower at 1-2 KiB)
SC_ROUTINE sc_memset_avx2
sc_memset_avx2_body:
	lea rcx, [rdx-32]
	xor eax, eax
	cmp rcx, 128
	jb .tail_loop
	lea r8, [rdx-160]
.loop128:
	SC_STORE rdi, rax, 0, 32
	vmovdqu [rdi+rax], ymm0
	SC_STORE rdi, rax, 32, 32
	vmovdqu [rdi+rax+32], ymm0
	SC_STORE rdi, rax, 64, 32
	vmovdqu [rdi+rax+64], ymm0
	SC_STORE rdi, rax, 96, 32
	vmovdqu [rdi+rax+96], ymm0
	add rax, 128
	cmp rax, r8
	jbe .loop128
	cmp rax, rcx
	jae .last
.tail_loop:
	SC_STORE rdi, rax, 0, 32
	vmovdqu [rdi+rax], ymm0
	add rax, 32
	cmp rax, rcx
	jb .tail_loop
.last:
	SC_STORE rdi, rcx, 0, 32
	vmovdqu [rdi+rcx], ymm0
	vzeroupper
	SC_RETURN_N
SC_LANDING sc_memset_avx2
	vzeroupper
	SC_LANDING_TO_C sc_memset_after_fault
SC_END sc_memset_avx2

SC_NOTE_GNU_STACK

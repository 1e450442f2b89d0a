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
; Layout as copy.asm's: the level is chosen with the size first thing, by thresholds other levels
; never meet (sc_memset_zmm_below, sc_memset_zmm_above: 64 and 63 at AVX-512; sc_memset_ymm_above: 64 at
; AVX2), and each size class starts a 64-byte line of its own and fits in it. 32..64 bytes at AVX2 run
; in the entry's line and the next, with no taken branch (glibc's AVX2 memset takes none there
; either). AVX-512: below 64 bytes one masked store, from 64 the blocks of blocks64.inc with ZMM16;
; AVX2: below 32 bytes the scalar stores, 32..64 two YMM stores, then the blocks as YMM pairs.

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "entry.inc"

%define SC_REP_MIN 524288	; measured: the AVX2 loop beats rep stosb up to 256 KiB, rep wins from 1 MiB

%define SC_REP_MIN_AVX512 SC_REP_MIN	; measured: the 64-byte loop beats rep stosb up to 512 KiB too

%define SC_REP_MIN_SSE2 4096	; measured: rep stosb beats the 16-byte stores 1.1x from 4 KiB (glibc's
				; SSE2 memset takes it from 2 KiB)

extern sc_cpu_has_avx2
extern sc_memset_zmm_below
extern sc_memset_zmm_above
extern sc_memset_ymm_above
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
	SC_START_BY_LEVEL sc_memset_zmm_above, sc_memset_ymm_above
	cmp rdx, [rel sc_memset_zmm_below]	; AVX-512: 64; other levels never (0)
	jb .zmm_below64
	cmp byte [rel sc_cpu_has_avx2], 0
	je .sse2
	cmp rdx, 32
	jb .below32
.ymm_from32:				; 32..64 bytes at AVX2 (and AVX-512's near a page end)
	vmovd xmm0, esi
	vpbroadcastb ymm0, xmm0
	SC_YSTORE none, 0
	SC_YSTORE rdx, -32
	vzeroupper
	SC_RETURN_N
SC_LINE
.below32:				; AVX2 (and AVX-512's near a page end), n < 32
	vmovd xmm0, esi
	vpbroadcastb xmm0, xmm0		; (VEX.128: the upper half of YMM0 stays clean)
	SC_SET_8_TO_31 vmovq, xmm0, .below16, .below8
.below8:
	vmovd eax, xmm0
	jmp .scalar_below8
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
.zmm:					; AVX-512, n >= 64: the blocks of blocks64.inc with ZMM16
	SC_VPBROADCASTB_ZMM16_ESI
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK64, .zmm_above512, SC_NO_EXIT
SC_LINE
.zmm_below64:
	SC_VPBROADCASTB_ZMM16_ESI
	; Below 64 bytes one store masked to n bytes, unless the 64 bytes from dst cross a page: a
	; masked-off byte on a page that is not writable does not fault, but the CPU takes a slow assist
	; to suppress that fault, so the AVX2 and scalar paths do those.
	mov ecx, edi
	and ecx, 4095
	cmp ecx, 4096 - 64
	ja .zmm_near_page_end
	SC_MASK_K1_N
	SC_ZSTORE_K1 16, rdi, none, 0
	SC_RETURN_N
.zmm_near_page_end:
	cmp rdx, 32
	jae .ymm_from32
	jmp .below32
SC_LINE
.zmm_above512:
	SC_BLOCKS64_LOOP SC_SET_BLOCK64, .rep, SC_REP_MIN_AVX512, SC_NO_EXIT
.rep:
	mov eax, esi			; rep stosb stores AL
	jmp sc_memset_rep_body
SC_LINE
.ymm_above64:				; AVX2, n > 64
	vmovd xmm0, esi
	vpbroadcastb ymm0, xmm0
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK32X2, .ymm_above512, vzeroupper
.ymm_above512:
	cmp rdx, SC_REP_MIN
	jb sc_memset_avx2_body
	vzeroupper
	jmp .rep
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

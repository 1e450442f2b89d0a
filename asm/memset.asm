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
; On a CPU with AVX-512 (sc_cpu_has_avx512) every size takes the AVX-512 paths first.

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "entry.inc"

%define SC_REP_MIN 524288	; measured: the AVX2 loop beats rep stosb up to 256 KiB, rep wins from 1 MiB

%define SC_REP_MIN_AVX512 SC_REP_MIN	; measured: the 64-byte loop beats rep stosb up to 512 KiB too

%define SC_REP_MIN_SSE2 4096	; measured: rep stosb beats the 16-byte stores 1.1x from 4 KiB (glibc's
				; SSE2 memset takes it from 2 KiB)

extern sc_cpu_has_avx2
extern sc_cpu_has_avx512
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

%macro SC_SET_BLOCK32X2 2		; index, disp: one 64-byte block as two 32-byte stores (AVX2)
	SC_YSTORE %1, %2
	SC_YSTORE %1, %2 + 32
%endmacro

SC_CHECKED_ENTRY safecopy_memset, sc_memset, sc_memset_cold, 19
SC_ROUTINE sc_memset
	mov r11, rcx
	mov r9, rdx
	cmp byte [sc_cpu_has_avx512], 0
	je .scalar
	; AVX-512. From 64 bytes: the blocks of blocks64.inc, as sc_copy's, on the fall-through path (as
	; glibc's memset, 64..128 bytes take no branch and 129..512 one). Below 64 bytes one store masked
	; to n bytes, unless the 64 bytes from dst cross a page: a masked-off byte on a page that is not
	; writable does not fault, but the CPU takes a slow assist to suppress that fault, so the scalar
	; stores below do those.
	SC_VPBROADCASTB_ZMM16_ESI
	cmp rdx, 64
	jb .z_below64
	SC_BLOCKS64_FROM64 SC_SET_BLOCK64, .z_rep
.z_below64:
	mov ecx, edi
	and ecx, 4095
	cmp ecx, 4096 - 64
	ja .scalar
	SC_MASK_K1_N
	SC_ZSTORE_K1 16, rdi, none, 0
	SC_RETURN_N
.z_rep:
	mov eax, esi			; rep stosb stores AL
	jmp sc_memset_rep_body
.scalar:
	cmp rdx, 64
	ja .above64
	SC_SPREAD_BYTE
	cmp rdx, 16
	jb .below16
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	cmp rdx, 32
	ja .above32
	SC_STORE rdi, none, 0, 16
	movdqu [rdi], xmm0
	SC_STORE rdi, rdx, -16, 16
	movdqu [rdi+rdx-16], xmm0
	SC_RETURN_N
.below16:
	cmp edx, 8
	jb .below8
	SC_STORE rdi, none, 0, 8
	mov [rdi], rax
	SC_STORE rdi, rdx, -8, 8
	mov [rdi+rdx-8], rax
	SC_RETURN_N
.below8:
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
.above32:
	SC_STORE rdi, none, 0, 16
	movdqu [rdi], xmm0
	SC_STORE rdi, none, 16, 16
	movdqu [rdi+16], xmm0
	SC_STORE rdi, rdx, -32, 16
	movdqu [rdi+rdx-32], xmm0
	SC_STORE rdi, rdx, -16, 16
	movdqu [rdi+rdx-16], xmm0
	SC_RETURN_N
.above64:				; checked first: no multiply or SSE2 pattern on the AVX2 and rep paths
	mov eax, esi			; rep stosb stores AL
	cmp rdx, SC_REP_MIN
	jae sc_memset_rep_body
	cmp byte [sc_cpu_has_avx2], 0
	je .sse2_above64
	; AVX2: the blocks of blocks64.inc up to 512 bytes, each as two 32-byte stores, here on the
	; fall-through path; the loop above is a routine of its own.
	vmovd xmm0, esi
	vpbroadcastb ymm0, xmm0
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK32X2, sc_memset_avx2_body, vzeroupper
.sse2_above64:
	SC_SPREAD_BYTE
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	SC_BLOCKS64_UPTO512 SC_SET_BLOCK16X4, .sse_above512, SC_NO_EXIT
.sse_above512:
	SC_BLOCKS64_LOOP SC_SET_BLOCK16X4, .z_rep, SC_REP_MIN_SSE2, SC_NO_EXIT
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

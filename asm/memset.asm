; sc_memset(dst = RDI, c = ESI, n = RDX): sets n bytes to (uint8_t)c. Returns RDX = 0, or, through the
; landing, RAX = fault address and RDX = fault word.
;
; Same precision contract as sc_copy: stores in ascending order of their start, each at most 64 bytes
; wide, so a fault at offset k means every byte before k - 64 is set and nothing at or after the
; faulting store was written. `rep stosb` is exact on a fault.

%include "safecopy.inc"

%define SC_REP_MIN 2048

extern sc_cpu_has_avx2

SC_ROUTINE sc_memset
	movzx eax, sil
	mov r8, 0x0101010101010101
	imul rax, r8			; the byte in all eight lanes
	cmp rdx, 16
	jb .below16
	cmp rdx, 32
	ja .above32
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	movdqu [rdi], xmm0
	movdqu [rdi+rdx-16], xmm0
	xor edx, edx
	ret
.below16:
	cmp edx, 8
	jb .below8
	mov [rdi], rax
	mov [rdi+rdx-8], rax
	xor edx, edx
	ret
.below8:
	cmp edx, 4
	jb .below4
	mov [rdi], eax
	mov [rdi+rdx-4], eax
	xor edx, edx
	ret
.below4:
	test edx, edx
	jz .done
	mov [rdi], al
	cmp edx, 2
	jb .done
	mov [rdi+rdx-2], ax
.done:
	xor edx, edx
	ret
.above32:
	cmp rdx, SC_REP_MIN
	jae .rep
	cmp byte [sc_cpu_has_avx2], 0
	jne sc_memset_avx2_body
	movq xmm0, rax
	punpcklqdq xmm0, xmm0
	lea rcx, [rdx-16]
	xor eax, eax
.sse_loop:
	movdqu [rdi+rax], xmm0
	add rax, 16
	cmp rax, rcx
	jb .sse_loop
	movdqu [rdi+rcx], xmm0
	xor edx, edx
	ret
.rep:
	mov rcx, rdx			; AL already holds the byte
	rep stosb
	xor edx, edx
	ret
SC_LANDING sc_memset
	ret
SC_END sc_memset

; AVX2 loop, a routine of its own so its landing can vzeroupper. In: RAX = byte pattern.
SC_ROUTINE sc_memset_avx2
sc_memset_avx2_body:
	movq xmm0, rax
	vpbroadcastq ymm0, xmm0
	lea rcx, [rdx-32]
	xor eax, eax
	cmp rcx, 128
	jb .tail_loop
	lea r8, [rdx-160]
.loop128:
	vmovdqu [rdi+rax], ymm0
	vmovdqu [rdi+rax+32], ymm0
	vmovdqu [rdi+rax+64], ymm0
	vmovdqu [rdi+rax+96], ymm0
	add rax, 128
	cmp rax, r8
	jbe .loop128
	cmp rax, rcx
	jae .last
.tail_loop:
	vmovdqu [rdi+rax], ymm0
	add rax, 32
	cmp rax, rcx
	jb .tail_loop
.last:
	vmovdqu [rdi+rcx], ymm0
	vzeroupper
	xor edx, edx
	ret
SC_LANDING sc_memset_avx2
	vzeroupper
	ret
SC_END sc_memset_avx2

SC_NOTE_GNU_STACK

; sc_copy(dst = RDI, src = RSI, n = RDX): copies n bytes forward. Returns RDX = 0, or, through the
; landing, RAX = fault address and RDX = fault word.
;
; Precision contract (what the C wrapper relies on): accesses are made in ascending order of their
; start and each is at most SC_COPY_SPAN (64) bytes wide, with every load stored before the next load.
; Hence when an access faults at offset k, every byte before k - 64 has been copied, and nothing at or
; after the faulting access has been written. Overlapping tail accesses only rewrite bytes that were
; already copied. `rep movsb` is exact at byte granularity on a fault (RCX/RSI/RDI are restartable).
;
; Paths: 0..32 bytes with general/SSE registers and no loop; 33..SC_REP_MIN-1 with a 32-byte AVX2
; loop (SSE2 if the CPU lacks AVX2); SC_REP_MIN and more with `rep movsb` (ERMS/FSRM make it the
; fastest large copy here, ahead of glibc's non-temporal loop).

%include "safecopy.inc"

%define SC_REP_MIN 2048

extern sc_cpu_has_avx2

SC_ROUTINE sc_copy
	cmp rdx, 16
	jb .below16
	cmp rdx, 32
	ja .above32
	movdqu xmm0, [rsi]
	movdqu [rdi], xmm0
	movdqu xmm0, [rsi+rdx-16]
	movdqu [rdi+rdx-16], xmm0
	xor edx, edx
	ret
.below16:
	cmp edx, 8
	jb .below8
	mov rcx, [rsi]
	mov [rdi], rcx
	mov rcx, [rsi+rdx-8]
	mov [rdi+rdx-8], rcx
	xor edx, edx
	ret
.below8:
	cmp edx, 4
	jb .below4
	mov ecx, [rsi]
	mov [rdi], ecx
	mov ecx, [rsi+rdx-4]
	mov [rdi+rdx-4], ecx
	xor edx, edx
	ret
.below4:
	test edx, edx
	jz .done
	movzx ecx, byte [rsi]
	mov [rdi], cl
	cmp edx, 2
	jb .done
	movzx ecx, word [rsi+rdx-2]
	mov [rdi+rdx-2], cx
.done:
	xor edx, edx
	ret
.above32:
	cmp rdx, SC_REP_MIN
	jae .rep
	cmp byte [sc_cpu_has_avx2], 0
	jne sc_copy_avx2_body
	; SSE2: 16-byte blocks, then the last 16 bytes (overlapping what is already copied).
	lea rcx, [rdx-16]
	xor eax, eax
.sse_loop:
	movdqu xmm0, [rsi+rax]
	movdqu [rdi+rax], xmm0
	add rax, 16
	cmp rax, rcx
	jb .sse_loop
	movdqu xmm0, [rsi+rcx]
	movdqu [rdi+rcx], xmm0
	xor edx, edx
	ret
.rep:
	mov rcx, rdx
	rep movsb
	xor edx, edx
	ret
SC_LANDING sc_copy
	ret
SC_END sc_copy

; The AVX2 loop is a routine of its own so that its landing can clear the upper ymm state
; (vzeroupper would be an invalid opcode on a CPU without AVX). Entered by jump from sc_copy.
SC_ROUTINE sc_copy_avx2
sc_copy_avx2_body:
	lea rcx, [rdx-32]
	xor eax, eax
	cmp rcx, 128
	jb .tail_loop
	lea r8, [rdx-160]		; last start of a full 128-byte round that leaves the final 32 bytes
.loop128:
	vmovdqu ymm0, [rsi+rax]
	vmovdqu [rdi+rax], ymm0
	vmovdqu ymm1, [rsi+rax+32]
	vmovdqu [rdi+rax+32], ymm1
	vmovdqu ymm2, [rsi+rax+64]
	vmovdqu [rdi+rax+64], ymm2
	vmovdqu ymm3, [rsi+rax+96]
	vmovdqu [rdi+rax+96], ymm3
	add rax, 128
	cmp rax, r8
	jbe .loop128
	cmp rax, rcx
	jae .last
.tail_loop:
	vmovdqu ymm0, [rsi+rax]
	vmovdqu [rdi+rax], ymm0
	add rax, 32
	cmp rax, rcx
	jb .tail_loop
.last:
	vmovdqu ymm0, [rsi+rcx]
	vmovdqu [rdi+rcx], ymm0
	vzeroupper
	xor edx, edx
	ret
SC_LANDING sc_copy_avx2
	vzeroupper
	ret
SC_END sc_copy_avx2

SC_NOTE_GNU_STACK

; sc_copy(dst = RDI, src = RSI, n = RDX, fault = RCX) -> RAX = n, the whole public memcpy fast path:
; the exported safecopy_memcpy is its argument checks (entry.inc), which fall through into it.
;
; On success the routine clears *fault and returns n: inline (SC_RETURN_N) after the register and
; vector paths, through sc_span_done (done.asm, outside the range) after `rep movsb` and for n < 2.
; On a fault the handler resumes the routine at its landing with RAX = fault address and RDX = fault
; word; the landing tail-jumps to the C function sc_copy_after_fault(dst, src, n, fault, addr, word),
; which finds the exact count. So the fast path has no C frame and no call or jump into the routine.
; Registers kept for the landing: RDI = dst, RSI = src (except during rep movsb: R10/R8 keep them),
; R9 = n, R11 = fault; all set before the first declared access.
;
; Precision contract (what sc_copy_after_fault relies on, see src/safecopy/exact.c): each load is
; stored before the next load; when an access that starts at offset a is made, every byte before a is
; already copied and no earlier access reached a + SC_COPY_SPAN (64) or beyond. Hence when that access
; faults, [0, a) is done and nothing at or after the faulting byte was written by it; the handler
; reports both the faulting byte and a. `rep movsb` is exact at byte granularity on a fault
; (RCX/RSI/RDI are restartable).
;
; Paths: up to 64 bytes with no loop: in general/SSE registers up to 32 bytes, 33..64 as two 32-byte
; YMM copies from AVX2 on (SSE2: four 16-byte copies). Measured against four 16-byte copies, three
; alternating runs, load 0.6-1.3: copy/64B 1.32-1.36x -> 1.19-1.31x glibc's time at AVX2,
; 1.18-1.32x -> 1.02-1.40x at AVX-512 (inside the noise there). A masked AVX-512 load and store
; were tried: no faster here, and a fault on a masked access reached the handler about 0.5 us later
; (fault/8B 0.78x -> 0.94x the bare signal). On a CPU with AVX-512 (sc_cpu_has_avx512) 64-byte
; blocks up to SC_REP_MIN_AVX512-1; otherwise above 64 bytes the same blocks, each as two 32-byte
; copies (AVX2) or as four 16-byte copies (SSE2 if the CPU lacks AVX2), up to SC_REP_MIN-1; from
; there `rep movsb` (ERMS/FSRM make it the fastest large copy here, ahead of glibc's non-temporal
; loop). Taken branches (SC_RETURN_N's is not taken without a fault record): none for 16..32 bytes,
; one for 8..15 and 33..64, two for 4..7, three below 4; for 65..128 one at AVX-512, two at AVX2,
; three at SSE2. On this CPU each taken branch costs about as much as copying 64 bytes.

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "entry.inc"

%define SC_REP_MIN 16384		; measured (with the 32-byte AVX2 loop of before): it beats rep movsb 1.4x up
				; to 24 KiB (L1), rep wins from 32 KiB

%define SC_REP_MIN_AVX512 32768	; measured: the 64-byte loop beats rep movsb 1.6x up to 16 KiB, rep wins from 32 KiB

extern sc_cpu_has_avx2
extern sc_cpu_has_avx512
extern sc_copy_after_fault

extern sc_span_done

%macro SC_COPY_BLOCK64 2		; index, disp: one 64-byte block (blocks64.inc)
	SC_ZLOAD 16, rsi, %1, %2
	SC_ZSTORE 16, rdi, %1, %2
%endmacro

%macro SC_COPY_BLOCK16X4 2		; index, disp: one 64-byte block as four 16-byte copies (SSE2)
%assign %%i 0
%rep 4
	SC_XLOAD %1, %2 + %%i
	SC_XSTORE %1, %2 + %%i
%assign %%i %%i + 16
%endrep
%endmacro

%macro SC_COPY_BLOCK32X2 2		; index, disp: one 64-byte block as two 32-byte copies (AVX2)
	SC_YLOAD %1, %2
	SC_YSTORE %1, %2
	SC_YLOAD %1, %2 + 32
	SC_YSTORE %1, %2 + 32
%endmacro

SC_CHECKED_ENTRY safecopy_memcpy, sc_copy, sc_memcpy_cold, 22, rsi
SC_ROUTINE sc_copy
	mov r11, rcx
	mov r9, rdx
	cmp rdx, 64
	ja .above64
.upto64:				; the sizes in order of the fewest taken branches: 16..32, then
	cmp rdx, 32			; 8..15 and 33..64 (one each)
	ja .above32
	cmp rdx, 16
	jb .below16
	SC_LOAD rsi, none, 0, 16
	movdqu xmm0, [rsi]
	SC_STORE rdi, none, 0, 16
	movdqu [rdi], xmm0
	SC_LOAD rsi, rdx, -16, 16
	movdqu xmm0, [rsi+rdx-16]
	SC_STORE rdi, rdx, -16, 16
	movdqu [rdi+rdx-16], xmm0
	SC_RETURN_N
.below16:
	cmp edx, 8
	jb .below8
	SC_LOAD rsi, none, 0, 8
	mov rcx, [rsi]
	SC_STORE rdi, none, 0, 8
	mov [rdi], rcx
	SC_LOAD rsi, rdx, -8, 8
	mov rcx, [rsi+rdx-8]
	SC_STORE rdi, rdx, -8, 8
	mov [rdi+rdx-8], rcx
	SC_RETURN_N
.below8:
	cmp edx, 4
	jb .below4
	SC_LOAD rsi, none, 0, 4
	mov ecx, [rsi]
	SC_STORE rdi, none, 0, 4
	mov [rdi], ecx
	SC_LOAD rsi, rdx, -4, 4
	mov ecx, [rsi+rdx-4]
	SC_STORE rdi, rdx, -4, 4
	mov [rdi+rdx-4], ecx
	SC_RETURN_N
.below4:
	test edx, edx
	jz sc_span_done
	SC_LOAD rsi, none, 0, 1
	movzx ecx, byte [rsi]
	SC_STORE rdi, none, 0, 1
	mov [rdi], cl
	cmp edx, 2
	jb sc_span_done
	SC_LOAD rsi, rdx, -2, 2
	movzx ecx, word [rsi+rdx-2]
	SC_STORE rdi, rdx, -2, 2
	mov [rdi+rdx-2], cx
	SC_RETURN_N
.above32:				; 33..64: two 32-byte copies at 0 and n-32 from AVX2 on
	cmp byte [sc_cpu_has_avx2], 0
	je .sse2_above32
	SC_YLOAD none, 0
	SC_YSTORE none, 0
	SC_YLOAD rdx, -32
	SC_YSTORE rdx, -32
	vzeroupper
	SC_RETURN_N
.sse2_above32:
	SC_LOAD rsi, none, 0, 16
	movdqu xmm0, [rsi]
	SC_STORE rdi, none, 0, 16
	movdqu [rdi], xmm0
	SC_LOAD rsi, none, 16, 16
	movdqu xmm0, [rsi+16]
	SC_STORE rdi, none, 16, 16
	movdqu [rdi+16], xmm0
	SC_LOAD rsi, rdx, -32, 16
	movdqu xmm0, [rsi+rdx-32]
	SC_STORE rdi, rdx, -32, 16
	movdqu [rdi+rdx-32], xmm0
	SC_LOAD rsi, rdx, -16, 16
	movdqu xmm0, [rsi+rdx-16]
	SC_STORE rdi, rdx, -16, 16
	movdqu [rdi+rdx-16], xmm0
	SC_RETURN_N
.above64:
	cmp byte [sc_cpu_has_avx512], 0
	je .no_avx512
	; AVX-512: the blocks of blocks64.inc. zmm16 is used, not zmm0-15: it leaves the upper halves of
	; ymm0-15 clean, so neither the exit nor the landing needs vzeroupper. (Two 32-byte copies per
	; block up to 512 bytes, as at AVX2, measured 1.15-1.4x slower at 128-512 B.)
	SC_BLOCKS64_FROM64 SC_COPY_BLOCK64, sc_copy_rep_body
.no_avx512:
	cmp byte [sc_cpu_has_avx2], 0
	je .sse2_above64
	; AVX2: the blocks of blocks64.inc up to 512 bytes, each as two 32-byte copies, here on the
	; fall-through path; the loop above is a routine of its own, which goes on to rep movsb.
	SC_BLOCKS64_UPTO512 SC_COPY_BLOCK32X2, sc_copy_avx2_body, vzeroupper
.sse2_above64:
	; SSE2: the blocks of blocks64.inc at every size, each as four 16-byte copies.
	SC_BLOCKS64_UPTO512 SC_COPY_BLOCK16X4, .sse_above512, SC_NO_EXIT
.sse_above512:
	SC_BLOCKS64_LOOP SC_COPY_BLOCK16X4, sc_copy_rep_body, SC_REP_MIN, SC_NO_EXIT
SC_LANDING sc_copy
	SC_LANDING_VZEROUPPER
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy

; rep movsb moves RDI/RSI: a routine of its own whose landing puts them back.
SC_ROUTINE sc_copy_rep
sc_copy_rep_body:
	mov r10, rdi
	mov r8, rsi
	mov rcx, rdx
	SC_REP_MOVS
	rep movsb
	jmp sc_span_done
SC_LANDING sc_copy_rep
	mov rdi, r10
	mov rsi, r8
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy_rep

; The AVX2 loop, for 513 bytes up to SC_REP_MIN-1 (from there rep movsb), entered from sc_copy
; (measured: 1.15-1.4x faster at 768 B-1 KiB than four 32-byte copies per round, the loop it
; replaces; not so for sc_memset).
SC_ROUTINE sc_copy_avx2
sc_copy_avx2_body:
	SC_BLOCKS64_LOOP SC_COPY_BLOCK32X2, sc_copy_rep_body, SC_REP_MIN, vzeroupper
SC_LANDING sc_copy_avx2
	vzeroupper
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy_avx2

SC_NOTE_GNU_STACK

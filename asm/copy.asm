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
; (fault/8B 0.78x -> 0.94x the bare signal). At AVX-512 64-byte blocks from 64 bytes up to
; SC_REP_MIN_AVX512-1; at AVX2 above 64 bytes the same blocks, each as two 32-byte copies, and at SSE2
; as four 16-byte copies, up to SC_REP_MIN-1; from there `rep movsb` (ERMS/FSRM make it the fastest
; large copy on the AMD EPYC), except for the sizes that the AVX-512 and AVX2 loops hand to the
; non-temporal copies of copy_nt.asm, chosen at load time: on an Intel CPU from 48 MiB, on an AMD
; none (copy_nt.asm says why and what it measured on an Intel Xeon).
; Large copies on the AMD EPYC, measured for issue 11 with scripts/bigcopy-methods.c (the bench's
; buffers and alignments; glibc 2.36 there stops its rep movsb at 1 MiB, the L2, and runs its 4-vector
; loop up to its non-temporal threshold, 288 MiB on that VM): 4 or 8 64-byte (AVX2: 32-byte) loads and
; aligned stores per round, the same with prefetcht0/prefetchnta of the source or prefetchw of the
; destination ahead, non-temporal stores with and without prefetch, every other line non-temporal, rep
; movsb in 64 KiB-256 KiB chunks, CLZERO of each destination line (about 100x slower). None is faster
; than rep movsb at 2-8 MiB, where src and dst sit in the L3 and every way is bound by its bandwidth:
; there rep movsb takes 0.76-0.85x glibc's time while the host is busy, 0.89-1.0x in the rounds where
; glibc was fastest (quiet: the main job's 0.95-0.97x), the loops 0.95-1.2x, non-temporal stores
; 1.15-1.5x (they go to DRAM). At 16-64 MiB non-temporal stores take 0.6-0.8x, as rep movsb does.
;
; Layout. The level is chosen with the size, first thing, by thresholds each level sets for itself
; (src/safecopy/cpu.c), with no flag test: n > sc_copy_zmm_above (63 at AVX-512) goes to the
; AVX-512 blocks with one taken branch; n >= sc_copy_vec_below (64 at AVX-512, 65 at AVX2, 33 at SSE2)
; to .lower (AVX2's blocks above 64 bytes, by sc_copy_ymm_above; SSE2's four 16-byte copies above 32);
; every other call is up to 32 bytes at any level, run in general/SSE registers, or 33..64 at AVX2
; and 33..63 at AVX-512, two YMM copies (.ymm33). What a call costs here is mostly how many 64-byte
; lines of code it is fetched from (a taken branch ends one, its target starts one): the entry
; starts a line and the routine follows it at once (asm/entry.inc), 16..32 bytes run in that line and
; the next, and every other size class up to 128 bytes starts a line of its own (SC_LINE) and fits in
; it, so a call up to 128 bytes takes two lines at AVX-512 and AVX2 (129..256: four, as glibc's three
; or four).
; On the Intel Xeon (Sapphire Rapids class) each 64-byte line costs about a cycle: in a standalone
; loop glibc's own 64-byte AVX-512 path (55 bytes) took 3.9 cycles per call when it started a line and
; 4.9 when it started 16 bytes in, across two. glibc copies 64..128 bytes (AVX-512) and 32..64 (AVX2)
; from one line, where the entry's checks and the level's compares (about 45 bytes) leave no room:
; two lines here, copy/64B and copy/128B 1.31x its time, copy@avx2/32B and 64B 1.50x. Compares ahead
; of a path cost up to a cycle each there too: AVX2's 33..64 tested sc_cpu_has_avx2 in its own line
; (1.75x at 64 B); the level in sc_copy_vec_below instead made it 1.50x.
; Measured with the bench rows (ratio to glibc's memcpy, alternating runs, loaded machine): copy/128B
; 1.27-1.38x -> 0.96-1.07x at AVX2 and 1.27-1.34x -> 1.03-1.09x at AVX-512, copy/256B 1.49-1.58x ->
; 1.08-1.10x at AVX2. Tried and dropped: memset's 32..128 bytes branch-free from store addresses
; computed with cmov measured 1.35-1.40x glibc's time at 32 and 64 bytes, two stores at fixed
; addresses 1.0x: keep store addresses a fixed offset from dst, n or n/2.

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "copy_blocks.inc"
%include "entry.inc"

%define SC_REP_MIN 16384		; measured (with the 32-byte AVX2 loop of before): it beats rep movsb 1.4x up
				; to 24 KiB (L1), rep wins from 32 KiB (SSE2; AVX2: sc_copy_avx2_rep_min)

%define SC_REP_MIN_AVX512 32768	; measured: the 64-byte loop beats rep movsb 1.6x up to 16 KiB, rep wins from 32 KiB

extern sc_cpu_has_avx2
extern sc_copy_zmm_above
extern sc_copy_ymm_above
extern sc_copy_vec_below
extern sc_copy_avx2_rep_min
extern sc_copy_after_fault

extern sc_span_done
extern sc_copy_nt			; copy_nt.asm (entered at their ENDBR64: no symbol inside a routine)
extern sc_copy_nt_avx2

%macro SC_COPY_16X 3			; count, index, disp: count ascending 16-byte copies (SSE2)
%assign %%i 0
%rep %1
	SC_XLOAD %2, %3 + %%i
	SC_XSTORE %2, %3 + %%i
%assign %%i %%i + 16
%endrep
%endmacro
%macro SC_COPY_BLOCK16X2 2		; index, disp: 32 bytes
	SC_COPY_16X 2, %1, %2
%endmacro
%macro SC_COPY_BLOCK16X4 2		; index, disp: one 64-byte block
	SC_COPY_16X 4, %1, %2
%endmacro

SC_CHECKED_ENTRY safecopy_memcpy, sc_copy, sc_memcpy_cold, 22, rsi
SC_ROUTINE sc_copy
	SC_START_BY_LEVEL sc_copy_zmm_above, sc_copy_vec_below	; 63 at AVX-512; 64, 65 (AVX2), 33 (SSE2)
	cmp edx, 32
	ja .ymm33
	cmp edx, 16
	jb .below16
	SC_LOAD rsi, none, 0, 16	; 16..32: at 0 and n-16
	movdqu xmm0, [rsi]
	SC_STORE rdi, none, 0, 16
	movdqu [rdi], xmm0
	SC_LOAD rsi, rdx, -16, 16
	movdqu xmm0, [rsi+rdx-16]
	SC_STORE rdi, rdx, -16, 16
	movdqu [rdi+rdx-16], xmm0
	SC_RETURN_N
SC_LINE
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
SC_LINE
.ymm33:					; 33..64 at AVX2, 33..63 at AVX-512: at 0 and n-32
	SC_YLOAD none, 0
	SC_YSTORE none, 0
	SC_YLOAD rdx, -32
	SC_YSTORE rdx, -32
	vzeroupper
	SC_RETURN_N_SHORT
SC_LINE
.lower:					; AVX2 above 64 bytes, SSE2 above 32
	cmp rdx, [rel sc_copy_ymm_above]	; AVX2: 64; other levels never
	jbe .sse2_above32
.ymm_above64:				; AVX2, n > 64
	cmp rdx, 128
	ja .ymm_above128
	SC_COPY_BLOCK32X2 none, 0
	SC_COPY_BLOCK32X2 rdx, -64
	vzeroupper
	SC_RETURN_N_SHORT
SC_LINE
; Tried for issue 11 (copy@avx2/512B, ratios to glibc's AVX2 memcpy, alternating runs of the fallback
; part, load 1-2): the loop (sc_copy_avx2) from 257 bytes, 1.02x at 512 B against 0.91x for these
; blocks; 257..512 reached without a taken branch (129..256 with one more), 512 B unchanged (0.86x)
; and 256 B slower (1.20x against 1.11x). Nor does the order inside a block matter: 256 bytes as eight
; alternating 32-byte loads and stores took the time of eight loads then eight stores (standalone).
.ymm_above128:				; AVX2: the blocks of blocks64.inc up to 512 bytes, each as two
	cmp rdx, 256			; 32-byte copies; the loop is a routine of its own
	ja .ymm_above256
	SC_BLOCKS64_129_256 SC_COPY_BLOCK32X2, vzeroupper
SC_LINE
.ymm_above256:
	SC_BLOCKS64_257_512 SC_COPY_BLOCK32X2, sc_copy_avx2_body, vzeroupper
SC_LINE
.zmm:
	; AVX-512 from 64 bytes: the blocks of blocks64.inc. zmm16 is used, not zmm0-15: it leaves the
	; upper halves of ymm0-15 clean, so neither the exit nor the landing needs vzeroupper. (Two
	; 32-byte copies per block up to 512 bytes, as at AVX2, measured 1.15-1.4x slower at 128-512 B.)
	SC_BLOCKS64_FROM64 SC_COPY_BLOCK64, sc_copy_nt
.sse2_above32:
	cmp rdx, 64
	ja .sse2_above64
	SC_COPY_BLOCK16X2 none, 0	; 33..64: four 16-byte copies, at 0, 16, n-32 and n-16
	SC_COPY_BLOCK16X2 rdx, -32
	SC_RETURN_N
.sse2_above64:
	; SSE2: the blocks of blocks64.inc at every size, each as four 16-byte copies.
	SC_BLOCKS64_UPTO512 SC_COPY_BLOCK16X4, .sse_above512, SC_NO_EXIT
.sse_above512:
	SC_BLOCKS64_LOOP SC_COPY_BLOCK16X4, sc_copy_rep_body, SC_REP_MIN, SC_NO_EXIT
SC_LANDING sc_copy
	SC_LANDING_VZEROUPPER
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy

; rep movsb moves RDI/RSI: a routine of its own whose landing puts them back. Entered from the SSE2
; loop, and from copy_nt.asm (at sc_copy_rep) for the sizes it leaves to rep movsb.
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

; The AVX2 loop, for 513 bytes up to sc_copy_avx2_rep_min-1 (from there rep movsb: src/safecopy/cpu.c
; says where it wins), entered from sc_copy
; (measured: 1.15-1.4x faster at 768 B-1 KiB than four 32-byte copies per round, the loop it
; replaces; not so for sc_memset).
SC_LINE				; its loop in one 64-byte line (at 32 bytes in: 1.2-1.5x slower at 1-2 KiB)
SC_ROUTINE sc_copy_avx2
sc_copy_avx2_body:
	SC_BLOCKS64_LOOP SC_COPY_BLOCK32X2, sc_copy_nt_avx2, [rel sc_copy_avx2_rep_min], vzeroupper
SC_LANDING sc_copy_avx2
	vzeroupper
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy_avx2

SC_NOTE_GNU_STACK

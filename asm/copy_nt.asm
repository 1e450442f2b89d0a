; The copies that skip the caches: at AVX-512 and AVX2, sc_copy's loops hand every n from their rep
; threshold on (SC_REP_MIN_AVX512; sc_copy_avx2_rep_min, per CPU: copy.asm, cpu.c) to sc_copy_nt or
; sc_copy_nt_avx2, which copy with non-temporal stores (vmovntdq) the sizes src/safecopy/cpu.c chose
; for this CPU at load time and send every other n on to rep movsb (sc_copy_rep). Chosen on Intel
; only (cpu.c: where rep movsb won on the AMD EPYC, every size stays rep movsb, at a cost of two
; instructions per call).
;
; Why, measured on the Intel Xeon (2 vCPUs, L2 2 MiB; scripts/bigcopy-methods.c, the bench's buffers
; copied again and again, median ratio to glibc's memcpy, which is rep movsb at all these sizes here;
; 15-21 rounds, other helpers' jobs running): from 48 MiB src and dst no longer stay in the caches
; (the rate falls to 6-7 GB/s) and the stores go to DRAM without first reading each line (no read
; for ownership): 0.69-0.76x at 48-64 MiB, 0.78-0.81x also with other buffers each call or with dst
; read after the copy. At 32-40 MiB they measured 0.82-0.93x in the rounds where the host's L3 was
; busy, 1.02-1.04x in the quiet ones; at 3-24 MiB 1.0-1.08x (the L2 <-> L3 link carries about
; 29 GB/s: 4 MiB read alone 28-30 GB/s, written alone 23-28, copied 14-15 each way, and a copy moves
; every byte twice); at 1.25-2.5 MiB 0.77-0.95x, but only because the same src is copied again (it
; fits in the L2 when dst bypasses it): with other buffers each call 1.07x, and with dst read after
; the copy 1.4-1.9x (rep movsb leaves it in the L2), so not chosen; below 1.25 MiB 1.13-1.5x (src and
; dst stay in the L2 anyway, and non-temporal stores go out at 23 GB/s at most). Also tried, standalone: a 64-byte loop that CLDEMOTEs each
; destination line after it (or src's, 1-4 KiB behind) to keep the L2 for the other side, 1.7-3.9x
; rep movsb's time at 1-4 MiB.
;
; The loop is SC_BLOCKS64_LOOP_BODY (blocks64.inc): the first and last 64 bytes by ordinary stores,
; every aligned line between by a non-temporal one, in ascending order: the precision contract of
; copy.asm holds as for every other loop (a store that faults writes nothing, whatever its kind; the
; stores before it are the thread's own, which its later accesses and the landing's re-copy see in
; order). Non-temporal stores are weakly ordered against other CPUs: an sfence makes them globally
; visible before the count is returned, on the success exit and at the landing alike (another
; thread, or a process sharing the memory, may act on the count).

%include "safecopy.inc"
%include "evex.inc"
%include "blocks64.inc"
%include "copy_blocks.inc"

extern sc_copy_nt_above
extern sc_copy_rep
extern sc_copy_after_fault

; SC_COPY_NT_OR_REP: goes on if n (RDX) is above sc_copy_nt_above (cpu.h; never met where no size is
; chosen), else to rep movsb.
%macro SC_COPY_NT_OR_REP 0
	cmp rdx, [rel sc_copy_nt_above]
	jbe sc_copy_rep
%endmacro

%macro SC_SFENCE_VZEROUPPER 0
	sfence
	vzeroupper
%endmacro

SC_ROUTINE sc_copy_nt			; AVX-512, n >= SC_REP_MIN_AVX512
	SC_COPY_NT_OR_REP
	SC_BLOCKS64_LOOP_BODY SC_COPY_BLOCK64_NT, SC_COPY_BLOCK64, sfence
SC_LANDING sc_copy_nt
	sfence				; (zmm16 only: no vzeroupper, as in sc_copy)
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy_nt

SC_ROUTINE sc_copy_nt_avx2		; AVX2, n >= sc_copy_avx2_rep_min
	SC_COPY_NT_OR_REP
	SC_BLOCKS64_LOOP_BODY SC_COPY_BLOCK32X2_NT, SC_COPY_BLOCK32X2, SC_SFENCE_VZEROUPPER
SC_LANDING sc_copy_nt_avx2
	SC_SFENCE_VZEROUPPER
	SC_LANDING_TO_C sc_copy_after_fault
SC_END sc_copy_nt_avx2

SC_NOTE_GNU_STACK

; Probes: sc_probe_read / sc_probe_write(p = RDI, n = RSI > 0, fault = RDX) -> RAX = n.
;
; One 1-byte access per page of [p, p+n): at p, then at the first byte of every later page the range
; touches (x86-64 grants access per 4 KiB page at the finest, so one byte tells for its whole page).
; The read probe loads the byte; the write probe is `lock or byte [x], 0`, an atomic read-modify-write
; that needs write permission and changes nothing (a concurrent writer's store is never lost, and a
; byte never splits a cache line, so no split-lock #AC). Ascending order: the first access that faults
; is at the first byte that is not accessible, so on a fault the count is simply that byte minus p.
;
; Success clears *fault (R11, may be NULL) and returns n (R9) through SC_RETURN_N. A fault resumes the
; routine at its landing, which tail-jumps to sc_probe_after_fault(fault, p, addr, word). Kept for the
; landing: RDI = p, R11 = fault, both set before the first access. The C wrapper has checked that
; [p, p+n) does not wrap.

%include "safecopy.inc"

extern sc_probe_after_fault

; SC_PROBE name, write: a probe routine (write 0: load the byte; 1: lock or it with 0)
%macro SC_PROBE 2
SC_ROUTINE %1
	mov r11, rdx
	mov r9, rsi
	lea r10, [rdi + rsi - 1]	; the last byte of the range
	mov r8, rdi
.page:
%if %2
	SC_RMW r8, none, 0, 1
	lock or byte [r8], 0
%else
	SC_LOAD r8, none, 0, 1
	movzx eax, byte [r8]
%endif
	or r8, 4095
	add r8, 1			; the next page's first byte (carry: past the top of the address space)
	jc .done
	cmp r8, r10
	jbe .page
.done:
	SC_RETURN_N
SC_LANDING %1
	mov rsi, rdi
	mov rdi, r11
	mov rcx, rdx
	mov rdx, rax
	jmp sc_probe_after_fault
SC_END %1
%endmacro

SC_PROBE sc_probe_read, 0
SC_PROBE sc_probe_write, 1

SC_NOTE_GNU_STACK

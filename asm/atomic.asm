; Loads, stores and read-modify-write operations, 32 and 64 bits, on memory that may fault.
;
; Each routine takes exactly the arguments of its public function (include/safecopy.h), alignment
; already checked by the C wrapper, and is that function's whole fast path: on success it leaves its
; range through a done stub that writes the value to the output pointer, clears *fault and returns
; SAFECOPY_OK. On a fault the handler resumes it at its landing with RAX = fault address and RDX = fault
; word, and the landing tail-jumps to sc_atomic_fault(fault, p, word), which fills the record and
; returns the status. Kept for the landing: RDI = p, R11 = fault; R10 holds the output pointer.
;
; Loads are plain aligned moves (seq_cst on x86-64); every write is lock-prefixed or an xchg
; (implicitly locked), so all operations are sequentially consistent.

%include "safecopy.inc"

extern sc_atomic_fault

; The range of each routine ends right after its memory access; the exit that follows (store the
; result through the output pointer R10, clear *fault in R11, return SAFECOPY_OK) is outside it, so a
; bad output or fault pointer crashes as the caller's bug instead of being reported as a fault of p.
; Inline rather than shared: these are the hottest paths of the library.

; SC_ATOMIC_EXIT name, value register or `none`
%macro SC_ATOMIC_EXIT 2
%1_end:
%ifnidn %2, none
	mov [r10], %2
%endif
	xor eax, eax
	test r11, r11
	jz %%no_record
	mov [r11], rax
	mov [r11+8], rax
	mov [r11+16], rax
%%no_record:
	ret
SC_LANDING %1
	mov rsi, rdi
	mov rdi, r11
	jmp sc_atomic_fault
SC_STUB %1
%endmacro

; SC_ATOMICS width, a (accumulator), v (operand), t (temporary), d (desired)
%macro SC_ATOMICS 5
; (p, out, fault)
SC_ROUTINE sc_load%1
	mov r10, rsi
	mov r11, rdx
	SC_LOAD rdi, none, 0, %1/8
	mov %2, [rdi]
SC_ATOMIC_EXIT sc_load%1, %2

; (p, v, fault)
SC_ROUTINE sc_store%1
	mov r11, rdx
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
SC_ATOMIC_EXIT sc_store%1, none

; (p, v, old, fault)
SC_ROUTINE sc_swap%1
	mov r10, rdx
	mov r11, rcx
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT sc_swap%1, %2

; (p, expected, desired, actual, fault)
SC_ROUTINE sc_cas%1
	mov r10, rcx
	mov r11, r8
	mov %2, %3
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
SC_ATOMIC_EXIT sc_cas%1, %2

; (p, v, old, fault)
SC_ROUTINE sc_fetch_add%1
	mov r10, rdx
	mov r11, rcx
	SC_RMW rdi, none, 0, %1/8
	lock xadd [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT sc_fetch_add%1, %2

SC_FETCH_OP %1, and, %2, %3, %4
SC_FETCH_OP %1, or, %2, %3, %4
SC_FETCH_OP %1, xor, %2, %3, %4
%endmacro

; and/or/xor have no fetching form: load, then cmpxchg until no other writer got in between.
; SC_FETCH_OP width, op, a, v, t: (p, v, old, fault)
%macro SC_FETCH_OP 5
SC_ROUTINE sc_fetch_%2%1
	mov r10, rdx
	mov r11, rcx
	SC_LOAD rdi, none, 0, %1/8
	mov %3, [rdi]
.retry:
	mov %5, %3
	%2 %5, %4
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
	jne .retry
SC_ATOMIC_EXIT sc_fetch_%2%1, %3
%endmacro

SC_ATOMICS 32, eax, esi, ecx, edx
SC_ATOMICS 64, rax, rsi, rcx, rdx

SC_NOTE_GNU_STACK

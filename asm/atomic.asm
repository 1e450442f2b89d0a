; Loads, stores and read-modify-write operations, 32 and 64 bits, on memory that may fault.
; In: RDI = p (naturally aligned: the C wrapper checks), RSI = operand, RDX = desired (cas only).
; Out: RAX = the value read (old value), RDX = 0. On a fault the handler resumes at the landing with
; RAX = fault address and RDX = the fault word. Loads are plain aligned moves (seq_cst on x86-64);
; every write is lock-prefixed or an xchg (implicitly locked), so all are sequentially consistent.

%include "safecopy.inc"

; SC_ATOMICS width, a (accumulator), v (operand), t (temporary), d (desired)
%macro SC_ATOMICS 5
SC_ROUTINE sc_load%1
	mov %2, [rdi]
	xor edx, edx
	ret
SC_LANDING sc_load%1
	ret
SC_END sc_load%1

SC_ROUTINE sc_store%1
	xchg [rdi], %3
	xor eax, eax
	xor edx, edx
	ret
SC_LANDING sc_store%1
	ret
SC_END sc_store%1

SC_ROUTINE sc_swap%1
	xchg [rdi], %3
	mov %2, %3
	xor edx, edx
	ret
SC_LANDING sc_swap%1
	ret
SC_END sc_swap%1

SC_ROUTINE sc_cas%1
	mov %2, %3
	lock cmpxchg [rdi], %5
	xor edx, edx
	ret
SC_LANDING sc_cas%1
	ret
SC_END sc_cas%1

SC_ROUTINE sc_fetch_add%1
	lock xadd [rdi], %3
	mov %2, %3
	xor edx, edx
	ret
SC_LANDING sc_fetch_add%1
	ret
SC_END sc_fetch_add%1

SC_FETCH_OP %1, and, %2, %3, %4
SC_FETCH_OP %1, or, %2, %3, %4
SC_FETCH_OP %1, xor, %2, %3, %4
%endmacro

; and/or/xor have no fetching form: load, then cmpxchg until no other writer got in between.
; SC_FETCH_OP width, op, a, v, t
%macro SC_FETCH_OP 5
SC_ROUTINE sc_fetch_%2%1
	mov %3, [rdi]
.retry:
	mov %5, %3
	%2 %5, %4
	lock cmpxchg [rdi], %5
	jne .retry
	xor edx, edx
	ret
SC_LANDING sc_fetch_%2%1
	ret
SC_END sc_fetch_%2%1
%endmacro

SC_ATOMICS 32, eax, esi, ecx, edx
SC_ATOMICS 64, rax, rsi, rcx, rdx

SC_NOTE_GNU_STACK

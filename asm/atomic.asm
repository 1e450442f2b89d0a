; Loads, stores and read-modify-write operations, 32 and 64 bits, on memory that may fault.
;
; Each routine is also the exported function safecopy_atomic_<op><width> (include/safecopy.h): its
; whole fast path, with no C frame around it. It takes the arguments of that function and returns
; struct safecopy_atomic_result in RAX:RDX (value, status; SysV returns a struct of two INTEGER
; eightbytes there): RAX = the output (zero-extended), RDX = SAFECOPY_OK. It does not touch the fault
; record on success (the caller's inline code clears it, where a NULL record costs nothing).
;
; The entry checks come first, both in one branch (the low bits of p that must be 0, ORed with
; sc_gate): a misaligned p tail-jumps to sc_atomic_misaligned(p, fault) (no access); while sc_gate is
; not 0 (not initialised yet, or some thread runs a previous handler with SIGSEGV/SIGBUS blocked:
; src/safecopy/routines.h) the entry tail-jumps to the cold C path sc_atomic_slow_<op><width> with the
; same arguments, which opens the window and calls the routine again at sc_<op><width>_unchecked,
; right after the checks.
;
; On a fault the handler resumes the routine at its landing with RAX = fault address and RDX = fault
; word, and the landing tail-jumps to sc_atomic_fault(fault, p, word), which fills the record and
; returns the result. Kept for the landing: RDI = p and the record pointer, set before the access:
; in RSI for loads, which never write it; copied to R11 by the others (the handler overwrites RAX and
; RDX, and the fast exit RCX: asm/fast_exit.asm).
;
; Loads are plain aligned moves (seq_cst on x86-64); every write is lock-prefixed or an xchg
; (implicitly locked), so all operations are sequentially consistent.

%include "safecopy.inc"

extern sc_atomic_fault
extern sc_atomic_misaligned
extern sc_gate

; SC_ATOMIC_ENTRY op, width, fault register, record register: starts routine sc_<op><width> =
; safecopy_atomic_<op><width> with its checks, then, from sc_<op><width>_unchecked on, keeps the
; record pointer in the record register (copied there unless it is the fault register itself).
%macro SC_ATOMIC_ENTRY 4
extern sc_atomic_slow_%1%2
SC_ROUTINE sc_%1%2, safecopy_atomic_%1%2
	mov eax, edi
	and eax, %2/8 - 1
	or eax, [rel sc_gate]
	jnz sc_%1%2_checks_failed
global sc_%1%2_unchecked:function hidden
sc_%1%2_unchecked:
%ifnidn %3, %4
	mov %4, %3
%endif
%endmacro

; SC_ATOMIC_EXIT op, width, fault register, record register: the range ends right after the memory
; access; then the success return (the output is already in RAX), the entry's cold exits and the
; landing.
%macro SC_ATOMIC_EXIT 4
sc_%1%2_end:
	xor edx, edx
	ret
sc_%1%2_checks_failed:
	test dil, %2/8 - 1
	jz sc_atomic_slow_%1%2
%ifnidn %3, rsi
	mov rsi, %3
%endif
	jmp sc_atomic_misaligned
SC_LANDING sc_%1%2
%ifidn %4, rsi
	xchg rdi, rsi
%else
	mov rsi, rdi
	mov rdi, %4
%endif
	jmp sc_atomic_fault
SC_STUB sc_%1%2
%endmacro

; SC_ATOMICS width, a (accumulator), v (operand), t (temporary), d (desired)
%macro SC_ATOMICS 5
; (p, fault)
SC_ATOMIC_ENTRY load, %1, rsi, rsi
	SC_LOAD rdi, none, 0, %1/8
	mov %2, [rdi]
SC_ATOMIC_EXIT load, %1, rsi, rsi

; (p, v, fault)
SC_ATOMIC_ENTRY store, %1, rdx, r11
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
	xor eax, eax
SC_ATOMIC_EXIT store, %1, rdx, r11

; (p, v, fault)
SC_ATOMIC_ENTRY swap, %1, rdx, r11
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT swap, %1, rdx, r11

; (p, expected, desired, fault)
SC_ATOMIC_ENTRY cas, %1, rcx, r11
	mov %2, %3
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
SC_ATOMIC_EXIT cas, %1, rcx, r11

; (p, v, fault)
SC_ATOMIC_ENTRY fetch_add, %1, rdx, r11
	SC_RMW rdi, none, 0, %1/8
	lock xadd [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT fetch_add, %1, rdx, r11

SC_FETCH_OP %1, and, %2, %3, %4
SC_FETCH_OP %1, or, %2, %3, %4
SC_FETCH_OP %1, xor, %2, %3, %4
%endmacro

; and/or/xor have no fetching form: load, then cmpxchg until no other writer got in between.
; SC_FETCH_OP width, op, a, v, t: (p, v, fault)
%macro SC_FETCH_OP 5
SC_ATOMIC_ENTRY fetch_%2, %1, rdx, r11
	SC_LOAD rdi, none, 0, %1/8
	mov %3, [rdi]
.retry:
	mov %5, %3
	%2 %5, %4
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
	jne .retry
SC_ATOMIC_EXIT fetch_%2, %1, rdx, r11
%endmacro

SC_ATOMICS 32, eax, esi, ecx, edx
SC_ATOMICS 64, rax, rsi, rcx, rdx

SC_NOTE_GNU_STACK

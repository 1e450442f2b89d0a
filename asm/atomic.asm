; Loads, stores and read-modify-write operations, 32 and 64 bits, on memory that may fault.
;
; Each routine is also the exported function safecopy_atomic_<op><width> (include/safecopy.h): its
; whole fast path, with no C frame around it. It takes the arguments of that function and returns
; struct safecopy_atomic_result in RAX:RDX (value, status; SysV returns a struct of two INTEGER
; eightbytes there): RAX = the output (zero-extended), RDX = SAFECOPY_OK. It does not touch the fault
; record on success (the caller's inline code clears it, where a NULL record costs nothing).
;
; Every operation that writes (all but the loads) has a second routine, safecopy_atomic_<op><width>_jl,
; the same but entered by a jump with its return address in R9 and left by `jmp r9`: the header's
; inline atomics reach it so, never by a call. A call stores its return address, and a locked
; instruction does not start before every earlier store has reached the cache: measured on an Intel
; Xeon (family 6 model 0xa7), that store costs 3.3 ns on each locked operation (call; lock xadd; ret
; 8.9 ns, lea r9; jmp; lock xadd; jmp r9 5.1 ns, the inline lock xadd 5.1 ns; 4 call sites in one
; loop predict their `jmp r9` as well). The _jl routines' cold exits need a C call, which they make
; through sc_atomic_jl_call below the caller's red zone; so the inline asm of the header clobbers
; what a call clobbers, and the stack is as the caller left it whichever way the routine ends.
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
; RDX, and the fast exit RCX: asm/fast_exit.asm); and a _jl routine's R9 (the handler's exits
; restore every general register but those three).
;
; Loads are plain aligned moves (seq_cst on x86-64); every write is lock-prefixed or an xchg
; (implicitly locked), so all operations are sequentially consistent.

%include "safecopy.inc"

extern sc_atomic_fault
extern sc_atomic_misaligned
extern sc_gate

; SC_ATOMIC_ENTRY op, width, fault register, record register, link: starts routine
; sc_<op><width><link> = safecopy_atomic_<op><width><link> with its checks, then keeps the record
; pointer in the record register (copied there unless it is the fault register itself). link is {}
; for the SysV routine, which also has the label sc_<op><width>_unchecked right after the checks (the
; slow path's way in, for both routines), or _jl.
%macro SC_ATOMIC_ENTRY 5
extern sc_atomic_slow_%1%2		; twice for the two routines of an operation: yasm allows it
SC_ROUTINE sc_%1%2%5, safecopy_atomic_%1%2%5
	mov eax, edi
	and eax, %2/8 - 1
	or eax, [rel sc_gate]
	jnz sc_%1%2%5_checks_failed
%ifnidn %5, _jl
global sc_%1%2_unchecked:function hidden
sc_%1%2_unchecked:
%endif
%ifnidn %3, %4
	mov %4, %3
%endif
%endmacro

; SC_ATOMIC_TAIL link, function: leaves for the C function `function` with the arguments in place; a
; plain tail jump from a SysV routine, through sc_atomic_jl_call (which returns to R9) from a _jl one.
%macro SC_ATOMIC_TAIL 2
%ifidn %1, _jl
	lea rax, [rel %2]
	jmp sc_atomic_jl_call
%else
	jmp %2
%endif
%endmacro

; SC_ATOMIC_EXIT op, width, fault register, record register, link: the range ends right after the
; memory access; then the success return (the output is already in RAX), the entry's cold exits and
; the landing.
%macro SC_ATOMIC_EXIT 5
sc_%1%2%5_end:
	xor edx, edx
%ifidn %5, _jl
	jmp r9
%else
	ret
%endif
sc_%1%2%5_checks_failed:
	test dil, %2/8 - 1
	jz %%closed
%ifnidn %3, rsi
	mov rsi, %3
%endif
	SC_ATOMIC_TAIL %5, sc_atomic_misaligned
%%closed:
	SC_ATOMIC_TAIL %5, sc_atomic_slow_%1%2
SC_LANDING sc_%1%2%5
%ifidn %4, rsi
	xchg rdi, rsi
%else
	mov rsi, rdi
	mov rdi, %4
%endif
	SC_ATOMIC_TAIL %5, sc_atomic_fault
SC_STUB sc_%1%2%5
%endmacro

; SC_LOADS width, a (accumulator): the load, a SysV routine only (a load is no locked instruction).
%macro SC_LOADS 2
; (p, fault)
SC_ATOMIC_ENTRY load, %1, rsi, rsi, {}
	SC_LOAD rdi, none, 0, %1/8
	mov %2, [rdi]
SC_ATOMIC_EXIT load, %1, rsi, rsi, {}
%endmacro

; SC_WRITES width, a (accumulator), v (operand), t (temporary), d (desired), link: the operations
; that write, as routines with that link ({} or _jl: SC_ATOMIC_ENTRY).
%macro SC_WRITES 6
; (p, v, fault)
SC_ATOMIC_ENTRY store, %1, rdx, r11, %6
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
	xor eax, eax
SC_ATOMIC_EXIT store, %1, rdx, r11, %6

; (p, v, fault)
SC_ATOMIC_ENTRY swap, %1, rdx, r11, %6
	SC_RMW rdi, none, 0, %1/8
	xchg [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT swap, %1, rdx, r11, %6

; (p, expected, desired, fault)
SC_ATOMIC_ENTRY cas, %1, rcx, r11, %6
	mov %2, %3
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
SC_ATOMIC_EXIT cas, %1, rcx, r11, %6

; (p, v, fault)
SC_ATOMIC_ENTRY fetch_add, %1, rdx, r11, %6
	SC_RMW rdi, none, 0, %1/8
	lock xadd [rdi], %3
	mov %2, %3
SC_ATOMIC_EXIT fetch_add, %1, rdx, r11, %6

SC_FETCH_OP %1, and, %2, %3, %4, %6
SC_FETCH_OP %1, or, %2, %3, %4, %6
SC_FETCH_OP %1, xor, %2, %3, %4, %6
%endmacro

; and/or/xor have no fetching form: load, then cmpxchg until no other writer got in between.
; SC_FETCH_OP width, op, a, v, t, link: (p, v, fault)
%macro SC_FETCH_OP 6
SC_ATOMIC_ENTRY fetch_%2, %1, rdx, r11, %6
	SC_LOAD rdi, none, 0, %1/8
	mov %3, [rdi]
%%retry:
	mov %5, %3
	%2 %5, %4
	SC_RMW rdi, none, 0, %1/8
	lock cmpxchg [rdi], %5
	jne %%retry
SC_ATOMIC_EXIT fetch_%2, %1, rdx, r11, %6
%endmacro

; SC_ATOMICS width, a, v, t, d: every routine of that width.
%macro SC_ATOMICS 5
SC_LOADS %1, %2
SC_WRITES %1, %2, %3, %4, %5, {}
SC_WRITES %1, %2, %3, %4, %5, _jl
%endmacro

SC_ATOMICS 32, eax, esi, ecx, edx
SC_ATOMICS 64, rax, rsi, rcx, rdx

section .text

; sc_atomic_jl_call: the cold exits of the _jl routines, entered by a jump with RAX = a SysV C
; function whose arguments are in place (RDI, RSI, RDX, RCX), R9 = where the routine returns, and RSP
; = the caller's, whose red zone may be live and whose alignment is unknown: calls the function on a
; 16-byte aligned frame below the red zone, then returns its RAX:RDX to R9 with RSP restored.
global sc_atomic_jl_call:function hidden
sc_atomic_jl_call:
	mov r11, rsp
	lea rsp, [rsp - 128]
	and rsp, -16
	push r11
	push r9			; RSP = 0 mod 16 here: the callee starts at 8 mod 16, as after a call
	call rax
	pop r9
	pop rsp
	jmp r9

SC_NOTE_GNU_STACK

; Peeks: the exported safecopy_peek32(p = RDI, fallback = ESI) -> EAX and safecopy_peek64 /
; safecopy_peekptr(p = RDI, fallback = RSI) -> RAX are these routines themselves (as the atomics
; are): no C frame and no tail call on the way to the load.
;
; A value, not a status (HotSpot's SafeFetch): the routine is a check of sc_gate, the one load and a
; return. While sc_gate is not 0 (not initialised yet, or some thread runs a previous handler with
; SIGSEGV/SIGBUS blocked: src/safecopy/routines.h) the entry tail-jumps to the cold C path
; sc_peek<W>_slow(p, fallback), which opens the window and calls sc_peek<W>_unchecked, the load
; after the check. On a fault the handler resumes the routine at its landing (RAX, RDX then hold the
; fault, which a peek does not report), and the landing returns the fallback, still in RSI since the
; call began: the routine never writes RSI, so the landing reads nothing the routine has not set
; (the argument registers are set before its first instruction). p need not be aligned: a load that
; straddles into a bad page faults as a whole and gives the fallback.

%include "safecopy.inc"

extern sc_gate
extern sc_peek32_slow
extern sc_peek64_slow

SC_ROUTINE sc_peek32, safecopy_peek32
	cmp dword [rel sc_gate], 0
	jne sc_peek32_slow
global sc_peek32_unchecked:function hidden
sc_peek32_unchecked:
	SC_LOAD rdi, none, 0, 4
	mov eax, [rdi]
	ret
SC_LANDING sc_peek32
	mov eax, esi
	ret
SC_END sc_peek32

; A pointer is a 64-bit peek on x86-64 (both are INTEGER-class arguments and results).
SC_ROUTINE sc_peek64, safecopy_peek64, safecopy_peekptr
	cmp dword [rel sc_gate], 0
	jne sc_peek64_slow
global sc_peek64_unchecked:function hidden
sc_peek64_unchecked:
	SC_LOAD rdi, none, 0, 8
	mov rax, [rdi]
	ret
SC_LANDING sc_peek64
	mov rax, rsi
	ret
SC_END sc_peek64

SC_NOTE_GNU_STACK

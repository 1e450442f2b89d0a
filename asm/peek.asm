; Peeks: sc_peek32(p = RDI, fallback = ESI) -> EAX, sc_peek64(p = RDI, fallback = RSI) -> RAX.
;
; A value, not a status (HotSpot's SafeFetch): the whole routine is the one load and a return. On a
; fault the handler resumes the routine at its landing (RAX, RDX then hold the fault, which a peek does
; not report), and the landing returns the fallback, still in RSI since the call began: the routine
; never writes RSI, so the landing reads nothing the routine has not set (the argument registers are
; set before its first instruction). p need not be aligned: a load that straddles into a bad page
; faults as a whole and gives the fallback.

%include "safecopy.inc"

SC_ROUTINE sc_peek32
	SC_LOAD rdi, none, 0, 4
	mov eax, [rdi]
	ret
SC_LANDING sc_peek32
	mov eax, esi
	ret
SC_END sc_peek32

SC_ROUTINE sc_peek64
	SC_LOAD rdi, none, 0, 8
	mov rax, [rdi]
	ret
SC_LANDING sc_peek64
	mov rax, rsi
	ret
SC_END sc_peek64

SC_NOTE_GNU_STACK

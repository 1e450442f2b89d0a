; The entry of safecopy's SIGSEGV/SIGBUS action, its signal restorer, and the fast exit: leaving the
; handler for a routine's landing without rt_sigreturn (src/safecopy/fast_exit.c says when that is the
; same as returning, and why).
;
; Offsets into the kernel's struct ucontext (x86-64): uc_stack at 16, uc_mcontext (struct sigcontext)
; at 40, whose general registers sit in the order of glibc's gregs[] (REG_R8 = 0 ... REG_RIP = 16) and
; whose fpstate pointer is gregs[23]. src/safecopy/fast_exit.c asserts the same numbers in C.

%include "common.inc"

%define UC_GREG(i) (40 + 8 * (i))
%define G_R8 0
%define G_R9 1
%define G_R10 2
%define G_R11 3
%define G_R12 4
%define G_R13 5
%define G_R14 6
%define G_R15 7
%define G_RDI 8
%define G_RSI 9
%define G_RBP 10
%define G_RBX 11
%define G_RDX 12
%define G_RAX 13
%define G_RCX 14
%define G_RSP 15
%define G_RIP 16
%define G_FPSTATE 23

; FXSAVE layout of the saved state's legacy region: x87 control word at 0, status word at 2,
; abridged tag word at 4, MXCSR at 24.
%define FX_FCW 0
%define FX_FSW 2
%define FX_FTW 4
%define FX_MXCSR 24

extern sc_signal_dispatch

section .text

; sc_signal_handler(sig = EDI, info = RSI, ucontext = RDX): the action safecopy_init() installs. It
; passes its entry RSP (where the kernel's signal frame starts, if the kernel called it) to
; sc_signal_dispatch(sig, info, ucontext, frame), which handles the signal and returns the ucontext to
; resume by a fast exit, or NULL: then this returns as any handler does (to the restorer, rt_sigreturn).
global sc_signal_handler:function hidden
sc_signal_handler:
	ENDBR64
	mov rcx, rsp
	sub rsp, 8			; entered like a function (RSP = 8 mod 16): keep the call aligned
	call sc_signal_dispatch
	add rsp, 8
	test rax, rax
	jnz sc_fast_exit
	ret

; The restorer of safecopy's action (SA_RESTORER): a frame whose return address is this one was built
; by the kernel for safecopy's own action, never for a handler someone else installed. The bytes are
; the ones libgcc's unwinder and gdb recognise as a signal frame's (mov $15, %rax; syscall), and the nop
; before them keeps an unwinder that looks up return address - 1 inside this stub, as glibc's does.
global sc_signal_restorer:function hidden
	nop
sc_signal_restorer:
	mov rax, 15			; rt_sigreturn
	syscall
	ud2

; sc_fast_exit(ucontext = RAX): resumes the saved context as rt_sigreturn would, as far as the routine's
; caller can tell: MXCSR and the x87 control word (the whole legacy x87/SSE state when the x87 status
; is not clean), every general register but RCX (the landing's scratch register: it holds the target),
; RSP and RIP. Vector registers, arithmetic flags and the rest of the extended state are the
; handler's (fast_exit.c: all of them are scratch at a landing). Never returns.
sc_fast_exit:
	; RSP = the ucontext: still inside the frame, so a signal arriving meanwhile is pushed below it
	; and cannot overwrite what is still to be read; the caller's RSP is loaded by the last move.
	mov rsp, rax
	mov rax, [rsp + UC_GREG(G_FPSTATE)]
	movzx ecx, byte [rax + FX_FTW]
	or cx, [rax + FX_FSW]
	jnz .whole_legacy
	; ldmxcsr and fldcw cost more than a compare: load only what differs from the handler's values.
	; [rsp - 8] held the frame's return address, no longer needed.
	stmxcsr [rsp - 8]
	mov ecx, [rsp - 8]
	cmp ecx, [rax + FX_MXCSR]
	je .mxcsr_done
	ldmxcsr [rax + FX_MXCSR]
.mxcsr_done:
	fnstcw [rsp - 8]
	mov cx, [rsp - 8]
	cmp cx, [rax + FX_FCW]
	je .registers
	fldcw [rax + FX_FCW]
	jmp .registers
.whole_legacy:
	db 0x48				; REX.W: fxrstor64, the 64-bit layout the kernel saved (yasm lacks the name)
	fxrstor [rax]
.registers:
	mov rcx, [rsp + UC_GREG(G_RIP)]
	mov r8, [rsp + UC_GREG(G_R8)]
	mov r9, [rsp + UC_GREG(G_R9)]
	mov r10, [rsp + UC_GREG(G_R10)]
	mov r11, [rsp + UC_GREG(G_R11)]
	mov r12, [rsp + UC_GREG(G_R12)]
	mov r13, [rsp + UC_GREG(G_R13)]
	mov r14, [rsp + UC_GREG(G_R14)]
	mov r15, [rsp + UC_GREG(G_R15)]
	mov rdi, [rsp + UC_GREG(G_RDI)]
	mov rsi, [rsp + UC_GREG(G_RSI)]
	mov rbp, [rsp + UC_GREG(G_RBP)]
	mov rbx, [rsp + UC_GREG(G_RBX)]
	mov rdx, [rsp + UC_GREG(G_RDX)]
	mov rax, [rsp + UC_GREG(G_RAX)]
	mov rsp, [rsp + UC_GREG(G_RSP)]
	jmp rcx

NOTE_GNU_STACK

; The common trampoline body, entered from a trap-table slot with R11 = the slot's data and RSP = the
; caller's RSP - 128 (red zone skipped). Preserves every register but RAX (the result), RCX and R11
; (which a real syscall clobbers too: RCX = return address, R11 = RFLAGS, as the syscall leaves them),
; and flags and the vector state, one of these ways (chosen at init):
;   plain moves (default): zmm0-31 + k0-7, or ymm0-15, or xmm0-15; MXCSR; x87 control word. ~10 ns here.
;   XSAVEC / XSAVE + XRSTOR: every enabled component incl. the x87 registers. ~150 ns here: XRSTOR is
;     slow on this CPU whatever the mask (measured: 130-200 ns for x87+SSE alone up to all of AVX-512).
;     XSAVEOPT is not offered: its "modified" optimisation is unsafe for an area on the stack, whose
;     memory other code rewrites between two calls.
;   none: the hook promised (USERTRAP_HOOK_NO_VECTOR) not to touch vector state.
;
; Frame (from RBP): +8 saved RFLAGS, 0 saved RBP, -8.. rdi rsi rdx r10 r8 r9 rbx, -64 slot data;
; below: struct usertrap_call (80 bytes, pointer kept in RBX), then the 64-byte aligned XSAVE area.

default rel

%include "usertrap_table.inc"
%include "usertrap_avx512.inc"

%define ENDBR64 db 0xF3, 0x0F, 0x1E, 0xFA
; yasm 1.3 lacks these mnemonics; all address [rsp].
%define XSAVEC64_RSP db 0x48, 0x0F, 0xC7, 0x24, 0x24
%define XSAVE64_RSP db 0x48, 0x0F, 0xAE, 0x24, 0x24
%define XRSTOR64_RSP db 0x48, 0x0F, 0xAE, 0x2C, 0x24

%define CALL_SIZE 80   ; sizeof(struct usertrap_call)
%define CALL_FLAGS 64
%define CALL_DEPTH 68
%define CALL_INTERNAL 72

extern ut_dispatch
extern ut_xsave_size
extern ut_xsave_mask

section .text

; Plain-move save areas: vector registers at [rsp], then MXCSR (4 bytes) and the x87 control word.
; (Restoring MXCSR/FCW only when changed was tried: the extra stmxcsr/fnstcw cost more than it saved.)
%define REGS512_CTL 2112
%define REGS512_SIZE 2176
%define REGS256_CTL 512
%define REGS256_SIZE 576
%define REGS128_CTL 256
%define REGS128_SIZE 320

%macro UT_SAVE_YMM 0
%assign i 0
%rep 16
	vmovdqu [rsp + i*32], ymm %+ i
%assign i i+1
%endrep
%endmacro
%macro UT_LOAD_YMM 0
%assign i 0
%rep 16
	vmovdqu ymm %+ i, [rsp + i*32]
%assign i i+1
%endrep
%endmacro
%macro UT_SAVE_XMM 0
%assign i 0
%rep 16
	movdqu [rsp + i*16], xmm %+ i
%assign i i+1
%endrep
%endmacro
%macro UT_LOAD_XMM 0
%assign i 0
%rep 16
	movdqu xmm %+ i, [rsp + i*16]
%assign i i+1
%endrep
%endmacro

; UT_REGS save-macro, load-macro, control offset, area size: the plain-move variant of the body.
%macro UT_REGS 4
	and rsp, -64
	sub rsp, %4
	%1
	stmxcsr [rsp + %3]
	fnstcw [rsp + %3 + 4]
	mov rdi, rbx
	call ut_dispatch wrt ..plt
	%2                                   ; RAX (the result) is not touched
	ldmxcsr [rsp + %3]
	fldcw [rsp + %3 + 4]
	mov rsp, rbx
%endmacro

%macro UT_ENTRY 2 ; name, save: 0 none, 1 xsavec, 2 xsave, 3 zmm+k, 4 ymm, 5 xmm (plain moves)
global %1:function hidden (%1.end - %1)
align 32
%1:
	ENDBR64
	pushfq
	push rbp
	mov rbp, rsp
	push rdi
	push rsi
	push rdx
	push r10
	push r8
	push r9
	push rbx
	push r11
	cld                                  ; the ABI wants DF clear in C code
	sub rsp, CALL_SIZE
	mov rax, [r11 + UT_D_NR]
	mov [rsp], rax
	mov [rsp+8], rdi
	mov [rsp+16], rsi
	mov [rsp+24], rdx
	mov [rsp+32], r10
	mov [rsp+40], r8
	mov [rsp+48], r9
	mov rax, [r11 + UT_D_RESUME]
	sub rax, 2
	mov [rsp+56], rax                    ; site: the syscall instruction's address
	mov dword [rsp+CALL_FLAGS], 1        ; USERTRAP_CALL_PATCHED
	mov dword [rsp+CALL_DEPTH], 0
	mov [rsp+CALL_INTERNAL], r11
	mov rbx, rsp
%if %2 == 0
	and rsp, -16
	mov rdi, rbx
	call ut_dispatch wrt ..plt
	mov rsp, rbx
%elif %2 == 3
	UT_REGS UT_SAVE_ZMM_K, UT_LOAD_ZMM_K, REGS512_CTL, REGS512_SIZE
%elif %2 == 4
	UT_REGS UT_SAVE_YMM, UT_LOAD_YMM, REGS256_CTL, REGS256_SIZE
%elif %2 == 5
	UT_REGS UT_SAVE_XMM, UT_LOAD_XMM, REGS128_CTL, REGS128_SIZE
%else
	and rsp, -64
	sub rsp, [rel ut_xsave_size]         ; a multiple of 64
	xor eax, eax                         ; XRSTOR wants the header's reserved bytes zero
	mov [rsp+512], rax
	mov [rsp+520], rax
	mov [rsp+528], rax
	mov [rsp+536], rax
	mov [rsp+544], rax
	mov [rsp+552], rax
	mov [rsp+560], rax
	mov [rsp+568], rax
	mov eax, [rel ut_xsave_mask]
	mov edx, [rel ut_xsave_mask + 4]
%if %2 == 1
	XSAVEC64_RSP
%else
	XSAVE64_RSP
%endif
	mov rdi, rbx
	call ut_dispatch wrt ..plt
	mov [rbx], rax                       ; keep the result across XRSTOR (needs EDX:EAX)
	mov eax, [rel ut_xsave_mask]
	mov edx, [rel ut_xsave_mask + 4]
	XRSTOR64_RSP
	mov rsp, rbx
	mov rax, [rbx]
%endif
	add rsp, CALL_SIZE
	pop r11
	pop rbx
	pop r9
	pop r8
	pop r10
	pop rdx
	pop rsi
	pop rdi
	pop rbp
	mov rcx, [r11 + UT_D_RESUME]
	mov r11, [rsp]                       ; R11 = RFLAGS, as after a syscall
	popfq
	lea rsp, [rsp+128]
	jmp rcx
.end:
%endmacro

UT_ENTRY ut_tramp_novec, 0
UT_ENTRY ut_tramp_xsavec, 1
UT_ENTRY ut_tramp_xsave, 2
UT_ENTRY ut_tramp_regs512, 3
UT_ENTRY ut_tramp_regs256, 4
UT_ENTRY ut_tramp_regs128, 5

; Address stubs: the real code addresses (never &f in C: in a non-PIE executable that may be a PLT slot).
%macro UT_ADDR 1
global ut_addr_%1:function hidden
ut_addr_%1:
	ENDBR64
	lea rax, [rel %1]
	ret
%endmacro

extern ut_tpl_header
extern ut_tpl_slot
UT_ADDR ut_tramp_novec
UT_ADDR ut_tramp_xsavec
UT_ADDR ut_tramp_xsave
UT_ADDR ut_tramp_regs512
UT_ADDR ut_tramp_regs256
UT_ADDR ut_tramp_regs128

section .note.GNU-stack noalloc noexec nowrite progbits

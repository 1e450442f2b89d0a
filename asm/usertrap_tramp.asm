; The common trampoline body, entered from a trap-table slot with R11 = the slot's data and RSP = the
; caller's RSP - 128 (red zone skipped). Preserves every register but RAX (the result), RCX and R11
; (which a real syscall clobbers too: RCX = return address, R11 = RFLAGS, as the syscall leaves them),
; and flags, x87/SSE/AVX/AVX-512 state (unless the hook promised not to touch it).
;
; Frame (from RBP): +8 saved RFLAGS, 0 saved RBP, -8.. rdi rsi rdx r10 r8 r9 rbx, -64 slot data;
; below: struct usertrap_call (80 bytes, pointer kept in RBX), then the 64-byte aligned XSAVE area.

default rel

%include "usertrap_table.inc"

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

%macro UT_ENTRY 2 ; name, save: 0 none, 1 xsavec, 2 xsave
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

section .note.GNU-stack noalloc noexec nowrite progbits

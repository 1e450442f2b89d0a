; Templates of the trap table's code. usertrap copies these bytes into the table's code pages once,
; then makes them read-execute; they are never executed here (they sit in .rodata). All addressing is
; RIP-relative to the template itself, so a copy works at any slot of the table.

default rel

%include "common.inc"
%include "usertrap_table.inc"

; UT_AFTER_KERNEL: a taken direct jump to the next instruction, between a system call and the indirect
; jump that follows it. Where the first branch after the return from the kernel was an indirect one, it
; cost ~5 ns per call more (a getppid loop: 78 ns instead of 73 on the Xeon, kernel 6.18); any taken
; direct jump before it removed that. 2 bytes, ~1 cycle.
%macro UT_AFTER_KERNEL 0
	jmp short %%next
%%next:
%endmacro

section .rodata align=64

; The header slot's code.
global ut_tpl_header:data hidden (ut_tpl_header.end - ut_tpl_header)
ut_tpl_header:
; long gate(long nr, long a1, long a2, long a3, long a4, long a5, long a6): every system call usertrap
; makes itself goes through here, inside the range Syscall User Dispatch never intercepts.
	ENDBR64
	mov rax, rdi
	mov rdi, rsi
	mov rsi, rdx
	mov rdx, rcx
	mov r10, r8
	mov r8, r9
	mov r9, [rsp+8]
	syscall
	ret
	times UT_H_INT80 - ($ - ut_tpl_header) db 0xCC
; The i386 gate: `int 0x80` from the allowed range, called by ut_int80_via with the i386 registers set.
	ENDBR64
	int 0x80
	ret
	times UT_H_RESTORER - ($ - ut_tpl_header) db 0xCC
; Restorer (SA_RESTORER) of usertrap's handlers: rt_sigreturn from the allowed range, so that returning
; from the SIGSYS handler is not itself intercepted. Spelled `mov rax, 15` (48 c7 c0 0f 00 00 00), the
; bytes of glibc's restorer: libgcc's unwinder (backtrace(), C++ exceptions) and gdb recognise a
; signal frame only by them, and can then walk on into the interrupted code.
	db 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00 ; mov rax, 15 (rt_sigreturn), whatever yasm would pick
	syscall
	ud2
	times UT_H_WINDOW_GATE - ($ - ut_tpl_header) db 0xCC
; The pass-through of a call from a window's stub (USERTRAP_RESULT_PASS): the body jumps here with the
; caller's registers, RAX = the number and RSP 128 bytes above the record the stub built (so the record
; lies in the red zone, which no signal frame overwrites), and the call continues at the record's resume
; address, as after the body's own return (RCX = that address, as the body leaves it). Interrupted, the
; kernel restarts it here.
	syscall
	UT_AFTER_KERNEL
	mov rcx, [rsp - 128 + UT_D_RESUME]
	jmp rcx
	times UT_SLOT_SIZE - ($ - ut_tpl_header) db 0xCC
.end:

; A code slot. Entered by `jmp *a32` from a patched site: no return address was pushed, RSP is the
; caller's. Skip the red zone, find this slot's data, continue in the common trampoline body.
global ut_tpl_slot:data hidden (ut_tpl_slot.end - ut_tpl_slot)
ut_tpl_slot:
	ENDBR64
	lea rsp, [rsp-128]                       ; lea: flags untouched
	lea r11, [rel ut_tpl_slot + UT_DATA_DELTA]
	jmp [r11 + UT_D_COMMON]
	times UT_C_GATE - ($ - ut_tpl_slot) db 0xCC
; The gate of an in-place call (rt_sigreturn, vfork, clone with a stack): the SIGSYS handler resumes the
; caller here with all of its registers, the syscall runs natively on the caller's stack, and every
; thread or process that comes out of it continues after the original syscall instruction, with RCX =
; that address as a native syscall leaves it. A patched site's pass-through (USERTRAP_RESULT_PASS) is
; made here too.
	syscall
	UT_AFTER_KERNEL
	mov rcx, [rel ut_tpl_slot + UT_DATA_DELTA + UT_D_RESUME]
	jmp rcx
	times UT_C_GATE_I386 - ($ - ut_tpl_slot) db 0xCC
; The same for an in-place i386 call (`int 0x80`, e.g. fork 2): RCX is an argument int 0x80 keeps, so the
; jump back reads the resume address from memory.
	int 0x80
	UT_AFTER_KERNEL
	jmp [rel ut_tpl_slot + UT_DATA_DELTA + UT_D_RESUME]
	times UT_SLOT_SIZE - ($ - ut_tpl_slot) db 0xCC
.end:

section .text

; long ut_int80_via(const long regs[7], uintptr_t gate): an i386 system call, regs = {nr, ebx, ecx, edx,
; esi, edi, ebp} (each register takes the low 32 bits), made by calling gate (`int 0x80; ret`: the
; header's, inside the range Syscall User Dispatch never intercepts). Returns RAX as the kernel left it.
; Only the registers it sets are touched; no memory, no errno.
global ut_int80_via:function hidden
ut_int80_via:
	push rbx
	push rbp
	mov r11, rsi
	mov eax, [rdi]
	mov ebx, [rdi + 8]
	mov ecx, [rdi + 16]
	mov edx, [rdi + 24]
	mov esi, [rdi + 32]
	mov ebp, [rdi + 48]
	mov edi, [rdi + 40]
	call r11
	pop rbp
	pop rbx
	ret

; The gate ut_int80_via calls before the table exists (as ut_sys then uses libc's syscall()).
global ut_int80_local:function hidden
ut_int80_local:
	ENDBR64				; reached by `call r11`, as the header's gate
	int 0x80
	ret

NOTE_GNU_STACK

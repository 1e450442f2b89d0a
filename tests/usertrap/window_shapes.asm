; System call shapes for tests/usertrap/windows.c, hammer.c and regs.c, as glibc has them (DESIGN.md §7)
; but written here, so the tests do not depend on glibc's version. Each shape is a function
; long f(long a, long b, long c, long d) whose code lies between shape_<name> and shape_<name>.fnend,
; its data after that up to shape_<name>.end (the tests copy the whole into fresh read-execute memory,
; where RIP-relative references still hold), its `syscall` at shape_<name>.sys. NR_FAKE (500) and NR_FAKE2 (501): tests/usertrap/util.h.

%define NR_FAKE 500
%define NR_FAKE2 501

section .rodata align=16

%macro SHAPE 1
global shape_%1:data hidden
global shape_%1.sys:data hidden
global shape_%1.fnend:data hidden
global shape_%1.end:data hidden
align 16
shape_%1:
%endmacro

; read (glibc 2.36): cmpb $0,flag(%rip); jne; xor %eax,%eax; syscall (the window: all four).
SHAPE read
	cmp byte [rel .flag], 0
	jne .slow
	xor eax, eax
.sys:
	syscall
	cmp rax, -4096
	ja .err
	ret
.slow:
	mov rax, -7
	ret
.err:
	ret
.fnend:
.flag:
	db 0
.end:

; The same with the flag set: the relocated jne is taken.
SHAPE read_taken
	cmp byte [rel .flag], 0
	jne .slow
	xor eax, eax
.sys:
	syscall
	ret
.slow:
	mov rax, -7
	ret
.fnend:
.flag:
	db 1
.end:

; __open64_nocancel: mov $nr,%eax; mov %rdi,%rsi; mov $-100,%edi; syscall (window: the last two).
SHAPE open
	mov eax, NR_FAKE
	mov rsi, rdi
	mov edi, -100
.sys:
	syscall
	ret
.fnend:
.end:

; A futex site: mov $nr,%eax, then three instructions, the last one short.
SHAPE futex
	mov eax, NR_FAKE
	xor r10d, r10d
	mov edx, 1
	mov rsi, rdi
.sys:
	syscall
	ret
.fnend:
.end:

; syscall()-like: the number from a register (mov %edx,%eax), after a long move.
SHAPE movreg
	mov r8, 0x12345
	mov eax, edx
.sys:
	syscall
	ret
.fnend:
.end:

; glibc 2.41's __internal_syscall_cancel: mov 0x10(%rsp),%rax; syscall; pop %rbx; ret (here the
; number is the fourth argument, pushed).
SHAPE cancel
	push rcx
	push rbx
	mov rax, [rsp + 8]
.sys:
	syscall
	pop rbx
	pop rcx
	ret
.fnend:
.end:

; __read_nocancel (glibc 2.36): the function starts with xor %eax,%eax; syscall. The window is the
; syscall and the cmp after it; the boundary at its offset 2 falls in the jump's rel32 (byte 1 punned).
SHAPE nocancel
	xor eax, eax
.sys:
	syscall
	cmp rax, -4096
	ja .err
	ret
.err:
	ret
.fnend:
.end:

; A futex wake of pthread_cond_signal: xor %r10d,%r10d; mov %edx,%eax; syscall, then ret (not movable):
; the window is the three, the boundary at offset 3 punned (byte 2).
SHAPE cond
	xor r10d, r10d
	mov eax, edx
.sys:
	syscall
	ret
.fnend:
.end:

; push %rbx; mov %edx,%eax; syscall: a 5-byte window with boundaries at offsets 1 and 3 (bytes 0 and 2).
SHAPE pushed
	push rbx
	mov eax, edx
.sys:
	syscall
	pop rbx
	ret
.fnend:
.end:

; Two sites in one function (a patched one changes the bytes the other's decode runs over): the 7-byte
; form when RDI != 0, a window (mov %edx,%eax) at shape_two.sys2 otherwise.
SHAPE two
global shape_two.sys2:data hidden
	test rdi, rdi
	jz .second
	mov eax, NR_FAKE
.sys:
	syscall
	ret
.second:
	mov r8, 0x12345
	mov eax, edx
.sys2:
	syscall
	ret
.fnend:
.end:

; Refused: a call in every window that reaches 5 bytes.
SHAPE call
	mov eax, NR_FAKE
	call .f
.sys:
	syscall
	ret
.f:
	ret
.fnend:
.end:

; Refused: branch targets at the syscall and right after it, inside every window of 5 bytes or more.
SHAPE target
	mov r8, 0x12345
	mov eax, edx
.sys:
	syscall
.after:
	test rax, rax
	jz .sys
	js .after
	ret
.fnend:
.end:

; Refused: an indirect jump in the only window.
SHAPE indirect
	mov r8, 0x12345
	jmp rax
.sys:
	syscall
	ret
.fnend:
.end:

; For regs.c: mov $NR_FAKE2,%eax, then the window mov data(%rip),%rbx; jne (not taken: ZF is set);
; syscall; then jmp *8 bytes (the test's resume address, written after .end).
SHAPE regs
	mov eax, NR_FAKE2
	mov rbx, [rel .data]
	jne .taken
.sys:
	syscall
	jmp [rel .end]
.taken:
	ud2
.fnend:
align 8
.data:
	dq 0x5a5a5a5a12345678
.end:

section .note.GNU-stack noalloc noexec nowrite progbits

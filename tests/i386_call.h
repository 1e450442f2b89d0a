/*
 * long i386_call(const long regs[7]): an i386 system call made with `int $0x80` from 64-bit code, with
 * RAX, RBX, RCX, RDX, RSI, RDI, RBP = regs[0..6] (all 64 bits: a test can put junk above the 32 the
 * kernel reads); returns RAX. i386_site is its `int $0x80`. For the usertrap and sctrace tests.
 */
#ifndef TESTS_I386_CALL_H
#define TESTS_I386_CALL_H

long i386_call(const long regs[7]);
extern const unsigned char i386_site[];
__asm__(".text\n"
        ".globl i386_call\n"
        ".type i386_call, @function\n"
        "i386_call:\n"
        "\tpush %rbx\n\tpush %rbp\n"
        "\tmov (%rdi), %rax\n\tmov 8(%rdi), %rbx\n\tmov 16(%rdi), %rcx\n\tmov 24(%rdi), %rdx\n"
        "\tmov 32(%rdi), %rsi\n\tmov 48(%rdi), %rbp\n\tmov 40(%rdi), %rdi\n"
        ".globl i386_site\n"
        "i386_site:\n"
        "\tint $0x80\n"
        "\tpop %rbp\n\tpop %rbx\n\tret\n"
        ".size i386_call, .-i386_call\n");

#endif

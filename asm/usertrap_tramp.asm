; The common trampoline body, entered from a trap-table slot with R11 = the slot's data and RSP = the
; caller's RSP - 128 (red zone skipped). Preserves every register but RAX (the result), RCX and R11
; (which a real syscall clobbers too: RCX = return address, R11 = RFLAGS, as the syscall leaves them),
; and flags and the vector state (also when the hook passes the call through: .rbp_back below), in
; one of these modes (chosen at init, src/usertrap/tramp.c):
;   UT_MODE_ZMM / UT_MODE_YMM / UT_MODE_XMM (plain moves; the default on AMD CPUs and where
;     UT_MODE_INUSE is not possible): zmm0-31 +
;     k0-7, or ymm0-15, or xmm0-15; MXCSR; the x87 control word.
;   UT_MODE_INUSE (AVX-512 CPUs with XINUSE): as UT_MODE_ZMM, but only the state components that
;     XGETBV(ECX=1) reports in use at entry: zmm0-15 whole, or ymm0-15, or xmm0-15 (restored with VEX
;     moves after a vzeroupper, which zero the bits above: a component not in use holds zeros, and is
;     left in its initial state even if the hook used it), zmm16-31 and k0-7 only when
;     in use; those two are zeroed after the hook if it put them in use. The default but on AMD
;     CPUs (src/usertrap/tramp.c): XGETBV costs more than all the plain moves on the AMD measured.
;   UT_MODE_XSAVEC / UT_MODE_XSAVE: XSAVEC or XSAVE + XRSTOR of every enabled component, including the
;     x87 registers. XSAVEOPT is not offered: its "modified" optimisation is unsafe for an area on the
;     stack, whose memory other code rewrites between two calls.
;   UT_MODE_NONE: the hook promised (USERTRAP_HOOK_NO_VECTOR) not to touch vector state.
; What each mode costs is measured by `scons bench` (rows syscall/getppid/*, bench/PERFORMANCE.md).
;
; Frame (from RBP): +8 saved RFLAGS, 0 saved RBP, -8.. rdi rsi rdx r10 r8 r9 rbx, -64 slot data;
; below: struct usertrap_call (80 bytes, pointer kept in RBX), then the 64-byte aligned save area.
; usertrap_cfi.inc describes this frame to unwinders (labels .flags_pushed ... .resume_back).

default rel

%include "common.inc"
%include "usertrap_table.inc"
%include "usertrap_avx512.inc"
%include "usertrap_cfi.inc"

; yasm 1.3 lacks these mnemonics; all address [rsp].
%define XSAVEC64_RSP db 0x48, 0x0F, 0xC7, 0x24, 0x24
%define XSAVE64_RSP db 0x48, 0x0F, 0xAE, 0x24, 0x24
%define XRSTOR64_RSP db 0x48, 0x0F, 0xAE, 0x2C, 0x24

; struct usertrap_call (include/usertrap.h; src/usertrap/tramp.h asserts these offsets).
%define CALL_NR 0
%define CALL_ARGS 8
%define CALL_SITE 56
%define CALL_FLAGS 64
%define CALL_DEPTH 68
%define CALL_INTERNAL 72
%define CALL_SIZE 80
%define CALL_PATCHED 1 ; USERTRAP_CALL_PATCHED

; The save modes of UT_ENTRY.
%define UT_MODE_NONE 0
%define UT_MODE_XSAVEC 1
%define UT_MODE_XSAVE 2
%define UT_MODE_ZMM 3
%define UT_MODE_YMM 4
%define UT_MODE_XMM 5
%define UT_MODE_INUSE 6

extern ut_dispatch
extern ut_xsave_size
extern ut_xsave_mask

section .text

; UT_CALL_DISPATCH: ut_dispatch(the call record at RBX). It returns RAX (the result, or the number of
; a call passed through) and RDX (the gate of a pass-through, else 0: src/usertrap/dispatch.h), kept in
; the record's site field, which nothing reads after the call, until the registers are restored.
%define CALL_GATE CALL_SITE
%macro UT_CALL_DISPATCH 0
	mov rdi, rbx
	call ut_dispatch wrt ..plt
	mov [rbx+CALL_GATE], rdx
%endmacro

; Plain-move save areas: vector registers at [rsp], then MXCSR (4 bytes) and the x87 control word
; (and, 16 bytes on, what the hook left in them: UT_CTL_BACK).
%define UT_ZMM_CTL 2112
%define UT_ZMM_SIZE 2176
%define UT_YMM_CTL 512
%define UT_YMM_SIZE 576
%define UT_XMM_CTL 256
%define UT_XMM_SIZE 320

; UT_VECTOR_MOVES SAVE|LOAD, mnemonic, register prefix, width: the 16 registers to or from [rsp].
%macro UT_VECTOR_MOVES 4
%assign i 0
%rep 16
%ifidn %1, SAVE
	%2 [rsp + i*%4], %3 %+ i
%else
	%2 %3 %+ i, [rsp + i*%4]
%endif
%assign i i+1
%endrep
%endmacro
; The plain moves of each kind (ZMM: usertrap_avx512.inc, as bytes).
%define UT_YMM_MOV vmovdqu
%define UT_YMM_REG ymm
%define UT_YMM_WIDTH 32
%define UT_XMM_MOV movdqu
%define UT_XMM_REG xmm
%define UT_XMM_WIDTH 16

; UT_KIND_MOVES SAVE|LOAD, kind: the kind's registers to or from [rsp].
%macro UT_KIND_MOVES 2
%ifidn %2, ZMM
	UT_%1_ZMM
%else
	UT_VECTOR_MOVES %1, UT_%2_MOV, UT_%2_REG, UT_%2_WIDTH
%endif
%endmacro

; UT_CTL_BACK offset: MXCSR and the x87 control word back from the area at [rsp + offset] (+0, +4),
; each loaded only when the hook left it changed (+16, +20: what it left). RCX clobbered. LDMXCSR and
; FLDCW wait for the FP pipeline; a store and a compare do not: getppid through a patched site
; 85.9-87.3 -> 85.1-85.2 ns (plain moves 83.2-84.6 -> 82.6-82.7; alternating builds, 3 runs each,
; safecopy-bench --filter syscall/getppid, Intel Xeon 2026-12-04). An earlier attempt found the
; opposite; this one compares in general registers, not from memory to memory.
%macro UT_CTL_BACK 1
	stmxcsr [rsp + %1 + 16]
	mov ecx, [rsp + %1 + 16]
	cmp ecx, [rsp + %1]
	je %%mxcsr_kept
	ldmxcsr [rsp + %1]
%%mxcsr_kept:
	fnstcw [rsp + %1 + 20]
	mov cx, [rsp + %1 + 20]
	cmp cx, [rsp + %1 + 4]
	je %%fcw_kept
	fldcw [rsp + %1 + 4]
%%fcw_kept:
%endmacro

; UT_REGS kind (ZMM, YMM or XMM): the plain-move variant of the body, the kind's registers saved
; around the call in an area of UT_<kind>_SIZE bytes.
%macro UT_REGS 1
	and rsp, -64
	sub rsp, UT_%1_SIZE
	UT_KIND_MOVES SAVE, %1
	stmxcsr [rsp + UT_%1_CTL]
	fnstcw [rsp + UT_%1_CTL + 4]
	UT_CALL_DISPATCH
	UT_KIND_MOVES LOAD, %1                ; RAX (the result) is not touched
	UT_CTL_BACK UT_%1_CTL
	mov rsp, rbx
%endmacro

; XSAVE state components (bits of XCR0 and XINUSE).
%define XF_AVX 0x04
%define XF_OPMASK 0x20
%define XF_ZMM_HI256 0x40
%define XF_HI16_ZMM 0x80
%define UT_INUSE_MASK 2120  ; XINUSE at entry, in the ZMM area after MXCSR and the FCW

; UT_LOW_MOVES SAVE|LOAD, register prefix: xmm0-15 or ymm0-15 (VEX) at the zmm0-15 places.
%macro UT_LOW_MOVES 2
%assign i 0
%rep 16
%ifidn %1, SAVE
	vmovdqu [rsp + i*64], %2 %+ i
%else
	vmovdqu %2 %+ i, [rsp + i*64]
%endif
%assign i i+1
%endrep
%endmacro

; UT_INUSE_MOVES SAVE|LOAD: the components in use at entry (the mask in EAX), to or from the ZMM area.
%macro UT_INUSE_MOVES 1
	test al, XF_ZMM_HI256
	jz %%no_hi256
	UT_%1_ZMM_LO
	jmp %%low_done
%%no_hi256:
%ifidn %1, LOAD
	vzeroupper                           ; the upper halves back to their initial state (not in use),
%endif                                   ; even if the hook put them in use; the loads below fill the rest
	test al, XF_AVX
	jz %%no_avx
	UT_LOW_MOVES %1, ymm
	jmp %%low_done
%%no_avx:
	UT_LOW_MOVES %1, xmm
%%low_done:
	test al, XF_HI16_ZMM
	jz %%no_hi16
	UT_%1_ZMM_HI
%%no_hi16:
	test al, XF_OPMASK
	jz %%no_k
	UT_%1_K
%%no_k:
%endmacro

; UT_INUSE: the XINUSE variant of the ZMM body (UT_MODE_INUSE above). Free after the call: RCX, RDX,
; RSI (restored from the frame later); the result waits in the call record while XGETBV needs EAX.
%macro UT_INUSE 0
	and rsp, -64
	sub rsp, UT_ZMM_SIZE
	mov ecx, 1
	xgetbv
	mov [rsp + UT_INUSE_MASK], eax
	UT_INUSE_MOVES SAVE
	stmxcsr [rsp + UT_ZMM_CTL]
	fnstcw [rsp + UT_ZMM_CTL + 4]
	UT_CALL_DISPATCH
	mov [rbx+CALL_NR], rax
	mov esi, [rsp + UT_INUSE_MASK]
	not esi                              ; components in their initial state at entry
	test sil, XF_HI16_ZMM | XF_OPMASK
	jz %%restore
	mov ecx, 1
	xgetbv
	and esi, eax                         ; ... that the hook put in use
	test sil, XF_HI16_ZMM
	jz %%hi16_clean
	UT_ZERO_ZMM_HI
%%hi16_clean:
	test sil, XF_OPMASK
	jz %%restore
	UT_ZERO_K
%%restore:
	mov eax, [rsp + UT_INUSE_MASK]
	UT_INUSE_MOVES LOAD
	UT_CTL_BACK UT_ZMM_CTL
	mov rsp, rbx
	mov rax, [rbx+CALL_NR]
%endmacro

; The arithmetic flags (CF PF AF ZF SF OF) and what pushfq shows of the rest in plain user code: IF
; and the always-set bit 1 (no DF, TF, AC, NT, ID, IOPL 0).
%define UT_ARITH_FLAGS 0x8d5
%define UT_PLAIN_FLAGS 0x202
%define UT_OF_BIT 11

; UT_FLAGS_BACK: RFLAGS = the flags saved at [rbp+8]; RAX kept, RDX clobbered. POPFQ is microcoded and
; costs ~10 ns here (more than the rest of the way back together), so when only arithmetic flags differ
; from plain user code's, they are set instead by `add` (OF: 0x7f + 1 overflows, 0x7f + 0 does not) and
; SAHF (SF ZF AF PF CF from AH, OF untouched). Anything else (DF, TF, AC, ...) takes POPFQ.
%macro UT_FLAGS_BACK 0
	mov rdx, rax
	mov eax, [rbp+8]
	and eax, ~UT_ARITH_FLAGS
	cmp eax, UT_PLAIN_FLAGS
	jne %%popf
	mov eax, [rbp+8]
	shr eax, UT_OF_BIT
	and eax, 1
	add al, 0x7f
	mov ah, [rbp+8]
	sahf
	jmp %%done
%%popf:
	push qword [rbp+8]                   ; the CFA is RBP-based here: the push needs no CFI
	popfq
%%done:
	mov rax, rdx
%endmacro

%macro UT_ENTRY 2 ; name, save mode (UT_MODE_*)
global %1:function hidden (%1.end - %1)
align 32
%1:
	ENDBR64
	pushfq
.flags_pushed:
	push rbp
.rbp_pushed:
	mov rbp, rsp
.frame:
	push rdi
	push rsi
	push rdx
	push r10
	push r8
	push r9
	push rbx
	push r11
.saved:
	test byte [rbp+9], 0x04              ; DF (RFLAGS bit 10), as the caller left it: the ABI wants it
	jz .df_clear                         ; clear in C code, where it nearly always is already (CLD
	cld                                  ; is several micro-ops)
.df_clear:
	sub rsp, CALL_SIZE
	mov rax, [r11 + UT_D_NR]
	mov [rsp+CALL_NR], rax
	mov [rsp+CALL_ARGS], rdi
	mov [rsp+CALL_ARGS+8], rsi
	mov [rsp+CALL_ARGS+16], rdx
	mov [rsp+CALL_ARGS+24], r10
	mov [rsp+CALL_ARGS+32], r8
	mov [rsp+CALL_ARGS+40], r9
	mov rax, [r11 + UT_D_RESUME]
	sub rax, UT_SYSCALL_LEN
	mov [rsp+CALL_SITE], rax             ; the syscall instruction's address
	mov dword [rsp+CALL_FLAGS], CALL_PATCHED
	mov dword [rsp+CALL_DEPTH], 0
	mov [rsp+CALL_INTERNAL], r11
	mov rbx, rsp
%if %2 == UT_MODE_NONE
	and rsp, -16
	UT_CALL_DISPATCH
	mov rsp, rbx
%elif %2 == UT_MODE_ZMM
	UT_REGS ZMM
%elif %2 == UT_MODE_YMM
	UT_REGS YMM
%elif %2 == UT_MODE_XMM
	UT_REGS XMM
%elif %2 == UT_MODE_INUSE
	UT_INUSE
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
%if %2 == UT_MODE_XSAVEC
	XSAVEC64_RSP
%else
	XSAVE64_RSP
%endif
	UT_CALL_DISPATCH
	mov [rbx+CALL_NR], rax               ; keep the result across XRSTOR (needs EDX:EAX)
	mov eax, [rel ut_xsave_mask]
	mov edx, [rel ut_xsave_mask + 4]
	XRSTOR64_RSP
	mov rsp, rbx
	mov rax, [rbx+CALL_NR]
%endif
	mov rcx, [rsp+CALL_GATE]
	add rsp, CALL_SIZE
	pop r11
.r11_back:
	pop rbx
	pop r9
	pop r8
	pop r10
	UT_FLAGS_BACK                        ; nothing below changes the flags
	pop rdx
	pop rsi
	pop rdi
	pop rbp
.rbp_back:
	jrcxz .resume
; USERTRAP_RESULT_PASS: the call is made at the gate (RCX), after the hook's call chain has returned
; (no `ret` runs after the kernel returns), with every register as the caller left it but RAX = the
; number; RCX and R11 are the syscall's. The gate continues at the resume address, as below.
	lea rsp, [rsp+8+128]                 ; the saved flags and the red zone
.pass_back:
	jmp rcx
.resume:
	mov rcx, [r11 + UT_D_RESUME]
.resume_in_rcx:
	mov r11, [rsp]                       ; R11 = RFLAGS, as after a syscall
	lea rsp, [rsp+8+128]
.resume_back:
	jmp rcx
.end:
UT_FDE %1
%endmacro

UT_CIE
UT_ENTRY ut_tramp_novec, UT_MODE_NONE
UT_ENTRY ut_tramp_xsavec, UT_MODE_XSAVEC
UT_ENTRY ut_tramp_xsave, UT_MODE_XSAVE
UT_ENTRY ut_tramp_regs512, UT_MODE_ZMM
UT_ENTRY ut_tramp_regs256, UT_MODE_YMM
UT_ENTRY ut_tramp_regs128, UT_MODE_XMM
UT_ENTRY ut_tramp_inuse, UT_MODE_INUSE

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
UT_ADDR ut_tramp_inuse

NOTE_GNU_STACK

; NUL-terminated strings from memory that may fault:
;   sc_strncpy(dst = RDI, src = RSI, size = RDX > 0, fault = RCX) -> RAX
;   sc_strnlen(src = RDI, size = RSI > 0, fault = RDX) -> RAX
; RAX = the offset of the first NUL among src[0, size), or size if there is none. sc_strncpy also
; copies src[0, RAX) to dst and, when RAX < size, stores a NUL at dst[RAX] (the copy's last byte is
; the source's NUL; the explicit store keeps dst terminated even if src changes meanwhile). Nothing
; after dst[RAX] is written. Both clear *fault (R11) on success and return through SC_RETURN_N.
;
; Which pages are read. Vector loads look for the NUL, but a load never reaches a page the string
; does not reach (the string being src[0, min(RAX + 1, size))): the first two vectors are read
; unaligned when both stay in src's page (most strings), else the first alone when it does,
; otherwise its aligned block, which ends at or before that page's end; every later load is aligned
; (a V-byte block, or a group of four blocks, 2V-aligned, that ends in its page) and is made only when
; the string reaches the block's first byte (no NUL before it, and size beyond it). Bytes before src
; or after the NUL that share a block are read and ignored.
;
; Stores are exact: a vector is stored only when it lies wholly before the NUL and the size limit;
; the end of the string is copied by reloading the last V bytes ending there (or, for strings shorter
; than one vector, two overlapping loads of a power-of-two width), bytes this call has just read.
;
; Precision contract (what src/safecopy/string.c relies on): when an access that starts at offset a
; is made, every byte before a - SC_STR_SPAN (96) has been found non-NUL and, for sc_strncpy, copied
; (the group loop loads four blocks before it stores any). So when an access faults at byte k, redoing
; [max(a - 96, 0), k) with the size limit k finds the exact answer; those bytes were all read (and
; the destination's, if they were not written, lie before the page that faulted), so the redo does
; not fault again unless the mappings change meanwhile: one signal per faulting call.
;
; On a fault the handler resumes the routine at its landing with RAX = fault address, RDX = fault
; word; the landing tail-jumps to sc_strncpy_after_fault(dst, src, size, fault, addr, word) or
; sc_strnlen_after_fault(src, size, fault, addr, word). Kept for the landings: RDI = dst, RSI = src,
; R9 = size, R11 = fault, all set before the first declared access.
;
; Registers: R8 = offset of the current block or group, R10 = result, RCX = bytes to copy at the end,
; RDX = the last group offset in the current page (in the group loop), RAX/RDX scratch; vector 7 =
; zero. An AVX2 variant (V = 32) is used where the CPU has it, SSE2 (V = 16) elsewhere; the same text
; below makes both. The AVX2 body follows the entry (no taken branch on the usual path).

%include "safecopy.inc"

extern sc_cpu_has_avx2
extern sc_strncpy_after_fault
extern sc_strnlen_after_fault

; ---- instruction spellings of the two variants (VEX = 1: AVX2, 32-byte vectors) ------------------

%macro VZERO 1
%if VEX
	vpxor %1, %1, %1
%else
	pxor %1, %1
%endif
%endmacro

; VMOVU / VMOVA dst, src: an unaligned / aligned vector move, any width (xmm moves are VEX-encoded in
; the AVX2 variant too: no SSE/AVX transition penalty)
%macro VMOVU 2
%if VEX
	vmovdqu %1, %2
%else
	movdqu %1, %2
%endif
%endmacro

%macro VMOVA 2
%if VEX
	vmovdqa %1, %2
%else
	movdqa %1, %2
%endif
%endmacro

; VMIN d, a, b: d = bytewise unsigned minimum (d must not be b)
%macro VMIN 3
%if VEX
	vpminub %1, %2, %3
%else
%ifnidn %1, %2
	movdqa %1, %2
%endif
	pminub %1, %3
%endif
%endmacro

; VNULMASK r32, v: bit i of r32 = (byte i of v == 0). Uses vector 4.
%macro VNULMASK 2
%if VEX
	vpcmpeqb X4, %2, X7
	vpmovmskb %1, X4
%else
	movdqa X4, %2
	pcmpeqb X4, X7
	pmovmskb %1, X4
%endif
%endmacro

%macro VLEAVE 0
%if VEX
	vzeroupper
%endif
%endmacro

; ---- the body ------------------------------------------------------------------------------------

; SC_STR_STEP is_copy, vector, disp: the vector holding src[r8 + disp, +V), found by the group test to
; hold a NUL or to reach the size limit, or a single block: stops at its NUL or at the limit, else
; stores it (is_copy).
%macro SC_STR_STEP 3
	VNULMASK eax, %2
	test eax, eax
	jz %%no_nul
	bsf ecx, eax
	lea rcx, [rcx + r8 + %3]
	cmp rcx, r9
	jb .nul_at_rcx
	jmp .limit
%%no_nul:
	lea rcx, [r8 + %3 + V]
	cmp rcx, r9
	jae .limit
%if %1
	SC_STORE rdi, r8, %3, V
	VMOVU [rdi + r8 + %3], %2
%endif
%endmacro

; SC_STR_HEAD_STEP is_copy, vector, disp: the vector holding src[disp, disp + V) (unaligned, read
; before any NUL was seen): stops at its NUL or at the limit, else stores it (is_copy).
%macro SC_STR_HEAD_STEP 3
	VNULMASK eax, %2
	bts rax, V			; a stop bit just past the vector
	bsf rcx, rax			; the first NUL, or V
%if %3
	add ecx, %3
%endif
	cmp rcx, r9
	jae .limit			; the size limit comes first
	cmp ecx, %3 + V
	jb .nul_at_rcx
%if %1
	SC_STORE rdi, none, %3, V
	VMOVU [rdi + %3], %2
%endif
%endmacro

; SC_STR_BODY is_copy: everything after the register set-up; ends in the exits (not the landing).
%macro SC_STR_BODY 1
	VZERO X7
	mov eax, esi
	and eax, 4095
	cmp eax, 4096 - 2 * V
	ja .head_near_page_end
	; [src, src+2V) lies in src's page: both vectors loaded at once, then each tested (and stored)
	; in turn, so that the exits find [0, stop - V) copied as SC_STR_TAIL needs; no taken branch
	; before the blocks.
	SC_LOAD rsi, none, 0, V
	VMOVU X0, [rsi]
	SC_LOAD rsi, none, V, V
	VMOVU X1, [rsi + V]
	SC_STR_HEAD_STEP %1, X0, 0
	SC_STR_HEAD_STEP %1, X1, V
	lea r8, [rsi + 2 * V]
	and r8, -V
	sub r8, rsi			; the first aligned block after src + 2V: offset V+1..2V
	; That block, before any alignment test: a string that ends in it (2V+1..3V bytes long, say
	; 64 with AVX2) is done without the group's four loads.
	SC_LOAD rsi, r8, 0, V
	VMOVA X0, [rsi + r8]
	SC_STR_STEP %1, X0, 0
	add r8, V
.block:
	; [0, r8) holds no NUL (and is copied), r8 < size: the string reaches src + r8, which is
	; V-aligned. A group starts 2V-aligned and must end in the page: single blocks run until src +
	; r8 is 2V-aligned and just before a page's end (not until it is 4V-aligned: up to three
	; blocks on every string). RDX = the last offset from which a group still ends in this page.
	lea eax, [rsi + r8]
	test eax, 2 * V - 1
	jnz .single
	and eax, 4095
	mov edx, 4096 - 4 * V
	sub edx, eax
	jl .single			; signed: the page ends before a group would
	add rdx, r8
	jmp .group
.single:
	SC_LOAD rsi, r8, 0, V
	VMOVA X0, [rsi + r8]
	SC_STR_STEP %1, X0, 0
	add r8, V
	jmp .block
.group:
	; The four blocks from src + r8 (2V-aligned) lie in the page the string reaches.
	SC_LOAD rsi, r8, 0, V
	VMOVA X0, [rsi + r8]
	SC_LOAD rsi, r8, V, V
	VMOVA X1, [rsi + r8 + V]
	SC_LOAD rsi, r8, 2 * V, V
	VMOVA X2, [rsi + r8 + 2 * V]
	SC_LOAD rsi, r8, 3 * V, V
	VMOVA X3, [rsi + r8 + 3 * V]
	VMIN X5, X0, X1
	VMIN X6, X2, X3
	VMIN X5, X5, X6
	VNULMASK eax, X5
	lea r10, [r8 + 4 * V]
	test eax, eax
	jnz .group_stop
	cmp r10, r9
	jae .group_stop
%if %1
	SC_STORE rdi, r8, 0, V
	VMOVU [rdi + r8], X0
	SC_STORE rdi, r8, V, V
	VMOVU [rdi + r8 + V], X1
	SC_STORE rdi, r8, 2 * V, V
	VMOVU [rdi + r8 + 2 * V], X2
	SC_STORE rdi, r8, 3 * V, V
	VMOVU [rdi + r8 + 3 * V], X3
%endif
	mov r8, r10
	cmp r8, rdx
	jbe .group
	jmp .block
.group_stop:
	SC_STR_STEP %1, X0, 0
	SC_STR_STEP %1, X1, V
	SC_STR_STEP %1, X2, 2 * V
	SC_STR_STEP %1, X3, 3 * V	; stops: the group holds a NUL or reaches the limit
.limit:
	mov r10, r9			; no NUL in src[0, size): copy size bytes, no terminator
	mov rcx, r9
	jmp .finish
.nul_at_rcx:
	mov r10, rcx			; the NUL is at rcx < size: copy it too
	inc rcx
.finish:
%if %1
	SC_STR_TAIL
	cmp r10, r9
	jae .exit
	SC_STORE rdi, r10, 0, 1
	mov byte [rdi + r10], 0
%endif
.exit:
	VLEAVE
	mov r9, r10
	SC_RETURN_N
.head_near_page_end:
	cmp eax, 4096 - V
	ja .head_cross
.head:
	; One vector from src (it lies in a page the string reaches), then the aligned blocks.
	SC_LOAD rsi, none, 0, V
	VMOVU X0, [rsi]
	SC_STR_HEAD_STEP %1, X0, 0
	lea r8, [rsi + V]
	and r8, -V
	sub r8, rsi			; the first aligned block after src: offset 1..V
	jmp .block
.head_cross:
	; [src, src+V) would cross into the next page: look at the aligned block holding src first,
	; which ends where src's page does.
	mov rdx, rsi
	and rdx, -V
	SC_LOAD rdx, none, 0, V
	VMOVA X0, [rdx]
	VNULMASK eax, X0
	mov ecx, esi
	and ecx, V - 1
	shr eax, cl			; the bytes from src on
	mov edx, V
	sub edx, ecx			; how many there are before the page ends
	bts rax, rdx
	bsf rcx, rax
	cmp rcx, r9
	jae .limit
	cmp rcx, rdx
	jb .nul_at_rcx
	jmp .head			; no NUL before the next page, which the string so reaches
%endmacro

; SC_STR_PAIR width, register: copies src[0, width) and src[rcx - width, rcx) to dst (width <= rcx <=
; 2 * width, so the two cover [0, rcx)), each loaded whole before it is stored.
%macro SC_STR_PAIR 2
	SC_LOAD rsi, none, 0, %1
	mov %2, [rsi]
	SC_STORE rdi, none, 0, %1
	mov [rdi], %2
	SC_LOAD rsi, rcx, -%1, %1
	mov %2, [rsi + rcx - %1]
	SC_STORE rdi, rcx, -%1, %1
	mov [rdi + rcx - %1], %2
	jmp .tail_done
%endmacro

; SC_STR_TAIL: copies src[0, rcx) to dst (1 <= rcx); src[0, max(rcx - V, 0)) is already copied and
; every byte of src[0, rcx) has been read by this call.
%macro SC_STR_TAIL 0
	cmp rcx, V
	ja .tail_long
%if V == 32
	cmp ecx, 16
	jb .tail_below16
	SC_LOAD rsi, none, 0, 16
	VMOVU xmm0, [rsi]
	SC_STORE rdi, none, 0, 16
	VMOVU [rdi], xmm0
	SC_LOAD rsi, rcx, -16, 16
	VMOVU xmm0, [rsi + rcx - 16]
	SC_STORE rdi, rcx, -16, 16
	VMOVU [rdi + rcx - 16], xmm0
	jmp .tail_done
.tail_below16:
%endif
	cmp ecx, 8
	jb .tail_below8
	SC_STR_PAIR 8, rax
.tail_below8:
	cmp ecx, 4
	jb .tail_below4
	SC_STR_PAIR 4, eax
.tail_below4:
	cmp ecx, 2
	jb .tail_one
	SC_STR_PAIR 2, ax
.tail_one:
	SC_LOAD rsi, none, 0, 1
	movzx eax, byte [rsi]
	SC_STORE rdi, none, 0, 1
	mov [rdi], al
	jmp .tail_done
.tail_long:
	SC_LOAD rsi, rcx, -V, V
	VMOVU X0, [rsi + rcx - V]
	SC_STORE rdi, rcx, -V, V
	VMOVU [rdi + rcx - V], X0
.tail_done:
%endmacro

; Landings: back to C with the arguments of the public function plus (addr, word).
%macro SC_STRNCPY_LANDING 0
	VLEAVE
	SC_LANDING_TO_C sc_strncpy_after_fault
%endmacro

%macro SC_STRNLEN_LANDING 0
	VLEAVE
	mov rcx, rax
	mov r8, rdx
	mov rdi, rsi
	mov rsi, r9
	mov rdx, r11
	jmp sc_strnlen_after_fault
%endmacro

; ---- AVX2 variant: the entry points, which fall through to it and pick SSE2 when the CPU lacks AVX2 -

%define VEX 1
%define V 32
%define X0 ymm0
%define X1 ymm1
%define X2 ymm2
%define X3 ymm3
%define X4 ymm4
%define X5 ymm5
%define X6 ymm6
%define X7 ymm7

SC_ROUTINE sc_strncpy
	mov r11, rcx
	mov r9, rdx
	cmp byte [sc_cpu_has_avx2], 0
	je sc_strncpy_sse2_body
	SC_STR_BODY 1
SC_LANDING sc_strncpy
	SC_STRNCPY_LANDING
SC_END sc_strncpy

SC_ROUTINE sc_strnlen
	mov r11, rdx
	mov r9, rsi
	mov rsi, rdi
	cmp byte [sc_cpu_has_avx2], 0
	je sc_strnlen_sse2_body
	SC_STR_BODY 0
SC_LANDING sc_strnlen
	SC_STRNLEN_LANDING
SC_END sc_strnlen

; ---- SSE2 variant ----------------------------------------------------------------------------------

%define VEX 0
%define V 16
%define X0 xmm0
%define X1 xmm1
%define X2 xmm2
%define X3 xmm3
%define X4 xmm4
%define X5 xmm5
%define X6 xmm6
%define X7 xmm7

SC_ROUTINE sc_strncpy_sse2
sc_strncpy_sse2_body:
	SC_STR_BODY 1
SC_LANDING sc_strncpy_sse2
	SC_STRNCPY_LANDING
SC_END sc_strncpy_sse2

SC_ROUTINE sc_strnlen_sse2
sc_strnlen_sse2_body:
	SC_STR_BODY 0
SC_LANDING sc_strnlen_sse2
	SC_STRNLEN_LANDING
SC_END sc_strnlen_sse2

SC_NOTE_GNU_STACK

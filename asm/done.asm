; sc_span_done: the success exit of the copy and memset paths that do not inline it (the `rep` paths
; and memset's SSE2 loop, where its cost is lost in the work, and n < 2). Returns n (R9) after clearing
; the caller's struct safecopy_fault (R11, may be NULL); a bad fault pointer crashes here like any bad
; pointer. struct safecopy_fault is 24 bytes, all zero for SAFECOPY_OK (fault_record.h asserts it).
;
; sc_clear_record: the tail of SC_RETURN_N for a non-NULL record (R11): clears it and returns RAX.

%define SC_DEFINES_CLEAR_RECORD
%include "safecopy.inc"

section .text
global sc_span_done:function hidden
global sc_clear_record:function hidden
sc_span_done:
	SC_RETURN_N
sc_clear_record:
	xor ecx, ecx
	mov [r11], rcx
	mov [r11+8], rcx
	mov [r11+16], rcx
	ret

SC_NOTE_GNU_STACK

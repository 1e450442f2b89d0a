; sc_done: the success exit shared by every routine. Clears the caller's struct safecopy_fault (R11,
; may be NULL) and returns RAX unchanged. It lies outside every routine's range on purpose: a bad
; fault pointer is the caller's bug and must crash like any other, not be reported as a fault of the
; operation. struct safecopy_fault is 24 bytes, all zero for SAFECOPY_OK (fault_record.h asserts it).

%include "safecopy.inc"

section .text
global sc_done:function hidden
sc_done:
	test r11, r11
	jz .no_record
	mov qword [r11], 0
	mov qword [r11+8], 0
	mov qword [r11+16], 0
.no_record:
	ret

SC_NOTE_GNU_STACK

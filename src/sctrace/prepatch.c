/*
 * Patching libc's sites for a few system calls at start. Two kinds of code run without usertrap's
 * capture (Syscall User Dispatch is per thread and is not inherited): a vfork or posix_spawn child,
 * until it execs, and a new thread, until usertrap's pthread_create wrapper arms it. Their calls reach
 * the hook only at patched sites, and only the calls they make then (resetting signal actions and
 * masks, duplicating and closing descriptors, exec, exit; a thread's rseq and robust list) are worth
 * patching ahead of their first use. The sites are found by their pattern in libc's executable segment;
 * usertrap_patch checks each again and refuses what it must.
 */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>

#include "sctrace/hook.h"
#include "sctrace/memread.h"
#include "usertrap.h"

static bool wanted(uint32_t nr)
{
	static const uint32_t calls[] = {
	    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_close,           SYS_close_range, SYS_dup2,
	    SYS_dup3,         SYS_fcntl,          SYS_chdir,           SYS_fchdir,      SYS_setsid,
	    SYS_setpgid,      SYS_umask,          SYS_execve,          SYS_execveat,    SYS_exit,
	    SYS_prlimit64,    SYS_rseq,           SYS_set_robust_list, SYS_openat,
	};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (calls[i] == nr)
			return true;
	return false;
}

/* Patches the wanted sites in [start, start + len). */
static void patch_range(uintptr_t start, size_t len)
{
	unsigned char buf[4096 + 6];
	for (size_t off = 0; off < len; off += 4096) {
		size_t n = len - off < sizeof buf ? len - off : sizeof buf;
		if (!sct_peek(buf, start + off, n))
			return;
		for (size_t k = 0; k + 7 <= n && k < 4096; k++) {
			if (buf[k] != 0xb8 || buf[k + 5] != 0x0f || buf[k + 6] != 0x05)
				continue;
			uint32_t nr;
			memcpy(&nr, buf + k + 1, 4);
			if (wanted(nr))
				usertrap_patch((void *)(start + off + k), nr, NULL);
		}
	}
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *name = info->dlpi_name;
	size_t n = name ? strlen(name) : 0;
	if (n < 10 || strcmp(name + n - 10, "/libc.so.6") != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			patch_range(info->dlpi_addr + ph->p_vaddr, ph->p_memsz);
	}
	return 1;
}

void sct_prepatch_libc(void)
{
	dl_iterate_phdr(find_libc, NULL);
}

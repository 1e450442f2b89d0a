/* The shared board: creation by the command, attachment by each traced process, slot ownership. */
#include "sctrace/board.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sctrace/rawsys.h"

struct sct_board *sct_board_create(int min_fd)
{
	int fd = memfd_create("sctrace-board", 0); /* no CLOEXEC: every exec'd image maps it again */
	if (fd < 0)
		return NULL;
	int high = fcntl(fd, F_DUPFD, min_fd);
	close(fd);
	if (high < 0)
		return NULL;
	if (ftruncate(high, sizeof(struct sct_board)) != 0) {
		close(high);
		return NULL;
	}
	struct sct_board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED, high, 0);
	if (b == MAP_FAILED) {
		close(high);
		return NULL;
	}
	b->magic = SCT_BOARD_MAGIC;
	b->size = sizeof *b;
	b->board_fd = high;
	b->out_fd = -1;
	return b;
}

struct sct_board *sct_board_attach(const char *fd_text)
{
	if (!fd_text || *fd_text < '0' || *fd_text > '9')
		return NULL;
	long fd = 0;
	for (const char *p = fd_text; *p; p++) {
		if (*p < '0' || *p > '9' || fd > 1000000)
			return NULL;
		fd = fd * 10 + (*p - '0');
	}
	long m = sct_raw6(SYS_mmap, 0, sizeof(struct sct_board), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m < 0 && m > -4096)
		return NULL;
	struct sct_board *b = (struct sct_board *)m;
	if (b->magic != SCT_BOARD_MAGIC || b->size != sizeof *b || b->board_fd != fd) {
		sct_raw6(SYS_munmap, m, sizeof(struct sct_board), 0, 0, 0, 0);
		return NULL;
	}
	return b;
}

int sct_board_find(const struct sct_board *b, int32_t tid)
{
	uint32_t used = __atomic_load_n(&b->slots_used, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < used && i < SCT_SLOTS; i++)
		if (__atomic_load_n(&b->slots[i].tid, __ATOMIC_ACQUIRE) == tid)
			return (int)i;
	return -1;
}

int sct_board_claim(struct sct_board *b, int32_t tid, int32_t pid)
{
	int s = sct_board_find(b, tid);
	if (s >= 0)
		return s;
	for (uint32_t i = 0; i < SCT_SLOTS; i++) {
		int32_t free_tid = 0;
		if (!__atomic_compare_exchange_n(&b->slots[i].tid, &free_tid, tid, false, __ATOMIC_ACQ_REL,
		                                 __ATOMIC_RELAXED))
			continue;
		b->slots[i].state = SCT_SLOT_IDLE;
		b->slots[i].exec_pid = 0;
		b->slots[i].pid = pid;
		uint32_t used = __atomic_load_n(&b->slots_used, __ATOMIC_RELAXED);
		while (used < i + 1 && !__atomic_compare_exchange_n(&b->slots_used, &used, i + 1, false,
		                                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			;
		return (int)i;
	}
	return -1;
}

void sct_board_release(struct sct_board *b, int slot)
{
	if (slot < 0)
		return;
	__atomic_store_n(&b->slots[slot].state, SCT_SLOT_IDLE, __ATOMIC_RELEASE);
	__atomic_store_n(&b->slots[slot].tid, 0, __ATOMIC_RELEASE);
}

void sct_board_release_process(struct sct_board *b, int32_t pid)
{
	uint32_t used = __atomic_load_n(&b->slots_used, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < used && i < SCT_SLOTS; i++)
		if (__atomic_load_n(&b->slots[i].tid, __ATOMIC_ACQUIRE) && b->slots[i].pid == pid &&
		    b->slots[i].state != SCT_SLOT_PENDING)
			sct_board_release(b, (int)i);
}

/*
 * execve/execveat of a traced task: the new image must load the tracer too, whatever environment the
 * program hands it (the library took its own variables out of the program's environment at start, so
 * that the program sees what it would see untraced). The new environment is built in the thread's
 * exec area: the program's variables, LD_PRELOAD naming the tracer first, and the board's number.
 */
#include <string.h>
#include <sys/syscall.h>

#include "sctrace/hook.h"
#include "sctrace/memread.h"
#include "sctrace/output.h"
#include "sctrace/rawsys.h"

#define PRELOAD "LD_PRELOAD="
#define BOARD   SCT_BOARD_ENV "="

/* Appends the NUL-terminated concatenation a b to the area; NULL if it does not fit. */
static char *area_put(char **cur, char *end, const char *a, size_t na, const char *b, size_t nb)
{
	if ((size_t)(end - *cur) < na + nb + 1)
		return NULL;
	char *s = *cur;
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	s[na + nb] = '\0';
	*cur += na + nb + 1;
	return s;
}

/* True if the program's string at addr starts with prefix (of n bytes). */
static bool starts_with(uintptr_t addr, const char *prefix, size_t n)
{
	char head[32];
	size_t len;
	return n < sizeof head && sct_read_string(head, addr, n, &len) == SCT_STR_NO_NUL &&
	       memcmp(head, prefix, n) == 0;
}

/*
 * The environment for the new image, in t's exec area, or NULL when the program's own must be used
 * (its envp cannot be read: the kernel reports that; or the area is too small).
 */
static char **traced_env(struct sct_thread *t, uintptr_t envp)
{
	size_t n = 0;
	uintptr_t word;
	for (;; n++) {
		if (!sct_peek(&word, envp + n * sizeof word, sizeof word))
			return NULL;
		if (!word)
			break;
	}
	size_t slots = n + 3; /* the program's, LD_PRELOAD, the board, NULL */
	if (slots * sizeof(char *) >= t->exec_cap)
		return NULL;
	char **out = (char **)t->exec_area;
	char *cur = t->exec_area + slots * sizeof(char *), *end = t->exec_area + t->exec_cap;
	const char *lib = sct.board->lib_path;
	size_t k = 0;
	bool preload = false;
	for (size_t i = 0; i < n; i++) {
		sct_peek(&word, envp + i * sizeof word, sizeof word);
		if (starts_with(word, BOARD, sizeof BOARD - 1))
			continue; /* ours is added below */
		if (preload || !starts_with(word, PRELOAD, sizeof PRELOAD - 1)) {
			out[k++] = (char *)word;
			continue;
		}
		/* LD_PRELOAD=ours:theirs */
		char *e = area_put(&cur, end, PRELOAD, sizeof PRELOAD - 1, lib, strlen(lib));
		if (!e)
			return NULL;
		size_t len;
		cur[-1] = ':';
		if (sct_read_string(cur, word + sizeof PRELOAD - 1, (size_t)(end - cur), &len) != SCT_STR_NUL)
			return NULL;
		if (len)
			cur += len + 1;
		else
			cur[-1] = '\0';
		out[k++] = e;
		preload = true;
	}
	if (!preload) {
		out[k] = area_put(&cur, end, PRELOAD, sizeof PRELOAD - 1, lib, strlen(lib));
		if (!out[k++])
			return NULL;
	}
	char fd[16];
	struct sct_line l;
	sct_line_init(&l, fd, sizeof fd);
	sct_udec(&l, (unsigned)sct.board_fd);
	out[k] = area_put(&cur, end, BOARD, sizeof BOARD - 1, fd, l.len);
	if (!out[k++])
		return NULL;
	out[k] = NULL;
	return out;
}

long sct_exec_syscall(struct sct_thread *t, const struct usertrap_call *call)
{
	struct usertrap_call c = *call;
	int envp_arg = call->nr == SYS_execve ? 2 : 3;
	sct_out_flush(); /* the image and its gathered lines are about to go */
	sct_report_unseen();
	if (sct_task_traced(t)) {
		char **env = traced_env(t, (uintptr_t)call->args[envp_arg]);
		if (env)
			c.args[envp_arg] = (long)env;
	}
	return usertrap_syscall(&c);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Runs tests/guests/sl_escape.c inside `sandlot-agent run` as an operator would, from a process
 * whose stdin, session, controlling terminal, rlimits, umask and environment the test chooses: the
 * containment tests of what a sandbox inherits from its caller and of the seccomp list one
 * refusal at a time. Include after testutil.h.
 */
#include <stdbool.h>
#include <stddef.h>

struct sl_escape_caller {
	int stdin_fd;	       /* becomes run's stdin (and so CMD's); -1: /dev/null */
	bool ctty;	       /* run starts a session whose controlling terminal is stdin_fd */
	void (*prepare)(void); /* in run's process before the exec (rlimits, ...), or NULL */
};

/*
 * Runs `sandlot-agent run --code <sl-escape's dir> -- /var/task/sl-escape ARGS...` (args
 * NULL-terminated) as a child of the calling process (in its process group unless c->ctty),
 * with stdout and stderr together in out (NUL-terminated). Returns run's wait status.
 */
int sl_escape_run(const struct sl_escape_caller *c, const char *const *args, char *out, size_t len);

/* Opens a pseudo-terminal in raw mode (no echo: input stays in the slave's queue). Returns 0
 * with both fds (close-on-exec), or fails the test. */
void sl_escape_pty(int *ret_master, int *ret_slave);

/* Bytes waiting to be read from the terminal fd (FIONREAD): input someone pushed into it. */
int sl_escape_tty_pending(int fd);

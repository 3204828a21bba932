#pragma once
/*
 * The sandbox's pid 1. It starts CMD (vfork-style clone + exec, so exec errors come back as an
 * errno), forwards the signals an operator sends (TERM, INT, HUP, QUIT, USR1, USR2, ALRM,
 * WINCH, CONT) to it, reaps every orphan that gets reparented to it, and when CMD exits
 * reports CMD's wait status on the report socket and exits; the kernel then kills whatever is
 * left in the pid namespace.
 */
#include <stdint.h>

#include <sandlot/util.h>

/* Messages a sandbox child sends its parent on the report socket (SOCK_SEQPACKET). */
enum sl_report_kind {
	SL_REPORT_SETUP_FAILED = 1, /* a setup step failed: err, step */
	SL_REPORT_EXEC_FAILED,	    /* CMD could not be started: err (ENOENT: not found) */
	SL_REPORT_EXITED,	    /* CMD ended: status (wait status) */
};

struct sl_report {
	int32_t kind;	/* enum sl_report_kind */
	int32_t err;	/* positive errno */
	int32_t status; /* wait status of CMD */
	char step[28];	/* name of the failed setup step, NUL terminated */
};

/* Sends one report (best effort, async-signal-safe). */
void sl_report_send(int fd, enum sl_report_kind kind, int err, int status, const char *step);

/*
 * Blocks the signals init waits for. Call before anything could send them (the parent may
 * forward a signal as soon as the child exists).
 */
void sl_init_block_signals(void);

/*
 * Becomes init: resolves argv[0] (absolute, relative with '/', or searched in envp's PATH,
 * default /usr/local/bin:/usr/bin:/bin), starts it with an empty signal mask and default
 * dispositions, and never returns. Exit status: CMD's code, 128+signal, 127 when CMD was not
 * found, 126 when it could not be executed.
 */
_noreturn_ void sl_init_run(int report_fd, char *const argv[], char *const envp[]);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Subcommands of sandlot-agent. Each parses its own options and returns the exit status. */

/* Exit statuses shared by every subcommand. */
enum {
	SL_EXIT_OK = 0,
	SL_EXIT_FAIL = 1,  /* the command ran and what it checks is not there */
	SL_EXIT_USAGE = 2, /* bad options or arguments */
};

/* Exit statuses of `invoke` (the worst outcome of its invocations). */
enum {
	SL_EXIT_INVOKE_FUNCTION_ERROR = 1, /* the function reported an error, or its runtime
					      exited during an invocation */
	SL_EXIT_INVOKE_TIMEOUT = 3,	   /* an invocation ran past --timeout */
	SL_EXIT_INVOKE_INIT_ERROR = 4,	   /* the runtime failed before its first next */
	SL_EXIT_INVOKE_SETUP = 125,	   /* the sandbox could not be set up */
};

/*
 * --log-level's value for every command (opt: the option as typed, for the message; arg NULL
 * when it had none). Sets the level, or prints one line and returns -EINVAL.
 */
int sl_cmd_log_level(const char *opt, const char *arg);

int sl_cmd_probe(int argc, char **argv);
int sl_cmd_run(int argc, char **argv);
/* In sandlot-agentd (it needs the daemon's libraries): `sandlot-agent invoke` execs it. */
int sl_cmd_invoke(int argc, char **argv);

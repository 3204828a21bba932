#pragma once
/* Subcommands of sandlot-agent. Each parses its own options and returns the exit status. */

/* Exit statuses shared by every subcommand. */
enum {
	SL_EXIT_OK = 0,
	SL_EXIT_FAIL = 1,  /* the command ran and what it checks is not there */
	SL_EXIT_USAGE = 2, /* bad options or arguments */
};

/*
 * --log-level's value for every command (opt: the option as typed, for the message; arg NULL
 * when it had none). Sets the level, or prints one line and returns -EINVAL.
 */
int sl_cmd_log_level(const char *opt, const char *arg);

int sl_cmd_probe(int argc, char **argv);
int sl_cmd_run(int argc, char **argv);

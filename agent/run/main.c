// SPDX-License-Identifier: Apache-2.0
/* sandlot-agent: the per-host worker agent. Dispatches to subcommands. */
#include "run/cmd.h"

#include <sandlot/log.h>
#include <sandlot/version.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{"probe", sl_cmd_probe, "inspect this host: kernel, BTF, bpffs, cgroups, BPF, namespaces"},
	{"run", sl_cmd_run, "run one command in a fresh sandbox, then remove it"},
	/* no fn: sandlot-agentd runs it (it needs HTTP and zip) */
	{"invoke", NULL, "invoke a function locally: its bootstrap, the Runtime API, events"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: sandlot-agent [--log-level LEVEL] COMMAND [OPTIONS]\n"
		   "       sandlot-agent [--log-level LEVEL] [DAEMON OPTIONS]\n"
		   "       sandlot-agent --version | --help\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f,
		"\nRun 'sandlot-agent COMMAND --help' for a command's options. --log-level "
		"(debug,\n"
		"info, warn, error, off; or $SANDLOT_LOG) also goes after COMMAND.\n"
		"Without a command it runs the worker agent daemon, sandlot-agentd (next to this\n"
		"binary, else in " SANDLOT_AGENTD_DIR "/ from it).\n"
		"'sandlot-agent --daemon-help' lists the daemon's options.\n");
}

/* libbpf's messages only at debug, one event per line (callers log what fails, with context). */
static int _printf_(2, 0) libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[4096];

	if (sl_log_get_level() > SL_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	sl_log_lines(SL_LOG_DEBUG, buf, "component=libbpf");
	return 0;
}

/*
 * The daemon is sandlot-agentd: it links what this static binary must not (HTTP, zip, crypto,
 * nanomsg). It is in our own directory in a build tree, in SANDLOT_AGENTD_DIR (relative to our
 * directory: ../libexec/sandlot) once installed. argv goes over as it is.
 */
static int exec_daemon(int argc, char **argv, bool help)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int dirlen;

	if (n <= 0) {
		fprintf(stderr, "sandlot-agent: cannot find my own binary: %s\n", strerror(errno));
		return SL_EXIT_FAIL;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	dirlen = slash ? (int)(slash - self) : 1;
	snprintf(path, sizeof(path), "%.*s/sandlot-agentd", dirlen, slash ? self : ".");
	if (access(path, X_OK) < 0)
		snprintf(path, sizeof(path), "%.*s/%s/sandlot-agentd", dirlen, slash ? self : ".",
			 SANDLOT_AGENTD_DIR);
	if (help) {
		char *hargv[] = {path, "--help", NULL};

		execv(path, hargv);
	} else {
		argv[0] = path;
		execv(path, argv);
	}
	fprintf(stderr, "sandlot-agent: cannot run the daemon %s: %s\n", path, strerror(errno));
	return SL_EXIT_FAIL;
}

int sl_cmd_log_level(const char *opt, const char *arg)
{
	int l = arg ? sl_log_parse_level(arg) : -EINVAL;

	if (!arg)
		fprintf(stderr,
			"sandlot-agent: option '%s' needs a value (debug, info, warn, error "
			"or off)\n",
			opt);
	else if (l < 0)
		fprintf(stderr,
			"sandlot-agent: %s '%s': unknown log level (debug, info, warn, error or "
			"off)\n",
			opt, arg);
	if (l < 0)
		return -EINVAL;
	sl_log_set_level((enum sl_log_level)l);
	return 0;
}

/* A global option at argv[*i] (--log-level LEVEL or --log-level=LEVEL): 1 when it was one
 * (*i moved past its value), 0 when not, -EINVAL (message printed). */
static int global_option(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strncmp(a, "--log-level=", 12) == 0)
		return sl_cmd_log_level("--log-level", a + 12) < 0 ? -EINVAL : 1;
	if (strcmp(a, "--log-level") != 0)
		return 0;
	if (sl_cmd_log_level(a, *i + 1 < argc ? argv[*i + 1] : NULL) < 0)
		return -EINVAL;
	(*i)++;
	return 1;
}

int main(int argc, char **argv)
{
	char err[160];
	int i, g;

	libbpf_set_print(libbpf_print);
	if (sl_log_check_env(err, sizeof(err)) < 0) {
		fprintf(stderr, "sandlot-agent: %s\n", err);
		return SL_EXIT_USAGE;
	}
	/* Global options come first (commands take them after their name too); then a
	 * command, or the daemon's own options. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return SL_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("sandlot-agent %s\n", SANDLOT_VERSION_FULL);
			return SL_EXIT_OK;
		}
		g = global_option(argc, argv, &i);
		if (g < 0)
			return SL_EXIT_USAGE;
		if (g == 0)
			break; /* a daemon option */
	}
	if (i < argc && argv[i][0] != '-') {
		for (size_t k = 0; k < ARRAY_SIZE(cmds); k++) {
			if (strcmp(argv[i], cmds[k].name) == 0 && !cmds[k].fn)
				return exec_daemon(argc, argv, false);
			if (strcmp(argv[i], cmds[k].name) == 0) {
				optind = 0; /* each command parses its own argv, argv[0] its name */
				return cmds[k].fn(argc - i, argv + i);
			}
		}
		fprintf(stderr, "sandlot-agent: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return SL_EXIT_USAGE;
	}
	return exec_daemon(argc, argv, i < argc && !strcmp(argv[i], "--daemon-help"));
}

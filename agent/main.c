/* sandlot-agent: the per-host worker agent. Dispatches to subcommands. */
#include "cmd.h"

#include <sandlot/log.h>

#include <getopt.h>
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
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: sandlot-agent [--log-level LEVEL] COMMAND [OPTIONS]\n"
		   "       sandlot-agent --version | --help\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nRun 'sandlot-agent COMMAND --help' for a command's options.\n");
}

/* libbpf's messages go through our logger: warnings stay warnings, the rest is debug. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && sl_log_get_level() > SL_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	sl_log(level == LIBBPF_WARN ? SL_LOG_WARN : SL_LOG_DEBUG, "libbpf: %s", buf);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"log-level", required_argument, NULL, 'l'},
		{},
	};
	int c, l;

	libbpf_set_print(libbpf_print);
	/* '+': stop at the first non-option, which is the command */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return SL_EXIT_OK;
		case 'V':
			printf("sandlot-agent %s\n", SANDLOT_VERSION);
			return SL_EXIT_OK;
		case 'l':
			l = sl_log_parse_level(optarg);
			if (l < 0) {
				fprintf(stderr, "sandlot-agent: unknown log level '%s'\n", optarg);
				return SL_EXIT_USAGE;
			}
			sl_log_set_level((enum sl_log_level)l);
			break;
		default:
			usage(stderr);
			return SL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return SL_EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[optind], cmds[i].name) == 0) {
			int idx = optind;

			optind = 0; /* each command parses its own argv, argv[0] being its name */
			return cmds[i].fn(argc - idx, argv + idx);
		}
	}
	fprintf(stderr, "sandlot-agent: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return SL_EXIT_USAGE;
}

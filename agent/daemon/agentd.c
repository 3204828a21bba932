// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-agentd: the worker agent daemon. Operators start it as `sandlot-agent [OPTIONS]`
 * (no subcommand), which execs this binary (main.c, exec_daemon): the daemon needs HTTP, zip,
 * crypto and nanomsg libraries that the static `sandlot-agent` (probe, run) must not load.
 */
#include "daemon/agent.h"
#include "run/cmd.h"

#include <sandlot/log.h>
#include <sandlot/version.h>

#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

/*
 * libbpf's own messages only at debug, one event per line: what fails is logged by the caller
 * that decides, with context (its warnings are often harmless probes, and its verifier log spans
 * many lines).
 */
static int _printf_(2, 0) libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[4096];

	if (sl_log_get_level() > SL_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	sl_log_lines(SL_LOG_DEBUG, buf, "component=libbpf");
	return 0;
}

int main(int argc, char **argv)
{
	char err[160];

	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("sandlot-agentd %s\n", SANDLOT_VERSION_FULL);
		return 0;
	}
	if (sl_log_check_env(err, sizeof(err)) < 0) {
		fprintf(stderr, "sandlot-agent: %s\n", err);
		return 2;
	}
	/* --log-level may come first, as for every sandlot-agent invocation */
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--log-level") == 0) {
			int l = sl_log_parse_level(argv[i + 1]);

			if (l < 0) {
				fprintf(stderr, "sandlot-agent: unknown log level '%s'\n",
					argv[i + 1]);
				return 2;
			}
			sl_log_set_level((enum sl_log_level)l);
		}
	}
	libbpf_set_print(libbpf_print);
	/* `sandlot-agent [--log-level L] invoke ...` (agent/run/main.c) comes here too */
	int i = 1;

	while (i + 1 < argc && strcmp(argv[i], "--log-level") == 0)
		i += 2;
	if (i < argc && strcmp(argv[i], "invoke") == 0)
		return sl_cmd_invoke(argc - i, argv + i);
	return sl_agent_main(argc, argv);
}

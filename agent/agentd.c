/*
 * sandlot-agentd: the worker agent daemon. Operators start it as `sandlot-agent [OPTIONS]`
 * (no subcommand), which execs this binary from its own directory: the daemon needs HTTP, zip,
 * crypto and nanomsg libraries that the static `sandlot-agent` (probe, run) must not load.
 */
#include "agent.h"

#include <sandlot/log.h>

#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && sl_log_get_level() > SL_LOG_DEBUG)
		return 0;
	sl_logv(level == LIBBPF_WARN ? SL_LOG_WARN : SL_LOG_DEBUG, 0, fmt, ap);
	return 0;
}

int main(int argc, char **argv)
{
	char err[160];

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
	return sl_agent_main(argc, argv);
}

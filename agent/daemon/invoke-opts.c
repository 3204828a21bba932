// SPDX-License-Identifier: Apache-2.0
/* The options of `sandlot-agent invoke`: defaults, parsing, checks (see invoke-opts.h). */
#include "daemon/invoke-opts.h"
#include "run/cmd.h"

#include <sandlot/parse.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX      (6 * 1024 * 1024) /* Lambda's synchronous request payload */
#define REPEAT_MAX     100000
#define TIMEOUT_MIN_NS SL_NSEC_PER_SEC
#define TIMEOUT_MAX_NS (900 * SL_NSEC_PER_SEC) /* Lambda's 15 minutes */

void sl_invoke_usage(FILE *f)
{
	fprintf(f,
		"Usage: sandlot-agent invoke --code DIR|ZIP [OPTIONS]\n"
		"Runs the function's /var/task/bootstrap in a sandbox as the agent does (Runtime\n"
		"API at 127.0.0.1:9001 inside, Lambda's environment) and hands it events.\n"
		"  --code DIR|ZIP     the function's code: a directory or a zip with bootstrap\n"
		"  --handler H        _HANDLER (default function.handler)\n"
		"  --name NAME        AWS_LAMBDA_FUNCTION_NAME (default function)\n"
		"  --memory MB        memory size, 128 to 10240 (default 128); CPU follows it\n"
		"                     (1769 MB = one CPU)\n"
		"  --init-cpus N      CPU quota until the runtime's first next (default 1; 0:\n"
		"                     memory / 1769 MB from the start)\n"
		"  --timeout DURATION per invocation, 1s to 15m (default 3s)\n"
		"  --env K=V          the function's environment variable (repeatable)\n"
		"  --region REGION    AWS_REGION (default us-east-1)\n"
		"  --event FILE|-     the event, JSON, at most 6 MB (default {}); - is stdin\n"
		"  --repeat N         invoke N times, warm after the first (default 1)\n"
		"  --json             one JSON object per invocation instead of the text below\n"
		"  --log-level LEVEL  debug, info, warn, error or off (also before 'invoke')\n"
		"Prints each response on stdout; on stderr the function's output and, per\n"
		"invocation, a REPORT line (durations, memory) and any function error with its "
		"type.\n"
		"Exit status: 0 every invocation succeeded, %d a function error, %d a timeout,\n"
		"%d the function failed to initialise (the worst of these over all invocations),\n"
		"2 bad usage, 125 the sandbox could not be set up, 128+N stopped by signal N.\n",
		SL_EXIT_INVOKE_FUNCTION_ERROR, SL_EXIT_INVOKE_TIMEOUT, SL_EXIT_INVOKE_INIT_ERROR);
}

static int _printf_(1, 2) bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sandlot-agent invoke: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -EINVAL;
}

static int read_event(struct sl_invoke_opts *o, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	json_error_t jerr;
	json_t *j;
	size_t n;

	if (!f)
		return bad("--event '%s': %s", path, strerror(errno));
	free(o->event);
	o->event = malloc(EVENT_MAX + 1);
	n = o->event ? fread(o->event, 1, EVENT_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!o->event)
		return bad("--event: out of memory");
	if (n > EVENT_MAX)
		return bad("--event '%s': larger than 6 MB", path);
	o->event_len = n;
	j = json_loadb(o->event, n, JSON_DECODE_ANY, &jerr);
	if (!j)
		return bad("--event '%s': not JSON: %s (line %d)", path, jerr.text, jerr.line);
	json_decref(j);
	return 0;
}

static int parse_one(struct sl_invoke_opts *o, int c, char *arg)
{
	uint64_t v;
	double d;

	switch (c) {
	case 'c':
		o->code = arg;
		return 0;
	case 'H':
		if (strlen(arg) > SL_LAMBDA_HANDLER_MAX)
			return bad("--handler: longer than %d bytes", SL_LAMBDA_HANDLER_MAX);
		o->handler = arg;
		return 0;
	case 'n':
		o->name = arg;
		return 0;
	case 'R':
		o->region = arg;
		return 0;
	case 'm':
		if (sl_parse_u64(arg, SL_LAMBDA_MEMORY_MIN_MB, SL_LAMBDA_MEMORY_MAX_MB, &v) < 0)
			return bad("--memory '%s': expected megabytes from 128 to 10240", arg);
		o->memory_mb = (unsigned)v;
		return 0;
	case 'I':
		if (sl_parse_double(arg, 1024, &d) < 0)
			return bad("--init-cpus '%s': expected a number from 0 to 1024", arg);
		o->init_cpu_millis = (uint32_t)(d * 1000.0 + 0.5);
		return 0;
	case 't':
		if (sl_parse_duration(arg, &v) < 0 || v < TIMEOUT_MIN_NS || v > TIMEOUT_MAX_NS)
			return bad("--timeout '%s': expected a duration from 1s to 15m", arg);
		o->timeout_ns = v;
		return 0;
	case 'e':
		if (o->n_env >= SL_LAMBDA_ENV_USER_MAX_COUNT)
			return bad("--env: too many variables (at most %d)",
				   SL_LAMBDA_ENV_USER_MAX_COUNT);
		o->env[o->n_env++] = arg;
		return 0;
	case 'E':
		return read_event(o, arg);
	case 'r':
		if (sl_parse_u64(arg, 1, REPEAT_MAX, &v) < 0)
			return bad("--repeat '%s': expected a count from 1 to %d", arg, REPEAT_MAX);
		o->repeat = (unsigned)v;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	}
	return -EINVAL;
}

/* The environment, built once here so that a bad --env is a usage error. */
static int check_env(struct sl_invoke_opts *o)
{
	struct sl_lambda_fn fn = {.name = o->name,
				  .handler = o->handler,
				  .memory_mb = o->memory_mb,
				  .region = o->region,
				  .user_env = (const char *const *)o->env};
	size_t i = SIZE_MAX;
	char **envp = NULL;
	int r = sl_lambda_env_build(&fn, &envp, &i);

	free(envp);
	if (r == 0)
		return 0;
	if (i < o->n_env)
		return bad("--env '%s': %s", o->env[i],
			   r == -EPERM ? "a key Lambda reserves"
			   : r == -E2BIG
				   ? "over Lambda's 4 KB for all variables"
				   : "expected KEY=VALUE, KEY of [a-zA-Z][a-zA-Z0-9_]+, once");
	if (r == -E2BIG)
		return bad("--env: the variables exceed Lambda's 4 KB");
	return bad("--name '%s' or --region '%s': not a valid name", o->name, o->region);
}

static int parse_args(int argc, char **argv, struct sl_invoke_opts *o)
{
	static const struct option opts[] = {
		{"code", required_argument, NULL, 'c'},
		{"handler", required_argument, NULL, 'H'},
		{"name", required_argument, NULL, 'n'},
		{"region", required_argument, NULL, 'R'},
		{"memory", required_argument, NULL, 'm'},
		{"init-cpus", required_argument, NULL, 'I'},
		{"timeout", required_argument, NULL, 't'},
		{"env", required_argument, NULL, 'e'},
		{"event", required_argument, NULL, 'E'},
		{"repeat", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"log-level", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?')
			return bad("unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return bad("option '%s' needs a value", argv[optind - 1]);
		if (c == 'L')
			continue; /* agentd's main() took it, wherever it was */
		if (parse_one(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!o->code)
		return bad("--code DIR|ZIP is required");
	return check_env(o);
}

int sl_invoke_opts_parse(struct sl_invoke_opts *o, int argc, char **argv)
{
	int r;

	*o = (struct sl_invoke_opts){.handler = "function.handler",
				     .name = "function",
				     .region = "us-east-1",
				     .memory_mb = 128,
				     .timeout_ns = 3 * SL_NSEC_PER_SEC,
				     .init_cpu_millis = SL_LAMBDA_INIT_CPU_MILLIS,
				     .repeat = 1};
	r = parse_args(argc, argv, o);
	if (r == 0 && !o->event) {
		o->event = strdup("{}");
		o->event_len = 2;
		r = o->event ? 0 : bad("out of memory");
	}
	return r;
}

void sl_invoke_opts_free(struct sl_invoke_opts *o)
{
	free(o->event);
	o->event = NULL;
}

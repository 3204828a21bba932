// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl [OPTIONS] OBJECT {COMMAND | help}: the entry point, global options, the objects'
 * table and the helpers every object shares (prefix matching, errors, output).
 */
#include "main.h"

#include <sandlot/json.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_opts ctl = {
	.agent = CTL_DEFAULT_AGENT,
	.control = CTL_DEFAULT_CONTROL,
	.control_data = CTL_DEFAULT_CTL_DATA,
	.pin_root = CTL_DEFAULT_PIN_ROOT,
	.state_dir = CTL_DEFAULT_STATE_DIR,
};

bool is_prefix(const char *word, const char *name)
{
	return word[0] && strncmp(word, name, strlen(word)) == 0;
}

int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++) /* one line, whatever came in */
		if (*p == '\n')
			*p = ' ';
	if (ctl.json)
		sl_json_print_error(stdout, "%s", msg);
	else
		fprintf(stderr, "Error: %s\n", msg);
	return 1;
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("Warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int emit(json_t *j, void (*plain)(json_t *j))
{
	if (!j)
		return fail("out of memory");
	if (ctl.json)
		return sl_json_print(stdout, j, ctl.pretty) < 0 ? 1 : 0;
	plain(j);
	json_decref(j);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, const char *what)
{
	static char *help_argv[] = {"help", NULL};
	const struct cmd *hit = NULL;
	char names[512] = "", cands[512] = "";
	int n = 0;

	if (argc < 1)
		argv = help_argv, argc = 1;
	for (const struct cmd *c = cmds; c->name; c++) {
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? ", " : "", c->name);
		if (strcmp(argv[0], c->name) == 0 || (c->alias && strcmp(argv[0], c->alias) == 0))
			return c->fn(argc - 1, argv + 1);
		if (is_prefix(argv[0], c->name)) {
			hit = c;
			snprintf(cands + strlen(cands), sizeof(cands) - strlen(cands), "%s%s",
				 n++ ? ", " : "", c->name);
		}
	}
	if (n == 1)
		return hit->fn(argc - 1, argv + 1);
	if (n > 1)
		return fail("ambiguous %s '%s': could be %s", what, argv[0], cands);
	return fail("unknown %s '%s' (expected one of: %s)", what, argv[0], names);
}

int parse_filters(int argc, char **argv, const char *const *keys, const char **vals[], int n)
{
	for (int i = 0; i < argc; i += 2) {
		int k = -1;

		for (int j = 0; j < n; j++)
			if (strcmp(argv[i], keys[j]) == 0 || (k < 0 && is_prefix(argv[i], keys[j])))
				k = j;
		if (k < 0)
			return fail("unknown keyword '%s'", argv[i]);
		if (i + 1 >= argc)
			return fail("'%s' needs a value", keys[k]);
		if (strlen(argv[i + 1]) > 255)
			return fail("the value of '%s' is too long", keys[k]);
		*vals[k] = argv[i + 1];
	}
	return 0;
}

static int do_version(int argc, char **argv)
{
	if (ctl.json)
		return sl_json_print(stdout,
				     json_pack("{s:s, s:i}", "version", SANDLOT_VERSION,
					       "bpf_abi_version", SL_BPF_ABI_VERSION),
				     ctl.pretty) < 0;
	printf("sandlotctl v%s\nBPF ABI version %d\n", SANDLOT_VERSION, SL_BPF_ABI_VERSION);
	return 0;
}

static int do_help(int argc, char **argv)
{
	if (ctl.json) /* help is for people; under -j say so as valid JSON */
		return sl_json_print(stdout, json_pack("{s:s}", "help", "see sandlotctl help"),
				     false) < 0;
	fprintf(stderr,
		"Usage: sandlotctl [OPTIONS] OBJECT {COMMAND | help}\n"
		"       sandlotctl version\n"
		"\n"
		"       OBJECT := { sandbox | prog | map | policy | top | function | worker | dlq "
		"}\n"
		"       OPTIONS := { -j|--json [-p|--pretty] | --agent HOST:PORT |\n"
		"                    --control HOST:PORT | --control-data DIR |\n"
		"                    --pin-root DIR | --state-dir DIR }\n"
		"\n"
		"Words may be shortened to any unambiguous prefix (sandlotctl sb s).\n"
		"sandbox, prog, map and policy read the pinned BPF state (%s) and work\n"
		"with the agent stopped; kill and top ask the agent (%s).\n"
		"function, worker and dlq ask the control node (%s) with the token in\n"
		"<control data>/ctlapi.token (%s).\n",
		CTL_DEFAULT_PIN_ROOT, CTL_DEFAULT_AGENT, CTL_DEFAULT_CONTROL, CTL_DEFAULT_CTL_DATA);
	return 0;
}

static const struct cmd objects[] = {
	/* the pinned BPF state and the agent */
	{"sandbox", do_sandbox, "sb"},
	{"prog", do_prog, NULL},
	{"map", do_map, NULL},
	{"policy", do_policy, NULL},
	{"top", do_top, NULL},
	/* the control node */
	{"function", do_function, NULL},
	{"worker", do_worker, NULL},
	{"dlq", do_dlq, NULL},
	{"version", do_version, NULL},
	{"help", do_help, NULL},
	{NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"agent", required_argument, NULL, 'a'},
		{"control", required_argument, NULL, 'c'},
		{"control-data", required_argument, NULL, 'd'},
		{"pin-root", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	opterr = 0; /* our one-line error instead of getopt's */
	/* "+": options before OBJECT only, so that no argument of a command is taken for one */
	while ((opt = getopt_long(argc, argv, "+jphV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			ctl.json = true;
			break;
		case 'p':
			ctl.json = ctl.pretty = true;
			break;
		case 'a':
			ctl.agent = optarg;
			break;
		case 'c':
			ctl.control = optarg;
			break;
		case 'd':
			ctl.control_data = optarg;
			break;
		case 'r':
			ctl.pin_root = optarg;
			break;
		case 's':
			ctl.state_dir = optarg;
			break;
		case 'h':
			return do_help(0, NULL);
		case 'V':
			return do_version(0, NULL);
		default:
			return fail("bad option '%s' (see sandlotctl help)", argv[optind - 1]);
		}
	}
	if (strlen(ctl.agent) > 255 || strlen(ctl.pin_root) > 200 || strlen(ctl.state_dir) > 200 ||
	    strlen(ctl.control) > 255 || strlen(ctl.control_data) > 200)
		return fail("an option's value is too long");
	return cmd_select(objects, argc - optind, argv + optind, "object");
}

// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl worker {list | show | drain}: the agent hosts the control node knows (zone, state,
 * health, lease left, sandboxes, memory utilization), and draining one.
 */
#include "main.h"

#include <stdio.h>
#include <string.h>

#define I(o, k) ((long long)json_integer_value(json_object_get((o), (k))))
#define S(o, k) json_string_value(json_object_get((o), (k)))

static void print_worker(json_t *w)
{
	printf("%s: zone %s  %s  health %s  lease left %llds  heartbeat %lldms ago\n"
	       "\tsandboxes %lld/%lld  busy %lld  in flight %lld  memory %lld/%lldMB (%.1f%%)  "
	       "cpus %lld  endpoint %s\n",
	       S(w, "name"), S(w, "zone"), S(w, "state"), S(w, "health"), I(w, "lease_left_s"),
	       I(w, "last_heartbeat_ms"), I(w, "sandboxes"), I(w, "max_sandboxes"), I(w, "busy"),
	       I(w, "inflight"), I(w, "memory_used_mb"), I(w, "memory_mb"),
	       100 * json_real_value(json_object_get(w, "utilization")), I(w, "ncpus"),
	       S(w, "endpoint"));
}

static void print_list(json_t *j)
{
	size_t i;
	json_t *w;

	json_array_foreach (j, i, w)
		print_worker(w);
}

static void print_show(json_t *w)
{
	size_t i;
	json_t *sb;

	print_worker(w);
	json_array_foreach (json_object_get(w, "sandbox_list"), i, sb)
		printf("\tsandbox %s  %s  %s%s  %lldMB\n", S(sb, "id"), S(sb, "function"),
		       S(sb, "state"),
		       json_is_true(json_object_get(sb, "inflight")) ? " (in flight)" : "",
		       I(sb, "memory_mb"));
}

static void print_drained(json_t *w)
{
	printf("worker %s draining\n", S(w, "name"));
}

static int do_list(int argc, char **argv)
{
	json_t *list;
	int r;

	if (argc)
		return fail("worker list takes no arguments ('%s')", argv[0]);
	r = control_list("/v1/workers", "workers", &list);
	return r ? r : emit(list, print_list);
}

static int one(int argc, char **argv, bool drain)
{
	static const char *const keys[] = {"name"};
	const char *name = NULL, **vals[] = {&name};
	char path[160];
	json_t *j;
	int r = parse_filters(argc, argv, keys, vals, 1);

	if (r)
		return r;
	if (!name)
		return fail("which worker? (name NAME)");
	if (!name[0] ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789-_.")] ||
	    strlen(name) > 64)
		return fail("bad worker name '%s'", name);
	snprintf(path, sizeof(path), "/v1/workers/%s%s", name, drain ? "/drain" : "");
	r = control_call(path, drain, NULL, 0, &j, NULL);
	if (r)
		return r;
	return emit(j, drain ? print_drained : print_show);
}

static int do_show(int argc, char **argv)
{
	return one(argc, argv, false);
}

static int do_drain(int argc, char **argv)
{
	return one(argc, argv, true);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl worker help"), NULL);
	fprintf(stderr, "Usage: sandlotctl worker list\n"
			"       sandlotctl worker show name NAME\n"
			"       sandlotctl worker drain name NAME\n"
			"       sandlotctl worker help\n");
	return 0;
}

static const struct cmd cmds[] = {
	/* name, handler, alias */
	{"list", do_list, NULL}, {"show", do_show, NULL}, {"drain", do_drain, NULL},
	{"help", do_help, NULL}, {NULL, NULL, NULL},
};

int do_worker(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "worker command");
}

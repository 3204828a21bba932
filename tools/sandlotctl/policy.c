// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl policy show id ID: a sandbox's network allow-list as BPF enforces it (from the
 * pinned sl_sandboxes entry) and its denial counters, plus the ports denied to every sandbox.
 */
#include "main.h"

#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The host-wide denied ports (sl_config). */
static json_t *deny_ports(void)
{
	struct sl_bpf_config cfg = {0};
	json_t *arr = json_array();
	uint32_t key = 0;
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/sl_config", ctl.pin_root);
	fd = bpf_obj_get(path);
	if (fd >= 0 && bpf_map_lookup_elem(fd, &key, &cfg) == 0)
		for (int i = 0; i < SL_BPF_MAX_DENY_PORTS; i++)
			if (cfg.deny_ports[i])
				json_array_append_new(arr, json_integer(cfg.deny_ports[i]));
	if (fd >= 0)
		close(fd);
	return arr;
}

static void print_policy(json_t *o)
{
	json_t *rules = json_object_get(o, "rules"), *r, *p;
	size_t i;

	printf("sandbox %s  cgroup %lld\n", json_string_value(json_object_get(o, "id")) ?: "?",
	       (long long)json_integer_value(json_object_get(o, "cgroup_id")));
	if (!json_is_true(json_object_get(o, "allow_list")))
		printf("\tno allow-list: every destination but the denied ones\n");
	json_array_foreach (rules, i, r) {
		printf("\tallow %s %s/%lld", json_string_value(json_object_get(r, "proto")),
		       json_string_value(json_object_get(r, "net")),
		       (long long)json_integer_value(json_object_get(r, "prefix_len")));
		if (json_integer_value(json_object_get(r, "port_hi")))
			printf(" port %lld-%lld",
			       (long long)json_integer_value(json_object_get(r, "port_lo")),
			       (long long)json_integer_value(json_object_get(r, "port_hi")));
		putchar('\n');
	}
	printf("\tdenied ports (every sandbox):");
	json_array_foreach (json_object_get(o, "denied_ports"), i, p)
		printf(" %lld", (long long)json_integer_value(p));
	printf("\n\tdenied connects %lld  dropped packets %lld\n",
	       (long long)json_integer_value(json_object_get(o, "denied_connects")),
	       (long long)json_integer_value(json_object_get(o, "dropped_packets")));
}

static int do_show(int argc, char **argv)
{
	static const char *const keys[] = {"id"};
	const char *id = NULL, **vals[] = {&id};
	json_t *all, *o, *hit = NULL;
	char cg[24];
	bool up;
	size_t i;
	int r = parse_filters(argc, argv, keys, vals, 1);

	if (r)
		return r;
	if (!id)
		return fail("which sandbox? (id ID)");
	r = sandbox_collect(&all, &up);
	if (r)
		return r;
	json_array_foreach (all, i, o) {
		const char *sid = json_string_value(json_object_get(o, "id"));
		const char *rid = json_string_value(json_object_get(o, "runtime_id"));

		snprintf(cg, sizeof(cg), "%lld",
			 (long long)json_integer_value(json_object_get(o, "cgroup_id")));
		if (strcmp(cg, id) == 0 || (sid && strcmp(sid, id) == 0) ||
		    (rid && strcmp(rid, id) == 0))
			hit = o;
	}
	if (!hit) {
		json_decref(all);
		return fail("no sandbox with id '%s'%s", id,
			    up ? "" : " (the agent is not answering: use the cgroup id)");
	}
	o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o}", "id", json_object_get(hit, "id"),
		      "cgroup_id", json_object_get(hit, "cgroup_id"), "allow_list",
		      json_object_get(hit, "policy"), "rules", json_object_get(hit, "rules"),
		      "denied_connects", json_object_get(hit, "denied_connects"), "denied_ports",
		      deny_ports());
	if (o)
		json_object_set(o, "dropped_packets", json_object_get(hit, "dropped_packets"));
	json_decref(all);
	return emit(o, print_policy);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl policy help"), NULL);
	fprintf(stderr, "Usage: sandlotctl policy show id ID\n"
			"       sandlotctl policy help\n");
	return 0;
}

static const struct cmd cmds[] = {
	{"show", do_show, NULL},
	{"help", do_help, NULL},
	{NULL, NULL, NULL},
};

int do_policy(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "policy command");
}

// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl sandbox { show | list | dump | kill }: the pinned BPF state of every registered
 * sandbox, joined (by cgroup id) with the agent's view when the agent answers.
 */
#include "main.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The agent's /v1/sandboxes by cgroup id (a JSON object), NULL when the agent is down. */
static json_t *agent_sandboxes(void)
{
	json_t *arr = NULL, *byid, *o;
	size_t i;
	int st = agent_get("/v1/sandboxes", &arr);

	if (st != 200) {
		if (st > 0)
			json_decref(arr);
		return NULL;
	}
	byid = json_object();
	json_array_foreach (arr, i, o) {
		char k[24];

		snprintf(k, sizeof(k), "%" PRIu64,
			 (uint64_t)json_integer_value(json_object_get(o, "cgroup_id")));
		json_object_set(byid, k, o);
	}
	json_decref(arr);
	return byid;
}

static json_t *sandbox_json(const struct pin_sandbox *s, json_t *ag, bool up)
{
	json_t *o = json_object(), *rules = json_array();
	const char *keys[] = {"id",	     "function",  "version", "runtime_id", "memory_mb",
			      "invocations", "in_flight", "init_us", "code_sha256"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set(o, keys[i], ag ? json_object_get(ag, keys[i]) : json_null());
	if (ag)
		json_object_set(o, "state", json_object_get(ag, "state"));
	else
		json_object_set_new(o, "state", json_string(pin_state_name(s->state)));
	/* registered, but no sandbox of the agent's: a pooled shell waiting for one */
	json_object_set_new(o, "pooled", up ? json_boolean(!ag) : json_null());
	json_object_set_new(o, "bpf_state", json_string(pin_state_name(s->state)));
	json_object_set_new(o, "cgroup_id", json_integer((json_int_t)s->cgid));
	json_object_set_new(o, "slot", json_integer(s->slot));
	json_object_set_new(o, "cpu_ns", json_integer((json_int_t)s->cpu_ns));
	json_object_set_new(o, "switches", json_integer((json_int_t)s->switches));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)s->rx_bytes));
	json_object_set_new(o, "rx_packets", json_integer((json_int_t)s->rx_packets));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)s->tx_bytes));
	json_object_set_new(o, "tx_packets", json_integer((json_int_t)s->tx_packets));
	json_object_set_new(o, "denied_connects", json_integer((json_int_t)s->denied_connects));
	json_object_set_new(o, "dropped_packets", json_integer((json_int_t)s->dropped_packets));
	json_object_set_new(o, "bpf_in_flight", json_integer(s->inflight));
	json_object_set_new(o, "last_cpu_ns", json_integer((json_int_t)s->last_cpu_ns));
	json_object_set_new(o, "last_net_ns", json_integer((json_int_t)s->last_net_ns));
	json_object_set_new(o, "idle_threshold_ns", json_integer((json_int_t)s->idle_ns));
	json_object_set_new(o, "transitions", json_integer((json_int_t)s->seq));
	json_object_set_new(o, "policy", json_boolean(s->flags & SL_BPF_SBX_POLICY));
	for (uint32_t i = 0; i < s->n_rules && i < SL_BPF_MAX_RULES; i++)
		json_array_append_new(rules, pin_rule_json(&s->rules[i]));
	json_object_set_new(o, "rules", rules);
	return o;
}

int sandbox_collect(json_t **ret, bool *agent_up)
{
	struct pin_state ps;
	struct pin_sandbox *sbx = NULL;
	json_t *ag, *arr;
	size_t n = 0;
	int r;

	r = pin_open(&ps);
	if (r)
		return r;
	r = pin_sandboxes(&ps, &sbx, &n);
	pin_close(&ps);
	if (r)
		return r;
	ag = agent_sandboxes();
	*agent_up = ag != NULL;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char k[24];

		snprintf(k, sizeof(k), "%" PRIu64, sbx[i].cgid);
		json_array_append_new(
			arr, sandbox_json(&sbx[i], ag ? json_object_get(ag, k) : NULL, ag));
	}
	json_decref(ag);
	free(sbx);
	*ret = arr;
	return 0;
}

static bool matches_id(json_t *o, const char *id)
{
	char cg[24];

	snprintf(cg, sizeof(cg), "%" PRIu64,
		 (uint64_t)json_integer_value(json_object_get(o, "cgroup_id")));
	return strcmp(cg, id) == 0 ||
	       (json_string_value(json_object_get(o, "id")) &&
		strcmp(json_string_value(json_object_get(o, "id")), id) == 0) ||
	       (json_string_value(json_object_get(o, "runtime_id")) &&
		strcmp(json_string_value(json_object_get(o, "runtime_id")), id) == 0);
}

/* The sandboxes that pass the filters; a named id that matches none is an error. */
static int select_sandboxes(int argc, char **argv, json_t **ret, bool need_id)
{
	static const char *const keys[] = {"id", "function"};
	const char *id = NULL, *fn = NULL;
	const char **vals[] = {&id, &fn};
	json_t *all, *out, *o;
	bool up;
	size_t i;
	int r = parse_filters(argc, argv, keys, vals, 2);

	if (r)
		return r;
	if (need_id && !id)
		return fail("which sandbox? (id ID)");
	r = sandbox_collect(&all, &up);
	if (r)
		return r;
	if (!up)
		warn("the agent at %s is not answering: pinned BPF state only (no function names)",
		     ctl.agent);
	if (fn && !up) {
		json_decref(all);
		return fail("'function %s' needs the agent, which is not answering at %s", fn,
			    ctl.agent);
	}
	out = json_array();
	json_array_foreach (all, i, o) {
		const char *f = json_string_value(json_object_get(o, "function"));

		if ((!id || matches_id(o, id)) && (!fn || (f && strcmp(f, fn) == 0)))
			json_array_append(out, o);
	}
	json_decref(all);
	if (id && json_array_size(out) == 0) {
		json_decref(out);
		return fail("no sandbox with id '%s'", id);
	}
	*ret = out;
	return 0;
}

static const char *str(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : dflt;
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void print_list(json_t *arr)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o) {
		printf("%s: %s%s%s  state %s  cgroup %lld  slot %lld\n", str(o, "id", "(pooled)"),
		       str(o, "function", ""), json_object_get(o, "version") ? ":" : "",
		       str(o, "version", ""), str(o, "state", "?"), num(o, "cgroup_id"),
		       num(o, "slot"));
		printf("\tcpu %.3fs  rx %lldB/%lldp  tx %lldB/%lldp  denied %lld  dropped %lld\n",
		       (double)num(o, "cpu_ns") / 1e9, num(o, "rx_bytes"), num(o, "rx_packets"),
		       num(o, "tx_bytes"), num(o, "tx_packets"), num(o, "denied_connects"),
		       num(o, "dropped_packets"));
	}
}

static int do_show(int argc, char **argv)
{
	json_t *arr;
	int r = select_sandboxes(argc, argv, &arr, false);

	return r ? r : emit(arr, print_list);
}

static void print_dump(json_t *arr)
{
	size_t i;
	json_t *o, *v;
	const char *k;

	json_array_foreach (arr, i, o) {
		json_object_foreach (o, k, v) {
			if (json_is_array(v))
				printf("%-20s %zu\n", k, json_array_size(v));
			else if (json_is_string(v))
				printf("%-20s %s\n", k, json_string_value(v));
			else if (json_is_integer(v))
				printf("%-20s %lld\n", k, (long long)json_integer_value(v));
			else if (json_is_boolean(v))
				printf("%-20s %s\n", k, json_is_true(v) ? "yes" : "no");
			else
				printf("%-20s -\n", k);
		}
	}
}

static int do_dump(int argc, char **argv)
{
	json_t *arr;
	int r = select_sandboxes(argc, argv, &arr, true);

	if (r)
		return r;
	if (ctl.json) { /* one sandbox: the object itself */
		json_t *o = json_incref(json_array_get(arr, 0));

		json_decref(arr);
		return emit(o, print_dump);
	}
	return emit(arr, print_dump);
}

static void print_killed(json_t *o)
{
	printf("sandbox %s killed\n", str(o, "id", "?"));
}

static int do_kill(int argc, char **argv)
{
	static const char *const keys[] = {"id"};
	const char *id = NULL, **vals[] = {&id};
	char path[400];
	json_t *body = NULL;
	int r = parse_filters(argc, argv, keys, vals, 1);

	if (r)
		return r;
	if (!id)
		return fail("which sandbox? (id ID)");
	if (strchr(id, '/') || strchr(id, '?') || strchr(id, '%') || strchr(id, ' '))
		return fail("no sandbox with id '%s'", id);
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/kill", id);
	r = agent_post(path, &body);
	if (r == -ENOENT || r == -EACCES) { /* no token: is there an agent at all? */
		json_t *h = NULL;
		int hr = agent_get("/healthz", &h);

		if (hr > 0)
			json_decref(h);
		else if (hr == -ECONNREFUSED || hr == -ETIMEDOUT)
			r = hr;
	}
	if (r == -ECONNREFUSED || r == -ETIMEDOUT)
		return fail("the agent at %s is not answering: kill needs it", ctl.agent);
	if (r == -ENOENT || r == -EACCES)
		return fail("cannot read the agent's token in %s/localapi.token: %s", ctl.state_dir,
			    r == -ENOENT ? "no such file (is the agent running with this "
					   "--state-dir?)"
					 : "permission denied (run as root)");
	if (r < 0)
		return fail("the agent at %s: %s", ctl.agent, strerror(-r));
	if (r == 404) {
		json_decref(body);
		return fail("no sandbox with id '%s'", id);
	}
	if (r != 202) {
		r = fail("the agent refused: %s", str(body, "error", "unexpected answer"));
		json_decref(body);
		return r;
	}
	return emit(body, print_killed);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl sandbox help"), NULL);
	fprintf(stderr, "Usage: sandlotctl sandbox { show | list } [id ID | function NAME]\n"
			"       sandlotctl sandbox dump id ID\n"
			"       sandlotctl sandbox kill id ID\n"
			"       sandlotctl sandbox help\n"
			"\n"
			"ID is the sandbox's id, its runtime id (s<n>-<pid>-<seq>) or its cgroup "
			"id.\n"
			"show, list and dump read the pinned BPF state (the agent adds names);\n"
			"kill asks the agent (needs root: it reads the agent's token).\n");
	return 0;
}

static const struct cmd cmds[] = {
	{"show", do_show, NULL}, {"list", do_show, NULL}, {"dump", do_dump, NULL},
	{"kill", do_kill, NULL}, {"help", do_help, NULL}, {NULL, NULL, NULL},
};

int do_sandbox(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "sandbox command");
}

// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl map { show | dump } [name NAME]: the maps pinned under the pin root, their entries
 * decoded into the named fields of include/sandlot/bpf_abi.h (unused slots left out; per-CPU
 * values summed, last_* stamps as their maximum). Maps the kernel cannot iterate from user
 * space (task and cgroup-owned storage, the ring buffer) are shown but not dumped.
 */
#include "main.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUMP_MAX_ENTRIES 65536

struct mapctx {
	struct bpf_map_info info;
	unsigned ncpu;	/* 1, or the possible CPUs of a per-CPU map */
	size_t vstride; /* bytes per CPU in a lookup's value buffer */
	uint64_t now_j, now_ns;
	unsigned hz;
};

typedef json_t *(*decode_fn)(const struct mapctx *m, const void *key, const void *val);

static bool percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

#define CPU(m, val, type, i) ((const type *)((const char *)(val) + (size_t)(i) * (m)->vstride))
#define SUM(m, val, type, field)                            \
	({                                                  \
		uint64_t _s = 0;                            \
		for (unsigned _i = 0; _i < (m)->ncpu; _i++) \
			_s += CPU(m, val, type, _i)->field; \
		(json_int_t) _s;                            \
	})
#define MAXOF(m, val, type, field)                                 \
	({                                                         \
		uint64_t _s = 0;                                   \
		for (unsigned _i = 0; _i < (m)->ncpu; _i++)        \
			if (CPU(m, val, type, _i)->field > _s)     \
				_s = CPU(m, val, type, _i)->field; \
		(json_int_t) _s;                                   \
	})

static json_t *dec_meta(const struct mapctx *m, const void *k, const void *v)
{
	const struct sl_bpf_meta *x = v;

	return json_pack("{s:i, s:I}", "abi_version", x->abi_version, "created_ns",
			 (json_int_t)x->created_ns);
}

static json_t *dec_config(const struct mapctx *m, const void *k, const void *v)
{
	const struct sl_bpf_config *x = v;
	json_t *ports = json_array();

	for (int i = 0; i < SL_BPF_MAX_DENY_PORTS; i++)
		if (x->deny_ports[i])
			json_array_append_new(ports, json_integer(x->deny_ports[i]));
	return json_pack("{s:o}", "deny_ports", ports);
}

static json_t *dec_index(const struct mapctx *m, const void *k, const void *v)
{
	return json_pack("{s:I, s:i}", "cgroup_id", (json_int_t) * (const uint64_t *)k, "slot",
			 ((const struct sl_bpf_index *)v)->slot);
}

static json_t *dec_cgslot(const struct mapctx *m, const void *k, const void *v)
{
	const struct sl_bpf_cgslot *x = v;

	if (!x->cgid)
		return NULL;
	return json_pack("{s:i, s:I, s:i, s:b}", "bucket", *(const uint32_t *)k, "cgroup_id",
			 (json_int_t)x->cgid, "slot", (int)x->slot1 - 1, "shared", x->shared != 0);
}

static json_t *dec_sandbox(const struct mapctx *m, const void *k, const void *v)
{
	const struct sl_bpf_sandbox *x = v;
	json_t *rules;

	if (!x->cgid)
		return NULL;
	rules = json_array();
	for (uint32_t i = 0; i < x->n_rules && i < SL_BPF_MAX_RULES; i++)
		json_array_append_new(rules, pin_rule_json(&x->rules[i]));
	return json_pack("{s:i, s:I, s:s, s:I, s:I, s:b, s:i, s:o}", "slot", *(const uint32_t *)k,
			 "cgroup_id", (json_int_t)x->cgid, "state", pin_state_name(x->state),
			 "idle_ns", (json_int_t)x->idle_ns, "seq", (json_int_t)x->seq, "policy",
			 (x->flags & SL_BPF_SBX_POLICY) != 0, "denied_unreported",
			 x->denied_unreported, "rules", rules);
}

static json_t *dec_counters(const struct mapctx *m, const void *k, const void *v)
{
	json_t *o;

	if (!SUM(m, v, struct sl_bpf_counters, switches) &&
	    !SUM(m, v, struct sl_bpf_counters, cpu_ns))
		return NULL;
	o = json_pack("{s:i, s:I, s:I, s:I, s:I}", "slot", *(const uint32_t *)k, "cpu_ns",
		      SUM(m, v, struct sl_bpf_counters, cpu_ns), "switches",
		      SUM(m, v, struct sl_bpf_counters, switches), "dropped_packets",
		      SUM(m, v, struct sl_bpf_counters, dropped_packets), "denied_connects",
		      SUM(m, v, struct sl_bpf_counters, denied_connects));
	json_object_set_new(o, "last_cpu_jiffies",
			    json_integer(MAXOF(m, v, struct sl_bpf_counters, last_cpu_jiffies)));
	json_object_set_new(o, "last_net_jiffies",
			    json_integer(MAXOF(m, v, struct sl_bpf_counters, last_net_jiffies)));
	return o;
}

static json_t *dec_inflight(const struct mapctx *m, const void *k, const void *v)
{
	if (!*(const uint32_t *)v)
		return NULL;
	return json_pack("{s:i, s:i}", "slot", *(const uint32_t *)k, "in_flight",
			 *(const uint32_t *)v);
}

static json_t *dec_addrs(const struct mapctx *m, const void *k, const void *v)
{
	const struct sl_bpf_addr_owner *x = v;
	char a[64];

	return json_pack("{s:s, s:s, s:I}", "addr",
			 pin_addr_str(((const struct sl_bpf_addr *)k)->a, a, sizeof(a)), "kind",
			 x->kind == SL_BPF_ADDR_SANDBOX ? "sandbox"
			 : x->kind == SL_BPF_ADDR_HOST	? "host"
							: "?",
			 "cgroup_id", (json_int_t)x->cgid);
}

static json_t *dec_cpu(const struct mapctx *m, const void *k, const void *v)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < m->ncpu; i++) {
		const struct sl_bpf_cpu *c = CPU(m, v, struct sl_bpf_cpu, i);

		json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:i, s:i}", "cpu", i, "slot",
						     (int)c->slot1 - 1, "pid", c->pid, "busy_slot",
						     (int)c->busy_slot1 - 1, "last_slot",
						     (int)c->last_slot1 - 1));
	}
	return json_pack("{s:o}", "cpus", arr);
}

static json_t *dec_net(const struct mapctx *m, const void *k, const void *v)
{
	return json_pack("{s:I, s:i, s:I, s:I, s:I, s:I}", "cgroup_id",
			 (json_int_t) * (const uint64_t *)k, "slot",
			 (int)CPU(m, v, struct sl_bpf_net, 0)->slot1 - 1, "rx_bytes",
			 SUM(m, v, struct sl_bpf_net, rx_bytes), "rx_packets",
			 SUM(m, v, struct sl_bpf_net, rx_packets), "tx_bytes",
			 SUM(m, v, struct sl_bpf_net, tx_bytes), "tx_packets",
			 SUM(m, v, struct sl_bpf_net, tx_packets));
}

static json_t *dec_attach(const struct mapctx *m, const void *k, const void *v)
{
	return json_pack("{s:I, s:i}", "cgroup_id", (json_int_t) * (const uint64_t *)k, "slot",
			 (int)((const struct sl_bpf_attach *)v)->slot1 - 1);
}

static json_t *dec_stats(const struct mapctx *m, const void *k, const void *v)
{
	return json_pack("{s:I}", "events_lost", SUM(m, v, struct sl_bpf_host_stats, events_lost));
}

static const struct {
	const char *name;
	decode_fn fn;
} decoders[] = {
	{"sl_meta", dec_meta},	       {"sl_config", dec_config},     {"sl_index", dec_index},
	{"sl_cgslot", dec_cgslot},     {"sl_sandboxes", dec_sandbox}, {"sl_counters", dec_counters},
	{"sl_inflight", dec_inflight}, {"sl_addrs", dec_addrs},	      {"sl_cpu", dec_cpu},
	{"sl_net", dec_net},	       {"sl_attach", dec_attach},     {"sl_stats", dec_stats},
};

static decode_fn decoder(const char *name)
{
	for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++)
		if (strcmp(decoders[i].name, name) == 0)
			return decoders[i].fn;
	return NULL;
}

static json_t *map_info_json(const char *name, const struct bpf_map_info *info)
{
	const char *type = libbpf_bpf_map_type_str(info->type);
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", ctl.pin_root, name);
	return json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:b}", "id", info->id, "name",
			 name, "type", type ? type : "unknown", "key_size", info->key_size,
			 "value_size", info->value_size, "max_entries", info->max_entries, "flags",
			 info->map_flags, "pinned", path, "dumpable", decoder(name) != NULL);
}

/* Opens the pinned map `name`; fail()'s status when there is none. */
static int open_map(const char *name, struct bpf_map_info *info, int *ret_fd)
{
	char path[512];
	uint32_t len = sizeof(*info);
	int fd;

	if (strchr(name, '/') || strncmp(name, "sl_", 3) != 0 || strlen(name) > 64)
		return fail("no pinned map named '%s' (sandlot's maps are named sl_*)", name);
	snprintf(path, sizeof(path), "%s/%s", ctl.pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail("no pinned map named '%s' under %s: %s", name, ctl.pin_root,
			    strerror(errno));
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len) < 0) {
		close(fd);
		return fail("%s is not a map: %s", path, strerror(errno));
	}
	*ret_fd = fd;
	return 0;
}

static void print_maps(json_t *arr)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o)
		printf("%lld: %s  name %s\n\tkey %lldB  value %lldB  max_entries %lld  pinned %s\n",
		       (long long)json_integer_value(json_object_get(o, "id")),
		       json_string_value(json_object_get(o, "type")),
		       json_string_value(json_object_get(o, "name")),
		       (long long)json_integer_value(json_object_get(o, "key_size")),
		       (long long)json_integer_value(json_object_get(o, "value_size")),
		       (long long)json_integer_value(json_object_get(o, "max_entries")),
		       json_string_value(json_object_get(o, "pinned")));
}

static int name_arg(int argc, char **argv, const char **name)
{
	static const char *const keys[] = {"name"};
	const char **vals[] = {name};

	*name = NULL;
	return parse_filters(argc, argv, keys, vals, 1);
}

static int do_show(int argc, char **argv)
{
	struct pin_state ps;
	struct bpf_map_info info;
	const char *name;
	struct dirent *e;
	json_t *arr;
	DIR *d;
	int fd, r = name_arg(argc, argv, &name);

	if (r || (r = pin_open(&ps)))
		return r;
	pin_close(&ps);
	arr = json_array();
	if (name) {
		r = open_map(name, &info, &fd);
		if (r) {
			json_decref(arr);
			return r;
		}
		close(fd);
		json_array_append_new(arr, map_info_json(name, &info));
		return emit(arr, print_maps);
	}
	d = opendir(ctl.pin_root);
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "sl_", 3) == 0 && !strstr(e->d_name, ".tmp") &&
		    open_map(e->d_name, &info, &fd) == 0) {
			close(fd);
			json_array_append_new(arr, map_info_json(e->d_name, &info));
		}
	if (d)
		closedir(d);
	return emit(arr, print_maps);
}

static void print_entries(json_t *arr)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s)
			puts(s);
		free(s);
	}
	printf("Found %zu entries\n", json_array_size(arr));
}

static int dump_entries(int fd, const char *name, const struct mapctx *m, json_t *arr)
{
	decode_fn fn = decoder(name);
	void *key = calloc(1, m->info.key_size), *next = calloc(1, m->info.key_size);
	void *val = calloc(m->ncpu, m->vstride);
	bool first = true;
	int r = 0, n = 0;

	while (key && next && val && n++ < DUMP_MAX_ENTRIES) {
		json_t *o;

		if (bpf_map_get_next_key(fd, first ? NULL : key, next) < 0) {
			r = errno == ENOENT ? 0 : -errno;
			break;
		}
		first = false;
		memcpy(key, next, m->info.key_size);
		if (bpf_map_lookup_elem(fd, key, val) < 0)
			continue; /* gone meanwhile */
		o = fn(m, key, val);
		if (o)
			json_array_append_new(arr, o);
	}
	if (!key || !next || !val)
		r = -ENOMEM;
	free(key);
	free(next);
	free(val);
	return r;
}

static int do_dump(int argc, char **argv)
{
	struct pin_state ps;
	struct mapctx m = {0};
	const char *name;
	json_t *arr;
	int fd, r = name_arg(argc, argv, &name);

	if (r)
		return r;
	if (!name)
		return fail("which map? (name NAME; sandlotctl map show lists them)");
	if ((r = pin_open(&ps)))
		return r;
	m.now_j = ps.now_jiffies, m.now_ns = ps.now_ns, m.hz = ps.hz;
	pin_close(&ps);
	if ((r = open_map(name, &m.info, &fd)))
		return r;
	if (!decoder(name)) {
		close(fd);
		return fail("map %s cannot be dumped from user space (%s)", name,
			    libbpf_bpf_map_type_str(m.info.type));
	}
	m.ncpu = percpu(m.info.type) ? (unsigned)libbpf_num_possible_cpus() : 1;
	m.vstride = percpu(m.info.type) ? (m.info.value_size + 7) / 8 * 8 : m.info.value_size;
	arr = json_array();
	r = dump_entries(fd, name, &m, arr);
	close(fd);
	if (r < 0) {
		json_decref(arr);
		return fail("cannot dump %s: %s", name, strerror(-r));
	}
	return emit(arr, print_entries);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl map help"), NULL);
	fprintf(stderr,
		"Usage: sandlotctl map { show | list } [name NAME]\n"
		"       sandlotctl map dump name NAME\n"
		"       sandlotctl map help\n"
		"\n"
		"NAME is a map pinned under the pin root (sl_sandboxes, sl_counters, ...).\n");
	return 0;
}

static const struct cmd cmds[] = {
	{"show", do_show, NULL}, {"list", do_show, NULL}, {"dump", do_dump, NULL},
	{"help", do_help, NULL}, {NULL, NULL, NULL},
};

int do_map(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "map command");
}

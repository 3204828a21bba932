#include "bpf-loader.h"
#include "probe.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sandlot.skel.h"

#define BTF_PATH	    "/sys/kernel/btf/vmlinux"
#define FILEID_KERNFS	    0xfe
#define SCHED_LINK_PIN	    "link_sched_switch"
#define CGROUP_LINKS_DIR    "cg"
#define SL_BPF_PIN_ROOT_MAX 256 /* longer pin roots are refused */

struct sl_bpf {
	struct sandlot_bpf *skel;
	struct bpf_link *sched_link;
	struct ring_buffer *rb;
	sl_bpf_event_fn on_event;
	void *userdata;
	int cg_fd; /* cgroup_parent: bounds attachments, and the mount for open_by_handle_at */
	unsigned nr_cpus;
	char pin_root[SL_BPF_PIN_ROOT_MAX];
	char cg_parent[PATH_MAX];
};

/* The cgroup programs attached to every sandbox, by skeleton program name. */
static const char *const cgroup_progs[] = {
	"sl_skb_ingress", "sl_skb_egress", "sl_connect4",
	"sl_connect6",	  "sl_sendmsg4",   "sl_sendmsg6",
};
static const char *const optional_progs[] = {"sl_connect6", "sl_sendmsg4", "sl_sendmsg6"};

static const uint16_t default_deny_ports[] = {7400, 7401, 7480, 7481};

int sl_cgroup_path_id(const char *path, uint64_t *ret)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	int mnt;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) < 0)
		return sl_negerrno();
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EOPNOTSUPP;
	memcpy(ret, h.fh.f_handle, sizeof(*ret));
	return 0;
}

/* 1 when the cgroup with this id still exists, 0 when it is gone, -errno. */
static int cgroup_exists(int mount_fd, uint64_t cgid)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS};
	int fd;

	memcpy(h.fh.f_handle, &cgid, sizeof(cgid));
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ESTALE || errno == ENOENT ? 0 : sl_negerrno();
}

static int rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0
				       : (errno == ENOTDIR ? (unlink(path) < 0 ? sl_negerrno() : 0)
							   : sl_negerrno());
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			r = rm_tree(sub);
		else if (unlink(sub) < 0)
			r = sl_negerrno();
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && rmdir(path) < 0 && errno != ENOENT)
		r = sl_negerrno();
	return r;
}

int sl_bpf_destroy_pins(const char *pin_root)
{
	return rm_tree(pin_root ? pin_root : SL_BPF_PIN_ROOT);
}

int sl_bpf_pinned_abi(const char *pin_root, uint32_t *ret)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), key = 0;
	uint8_t val[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/sl_meta", pin_root);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT)
			return sl_negerrno();
		*ret = 0;
		return 0;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return sl_negerrno();
	if (info.value_size < sizeof(uint32_t) || info.value_size > sizeof(val))
		return -EPROTO;
	if (bpf_map_lookup_elem(fd, &key, val) < 0)
		return sl_negerrno();
	memcpy(ret, val, sizeof(*ret));
	return 0;
}

static int pin_dir_ensure(const char *pin_root, bool mount_bpffs)
{
	struct statfs st;
	int r = sl_bpffs_ensure("/sys/fs/bpf", mount_bpffs);

	if (r < 0)
		return r;
	if (mkdir(pin_root, 0700) < 0 && errno != EEXIST)
		return sl_negerrno();
	if (statfs(pin_root, &st) < 0)
		return sl_negerrno();
	return st.f_type == BPF_FS_MAGIC ? 0 : -ENOTDIR;
}

/* Finds out whether pinned state exists and is ours; drops it when asked to. */
static int check_schema(const struct sl_bpf_opts *opts, const char *root, struct sl_bpf_info *info)
{
	int r = sl_bpf_pinned_abi(root, &info->found_abi);

	if (r < 0)
		return r;
	if (info->found_abi == 0 || info->found_abi == SL_BPF_ABI_VERSION) {
		info->adopted = info->found_abi != 0;
		return 0;
	}
	if (!opts->reset_on_schema_change)
		return -EPROTO;
	r = sl_bpf_destroy_pins(root);
	if (r < 0)
		return r;
	info->reset = true;
	return 0;
}

static int load_skel(struct sl_bpf *b, bool optional, struct sandlot_bpf **ret)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = b->pin_root);
	struct sandlot_bpf *skel = sandlot_bpf__open_opts(&oo);
	int r;

	if (!skel)
		return sl_negerrno();
	skel->rodata->nr_cpus = b->nr_cpus;
	for (size_t i = 0; i < ARRAY_SIZE(optional_progs); i++)
		bpf_program__set_autoload(
			bpf_object__find_program_by_name(skel->obj, optional_progs[i]), optional);
	r = sandlot_bpf__load(skel);
	if (r < 0) {
		sandlot_bpf__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

static int write_meta_and_config(struct sl_bpf *b, const struct sl_bpf_opts *opts, bool fresh)
{
	struct sl_bpf_config cfg = {0};
	const uint16_t *ports = opts->deny_ports ? opts->deny_ports : default_deny_ports;
	size_t n = opts->deny_ports ? opts->n_deny_ports : ARRAY_SIZE(default_deny_ports);
	uint32_t key = 0;

	if (n > SL_BPF_MAX_DENY_PORTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		cfg.deny_ports[i] = ports[i];
	if (bpf_map__update_elem(b->skel->maps.sl_config, &key, sizeof(key), &cfg, sizeof(cfg),
				 BPF_ANY) < 0)
		return sl_negerrno();
	if (fresh) {
		struct sl_bpf_meta m = {.abi_version = SL_BPF_ABI_VERSION,
					.created_ns = sl_now_ns()};

		if (bpf_map__update_elem(b->skel->maps.sl_meta, &key, sizeof(key), &m, sizeof(m),
					 BPF_ANY) < 0)
			return sl_negerrno();
	}
	return 0;
}

/* The global sched_switch link: re-adopted from its pin, or attached and pinned. */
static int attach_sched(struct sl_bpf *b)
{
	char path[PATH_MAX];
	struct bpf_link *l;
	int r;

	snprintf(path, sizeof(path), "%s/%s", b->pin_root, SCHED_LINK_PIN);
	l = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
	if (l) {
		b->sched_link = l;
		return 0;
	}
	l = bpf_program__attach(b->skel->progs.sl_sched_switch);
	if (!l)
		return sl_negerrno();
	r = bpf_link__pin(l, path);
	if (r < 0) {
		bpf_link__destroy(l);
		return r;
	}
	b->sched_link = l;
	return 0;
}

static int rb_event(void *ctx, void *data, size_t size)
{
	struct sl_bpf *b = ctx;

	if (size < sizeof(struct sl_bpf_event) || !b->on_event)
		return 0;
	return b->on_event(data, b->userdata);
}

static int open_cgroup_parent(struct sl_bpf *b, const char *path)
{
	struct statfs st;

	if (!path || !realpath(path, b->cg_parent))
		return path ? sl_negerrno() : -EINVAL;
	b->cg_fd = open(b->cg_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->cg_fd < 0)
		return sl_negerrno();
	if (fstatfs(b->cg_fd, &st) < 0)
		return sl_negerrno();
	return st.f_type == CGROUP2_SUPER_MAGIC ? 0 : -ENOTDIR;
}

static int bpf_open(struct sl_bpf *b, const struct sl_bpf_opts *opts, struct sl_bpf_info *info)
{
	int r;

	r = open_cgroup_parent(b, opts->cgroup_parent);
	if (r < 0)
		return r;
	if (access(BTF_PATH, R_OK) < 0)
		return -ENOPKG;
	r = pin_dir_ensure(b->pin_root, opts->mount_bpffs);
	if (r < 0)
		return r;
	r = check_schema(opts, b->pin_root, info);
	if (r < 0)
		return r;
	r = pin_dir_ensure(b->pin_root, false);
	if (r < 0)
		return r;
	info->connect6 = info->sendmsg = true;
	if (load_skel(b, true, &b->skel) < 0) {
		info->connect6 = info->sendmsg = false;
		r = load_skel(b, false, &b->skel);
		if (r < 0)
			return r;
	}
	r = write_meta_and_config(b, opts, !info->adopted);
	if (r < 0)
		return r;
	r = attach_sched(b);
	if (r < 0)
		return r;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.sl_events), rb_event, b, NULL);
	if (!b->rb)
		return sl_negerrno();
	r = sl_bpf_prune(b);
	if (r < 0)
		return r;
	info->pruned = (unsigned)r;
	return 0;
}

int sl_bpf_open(const struct sl_bpf_opts *opts, struct sl_bpf **ret, struct sl_bpf_info *ret_info)
{
	struct sl_bpf_info info = {0};
	struct sl_bpf *b;
	int r, n = libbpf_num_possible_cpus();

	if (!opts || n <= 0)
		return n <= 0 ? n : -EINVAL;
	if (opts->deny_ports && opts->n_deny_ports > SL_BPF_MAX_DENY_PORTS)
		return -E2BIG;
	if (opts->pin_root && strlen(opts->pin_root) >= SL_BPF_PIN_ROOT_MAX)
		return -ENAMETOOLONG;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cg_fd = -1;
	b->nr_cpus = (unsigned)n;
	b->on_event = opts->on_event;
	b->userdata = opts->userdata;
	info.nr_cpus = b->nr_cpus;
	snprintf(b->pin_root, sizeof(b->pin_root), "%s",
		 opts->pin_root ? opts->pin_root : SL_BPF_PIN_ROOT);
	r = bpf_open(b, opts, &info);
	if (ret_info)
		*ret_info = info;
	if (r < 0) {
		sl_bpf_free(&b);
		return r;
	}
	*ret = b;
	return 0;
}

void sl_bpf_free(struct sl_bpf **pb)
{
	struct sl_bpf *b = pb ? *pb : NULL;

	if (!b)
		return;
	ring_buffer__free(b->rb);
	bpf_link__destroy(b->sched_link); /* pinned: stays attached */
	sandlot_bpf__destroy(b->skel);
	sl_closep(&b->cg_fd);
	free(b);
	*pb = NULL;
}

/* ---- sandboxes --------------------------------------------------------------------------- */

static void links_dir(const struct sl_bpf *b, uint64_t cgid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%llu", b->pin_root, CGROUP_LINKS_DIR, (unsigned long long)cgid);
}

/* Detaches and unpins every cgroup link of cgid. */
static int unpin_links(struct sl_bpf *b, uint64_t cgid)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	links_dir(b, cgid, dir, sizeof(dir));
	for (size_t i = 0; i < ARRAY_SIZE(cgroup_progs); i++) {
		_cleanup_close_ int fd = -1;

		snprintf(path, sizeof(path), "%s/%s", dir, cgroup_progs[i]);
		fd = bpf_obj_get(path);
		if (fd >= 0)
			bpf_link_detach(fd); /* also when someone else still holds the link */
	}
	return rm_tree(dir);
}

/* Attaches (or re-points, when pinned already) one cgroup program to the sandbox's cgroup. */
static int attach_one(struct sl_bpf *b, struct bpf_program *p, int cg_fd, const char *dir)
{
	char path[PATH_MAX + 32];
	struct bpf_link *l;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(p));
	l = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
	if (l) {
		r = bpf_link__update_program(l, p);
		bpf_link__destroy(l);
		return r;
	}
	l = bpf_program__attach_cgroup(p, cg_fd);
	if (!l)
		return sl_negerrno();
	r = bpf_link__pin(l, path);
	if (r < 0)
		bpf_link__detach(l);
	bpf_link__destroy(l);
	return r;
}

static int attach_cgroup(struct sl_bpf *b, uint64_t cgid, int cg_fd)
{
	char dir[PATH_MAX], top[PATH_MAX];
	int r;

	snprintf(top, sizeof(top), "%s/%s", b->pin_root, CGROUP_LINKS_DIR);
	links_dir(b, cgid, dir, sizeof(dir));
	if ((mkdir(top, 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(cgroup_progs); i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(b->skel->obj, cgroup_progs[i]);

		if (!p || !bpf_program__autoload(p))
			continue;
		r = attach_one(b, p, cg_fd, dir);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Opens path if it is a directory strictly below cgroup_parent. */
static int open_sandbox_cgroup(struct sl_bpf *b, const char *path)
{
	char real[PATH_MAX];
	size_t n = strlen(b->cg_parent);

	if (!path || !realpath(path, real))
		return path ? sl_negerrno() : -EINVAL;
	if (strncmp(real, b->cg_parent, n) != 0 || real[n] != '/' || !real[n + 1])
		return -EPERM;
	return open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int init_counters(struct sl_bpf *b, uint64_t cgid)
{
	size_t sz = sizeof(struct sl_bpf_counters) * b->nr_cpus;
	_cleanup_free_ void *zero = calloc(1, sz);

	if (!zero)
		return -ENOMEM;
	if (bpf_map__update_elem(b->skel->maps.sl_counters, &cgid, sizeof(cgid), zero, sz,
				 BPF_NOEXIST) < 0 &&
	    errno != EEXIST)
		return sl_negerrno();
	return 0;
}

static int register_sandbox(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	_cleanup_free_ struct sl_bpf_sandbox *s = calloc(1, sizeof(*s));
	struct sl_bpf_init_args args = {.cgid = cgid};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args, .ctx_size_in = sizeof(args));
	int r;

	if (!s)
		return -ENOMEM;
	s->cgid = cgid;
	s->idle_ns = spec->idle_ns ? spec->idle_ns : SL_BPF_DEFAULT_IDLE_NS;
	s->state = SL_BPF_IDLE;
	if (spec->policy) {
		s->flags |= SL_BPF_SBX_POLICY;
		s->n_rules = (uint32_t)MIN(spec->policy->n_rules, (size_t)SL_BPF_MAX_RULES);
		for (uint32_t i = 0; i < s->n_rules; i++)
			sl_netrule_to_bpf(&spec->policy->rules[i], &s->rules[i]);
	}
	r = init_counters(b, cgid);
	if (r < 0)
		return r;
	if (bpf_map__update_elem(b->skel->maps.sl_sandboxes, &cgid, sizeof(cgid), s, sizeof(*s),
				 BPF_ANY) < 0)
		return errno == E2BIG ? -ENOSPC : sl_negerrno();
	if (bpf_prog_test_run_opts(bpf_program__fd(b->skel->progs.sl_sandbox_init), &run) < 0)
		return sl_negerrno();
	return (int)run.retval < 0 ? (int)run.retval : 0;
}

static int add_addrs(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	struct sl_bpf_addr_owner o = {.cgid = cgid, .kind = SL_BPF_ADDR_SANDBOX};

	for (size_t i = 0; i < spec->n_addrs; i++)
		if (bpf_map__update_elem(b->skel->maps.sl_addrs, &spec->addrs[i],
					 sizeof(spec->addrs[i]), &o, sizeof(o), BPF_ANY) < 0)
			return errno == E2BIG ? -ENOSPC : sl_negerrno();
	return 0;
}

int sl_bpf_sandbox_add(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t *ret_cgid)
{
	_cleanup_close_ int fd = -1;
	uint64_t cgid;
	int r;

	if (!spec || (spec->policy && spec->policy->n_rules > SL_BPF_MAX_RULES))
		return -EINVAL;
	fd = open_sandbox_cgroup(b, spec->cgroup_path);
	if (fd < 0)
		return fd;
	r = sl_cgroup_path_id(spec->cgroup_path, &cgid);
	if (r < 0)
		return r;
	r = register_sandbox(b, spec, cgid);
	if (r >= 0)
		r = add_addrs(b, spec, cgid);
	if (r >= 0)
		r = attach_cgroup(b, cgid, fd);
	if (r < 0) {
		sl_bpf_sandbox_remove(b, cgid);
		return r;
	}
	if (ret_cgid)
		*ret_cgid = cgid;
	return 0;
}

/* Deletes every sl_addrs entry owned by cgid. */
static void remove_addrs(struct sl_bpf *b, uint64_t cgid)
{
	int fd = bpf_map__fd(b->skel->maps.sl_addrs);
	struct sl_bpf_addr key, next, *prev = NULL;
	struct sl_bpf_addr_owner o;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (prev && bpf_map_lookup_elem(fd, prev, &o) == 0 && o.cgid == cgid &&
		    o.kind == SL_BPF_ADDR_SANDBOX) {
			bpf_map_delete_elem(fd, prev);
			prev = NULL; /* restart: the iteration order changed */
			continue;
		}
		key = next;
		prev = &key;
	}
	if (prev && bpf_map_lookup_elem(fd, prev, &o) == 0 && o.cgid == cgid &&
	    o.kind == SL_BPF_ADDR_SANDBOX)
		bpf_map_delete_elem(fd, prev);
}

int sl_bpf_sandbox_remove(struct sl_bpf *b, uint64_t cgid)
{
	int r = 0;

	unpin_links(b, cgid);
	if (bpf_map__delete_elem(b->skel->maps.sl_sandboxes, &cgid, sizeof(cgid), 0) < 0)
		r = sl_negerrno();
	bpf_map__delete_elem(b->skel->maps.sl_counters, &cgid, sizeof(cgid), 0);
	bpf_map__delete_elem(b->skel->maps.sl_inflight, &cgid, sizeof(cgid), 0);
	remove_addrs(b, cgid);
	return r;
}

int sl_bpf_sandbox_counters(struct sl_bpf *b, uint64_t cgid, struct sl_bpf_counters *ret)
{
	size_t sz = sizeof(struct sl_bpf_counters) * b->nr_cpus;
	_cleanup_free_ struct sl_bpf_counters *v = malloc(sz);
	struct sl_bpf_counters t = {0};

	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(b->skel->maps.sl_counters, &cgid, sizeof(cgid), v, sz, 0) < 0)
		return sl_negerrno();
	for (unsigned i = 0; i < b->nr_cpus; i++) {
		t.cpu_ns += v[i].cpu_ns;
		t.switches += v[i].switches;
		t.last_cpu_ns = MAX(t.last_cpu_ns, v[i].last_cpu_ns);
		t.last_net_ns = MAX(t.last_net_ns, v[i].last_net_ns);
		t.rx_bytes += v[i].rx_bytes;
		t.rx_packets += v[i].rx_packets;
		t.tx_bytes += v[i].tx_bytes;
		t.tx_packets += v[i].tx_packets;
		t.dropped_packets += v[i].dropped_packets;
		t.denied_connects += v[i].denied_connects;
	}
	*ret = t;
	return 0;
}

int sl_bpf_sandbox_state(struct sl_bpf *b, uint64_t cgid)
{
	_cleanup_free_ struct sl_bpf_sandbox *s = malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (bpf_map__lookup_elem(b->skel->maps.sl_sandboxes, &cgid, sizeof(cgid), s, sizeof(*s),
				 0) < 0)
		return sl_negerrno();
	return (int)s->state;
}

int sl_bpf_sandbox_set_inflight(struct sl_bpf *b, uint64_t cgid, uint32_t n)
{
	if (bpf_map__update_elem(b->skel->maps.sl_inflight, &cgid, sizeof(cgid), &n, sizeof(n),
				 BPF_ANY) < 0)
		return sl_negerrno();
	return 0;
}

int sl_bpf_host_addr_add(struct sl_bpf *b, const struct sl_bpf_addr *a)
{
	struct sl_bpf_addr_owner o = {.kind = SL_BPF_ADDR_HOST};

	if (bpf_map__update_elem(b->skel->maps.sl_addrs, a, sizeof(*a), &o, sizeof(o), BPF_ANY) < 0)
		return sl_negerrno();
	return 0;
}

static bool registered(struct sl_bpf *b, uint64_t cgid)
{
	struct sl_bpf_sandbox s;

	return bpf_map__lookup_elem(b->skel->maps.sl_sandboxes, &cgid, sizeof(cgid), &s, sizeof(s),
				    0) == 0;
}

/* Removes cgroup link directories of cgroup ids that are not registered. */
static void prune_link_dirs(struct sl_bpf *b)
{
	char top[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(top, sizeof(top), "%s/%s", b->pin_root, CGROUP_LINKS_DIR);
	d = opendir(top);
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t cgid = strtoull(e->d_name, NULL, 10);

		if (cgid && !registered(b, cgid))
			unpin_links(b, cgid);
	}
	closedir(d);
}

int sl_bpf_prune(struct sl_bpf *b)
{
	int fd = bpf_map__fd(b->skel->maps.sl_sandboxes), n = 0, r;
	_cleanup_free_ uint64_t *ids = calloc(SL_BPF_MAX_SANDBOXES, sizeof(uint64_t));
	uint64_t key, *prev = NULL;
	size_t count = 0;

	if (!ids)
		return -ENOMEM;
	while (count < SL_BPF_MAX_SANDBOXES && bpf_map_get_next_key(fd, prev, &key) == 0) {
		ids[count++] = key;
		prev = &ids[count - 1];
	}
	for (size_t i = 0; i < count; i++) {
		r = cgroup_exists(b->cg_fd, ids[i]);
		if (r < 0)
			return r;
		if (r == 0) {
			sl_bpf_sandbox_remove(b, ids[i]);
			n++;
		}
	}
	prune_link_dirs(b);
	return n;
}

/* ---- events and statistics --------------------------------------------------------------- */

int sl_bpf_events_fd(struct sl_bpf *b)
{
	return ring_buffer__epoll_fd(b->rb);
}

int sl_bpf_events_consume(struct sl_bpf *b)
{
	return ring_buffer__consume(b->rb);
}

int sl_bpf_events_poll(struct sl_bpf *b, int timeout_ms)
{
	return ring_buffer__poll(b->rb, timeout_ms);
}

int sl_bpf_prog_fd(struct sl_bpf *b, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(b->skel->obj, name);

	if (!p || bpf_program__fd(p) < 0)
		return -ENOENT;
	return bpf_program__fd(p);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF loader's per-sandbox half: slots, registration, cgroup links, counters, pruning.
 * Works through the map and program fds of struct sl_bpf only (bpf-internal.h).
 */
#include "bpfload/bpf-internal.h"
#include "sandbox/cgroup.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#define FILEID_KERNFS 0xfe

struct cg_handle {
	struct file_handle fh;
	uint64_t id;
};

/* Opens the cgroup with this id: the fd, -ENOENT when it is gone, -errno. */
static int open_cgroup_by_id(int mount_fd, uint64_t cgid)
{
	struct cg_handle h = {.fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS};
	int fd;

	memcpy(h.fh.f_handle, &cgid, sizeof(cgid));
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	return errno == ESTALE || errno == ENOENT ? -ENOENT : sl_negerrno();
}

static int slot_of(struct sl_bpf *b, uint64_t cgid, uint32_t *ret)
{
	struct sl_bpf_index idx;

	if (bpf_map_lookup_elem(b->fd_index, &cgid, &idx) < 0)
		return sl_negerrno();
	*ret = idx.slot;
	return 0;
}

/* The cgroup's existing slot, or the lowest free one. */
static int slot_pick(struct sl_bpf *b, uint64_t cgid, uint32_t *ret)
{
	_cleanup_free_ uint8_t *used = calloc(SL_BPF_MAX_SANDBOXES, 1);
	struct sl_bpf_index idx;
	uint64_t key, *prev = NULL;

	if (slot_of(b, cgid, ret) == 0)
		return 0;
	if (!used)
		return -ENOMEM;
	while (bpf_map_get_next_key(b->fd_index, prev, &key) == 0) {
		if (bpf_map_lookup_elem(b->fd_index, &key, &idx) == 0 &&
		    idx.slot < SL_BPF_MAX_SANDBOXES)
			used[idx.slot] = 1;
		prev = &key;
	}
	for (uint32_t i = 0; i < SL_BPF_MAX_SANDBOXES; i++)
		if (!used[i]) {
			*ret = i;
			return 0;
		}
	return -ENOSPC;
}

/*
 * bpf_map_update_elem, retried briefly on ENOMEM: local storage maps allocate from the BPF
 * memory allocator's per-CPU caches with GFP_ATOMIC, which can be empty for a moment.
 */
static int map_update(int fd, const void *key, const void *value, uint64_t flags)
{
	for (int i = 0;; i++) {
		if (bpf_map_update_elem(fd, key, value, flags) == 0)
			return 0;
		if (errno != ENOMEM || i == 20)
			return errno == E2BIG ? -ENOSPC : sl_negerrno();
		usleep(1000);
	}
}

/* ---- cgroup links ------------------------------------------------------------------------ */

static void links_dir(const struct sl_bpf *b, uint64_t cgid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%llu", b->pin_root, SL_BPF_LINKS_DIR, (unsigned long long)cgid);
}

/* Ephemeral mode: the links of cgid held by fd (created when create), or NULL. */
static struct sl_bpf_fdlinks *fdlinks_of(struct sl_bpf *b, uint64_t cgid, bool create)
{
	struct sl_bpf_fdlinks *n;

	for (size_t i = 0; i < b->n_fdlinks; i++)
		if (b->fdlinks[i].cgid == cgid)
			return &b->fdlinks[i];
	if (!create)
		return NULL;
	n = realloc(b->fdlinks, (b->n_fdlinks + 1) * sizeof(*n));
	if (!n)
		return NULL;
	b->fdlinks = n;
	n = &b->fdlinks[b->n_fdlinks++];
	n->cgid = cgid;
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		n->fd[i] = -1;
	return n;
}

static void close_fdlinks(struct sl_bpf *b, uint64_t cgid)
{
	struct sl_bpf_fdlinks *l = fdlinks_of(b, cgid, false);

	if (!l)
		return;
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++)
		sl_closep(&l->fd[i]); /* the last reference: the program detaches */
	*l = b->fdlinks[--b->n_fdlinks];
}

/* Ephemeral mode: attaches (or re-points) the programs with links held by fd only. */
static int attach_fdlinks(struct sl_bpf *b, uint64_t cgid, int cg_fd)
{
	struct sl_bpf_fdlinks *l = fdlinks_of(b, cgid, true);

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		const struct sl_bpf_cgprog *p = &b->cgprogs[i];

		if (p->fd < 0)
			continue;
		if (l->fd[i] >= 0) {
			if (bpf_link_update(l->fd[i], p->fd, NULL) < 0)
				return sl_negerrno();
			continue;
		}
		l->fd[i] =
			bpf_link_create(p->fd, cg_fd, (enum bpf_attach_type)p->attach_type, NULL);
		if (l->fd[i] < 0)
			return sl_negerrno();
	}
	return 0;
}

/* Detaches and unpins every cgroup link of cgid. */
static int unpin_links(struct sl_bpf *b, uint64_t cgid)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	if (b->ephemeral) {
		close_fdlinks(b, cgid);
		return 0;
	}

	links_dir(b, cgid, dir, sizeof(dir));
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		_cleanup_close_ int fd = -1;

		snprintf(path, sizeof(path), "%s/%s", dir, b->cgprogs[i].name);
		fd = bpf_obj_get(path);
		if (fd >= 0)
			bpf_link_detach(fd); /* also when someone else still holds the link */
	}
	return sl_bpf_rm_tree(dir);
}

/*
 * Attaches one program to the cgroup, or re-points the pinned link of an earlier run to it
 * (looked for only when dir is not fresh: a directory just made holds no links).
 */
static int attach_one(const struct sl_bpf_cgprog *p, int cg_fd, const char *dir, bool fresh)
{
	char path[PATH_MAX + 32];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, p->name);
	fd = fresh ? -1 : bpf_obj_get(path);
	if (fd >= 0)
		return bpf_link_update(fd, p->fd, NULL) < 0 ? sl_negerrno() : 0;
	fd = bpf_link_create(p->fd, cg_fd, (enum bpf_attach_type)p->attach_type, NULL);
	if (fd < 0)
		return sl_negerrno();
	if (bpf_obj_pin(fd, path) < 0) {
		int r = sl_negerrno();

		bpf_link_detach(fd);
		return r;
	}
	return 0;
}

/*
 * Tells the cgroup_skb programs (sl_net, per CPU) which slot they serve. Written only when it
 * changes: the same values hold the packet counters, which a rewrite could race with.
 */
static int set_net_slot(struct sl_bpf *b, uint64_t cgid, uint32_t slot, uint32_t flags)
{
	_cleanup_free_ struct sl_bpf_net *v = calloc(b->nr_cpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(b->fd_net, &cgid, v) < 0)
		return sl_negerrno();
	if (v[0].slot1 == slot + 1 && v[0].flags == flags)
		return 0;
	for (unsigned i = 0; i < b->nr_cpus; i++) {
		v[i].slot1 = slot + 1;
		v[i].flags = flags;
	}
	return map_update(b->fd_net, &cgid, v, BPF_EXIST);
}

/* Tells the attached programs (attach storage) which slot they serve. */
static int set_attach_slot(struct sl_bpf *b, uint64_t cgid, uint32_t slot, uint32_t flags)
{
	struct sl_bpf_attach at = {.slot1 = slot + 1};
	int r = map_update(b->fd_attach, &cgid, &at, BPF_ANY);

	return r < 0 ? r : set_net_slot(b, cgid, slot, flags);
}

/*
 * Makes cgid's link directory (and the links directory above it when missing), telling whether
 * it is new. Returns 0 or -errno.
 */
static int make_links_dir(struct sl_bpf *b, const char *dir, bool *ret_fresh)
{
	char top[PATH_MAX];
	bool fresh = mkdir(dir, 0700) == 0;

	if (!fresh && errno == ENOENT) { /* the links directory went (or never was) */
		snprintf(top, sizeof(top), "%s/%s", b->pin_root, SL_BPF_LINKS_DIR);
		if (mkdir(top, 0700) < 0 && errno != EEXIST)
			return sl_negerrno();
		fresh = mkdir(dir, 0700) == 0;
	}
	if (!fresh && errno != EEXIST)
		return sl_negerrno();
	*ret_fresh = fresh;
	return 0;
}

/* Attaches every cgroup program, then tells them which slot they serve (and flags, SL_BPF_NET_*).
 */
static int attach_cgroup(struct sl_bpf *b, uint64_t cgid, uint32_t slot, uint32_t flags, int cg_fd)
{
	char dir[PATH_MAX];
	bool fresh;
	int r;

	if (b->ephemeral) {
		r = attach_fdlinks(b, cgid, cg_fd);
		return r < 0 ? r : set_attach_slot(b, cgid, slot, flags);
	}
	links_dir(b, cgid, dir, sizeof(dir));
	r = make_links_dir(b, dir, &fresh);
	if (r < 0)
		return r;
	for (size_t i = 0; i < SL_BPF_N_CGPROGS; i++) {
		if (b->cgprogs[i].fd < 0)
			continue;
		r = attach_one(&b->cgprogs[i], cg_fd, dir, fresh);
		if (r < 0)
			return r;
	}
	return set_attach_slot(b, cgid, slot, flags);
}

/* ---- registration ------------------------------------------------------------------------ */

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

/* Zeroes a slot's counters unless the cgroup already had this slot (re-registration). */
static int reset_counters(struct sl_bpf *b, uint32_t slot)
{
	size_t sz = sizeof(struct sl_bpf_counters) * b->nr_cpus;
	_cleanup_free_ void *zero = calloc(1, sz);
	uint32_t off = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(b->fd_counters, &slot, zero, BPF_ANY) < 0 ||
	    bpf_map_update_elem(b->fd_inflight, &slot, &off, BPF_ANY) < 0)
		return sl_negerrno();
	return 0;
}

static void fill_sandbox(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid,
			 uint32_t slot, struct sl_bpf_sandbox *s)
{
	uint64_t tick = 1000000000ULL / b->hz;

	memset(s, 0, sizeof(*s));
	s->cgid = cgid;
	s->slot = slot;
	s->idle_ns = spec->idle_ns ? spec->idle_ns : SL_BPF_DEFAULT_IDLE_NS;
	s->ns_per_jiffy = tick;
	s->idle_jiffies = (s->idle_ns + tick - 1) / tick;
	s->state = SL_BPF_IDLE;
	s->pool_net = spec->pool_net & spec->pool_mask;
	s->pool_mask = spec->pool_mask;
	if (spec->policy) {
		s->flags |= SL_BPF_SBX_POLICY;
		s->n_rules = (uint32_t)MIN(spec->policy->n_rules, (size_t)SL_BPF_MAX_RULES);
		for (uint32_t i = 0; i < s->n_rules; i++)
			sl_netrule_to_bpf(&spec->policy->rules[i], &s->rules[i]);
	}
}

/*
 * Runs the program that arms the sandbox's idle timer. bpf_timer_init() allocates without
 * reclaim and without blocking (__GFP_HIGH, or kmalloc_nolock() on newer kernels); on this
 * kernel that fails now and then with -ENOMEM for a while on one CPU while the other has room.
 * So: retry for up to ~0.2 s, moving the calling thread from CPU to CPU, and put its CPU
 * affinity back afterwards.
 */
static int init_timer(struct sl_bpf *b, struct bpf_test_run_opts *run)
{
	cpu_set_t saved, one;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool moved = false;
	int r = 0;

	for (int i = 0;; i++) {
		if (bpf_prog_test_run_opts(b->fd_init, run) < 0) {
			r = sl_negerrno();
			break;
		}
		r = (int)run->retval < 0 ? (int)run->retval : 0;
		if (r != -ENOMEM || i == 100)
			break;
		if (!moved && sched_getaffinity(0, sizeof(saved), &saved) == 0)
			moved = true;
		if (moved && ncpu > 1) {
			CPU_ZERO(&one);
			CPU_SET(i % ncpu, &one);
			(void)sched_setaffinity(0, sizeof(one), &one);
		}
		usleep(2000);
	}
	if (moved)
		(void)sched_setaffinity(0, sizeof(saved), &saved);
	return r;
}

static uint32_t cgslot_bucket(uint64_t cgid)
{
	return (uint32_t)cgid & (SL_BPF_CGSLOT_BUCKETS - 1);
}

/* Puts cgid into its sl_cgslot bucket, or marks the bucket shared when another holds it. */
static int cgslot_add(struct sl_bpf *b, uint64_t cgid, uint32_t slot)
{
	uint32_t key = cgslot_bucket(cgid);
	struct sl_bpf_cgslot e = {0};

	if (bpf_map_lookup_elem(b->fd_cgslot, &key, &e) < 0)
		return sl_negerrno();
	if (e.cgid && e.cgid != cgid) {
		e.shared = 1;
	} else {
		e.cgid = cgid;
		e.slot1 = slot + 1;
	}
	return map_update(b->fd_cgslot, &key, &e, BPF_ANY);
}

/*
 * Takes cgid out of its bucket. A shared bucket is rebuilt from the other registered ids of
 * the bucket (sl_index); it is marked shared-and-empty first, so that sched_switch never pairs
 * one sandbox's id with another's slot while it is rewritten.
 */
static void cgslot_remove(struct sl_bpf *b, uint64_t cgid)
{
	uint32_t key = cgslot_bucket(cgid);
	struct sl_bpf_cgslot e = {0}, n = {0}, gap = {.shared = 1};
	struct sl_bpf_index idx;
	uint64_t id, *prev = NULL;

	if (bpf_map_lookup_elem(b->fd_cgslot, &key, &e) < 0)
		return;
	if (!e.shared) {
		if (e.cgid == cgid)
			bpf_map_update_elem(b->fd_cgslot, &key, &n, BPF_ANY);
		return;
	}
	bpf_map_update_elem(b->fd_cgslot, &key, &gap, BPF_ANY);
	for (; bpf_map_get_next_key(b->fd_index, prev, &id) == 0; prev = &id) {
		if (id == cgid || cgslot_bucket(id) != key ||
		    bpf_map_lookup_elem(b->fd_index, &id, &idx) < 0)
			continue;
		if (n.cgid) {
			n.shared = 1;
		} else {
			n.cgid = id;
			n.slot1 = idx.slot + 1;
		}
	}
	bpf_map_update_elem(b->fd_cgslot, &key, &n, BPF_ANY);
}

static int register_sandbox(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid,
			    int cg_fd)
{
	struct sl_bpf_sandbox s;
	struct sl_bpf_index idx = {0};
	struct sl_bpf_init_args args = {0};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args, .ctx_size_in = sizeof(args));
	uint32_t old;
	int r;

	r = slot_pick(b, cgid, &idx.slot);
	if (r < 0)
		return r;
	args.slot = idx.slot;
	if (slot_of(b, cgid, &old) < 0 && (r = reset_counters(b, idx.slot)) < 0)
		return r;
	fill_sandbox(b, spec, cgid, idx.slot, &s);
	/* the slot first, then the ways to find it */
	r = map_update(b->fd_sandboxes, &idx.slot, &s, BPF_ANY);
	if (r >= 0)
		r = map_update(b->fd_index, &cgid, &idx, BPF_ANY);
	if (r >= 0 && b->fd_cgrp >= 0)
		r = map_update(b->fd_cgrp, &cg_fd, &idx, BPF_ANY);
	if (r >= 0)
		r = cgslot_add(b, cgid, idx.slot);
	if (r < 0)
		return r;
	return init_timer(b, &run);
}

static uint32_t net_flags(const struct sl_bpf_sandbox_spec *spec)
{
	return spec->pool_mask ? SL_BPF_NET_LEASE : 0;
}

static int add_addrs(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	struct sl_bpf_addr_owner o = {.cgid = cgid, .kind = SL_BPF_ADDR_SANDBOX};
	struct sl_bpf_addr_owner h = {.cgid = cgid, .kind = SL_BPF_ADDR_HOST};
	int r = 0;

	for (size_t i = 0; i < spec->n_addrs && r >= 0; i++)
		r = map_update(b->fd_addrs, &spec->addrs[i], &o, BPF_ANY);
	for (size_t i = 0; i < spec->n_host_addrs && r >= 0; i++) {
		r = map_update(b->fd_addrs, &spec->host_addrs[i], &h, BPF_NOEXIST);
		r = r == -EEXIST ? 0 : r; /* the host's own, or another sandbox's gateway */
	}
	return r;
}

int sl_bpf_reconfigure(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	struct sl_bpf_sandbox s;
	struct sl_bpf_init_args args = {0};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args, .ctx_size_in = sizeof(args));
	int r = slot_of(b, cgid, &args.slot);

	if (r < 0)
		return r;
	fill_sandbox(b, spec, cgid, args.slot, &s);
	r = map_update(b->fd_sandboxes, &args.slot, &s, BPF_ANY); /* cancels the idle timer */
	if (r >= 0)
		r = init_timer(b, &run);
	if (r >= 0)
		r = set_net_slot(b, cgid, args.slot, net_flags(spec));
	return r < 0 ? r : add_addrs(b, spec, cgid);
}

int sl_bpf_sandbox_add_locked(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
			      uint64_t *ret_cgid)
{
	_cleanup_close_ int fd = -1;
	uint64_t cgid = spec ? spec->cgid : 0;
	uint32_t slot;
	int r, id = 0;

	if (!spec || (spec->policy && spec->policy->n_rules > SL_BPF_MAX_RULES))
		return -EINVAL;
	if (!cgid)
		id = spec->cgroup_path ? sl_cgroup_path_id(spec->cgroup_path, &cgid) : -EINVAL;
	fd = open_sandbox_cgroup(b, spec->cgroup_path);
	if (fd < 0)
		return fd;
	if (id < 0)
		return id;
	r = register_sandbox(b, spec, cgid, fd);
	if (r >= 0)
		r = add_addrs(b, spec, cgid);
	if (r >= 0)
		r = slot_of(b, cgid, &slot);
	if (r >= 0)
		r = attach_cgroup(b, cgid, slot, net_flags(spec), fd);
	if (r < 0) {
		sl_bpf_sandbox_remove_locked(b, cgid);
		return r;
	}
	if (ret_cgid)
		*ret_cgid = cgid;
	return 0;
}

/* Deletes every sl_addrs entry that goes with cgid's registration (its own, its gateway). */
static void remove_addrs(struct sl_bpf *b, uint64_t cgid)
{
	struct sl_bpf_addr key, *prev = NULL;
	struct sl_bpf_addr_owner o;
	bool again = cgid != 0;

	while (again) {
		again = false;
		prev = NULL;
		while (bpf_map_get_next_key(b->fd_addrs, prev, &key) == 0) {
			if (bpf_map_lookup_elem(b->fd_addrs, &key, &o) == 0 && o.cgid == cgid) {
				bpf_map_delete_elem(b->fd_addrs, &key);
				again = true; /* the iteration order changed: start over */
				break;
			}
			prev = &key;
		}
	}
}

int sl_bpf_sandbox_remove_locked(struct sl_bpf *b, uint64_t cgid)
{
	struct sl_bpf_sandbox free_slot;
	uint32_t slot;
	int r, cg;

	memset(&free_slot, 0, sizeof(free_slot));
	unpin_links(b, cgid); /* first: the programs stop counting into the slot */
	remove_addrs(b, cgid);
	r = slot_of(b, cgid, &slot);
	if (r < 0)
		return r;
	cgslot_remove(b, cgid);
	cg = b->fd_cgrp >= 0 ? open_cgroup_by_id(b->cg_fd, cgid) : -1;
	if (cg >= 0) {
		bpf_map_delete_elem(b->fd_cgrp, &cg);
		close(cg);
	}
	bpf_map_delete_elem(b->fd_index, &cgid);
	/* rewriting the slot cancels its idle timer */
	if (bpf_map_update_elem(b->fd_sandboxes, &slot, &free_slot, BPF_ANY) < 0)
		return sl_negerrno();
	return reset_counters(b, slot);
}

/* ---- reading ----------------------------------------------------------------------------- */

static uint64_t jiffies_to_ns(const struct sl_bpf *b, uint64_t j, uint64_t now_j, uint64_t now_ns)
{
	uint64_t ago;

	if (!j || j > now_j)
		return j ? now_ns : 0;
	ago = (now_j - j) * (1000000000ULL / b->hz);
	return ago < now_ns ? now_ns - ago : 0;
}

/* Adds the packet counters of cgid's sl_net (none while nothing is attached) into *t. */
static int net_counters(struct sl_bpf *b, uint64_t cgid, struct sl_bpf_stats *t, uint64_t *net_j)
{
	_cleanup_free_ struct sl_bpf_net *v = calloc(b->nr_cpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(b->fd_net, &cgid, v) < 0)
		return errno == ENOENT ? 0 : sl_negerrno();
	for (unsigned i = 0; i < b->nr_cpus; i++) {
		*net_j = MAX(*net_j, v[i].last_jiffies);
		t->rx_bytes += v[i].rx_bytes;
		t->rx_packets += v[i].rx_packets;
		t->tx_bytes += v[i].tx_bytes;
		t->tx_packets += v[i].tx_packets;
	}
	return 0;
}

int sl_bpf_sandbox_counters(struct sl_bpf *b, uint64_t cgid, struct sl_bpf_stats *ret)
{
	_cleanup_free_ struct sl_bpf_counters *v = calloc(b->nr_cpus, sizeof(*v));
	struct sl_bpf_stats t = {0};
	uint64_t cpu_j = 0, net_j = 0, now_j, now_ns;
	uint32_t slot;
	int r;

	if (!v)
		return -ENOMEM;
	r = slot_of(b, cgid, &slot);
	if (r < 0)
		return r;
	if (bpf_map_lookup_elem(b->fd_counters, &slot, v) < 0)
		return sl_negerrno();
	r = sl_bpf_clock(b, &now_j, &now_ns, NULL);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < b->nr_cpus; i++) {
		t.cpu_ns += v[i].cpu_ns;
		t.switches += v[i].switches;
		cpu_j = MAX(cpu_j, v[i].last_cpu_jiffies);
		net_j = MAX(net_j, v[i].last_net_jiffies);
		t.dropped_packets += v[i].dropped_packets;
		t.denied_connects += v[i].denied_connects;
	}
	r = net_counters(b, cgid, &t, &net_j);
	if (r < 0)
		return r;
	t.last_cpu_ns = jiffies_to_ns(b, cpu_j, now_j, now_ns);
	t.last_net_ns = jiffies_to_ns(b, net_j, now_j, now_ns);
	*ret = t;
	return 0;
}

int sl_bpf_sandbox_slot(struct sl_bpf *b, uint64_t cgid, uint32_t *ret_slot)
{
	return slot_of(b, cgid, ret_slot);
}

int sl_bpf_slot_state(struct sl_bpf *b, uint32_t slot)
{
	struct sl_bpf_sandbox s;

	if (bpf_map_lookup_elem(b->fd_sandboxes, &slot, &s) < 0)
		return sl_negerrno();
	return s.cgid ? (int)s.state : -ENOENT;
}

int sl_bpf_slot_set_inflight(struct sl_bpf *b, uint32_t slot, uint32_t n)
{
	if (bpf_map_update_elem(b->fd_inflight, &slot, &n, BPF_ANY) < 0)
		return sl_negerrno();
	return 0;
}

int sl_bpf_sandbox_state(struct sl_bpf *b, uint64_t cgid)
{
	uint32_t slot;
	int r = slot_of(b, cgid, &slot);

	return r < 0 ? r : sl_bpf_slot_state(b, slot);
}

int sl_bpf_sandbox_set_inflight(struct sl_bpf *b, uint64_t cgid, uint32_t n)
{
	uint32_t slot;
	int r = slot_of(b, cgid, &slot);

	return r < 0 ? r : sl_bpf_slot_set_inflight(b, slot, n);
}

/* ---- pruning ----------------------------------------------------------------------------- */

/* Removes cgroup link directories of cgroup ids that are not registered. */
static void prune_link_dirs(struct sl_bpf *b)
{
	char top[PATH_MAX];
	struct dirent *e;
	uint32_t slot;
	DIR *d;

	if (b->ephemeral)
		return;
	snprintf(top, sizeof(top), "%s/%s", b->pin_root, SL_BPF_LINKS_DIR);
	d = opendir(top);
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t cgid = strtoull(e->d_name, NULL, 10);

		if (cgid && slot_of(b, cgid, &slot) < 0)
			unpin_links(b, cgid);
	}
	closedir(d);
}

int sl_bpf_prune_locked(struct sl_bpf *b)
{
	_cleanup_free_ uint64_t *ids = calloc(SL_BPF_MAX_SANDBOXES, sizeof(uint64_t));
	uint64_t key, *prev = NULL;
	size_t count = 0;
	int n = 0, fd;

	if (!ids)
		return -ENOMEM;
	while (count < SL_BPF_MAX_SANDBOXES && bpf_map_get_next_key(b->fd_index, prev, &key) == 0) {
		ids[count++] = key;
		prev = &ids[count - 1];
	}
	for (size_t i = 0; i < count; i++) {
		fd = open_cgroup_by_id(b->cg_fd, ids[i]);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (fd != -ENOENT)
			return fd;
		sl_bpf_sandbox_remove_locked(b, ids[i]);
		n++;
	}
	prune_link_dirs(b);
	return n;
}

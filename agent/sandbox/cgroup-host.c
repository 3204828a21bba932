// SPDX-License-Identifier: Apache-2.0
#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

const char *sl_cgroup_layout_name(enum sl_cgroup_layout layout)
{
	switch (layout) {
	case SL_CGROUP_V2:
		return "v2";
	case SL_CGROUP_HYBRID:
		return "hybrid";
	case SL_CGROUP_V1:
		return "v1";
	default:
		return "none";
	}
}

/* True when word occurs in the list separated by sep. */
static bool list_has(const char *list, const char *word, char sep)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Copies a mountinfo field, decoding the octal escapes (\040 for space) the kernel writes. */
static int unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3') {
			out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
					  (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return 0;
}

/* Joins mount and the part of self below the mount's root into dir. */
static void join_dir(const char *mount, const char *root, const char *self, char *dir, size_t len)
{
	size_t rl = strlen(root);

	if (strcmp(root, "/") == 0)
		rl = 0;
	else if (strncmp(self, root, rl) != 0 || (self[rl] != '/' && self[rl] != '\0')) {
		dir[0] = '\0'; /* our cgroup is outside what this mount shows */
		return;
	}
	snprintf(dir, len, "%s%s", mount, strcmp(self + rl, "/") == 0 ? "" : self + rl);
}

struct mount_line {
	char root[SL_CGROUP_PATH_MAX], mount[SL_CGROUP_PATH_MAX], fstype[32], super[256];
};

/* Splits one mountinfo line; returns 0, or -EINVAL when the line is not well formed. */
static int parse_mount_line(const char *line, struct mount_line *m)
{
	const char *f[6], *p = line, *dash = strstr(line, " - ");
	size_t i;

	if (!dash)
		return -EINVAL;
	for (i = 0; i < 5 && p < dash; i++) { /* id parent maj:min root mountpoint */
		f[i] = p;
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (i < 5)
		return -EINVAL;
	if (unescape(f[3], (size_t)(strchr(f[3], ' ') - f[3]), m->root, sizeof(m->root)) < 0 ||
	    unescape(f[4], (size_t)(strchr(f[4], ' ') - f[4]), m->mount, sizeof(m->mount)) < 0)
		return -EINVAL;
	if (sscanf(dash + 3, "%31s %*s %255s", m->fstype, m->super) < 1)
		return -EINVAL;
	return 0;
}

/* Finds the path of hierarchy `key` ("" for v2, else a controller name) in /proc/self/cgroup. */
static int self_path(const char *proc_cgroup, const char *key, char *out, size_t len)
{
	for (const char *p = proc_cgroup; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[SL_CGROUP_PATH_MAX + 128], ctl[128];
		const char *c1, *c2;

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			c1 = strchr(line, ':');
			c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (c2 && (size_t)(c2 - c1 - 1) < sizeof(ctl)) {
				memcpy(ctl, c1 + 1, (size_t)(c2 - c1 - 1));
				ctl[c2 - c1 - 1] = '\0';
				bool match = *key ? list_has(ctl, key, ',')
						  : (ctl[0] == '\0' && strncmp(line, "0:", 2) == 0);
				if (match) {
					snprintf(out, len, "%s", c2 + 1);
					return 0;
				}
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/*
 * Copies the used part of a host description: the struct is ~53 KB, mostly unused v1 slots,
 * and every page of it a fresh process touches is a page fault (`sandlot-agent run` starts
 * cold each time).
 */
static void copy_host(struct sl_cgroup_host *dst, const struct sl_cgroup_host *src)
{
	memcpy(dst, src, offsetof(struct sl_cgroup_host, v1));
	memcpy(dst->v1, src->v1, src->n_v1 * sizeof(src->v1[0]));
}

int sl_cgroup_host_parse(const char *mountinfo, const char *proc_cgroup, const char *controllers,
			 struct sl_cgroup_host *ret)
{
	struct sl_cgroup_host h; /* only the fields below and the v1 slots used are set */
	struct mount_line m;
	char v2_root[SL_CGROUP_PATH_MAX] = "/";

	h.n_v1 = 0;
	h.v2_mount[0] = h.v2_self[0] = h.v2_self_dir[0] = h.v2_controllers[0] = '\0';
	for (const char *p = mountinfo; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[4 * SL_CGROUP_PATH_MAX];

		/* Lines we cannot read (overlay mounts with huge option strings) are not cgroups.
		 */
		if (n >= sizeof(line))
			goto next;
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_mount_line(line, &m) < 0)
			goto next;
		if (strcmp(m.fstype, "cgroup2") == 0 && !h.v2_mount[0]) {
			snprintf(h.v2_mount, sizeof(h.v2_mount), "%s", m.mount);
			snprintf(v2_root, sizeof(v2_root), "%s", m.root);
		} else if (strcmp(m.fstype, "cgroup") == 0 && h.n_v1 < SL_CGROUP_MAX_V1) {
			struct sl_cgroup_v1 *v = &h.v1[h.n_v1];
			char *opt, *save = NULL;
			size_t o = 0;

			v->controllers[0] = v->mount[0] = v->self[0] = v->self_dir[0] = '\0';

			/* super options: "rw,memory" or "rw,cpu,cpuacct" or "rw,xattr,name=systemd"
			 */
			for (opt = strtok_r(m.super, ",", &save); opt;
			     opt = strtok_r(NULL, ",", &save)) {
				if (!strcmp(opt, "rw") || !strcmp(opt, "ro") || strchr(opt, '=') ||
				    !strcmp(opt, "xattr") || !strcmp(opt, "noprefix") ||
				    !strcmp(opt, "clone_children") ||
				    !strcmp(opt, "cpuset_v2_mode"))
					continue;
				o += (size_t)snprintf(v->controllers + o,
						      sizeof(v->controllers) - o, "%s%s",
						      o ? "," : "", opt);
				if (o >= sizeof(v->controllers))
					return -EINVAL;
			}
			if (!v->controllers[0])
				goto next; /* named hierarchy (name=systemd): no controller */
			snprintf(v->mount, sizeof(v->mount), "%s", m.mount);
			char first[32];
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(v->controllers, ","),
				 v->controllers);
			if (self_path(proc_cgroup, first, v->self, sizeof(v->self)) == 0)
				join_dir(v->mount, m.root, v->self, v->self_dir,
					 sizeof(v->self_dir));
			h.n_v1++;
		}
next:
		p = nl ? nl + 1 : NULL;
	}
	if (h.v2_mount[0]) {
		if (self_path(proc_cgroup, "", h.v2_self, sizeof(h.v2_self)) == 0)
			join_dir(h.v2_mount, v2_root, h.v2_self, h.v2_self_dir,
				 sizeof(h.v2_self_dir));
		snprintf(h.v2_controllers, sizeof(h.v2_controllers), "%s",
			 controllers ? controllers : "");
	}
	if (h.v2_mount[0])
		h.layout = h.n_v1 ? SL_CGROUP_HYBRID : SL_CGROUP_V2;
	else
		h.layout = h.n_v1 ? SL_CGROUP_V1 : SL_CGROUP_NONE;
	copy_host(ret, &h);
	return 0;
}

/* The whole of a (proc or sysfs) file, NUL-terminated, in a malloc'ed buffer; NULL + errno. */
static char *read_all(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, size = 8192;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	for (;;) {
		char *b = len + 1 >= size || !buf ? realloc(buf, size *= 2) : buf;
		ssize_t n;

		if (!b) {
			free(buf);
			return NULL;
		}
		buf = b;
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

#define KERNFS_ROOT_INO 1		      /* kernfs numbers a hierarchy's root 1 */
#define INIT_CGROUP_NS	"cgroup:[4026531835]" /* PROC_CGROUP_INIT_INO */
#define PROC_CGROUP_MAX 64		      /* hierarchies in /proc/self/cgroup */

/*
 * True when name (below dirfd) is a file system of type magic and the root of its hierarchy
 * (a mount of a sub-cgroup shows that cgroup's inode); *ret_dev is its device. One path walk
 * of one component: walks from / were most of the fast path's cost.
 */
static bool is_hierarchy_root(int dirfd, const char *name, unsigned long magic, dev_t *ret_dev)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	struct stat st;

	if (fd < 0 || fstatfs(fd, &sf) < 0 || (unsigned long)sf.f_type != magic ||
	    fstat(fd, &st) < 0)
		return false;
	*ret_dev = st.st_dev;
	return st.st_ino == KERNFS_ROOT_INO;
}

/*
 * One v1 line of /proc/self/cgroup ("4:memory:/x", "3:cpu,cpuacct:/"): the hierarchy is
 * expected at <base>/<controllers>, as systemd and the distributions mount it. Named
 * hierarchies (name=systemd) carry no controller and are skipped, as by the parse.
 */
static int fast_v1(int basefd, const char *base, const char *line, struct sl_cgroup_host *h,
		   dev_t devs[])
{
	const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t n = c2 ? (size_t)(c2 - c1 - 1) : 0;
	struct sl_cgroup_v1 *v = &h->v1[h->n_v1];

	if (!c2 || strncmp(line, "0:", 2) == 0)
		return c2 ? 0 : -EAGAIN;
	if (strncmp(c1 + 1, "name=", 5) == 0 && !memchr(c1 + 1, ',', n))
		return 0;
	if (memchr(c1 + 1, '=', n) || n == 0 || n >= sizeof(v->controllers) ||
	    h->n_v1 >= SL_CGROUP_MAX_V1 || h->layout != SL_CGROUP_HYBRID)
		return -EAGAIN; /* a v1 hierarchy on a pure v2 host, or one we cannot name */
	snprintf(v->controllers, sizeof(v->controllers), "%.*s", (int)n, c1 + 1);
	snprintf(v->self, sizeof(v->self), "%s", c2 + 1);
	if ((size_t)snprintf(v->mount, sizeof(v->mount), "%s/%.*s", base, (int)n, c1 + 1) >=
		    sizeof(v->mount) ||
	    !is_hierarchy_root(basefd, v->controllers, CGROUP_SUPER_MAGIC, &devs[h->n_v1 + 1]))
		return -EAGAIN;
	for (size_t i = 0; i <= h->n_v1; i++)
		if (devs[i] == devs[h->n_v1 + 1])
			return -EAGAIN; /* two hierarchies cannot share a superblock */
	join_dir(v->mount, "/", v->self, v->self_dir, sizeof(v->self_dir));
	h->n_v1++;
	return 0;
}

/* Splits text into its lines, in place; returns how many (-E2BIG: more than max). */
static int split_lines(char *text, char *lines[], int max)
{
	int n = 0;

	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (n == max)
			return -E2BIG;
		lines[n++] = p;
	}
	return n;
}

/*
 * The fast path, written straight into h (even when it then fails): a second copy of the
 * struct would be ~10 more page faults in a fresh process.
 */
static int fast_detect(const char *base, const char *proc_cgroup, struct sl_cgroup_host *h)
{
	_cleanup_free_ char *cg = strdup(proc_cgroup);
	char *lines[PROC_CGROUP_MAX], unified[SL_CGROUP_PATH_MAX], ns[32] = "";
	dev_t devs[SL_CGROUP_MAX_V1 + 1];
	_cleanup_close_ int basefd = -1;
	int n, r = 0;

	/* in another cgroup namespace, /proc/self/cgroup is relative to its root, not ours */
	if (!cg || readlink("/proc/self/ns/cgroup", ns, sizeof(ns) - 1) < 0 ||
	    strcmp(ns, INIT_CGROUP_NS) != 0)
		return -EAGAIN;
	if ((size_t)snprintf(unified, sizeof(unified), "%s/unified", base) >= sizeof(unified))
		return -EAGAIN;
	h->n_v1 = 0;
	h->layout = SL_CGROUP_V2;
	basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return -EAGAIN;
	if (!is_hierarchy_root(basefd, ".", CGROUP2_SUPER_MAGIC, &devs[0])) {
		h->layout = SL_CGROUP_HYBRID;
		if (!is_hierarchy_root(basefd, "unified", CGROUP2_SUPER_MAGIC, &devs[0]))
			return -EAGAIN; /* v1 only, or somewhere else: the parse finds out */
	}
	snprintf(h->v2_mount, sizeof(h->v2_mount), "%s",
		 h->layout == SL_CGROUP_V2 ? base : unified);
	h->v2_controllers[0] = '\0';
	if (self_path(proc_cgroup, "", h->v2_self, sizeof(h->v2_self)) < 0)
		return -EAGAIN;
	join_dir(h->v2_mount, "/", h->v2_self, h->v2_self_dir, sizeof(h->v2_self_dir));
	n = split_lines(cg, lines, PROC_CGROUP_MAX);
	/* bottom up: hierarchy ids ascending, the order in which they are usually mounted */
	for (int i = n - 1; i >= 0 && r >= 0; i--)
		r = fast_v1(basefd, base, lines[i], h, devs);
	if (n < 0 || r < 0)
		return -EAGAIN;
	if (h->layout == SL_CGROUP_HYBRID && !h->n_v1)
		return -EAGAIN; /* cgroup2 beside an empty tmpfs: whatever it is, not ours */
	return 0;
}

int sl_cgroup_host_detect_at(const char *base, const char *proc_cgroup, struct sl_cgroup_host *ret)
{
	struct sl_cgroup_host h;
	int r = fast_detect(base, proc_cgroup, &h);

	if (r >= 0)
		copy_host(ret, &h);
	return r;
}

/* The v2 root's controllers into h->v2_controllers (left "" when unreadable). */
static void read_controllers(struct sl_cgroup_host *h)
{
	char path[SL_CGROUP_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", h->v2_mount);
	if (sl_read_file(path, h->v2_controllers, sizeof(h->v2_controllers)) < 0)
		h->v2_controllers[0] = '\0';
}

int sl_cgroup_host_detect(struct sl_cgroup_host *ret)
{
	_cleanup_free_ char *mountinfo = NULL, *big = NULL;
	char small[4096]; /* /proc/self/cgroup is a few hundred bytes */
	const char *cg = small;
	int r = sl_read_file("/proc/self/cgroup", small, sizeof(small));

	if (r == -EFBIG)
		cg = big = read_all("/proc/self/cgroup");
	if (r < 0 && !big)
		return r == -EFBIG ? sl_negerrno() : r;
	/* on failure ret is left as the fast path wrote it: the parse below sets it anew */
	r = fast_detect("/sys/fs/cgroup", cg, ret);
	if (r < 0) {
		mountinfo = read_all("/proc/self/mountinfo");
		if (!mountinfo)
			return sl_negerrno();
		r = sl_cgroup_host_parse(mountinfo, cg, NULL, ret);
	}
	if (r >= 0 && ret->v2_mount[0])
		read_controllers(ret);
	return r;
}

const struct sl_cgroup_v1 *sl_cgroup_host_v1(const struct sl_cgroup_host *h, const char *controller)
{
	for (size_t i = 0; i < h->n_v1; i++)
		if (list_has(h->v1[i].controllers, controller, ','))
			return &h->v1[i];
	return NULL;
}

bool sl_cgroup_host_v2_has(const struct sl_cgroup_host *h, const char *controller)
{
	return h->v2_mount[0] && list_has(h->v2_controllers, controller, ' ');
}

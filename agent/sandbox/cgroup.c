// SPDX-License-Identifier: Apache-2.0
/* Sandbox cgroups: the v2 identity cgroup and the dispatch to the limit backends. */
#include "sandbox/cgroup-internal.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_DIR      "sandlot"
#define EMPTY_WAIT_MS 1000 /* how long destroy waits for killed processes to leave */

uint64_t sl_cgroup_read_u64(int dirfd, const char *file)
{
	char buf[32];

	return sl_read_fileat(dirfd, file, buf, sizeof(buf)) > 0 ? strtoull(buf, NULL, 10) : 0;
}

int sl_cgroup_read_key(int dirfd, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	char buf[1024];
	size_t klen = strlen(key);
	ssize_t n;

	if (fd < 0)
		return sl_negerrno();
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return sl_negerrno();
	buf[n] = '\0';
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			*ret = strtoull(p + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

int sl_cgroup_write_u64(int dirfd, const char *file, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return sl_write_fileat(dirfd, file, buf);
}

int sl_cgroup_rmdirat(int dirfd, const char *name)
{
	uint64_t until = sl_now_ns() + EMPTY_WAIT_MS * SL_NSEC_PER_MSEC;

	while (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || sl_now_ns() > until)
			return sl_negerrno();
		usleep(1000); /* exiting tasks leave their cgroups a moment after they die */
	}
	return 0;
}

/* Opens <dir>/<ROOT_DIR>, creating it when missing (one path walk when it is there). */
int sl_cgroup_open_root_dir(const char *dir)
{
	char path[SL_CGROUP_PATH_MAX + sizeof(ROOT_DIR) + 1];
	int fd;

	if (!dir[0])
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ROOT_DIR) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return sl_negerrno();
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd < 0 ? sl_negerrno() : fd;
}

int sl_cgroup_root_open(struct sl_cgroup_root **ret, const struct sl_cgroup_host *host)
{
	struct sl_cgroup_root *root;
	bool v2_limits = sl_cgroup_host_v2_has(host, "memory") &&
			 sl_cgroup_host_v2_has(host, "pids") && sl_cgroup_host_v2_has(host, "cpu");
	int r;

	if (!host->v2_mount[0] || !host->v2_self_dir[0])
		return -ENOTSUP;
	root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	for (int i = 0; i < SL_CG_N; i++)
		root->v1_dirfd[i] = -1;
	root->ops = v2_limits ? &sl_cgroup_ops_v2 : &sl_cgroup_ops_hybrid;
	root->v2_dirfd = sl_cgroup_open_root_dir(host->v2_self_dir);
	r = root->v2_dirfd;
	if (r >= 0)
		r = root->ops->open(root, host);
	if (r < 0) {
		sl_cgroup_root_free(&root);
		return r;
	}
	*ret = root;
	return 0;
}

void sl_cgroup_root_free(struct sl_cgroup_root **root)
{
	if (!*root)
		return;
	sl_closep(&(*root)->v2_dirfd);
	for (int i = 0; i < SL_CG_N; i++)
		sl_closep(&(*root)->v1_dirfd[i]);
	free(*root);
	*root = NULL;
}

const char *sl_cgroup_root_backend(const struct sl_cgroup_root *root)
{
	return root->ops->name;
}

static int list_dir(int dirfd, void (*fn)(const char *name, void *data), void *data)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return sl_negerrno();
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			fn(de->d_name, data);
	closedir(d);
	return 0;
}

int sl_cgroup_root_list(struct sl_cgroup_root *root, void (*fn)(const char *name, void *data),
			void *data)
{
	int r = list_dir(root->v2_dirfd, fn, data);

	for (int i = 0; i < SL_CG_N && r >= 0; i++)
		if (root->v1_dirfd[i] >= 0)
			r = list_dir(root->v1_dirfd[i], fn, data);
	return r;
}

/* Waits until cgroup.events says "populated 0" or the deadline passes. */
static int wait_empty(int cgfd)
{
	_cleanup_close_ int fd = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	uint64_t until = sl_now_ns() + EMPTY_WAIT_MS * SL_NSEC_PER_MSEC;
	uint64_t populated = 1;

	if (fd < 0)
		return errno == ENOENT ? 0 : sl_negerrno();
	for (;;) {
		if (sl_cgroup_read_key(cgfd, "cgroup.events", "populated", &populated) < 0 ||
		    !populated)
			return 0;
		uint64_t now = sl_now_ns();
		if (now > until)
			return -EBUSY;
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		poll(&p, 1, (int)((until - now) / SL_NSEC_PER_MSEC) + 1);
	}
}

void sl_cgroup_host_each_root(const struct sl_cgroup_host *host,
			      void (*fn)(const char *dir, void *data), void *data)
{
	char path[SL_CGROUP_PATH_MAX + sizeof("/" ROOT_DIR)];

	if (host->v2_self_dir[0]) {
		snprintf(path, sizeof(path), "%s/" ROOT_DIR, host->v2_self_dir);
		fn(path, data);
	}
	for (size_t i = 0; i < host->n_v1; i++) {
		if (!host->v1[i].self_dir[0])
			continue;
		snprintf(path, sizeof(path), "%s/" ROOT_DIR, host->v1[i].self_dir);
		fn(path, data);
	}
}

static void prune_dir(const char *dir, void *data)
{
	*(int *)data += rmdir(dir) == 0;
}

int sl_cgroup_root_prune(void)
{
	_cleanup_free_ struct sl_cgroup_host *host = calloc(1, sizeof(*host));
	int r, n = 0;

	if (!host)
		return -ENOMEM;
	r = sl_cgroup_host_detect(host);
	if (r < 0)
		return r;
	sl_cgroup_host_each_root(host, prune_dir, &n);
	return n;
}

int sl_cgroup_root_remove(struct sl_cgroup_root *root, const char *name)
{
	_cleanup_close_ int fd = openat(root->v2_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd >= 0) {
		(void)sl_write_fileat(fd, "cgroup.kill", "1");
		r = wait_empty(fd);
		if (r >= 0)
			r = sl_cgroup_rmdirat(root->v2_dirfd, name);
	} else if (errno != ENOENT) {
		r = sl_negerrno();
	}
	int r2 = root->ops->remove(root, name);
	return r < 0 ? r : r2;
}

bool sl_cgroup_root_ran(struct sl_cgroup_root *root, const char *name)
{
	_cleanup_close_ int fd = openat(root->v2_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t usec = 1;

	if (fd >= 0)
		(void)sl_cgroup_read_key(fd, "cpu.stat", "usage_usec", &usec);
	return usec != 0;
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < SL_CGROUP_NAME_MAX && !strchr(name, '/') && name[0] != '.';
}

int sl_cgroup_new(struct sl_cgroup **ret, struct sl_cgroup_root *root, const char *name,
		  const struct sl_cgroup_limits *lim)
{
	struct sl_cgroup *cg;
	int r;

	if (!valid_name(name))
		return -EINVAL;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->root = root;
	cg->v2_fd = -1;
	for (int i = 0; i < SL_CG_N; i++)
		cg->v1_fd[i] = cg->join_fd[i] = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	if (mkdirat(root->v2_dirfd, name, 0755) < 0) {
		r = sl_negerrno();
		free(cg);
		return r;
	}
	cg->v2_fd = openat(root->v2_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = cg->v2_fd < 0 ? sl_negerrno() : root->ops->create(cg);
	if (r >= 0)
		r = sl_cgroup_set_limits(cg, lim);
	if (r < 0) {
		sl_cgroup_free(&cg);
		return r;
	}
	*ret = cg;
	return 0;
}

int sl_cgroup_fd(const struct sl_cgroup *cg)
{
	return cg->v2_fd;
}

int sl_cgroup_id(const struct sl_cgroup *cg, uint64_t *ret)
{
	struct stat st;

	/* on 64-bit kernels a cgroup2 directory's inode number is its 64-bit kernfs/cgroup id */
	if (fstat(cg->v2_fd, &st) < 0)
		return sl_negerrno();
	*ret = (uint64_t)st.st_ino;
	return 0;
}

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

int sl_cgroup_set_limits(struct sl_cgroup *cg, const struct sl_cgroup_limits *lim)
{
	int r = cg->root->ops->set_limits(cg, &cg->lim, lim);

	if (r < 0)
		return r;
	cg->lim = *lim;
	return 0;
}

size_t sl_cgroup_join_fds(const struct sl_cgroup *cg, int ret[])
{
	size_t n = 0;

	for (int i = 0; i < SL_CG_N; i++)
		if (cg->join_fd[i] >= 0)
			ret[n++] = cg->join_fd[i];
	return n;
}

int sl_cgroup_join_self(const int fds[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pwrite(fds[i], "0", 1, 0) != 1)
			return sl_negerrno();
	return 0;
}

int sl_cgroup_freeze(struct sl_cgroup *cg, bool frozen)
{
	return sl_write_fileat(cg->v2_fd, "cgroup.freeze", frozen ? "1" : "0");
}

int sl_cgroup_kill(struct sl_cgroup *cg)
{
	return sl_write_fileat(cg->v2_fd, "cgroup.kill", "1");
}

int sl_cgroup_stats(struct sl_cgroup *cg, struct sl_cgroup_stats *ret)
{
	struct sl_cgroup_stats st = {0};
	int r;

	r = sl_cgroup_read_key(cg->v2_fd, "cpu.stat", "usage_usec", &st.cpu_usec);
	if (r < 0)
		return r;
	r = cg->root->ops->stats(cg, &st);
	if (r < 0)
		return r;
	*ret = st;
	return 0;
}

int sl_cgroup_destroy(struct sl_cgroup *cg)
{
	int r;

	if (cg->destroyed)
		return 0;
	/* fast path: the sandbox was reaped, so its cgroups are empty and go at once */
	if (unlinkat(cg->root->v2_dirfd, cg->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		if (errno != EBUSY)
			return sl_negerrno();
		(void)sl_cgroup_kill(cg);
		r = wait_empty(cg->v2_fd);
		if (r < 0)
			return r;
		r = sl_cgroup_rmdirat(cg->root->v2_dirfd, cg->name);
		if (r < 0)
			return r;
	}
	r = cg->root->ops->remove(cg->root, cg->name);
	if (r < 0)
		return r;
	cg->destroyed = true;
	return 0;
}

void sl_cgroup_free(struct sl_cgroup **cg)
{
	if (!*cg)
		return;
	(void)sl_cgroup_destroy(*cg);
	sl_closep(&(*cg)->v2_fd);
	for (int i = 0; i < SL_CG_N; i++) {
		sl_closep(&(*cg)->v1_fd[i]);
		sl_closep(&(*cg)->join_fd[i]);
	}
	free(*cg);
	*cg = NULL;
}

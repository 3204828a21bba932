// SPDX-License-Identifier: Apache-2.0
/* The template mount namespace (spawner thread) and the per-sandbox mounts (child). See rootfs.h.
 */
#include "sandbox/rootfs-internal.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#define BUILD_DIR "/tmp" /* where the builder, in its private namespace, assembles the root */

static const char *const host_entries[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
static const char *const skipped_entries[] = {"proc", "dev", "sys", "tmp", "run", "var"};

static const struct sl_rootfs_device devices[] = {
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}};

static const struct sl_rootfs_file etc_files[] = {
	{"passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
	{"group", "root:x:0:\nnogroup:x:65534:\n"},
	{"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"},
	{"nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n"},
	{"resolv.conf", ""},
	{"hostname", "sandlot\n"},
};

/* Host files and directories under /etc that programs need; bound read-only when present. */
static const char *const etc_binds[] = {"ld.so.cache", "alternatives", "ssl", "localtime"};

static const struct sl_rootfs_layout layout = {
	.host_entries = host_entries,
	.n_host_entries = ARRAY_SIZE(host_entries),
	.devices = devices,
	.n_devices = ARRAY_SIZE(devices),
	.etc_files = etc_files,
	.n_etc_files = ARRAY_SIZE(etc_files),
	.etc_binds = etc_binds,
	.n_etc_binds = ARRAY_SIZE(etc_binds),
};

const struct sl_rootfs_layout *sl_rootfs_layout(void)
{
	return &layout;
}

static int write_text(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0)
		return sl_negerrno();
	return write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
}

/* Makes a read-only, nosuid, nodev recursive bind of src at dst (created to match src). */
static int bind_ro(const char *src, const char *dst)
{
	struct mount_attr attr = {.attr_set = SL_ROOTFS_HOST_ATTRS};
	struct stat st;

	if (stat(src, &st) < 0)
		return sl_negerrno();
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return sl_negerrno();
	} else if (mknod(dst, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
		return sl_negerrno();
	}
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sl_negerrno();
	if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return sl_negerrno();
	return 0;
}

/* Puts host entry src at dst: symlinks copied as symlinks, the rest bound read-only. */
static int add_entry(const char *src, const char *dst)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(src, &st) < 0)
		return errno == ENOENT ? 0 : sl_negerrno();
	if (!S_ISLNK(st.st_mode))
		return bind_ro(src, dst);
	n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return sl_negerrno();
	target[n] = '\0';
	return symlink(target, dst) < 0 ? sl_negerrno() : 0;
}

static int make_etc(void)
{
	_cleanup_close_ int fd = -1;
	char src[PATH_MAX], dst[PATH_MAX];
	int r;

	if (mkdir(BUILD_DIR "/etc", 0755) < 0)
		return sl_negerrno();
	fd = open(BUILD_DIR "/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++) {
		r = write_text(fd, etc_files[i].name, etc_files[i].text);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(etc_binds); i++) {
		snprintf(src, sizeof(src), "/etc/%s", etc_binds[i]);
		snprintf(dst, sizeof(dst), BUILD_DIR "/etc/%s", etc_binds[i]);
		r = add_entry(src, dst);
		if (r < 0)
			return r;
	}
	return 0;
}

static int make_dev(void)
{
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"}};
	char path[PATH_MAX];

	if (mkdir(BUILD_DIR "/dev", 0755) < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/dev/%s", devices[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(devices[i].maj, devices[i].min)) < 0)
			return sl_negerrno();
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/dev/%s", links[i][0]);
		if (symlink(links[i][1], path) < 0)
			return sl_negerrno();
	}
	return 0;
}

bool sl_rootfs_skipped(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(skipped_entries); i++)
		if (strcmp(name, skipped_entries[i]) == 0)
			return true;
	return name[0] == '.';
}

static int hidden_mount(const char *dir);

/*
 * Puts an entry of a user-given root directory at dst: a directory as an overlay of it (a bind
 * would show the host path of the root directory in the sandbox's mountinfo), the rest as
 * add_entry does.
 */
static int add_hidden_entry(const char *src, const char *dst)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (lstat(src, &st) < 0)
		return errno == ENOENT ? 0 : sl_negerrno();
	if (!S_ISDIR(st.st_mode))
		return add_entry(src, dst);
	fd = hidden_mount(src);
	if (fd < 0)
		return fd;
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return sl_negerrno();
	if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sl_negerrno();
	return 0;
}

/* Binds every top-level entry of a user-given root directory. */
static int add_dir_entries(const char *dir, bool *has_etc)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return sl_negerrno();
	while (r >= 0 && (de = readdir(d))) {
		if (sl_rootfs_skipped(de->d_name))
			continue;
		*has_etc |= strcmp(de->d_name, "etc") == 0;
		snprintf(src, sizeof(src), "%s/%s", dir, de->d_name);
		snprintf(dst, sizeof(dst), BUILD_DIR "/%s", de->d_name);
		r = add_hidden_entry(src, dst);
	}
	closedir(d);
	return r;
}

static int populate(const char *dir)
{
	static const char *const dirs[] = {"proc", "tmp", "var", "var/task"};
	char path[PATH_MAX];
	bool has_etc = false;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), BUILD_DIR "/%s", dirs[i]);
		if (mkdir(path, 0755) < 0)
			return sl_negerrno();
	}
	if (dir) {
		r = add_dir_entries(dir, &has_etc);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(host_entries) && r >= 0; i++) {
			snprintf(path, sizeof(path), BUILD_DIR "/%s", host_entries[i]);
			char src[64];
			snprintf(src, sizeof(src), "/%s", host_entries[i]);
			r = add_entry(src, path);
		}
	}
	if (r >= 0 && !has_etc)
		r = make_etc();
	if (r >= 0)
		r = make_dev();
	return r;
}

int sl_rootfs_check(const char *dir)
{
	struct stat st;

	if (dir && stat(dir, &st) < 0)
		return sl_negerrno();
	if (dir && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* The helper: shares the builder's fs_struct (cwd: the new root, the old one stacked on it). */
static void *detach_old_root(void *data)
{
	struct sl_rootfs_detach *d = data;
	uint64_t v = 1;

	if (CPU_COUNT(&d->cpus))
		(void)sched_setaffinity(0, sizeof(d->cpus), &d->cpus);
	if (umount2(".", MNT_DETACH) < 0)
		v += (uint64_t)errno;
	(void)!write(d->efd, &v, sizeof(v));
	return NULL;
}

static int detach(struct sl_rootfs_detach *d)
{
	int r;

	if (!d)
		return umount2(".", MNT_DETACH) < 0 || chdir("/") < 0 ? sl_negerrno() : 0;
	r = -pthread_create(&d->thread, NULL, detach_old_root, d);
	d->started = r >= 0;
	return r;
}

void sl_rootfs_detach_join(struct sl_rootfs_detach *d)
{
	if (d->started)
		pthread_join(d->thread, NULL);
	d->started = false;
}

int sl_rootfs_wait_detached(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return sl_negerrno();
	return v == 1 ? 0 : -(int)(v - 1);
}

int sl_rootfs_build(const char *dir, struct sl_rootfs_detach *async, int *ret_ns)
{
	struct mount_attr ro = {.attr_set = SL_ROOTFS_ROOT_ATTRS};
	_cleanup_close_ int dir_fd = -1;
	char dir_path[64];
	int r = sl_rootfs_check(dir);

	if (r < 0)
		return r;
	/* a thread may do this: it implies a private fs_struct (root, cwd) for the thread */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sl_negerrno();
	/* the namespace is the template from here on; /proc is still the host's */
	if (ret_ns && (*ret_ns = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
		return sl_negerrno();
	/* dir reached through an fd of this namespace: the tmpfs mounted on BUILD_DIR next hides
	 * a dir below it */
	if (dir && (dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sl_negerrno();
	snprintf(dir_path, sizeof(dir_path), "/proc/thread-self/fd/%d", dir_fd);
	if (mount("tmpfs", BUILD_DIR, "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0)
		return sl_negerrno();
	/* the unshare gave the thread an fs_struct (so a umask) of its own: the template's
	 * modes as written (no chmod per node); the sandboxes inherit the umask restored */
	mode_t mask = umask(0);
	r = populate(dir ? dir_path : NULL);
	umask(mask);
	if (r < 0)
		return r;
	/* read-only now, while it is an ordinary path (not "/" with the old root stacked) */
	if (mount_setattr(AT_FDCWD, BUILD_DIR, 0, &ro, sizeof(ro)) < 0)
		return sl_negerrno();
	/* pivot_root(".", ".") stacks the old root on top (cwd and root are the new root, "/"
	 * resolves to it); detaching the old one leaves only ours */
	if (chdir(BUILD_DIR) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return sl_negerrno();
	r = detach(async);
	return r;
}

/*
 * Code mounts made so far, process-wide: a read-only overlay per code directory (the last
 * few), of which every sandbox gets a clone (a few microseconds, where making the overlay
 * takes tens and tearing down a detached mount waits for an RCU grace period), and the empty
 * read-only tmpfs that is each overlay's second layer (overlayfs wants two when there is no
 * upper one).
 */
#define CODE_MOUNTS 8

static struct {
	pthread_mutex_t lock;
	struct {
		char dir[PATH_MAX];
		dev_t dev;
		ino_t ino;
		struct timespec ctime; /* dir's, when the overlay was made */
		int fd;		       /* the overlay, detached */
		uint64_t used;	       /* tick of its last use; 0: free slot */
	} m[CODE_MOUNTS];
	uint64_t tick;
	int empty_fd;
} code_src = {.lock = PTHREAD_MUTEX_INITIALIZER, .empty_fd = -1};

static int empty_layer(void)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	int fd;

	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return sl_negerrno();
	fd = fsmount(fs, FSMOUNT_CLOEXEC, SL_ROOTFS_HOST_ATTRS);
	return fd < 0 ? sl_negerrno() : fd;
}

/*
 * A read-only overlay whose only lower layer is dir, given as a detached clone of it: its
 * root, so the layer shows as "/". Returns its mount fd or -errno.
 */
static int overlay(const char *dir, int empty_fd)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	_cleanup_close_ int layer = -1;
	int fd;

	if (fs < 0)
		return sl_negerrno();
	layer = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (layer < 0)
		return sl_negerrno();
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "code", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, layer) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FD, "datadir+", NULL, empty_fd) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return sl_negerrno();
	fd = fsmount(fs, FSMOUNT_CLOEXEC, SL_ROOTFS_HOST_ATTRS);
	return fd < 0 ? sl_negerrno() : fd;
}

/*
 * Under code_src.lock: the overlay of dir, the cached one while dir still names the same
 * directory, unchanged at its top level (overlayfs does not follow changes made to a layer
 * under it), else made anew in the least recently used slot.
 */
static int dir_overlay(const char *dir)
{
	struct stat st;
	size_t lru = 0;
	int fd;

	if (stat(dir, &st) < 0)
		return sl_negerrno();
	code_src.tick++;
	for (size_t i = 0; i < CODE_MOUNTS; i++) {
		if (code_src.m[i].used && code_src.m[i].dev == st.st_dev &&
		    code_src.m[i].ino == st.st_ino &&
		    code_src.m[i].ctime.tv_sec == st.st_ctim.tv_sec &&
		    code_src.m[i].ctime.tv_nsec == st.st_ctim.tv_nsec &&
		    !strcmp(code_src.m[i].dir, dir)) {
			code_src.m[i].used = code_src.tick;
			return code_src.m[i].fd;
		}
		if (code_src.m[i].used < code_src.m[lru].used)
			lru = i;
	}
	if (code_src.empty_fd < 0 && (code_src.empty_fd = empty_layer()) < 0)
		return code_src.empty_fd;
	fd = overlay(dir, code_src.empty_fd);
	if (fd < 0)
		return fd;
	if (code_src.m[lru].used) /* free slots hold fd 0: not ours */
		close(code_src.m[lru].fd);
	snprintf(code_src.m[lru].dir, sizeof(code_src.m[lru].dir), "%s", dir);
	code_src.m[lru].dev = st.st_dev;
	code_src.m[lru].ino = st.st_ino;
	code_src.m[lru].ctime = st.st_ctim;
	code_src.m[lru].used = code_src.tick;
	return code_src.m[lru].fd = fd;
}

/* A clone of the overlay of dir (a real path), or -errno. */
static int code_overlay(const char *dir)
{
	int fd, r;

	pthread_mutex_lock(&code_src.lock);
	r = fd = dir_overlay(dir);
	if (fd >= 0) {
		r = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (r < 0)
			r = sl_negerrno();
	}
	pthread_mutex_unlock(&code_src.lock);
	return r;
}

/* The code directory bound as it is (its host path shows in mountinfo). */
static int code_bind(const char *dir)
{
	struct mount_attr attr = {.attr_set = SL_ROOTFS_HOST_ATTRS};
	int fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return sl_negerrno();
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		int r = sl_negerrno();
		close(fd);
		return r;
	}
	return fd;
}

/* An overlay of dir made for one use (not kept), or where there is none a bind. */
static int hidden_mount(const char *dir)
{
	int r;

	pthread_mutex_lock(&code_src.lock);
	r = code_src.empty_fd;
	if (r < 0)
		r = code_src.empty_fd = empty_layer();
	if (r >= 0)
		r = overlay(dir, code_src.empty_fd);
	pthread_mutex_unlock(&code_src.lock);
	if (r == -ENODEV || r == -EINVAL)
		r = code_bind(dir);
	return r;
}

int sl_rootfs_open_code(const char *dir)
{
	char real[PATH_MAX];
	int r;

	if (!realpath(dir, real))
		return sl_negerrno();
	r = code_overlay(real);
	/* no overlayfs, or one that takes no layers by fd */
	if (r == -ENODEV || r == -EINVAL)
		r = code_bind(real);
	return r;
}

void sl_rootfs_child_init(struct sl_rootfs_child *c, int code_fd, uint64_t tmp_bytes,
			  uint64_t premade_tmp)
{
	c->code_fd = code_fd;
	c->tmp_bytes = tmp_bytes;
	c->tmp = !premade_tmp		    ? SL_TMP_MOUNT
		 : premade_tmp == tmp_bytes ? SL_TMP_READY
					    : SL_TMP_RESIZE;
	/* a remount takes the size alone (a tmpfs keeps its root's mode) */
	snprintf(c->tmp_options, sizeof(c->tmp_options),
		 c->tmp == SL_TMP_RESIZE ? "size=%" PRIu64 : "size=%" PRIu64 ",mode=1777",
		 tmp_bytes);
}

int sl_rootfs_enter(const struct sl_rootfs_child *c, const char **ret_step)
{
	*ret_step = "mount /tmp";
	if (c->tmp == SL_TMP_MOUNT &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmp_options) < 0)
		return sl_negerrno();
	if (c->tmp == SL_TMP_RESIZE &&
	    mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, c->tmp_options) < 0)
		return sl_negerrno();
	*ret_step = "mount /proc";
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return sl_negerrno();
	*ret_step = "mount /var/task";
	if (c->code_fd >= 0 &&
	    move_mount(c->code_fd, "", AT_FDCWD, "/var/task", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sl_negerrno();
	*ret_step = "chdir /";
	return chdir("/") < 0 ? sl_negerrno() : 0;
}

int sl_rootfs_copy_template(int template_ns, int host_ns, int ns_dir, uint64_t tmp_bytes)
{
	struct sl_rootfs_child c;
	int fd = -1, r = 0;

	sl_rootfs_child_init(&c, -1, tmp_bytes, 0);
	if (setns(template_ns, CLONE_NEWNS) < 0)
		return sl_negerrno();
	if (unshare(CLONE_NEWNS) < 0)
		r = sl_negerrno();
	if (r >= 0 && tmp_bytes &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c.tmp_options) < 0)
		r = sl_negerrno();
	if (r >= 0 && (fd = openat(ns_dir, "mnt", O_RDONLY | O_CLOEXEC)) < 0)
		r = sl_negerrno();
	if (setns(host_ns, CLONE_NEWNS) < 0) {
		sl_closep(&fd);
		return -ENOTRECOVERABLE;
	}
	return r < 0 ? r : fd;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The code cache: zips built here with libarchive's writer (malicious ones included), unpacked
 * into a temporary cache directory. Needs no root.
 */
#include "testutil.h"

#include <sandlot/util.h>

#include "daemon/codecache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#define PREFIX "/tmp/sandlot-test-rtapi-"

enum { ZIP_CAP = 8 << 20 };

struct fx {
	char dir[256];	/* the cache */
	char work[240]; /* scratch files */
	struct sl_codecache *c;
	char *zip;
	size_t len;
};

/* ---- building zips ---- */

struct zb {
	struct archive *a;
	char *buf;
	size_t used;
};

static void zb_begin(struct zb *z)
{
	z->buf = malloc(ZIP_CAP);
	assert_non_null(z->buf);
	z->a = archive_write_new();
	assert_int_equal(archive_write_set_format_zip(z->a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(z->a, z->buf, ZIP_CAP, &z->used), ARCHIVE_OK);
}

static void zb_entry(struct zb *z, const char *name, mode_t type, mode_t perm, int64_t size,
		     const char *link)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	if (type == AE_IFREG)
		archive_entry_set_size(e, size);
	if (link)
		archive_entry_set_symlink(e, link);
	assert_int_equal(archive_write_header(z->a, e), ARCHIVE_OK);
	archive_entry_free(e);
}

static void zb_file(struct zb *z, const char *name, const char *data, mode_t perm)
{
	zb_entry(z, name, AE_IFREG, perm, (int64_t)strlen(data), NULL);
	assert_int_equal(archive_write_data(z->a, data, strlen(data)), (ssize_t)strlen(data));
}

static void zb_zeros(struct zb *z, const char *name, size_t size)
{
	static char zeros[1 << 16];

	zb_entry(z, name, AE_IFREG, 0644, (int64_t)size, NULL);
	for (size_t done = 0; done < size; done += sizeof(zeros))
		assert_true(archive_write_data(z->a, zeros, MIN(sizeof(zeros), size - done)) > 0);
}

static void zb_end(struct fx *f, struct zb *z)
{
	assert_int_equal(archive_write_close(z->a), ARCHIVE_OK);
	archive_write_free(z->a);
	free(f->zip);
	f->zip = z->buf;
	f->len = z->used;
}

/*
 * Test-only tampering, to make archives libarchive's writer refuses to make: finds the record
 * of name (sig "PK\1\2": central directory, "PK\3\4": local header) and rewrites a 4-byte field
 * at off (central 38: external attributes, whose top half is the Unix mode; central 24 and
 * local 22: uncompressed size).
 */
static void zip_patch_rec(struct fx *f, const char *sig, size_t len_off, size_t name_off,
			  const char *name, size_t off, uint32_t val)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + name_off + n <= f->len; i++) {
		unsigned char *p = (unsigned char *)f->zip + i;

		if (memcmp(p, sig, 4) || p[len_off] != (n & 0xff) || p[len_off + 1] != n >> 8 ||
		    memcmp(p + name_off, name, n))
			continue;
		for (int b = 0; b < 4; b++)
			p[off + b] = (unsigned char)(val >> (8 * b));
		return;
	}
	fail_msg("no %s record for %s", sig[2] == 1 ? "central" : "local", name);
}

static void zip_patch(struct fx *f, const char *name, size_t off, uint32_t val)
{
	zip_patch_rec(f, "PK\1\2", 28, 46, name, off, val);
}

static void zip_patch_local(struct fx *f, const char *name, size_t off, uint32_t val)
{
	zip_patch_rec(f, "PK\3\4", 26, 30, name, off, val);
}

/* ---- fixture ---- */

static void rm_rf(const char *path)
{
	char cmd[2 * PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", path, path);
	assert_int_equal(system(cmd), 0);
}

/* Removes leftovers of earlier runs of this test whose process is gone. */
static void clean_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX];
		int pid;

		if (sscanf(de->d_name, "sandlot-test-rtapi-%d-", &pid) != 1 || pid == getpid() ||
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		rm_rf(path);
	}
	if (d)
		closedir(d);
}

static int open_cache(struct fx *f, uint64_t max_bytes, uint64_t max_unpacked, uint32_t max_ent)
{
	struct sl_codecache_opts o = {
		.dir = f->dir,
		.max_bytes = max_bytes,
		.max_unpacked = max_unpacked,
		.max_entries = max_ent,
	};

	sl_codecache_free(&f->c);
	return sl_codecache_new(&f->c, &o);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	clean_stale();
	snprintf(f->work, sizeof(f->work), PREFIX "%d-XXXXXX", getpid());
	assert_non_null(mkdtemp(f->work));
	snprintf(f->dir, sizeof(f->dir), "%s/cache", f->work);
	assert_int_equal(open_cache(f, 0, 0, 0), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sl_codecache_free(&f->c);
	rm_rf(f->work);
	free(f->zip);
	free(f);
	return 0;
}

/* Number of names in the cache directory (entries and leftovers alike). */
static int dir_count(struct fx *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int add(struct fx *f, struct sl_codecache_entry **e)
{
	char hex[SL_CODECACHE_HEX_LEN + 1];

	assert_int_equal(sl_codecache_digest(f->zip, f->len, hex), 0);
	return sl_codecache_add(f->c, hex, f->zip, f->len, e);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode;
}

static off_t size_of(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_size;
}

/* ---- tests ---- */

static void digest_is_sha256(void **state)
{
	struct fx *f = *state;
	char hex[SL_CODECACHE_HEX_LEN + 1], hex2[SL_CODECACHE_HEX_LEN + 1], path[PATH_MAX];
	FILE *out;

	assert_int_equal(sl_codecache_digest("abc", 3, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	snprintf(path, sizeof(path), "%s/abc", f->work);
	out = fopen(path, "w");
	assert_non_null(out);
	fputs("abc", out);
	fclose(out);
	assert_int_equal(sl_codecache_digest_file(path, hex2), 0);
	assert_string_equal(hex, hex2);
	assert_int_equal(sl_codecache_digest_file("/nonexistent/x", hex2), -ENOENT);
}

static void add_unpacks_a_read_only_tree(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL, *e2 = NULL;
	char hex[SL_CODECACHE_HEX_LEN + 1], p[PATH_MAX], buf[64] = "";
	const char *root;
	struct zb z;
	FILE *in;

	zb_begin(&z);
	zb_entry(&z, "lib/", AE_IFDIR, 0755, 0, NULL);
	zb_file(&z, "bootstrap", "#!/bin/sh\necho hi\n", 0755);
	zb_file(&z, "lib/data.txt", "hello", 0600);
	zb_file(&z, "deep/er/file", "x", 0644); /* parents without their own entries */
	zb_entry(&z, "lib/link", AE_IFLNK, 0777, 0, "data.txt");
	zb_entry(&z, "up", AE_IFLNK, 0777, 0, "lib/../lib/data.txt");
	zb_end(f, &z);
	assert_int_equal(add(f, &e), 0);
	root = sl_codecache_entry_path(e);
	assert_int_equal(sl_codecache_digest(f->zip, f->len, hex), 0);
	snprintf(p, sizeof(p), "%s/%s", f->dir, hex);
	assert_string_equal(root, p);
	assert_int_equal(sl_codecache_entry_size(e), 18 + 5 + 1);
	assert_int_equal(sl_codecache_size(f->c), 24);
	assert_int_equal(mode_of(root, "bootstrap") & 07777, 0555);
	assert_int_equal(mode_of(root, "lib/data.txt") & 07777, 0444);
	assert_int_equal(mode_of(root, "lib") & 07777, 0555);
	assert_int_equal(mode_of(root, "deep/er") & 07777, 0555);
	assert_int_equal(mode_of(root, ".") & 07777, 0555);
	assert_true(S_ISLNK(mode_of(root, "lib/link")));
	snprintf(p, sizeof(p), "%s/up", root);
	in = fopen(p, "r");
	assert_non_null(in);
	assert_non_null(fgets(buf, sizeof(buf), in));
	fclose(in);
	assert_string_equal(buf, "hello");
	snprintf(p, sizeof(p), "%s/bootstrap", root);
	{
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_uid, geteuid()); /* the agent's: root */
	}
	/* cached: a second add needs no archive and shares the tree */
	assert_int_equal(sl_codecache_add(f->c, hex, NULL, 0, &e2), 0);
	assert_ptr_equal(e, e2);
	assert_int_equal(dir_count(f), 1);
	assert_string_equal(sl_codecache_error(f->c), "");
	sl_codecache_release(f->c, &e);
	sl_codecache_release(f->c, &e2);
	assert_null(e);
}

static void digest_mismatch_is_rejected(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	char hex[SL_CODECACHE_HEX_LEN + 1];
	struct zb z;

	zb_begin(&z);
	zb_file(&z, "bootstrap", "x", 0755);
	zb_end(f, &z);
	assert_int_equal(sl_codecache_digest(f->zip, f->len, hex), 0);
	hex[0] = hex[0] == '0' ? '1' : '0';
	assert_int_equal(sl_codecache_add(f->c, hex, f->zip, f->len, &e), -EBADMSG);
	assert_non_null(strstr(sl_codecache_error(f->c), "mismatch"));
	assert_int_equal(sl_codecache_add(f->c, "ABC", f->zip, f->len, &e), -EINVAL);
	hex[3] = 'G';
	assert_int_equal(sl_codecache_add(f->c, hex, f->zip, f->len, &e), -EINVAL);
	assert_null(e);
	assert_int_equal(dir_count(f), 0);
}

/* Builds a one-entry archive with a bad entry plus a good one, expects rejection. */
static void expect_rejected(struct fx *f, int err, const char *why)
{
	struct sl_codecache_entry *e = NULL;
	char cwd[PATH_MAX], cwd2[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	int got = add(f, &e);
	if (got != err)
		fail_msg("got %d (%s), want %d", got, sl_codecache_error(f->c), err);
	assert_null(e);
	if (!strstr(sl_codecache_error(f->c), why))
		fail_msg("error '%s' does not say '%s'", sl_codecache_error(f->c), why);
	assert_int_equal(dir_count(f), 0); /* nothing left behind */
	assert_int_equal(sl_codecache_count(f->c), 0);
	assert_non_null(getcwd(cwd2, sizeof(cwd2)));
	assert_string_equal(cwd, cwd2);
}

static void unsafe_entries_are_rejected(void **state)
{
	struct fx *f = *state;
	struct zb z;

	zb_begin(&z);
	zb_file(&z, "ok", "x", 0644);
	zb_file(&z, "../evil", "x", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "'..'");
	zb_begin(&z);
	zb_file(&z, "a/../../x", "x", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "'..'");
	zb_begin(&z);
	zb_file(&z, "/abs", "x", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "absolute path");
	zb_begin(&z);
	zb_entry(&z, "passwd", AE_IFLNK, 0777, 0, "/etc/passwd");
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "symlink to an absolute path");
	zb_begin(&z);
	zb_entry(&z, "a/b", AE_IFLNK, 0777, 0, "../../x");
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "outside");
	zb_begin(&z);
	zb_entry(&z, "a", AE_IFLNK, 0777, 0, "./../x");
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "outside");
}

static void devices_are_rejected(void **state)
{
	const mode_t types[] = {S_IFCHR, S_IFBLK, S_IFSOCK};
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	struct zb z;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		zb_begin(&z);
		zb_file(&z, "ok", "x", 0644);
		zb_file(&z, "node", "", 0644);
		zb_end(f, &z);
		zip_patch(f, "node", 38, (uint32_t)(types[i] | 0666) << 16);
		expect_rejected(f, -EPERM, "device, FIFO or socket");
	}
	/* libarchive reads a zip's FIFO as a regular file: it must land as one */
	zb_begin(&z);
	zb_file(&z, "fifo", "", 0644);
	zb_end(f, &z);
	zip_patch(f, "fifo", 38, (uint32_t)(S_IFIFO | 0666) << 16);
	assert_int_equal(add(f, &e), 0);
	assert_true(S_ISREG(mode_of(sl_codecache_entry_path(e), "fifo")));
	sl_codecache_release(f->c, &e);
}

static void links_through_symlinks_and_duplicates_are_rejected(void **state)
{
	struct fx *f = *state;
	struct zb z;

	/* "d" -> "sub" is inside, but writing through it is libarchive's to refuse */
	zb_begin(&z);
	zb_entry(&z, "sub/", AE_IFDIR, 0755, 0, NULL);
	zb_entry(&z, "d", AE_IFLNK, 0777, 0, "sub");
	zb_file(&z, "d/x", "x", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "refused");
	/* the same name twice, however spelled */
	zb_begin(&z);
	zb_file(&z, "twice", "x", 0644);
	zb_file(&z, "./twice", "y", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "more than once");
	zb_begin(&z);
	zb_entry(&z, "d/", AE_IFDIR, 0755, 0, NULL);
	zb_file(&z, "d", "y", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "more than once");
}

/* A link whose target is lexically inside but resolves outside through another link. */
static void links_are_resolved_inside_the_tree(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	char target[256] = "", p[PATH_MAX];
	struct stat st;
	struct zb z;

	for (int i = 0; i < 16; i++)
		strcat(target, "d/");
	for (int i = 0; i < 16; i++)
		strcat(target, "../");
	strcat(target, "etc");
	zb_begin(&z);
	zb_entry(&z, "d", AE_IFLNK, 0777, 0, ".");
	zb_entry(&z, "hostetc", AE_IFLNK, 0777, 0, target);
	zb_entry(&z, "shadow", AE_IFLNK, 0777, 0, "hostetc/shadow");
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "hostetc: symlink resolves outside the archive");
	/* a loop cannot be resolved at all */
	zb_begin(&z);
	zb_entry(&z, "a", AE_IFLNK, 0777, 0, "b");
	zb_entry(&z, "b", AE_IFLNK, 0777, 0, "a");
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "symlink loop");
	/* through links that stay inside, and to nothing (it can never resolve later: the tree
	 * is read-only), is fine */
	zb_begin(&z);
	zb_entry(&z, "d", AE_IFLNK, 0777, 0, ".");
	zb_entry(&z, "sub/", AE_IFDIR, 0755, 0, NULL);
	zb_file(&z, "sub/file", "inside", 0644);
	zb_entry(&z, "sub/up", AE_IFLNK, 0777, 0, "../d/d/sub/file");
	zb_entry(&z, "dangling", AE_IFLNK, 0777, 0, "d/missing/../..");
	zb_end(f, &z);
	assert_int_equal(add(f, &e), 0);
	snprintf(p, sizeof(p), "%s/sub/up", sl_codecache_entry_path(e));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 6);
	sl_codecache_release(f->c, &e);
}

static void too_many_entries_are_rejected(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	char name[32];
	struct zb z;

	zb_begin(&z);
	for (int i = 0; i < SL_CODECACHE_MAX_ENTRIES + 1; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		zb_file(&z, name, "", 0644);
	}
	zb_end(f, &z);
	expect_rejected(f, -E2BIG, "more than 10000 entries");
	/* at the bound it is fine, one more is not (a small bound keeps this quick) */
	assert_int_equal(open_cache(f, 0, 0, 50), 0);
	zb_begin(&z);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		zb_file(&z, name, "", 0644);
	}
	zb_end(f, &z);
	assert_int_equal(add(f, &e), 0);
	sl_codecache_release(f->c, &e);
	zb_begin(&z);
	for (int i = 0; i < 51; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		zb_file(&z, name, "", 0644);
	}
	zb_end(f, &z);
	assert_int_equal(add(f, &e), -E2BIG);
	assert_null(e);
	assert_int_equal(dir_count(f), 1);
}

static void zip_bomb_is_rejected(void **state)
{
	struct fx *f = *state;
	char name[32];
	struct zb z;

	/* 26 x 10 MiB of zeros: 260 MiB unpacked, a few hundred KB packed */
	zb_begin(&z);
	for (int i = 0; i < 26; i++) {
		snprintf(name, sizeof(name), "zeros%d", i);
		zb_zeros(&z, name, 10 << 20);
	}
	zb_end(f, &z);
	assert_true(f->len < (1 << 20));
	expect_rejected(f, -EFBIG, "more than 262144000 bytes");
}

static void unpacked_bytes_are_counted_not_trusted(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	struct zb z;
	int r;

	assert_int_equal(open_cache(f, 0, 4 << 20, 0), 0);
	zb_begin(&z);
	zb_zeros(&z, "liar", 8 << 20);
	zb_end(f, &z);
	/* both the central directory and the local header say 1000 bytes */
	zip_patch(f, "liar", 24, 1000);
	zip_patch_local(f, "liar", 22, 1000);
	r = add(f, &e);
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(sl_codecache_error(f->c), "more data than its header declares"));
	assert_null(e);
	assert_int_equal(dir_count(f), 0);
}

static void errors_are_one_line(void **state)
{
	struct fx *f = *state;
	struct zb z;

	/* a name chosen to forge a second log line */
	zb_begin(&z);
	zb_file(&z, "../x\nsandlot-agent: all good\r", "x", 0644);
	zb_end(f, &z);
	expect_rejected(f, -EPERM, "'..'");
	assert_null(strpbrk(sl_codecache_error(f->c), "\n\r"));
	assert_non_null(strstr(sl_codecache_error(f->c), "../x?sandlot-agent: all good?"));
	/* libarchive's own messages end in a newline */
	zb_begin(&z);
	zb_file(&z, "short", "0123456789", 0644);
	zb_end(f, &z);
	zip_patch(f, "short", 24, 1000);
	zip_patch_local(f, "short", 22, 1000);
	expect_rejected(f, -EINVAL, "uncompressed data is wrong size");
	assert_null(strpbrk(sl_codecache_error(f->c), "\n\r"));
}

static void files_hold_their_data_only(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	struct zb z;
	int r;

	/*
	 * A deflated entry's local header declares 5000 bytes for 10 of data (its real sizes
	 * follow the data, in a descriptor), and the central directory is out of reach, so
	 * libarchive reads the archive as a stream: the disk writer would pad the file to the
	 * declared size.
	 */
	zb_begin(&z);
	zb_file(&z, "short", "0123456789", 0644);
	zb_end(f, &z);
	zip_patch_local(f, "short", 22, 5000);
	for (size_t i = 0; i + 22 <= f->len; i++)
		if (memcmp(f->zip + i, "PK\5\6", 4) == 0)
			memcpy(f->zip + i + 16, "\xff\xff\xff\x7f",
			       4); /* central directory offset */
	r = add(f, &e);
	if (r == 0)
		fail_msg("accepted: short holds %lld bytes for 10 of data",
			 (long long)size_of(sl_codecache_entry_path(e), "short"));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(sl_codecache_error(f->c), "short: 10 bytes of data, 5000 declared"));
	assert_int_equal(dir_count(f), 0);
}

static void not_a_zip_is_rejected(void **state)
{
	struct fx *f = *state;
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t used = 0;

	free(f->zip);
	f->zip = strdup("this is not a zip archive at all");
	f->len = strlen(f->zip);
	expect_rejected(f, -EINVAL, "zip");
	/* a tar (which could carry hard links and devices) is not a zip either */
	free(f->zip);
	f->zip = calloc(1, 1 << 16);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, f->zip, 1 << 16, &used);
	archive_entry_set_pathname(ae, "hl");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_hardlink(ae, "target");
	archive_write_header(a, ae);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(ae);
	f->len = used;
	expect_rejected(f, -EINVAL, "zip");
}

static void add_file_verifies_and_unpacks(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	char hex[SL_CODECACHE_HEX_LEN + 1], path[PATH_MAX], bad[SL_CODECACHE_HEX_LEN + 1];
	struct zb z;
	FILE *out;

	zb_begin(&z);
	zb_file(&z, "bootstrap", "#!/bin/sh\n", 0755);
	zb_end(f, &z);
	snprintf(path, sizeof(path), "%s/code.zip", f->work);
	out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(f->zip, 1, f->len, out), f->len);
	fclose(out);
	assert_int_equal(sl_codecache_digest_file(path, hex), 0);
	memcpy(bad, hex, sizeof(bad));
	bad[63] = bad[63] == 'a' ? 'b' : 'a';
	assert_int_equal(sl_codecache_add_file(f->c, bad, path, &e), -EBADMSG);
	assert_int_equal(sl_codecache_add_file(f->c, hex, "/nonexistent.zip", &e), -ENOENT);
	assert_int_equal(sl_codecache_add_file(f->c, hex, path, &e), 0);
	assert_int_equal(mode_of(sl_codecache_entry_path(e), "bootstrap") & 07777, 0555);
	assert_true(sl_codecache_has(f->c, hex));
	sl_codecache_release(f->c, &e);
}

/* Adds a one-file archive of size bytes named by tag; returns its digest in hex. */
static int add_sized(struct fx *f, const char *tag, size_t size, char *hex,
		     struct sl_codecache_entry **e)
{
	struct zb z;

	zb_begin(&z);
	zb_zeros(&z, tag, size);
	zb_end(f, &z);
	assert_int_equal(sl_codecache_digest(f->zip, f->len, hex), 0);
	return sl_codecache_add(f->c, hex, f->zip, f->len, e);
}

static void lru_evicts_unused_entries_only(void **state)
{
	struct fx *f = *state;
	char a[65], b[65], c[65], d[65], x[65], y[65];
	struct sl_codecache_entry *ea, *eb, *ec, *ed, *ex = NULL, *ey = NULL, *eb2;

	assert_int_equal(open_cache(f, 3000, 0, 0), 0);
	assert_int_equal(add_sized(f, "a", 1000, a, &ea), 0);
	assert_int_equal(add_sized(f, "b", 1000, b, &eb), 0);
	assert_int_equal(add_sized(f, "c", 1000, c, &ec), 0);
	sl_codecache_release(f->c, &ea);
	sl_codecache_release(f->c, &eb);
	sl_codecache_release(f->c, &ec);
	assert_int_equal(sl_codecache_size(f->c), 3000);
	/* a is least recently used: d evicts it */
	assert_int_equal(sl_codecache_get(f->c, b, &eb2), 0); /* b in use, though older than c */
	assert_int_equal(add_sized(f, "d", 1000, d, &ed), 0);
	assert_false(sl_codecache_has(f->c, a));
	assert_true(sl_codecache_has(f->c, b) && sl_codecache_has(f->c, c));
	assert_int_equal(sl_codecache_size(f->c), 3000);
	/* next victim is c (unused), never b or d (in use) */
	assert_int_equal(add_sized(f, "x", 1000, x, &ex), 0);
	assert_false(sl_codecache_has(f->c, c));
	assert_true(sl_codecache_has(f->c, b) && sl_codecache_has(f->c, d));
	/* everything in use: no room */
	assert_int_equal(add_sized(f, "y", 1000, y, &ey), -ENOSPC);
	assert_null(ey);
	assert_non_null(strstr(sl_codecache_error(f->c), "full"));
	assert_false(sl_codecache_has(f->c, y));
	assert_int_equal(dir_count(f), 3);
	assert_int_equal(sl_codecache_get(f->c, a, &ea), -ENOENT);
	sl_codecache_release(f->c, &eb2);
	sl_codecache_release(f->c, &ed);
	sl_codecache_release(f->c, &ex);
}

static void reopen_indexes_entries_and_drops_leftovers(void **state)
{
	struct fx *f = *state;
	struct sl_codecache_entry *e = NULL;
	char hex[65], tmp[PATH_MAX];

	assert_int_equal(add_sized(f, "keep", 4321, hex, &e), 0);
	sl_codecache_release(f->c, &e);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-deadbeef-123456", f->dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	strcat(tmp, "/partial");
	assert_int_equal(mkdir(tmp, 0500), 0);
	assert_int_equal(open_cache(f, 0, 0, 0), 0);
	assert_int_equal(sl_codecache_count(f->c), 1);
	assert_int_equal(sl_codecache_size(f->c), 4321);
	assert_true(sl_codecache_has(f->c, hex));
	assert_int_equal(dir_count(f), 1);
	assert_int_equal(sl_codecache_get(f->c, hex, &e), 0);
	sl_codecache_release(f->c, &e);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(digest_is_sha256),
		T(add_unpacks_a_read_only_tree),
		T(digest_mismatch_is_rejected),
		T(unsafe_entries_are_rejected),
		T(devices_are_rejected),
		T(links_through_symlinks_and_duplicates_are_rejected),
		T(links_are_resolved_inside_the_tree),
		T(too_many_entries_are_rejected),
		T(zip_bomb_is_rejected),
		T(unpacked_bytes_are_counted_not_trusted),
		T(not_a_zip_is_rejected),
		T(errors_are_one_line),
		T(files_hold_their_data_only),
		T(add_file_verifies_and_unpacks),
		T(lru_evicts_unused_entries_only),
		T(reopen_indexes_entries_and_drops_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the code package unpacker (built with clang
 * -fsanitize=fuzzer,address,undefined by tests/CMakeLists.txt), fed with zips (seeds from
 * fuzz_unzip_seeds). Each input is added to a small cache under a private temporary
 * directory, with its own digest. Properties checked on every input:
 *   - no out-of-bounds access or undefined behaviour in the checks, the unpack or the seal;
 *   - a failure gives a negative errno and a one-line reason, leaves nothing on disk and the
 *     working directory as it was;
 *   - a success holds only directories, regular files and symlinks, sealed read-only, no more
 *     file bytes than the bound, and every symlink resolves (realpath, an oracle independent
 *     of the unpacker's openat2) inside the tree or nowhere.
 */
#include "daemon/codecache.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_UNPACKED (1u << 20)

static struct sl_codecache *cache;
static char work[64], cachedir[96], cwd[PATH_MAX];
static const char *tree;
static uint64_t tree_bytes;

static int make_writable(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_D)
		chmod(p, 0700);
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	remove(p);
	return 0;
}

static void cleanup(void)
{
	sl_codecache_free(&cache);
	nftw(work, make_writable, 16, FTW_PHYS);
	nftw(work, remove_one, 16, FTW_PHYS | FTW_DEPTH);
}

static void init(void)
{
	struct sl_codecache_opts o = {
		.dir = cachedir,
		.max_bytes = 8u << 20,
		.max_unpacked = MAX_UNPACKED,
		.max_entries = 256,
	};

	if (cache)
		return;
	snprintf(work, sizeof(work), "/tmp/sandlot-fuzz-unzip-XXXXXX");
	if (!mkdtemp(work) || !getcwd(cwd, sizeof(cwd)))
		abort();
	snprintf(cachedir, sizeof(cachedir), "%s/cache", work);
	if (sl_codecache_new(&cache, &o) < 0)
		abort();
	atexit(cleanup);
}

static size_t dir_count(void)
{
	struct dirent *de;
	DIR *d = opendir(cachedir);
	size_t n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int check_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	char real[PATH_MAX];
	size_t n = strlen(tree);

	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		if ((st->st_mode & 07777) != 0555)
			abort();
		return 0;
	case S_IFREG:
		if ((st->st_mode & 07777) != 0444 && (st->st_mode & 07777) != 0555)
			abort();
		tree_bytes += (uint64_t)st->st_size;
		return 0;
	case S_IFLNK:
		if (!realpath(p, real)) {
			if (errno != ENOENT && errno != ENOTDIR)
				abort(); /* a loop got in */
			return 0;
		}
		if (strncmp(real, tree, n) || (real[n] && real[n] != '/'))
			abort(); /* a link leads outside the tree */
		return 0;
	default:
		abort(); /* FIFO, socket or device */
	}
}

static void check_tree(struct sl_codecache_entry *e)
{
	tree = sl_codecache_entry_path(e);
	tree_bytes = 0;
	if (nftw(tree, check_one, 16, FTW_PHYS) != 0)
		abort();
	if (tree_bytes != sl_codecache_entry_size(e) || tree_bytes > MAX_UNPACKED) {
		fprintf(stderr, "%s: %llu bytes of files, %llu counted\n", tree,
			(unsigned long long)tree_bytes,
			(unsigned long long)sl_codecache_entry_size(e));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[SL_CODECACHE_HEX_LEN + 1], now[PATH_MAX];
	struct sl_codecache_entry *e = NULL;
	int r;

	init();
	if (sl_codecache_digest(data, size, hex) < 0)
		abort();
	r = sl_codecache_add(cache, hex, data, size, &e);
	if (!getcwd(now, sizeof(now)) || strcmp(now, cwd))
		abort();
	if (r < 0) {
		if (e || r < -4095 || !sl_codecache_error(cache)[0] ||
		    strchr(sl_codecache_error(cache), '\n') ||
		    dir_count() != sl_codecache_count(cache)) {
			fprintf(stderr,
				"failure %d (%s), %zu names in the cache dir for %zu entries\n", r,
				sl_codecache_error(cache), dir_count(), sl_codecache_count(cache));
			abort();
		}
		return 0;
	}
	check_tree(e);
	sl_codecache_release(cache, &e);
	return 0;
}

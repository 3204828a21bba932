// SPDX-License-Identifier: Apache-2.0
#include "daemon/codecache.h"

#include <sandlot/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#define TMP_PREFIX ".tmp-"

enum {
	NAME_MAX_LEN = 1024, /* an entry's path inside the archive */
	READ_BLOCK = 64 * 1024,
};

struct sl_codecache_entry {
	char hex[SL_CODECACHE_HEX_LEN + 1];
	char *path;	   /* <dir>/<hex> */
	uint64_t size;	   /* bytes of file data */
	uint64_t last_use; /* ns, CLOCK_REALTIME (comparable with mtimes at load) */
	unsigned refs;
};

struct sl_codecache {
	char *dir; /* absolute */
	uint64_t max_bytes, max_unpacked, max_file;
	uint32_t max_entries;
	uint64_t total;
	struct sl_codecache_entry **v;
	size_t n, cap;
	char err[SL_CODECACHE_MAX_ERR];
};

/* Where an archive comes from: a buffer, or an fd (then buf is NULL). */
struct src {
	const void *buf;
	size_t len;
	int fd;
};

/* What the checks of one pass have seen. */
struct counts {
	uint32_t entries;
	uint64_t bytes;
};

static int _printf_(3, 4) fail(struct sl_codecache *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	/* one line whatever the archive's names and libarchive's messages hold */
	for (size_t n = strlen(c->err); n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' ');)
		c->err[--n] = '\0';
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool hex_valid(const char *s)
{
	size_t i;

	for (i = 0; s && i < SL_CODECACHE_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s && s[i] == '\0';
}

/* ---- digests ---- */

static void to_hex(const unsigned char *md, char *hex)
{
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int digest_fd(int fd, char hex[SL_CODECACHE_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[READ_BLOCK];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = -EIO;
	ssize_t n;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	if (n < 0) {
		r = sl_negerrno();
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	to_hex(md, hex);
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int sl_codecache_digest(const void *buf, size_t len, char ret_hex[SL_CODECACHE_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -EIO;
	to_hex(md, ret_hex);
	return 0;
}

int sl_codecache_digest_file(const char *path, char ret_hex[SL_CODECACHE_HEX_LEN + 1])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sl_negerrno();
	return digest_fd(fd, ret_hex);
}

/* ---- trees on disk ---- */

static __thread uint64_t walk_bytes;

static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_F && S_ISREG(st->st_mode))
		walk_bytes += (uint64_t)st->st_size;
	return 0;
}

static int make_writable(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_D)
		chmod(p, 0700);
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p) < 0 ? -1 : 0;
}

/* Makes the tree read-only: dirs 0555, files 0555 with any exec bit, else 0444. */
static int seal_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_DP)
		return chmod(p, 0555) < 0 ? -1 : 0;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		return chmod(p, (st->st_mode & 0111) ? 0555 : 0444) < 0 ? -1 : 0;
	return 0;
}

static int rm_tree(const char *path)
{
	nftw(path, make_writable, 16, FTW_PHYS); /* read-only dirs: as non-root too */
	if (nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH) < 0 && errno != ENOENT)
		return sl_negerrno();
	return 0;
}

static uint64_t tree_size(const char *path)
{
	walk_bytes = 0;
	nftw(path, add_size, 16, FTW_PHYS);
	return walk_bytes;
}

/* ---- the index ---- */

static struct sl_codecache_entry *find(const struct sl_codecache *c, const char *hex)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i]->hex, hex) == 0)
			return c->v[i];
	return NULL;
}

static int index_add(struct sl_codecache *c, const char *hex, uint64_t size, uint64_t last_use,
		     struct sl_codecache_entry **ret)
{
	struct sl_codecache_entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *v = reallocarray(c->v, cap, sizeof(*c->v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e || asprintf(&e->path, "%s/%s", c->dir, hex) < 0) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->hex, hex, sizeof(e->hex));
	e->size = size;
	e->last_use = last_use;
	c->v[c->n++] = e;
	c->total += size;
	if (ret)
		*ret = e;
	return 0;
}

static void index_drop(struct sl_codecache *c, size_t i)
{
	struct sl_codecache_entry *e = c->v[i];

	c->total -= e->size;
	free(e->path);
	free(e);
	c->v[i] = c->v[--c->n];
}

/* Evicts unused entries, least recently used first, until need more bytes fit. */
static int make_room(struct sl_codecache *c, uint64_t need)
{
	while (c->total + need > c->max_bytes) {
		size_t lru = SIZE_MAX;

		for (size_t i = 0; i < c->n; i++)
			if (!c->v[i]->refs &&
			    (lru == SIZE_MAX || c->v[i]->last_use < c->v[lru]->last_use))
				lru = i;
		if (lru == SIZE_MAX)
			return fail(c, -ENOSPC,
				    "code cache full: %" PRIu64 " of %" PRIu64
				    " bytes in use, %" PRIu64 " more needed",
				    c->total, c->max_bytes, need);
		rm_tree(c->v[lru]->path);
		index_drop(c, lru);
	}
	return 0;
}

/* Indexes complete entries, removes leftovers of interrupted unpacks. */
static int scan(struct sl_codecache *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return sl_negerrno();
	while (r >= 0 && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%s", c->dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			rm_tree(path);
			continue;
		}
		if (!hex_valid(de->d_name) || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		r = index_add(c, de->d_name, tree_size(path),
			      (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
				      (uint64_t)st.st_mtim.tv_nsec,
			      NULL);
	}
	closedir(d);
	return r;
}

int sl_codecache_new(struct sl_codecache **ret, const struct sl_codecache_opts *opts)
{
	struct sl_codecache *c;
	int r;

	if (!ret || !opts || !opts->dir || !*opts->dir)
		return -EINVAL;
	if (mkdir(opts->dir, 0755) < 0 && errno != EEXIST)
		return sl_negerrno();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dir = realpath(opts->dir, NULL);
	if (!c->dir) {
		r = sl_negerrno();
		free(c);
		return r;
	}
	c->max_bytes = opts->max_bytes ? opts->max_bytes : 4ULL << 30;
	c->max_unpacked = opts->max_unpacked ? opts->max_unpacked : SL_CODECACHE_MAX_UNPACKED;
	c->max_file = opts->max_file ? opts->max_file : c->max_unpacked;
	c->max_entries = opts->max_entries ? opts->max_entries : SL_CODECACHE_MAX_ENTRIES;
	r = scan(c);
	if (r < 0) {
		sl_codecache_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void sl_codecache_free(struct sl_codecache **p)
{
	struct sl_codecache *c = p ? *p : NULL;

	if (!c)
		return;
	while (c->n)
		index_drop(c, c->n - 1);
	free(c->v);
	free(c->dir);
	free(c);
	*p = NULL;
}

/* ---- checking entries ---- */

/* True when a path has a ".." component. */
static bool has_dotdot(const char *p)
{
	for (const char *s = p; s && *s;) {
		const char *end = strchr(s, '/');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return true;
		s = end ? end + 1 : NULL;
	}
	return false;
}

/* True when a relative symlink target, resolved from the link's directory, stays inside. */
static bool link_inside(const char *name, const char *target)
{
	long depth = 0;

	/* the link's own directory: components of name but the last */
	for (const char *s = name, *end; (end = strchr(s, '/')); s = end + 1)
		if (end > s && !(end - s == 1 && s[0] == '.'))
			depth++;
	for (const char *s = target; s && *s;) {
		const char *end = strchr(s, '/');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		if (n == 2 && s[0] == '.' && s[1] == '.')
			depth--;
		else if (n && !(n == 1 && s[0] == '.'))
			depth++;
		if (depth < 0)
			return false;
		s = end ? end + 1 : NULL;
	}
	return true;
}

static int check_link(struct sl_codecache *c, const char *p, const char *target)
{
	if (!target || !*target)
		return fail(c, -EPERM, "entry %s: symlink without a target", p);
	if (target[0] == '/')
		return fail(c, -EPERM, "entry %s: symlink to an absolute path (%.100s)", p, target);
	if (!link_inside(p, target))
		return fail(c, -EPERM, "entry %s: symlink points outside the archive (%.100s)", p,
			    target);
	return 0;
}

/* The checks made on every header, in both passes. */
static int check_entry(struct sl_codecache *c, struct archive_entry *e, struct counts *n)
{
	const char *p = archive_entry_pathname(e);
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;

	if (++n->entries > c->max_entries)
		return fail(c, -E2BIG, "more than %u entries in the archive", c->max_entries);
	if (!p || !*p)
		return fail(c, -EPERM, "entry %u has no name", n->entries);
	if (strnlen(p, NAME_MAX_LEN + 1) > NAME_MAX_LEN)
		return fail(c, -EPERM, "entry %.64s...: name longer than %d bytes", p,
			    NAME_MAX_LEN);
	if (p[0] == '/')
		return fail(c, -EPERM, "entry %s: absolute path", p);
	if (has_dotdot(p))
		return fail(c, -EPERM, "entry %s: '..' in its path", p);
	if (archive_entry_hardlink(e))
		return fail(c, -EPERM, "entry %s: hard link", p);
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return 0;
	case AE_IFLNK:
		return check_link(c, p, archive_entry_symlink(e));
	case AE_IFREG:
		break;
	default:
		return fail(c, -EPERM, "entry %s: device, FIFO or socket (type 0%o) not allowed", p,
			    (unsigned)archive_entry_filetype(e));
	}
	if (size < 0 || (uint64_t)size > c->max_file)
		return fail(c, -EFBIG, "entry %s: %" PRId64 " bytes, more than %" PRIu64, p, size,
			    c->max_file);
	n->bytes += (uint64_t)size;
	if (n->bytes > c->max_unpacked)
		return fail(c, -EFBIG, "archive unpacks to more than %" PRIu64 " bytes",
			    c->max_unpacked);
	return 0;
}

/* ---- unpacking ---- */

static struct archive *open_zip(struct sl_codecache *c, const struct src *s)
{
	struct archive *a = archive_read_new();
	int r;

	if (!a)
		return NULL;
	archive_read_support_format_zip(a);
	if (s->buf) {
		r = archive_read_open_memory(a, s->buf, s->len);
	} else {
		r = lseek(s->fd, 0, SEEK_SET) < 0 ? ARCHIVE_FATAL
						  : archive_read_open_fd(a, s->fd, READ_BLOCK);
	}
	if (r != ARCHIVE_OK) {
		fail(c, -EINVAL, "not a readable zip archive: %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* An entry's name without "./" components, repeated slashes or a trailing slash. */
static char *normalized(const char *p)
{
	char *out = malloc(strlen(p) + 1), *o = out;

	for (const char *s = p; out && *s;) {
		const char *end = strchrnul(s, '/');
		size_t n = (size_t)(end - s);

		if (n && !(n == 1 && s[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s = *end ? end + 1 : end;
	}
	if (out)
		*o = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fails when two entries name the same path (sorted names, adjacent equal). */
static int check_unique(struct sl_codecache *c, char **names, size_t n)
{
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			return fail(c, -EPERM, "entry %s: appears more than once", names[i]);
	return 0;
}

/* Pass 1: every header checked before anything is written. */
static int check_all(struct sl_codecache *c, const struct src *s)
{
	struct archive *a = open_zip(c, s);
	char **names = calloc(c->max_entries + 1, sizeof(char *));
	struct archive_entry *e;
	struct counts n = {0};
	int r = names ? 0 : -ENOMEM, ar = ARCHIVE_OK;

	if (!a) {
		free(names);
		return -EINVAL;
	}
	while (r >= 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(c, e, &n);
		if (r >= 0 && !(names[n.entries - 1] = normalized(archive_entry_pathname(e))))
			r = -ENOMEM;
	}
	if (r >= 0 && ar != ARCHIVE_EOF)
		r = fail(c, -EINVAL, "corrupt zip archive: %s", archive_error_string(a));
	if (r >= 0 && n.entries == 0)
		r = fail(c, -EINVAL, "empty or not a zip archive");
	if (r >= 0)
		r = check_unique(c, names, n.entries);
	for (size_t i = 0; names && i < n.entries; i++)
		free(names[i]);
	free(names);
	archive_read_free(a);
	return r;
}

/* Copies one entry's data, counting the bytes as they come. */
static int copy_data(struct sl_codecache *c, struct archive *a, struct archive *w,
		     struct archive_entry *e, uint64_t *total)
{
	const char *p = archive_entry_pathname(e);
	int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	uint64_t file = 0;
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off != file)
			return fail(c, -EPERM, "entry %s: sparse data not allowed", p);
		if (declared >= 0 && size > (uint64_t)declared - file)
			return fail(c, -EFBIG,
				    "entry %s: more data than its header declares (%" PRId64
				    " bytes)",
				    p, declared);
		if (size > c->max_file - file)
			return fail(c, -EFBIG, "entry %s: more than %" PRIu64 " bytes unpacked", p,
				    c->max_file);
		if (size > c->max_unpacked - *total)
			return fail(c, -EFBIG, "archive unpacks to more than %" PRIu64 " bytes",
				    c->max_unpacked);
		file += size;
		*total += size;
		if (archive_write_data_block(w, buf, size, off) != ARCHIVE_OK)
			return fail(c, archive_errno(w) > 0 ? -archive_errno(w) : -EIO,
				    "entry %s: write: %s", p, archive_error_string(w));
	}
	if (r != ARCHIVE_EOF)
		return fail(c, -EINVAL, "entry %s: %s", p, archive_error_string(a));
	/* else the disk writer pads the file to the size its header declared */
	if (declared >= 0 && file != (uint64_t)declared)
		return fail(c, -EINVAL, "entry %s: %" PRIu64 " bytes of data, %" PRId64 " declared",
			    p, file, declared);
	return 0;
}

/* Writes one entry (already checked) under the working directory. */
static int extract_entry(struct sl_codecache *c, struct archive *a, struct archive *w,
			 struct archive_entry *e, uint64_t *total)
{
	const char *p = archive_entry_pathname(e);
	mode_t type = archive_entry_filetype(e);
	int r;

	/* writable while unpacking; sealed read-only afterwards */
	if (type == AE_IFDIR)
		archive_entry_set_perm(e, 0755);
	else if (type == AE_IFREG)
		archive_entry_set_perm(e, (archive_entry_perm(e) & 0111) ? 0755 : 0644);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		return fail(c, -EPERM, "entry %s: refused: %s", p, archive_error_string(w));
	if (type == AE_IFREG) {
		r = copy_data(c, a, w, e, total);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(w) != ARCHIVE_OK)
		return fail(c, -EIO, "entry %s: %s", p, archive_error_string(w));
	return 0;
}

static struct archive *disk_writer(void)
{
	struct archive *w = archive_write_disk_new();

	if (w)
		archive_write_disk_set_options(
			w, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
				   ARCHIVE_EXTRACT_NO_OVERWRITE | ARCHIVE_EXTRACT_PERM);
	return w;
}

/* Pass 2: extracts into the working directory (the temporary tree). */
static int extract_all(struct sl_codecache *c, const struct src *s, uint64_t *ret_size)
{
	struct archive *a = open_zip(c, s), *w = disk_writer();
	struct archive_entry *e;
	struct counts n = {0};
	uint64_t total = 0;
	int r = a && w ? 0 : -ENOMEM, ar = ARCHIVE_OK;

	while (r >= 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(c, e, &n); /* again: the source is read a second time */
		if (r >= 0)
			r = extract_entry(c, a, w, e, &total);
	}
	if (r >= 0 && ar != ARCHIVE_EOF)
		r = fail(c, -EINVAL, "corrupt zip archive: %s", archive_error_string(a));
	if (r >= 0 && archive_write_close(w) != ARCHIVE_OK)
		r = fail(c, -EIO, "finishing the unpack: %s", archive_error_string(w));
	archive_read_free(a);
	archive_write_free(w);
	if (r >= 0)
		*ret_size = total;
	return r;
}

/* What resolve_one() works on: nftw() passes no context. */
static __thread struct {
	struct sl_codecache *c;
	int root;      /* the unpacked tree, O_PATH */
	size_t prefix; /* strlen of its path plus the slash */
	int r;
} resolving;

/*
 * Resolves one symlink on disk as the kernel would, but refusing to leave the tree: the
 * lexical check of its target cannot know which other entries are links ("d -> ." makes
 * "d/d/../.." climb out). A target that does not exist is fine: the tree is sealed, so it
 * never will.
 */
static int resolve_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	const char *rel = p + resolving.prefix;
	long fd;

	if (flag != FTW_SL || strlen(p) < resolving.prefix)
		return 0;
	fd = syscall(SYS_openat2, resolving.root, rel, &how, sizeof(how));
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	if (errno == EXDEV)
		resolving.r = fail(resolving.c, -EPERM,
				   "entry %s: symlink resolves outside the archive", rel);
	else if (errno == ELOOP)
		resolving.r = fail(resolving.c, -EPERM,
				   "entry %s: symlink loop or more than 40 links deep", rel);
	else
		resolving.r = fail(resolving.c, sl_negerrno(), "entry %s: resolve: %m", rel);
	return 1; /* stops the walk */
}

/* Pass 3: every symlink of the unpacked tree at tmp resolved inside it. */
static int resolve_links(struct sl_codecache *c, const char *tmp)
{
	_cleanup_close_ int root = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return fail(c, sl_negerrno(), "open %s: %m", tmp);
	resolving.c = c;
	resolving.root = root;
	resolving.prefix = strlen(tmp) + 1;
	resolving.r = 0;
	if (nftw(tmp, resolve_one, 16, FTW_PHYS) < 0)
		return fail(c, sl_negerrno(), "walk %s: %m", tmp);
	return resolving.r;
}

/* Unpacks into tmp (an empty directory), changing into it for the duration. */
static int unpack_in(struct sl_codecache *c, const struct src *s, const char *tmp,
		     uint64_t *ret_size)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (cwd < 0)
		return fail(c, sl_negerrno(), "open the working directory: %m");
	if (chdir(tmp) < 0)
		return fail(c, sl_negerrno(), "chdir %s: %m", tmp);
	r = extract_all(c, s, ret_size);
	if (fchdir(cwd) < 0 && r >= 0)
		r = fail(c, sl_negerrno(), "restore the working directory: %m");
	if (r >= 0)
		r = resolve_links(c, tmp);
	if (r >= 0 && nftw(tmp, seal_one, 16, FTW_PHYS | FTW_DEPTH) < 0)
		r = fail(c, sl_negerrno(), "make %s read-only: %m", tmp);
	return r;
}

/* Unpacks a verified archive as entry hex and takes a reference. */
static int unpack(struct sl_codecache *c, const char *hex, const struct src *s,
		  struct sl_codecache_entry **ret)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	uint64_t size = 0;
	int r;

	r = check_all(c, s);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%.16s-XXXXXX", c->dir, hex);
	snprintf(final, sizeof(final), "%s/%s", c->dir, hex);
	if (!mkdtemp(tmp))
		return fail(c, sl_negerrno(), "mkdtemp in %s: %m", c->dir);
	r = unpack_in(c, s, tmp, &size);
	if (r >= 0)
		r = make_room(c, size);
	if (r >= 0 && rename(tmp, final) < 0)
		r = fail(c, sl_negerrno(), "rename into %s: %m", final);
	if (r >= 0)
		r = index_add(c, hex, size, now_ns(), ret);
	if (r < 0) {
		rm_tree(tmp);
		return r;
	}
	(*ret)->refs = 1;
	c->err[0] = '\0';
	return 0;
}

int sl_codecache_get(struct sl_codecache *c, const char *hex, struct sl_codecache_entry **ret)
{
	struct sl_codecache_entry *e = hex_valid(hex) ? find(c, hex) : NULL;

	if (!e)
		return -ENOENT;
	e->refs++;
	e->last_use = now_ns();
	*ret = e;
	return 0;
}

int sl_codecache_add(struct sl_codecache *c, const char *hex, const void *zip, size_t len,
		     struct sl_codecache_entry **ret)
{
	char got[SL_CODECACHE_HEX_LEN + 1];
	struct src s = {.buf = zip, .len = len, .fd = -1};
	int r;

	if (!hex_valid(hex))
		return fail(c, -EINVAL, "malformed sha256 (want 64 lowercase hex digits)");
	if (sl_codecache_get(c, hex, ret) == 0)
		return 0;
	if (!zip || !len)
		return fail(c, -EINVAL, "empty archive");
	if (len > SL_CODECACHE_MAX_ARCHIVE)
		return fail(c, -EFBIG, "archive of %zu bytes, more than %llu", len,
			    SL_CODECACHE_MAX_ARCHIVE);
	r = sl_codecache_digest(zip, len, got);
	if (r < 0)
		return fail(c, r, "sha256 failed");
	if (strcmp(got, hex) != 0)
		return fail(c, -EBADMSG, "sha256 mismatch: archive is %s", got);
	return unpack(c, hex, &s, ret);
}

int sl_codecache_add_file(struct sl_codecache *c, const char *hex, const char *zip_path,
			  struct sl_codecache_entry **ret)
{
	char got[SL_CODECACHE_HEX_LEN + 1];
	struct src s = {.fd = -1};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!hex_valid(hex))
		return fail(c, -EINVAL, "malformed sha256 (want 64 lowercase hex digits)");
	if (sl_codecache_get(c, hex, ret) == 0)
		return 0;
	fd = open(zip_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(c, sl_negerrno(), "open %s: %m", zip_path);
	if (!S_ISREG(st.st_mode))
		return fail(c, -EINVAL, "%s: not a regular file", zip_path);
	if ((uint64_t)st.st_size > SL_CODECACHE_MAX_ARCHIVE)
		return fail(c, -EFBIG, "%s: more than %llu bytes", zip_path,
			    SL_CODECACHE_MAX_ARCHIVE);
	r = digest_fd(fd, got);
	if (r < 0)
		return fail(c, r, "read %s: %s", zip_path, strerror(-r));
	if (strcmp(got, hex) != 0)
		return fail(c, -EBADMSG, "sha256 mismatch: %s is %s", zip_path, got);
	s.fd = fd;
	return unpack(c, hex, &s, ret);
}

void sl_codecache_release(struct sl_codecache *c, struct sl_codecache_entry **p)
{
	struct sl_codecache_entry *e = p ? *p : NULL;

	if (!e)
		return;
	if (e->refs)
		e->refs--;
	e->last_use = now_ns();
	*p = NULL;
}

const char *sl_codecache_entry_path(const struct sl_codecache_entry *e)
{
	return e->path;
}

uint64_t sl_codecache_entry_size(const struct sl_codecache_entry *e)
{
	return e->size;
}

uint64_t sl_codecache_size(const struct sl_codecache *c)
{
	return c->total;
}

size_t sl_codecache_count(const struct sl_codecache *c)
{
	return c->n;
}

bool sl_codecache_has(const struct sl_codecache *c, const char *hex)
{
	return hex_valid(hex) && find(c, hex);
}

const char *sl_codecache_error(const struct sl_codecache *c)
{
	return c->err;
}

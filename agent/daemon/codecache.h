/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The code package cache: function code arrives as zip archives named by their SHA-256. Each
 * is verified, unpacked once with libarchive into <dir>/<sha256>/ (into a temporary directory
 * first, renamed into place when complete), made read-only (directories 0555, files 0444 or
 * 0555 after the zip's exec bits) and shared by every sandbox that runs that code. Entries in
 * use are reference-counted; unused ones are evicted least recently used first when the cache
 * would grow past its size bound.
 *
 * An archive is rejected before anything is written when an entry has an absolute path or a
 * ".." component, is a hard link, a device or a socket, is a symlink that is absolute or
 * whose target climbs out lexically, or when the archive has too many entries or declares too
 * many bytes; while unpacking, bytes are counted as they are written, whatever the headers
 * say. Once unpacked (still in the temporary directory), every symlink is resolved on disk
 * with openat2(RESOLVE_BENEATH): one that leads outside the tree through other links, or
 * loops, rejects the archive (one that leads nowhere is kept: the sealed tree never changes).
 * libarchive itself reads a zip's FIFO entry as a regular file (an Info-ZIP workaround), so
 * one lands as an ordinary file, never as a FIFO.
 *
 * Single-threaded: unpacking changes the working directory for the duration of the call
 * (libarchive's secure extraction checks paths relative to it) and restores it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_codecache;
struct sl_codecache_entry;

enum {
	SL_CODECACHE_HEX_LEN = 64,
	SL_CODECACHE_MAX_ENTRIES = 10000, /* files, dirs and links per archive */
	SL_CODECACHE_MAX_ERR = 256,	  /* sl_codecache_error() length */
};
#define SL_CODECACHE_MAX_UNPACKED (250ULL << 20) /* Lambda's unzipped limit */
#define SL_CODECACHE_MAX_ARCHIVE  (256ULL << 20) /* the zip itself */

struct sl_codecache_opts {
	const char *dir;       /* cache directory; created (0755) if missing */
	uint64_t max_bytes;    /* size bound of all entries together; 0: 4 GiB */
	uint64_t max_unpacked; /* per archive; 0: 250 MiB */
	uint64_t max_file;     /* per file; 0: max_unpacked */
	uint32_t max_entries;  /* per archive; 0: 10000 */
};

/*
 * Opens the cache at opts->dir: removes leftover temporary directories and indexes the
 * complete entries found there (their sizes measured, their last use taken from mtime).
 * Returns 0, -EINVAL, -ENOMEM or the -errno of a failed mkdir/open.
 */
int sl_codecache_new(struct sl_codecache **ret, const struct sl_codecache_opts *opts);

/* Frees the index (the files stay on disk). Entries must have been released. NULL-safe. */
void sl_codecache_free(struct sl_codecache **c);

/* SHA-256 of a buffer or a file as 64 lowercase hex digits plus NUL. Returns 0 or -errno. */
int sl_codecache_digest(const void *buf, size_t len, char ret_hex[SL_CODECACHE_HEX_LEN + 1]);
int sl_codecache_digest_file(const char *path, char ret_hex[SL_CODECACHE_HEX_LEN + 1]);

/*
 * Makes the code with digest sha256_hex available and takes a reference to it: the cached
 * entry if there is one, otherwise the archive (a buffer, or a file) is verified against the
 * digest and unpacked. Returns 0 and *ret_entry, or:
 *   -EINVAL   sha256_hex malformed, or the archive is not a readable zip
 *   -EBADMSG  the archive's digest differs from sha256_hex
 *   -EPERM    an unsafe entry (path escaping, link outside or looping, hard link, device,
 *             socket)
 *   -E2BIG    more entries than allowed
 *   -EFBIG    a file, or the whole, larger than allowed
 *   -ENOSPC   it does not fit even after evicting every unused entry
 *   -ENOMEM, or the -errno of a failed filesystem call.
 * On failure sl_codecache_error() says why in one line, and nothing is left on disk.
 */
int sl_codecache_add(struct sl_codecache *c, const char *sha256_hex, const void *zip, size_t len,
		     struct sl_codecache_entry **ret_entry);
int sl_codecache_add_file(struct sl_codecache *c, const char *sha256_hex, const char *zip_path,
			  struct sl_codecache_entry **ret_entry);

/* Takes a reference to a cached entry. Returns 0, or -ENOENT when it is not cached. */
int sl_codecache_get(struct sl_codecache *c, const char *sha256_hex,
		     struct sl_codecache_entry **ret_entry);

/* Drops a reference (the entry becomes evictable at zero); sets *e to NULL. NULL-safe. */
void sl_codecache_release(struct sl_codecache *c, struct sl_codecache_entry **e);

/* The unpacked tree of e: "<dir>/<sha256>". Valid while a reference is held. */
const char *sl_codecache_entry_path(const struct sl_codecache_entry *e);

/* Bytes of file data in e (what counts against the bounds). */
uint64_t sl_codecache_entry_size(const struct sl_codecache_entry *e);

/* Bytes and entries cached now. */
uint64_t sl_codecache_size(const struct sl_codecache *c);
size_t sl_codecache_count(const struct sl_codecache *c);

/* Whether the code with that digest is cached (no reference taken). */
bool sl_codecache_has(const struct sl_codecache *c, const char *sha256_hex);

/* The reason of the last failure, one line ("" when none). */
const char *sl_codecache_error(const struct sl_codecache *c);

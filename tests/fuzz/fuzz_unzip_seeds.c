// SPDX-License-Identifier: Apache-2.0
/* Writes zips into DIR, written with libarchive: the unzip fuzzer's seed corpus. */
#include <archive.h>
#include <archive_entry.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct item {
	const char *name;
	mode_t type;
	const char *data; /* file contents or link target */
	mode_t perm;
};

static int write_zip(const char *dir, const char *seed, const struct item *it, int store)
{
	struct archive *a = archive_write_new();
	char path[4096];
	int r = 0;

	snprintf(path, sizeof(path), "%s/seed-%s.zip", dir, seed);
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    (store && archive_write_zip_set_compression_store(a) != ARCHIVE_OK) ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK)
		r = -1;
	for (; r == 0 && it->name; it++) {
		struct archive_entry *e = archive_entry_new();
		size_t n = it->type == AE_IFREG ? strlen(it->data) : 0;

		archive_entry_set_pathname(e, it->name);
		archive_entry_set_filetype(e, it->type);
		archive_entry_set_perm(e, it->perm);
		if (it->type == AE_IFREG)
			archive_entry_set_size(e, (la_int64_t)n);
		if (it->type == AE_IFLNK)
			archive_entry_set_symlink(e, it->data);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (n && archive_write_data(a, it->data, n) != (la_ssize_t)n))
			r = -1;
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		r = -1;
	if (r < 0)
		fprintf(stderr, "%s: %s\n", path, archive_error_string(a));
	archive_write_free(a);
	return r;
}

int main(int argc, char **argv)
{
	static const struct item plain[] = {
		{"bootstrap", AE_IFREG, "#!/bin/sh\necho hello\n", 0755},
		{"lib/", AE_IFDIR, NULL, 0755},
		{"lib/data.txt", AE_IFREG, "some data some data some data\n", 0644},
		{"lib/link", AE_IFLNK, "data.txt", 0777},
		{"up", AE_IFLNK, "lib/../lib/data.txt", 0777},
		{NULL},
	};
	static const struct item links[] = {
		{"d", AE_IFLNK, ".", 0777},
		{"sub/file", AE_IFREG, "inside", 0644},
		{"sub/up", AE_IFLNK, "../d/d/sub/file", 0777},
		{"dangling", AE_IFLNK, "d/missing/../..", 0777},
		{"hostetc", AE_IFLNK, "d/d/d/d/../../../../etc", 0777},
		{"a", AE_IFLNK, "b", 0777},
		{"b", AE_IFLNK, "a", 0777},
		{NULL},
	};
	static const struct item unsafe[] = {
		{"ok", AE_IFREG, "x", 0644},
		{"../evil", AE_IFREG, "x", 0644},
		{"/abs", AE_IFREG, "x", 0644},
		{"passwd", AE_IFLNK, "/etc/passwd", 0777},
		{"twice", AE_IFREG, "x", 0644},
		{"./twice", AE_IFREG, "y", 0644},
		{NULL},
	};

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_unzip_seeds DIR\n");
		return 2;
	}
	if (write_zip(argv[1], "plain", plain, 0) < 0 ||
	    write_zip(argv[1], "plain-stored", plain, 1) < 0 ||
	    write_zip(argv[1], "links", links, 1) < 0 ||
	    write_zip(argv[1], "unsafe", unsafe, 1) < 0)
		return 1;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/* Code packages: checks and the Python repack (see code.h). */
#include "code.h"

#include <sandlot/util.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <string.h>

static struct archive *open_zip(const void *zip, size_t len)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	if (archive_read_support_format_zip(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, zip, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static bool path_ok(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return false;
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return false;
	return true;
}

int sl_code_check(const void *zip, size_t len, uint64_t *ret_unzipped, char *why, size_t whylen)
{
	struct archive *a = open_zip(zip, len);
	struct archive_entry *e;
	uint64_t total = 0;
	unsigned n = 0;
	int r = 0, rc;

	if (!a) {
		snprintf(why, whylen,
			 "Could not unzip uploaded file. Please check your file, "
			 "then try to upload again.");
		return -EINVAL;
	}
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (++n > SL_CODE_ENTRIES_MAX) {
			snprintf(why, whylen, "more than %d files in the package",
				 SL_CODE_ENTRIES_MAX);
			r = -EFBIG;
			break;
		}
		if (!path_ok(archive_entry_pathname(e))) {
			snprintf(why, whylen, "a file in the package has an unsafe path");
			r = -EINVAL;
			break;
		}
		total += archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
		if (total > SL_CODE_UNZIPPED_MAX) {
			snprintf(why, whylen, "Unzipped size must be smaller than %llu bytes",
				 SL_CODE_UNZIPPED_MAX);
			r = -EFBIG;
			break;
		}
	}
	if (r == 0 && (rc != ARCHIVE_EOF || n == 0)) {
		snprintf(why, whylen,
			 "Could not unzip uploaded file. Please check your file, "
			 "then try to upload again.");
		r = -EINVAL;
	}
	archive_read_free(a);
	if (r == 0)
		*ret_unzipped = total;
	return r;
}

struct membuf {
	unsigned char *p;
	size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *data, const void *buf, size_t n)
{
	struct membuf *m = data;

	if (m->len + n > m->cap) {
		size_t cap = MAX(m->cap * 2, m->len + n + 65536);
		unsigned char *p = realloc(m->p, cap);

		if (!p)
			return -1;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

static int copy_entries(struct archive *in, struct archive *out)
{
	struct archive_entry *e;
	char buf[65536];
	la_ssize_t n;
	int rc;

	while ((rc = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), "bootstrap") == 0)
			continue;
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return -EIO;
		while ((n = archive_read_data(in, buf, sizeof(buf))) > 0)
			if (archive_write_data(out, buf, (size_t)n) != n)
				return -EIO;
		if (n < 0)
			return -EINVAL;
	}
	return rc == ARCHIVE_EOF ? 0 : -EINVAL;
}

static int add_file(struct archive *out, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(out, e) != ARCHIVE_OK ||
	    archive_write_data(out, data, len) != (la_ssize_t)len)
		r = -EIO;
	archive_entry_free(e);
	return r;
}

int sl_code_with_bootstrap(const void *zip, size_t len, const void *bootstrap, size_t boot_len,
			   void **ret, size_t *ret_len)
{
	struct archive *in = open_zip(zip, len), *out = archive_write_new();
	struct membuf m = {0};
	int r = -ENOMEM;

	if (in && out && archive_write_set_format_zip(out) == ARCHIVE_OK &&
	    archive_write_open2(out, &m, NULL, mem_write, NULL, NULL) == ARCHIVE_OK) {
		r = copy_entries(in, out);
		if (r == 0)
			r = add_file(out, "bootstrap", bootstrap, boot_len);
		if (archive_write_close(out) != ARCHIVE_OK && r == 0)
			r = -EIO;
	}
	archive_read_free(in);
	archive_write_free(out);
	if (r < 0) {
		free(m.p);
		return r;
	}
	*ret = m.p;
	*ret_len = m.len;
	return 0;
}

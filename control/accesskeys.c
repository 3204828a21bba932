// SPDX-License-Identifier: Apache-2.0
/* The callers' access keys (see accesskeys.h). */
#include "accesskeys.h"

#include <sandlot/util.h>

#include <ctype.h>
#include <stdbool.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>

#define AKEYS_FILE_MAX (SL_AKEYS_MAX * 300)

struct akey {
	char account[13];
	char id[SL_AKEY_ID_MAX + 1];
	char secret[SL_AKEY_SECRET_MAX + 1];
};

struct sl_akeys {
	size_t n;
	struct akey keys[];
};

static bool all_of(const char *s, size_t min, size_t max, int (*pred)(int))
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!pred((unsigned char)*s))
			return false;
	return true;
}

static int is_keychar(int c)
{
	return isalnum(c);
}

static int is_secretchar(int c)
{
	return isgraph(c);
}

static int parse_line(char *line, struct akey *k)
{
	char *save = NULL, *acc = strtok_r(line, " \t", &save);
	char *id = strtok_r(NULL, " \t", &save), *secret = strtok_r(NULL, " \t", &save);

	if (!acc || !id || !secret || strtok_r(NULL, " \t", &save))
		return -EINVAL;
	if (!all_of(acc, 12, 12, isdigit) || !all_of(id, 16, SL_AKEY_ID_MAX, is_keychar) ||
	    !all_of(secret, 1, SL_AKEY_SECRET_MAX, is_secretchar))
		return -EINVAL;
	memcpy(k->account, acc, 13);
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->secret, sizeof(k->secret), "%s", secret);
	return 0;
}

int sl_akeys_parse(struct sl_akeys **ret, const char *text, char *whybuf, size_t whylen)
{
	_cleanup_free_ char *copy = strdup(text);
	struct sl_akeys *k = calloc(1, sizeof(*k) + SL_AKEYS_MAX * sizeof(struct akey));
	char *save = NULL, *line;
	unsigned lineno = 0;

	if (!copy || !k) {
		free(k);
		return -ENOMEM;
	}
	for (char *p = copy;; p = NULL) {
		line = strtok_r(p, "\n", &save);
		if (!line)
			break;
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#' || *line == '\r')
			continue;
		line[strcspn(line, "\r")] = '\0';
		if (k->n == SL_AKEYS_MAX) {
			snprintf(whybuf, whylen, "more than %d keys", SL_AKEYS_MAX);
			sl_akeys_free(&k);
			return -E2BIG;
		}
		if (parse_line(line, &k->keys[k->n]) < 0) {
			snprintf(whybuf, whylen,
				 "line %u: expected ACCOUNT_ID(12 digits) ACCESS_KEY_ID(16-128 "
				 "alphanumerics) SECRET",
				 lineno);
			sl_akeys_free(&k);
			return -EINVAL;
		}
		k->n++;
	}
	*ret = k;
	return 0;
}

int sl_akeys_load(struct sl_akeys **ret, const char *path, char *whybuf, size_t whylen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = sl_negerrno();
		snprintf(whybuf, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(whybuf, whylen, "%s: not a regular file of mode 600 (chmod 600)", path);
		return -EPERM;
	}
	buf = malloc(AKEYS_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	r = sl_read_fd(fd, buf, AKEYS_FILE_MAX + 1, &len);
	if (r < 0) {
		snprintf(whybuf, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	buf[len] = '\0';
	r = sl_akeys_parse(ret, buf, whybuf, whylen);
	OPENSSL_cleanse(buf, len);
	return r;
}

void sl_akeys_free(struct sl_akeys **k)
{
	if (!*k)
		return;
	OPENSSL_cleanse((*k)->keys, (*k)->n * sizeof(struct akey));
	free(*k);
	*k = NULL;
}

int sl_akeys_lookup(void *data, const char *access_key_id, char ret_account[13], char *ret_secret,
		    size_t secret_size)
{
	const struct sl_akeys *k = data;

	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->keys[i].id, access_key_id) != 0)
			continue;
		if (strlen(k->keys[i].secret) >= secret_size)
			return -ENOSPC;
		memcpy(ret_account, k->keys[i].account, 13);
		strcpy(ret_secret, k->keys[i].secret);
		return 0;
	}
	return -ENOKEY;
}

size_t sl_akeys_count(const struct sl_akeys *k)
{
	return k->n;
}

const char *sl_akeys_account(const struct sl_akeys *k, size_t i)
{
	return k->keys[i].account;
}

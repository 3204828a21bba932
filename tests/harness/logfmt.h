/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A strict logfmt reader for tests of what sandlot logs: a line is space-separated key=value
 * pairs, a key is [A-Za-z0-9_.-]+, a value is bare (no space, quote or '=') or double-quoted
 * with \" \\ \n escapes. Pure logic, header-only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define LOGFMT_MAX_PAIRS 32

struct logfmt_pair {
	char key[64];
	char value[1024];
};

struct logfmt_line {
	struct logfmt_pair pairs[LOGFMT_MAX_PAIRS];
	size_t n;
};

static inline bool logfmt_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Reads a quoted value at s (after its opening quote); returns the end past it, or NULL. */
static inline const char *logfmt_quoted(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && *s != '"'; s++) {
		char c = *s;

		if (c == '\\') {
			s++;
			if (*s == 'n')
				c = '\n';
			else if (*s == '"' || *s == '\\')
				c = *s;
			else
				return NULL;
		} else if ((unsigned char)c < 0x20) {
			return NULL;
		}
		if (n + 1 >= len)
			return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	return *s == '"' ? s + 1 : NULL;
}

/* Parses one line (without its newline). Returns 0, or -1 when it is not strict logfmt. */
static inline int logfmt_parse(const char *s, struct logfmt_line *ret)
{
	ret->n = 0;
	while (*s) {
		struct logfmt_pair *p;
		size_t k = 0, v = 0;

		if (ret->n == LOGFMT_MAX_PAIRS)
			return -1;
		p = &ret->pairs[ret->n];
		while (logfmt_key_char(*s) && k + 1 < sizeof(p->key))
			p->key[k++] = *s++;
		p->key[k] = '\0';
		if (!k || *s++ != '=')
			return -1;
		if (*s == '"') {
			s = logfmt_quoted(s + 1, p->value, sizeof(p->value));
			if (!s)
				return -1;
		} else {
			while (*s && *s != ' ' && *s != '"' && *s != '=' &&
			       (unsigned char)*s >= 0x20 && v + 1 < sizeof(p->value))
				p->value[v++] = *s++;
			p->value[v] = '\0';
			if (!v)
				return -1;
		}
		ret->n++;
		if (*s == ' ')
			s++;
		else if (*s)
			return -1;
	}
	return ret->n ? 0 : -1;
}

/* The value of key in a parsed line, or NULL. */
static inline const char *logfmt_get(const struct logfmt_line *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->pairs[i].key, key) == 0)
			return l->pairs[i].value;
	return NULL;
}

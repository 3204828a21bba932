// SPDX-License-Identifier: Apache-2.0
/* AWS Signature Version 4 (header form): canonical request, signing key, verification. */
#include "sigv4.h"

#include <sandlot/util.h>

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>

#define ALGORITHM	 "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MAX_HEADERS	 64
#define MAX_PATH	 4096
#define MAX_QUERY	 8192
#define MAX_VALUE	 8192
#define MAX_QUERY_PARAMS 256
#define AMZ_DATE_LEN	 16 /* 20150830T123600Z */
#define HEX_LEN		 64

/* A growing string; on allocation failure it remembers the error and ignores further appends. */
struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_free(struct buf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 256);
		char *p = realloc(b->p, cap);

		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as SigV4 wants it: all but the unreserved set, upper-case hex. */
static void buf_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			buf_addc(b, c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			buf_add(b, e, 3);
		}
	}
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * SHA-256 and HMAC fetched once for the process: OpenSSL 3's one-shot HMAC() and EVP_sha256()
 * look the algorithm up in the provider on every call, which cost more than the hashing itself
 * (bench figures in docs/control.md). Never freed: they live as long as the process.
 */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int sha256_hex(const void *data, size_t n, char out[HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	pthread_once(&fetch_once, fetch);
	if (!sha256_md || !EVP_Digest(data, n, md, &len, sha256_md, NULL) || len != 32)
		return -EIO;
	hex_encode(md, 32, out);
	return 0;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *ctx;
	size_t len = 0;
	int ok;

	pthread_once(&fetch_once, fetch);
	ctx = hmac_mac ? EVP_MAC_CTX_new(hmac_mac) : NULL;
	ok = ctx && EVP_MAC_init(ctx, key, klen, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)msg, strlen(msg)) &&
	     EVP_MAC_final(ctx, out, &len, 32) && len == 32;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/*
 * The signing key of the last scope this thread derived: a client signs every request of a day
 * with the same key, so four of the five HMACs are usually done already. Compared with the
 * secret itself, so a changed secret derives afresh.
 */
struct key_cache {
	bool valid;
	char secret[257], date8[9], region[64], service[64];
	unsigned char key[32];
};

static _Thread_local struct key_cache key_cache;

static int signing_key(const char *secret, const char *date8, const char *region,
		       const char *service, unsigned char ret[32])
{
	struct key_cache *kc = &key_cache;
	char kinit[4 + 256 + 1];
	unsigned char k[32];
	int r;

	if (kc->valid && strcmp(kc->date8, date8) == 0 && strcmp(kc->region, region) == 0 &&
	    strcmp(kc->service, service) == 0 && strlen(secret) == strlen(kc->secret) &&
	    CRYPTO_memcmp(kc->secret, secret, strlen(secret)) == 0) {
		memcpy(ret, kc->key, 32);
		return 0;
	}
	snprintf(kinit, sizeof(kinit), "AWS4%s", secret);
	r = hmac(kinit, strlen(kinit), date8, k);
	if (r == 0)
		r = hmac(k, 32, region, k);
	if (r == 0)
		r = hmac(k, 32, service, k);
	if (r == 0)
		r = hmac(k, 32, "aws4_request", k);
	OPENSSL_cleanse(kinit, sizeof(kinit));
	OPENSSL_cleanse(kc, sizeof(*kc));
	if (r == 0)
		memcpy(ret, k, 32);
	if (r == 0 && strlen(date8) < sizeof(kc->date8) && strlen(region) < sizeof(kc->region) &&
	    strlen(service) < sizeof(kc->service)) {
		*kc = (struct key_cache){.valid = true};
		snprintf(kc->secret, sizeof(kc->secret), "%s", secret);
		snprintf(kc->date8, sizeof(kc->date8), "%s", date8);
		snprintf(kc->region, sizeof(kc->region), "%s", region);
		snprintf(kc->service, sizeof(kc->service), "%s", service);
		memcpy(kc->key, k, 32);
	}
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

/* Canonical URI: dot segments and empty segments removed, a trailing slash kept, then encoded
 * once more (the wire form is already encoded: services other than S3 sign it double-encoded). */
static int canonical_uri(struct buf *b, const char *path)
{
	size_t n = strlen(path), seg[MAX_PATH / 2 + 1], segl[MAX_PATH / 2 + 1], nseg = 0;

	if (n == 0 || n > MAX_PATH || path[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			nseg -= nseg > 0;
		} else if (j - i > 0 && !(j - i == 1 && path[i] == '.')) {
			seg[nseg] = i;
			segl[nseg++] = j - i;
		}
		i = j + 1;
	}
	for (size_t k = 0; k < nseg; k++) {
		buf_addc(b, '/');
		buf_encode(b, path + seg[k], segl[k], false);
	}
	if (nseg == 0 || path[n - 1] == '/')
		buf_addc(b, '/');
	buf_addc(b, '\n');
	return 0;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX in s[0..n) into out (at least n bytes); returns the length or -EINVAL. */
static int pct_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return -EINVAL;
		int hi = unhex(s[i + 1]), lo = unhex(s[i + 2]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	return (int)o;
}

struct qparam {
	char *text; /* "name=value", both encoded canonically */
	size_t name_len;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t n = MIN(x->name_len, y->name_len);
	int r = memcmp(x->text, y->text, n);

	if (r)
		return r;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return strcmp(x->text + x->name_len, y->text + y->name_len);
}

/* One "name[=value]" of the raw query, decoded and encoded again canonically. */
static int qparam_make(const char *s, size_t n, struct qparam *ret)
{
	const char *eq = memchr(s, '=', n);
	size_t nl = eq ? (size_t)(eq - s) : n, vl = eq ? n - nl - 1 : 0;
	_cleanup_free_ char *tmp = malloc(n + 1);
	struct buf b = {0};
	int dn, dv;

	if (!tmp)
		return -ENOMEM;
	dn = pct_decode(s, nl, tmp);
	if (dn < 0)
		return dn;
	buf_encode(&b, tmp, dn, false);
	ret->name_len = b.len;
	buf_addc(&b, '=');
	dv = eq ? pct_decode(eq + 1, vl, tmp) : 0;
	if (dv < 0) {
		buf_free(&b);
		return dv;
	}
	buf_encode(&b, tmp, dv, false);
	if (b.err || !b.p) {
		buf_free(&b);
		return -ENOMEM;
	}
	ret->text = b.p;
	return 0;
}

static int canonical_query(struct buf *b, const char *query)
{
	struct qparam params[MAX_QUERY_PARAMS];
	size_t n = strlen(query), np = 0;
	int r = 0;

	if (n > MAX_QUERY)
		return -EINVAL;
	for (size_t i = 0; i < n && r == 0;) {
		const char *amp = memchr(query + i, '&', n - i);
		size_t j = amp ? (size_t)(amp - query) : n;

		if (j > i) {
			if (np == MAX_QUERY_PARAMS)
				r = -EINVAL;
			else
				r = qparam_make(query + i, j - i, &params[np++]);
			if (r < 0)
				np--;
		}
		i = j + 1;
	}
	if (r == 0) {
		qsort(params, np, sizeof(params[0]), qparam_cmp);
		for (size_t k = 0; k < np; k++) {
			if (k)
				buf_addc(b, '&');
			buf_adds(b, params[k].text);
		}
		buf_addc(b, '\n');
	}
	for (size_t k = 0; k < np; k++)
		free(params[k].text);
	return r;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* A header value trimmed, inner runs of whitespace folded to one space. */
static int add_value(struct buf *b, const char *v)
{
	size_t n = strlen(v);
	bool space = false, any = false;

	if (n > MAX_VALUE)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (is_space(v[i])) {
			space = any;
			continue;
		}
		if (space)
			buf_addc(b, ' ');
		buf_addc(b, v[i]);
		space = false;
		any = true;
	}
	return 0;
}

/* "name:v1,v2\n" for every header of req named name (lowercase), in the order received. */
static int canonical_header(struct buf *b, const struct sl_sigv4_request *req, const char *name)
{
	bool found = false;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) != 0)
			continue;
		if (!found) {
			buf_adds(b, name);
			buf_addc(b, ':');
		} else {
			buf_addc(b, ',');
		}
		found = true;
		if (add_value(b, req->headers[i].value ? req->headers[i].value : "") < 0)
			return -EINVAL;
	}
	if (!found)
		return -EINVAL;
	buf_addc(b, '\n');
	return 0;
}

static const char *find_header(const struct sl_sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/*
 * The payload hash line: x-amz-content-sha256 when it says UNSIGNED-PAYLOAD, else the body's
 * SHA-256 (which must then equal x-amz-content-sha256 when that is present: -EACCES).
 */
static int payload_hash(const struct sl_sigv4_request *req, char out[HEX_LEN + 1])
{
	const char *claimed = find_header(req, "x-amz-content-sha256");
	int r;

	if (claimed && strcmp(claimed, UNSIGNED_PAYLOAD) == 0) {
		strcpy(out, UNSIGNED_PAYLOAD);
		return 0;
	}
	r = sha256_hex(req->body_len ? req->body : "", req->body_len, out);
	if (r < 0)
		return r;
	if (claimed && (strlen(claimed) != HEX_LEN || strcasecmp(claimed, out) != 0))
		return -EACCES;
	return 0;
}

/* Hex SHA-256 of the canonical request; signed is "a;b;c" (lowercase, sorted). */
static int canonical_request_hash(const struct sl_sigv4_request *req, const char *signed_headers,
				  char out[HEX_LEN + 1])
{
	char phash[HEX_LEN + 1], name[129];
	struct buf b = {0};
	int r;

	buf_adds(&b, req->method);
	buf_addc(&b, '\n');
	r = canonical_uri(&b, req->path);
	if (r == 0)
		r = canonical_query(&b, req->query ? req->query : "");
	for (const char *s = signed_headers; r == 0 && *s;) {
		size_t n = strcspn(s, ";");

		if (n == 0 || n >= sizeof(name)) {
			r = -EINVAL;
			break;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		r = canonical_header(&b, req, name);
		s += n + (s[n] == ';');
	}
	if (r == 0)
		r = payload_hash(req, phash);
	if (r == 0) {
		buf_addc(&b, '\n');
		buf_adds(&b, signed_headers);
		buf_addc(&b, '\n');
		buf_adds(&b, phash);
		r = b.err ? b.err : sha256_hex(b.p, b.len, out);
	}
	buf_free(&b);
	return r;
}

/* Hex signature of the canonical request hash creq_hash under the derived key. */
static int signature(const char *secret, const char *date8, const char *region, const char *service,
		     const char *amz_date, const char *creq_hash, char out[HEX_LEN + 1])
{
	unsigned char k[32], sig[32];
	char sts[512];
	int r;

	if (strlen(secret) > 256)
		return -EINVAL;
	r = snprintf(sts, sizeof(sts), ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8,
		     region, service, creq_hash);
	if (r < 0 || (size_t)r >= sizeof(sts))
		r = -EINVAL;
	else if ((r = signing_key(secret, date8, region, service, k)) == 0 &&
		 (r = hmac(k, 32, sts, sig)) == 0)
		hex_encode(sig, 32, out);
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

static int parse_amz_date(const char *s, time_t *ret)
{
	struct tm tm = {0};
	const char *end;

	if (!s || strlen(s) != AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
		return -EINVAL;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return -EINVAL;
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

struct authz {
	char akid[129];
	char date8[9];
	char region[64];
	char service[64];
	char signed_headers[MAX_HEADERS * 65];
	char signature[HEX_LEN + 1];
};

/* Copies s[0..n) into out (size bytes) if every byte satisfies ok; -EINVAL otherwise. */
static int take(const char *s, size_t n, char *out, size_t size, bool (*ok)(char))
{
	if (n == 0 || n >= size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool ok_akid(char c)
{
	return isalnum((unsigned char)c);
}

static bool ok_scope(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '_';
}

static bool ok_digit(char c)
{
	return isdigit((unsigned char)c);
}

static bool ok_hname(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == ';' ||
	       c == '_' || c == '.';
}

static bool ok_hex(char c)
{
	return isdigit((unsigned char)c) || (c >= 'a' && c <= 'f');
}

/* "AKID/20150830/us-east-1/service/aws4_request" */
static int parse_credential(const char *s, size_t n, struct authz *a)
{
	const char *p[5];
	size_t l[5], k = 0;
	int r;

	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (k == 5)
			return -EINVAL;
		p[k] = s + start;
		l[k++] = i - start;
		start = i + 1;
	}
	if (k != 5 || l[1] != 8 || l[4] != strlen("aws4_request") ||
	    memcmp(p[4], "aws4_request", l[4]) != 0)
		return -EINVAL;
	r = take(p[0], l[0], a->akid, sizeof(a->akid), ok_akid);
	if (r == 0)
		r = take(p[1], l[1], a->date8, sizeof(a->date8), ok_digit);
	if (r == 0)
		r = take(p[2], l[2], a->region, sizeof(a->region), ok_scope);
	if (r == 0)
		r = take(p[3], l[3], a->service, sizeof(a->service), ok_scope);
	return r;
}

/* Signed header names: lowercase, strictly sorted, host among them. */
static int check_signed_headers(const char *s)
{
	const char *prev = NULL;
	size_t prevn = 0, count = 0;
	bool host = false;

	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ";");

		if (n == 0 || ++count > MAX_HEADERS)
			return -EINVAL;
		if (prev) {
			int c = memcmp(prev, p, MIN(prevn, n));

			if (c > 0 || (c == 0 && prevn >= n))
				return -EINVAL;
		}
		host |= n == 4 && memcmp(p, "host", 4) == 0;
		prev = p;
		prevn = n;
		p += n + (p[n] == ';');
	}
	return host ? 0 : -EINVAL;
}

/* AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=... (any order, each once). */
static int parse_authorization(const char *v, struct authz *a)
{
	static const char *const keys[] = {"Credential=", "SignedHeaders=", "Signature="};
	bool seen[3] = {false};
	size_t alg = strlen(ALGORITHM);
	const char *p;
	int r = 0;

	if (!v || strlen(v) > MAX_VALUE || strncmp(v, ALGORITHM " ", alg + 1) != 0)
		return -EINVAL;
	p = v + alg + 1;
	while (r == 0 && *p) {
		size_t n, k;

		p += strspn(p, " ");
		n = strcspn(p, ",");
		for (k = 0; k < 3 && strncmp(p, keys[k], strlen(keys[k])) != 0; k++)
			;
		if (k == 3 || seen[k])
			return -EINVAL;
		seen[k] = true;
		size_t kl = strlen(keys[k]), vl = n - kl;

		while (vl && p[kl + vl - 1] == ' ')
			vl--;
		if (k == 0)
			r = parse_credential(p + kl, vl, a);
		else if (k == 1)
			r = take(p + kl, vl, a->signed_headers, sizeof(a->signed_headers),
				 ok_hname);
		else
			r = vl == HEX_LEN
				    ? take(p + kl, vl, a->signature, sizeof(a->signature), ok_hex)
				    : -EINVAL;
		p += n + (p[n] == ',');
	}
	if (r == 0 && !(seen[0] && seen[1] && seen[2]))
		r = -EINVAL;
	return r ? r : check_signed_headers(a->signed_headers);
}

/* Exactly one header called name, or NULL (absent or repeated). */
static const char *single_header(const struct sl_sigv4_request *req, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) != 0)
			continue;
		if (v)
			return NULL;
		v = req->headers[i].value;
	}
	return v;
}

static bool request_ok(const struct sl_sigv4_request *req)
{
	if (!req || !req->method || !req->path || (!req->headers && req->nheaders) ||
	    req->nheaders > MAX_HEADERS || (!req->body && req->body_len))
		return false;
	for (size_t i = 0; i < req->nheaders; i++)
		if (!req->headers[i].name || !req->headers[i].value)
			return false;
	return true;
}

int sl_sigv4_verify(const struct sl_sigv4_request *req, time_t now, sl_sigv4_lookup_fn lookup,
		    void *data, struct sl_sigv4_identity *ret)
{
	struct authz a;
	const char *amz_date;
	char account[13] = "", secret[257], creq[HEX_LEN + 1], sig[HEX_LEN + 1];
	time_t t;
	int r;

	if (!request_ok(req) || !lookup || !ret)
		return -EINVAL;
	amz_date = single_header(req, "x-amz-date");
	r = parse_authorization(single_header(req, "authorization"), &a);
	if (r == 0)
		r = parse_amz_date(amz_date, &t);
	if (r == 0 && memcmp(a.date8, amz_date, 8) != 0)
		r = -EINVAL;
	if (r < 0)
		return r;
	if (t > now + SL_SIGV4_SKEW_S || t < now - SL_SIGV4_SKEW_S)
		return -ETIME;
	r = lookup(data, a.akid, account, secret, sizeof(secret));
	if (r < 0)
		return r == -ENOKEY ? -ENOKEY : r;
	secret[sizeof(secret) - 1] = '\0';
	r = canonical_request_hash(req, a.signed_headers, creq);
	if (r == 0)
		r = signature(secret, a.date8, a.region, a.service, amz_date, creq, sig);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(sig, a.signature, HEX_LEN) != 0)
		return -EACCES;
	snprintf(ret->account, sizeof(ret->account), "%s", account);
	snprintf(ret->access_key_id, sizeof(ret->access_key_id), "%s", a.akid);
	snprintf(ret->region, sizeof(ret->region), "%s", a.region);
	snprintf(ret->service, sizeof(ret->service), "%s", a.service);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a;b;c": every header name of req, lowercased, sorted, without repeats. */
static int signed_list(const struct sl_sigv4_request *req, char *out, size_t size)
{
	char names[MAX_HEADERS][65], *sorted[MAX_HEADERS];
	size_t len = 0;

	for (size_t i = 0; i < req->nheaders; i++) {
		size_t n = strlen(req->headers[i].name);

		if (n == 0 || n >= sizeof(names[i]))
			return -EINVAL;
		for (size_t k = 0; k <= n; k++)
			names[i][k] = (char)tolower((unsigned char)req->headers[i].name[k]);
		sorted[i] = names[i];
	}
	qsort(sorted, req->nheaders, sizeof(sorted[0]), name_cmp);
	out[0] = '\0';
	for (size_t i = 0; i < req->nheaders; i++) {
		if (i && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		int w = snprintf(out + len, size - len, "%s%s", len ? ";" : "", sorted[i]);

		if (w < 0 || (size_t)w >= size - len)
			return -EINVAL;
		len += w;
	}
	return 0;
}

int sl_sigv4_sign(const struct sl_sigv4_request *req, const char *access_key_id, const char *secret,
		  const char *region, const char *service, const char *amz_date, char *ret_auth,
		  size_t size)
{
	char list[MAX_HEADERS * 65], creq[HEX_LEN + 1], sig[HEX_LEN + 1], date8[9];
	time_t t;
	int r, w;

	if (!request_ok(req) || !access_key_id || !secret || !region || !service || !ret_auth ||
	    parse_amz_date(amz_date, &t) < 0 || !single_header(req, "host") ||
	    !single_header(req, "x-amz-date"))
		return -EINVAL;
	r = signed_list(req, list, sizeof(list));
	if (r == 0)
		r = canonical_request_hash(req, list, creq);
	snprintf(date8, sizeof(date8), "%s", amz_date);
	if (r == 0)
		r = signature(secret, date8, region, service, amz_date, creq, sig);
	if (r < 0)
		return r == -EACCES ? -EINVAL : r;
	w = snprintf(ret_auth, size,
		     ALGORITHM
		     " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		     access_key_id, date8, region, service, list, sig);
	return w < 0 || (size_t)w >= size ? -ENOSPC : 0;
}

// SPDX-License-Identifier: Apache-2.0
/* HMAC-SHA256 sealing and verification of frames, with OpenSSL's EVP_MAC. */
#include <sandlot/auth.h>
#include <sandlot/proto.h>
#include <sandlot/util.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct sl_key {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx; /* initialized with the key once; re-initialized per frame */
};

void sl_key_free(struct sl_key **k)
{
	if (!k || !*k)
		return;
	EVP_MAC_CTX_free((*k)->ctx); /* OpenSSL cleanses the key material it holds */
	EVP_MAC_free((*k)->mac);
	free(*k);
	*k = NULL;
}

int sl_key_new(struct sl_key **ret, const void *bytes, size_t len)
{
	struct sl_key *k;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!ret || !bytes || len < SL_KEY_MIN || len > SL_KEY_MAX)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	k->ctx = k->mac ? EVP_MAC_CTX_new(k->mac) : NULL;
	if (!k->ctx || !EVP_MAC_init(k->ctx, bytes, len, params)) {
		sl_key_free(&k);
		return -EIO;
	}
	*ret = k;
	return 0;
}

int sl_key_load(struct sl_key **ret, const char *path, const char **why)
{
	unsigned char buf[SL_KEY_MAX + 1];
	_cleanup_close_ int fd = -1;
	const char *dummy;
	struct stat st;
	size_t len = 0;
	int r;

	if (!why)
		why = &dummy;
	*why = "cannot open key file";
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sl_negerrno();
	if (fstat(fd, &st) < 0)
		return sl_negerrno();
	if (!S_ISREG(st.st_mode)) {
		*why = "key file is not a regular file";
		return -EINVAL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		*why = "key file is accessible by other users (chmod 600)";
		return -EPERM;
	}
	r = sl_read_fd(fd, buf, sizeof(buf), &len);
	if (r == 0 && len < SL_KEY_MIN) {
		*why = "key file shorter than 32 bytes";
		r = -EINVAL;
	} else if (r == -EFBIG) {
		*why = "key file longer than 4096 bytes";
	} else if (r == 0) {
		*why = "cannot set up HMAC-SHA256";
		r = sl_key_new(ret, buf, len);
	} else {
		*why = "cannot read key file";
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int compute_mac(struct sl_key *k, const void *frame, size_t len,
		       unsigned char mac[SL_PROTO_MAC_SIZE])
{
	size_t out = 0;

	if (!k || !frame || len < SL_PROTO_OVERHEAD)
		return -EINVAL;
	/* A NULL key re-initializes the context with the key it already holds. */
	if (!EVP_MAC_init(k->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(k->ctx, frame, len - SL_PROTO_MAC_SIZE) ||
	    !EVP_MAC_final(k->ctx, mac, &out, SL_PROTO_MAC_SIZE) || out != SL_PROTO_MAC_SIZE)
		return -EIO;
	return 0;
}

int sl_auth_seal(struct sl_key *k, void *frame, size_t len)
{
	unsigned char mac[SL_PROTO_MAC_SIZE];
	int r = compute_mac(k, frame, len, mac);

	if (r < 0)
		return r;
	memcpy((unsigned char *)frame + len - SL_PROTO_MAC_SIZE, mac, sizeof(mac));
	return 0;
}

int sl_auth_verify(struct sl_key *k, const void *frame, size_t len)
{
	unsigned char mac[SL_PROTO_MAC_SIZE];
	int r = compute_mac(k, frame, len, mac);

	if (r < 0)
		return r;
	if (CRYPTO_memcmp(mac, (const unsigned char *)frame + len - SL_PROTO_MAC_SIZE,
			  sizeof(mac)) != 0)
		return -EKEYREJECTED;
	return 0;
}

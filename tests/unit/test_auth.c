// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"
#include "proto-samples.h"

#include <sandlot/auth.h>
#include <sandlot/proto.h>
#include <sandlot/util.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[32] = "0123456789abcdef0123456789abcdeF";

/* Writes len bytes to a fresh file /tmp/sl-wire-<pid>-key-XXXXXX with mode; returns its path. */
static char *write_key(size_t len, mode_t mode)
{
	char *path = NULL;
	_cleanup_free_ unsigned char *bytes = malloc(len + 1);
	int fd;

	assert_true(asprintf(&path, "/tmp/sl-wire-%d-key-XXXXXX", (int)getpid()) > 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++)
		bytes[i] = (unsigned char)(i * 7);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static int load(size_t len, mode_t mode, const char **why)
{
	_cleanup_free_ char *path = write_key(len, mode);
	struct sl_key *k = NULL;
	int r = sl_key_load(&k, path, why);

	unlink(path);
	assert_true((r == 0) == (k != NULL));
	sl_key_free(&k);
	assert_null(k);
	return r;
}

static void key_file_is_validated(void **state)
{
	const char *why = NULL;
	struct sl_key *k = NULL;

	assert_int_equal(load(32, 0600, &why), 0);
	assert_int_equal(load(64, 0640, &why), 0);
	assert_int_equal(load(SL_KEY_MAX, 0400, &why), 0);
	assert_int_equal(load(64, 0644, &why), -EPERM);
	assert_string_equal(why, "key file is accessible by other users (chmod 600)");
	assert_int_equal(load(64, 0602, &why), -EPERM);
	assert_int_equal(load(31, 0600, &why), -EINVAL);
	assert_string_equal(why, "key file shorter than 32 bytes");
	assert_int_equal(load(0, 0600, &why), -EINVAL);
	assert_int_equal(load(SL_KEY_MAX + 1, 0600, &why), -EFBIG);
	assert_string_equal(why, "key file longer than 4096 bytes");
	assert_int_equal(sl_key_load(&k, "/tmp", &why), -EINVAL);
	assert_string_equal(why, "key file is not a regular file");
	assert_int_equal(sl_key_load(&k, "/nonexistent/sl-wire-key", &why), -ENOENT);
	assert_null(k);
	assert_int_equal(sl_key_new(&k, key_a, 31), -EINVAL);
	sl_key_free(NULL);
}

static void sealed_frames_verify(void **state)
{
	struct sl_key *k = NULL;

	assert_int_equal(sl_key_new(&k, key_a, sizeof(key_a)), 0);
	for (unsigned t = 1; t < _SL_MSG_TYPE_MAX; t++) {
		_cleanup_free_ unsigned char *buf = NULL;
		size_t n = sample_frame(t, &buf);

		assert_int_equal(sl_auth_verify(k, buf, n), -EKEYREJECTED); /* zero MAC */
		assert_int_equal(sl_auth_seal(k, buf, n), 0);
		assert_int_equal(sl_auth_verify(k, buf, n), 0);
	}
	sl_key_free(&k);
}

static void any_flipped_bit_fails_the_mac(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_INVOKE, &buf);
	struct sl_key *k = NULL;

	assert_int_equal(sl_key_new(&k, key_a, sizeof(key_a)), 0);
	assert_int_equal(sl_auth_seal(k, buf, n), 0);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			buf[i] ^= (unsigned char)(1u << bit);
			assert_int_equal(sl_auth_verify(k, buf, n), -EKEYREJECTED);
			buf[i] ^= (unsigned char)(1u << bit);
		}
	}
	assert_int_equal(sl_auth_verify(k, buf, n), 0);
	/* A shorter frame (MAC moved) does not verify either. */
	assert_int_equal(sl_auth_verify(k, buf, n - 1), -EKEYREJECTED);
	assert_int_equal(sl_auth_verify(k, buf, SL_PROTO_OVERHEAD - 1), -EINVAL);
	sl_key_free(&k);
}

static void another_key_fails_the_mac(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_HEARTBEAT, &buf);
	struct sl_key *a = NULL, *b = NULL;

	assert_int_equal(sl_key_new(&a, key_a, sizeof(key_a)), 0);
	assert_int_equal(sl_key_new(&b, key_b, sizeof(key_b)), 0);
	assert_int_equal(sl_auth_seal(a, buf, n), 0);
	assert_int_equal(sl_auth_verify(b, buf, n), -EKEYREJECTED);
	assert_int_equal(sl_auth_verify(a, buf, n), 0);
	sl_key_free(&a);
	sl_key_free(&b);
}

static void mac_is_hmac_sha256(void **state)
{
	/* RFC 4231 test case 7: a 131-byte key of 0xaa, 152 bytes of data. */
	static const unsigned char want[32] = {0x9b, 0x09, 0xff, 0xa7, 0x1b, 0x94, 0x2f, 0xcb,
					       0x27, 0x63, 0x5f, 0xbc, 0xd5, 0xb0, 0xe9, 0x44,
					       0xbf, 0xdc, 0x63, 0x64, 0x4f, 0x07, 0x13, 0x93,
					       0x8a, 0x7f, 0x51, 0x53, 0x5c, 0x3a, 0x35, 0xe2};
	const char *data = "This is a test using a larger than block-size key and a larger "
			   "than block-size data. The key needs to be hashed before being "
			   "used by the HMAC algorithm.";
	unsigned char keybytes[131], frame[256];
	size_t len = strlen(data);
	struct sl_key *k = NULL;

	memset(keybytes, 0xaa, sizeof(keybytes));
	assert_int_equal(sl_key_new(&k, keybytes, sizeof(keybytes)), 0);
	memcpy(frame, data, len);
	memset(frame + len, 0, SL_PROTO_MAC_SIZE);
	/* Any byte string can be sealed: the MAC covers all but the last 32 bytes. */
	assert_int_equal(sl_auth_seal(k, frame, len + SL_PROTO_MAC_SIZE), 0);
	assert_memory_equal(frame + len, want, sizeof(want));
	sl_key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_file_is_validated),
		cmocka_unit_test(sealed_frames_verify),
		cmocka_unit_test(any_flipped_bit_fails_the_mac),
		cmocka_unit_test(another_key_fails_the_mac),
		cmocka_unit_test(mac_is_hmac_sha256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

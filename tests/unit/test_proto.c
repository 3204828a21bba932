// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"
#include "proto-samples.h"

#include <sandlot/proto.h>
#include <sandlot/util.h>

#include <errno.h>

/* --- a hand-rolled frame builder, to put on the wire what the encoder refuses to --- */

struct frame {
	unsigned char b[1 << 16];
	size_t n;
};

static void f_uint(struct frame *f, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		f->b[f->n++] = (unsigned char)(v >> (8 * i));
}

static void f_bytes(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void f_str(struct frame *f, const char *s)
{
	f_uint(f, strlen(s), 2);
	f_bytes(f, s, strlen(s) + 1);
}

/* Starts a frame with a valid header of type; f_end() fixes body_len and appends the MAC. */
static void f_begin(struct frame *f, unsigned type)
{
	f->n = 0;
	f_uint(f, SL_PROTO_MAGIC, 4);
	f_uint(f, SL_PROTO_VERSION, 2);
	f_uint(f, type, 2);
	f_uint(f, 0, 4); /* flags */
	f_uint(f, 0, 4); /* body_len, set by f_end */
	f_uint(f, 1, 8); /* corr_id */
	f_uint(f, 2, 8); /* src */
	f_uint(f, 3, 8); /* dst */
	f_uint(f, 4, 8); /* nonce */
	f_uint(f, 5, 8); /* seq */
	f_uint(f, 6, 8); /* ts */
}

static size_t f_end(struct frame *f)
{
	uint32_t body = (uint32_t)(f->n - SL_PROTO_HDR_SIZE);

	for (unsigned i = 0; i < 4; i++)
		f->b[12 + i] = (unsigned char)(body >> (8 * i));
	memset(f->b + f->n, 0, SL_PROTO_MAC_SIZE);
	f->n += SL_PROTO_MAC_SIZE;
	return f->n;
}

static int decode(const void *buf, size_t len)
{
	struct sl_msg m;

	return sl_proto_decode(buf, len, &m, NULL);
}

/* --- behaviours --- */

static void every_type_round_trips(void **state)
{
	for (unsigned t = 1; t < _SL_MSG_TYPE_MAX; t++) {
		_cleanup_free_ unsigned char *buf = NULL, *again = NULL;
		size_t n = sample_frame(t, &buf);
		struct sl_msg in, out;
		const char *why = NULL;

		sample_msg(t, &in);
		assert_int_equal(sl_proto_decode(buf, n, &out, &why), 0);
		assert_int_equal(out.type, t);
		assert_int_equal(out.flags, in.flags);
		assert_true(out.corr_id == in.corr_id && out.src_id == in.src_id &&
			    out.dst_id == in.dst_id && out.nonce == in.nonce && out.seq == in.seq &&
			    out.ts_ns == in.ts_ns);
		/* Every field is encoded, so equal bytes after re-encoding mean equal fields. */
		again = malloc(n);
		assert_int_equal(sl_proto_encode(&out, again, n, &why), (long)n);
		assert_memory_equal(buf, again, n);
		assert_string_equal(sl_proto_type_name(t), sl_proto_type_name(out.type));
	}
}

static void decode_points_into_the_frame(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_INVOKE, &buf);
	struct sl_msg m;

	assert_int_equal(sl_proto_decode(buf, n, &m, NULL), 0);
	assert_true((const unsigned char *)m.invoke.function >= buf &&
		    (const unsigned char *)m.invoke.function < buf + n);
	assert_string_equal(m.invoke.function, "hello-world");
	assert_string_equal(m.invoke.version, "$LATEST");
	assert_true(m.invoke.log_tail);
	assert_int_equal(m.invoke.payload_len, 33);
	assert_memory_equal(m.invoke.payload, "{\"key1\"", 7);
}

static void every_truncation_is_rejected(void **state)
{
	for (unsigned t = 1; t < _SL_MSG_TYPE_MAX; t++) {
		_cleanup_free_ unsigned char *buf = NULL;
		size_t n = sample_frame(t, &buf);
		struct frame *f = malloc(sizeof(*f));

		/* Cut frames: the header's body length no longer matches. */
		for (size_t len = 0; len < n; len++)
			assert_true(decode(buf, len) < 0);
		/* Cut bodies with a consistent header: every field must notice. */
		for (size_t body = 0; body < n - SL_PROTO_OVERHEAD; body++) {
			int r;

			memcpy(f->b, buf, SL_PROTO_HDR_SIZE + body);
			f->n = SL_PROTO_HDR_SIZE + body;
			r = decode(f->b, f_end(f));
			if (r != -EBADMSG)
				fail_msg("type %u body cut at %zu: %d", t, body, r);
		}
		free(f);
	}
}

static void trailing_bytes_are_rejected(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_DESTROY, &buf);
	struct frame f;
	const char *why = NULL;
	struct sl_msg m;

	memcpy(f.b, buf, n - SL_PROTO_MAC_SIZE);
	f.n = n - SL_PROTO_MAC_SIZE;
	f.b[f.n++] = 0;
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "trailing bytes after the body");
}

static void a_failed_decode_leaves_ret_untouched(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_DESTROY, &buf);
	struct sl_msg m, before;
	struct frame f;

	memset(&m, 0xa5, sizeof(m));
	before = m;
	/* a whole header and body, then one byte too many: fails after the body is read */
	memcpy(f.b, buf, n - SL_PROTO_MAC_SIZE);
	f.n = n - SL_PROTO_MAC_SIZE;
	f.b[f.n++] = 0;
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, NULL), -EBADMSG);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(sl_proto_decode(buf, n, &m, NULL), 0);
	assert_int_equal(m.type, SL_MSG_DESTROY);
}

static void bad_magic_version_type_and_flags_are_rejected(void **state)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_DRAIN, &buf);
	const char *why = NULL;
	struct sl_msg m;

	buf[0] ^= 1;
	assert_int_equal(sl_proto_decode(buf, n, &m, &why), -EBADMSG);
	assert_string_equal(why, "bad magic");
	buf[0] ^= 1;
	buf[4] = 2; /* version 2 */
	assert_int_equal(sl_proto_decode(buf, n, &m, &why), -EPROTONOSUPPORT);
	assert_string_equal(why, "unsupported protocol version");
	buf[4] = SL_PROTO_VERSION;
	for (unsigned t = 0; t < 3; t++) {
		uint16_t types[] = {0, _SL_MSG_TYPE_MAX, 0xffff};

		buf[6] = (unsigned char)types[t];
		buf[7] = (unsigned char)(types[t] >> 8);
		assert_int_equal(sl_proto_decode(buf, n, &m, &why), -ENOMSG);
	}
	buf[6] = SL_MSG_DRAIN;
	buf[7] = 0;
	buf[9] = 0x80; /* an unknown flag */
	assert_int_equal(sl_proto_decode(buf, n, &m, &why), -EBADMSG);
	buf[9] = 0;
	assert_int_equal(sl_proto_decode(buf, n, &m, &why), 0);
}

static void frame_size_is_bounded(void **state)
{
	unsigned char hdr[SL_PROTO_OVERHEAD] = {0};
	struct sl_msg_hdr h;

	assert_int_equal(sl_proto_peek(hdr, SL_PROTO_OVERHEAD - 1, &h, NULL), -EMSGSIZE);
	assert_int_equal(sl_proto_peek(hdr, SL_PROTO_MAX_FRAME + 1ul, &h, NULL), -EMSGSIZE);
	assert_int_equal(sl_proto_peek(NULL, 100, &h, NULL), -EMSGSIZE);
}

static void payload_of_six_mib_fits_and_one_more_byte_does_not(void **state)
{
	_cleanup_free_ unsigned char *payload = calloc(1, SL_MSG_PAYLOAD_MAX + 1);
	_cleanup_free_ unsigned char *buf = malloc(SL_PROTO_MAX_FRAME);
	struct sl_msg m, out;
	long n;

	sample_msg(SL_MSG_INVOKE_RESULT, &m);
	m.result.payload = payload;
	m.result.payload_len = SL_MSG_PAYLOAD_MAX;
	n = sl_proto_encode(&m, buf, SL_PROTO_MAX_FRAME, NULL);
	assert_true(n > (long)SL_MSG_PAYLOAD_MAX && n <= (long)SL_PROTO_MAX_FRAME);
	assert_int_equal(sl_proto_decode(buf, (size_t)n, &out, NULL), 0);
	assert_int_equal(out.result.payload_len, SL_MSG_PAYLOAD_MAX);
	m.result.payload_len = SL_MSG_PAYLOAD_MAX + 1;
	assert_int_equal(sl_proto_encode(&m, buf, SL_PROTO_MAX_FRAME, NULL), -ERANGE);
	assert_int_equal(sl_proto_size(&m), -ERANGE);
	m.result.payload_len = 10;
	assert_int_equal(sl_proto_encode(&m, buf, 20, NULL), -ENOBUFS);
}

static void oversize_fields_on_the_wire_are_rejected(void **state)
{
	struct frame f;
	char id[SL_MSG_ID_MAX + 2];
	const char *why = NULL;
	struct sl_msg m;

	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0'; /* 65 characters */
	f_begin(&f, SL_MSG_DESTROY);
	f_str(&f, id);
	f_uint(&f, 0, 1);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "string longer than its bound");

	/* A blob length past its bound is refused before its bytes are looked for. */
	f_begin(&f, SL_MSG_CODE_CHUNK);
	f_bytes(&f, id, 32);
	f_uint(&f, 1 << 20, 8);
	f_uint(&f, 0, 8);
	f_uint(&f, SL_MSG_CHUNK_MAX + 1, 4);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "blob longer than its bound");

	/* Counts beyond their arrays. */
	f_begin(&f, SL_MSG_FULL_STATE);
	f_uint(&f, 1000, 4);
	f_uint(&f, 0, 4);
	f_uint(&f, SL_MSG_STATE_CHUNK + 1, 2);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "too many sandboxes in one chunk");

	/* Values: decode applies the same bounds as encode. */
	f_begin(&f, SL_MSG_DRAIN);
	f_uint(&f, SL_MSG_TIMEOUT_MS_MAX + 1, 4);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -ERANGE);
	assert_string_equal(why, "drain deadline out of range");

	f_begin(&f, SL_MSG_CODE_CHUNK);
	f_bytes(&f, id, 32);
	f_uint(&f, 100, 8); /* total */
	f_uint(&f, 95, 8);  /* offset */
	f_uint(&f, 10, 4);  /* 10 bytes: past the total */
	f_bytes(&f, id, 10);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -ERANGE);
	assert_string_equal(why, "code chunk beyond the package's size");
}

static void bad_strings_are_rejected(void **state)
{
	struct frame f;
	const char *why = NULL;
	struct sl_msg m;

	/* Embedded NUL. */
	f_begin(&f, SL_MSG_DESTROY);
	f_uint(&f, 3, 2);
	f_bytes(&f, "a\0b", 4);
	f_uint(&f, 0, 1);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "string with an embedded NUL");
	/* No terminator. */
	f_begin(&f, SL_MSG_DESTROY);
	f_uint(&f, 3, 2);
	f_bytes(&f, "abcd", 4);
	f_uint(&f, 0, 1);
	assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EBADMSG);
	assert_string_equal(why, "string without its NUL terminator");
	/* Path-like identifiers never reach the agent's cgroup paths. */
	const char *bad_ids[] = {"..", "../etc", "a/b", ".hidden", "", "sp ace", "nl\n"};
	for (unsigned i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		f_begin(&f, SL_MSG_DESTROY);
		f_str(&f, bad_ids[i]);
		f_uint(&f, 0, 1);
		assert_int_equal(sl_proto_decode(f.b, f_end(&f), &m, &why), -EINVAL);
		assert_string_equal(why, "bad sandbox id");
	}
	/* Control characters in text. */
	sample_msg(SL_MSG_ERROR, &m);
	m.error.message = "line\nbreak";
	assert_int_equal(sl_proto_check(&m, &why), -EINVAL);
	/* Booleans are 0 or 1. */
	_cleanup_free_ unsigned char *buf = NULL;
	size_t n = sample_frame(SL_MSG_INVOKE, &buf);
	unsigned char *flag = buf + n - SL_PROTO_MAC_SIZE - 4 - 33 - 1;
	assert_int_equal(*flag, 1);
	*flag = 2;
	assert_int_equal(sl_proto_decode(buf, n, &m, &why), -EBADMSG);
	assert_string_equal(why, "boolean field is neither 0 nor 1");
}

static void values_out_of_bounds_are_refused(void **state)
{
	struct sl_msg m;
	const char *why = NULL;
	unsigned char buf[4096];

	sample_msg(SL_MSG_CREATE_SANDBOX, &m);
	m.create.memory_mb = SL_MSG_MEMORY_MB_MIN - 1;
	assert_int_equal(sl_proto_encode(&m, buf, sizeof(buf), &why), -ERANGE);
	m.create.memory_mb = 128;
	m.create.timeout_ms = 0;
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	m.create.timeout_ms = 1000;
	m.create.env[0].key = "1BAD";
	assert_int_equal(sl_proto_check(&m, &why), -EINVAL);
	m.create.env[0].key = "OK";
	m.create.env_count = SL_MSG_ENV_MAX + 1;
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	/* 4 KB of environment in total. */
	static char big[SL_MSG_ENV_TOTAL_MAX];
	memset(big, 'x', sizeof(big) - 1);
	m.create.env_count = 1;
	m.create.env[0].value = big;
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	assert_string_equal(why, "environment larger than 4 KB");

	sample_msg(SL_MSG_FULL_STATE, &m);
	m.state.sandboxes[1].state = SL_SANDBOX_DESTROYED;
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	sample_msg(SL_MSG_FULL_STATE, &m);
	m.state.offset = 8; /* 8 + 3 > 10 */
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	sample_msg(SL_MSG_REGISTER, &m);
	m.reg.endpoint = "http://10.0.0.5:7401";
	assert_int_equal(sl_proto_check(&m, &why), -EINVAL);
	sample_msg(SL_MSG_HEARTBEAT, &m);
	m.dst_id = 0; /* only REGISTER may go to "whoever" */
	assert_int_equal(sl_proto_check(&m, &why), -EINVAL);
	sample_msg(SL_MSG_HEARTBEAT, &m);
	m.seq = 0;
	assert_int_equal(sl_proto_check(&m, &why), -EINVAL);
	sample_msg(SL_MSG_ERROR, &m);
	m.error.code = _SL_ERR_MAX;
	assert_int_equal(sl_proto_check(&m, &why), -ERANGE);
	m.type = _SL_MSG_TYPE_MAX;
	assert_int_equal(sl_proto_check(&m, &why), -ENOMSG);
}

static void names_are_stable(void **state)
{
	assert_string_equal(sl_proto_type_name(SL_MSG_INVOKE_RESULT), "invoke_result");
	assert_string_equal(sl_proto_type_name(999), "?");
	assert_string_equal(sl_proto_state_name(SL_SANDBOX_FROZEN), "frozen");
	assert_string_equal(sl_proto_reason_name(SL_REASON_KEEP_ALIVE), "keep_alive");
	assert_true(sl_proto_valid_id("$LATEST"));
	assert_true(sl_proto_valid_id("arn:aws:x"));
	assert_false(sl_proto_valid_id(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_type_round_trips),
		cmocka_unit_test(decode_points_into_the_frame),
		cmocka_unit_test(every_truncation_is_rejected),
		cmocka_unit_test(trailing_bytes_are_rejected),
		cmocka_unit_test(a_failed_decode_leaves_ret_untouched),
		cmocka_unit_test(bad_magic_version_type_and_flags_are_rejected),
		cmocka_unit_test(frame_size_is_bounded),
		cmocka_unit_test(payload_of_six_mib_fits_and_one_more_byte_does_not),
		cmocka_unit_test(oversize_fields_on_the_wire_are_rejected),
		cmocka_unit_test(bad_strings_are_rejected),
		cmocka_unit_test(values_out_of_bounds_are_refused),
		cmocka_unit_test(names_are_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

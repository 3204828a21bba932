// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the wire decoder (built with clang -fsanitize=fuzzer,address,undefined
 * by tests/CMakeLists.txt). Properties checked on every input:
 *   - decode, peek and MAC verification never read out of bounds or hit undefined behaviour;
 *   - whatever decodes re-encodes to the very same bytes (one validator, no lossy field);
 *   - every string of a decoded message is NUL-terminated inside the frame;
 *   - the replay tracker keeps its invariants whatever header fields it is fed.
 */
#include <sandlot/auth.h>
#include <sandlot/proto.h>
#include <sandlot/replay.h>

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_key *key;
static struct sl_replay *replay;

static void init(void)
{
	static const unsigned char k[32] = "fuzzing-key-fuzzing-key-fuzzing";

	if (key)
		return;
	if (sl_key_new(&key, k, sizeof(k)) < 0 || sl_replay_new(&replay, 16, 30000000000ull) < 0)
		abort();
}

static void in_frame(const void *p, const uint8_t *data, size_t size)
{
	const uint8_t *s = p;

	if (!s || s < data || s >= data + size || strnlen((const char *)s, size) >= size)
		abort();
	if (s + strlen((const char *)s) >= data + size)
		abort();
}

static void check_strings(const struct sl_msg *m, const uint8_t *data, size_t size)
{
	switch (m->type) {
	case SL_MSG_REGISTER:
		in_frame(m->reg.name, data, size);
		in_frame(m->reg.endpoint, data, size);
		break;
	case SL_MSG_INVOKE:
		in_frame(m->invoke.request_id, data, size);
		in_frame(m->invoke.client_context, data, size);
		break;
	case SL_MSG_CREATE_SANDBOX:
		for (uint32_t i = 0; i < m->create.env_count; i++)
			in_frame(m->create.env[i].value, data, size);
		break;
	case SL_MSG_FULL_STATE:
		for (uint32_t i = 0; i < m->state.count; i++)
			in_frame(m->state.sandboxes[i].version, data, size);
		break;
	case SL_MSG_ERROR:
		in_frame(m->error.message, data, size);
		break;
	}
}

static void round_trip(const struct sl_msg *m, const uint8_t *data, size_t size)
{
	uint8_t *again = malloc(size);
	const char *why = NULL;
	long n;

	if (!again)
		abort();
	n = sl_proto_encode(m, again, size, &why);
	if (n != (long)size || memcmp(again, data, size - SL_PROTO_MAC_SIZE) != 0) {
		fprintf(stderr, "decoded frame re-encodes differently (%ld, %s)\n", n,
			why ? why : "-");
		abort();
	}
	/* A sealed copy verifies; the MAC is over exactly these bytes. */
	if (sl_auth_seal(key, again, size) < 0 || sl_auth_verify(key, again, size) != 0)
		abort();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_msg_hdr h;
	struct sl_msg m;
	int r;

	init();
	if (sl_proto_peek(data, size, &h, NULL) == 0) {
		uint64_t now = h.ts_ns - (h.corr_id % 60000000000ull);

		r = sl_auth_verify(key, data, size);
		if (r != 0 && r != -EKEYREJECTED)
			abort();
		r = sl_replay_accept(replay, h.src_id, h.nonce, h.seq, h.ts_ns, now);
		if (r > 1 || sl_replay_count(replay) > 16)
			abort();
	}
	if (sl_proto_decode(data, size, &m, NULL) == 0) {
		check_strings(&m, data, size);
		round_trip(&m, data, size);
	}
	return 0;
}

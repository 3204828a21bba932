// SPDX-License-Identifier: Apache-2.0
/* Wire protocol: encoding and decoding of frames (see <sandlot/proto.h> for the layout). */
#include <sandlot/proto.h>
#include <sandlot/util.h>

#include <stddef.h>
#include <string.h>

/* Writer: with p == NULL it only counts, which is how sl_proto_size() works. */
struct wr {
	uint8_t *p;
	size_t len, off;
	bool overflow;
};

static void put_bytes(struct wr *w, const void *v, size_t n)
{
	if (w->p) {
		if (w->overflow || n > w->len - w->off) {
			w->overflow = true;
			return;
		}
		if (n > 0)
			memcpy(w->p + w->off, v, n);
	}
	w->off += n;
}

static void put_uint(struct wr *w, uint64_t v, unsigned width)
{
	uint8_t b[8];

	for (unsigned i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, width);
}

#define put_u8(w, v)  put_uint(w, v, 1)
#define put_u16(w, v) put_uint(w, v, 2)
#define put_u32(w, v) put_uint(w, v, 4)
#define put_u64(w, v) put_uint(w, v, 8)

/* Strings are checked (bounded) by sl_proto_check() before anything is written. */
static void put_str(struct wr *w, const char *s)
{
	size_t n = strlen(s);

	put_u16(w, n);
	put_bytes(w, s, n + 1);
}

static void put_blob(struct wr *w, const void *v, uint32_t n)
{
	put_u32(w, n);
	put_bytes(w, v, n);
}

/* Reader over the body. Every get_* fails (returns false) once anything was out of bounds. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *why;
};

static bool rd_fail(struct rd *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return false;
}

static bool get_uint(struct rd *r, uint64_t *v, unsigned width)
{
	uint64_t x = 0;

	if (r->why)
		return false;
	if (width > r->len - r->off)
		return rd_fail(r, "truncated body");
	for (unsigned i = 0; i < width; i++)
		x |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += width;
	*v = x;
	return true;
}

static bool get_u8(struct rd *r, uint8_t *v)
{
	uint64_t x = 0;
	bool ok = get_uint(r, &x, 1);

	*v = (uint8_t)x;
	return ok;
}

static bool get_u16(struct rd *r, uint16_t *v)
{
	uint64_t x = 0;
	bool ok = get_uint(r, &x, 2);

	*v = (uint16_t)x;
	return ok;
}

static bool get_u32(struct rd *r, uint32_t *v)
{
	uint64_t x = 0;
	bool ok = get_uint(r, &x, 4);

	*v = (uint32_t)x;
	return ok;
}

static bool get_u64(struct rd *r, uint64_t *v)
{
	return get_uint(r, v, 8);
}

static bool get_bool(struct rd *r, bool *v)
{
	uint8_t b = 0;

	if (!get_u8(r, &b))
		return false;
	if (b > 1)
		return rd_fail(r, "boolean field is neither 0 nor 1");
	*v = b;
	return true;
}

static bool get_fixed(struct rd *r, uint8_t *v, size_t n)
{
	if (r->why)
		return false;
	if (n > r->len - r->off)
		return rd_fail(r, "truncated body");
	memcpy(v, r->p + r->off, n);
	r->off += n;
	return true;
}

/* A string: u16 length, bytes, NUL. Lengths beyond max are refused before anything else. */
static bool get_str(struct rd *r, const char **v, size_t max)
{
	uint16_t n = 0;
	const char *s;

	if (!get_u16(r, &n))
		return false;
	if (n > max)
		return rd_fail(r, "string longer than its bound");
	if ((size_t)n + 1 > r->len - r->off)
		return rd_fail(r, "truncated string");
	s = (const char *)r->p + r->off;
	if (s[n] != '\0')
		return rd_fail(r, "string without its NUL terminator");
	if (memchr(s, '\0', n))
		return rd_fail(r, "string with an embedded NUL");
	r->off += (size_t)n + 1;
	*v = s;
	return true;
}

static bool get_blob(struct rd *r, const void **v, uint32_t *vlen, size_t max)
{
	uint32_t n = 0;

	if (!get_u32(r, &n))
		return false;
	if (n > max)
		return rd_fail(r, "blob longer than its bound");
	if (n > r->len - r->off)
		return rd_fail(r, "truncated blob");
	*v = r->p + r->off;
	*vlen = n;
	r->off += n;
	return true;
}

/* --- encoding --- */

static void put_sandbox(struct wr *w, const struct sl_msg_sandbox *s)
{
	put_str(w, s->sandbox_id);
	put_str(w, s->function);
	put_str(w, s->version);
	put_u8(w, s->state);
	put_u8(w, s->reason);
	put_u64(w, s->at_ns);
	put_u64(w, s->created_ns);
	put_u64(w, s->last_active_ns);
	put_u64(w, s->memory_bytes);
}

static void put_register(struct wr *w, const struct sl_msg_register *m)
{
	put_str(w, m->name);
	put_str(w, m->zone);
	put_str(w, m->version);
	put_str(w, m->endpoint);
	put_u64(w, m->memory_capacity);
	put_u32(w, m->max_sandboxes);
	put_u32(w, m->ncpus);
}

static void put_heartbeat(struct wr *w, const struct sl_msg_heartbeat *m)
{
	put_str(w, m->endpoint);
	put_u32(w, m->cpu_millis);
	put_u32(w, m->inflight);
	put_u64(w, m->memory_used);
	put_u32(w, m->created);
	put_u32(w, m->busy);
	put_u32(w, m->idle);
	put_u32(w, m->frozen);
}

static void put_create(struct wr *w, const struct sl_msg_create *m)
{
	put_str(w, m->sandbox_id);
	put_str(w, m->function);
	put_str(w, m->version);
	put_str(w, m->handler);
	put_bytes(w, m->code_sha256, sizeof(m->code_sha256));
	put_u64(w, m->code_size);
	put_u32(w, m->memory_mb);
	put_u32(w, m->timeout_ms);
	put_u16(w, m->env_count);
	for (uint32_t i = 0; i < m->env_count; i++) {
		put_str(w, m->env[i].key);
		put_str(w, m->env[i].value);
	}
}

static void put_invoke(struct wr *w, const struct sl_msg_invoke *m)
{
	put_str(w, m->request_id);
	put_str(w, m->sandbox_id);
	put_str(w, m->function);
	put_str(w, m->version);
	put_str(w, m->function_arn);
	put_str(w, m->trace_id);
	put_str(w, m->client_context);
	put_u64(w, m->deadline_ns);
	put_u8(w, m->log_tail);
	put_blob(w, m->payload, m->payload_len);
}

static void put_result(struct wr *w, const struct sl_msg_invoke_result *m)
{
	put_str(w, m->request_id);
	put_str(w, m->sandbox_id);
	put_str(w, m->function_error);
	put_u8(w, m->status);
	put_u64(w, m->init_ns);
	put_u64(w, m->duration_ns);
	put_u64(w, m->max_memory_bytes);
	put_blob(w, m->payload, m->payload_len);
	put_blob(w, m->log_tail, m->log_tail_len);
}

static void put_body(struct wr *w, const struct sl_msg *m)
{
	switch (m->type) {
	case SL_MSG_REGISTER:
		return put_register(w, &m->reg);
	case SL_MSG_REGISTER_ACK:
		put_str(w, m->reg_ack.version);
		return put_u32(w, m->reg_ack.heartbeat_ms);
	case SL_MSG_HEARTBEAT:
		return put_heartbeat(w, &m->heartbeat);
	case SL_MSG_SANDBOX_EVENT:
		return put_sandbox(w, &m->event);
	case SL_MSG_FULL_STATE:
		put_u32(w, m->state.total);
		put_u32(w, m->state.offset);
		put_u16(w, m->state.count);
		for (uint32_t i = 0; i < m->state.count; i++)
			put_sandbox(w, &m->state.sandboxes[i]);
		return;
	case SL_MSG_CREATE_SANDBOX:
		return put_create(w, &m->create);
	case SL_MSG_INVOKE:
		return put_invoke(w, &m->invoke);
	case SL_MSG_INVOKE_RESULT:
		return put_result(w, &m->result);
	case SL_MSG_DESTROY:
		put_str(w, m->destroy.sandbox_id);
		return put_u8(w, m->destroy.reason);
	case SL_MSG_DRAIN:
		return put_u32(w, m->drain.deadline_ms);
	case SL_MSG_CODE_FETCH:
		put_bytes(w, m->fetch.sha256, sizeof(m->fetch.sha256));
		put_u64(w, m->fetch.offset);
		return put_u32(w, m->fetch.length);
	case SL_MSG_CODE_CHUNK:
		put_bytes(w, m->chunk.sha256, sizeof(m->chunk.sha256));
		put_u64(w, m->chunk.total_size);
		put_u64(w, m->chunk.offset);
		return put_blob(w, m->chunk.data, m->chunk.data_len);
	case SL_MSG_ERROR:
		put_u32(w, m->error.code);
		put_u16(w, m->error.ref_type);
		return put_str(w, m->error.message);
	}
}

static void put_header(struct wr *w, const struct sl_msg *m, size_t body_len)
{
	put_u32(w, SL_PROTO_MAGIC);
	put_u16(w, SL_PROTO_VERSION);
	put_u16(w, m->type);
	put_u32(w, m->flags);
	put_u32(w, body_len);
	put_u64(w, m->corr_id);
	put_u64(w, m->src_id);
	put_u64(w, m->dst_id);
	put_u64(w, m->nonce);
	put_u64(w, m->seq);
	put_u64(w, m->ts_ns);
}

/* Frame size of a checked message, or -EMSGSIZE. */
static long frame_size(const struct sl_msg *m)
{
	struct wr w = {0};

	put_body(&w, m);
	if (w.off > SL_PROTO_MAX_FRAME - SL_PROTO_OVERHEAD)
		return -EMSGSIZE;
	return (long)(w.off + SL_PROTO_OVERHEAD);
}

long sl_proto_size(const struct sl_msg *m)
{
	int r = sl_proto_check(m, NULL);

	return r < 0 ? r : frame_size(m);
}

long sl_proto_encode(const struct sl_msg *m, void *buf, size_t len, const char **why)
{
	static const uint8_t zero_mac[SL_PROTO_MAC_SIZE];
	struct wr w = {.p = buf, .len = len};
	const char *dummy;
	long size;
	int r;

	if (!why)
		why = &dummy;
	r = sl_proto_check(m, why);
	if (r < 0)
		return r;
	size = frame_size(m);
	if (size < 0) {
		*why = "message larger than the maximum frame";
		return size;
	}
	if (!buf || (size_t)size > len) {
		*why = "buffer too small for the frame";
		return -ENOBUFS;
	}
	put_header(&w, m, (size_t)size - SL_PROTO_OVERHEAD);
	put_body(&w, m);
	put_bytes(&w, zero_mac, sizeof(zero_mac));
	if (w.overflow || w.off != (size_t)size)
		return -EIO; /* cannot happen: size was computed by the same code */
	return size;
}

/* --- decoding --- */

int sl_proto_peek(const void *buf, size_t len, struct sl_msg_hdr *ret, const char **why)
{
	struct rd r = {.p = buf, .len = SL_PROTO_HDR_SIZE};
	struct sl_msg_hdr h;
	uint32_t magic = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (!buf || len < SL_PROTO_OVERHEAD || len > SL_PROTO_MAX_FRAME) {
		*why = len > SL_PROTO_MAX_FRAME ? "frame larger than the maximum"
						: "frame shorter than header and MAC";
		return -EMSGSIZE;
	}
	get_u32(&r, &magic);
	get_u16(&r, &h.version);
	get_u16(&r, &h.type);
	get_u32(&r, &h.flags);
	get_u32(&r, &h.body_len);
	get_u64(&r, &h.corr_id);
	get_u64(&r, &h.src_id);
	get_u64(&r, &h.dst_id);
	get_u64(&r, &h.nonce);
	get_u64(&r, &h.seq);
	get_u64(&r, &h.ts_ns);
	if (magic != SL_PROTO_MAGIC) {
		*why = "bad magic";
		return -EBADMSG;
	}
	if (h.version != SL_PROTO_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (h.body_len != len - SL_PROTO_OVERHEAD) {
		*why = "body length does not match the frame";
		return -EBADMSG;
	}
	*ret = h;
	return 0;
}

static bool get_sandbox(struct rd *r, struct sl_msg_sandbox *s)
{
	return get_str(r, &s->sandbox_id, SL_MSG_ID_MAX) &&
	       get_str(r, &s->function, SL_MSG_ID_MAX) && get_str(r, &s->version, SL_MSG_ID_MAX) &&
	       get_u8(r, &s->state) && get_u8(r, &s->reason) && get_u64(r, &s->at_ns) &&
	       get_u64(r, &s->created_ns) && get_u64(r, &s->last_active_ns) &&
	       get_u64(r, &s->memory_bytes);
}

static bool get_register(struct rd *r, struct sl_msg_register *m)
{
	return get_str(r, &m->name, SL_MSG_ID_MAX) && get_str(r, &m->zone, SL_MSG_ID_MAX) &&
	       get_str(r, &m->version, SL_MSG_ID_MAX) &&
	       get_str(r, &m->endpoint, SL_MSG_TEXT_MAX) && get_u64(r, &m->memory_capacity) &&
	       get_u32(r, &m->max_sandboxes) && get_u32(r, &m->ncpus);
}

static bool get_heartbeat(struct rd *r, struct sl_msg_heartbeat *m)
{
	return get_str(r, &m->endpoint, SL_MSG_TEXT_MAX) && get_u32(r, &m->cpu_millis) &&
	       get_u32(r, &m->inflight) && get_u64(r, &m->memory_used) && get_u32(r, &m->created) &&
	       get_u32(r, &m->busy) && get_u32(r, &m->idle) && get_u32(r, &m->frozen);
}

static bool get_full_state(struct rd *r, struct sl_msg_full_state *m)
{
	uint16_t count = 0;

	if (!get_u32(r, &m->total) || !get_u32(r, &m->offset) || !get_u16(r, &count))
		return false;
	if (count > SL_MSG_STATE_CHUNK)
		return rd_fail(r, "too many sandboxes in one chunk");
	m->count = count;
	for (uint32_t i = 0; i < count; i++)
		if (!get_sandbox(r, &m->sandboxes[i]))
			return false;
	return true;
}

static bool get_create(struct rd *r, struct sl_msg_create *m)
{
	uint16_t count = 0;

	if (!get_str(r, &m->sandbox_id, SL_MSG_ID_MAX) ||
	    !get_str(r, &m->function, SL_MSG_ID_MAX) || !get_str(r, &m->version, SL_MSG_ID_MAX) ||
	    !get_str(r, &m->handler, SL_MSG_HANDLER_MAX) ||
	    !get_fixed(r, m->code_sha256, sizeof(m->code_sha256)) || !get_u64(r, &m->code_size) ||
	    !get_u32(r, &m->memory_mb) || !get_u32(r, &m->timeout_ms) || !get_u16(r, &count))
		return false;
	if (count > SL_MSG_ENV_MAX)
		return rd_fail(r, "too many environment variables");
	m->env_count = count;
	for (uint32_t i = 0; i < count; i++)
		if (!get_str(r, &m->env[i].key, SL_MSG_ENV_KEY_MAX) ||
		    !get_str(r, &m->env[i].value, SL_MSG_ENV_TOTAL_MAX))
			return false;
	return true;
}

static bool get_invoke(struct rd *r, struct sl_msg_invoke *m)
{
	return get_str(r, &m->request_id, SL_MSG_ID_MAX) &&
	       get_str(r, &m->sandbox_id, SL_MSG_ID_MAX) &&
	       get_str(r, &m->function, SL_MSG_ID_MAX) && get_str(r, &m->version, SL_MSG_ID_MAX) &&
	       get_str(r, &m->function_arn, SL_MSG_TEXT_MAX) &&
	       get_str(r, &m->trace_id, SL_MSG_TEXT_MAX) &&
	       get_str(r, &m->client_context, SL_MSG_CLIENT_CTX_MAX) &&
	       get_u64(r, &m->deadline_ns) && get_bool(r, &m->log_tail) &&
	       get_blob(r, &m->payload, &m->payload_len, SL_MSG_PAYLOAD_MAX);
}

static bool get_result(struct rd *r, struct sl_msg_invoke_result *m)
{
	return get_str(r, &m->request_id, SL_MSG_ID_MAX) &&
	       get_str(r, &m->sandbox_id, SL_MSG_ID_MAX) &&
	       get_str(r, &m->function_error, SL_MSG_ERRTYPE_MAX) && get_u8(r, &m->status) &&
	       get_u64(r, &m->init_ns) && get_u64(r, &m->duration_ns) &&
	       get_u64(r, &m->max_memory_bytes) &&
	       get_blob(r, &m->payload, &m->payload_len, SL_MSG_PAYLOAD_MAX) &&
	       get_blob(r, &m->log_tail, &m->log_tail_len, SL_MSG_LOG_TAIL_MAX);
}

static bool get_body(struct rd *r, struct sl_msg *m)
{
	switch (m->type) {
	case SL_MSG_REGISTER:
		return get_register(r, &m->reg);
	case SL_MSG_REGISTER_ACK:
		return get_str(r, &m->reg_ack.version, SL_MSG_ID_MAX) &&
		       get_u32(r, &m->reg_ack.heartbeat_ms);
	case SL_MSG_HEARTBEAT:
		return get_heartbeat(r, &m->heartbeat);
	case SL_MSG_SANDBOX_EVENT:
		return get_sandbox(r, &m->event);
	case SL_MSG_FULL_STATE:
		return get_full_state(r, &m->state);
	case SL_MSG_CREATE_SANDBOX:
		return get_create(r, &m->create);
	case SL_MSG_INVOKE:
		return get_invoke(r, &m->invoke);
	case SL_MSG_INVOKE_RESULT:
		return get_result(r, &m->result);
	case SL_MSG_DESTROY:
		return get_str(r, &m->destroy.sandbox_id, SL_MSG_ID_MAX) &&
		       get_u8(r, &m->destroy.reason);
	case SL_MSG_DRAIN:
		return get_u32(r, &m->drain.deadline_ms);
	case SL_MSG_CODE_FETCH:
		return get_fixed(r, m->fetch.sha256, sizeof(m->fetch.sha256)) &&
		       get_u64(r, &m->fetch.offset) && get_u32(r, &m->fetch.length);
	case SL_MSG_CODE_CHUNK:
		return get_fixed(r, m->chunk.sha256, sizeof(m->chunk.sha256)) &&
		       get_u64(r, &m->chunk.total_size) && get_u64(r, &m->chunk.offset) &&
		       get_blob(r, &m->chunk.data, &m->chunk.data_len, SL_MSG_CHUNK_MAX);
	case SL_MSG_ERROR:
		return get_u32(r, &m->error.code) && get_u16(r, &m->error.ref_type) &&
		       get_str(r, &m->error.message, SL_MSG_ERRMSG_MAX);
	default:
		return rd_fail(r, "unknown message type");
	}
}

/* How much of a struct sl_msg each type uses: the header and its member of the union. */
#define USED(member) (offsetof(struct sl_msg, member) + sizeof(((struct sl_msg *)0)->member))
static const size_t used_size[_SL_MSG_TYPE_MAX] = {
	[SL_MSG_REGISTER] = USED(reg),	      [SL_MSG_REGISTER_ACK] = USED(reg_ack),
	[SL_MSG_HEARTBEAT] = USED(heartbeat), [SL_MSG_SANDBOX_EVENT] = USED(event),
	[SL_MSG_FULL_STATE] = USED(state),    [SL_MSG_CREATE_SANDBOX] = USED(create),
	[SL_MSG_INVOKE] = USED(invoke),	      [SL_MSG_INVOKE_RESULT] = USED(result),
	[SL_MSG_DESTROY] = USED(destroy),     [SL_MSG_DRAIN] = USED(drain),
	[SL_MSG_CODE_FETCH] = USED(fetch),    [SL_MSG_CODE_CHUNK] = USED(chunk),
	[SL_MSG_ERROR] = USED(error),
};
#undef USED

int sl_proto_decode(const void *buf, size_t len, struct sl_msg *ret, const char **why)
{
	struct sl_msg_hdr h;
	struct sl_msg m;
	struct rd r;
	const char *dummy;
	size_t used;
	int k;

	if (!why)
		why = &dummy;
	k = sl_proto_peek(buf, len, &h, why);
	if (k < 0)
		return k;
	if (h.type < 1 || h.type >= _SL_MSG_TYPE_MAX) {
		*why = "unknown message type";
		return -ENOMSG;
	}
	if (h.flags & ~SL_MSG_F_ALL) {
		*why = "unknown header flags";
		return -EBADMSG;
	}
	/* only the part this type uses: a whole struct sl_msg is 8 KB (FULL_STATE's table) */
	used = used_size[h.type];
	memset(&m, 0, used);
	m.type = h.type;
	m.flags = h.flags;
	m.corr_id = h.corr_id;
	m.dst_id = h.dst_id;
	m.src_id = h.src_id;
	m.nonce = h.nonce;
	m.seq = h.seq;
	m.ts_ns = h.ts_ns;
	r = (struct rd){.p = (const uint8_t *)buf + SL_PROTO_HDR_SIZE, .len = h.body_len};
	if (!get_body(&r, &m)) {
		*why = r.why;
		return -EBADMSG;
	}
	if (r.off != r.len) {
		*why = "trailing bytes after the body";
		return -EBADMSG;
	}
	k = sl_proto_check(&m, why);
	if (k < 0)
		return k;
	memcpy(ret, &m, used); /* only now: a failed decode leaves *ret untouched */
	return k;
}

/* --- names --- */

static const char *const type_names[_SL_MSG_TYPE_MAX] = {
	[SL_MSG_REGISTER] = "register",	    [SL_MSG_REGISTER_ACK] = "register_ack",
	[SL_MSG_HEARTBEAT] = "heartbeat",   [SL_MSG_SANDBOX_EVENT] = "sandbox_event",
	[SL_MSG_FULL_STATE] = "full_state", [SL_MSG_CREATE_SANDBOX] = "create_sandbox",
	[SL_MSG_INVOKE] = "invoke",	    [SL_MSG_INVOKE_RESULT] = "invoke_result",
	[SL_MSG_DESTROY] = "destroy",	    [SL_MSG_DRAIN] = "drain",
	[SL_MSG_CODE_FETCH] = "code_fetch", [SL_MSG_CODE_CHUNK] = "code_chunk",
	[SL_MSG_ERROR] = "error",
};

static const char *const state_names[_SL_SANDBOX_STATE_MAX] = {
	[SL_SANDBOX_CREATED] = "created",     [SL_SANDBOX_BUSY] = "busy",
	[SL_SANDBOX_IDLE] = "idle",	      [SL_SANDBOX_FROZEN] = "frozen",
	[SL_SANDBOX_DESTROYED] = "destroyed",
};

static const char *const reason_names[_SL_REASON_MAX] = {
	[SL_REASON_NONE] = "none",
	[SL_REASON_COMMAND] = "command",
	[SL_REASON_INVOKE] = "invoke",
	[SL_REASON_COMPLETE] = "complete",
	[SL_REASON_IDLE] = "idle",
	[SL_REASON_ACTIVE] = "active",
	[SL_REASON_FREEZE] = "freeze",
	[SL_REASON_KEEP_ALIVE] = "keep_alive",
	[SL_REASON_EVICTED] = "evicted",
	[SL_REASON_TIMEOUT] = "timeout",
	[SL_REASON_INIT_ERROR] = "init_error",
	[SL_REASON_CRASH] = "crash",
	[SL_REASON_DRAIN] = "drain",
};

const char *sl_proto_type_name(unsigned type)
{
	return type < ARRAY_SIZE(type_names) && type_names[type] ? type_names[type] : "?";
}

const char *sl_proto_state_name(unsigned state)
{
	return state < ARRAY_SIZE(state_names) && state_names[state] ? state_names[state] : "?";
}

const char *sl_proto_reason_name(unsigned reason)
{
	return reason < ARRAY_SIZE(reason_names) && reason_names[reason] ? reason_names[reason]
									 : "?";
}

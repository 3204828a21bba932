// SPDX-License-Identifier: Apache-2.0
/* Wire protocol: the bounds every message obeys, applied on encode and decode alike. */
#include <sandlot/proto.h>

#include <errno.h>
#include <string.h>

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '$' || c == '-';
}

bool sl_proto_valid_id(const char *s)
{
	size_t n;

	if (!s || s[0] == '\0' || s[0] == '.')
		return false;
	for (n = 0; s[n]; n++)
		if (n >= SL_MSG_ID_MAX || !id_char(s[n]))
			return false;
	return true;
}

/* Printable text: bytes >= 0x20 except DEL, so that it is safe in logs and headers. */
static bool valid_text(const char *s, size_t max, bool empty_ok)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++)
		if (n >= max || (unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n > 0 || empty_ok;
}

static bool valid_env_key(const char *s)
{
	size_t n;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (n = 0; s[n]; n++)
		if (n >= SL_MSG_ENV_KEY_MAX ||
		    !(id_char(s[n]) && s[n] != '.' && s[n] != ':' && s[n] != '$' && s[n] != '-'))
			return false;
	return true;
}

static bool valid_endpoint(const char *s)
{
	return valid_text(s, SL_MSG_TEXT_MAX, false) &&
	       (strncmp(s, "tcp://", 6) == 0 || strncmp(s, "ipc://", 6) == 0) && strlen(s) > 6;
}

#define CHECK(cond, err, reason)       \
	do {                           \
		if (!(cond)) {         \
			*why = reason; \
			return err;    \
		}                      \
	} while (0)

static int check_sandbox(const struct sl_msg_sandbox *s, bool live, const char **why)
{
	CHECK(sl_proto_valid_id(s->sandbox_id), -EINVAL, "bad sandbox id");
	CHECK(sl_proto_valid_id(s->function), -EINVAL, "bad function name");
	CHECK(sl_proto_valid_id(s->version), -EINVAL, "bad function version");
	CHECK(s->state >= SL_SANDBOX_CREATED && s->state < _SL_SANDBOX_STATE_MAX, -ERANGE,
	      "unknown sandbox state");
	CHECK(!live || s->state != SL_SANDBOX_DESTROYED, -ERANGE,
	      "destroyed sandbox in full state");
	CHECK(s->reason < _SL_REASON_MAX, -ERANGE, "unknown transition reason");
	return 0;
}

static int check_register(const struct sl_msg_register *m, const char **why)
{
	CHECK(sl_proto_valid_id(m->name), -EINVAL, "bad host name");
	CHECK(sl_proto_valid_id(m->zone), -EINVAL, "bad zone");
	CHECK(sl_proto_valid_id(m->version), -EINVAL, "bad agent version");
	CHECK(valid_endpoint(m->endpoint), -EINVAL, "bad endpoint (want tcp:// or ipc://)");
	CHECK(m->memory_capacity > 0 && m->memory_capacity <= (1ull << 50), -ERANGE,
	      "memory capacity out of range");
	CHECK(m->max_sandboxes >= 1 && m->max_sandboxes <= SL_MSG_SANDBOXES_MAX, -ERANGE,
	      "max sandboxes out of range");
	CHECK(m->ncpus >= 1 && m->ncpus <= SL_MSG_CPUS_MAX, -ERANGE, "cpu count out of range");
	return 0;
}

static int check_heartbeat(const struct sl_msg_heartbeat *m, const char **why)
{
	CHECK(valid_endpoint(m->endpoint), -EINVAL, "bad endpoint (want tcp:// or ipc://)");
	CHECK(m->cpu_millis <= SL_MSG_CPUS_MAX * 1000u, -ERANGE, "cpu use out of range");
	CHECK(m->memory_used <= (1ull << 50), -ERANGE, "memory use out of range");
	CHECK(m->inflight <= SL_MSG_SANDBOXES_MAX && m->created <= SL_MSG_SANDBOXES_MAX &&
		      m->busy <= SL_MSG_SANDBOXES_MAX && m->idle <= SL_MSG_SANDBOXES_MAX &&
		      m->frozen <= SL_MSG_SANDBOXES_MAX,
	      -ERANGE, "sandbox count out of range");
	return 0;
}

static int check_full_state(const struct sl_msg_full_state *m, const char **why)
{
	int r;

	CHECK(m->total <= SL_MSG_SANDBOXES_MAX, -ERANGE, "sandbox total out of range");
	CHECK(m->count <= SL_MSG_STATE_CHUNK, -ERANGE, "too many sandboxes in one chunk");
	CHECK(m->offset <= m->total && m->count <= m->total - m->offset, -ERANGE,
	      "chunk beyond the report's total");
	for (uint32_t i = 0; i < m->count; i++) {
		r = check_sandbox(&m->sandboxes[i], true, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_create(const struct sl_msg_create *m, const char **why)
{
	size_t total = 0;

	CHECK(sl_proto_valid_id(m->sandbox_id), -EINVAL, "bad sandbox id");
	CHECK(sl_proto_valid_id(m->function), -EINVAL, "bad function name");
	CHECK(sl_proto_valid_id(m->version), -EINVAL, "bad function version");
	CHECK(valid_text(m->handler, SL_MSG_HANDLER_MAX, true), -EINVAL, "bad handler");
	CHECK(m->code_size >= 1 && m->code_size <= SL_MSG_CODE_MAX, -ERANGE,
	      "code size out of range");
	CHECK(m->memory_mb >= SL_MSG_MEMORY_MB_MIN && m->memory_mb <= SL_MSG_MEMORY_MB_MAX, -ERANGE,
	      "memory size out of range");
	CHECK(m->timeout_ms >= 1 && m->timeout_ms <= SL_MSG_TIMEOUT_MS_MAX, -ERANGE,
	      "timeout out of range");
	CHECK(m->env_count <= SL_MSG_ENV_MAX, -ERANGE, "too many environment variables");
	for (uint32_t i = 0; i < m->env_count; i++) {
		CHECK(valid_env_key(m->env[i].key), -EINVAL, "bad environment variable name");
		CHECK(m->env[i].value, -EINVAL, "environment variable without a value");
		total += strlen(m->env[i].key) + strlen(m->env[i].value);
		CHECK(total <= SL_MSG_ENV_TOTAL_MAX, -ERANGE, "environment larger than 4 KB");
	}
	return 0;
}

static int check_invoke(const struct sl_msg_invoke *m, const char **why)
{
	CHECK(sl_proto_valid_id(m->request_id), -EINVAL, "bad request id");
	CHECK(m->sandbox_id && (m->sandbox_id[0] == '\0' || sl_proto_valid_id(m->sandbox_id)),
	      -EINVAL, "bad sandbox id");
	CHECK(sl_proto_valid_id(m->function), -EINVAL, "bad function name");
	CHECK(sl_proto_valid_id(m->version), -EINVAL, "bad function version");
	CHECK(valid_text(m->function_arn, SL_MSG_TEXT_MAX, false), -EINVAL, "bad function ARN");
	CHECK(valid_text(m->trace_id, SL_MSG_TEXT_MAX, true), -EINVAL, "bad trace id");
	CHECK(valid_text(m->client_context, SL_MSG_CLIENT_CTX_MAX, true), -EINVAL,
	      "bad client context");
	CHECK(m->deadline_ns > 0, -ERANGE, "no deadline");
	CHECK(m->payload_len <= SL_MSG_PAYLOAD_MAX, -ERANGE, "payload larger than 6 MiB");
	CHECK(m->payload || m->payload_len == 0, -EINVAL, "payload length without data");
	return 0;
}

static int check_result(const struct sl_msg_invoke_result *m, const char **why)
{
	CHECK(sl_proto_valid_id(m->request_id), -EINVAL, "bad request id");
	CHECK(m->sandbox_id && (m->sandbox_id[0] == '\0' || sl_proto_valid_id(m->sandbox_id)),
	      -EINVAL, "bad sandbox id");
	CHECK(valid_text(m->function_error, SL_MSG_ERRTYPE_MAX, true), -EINVAL,
	      "bad function error type");
	CHECK(m->status < _SL_INVOKE_STATUS_MAX, -ERANGE, "unknown invoke status");
	CHECK(m->payload_len <= SL_MSG_PAYLOAD_MAX, -ERANGE, "payload larger than 6 MiB");
	CHECK(m->payload || m->payload_len == 0, -EINVAL, "payload length without data");
	CHECK(m->log_tail_len <= SL_MSG_LOG_TAIL_MAX, -ERANGE, "log tail larger than 4 KB");
	CHECK(m->log_tail || m->log_tail_len == 0, -EINVAL, "log tail length without data");
	return 0;
}

static int check_code(const struct sl_msg *m, const char **why)
{
	if (m->type == SL_MSG_CODE_FETCH) {
		CHECK(m->fetch.offset < SL_MSG_CODE_MAX, -ERANGE, "code offset out of range");
		CHECK(m->fetch.length >= 1 && m->fetch.length <= SL_MSG_CHUNK_MAX, -ERANGE,
		      "code fetch length out of range");
		return 0;
	}
	CHECK(m->chunk.total_size >= 1 && m->chunk.total_size <= SL_MSG_CODE_MAX, -ERANGE,
	      "code size out of range");
	CHECK(m->chunk.data_len <= SL_MSG_CHUNK_MAX, -ERANGE, "code chunk larger than 256 KiB");
	CHECK(m->chunk.data || m->chunk.data_len == 0, -EINVAL, "chunk length without data");
	CHECK(m->chunk.offset <= m->chunk.total_size &&
		      m->chunk.data_len <= m->chunk.total_size - m->chunk.offset,
	      -ERANGE, "code chunk beyond the package's size");
	return 0;
}

static int check_body(const struct sl_msg *m, const char **why)
{
	switch (m->type) {
	case SL_MSG_REGISTER:
		return check_register(&m->reg, why);
	case SL_MSG_REGISTER_ACK:
		CHECK(sl_proto_valid_id(m->reg_ack.version), -EINVAL, "bad control version");
		CHECK(m->reg_ack.heartbeat_ms >= SL_MSG_HEARTBEAT_MS_MIN &&
			      m->reg_ack.heartbeat_ms <= SL_MSG_HEARTBEAT_MS_MAX,
		      -ERANGE, "heartbeat interval out of range");
		return 0;
	case SL_MSG_HEARTBEAT:
		return check_heartbeat(&m->heartbeat, why);
	case SL_MSG_SANDBOX_EVENT:
		return check_sandbox(&m->event, false, why);
	case SL_MSG_FULL_STATE:
		return check_full_state(&m->state, why);
	case SL_MSG_CREATE_SANDBOX:
		return check_create(&m->create, why);
	case SL_MSG_INVOKE:
		return check_invoke(&m->invoke, why);
	case SL_MSG_INVOKE_RESULT:
		return check_result(&m->result, why);
	case SL_MSG_DESTROY:
		CHECK(sl_proto_valid_id(m->destroy.sandbox_id), -EINVAL, "bad sandbox id");
		CHECK(m->destroy.reason < _SL_REASON_MAX, -ERANGE, "unknown destroy reason");
		return 0;
	case SL_MSG_DRAIN:
		CHECK(m->drain.deadline_ms <= SL_MSG_TIMEOUT_MS_MAX, -ERANGE,
		      "drain deadline out of range");
		return 0;
	case SL_MSG_CODE_FETCH:
	case SL_MSG_CODE_CHUNK:
		return check_code(m, why);
	case SL_MSG_ERROR:
		CHECK(m->error.code >= 1 && m->error.code < _SL_ERR_MAX, -ERANGE,
		      "unknown error code");
		CHECK(m->error.ref_type < _SL_MSG_TYPE_MAX, -ERANGE, "unknown referenced type");
		CHECK(valid_text(m->error.message, SL_MSG_ERRMSG_MAX, true), -EINVAL,
		      "bad error message");
		return 0;
	default:
		*why = "unknown message type";
		return -ENOMSG;
	}
}

int sl_proto_check(const struct sl_msg *m, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	CHECK(m, -EINVAL, "no message");
	CHECK(m->type >= 1 && m->type < _SL_MSG_TYPE_MAX, -ENOMSG, "unknown message type");
	CHECK((m->flags & ~SL_MSG_F_ALL) == 0, -EBADMSG, "unknown header flags");
	CHECK(m->src_id != 0, -EINVAL, "sender id 0");
	CHECK(m->nonce != 0, -EINVAL, "session nonce 0");
	CHECK(m->seq != 0, -EINVAL, "sequence number 0");
	CHECK(m->dst_id != 0 || m->type == SL_MSG_REGISTER, -EINVAL,
	      "receiver id 0 outside REGISTER");
	return check_body(m, why);
}

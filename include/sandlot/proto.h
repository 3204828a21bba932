/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent <-> control wire protocol: versioned binary messages, encoded and decoded here
 * without any I/O or crypto (sealing is <sandlot/auth.h>, sockets are <sandlot/link.h>).
 *
 * Frame layout, all integers little-endian, fixed width:
 *
 *   off  size  field
 *     0     4  magic      "SLND" (0x444e4c53)
 *     4     2  version    SL_PROTO_VERSION; anything else is rejected (-EPROTONOSUPPORT)
 *     6     2  type       enum sl_msg_type; unknown types are rejected (-ENOMSG)
 *     8     4  flags      SL_MSG_F_*; unknown bits are rejected
 *    12     4  body_len   must equal frame length - SL_PROTO_OVERHEAD
 *    16     8  corr_id    correlation id: a reply carries the id of its request
 *    24     8  src_id     sender id (non-zero)
 *    32     8  dst_id     receiver id; 0 ("whoever listens") only on REGISTER
 *    40     8  nonce      sender session nonce, random on every start (non-zero)
 *    48     8  seq        per-session sequence number, strictly increasing from 1
 *    56     8  ts_ns      sender wall clock (ns since the epoch) when sealed
 *    64     n  body       type-specific, see below
 *  64+n    32  mac        HMAC-SHA256 over bytes [0, 64+n) under the cluster key
 *
 * Body fields: u8/u16/u32/u64 little-endian; strings as u16 length + bytes + one NUL byte
 * (the length excludes the NUL; embedded NULs are rejected); blobs as u32 length + bytes.
 * Every length and value has a bound below; a frame with trailing bytes is rejected.
 *
 * Decoding is zero-copy: sl_proto_decode() fills a caller-owned struct sl_msg whose strings
 * and blobs point INTO the frame buffer (strings are NUL-terminated there, so they are plain
 * C strings). They stay valid only as long as the buffer does: copy what you keep.
 *
 * Encode and decode apply the same checks (one validator), so a peer cannot make us accept
 * what we would refuse to send, and decode(encode(m)) == m for every valid m.
 *
 * Session flow (agent A, control C):
 *   A -> C  REGISTER (dst 0 or C's id), with A's command endpoint
 *   C -> A  REGISTER_ACK (corr_id = the REGISTER's); then A sends FULL_STATE chunks
 *   A -> C  HEARTBEAT every heartbeat_ms; SANDBOX_EVENT on every transition
 *   C -> A  CREATE_SANDBOX / INVOKE / DESTROY / DRAIN; A replies with SANDBOX_EVENT(created)
 *           / INVOKE_RESULT / SANDBOX_EVENT(destroyed) or ERROR, corr_id = the command's
 *   A -> C  CODE_FETCH; C replies with CODE_CHUNK (corr_id = the fetch's) or ERROR
 *   C answers a HEARTBEAT from an agent it does not know with ERROR(NOT_REGISTERED); an agent
 *   that sees this, or a new session nonce from C, registers again and reports full state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PROTO_MAGIC	   0x444e4c53u /* "SLND" */
#define SL_PROTO_VERSION   1
#define SL_PROTO_HDR_SIZE  64
#define SL_PROTO_MAC_SIZE  32
#define SL_PROTO_OVERHEAD  (SL_PROTO_HDR_SIZE + SL_PROTO_MAC_SIZE)
#define SL_PROTO_MAX_FRAME (7u << 20) /* 7 MiB: a 6 MiB payload plus everything else */

/* Bounds on fields (bytes unless noted). */
#define SL_MSG_ID_MAX		64	       /* identifiers: names, ids, versions, zone */
#define SL_MSG_TEXT_MAX		256	       /* ARNs, trace ids, endpoints */
#define SL_MSG_HANDLER_MAX	128	       /* _HANDLER */
#define SL_MSG_ERRTYPE_MAX	128	       /* function error type */
#define SL_MSG_ERRMSG_MAX	512	       /* ERROR message */
#define SL_MSG_CLIENT_CTX_MAX	3583	       /* Lambda's client context limit */
#define SL_MSG_PAYLOAD_MAX	(6u << 20)     /* invoke request/response payload (Lambda: 6 MB) */
#define SL_MSG_LOG_TAIL_MAX	4096	       /* LogType: Tail */
#define SL_MSG_ENV_MAX		64	       /* environment variables per function */
#define SL_MSG_ENV_KEY_MAX	128	       /* one variable name */
#define SL_MSG_ENV_TOTAL_MAX	4096	       /* keys + values (Lambda: 4 KB) */
#define SL_MSG_CHUNK_MAX	(256u << 10)   /* code chunk */
#define SL_MSG_CODE_MAX		(256ull << 20) /* code package (zip) size */
#define SL_MSG_STATE_CHUNK	128	       /* sandboxes per FULL_STATE message */
#define SL_MSG_SANDBOXES_MAX	65536	       /* sandboxes per host */
#define SL_MSG_MEMORY_MB_MIN	64
#define SL_MSG_MEMORY_MB_MAX	10240
#define SL_MSG_TIMEOUT_MS_MAX	900000 /* 15 minutes */
#define SL_MSG_HEARTBEAT_MS_MIN 100
#define SL_MSG_HEARTBEAT_MS_MAX 60000
#define SL_MSG_CPUS_MAX		4096

/* Header flags. */
#define SL_MSG_F_REPLY 0x1u /* corr_id names the request this answers */
#define SL_MSG_F_ALL   SL_MSG_F_REPLY

enum sl_msg_type {
	SL_MSG_REGISTER = 1,
	SL_MSG_REGISTER_ACK,
	SL_MSG_HEARTBEAT,
	SL_MSG_SANDBOX_EVENT,
	SL_MSG_FULL_STATE,
	SL_MSG_CREATE_SANDBOX,
	SL_MSG_INVOKE,
	SL_MSG_INVOKE_RESULT,
	SL_MSG_DESTROY,
	SL_MSG_DRAIN,
	SL_MSG_CODE_FETCH,
	SL_MSG_CODE_CHUNK,
	SL_MSG_ERROR,
	_SL_MSG_TYPE_MAX,
};

enum sl_sandbox_state {
	SL_SANDBOX_CREATED = 1, /* exists, bootstrap not yet asking for work */
	SL_SANDBOX_BUSY,	/* an invocation in flight, or still burning CPU after it */
	SL_SANDBOX_IDLE,	/* warm, waiting for an invocation */
	SL_SANDBOX_FROZEN,	/* warm and frozen (cgroup.freeze) */
	SL_SANDBOX_DESTROYED,	/* gone; only in SANDBOX_EVENT */
	_SL_SANDBOX_STATE_MAX,
};

/* Why a sandbox changed state. */
enum sl_sandbox_reason {
	SL_REASON_NONE = 0,
	SL_REASON_COMMAND,    /* the control node asked (create, destroy) */
	SL_REASON_INVOKE,     /* an invocation started */
	SL_REASON_COMPLETE,   /* an invocation finished */
	SL_REASON_IDLE,	      /* eBPF idle detection */
	SL_REASON_ACTIVE,     /* eBPF saw activity after the response */
	SL_REASON_FREEZE,     /* frozen between invocations */
	SL_REASON_KEEP_ALIVE, /* keep-alive expired */
	SL_REASON_EVICTED,    /* the host needed room (LRU) */
	SL_REASON_TIMEOUT,    /* the invocation timed out */
	SL_REASON_INIT_ERROR, /* the runtime failed to initialize */
	SL_REASON_CRASH,      /* the runtime exited */
	SL_REASON_DRAIN,      /* the agent is draining */
	_SL_REASON_MAX,
};

enum sl_invoke_status {
	SL_INVOKE_OK = 0,
	SL_INVOKE_FUNCTION_ERROR, /* the function reported an error; payload is its error JSON */
	SL_INVOKE_TIMEOUT,	  /* the task timed out; the sandbox was destroyed */
	SL_INVOKE_INIT_ERROR,	  /* the runtime failed to initialize */
	SL_INVOKE_RUNTIME_EXIT,	  /* the runtime exited mid-invocation */
	SL_INVOKE_NO_SANDBOX,	  /* the named sandbox does not exist or is not idle */
	SL_INVOKE_INTERNAL,	  /* the agent failed */
	_SL_INVOKE_STATUS_MAX,
};

/* Codes carried by an ERROR reply. */
enum sl_msg_errcode {
	SL_ERR_BAD_REQUEST = 1,
	SL_ERR_NOT_REGISTERED,
	SL_ERR_NO_CAPACITY,
	SL_ERR_NOT_FOUND,
	SL_ERR_BUSY,
	SL_ERR_CODE_INVALID,
	SL_ERR_DRAINING,
	SL_ERR_UNSUPPORTED,
	SL_ERR_INTERNAL,
	_SL_ERR_MAX,
};

/* A sandbox as reported in SANDBOX_EVENT and FULL_STATE. */
struct sl_msg_sandbox {
	const char *sandbox_id;	 /* identifier, see sl_proto_valid_id() */
	const char *function;	 /* function name */
	const char *version;	 /* function version ("$LATEST", "3") */
	uint8_t state;		 /* enum sl_sandbox_state; FULL_STATE never holds DESTROYED */
	uint8_t reason;		 /* enum sl_sandbox_reason of the last transition */
	uint64_t at_ns;		 /* wall clock of this transition */
	uint64_t created_ns;	 /* wall clock when the sandbox was created */
	uint64_t last_active_ns; /* wall clock of its last activity (0: never) */
	uint64_t memory_bytes;	 /* memory in use now */
};

struct sl_msg_register {
	const char *name;	  /* host name, identifier */
	const char *zone;	  /* placement zone, identifier */
	const char *version;	  /* agent software version, identifier */
	const char *endpoint;	  /* where the control node reaches the agent: tcp:// or ipc:// */
	uint64_t memory_capacity; /* bytes the agent may give to sandboxes (> 0) */
	uint32_t max_sandboxes;	  /* 1 .. SL_MSG_SANDBOXES_MAX */
	uint32_t ncpus;		  /* 1 .. SL_MSG_CPUS_MAX */
};

struct sl_msg_register_ack {
	const char *version;   /* control software version */
	uint32_t heartbeat_ms; /* SL_MSG_HEARTBEAT_MS_MIN .. _MAX */
};

struct sl_msg_heartbeat {
	const char *endpoint; /* as in REGISTER, so a restarted control node can answer */
	uint32_t cpu_millis;  /* CPU in use, in thousandths of a CPU (<= ncpus * 1000) */
	uint32_t inflight;    /* invocations in flight */
	uint64_t memory_used; /* bytes in use by sandboxes */
	/* Live sandboxes by state (each <= SL_MSG_SANDBOXES_MAX). */
	uint32_t created, busy, idle, frozen;
};

/* One chunk of a full-state report: entries [offset, offset + count) of total. */
struct sl_msg_full_state {
	uint32_t total;	 /* sandboxes on the host, <= SL_MSG_SANDBOXES_MAX */
	uint32_t offset; /* index of sandboxes[0] in the report */
	uint32_t count;	 /* <= SL_MSG_STATE_CHUNK, offset + count <= total */
	struct sl_msg_sandbox sandboxes[SL_MSG_STATE_CHUNK];
};

struct sl_msg_env {
	const char *key;   /* [A-Za-z_][A-Za-z0-9_]*, 1 .. SL_MSG_ENV_KEY_MAX */
	const char *value; /* any bytes but NUL */
};

struct sl_msg_create {
	const char *sandbox_id; /* chosen by the control node */
	const char *function;
	const char *version;
	const char *handler;	 /* _HANDLER, printable, may be empty */
	uint8_t code_sha256[32]; /* the code package's SHA-256 */
	uint64_t code_size;	 /* its size in bytes, 1 .. SL_MSG_CODE_MAX */
	uint32_t memory_mb;	 /* SL_MSG_MEMORY_MB_MIN .. _MAX */
	uint32_t timeout_ms;	 /* 1 .. SL_MSG_TIMEOUT_MS_MAX */
	uint32_t env_count;	 /* <= SL_MSG_ENV_MAX; keys+values <= SL_MSG_ENV_TOTAL_MAX */
	struct sl_msg_env env[SL_MSG_ENV_MAX];
};

struct sl_msg_invoke {
	const char *request_id; /* identifier (a UUID in practice) */
	const char *sandbox_id; /* "" lets the agent pick an idle sandbox of the function */
	const char *function;
	const char *version;
	const char *function_arn;   /* Lambda-Runtime-Invoked-Function-Arn, printable */
	const char *trace_id;	    /* Lambda-Runtime-Trace-Id, printable, may be empty */
	const char *client_context; /* Lambda-Runtime-Client-Context, printable, may be empty */
	uint64_t deadline_ns;	    /* wall clock deadline (> 0) */
	bool log_tail;		    /* return the last 4 KB of logs */
	const void *payload;	    /* the event, <= SL_MSG_PAYLOAD_MAX */
	uint32_t payload_len;
};

struct sl_msg_invoke_result {
	const char *request_id;
	const char *sandbox_id;	    /* may be empty when no sandbox was used */
	const char *function_error; /* X-Amz-Function-Error ("Unhandled"), or empty */
	uint8_t status;		    /* enum sl_invoke_status */
	uint64_t init_ns;	    /* cold start time (0 when warm) */
	uint64_t duration_ns;	    /* handler time */
	uint64_t max_memory_bytes;  /* peak memory of the sandbox */
	const void *payload;	    /* response or error JSON, <= SL_MSG_PAYLOAD_MAX */
	uint32_t payload_len;
	const void *log_tail; /* <= SL_MSG_LOG_TAIL_MAX bytes, any content */
	uint32_t log_tail_len;
};

struct sl_msg_destroy {
	const char *sandbox_id;
	uint8_t reason; /* enum sl_sandbox_reason */
};

struct sl_msg_drain {
	uint32_t deadline_ms; /* finish in-flight work within this, <= SL_MSG_TIMEOUT_MS_MAX */
};

struct sl_msg_code_fetch {
	uint8_t sha256[32];
	uint64_t offset; /* < SL_MSG_CODE_MAX */
	uint32_t length; /* 1 .. SL_MSG_CHUNK_MAX */
};

struct sl_msg_code_chunk {
	uint8_t sha256[32];
	uint64_t total_size; /* package size, 1 .. SL_MSG_CODE_MAX */
	uint64_t offset;     /* offset + data_len <= total_size; the last chunk ends at total */
	const void *data;    /* <= SL_MSG_CHUNK_MAX bytes */
	uint32_t data_len;
};

struct sl_msg_error {
	uint32_t code;	     /* enum sl_msg_errcode */
	uint16_t ref_type;   /* type of the request that failed, or 0 */
	const char *message; /* printable, <= SL_MSG_ERRMSG_MAX */
};

/* One message. Header fields first; the body is the union member named by type. */
struct sl_msg {
	uint16_t type;	  /* enum sl_msg_type */
	uint32_t flags;	  /* SL_MSG_F_* */
	uint64_t corr_id; /* set by the caller; replies copy the request's */
	uint64_t dst_id;  /* set by the caller */
	/* Set by the sealing side (sl_link_send / sl_link_seal); decode reports them. */
	uint64_t src_id;
	uint64_t nonce;
	uint64_t seq;
	uint64_t ts_ns;
	union {
		struct sl_msg_register reg;
		struct sl_msg_register_ack reg_ack;
		struct sl_msg_heartbeat heartbeat;
		struct sl_msg_sandbox event;
		struct sl_msg_full_state state;
		struct sl_msg_create create;
		struct sl_msg_invoke invoke;
		struct sl_msg_invoke_result result;
		struct sl_msg_destroy destroy;
		struct sl_msg_drain drain;
		struct sl_msg_code_fetch fetch;
		struct sl_msg_code_chunk chunk;
		struct sl_msg_error error;
	};
};

/* The fixed header alone, as sl_proto_peek() reads it before the MAC is checked. */
struct sl_msg_hdr {
	uint16_t version, type;
	uint32_t flags, body_len;
	uint64_t corr_id, src_id, dst_id, nonce, seq, ts_ns;
};

/*
 * Checks m against every bound above (header fields included: src_id and nonce must be
 * non-zero, seq >= 1). Returns 0, -ENOMSG (unknown type), -EINVAL (bad text or charset) or
 * -ERANGE (a length, count or value out of bounds). When why is not NULL it is set to a
 * static one-line reason on failure.
 */
int sl_proto_check(const struct sl_msg *m, const char **why);

/* Exact frame size m encodes to (header, body and MAC), or a negative sl_proto_check() error. */
long sl_proto_size(const struct sl_msg *m);

/*
 * Encodes m into buf (len bytes) and returns the frame size. The MAC field is zeroed: seal
 * it with sl_auth_seal(). Returns -ENOBUFS when buf is too small, or sl_proto_check() errors.
 */
long sl_proto_encode(const struct sl_msg *m, void *buf, size_t len, const char **why);

/*
 * Reads and checks the fixed header of frame buf (len bytes, the whole frame): length within
 * [SL_PROTO_OVERHEAD, SL_PROTO_MAX_FRAME] (-EMSGSIZE), magic (-EBADMSG), version
 * (-EPROTONOSUPPORT), body_len == len - SL_PROTO_OVERHEAD (-EBADMSG). Does not check the MAC
 * nor the type. Returns 0 and fills *ret, or -errno leaving *ret untouched.
 */
int sl_proto_peek(const void *buf, size_t len, struct sl_msg_hdr *ret, const char **why);

/*
 * Decodes frame buf (len bytes) into *ret: sl_proto_peek(), then the body by type, then
 * sl_proto_check(). The MAC bytes are NOT verified here (sl_auth_verify() does that first).
 * Strings and blobs in *ret point into buf. Errors: peek's, -ENOMSG (unknown type), -EBADMSG
 * (truncated, trailing bytes, missing NUL, embedded NUL, unknown flags), -ERANGE, -EINVAL,
 * leaving *ret untouched. On success only the header and the union member of the message's type
 * are written (read the member its type names; the others keep what they held).
 */
int sl_proto_decode(const void *buf, size_t len, struct sl_msg *ret, const char **why);

/* Validity of one identifier: 1..SL_MSG_ID_MAX of [A-Za-z0-9._:$-], not starting with '.'. */
bool sl_proto_valid_id(const char *s);

/* Static names, for logs and metrics ("register", "busy", "keep_alive", ...); "?" if out of range.
 */
const char *sl_proto_type_name(unsigned type);
const char *sl_proto_state_name(unsigned state);
const char *sl_proto_reason_name(unsigned reason);

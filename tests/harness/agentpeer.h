/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A test control node for end-to-end tests and benchmarks of the sandlot-agent daemon. It
 * speaks the real protocol over real nanomsg sockets (sl_link with its own id): it listens on
 * an ipc:// endpoint, answers the agent's REGISTER with REGISTER_ACK (connecting back to the
 * endpoint the agent advertises), answers a heartbeat from an agent it does not know with
 * ERROR(NOT_REGISTERED), serves CODE_FETCH from in-memory zip packages built with libarchive's
 * writer, sends commands and collects everything else in a queue that tests search with a
 * time-bounded wait.
 *
 * It also runs the real agent binary ($SANDLOT_AGENT) as a child with everything per run:
 * /tmp/sl-agent-<pid>-<n>/ holds the key file (0600), the state dir and the ipc sockets; the
 * local API listens on a free loopback port; BPF pins go under
 * /sys/fs/bpf/sandlot-test-agent-<pid>. peer_free() stops the agent and removes all of it.
 *
 * No cmocka here: functions return >= 0 or -errno (or NULL), so benchmarks use it too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sandlot/link.h>
#include <sandlot/proto.h>

#define PEER_PKG_MAX	16
#define PEER_ARGS_MAX	32
#define PEER_PIN_ROOT	"/sys/fs/bpf/sandlot-test-agent-%d" /* the test's pid */
#define PEER_CONTROL_ID 0x5e57c0de00000001ULL

/* One file of a code package. */
struct peer_file {
	const char *name; /* path inside the zip */
	const void *data;
	size_t len;    /* 0 with data: strlen(data) */
	unsigned mode; /* 0755 for executables, 0644 otherwise */
};

/* A code package the peer serves. */
struct peer_pkg {
	uint8_t sha[32];
	char hex[65];
	void *zip;
	size_t len;
};

/* A received message, kept until the test takes it. Strings point into rx's frame. */
struct peer_rx {
	struct peer_rx *next;
	struct sl_link_rx rx;
	uint64_t at_ns; /* when the peer received it (sl_now_ns) */
};
#define PMSG(r) (&(r)->rx.msg)

/* What peer_wait() looks for; zero fields match anything. */
struct peer_match {
	uint16_t type;
	uint64_t corr;		/* a reply to our message with this corr_id */
	const char *sandbox_id; /* SANDBOX_EVENT: event.sandbox_id, INVOKE_RESULT: result's */
	uint8_t state;		/* SANDBOX_EVENT only */
	uint8_t reason;		/* SANDBOX_EVENT only */
};

struct peer {
	int n;	       /* this peer's number in the process */
	char base[96]; /* /tmp/sl-agent-<pid>-<n> */
	char key_path[128];
	char url[160]; /* our ipc:// endpoint */
	struct sl_key *key;
	struct sl_link *link;
	uint64_t next_corr;

	/* the agent as the link sees it */
	int agent;  /* sl_link_connect() handle, -1 */
	bool known; /* we acknowledged its REGISTER in this session */
	uint64_t agent_id;
	char agent_url[SL_MSG_TEXT_MAX + 1];
	unsigned registers, heartbeats, full_states, fetches, not_registered_sent;
	unsigned fetch_starts;		 /* CODE_FETCHes at offset 0: package downloads begun */
	struct sl_msg_heartbeat last_hb; /* counters only (its endpoint is not kept) */

	/* behaviour */
	bool refuse_code;      /* answer CODE_FETCH with ERROR */
	uint32_t heartbeat_ms; /* in REGISTER_ACK (default 1000) */

	struct peer_pkg pkgs[PEER_PKG_MAX];
	unsigned npkgs;
	struct peer_rx *q, **qtail;

	/* the agent process */
	pid_t pid;
	char state_dir[128];
	char listen_url[160];
	char http[32]; /* 127.0.0.1:PORT */
	char pin_root[80];
	const char *extra[PEER_ARGS_MAX]; /* extra options for the next start, NULL-terminated */
	const char *stderr_path;	  /* the agent's stderr is appended there, if set */
};

/* A loopback TCP port that was free a moment ago, or -errno. */
int peer_free_port(void);

/*
 * Creates the directory, key and link (listening). Returns 0 or -errno. The link is ipc://
 * below the directory, or loopback TCP when $SL_PEER_TCP is set (as deployed).
 */
int peer_new(struct peer **ret);
/* Stops the agent (SIGTERM, then SIGKILL), frees everything, removes every file. NULL-safe. */
void peer_free(struct peer **p);

/* Closes our link and opens a new one (same id and endpoint, new session nonce). */
int peer_restart_link(struct peer *p);

/*
 * Starts $SANDLOT_AGENT with the per-run options plus p->extra, and waits (timeout_ms) until it
 * registered and we acknowledged. Returns 0, -ETIMEDOUT, -ECHILD (it exited) or -errno.
 */
int peer_agent_start(struct peer *p, int timeout_ms);
/*
 * Sends sig and waits up to timeout_ms for the agent to exit; SIGKILL after that. Returns the
 * wait status (>= 0) or -errno. sig 0: SIGKILL at once.
 */
int peer_agent_stop(struct peer *p, int sig, int timeout_ms);
/* Waits (timeout_ms) for the agent process to exit on its own; status or -ETIMEDOUT. */
int peer_agent_wait(struct peer *p, int timeout_ms);

/* Receives and handles what arrives for up to timeout_ms (0: what is there now). */
void peer_pump(struct peer *p, int timeout_ms);
/* The first queued message matching m (removed from the queue), waiting up to timeout_ms. */
struct peer_rx *peer_wait(struct peer *p, const struct peer_match *m, int timeout_ms);
/* Number of queued messages matching m (pumps what is there now). */
unsigned peer_count(struct peer *p, const struct peer_match *m);
void peer_rx_free(struct peer_rx *r);
/* Drops every queued message. */
void peer_clear(struct peer *p);

/* Seals and sends m to the agent (corr_id is assigned when 0); returns the corr_id or -errno. */
int64_t peer_send(struct peer *p, struct sl_msg *m);

/* Builds a zip of files and registers it; returns the package (owned by p) or NULL. */
const struct peer_pkg *peer_pkg_add(struct peer *p, const struct peer_file *files, size_t n);
/* Builds a zip in memory with libarchive. Returns 0 and a malloc'ed buffer, or -errno. */
int peer_zip(const struct peer_file *files, size_t n, void **ret, size_t *ret_len);
/* Registers raw zip bytes as a package (copied). */
const struct peer_pkg *peer_pkg_add_raw(struct peer *p, const void *zip, size_t len);

/* CREATE_SANDBOX; returns its corr_id or -errno. */
int64_t peer_create(struct peer *p, const char *sandbox_id, const char *function,
		    const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
		    uint32_t timeout_ms);
/* CREATE_SANDBOX with environment variables ("K=V" strings, NULL-terminated). */
int64_t peer_create_env(struct peer *p, const char *sandbox_id, const char *function,
			const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
			uint32_t timeout_ms, const char *const *env);
/* INVOKE (sandbox_id "" or NULL: any warm one); version "$LATEST"; returns corr_id or -errno. */
int64_t peer_invoke(struct peer *p, const char *request_id, const char *sandbox_id,
		    const char *function, const void *payload, size_t len, bool log_tail);
int64_t peer_destroy(struct peer *p, const char *sandbox_id);
/* DRAIN: in-flight work gets deadline_ms (0: its own timeout). */
int64_t peer_drain(struct peer *p, uint32_t deadline_ms);

/*
 * Creates a sandbox and waits for it to be ready (SANDBOX_EVENT idle answering the create).
 * Returns 0, -ETIMEDOUT, or -EPROTO when an ERROR came back (its message in why, if not NULL).
 */
int peer_cold_start(struct peer *p, const char *sandbox_id, const char *function,
		    const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
		    uint32_t timeout_ms, int wait_ms);
/* Invokes and waits for the INVOKE_RESULT (or NULL after wait_ms). */
struct peer_rx *peer_invoke_wait(struct peer *p, const char *request_id, const char *sandbox_id,
				 const char *function, const char *payload, bool log_tail,
				 int wait_ms);

/* GET http://<agent http><path>; returns the HTTP status and a malloc'ed body, or -errno. */
int peer_http_get(struct peer *p, const char *path, char **ret_body);
/*
 * The v2 cgroup directory of sandbox_id, from /v1/sandboxes' runtime_id. Returns 0 or -errno.
 */
int peer_sandbox_cgroup(struct peer *p, const char *sandbox_id, char *ret, size_t len);
/* Reads a small file as an integer ("cgroup.freeze"). Returns it or -errno. */
long peer_read_long(const char *dir, const char *file);

/*
 * Sandbox cgroups (any hierarchy) whose name says they belong to agent process pid. Returns the
 * number found (0 = clean) or -errno.
 */
int peer_leftover_cgroups(pid_t pid);
/* Number of processes whose parent is pid. */
int peer_children_of(pid_t pid);

/* Reads a whole file into a malloc'ed buffer. Returns 0 or -errno. */
int peer_read_file(const char *path, void **ret, size_t *ret_len);

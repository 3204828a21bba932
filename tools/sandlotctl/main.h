/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * sandlotctl: inspect and manage sandlot on one host, in bpftool's shape. main.c parses the
 * global options and dispatches OBJECT COMMAND through command tables (one file per object,
 * each ending in its cmds[] table and do_<object>()); words match by unambiguous prefix.
 *
 * Output: every command builds a json_t and hands it to emit(), which prints it as JSON under
 * -j/-p, or calls the command's plain printer. Errors go through fail(): {"error": "..."} on
 * stdout under -j, "Error: ..." on stderr otherwise; the command then returns non-zero.
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <sandlot/bpf_abi.h>

#define CTL_DEFAULT_AGENT     "127.0.0.1:7481"
#define CTL_DEFAULT_PIN_ROOT  "/sys/fs/bpf/sandlot"
#define CTL_DEFAULT_STATE_DIR "/var/lib/sandlot/agent"
#define CTL_DEFAULT_CONTROL   "127.0.0.1:7480"
#define CTL_DEFAULT_CTL_DATA  "/var/lib/sandlot/control"

struct ctl_opts {
	bool json, pretty;
	const char *agent;	  /* HOST:PORT of the agent's local API */
	const char *control;	  /* the control node (for the objects that need it) */
	const char *pin_root;	  /* pinned BPF state */
	const char *state_dir;	  /* the agent's state dir (its local API token) */
	const char *control_data; /* the control node's --data (its control API token) */
};
extern struct ctl_opts ctl;

/* One word of a command table: name, handler (argc/argv after the word), one-line help. */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *alias; /* another accepted word ("sb" for sandbox), or NULL */
};

/*
 * Finds argv[0] in cmds by exact name, alias, or unambiguous prefix and runs it with the rest.
 * what: "object" or "<object> command", for the errors. No word: runs the "help" entry.
 */
int cmd_select(const struct cmd *cmds, int argc, char **argv, const char *what);

/* Prints the one-line error in the mode's form and returns 1 (the exit status). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning that does not break JSON output: always one line on stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints j (consumed) as JSON under -j, else through plain(j). Returns 0, or 1 on errors. */
int emit(json_t *j, void (*plain)(json_t *j));

/*
 * Parses "KEYWORD VALUE" filters: for each i, when argv has keys[i] (prefix-matched), *vals[i]
 * gets its value. Returns 0, or fail()'s status on an unknown keyword or missing value.
 */
int parse_filters(int argc, char **argv, const char *const *keys, const char **vals[], int n);

/* Is the word a (non-empty) prefix of name? */
bool is_prefix(const char *word, const char *name);

/* ---- the agent's local API (agent.c) ---- */

/*
 * GET path from the agent; *ret: the parsed JSON body. Returns the HTTP status, or -errno when
 * the agent cannot be reached (-ECONNREFUSED: down), -EPROTO on a body that is not JSON.
 */
int agent_get(const char *path, json_t **ret);
/* POST path with the local API token. Status, or -errno as agent_get (-EACCES: no token). */
int agent_post(const char *path, json_t **ret);

/* One HTTP request (libcurl): GET, or POST of body; with X-Sandlot-Token read from token_file
 * when set. Headers kept: X-Amz-Function-Error, x-amzn-ErrorType ("" when absent). */
#define HTTP_HEADER_VALUE_MAX 128
struct http_call {
	const char *base; /* HOST:PORT */
	const char *path;
	bool post;
	const char *body;
	size_t body_len;
	const char *token_file;
	bool token_optional; /* without it, send the request anyway (token_err says why) */
	int token_err;	     /* reading token_file: 0, -ENOENT, -EACCES */
	long timeout_s;	     /* 0: 10 s */
	char function_error[HTTP_HEADER_VALUE_MAX];
	char error_type[HTTP_HEADER_VALUE_MAX];
};
/* The HTTP status and *ret (any JSON value), or -errno as agent_get (-ENOENT, -EACCES: the
 * token file is missing or unreadable). */
int http_call(struct http_call *hc, json_t **ret);

/* ---- the control node's API (control.c) ---- */

/*
 * A request to the control node's /v1/ API (--control, the token in --control-data). Returns
 * 0 on a 2xx answer with *ret its JSON; otherwise fail()'s status, after a one-line error (the
 * control node down, the token unreadable or refused, its {"error"} message). post: body/len or
 * NULL; hc_out (optional) gets the call's headers.
 */
int control_call(const char *path, bool post, const char *body, size_t len, json_t **ret,
		 struct http_call *hc_out);
/*
 * A listing from the control node: GET path, whose answer holds the array under key; *ret gets
 * that array (owned). Warns when the answer says "truncated". 0, or fail()'s status (also when
 * the array is missing: what names the objects in the message).
 */
int control_list(const char *path, const char *key, json_t **ret);
/* A function name (letters, digits, - and _, at most 64) and an account (12 digits): 0, or
 * fail()'s status naming the bad value (function.c). */
int check_function_name(const char *name);
int check_account(const char *account);
/* path?account=A (A URL-escaped) when account is set, into buf. */
const char *control_path(char *buf, size_t len, const char *path, const char *account);

/* ---- pinned BPF state (pinned.c) ---- */

/* A registered sandbox as the pinned maps have it (counters summed over CPUs). */
struct pin_sandbox {
	uint32_t slot;
	uint64_t cgid;
	uint32_t state, flags, n_rules, inflight;
	uint64_t idle_ns, seq;
	uint64_t cpu_ns, switches, dropped_packets, denied_connects;
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
	uint64_t last_cpu_ns, last_net_ns; /* CLOCK_MONOTONIC, 0: never */
	struct sl_bpf_rule rules[SL_BPF_MAX_RULES];
};

struct pin_state {
	int fd_meta, fd_sandboxes, fd_counters, fd_inflight, fd_net, fd_clock;
	unsigned nr_cpus, hz;
	uint64_t now_jiffies, now_ns;
	struct sl_bpf_meta meta;
};

/*
 * Opens the pinned maps under ctl.pin_root and checks the schema. Returns 0, or fail()'s
 * status with a one-line reason (nothing pinned, another schema version, not root).
 */
int pin_open(struct pin_state *ps);
void pin_close(struct pin_state *ps);
/* Every registered sandbox: *ret malloc'd (caller frees), *n set. 0 or fail()'s status. */
int pin_sandboxes(struct pin_state *ps, struct pin_sandbox **ret, size_t *n);

/* "busy"/"idle" */
const char *pin_state_name(uint32_t state);
/* A rule as text ("tcp 10.0.0.0/8 port 443", "any ::/0") into buf. */
const char *pin_rule_str(const struct sl_bpf_rule *r, char *buf, size_t len);
/* The rule as JSON fields. */
json_t *pin_rule_json(const struct sl_bpf_rule *r);
/* An address in sl_bpf_addr form as text. */
const char *pin_addr_str(const uint32_t a[4], char *buf, size_t len);

/* ---- objects ---- */
int do_sandbox(int argc, char **argv);
int do_prog(int argc, char **argv);
int do_map(int argc, char **argv);
int do_policy(int argc, char **argv);
int do_top(int argc, char **argv);
int do_function(int argc, char **argv);
int do_worker(int argc, char **argv);
int do_dlq(int argc, char **argv);

/* The sandboxes as JSON objects joined with the agent's view (sandbox.c; top uses it too). */
int sandbox_collect(json_t **ret, bool *agent_up);

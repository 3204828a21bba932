/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * cmocka helpers shared by the agent's end-to-end tests (test_agent*.c): a fixture that runs a
 * real sandlot-agent against the test control node (agentpeer.h) and cleans up after it, and
 * the code packages of the examples. Include after testutil.h.
 */
#include "agentpeer.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>

#define WAIT_MS	      15000 /* generous: other builds and tests share the machine */
#define AGENT_MAX_RUN 4

struct fx {
	struct peer *p;
	pid_t pids[AGENT_MAX_RUN]; /* every agent process started, for the leftover check */
	int npids;
};

static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	sl_test_require_root();
	assert_non_null(f);
	assert_int_equal(peer_new(&f->p), 0);
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	peer_free(&f->p);
	/* whatever happened, nothing of the agents may be left behind */
	for (int i = 0; i < f->npids; i++)
		assert_int_equal(peer_leftover_cgroups(f->pids[i]), 0);
	free(f);
	return 0;
}

/* Starts the agent with extra options (NULL-terminated) and waits for its registration. */
static inline void fx_start(struct fx *f, ...)
{
	va_list ap;
	const char *arg;
	size_t n = 0;
	int r;

	va_start(ap, f);
	while ((arg = va_arg(ap, const char *)) && n + 1 < PEER_ARGS_MAX)
		f->p->extra[n++] = arg;
	va_end(ap);
	f->p->extra[n] = NULL;
	r = peer_agent_start(f->p, WAIT_MS);
	if (f->p->pid > 0 && f->npids < AGENT_MAX_RUN)
		f->pids[f->npids++] = f->p->pid;
	assert_int_equal(r, 0);
}

static inline const char *src_path(char *buf, size_t len, const char *rel)
{
	const char *top = getenv("SANDLOT_SOURCE_DIR");

	snprintf(buf, len, "%s/%s", top ? top : ".", rel);
	return buf;
}

/* A package of files from disk: pairs of (path on disk, name in zip), mode taken from disk. */
static inline const struct peer_pkg *pkg_from_disk(struct peer *p, const char *const *pairs,
						   size_t n)
{
	struct peer_file files[8];
	void *bufs[8];
	const struct peer_pkg *k;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		size_t len;

		assert_int_equal(stat(pairs[2 * i], &st), 0);
		if (peer_read_file(pairs[2 * i], &bufs[i], &len) < 0)
			fail_msg("cannot read %s", pairs[2 * i]);
		files[i] = (struct peer_file){.name = pairs[2 * i + 1],
					      .data = bufs[i],
					      .len = len,
					      .mode = st.st_mode & 0111 ? 0755 : 0644};
	}
	k = peer_pkg_add(p, files, n);
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	assert_non_null(k);
	return k;
}

/* A shell runtime whose event says what to do: sleep (30 s), nap (1 s), spin (burn CPU for
 * 3 s), crash, log, or just answer "done". */
static inline const char *actions_sh(void)
{
	return "#!/bin/sh\n"
	       "api=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\"\n"
	       "h=$(mktemp)\n"
	       "while true; do\n"
	       "  ev=$(curl -sS -D \"$h\" \"$api/invocation/next\") || exit 1\n"
	       "  id=$(grep -i lambda-runtime-aws-request-id \"$h\" | tr -d '[:space:]' | cut -d: "
	       "-f2)\n"
	       "  case \"$ev\" in\n"
	       "  *sleep*) sleep 30 ;;\n"
	       "  *nap*) sleep 1 ;;\n"
	       "  *spin*) timeout 3 sh -c 'while :; do :; done' ;;\n"
	       "  *crash*) echo 'crashing now' >&2; exit 7 ;;\n"
	       "  *log*) head -c 10000 /dev/zero | tr '\\0' x >&2; echo END-OF-LOG >&2 ;;\n"
	       "  esac\n"
	       "  curl -sS -o /dev/null --data-binary done \"$api/invocation/$id/response\"\n"
	       "done\n";
}

static inline const struct peer_pkg *pkg_c_example(struct peer *p)
{
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	char path[512];
	const char *pairs[2] = {path, "bootstrap"};

	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin ? bin : "build");
	return pkg_from_disk(p, pairs, 1);
}

static inline const struct peer_pkg *pkg_example(struct peer *p, const char *dir,
						 const char *fn_file)
{
	char a[512], b[512], rel[128];
	const char *pairs[4] = {a, "bootstrap", b, fn_file};

	snprintf(rel, sizeof(rel), "examples/%s/bootstrap", dir);
	src_path(a, sizeof(a), rel);
	snprintf(rel, sizeof(rel), "examples/%s/%s", dir, fn_file);
	src_path(b, sizeof(b), rel);
	return pkg_from_disk(p, pairs, 2);
}

/* A package whose bootstrap is the given script. */
static inline const struct peer_pkg *pkg_script(struct peer *p, const char *script)
{
	struct peer_file f = {.name = "bootstrap", .data = script, .mode = 0755};
	const struct peer_pkg *k = peer_pkg_add(p, &f, 1);

	assert_non_null(k);
	return k;
}

static inline void cold_start(struct fx *f, const char *id, const char *fn,
			      const struct peer_pkg *pkg, const char *handler, uint32_t mb,
			      uint32_t timeout_ms)
{
	assert_int_equal(peer_cold_start(f->p, id, fn, pkg, handler, mb, timeout_ms, WAIT_MS), 0);
}

static inline struct peer_rx *invoke(struct fx *f, const char *rid, const char *sandbox,
				     const char *fn, const char *payload, bool tail)
{
	struct peer_rx *r = peer_invoke_wait(f->p, rid, sandbox, fn, payload, tail, WAIT_MS);

	if (!r)
		fail_msg("no result for invocation %s", rid);
	return r;
}

/* Asserts an OK result with exactly this payload; returns its init_ns. */
static inline uint64_t expect_ok(struct peer_rx *r, const char *payload)
{
	const struct sl_msg_invoke_result *res = &PMSG(r)->result;

	if (res->status != SL_INVOKE_OK)
		fail_msg("status %u, payload %.*s", res->status, (int)res->payload_len,
			 (const char *)res->payload);
	assert_int_equal(res->payload_len, strlen(payload));
	assert_memory_equal(res->payload, payload, res->payload_len);
	assert_string_equal(res->function_error, "");
	return res->init_ns;
}

/* The result's payload as a NUL-terminated copy (for strstr). */
static inline char *payload_str(struct peer_rx *r)
{
	const struct sl_msg_invoke_result *res = &PMSG(r)->result;
	char *s = malloc(res->payload_len + 1);

	assert_non_null(s);
	memcpy(s, res->payload, res->payload_len);
	s[res->payload_len] = '\0';
	return s;
}

/* Waits for a SANDBOX_EVENT of sandbox id in state (and reason, if not 0). */
static inline struct peer_rx *wait_event(struct fx *f, const char *id, uint8_t state,
					 uint8_t reason)
{
	struct peer_match w = {
		.type = SL_MSG_SANDBOX_EVENT, .sandbox_id = id, .state = state, .reason = reason};
	struct peer_rx *r = peer_wait(f->p, &w, WAIT_MS);

	if (!r)
		fail_msg("no %s event (reason %s) for %s", sl_proto_state_name(state),
			 reason ? sl_proto_reason_name(reason) : "any", id);
	return r;
}

static inline void expect_event(struct fx *f, const char *id, uint8_t state, uint8_t reason)
{
	peer_rx_free(wait_event(f, id, state, reason));
}

/* The agent's /v1/sandboxes as JSON (caller decrefs). */
static inline json_t *sandboxes(struct fx *f)
{
	char *body = NULL;
	json_t *j;

	assert_int_equal(peer_http_get(f->p, "/v1/sandboxes", &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	assert_non_null(j);
	return j;
}

static inline size_t n_sandboxes(struct fx *f)
{
	json_t *j = sandboxes(f);
	size_t n = json_array_size(j);

	json_decref(j);
	return n;
}

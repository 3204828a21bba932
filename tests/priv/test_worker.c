// SPDX-License-Identifier: Apache-2.0
/*
 * The worker (worker.c + invoke.c) alone, with a recording sink where the daemon puts
 * control.c: no link, no control node, no test peer. Real sandboxes of the C example
 * (examples/c: answers with the event upper-cased, a function error for "fail") in a real
 * sandbox runtime (root: cgroups, namespaces), without BPF (the degraded mode: a sandbox is
 * frozen as soon as it is idle). Each test checks what the sink hears from the worker's
 * commands: state events and the commands they answer, results, code requests and their
 * cancellation, errors of accepted commands, the end of a drain.
 */
#include "testutil.h"

#include "daemon/agent.h"
#include "daemon/worker.h"

#include <sandlot/loop.h>
#include <sandlot/time.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#define REC_MAX	   64
#define TIMEOUT_MS 10000

enum { REC_EVENT, REC_RESULT, REC_ERROR, REC_NEED, REC_DROP, REC_EMPTY };

/* One report of the worker, in the order the sink heard them. */
struct rec {
	int kind;		    /* REC_* */
	char id[SL_MSG_ID_MAX + 1]; /* sandbox (event, result) */
	uint8_t state, reason;	    /* event */
	uint8_t status;		    /* result */
	uint64_t corr;		    /* the command answered (event, result, error) */
	uint16_t ref_type;	    /* error */
	int r;			    /* error */
	char text[512];		    /* result payload, error text */
	struct asb *s;		    /* need, drop */
};

struct fixture {
	struct agent a;
	struct rec recs[REC_MAX];
	unsigned n;
	int answer; /* need_code: 1 answer with the package, -errno fail, 0 keep waiting */
	char dir[64];
	void *zip;
	size_t zip_len;
	char hex[65];
	uint8_t sha[32];
};

static struct rec *add(struct fixture *f, int kind)
{
	assert_true(f->n < REC_MAX);
	f->recs[f->n] = (struct rec){.kind = kind};
	return &f->recs[f->n++];
}

static void on_event(void *data, const struct sl_msg_sandbox *ev, uint64_t corr)
{
	struct rec *r = add(data, REC_EVENT);

	snprintf(r->id, sizeof(r->id), "%s", ev->sandbox_id);
	r->state = ev->state;
	r->reason = ev->reason;
	r->corr = corr;
}

static void on_result(void *data, const struct sl_msg_invoke_result *res, uint64_t corr)
{
	struct rec *r = add(data, REC_RESULT);

	snprintf(r->id, sizeof(r->id), "%s", res->sandbox_id);
	snprintf(r->text, sizeof(r->text), "%.*s", (int)res->payload_len,
		 (const char *)res->payload);
	r->status = res->status;
	r->corr = corr;
}

static void on_error(void *data, uint64_t corr, uint16_t ref_type, int err, const char *why)
{
	struct rec *r = add(data, REC_ERROR);

	r->corr = corr;
	r->ref_type = ref_type;
	r->r = err;
	snprintf(r->text, sizeof(r->text), "%s", why);
}

static void on_need_code(void *data, struct asb *s, const uint8_t sha[32], uint64_t size)
{
	struct fixture *f = data;
	struct sl_codecache_entry *e = NULL;

	add(f, REC_NEED)->s = s;
	assert_memory_equal(sha, f->sha, 32);
	assert_int_equal(size, f->zip_len);
	if (f->answer > 0) {
		assert_int_equal(sl_codecache_add(f->a.cache, f->hex, f->zip, f->zip_len, &e), 0);
		worker_code_ready(s, 0, NULL, &e);
		assert_null(e); /* the sandbox took the reference */
	} else if (f->answer < 0) {
		worker_code_ready(s, f->answer, "the package is damaged", &e);
	}
}

static void on_drop_code(void *data, struct asb *s)
{
	add(data, REC_DROP)->s = s;
}

static void on_empty(void *data)
{
	add(data, REC_EMPTY);
}

/* The i-th record of kind (and corr, unless 0) from index from on, or -1. */
static int find(const struct fixture *f, unsigned from, int kind, uint64_t corr)
{
	for (unsigned i = from; i < f->n; i++)
		if (f->recs[i].kind == kind && (!corr || f->recs[i].corr == corr))
			return (int)i;
	return -1;
}

static int find_state(const struct fixture *f, unsigned from, uint8_t state)
{
	for (unsigned i = from; i < f->n; i++)
		if (f->recs[i].kind == REC_EVENT && f->recs[i].state == state)
			return (int)i;
	return -1;
}

/* Runs the loop until a record of kind (and corr) is there; its index. */
static unsigned wait_for(struct fixture *f, int kind, uint64_t corr)
{
	uint64_t until = sl_now_ns() + TIMEOUT_MS * SL_NSEC_PER_MSEC;
	int i;

	while ((i = find(f, 0, kind, corr)) < 0 && sl_now_ns() < until)
		sl_loop_run_once(f->a.loop, 50 * SL_NSEC_PER_MSEC);
	if (i < 0)
		fail_msg("no report of kind %d answering %llu within %d ms", kind,
			 (unsigned long long)corr, TIMEOUT_MS);
	return (unsigned)i;
}

static unsigned wait_state(struct fixture *f, unsigned from, uint8_t state)
{
	uint64_t until = sl_now_ns() + TIMEOUT_MS * SL_NSEC_PER_MSEC;
	int i;

	while ((i = find_state(f, from, state)) < 0 && sl_now_ns() < until)
		sl_loop_run_once(f->a.loop, 50 * SL_NSEC_PER_MSEC);
	if (i < 0)
		fail_msg("no %s event within %d ms", sl_proto_state_name(state), TIMEOUT_MS);
	return (unsigned)i;
}

/* The C example as a package: a zip with an executable `bootstrap`. */
static void make_package(struct fixture *f)
{
	const char *bin = getenv("SANDLOT_BINARY_DIR");
	char path[512];
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap, used = 0;
	void *code;
	struct stat st;
	int fd;

	assert_non_null(bin);
	snprintf(path, sizeof(path), "%s/examples/c/bootstrap", bin);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && fstat(fd, &st) == 0);
	code = malloc((size_t)st.st_size);
	assert_non_null(code);
	assert_int_equal(read(fd, code, (size_t)st.st_size), st.st_size);
	close(fd);
	cap = (size_t)st.st_size + 4096;
	f->zip = malloc(cap);
	assert_non_null(f->zip);
	assert_int_equal(archive_write_set_format_zip(w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(w, f->zip, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "bootstrap");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, st.st_size);
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(w, code, (size_t)st.st_size), st.st_size);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(w);
	free(code);
	f->zip_len = used;
	assert_int_equal(sl_codecache_digest(f->zip, f->zip_len, f->hex), 0);
	for (int i = 0; i < 32; i++)
		sscanf(f->hex + 2 * i, "%2hhx", &f->sha[i]);
}

static int setup(void **state)
{
	const struct worker_sink sink = {
		.sandbox_event = on_event,
		.invoke_result = on_result,
		.command_error = on_error,
		.need_code = on_need_code,
		.drop_code = on_drop_code,
		.empty = on_empty,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	struct sl_runtime_opts ro = {0};
	struct sl_codecache_opts co = {0};
	struct worker_sink s = sink;
	char cache_dir[128];

	sl_test_require_root();
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-worker-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(cache_dir, sizeof(cache_dir), "%s/code", f->dir);
	co.dir = cache_dir;
	sl_agent_config_defaults(&f->a.cfg);
	snprintf(f->a.cfg.state_dir, sizeof(f->a.cfg.state_dir), "%s", f->dir);
	f->a.self_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(f->a.self_netns >= 0);
	assert_int_equal(sl_loop_new(&f->a.loop), 0);
	assert_int_equal(sl_runtime_new(&f->a.rt, &ro), 0);
	assert_int_equal(sl_codecache_new(&f->a.cache, &co), 0);
	sl_pool_init(&f->a.pool, f->a.cfg.memory_capacity, f->a.cfg.max_sandboxes);
	s.data = f;
	worker_set_sink(&f->a, &s);
	make_package(f);
	f->answer = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *rm[] = {"rm", "-rf", f->dir, NULL};

	worker_stop(&f->a);
	sl_runtime_free(&f->a.rt);
	sl_codecache_free(&f->a.cache);
	sl_loop_free(&f->a.loop);
	close(f->a.self_netns);
	sl_test_run(rm, NULL, 0, NULL, 0);
	free(f->zip);
	free(f);
	return 0;
}

static struct sl_msg_create create_msg(const struct fixture *f, const char *id)
{
	struct sl_msg_create c = {.sandbox_id = id,
				  .function = "upper",
				  .version = "1",
				  .handler = "",
				  .code_size = f->zip_len,
				  .memory_mb = 128,
				  .timeout_ms = 3000};

	memcpy(c.code_sha256, f->sha, 32);
	return c;
}

static void invoke(struct fixture *f, const char *request_id, const char *event, uint64_t corr)
{
	struct sl_msg_invoke iv = {.request_id = request_id,
				   .sandbox_id = "",
				   .function = "upper",
				   .version = "1",
				   .function_arn = "arn:aws:lambda:us-east-1:1:function:upper",
				   .trace_id = "",
				   .client_context = "",
				   .deadline_ns = sl_wall_ns() + 5 * SL_NSEC_PER_SEC,
				   .payload = event,
				   .payload_len = (uint32_t)strlen(event)};

	worker_invoke(&f->a, &iv, corr);
}

/* A sandbox's whole life as the sink sees it: code asked for, created, ready (answering the
 * CREATE), frozen, invoked (a result, then idle and frozen again), a function error, a kill, a
 * destroy answering its command, and the end of the drain. */
static void test_create_invoke_destroy(void **state)
{
	struct fixture *f = *state;
	struct sl_msg_create c = create_msg(f, "w-1");
	unsigned ready, res, idle, i;
	struct rec *r;

	assert_int_equal(worker_create(&f->a, &c, 11), 0);
	assert_int_equal(find(f, 0, REC_NEED, 0), 0);
	/* created at the spawn (no command answered), ready answers the CREATE */
	r = &f->recs[find_state(f, 0, SL_SANDBOX_CREATED)];
	assert_string_equal(r->id, "w-1");
	assert_int_equal(r->corr, 0);
	ready = wait_for(f, REC_EVENT, 11);
	assert_int_equal(f->recs[ready].state, SL_SANDBOX_IDLE);
	assert_int_equal(f->recs[ready].reason, SL_REASON_COMMAND);
	wait_state(f, ready, SL_SANDBOX_FROZEN); /* no BPF: frozen as soon as idle */
	assert_int_equal(worker_count(&f->a), 1);

	invoke(f, "req-1", "\"hello\"", 12);
	res = wait_for(f, REC_RESULT, 12);
	r = &f->recs[res];
	assert_int_equal(r->status, SL_INVOKE_OK);
	assert_string_equal(r->id, "w-1");
	assert_string_equal(r->text, "\"HELLO\"");
	/* back to warm: idle once the response is in, then frozen */
	idle = wait_state(f, res, SL_SANDBOX_IDLE);
	assert_int_equal(f->recs[idle].reason, SL_REASON_COMPLETE);
	wait_state(f, idle, SL_SANDBOX_FROZEN);
	/* frozen while warm, then busy (unless the result came first: the example is quick) */
	for (i = ready + 1; i < res; i++)
		if (f->recs[i].kind == REC_EVENT)
			assert_true(f->recs[i].state == SL_SANDBOX_FROZEN ||
				    (f->recs[i].state == SL_SANDBOX_BUSY &&
				     f->recs[i].reason == SL_REASON_INVOKE));

	invoke(f, "req-2", "{\"x\": \"fail\"}", 13);
	r = &f->recs[wait_for(f, REC_RESULT, 13)];
	assert_int_equal(r->status, SL_INVOKE_FUNCTION_ERROR);
	assert_non_null(strstr(r->text, "Function.AskedToFail"));

	assert_int_equal(worker_destroy_cmd(&f->a, "w-1", 14), 0);
	r = &f->recs[f->n - 1]; /* at once: the DESTROYED event answers the DESTROY */
	assert_int_equal(r->kind, REC_EVENT);
	assert_int_equal(r->state, SL_SANDBOX_DESTROYED);
	assert_int_equal(r->reason, SL_REASON_COMMAND);
	assert_int_equal(r->corr, 14);
	assert_int_equal(worker_count(&f->a), 0);
	assert_int_equal(find(f, 0, REC_DROP, 0), -1); /* its code had come: nothing to drop */
	assert_int_equal(find(f, 0, REC_ERROR, 0), -1);
	assert_int_equal(find(f, 0, REC_EMPTY, 0), -1); /* not draining */

	worker_drain(&f->a, 0);
	assert_int_equal(f->recs[f->n - 1].kind, REC_EMPTY);
}

/* A kill from the local API destroys the sandbox from the loop, answering no command. */
static void test_kill(void **state)
{
	struct fixture *f = *state;
	struct sl_msg_create c = create_msg(f, "w-2");
	unsigned ready, gone;

	assert_int_equal(worker_create(&f->a, &c, 21), 0);
	ready = wait_for(f, REC_EVENT, 21);
	assert_int_equal(worker_kill(&f->a, "w-2"), 0);
	assert_int_equal(worker_kill(&f->a, "w-3"), -ENOENT);
	gone = wait_state(f, ready, SL_SANDBOX_DESTROYED);
	assert_int_equal(f->recs[gone].reason, SL_REASON_COMMAND);
	assert_int_equal(f->recs[gone].corr, 0);
	assert_int_equal(worker_count(&f->a), 0);
}

/* Commands the worker refuses return -errno and tell the sink nothing; an INVOKE it cannot
 * serve is answered with a result, as Lambda's NO_SANDBOX. */
static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct sl_msg_create c = create_msg(f, "w-4");
	struct rec *r;
	unsigned n;
	int need;

	f->answer = 0; /* the code never comes */
	assert_int_equal(worker_create(&f->a, &c, 31), 0);
	need = find(f, 0, REC_NEED, 0);
	assert_true(need >= 0);
	n = f->n;
	assert_int_equal(worker_create(&f->a, &c, 32), -EEXIST);
	assert_int_equal(worker_destroy_cmd(&f->a, "w-none", 33), -ENOENT);
	assert_int_equal(f->n, n);

	invoke(f, "req-3", "{}", 34); /* w-4 is still starting: not warm */
	r = &f->recs[wait_for(f, REC_RESULT, 34)];
	assert_int_equal(r->status, SL_INVOKE_NO_SANDBOX);
	assert_non_null(strstr(r->text, "Agent.NoSandbox"));

	/* destroyed while its code is awaited: the fetch is dropped for it */
	assert_int_equal(worker_destroy_cmd(&f->a, "w-4", 35), 0);
	r = &f->recs[find(f, 0, REC_DROP, 0)];
	assert_ptr_equal(r->s, f->recs[need].s);
	r = &f->recs[f->n - 1];
	assert_int_equal(r->state, SL_SANDBOX_DESTROYED);
	assert_int_equal(r->corr, 35);

	worker_drain(&f->a, 0);
	assert_int_equal(f->recs[f->n - 1].kind, REC_EMPTY);
	assert_true(worker_draining(&f->a));
	assert_int_equal(worker_create(&f->a, &c, 36), -ESHUTDOWN);
	invoke(f, "req-4", "{}", 37);
	r = &f->recs[f->n - 1];
	assert_int_equal(r->kind, REC_RESULT);
	assert_int_equal(r->corr, 37);
	assert_int_equal(r->status, SL_INVOKE_NO_SANDBOX);
	assert_non_null(strstr(r->text, "Agent.Draining"));
}

/* Code that cannot be had fails the accepted CREATE through command_error (the errno for
 * control.c to map), and the sandbox is reported destroyed as an init error. */
static void test_code_failure(void **state)
{
	struct fixture *f = *state;
	struct sl_msg_create c = create_msg(f, "w-5");
	struct rec *r;
	int e;

	f->answer = -EBADMSG;
	assert_int_equal(worker_create(&f->a, &c, 41), 0);
	e = find(f, 0, REC_ERROR, 41);
	assert_true(e >= 0);
	r = &f->recs[e];
	assert_int_equal(r->ref_type, SL_MSG_CREATE_SANDBOX);
	assert_int_equal(r->r, -EBADMSG);
	assert_string_equal(r->text, "sandbox w-5: the package is damaged");
	r = &f->recs[f->n - 1];
	assert_int_equal(r->state, SL_SANDBOX_DESTROYED);
	assert_int_equal(r->reason, SL_REASON_INIT_ERROR);
	assert_int_equal(r->corr, 0); /* the error answered the CREATE */
	assert_int_equal(find(f, 0, REC_DROP, 0), -1);
	assert_int_equal(worker_count(&f->a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_invoke_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_failure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

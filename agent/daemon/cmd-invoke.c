// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-agent invoke --code DIR|ZIP [OPTIONS]: a function invoked locally, no control node
 * (as AWS SAM's `sam local invoke` and the Lambda Runtime Interface Emulator do). The function
 * runs as the daemon runs it: /var/task/bootstrap in a sandbox with the code read-only at
 * /var/task, Lambda's environment (lambda-env.h), the Runtime API at 127.0.0.1:9001 inside
 * (runtime-api.h), the memory and CPU of its memory size (the init phase's CPU budget until
 * the first `next`). Each event goes to the warm sandbox; after a timeout or a crash the next
 * one cold-starts a new sandbox, as in Lambda.
 *
 * `sandlot-agent` (static) execs sandlot-agentd for this command: it needs HTTP and zip.
 */
#include "run/cmd.h"
#include "daemon/codecache.h"
#include "daemon/invoke-opts.h"
#include "daemon/lambda-env.h"
#include <sandlot/loop.h>
#include "daemon/runtime-api.h"
#include "sandbox/sandbox.h"

#include <sandlot/json.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNTIME_API_PORT 9001
#define INIT_TIMEOUT_NS	 (10 * SL_NSEC_PER_SEC) /* Lambda's init phase limit */

/* What an invocation came to; the exit status is the worst of them (init > timeout > error). */
enum outcome { OK, FUNCTION_ERROR, TIMEOUT, INIT_ERROR };
static const char *const outcome_names[] = {"ok", "function_error", "timeout", "init_error"};
static const int outcome_exit[] = {SL_EXIT_OK, SL_EXIT_INVOKE_FUNCTION_ERROR,
				   SL_EXIT_INVOKE_TIMEOUT, SL_EXIT_INVOKE_INIT_ERROR};

struct inv {
	struct sl_invoke_opts o;
	struct sl_loop *loop;
	struct sl_runtime *rt;
	struct sl_codecache *cache;
	struct sl_codecache_entry *entry;
	char tmp[64]; /* the code cache of a zip, removed at exit ("" when none) */
	const char *code_dir;
	char arn[160];
	int self_netns;
	int exit_code; /* worst so far; a set-up failure or a signal stops everything */
	unsigned done; /* invocations finished */

	/* the sandbox of now */
	struct sl_sandbox *sb;
	struct sl_rtapi *api;
	int pidfd;
	bool ready, active, cold;
	uint64_t spawn_mono, init_ns, start_mono;
	char rid[40];
	bool rid_used; /* rid went to an invocation: the next one needs a new one */
	struct sl_timer *init_timer, *deadline, *rtapi_timer;
};

static int _printf_(1, 2) bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sandlot-agent invoke: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -EINVAL;
}

/* ---- code ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* A directory is used as it is; a zip is checked and unpacked as the agent does. */
static int open_code(struct inv *v)
{
	struct sl_codecache_opts co = {0};
	char hex[SL_CODECACHE_HEX_LEN + 1], dir[80];
	struct stat st;
	int r;

	if (stat(v->o.code, &st) < 0)
		return bad("--code '%s': %s", v->o.code, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		v->code_dir = v->o.code;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return bad("--code '%s': neither a directory nor a zip file", v->o.code);
	snprintf(v->tmp, sizeof(v->tmp), "/tmp/sandlot-invoke-XXXXXX");
	if (!mkdtemp(v->tmp)) {
		v->tmp[0] = '\0';
		return bad("--code: a temporary directory: %s", strerror(errno));
	}
	snprintf(dir, sizeof(dir), "%s/code", v->tmp);
	co.dir = dir;
	r = sl_codecache_new(&v->cache, &co);
	if (r == 0)
		r = sl_codecache_digest_file(v->o.code, hex);
	if (r == 0)
		r = sl_codecache_add_file(v->cache, hex, v->o.code, &v->entry);
	if (r < 0)
		return bad("--code '%s': %s", v->o.code,
			   v->cache && sl_codecache_error(v->cache)[0]
				   ? sl_codecache_error(v->cache)
				   : strerror(-r));
	v->code_dir = sl_codecache_entry_path(v->entry);
	return 0;
}

static void close_code(struct inv *v)
{
	sl_codecache_release(v->cache, &v->entry);
	sl_codecache_free(&v->cache);
	if (v->tmp[0])
		nftw(v->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- output ---- */

/* The payload as JSON when it is JSON, else as a string. */
static json_t *payload_json(const void *body, size_t len)
{
	json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);

	return j ? j : json_stringn(body, len);
}

struct result {
	enum outcome outcome;
	const char *error_type; /* of a function error (errorType or the runtime's header) */
	const void *body;
	size_t len;
	double duration_ms; /* < 0: none (init failed) */
};

static void print_json(struct inv *v, const struct result *res, uint64_t peak_mb)
{
	json_t *o = json_object();

	sl_json_set_str(o, "request_id", v->rid);
	sl_json_set_str(o, "status", outcome_names[res->outcome]);
	if (res->outcome != OK) {
		sl_json_set_str(o, "function_error", "Unhandled");
		sl_json_set_str(o, "error_type", res->error_type ? res->error_type : "Unknown");
	}
	json_object_set_new(o, "payload", payload_json(res->body, res->len));
	if (v->cold)
		sl_json_set_real(o, "init_duration_ms", (double)v->init_ns / 1e6);
	if (res->duration_ms >= 0)
		sl_json_set_real(o, "duration_ms", res->duration_ms);
	sl_json_set_int(o, "memory_size_mb", v->o.memory_mb);
	sl_json_set_int(o, "max_memory_used_mb", (long long)peak_mb);
	sl_json_print(stdout, o, false);
}

/* As Lambda's REPORT log line, and the error as its CLI shows it (X-Amz-Function-Error). */
static void print_text(struct inv *v, const struct result *res, uint64_t peak_mb)
{
	fwrite(res->body, 1, res->len, stdout);
	if (!res->len || ((const char *)res->body)[res->len - 1] != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	if (res->outcome != OK)
		fprintf(stderr, "FunctionError: Unhandled (%s) %s\n",
			res->error_type ? res->error_type : "Unknown", outcome_names[res->outcome]);
	fprintf(stderr, "REPORT RequestId: %s", v->rid);
	if (res->duration_ms >= 0)
		fprintf(stderr, "\tDuration: %.2f ms", res->duration_ms);
	fprintf(stderr, "\tMemory Size: %u MB\tMax Memory Used: %llu MB", v->o.memory_mb,
		(unsigned long long)peak_mb);
	if (v->cold)
		fprintf(stderr, "\tInit Duration: %.2f ms", (double)v->init_ns / 1e6);
	fprintf(stderr, "\n");
}

static void report(struct inv *v, const struct result *res)
{
	struct sl_cgroup_stats st = {0};
	uint64_t peak_mb;

	if (v->sb)
		sl_sandbox_stats(v->sb, &st);
	peak_mb = (st.memory_peak_bytes + (1 << 20) - 1) >> 20; /* MB rounded up, as Lambda's */
	if (v->o.json)
		print_json(v, res, peak_mb);
	else
		print_text(v, res, peak_mb);
	if (outcome_exit[res->outcome] > v->exit_code)
		v->exit_code = outcome_exit[res->outcome];
	v->done++;
	v->active = false;
	v->cold = false;
}

/* A Lambda-shaped error body {"errorMessage", "errorType"} into buf. */
static size_t error_body(char *buf, size_t len, const char *type, const char *fmt, ...)
	_printf_(4, 5);
static size_t error_body(char *buf, size_t len, const char *type, const char *fmt, ...)
{
	json_t *o = json_object();
	char msg[512];
	va_list ap;
	char *s;
	size_t n = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_json_set_str(o, "errorMessage", msg);
	sl_json_set_str(o, "errorType", type);
	s = json_dumps(o, JSON_COMPACT);
	if (s)
		n = (size_t)snprintf(buf, len, "%s", s);
	free(s);
	json_decref(o);
	return MIN(n, len - 1);
}

/* ---- the sandbox ---- */

static void start_sandbox(struct inv *v);

static void teardown(struct inv *v)
{
	/* killed first: a runtime whose Runtime API goes away would say so on our stderr */
	if (v->sb)
		sl_sandbox_kill(v->sb);
	sl_loop_cancel_timer(v->loop, &v->init_timer);
	sl_loop_cancel_timer(v->loop, &v->deadline);
	sl_loop_cancel_timer(v->loop, &v->rtapi_timer);
	if (v->api) {
		sl_loop_del_io(v->loop, sl_rtapi_fd(v->api));
		sl_rtapi_free(&v->api);
	}
	if (v->pidfd >= 0)
		sl_loop_del_io(v->loop, v->pidfd);
	v->pidfd = -1;
	sl_sandbox_free(&v->sb);
	v->ready = v->active = false;
}

/* After an invocation ended: the next one, or the end. From the loop, not a server callback. */
static void next_or_exit(struct inv *v)
{
	if (v->done >= v->o.repeat) {
		sl_loop_exit(v->loop, 0);
		return;
	}
	if (!v->sb)
		start_sandbox(v);
}

static void on_deadline(struct sl_loop *loop, void *data);

/* A request id for the next invocation (a version 4 UUID, as Lambda's). */
static void new_rid(struct inv *v)
{
	uint8_t rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, v->done, sizeof(rnd));
	rnd[6] = (rnd[6] & 0x0f) | 0x40;
	rnd[8] = (rnd[8] & 0x3f) | 0x80;
	snprintf(v->rid, sizeof(v->rid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10],
		 rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
	v->rid_used = false;
}

static void begin_invoke(struct inv *v)
{
	uint64_t deadline_ms = (sl_wall_ns() + v->o.timeout_ns) / SL_NSEC_PER_MSEC;
	int r;

	if (v->rid_used)
		new_rid(v);
	v->rid_used = true;
	v->active = true;
	v->start_mono = sl_now_ns();
	sl_loop_add_timer(v->loop, v->start_mono + v->o.timeout_ns, on_deadline, v, &v->deadline);
	r = sl_rtapi_invoke(v->api, v->rid, deadline_ms, v->arn, NULL, v->o.event, v->o.event_len);
	if (r < 0) {
		fprintf(stderr, "sandlot-agent invoke: handing the event over: %s\n", strerror(-r));
		v->exit_code = SL_EXIT_INVOKE_SETUP;
		sl_loop_exit(v->loop, 0);
	}
}

static void finish(struct inv *v, enum outcome oc, const char *type, const void *body, size_t len)
{
	struct result res = {.outcome = oc,
			     .error_type = type,
			     .body = body,
			     .len = len,
			     .duration_ms = (double)(sl_now_ns() - v->start_mono) / 1e6};

	sl_loop_cancel_timer(v->loop, &v->deadline);
	report(v, &res);
}

static void on_response(struct sl_rtapi *srv, void *data, const char *request_id, const void *body,
			size_t len, const char *content_type)
{
	struct inv *v = data;

	finish(v, OK, NULL, body, len);
	if (v->done < v->o.repeat)
		begin_invoke(v); /* the warm sandbox takes the next event */
	else
		sl_loop_exit(v->loop, 0);
}

static void on_error(struct sl_rtapi *srv, void *data, const char *request_id,
		     const struct sl_rtapi_error *err)
{
	struct inv *v = data;

	finish(v, FUNCTION_ERROR, err->error_type ? err->error_type : err->type, err->body,
	       err->body_len);
	if (v->done < v->o.repeat)
		begin_invoke(v);
	else
		sl_loop_exit(v->loop, 0);
}

/* Init failed: the invocation waiting for it fails so, and nothing more is tried. */
static void init_failed(struct inv *v, const char *type, const void *body, size_t len)
{
	struct result res = {.outcome = INIT_ERROR,
			     .error_type = type,
			     .body = body,
			     .len = len,
			     .duration_ms = -1};

	sl_loop_cancel_timer(v->loop, &v->init_timer);
	v->cold = true;
	v->init_ns = sl_now_ns() - v->spawn_mono;
	report(v, &res);
	v->done = v->o.repeat;
	sl_loop_exit(v->loop, 0);
}

static void on_init_error(struct sl_rtapi *srv, void *data, const struct sl_rtapi_error *err)
{
	struct inv *v = data;

	init_failed(v, err->error_type ? err->error_type : err->type, err->body, err->body_len);
}

static void on_ready(struct sl_rtapi *srv, void *data)
{
	struct inv *v = data;

	sl_loop_cancel_timer(v->loop, &v->init_timer);
	v->ready = true;
	v->init_ns = sl_now_ns() - v->spawn_mono;
	/* the init phase's CPU budget ends here, as in the daemon (worker.c) */
	if (sl_sandbox_set_cpu(v->sb, sl_lambda_cpu_millis(v->o.memory_mb)) < 0)
		fprintf(stderr, "sandlot-agent invoke: cannot lower the CPU quota after init\n");
	begin_invoke(v);
}

static void on_deadline(struct sl_loop *loop, void *data)
{
	struct inv *v = data;
	char body[256];
	size_t n = error_body(body, sizeof(body), "Sandbox.Timedout",
			      "RequestId: %s Error: Task timed out after %.2f seconds", v->rid,
			      sl_ns_to_sec(v->o.timeout_ns));

	v->deadline = NULL;
	finish(v, TIMEOUT, "Sandbox.Timedout", body, n);
	teardown(v); /* as in Lambda, a timed-out sandbox is not reused */
	next_or_exit(v);
}

static void on_init_timeout(struct sl_loop *loop, void *data)
{
	struct inv *v = data;
	char body[256];
	size_t n = error_body(body, sizeof(body), "Runtime.InitTimeout",
			      "the runtime did not ask for an event within %llu seconds",
			      (unsigned long long)(INIT_TIMEOUT_NS / SL_NSEC_PER_SEC));

	v->init_timer = NULL;
	init_failed(v, "Runtime.InitTimeout", body, n);
}

static void service(struct inv *v);

static void on_exit_fd(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct inv *v = data;
	struct sl_sandbox_result res = {0};
	char body[256], why[64];
	size_t n;

	service(v); /* what the runtime said before it went */
	if (!v->sb || sl_sandbox_reap(v->sb, &res) == -EAGAIN)
		return;
	if (v->done >= v->o.repeat) { /* all reported (an init error, say): only the exit left */
		teardown(v);
		sl_loop_exit(v->loop, 0);
		return;
	}
	if (res.signal)
		snprintf(why, sizeof(why), "signal: %d", res.signal);
	else
		snprintf(why, sizeof(why), "exit status %d", res.exit_code);
	n = error_body(body, sizeof(body), "Runtime.ExitError",
		       "RequestId: %s Error: Runtime exited with %s%s%s", v->ready ? v->rid : "",
		       why, res.setup_step[0] ? ", set-up step " : "", res.setup_step);
	if (!v->ready)
		init_failed(v, "Runtime.ExitError", body, n);
	else if (v->active)
		finish(v, FUNCTION_ERROR, "Runtime.ExitError", body, n);
	teardown(v);
	next_or_exit(v);
}

static void on_rtapi_timer(struct sl_loop *loop, void *data)
{
	struct inv *v = data;

	v->rtapi_timer = NULL;
	service(v);
}

/* Runs the Runtime API server until it has nothing left to do now (as worker.c does). */
static void service(struct inv *v)
{
	int t = 0;

	sl_loop_cancel_timer(v->loop, &v->rtapi_timer);
	for (int i = 0; i < 16 && v->api; i++) {
		sl_rtapi_run(v->api);
		t = v->api ? sl_rtapi_timeout_ms(v->api) : -1;
		if (t != 0)
			break;
	}
	if (v->api && t >= 0)
		sl_loop_add_timer(v->loop, sl_now_ns() + (uint64_t)t * SL_NSEC_PER_MSEC,
				  on_rtapi_timer, v, &v->rtapi_timer);
}

static void on_rtapi(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	service(data);
}

/* The Runtime API's listening socket at 127.0.0.1:9001 in the sandbox's network namespace. */
static int spawn_hook(struct sl_sandbox *sb, void *data)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(RUNTIME_API_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int *ret_fd = data, netns = sl_sandbox_netns_fd(sb), fd, one = 1, r = 0;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (netns < 0 || self < 0 || setns(netns, CLONE_NEWNET) < 0) {
		r = netns < 0 ? netns : sl_negerrno();
		sl_closep(&self);
		return r;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* lo may still be down (the child brings it up): bind before the address exists */
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0)
		r = sl_negerrno();
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* never serve from inside a sandbox's network */
	close(self);
	if (r < 0)
		sl_closep(&fd);
	*ret_fd = fd;
	return r;
}

static const struct sl_rtapi_ops rtapi_ops = {
	.ready = on_ready,
	.response = on_response,
	.error = on_error,
	.init_error = on_init_error,
};

static int spawn(struct inv *v, char **envp)
{
	char *argv[] = {"/var/task/bootstrap", NULL};
	int listen_fd = -1, r;
	struct sl_sandbox_config cfg = {
		.argv = argv,
		.envp = envp,
		.memory_bytes = (uint64_t)v->o.memory_mb << 20,
		.cpu_millis = sl_lambda_init_cpu_millis(v->o.memory_mb, v->o.init_cpu_millis),
		.code_dir = v->code_dir,
		.stdio = {SL_STDIO_NULL, STDERR_FILENO, STDERR_FILENO},
		.hook = spawn_hook,
		.hook_data = &listen_fd,
	};

	v->spawn_mono = sl_now_ns();
	r = sl_sandbox_spawn(v->rt, &cfg, &v->sb);
	if (r < 0) {
		sl_closep(&listen_fd);
		return r;
	}
	r = sl_rtapi_new(&v->api, listen_fd, NULL, &rtapi_ops, v);
	if (r < 0) {
		close(listen_fd);
		return r;
	}
	v->pidfd = sl_sandbox_pidfd(v->sb);
	r = sl_loop_add_io(v->loop, sl_rtapi_fd(v->api), EPOLLIN, on_rtapi, v);
	if (r == 0)
		r = sl_loop_add_io(v->loop, v->pidfd, EPOLLIN, on_exit_fd, v);
	if (r == 0)
		r = sl_loop_add_timer(v->loop, v->spawn_mono + INIT_TIMEOUT_NS, on_init_timeout, v,
				      &v->init_timer);
	return r;
}

static void start_sandbox(struct inv *v)
{
	char stream[SL_LAMBDA_LOG_STREAM_MAX + 1];
	uint8_t rnd[16] = {0};
	struct sl_lambda_fn fn = {.name = v->o.name,
				  .handler = v->o.handler,
				  .memory_mb = v->o.memory_mb,
				  .region = v->o.region,
				  .log_stream = stream,
				  .user_env = (const char *const *)v->o.env};
	char **envp = NULL;
	int r;

	(void)!getrandom(rnd, sizeof(rnd), 0);
	if (sl_lambda_env_log_stream(stream, sizeof(stream), "$LATEST", time(NULL), rnd) < 0)
		fn.log_stream = NULL;
	r = sl_lambda_env_build(&fn, &envp, NULL);
	if (r == 0)
		r = spawn(v, envp);
	free(envp);
	v->cold = true;
	if (v->rid_used || !v->rid[0])
		new_rid(v); /* the invocation that waits for this cold start */
	if (r < 0) {
		fprintf(stderr, "sandlot-agent invoke: sandbox set-up: %s\n", strerror(-r));
		teardown(v);
		v->exit_code = SL_EXIT_INVOKE_SETUP;
		sl_loop_exit(v->loop, 0);
	}
}

/* ---- the command ---- */

static void on_signal(struct sl_loop *loop, int signo, void *data)
{
	struct inv *v = data;

	fprintf(stderr, "sandlot-agent invoke: %s: stopping\n", strsignal(signo));
	v->exit_code = 128 + signo;
	sl_loop_exit(loop, 0);
}

static int setup(struct inv *v)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	int r;

	r = sl_runtime_new(&v->rt, NULL);
	if (r < 0) {
		fprintf(stderr, "sandlot-agent invoke: sandbox runtime: %s%s\n", strerror(-r),
			geteuid() ? " (needs root)" : "");
		return r;
	}
	r = sl_loop_new(&v->loop);
	if (r == 0)
		r = sl_loop_add_signals(v->loop, sigs, (int)ARRAY_SIZE(sigs), on_signal, v);
	if (r < 0)
		fprintf(stderr, "sandlot-agent invoke: event loop: %s\n", strerror(-r));
	return r;
}

int sl_cmd_invoke(int argc, char **argv)
{
	struct inv v = {.pidfd = -1};
	int r = sl_invoke_opts_parse(&v.o, argc, argv);

	if (r == 1)
		sl_invoke_usage(stdout);
	if (r != 0 || (r = open_code(&v)) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	snprintf(v.arn, sizeof(v.arn), "arn:aws:lambda:%s:000000000000:function:%s", v.o.region,
		 v.o.name);
	if (setup(&v) < 0) {
		r = 0;
		v.exit_code = SL_EXIT_INVOKE_SETUP;
		goto out;
	}
	start_sandbox(&v);
	if (v.exit_code != SL_EXIT_INVOKE_SETUP)
		sl_loop_run(v.loop);
	teardown(&v);
out:
	sl_loop_free(&v.loop);
	sl_runtime_free(&v.rt);
	close_code(&v);
	sl_invoke_opts_free(&v.o);
	if (r == 1)
		return SL_EXIT_OK;
	return r < 0 ? SL_EXIT_USAGE : v.exit_code;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Sandboxes of functions inside the daemon: CREATE_SANDBOX -> code -> spawn with the Runtime
 * API listening inside the sandbox -> ready at the runtime's first `next` -> invocations, one
 * at a time -> frozen between them -> destroyed on keep-alive, eviction, timeout, crash,
 * command or drain. Every transition goes to the sink (worker.h) as it happens.
 *
 * Busy and idle: an invocation in flight is busy (the agent tells BPF); after the response the
 * sandbox stays busy until the BPF idle detector sees no CPU and no packets for the idle
 * threshold, then it is reported idle and frozen. Without BPF (degraded) it is frozen at once.
 */
#include "daemon/worker.h"

#include "daemon/agent-log.h"
#include "daemon/lambda-env.h"
#include "daemon/metrics-agent.h"
#include "daemon/worker-internal.h"
#include "sandbox/shellpool.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define RUNTIME_API_PORT 9001

/* ---- bookkeeping ---- */

struct asb *worker_find(struct agent *a, const char *id)
{
	for (struct asb *s = a->sandboxes; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static struct asb *find_cgid(struct agent *a, uint64_t cgid)
{
	for (struct asb *s = a->sandboxes; s; s = s->next)
		if (s->cgid == cgid)
			return s;
	return NULL;
}

static void fill_msg(const struct asb *s, struct sl_msg_sandbox *ret)
{
	*ret = (struct sl_msg_sandbox){
		.sandbox_id = s->id,
		.function = s->function,
		.version = s->version,
		.state = s->state,
		.reason = s->reason,
		.at_ns = sl_wall_ns(),
		.created_ns = s->created_wall,
		.last_active_ns = s->last_active_wall,
		.memory_bytes = (uint64_t)s->memory_mb << 20,
	};
}

void worker_set_sink(struct agent *a, const struct worker_sink *sink)
{
	a->sink = *sink;
}

bool worker_draining(const struct agent *a)
{
	return a->draining;
}

unsigned worker_count(const struct agent *a)
{
	return a->n_sandboxes;
}

void worker_each(struct agent *a, void (*fn)(const struct worker_sandbox *sb, void *data),
		 void *data)
{
	for (struct asb *s = a->sandboxes; s; s = s->next) {
		struct worker_sandbox sb = {
			.pool_key = s->pe.key,
			.code_sha256 = s->code_hex,
			.runtime_id = s->sb ? sl_sandbox_id(s->sb) : NULL,
			.memory_mb = s->memory_mb,
			.invocations = s->invocations,
			.init_ns = s->init_ns,
			.cgroup_id = s->cgid,
			.in_flight = s->inv.active,
			.warm = s->pe.state == SL_POOL_IDLE,
		};

		fill_msg(s, &sb.msg);
		fn(&sb, data);
	}
}

void worker_counts(struct agent *a, uint32_t *created, uint32_t *busy, uint32_t *idle,
		   uint32_t *frozen, uint64_t *memory, uint32_t *inflight)
{
	*created = *busy = *idle = *frozen = *inflight = 0;
	for (struct asb *s = a->sandboxes; s; s = s->next) {
		*created += s->state == SL_SANDBOX_CREATED;
		*busy += s->state == SL_SANDBOX_BUSY;
		*idle += s->state == SL_SANDBOX_IDLE;
		*frozen += s->state == SL_SANDBOX_FROZEN;
		*inflight += s->inv.active;
	}
	*memory = a->pool.reserved;
}

/*
 * CPU used by sandboxes since the last sample, in thousandths of a CPU. Per sandbox deltas, so
 * that a sandbox destroyed in between does not make the sum go backwards.
 */
static uint32_t cpu_millis(struct agent *a)
{
	uint64_t now = sl_now_ns(), usec = 0, elapsed_us;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sl_cgroup_stats st;

	for (struct asb *s = a->sandboxes; s; s = s->next) {
		if (!s->sb || sl_sandbox_stats(s->sb, &st) < 0)
			continue;
		usec += st.cpu_usec >= s->hb_cpu_usec ? st.cpu_usec - s->hb_cpu_usec : 0;
		s->hb_cpu_usec = st.cpu_usec;
		s->memory_peak = MAX(s->memory_peak, st.memory_peak_bytes);
	}
	elapsed_us = a->last_cpu_mono && now > a->last_cpu_mono
			     ? (now - a->last_cpu_mono) / SL_NSEC_PER_USEC
			     : 0;
	a->last_cpu_mono = now;
	if (elapsed_us == 0)
		return 0;
	return (uint32_t)MIN(usec * 1000 / elapsed_us, (uint64_t)MAX(ncpu, 1) * 1000);
}

void worker_sample(struct agent *a, struct worker_sample *ret)
{
	struct worker_sample ws = {0};

	worker_counts(a, &ws.created, &ws.busy, &ws.idle, &ws.frozen, &ws.memory, &ws.inflight);
	ws.cpu_millis = cpu_millis(a);
	*ret = ws;
}

/* Records and reports a transition (corr: the command it answers, or 0). */
void worker_transition(struct asb *s, uint8_t state, uint8_t reason, uint64_t corr)
{
	struct sl_msg_sandbox ev;

	agent_log_transition(s, state, reason);
	agent_metrics_transition(s, state, reason);
	s->state = state;
	s->reason = reason;
	if (state == SL_SANDBOX_BUSY)
		s->last_active_wall = sl_wall_ns();
	fill_msg(s, &ev);
	s->a->sink.sandbox_event(s->a->sink.data, &ev, corr);
}

void worker_set_frozen(struct asb *s, bool frozen)
{
	int r;

	if (s->frozen == frozen || !s->sb)
		return;
	r = sl_sandbox_freeze(s->sb, frozen);
	if (r < 0) {
		sl_log_kv_err(r, SL_LOG_WARN, frozen ? "cannot freeze" : "cannot thaw",
			      "sandbox=%s", s->id);
		return;
	}
	s->frozen = frozen;
}

/* Idle and frozen: what a warm sandbox is between invocations. */
void worker_go_idle(struct asb *s, uint8_t reason)
{
	struct sl_cgroup_stats st;

	if (s->sb && sl_sandbox_stats(s->sb, &st) == 0) /* off the invocation's path */
		s->memory_peak = MAX(s->memory_peak, st.memory_peak_bytes);
	if (s->state != SL_SANDBOX_IDLE)
		worker_transition(s, SL_SANDBOX_IDLE, reason, 0);
	worker_set_frozen(s, true);
	if (s->frozen)
		worker_transition(s, SL_SANDBOX_FROZEN, SL_REASON_FREEZE, 0);
}

/* ---- destruction ---- */

static void free_env(struct asb *s)
{
	for (char **e = s->user_env; e && *e; e++)
		free(*e);
	free(s->user_env);
	s->user_env = NULL;
}

/* Draining and nothing left: the sink hears it (a SIGTERM's drain ends there). */
static void check_empty(struct agent *a)
{
	if (a->draining && a->n_sandboxes == 0)
		a->sink.empty(a->sink.data);
}

static void unwatch(struct agent *a, int *fd)
{
	if (*fd >= 0)
		sl_loop_del_io(a->loop, *fd);
	*fd = -1;
}

void worker_destroy(struct asb *s, uint8_t reason)
{
	struct agent *a = s->a;
	uint64_t corr = s->create_reply ? s->create_corr : 0;

	if (s->dying)
		return;
	s->dying = true;
	if (s->inv.active) {
		char body[256];
		size_t n =
			invoke_error_json(body, sizeof(body), "Runtime.Destroyed",
					  "sandbox destroyed (%s)", sl_proto_reason_name(reason));

		invoke_finish(s, SL_INVOKE_INTERNAL, "Unhandled", body, n);
	}
	sl_loop_cancel_timer(a->loop, &s->init_timer);
	sl_loop_cancel_timer(a->loop, &s->inv.deadline);
	sl_loop_cancel_timer(a->loop, &s->destroy_timer);
	sl_loop_cancel_timer(a->loop, &s->rtapi_timer);
	if (s->fetching)
		a->sink.drop_code(a->sink.data, s);
	s->fetching = false;
	if (s->api) {
		sl_loop_del_io(a->loop, sl_rtapi_fd(s->api));
		sl_rtapi_free(&s->api);
	}
	unwatch(a, &s->out_fd);
	unwatch(a, &s->pidfd);
	if (s->bpf)
		sl_bpf_sandbox_remove(a->bpf, s->cgid);
	sl_sandbox_free(&s->sb);
	sl_codecache_release(a->cache, &s->code);
	sl_pool_remove(&a->pool, &s->pe);
	if (s->prev)
		s->prev->next = s->next;
	else
		a->sandboxes = s->next;
	if (s->next)
		s->next->prev = s->prev;
	a->n_sandboxes--;
	a->stats.destroyed++;
	s->create_reply = false;
	worker_transition(s, SL_SANDBOX_DESTROYED, reason, corr);
	free_env(s);
	free(s->pending);
	free(s);
	worker_keepalive_rearm(a);
	check_empty(a);
}

static void on_destroy_later(struct sl_loop *loop, void *data)
{
	struct asb *s = data;

	s->destroy_timer = NULL;
	worker_destroy(s, s->destroy_reason);
}

/* Destroys s from the loop, not from inside a callback of its own Runtime API server. */
void worker_destroy_later(struct asb *s, uint8_t reason)
{
	if (s->destroy_timer || s->dying)
		return;
	s->destroy_reason = reason;
	if (sl_loop_add_timer(s->a->loop, 0, on_destroy_later, s, &s->destroy_timer) < 0)
		sl_warn_kv("cannot schedule a destruction", "sandbox=%s", s->id);
}

/* ---- keep-alive ---- */

static void on_keepalive(struct sl_loop *loop, void *data)
{
	struct agent *a = data;
	struct sl_pool_entry *e;

	a->keepalive_timer = NULL;
	a->keepalive_at = 0;
	while ((e = sl_pool_expired(&a->pool, sl_now_ns(), a->cfg.keep_alive_ns)))
		worker_destroy((struct asb *)e, SL_REASON_KEEP_ALIVE);
	worker_keepalive_rearm(a);
}

void worker_keepalive_rearm(struct agent *a)
{
	uint64_t at = sl_pool_next_expiry(&a->pool, a->cfg.keep_alive_ns);

	if (at == a->keepalive_at)
		return;
	sl_loop_cancel_timer(a->loop, &a->keepalive_timer);
	a->keepalive_at = 0;
	if (at != UINT64_MAX &&
	    sl_loop_add_timer(a->loop, at, on_keepalive, a, &a->keepalive_timer) == 0)
		a->keepalive_at = at;
}

/* ---- the runtime's life ---- */

static void on_ready(struct sl_rtapi *srv, void *data)
{
	struct sl_cgroup_stats st;
	struct asb *s = data;
	struct agent *a = s->a;
	uint64_t corr = s->create_reply ? s->create_corr : 0;

	sl_loop_cancel_timer(a->loop, &s->init_timer);
	/* the init phase's CPU budget ends here: the function's own quota from now on */
	if (s->sb && sl_sandbox_set_cpu(s->sb, sl_lambda_cpu_millis(s->memory_mb)) < 0)
		sl_warn_kv("cannot set the CPU quota", "sandbox=%s", s->id);
	if (s->sb && sl_sandbox_stats(s->sb, &st) == 0) /* the peak of the init phase */
		s->memory_peak = st.memory_peak_bytes;
	s->ready = true;
	s->ready_mono = sl_now_ns();
	s->init_ns = s->ready_mono - s->created_mono;
	sl_debug_kv("sandbox ready", "sandbox=%s init_us=%llu after_spawn_us=%llu", s->id,
		    (unsigned long long)(s->init_ns / 1000),
		    (unsigned long long)((s->ready_mono - s->spawned_mono) / 1000));
	s->create_reply = false;
	a->stats.cold_starts++;
	if (s->inv.active && invoke_start_pending(s)) { /* an invocation waited: it runs now */
		worker_transition(s, SL_SANDBOX_BUSY, SL_REASON_INVOKE, corr);
		return;
	}
	worker_transition(s, SL_SANDBOX_IDLE, SL_REASON_COMMAND, corr);
	sl_pool_put_idle(&a->pool, &s->pe, s->ready_mono);
	worker_keepalive_rearm(a);
	if (!s->bpf)
		worker_go_idle(s, SL_REASON_COMPLETE);
}

static void on_init_error(struct sl_rtapi *srv, void *data, const struct sl_rtapi_error *err)
{
	struct asb *s = data;

	agent_log_init_error(s, err->error_type ? err->error_type : err->type, err->error_message,
			     0);
	if (s->inv.active)
		invoke_finish(s, SL_INVOKE_INIT_ERROR, "Unhandled", err->body, err->body_len);
	worker_destroy_later(s, SL_REASON_INIT_ERROR);
}

static void on_init_timeout(struct sl_loop *loop, void *data)
{
	struct asb *s = data;
	char body[512];
	size_t n;

	s->init_timer = NULL;
	n = invoke_error_json(body, sizeof(body), "Runtime.InitTimeout",
			      "the runtime did not ask for an event within %llu seconds",
			      (unsigned long long)(SL_AGENT_INIT_TIMEOUT_NS / SL_NSEC_PER_SEC));
	agent_log_init_error(s, "Runtime.InitTimeout", "no first next within the init limit", 0);
	if (s->inv.active)
		invoke_finish(s, SL_INVOKE_INIT_ERROR, "Unhandled", body, n);
	worker_destroy(s, SL_REASON_INIT_ERROR);
}

static void on_runtime_exit(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct asb *s = data;
	struct sl_sandbox_result res = {0};
	char body[768];
	size_t n;

	if (sl_sandbox_reap(s->sb, &res) == -EAGAIN)
		return;
	if (res.signal)
		n = invoke_error_json(body, sizeof(body), "Runtime.ExitError",
				      "RequestId: %s Error: Runtime exited with signal: %d",
				      s->inv.request_id, res.signal);
	else
		n = invoke_error_json(
			body, sizeof(body), "Runtime.ExitError",
			"RequestId: %s Error: Runtime exited with error: exit status %d",
			s->inv.request_id, res.exit_code);
	if (s->inv.active)
		invoke_finish(s, s->ready ? SL_INVOKE_RUNTIME_EXIT : SL_INVOKE_INIT_ERROR,
			      "Unhandled", body, n);
	agent_log_exit(s, &res);
	worker_destroy(s, s->ready ? SL_REASON_CRASH : SL_REASON_INIT_ERROR);
}

static void on_output(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct asb *s = data;
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		sl_logtail_write(&s->log, buf, (size_t)n);
		return;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		unwatch(s->a, &s->out_fd);
}

static void on_rtapi_timer(struct sl_loop *loop, void *data)
{
	struct asb *s = data;

	s->rtapi_timer = NULL;
	worker_rtapi_service(s);
}

/*
 * Runs the sandbox's Runtime API server until it has nothing left to do now. libmicrohttpd's
 * epoll mode is edge-triggered inside: after a resumed long poll or a partial write it may
 * still have work although its fd is not readable, which sl_rtapi_timeout_ms() says (0).
 */
void worker_rtapi_service(struct asb *s)
{
	struct agent *a = s->a;
	int t = 0;

	sl_loop_cancel_timer(a->loop, &s->rtapi_timer);
	for (int i = 0; i < 16 && s->api && !s->dying; i++) {
		if (sl_rtapi_run(s->api) < 0)
			sl_debug_kv("Runtime API run failed", "sandbox=%s", s->id);
		t = s->api ? sl_rtapi_timeout_ms(s->api) : -1;
		if (t != 0)
			break;
	}
	if (s->api && !s->dying && t >= 0)
		sl_loop_add_timer(a->loop, sl_now_ns() + (uint64_t)t * SL_NSEC_PER_MSEC,
				  on_rtapi_timer, s, &s->rtapi_timer);
}

static void on_rtapi(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	worker_rtapi_service(data);
}

/* ---- spawning ---- */

static const struct sl_rtapi_ops rtapi_ops = {
	.ready = on_ready,
	.response = invoke_on_response,
	.error = invoke_on_error,
	.init_error = on_init_error,
};

struct spawn_ctx {
	struct asb *s;
	int listen_fd;
};

/* A listening socket at 127.0.0.1:9001 inside the sandbox's network namespace. */
static int listener_in(struct agent *a, int netns)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(RUNTIME_API_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd, r = 0, one = 1;

	if (setns(netns, CLONE_NEWNET) < 0)
		return sl_negerrno();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		r = sl_negerrno();
	/* lo may still be down (the child brings it up): bind before the address exists */
	else if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
		 bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0)
		r = sl_negerrno();
	if (setns(a->self_netns, CLONE_NEWNET) < 0) {
		/* We would go on serving in a sandbox's network: never. */
		sl_log_err(sl_negerrno(), "cannot return to the agent's network namespace");
		abort();
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

/* What BPF registers for every sandbox of this agent (the same when prepared ahead). */
static void bpf_spec(struct agent *a, const char *id, char *path, size_t len,
		     struct sl_bpf_sandbox_spec *ret)
{
	snprintf(path, len, "%s/%s", a->cg_dir, id);
	*ret = (struct sl_bpf_sandbox_spec){.cgroup_path = path,
					    .idle_ns = a->cfg.idle_threshold_ns};
}

/*
 * On the pool's filler thread, for a shell waiting in the pool: its cgroup gets its BPF links,
 * pins and map entries, and its netns the Runtime API's listening socket.
 */
static int prepare_shell(const struct sl_shell *sh, struct sl_shell_prep *ret, void *data)
{
	static atomic_bool warned;
	struct agent *a = data;
	char path[SL_CGROUP_PATH_MAX + 2 * SL_SANDBOX_ID_MAX];
	struct sl_bpf_sandbox_spec spec;
	int r = 0;

	if (a->bpf) {
		bpf_spec(a, sh->id, path, sizeof(path), &spec);
		r = sl_bpf_sandbox_prepare(a->bpf, &spec, &ret->id);
		if (r < 0 && !atomic_exchange(&warned, true))
			sl_log_warn_err(r, "BPF: preparing pooled shell %s (spawns will register)",
					sh->id);
	}
	if (sh->netns_fd >= 0) {
		int fd = listener_in(a, sh->netns_fd);

		if (fd >= 0)
			ret->fd = fd;
		else if (r >= 0)
			r = fd;
	}
	if (ret->id || ret->fd >= 0)
		return 0; /* what could not be made now is made at spawn */
	return r < 0 ? r : -ENOENT;
}

/* A prepared shell is freed: its registration goes unless a sandbox claimed it. */
static void discard_shell(const struct sl_shell *sh, uint64_t id, void *data)
{
	struct agent *a = data;

	(void)sh;
	if (id && a->bpf)
		(void)sl_bpf_sandbox_discard(a->bpf, id);
}

void worker_prepare_shells(struct agent *a)
{
	struct sl_shell_hooks h = {.prepare = prepare_shell, .discard = discard_shell, .data = a};

	sl_runtime_set_shell_hooks(a->rt, &h);
}

static int spawn_hook(struct sl_sandbox *sb, void *data)
{
	struct spawn_ctx *c = data;
	struct asb *s = c->s;
	struct agent *a = s->a;
	char path[SL_CGROUP_PATH_MAX + 2 * SL_SANDBOX_ID_MAX];
	uint64_t t0 = sl_now_ns(), t1;
	int r;

	/* made with the shell while it was pooled, or now */
	c->listen_fd = sl_sandbox_take_shell_fd(sb);
	if (c->listen_fd < 0) {
		int netns = sl_sandbox_netns_fd(sb);

		if (netns < 0)
			return netns;
		c->listen_fd = listener_in(a, netns);
		if (c->listen_fd < 0)
			return c->listen_fd;
	}
	t1 = sl_now_ns();
	if (a->bpf) {
		struct sl_bpf_sandbox_spec spec;

		/* claims the registration made while the shell was pooled, if it was */
		bpf_spec(a, sl_sandbox_id(sb), path, sizeof(path), &spec);
		if (sl_sandbox_cgroup_id(sb, &spec.cgid) < 0)
			spec.cgid = 0;
		r = sl_bpf_sandbox_add(a->bpf, &spec, &s->cgid);
		if (r == 0)
			s->bpf = true;
		else
			sl_log_kv_err(r, SL_LOG_WARN, "no BPF accounting or idle detection",
				      "sandbox=%s", s->id);
	}
	if (!s->bpf)
		sl_sandbox_cgroup_id(sb, &s->cgid);
	sl_debug_kv("spawn hook", "sandbox=%s socket_us=%llu bpf_us=%llu", s->id,
		    (unsigned long long)((t1 - t0) / 1000),
		    (unsigned long long)((sl_now_ns() - t1) / 1000));
	return 0;
}

static int watch(struct asb *s, int fd, sl_io_fn fn)
{
	return fd < 0 ? fd : sl_loop_add_io(s->a->loop, fd, EPOLLIN, fn, s);
}

static int spawn(struct asb *s)
{
	struct agent *a = s->a;
	char *argv[] = {"/var/task/bootstrap", NULL};
	struct sl_lambda_fn fn = {
		.name = s->function,
		.version = s->version,
		.handler = s->handler,
		.memory_mb = s->memory_mb,
		.region = a->cfg.region,
		.user_env = (const char *const *)s->user_env,
	};
	struct spawn_ctx ctx = {.s = s, .listen_fd = -1};
	struct sl_sandbox_config cfg = {
		.argv = argv,
		.memory_bytes = (uint64_t)s->memory_mb << 20,
		.cpu_millis = sl_lambda_init_cpu_millis(s->memory_mb, a->cfg.init_cpu_millis),
		.code_dir = sl_codecache_entry_path(s->code),
		/* one pipe, as Lambda has one log stream: the tail keeps the order written */
		.stdio = {SL_STDIO_NULL, SL_STDIO_PIPE, SL_STDIO_STDOUT},
		.hook = spawn_hook,
		.hook_data = &ctx,
	};
	char **envp = NULL;
	size_t bad = 0;
	int r;

	r = sl_lambda_env_build(&fn, &envp, &bad);
	if (r < 0)
		return r;
	cfg.envp = envp;
	s->created_mono = sl_now_ns();
	r = sl_sandbox_spawn(a->rt, &cfg, &s->sb);
	free(envp);
	s->spawned_mono = sl_now_ns();
	sl_debug_kv("spawn", "sandbox=%s spawn_us=%llu", s->id,
		    (unsigned long long)((s->spawned_mono - s->created_mono) / 1000));
	if (r < 0) {
		if (ctx.listen_fd >= 0)
			close(ctx.listen_fd);
		return r;
	}
	r = sl_rtapi_new(&s->api, ctx.listen_fd, NULL, &rtapi_ops, s);
	if (r < 0) {
		close(ctx.listen_fd);
		return r;
	}
	sl_debug_kv("Runtime API server started", "sandbox=%s start_us=%llu", s->id,
		    (unsigned long long)((sl_now_ns() - s->spawned_mono) / 1000));
	s->out_fd = sl_sandbox_stdio_fd(s->sb, 1);
	fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
	s->pidfd = sl_sandbox_pidfd(s->sb);
	if ((r = watch(s, sl_rtapi_fd(s->api), on_rtapi)) < 0 ||
	    (r = watch(s, s->pidfd, on_runtime_exit)) < 0 ||
	    (r = watch(s, s->out_fd, on_output)) < 0)
		return r;
	s->cold = true;
	return sl_loop_add_timer(a->loop, s->created_mono + SL_AGENT_INIT_TIMEOUT_NS,
				 on_init_timeout, s, &s->init_timer);
}

void worker_code_ready(struct asb *s, int r, const char *why, struct sl_codecache_entry **entry)
{
	struct agent *a = s->a;
	char text[SL_MSG_ERRMSG_MAX + 1];

	s->fetching = false;
	if (r == 0) {
		s->code = TAKE_PTR(*entry);
		r = spawn(s);
		if (r == 0) {
			worker_transition(s, SL_SANDBOX_CREATED, SL_REASON_COMMAND, 0);
			return;
		}
		why = r == -EINVAL || r == -EPERM || r == -E2BIG ? "invalid function environment"
								 : strerror(-r);
	}
	agent_log_init_error(s, "Sandbox.CreateFailed", why, r);
	snprintf(text, sizeof(text), "sandbox %s: %s", s->id, why ? why : strerror(-r));
	a->sink.command_error(a->sink.data, s->create_corr, SL_MSG_CREATE_SANDBOX, r, text);
	s->create_reply = false;
	worker_destroy(s, SL_REASON_INIT_ERROR);
}

/* Reserves room for s, destroying least recently used warm sandboxes if need be. */
static int make_room(struct agent *a, struct asb *s)
{
	int r;

	while ((r = sl_pool_reserve(&a->pool, &s->pe)) == -ENOSPC) {
		struct sl_pool_entry *v = sl_pool_victim(&a->pool);

		if (!v)
			return r;
		worker_destroy((struct asb *)v, SL_REASON_EVICTED);
	}
	return r == -E2BIG ? -ENOSPC : r; /* larger than the host: no capacity either */
}

static int copy_env(struct asb *s, const struct sl_msg_create *c)
{
	s->user_env = calloc(c->env_count + 1, sizeof(char *));
	if (!s->user_env)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->env_count; i++)
		if (asprintf(&s->user_env[i], "%s=%s", c->env[i].key, c->env[i].value) < 0)
			return -ENOMEM;
	return 0;
}

static void to_hex(const uint8_t sha[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

int worker_create(struct agent *a, const struct sl_msg_create *c, uint64_t corr)
{
	struct asb *s;
	int r;

	if (a->draining)
		return -ESHUTDOWN;
	if (worker_find(a, c->sandbox_id))
		return -EEXIST;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->out_fd = s->pidfd = -1;
	snprintf(s->id, sizeof(s->id), "%s", c->sandbox_id);
	snprintf(s->function, sizeof(s->function), "%s", c->function);
	snprintf(s->version, sizeof(s->version), "%s", c->version);
	snprintf(s->handler, sizeof(s->handler), "%s", c->handler);
	snprintf(s->pe.key, sizeof(s->pe.key), "%s:%s", c->function, c->version);
	to_hex(c->code_sha256, s->code_hex);
	s->memory_mb = c->memory_mb;
	s->timeout_ms = c->timeout_ms;
	s->pe.memory = (uint64_t)c->memory_mb << 20;
	r = make_room(a, s);
	if (r == 0)
		r = copy_env(s, c);
	if (r < 0) {
		sl_pool_remove(&a->pool, &s->pe);
		free_env(s);
		free(s);
		return r;
	}
	s->next = a->sandboxes;
	if (a->sandboxes)
		a->sandboxes->prev = s;
	a->sandboxes = s;
	a->n_sandboxes++;
	a->stats.created++;
	s->state = SL_SANDBOX_CREATED;
	s->reason = SL_REASON_COMMAND;
	s->create_reply = true;
	s->create_corr = corr;
	s->created_wall = sl_wall_ns();
	/* last: the answer may come at once, and s may be gone when it returns */
	s->fetching = true;
	a->sink.need_code(a->sink.data, s, c->code_sha256, c->code_size);
	return 0;
}

int worker_destroy_cmd(struct agent *a, const char *id, uint64_t corr)
{
	struct asb *s = worker_find(a, id);

	if (!s || s->dying)
		return -ENOENT;
	if (s->inv.active) {
		char body[256];
		size_t n = invoke_error_json(body, sizeof(body), "Sandbox.Destroyed",
					     "the sandbox was destroyed during the invocation");

		invoke_finish(s, SL_INVOKE_INTERNAL, "Unhandled", body, n);
	}
	/* the DESTROYED event answers the command */
	s->create_corr = corr;
	s->create_reply = true;
	worker_destroy(s, SL_REASON_COMMAND);
	return 0;
}

int worker_kill(struct agent *a, const char *id)
{
	struct asb *s = worker_find(a, id);

	if (!s || s->dying)
		return -ENOENT;
	worker_destroy_later(s, SL_REASON_COMMAND);
	return 0;
}

/* ---- eBPF idle detection ---- */

void worker_bpf_event(struct agent *a, const struct sl_bpf_event *ev)
{
	struct asb *s;

	a->stats.bpf_events++;
	if (ev->type != SL_BPF_EV_BUSY && ev->type != SL_BPF_EV_IDLE)
		return;
	s = find_cgid(a, ev->cgid);
	sl_debug_kv("BPF event", "event=%s cgroup=%llu sandbox=%s",
		    ev->type == SL_BPF_EV_IDLE ? "idle" : "busy", (unsigned long long)ev->cgid,
		    s ? s->id : "?");
	if (!s || s->dying || !s->ready || s->inv.active)
		return; /* during an invocation the agent's own knowledge rules: busy */
	/* Freezing makes every task of the sandbox run once more (into the freezer): that is
	 * not work, and a frozen sandbox does none. */
	if (s->frozen)
		return;
	if (ev->type == SL_BPF_EV_IDLE) {
		if (s->pe.state == SL_POOL_IDLE)
			worker_go_idle(s, SL_REASON_IDLE);
	} else if (s->state == SL_SANDBOX_IDLE || s->state == SL_SANDBOX_FROZEN) {
		worker_transition(s, SL_SANDBOX_BUSY, SL_REASON_ACTIVE, 0);
	}
}

/* ---- drain ---- */

static void on_drain_deadline(struct sl_loop *loop, void *data)
{
	struct agent *a = data;

	a->drain_timer = NULL;
	sl_warn("drain deadline: destroying %u %s with work in flight", a->n_sandboxes,
		sl_plural(a->n_sandboxes, "sandbox", "sandboxes"));
	while (a->sandboxes)
		worker_destroy(a->sandboxes, SL_REASON_DRAIN);
}

void worker_drain(struct agent *a, uint32_t deadline_ms)
{
	struct asb *s, *next;

	if (!a->draining)
		sl_info("draining: no new sandboxes or invocations; %u %s to finish",
			a->n_sandboxes, sl_plural(a->n_sandboxes, "sandbox", "sandboxes"));
	a->draining = true;
	for (s = a->sandboxes; s; s = next) {
		next = s->next;
		if (!s->inv.active)
			worker_destroy(s, SL_REASON_DRAIN);
	}
	/* what is still running gets until the deadline (the earliest asked for) */
	if (deadline_ms && a->n_sandboxes) {
		uint64_t at = sl_now_ns() + (uint64_t)deadline_ms * SL_NSEC_PER_MSEC;

		if (!a->drain_timer || at < a->drain_at) {
			sl_loop_cancel_timer(a->loop, &a->drain_timer);
			if (sl_loop_add_timer(a->loop, at, on_drain_deadline, a, &a->drain_timer) ==
			    0)
				a->drain_at = at;
		}
	}
	check_empty(a);
}

void worker_stop(struct agent *a)
{
	a->draining = true;
	while (a->sandboxes)
		worker_destroy(a->sandboxes, SL_REASON_DRAIN);
	if (a->loop)
		sl_loop_cancel_timer(a->loop, &a->drain_timer);
}

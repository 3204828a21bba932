// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-agent with no subcommand: the worker agent daemon. Start-up in dependency order
 * (state dir, loop, signals, cgroups + sandbox runtime, BPF, code cache, local API, control
 * link), one event loop, and a drain on SIGTERM: no new work, in-flight invocations finish (up
 * to their timeout), every sandbox is destroyed and reported, then exit 0. A second SIGTERM or
 * SIGINT stops at once (still destroying every sandbox).
 */
#include "daemon/agent.h"
#include "bpfload/hostaddrs.h"
#include "bpfload/probe.h"
#include "daemon/control.h"
#include "daemon/hostlock.h"
#include "daemon/localapi.h"
#include "daemon/worker.h"
#include "run/cmd.h"
#include "sandbox/cgroup-host.h"
#include "sandbox/thread.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#define SWEEP_INTERVAL_NS (30 * SL_NSEC_PER_SEC) /* stale sandboxes of dead runtimes */

/* The worker's sink op: draining, and the last sandbox is gone. */
static void on_worker_empty(void *data)
{
	struct agent *a = data;

	if (a->exit_when_empty)
		sl_loop_exit(a->loop, 0);
}

static void on_signal(struct sl_loop *loop, int signo, void *data)
{
	struct agent *a = data;
	char sig[16];

	sl_signal_name(signo, sig, sizeof(sig));
	if (signo == SIGHUP) {
		sl_info_kv("signal ignored (logs go to stderr: nothing to reopen)", "signal=%s",
			   sig);
		return;
	}
	if (a->exit_when_empty) {
		/* not a clean drain: a supervisor must see it (exit 1) */
		sl_warn_kv("signal again: stopping now", "signal=%s", sig);
		sl_loop_exit(loop, -ECANCELED);
		return;
	}
	sl_info_kv("draining, then exiting", "signal=%s", sig);
	a->exit_when_empty = true;
	worker_drain(a, 0); /* invocations finish within their own timeouts */
}

/* What the runtime's latest sweep removed of runtimes that died: a pool's unused shells apart. */
static void log_swept(const struct sl_runtime *rt)
{
	unsigned sandboxes, shells;

	sl_runtime_swept(rt, &sandboxes, &shells);
	if (sandboxes || shells)
		sl_info_kv("leftovers of dead runtimes removed", "sandboxes=%u pool_shells=%u",
			   sandboxes, shells);
}

/* Sandboxes left by runtimes that died since we started (a SIGKILLed `run`, say) go too. */
static void on_sweep(struct sl_loop *loop, void *data)
{
	struct agent *a = data;
	int r = sl_runtime_sweep(a->rt);

	log_swept(a->rt);
	if (r < 0)
		sl_log_warn_err(r, "sweeping stale sandboxes");
	sl_loop_add_timer(loop, sl_now_ns() + SWEEP_INTERVAL_NS, on_sweep, a, NULL);
}

static int on_bpf_event(const struct sl_bpf_event *ev, void *userdata)
{
	worker_bpf_event(userdata, ev);
	return 0;
}

static void on_bpf_ready(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct agent *a = data;

	if (a->bpf)
		sl_bpf_events_consume(a->bpf);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[512];

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return sl_negerrno();
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return sl_negerrno();
	return 0;
}

/* One agent per lock file: the other's pid named when it is taken. */
static int take_lock(const char *path, const char *what, int *ret_fd)
{
	pid_t holder = 0;
	int r = sl_hostlock_take(path, &holder);

	if (r == -EWOULDBLOCK)
		return sl_log_err(r, "another agent (pid %d) uses this %s: %s", (int)holder, what,
				  path);
	if (r < 0)
		return sl_log_err(r, "lock %s", path);
	*ret_fd = r;
	return 0;
}

/*
 * Everything that can be checked before the host is touched (no cgroup, BPF pin or pool made
 * yet): the key, the state dir, one agent per state dir and pin root, the ports.
 */
static int preflight(struct agent *a)
{
	char path[600];
	int r = control_load_key(a);

	if (r < 0)
		return r;
	r = mkdir_p(a->cfg.state_dir, 0700);
	if (r < 0)
		return sl_log_err(r, "state dir %s", a->cfg.state_dir);
	snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	r = take_lock(path, "state dir", &a->lock_fds[0]);
	if (r < 0)
		return r;
	r = mkdir_p("/run/sandlot", 0755);
	if (r < 0)
		return sl_log_err(r, "state dir /run/sandlot");
	sl_hostlock_pin_path(path, sizeof(path), a->cfg.bpf_pin_root);
	r = take_lock(path, "BPF pin root", &a->lock_fds[1]);
	/* after the locks: a second agent with the same options is told whose they are */
	if (r >= 0 && (r = sl_hostlock_port_free(a->cfg.http)) < 0)
		return sl_log_err(r, "local API on %s", a->cfg.http);
	if (r >= 0 && (r = sl_hostlock_port_free(a->cfg.listen)) < 0)
		return sl_log_err(r, "listen on %s", a->cfg.listen);
	return r;
}

/* BPF is optional: without it there is no accounting nor idle detection, and we say so. */
static void open_bpf(struct agent *a)
{
	struct sl_bpf_opts o = {
		.pin_root = a->cfg.bpf_pin_root,
		.cgroup_parent = a->cg_dir,
		.reset_on_schema_change = true,
		.mount_bpffs = true,
		.on_event = on_bpf_event,
		.userdata = a,
	};
	struct sl_bpf_info info = {0};
	const char *env = getenv("SANDLOT_BPF");
	int r = env && strcmp(env, "off") == 0 ? -ECANCELED : sl_bpf_open(&o, &a->bpf, &info);

	if (r < 0) {
		sl_log_warn_err(
			r,
			r == -ECANCELED
				? "BPF off (SANDLOT_BPF=off): no per-sandbox accounting, "
				  "idle detection or network policy; sandboxes are "
				  "frozen right after each response"
				: "BPF unavailable: no per-sandbox accounting, idle detection or "
				  "network policy; sandboxes are frozen right after each response");
		a->bpf = NULL;
		return;
	}
	if (info.reset)
		sl_warn("BPF: pinned state of ABI %u dropped (this agent uses %u)", info.found_abi,
			SL_BPF_ABI_VERSION);
	sl_info("BPF loaded (%s pinned state, %u %s of removed cgroups pruned)",
		info.adopted ? "re-adopted" : "new", info.pruned,
		sl_plural(info.pruned, "registration", "registrations"));
	r = sl_loop_add_io(a->loop, sl_bpf_events_fd(a->bpf), EPOLLIN, on_bpf_ready, a);
	if (r < 0) {
		sl_log_warn_err(r, "BPF: cannot watch the event ring buffer");
		sl_bpf_free(&a->bpf);
	}
}

static void on_hostaddrs(struct sl_loop *loop, int fd, uint32_t events, void *data)
{
	struct agent *a = data;
	int r = sl_hostaddrs_process(a->hostaddrs);

	if (r < 0)
		sl_log_warn_err(r, "BPF: following the host's addresses");
}

/*
 * The host's addresses in the policy map from now on, for our sandboxes and for the `run`s
 * that use our pins: without them a sandbox reaches this host's services. No BPF, no policy.
 */
static int watch_host_addrs(struct agent *a)
{
	int r;

	if (!a->bpf)
		return 0;
	r = sl_hostaddrs_new(&a->hostaddrs, a->bpf);
	if (r >= 0)
		r = sl_loop_add_io(a->loop, sl_hostaddrs_fd(a->hostaddrs), EPOLLIN, on_hostaddrs,
				   a);
	return r < 0 ? sl_log_err(r, "BPF: the host's addresses into the network policy") : 0;
}

/*
 * Keeps the loop's thread, and nanomsg's I/O thread with it, on the pool filler's CPU (the
 * highest, see sl_thread_split_cpus: sandboxes and the spawner run on the others). Each frame
 * received crosses from nanomsg's thread to the loop through an eventfd; on two CPUs that
 * wakeup is an IPI, and on a VM it wakes a halted vCPU through the host, on one CPU it is a
 * local one (warm invocation p50 about -10% here, docs/agent.md). nanomsg starts its thread
 * with the first socket, which inherits the caller's CPUs: call before control_open().
 */
static void pin_loop(void)
{
	cpu_set_t all, fg, bg;

	if (!sl_thread_split_cpus(&all, &fg, &bg))
		return; /* one CPU: nothing to choose */
	if (sched_setaffinity(0, sizeof(bg), &bg) < 0)
		sl_log_warn_err(sl_negerrno(), "event loop: CPU affinity");
}

static int start(struct agent *a)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	struct sl_cgroup_host *cg = calloc(1, sizeof(*cg));
	struct sl_codecache_opts co = {0};
	struct worker_sink sink;
	char cache_dir[300];
	int r;

	if (!cg)
		return -ENOMEM;
	signal(SIGPIPE, SIG_IGN);
	r = preflight(a);
	if (r < 0)
		goto out;
	r = sl_loop_new(&a->loop);
	if (r < 0)
		goto out;
	r = sl_loop_add_signals(a->loop, sigs, (int)ARRAY_SIZE(sigs), on_signal, a);
	if (r < 0)
		goto out;
	a->self_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	r = sl_cgroup_host_detect(cg);
	if (r < 0 || a->self_netns < 0) {
		r = sl_log_err(r < 0 ? r : sl_negerrno(), "host inspection");
		goto out;
	}
	snprintf(a->cg_dir, sizeof(a->cg_dir), "%s/sandlot", cg->v2_self_dir);
	/* a few shells (cgroups + netns) made ahead take their cost off every cold start */
	struct sl_runtime_opts ro = {.pool_size = 4};

	r = sl_runtime_new(&a->rt, &ro);
	if (r < 0) {
		sl_log_err(r, "sandbox runtime");
		goto out;
	}
	sl_info("sandbox runtime ready (cgroup backend %s)", sl_runtime_cgroup_backend(a->rt));
	log_swept(a->rt);
	sl_loop_add_timer(a->loop, sl_now_ns() + SWEEP_INTERVAL_NS, on_sweep, a, NULL);
	open_bpf(a);
	r = watch_host_addrs(a);
	if (r < 0)
		goto out;
	worker_prepare_shells(a); /* BPF and the Runtime API socket off the cold path */
	snprintf(cache_dir, sizeof(cache_dir), "%s/code", a->cfg.state_dir);
	co.dir = cache_dir;
	r = sl_codecache_new(&a->cache, &co);
	if (r < 0) {
		sl_log_err(r, "code cache at %s", cache_dir);
		goto out;
	}
	sl_pool_init(&a->pool, a->cfg.memory_capacity, a->cfg.max_sandboxes);
	control_worker_sink(a, &sink); /* the worker's events become frames */
	sink.empty = on_worker_empty;
	worker_set_sink(a, &sink);
	r = localapi_open(a, &a->http);
	if (r < 0) {
		sl_log_err(r, "local API on %s", a->cfg.http);
		goto out;
	}
	pin_loop();
	r = control_open(a);
out:
	free(cg);
	return r;
}

/* A clean exit takes its lock files along (a killed agent's stay, and are reused). */
static void release_locks(struct agent *a)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	sl_hostlock_release(path, &a->lock_fds[0]);
	sl_hostlock_pin_path(path, sizeof(path), a->cfg.bpf_pin_root);
	sl_hostlock_release(path, &a->lock_fds[1]);
}

static void stop(struct agent *a)
{
	worker_stop(a); /* nothing new while the last frames go out */
	if (a->loop)
		control_flush(a);
	control_close(a);
	localapi_free(&a->http);
	sl_codecache_free(&a->cache);
	if (a->loop && a->bpf)
		sl_loop_del_io(a->loop, sl_bpf_events_fd(a->bpf));
	if (a->loop && a->hostaddrs)
		sl_loop_del_io(a->loop, sl_hostaddrs_fd(a->hostaddrs));
	sl_hostaddrs_free(&a->hostaddrs);
	/* the runtime first: its pool's filler prepares shells with a->bpf, and the shells never
	 * used are discarded (their BPF registrations removed) as the pool goes */
	sl_runtime_free(&a->rt);
	sl_bpf_free(&a->bpf); /* pinned state stays: counters survive a restart */
	sl_closep(&a->self_netns);
	sl_loop_free(&a->loop);
	release_locks(a); /* last: until here the host is ours */
}

int sl_agent_main(int argc, char **argv)
{
	struct agent *a = calloc(1, sizeof(*a));
	char err[256];
	int r;

	if (!a)
		return SL_EXIT_FAIL;
	a->self_netns = a->lock_fds[0] = a->lock_fds[1] = -1;
	sl_agent_config_defaults(&a->cfg);
	r = sl_agent_config_parse(&a->cfg, argc, argv, err, sizeof(err));
	if (r == 0 && sl_agent_config_resolve(&a->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "sandlot-agent: %s\n", err); /* a name: no usage needed */
		free(a);
		return SL_EXIT_USAGE;
	}
	if (r != 0) {
		if (r == 1) {
			sl_agent_config_usage(stdout);
		} else {
			fprintf(stderr, "sandlot-agent: %s\n", err);
			sl_agent_config_usage(stderr);
		}
		free(a);
		return r == 1 ? SL_EXIT_OK : SL_EXIT_USAGE;
	}
	sl_info("sandlot-agent %s starting as %s (zone %s)", SANDLOT_VERSION, a->cfg.name,
		a->cfg.zone);
	r = start(a);
	if (r == 0) {
		sl_info("serving: commands on %s, control %s, local API on http://%s",
			a->cfg.listen, a->cfg.control, a->cfg.http);
		r = sl_loop_run(a->loop);
	}
	stop(a);
	free(a);
	if (r == -ECANCELED)
		sl_warn("stopped (forced: in-flight work was cut short)");
	if (r < 0)
		return SL_EXIT_FAIL;
	sl_info("stopped");
	return SL_EXIT_OK;
}

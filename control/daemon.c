// SPDX-License-Identifier: Apache-2.0
/* sandlot-control's wiring (see daemon.h and control.h). */
#include "daemon.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <string.h>

#include "control.h"

#define STOP_POLL_NS (20 * SL_NSEC_PER_MSEC)

static int load_reservation(const struct sl_fn *f, void *data)
{
	struct ctl *c = data;

	if (f->reserved >= 0 &&
	    sl_counting_set_reserved(c->counting, f->account, f->name, (uint32_t)f->reserved) < 0)
		sl_warn("function %s/%s: its reserved concurrency %lld no longer fits the account",
			f->account, f->name, (long long)f->reserved);
	return 0;
}

static int open_state(struct ctl *c)
{
	char why[256] = "";
	int r = sl_store_open(c->cfg.data, &c->store);

	if (r < 0)
		return sl_log_err(r, "store in %s", c->cfg.data);
	r = sl_akeys_load(&c->akeys, c->cfg.access_keys, why, sizeof(why));
	if (r < 0)
		return sl_log_err(r, "access keys: %s", why);
	r = sl_counting_new(&c->counting, c->cfg.account_concurrency);
	if (r < 0)
		return sl_log_err(r, "counting");
	/* async never takes the last unreserved units: a tenth of the limit, at most 10 */
	sl_counting_set_async_headroom(c->counting, MIN(10, c->cfg.account_concurrency / 10));
	r = c->store->ops->fn_list(c->store, NULL, "", UINT32_MAX, load_reservation, c);
	if (r < 0)
		return sl_log_err(r, "store: reading reservations");
	r = sl_router_new(&c->router);
	if (r < 0)
		return sl_log_err(r, "router");
	return 0;
}

/* Exits once no invocation is left, one poll later: the last answers are written by then. */
static void on_stop_poll(struct sl_loop *loop, void *data)
{
	struct ctl *c = data;

	c->stop_timer = NULL;
	if (c->ninvs == 0 && c->stop_idle_polls++ > 0) {
		sl_loop_exit(loop, 0);
		return;
	}
	if (c->ninvs)
		c->stop_idle_polls = 0;
	sl_loop_add_timer(loop, sl_now_ns() + STOP_POLL_NS, on_stop_poll, c, &c->stop_timer);
}

static void on_grace_over(struct sl_loop *loop, void *data)
{
	struct ctl *c = data;

	sl_warn("shutdown: %zu invocations still running after the grace period: ending them",
		c->ninvs);
	invoke_fail_all(c, "The control node is shutting down.");
	sl_loop_exit(loop, 0);
}

static void on_signal(struct sl_loop *loop, int signo, void *data)
{
	struct ctl *c = data;
	char sig[16];

	sl_signal_name(signo, sig, sizeof(sig));
	if (c->stopping) {
		sl_info_kv("signal again: stopping now", "signal=%s", sig);
		sl_loop_exit(loop, 0);
		return;
	}
	sl_info_kv("stopping", "signal=%s inflight=%zu", sig, c->ninvs);
	c->stopping = true;
	api_quiesce(c);
	sl_loop_add_timer(loop, sl_now_ns() + c->cfg.shutdown_grace_ns, on_grace_over, c, NULL);
	on_stop_poll(loop, c);
}

/*
 * The control node's link id, kept in DATA/control-id: agents address every frame to it, and
 * a restarted control node must keep it, or the agents' heartbeats would be dropped as meant
 * for another receiver and they would never learn to register again.
 */
static int load_id(struct ctl *c)
{
	char path[SL_CTL_PATH_MAX + 16], buf[32];
	unsigned long long id = 0;
	_cleanup_close_ int fd = -1;
	int r;

	snprintf(path, sizeof(path), "%s/control-id", c->cfg.data);
	r = sl_read_file(path, buf, sizeof(buf));
	if (r > 0 && sscanf(buf, "%llx", &id) == 1 && id) {
		c->self_id = id;
		return 0;
	}
	if (RAND_bytes((unsigned char *)&c->self_id, sizeof(c->self_id)) != 1)
		return -EIO;
	c->self_id |= 1;
	snprintf(buf, sizeof(buf), "%016llx\n", (unsigned long long)c->self_id);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) || fsync(fd) < 0)
		return sl_negerrno();
	return 0;
}

static int start(struct ctl *c)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	int r = sl_loop_new(&c->loop);

	if (r < 0)
		return sl_log_err(r, "loop");
	r = sl_loop_add_signals(c->loop, sigs, 2, on_signal, c);
	if (r < 0)
		return sl_log_err(r, "signals");
	if (RAND_bytes((unsigned char *)&c->sb_seq, sizeof(c->sb_seq)) != 1)
		return sl_log_err(-EIO, "random");
	c->sb_seq >>= 16; /* a random start: ids of an earlier run do not come back */
	r = open_state(c);
	if (r == 0 && (r = load_id(c)) < 0)
		sl_log_err(r, "%s/control-id", c->cfg.data);
	if (r == 0)
		r = agentlink_open(c);
	if (r == 0)
		r = api_open(c);
	if (r == 0)
		r = workers_start(c);
	if (r == 0)
		r = async_start(c);
	return r;
}

static void stop(struct ctl *c)
{
	if (c->loop)
		invoke_fail_all(c, "The control node is shutting down.");
	async_stop(c);
	api_close(c);
	if (c->loop)
		workers_stop(c);
	agentlink_close(c);
	sl_router_free(&c->router);
	sl_counting_free(&c->counting);
	sl_akeys_free(&c->akeys);
	sl_store_close(&c->store);
	sl_loop_cancel_timer(c->loop, &c->stop_timer);
	sl_loop_free(&c->loop);
}

int sl_ctl_run(const struct sl_ctl_config *cfg)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	signal(SIGPIPE, SIG_IGN);
	r = start(c);
	if (r == 0) {
		sl_info("sandlot-control %s: Lambda API on http://%s, agents on %s",
			SANDLOT_VERSION, cfg->http, cfg->listen);
		r = sl_loop_run(c->loop);
		if (r < 0)
			sl_log_err(r, "loop");
	}
	sl_info("stopped: %llu invocations (%llu cold, %llu warm), %llu throttled, %llu errors",
		(unsigned long long)c->stats.invocations, (unsigned long long)c->stats.cold_starts,
		(unsigned long long)c->stats.warm_starts, (unsigned long long)c->stats.throttled,
		(unsigned long long)c->stats.errors);
	stop(c);
	free(c);
	return r;
}

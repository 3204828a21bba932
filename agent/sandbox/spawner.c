// SPDX-License-Identifier: Apache-2.0
/* The spawner thread (see spawner.h): a request slot handed over under a mutex. */
#include "sandbox/spawner.h"

#include "sandbox/creds.h"
#include "sandbox/init-exe.h"
#include "sandbox/rootfs.h"
#include "sandbox/thread.h"

#include <sandlot/util.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>

struct sl_spawner {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop, pending, done;
	bool ready; /* the thread finished its set-up (ready_err says how) */
	int ready_err;
	int (*fn)(void *);
	void *arg;
	int result;
	const struct sl_seccomp *sc;
	const char *rootfs;		/* for sl_rootfs_build(); only during set-up */
	struct sl_rootfs_detach detach; /* efd -1: the build detaches the host root itself */
	cpu_set_t cpus;			/* the thread's (so its children's) CPUs, if pinned */
	int template_ns;		/* the template's mount namespace, once ready */
	int init_fd;			/* the sandbox init program (init-exe.h), once ready */
	bool pinned;
};

static void *spawner_main(void *data)
{
	struct sl_spawner *sp = data;
	sigset_t all;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* one-shot: queued on a CPU apart at once, then free to leave it when a busy task is
	 * there too (pinned, it waited out that task's slices) */
	if (sp->pinned && sp->detach.efd >= 0 && CPU_COUNT(&sp->detach.cpus) > 0)
		(void)sched_setaffinity(0, sizeof(sp->detach.cpus), &sp->detach.cpus);
	/* here rather than on the caller, whose lane is the longer one in `run` */
	sp->init_fd = sl_init_exe_open();
	r = sp->init_fd < 0 ? sp->init_fd : 0;
	/* children inherit this thread's empty bounding set: no per-sandbox prctl loop */
	if (r >= 0)
		r = sl_creds_drop_bounding();
	/* this thread's mount namespace becomes the template every child copies */
	if (r >= 0)
		r = sl_rootfs_build(sp->rootfs, sp->detach.efd >= 0 ? &sp->detach : NULL,
				    sp->detach.efd >= 0 ? NULL : &sp->template_ns);
	/* last: the base filter refuses pivot_root and umount2, which the build uses */
	if (r >= 0)
		r = sl_seccomp_apply_base(sp->sc);
	pthread_mutex_lock(&sp->lock);
	sp->ready_err = r;
	sp->ready = true;
	pthread_cond_broadcast(&sp->cond);
	while (r >= 0) {
		while (!sp->pending && !sp->stop)
			pthread_cond_wait(&sp->cond, &sp->lock);
		if (sp->stop)
			break;
		pthread_mutex_unlock(&sp->lock);
		int res = sp->fn(sp->arg);
		pthread_mutex_lock(&sp->lock);
		sp->result = res;
		sp->pending = false;
		sp->done = true;
		pthread_cond_broadcast(&sp->cond);
	}
	pthread_mutex_unlock(&sp->lock);
	sl_rootfs_detach_join(&sp->detach);
	return NULL;
}

int sl_spawner_wait(struct sl_spawner *sp)
{
	int r;

	pthread_mutex_lock(&sp->lock);
	while (!sp->done && !(sp->ready && sp->ready_err < 0))
		pthread_cond_wait(&sp->cond, &sp->lock);
	if (sp->done) {
		sp->done = false;
		r = sp->result;
	} else {
		sp->pending = false;
		r = sp->ready_err;
	}
	pthread_mutex_unlock(&sp->lock);
	return r;
}

int sl_spawner_new(struct sl_spawner **ret, const struct sl_seccomp *sc, const char *rootfs,
		   const cpu_set_t *cpus, const struct sl_rootfs_detach *detach)
{
	struct sl_spawner *sp = calloc(1, sizeof(*sp));
	int r;

	if (!sp)
		return -ENOMEM;
	sp->sc = sc;
	sp->rootfs = rootfs;
	sp->template_ns = sp->init_fd = -1;
	sp->detach.efd = -1;
	if (detach)
		sp->detach = *detach;
	if (cpus) {
		sp->cpus = *cpus;
		sp->pinned = true;
	}
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	r = sl_thread_start(&sp->thread, spawner_main, sp, sp->pinned ? &sp->cpus : NULL);
	if (r < 0) {
		sl_spawner_free(&sp);
		return r;
	}
	sp->started = true;
	*ret = sp;
	return 0;
}

void sl_spawner_stop(struct sl_spawner *sp)
{
	pthread_mutex_lock(&sp->lock);
	sp->stop = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}

void sl_spawner_free(struct sl_spawner **spp)
{
	struct sl_spawner *sp = *spp;

	if (!sp)
		return;
	if (sp->started) {
		sl_spawner_stop(sp);
		pthread_join(sp->thread, NULL);
	}
	pthread_cond_destroy(&sp->cond);
	pthread_mutex_destroy(&sp->lock);
	sl_closep(&sp->template_ns);
	sl_closep(&sp->init_fd);
	free(sp);
	*spp = NULL;
}

int sl_spawner_wait_ready(struct sl_spawner *sp)
{
	int r;

	pthread_mutex_lock(&sp->lock);
	while (!sp->ready)
		pthread_cond_wait(&sp->cond, &sp->lock);
	r = sp->ready_err;
	pthread_mutex_unlock(&sp->lock);
	return r;
}

void sl_spawner_post(struct sl_spawner *sp, int (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&sp->lock);
	sp->fn = fn;
	sp->arg = arg;
	sp->pending = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}

int sl_spawner_template_ns(struct sl_spawner *sp)
{
	int r = sl_spawner_wait_ready(sp);

	return r < 0 ? r : sp->template_ns;
}

int sl_spawner_init_fd(struct sl_spawner *sp)
{
	return sp->init_fd;
}

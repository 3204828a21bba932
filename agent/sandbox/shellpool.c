// SPDX-License-Identifier: Apache-2.0
/* Shells made ahead by a filler thread (see shellpool.h). */
#include "sandbox/shellpool.h"

#include "sandbox/net.h"
#include "sandbox/rootfs.h"
#include "sandbox/thread.h"

#include <sandlot/log.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>

#define FILLER_NICE 5  /* behind the spawn path when both want a CPU */
#define RELEASE_MAX 64 /* fds waiting for the filler to close them */
/* about a cold start's length: refills wait that long after a take (refill_wait) */
#define REFILL_DELAY_NS (4 * SL_NSEC_PER_MSEC)

struct sl_shellpool {
	struct sl_cgroup_root *root;
	char prefix[32];
	atomic_ulong seq;
	size_t target;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the filler: a shell was taken, or stop */
	bool stop, thread_started;
	pthread_t thread;
	struct sl_cgroup_limits lim; /* under lock */
	size_t n;		     /* ready shells, under lock */
	struct sl_shell **ready;     /* [target] */
	cpu_set_t cpus;		     /* the filler's, if pinned */
	bool pinned;
	int release[RELEASE_MAX]; /* fds for the filler to close (sl_shellpool_release) */
	size_t n_release;	  /* under lock */
	bool hold_release;	  /* under lock: sl_shellpool_hold_release() */
	int template_ns;	  /* sl_shellpool_set_template(), under lock; -1: none */
	/* the filler's own: its mount namespace and /proc/thread-self/ns (O_PATH), -1 when it
	   cannot copy templates */
	int host_ns, ns_dir;
	uint64_t tmp_bytes; /* the size of /tmp in the copies (sl_shellpool_set_template) */
	struct sl_shell_hooks hooks; /* under lock; set once */
	bool hooked;
	uint64_t last_take;    /* sl_now_ns() of the last take, under lock */
	uint64_t taken, empty; /* takes, and those that found no shell ready; under lock */
};

void sl_shell_free(struct sl_shell **s)
{
	if (!*s)
		return;
	if ((*s)->prepared && (*s)->hooks.discard)
		(*s)->hooks.discard(*s, (*s)->prep.id, (*s)->hooks.data);
	sl_closep(&(*s)->prep.fd);
	sl_cgroup_free(&(*s)->cg);
	sl_closep(&(*s)->netns_fd);
	sl_closep(&(*s)->ipcns_fd);
	sl_closep(&(*s)->utsns_fd);
	sl_closep(&(*s)->mntns_fd);
	free(*s);
	*s = NULL;
}

static int shell_new(struct sl_shellpool *p, const struct sl_cgroup_limits *lim,
		     struct sl_shell **ret)
{
	struct sl_shell *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->netns_fd = s->ipcns_fd = s->utsns_fd = s->mntns_fd = s->prep.fd = -1;
	/* a name taken already is a leftover of an earlier process with our slot and pid: the
	 * next sweep by another process removes it; we take the next number */
	for (int tries = 0; tries < 8; tries++) {
		snprintf(s->id, sizeof(s->id), "%s%lu", p->prefix,
			 atomic_fetch_add(&p->seq, 1) + 1);
		r = sl_cgroup_new(&s->cg, p->root, s->id, lim);
		if (r != -EEXIST)
			break;
	}
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Closes the fds handed over by sl_shellpool_release(); called and returns with the lock. */
static void close_released(struct sl_shellpool *p)
{
	int fds[RELEASE_MAX];
	size_t n = p->n_release;

	memcpy(fds, p->release, n * sizeof(fds[0]));
	p->n_release = 0;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	pthread_mutex_lock(&p->lock);
}

/* Runs the prepare hook on s (not in the queue), without the lock. */
static void shell_prepare(struct sl_shell *s, const struct sl_shell_hooks *h)
{
	struct sl_shell_prep prep = {.fd = -1};

	s->tried = true;
	if (!h->prepare || h->prepare(s, &prep, h->data) < 0)
		return;
	s->prepared = true;
	s->prep = prep;
	s->hooks = *h;
}

int sl_shell_take_fd(struct sl_shell *s)
{
	return TAKE_FD(s->prep.fd);
}

/* A ready shell the hooks have not seen (taken out of the queue), or NULL. Under the lock. */
static struct sl_shell *take_unprepared(struct sl_shellpool *p)
{
	struct sl_shell *s;

	if (!p->hooked)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (p->ready[i]->tried)
			continue;
		s = p->ready[i];
		p->ready[i] = p->ready[--p->n];
		return s;
	}
	return NULL;
}

/*
 * Fresh network (lo up), IPC and UTS namespaces for s, in one unshare of the filler thread,
 * which stays in them until its next shell (it makes no IPC objects and never reads its
 * hostname); a sandbox is the only one to enter them.
 */
static int shell_make_ns(struct sl_shell *s)
{
	static const struct {
		int type;
		const char *path;
	} ns[] = {{CLONE_NEWNET, "/proc/thread-self/ns/net"},
		  {CLONE_NEWIPC, "/proc/thread-self/ns/ipc"},
		  {CLONE_NEWUTS, "/proc/thread-self/ns/uts"}};
	int *fds[] = {&s->netns_fd, &s->ipcns_fd, &s->utsns_fd};

	if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return sl_negerrno();
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		*fds[i] = open(ns[i].path, O_RDONLY | O_CLOEXEC);
		if (*fds[i] < 0)
			return sl_negerrno();
	}
	return sl_net_lo_up();
}

/* Makes a shell (cgroups, namespaces, then the hooks' preparation). Called and returns with the
 * lock. NULL when out of resources. */
static struct sl_shell *fill_one(struct sl_shellpool *p)
{
	struct sl_cgroup_limits lim = p->lim;
	struct sl_shell_hooks h = p->hooks;
	bool hooked = p->hooked;
	struct sl_shell *s = NULL;

	int template_ns = p->template_ns;
	uint64_t tmp_bytes = p->tmp_bytes;

	pthread_mutex_unlock(&p->lock);
	int r = shell_new(p, &lim, &s);
	if (r >= 0 && shell_make_ns(s) < 0)
		sl_shell_free(&s);
	if (s && template_ns >= 0 && p->host_ns >= 0) {
		s->mntns_fd =
			sl_rootfs_copy_template(template_ns, p->host_ns, p->ns_dir, tmp_bytes);
		s->tmp_bytes = tmp_bytes;
		if (s->mntns_fd == -ENOTRECOVERABLE) { /* stuck in a copy: no more copies */
			/* the filler decides this, and no caller hears of it: said here, once */
			sl_log(SL_LOG_WARN, "shell pool: cannot return to the agent's mount "
					    "namespace after a root copy; spawns copy the root "
					    "themselves from now on");
			sl_closep(&p->host_ns);
			sl_closep(&p->ns_dir);
		}
		if (s->mntns_fd < 0) /* the child copies the template itself (CLONE_NEWNS) */
			s->mntns_fd = -1;
	}
	if (s && hooked)
		shell_prepare(s, &h);
	pthread_mutex_lock(&p->lock);
	return s;
}

/*
 * Waits until the last take is REFILL_DELAY_NS old while the pool still has half its shells:
 * a refill started by a take would run during the cold start that took the shell, on the
 * event loop's CPU (see FILLER_NICE), mostly in kernel code that does not yield (setup_net,
 * cgroup and BPF syscalls). True when it waited (the caller looks again).
 */
static bool refill_wait(struct sl_shellpool *p)
{
	uint64_t now = sl_now_ns(), until = p->last_take + REFILL_DELAY_NS;
	struct timespec ts;

	if (p->n < (p->target + 1) / 2 || now >= until)
		return false;
	ts.tv_sec = (time_t)(until / SL_NSEC_PER_SEC);
	ts.tv_nsec = (long)(until % SL_NSEC_PER_SEC);
	pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	return true;
}

static void *filler(void *arg)
{
	struct sl_shellpool *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/*
	 * Niced, on a CPU of its own when the runtime gave it one (see sl_thread_split_cpus;
	 * set when the thread was started).
	 * Not SCHED_IDLE: a CPU running only SCHED_IDLE tasks counts as idle, so wake-ups and
	 * execs of sandbox tasks would be sent there, behind a filler that holds it inside
	 * setup_net (this kernel does not preempt kernel code). Not nice 19 either: on a
	 * busy host it starved, the pool ran dry and every spawn made its own shell.
	 */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), FILLER_NICE);
	/* to enter mount namespaces (template copies) a thread needs its own root and cwd */
	if (unshare(CLONE_FS) == 0) {
		p->host_ns = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
		p->ns_dir = open("/proc/thread-self/ns", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (p->host_ns < 0 || p->ns_dir < 0) {
			sl_closep(&p->host_ns);
			sl_closep(&p->ns_dir);
		}
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->n_release && !p->hold_release) {
			close_released(p);
			continue;
		}
		struct sl_shell *s = take_unprepared(p);

		if (s) {
			struct sl_shell_hooks h = p->hooks;

			pthread_mutex_unlock(&p->lock);
			shell_prepare(s, &h);
			pthread_mutex_lock(&p->lock);
			p->ready[p->n++] = s;
			continue;
		}
		if (p->n >= p->target) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		if (refill_wait(p))
			continue;
		s = fill_one(p);
		if (!s) { /* out of resources: retry when a shell is taken or freed */
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		p->ready[p->n++] = s;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int sl_shellpool_new(struct sl_shellpool **ret, struct sl_cgroup_root *root, const char *prefix,
		     size_t target, const struct sl_cgroup_limits *lim, const cpu_set_t *cpus)
{
	struct sl_shellpool *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		return -ENOMEM;
	p->root = root;
	p->target = target;
	p->template_ns = p->host_ns = p->ns_dir = -1;
	p->lim = *lim;
	if (cpus) {
		p->cpus = *cpus;
		p->pinned = true;
	}
	snprintf(p->prefix, sizeof(p->prefix), "%s", prefix);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* sl_now_ns()'s, for refill_wait */
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	p->ready = calloc(target ? target : 1, sizeof(*p->ready));
	if (!p->ready) {
		sl_shellpool_free(&p);
		return -ENOMEM;
	}
	if (target) {
		int r = sl_thread_start(&p->thread, filler, p, p->pinned ? &p->cpus : NULL);
		if (r < 0) {
			sl_shellpool_free(&p);
			return r;
		}
		p->thread_started = true;
	}
	*ret = p;
	return 0;
}

void sl_shellpool_free(struct sl_shellpool **pp)
{
	struct sl_shellpool *p = *pp;

	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < p->n; i++)
		sl_shell_free(&p->ready[i]);
	for (size_t i = 0; i < p->n_release; i++)
		close(p->release[i]);
	free(p->ready);
	sl_closep(&p->template_ns);
	sl_closep(&p->host_ns);
	sl_closep(&p->ns_dir);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
	*pp = NULL;
}

void sl_shellpool_release(struct sl_shellpool *p, int fd)
{
	bool queued = false;

	if (fd < 0)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->thread_started && !p->stop && p->n_release < RELEASE_MAX) {
		p->release[p->n_release++] = fd;
		pthread_cond_signal(&p->wake);
		queued = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (!queued)
		close(fd);
}

int sl_shellpool_set_template(struct sl_shellpool *p, int template_ns, uint64_t tmp_bytes)
{
	int fd = fcntl(template_ns, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return sl_negerrno();
	pthread_mutex_lock(&p->lock);
	sl_closep(&p->template_ns);
	p->template_ns = fd;
	p->tmp_bytes = tmp_bytes;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void sl_shellpool_hold_release(struct sl_shellpool *p, bool hold)
{
	pthread_mutex_lock(&p->lock);
	p->hold_release = hold;
	if (!hold && p->n_release)
		pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void sl_shellpool_set_hooks(struct sl_shellpool *p, const struct sl_shell_hooks *hooks)
{
	pthread_mutex_lock(&p->lock);
	if (!p->hooked) {
		p->hooks = *hooks;
		p->hooked = true;
		pthread_cond_signal(&p->wake);
	}
	pthread_mutex_unlock(&p->lock);
}

void sl_shellpool_set_limits(struct sl_shellpool *p, const struct sl_cgroup_limits *lim)
{
	pthread_mutex_lock(&p->lock);
	p->lim = *lim;
	pthread_mutex_unlock(&p->lock);
}

int sl_shellpool_take(struct sl_shellpool *p, struct sl_shell **ret)
{
	struct sl_cgroup_limits lim;
	struct sl_shell *s = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->n > 0)
		s = p->ready[--p->n];
	p->taken++;
	p->empty += !s;
	lim = p->lim;
	p->last_take = sl_now_ns();
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (s) {
		*ret = s;
		return 0;
	}
	return shell_new(p, &lim, ret);
}

void sl_shellpool_counts(struct sl_shellpool *p, uint64_t *taken, uint64_t *empty)
{
	pthread_mutex_lock(&p->lock);
	*taken = p->taken;
	*empty = p->empty;
	pthread_mutex_unlock(&p->lock);
}

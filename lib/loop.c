// SPDX-License-Identifier: Apache-2.0
#include <sandlot/loop.h>

#include <sandlot/time.h>
#include <sandlot/util.h>

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

struct io {
	int fd;
	bool dead; /* removed during dispatch; freed after the batch */
	sl_io_fn fn;
	void *data;
	struct io *next_dead;
};

struct sl_timer {
	uint64_t deadline;
	uint64_t seq; /* ties broken by arming order */
	unsigned idx; /* position in the heap */
	sl_timer_fn fn;
	void *data;
};

struct sl_loop {
	int epfd;
	int sigfd;
	sl_signal_fn sig_fn;
	void *sig_data;
	bool exiting;
	int exit_code;
	unsigned n_io;
	struct io **ios; /* indexed by fd (grown on demand) */
	unsigned ios_cap;
	struct io *dead;
	struct sl_timer **heap;
	unsigned n_timers, heap_cap;
	uint64_t timer_seq;
};

int sl_loop_new(struct sl_loop **ret)
{
	struct sl_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = sl_negerrno();

		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

static void free_dead(struct sl_loop *l)
{
	while (l->dead) {
		struct io *io = l->dead;

		l->dead = io->next_dead;
		free(io);
	}
}

void sl_loop_free(struct sl_loop **lp)
{
	struct sl_loop *l = *lp;

	if (!l)
		return;
	for (unsigned i = 0; i < l->ios_cap; i++)
		free(l->ios[i]);
	free(l->ios);
	free_dead(l);
	for (unsigned i = 0; i < l->n_timers; i++)
		free(l->heap[i]);
	free(l->heap);
	sl_closep(&l->sigfd);
	sl_closep(&l->epfd);
	free(l);
	*lp = NULL;
}

int sl_loop_add_io(struct sl_loop *l, int fd, uint32_t events, sl_io_fn fn, void *data)
{
	struct epoll_event ev = {.events = events};
	struct io *io;

	if (fd < 0 || !fn)
		return -EINVAL;
	if ((unsigned)fd >= l->ios_cap) {
		unsigned cap = MAX((unsigned)fd + 1, l->ios_cap * 2);
		struct io **n = realloc(l->ios, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		memset(n + l->ios_cap, 0, (cap - l->ios_cap) * sizeof(*n));
		l->ios = n;
		l->ios_cap = cap;
	}
	if (l->ios[fd])
		return -EEXIST;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	*io = (struct io){.fd = fd, .fn = fn, .data = data};
	ev.data.ptr = io;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = sl_negerrno();

		free(io);
		return r;
	}
	l->ios[fd] = io;
	l->n_io++;
	return 0;
}

static struct io *find_io(struct sl_loop *l, int fd)
{
	return fd >= 0 && (unsigned)fd < l->ios_cap ? l->ios[fd] : NULL;
}

int sl_loop_mod_io(struct sl_loop *l, int fd, uint32_t events)
{
	struct io *io = find_io(l, fd);
	struct epoll_event ev = {.events = events};

	if (!io)
		return -ENOENT;
	ev.data.ptr = io;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? sl_negerrno() : 0;
}

int sl_loop_del_io(struct sl_loop *l, int fd)
{
	struct io *io = find_io(l, fd);

	if (!io)
		return -ENOENT;
	/* The fd may already be closed by its owner; the kernel then dropped it by itself. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->ios[fd] = NULL;
	l->n_io--;
	io->dead = true;
	io->next_dead = l->dead;
	l->dead = io;
	return 0;
}

/* ---- timers: a binary min-heap on (deadline, seq) ---- */

static bool before(const struct sl_timer *a, const struct sl_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(struct sl_loop *l, unsigned i, struct sl_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void sift_up(struct sl_loop *l, unsigned i)
{
	struct sl_timer *t = l->heap[i];

	while (i > 0 && before(t, l->heap[(i - 1) / 2])) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

static void sift_down(struct sl_loop *l, unsigned i)
{
	struct sl_timer *t = l->heap[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= l->n_timers)
			break;
		if (c + 1 < l->n_timers && before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!before(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void heap_remove(struct sl_loop *l, struct sl_timer *t)
{
	unsigned i = t->idx;
	struct sl_timer *last = l->heap[--l->n_timers];

	if (last == t)
		return;
	heap_set(l, i, last);
	sift_down(l, i);
	sift_up(l, last->idx);
}

int sl_loop_add_timer(struct sl_loop *l, uint64_t deadline_ns, sl_timer_fn fn, void *data,
		      struct sl_timer **ret)
{
	struct sl_timer *t;

	if (!fn)
		return -EINVAL;
	if (l->n_timers >= SL_LOOP_MAX_TIMERS)
		return -ENOSPC;
	if (l->n_timers == l->heap_cap) {
		unsigned cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct sl_timer **n = realloc(l->heap, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->heap = n;
		l->heap_cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct sl_timer){
		.deadline = deadline_ns, .seq = l->timer_seq++, .fn = fn, .data = data};
	heap_set(l, l->n_timers++, t);
	sift_up(l, t->idx);
	if (ret)
		*ret = t;
	return 0;
}

void sl_loop_cancel_timer(struct sl_loop *l, struct sl_timer **tp)
{
	struct sl_timer *t = *tp;

	if (!t)
		return;
	heap_remove(l, t);
	free(t);
	*tp = NULL;
}

/* Fires every timer whose deadline has passed; returns how many fired. */
static int run_timers(struct sl_loop *l)
{
	uint64_t now = sl_now_ns();
	int n = 0;

	while (l->n_timers && l->heap[0]->deadline <= now && !l->exiting) {
		struct sl_timer *t = l->heap[0];
		sl_timer_fn fn = t->fn;
		void *data = t->data;

		heap_remove(l, t);
		free(t);
		fn(l, data);
		n++;
	}
	return n;
}

/* ---- signals ---- */

static void on_signal(struct sl_loop *l, int fd, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		l->sig_fn(l, (int)si.ssi_signo, l->sig_data);
}

int sl_loop_add_signals(struct sl_loop *l, const int *sigs, int n, sl_signal_fn fn, void *data)
{
	sigset_t set;
	int r;

	if (l->sigfd >= 0)
		return -EBUSY;
	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return sl_negerrno();
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return sl_negerrno();
	l->sig_fn = fn;
	l->sig_data = data;
	r = sl_loop_add_io(l, l->sigfd, EPOLLIN, on_signal, NULL);
	if (r < 0)
		sl_closep(&l->sigfd);
	return r;
}

/* ---- running ---- */

int sl_loop_run_once(struct sl_loop *l, uint64_t timeout_ns)
{
	struct epoll_event evs[64];
	struct timespec ts;
	int n, dispatched;

	if (l->n_timers) {
		uint64_t now = sl_now_ns(), dl = l->heap[0]->deadline;

		timeout_ns = MIN(timeout_ns, dl > now ? dl - now : 0);
	}
	ts = sl_ns_to_timespec(timeout_ns);
	n = epoll_pwait2(l->epfd, evs, (int)ARRAY_SIZE(evs), &ts, NULL);
	if (n < 0)
		return errno == EINTR ? 0 : sl_negerrno();
	for (int i = 0; i < n && !l->exiting; i++) {
		struct io *io = evs[i].data.ptr;

		if (!io->dead)
			io->fn(l, io->fd, evs[i].events, io->data);
	}
	free_dead(l);
	dispatched = n + run_timers(l);
	return dispatched;
}

int sl_loop_run(struct sl_loop *l)
{
	l->exiting = false;
	while (!l->exiting) {
		int r = sl_loop_run_once(l, UINT64_MAX / 2);

		if (r < 0)
			return r;
	}
	return l->exit_code;
}

void sl_loop_exit(struct sl_loop *l, int code)
{
	l->exiting = true;
	l->exit_code = code;
}

unsigned sl_loop_timer_count(const struct sl_loop *l)
{
	return l->n_timers;
}

unsigned sl_loop_io_count(const struct sl_loop *l)
{
	return l->n_io;
}

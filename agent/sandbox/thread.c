// SPDX-License-Identifier: Apache-2.0
/* Helper threads that run at once (see thread.h). */
#include "sandbox/thread.h"

#include <sandlot/util.h>

#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#define START_WAIT_NS 100000 /* longest the creator waits for the thread to run */

struct start {
	void *(*fn)(void *);
	void *arg;
	sem_t running;	 /* posted by the new thread, first thing */
	atomic_int refs; /* creator and thread: the last one frees */
};

static void put(struct start *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1) {
		sem_destroy(&s->running);
		free(s);
	}
}

static void *trampoline(void *data)
{
	struct start *s = data;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;

	sem_post(&s->running);
	put(s);
	return fn(arg);
}

bool sl_thread_split_cpus(cpu_set_t *all, cpu_set_t *fg, cpu_set_t *bg)
{
	int last = -1;

	if (sched_getaffinity(0, sizeof(*all), all) < 0)
		return false; /* callers then pin nothing */
	*fg = *bg = *all;
	if (CPU_COUNT(all) < 2)
		return false;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, all))
			last = i;
	CPU_CLR(last, fg);
	CPU_ZERO(bg);
	CPU_SET(last, bg);
	return true;
}

/* Sleeps until the thread has run or START_WAIT_NS passed. */
static void wait_running(struct start *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += START_WAIT_NS;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (sem_clockwait(&s->running, CLOCK_MONOTONIC, &ts) < 0 && errno == EINTR)
		;
}

/* With its CPUs set before it first runs, the thread is queued there at once: no wait. */
static int start_on(pthread_t *ret, void *(*fn)(void *), void *arg, const cpu_set_t *cpus)
{
	pthread_attr_t attr;
	int r = -pthread_attr_init(&attr);

	if (r < 0)
		return r;
	r = -pthread_attr_setaffinity_np(&attr, sizeof(*cpus), cpus);
	if (r >= 0)
		r = -pthread_create(ret, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return r;
}

int sl_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg, const cpu_set_t *cpus)
{
	struct start *s;
	int r;

	if (cpus)
		return start_on(ret, fn, arg, cpus);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->arg = arg;
	atomic_init(&s->refs, 2);
	if (sem_init(&s->running, 0, 0) < 0) {
		free(s);
		return sl_negerrno();
	}
	r = -pthread_create(ret, NULL, trampoline, s);
	if (r < 0) {
		sem_destroy(&s->running);
		free(s);
		return r;
	}
	wait_running(s);
	put(s);
	return 0;
}

/* Helper threads that run at once (see thread.h). */
#include "thread.h"

#include <sandlot/util.h>

#include <semaphore.h>

struct start {
	void *(*fn)(void *);
	void *arg;
	sem_t running; /* posted by the new thread, first thing */
};

static void *trampoline(void *data)
{
	struct start *s = data;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;

	sem_post(&s->running); /* s lives on the creator's stack: not touched after this */
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

int sl_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg)
{
	struct start s = {.fn = fn, .arg = arg};
	int r;

	if (sem_init(&s.running, 0, 0) < 0)
		return sl_negerrno();
	r = -pthread_create(ret, NULL, trampoline, &s);
	if (r == 0)
		while (sem_wait(&s.running) < 0 && errno == EINTR)
			;
	sem_destroy(&s.running);
	return r;
}

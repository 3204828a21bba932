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

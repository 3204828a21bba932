#pragma once
/* The network namespace: with --net none, only loopback, and it is up. */
#include <pthread.h>
#include <stdbool.h>

/* Brings "lo" up in the calling task's network namespace. Returns 0 or -errno. */
int sl_net_lo_up(void);

/*
 * Moves the calling thread into a new network namespace, brings its loopback up and returns
 * an fd to it (O_CLOEXEC), or -errno. For a thread that does nothing else on the network (it
 * stays in that namespace): the shell pool's filler, the one-shot runtime's helper.
 */
int sl_net_new_ns(void);

/* sl_net_new_ns() on a thread of its own, while the caller does something else. */
struct sl_net_maker {
	pthread_t thread;
	bool started;
	int result; /* the fd or -errno, once joined */
};

/* Starts the thread. Returns 0 or -errno. */
int sl_net_maker_start(struct sl_net_maker *m);

/* Waits for it: the namespace fd (the caller owns it) or -errno. Once per start. */
int sl_net_maker_finish(struct sl_net_maker *m);

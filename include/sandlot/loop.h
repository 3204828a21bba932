/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent's one event loop: every fd the daemon owns (nanomsg's NN_RCVFD/NN_SNDFD, the BPF
 * ring buffer, sandbox pidfds and pipes, HTTP servers' epoll fds, a signalfd) is registered here,
 * and timers (keep-alive, invocation deadlines, heartbeats) sit in a min-heap whose earliest
 * deadline becomes epoll_pwait2()'s timeout. Single-threaded; callbacks may add and remove
 * registrations and timers, including their own, at any time.
 */
#include <stdbool.h>
#include <stdint.h>

struct sl_loop;
struct sl_timer;

/* Called when fd is ready; events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*sl_io_fn)(struct sl_loop *loop, int fd, uint32_t events, void *data);
/* Called once when the timer's deadline passes; the timer is already gone when it runs. */
typedef void (*sl_timer_fn)(struct sl_loop *loop, void *data);
/* Called for each signal delivered to the process (signals are blocked and read via signalfd). */
typedef void (*sl_signal_fn)(struct sl_loop *loop, int signo, void *data);

int sl_loop_new(struct sl_loop **ret);
/* Frees the loop; fds registered are not closed (their owners close them). NULL-safe. */
void sl_loop_free(struct sl_loop **loop);

/*
 * Watches fd for events (EPOLLIN, EPOLLOUT, ...; level-triggered unless EPOLLET is given).
 * -EEXIST when fd is already registered. The loop does not take ownership of fd.
 */
int sl_loop_add_io(struct sl_loop *loop, int fd, uint32_t events, sl_io_fn fn, void *data);
/* Changes the events fd is watched for. -ENOENT when not registered. */
int sl_loop_mod_io(struct sl_loop *loop, int fd, uint32_t events);
/* Stops watching fd; safe from inside any callback, including fd's own. -ENOENT if unknown. */
int sl_loop_del_io(struct sl_loop *loop, int fd);

/*
 * Arms a one-shot timer at deadline_ns (CLOCK_MONOTONIC, see sl_now_ns()). *ret is the handle
 * for sl_loop_cancel_timer(); it becomes invalid once the timer has fired. ret may be NULL for
 * fire-and-forget timers. The loop caps the number of timers (SL_LOOP_MAX_TIMERS): -ENOSPC.
 */
int sl_loop_add_timer(struct sl_loop *loop, uint64_t deadline_ns, sl_timer_fn fn, void *data,
		      struct sl_timer **ret);
/* Cancels *t if still pending and sets *t to NULL. NULL-safe. */
void sl_loop_cancel_timer(struct sl_loop *loop, struct sl_timer **t);

/* Blocks sigs (n of them) and delivers them through fn. Call at most once. */
int sl_loop_add_signals(struct sl_loop *loop, const int *sigs, int n, sl_signal_fn fn, void *data);

/* Runs until sl_loop_exit(); returns the code given to it, or -errno on a loop failure. */
int sl_loop_run(struct sl_loop *loop);
/* Runs one iteration, waiting at most timeout_ns (0: poll). Returns events dispatched or -errno. */
int sl_loop_run_once(struct sl_loop *loop, uint64_t timeout_ns);
void sl_loop_exit(struct sl_loop *loop, int code);

/* Number of pending timers and registered fds (for /metrics and tests). */
unsigned sl_loop_timer_count(const struct sl_loop *loop);
unsigned sl_loop_io_count(const struct sl_loop *loop);

#define SL_LOOP_MAX_TIMERS 65536

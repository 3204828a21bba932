/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Starting the runtime's helper threads (spawner, pool filler) so that they run at once, next
 * to the thread that starts them.
 *
 * Why: on our hosts (2 vCPUs sharing a cache) a new thread is queued on its creator's CPU and
 * waits there until the creator blocks or the next load balance, even with the other CPU idle.
 * Overlapping set-up steps with a helper thread only pays if the helper starts now. So the
 * creator sleeps until the new thread runs, at most 100 us: the helper runs on its CPU, and the
 * creator's wake-up puts it on an idle CPU if there is one (the kernel spreads wake-ups, not
 * new threads). On a busy host the helper may not get a CPU that soon; the creator then goes on
 * (waiting without a bound cost more than the overlap gained). A thread given CPUs of its own
 * (pool filler and spawner, one-shot spawner on an idle host) gets them before it first runs,
 * so it is queued there at once and the creator does not wait; processes it creates inherit
 * them.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/*
 * pthread_create(ret, NULL, fn, arg), returning once the new thread runs (or after 100 us).
 * cpus: the thread's CPUs (and so its children's), or NULL to inherit the caller's; a thread
 * with its CPUs set before it first runs is queued on them at once, so the caller does not
 * wait. Returns 0 or -errno.
 */
int sl_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg, const cpu_set_t *cpus);

/*
 * Splits the CPUs the process may use into a foreground set (*fg: all but the highest) and a
 * background set (*bg: the highest), for a runtime whose pool filler runs in the background.
 * Why: the kernel here runs without preemption (PREEMPT_NONE), so a filler making a network
 * namespace holds its CPU for all of setup_net, and a sandbox child queued behind it
 * waits that long; kept apart, the spawn path never queues behind it. *all gets the whole
 * set (what sandboxed commands get back). Returns false, with fg = bg = all, when the process
 * may use only one CPU.
 */
bool sl_thread_split_cpus(cpu_set_t *all, cpu_set_t *fg, cpu_set_t *bg);

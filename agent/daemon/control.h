/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The daemon's link to the control node: the wire adapter. Commands that arrive become calls
 * of the worker (worker.h) and of the code fetcher; their -errno becomes an SL_ERR_* reply here
 * and nowhere else; what the worker reports through its sink (control_worker_sink) becomes
 * frames. Frames the socket cannot take yet wait in a bounded queue.
 */
struct agent;
struct worker_sink;

/* Loads and checks the cluster key (first thing at start: nothing is made before). 0 or -errno,
 * logged. */
int control_load_key(struct agent *a);
/* Fills the sink ops that turn the worker's reports into frames (all but empty, the daemon's). */
void control_worker_sink(struct agent *a, struct worker_sink *ret);
/* Opens the link (a->loop and a->cache made), starts registering. 0 or -errno, logged. */
int control_open(struct agent *a);
/* Closes the link and drops what is queued; also after a failed or no control_open(). */
void control_close(struct agent *a);
/* Gives queued frames up to 2 s, and nanomsg 100 ms, to reach the control node (runs the
 * loop: call at shutdown, with no sandbox left). */
void control_flush(struct agent *a);

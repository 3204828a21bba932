/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The host's addresses in the BPF policy (sl_addrs, SL_BPF_ADDR_HOST), kept in step with the
 * network namespace the watcher was made in: an rtnetlink socket subscribed to IPv4 and IPv6
 * address events, opened before the first full read so that no change falls between the two.
 * An address added later (a new interface, a run's egress gateway) is denied from the event
 * on; one removed is forgotten (and re-added if another interface still has it). Missed events
 * (the socket's buffer overflowed) lead to a full resync.
 *
 * The agent registers the fd in its loop; a process without a loop (a one-shot `run` with a
 * private load) lets a thread of the watcher's own do it.
 */
#include "bpfload/bpf-loader.h"

struct sl_hostaddrs;

/*
 * Subscribes, then writes every address of the calling thread's network namespace into b's
 * map (sl_bpf_host_addrs_reconcile). b must outlive the watcher. Returns 0 or -errno.
 */
int sl_hostaddrs_new(struct sl_hostaddrs **ret, struct sl_bpf *b);

/* Readable when events wait (non-blocking, owned by the watcher). */
int sl_hostaddrs_fd(const struct sl_hostaddrs *h);

/* Applies every waiting event. Returns the number of address events applied, or -errno. */
int sl_hostaddrs_process(struct sl_hostaddrs *h);

/* Processes events on a thread of the watcher's own until sl_hostaddrs_free(). 0 or -errno. */
int sl_hostaddrs_start_thread(struct sl_hostaddrs *h);

/* Stops the thread (if any), closes the socket, frees. NULL-safe; sets *h to NULL. */
void sl_hostaddrs_free(struct sl_hostaddrs **h);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One agent per state directory and per BPF pin root: an exclusive flock on a lock file that
 * also holds the holder's pid, so that a second agent can say whose it is. The lock goes with
 * the process, however it ends; the file goes with a clean exit (sl_hostlock_release).
 */
#include <sys/types.h>

/*
 * Creates (0600) and locks path without waiting; writes our pid in it. Returns the lock's fd
 * (close-on-exec; keep it open for the process's life), -EWOULDBLOCK with *ret_holder the
 * holder's pid (0 when unreadable), -EBUSY when the file kept being removed under us, or
 * -errno. The file locked is the one path names (see sl_hostlock_release).
 */
int sl_hostlock_take(const char *path, pid_t *ret_holder);

/*
 * Removes the lock file taken as *fd (unless path names another file by now), then closes *fd
 * and sets it to -1; no-op when *fd < 0. A taker that opened the file before it went locks a
 * file no longer at path: sl_hostlock_take() sees that and opens path again.
 */
void sl_hostlock_release(const char *path, int *fd);

/* The lock file for a pin root: "/run/sandlot/agent-<root with '/' as '_'>.lock" in buf. */
void sl_hostlock_pin_path(char *buf, size_t len, const char *pin_root);

/*
 * Whether an "IP:PORT" or "[IPv6]:PORT" endpoint, bare or after "tcp://" (where the IP may be
 * a star, any address), can be bound now: 0, -EADDRINUSE (another process has it),
 * -EADDRNOTAVAIL, or -errno. Other endpoints (ipc://) are not checked: 0; host names must be
 * addresses by now (sl_agent_config_resolve). A check before the host is touched, not a
 * reservation.
 */
int sl_hostlock_port_free(const char *endpoint);

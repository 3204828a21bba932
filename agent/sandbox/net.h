/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The network namespace: with --net none, only loopback, and it is up. */

/* Brings "lo" up in the calling task's network namespace. Returns 0 or -errno. */
int sl_net_lo_up(void);

/*
 * Moves the calling thread into a new network namespace, brings its loopback up and returns
 * an fd to it (O_CLOEXEC), or -errno. For a thread that does nothing else on the network (it
 * stays in that namespace): the shell pool's filler.
 */
int sl_net_new_ns(void);

/*
 * A new network namespace with loopback up, made from the calling thread, which then goes
 * back to the namespace it was in. Returns an fd to the new one (O_CLOEXEC), or -errno.
 */
int sl_net_make_ns(void);

/*
 * One fd over a sandbox's sync socket (one byte with SCM_RIGHTS): the network namespace of a
 * one-shot sandbox, made while its child starts (parent to child, received before the child
 * needs it), and the child's own mount namespace when clone3 copied it (child to parent).
 * send returns 0 or -errno; recv the fd (O_CLOEXEC), -EBADMSG for a byte without one, or
 * -EPIPE at EOF.
 */
int sl_net_send_fd(int sock, int fd);
int sl_net_recv_fd(int sock);

#pragma once
/* Child side of the network namespace: with --net none, only loopback, and it is up. */

/* Brings "lo" up in the calling task's network namespace. Returns 0 or -errno. */
int sl_net_lo_up(void);

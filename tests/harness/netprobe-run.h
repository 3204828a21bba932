/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * `sandlot-agent run` with sl-netprobe (tests/guests) as CMD, started from inside a test host
 * (a network namespace under /run/netns), as the network policy tests drive it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NP_ARGV_MAX 64 /* entries of an argv np_argv_build() fills, NULL included */

/* The directory holding sl-netprobe ($SL_NETPROBE_DIR, set by ctest), bound at /var/task. */
const char *np_probe_dir(void);

/* Deletes /run/netns/<prefix><pid>-* of pids that are gone (test runs that died). */
void np_remove_stale_netns(const char *prefix);

/* Runs fn(arg) with the calling thread in namespace name; fn's result, or -1 if it cannot enter. */
int np_in_ns(const char *name, int (*fn)(void *), void *arg);

/*
 * Fills argv (NP_ARGV_MAX entries) with `nsenter --net=/run/netns/NS sandlot-agent run --code
 * <np_probe_dir()> FIXED... ARGS... -- /var/task/sl-netprobe CMD...`; fixed and args may be NULL.
 * The strings it builds are static: one argv at a time.
 */
void np_argv_build(const char **argv, const char *ns, const char *const *fixed,
		   const char *const *args, const char *const *cmd);

/* Forks and execs argv, stderr (and stdout when quiet_out) to /dev/null. The child's pid, or -1. */
pid_t np_spawn(const char *const *argv, bool quiet_out);

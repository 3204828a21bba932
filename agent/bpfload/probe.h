/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The host probe: what this kernel and host offer that sandlot needs, found by trying it for
 * real (loading BPF programs, cloning into a cgroup, unsharing namespaces), not by reading
 * version numbers.
 */
#include <stdbool.h>
#include <stdio.h>

#include "sandbox/cgroup-host.h"

/* One capability tried for real: ok, or the errno it failed with. */
struct sl_probe_check {
	const char *name;
	bool required; /* missing it makes `probe` exit non-zero */
	bool ok;
	int err; /* positive errno when !ok */
};

enum {
	SL_PROBE_MAX_CHECKS = 32,
};

struct sl_probe_report {
	char kernel_release[65];
	bool btf;
	bool bpffs_mounted;
	bool bpffs_mounted_now; /* the probe mounted it */
	int bpffs_err;		/* errno of a failed mount, 0 otherwise */
	struct sl_cgroup_host cg;
	size_t n_progs;
	struct sl_probe_check progs[SL_PROBE_MAX_CHECKS]; /* BPF program types */
	struct sl_probe_check seccomp;
	struct sl_probe_check clone_into_cgroup;
	size_t n_ns;
	struct sl_probe_check ns[SL_PROBE_MAX_CHECKS]; /* namespace types */
};

struct sl_probe_opts {
	bool mount_bpffs; /* mount bpffs at /sys/fs/bpf when it is not mounted */
};

/* Runs every check. Returns 0 (even when checks fail: they are recorded) or -errno. */
int sl_probe_run(const struct sl_probe_opts *opts, struct sl_probe_report *ret);

/*
 * Writes a one-line reason for each missing requirement to f (when f is not NULL). Returns the
 * number of missing requirements.
 */
int sl_probe_missing(const struct sl_probe_report *r, FILE *f);

/* Prints the report as one JSON object, or as aligned human-readable lines. */
int sl_probe_print_json(const struct sl_probe_report *r, FILE *f, bool pretty);
void sl_probe_print_plain(const struct sl_probe_report *r, FILE *f);

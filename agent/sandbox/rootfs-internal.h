/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The fixed layout of the root template (rootfs.h) as data, for rootfs.c and its unit test:
 * what sl_rootfs_build() takes from the host and what it makes itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/mount.h>

#include "sandbox/rootfs.h"

/* The attributes of every mount of a host path: binds, overlays (and their empty layer). */
#define SL_ROOTFS_HOST_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

/* The template's own tmpfs root once populated (its /dev nodes must work: no nodev). */
#define SL_ROOTFS_ROOT_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)

struct sl_rootfs_layout {
	const char *const *host_entries; /* top-level host entries taken without a root dir */
	size_t n_host_entries;
	const struct sl_rootfs_device {
		const char *name;
		unsigned maj, min;
	} * devices; /* character devices made in /dev */
	size_t n_devices;
	const struct sl_rootfs_file {
		const char *name, *text;
	} * etc_files; /* the generated /etc (without a root dir, or one without etc) */
	size_t n_etc_files;
	const char *const *etc_binds; /* host /etc entries bound into the generated one */
	size_t n_etc_binds;
};

/* The layout sl_rootfs_build() follows. Static; never freed. */
const struct sl_rootfs_layout *sl_rootfs_layout(void);

/*
 * True when sl_rootfs_build() leaves a top-level entry of a user-given root directory out:
 * proc, dev, sys, tmp, run and var (the sandbox gets its own or none) and dot entries.
 */
bool sl_rootfs_skipped(const char *name);

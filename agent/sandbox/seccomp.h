/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The sandbox's seccomp allow-list. Compiled ONCE, at build time, with libseccomp (seccomp.c,
 * the only file that includes it, run by seccomp-gen) into classic BPF programs built into the
 * agent; loading them is one seccomp(2) call each.
 *
 * Two filters, because loading a filter is costly: the kernel runs it for every syscall number
 * (action cache), converts it to eBPF and JIT-compiles it, per load: the "base"
 * filter is the allow-list plus the few syscalls sandbox set-up needs (setns, unshare, mount,
 * move_mount, sethostname, capset, ioprio_set, clone3); it is loaded ONCE, on the runtime's spawner
 * thread, and every sandbox child inherits it through clone3. The "seal" filter, loaded by each
 * child after set-up, is a few instructions that refuse exactly those set-up syscalls, and the
 * terminal ioctls TIOCSTI, TIOCLINUX and TIOCSCTTY (by argument, which an allow-list cannot
 * express).
 * Seccomp applies every filter and the strictest answer wins, so base + seal = the allow-list.
 *
 * Policy: every syscall not on the list fails with EPERM (not SIGSYS: language runtimes probe
 * optional syscalls and degrade). clone3 fails with ENOSYS so libc falls back to clone(2),
 * whose flags are checked: no new namespaces. Explicitly refused (not on the list): mount,
 * umount2, pivot_root, unshare, setns, ptrace, bpf, perf_event_open, keyctl, add_key,
 * request_key, kexec_*, init_module/finit_module/delete_module, reboot, swapon/swapoff, acct,
 * userfaultfd, open_by_handle_at, name_to_handle_at, fsopen/fsmount/open_tree/move_mount,
 * io_uring_*, inotify_* and fanotify_* (a watch on the read-only binds shared with the host
 * would report the host's own file activity), ...
 * By argument: raw and packet sockets (and by the lack of CAP_NET_RAW), netlink protocols
 * other than NETLINK_ROUTE, ioctl TIOCSTI, TIOCLINUX and TIOCSCTTY. docs/run.md lists the
 * errno of each.
 */
#include <linux/filter.h>

struct sl_seccomp {
	struct sock_fprog base; /* allow-list + set-up syscalls; owned */
	struct sock_fprog seal; /* refuses the set-up syscalls; owned */
};

/*
 * Compiles both filters with libseccomp (seccomp.c; the build-time generator uses it).
 * Returns 0 or -errno. Free with sl_seccomp_free (NULL-safe, sets *s to NULL).
 */
int sl_seccomp_compile(struct sl_seccomp **ret);
void sl_seccomp_free(struct sl_seccomp **s);

/*
 * The filters the agent uses: compiled by seccomp-gen at build time for the build host's
 * architecture and built in (seccomp-load.c). Static; never freed.
 */
const struct sl_seccomp *sl_seccomp_builtin(void);

/*
 * Installs the base filter on the calling thread (the spawner thread, once; needs
 * CAP_SYS_ADMIN or no_new_privs). Returns 0 or -errno.
 */
int sl_seccomp_apply_base(const struct sl_seccomp *s);

/*
 * Child side, the last step before init: installs the seal on the calling thread. Needs
 * no_new_privs. Async-signal-safe (one syscall). Returns 0 or -errno.
 */
int sl_seccomp_apply(const struct sl_seccomp *s);

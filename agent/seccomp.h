#pragma once
/*
 * The sandbox's seccomp allow-list. Compiled ONCE per runtime in the parent with libseccomp
 * (the only file that includes it) into a classic BPF program; each sandbox child loads that
 * program with one seccomp(2) call, the last step before it runs untrusted code.
 *
 * Policy: every syscall not on the list fails with EPERM (not SIGSYS: language runtimes probe
 * optional syscalls and degrade). clone3 fails with ENOSYS so libc falls back to clone(2),
 * whose flags are checked: no new namespaces. Explicitly refused (not on the list): mount,
 * umount2, pivot_root, unshare, setns, ptrace, bpf, perf_event_open, keyctl, add_key,
 * request_key, kexec_*, init_module/finit_module/delete_module, reboot, swapon/swapoff, acct,
 * userfaultfd, open_by_handle_at, name_to_handle_at, fsopen/fsmount/open_tree/move_mount, ...
 * Raw and packet sockets are refused by argument (and by the lack of CAP_NET_RAW).
 */
#include <linux/filter.h>

struct sl_seccomp {
	struct sock_fprog prog; /* filter owned by this object; loadable in a child after fork */
};

/* Compiles the allow-list for the running architecture. Returns 0 or -errno. */
int sl_seccomp_new(struct sl_seccomp **ret);

/* NULL-safe; sets *s to NULL. */
void sl_seccomp_free(struct sl_seccomp **s);

/*
 * Child side: installs the filter on the calling thread. Needs no_new_privs (or CAP_SYS_ADMIN).
 * Async-signal-safe (one syscall). Returns 0 or -errno.
 */
int sl_seccomp_apply(const struct sl_seccomp *s);

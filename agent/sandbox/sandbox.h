/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The sandbox runtime: creating, watching and destroying isolated sandboxes without blocking.
 *
 * A runtime (one per agent process) holds what every sandbox shares and is prepared once: the
 * spawner thread (spawner.h) whose own mount namespace is the root file system template
 * (rootfs.h) and which carries the base seccomp filter, the cgroup directories, an owner slot
 * and a pool of shells (shellpool.h). A sandbox is one clone3()d child that sets up its
 * isolation and then execs the sandbox's pid 1, `sandlot-init` (sandbox-init.c: a small
 * program built into the agent, exec'd from a sealed memfd), which runs CMD; until that exec
 * the child shares the agent's memory (CLONE_VM, its own stack) while the spawner thread waits
 * (CLONE_VFORK): no copy of the agent's address space is made, faulted in and torn down per
 * sandbox.
 *
 * What a sandbox gets: its own v2 cgroup (and v1 memory, cpu and pids cgroups on hybrid hosts)
 * with limits; new pid, mount, network, IPC, UTS and cgroup namespaces; a private copy of the
 * root template (read-only binds, /dev nodes) with its own /tmp (size-limited), /proc and a
 * read-only /var/task; its own hostname and loopback; the stdio the caller gives and no other
 * fd; fixed rlimits; an unprivileged uid/gid with no capabilities and no_new_privs; a seccomp
 * allow-list; a pid 1 that reaps and forwards signals. The caller's hook (BPF registration,
 * veth, ...) runs before the child goes on. The parent prepares each step (sandbox.c, with a
 * shell from the pool made ahead: shellpool.h); the child applies them in the order
 * sl_child_main() (child.c) runs them.
 *
 * Event-loop use (the daemon): sl_sandbox_spawn() returns with a pidfd once the child has
 * set up and exec'd the init; poll it (and
 * the stdio pipes); when the pidfd is readable, sl_sandbox_reap() gives the result without
 * blocking; then sl_sandbox_free() removes everything. Nothing blocks on the sandbox except
 * sl_sandbox_destroy()/free() of one still running (they kill it first).
 *
 * Ownership and leftovers: each runtime holds an exclusive flock on <state dir>/slot-<n>.lock
 * (n in [0, SL_RUNTIME_SLOTS)) for its lifetime, and names its sandboxes "s<n>-<pid>-<seq>".
 * Sandbox cgroups whose slot lock nobody holds are stale (their agent died, even by SIGKILL):
 * sl_runtime_new() and sl_runtime_sweep() kill their processes through cgroup.kill and remove
 * them from every hierarchy. Mount and network namespaces die with the sandbox's processes
 * (the template namespace with the spawner thread; with a pool, the runtime keeps a reference
 * to each sandbox's mount namespace until free and hands it to the filler thread, so that
 * its teardown, which waits for an RCU grace period, is neither in the init's exit nor on
 * the caller's thread); sandbox processes also get SIGKILL as their parent-death signal, so
 * they do not outlive the thread that spawned them.
 *
 * Threads: not thread-safe; use one runtime from one thread. The runtime starts its own
 * threads (spawner, pool filler) and forks nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"

#define SL_RUNTIME_SLOTS      64   /* runtimes that can run at the same time on a host */
#define SL_RUNTIME_SANDBOXES  4096 /* live sandboxes per runtime (each gets its own uid) */
#define SL_SANDBOX_ID_MAX     48
#define SL_SANDBOX_ARGS_MAX   4096  /* argv entries */
#define SL_SANDBOX_ENV_MAX    1024  /* environment entries */
#define SL_SANDBOX_STRING_MAX 32768 /* bytes in one argument or environment entry */

struct sl_runtime;
struct sl_sandbox;

struct sl_runtime_opts {
	const char *rootfs;    /* NULL: host /usr, /bin, /sbin, /lib* + minimal /etc */
	const char *state_dir; /* slot locks; NULL: /run/sandlot */
	uid_t uid_base;	       /* 0: 100000. uid = base + slot * SL_RUNTIME_SANDBOXES + n */
	unsigned pool_size;    /* shells kept ready by a filler thread; 0: none */
	bool one_shot;	       /* exactly one sandbox (sandlot-agent run): its cgroups are made
				  during set-up while the spawner builds the template (the
				  spawner on the CPUs other than the caller's until spawn), its
				  network namespace by spawn while the child starts (the child
				  receives it), and it lives in the spawner thread's mount
				  namespace (the template itself, no copy), whose host root a
				  helper thread detaches meanwhile; a second spawn fails with
				  -EBUSY; pool_size is ignored */
};

/*
 * Takes a free owner slot, cleans stale sandboxes of dead runtimes (a one-shot runtime leaves
 * that to the caller's first sl_runtime_sweep(), so that it runs while the sandbox starts),
 * opens the cgroup directories and starts the spawner (root template, base filter). Needs
 * root. Returns 0, -EBUSY (all slots taken), -ENOTSUP (no cgroup2), -ENOENT/-ENOTDIR (bad
 * rootfs) or -errno.
 */
int sl_runtime_new(struct sl_runtime **ret, const struct sl_runtime_opts *opts);

/* NULL-safe. Free every sandbox first. Releases the slot. Sets *rt to NULL. */
void sl_runtime_free(struct sl_runtime **rt);

/*
 * Removes stale sandboxes: of runtimes that are gone, and earlier owners' leftovers in our
 * own slot (see sl_owner_sweep). Returns how many, or -errno.
 */
int sl_runtime_sweep(struct sl_runtime *rt);

/*
 * What the latest sweep (sl_runtime_new()'s or sl_runtime_sweep()'s) removed: sandboxes, and
 * shells that a dead runtime's pool had made ahead and never used (not sandboxes: nothing ran
 * in them).
 */
void sl_runtime_swept(const struct sl_runtime *rt, unsigned *ret_sandboxes, unsigned *ret_shells);

struct sl_shell_hooks;

/*
 * Work the caller does on every pooled shell before a sandbox is spawned into it (see
 * shellpool.h: e.g. attaching BPF programs to its v2 cgroup), on the pool's filler thread.
 * Set once; hooks->data must outlive the runtime. No-op without a pool.
 */
void sl_runtime_set_shell_hooks(struct sl_runtime *rt, const struct sl_shell_hooks *hooks);

/* For a hook: the fd the shell hooks' prepare made for sb's shell (the caller owns it), or
 * -1 when there is none (or it was taken). */
int sl_sandbox_take_shell_fd(struct sl_sandbox *sb);

/* Sandboxes spawned so far, and how many of them found no shell ready in the pool (they made
 * their network namespace and cgroups on the spawn path). */
void sl_runtime_pool_counts(struct sl_runtime *rt, uint64_t *spawned, uint64_t *pool_empty);

/* "v2" or "hybrid": where limits are enforced. */
const char *sl_runtime_cgroup_backend(const struct sl_runtime *rt);

/* Values for sl_sandbox_config.stdio[i] other than a caller's fd. */
enum {
	SL_STDIO_NULL = -1,   /* /dev/null inside the sandbox */
	SL_STDIO_PIPE = -2,   /* a pipe; the parent's end from sl_sandbox_stdio_fd() */
	SL_STDIO_STDOUT = -3, /* stderr only: wherever stdout goes (2>&1), in the order written */
};

/*
 * Called by sl_sandbox_spawn() after clone3, when the child exists in its cgroups and
 * namespaces but waits before running anything: register the cgroup id with BPF, move a veth
 * into sl_sandbox_netns_fd(), open sockets inside it... Return >= 0 to let the child go on,
 * -errno to abort the spawn (the child is killed and everything removed; spawn returns it).
 */
typedef int (*sl_sandbox_hook_fn)(struct sl_sandbox *sb, void *data);

struct sl_sandbox_config {
	char *const *argv;	 /* CMD; argv[0] absolute, or looked up in envp's PATH inside */
	char *const *envp;	 /* NULL-terminated; NULL = empty */
	uint64_t memory_bytes;	 /* required, > 0 */
	uint32_t cpu_millis;	 /* CPU quota in thousandths of a CPU; 0 = unlimited. With a
				    pool, a sandbox whose quota fits in the CPUs other than the
				    filler's runs on those; else on all the agent's CPUs */
	uint64_t pids_max;	 /* 0 = 1024 */
	uint64_t tmp_bytes;	 /* size of /tmp; 0 = 64 MiB */
	uint64_t nofile;	 /* RLIMIT_NOFILE; 0 = 1024 */
	const char *code_dir;	 /* bound read-only at /var/task; NULL = empty /var/task */
	const char *hostname;	 /* NULL = "sandlot" */
	int stdio[3];		 /* an fd of the caller (dup'ed), SL_STDIO_NULL, SL_STDIO_PIPE, or
				    SL_STDIO_STDOUT for stderr */
	sl_sandbox_hook_fn hook; /* NULL = none */
	void *hook_data;
};

/* How a sandbox ended. */
struct sl_sandbox_result {
	int exit_code;	     /* CMD's status, 128+signal if killed, 127 not found, 126 not
				executable, 125 setup failed */
	int signal;	     /* signal that ended CMD (or the init), else 0 */
	int setup_err;	     /* -errno of a failed setup step, else 0 */
	char setup_step[28]; /* which step ("mount /proc", ...) */
	int exec_err;	     /* errno of a failed exec of CMD, else 0 */
};

/*
 * Checks cfg as sl_sandbox_spawn() does before it makes anything: 0; -EINVAL without CMD
 * (argv, argv[0] empty) or memory_bytes, with nofile above 65536 or a hostname longer than 64;
 * -E2BIG with more than SL_SANDBOX_ARGS_MAX arguments or SL_SANDBOX_ENV_MAX environment
 * entries, or one of SL_SANDBOX_STRING_MAX bytes or more; -EBADF for a stdio value that is
 * neither an fd nor one of SL_STDIO_* (SL_STDIO_STDOUT for stderr only). Reads no fd.
 */
int sl_sandbox_config_check(const struct sl_sandbox_config *cfg);

/*
 * Creates and starts a sandbox; does not wait for CMD. Returns 0 with *ret set, -EINVAL (bad
 * config), -EMFILE (SL_RUNTIME_SANDBOXES live), -EBUSY (a one-shot runtime's second sandbox),
 * the hook's error, or -errno; on failure nothing is left behind. Errors inside the child after the
 * release (CMD not found, a mount failing) are not spawn errors: sl_sandbox_reap() reports them.
 */
int sl_sandbox_spawn(struct sl_runtime *rt, const struct sl_sandbox_config *cfg,
		     struct sl_sandbox **ret);

/* "s<slot>-<agent pid>-<seq>": also the cgroup directory name. Owned by sb. */
const char *sl_sandbox_id(const struct sl_sandbox *sb);

/* pidfd of the sandbox's init (readable when it exited). Owned by sb. */
int sl_sandbox_pidfd(const struct sl_sandbox *sb);

/* pid of the init in the agent's pid namespace. */
pid_t sl_sandbox_pid(const struct sl_sandbox *sb);

/* Unprivileged uid (= gid) the sandbox runs as. */
uid_t sl_sandbox_uid(const struct sl_sandbox *sb);

/* Parent end of stdio pipe i (SL_STDIO_PIPE), else -1. Owned by sb (closed by free). */
int sl_sandbox_stdio_fd(const struct sl_sandbox *sb, int i);

/* Its v2 cgroup directory fd and id (for BPF maps and attachment). */
int sl_sandbox_cgroup_fd(const struct sl_sandbox *sb);
int sl_sandbox_cgroup_id(const struct sl_sandbox *sb, uint64_t *ret);

/* fd of its network namespace, opened on first call; owned by sb. Returns it or -errno. */
int sl_sandbox_netns_fd(struct sl_sandbox *sb);

/* Freezes (true) or thaws every process of the sandbox (v2 cgroup.freeze). */
int sl_sandbox_freeze(struct sl_sandbox *sb, bool frozen);

/*
 * Changes the CPU quota (thousandths of a CPU; 0 = unlimited) of a running sandbox, e.g. from
 * the init phase's to the function's. The CPUs it may run on stay as chosen at spawn. Returns
 * 0 or -errno (the quota is then unchanged).
 */
int sl_sandbox_set_cpu(struct sl_sandbox *sb, uint32_t cpu_millis);

/* SIGKILL to every process of the sandbox (v2 cgroup.kill); the pidfd then becomes readable. */
int sl_sandbox_kill(struct sl_sandbox *sb);

/* Forwards sig to the init, which passes it to CMD. */
int sl_sandbox_signal(struct sl_sandbox *sb, int sig);

/* CPU time, peak memory, OOM kills so far (valid until free). */
int sl_sandbox_stats(struct sl_sandbox *sb, struct sl_cgroup_stats *ret);

/*
 * Collects the init's exit without blocking. Returns 0 with *ret filled, -EAGAIN while it
 * runs, -errno. Call again after 0 gets the same result.
 */
int sl_sandbox_reap(struct sl_sandbox *sb, struct sl_sandbox_result *ret);

/*
 * Kills whatever still runs, reaps the init and removes the cgroups. Blocks only while killed
 * processes exit. Returns 0 when nothing of the sandbox is left, else -errno (call again).
 */
int sl_sandbox_destroy(struct sl_sandbox *sb);

/* NULL-safe: destroy (best effort), close fds, release the uid, free. Sets *sb to NULL. */
void sl_sandbox_free(struct sl_sandbox **sb);

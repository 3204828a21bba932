// SPDX-License-Identifier: Apache-2.0
/*
 * The sandbox runtime (see sandbox.h): the parent side of every isolation step and the
 * sandbox's life cycle. The child side is child.c.
 */
#include "sandbox/sandbox.h"

#include "sandbox/child.h"
#include "sandbox/clone-vm.h"
#include "sandbox/net.h"
#include "sandbox/report.h"
#include "sandbox/owner.h"
#include "sandbox/shellpool.h"
#include "sandbox/spawner.h"
#include "sandbox/thread.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DEFAULT_STATE_DIR "/run/sandlot"
#define DEFAULT_UID_BASE  100000
#define DEFAULT_PIDS	  1024
#define DEFAULT_TMP	  (64ULL << 20)
#define DEFAULT_NOFILE	  1024
#define MAX_NOFILE	  65536
#define CPU_PERIOD_US	  100000
#define MIN_QUOTA_US	  1000	       /* the kernel's floor for cpu.cfs_quota_us */
#define CHILD_STACK	  (256U << 10) /* the set-up child's, below a guard page */
#define CHILD_STACK_GUARD 4096U

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#else
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

struct sl_runtime {
	char state_dir[256];
	uid_t uid_base;
	struct sl_owner owner;
	struct sl_owner_swept swept; /* what the latest sweep removed */
	struct sl_cgroup_root *cg;
	const struct sl_seccomp *seccomp; /* built in */
	struct sl_shellpool *pool;
	struct sl_spawner *spawner; /* clone3s every sandbox, under the base seccomp filter */
	bool one_shot;		    /* see sl_runtime_opts */
	bool spawned;		    /* a sandbox was spawned (one-shot: the only one) */
	struct sl_shell *prepared;  /* one-shot: the sandbox's shell, made during set-up */
	int detach_efd;		    /* one-shot: the template's host root is detached (rootfs.h) */
	bool pinned;		    /* spawner and filler on CPUs of their own (one-shot: spawner
				       during set-up) */
	void *child_stack;	    /* CHILD_STACK bytes above a guard page, for clone_on_spawner */
	cpu_set_t cpus, fg, bg;	    /* all the process's CPUs; spawner's; filler's */
	uint64_t uid_used[SL_RUNTIME_SANDBOXES / 64]; /* bitmap of uids in use */
};

struct sl_sandbox {
	struct sl_runtime *rt;
	char id[SL_SANDBOX_ID_MAX];
	unsigned uid_index;
	struct sl_shell *shell; /* id, cgroups, netns */
	struct sl_cgroup *cg;	/* shell->cg */
	pid_t pid;
	int pidfd;
	int sock;     /* parent end of the sync/report socket */
	int stdio[3]; /* parent ends of pipes */
	int netns;    /* opened lazily */
	int mntns;    /* its mount namespace (pool runtimes), released through the pool */
	struct sl_cgroup_limits lim; /* as set at spawn, then by sl_sandbox_set_cpu() */
	bool reaped;
	struct sl_sandbox_result result;
};

_Static_assert(SL_RUNTIME_SLOTS == SL_OWNER_SLOTS, "one slot per runtime");

static void runtime_set_state_dir(struct sl_runtime *rt, const struct sl_runtime_opts *o)
{
	snprintf(rt->state_dir, sizeof(rt->state_dir), "%s",
		 o && o->state_dir ? o->state_dir : DEFAULT_STATE_DIR);
	rt->uid_base = o && o->uid_base ? o->uid_base : DEFAULT_UID_BASE;
}

static void limits_of(const struct sl_sandbox_config *c, struct sl_cgroup_limits *l);

/* The pool starts with the limits of a default sandbox (128 MB, as `run`). */
static int runtime_pool(struct sl_runtime *rt, unsigned size)
{
	const cpu_set_t *cpus = rt->pinned && !rt->one_shot ? &rt->bg : NULL;
	static char *const argv[] = {"-", NULL};
	struct sl_sandbox_config def = {
		.argv = argv, .memory_bytes = 128ULL << 20, .cpu_millis = 72};
	struct sl_cgroup_limits lim;
	char prefix[32];

	limits_of(&def, &lim);
	snprintf(prefix, sizeof(prefix), "s%u-%d-", rt->owner.slot, (int)getpid());
	return sl_shellpool_new(&rt->pool, rt->cg, prefix, size, &lim, cpus);
}

/*
 * One-shot set-up runs on two threads at once, each with ~1 ms of mostly non-preemptible
 * kernel work (spawner: template + filter; caller: cgroups, then the network namespace).
 * Left to the scheduler, both often queued on one CPU (a new thread starts on its creator's,
 * a woken one goes where its waker ran) while the other idled: 0.8-1 ms lost per run. So the
 * spawner starts on every CPU but the caller's (exec put the caller on the least busy one),
 * and once running takes every CPU back (spawner.h; for the clone it keeps to the CPU it is
 * on, and the child takes every CPU as its first step): kept pinned, it waited out a busy
 * task's slices there (A/B alternating, load 2-3: 5.1-8.8 ms p50 pinned against 4.9-7.0
 * freed; never pinned 5.5-6.6). The caller is not pinned: a pinned thread
 * cannot leave a CPU it shares with a busy task and waits out that task's slice at every
 * wake-up (measured with other builds running: caller and spawner pinned 9.0-10.0 ms p50,
 * spawner only 4.75, nothing 5.8-5.9; on an idle host pinning the caller too gained nothing).
 * False: nothing pinned (one CPU).
 */
static bool pin_one_shot(struct sl_runtime *rt)
{
	int cur = sched_getcpu();

	if (cur < 0 || sched_getaffinity(0, sizeof(rt->cpus), &rt->cpus) < 0 ||
	    CPU_COUNT(&rt->cpus) < 2 || !CPU_ISSET(cur, &rt->cpus))
		return false;
	rt->fg = rt->cpus;
	CPU_CLR(cur, &rt->fg);
	return true;
}

/* What every sandbox child needs from the runtime: a stack (the init program is the
 * spawner's, made on its lane: sl_spawner_init_fd). */
static int runtime_child_prep(struct sl_runtime *rt)
{
	char *m = mmap(NULL, CHILD_STACK + CHILD_STACK_GUARD, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return sl_negerrno();
	rt->child_stack = m + CHILD_STACK_GUARD;
	if (mprotect(m, CHILD_STACK_GUARD, PROT_NONE) < 0)
		return sl_negerrno();
	return 0;
}

int sl_runtime_new(struct sl_runtime **ret, const struct sl_runtime_opts *opts)
{
	struct sl_cgroup_host host;
	struct sl_runtime *rt = calloc(1, sizeof(*rt));
	int r;

	if (!rt)
		return -ENOMEM;
	rt->owner.lock_fd = rt->detach_efd = -1;
	runtime_set_state_dir(rt, opts);
	rt->seccomp = sl_seccomp_builtin();
	rt->one_shot = opts && opts->one_shot;
	/* a pool's filler gets a CPU of its own, the spawner (and so sandbox set-up) the rest */
	if (opts && opts->pool_size && !rt->one_shot)
		rt->pinned = sl_thread_split_cpus(&rt->cpus, &rt->fg, &rt->bg);
	if (rt->one_shot)
		rt->pinned = pin_one_shot(rt);
	/* the spawner thread builds the root template and loads the base filter meanwhile */
	r = sl_rootfs_check(opts ? opts->rootfs : NULL);
	if (r >= 0 && rt->one_shot && (rt->detach_efd = eventfd(0, EFD_CLOEXEC)) < 0)
		r = sl_negerrno();
	struct sl_rootfs_detach detach = {.efd = rt->detach_efd, .cpus = rt->cpus};
	if (r >= 0)
		r = sl_spawner_new(&rt->spawner, rt->seccomp, opts ? opts->rootfs : NULL,
				   rt->pinned ? &rt->fg : NULL, rt->one_shot ? &detach : NULL);
	if (r >= 0)
		r = sl_owner_acquire(rt->state_dir, &rt->owner);
	if (r >= 0)
		r = runtime_child_prep(rt);
	if (r >= 0)
		r = sl_cgroup_host_detect(&host);
	if (r >= 0)
		r = sl_cgroup_root_open(&rt->cg, &host);
	/* the pool's filler makes shells (cgroups, netns) meanwhile; the sweep spares them */
	if (r >= 0)
		r = runtime_pool(rt, opts && !rt->one_shot ? opts->pool_size : 0);
	if (r >= 0 && !rt->one_shot)
		r = sl_owner_sweep(&rt->owner, rt->state_dir, rt->cg, &rt->swept);
	/* one-shot: the sandbox's cgroups now; its network namespace is made while the child
	 * starts (spawn), and spawn hands its request over while the spawner is still getting
	 * ready */
	if (r >= 0 && rt->one_shot)
		r = sl_shellpool_take(rt->pool, &rt->prepared);
	if (r >= 0 && !rt->one_shot)
		r = sl_spawner_template_ns(rt->spawner);
	/* shells made from now on carry a copy of the template (the first few may not) */
	if (r >= 0 && !rt->one_shot && opts && opts->pool_size)
		r = sl_shellpool_set_template(rt->pool, r, DEFAULT_TMP);
	if (r < 0) {
		sl_runtime_free(&rt);
		return r;
	}
	*ret = rt;
	return 0;
}

void sl_runtime_free(struct sl_runtime **rt)
{
	if (!*rt)
		return;
	sl_spawner_free(&(*rt)->spawner);
	sl_shell_free(&(*rt)->prepared);
	sl_shellpool_free(&(*rt)->pool);
	sl_cgroup_root_free(&(*rt)->cg);
	sl_owner_release(&(*rt)->owner);
	sl_closep(&(*rt)->detach_efd);
	if ((*rt)->child_stack)
		munmap((char *)(*rt)->child_stack - CHILD_STACK_GUARD,
		       CHILD_STACK + CHILD_STACK_GUARD);
	free(*rt);
	*rt = NULL;
}

int sl_runtime_sweep(struct sl_runtime *rt)
{
	return sl_owner_sweep(&rt->owner, rt->state_dir, rt->cg, &rt->swept);
}

void sl_runtime_swept(const struct sl_runtime *rt, unsigned *ret_sandboxes, unsigned *ret_shells)
{
	*ret_sandboxes = rt->swept.sandboxes;
	*ret_shells = rt->swept.shells;
}

void sl_runtime_set_shell_hooks(struct sl_runtime *rt, const struct sl_shell_hooks *hooks)
{
	if (!rt->one_shot)
		sl_shellpool_set_hooks(rt->pool, hooks);
}

int sl_sandbox_take_shell_fd(struct sl_sandbox *sb)
{
	return sb->shell ? sl_shell_take_fd(sb->shell) : -1;
}

void sl_runtime_pool_counts(struct sl_runtime *rt, uint64_t *spawned, uint64_t *pool_empty)
{
	sl_shellpool_counts(rt->pool, spawned, pool_empty);
}

const char *sl_runtime_cgroup_backend(const struct sl_runtime *rt)
{
	return sl_cgroup_root_backend(rt->cg);
}

static int uid_alloc(struct sl_runtime *rt, unsigned *ret)
{
	for (unsigned w = 0; w < ARRAY_SIZE(rt->uid_used); w++) {
		if (rt->uid_used[w] == ~0ULL)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(~rt->uid_used[w]);
		rt->uid_used[w] |= 1ULL << b;
		*ret = w * 64 + b;
		return 0;
	}
	return -EMFILE;
}

static void uid_release(struct sl_runtime *rt, unsigned i)
{
	rt->uid_used[i / 64] &= ~(1ULL << (i % 64));
}

static bool strings_ok(char *const *v, size_t max)
{
	size_t n = 0;

	for (; v && v[n]; n++)
		if (n >= max || strnlen(v[n], SL_SANDBOX_STRING_MAX) >= SL_SANDBOX_STRING_MAX)
			return false;
	return true;
}

int sl_sandbox_config_check(const struct sl_sandbox_config *c)
{
	if (!c->argv || !c->argv[0] || !c->argv[0][0] || !c->memory_bytes)
		return -EINVAL;
	if (!strings_ok(c->argv, SL_SANDBOX_ARGS_MAX) || !strings_ok(c->envp, SL_SANDBOX_ENV_MAX))
		return -E2BIG;
	if (c->nofile > MAX_NOFILE || (c->hostname && strlen(c->hostname) > 64))
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (c->stdio[i] < SL_STDIO_PIPE && !(i == 2 && c->stdio[i] == SL_STDIO_STDOUT))
			return -EBADF;
	return 0;
}

static void limits_of(const struct sl_sandbox_config *c, struct sl_cgroup_limits *l)
{
	uint64_t q = (uint64_t)c->cpu_millis * CPU_PERIOD_US / 1000;

	*l = (struct sl_cgroup_limits){
		.memory_bytes = c->memory_bytes,
		.cpu_quota_us = c->cpu_millis ? MAX(q, MIN_QUOTA_US) : 0,
		.cpu_period_us = CPU_PERIOD_US,
		.pids_max = c->pids_max ? c->pids_max : DEFAULT_PIDS,
	};
}

static struct sl_sandbox *sandbox_alloc(struct sl_runtime *rt)
{
	struct sl_sandbox *sb = calloc(1, sizeof(*sb));

	if (!sb)
		return NULL;
	sb->rt = rt;
	sb->pidfd = sb->sock = sb->netns = sb->mntns = -1;
	sb->stdio[0] = sb->stdio[1] = sb->stdio[2] = -1;
	sb->uid_index = SL_RUNTIME_SANDBOXES; /* none */
	return sb;
}

/*
 * Pipes for SL_STDIO_PIPE (the parent keeps one end in sb->stdio[i], the child's end goes to
 * child[i]); the caller's fds are passed through.
 */
static int make_stdio(struct sl_sandbox *sb, const struct sl_sandbox_config *c, int child[3])
{
	for (int i = 0; i < 3; i++) {
		int p[2];

		child[i] = c->stdio[i] == SL_STDIO_PIPE ? -1 : c->stdio[i];
		if (c->stdio[i] == SL_STDIO_STDOUT)
			child[i] = child[1]; /* closed as stdout's, if it is a pipe */
		if (c->stdio[i] != SL_STDIO_PIPE)
			continue;
		if (pipe2(p, O_CLOEXEC) < 0)
			return sl_negerrno();
		sb->stdio[i] = i == 0 ? p[1] : p[0];
		child[i] = i == 0 ? p[0] : p[1];
	}
	return 0;
}

static void close_child_ends(const struct sl_sandbox_config *c, int child[3], int *sock, int *code)
{
	for (int i = 0; i < 3; i++)
		if (c->stdio[i] == SL_STDIO_PIPE)
			sl_closep(&child[i]);
	sl_closep(sock);
	sl_closep(code);
}

struct clone_req {
	struct sl_sandbox *sb;
	struct sl_child_plan *plan; /* init_fd is filled in on the spawner */
	int *child_sock; /* the plan's sock, closed by the spawner once the child has its copy */
};

/*
 * One-shot: the spawner, free to run anywhere (spawner.h), keeps to the CPU it is on for the
 * clone, so that the child starts there, where the spawner is about to sleep; with every CPU
 * it was often queued on the caller's, busy making the network namespace, and waited there
 * while the other CPU idled (a task that just ran is not pulled by an idle CPU).
 */
static void stay_here(void)
{
	cpu_set_t here;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	CPU_ZERO(&here);
	CPU_SET(cpu, &here);
	(void)sched_setaffinity(0, sizeof(here), &here);
}

/*
 * A reference to the child's own mount namespace (a copy of the template), so that it is not
 * torn down in the init's exit (an RCU grace period before the pidfd becomes readable) but
 * by the pool's filler after free (sl_shellpool_release). A pooled shell's copy is ours from
 * the start (made ahead); for a copy clone3 made, the child sends it with its "r" (child.c), so
 * we hold it before anything of CMD runs; taken by us instead, even right after the child's
 * "r", it came too late for ~0.5% of /bin/true sandboxes (1.5-5% when taken once the spawner's
 * clone had returned): the init was gone, and its exit had waited for an expedited RCU grace
 * period (up to 6 ms). This is the fallback for kernels before 6.11, where the child cannot.
 * -1 if the child is gone.
 */
static int open_mntns(int pidfd, pid_t pid)
{
	char path[64];
	int fd = ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE, 0);

	if (fd >= 0 || (errno != ENOTTY && errno != EINVAL))
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int child_entry(void *plan)
{
	sl_child_main(plan);
}

/*
 * On the spawner thread. The child shares the agent's memory until it execs the init
 * (CLONE_VM, on rt->child_stack) while this thread waits (CLONE_VFORK): no copy of the
 * agent's address space to make, fault in page by page and tear down again when the init
 * exits (dup_mmap, COW faults and exit_mmap cost ~0.45 ms of the spawn path for the bench's
 * process, more for the daemon). The kernel stores the pid and pidfd before the child runs,
 * so the caller can talk to the child (hooks) while this thread waits.
 */
static int clone_on_spawner(void *data)
{
	struct clone_req *req = data;
	struct sl_sandbox *sb = req->sb;
	struct sl_child_plan *plan = req->plan;
	struct clone_args args = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_PARENT_SETTID |
			 CLONE_INTO_CGROUP | CLONE_NEWPID |
			 (plan->utsns_fd < 0 ? CLONE_NEWUTS : 0) |
			 (plan->ipcns_fd < 0 ? CLONE_NEWIPC : 0) |
			 (plan->new_mntns ? CLONE_NEWNS : 0) | (plan->new_netns ? CLONE_NEWNET : 0),
		.pidfd = (uint64_t)(uintptr_t)&sb->pidfd,
		.parent_tid = (uint64_t)(uintptr_t)&sb->pid,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)sb->rt->child_stack,
		.stack_size = CHILD_STACK,
		.cgroup = (uint64_t)sl_cgroup_fd(sb->cg),
	};
	long pid;

	plan->init_fd = sl_spawner_init_fd(sb->rt->spawner);
	if (plan->cpus && sb->rt->one_shot)
		stay_here();
	/* the previous child's frames left ASan's redzones poisoned there */
	ASAN_UNPOISON_MEMORY_REGION(sb->rt->child_stack, CHILD_STACK);
	pid = sl_clone3_run(&args, child_entry, (void *)plan);
	/* the child has exec'd or is gone: a caller waiting for it to speak sees EOF if gone */
	sl_closep(req->child_sock);
	return (int)pid;
}

/*
 * One-shot: the child's network namespace (setup_net, ~0.8 ms of kernel work, the longest
 * step) is made here while the spawner finishes its set-up and clones; the child receives
 * it once its mounts are done (child.c). Returns 0 or -errno.
 */
static int send_late_netns(struct sl_sandbox *sb)
{
	int fd = sl_net_make_ns();

	if (fd < 0)
		return fd;
	sb->shell->netns_fd = fd;
	return sl_net_send_fd(sb->sock, fd);
}

/*
 * recv() of one message from the child. A child that exited without reading what we sent (the
 * one-shot netns) leaves ECONNRESET pending on our end, which the first recv() returns (and
 * clears) even with its reports queued behind it.
 */
static ssize_t recv_child(int sock, struct sl_report *rep, int flags)
{
	ssize_t n = recv(sock, rep, sizeof(*rep), flags);

	if (n < 0 && errno == ECONNRESET)
		n = recv(sock, rep, sizeof(*rep), flags);
	return n;
}

/* True when the child's report of a failed set-up step is queued on sb's socket. */
static bool child_reported(const struct sl_sandbox *sb)
{
	struct sl_report rep;

	return recv_child(sb->sock, &rep, MSG_PEEK | MSG_DONTWAIT) == sizeof(rep) &&
	       rep.kind == SL_REPORT_SETUP_FAILED;
}

/*
 * Parent side once the child is in all its cgroups and namespaces (its "r"): our reference to
 * its mount namespace, then, with a hook, the caller's hook and go (without one the child does
 * not wait). A report instead of "r" (a set-up step failed) or EOF (the child is gone, or was
 * never made: the spawner closes its end of the socket) is left for reap, or fails the spawn
 * when a hook was to run.
 */
static int child_ready(struct sl_sandbox *sb, const struct sl_child_plan *plan,
		       const struct sl_sandbox_config *c)
{
	struct sl_report rep;
	ssize_t n;
	int r;

	if (!c->hook && !plan->new_mntns)
		return 0; /* the child does not speak until it reports */
	n = recv_child(sb->sock, &rep, MSG_PEEK);
	if (n == sizeof(rep) && rep.kind == SL_REPORT_SETUP_FAILED)
		return 0; /* a set-up step failed: no hook for a child that is gone; reap tells */
	if (n != 1)
		return c->hook ? -ECHILD : 0;
	/* "r", or the child's mount namespace (Linux 6.11 on) */
	r = sl_net_recv_fd(sb->sock);
	if (r >= 0)
		sb->mntns = r;
	else if (r != -EBADMSG)
		return -EIO;
	else if (plan->new_mntns)
		sb->mntns = open_mntns(sb->pidfd, sb->pid);
	if (!c->hook)
		return 0;
	r = c->hook(sb, c->hook_data);
	if (r >= 0 && send(sb->sock, "g", 1, MSG_NOSIGNAL) != 1)
		r = sl_negerrno();
	return r;
}

/*
 * Has the spawner clone the child and, meanwhile, does the parent's part of its set-up (the
 * one-shot network namespace, child_ready): the spawner waits for the child's exec
 * (CLONE_VFORK), and the child may wait for us. On a failure here the child is told to give up
 * (EOF on its socket) before we wait for the spawner.
 */
static int clone_child(struct sl_sandbox *sb, struct sl_child_plan *plan,
		       const struct sl_sandbox_config *c)
{
	struct sl_spawner *sp = sb->rt->spawner;
	struct clone_req req = {.sb = sb, .plan = plan, .child_sock = &plan->sock};
	int r = 0, pid;

	sl_spawner_post(sp, clone_on_spawner, &req);
	if (plan->late_netns)
		r = send_late_netns(sb);
	/* the child failed a set-up step and is gone: its report is queued for reap */
	if (r == -EPIPE && child_reported(sb))
		r = 0;
	/* the request runs (and closes the child's socket end) only once the thread is ready */
	if (r >= 0)
		r = sl_spawner_wait_ready(sp);
	if (r >= 0)
		r = child_ready(sb, plan, c);
	if (r < 0)
		shutdown(sb->sock, SHUT_RDWR);
	pid = sl_spawner_wait(sp);
	sl_closep(&plan->sock); /* left open when the request was dropped (the set-up failed) */
	return pid < 0 ? pid : r < 0 ? r : pid;
}

/*
 * With a pool filler on a CPU of its own (sl_thread_split_cpus), a sandbox whose CPU quota
 * fits in the other CPUs stays on them: its exec would otherwise be balanced onto the
 * filler's CPU (lightly loaded: niced) and wait there behind ~1 ms of setup_net, which this
 * kernel does not preempt (0.5-0.7 ms per spawn measured). A sandbox allowed more CPU time
 * than that (or unlimited) gets every CPU back. NULL: leave the child's CPUs as they are.
 */
static const cpu_set_t *cmd_cpus(const struct sl_runtime *rt, const struct sl_sandbox_config *c)
{
	if (!rt->pinned)
		return NULL;
	if (rt->one_shot)
		return &rt->cpus; /* it started on the spawner's CPU only (clone_on_spawner) */
	if (c->cpu_millis && c->cpu_millis <= (uint32_t)CPU_COUNT(&rt->fg) * 1000)
		return NULL; /* stays on the spawner's (foreground) CPUs */
	return &rt->cpus;
}

static int spawn(struct sl_sandbox *sb, const struct sl_sandbox_config *c)
{
	struct sl_runtime *rt = sb->rt;
	struct sl_child_plan plan = {.seccomp = rt->seccomp, .envp = c->envp};
	_cleanup_free_ char **init_argv = NULL;
	struct sl_cgroup_limits lim;
	int sv[2] = {-1, -1}, code = -1, r;
	size_t argc = 0;

	limits_of(c, &lim);
	sl_shellpool_set_limits(rt->pool, &lim);
	sb->shell = TAKE_PTR(rt->prepared);
	r = sb->shell ? 0 : sl_shellpool_take(rt->pool, &sb->shell);
	if (r < 0)
		return r;
	sb->cg = sb->shell->cg;
	snprintf(sb->id, sizeof(sb->id), "%s", sb->shell->id);
	r = sl_cgroup_set_limits(sb->cg, &lim);
	if (r < 0)
		return r;
	sb->lim = lim;
	plan.n_join = sl_cgroup_join_fds(sb->cg, plan.join_fds);
	plan.netns_fd = sb->shell->netns_fd;
	plan.ipcns_fd = sb->shell->ipcns_fd;
	plan.utsns_fd = sb->shell->utsns_fd;
	/* ours from now on: freed through the pool (sl_sandbox_free) */
	sb->mntns = TAKE_FD(sb->shell->mntns_fd);
	plan.mntns_fd = sb->mntns;
	plan.late_netns = rt->one_shot && plan.netns_fd < 0;
	plan.new_netns = plan.netns_fd < 0 && !plan.late_netns;
	/* one-shot: the spawner's mount namespace is the sandbox's (see sl_runtime_opts) */
	plan.new_mntns = !rt->one_shot && plan.mntns_fd < 0;
	plan.hooked = c->hook != NULL;
	plan.detach_efd = rt->detach_efd;
	if (c->code_dir && (code = sl_rootfs_open_code(c->code_dir)) < 0)
		return code;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = sl_negerrno();
		goto out;
	}
	sb->sock = sv[0];
	plan.sock = sv[1];
	r = make_stdio(sb, c, plan.stdio);
	if (r < 0)
		goto out;
	sl_rootfs_child_init(&plan.rootfs, code, c->tmp_bytes ? c->tmp_bytes : DEFAULT_TMP,
			     plan.mntns_fd >= 0 ? sb->shell->tmp_bytes : 0);
	plan.creds = (struct sl_creds){
		.uid = rt->uid_base + rt->owner.slot * SL_RUNTIME_SANDBOXES + sb->uid_index,
		.gid = rt->uid_base + rt->owner.slot * SL_RUNTIME_SANDBOXES + sb->uid_index,
		.nofile = c->nofile ? c->nofile : DEFAULT_NOFILE,
	};
	plan.hostname = c->hostname ? c->hostname : "sandlot";
	plan.cpus = cmd_cpus(rt, c);
	/* the init's argv: its name, then CMD's (sandbox-init.c) */
	while (c->argv[argc])
		argc++;
	init_argv = calloc(argc + 2, sizeof(*init_argv));
	if (!init_argv) {
		r = -ENOMEM;
		goto out;
	}
	init_argv[0] = "sandlot-init";
	memcpy(init_argv + 1, c->argv, argc * sizeof(*init_argv));
	plan.init_argv = init_argv;
	sl_shellpool_hold_release(rt->pool, true);
	r = clone_child(sb, &plan, c);
	sl_shellpool_hold_release(rt->pool, false);
	if (r >= 0) {
		sb->pid = r; /* the kernel stored it already (CLONE_PARENT_SETTID) */
		r = 0;
	}
out:
	close_child_ends(c, plan.stdio, &plan.sock, &code);
	return r;
}

int sl_sandbox_spawn(struct sl_runtime *rt, const struct sl_sandbox_config *cfg,
		     struct sl_sandbox **ret)
{
	struct sl_sandbox *sb;
	int r = sl_sandbox_config_check(cfg);

	if (r < 0)
		return r;
	if (rt->one_shot && rt->spawned)
		return -EBUSY;
	rt->spawned = true;
	sb = sandbox_alloc(rt);
	if (!sb)
		return -ENOMEM;
	r = uid_alloc(rt, &sb->uid_index);
	if (r < 0) {
		free(sb);
		return r;
	}
	r = spawn(sb, cfg);
	if (r < 0) {
		sl_sandbox_free(&sb);
		return r;
	}
	*ret = sb;
	return 0;
}

const char *sl_sandbox_id(const struct sl_sandbox *sb)
{
	return sb->id;
}

int sl_sandbox_pidfd(const struct sl_sandbox *sb)
{
	return sb->pidfd;
}

pid_t sl_sandbox_pid(const struct sl_sandbox *sb)
{
	return sb->pid;
}

uid_t sl_sandbox_uid(const struct sl_sandbox *sb)
{
	return sb->rt->uid_base + sb->rt->owner.slot * SL_RUNTIME_SANDBOXES + sb->uid_index;
}

int sl_sandbox_stdio_fd(const struct sl_sandbox *sb, int i)
{
	return i >= 0 && i < 3 ? sb->stdio[i] : -1;
}

int sl_sandbox_cgroup_fd(const struct sl_sandbox *sb)
{
	return sl_cgroup_fd(sb->cg);
}

int sl_sandbox_cgroup_id(const struct sl_sandbox *sb, uint64_t *ret)
{
	return sl_cgroup_id(sb->cg, ret);
}

int sl_sandbox_netns_fd(struct sl_sandbox *sb)
{
	char path[64];

	if (sb->netns >= 0)
		return sb->netns;
	if (sb->shell && sb->shell->netns_fd >= 0)
		return sb->shell->netns_fd;
	if (sb->reaped)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sb->pid);
	sb->netns = open(path, O_RDONLY | O_CLOEXEC);
	return sb->netns >= 0 ? sb->netns : sl_negerrno();
}

int sl_sandbox_freeze(struct sl_sandbox *sb, bool frozen)
{
	return sl_cgroup_freeze(sb->cg, frozen);
}

int sl_sandbox_set_cpu(struct sl_sandbox *sb, uint32_t cpu_millis)
{
	struct sl_sandbox_config c = {.cpu_millis = cpu_millis};
	struct sl_cgroup_limits lim = sb->lim, q;
	int r;

	limits_of(&c, &q);
	lim.cpu_quota_us = q.cpu_quota_us;
	r = sl_cgroup_set_limits(sb->cg, &lim);
	if (r == 0)
		sb->lim = lim;
	return r;
}

int sl_sandbox_kill(struct sl_sandbox *sb)
{
	return sl_cgroup_kill(sb->cg);
}

int sl_sandbox_signal(struct sl_sandbox *sb, int sig)
{
	if (syscall(SYS_pidfd_send_signal, sb->pidfd, sig, NULL, 0) < 0)
		return sl_negerrno();
	return 0;
}

int sl_sandbox_stats(struct sl_sandbox *sb, struct sl_cgroup_stats *ret)
{
	return sl_cgroup_stats(sb->cg, ret);
}

/* Reads the child's reports (they are queued by now: the init has exited). */
static void read_reports(struct sl_sandbox *sb, struct sl_sandbox_result *res)
{
	struct sl_report rep;

	while (recv_child(sb->sock, &rep, MSG_DONTWAIT) == sizeof(rep)) {
		rep.step[sizeof(rep.step) - 1] = '\0';
		switch (rep.kind) {
		case SL_REPORT_SETUP_FAILED:
			res->setup_err = -rep.err;
			memcpy(res->setup_step, rep.step, sizeof(res->setup_step));
			break;
		case SL_REPORT_EXEC_FAILED:
			res->exec_err = rep.err;
			break;
		case SL_REPORT_EXITED:
			if (WIFSIGNALED(rep.status))
				res->signal = WTERMSIG(rep.status);
			break;
		}
	}
}

int sl_sandbox_reap(struct sl_sandbox *sb, struct sl_sandbox_result *ret)
{
	struct sl_sandbox_result res = {0};
	siginfo_t si = {0};

	if (sb->reaped) {
		*ret = sb->result;
		return 0;
	}
	if (waitid((idtype_t)P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | WNOHANG) < 0)
		return sl_negerrno();
	if (si.si_pid == 0)
		return -EAGAIN;
	read_reports(sb, &res);
	if (si.si_code == CLD_EXITED) {
		res.exit_code = si.si_status;
	} else { /* the init itself was killed: cgroup.kill, OOM, parent death */
		res.signal = si.si_status;
		res.exit_code = 128 + si.si_status;
	}
	sb->reaped = true;
	sb->result = res;
	*ret = res;
	return 0;
}

int sl_sandbox_destroy(struct sl_sandbox *sb)
{
	struct sl_sandbox_result res;
	int r;

	if (sb->pidfd >= 0 && !sb->reaped) {
		(void)sl_cgroup_kill(sb->cg);
		siginfo_t si;
		/* blocking wait is short: everything in the cgroup has SIGKILL pending */
		if (waitid((idtype_t)P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | WNOWAIT) < 0 &&
		    errno != ECHILD)
			return sl_negerrno();
		r = sl_sandbox_reap(sb, &res);
		if (r < 0 && r != -ECHILD)
			return r;
		sb->reaped = true;
	}
	/* one-shot: the template (the sandbox's mount ns) goes while we remove the cgroups */
	if (sb->rt->one_shot)
		sl_spawner_stop(sb->rt->spawner);
	return sb->cg ? sl_cgroup_destroy(sb->cg) : 0;
}

void sl_sandbox_free(struct sl_sandbox **sb)
{
	struct sl_sandbox *s = *sb;

	if (!s)
		return;
	(void)sl_sandbox_destroy(s);
	sl_shell_free(&s->shell);
	s->cg = NULL;
	sl_closep(&s->pidfd);
	sl_closep(&s->sock);
	sl_closep(&s->netns);
	sl_shellpool_release(s->rt->pool, s->mntns);
	for (int i = 0; i < 3; i++)
		sl_closep(&s->stdio[i]);
	if (s->uid_index < SL_RUNTIME_SANDBOXES)
		uid_release(s->rt, s->uid_index);
	free(s);
	*sb = NULL;
}

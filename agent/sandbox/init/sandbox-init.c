// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-init: the sandbox's pid 1, a small program of its own built without libc (a few
 * pages: starting it costs a fraction of a dynamic or static-glibc binary) and built into the
 * agent (init-exe.h), which the sandbox's child execs as its last set-up step.
 *
 *   argv: "sandlot-init" CMD [ARGS...]    envp: CMD's    fd 3: the report socket (report.h)
 *
 * It starts CMD (vfork-style clone + execve, so exec errors come back as an errno; argv[1]
 * absolute, relative with '/', or searched in envp's PATH, default
 * /usr/local/bin:/usr/bin:/bin) with an empty signal mask and default dispositions, forwards
 * the signals an operator sends (TERM, INT, HUP, QUIT, USR1, USR2, ALRM, WINCH, CONT) to it,
 * reaps every orphan that gets reparented to it, and when CMD exits reports CMD's wait status
 * and exits: with CMD's code, 128+signal, 127 when CMD was not found, 126 when it could not be
 * executed. The kernel then kills whatever is left in the pid namespace.
 *
 * It inherits every signal blocked (the runtime's spawner thread blocks them all) and waits
 * for its own with rt_sigtimedwait. It makes itself non-dumpable: CMD runs as the same uid
 * and must not read or write its memory through /proc/1/mem.
 */
#include "sandbox/clone-vm.h"
#include "sandbox/report.h"

#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/prctl.h>
#include <linux/wait.h>

#define SIG_MAX	     64
#define SIGSET_BYTES 8 /* the kernel's sigset_t */
#define SIG_IGN_H    ((unsigned long)1)
#define SIG_DFL_H    ((unsigned long)0)
#define MSG_NOSIGNAL 0x4000
#define X_OK	     1
#define PATH_MAX     4096
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

enum {
	SIGHUP = 1,
	SIGINT = 2,
	SIGQUIT = 3,
	SIGUSR1 = 10,
	SIGUSR2 = 12,
	SIGALRM = 14,
	SIGTERM = 15,
	SIGCHLD = 17,
	SIGCONT = 18,
	SIGWINCH = 28
};

static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT, SIGUSR1,
				SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};

struct k_sigaction { /* the kernel's, for rt_sigaction on x86_64 */
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long mask;
};

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long rax __asm__("rax") = nr;
	register long rdi __asm__("rdi") = a;
	register long rsi __asm__("rsi") = b;
	register long rdx __asm__("rdx") = c;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "+r"(rax)
			 : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return rax;
}

#define SYS(nr, a, b, c, d) sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

_Noreturn static void exit_now(int code)
{
	for (;;)
		SYS(__NR_exit_group, code, 0, 0, 0);
}

/* The compiler may emit calls to these for struct copies and initialisers. */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

void *memset(void *d, int c, unsigned long n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

static unsigned long str_len(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void report(int kind, int err, int status, const char *step)
{
	struct sl_report r = sl_report_make(kind, err, status, step);

	SYS(__NR_sendto, SL_REPORT_FD, &r, sizeof(r), MSG_NOSIGNAL);
}

static unsigned long sig_bit(int sig)
{
	return 1UL << (sig - 1);
}

static unsigned long wait_set(void)
{
	unsigned long set = sig_bit(SIGCHLD);

	for (unsigned long i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		set |= sig_bit(forwarded[i]);
	return set;
}

static const char *env_path(char *const envp[])
{
	static const char key[] = "PATH=";

	for (unsigned long i = 0; envp[i]; i++) {
		unsigned long k = 0;

		while (k < 5 && envp[i][k] == key[k])
			k++;
		if (k == 5)
			return envp[i] + 5;
	}
	return DEFAULT_PATH;
}

/* Finds name in path like execvp does; 0 with buf filled, or a positive errno. */
static int resolve(const char *name, const char *path, char *buf, unsigned long len)
{
	unsigned long nl = str_len(name);
	int err = ENOENT;

	for (unsigned long i = 0; i < nl; i++)
		if (name[i] == '/')
			return nl < len ? (memcpy(buf, name, nl + 1), 0) : ENAMETOOLONG;
	for (const char *p = path; p;) {
		const char *end = p;
		unsigned long dl;

		while (*end && *end != ':')
			end++;
		dl = (unsigned long)(end - p);
		if (dl + nl + 3 <= len) {
			if (dl)
				memcpy(buf, p, dl);
			else
				buf[dl++] = '.';
			buf[dl] = '/';
			memcpy(buf + dl + 1, name, nl + 1);
			long r = SYS(__NR_access, buf, X_OK, 0, 0);
			if (r == 0)
				return 0;
			if (r == -EACCES)
				err = EACCES;
		}
		p = *end ? end + 1 : 0;
	}
	return err;
}

struct exec_args {
	const char *path;
	char *const *argv;
	char *const *envp;
	int err; /* set by the child when execve fails */
};

/*
 * In the vfork-style child, on its own stack, sharing our memory until it execs: the
 * dispositions we ignore (inherited from the agent) back to default, every signal unblocked.
 */
static int exec_child(void *data)
{
	struct exec_args *a = data;
	struct k_sigaction sa, dfl = {.handler = SIG_DFL_H};
	unsigned long none = 0;

	for (int sig = 1; sig <= SIG_MAX; sig++)
		if (SYS(__NR_rt_sigaction, sig, 0, &sa, SIGSET_BYTES) == 0 &&
		    sa.handler == SIG_IGN_H)
			SYS(__NR_rt_sigaction, sig, &dfl, 0, SIGSET_BYTES);
	SYS(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, SIGSET_BYTES);
	a->err = (int)-SYS(__NR_execve, a->path, a->argv, a->envp, 0);
	return 127;
}

static _Alignas(16) unsigned char child_stack[16384];

static int spawn_cmd(const char *path, char *const argv[], char *const envp[], int *ret)
{
	struct exec_args a = {.path = path, .argv = argv, .envp = envp};
	/* clone, not clone3: seccomp allow-lists, ours too, answer clone3 with ENOSYS */
	long pid = sl_clone_run(SL_NR_CLONE, CLONE_VM | CLONE_VFORK | SIGCHLD,
				(long)(child_stack + sizeof(child_stack)), exec_child, &a);

	if (pid < 0)
		return (int)-pid;
	if (a.err) {
		int st;
		SYS(__NR_wait4, pid, &st, 0, 0);
		return a.err;
	}
	*ret = (int)pid;
	return 0;
}

static int exit_code(int status)
{
	if ((status & 0x7f) == 0)
		return (status >> 8) & 0xff; /* exited */
	return 128 + (status & 0x7f);
}

_Noreturn void sl_init_main(long *sp);

_Noreturn void sl_init_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	unsigned long set = wait_set();
	char path[PATH_MAX];
	int cmd = -1, err;

	SYS(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	SYS(__NR_fcntl, SL_REPORT_FD, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */, 0); /* not CMD's */
	SYS(__NR_prctl, PR_SET_NAME, "sandlot-init", 0, 0);
	if (argc < 2)
		exit_now(125);
	err = resolve(argv[1], env_path(envp), path, sizeof(path));
	if (!err)
		err = spawn_cmd(path, argv + 1, envp, &cmd);
	if (err) {
		report(SL_REPORT_EXEC_FAILED, err, 0, "exec");
		exit_now(err == ENOENT ? 127 : 126);
	}
	for (;;) {
		unsigned char info[128]; /* siginfo_t; si_signo first */
		long sig = SYS(__NR_rt_sigtimedwait, &set, info, 0, SIGSET_BYTES);
		int status;
		long pid;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			SYS(__NR_kill, cmd, sig, 0, 0);
			continue;
		}
		while ((pid = SYS(__NR_wait4, -1, &status, WNOHANG, 0)) > 0) {
			if (pid != cmd)
				continue; /* an orphan: reaped, nothing more */
			report(SL_REPORT_EXITED, 0, status, 0);
			exit_now(exit_code(status));
		}
	}
}

/* The kernel starts us with argc at the stack pointer; the ABI wants it 16-byte aligned at
 * the call (it is at entry) and no frame to return to. */
__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call sl_init_main\n"
	"	ud2\n");

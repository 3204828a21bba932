/* The sandbox's pid 1 (see init.h). */
#include "init.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT, SIGUSR1,
				SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};

void sl_report_send(int fd, enum sl_report_kind kind, int err, int status, const char *step)
{
	struct sl_report r = {.kind = kind, .err = err, .status = status};

	if (step) {
		size_t n = strlen(step);
		if (n >= sizeof(r.step))
			n = sizeof(r.step) - 1;
		memcpy(r.step, step, n);
	}
	(void)!send(fd, &r, sizeof(r), MSG_NOSIGNAL);
}

static void wait_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

void sl_init_block_signals(void)
{
	sigset_t set;

	wait_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static const char *env_path(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return DEFAULT_PATH;
}

/* Finds name in path like execvp does; 0 with buf filled, or a positive errno. */
static int resolve(const char *name, const char *path, char *buf, size_t len)
{
	int err = ENOENT;

	if (strchr(name, '/'))
		return strlen(name) < len ? (memcpy(buf, name, strlen(name) + 1), 0) : ENAMETOOLONG;
	for (const char *p = path; p;) {
		const char *end = strchr(p, ':');
		size_t dl = end ? (size_t)(end - p) : strlen(p), nl = strlen(name);

		if (dl + nl + 2 <= len) {
			memcpy(buf, dl ? p : ".", dl ? dl : 1);
			dl = dl ? dl : 1;
			buf[dl] = '/';
			memcpy(buf + dl + 1, name, nl + 1);
			if (access(buf, X_OK) == 0)
				return 0;
			if (errno == EACCES)
				err = EACCES;
		}
		p = end ? end + 1 : NULL;
	}
	return err;
}

/* The signals we ignore (inherited from the agent): CMD gets them back at their default. */
static void ignored_signals(sigset_t *ret)
{
	sigemptyset(ret);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(ret, sig);
	}
}

struct exec_args {
	const char *path;
	char *const *argv;
	char *const *envp;
	sigset_t ignored;
	int err; /* set by the child when execve fails */
};

/* In the vfork-style child, on its own small stack, sharing our memory until it execs. */
static int exec_child(void *data)
{
	struct exec_args *a = data;
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&a->ignored, sig) == 1)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(a->path, a->argv, a->envp);
	a->err = errno;
	return 127;
}

/*
 * clone(CLONE_VM | CLONE_VFORK) + exec, so that exec errors come back as an errno. Not
 * posix_spawn: glibc's resets every signal in the child one syscall at a time and maps a
 * stack for it, ~50 us per spawn here; exec resets handled signals itself, so only the
 * ignored ones need resetting.
 */
static int spawn_cmd(const char *path, char *const argv[], char *const envp[], pid_t *ret)
{
	static char *const empty_env[] = {NULL};
	struct exec_args a = {.path = path, .argv = argv, .envp = envp ? envp : empty_env};
	char stack[8192] __attribute__((aligned(16))); /* ours is idle until the child execs */
	pid_t pid;

	ignored_signals(&a.ignored);
	pid = clone(exec_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0)
		return errno;
	if (a.err) {
		waitpid(pid, NULL, 0);
		return a.err;
	}
	*ret = pid;
	return 0;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

_noreturn_ void sl_init_run(int report_fd, char *const argv[], char *const envp[])
{
	char path[4096];
	sigset_t set;
	pid_t cmd = -1;
	int err;

	wait_set(&set);
	err = resolve(argv[0], env_path(envp), path, sizeof(path));
	if (!err)
		err = spawn_cmd(path, argv, envp, &cmd);
	if (err) {
		sl_report_send(report_fd, SL_REPORT_EXEC_FAILED, err, 0, "exec");
		_exit(err == ENOENT ? 127 : 126);
	}
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si), status;
		pid_t pid;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != cmd)
				continue; /* an orphan: reaped, nothing more */
			sl_report_send(report_fd, SL_REPORT_EXITED, 0, status, NULL);
			_exit(exit_code(status));
		}
	}
}

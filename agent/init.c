/* The sandbox's pid 1 (see init.h). */
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
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

static int spawn_cmd(const char *path, char *const argv[], char *const envp[], pid_t *ret)
{
	static char *const empty_env[] = {NULL};
	posix_spawnattr_t attr;
	sigset_t none, all;
	int err;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	err = posix_spawn(ret, path, NULL, &attr, argv, envp ? envp : empty_env);
	posix_spawnattr_destroy(&attr);
	return err;
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
	pid_t cmd;
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

// SPDX-License-Identifier: Apache-2.0
#include "bpfscaffold.h"

#include "bpfload/bpf-loader.h"
#include "sandbox/cgroup-host.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define PREFIX "sandlot-test-bpf-"

int sc_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

bool sc_pid_alive(const char *name_after_prefix)
{
	long pid = strtol(name_after_prefix, NULL, 10);

	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void kill_and_rmdir(const char *dir)
{
	char p[1400];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%.1000s/%s", dir, e->d_name);
			kill_and_rmdir(p);
		}
	closedir(d);
	snprintf(p, sizeof(p), "%s/cgroup.kill", dir);
	sl_write_file(p, "1");
	for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(5000);
}

void sc_remove_stale_pins(const char *prefix)
{
	char p[512];
	struct dirent *e;
	DIR *d = opendir("/sys/fs/bpf");

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    !sc_pid_alive(e->d_name + strlen(prefix))) {
			snprintf(p, sizeof(p), "/sys/fs/bpf/%s", e->d_name);
			sl_bpf_destroy_pins(p);
		}
	closedir(d);
}

/* Leftovers of earlier runs of this prefix whose process is gone. */
static void remove_stale(const char *v2_self_dir)
{
	char p[1024];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(v2_self_dir))) {
		while ((e = readdir(d)))
			if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) == 0 &&
			    !sc_pid_alive(e->d_name + strlen(PREFIX))) {
				snprintf(p, sizeof(p), "%.700s/%s", v2_self_dir, e->d_name);
				kill_and_rmdir(p);
			}
		closedir(d);
	}
	sc_remove_stale_pins(PREFIX);
	if ((d = opendir("/run/netns"))) {
		while ((e = readdir(d)))
			if (strncmp(e->d_name, "sl-bpf-", 7) == 0 && !sc_pid_alive(e->d_name + 7))
				sc_sh("ip netns del %s 2>/dev/null", e->d_name);
		closedir(d);
	}
}

static int setup_net(struct sc *sc)
{
	int pid = (int)getpid();
	char path[128];

	snprintf(sc->ns_s, sizeof(sc->ns_s), "sl-bpf-%d-s", pid);
	snprintf(sc->ns_h, sizeof(sc->ns_h), "sl-bpf-%d-h", pid);
	sc->net = true;
	if (sc_sh("ip netns add %s && ip netns add %s", sc->ns_s, sc->ns_h) < 0 ||
	    sc_sh("ip -n %s link add veth0 type veth peer name veth1 netns %s", sc->ns_s,
		  sc->ns_h) < 0 ||
	    sc_sh("ip -n %s addr add %s/24 dev veth0 && ip -n %s addr add %s/64 dev veth0 nodad "
		  "&& ip -n %s link set veth0 up && ip -n %s link set lo up && "
		  "ip -n %s route add default via %s",
		  sc->ns_s, SC_NET_S, sc->ns_s, SC_NET6_S, sc->ns_s, sc->ns_s, sc->ns_s,
		  SC_NET_H) < 0 ||
	    sc_sh("ip -n %s addr add %s/24 dev veth1 && ip -n %s addr add %s/24 dev veth1 && "
		  "ip -n %s addr add %s/24 dev veth1 && ip -n %s addr add %s/64 dev veth1 nodad && "
		  "ip -n %s link set veth1 up && ip -n %s link set lo up",
		  sc->ns_h, SC_NET_H, sc->ns_h, SC_NET_H2, sc->ns_h, SC_NET_B, sc->ns_h, SC_NET6_H,
		  sc->ns_h, sc->ns_h) < 0)
		return -EIO;
	snprintf(path, sizeof(path), "/run/netns/%s", sc->ns_s);
	sc->ns_s_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", sc->ns_h);
	sc->ns_h_fd = open(path, O_RDONLY | O_CLOEXEC);
	sc->ns_self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return sc->ns_s_fd >= 0 && sc->ns_h_fd >= 0 && sc->ns_self_fd >= 0 ? 0 : -errno;
}

int sc_setup(struct sc *sc, bool net)
{
	struct sl_cgroup_host h;
	int r;

	memset(sc, 0, sizeof(*sc));
	sc->ns_s_fd = sc->ns_h_fd = sc->ns_self_fd = -1;
	r = sl_cgroup_host_detect(&h);
	if (r < 0)
		return r;
	if (!h.v2_self_dir[0])
		return -ENOENT;
	remove_stale(h.v2_self_dir);
	snprintf(sc->cg_parent, sizeof(sc->cg_parent), "%.400s/" PREFIX "%d", h.v2_self_dir,
		 (int)getpid());
	snprintf(sc->pin_root, sizeof(sc->pin_root), "/sys/fs/bpf/" PREFIX "%d", (int)getpid());
	if (mkdir(sc->cg_parent, 0755) < 0 && errno != EEXIST)
		return -errno;
	return net ? setup_net(sc) : 0;
}

void sc_teardown(struct sc *sc)
{
	if (sc->cg_parent[0])
		kill_and_rmdir(sc->cg_parent);
	if (sc->pin_root[0])
		sl_bpf_destroy_pins(sc->pin_root);
	if (sc->net)
		sc_sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", sc->ns_s,
		      sc->ns_h);
	sl_closep(&sc->ns_s_fd);
	sl_closep(&sc->ns_h_fd);
	sl_closep(&sc->ns_self_fd);
}

int sc_cgroup_new(struct sc *sc, char *path)
{
	snprintf(path, 512, "%.400s/" PREFIX "%d-%d", sc->cg_parent, (int)getpid(), ++sc->n_cg);
	return mkdir(path, 0755) < 0 ? -errno : 0;
}

int64_t sc_cgroup_usage_usec(const char *path)
{
	char p[600], buf[1024], *s;

	snprintf(p, sizeof(p), "%s/cpu.stat", path);
	if (sl_read_file(p, buf, sizeof(buf)) < 0)
		return -errno;
	s = strstr(buf, "usage_usec ");
	return s ? strtoll(s + 11, NULL, 10) : -ENOENT;
}

pid_t sc_spawn(const char *cgroup, int netns_fd, int (*fn)(void *), void *arg)
{
	struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD};
	_cleanup_close_ int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return -errno;
	args.cgroup = (uint64_t)fd;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
			_exit(126);
		_exit(fn(arg));
	}
	return pid;
}

int sc_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int sc_in_netns(struct sc *sc, int netns_fd, int (*fn)(void *), void *arg)
{
	int r;

	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return -errno;
	r = fn(arg);
	if (setns(sc->ns_self_fd, CLONE_NEWNET) < 0)
		abort();
	return r;
}

static socklen_t make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &in6->sin6_addr);
	return sizeof(*in6);
}

int sc_listen_tcp(int family, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, addr, 0, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -errno;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int sc_connect(int family, const char *addr, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, addr, port, &ss), elen = sizeof(int);
	_cleanup_close_ int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;

	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	if (poll(&p, 1, 2000) != 1)
		return ETIMEDOUT;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	return err;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void sc_burn_cpu_ms(unsigned ms)
{
	uint64_t end = thread_cpu_ns() + (uint64_t)ms * 1000000;
	volatile uint64_t x = 0;

	while (thread_cpu_ns() < end)
		for (int i = 0; i < 20000; i++)
			x += (uint64_t)i;
	(void)x;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Scaffolding for the BPF tests and benchmark, standing in for the sandbox runtime: v2 test
 * cgroups below the agent's own (sandlot-test-bpf-<pid>/sandlot-test-bpf-<pid>-N), processes
 * started inside them with clone3(CLONE_INTO_CGROUP), a pair of network namespaces joined by a
 * veth ("s" for sandboxes, "h" for the test host) and a private bpffs pin root. Everything is
 * named with the pid and removed by sc_teardown(), and leftovers of dead pids by sc_setup().
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SC_NET_S  "10.77.0.1" /* the sandbox side */
#define SC_NET_H  "10.77.0.2" /* the test host */
#define SC_NET_H2 "10.77.0.3" /* a second host address (denied unless allowed) */
#define SC_NET_B  "10.77.0.5" /* "another sandbox's" address, on the host side */
#define SC_NET6_S "fd77::1"
#define SC_NET6_H "fd77::2"

struct sc {
	char cg_parent[512]; /* v2: <agent's cgroup>/sandlot-test-bpf-<pid> */
	char pin_root[128];  /* /sys/fs/bpf/sandlot-test-bpf-<pid> */
	char ns_s[64], ns_h[64];
	int ns_s_fd, ns_h_fd, ns_self_fd;
	int n_cg;
	bool net;
};

/* Creates the cgroup parent and the pin root (and the netns pair when net). 0 or -errno. */
int sc_setup(struct sc *sc, bool net);
/* Kills what runs in the test cgroups, removes cgroups, netns and pins. */
void sc_teardown(struct sc *sc);

/* A new empty cgroup below cg_parent; its path into path (512 bytes). */
int sc_cgroup_new(struct sc *sc, char *path);

/* usage_usec of a v2 cgroup's cpu.stat, or -errno. */
int64_t sc_cgroup_usage_usec(const char *path);

/*
 * Starts fn(arg) in a child placed into cgroup path by clone3(CLONE_INTO_CGROUP), in netns_fd
 * first when >= 0. The child exits with fn's return value. Returns the pid or -errno.
 */
pid_t sc_spawn(const char *cgroup, int netns_fd, int (*fn)(void *), void *arg);

/* Waits for pid; returns its exit code, or 128+signal. */
int sc_wait(pid_t pid);

/* Runs fn(arg) with the calling thread in netns_fd (e.g. to open a server socket there). */
int sc_in_netns(struct sc *sc, int netns_fd, int (*fn)(void *), void *arg);

/* A listening TCP socket on addr (any port), its port into *port. Returns the fd. */
int sc_listen_tcp(int family, const char *addr, uint16_t *port);

/* Non-blocking connect with a 2 s timeout: 0, or the errno it failed with (positive). */
int sc_connect(int family, const char *addr, uint16_t port, int type);

/* Burns CPU in the calling thread until it used ms milliseconds of CPU. */
void sc_burn_cpu_ms(unsigned ms);

/* Runs a shell command (for ip(8)); 0 or -1. */
int sc_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when the decimal pid at the start of name_after_prefix runs (leftover detection). */
bool sc_pid_alive(const char *name_after_prefix);

/* Destroys /sys/fs/bpf/<prefix><pid>... pin trees whose pid no longer runs. */
void sc_remove_stale_pins(const char *prefix);

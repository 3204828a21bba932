// SPDX-License-Identifier: Apache-2.0
/*
 * sandlot-agent run [OPTIONS] -- CMD [ARGS...]: one sandbox, one command, then nothing left.
 * A thin blocking user of sandbox.h: spawn, poll the pidfd (with the timeout and forwarded
 * signals), reap, read the cgroup's figures, destroy.
 */
#include "run/cmd.h"
#include "sandbox/netpool.h"
#include "run/run-net.h"
#include "sandbox/sandbox.h"

#include <sandlot/json.h>
#include <sandlot/log.h>
#include <sandlot/parse.h>
#include <sandlot/time.h>

#include <getopt.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#define MB		   (1ULL << 20)
#define LAMBDA_MB_PER_VCPU 1769 /* Lambda gives one vCPU per 1769 MB of memory */
#define MIN_MEMORY	   (4 * MB)
#define MAX_MEMORY	   (1ULL << 40)
#define MAX_CPUS	   1024.0
#define MAX_PIDS	   4194304
#define MIN_PIDS	   2 /* the sandbox's init and CMD */
#define DEFAULT_KILL_AFTER (5 * SL_NSEC_PER_SEC)
#define EXIT_TIMEOUT	   124 /* as timeout(1) */
#define MAX_TIMEOUT_NS	   (24ULL * 3600 * SL_NSEC_PER_SEC)
#define DEFAULT_PATH	   "PATH=/usr/local/bin:/usr/bin:/bin"
#define EXIT_SETUP	   125

struct run_opts {
	uint64_t memory, pids, tmp, timeout_ns;
	uint64_t kill_after_ns; /* after the timeout's SIGTERM */
	double cpus;		/* < 0: derived from --memory if given, else no cap */
	bool memory_set;	/* --memory was given */
	const char *rootfs, *code;
	char *env[SL_SANDBOX_ENV_MAX + 1];
	size_t n_env;
	bool json;
	bool egress;		   /* --net egress */
	struct sl_netpolicy allow; /* --allow rules */
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: sandlot-agent run [OPTIONS] -- CMD [ARGS...]\n"
		"  --memory SIZE      memory limit (default 128M)\n"
		"  --cpus N           CPU quota in CPUs (default: none; with --memory, memory /\n"
		"                     1769 MB, as Lambda)\n"
		"  --pids N           task limit (default 1024; at least 2: init and CMD)\n"
		"  --timeout DURATION send CMD SIGTERM after this long (default: none), and kill\n"
		"                     everything --kill-after later (exit 124)\n"
		"  --kill-after DURATION  grace after the timeout's SIGTERM (default 5s; 0: "
		"SIGKILL\n"
		"                     at once). Durations: 30, 1.5s, 250ms, 2m, 1m30s\n"
		"  --tmp-size SIZE    size of the writable /tmp (default 64M)\n"
		"  --rootfs DIR       root file system, read-only (default: host /usr, /bin, "
		"/lib*)\n"
		"  --code DIR         mounted read-only at /var/task\n"
		"  --env K=V          environment variable (repeatable)\n"
		"  --net none         own network namespace with only loopback (the default)\n");
	fprintf(f,
		"  --net egress       plus a veth to this host, address from the pool; the BPF\n"
		"                     policy decides what it reaches (no forwarding or NAT is\n"
		"                     set up: reaching past this host is the operator's choice)\n"
		"  --allow RULE       with --net egress: allow CIDR[:PORT[-PORT]][/tcp|udp]\n"
		"                     (repeatable, at most %d; none: all but the always-denied)\n"
		"  --json             print one JSON object with the outcome at exit, with the\n"
		"                     CPU and network counters from BPF\n"
		"  --log-level LEVEL  debug, info, warn, error or off (also before 'run')\n"
		"BPF is used only with --json, --net egress or --allow: an agent's pinned\n"
		"programs when present (fast), else loaded for this run alone (about 0.1 s).\n"
		"Environment: SANDLOT_BPF=off (no BPF; --json takes CPU from cpu.stat; on: the\n"
		"  default), SANDLOT_LOG=LEVEL (as --log-level),\n"
		"  SANDLOT_BPF_PINS=DIR (the agent's pin root, default " SL_BPF_PIN_ROOT "),\n"
		"  SANDLOT_NET_POOL=CIDR (egress pool, default " SL_NETPOOL_DEFAULT ").\n",
		SL_NETPOLICY_MAX_RULES);
	fprintf(f,
		"CMD gets run's stdin, stdout and stderr but no controlling terminal: it runs in\n"
		"a session of its own (Ctrl-C reaches it through run; Ctrl-Z stops only run; a\n"
		"CMD reading a terminal reads it even when run is in the background); TIOCSTI is\n"
		"refused. Nothing else of the caller's: other fds, rlimits, umask, environment.\n");
	fprintf(f,
		"Exit status: CMD's, 128+signal if killed, 124 timed out, 126 CMD not executable,\n"
		"127 CMD not found, 125 sandbox set-up failed (also with --json, which then "
		"prints\n"
		"an object with \"error\" and \"setup_step\"), 2 bad usage. An OOM kill and a\n"
		"timeout are also said on stderr.\n");
}

static int _printf_(1, 2) bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sandlot-agent run: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -EINVAL;
}

static int parse_dir(const char *opt, const char *arg, const char **ret)
{
	struct stat st;

	if (stat(arg, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sandlot-agent run: %s '%s': not a directory\n", opt, arg);
		return -EINVAL;
	}
	*ret = arg;
	return 0;
}

static int parse_env(struct run_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || strnlen(arg, SL_SANDBOX_STRING_MAX) >= SL_SANDBOX_STRING_MAX)
		return bad("--env '%s': expected K=V", arg);
	if (o->n_env >= SL_SANDBOX_ENV_MAX - 1)
		return bad("--env: too many variables (at most %d)", SL_SANDBOX_ENV_MAX - 1);
	o->env[o->n_env++] = arg;
	return 0;
}

static int parse_allow(struct run_opts *o, const char *arg)
{
	char err[SL_NETPOLICY_ERR_MAX];

	if (strnlen(arg, 128) >= 128)
		return bad("--allow '%.32s...': too long (at most 127 characters)", arg);
	if (sl_netpolicy_add(&o->allow, arg, err, sizeof(err)) < 0)
		return bad("--allow '%s': %s", arg, err);
	return 0;
}

static int parse_one(struct run_opts *o, int c, char *arg)
{
	uint64_t v;

	switch (c) {
	case 'm':
		if (sl_parse_size(arg, &v) < 0 || v < MIN_MEMORY || v > MAX_MEMORY)
			return bad("--memory '%s': expected a size from 4M to 1T", arg);
		o->memory = v;
		o->memory_set = true;
		return 0;
	case 'c':
		if (sl_parse_double(arg, MAX_CPUS, &o->cpus) < 0 || o->cpus < 0.01)
			return bad("--cpus '%s': expected a number from 0.01 to 1024", arg);
		return 0;
	case 'p':
		if (sl_parse_u64(arg, MIN_PIDS, MAX_PIDS, &o->pids) < 0)
			return bad("--pids '%s': expected a count from %d (the sandbox's init and "
				   "CMD) to 4194304",
				   arg, MIN_PIDS);
		return 0;
	case 't':
		if (sl_parse_duration(arg, &v) < 0 || v == 0 || v > MAX_TIMEOUT_NS)
			return bad("--timeout '%s': expected a duration up to 24h", arg);
		o->timeout_ns = v;
		return 0;
	case 'K':
		if (sl_parse_duration(arg, &v) < 0 || v > MAX_TIMEOUT_NS)
			return bad("--kill-after '%s': expected a duration up to 24h", arg);
		o->kill_after_ns = v;
		return 0;
	case 'T':
		if (sl_parse_size(arg, &v) < 0 || v < 4096 || v > MAX_MEMORY)
			return bad("--tmp-size '%s': expected a size from 4K to 1T", arg);
		o->tmp = v;
		return 0;
	case 'r':
		return parse_dir("--rootfs", arg, &o->rootfs);
	case 'C':
		return parse_dir("--code", arg, &o->code);
	case 'e':
		return parse_env(o, arg);
	case 'n':
		if (strcmp(arg, "none") != 0 && strcmp(arg, "egress") != 0)
			return bad("--net '%s': expected 'none' or 'egress'", arg);
		o->egress = strcmp(arg, "egress") == 0;
		return 0;
	case 'a':
		return parse_allow(o, arg);
	case 'j':
		o->json = true;
		return 0;
	}
	return -EINVAL;
}

/* The sandbox's bounds on CMD (sandbox.h), checked here so that they are usage errors. */
static int check_cmd(int n, char **cmd)
{
	if (!cmd[0][0])
		return bad("%s", "CMD is an empty string");
	if (n > SL_SANDBOX_ARGS_MAX)
		return bad("CMD has %d arguments (at most %d)", n, SL_SANDBOX_ARGS_MAX);
	for (int i = 0; i < n; i++)
		if (strnlen(cmd[i], SL_SANDBOX_STRING_MAX) >= SL_SANDBOX_STRING_MAX)
			return bad("CMD argument %d is too long (at most %d bytes)", i,
				   SL_SANDBOX_STRING_MAX - 1);
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL (message printed). */
static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"cpus", required_argument, NULL, 'c'},
		{"pids", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"kill-after", required_argument, NULL, 'K'},
		{"tmp-size", required_argument, NULL, 'T'},
		{"rootfs", required_argument, NULL, 'r'},
		{"code", required_argument, NULL, 'C'},
		{"env", required_argument, NULL, 'e'},
		{"net", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"allow", required_argument, NULL, 'a'},
		{"log-level", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	opterr = 0;
	/* '+': stop at CMD even without "--"; ':': a missing value is ':' */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == ':')
			return bad("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			return bad("unknown option '%s'", argv[optind - 1]);
		if (c == 'L' && sl_cmd_log_level("--log-level", optarg) < 0)
			return -EINVAL;
		if (c == 'L')
			continue;
		if (parse_one(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind >= argc)
		return bad("%s", "missing CMD (sandlot-agent run [OPTIONS] -- CMD [ARGS...])");
	if (check_cmd(argc - optind, argv + optind) < 0)
		return -EINVAL;
	if (o->allow.n_rules && !o->egress)
		return bad("--allow needs --net egress (with --net none there is only loopback)");
	return 0;
}

static void build_env(struct run_opts *o)
{
	bool has_path = false;

	for (size_t i = 0; i < o->n_env; i++)
		has_path |= strncmp(o->env[i], "PATH=", 5) == 0;
	if (!has_path)
		o->env[o->n_env++] = (char *)DEFAULT_PATH;
	o->env[o->n_env] = NULL;
}

/* Blocks the signals we forward and returns a signalfd for them. */
static int forward_signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* How the timeout went: not reached, CMD got SIGTERM, then everything SIGKILL. */
enum timeout_stage { TIMEOUT_NONE, TIMEOUT_TERM, TIMEOUT_KILL };

/*
 * Waits for the sandbox to end, forwarding signals and enforcing the timeout: SIGTERM to CMD
 * (through the init) at the timeout, SIGKILL to every process kill_after_ns later.
 */
static int wait_sandbox(struct sl_sandbox *sb, const struct run_opts *o, int sigfd,
			enum timeout_stage *stage, struct sl_sandbox_result *res)
{
	uint64_t deadline = o->timeout_ns ? sl_now_ns() + o->timeout_ns : 0;
	int r;

	while ((r = sl_sandbox_reap(sb, res)) == -EAGAIN) {
		struct pollfd p[2] = {{.fd = sl_sandbox_pidfd(sb), .events = POLLIN},
				      {.fd = sigfd, .events = POLLIN}};
		int ms = -1;

		if (deadline) {
			uint64_t now = sl_now_ns();
			if (now >= deadline) {
				if (*stage == TIMEOUT_NONE && o->kill_after_ns) {
					*stage = TIMEOUT_TERM;
					deadline = now + o->kill_after_ns;
					(void)sl_sandbox_signal(sb, SIGTERM);
				} else {
					*stage = TIMEOUT_KILL;
					deadline = 0;
					(void)sl_sandbox_kill(sb);
				}
				continue;
			}
			ms = (int)((deadline - now + SL_NSEC_PER_MSEC - 1) / SL_NSEC_PER_MSEC);
		}
		if (poll(p, sigfd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
			return sl_negerrno();
		struct signalfd_siginfo si;
		if (sigfd >= 0 && (p[1].revents & POLLIN) && read(sigfd, &si, sizeof(si)) > 0)
			(void)sl_sandbox_signal(sb, (int)si.ssi_signo);
	}
	return r;
}

/* BPF's figures (k NULL: no BPF: CPU from cpu.stat, network counters null). */
static void json_bpf(json_t *o, const struct sl_bpf_stats *k)
{
	static const char *const net[] = {"rx_bytes",	"tx_bytes",	   "rx_packets",
					  "tx_packets", "denied_connects", "dropped_packets"};
	const uint64_t v[] = {k ? k->rx_bytes : 0,	  k ? k->tx_bytes : 0,
			      k ? k->rx_packets : 0,	  k ? k->tx_packets : 0,
			      k ? k->denied_connects : 0, k ? k->dropped_packets : 0};

	for (size_t i = 0; i < ARRAY_SIZE(net); i++)
		json_object_set_new(o, net[i], k ? json_integer((json_int_t)v[i]) : json_null());
	if (k)
		sl_json_set_real(o, "cpu_seconds", (double)k->cpu_ns / 1e9);
	sl_json_set_str(o, "cpu_source", k ? "bpf" : "cgroup");
}

/* What went wrong, for the one line on stderr and --json's "error" (NULL: nothing). */
static const char *error_text(const char *cmd, const struct sl_sandbox_result *res, char *buf,
			      size_t len)
{
	if (res->setup_err)
		snprintf(buf, len, "sandbox set-up failed at '%s': %s", res->setup_step,
			 strerror(-res->setup_err));
	else if (res->exec_err == ENOENT)
		snprintf(buf, len, "%s: command not found in the sandbox", cmd);
	else if (res->exec_err)
		snprintf(buf, len, "%s: cannot execute: %s", cmd, strerror(res->exec_err));
	else
		return NULL;
	return buf;
}

static void print_json(struct sl_sandbox *sb, const struct sl_sandbox_result *res,
		       const struct sl_cgroup_stats *st, uint64_t wall_ns, bool timed_out,
		       const struct sl_bpf_stats *k, const char *err)
{
	json_t *o = json_object();

	sl_json_set_str(o, "sandbox_id", sl_sandbox_id(sb));
	sl_json_set_int(o, "exit_code", res->exit_code);
	sl_json_set_int(o, "signal", res->signal);
	sl_json_set_real(o, "wall_seconds", sl_ns_to_sec(wall_ns));
	sl_json_set_real(o, "cpu_seconds", (double)st->cpu_usec / 1e6);
	sl_json_set_int(o, "peak_memory_bytes", (long long)st->memory_peak_bytes);
	sl_json_set_bool(o, "oom_killed", st->oom_kills > 0);
	sl_json_set_bool(o, "timed_out", timed_out);
	json_bpf(o, k);
	sl_json_set_str(o, "error", err);
	sl_json_set_str(o, "setup_step", res->setup_err ? res->setup_step : NULL);
	sl_json_print(stdout, o, false);
}

/*
 * A set-up failure before there was a sandbox to reap (runtime, BPF, spawn): one line on
 * stderr, and with --json an object saying so. Returns the exit status, 125.
 */
static int setup_failed(const struct run_opts *o, const char *step, int err)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "sandbox set-up failed at '%s': %s%s%s%s", step, strerror(-err),
		 o->rootfs ? " (--rootfs '" : "", o->rootfs ? o->rootfs : "",
		 o->rootfs ? "')" : "");
	fprintf(stderr, "sandlot-agent run: %s\n", msg);
	if (o->json) {
		json_t *j = json_object();

		sl_json_set_str(j, "sandbox_id", NULL);
		sl_json_set_int(j, "exit_code", EXIT_SETUP);
		sl_json_set_str(j, "error", msg);
		sl_json_set_str(j, "setup_step", step);
		sl_json_print(stdout, j, false);
	}
	return EXIT_SETUP;
}

static void print_timeout(const struct run_opts *o, enum timeout_stage stage)
{
	fprintf(stderr, "sandlot-agent run: timed out after %gs: ", sl_ns_to_sec(o->timeout_ns));
	if (stage == TIMEOUT_KILL && o->kill_after_ns)
		fprintf(stderr, "sent SIGTERM, then SIGKILL %gs later\n",
			sl_ns_to_sec(o->kill_after_ns));
	else
		fprintf(stderr, "sent %s\n", stage == TIMEOUT_KILL ? "SIGKILL" : "SIGTERM");
}

/* One line on stderr for what CMD's status alone does not say; returns run's exit status. */
static int report(const struct run_opts *o, const struct sl_sandbox_result *res,
		  const struct sl_cgroup_stats *st, enum timeout_stage stage, const char *err)
{
	if (err)
		fprintf(stderr, "sandlot-agent run: %s\n", err);
	if (st->oom_kills && !o->json)
		fprintf(stderr,
			"sandlot-agent run: out of memory: %llu process%s killed at the %llu MiB "
			"limit\n",
			(unsigned long long)st->oom_kills, st->oom_kills == 1 ? "" : "es",
			(unsigned long long)(o->memory / MB));
	if (stage != TIMEOUT_NONE && !o->json)
		print_timeout(o, stage);
	if (res->setup_err)
		return EXIT_SETUP;
	return stage != TIMEOUT_NONE ? EXIT_TIMEOUT : res->exit_code;
}

/* BPF and egress for this run, when the options need them (else *ret stays NULL). */
static int run_net(const struct run_opts *o, struct sl_runnet **ret)
{
	const char *bpf = getenv("SANDLOT_BPF");
	struct sl_runnet_opts no = {
		.accounting = o->json,
		.egress = o->egress,
		.policy = o->allow.n_rules ? &o->allow : NULL,
		.no_bpf = bpf && strcmp(bpf, "off") == 0,
		.pin_root = getenv("SANDLOT_BPF_PINS"),
		.pool = getenv("SANDLOT_NET_POOL"),
	};
	int r;

	if (!sl_runnet_needed(&no))
		return 0;
	r = sl_runnet_new(ret, &no);
	if (r < 0)
		return r;
	if (o->json && sl_runnet_bpf_mode(*ret) == SL_RUNNET_BPF_NONE && no.no_bpf)
		sl_warn("BPF disabled (SANDLOT_BPF=off): cpu_seconds from cpu.stat, network "
			"counters null");
	else if (o->json && sl_runnet_bpf_mode(*ret) == SL_RUNNET_BPF_NONE)
		sl_log_warn_err(sl_runnet_bpf_error(*ret),
				"BPF accounting unavailable: cpu_seconds from cpu.stat, network "
				"counters null");
	return 0;
}

/* Waits for sb, then takes its figures and removes it. Returns 0 or -errno (*step: where). */
static int finish(struct sl_sandbox *sb, const struct run_opts *o, int sigfd,
		  enum timeout_stage *stage, struct sl_sandbox_result *res,
		  struct sl_cgroup_stats *st, const char **step)
{
	int r = wait_sandbox(sb, o, sigfd, stage, res);

	if (r < 0)
		return *step = "wait for the sandbox", r;
	(void)sl_sandbox_stats(sb, st); /* an OOM kill is reported with or without --json */
	*step = "remove the sandbox";
	return sl_sandbox_destroy(sb);
}

static int run(struct run_opts *o, char **cmd)
{
	struct sl_runtime_opts ro = {.rootfs = o->rootfs, .one_shot = true};
	struct sl_sandbox_config cfg = {
		.argv = cmd,
		.envp = o->env,
		.memory_bytes = o->memory,
		.cpu_millis = (uint32_t)(o->cpus * 1000.0 + 0.5),
		.pids_max = o->pids,
		.tmp_bytes = o->tmp,
		.code_dir = o->code,
		.stdio = {0, 1, 2},
	};
	struct sl_runtime *rt = NULL;
	struct sl_sandbox *sb = NULL;
	struct sl_sandbox_result res = {0};
	struct sl_cgroup_stats st = {0};
	struct sl_runnet *net = NULL;
	struct sl_bpf_stats k;
	int have_k = 0;
	_cleanup_close_ int sigfd = forward_signals_fd();
	enum timeout_stage stage = TIMEOUT_NONE;
	char ebuf[SL_SANDBOX_STRING_MAX + 128];
	const char *err, *step = NULL;
	uint64_t start;
	int r;

	r = sl_runtime_new(&rt, &ro);
	if (r < 0)
		return setup_failed(o, "runtime", r);
	r = run_net(o, &net);
	if (r < 0) {
		sl_runtime_free(&rt);
		return setup_failed(o, "network and BPF", r);
	}
	cfg.hook = net ? sl_runnet_hook : NULL;
	cfg.hook_data = net;
	start = sl_now_ns(); /* wall_seconds: from spawn to exit, runtime set-up excluded */
	r = sl_sandbox_spawn(rt, &cfg, &sb);
	/* stale sandboxes of dead agents: removed while ours starts (one-shot runtime) */
	int sr = sl_runtime_sweep(rt);
	if (sr < 0)
		sl_log_warn_err(sr, "stale sandboxes");
	if (r >= 0)
		r = finish(sb, o, sigfd, &stage, &res, &st, &step);
	uint64_t wall = sl_now_ns() - start;
	if (r >= 0 && net)
		have_k = sl_runnet_finish(net, &k);
	sl_runnet_free(&net);
	if (r < 0) {
		r = setup_failed(o, sb ? step : "spawn", r);
		sl_sandbox_free(&sb);
		sl_runtime_free(&rt);
		return r;
	}
	if (have_k < 0)
		sl_log_warn_err(have_k, "reading the sandbox's BPF counters");
	err = error_text(cmd[0], &res, ebuf, sizeof(ebuf));
	if (o->json)
		print_json(sb, &res, &st, wall, stage != TIMEOUT_NONE, have_k > 0 ? &k : NULL, err);
	sl_sandbox_free(&sb);
	sl_runtime_free(&rt);
	return report(o, &res, &st, stage, err);
}

int sl_cmd_run(int argc, char **argv)
{
	struct run_opts o = {.memory = 128 * MB, .cpus = -1, .kill_after_ns = DEFAULT_KILL_AFTER};
	int r = parse_args(argc, argv, &o);

	if (r == 1) {
		run_usage(stdout);
		return SL_EXIT_OK;
	}
	if (r < 0)
		return SL_EXIT_USAGE;
	if (o.cpus < 0) /* a command, not a function: capped only when asked (0: no quota) */
		o.cpus = o.memory_set ? (double)(o.memory / MB) / LAMBDA_MB_PER_VCPU : 0;
	build_env(&o);
	return run(&o, argv + optind);
}

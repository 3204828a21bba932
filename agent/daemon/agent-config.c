// SPDX-License-Identifier: Apache-2.0
#include "daemon/agent-config.h"

#include <sandlot/parse.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <sys/sysinfo.h>

#define MAX_SANDBOXES_LIMIT 4096

void sl_agent_config_defaults(struct sl_agent_config *c)
{
	struct sysinfo si;
	char host[256] = "";

	memset(c, 0, sizeof(*c));
	snprintf(c->control, sizeof(c->control), "tcp://127.0.0.1:7400");
	snprintf(c->listen, sizeof(c->listen), "tcp://0.0.0.0:7401");
	snprintf(c->http, sizeof(c->http), "127.0.0.1:7481");
	if (gethostname(host, sizeof(host) - 1) < 0 || sl_validate_name(host) < 0)
		snprintf(host, sizeof(host), "agent");
	snprintf(c->name, sizeof(c->name), "%.*s", (int)sizeof(c->name) - 1, host); /* validated */
	snprintf(c->zone, sizeof(c->zone), "default");
	snprintf(c->region, sizeof(c->region), "us-east-1");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/sandlot/agent");
	snprintf(c->key_file, sizeof(c->key_file), "/etc/sandlot/cluster.key");
	snprintf(c->bpf_pin_root, sizeof(c->bpf_pin_root), "/sys/fs/bpf/sandlot");
	/* offer three quarters of the host's memory to sandboxes */
	c->memory_capacity =
		sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit / 4 * 3 : 1ULL << 30;
	c->max_sandboxes = 256;
	c->keep_alive_ns = 600 * SL_NSEC_PER_SEC;
	c->idle_threshold_ns = 50 * SL_NSEC_PER_MSEC;
	c->init_cpu_millis = 1000;
}

int sl_validate_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SL_AGENT_NAME_MAX)
		return -EINVAL;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return -EINVAL;
	return 0;
}

static int validate_port(const char *p)
{
	uint64_t port;

	return sl_parse_u64(p, 1, 65535, &port);
}

/* "HOST:PORT" or "[IPV6]:PORT": the host (without brackets) into host, *ret_port past the ':'. */
static int split_host_port(const char *s, char *host, size_t len, const char **ret_port)
{
	const char *colon;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= len)
			return -EINVAL;
		snprintf(host, len, "%.*s", (int)(end - s - 1), s + 1);
		*ret_port = end + 2;
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= len)
		return -EINVAL;
	snprintf(host, len, "%.*s", (int)(colon - s), s);
	*ret_port = colon + 1;
	return 0;
}

int sl_validate_host_port(const char *s)
{
	char host[SL_AGENT_ADDR_MAX + 1];
	const char *port;
	unsigned char buf[16];

	if (strlen(s) > SL_AGENT_ADDR_MAX || split_host_port(s, host, sizeof(host), &port) < 0)
		return -EINVAL;
	if (s[0] == '[')
		return inet_pton(AF_INET6, host, buf) == 1 ? validate_port(port) : -EINVAL;
	return inet_pton(AF_INET, host, buf) == 1 ? validate_port(port) : -EINVAL;
}

/* A host name (or, when star, "*": any address) and a port: [A-Za-z0-9.-], at most 253. */
static int validate_name_port(const char *s, bool star)
{
	char host[SL_AGENT_ADDR_MAX + 1];
	const char *port;

	if (s[0] == '[' || split_host_port(s, host, sizeof(host), &port) < 0 || !host[0] ||
	    strlen(host) > 253 || host[0] == '-' || validate_port(port) < 0)
		return -EINVAL;
	if (star && strcmp(host, "*") == 0)
		return 0;
	for (const char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return -EINVAL;
	return 0;
}

int sl_validate_host_name_port(const char *s)
{
	if (strlen(s) > SL_AGENT_ADDR_MAX)
		return -EINVAL;
	return sl_validate_host_port(s) == 0 ? 0 : validate_name_port(s, false);
}

int sl_validate_nn_endpoint(const char *s)
{
	if (strlen(s) > SL_AGENT_ADDR_MAX)
		return -EINVAL;
	if (strncmp(s, "ipc:///", 7) == 0)
		return s[7] ? 0 : -EINVAL;
	if (strncmp(s, "tcp://", 6) != 0)
		return -EINVAL;
	s += 6;
	/* nanomsg also takes host names for connect (sl_agent_config_resolve makes them
	 * addresses for bind) */
	return sl_validate_host_port(s) == 0 ? 0 : validate_name_port(s, true);
}

void sl_agent_config_usage(FILE *f)
{
	fprintf(f,
		"Usage: sandlot-agent [OPTIONS]          run the worker agent daemon\n"
		"  --control ENDPOINT      control node to register with (tcp://127.0.0.1:7400)\n"
		"  --listen ENDPOINT       nanomsg endpoint for commands (tcp://0.0.0.0:7401)\n"
		"  --advertise ENDPOINT    endpoint the control node connects to (--listen, "
		"0.0.0.0 ->\n"
		"                          127.0.0.1)\n"
		"  --region REGION         AWS_REGION inside sandboxes (us-east-1)\n"
		"  --http HOST:PORT        local HTTP API: /healthz, /metrics, JSON "
		"(127.0.0.1:7481)\n"
		"  --name NAME             this host's name (hostname)\n"
		"  --zone ZONE             placement zone (default)\n"
		"  --memory-capacity SIZE  memory offered to sandboxes (3/4 of RAM)\n"
		"  --max-sandboxes N       at most N sandboxes at once (256, at most %d)\n"
		"  --state-dir DIR         code cache and runtime state (/var/lib/sandlot/agent)\n"
		"  --keep-alive DURATION   destroy warm sandboxes idle this long (10m)\n"
		"  --idle-threshold DUR    no CPU or network this long = idle (50ms)\n"
		"  --init-cpus N           CPU quota of a sandbox until its runtime's first next\n"
		"                          (1; 0: memory / 1769 MB from the start, as after it)\n"
		"  --key-file FILE         cluster key for message MACs "
		"(/etc/sandlot/cluster.key)\n"
		"  --bpf-pin-root DIR      pinned BPF maps and links, kept across restarts\n"
		"                          (/sys/fs/bpf/sandlot)\n"
		"  --log-level LEVEL       debug, info, warn, error or off (info)\n",
		MAX_SANDBOXES_LIMIT);
}

_printf_(3, 4) static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int copy_opt(char *dst, size_t len, const char *val, const char *opt, char *err,
		    size_t errlen)
{
	if (strlen(val) >= len)
		return bad(err, errlen, "--%s: value too long (at most %zu bytes)", opt, len - 1);
	snprintf(dst, len, "%s", val);
	return 0;
}

static int parse_one(struct sl_agent_config *c, int opt, const char *name, const char *val,
		     char *err, size_t errlen)
{
	uint64_t v;
	double d;
	int r;

	switch (opt) {
	case 'c':
	case 'L':
		if (sl_validate_nn_endpoint(val) < 0)
			return bad(err, errlen, "--%s: '%s' is not tcp://HOST:PORT or ipc:///PATH",
				   name, val);
		return copy_opt(opt == 'c' ? c->control : c->listen, sizeof(c->control), val, name,
				err, errlen);
	case 'A':
		if (sl_validate_nn_endpoint(val) < 0 || strchr(val, '*') || strstr(val, "0.0.0.0"))
			return bad(err, errlen,
				   "--advertise: '%s' is not a reachable tcp://HOST:PORT or "
				   "ipc:///PATH",
				   val);
		return copy_opt(c->advertise, sizeof(c->advertise), val, name, err, errlen);
	case 'R':
		if (sl_validate_name(val) < 0)
			return bad(err, errlen, "--region: '%s' must be 1-%d of [A-Za-z0-9._-]",
				   val, SL_AGENT_NAME_MAX);
		return copy_opt(c->region, sizeof(c->region), val, name, err, errlen);
	case 'H':
		if (sl_validate_host_name_port(val) < 0)
			return bad(err, errlen, "--http: '%s' is not HOST:PORT", val);
		return copy_opt(c->http, sizeof(c->http), val, name, err, errlen);
	case 'n':
	case 'z':
		if (sl_validate_name(val) < 0)
			return bad(err, errlen, "--%s: '%s' must be 1-%d of [A-Za-z0-9._-]", name,
				   val, SL_AGENT_NAME_MAX);
		return copy_opt(opt == 'n' ? c->name : c->zone, sizeof(c->name), val, name, err,
				errlen);
	case 's':
		return copy_opt(c->state_dir, sizeof(c->state_dir), val, name, err, errlen);
	case 'k':
		return copy_opt(c->key_file, sizeof(c->key_file), val, name, err, errlen);
	case 'P':
		if (strncmp(val, "/sys/fs/bpf/", 12) != 0 || strstr(val, "/..") || !val[12])
			return bad(err, errlen,
				   "--bpf-pin-root: '%s' is not a directory below /sys/fs/bpf/",
				   val);
		return copy_opt(c->bpf_pin_root, sizeof(c->bpf_pin_root), val, name, err, errlen);
	case 'm':
		if (sl_parse_size(val, &v) < 0 || v < (16ULL << 20))
			return bad(err, errlen,
				   "--memory-capacity: '%s' is not a size of 16M or more", val);
		c->memory_capacity = v;
		return 0;
	case 'x':
		if (sl_parse_u64(val, 1, MAX_SANDBOXES_LIMIT, &v) < 0)
			return bad(err, errlen,
				   "--max-sandboxes: '%s' is not a number from 1 to %d", val,
				   MAX_SANDBOXES_LIMIT);
		c->max_sandboxes = (unsigned)v;
		return 0;
	case 'C':
		if (sl_parse_double(val, 1024, &d) < 0)
			return bad(err, errlen, "--init-cpus: '%s' is not a number from 0 to 1024",
				   val);
		c->init_cpu_millis = (uint32_t)(d * 1000.0 + 0.5);
		return 0;
	case 'a':
	case 'i':
		r = sl_parse_duration(val, &v);
		if (r < 0 || v == 0 || (opt == 'i' && v > 60 * SL_NSEC_PER_SEC))
			return bad(err, errlen, "--%s: '%s' is not a duration%s", name, val,
				   opt == 'i' ? " from 1ms to 60s" : " (e.g. 10m, 90s)");
		if (opt == 'i' && v < SL_NSEC_PER_MSEC)
			return bad(err, errlen, "--idle-threshold: '%s' is below 1ms", val);
		*(opt == 'a' ? &c->keep_alive_ns : &c->idle_threshold_ns) = v;
		return 0;
	}
	return bad(err, errlen, "unknown option");
}

int sl_agent_config_parse(struct sl_agent_config *c, int argc, char **argv, char *err,
			  size_t errlen)
{
	static const struct option opts[] = {
		{"control", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'L'},
		{"http", required_argument, NULL, 'H'},
		{"advertise", required_argument, NULL, 'A'},
		{"region", required_argument, NULL, 'R'},
		{"name", required_argument, NULL, 'n'},
		{"zone", required_argument, NULL, 'z'},
		{"state-dir", required_argument, NULL, 's'},
		{"key-file", required_argument, NULL, 'k'},
		{"bpf-pin-root", required_argument, NULL, 'P'},
		{"memory-capacity", required_argument, NULL, 'm'},
		{"max-sandboxes", required_argument, NULL, 'x'},
		{"keep-alive", required_argument, NULL, 'a'},
		{"idle-threshold", required_argument, NULL, 'i'},
		{"init-cpus", required_argument, NULL, 'C'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int opt, idx = 0, r;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?')
			return bad(err, errlen, "unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			return bad(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		if (opt == 'l')
			continue; /* handled by main() */
		r = parse_one(c, opt, opts[idx].name, optarg, err, errlen);
		if (r < 0)
			return r;
		idx = 0;
	}
	if (optind < argc)
		return bad(err, errlen, "unexpected argument '%s'", argv[optind]);
	sl_agent_config_finish(c);
	return 0;
}

void sl_agent_config_finish(struct sl_agent_config *c)
{
	const char *any;

	if (c->advertise[0])
		return;
	any = strstr(c->listen, "0.0.0.0");
	if (any)
		snprintf(c->advertise, sizeof(c->advertise), "%.*s127.0.0.1%s",
			 (int)(any - c->listen), c->listen, any + 7);
	else if ((any = strstr(c->listen, "://*:")))
		snprintf(c->advertise, sizeof(c->advertise), "%.*s://127.0.0.1%s",
			 (int)(any - c->listen), c->listen, any + 4);
	else
		snprintf(c->advertise, sizeof(c->advertise), "%s", c->listen);
}

/*
 * The host of option opt's value val ("HOST:PORT", after "tcp://") must resolve. nanomsg
 * connects to a name over IPv4 only (NN_IPV4ONLY, lib/link.c), so its first IPv4 address is
 * what counts; with rewrite, val (vallen bytes) gets that address in place of the name, for a
 * bind. Literal addresses, '*' and ipc:// pass as they are.
 */
static int resolve_opt(const char *opt, char *val, size_t vallen, bool rewrite, char *err,
		       size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char host[SL_AGENT_ADDR_MAX + 1], addr[INET_ADDRSTRLEN], out[SL_AGENT_ADDR_MAX + 1];
	const char *hp = strncmp(val, "tcp://", 6) == 0 ? val + 6 : val, *port;
	unsigned char buf[16];
	int r, n;

	if (strncmp(val, "ipc://", 6) == 0 || split_host_port(hp, host, sizeof(host), &port) < 0 ||
	    hp[0] == '[' || strcmp(host, "*") == 0 || inet_pton(AF_INET, host, buf) == 1)
		return 0; /* nothing to resolve (the value was validated when parsed) */
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0)
		return bad(err, errlen, "--%s %s: cannot resolve '%s' to an IPv4 address: %s", opt,
			   val, host, r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
	freeaddrinfo(res);
	if (!rewrite)
		return 0;
	n = snprintf(out, sizeof(out), "%.*s%s:%s", (int)(hp - val), val, addr, port);
	if (n < 0 || (size_t)n >= vallen || (size_t)n >= sizeof(out))
		return bad(err, errlen, "--%s %s: its address makes it too long", opt, val);
	snprintf(val, vallen, "%s", out);
	return 0;
}

int sl_agent_config_resolve(struct sl_agent_config *c, char *err, size_t errlen)
{
	return resolve_opt("control", c->control, sizeof(c->control), false, err, errlen)
		       ?: resolve_opt("listen", c->listen, sizeof(c->listen), true, err, errlen)
		       ?: resolve_opt("advertise", c->advertise, sizeof(c->advertise), false, err,
				      errlen)
		       ?: resolve_opt("http", c->http, sizeof(c->http), true, err, errlen);
}

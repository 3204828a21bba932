// SPDX-License-Identifier: Apache-2.0
/* sandlot-control's options (see config.h). */
#include "config.h"

#include <sandlot/http.h>
#include <sandlot/log.h>
#include <sandlot/parse.h>
#include <sandlot/time.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_HTTP = 256,
	OPT_LISTEN,
	OPT_DATA,
	OPT_KEY_FILE,
	OPT_ACCESS_KEYS,
	OPT_REGION,
	OPT_HEARTBEAT_TIMEOUT,
	OPT_LEASE,
	OPT_SHUTDOWN_GRACE,
	OPT_ACCOUNT_CONCURRENCY,
	OPT_LOG_LEVEL,
	OPT_RETRY_DELAY_SCALE,
};

void sl_ctl_config_defaults(struct sl_ctl_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->http, sizeof(c->http), "127.0.0.1:7480");
	snprintf(c->listen, sizeof(c->listen), "tcp://0.0.0.0:7400");
	snprintf(c->data, sizeof(c->data), "/var/lib/sandlot/control");
	snprintf(c->key_file, sizeof(c->key_file), "/etc/sandlot/cluster.key");
	snprintf(c->access_keys, sizeof(c->access_keys), "/etc/sandlot/access-keys");
	snprintf(c->region, sizeof(c->region), "us-east-1");
	c->heartbeat_timeout_ns = 3 * SL_NSEC_PER_SEC;
	c->lease_ns = 8 * 3600 * SL_NSEC_PER_SEC;
	c->shutdown_grace_ns = 30 * SL_NSEC_PER_SEC;
	c->account_concurrency = 1000;
	c->retry_delay_scale = 1;
}

void sl_ctl_config_usage(FILE *f)
{
	fputs("Usage: sandlot-control [OPTIONS]\n"
	      "  --http IP:PORT             Lambda API (default 127.0.0.1:7480)\n"
	      "  --listen ENDPOINT          where agents connect (default tcp://0.0.0.0:7400)\n"
	      "  --data DIR                 state: the SQLite store (default "
	      "/var/lib/sandlot/control)\n"
	      "  --key-file FILE            cluster key shared with the agents\n"
	      "                             (default /etc/sandlot/cluster.key)\n"
	      "  --access-keys FILE         'ACCOUNT_ID ACCESS_KEY_ID SECRET' lines, mode 600\n"
	      "                             (default /etc/sandlot/access-keys)\n"
	      "  --region REGION            region in ARNs (default us-east-1)\n"
	      "  --heartbeat-timeout DUR    a silent agent is dead after this (default 3s)\n"
	      "  --lease DUR                agents are drained after this (default 8h)\n"
	      "  --shutdown-grace DUR       SIGTERM: in-flight invocations get this (default 30s)\n"
	      "  --account-concurrency N    per-account concurrency limit (default 1000)\n"
	      "  --log-level LEVEL          debug, info, warn, error, off (default info)\n"
	      "  --retry-delay-scale X      async retry delays times X, 0.0001..1 (default 1)\n",
	      f);
}

static int copy_opt(char *dst, size_t size, const char *v)
{
	if (!*v || strlen(v) >= size)
		return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int valid_endpoint(const char *s)
{
	if (strncmp(s, "ipc://", 6) == 0)
		return s[6] == '/' ? 0 : -EINVAL;
	if (strncmp(s, "tcp://", 6) == 0 && strchr(s + 6, ':'))
		return 0;
	return -EINVAL;
}

static int duration(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t ns;
	int r = sl_parse_duration(v, &ns);

	if (r < 0 || ns < min || ns > max)
		return -EINVAL;
	*ret = ns;
	return 0;
}

static int apply(struct sl_ctl_config *c, int opt, const char *v)
{
	struct sockaddr_storage ss;
	uint64_t n;

	switch (opt) {
	case OPT_HTTP:
		if (sl_http_parse_addr(v, &ss) < 0)
			return -EINVAL;
		return copy_opt(c->http, sizeof(c->http), v);
	case OPT_LISTEN:
		if (valid_endpoint(v) < 0)
			return -EINVAL;
		return copy_opt(c->listen, sizeof(c->listen), v);
	case OPT_DATA:
		return copy_opt(c->data, sizeof(c->data), v);
	case OPT_KEY_FILE:
		return copy_opt(c->key_file, sizeof(c->key_file), v);
	case OPT_ACCESS_KEYS:
		return copy_opt(c->access_keys, sizeof(c->access_keys), v);
	case OPT_REGION:
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
				return -EINVAL;
		return copy_opt(c->region, sizeof(c->region), v);
	case OPT_HEARTBEAT_TIMEOUT: /* the agent heartbeats at a third of it, >= 100 ms */
		return duration(v, 300 * SL_NSEC_PER_MSEC, 180 * SL_NSEC_PER_SEC,
				&c->heartbeat_timeout_ns);
	case OPT_LEASE:
		return duration(v, SL_NSEC_PER_SEC, 30 * 24 * 3600 * SL_NSEC_PER_SEC, &c->lease_ns);
	case OPT_SHUTDOWN_GRACE:
		return duration(v, 0, 900 * SL_NSEC_PER_SEC, &c->shutdown_grace_ns);
	case OPT_ACCOUNT_CONCURRENCY:
		if (sl_parse_u64(v, 1, 1000000, &n) < 0)
			return -EINVAL;
		c->account_concurrency = (uint32_t)n;
		return 0;
	case OPT_RETRY_DELAY_SCALE: {
		char *end = NULL;
		double x = strtod(v, &end);

		if (!*v || *end || !(x >= 0.0001 && x <= 1))
			return -EINVAL;
		c->retry_delay_scale = x;
		return 0;
	}
	case OPT_LOG_LEVEL: {
		int l = sl_log_parse_level(v);

		if (l < 0)
			return -EINVAL;
		sl_log_set_level((enum sl_log_level)l);
		return 0;
	}
	}
	return -EINVAL;
}

int sl_ctl_config_parse(struct sl_ctl_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{"http", required_argument, NULL, OPT_HTTP},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"data", required_argument, NULL, OPT_DATA},
		{"key-file", required_argument, NULL, OPT_KEY_FILE},
		{"access-keys", required_argument, NULL, OPT_ACCESS_KEYS},
		{"region", required_argument, NULL, OPT_REGION},
		{"heartbeat-timeout", required_argument, NULL, OPT_HEARTBEAT_TIMEOUT},
		{"lease", required_argument, NULL, OPT_LEASE},
		{"shutdown-grace", required_argument, NULL, OPT_SHUTDOWN_GRACE},
		{"account-concurrency", required_argument, NULL, OPT_ACCOUNT_CONCURRENCY},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"retry-delay-scale", required_argument, NULL, OPT_RETRY_DELAY_SCALE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, idx = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?' || opt == ':') {
			snprintf(err, errlen, "%s: %s",
				 opt == ':' ? "missing value for option" : "unknown option",
				 argv[optind - 1]);
			return -EINVAL;
		}
		if (apply(c, opt, optarg) < 0) {
			snprintf(err, errlen, "invalid value for --%s: '%s'",
				 opts[opt - OPT_HTTP].name, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

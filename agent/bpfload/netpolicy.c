// SPDX-License-Identifier: Apache-2.0
#include "bpfload/netpolicy.h"

#include <sandlot/parse.h>
#include <sandlot/util.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#define RULE_MAX_LEN 128

static int fail(int r, char *err, size_t errlen, const char *fmt, ...) _printf_(4, 5);
static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Strips a trailing "/tcp" or "/udp" from s (in place) and returns the protocol. */
static uint8_t take_proto(char *s)
{
	size_t n = strlen(s);

	if (n > 4 && strcmp(s + n - 4, "/tcp") == 0) {
		s[n - 4] = '\0';
		return SL_BPF_PROTO_TCP;
	}
	if (n > 4 && strcmp(s + n - 4, "/udp") == 0) {
		s[n - 4] = '\0';
		return SL_BPF_PROTO_UDP;
	}
	return SL_BPF_PROTO_ANY;
}

static int parse_ports(const char *s, struct sl_netrule *r, char *err, size_t errlen)
{
	char buf[16], *dash;
	uint64_t lo, hi;

	if (strlen(s) >= sizeof(buf))
		return fail(-EINVAL, err, errlen, "port range too long");
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (sl_parse_u64(buf, 1, 65535, &lo) < 0)
		return fail(-EINVAL, err, errlen, "port '%s' is not a number in 1-65535", buf);
	hi = lo;
	if (dash && sl_parse_u64(dash + 1, 1, 65535, &hi) < 0)
		return fail(-EINVAL, err, errlen, "port '%s' is not a number in 1-65535", dash + 1);
	if (hi < lo)
		return fail(-EINVAL, err, errlen, "port range %s is reversed", s);
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

static bool host_bits_zero(const uint8_t *a, unsigned prefix, unsigned bits)
{
	for (unsigned i = prefix; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* "ADDR" or "ADDR/LEN" of either family. */
static int parse_cidr(char *s, struct sl_netrule *r, char *err, size_t errlen)
{
	char *slash = strchr(s, '/');
	unsigned bits;
	uint64_t len;

	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, s, r->addr) == 1)
		r->family = AF_INET, bits = 32;
	else if (inet_pton(AF_INET6, s, r->addr) == 1)
		r->family = AF_INET6, bits = 128;
	else
		return fail(-EINVAL, err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
	len = bits;
	if (slash && sl_parse_u64(slash + 1, 0, bits, &len) < 0)
		return fail(-EINVAL, err, errlen, "prefix length '%s' is not a number in 0-%u",
			    slash + 1, bits);
	if (!host_bits_zero(r->addr, (unsigned)len, bits))
		return fail(-EINVAL, err, errlen, "%s/%u has host bits set", s, (unsigned)len);
	r->prefix = (uint8_t)len;
	return 0;
}

int sl_netrule_parse(const char *s, struct sl_netrule *ret, char *err, size_t errlen)
{
	char buf[RULE_MAX_LEN], *addr = buf, *ports = NULL, *colon;
	struct sl_netrule r = {0};
	int k;

	if (!s || !*s)
		return fail(-EINVAL, err, errlen, "empty rule");
	if (strlen(s) >= sizeof(buf))
		return fail(-EINVAL, err, errlen, "rule longer than %d characters",
			    RULE_MAX_LEN - 1);
	strcpy(buf, s);
	r.proto = take_proto(buf);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return fail(-EINVAL, err, errlen, "missing ']' after IPv6 address");
		*close = '\0';
		addr = buf + 1;
		if (close[1] == ':')
			ports = close + 2;
		else if (close[1])
			return fail(-EINVAL, err, errlen, "unexpected '%s' after ']'", close + 1);
	} else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
		*colon = '\0'; /* exactly one ':': IPv4 with a port */
		ports = colon + 1;
	}
	k = parse_cidr(addr, &r, err, errlen);
	if (k < 0)
		return k;
	if (ports) {
		k = parse_ports(ports, &r, err, errlen);
		if (k < 0)
			return k;
	}
	*ret = r;
	return 0;
}

int sl_netpolicy_add(struct sl_netpolicy *p, const char *s, char *err, size_t errlen)
{
	struct sl_netrule r;
	int k;

	if (p->n_rules >= SL_NETPOLICY_MAX_RULES)
		return fail(-E2BIG, err, errlen, "more than %d --allow rules",
			    SL_NETPOLICY_MAX_RULES);
	k = sl_netrule_parse(s, &r, err, errlen);
	if (k < 0)
		return k;
	p->rules[p->n_rules++] = r;
	return 0;
}

char *sl_netrule_format(const struct sl_netrule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], ports[16] = "";
	const char *proto = r->proto == SL_BPF_PROTO_TCP   ? "/tcp"
			    : r->proto == SL_BPF_PROTO_UDP ? "/udp"
							   : "";
	bool v6 = r->family == AF_INET6;

	inet_ntop(r->family, r->addr, a, sizeof(a));
	if (r->port_lo && r->port_lo == r->port_hi)
		snprintf(ports, sizeof(ports), ":%u", r->port_lo);
	else if (r->port_lo)
		snprintf(ports, sizeof(ports), ":%u-%u", r->port_lo, r->port_hi);
	snprintf(buf, len, "%s%s/%u%s%s%s", v6 && ports[0] ? "[" : "", a, r->prefix,
		 v6 && ports[0] ? "]" : "", ports, proto);
	return buf;
}

void sl_bpf_addr_from(int family, const void *addr, struct sl_bpf_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (family == AF_INET) {
		ret->a[2] = htonl(0xffff);
		memcpy(&ret->a[3], addr, 4);
	} else {
		memcpy(ret->a, addr, 16);
	}
}

void sl_netrule_to_bpf(const struct sl_netrule *r, struct sl_bpf_rule *ret)
{
	unsigned prefix = r->family == AF_INET ? r->prefix + 96u : r->prefix;
	struct sl_bpf_addr a;

	memset(ret, 0, sizeof(*ret));
	sl_bpf_addr_from(r->family, r->addr, &a);
	for (unsigned i = 0; i < 4; i++) {
		unsigned bits = prefix > 32 * i ? MIN(prefix - 32 * i, 32u) : 0;
		uint32_t m = bits == 0 ? 0 : bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);

		ret->mask[i] = htonl(m);
		ret->net[i] = a.a[i] & ret->mask[i];
	}
	ret->port_lo = r->port_lo;
	ret->port_hi = r->port_hi;
	ret->proto = r->proto;
}

bool sl_netrule_match(const struct sl_bpf_rule *r, const struct sl_bpf_addr *a, uint16_t port,
		      uint8_t proto)
{
	if (r->proto && r->proto != proto)
		return false;
	if ((r->port_lo || r->port_hi) && (port < r->port_lo || port > r->port_hi))
		return false;
	for (unsigned i = 0; i < 4; i++)
		if ((a->a[i] & r->mask[i]) != r->net[i])
			return false;
	return true;
}

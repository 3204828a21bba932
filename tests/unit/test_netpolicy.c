// SPDX-License-Identifier: Apache-2.0
/* --allow parsing and the rule matching the BPF policy performs (pure logic). */
#include "testutil.h"

#include "bpfload/netpolicy.h"

#include <arpa/inet.h>
#include <errno.h>

static struct sl_bpf_addr addr(const char *s)
{
	uint8_t raw[16];
	struct sl_bpf_addr a = {0};

	if (inet_pton(AF_INET, s, raw) == 1)
		sl_bpf_addr_from(AF_INET, raw, &a);
	else if (inet_pton(AF_INET6, s, raw) == 1)
		sl_bpf_addr_from(AF_INET6, raw, &a);
	else
		fail_msg("bad test address %s", s);
	return a;
}

static void assert_roundtrip(const char *in, const char *canonical)
{
	struct sl_netrule r;
	char err[SL_NETPOLICY_ERR_MAX] = "", buf[80];

	assert_int_equal(sl_netrule_parse(in, &r, err, sizeof(err)), 0);
	assert_string_equal(sl_netrule_format(&r, buf, sizeof(buf)), canonical);
}

static void parse_accepts_every_form(void **state)
{
	assert_roundtrip("10.0.0.0/8", "10.0.0.0/8");
	assert_roundtrip("192.0.2.7", "192.0.2.7/32");
	assert_roundtrip("192.0.2.7:443/tcp", "192.0.2.7/32:443/tcp");
	assert_roundtrip("198.51.100.0/24:8000-8099", "198.51.100.0/24:8000-8099");
	assert_roundtrip("0.0.0.0/0/udp", "0.0.0.0/0/udp");
	assert_roundtrip("2001:db8::/32", "2001:db8::/32");
	assert_roundtrip("[2001:db8::1]:53/udp", "[2001:db8::1/128]:53/udp");
	assert_roundtrip("[2001:db8::/48]:1-1024", "[2001:db8::/48]:1-1024");
	assert_roundtrip("::/0", "::/0");
}

static void assert_rejected(const char *in, int code, const char *needle)
{
	struct sl_netrule r = {.prefix = 99};
	char err[SL_NETPOLICY_ERR_MAX] = "";

	assert_int_equal(sl_netrule_parse(in, &r, err, sizeof(err)), code);
	assert_non_null(strstr(err, needle));
	assert_null(strchr(err, '\n'));
	assert_int_equal(r.prefix, 99); /* untouched on failure */
}

static void parse_rejects_malformed(void **state)
{
	assert_rejected("", -EINVAL, "empty");
	assert_rejected("10.0.0.1/8", -EINVAL, "host bits");
	assert_rejected("10.0.0.0/33", -EINVAL, "prefix length");
	assert_rejected("10.0.0.0/-1", -EINVAL, "prefix length");
	assert_rejected("300.0.0.1", -EINVAL, "not an IPv4 or IPv6");
	assert_rejected("example.com", -EINVAL, "not an IPv4 or IPv6");
	assert_rejected("10.0.0.1:0", -EINVAL, "1-65535");
	assert_rejected("10.0.0.1:65536", -EINVAL, "1-65535");
	assert_rejected("10.0.0.1:99-10", -EINVAL, "reversed");
	assert_rejected("10.0.0.1:80/icmp", -EINVAL, "1-65535");
	assert_rejected("10.0.0.1:", -EINVAL, "1-65535");
	assert_rejected("[2001:db8::1:53", -EINVAL, "missing ']'");
	assert_rejected("[2001:db8::1]x", -EINVAL, "unexpected");
	assert_rejected("2001:db8::/129", -EINVAL, "prefix length");
	char longs[300];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_rejected(longs, -EINVAL, "longer than");
}

static void policy_bounds_rule_count(void **state)
{
	struct sl_netpolicy p = {0};
	char err[SL_NETPOLICY_ERR_MAX] = "";

	for (int i = 0; i < SL_NETPOLICY_MAX_RULES; i++)
		assert_int_equal(sl_netpolicy_add(&p, "10.0.0.0/8", err, sizeof(err)), 0);
	assert_int_equal(sl_netpolicy_add(&p, "10.0.0.0/8", err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "more than"));
	assert_int_equal(p.n_rules, SL_NETPOLICY_MAX_RULES);
	assert_int_equal(sl_netpolicy_add(&(struct sl_netpolicy){0}, "x", err, sizeof(err)),
			 -EINVAL);
}

static struct sl_bpf_rule rule(const char *s)
{
	struct sl_netrule r;
	struct sl_bpf_rule b;

	assert_int_equal(sl_netrule_parse(s, &r, NULL, 0), 0);
	sl_netrule_to_bpf(&r, &b);
	return b;
}

static void rules_match_cidr_port_proto(void **state)
{
	struct sl_bpf_rule r = rule("10.1.0.0/16:8000-8099/tcp");
	struct sl_bpf_addr in = addr("10.1.200.3"), out = addr("10.2.0.1");

	assert_true(sl_netrule_match(&r, &in, 8000, SL_BPF_PROTO_TCP));
	assert_true(sl_netrule_match(&r, &in, 8099, SL_BPF_PROTO_TCP));
	assert_false(sl_netrule_match(&r, &in, 8100, SL_BPF_PROTO_TCP));
	assert_false(sl_netrule_match(&r, &in, 8000, SL_BPF_PROTO_UDP));
	assert_false(sl_netrule_match(&r, &out, 8000, SL_BPF_PROTO_TCP));

	r = rule("0.0.0.0/0");
	assert_true(sl_netrule_match(&r, &out, 0, 1 /* ICMP */));
	/* a v4 rule never matches an IPv6 address, even ::/0-like ones */
	struct sl_bpf_addr v6 = addr("2001:db8::1");
	assert_false(sl_netrule_match(&r, &v6, 80, SL_BPF_PROTO_TCP));

	r = rule("[2001:db8::/32]:443");
	assert_true(sl_netrule_match(&r, &v6, 443, SL_BPF_PROTO_TCP));
	assert_true(sl_netrule_match(&r, &v6, 443, SL_BPF_PROTO_UDP));
	assert_false(sl_netrule_match(&r, &v6, 444, SL_BPF_PROTO_TCP));
	assert_false(sl_netrule_match(&r, &in, 443, SL_BPF_PROTO_TCP));
	/* a port rule does not let ICMP (port 0) through */
	assert_false(sl_netrule_match(&r, &v6, 0, 58));

	/* v4-mapped IPv6 destinations are matched by v4 rules */
	r = rule("10.1.0.0/16");
	struct sl_bpf_addr mapped = addr("::ffff:10.1.2.3");
	assert_true(sl_netrule_match(&r, &mapped, 80, SL_BPF_PROTO_TCP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_accepts_every_form),
		cmocka_unit_test(parse_rejects_malformed),
		cmocka_unit_test(policy_bounds_rule_count),
		cmocka_unit_test(rules_match_cidr_port_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A sandbox's network allow-list as the operator writes it: `--allow CIDR[:PORT[-PORT]][/tcp|udp]`,
 * repeatable. Pure logic (no kernel access): parsing, validation and the conversion into the
 * rules the BPF policy evaluates (include/sandlot/bpf_abi.h).
 *
 *   10.0.0.0/8                    any port, any protocol (ICMP included)
 *   192.0.2.7:443/tcp             one host, one port, TCP only
 *   198.51.100.0/24:8000-8099     a port range, TCP and UDP
 *   2001:db8::/32                 IPv6 without a port
 *   [2001:db8::1]:53/udp          IPv6 with a port: brackets
 *
 * A CIDR with host bits set (10.0.0.1/8) is refused rather than silently masked.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sandlot/bpf_abi.h>

#define SL_NETPOLICY_MAX_RULES SL_BPF_MAX_RULES
#define SL_NETPOLICY_ERR_MAX   160

struct sl_netrule {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address (v4: first 4 bytes), host bits zero */
	uint8_t prefix;	  /* 0..32 (v4) or 0..128 (v6) */
	uint8_t proto;	  /* SL_BPF_PROTO_ANY / _TCP / _UDP */
	uint16_t port_lo; /* 0 and 0: any port */
	uint16_t port_hi;
};

struct sl_netpolicy {
	size_t n_rules;
	struct sl_netrule rules[SL_NETPOLICY_MAX_RULES];
};

/*
 * Parses one --allow value into *ret. On failure returns -EINVAL (or -ERANGE for numbers out of
 * range) and, when err is not NULL, writes a one-line reason (without the value) into err.
 */
int sl_netrule_parse(const char *s, struct sl_netrule *ret, char *err, size_t errlen);

/*
 * Parses s and appends it to p. Returns 0, the parse error, or -E2BIG when p already holds
 * SL_NETPOLICY_MAX_RULES rules (err says so).
 */
int sl_netpolicy_add(struct sl_netpolicy *p, const char *s, char *err, size_t errlen);

/* Formats r back into the --allow syntax (canonical form). buf needs at least 64 bytes. */
char *sl_netrule_format(const struct sl_netrule *r, char *buf, size_t len);

/* Converts r into the BPF rule (v4-mapped 16-byte network and mask). */
void sl_netrule_to_bpf(const struct sl_netrule *r, struct sl_bpf_rule *ret);

/* Converts an IPv4/IPv6 address (network order bytes) into the BPF's 16-byte form. */
void sl_bpf_addr_from(int family, const void *addr, struct sl_bpf_addr *ret);

/* True when a BPF rule list would let (addr, port, proto) through (the kernel's rule match). */
bool sl_netrule_match(const struct sl_bpf_rule *r, const struct sl_bpf_addr *a, uint16_t port,
		      uint8_t proto);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The Internet checksum (RFC 1071) of n bytes, for the ICMP packets the tests build. */
#include <stddef.h>
#include <stdint.h>

static inline uint16_t inet_csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2)
		s += *w++;
	s = (s >> 16) + (s & 0xffff);
	s += s >> 16;
	return (uint16_t)~s;
}

/* The connection tuples the unit tests share: a client in 198.51.100.0/24 or
 * 2001:db8::/32 to a server in 203.0.113.0/24 or the same /32 (documentation
 * ranges).  test_cookie's known-answer vectors are computed over these exact
 * values: changing them changes those vectors. */
#ifndef SYNGATE_TEST_TUPLES_H
#define SYNGATE_TEST_TUPLES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "syngate/core/packet.h"

/* A fixed, reproducible "random" stream (xorshift64*) so that vectors are
 * stable; seed 0 stands for a fixed non-zero one. */
static inline void fill_random(uint8_t *out, size_t n, uint64_t seed)
{
	uint64_t x = seed ? seed : 88172645463325252ull;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		out[i] = (uint8_t)((x * 2685821657736338717ull) >> 56);
	}
}

static inline struct sg_tuple tuple4(void)
{
	struct sg_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.saddr[0] = 198, t.saddr[1] = 51, t.saddr[2] = 100, t.saddr[3] = 2;
	t.daddr[0] = 203, t.daddr[1] = 0, t.daddr[2] = 113, t.daddr[3] = 2;
	t.sport = 40000;
	t.dport = 80;
	return t;
}

static inline struct sg_tuple tuple6(void)
{
	struct sg_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET6;
	t.saddr[0] = 0x20, t.saddr[1] = 0x01, t.saddr[2] = 0x0d, t.saddr[3] = 0xb8;
	t.saddr[15] = 2;
	memcpy(t.daddr, t.saddr, 16);
	t.daddr[5] = 2;
	t.sport = 50000;
	t.dport = 443;
	return t;
}

#endif

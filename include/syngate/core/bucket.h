/* A token bucket, written once for the daemon and the XDP program.
 *
 * Both pass a few SYNs to unknown backends through so that the backend's
 * options are learned (learn-first): src/core/proxy.c from one bucket for
 * all backends, src/bpf/syngate_xdp.c from one bucket per CPU, each with its
 * own rate (LEARN_PROBE_* in proxy.c, SG_XDP_LEARN_* in xdp_abi.h).
 *
 * Self-contained: stdint only, static inline, eBPF-safe (one 64-bit
 * division by the refill period, no loop).
 */
#ifndef SYNGATE_CORE_BUCKET_H
#define SYNGATE_CORE_BUCKET_H

#include <stdint.h>

/* Takes a token from the bucket *@tokens, last refilled at *@at, at time @now
 * (any unit, the same as @at and @gap): first it gains one token per @gap
 * since *@at, @burst at most.  Returns 1 if a token was taken, 0 if the bucket
 * is empty.  An all-zero bucket fills up on its first use. */
static inline int sg_bucket_take(uint64_t *at, uint64_t *tokens, uint64_t now, uint64_t gap,
				 uint64_t burst)
{
	uint64_t add = (now - *at) / gap;

	if (add) {
		*tokens = add >= burst - *tokens ? burst : *tokens + add;
		*at += add * gap;
	}
	if (!*tokens)
		return 0;
	(*tokens)--;
	return 1;
}

#endif

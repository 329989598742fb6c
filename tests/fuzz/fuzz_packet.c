/* libFuzzer target: the packet codec (src/core/packet.c).
 *
 * Input: one IP packet, as NFQUEUE hands it to the daemon.  sg_pkt_parse()
 * must never read past it; a packet it accepts must describe itself
 * consistently, and rebuilding it with sg_pkt_build() must give a packet that
 * parses back to the same fields with correct checksums.  The incremental
 * checksum updates (RFC 1624) must agree with a full recomputation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "syngate/core/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_opts(const struct sg_tcpopts *a, const struct sg_tcpopts *b)
{
	if (a->has_mss != b->has_mss || (a->has_mss && a->mss != b->mss) ||
	    a->has_wscale != b->has_wscale || (a->has_wscale && a->wscale != b->wscale) ||
	    a->sack_ok != b->sack_ok || a->has_ts != b->has_ts ||
	    (a->has_ts && (a->tsval != b->tsval || a->tsecr != b->tsecr)))
		abort();
}

/* The parsed packet @p describes a packet inside its @size-byte buffer. */
static void check_bounds(const struct sg_pkt *p, size_t size)
{
	if (p->len > size || p->l4off + p->doff > p->len ||
	    p->l4off + p->doff + p->payload_len != p->len || p->doff < 20 || p->doff > 60 ||
	    (p->tuple.family != AF_INET && p->tuple.family != AF_INET6))
		abort();
	if (p->opts.has_wscale && p->opts.wscale > SG_WSCALE_MAX)
		abort();
}

/* Rebuilds @p and parses the result: the same fields, valid checksums. */
static void rebuild(const struct sg_pkt *p)
{
	uint8_t out[SG_PKT_MAX_BUILT];
	struct sg_seg s = {.tuple = p->tuple,
	                   .seq = p->seq,
	                   .ack = p->ack,
	                   .flags = p->flags,
	                   .ttl = p->ttl,
	                   .window = p->window,
	                   .opts = p->opts};
	size_t n = sg_pkt_build(out, sizeof(out), &s), ipl;
	struct sg_pkt q;

	if (n == 0 || sg_pkt_parse(&q, out, n) != SG_R_OK)
		abort();
	if (memcmp(&q.tuple, &p->tuple, sizeof(q.tuple)) || q.seq != p->seq || q.ack != p->ack ||
	    q.flags != p->flags || q.window != p->window || q.payload_len != 0 || q.len != n ||
	    q.ttl != (p->ttl ? p->ttl : 64))
		abort();
	same_opts(&q.opts, &p->opts);
	ipl = q.l4off;
	if (sg_csum_tcp(q.tuple.family, q.tuple.saddr, q.tuple.daddr, out + ipl, n - ipl) != 0)
		abort();
	if (q.tuple.family == AF_INET && sg_csum_ipv4(out, 20) != 0)
		abort();
	/* RFC 1624: rewrite seq and ack in place, update the checksum
	 * incrementally, and it must still verify */
	{
		uint8_t *t = out + ipl;
		uint32_t old_seq, old_ack, new_seq = ~p->seq, new_ack = p->ack ^ p->seq;
		uint16_t sum;

		memcpy(&old_seq, t + 4, 4);
		memcpy(&old_ack, t + 8, 4);
		memcpy(&sum, t + 16, 2);
		new_seq = __builtin_bswap32(new_seq);
		new_ack = __builtin_bswap32(new_ack);
		sum = sg_csum_replace4(sum, old_seq, new_seq);
		sum = sg_csum_replace4(sum, old_ack, new_ack);
		memcpy(t + 4, &new_seq, 4);
		memcpy(t + 8, &new_ack, 4);
		memcpy(t + 16, &sum, 2);
		if (sg_csum_tcp(q.tuple.family, q.tuple.saddr, q.tuple.daddr, t, n - ipl) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_tcpopts o;
	struct sg_pkt p;

	if (sg_pkt_parse(&p, data, size) == SG_R_OK) {
		check_bounds(&p, size);
		rebuild(&p);
	}
	/* the option walk on its own, on the first bytes */
	if (sg_tcpopts_parse(&o, data, size < SG_TCPOPT_MAX ? size : SG_TCPOPT_MAX) == SG_R_OK &&
	    o.has_wscale && o.wscale > SG_WSCALE_MAX)
		abort();
	(void)sg_csum_add(0, data, size);
	return 0;
}

/* syngate packet codec: see include/syngate/core/packet.h for the contract.
 *
 * Layout knowledge lives here only.  Reads go through the rd16/rd32 helpers
 * after an explicit length check; nothing here allocates or does I/O.
 */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "syngate/core/packet.h"

#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
#define TCP_HDR_MIN 20
#define TCP_OPT_MAX SG_TCPOPT_MAX
#define TCPOPT_NOP SG_TCPOPT_NOP
#define TCPOPT_MSS SG_TCPOPT_MSS
#define TCPOPT_WSCALE SG_TCPOPT_WSCALE
#define TCPOPT_SACK_PERM SG_TCPOPT_SACK_PERM
#define TCPOPT_TIMESTAMP SG_TCPOPT_TIMESTAMP

_Static_assert(AF_INET == SG_AF_INET && AF_INET6 == SG_AF_INET6,
	       "tcpopt.h's family numbers are the libc's");

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

size_t sg_addr_len(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

struct sg_tuple sg_tuple_reverse(const struct sg_tuple *t)
{
	struct sg_tuple r = *t;

	memcpy(r.saddr, t->daddr, sizeof(r.saddr));
	memcpy(r.daddr, t->saddr, sizeof(r.daddr));
	r.sport = t->dport;
	r.dport = t->sport;
	return r;
}

/* --- checksums ----------------------------------------------------------- */

uint32_t sg_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)(p[0] << 8);
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/* The folded, complemented checksum in host order of the big-endian sum. */
static uint16_t csum_fold_host(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t sg_csum_fold(uint32_t sum)
{
	return htons(csum_fold_host(sum));
}

static uint32_t pseudo_sum(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
			   size_t len)
{
	size_t alen = sg_addr_len(family);
	uint32_t sum = 0;

	sum = sg_csum_add(sum, saddr, alen);
	sum = sg_csum_add(sum, daddr, alen);
	return sum + IPPROTO_TCP + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
}

uint16_t sg_csum_tcp(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
		     const uint8_t *tcp, size_t len)
{
	uint32_t sum = pseudo_sum(family, saddr, daddr, len);

	return sg_csum_fold(sg_csum_add(sum, tcp, len));
}

uint16_t sg_csum_ipv4(const uint8_t *hdr, size_t len)
{
	return sg_csum_fold(sg_csum_add(0, hdr, len));
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), computed in host order. */
uint16_t sg_csum_replace2(uint16_t check, uint16_t old, uint16_t new_)
{
	uint32_t sum = (uint16_t)~ntohs(check);

	sum += (uint16_t)~ntohs(old);
	sum += ntohs(new_);
	return htons(csum_fold_host(sum));
}

uint16_t sg_csum_replace4(uint16_t check, uint32_t old, uint32_t new_)
{
	check = sg_csum_replace2(check, htons((uint16_t)(ntohl(old) >> 16)),
				 htons((uint16_t)(ntohl(new_) >> 16)));
	return sg_csum_replace2(check, htons((uint16_t)ntohl(old)), htons((uint16_t)ntohl(new_)));
}

/* --- parsing ------------------------------------------------------------- */

enum sg_reason sg_tcpopts_parse(struct sg_tcpopts *o, const uint8_t *opt, size_t len)
{
	struct sg_tcpopt_walk w = {.len = (uint32_t)len, .out = o};

	memset(o, 0, sizeof(*o));
	if (len > SG_TCPOPT_MAX)
		return SG_R_BAD_OPTION;
	memcpy(w.o, opt, len);
	while (sg_tcpopt_step(&w) == 0)
		; /* each step advances: at most SG_TCPOPT_MAX of them */
	return w.bad ? SG_R_BAD_OPTION : SG_R_OK;
}

static enum sg_reason parse_ipv4(struct sg_pkt *p, const uint8_t *b, size_t len)
{
	size_t ihl, tot;

	if (len < IPV4_HDR_MIN)
		return SG_R_TRUNC_IP;
	ihl = (size_t)(b[0] & 0x0f) * 4;
	if (ihl < IPV4_HDR_MIN || ihl > len)
		return SG_R_BAD_IHL;
	tot = rd16(b + 2);
	if (tot < ihl || tot > len)
		return SG_R_BAD_IP_LEN;
	if (rd16(b + 6) & 0x3fff) /* MF set or fragment offset != 0 */
		return SG_R_FRAGMENT;
	if (b[9] != IPPROTO_TCP)
		return SG_R_NOT_TCP;
	p->len = tot;
	p->l4off = ihl;
	p->ttl = b[8];
	p->tuple.family = AF_INET;
	memcpy(p->tuple.saddr, b + 12, 4);
	memcpy(p->tuple.daddr, b + 16, 4);
	return SG_R_OK;
}

/* Walks the IPv6 extension header chain from @off with next header @nh, at
 * most SG_IPV6_MAX_EXTHDRS headers.  Leaves the TCP offset in p->l4off. */
static enum sg_reason ipv6_walk(struct sg_pkt *p, const uint8_t *b, size_t end, uint8_t nh,
				size_t off)
{
	int n;

	for (n = 0; n < SG_IPV6_MAX_EXTHDRS; n++) {
		size_t hlen;

		switch (nh) {
		case IPPROTO_TCP:
			p->l4off = off;
			return SG_R_OK;
		case IPPROTO_FRAGMENT:
			return SG_R_FRAGMENT;
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (end - off < 8)
				return SG_R_BAD_EXTHDR;
			hlen = ((size_t)b[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (end - off < 8)
				return SG_R_BAD_EXTHDR;
			hlen = ((size_t)b[off + 1] + 2) * 4;
			break;
		default:
			return SG_R_NOT_TCP;
		}
		if (hlen > end - off)
			return SG_R_BAD_EXTHDR;
		nh = b[off];
		off += hlen;
	}
	return SG_R_BAD_EXTHDR;
}

static enum sg_reason parse_ipv6(struct sg_pkt *p, const uint8_t *b, size_t len)
{
	size_t plen;

	if (len < IPV6_HDR_LEN)
		return SG_R_TRUNC_IP;
	plen = rd16(b + 4);
	if (plen > len - IPV6_HDR_LEN)
		return SG_R_BAD_IP_LEN;
	p->len = IPV6_HDR_LEN + plen;
	p->ttl = b[7];
	p->tuple.family = AF_INET6;
	memcpy(p->tuple.saddr, b + 8, 16);
	memcpy(p->tuple.daddr, b + 24, 16);
	return ipv6_walk(p, b, p->len, b[6], IPV6_HDR_LEN);
}

static enum sg_reason parse_tcp(struct sg_pkt *p)
{
	const uint8_t *t = p->buf + p->l4off;
	size_t seglen = p->len - p->l4off;
	uint8_t fl;

	if (seglen < TCP_HDR_MIN)
		return SG_R_TRUNC_TCP;
	p->doff = (size_t)(t[12] >> 4) * 4;
	if (p->doff < TCP_HDR_MIN || p->doff > seglen)
		return SG_R_BAD_DOFF;
	fl = t[13];
	if ((fl & SG_TCP_SYN) && (fl & (SG_TCP_FIN | SG_TCP_RST)))
		return SG_R_BAD_FLAGS;
	p->flags = fl;
	p->tuple.sport = rd16(t);
	p->tuple.dport = rd16(t + 2);
	p->seq = rd32(t + 4);
	p->ack = rd32(t + 8);
	p->window = rd16(t + 14);
	p->payload_len = seglen - p->doff;
	return sg_tcpopts_parse(&p->opts, t + TCP_HDR_MIN, p->doff - TCP_HDR_MIN);
}

enum sg_reason sg_pkt_parse(struct sg_pkt *p, const uint8_t *buf, size_t len)
{
	enum sg_reason r;

	memset(p, 0, sizeof(*p));
	p->buf = buf;
	if (len < 1)
		return SG_R_TRUNC_IP;
	switch (buf[0] >> 4) {
	case 4:
		r = parse_ipv4(p, buf, len);
		break;
	case 6:
		r = parse_ipv6(p, buf, len);
		break;
	default:
		return SG_R_BAD_IP_VERSION;
	}
	if (r != SG_R_OK)
		return r;
	return parse_tcp(p);
}

/* --- building ------------------------------------------------------------ */

size_t sg_tcpopts_build(uint8_t *out, const struct sg_tcpopts *o)
{
	size_t n = 0;

	if (o->has_mss) {
		out[n++] = TCPOPT_MSS;
		out[n++] = 4;
		wr16(out + n, o->mss);
		n += 2;
	}
	if (o->sack_ok && !o->has_ts) {
		out[n++] = TCPOPT_NOP;
		out[n++] = TCPOPT_NOP;
		out[n++] = TCPOPT_SACK_PERM;
		out[n++] = 2;
	}
	if (o->has_ts) {
		out[n++] = o->sack_ok ? TCPOPT_SACK_PERM : TCPOPT_NOP;
		out[n++] = o->sack_ok ? 2 : TCPOPT_NOP;
		out[n++] = TCPOPT_TIMESTAMP;
		out[n++] = 10;
		wr32(out + n, o->tsval);
		wr32(out + n + 4, o->tsecr);
		n += 8;
	}
	if (o->has_wscale) {
		out[n++] = TCPOPT_NOP;
		out[n++] = TCPOPT_WSCALE;
		out[n++] = 3;
		out[n++] = o->wscale;
	}
	return n; /* every branch adds a multiple of 4 */
}

static size_t build_ip4(uint8_t *h, const struct sg_seg *s, size_t tcplen)
{
	memset(h, 0, IPV4_HDR_MIN);
	h[0] = 0x45;
	wr16(h + 2, (uint16_t)(IPV4_HDR_MIN + tcplen));
	wr16(h + 6, 0x4000); /* DF */
	h[8] = s->ttl ? s->ttl : 64;
	h[9] = IPPROTO_TCP;
	memcpy(h + 12, s->tuple.saddr, 4);
	memcpy(h + 16, s->tuple.daddr, 4);
	memcpy(h + 10, &(uint16_t){sg_csum_ipv4(h, IPV4_HDR_MIN)}, 2);
	return IPV4_HDR_MIN;
}

static size_t build_ip6(uint8_t *h, const struct sg_seg *s, size_t tcplen)
{
	memset(h, 0, IPV6_HDR_LEN);
	h[0] = 0x60;
	wr16(h + 4, (uint16_t)tcplen);
	h[6] = IPPROTO_TCP;
	h[7] = s->ttl ? s->ttl : 64;
	memcpy(h + 8, s->tuple.saddr, 16);
	memcpy(h + 24, s->tuple.daddr, 16);
	return IPV6_HDR_LEN;
}

size_t sg_pkt_build(uint8_t *out, size_t cap, const struct sg_seg *s)
{
	uint8_t opts[TCP_OPT_MAX];
	size_t olen = sg_tcpopts_build(opts, &s->opts);
	size_t tcplen = TCP_HDR_MIN + olen;
	size_t iplen = s->tuple.family == AF_INET6 ? IPV6_HDR_LEN : IPV4_HDR_MIN;
	uint8_t *t = out + iplen;
	uint16_t sum;

	if (cap < iplen + tcplen)
		return 0;
	if (s->tuple.family == AF_INET6)
		build_ip6(out, s, tcplen);
	else
		build_ip4(out, s, tcplen);
	wr16(t, s->tuple.sport);
	wr16(t + 2, s->tuple.dport);
	wr32(t + 4, s->seq);
	wr32(t + 8, s->ack);
	t[12] = (uint8_t)((tcplen / 4) << 4);
	t[13] = s->flags;
	wr16(t + 14, s->window);
	wr32(t + 16, 0); /* checksum, urgent pointer */
	memcpy(t + TCP_HDR_MIN, opts, olen);
	sum = sg_csum_tcp(s->tuple.family, s->tuple.saddr, s->tuple.daddr, t, tcplen);
	memcpy(t + 16, &sum, 2);
	return iplen + tcplen;
}

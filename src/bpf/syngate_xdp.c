/* syngate XDP fast path: answers client SYNs with cookie SYN-ACKs from the
 * driver, and drops client ACKs whose cookie fails.  The maps and what each
 * counter means: include/syngate/core/xdp_abi.h.
 *
 * It sends exactly the SYN-ACK src/core/proxy.c's on_syn() would: the cookie of
 * src/core/cookie.c (same keys, same MAC through cookie_mac.h), the backend's
 * learned options, window 0, TTL 64.  Whatever it is not sure of goes on to
 * the kernel with XDP_PASS, where the iptables rules queue it to the daemon
 * as before: IPv4 options, IPv6 extension headers, VLAN tags, malformed TCP
 * options, SYNs to backends not learned yet, SYNs whose tuple conntrack knows
 * (bpf_xdp_ct_lookup(): a reused port over a TIME_WAIT entry), and every SYN
 * while cookies are not engaged.
 *
 * While cookies are engaged, a client ACK (no SYN, no RST) to a protected
 * port without a conntrack entry can only be a cookie ACK: it is checked as
 * the daemon's on_client_ack() checks it (both key slots; a zero-window probe
 * with seq = ISN too), dropped if it fails, passed on unchanged if not.
 *
 * Built with clang -target bpf; loaded and fed by src/io/xdp.c.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "syngate/core/bucket.h"
#include "syngate/core/cookie_mac.h"
#include "syngate/core/tcpopt.h"
#include "syngate/core/xdp_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sg_xdp_ctl);
} sg_ctl SEC(".maps");

/* Which sg_ctl entry is current: the daemon fills the other, then flips this. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sg_cur SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_XDP_BACKENDS);
	__type(key, struct sg_xdp_bkey);
	__type(value, struct sg_xdp_backend);
} sg_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_XDP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sg_stats SEC(".maps");

/* Per CPU, the learning token bucket: [0] when it was last refilled (ns),
 * [1] the tokens left. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, uint64_t);
} sg_learn_at SEC(".maps");

/* netfilter's conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c).  The
 * entry is only tested for existence; the options are the 12-byte layout
 * every kernel with the kfuncs accepts.  libbpf matches these declarations
 * to the kernel's by name and kind: struct nf_conn must be a struct (with
 * any body, never read), not a forward declaration, and struct
 * bpf_ct_opts___sg is the kernel's bpf_ct_opts (libbpf drops the ___ suffix). */
struct nf_conn {
	int opaque;
};
struct bpf_ct_opts___sg {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					 __u32 tuple_len, struct bpf_ct_opts___sg *opts,
					 __u32 opts_len) __ksym;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *ctx, struct bpf_sock_tuple *tuple,
					 __u32 tuple_len, struct bpf_ct_opts___sg *opts,
					 __u32 opts_len) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

enum seg_kind { SEG_OTHER, SEG_SYN, SEG_ACK };

/* What the program needs of a client SYN or ACK. */
struct seg {
	struct sg_tuple t; /* client -> server, as the daemon's codec fills it */
	__u32 seq, ack;	   /* host order; seq is a SYN's ISN */
	struct sg_tcpopts o; /* a SYN's options */
	__u8 kind;	   /* enum seg_kind */
	__u8 payload;	   /* an ACK carries data */
	__u32 l3, l4;	   /* offsets of the IP and TCP headers */
};

/* The SYN-ACK's TCP header with at most 12 bytes of options. */
struct synack_tcp {
	struct tcphdr h;
	__u8 opt[12];
};

static __always_inline int count(__u32 c, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&sg_stats, &c);

	if (v)
		*v += 1;
	return verdict;
}

static __always_inline __u16 csum_fold(__s64 sum)
{
	__u64 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* bpf_loop() callback: one step of tcpopt.h's walk (@arg is the walk). */
static long opt_step(__u32 n, void *arg)
{
	(void)n;
	return sg_tcpopt_step(arg);
}

/* Walks the SYN's TCP options as sg_tcpopts_parse() does.  Returns 0, or -1
 * for what the codec calls malformed (the daemon then counts the drop). */
static __always_inline int parse_options(struct xdp_md *ctx, struct seg *s, __u32 off,
					 __u32 len)
{
	struct sg_tcpopt_walk w = {.len = len, .out = &s->o};

	if (len == 0)
		return 0;
	/* verifier workaround: the mask bounds the length bpf_xdp_load_bytes()
	 * is given (len <= SG_TCPOPT_MAX is not tracked into the call) */
	if (len > SG_TCPOPT_MAX ||
	    bpf_xdp_load_bytes(ctx, off, w.o, len & (SG_TCPOPT_BUF - 1)) < 0)
		return -1;
	/* verifier workaround: bpf_loop() instead of a plain loop, whose
	 * states the verifier would explore step by step; each step takes at
	 * least one byte, so SG_TCPOPT_MAX steps walk them all */
	if (bpf_loop(SG_TCPOPT_MAX, opt_step, &w, 0) < 0)
		return -1;
	return w.bad ? -1 : 0;
}

/* The one's-complement sum of the first 20 bytes of IPv4 header @ip, folded
 * and inverted: 0 when the header checksum (options not covered: the
 * program leaves headers with options to the daemon) is right. */
static __always_inline __u16 ip_csum20(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Parses an Ethernet frame carrying a plain TCP SYN or a client ACK.  Returns
 * 0 when @s holds one, 1 when the frame is nothing to look at (ACKs of an odd
 * shape included: the daemon's), -1 when it is a SYN of a shape the program
 * leaves to the daemon.
 * Verifier workaround: a function of its own (not inlined), so that the option
 * walk's stack is not added to the SYN-ACK builder's (512 bytes in all). */
static __noinline int parse(struct xdp_md *ctx, struct seg *s)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u16 proto;
	__u32 l4len;
	int shape = 0;

	if ((void *)(eth + 1) > end)
		return 1;
	/* a broadcast or multicast frame is no client's to answer (the reply
	 * would go out from ff:ff:ff:ff:ff:ff): the kernel's */
	if (eth->h_dest[0] & 1)
		return 1;
	proto = eth->h_proto;
	s->l3 = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->version != 4 ||
		    ip->ihl < 5 || (ip->frag_off & bpf_htons(0x1fff)))
			return 1; /* no TCP header at ihl * 4 */
		/* what the kernel would drop before any hook: a total length
		 * past the frame or short of the headers, a bad header
		 * checksum; and broadcast or multicast destinations */
		if ((void *)ip + bpf_ntohs(ip->tot_len) > end ||
		    bpf_ntohs(ip->tot_len) < ip->ihl * 4 + sizeof(struct tcphdr) ||
		    (ip->ihl == 5 && ip_csum20(ip) != 0) || ip->daddr == 0xffffffff ||
		    (ip->daddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000))
			return 1;
		/* IP options, first fragments: the daemon's, but the TCP header
		 * is read for the port, so that they are counted as such */
		shape = ip->ihl != 5 || (ip->frag_off & bpf_htons(0x2000));
		s->t.family = SG_AF_INET;
		__builtin_memcpy(s->t.saddr, &ip->saddr, 4);
		__builtin_memcpy(s->t.daddr, &ip->daddr, 4);
		s->l4 = s->l3 + ip->ihl * 4;
		l4len = bpf_ntohs(ip->tot_len) - ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return 1;
		if (ip6->version != 6 || (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > end ||
		    ip6->daddr.in6_u.u6_addr8[0] == 0xff)
			return 1; /* as for IPv4: the kernel's to drop; multicast */
		if (ip6->nexthdr != IPPROTO_TCP)
			return -1; /* extension headers: the daemon's */
		s->t.family = SG_AF_INET6;
		__builtin_memcpy(s->t.saddr, &ip6->saddr, 16);
		__builtin_memcpy(s->t.daddr, &ip6->daddr, 16);
		s->l4 = s->l3 + sizeof(*ip6);
		l4len = bpf_ntohs(ip6->payload_len);
	} else {
		return 1;
	}
	th = data + s->l4;
	if ((void *)(th + 1) > end)
		return 1;
	s->t.sport = bpf_ntohs(th->source);
	s->t.dport = bpf_ntohs(th->dest);
	s->seq = bpf_ntohl(th->seq);
	s->ack = bpf_ntohl(th->ack_seq);
	if (th->ack && !th->syn && !th->rst) { /* as the daemon's dispatcher: FIN too */
		s->kind = SEG_ACK;
		s->payload = (__s64)l4len > (__s64)(th->doff * 4);
		return shape ? 1 : 0;
	}
	if (!th->syn || th->ack || th->rst || th->fin)
		return 1;
	s->kind = SEG_SYN;
	/* the header within the IP packet, not only the frame: the bytes after
	 * the IP length (an Ethernet trailer) are no options of the SYN's, and
	 * the daemon's codec refuses such a SYN (found by tests/fuzz/fuzz_xdp) */
	if (shape || th->doff < 5 || (void *)th + th->doff * 4 > end || th->doff * 4 > l4len)
		return -1;
	return parse_options(ctx, s, s->l4 + sizeof(*th), th->doff * 4 - sizeof(*th));
}

/* The cookie for SYN @s with the keys of @ctl (sg_cookie_make()).
 * Verifier workaround: not inlined, for the stack as parse(). */
static __noinline __u32 cookie(const struct sg_xdp_ctl *ctl, const struct seg *s, __u8 told)
{
	struct sg_cookie_mac_input in;
	__u64 slot = ctl->slot;
	__u32 low = sg_cookie_low(slot, s->t.family, &s->o);

	sg_cookie_mac_input_of(&in, &s->t, s->seq, slot, low, told);
	return sg_cookie_join(sg_cookie_mac_xxh3((const __u8 *)&in, ctl->secret[slot & 1]), low);
}

/* The learned options of map value @xb in @b; NULL when @xb is (unknown backend). */
static __always_inline const struct sg_backend_opts *
backend_opts(const struct sg_xdp_backend *xb, struct sg_backend_opts *b)
{
	if (!xb)
		return NULL;
	b->mss = xb->mss;
	b->has_wscale = xb->has_wscale;
	b->wscale = xb->wscale;
	b->sack_ok = xb->sack_ok;
	b->told_before = xb->told_before;
	b->told_changed = xb->told_changed;
	b->told_since = xb->told_since;
	return b;
}

/* Fills the SYN-ACK's TCP header for @s; returns its length (24, 28 or 32).
 * The options are sg_synack_opts()'s, written as sg_tcpopts_build() does. */
static __always_inline __u32 synack_tcp(struct synack_tcp *t, const struct sg_xdp_ctl *ctl,
					const struct seg *s, const struct sg_xdp_backend *xb)
{
	struct sg_backend_opts b;
	struct sg_tcpopts o;
	__u32 n = 4;

	sg_synack_opts(&o, &s->o, backend_opts(xb, &b),
		       s->t.family == SG_AF_INET6 ? ctl->mss6 : ctl->mss4, ctl->default_wscale);
	t->h.source = bpf_htons(s->t.dport);
	t->h.dest = bpf_htons(s->t.sport);
	t->h.seq = bpf_htonl(cookie(ctl, s, sg_cookie_told(&o)));
	t->h.ack_seq = bpf_htonl(s->seq + 1);
	t->h.syn = 1;
	t->h.ack = 1;
	t->opt[0] = SG_TCPOPT_MSS;
	t->opt[1] = 4;
	t->opt[2] = o.mss >> 8;
	t->opt[3] = o.mss & 0xff;
	if (o.sack_ok) {
		t->opt[4] = SG_TCPOPT_NOP;
		t->opt[5] = SG_TCPOPT_NOP;
		t->opt[6] = SG_TCPOPT_SACK_PERM;
		t->opt[7] = 2;
		n = 8;
	}
	/* verifier workaround: n is 4 or 8 here, the masks say so */
	if (o.has_wscale) {
		t->opt[n & 15] = SG_TCPOPT_NOP;
		t->opt[(n + 1) & 15] = SG_TCPOPT_WSCALE;
		t->opt[(n + 2) & 15] = 3;
		t->opt[(n + 3) & 15] = o.wscale;
		n += 4;
	}
	t->h.doff = (sizeof(t->h) + n) / 4;
	return sizeof(t->h) + n;
}

/* Sum of the TCP pseudo-header of the reply (addresses swapped). */
static __always_inline __s64 pseudo_sum(const struct seg *s, __u32 tcplen)
{
	struct {
		__u8 saddr[16], daddr[16];
		__be32 len, proto;
	} p6 = {};
	struct {
		__u8 saddr[4], daddr[4];
		__be16 proto, len;
	} p4 = {};

	if (s->t.family == SG_AF_INET6) {
		__builtin_memcpy(p6.saddr, s->t.daddr, 16);
		__builtin_memcpy(p6.daddr, s->t.saddr, 16);
		p6.len = bpf_htonl(tcplen);
		p6.proto = bpf_htonl(IPPROTO_TCP);
		return bpf_csum_diff(0, 0, (__be32 *)&p6, sizeof(p6), 0);
	}
	__builtin_memcpy(p4.saddr, s->t.daddr, 4);
	__builtin_memcpy(p4.daddr, s->t.saddr, 4);
	p4.proto = bpf_htons(IPPROTO_TCP);
	p4.len = bpf_htons(tcplen);
	return bpf_csum_diff(0, 0, (__be32 *)&p4, sizeof(p4), 0);
}

/* Checksums and stores the TCP header @t of length @len at @off. */
static __always_inline int store_tcp(struct xdp_md *ctx, struct synack_tcp *t, __u32 len,
				     __u32 off, __s64 seed)
{
	__s64 sum;

	if (len == 24)
		sum = bpf_csum_diff(0, 0, (__be32 *)t, 24, seed);
	else if (len == 28)
		sum = bpf_csum_diff(0, 0, (__be32 *)t, 28, seed);
	else
		sum = bpf_csum_diff(0, 0, (__be32 *)t, 32, seed);
	if (sum < 0)
		return -1;
	t->h.check = csum_fold(sum);
	if (len == 24)
		return bpf_xdp_store_bytes(ctx, off, t, 24);
	if (len == 28)
		return bpf_xdp_store_bytes(ctx, off, t, 28);
	return bpf_xdp_store_bytes(ctx, off, t, 32);
}

/* Turns the frame into the SYN-ACK for @s, in place.  Returns 0; -1 if the
 * frame is untouched; -2 if it was changed and must not go on. */
static __always_inline int reply(struct xdp_md *ctx, const struct sg_xdp_ctl *ctl,
				 const struct seg *s, const struct sg_xdp_backend *b)
{
	struct synack_tcp t = {};
	__u32 tcplen = synack_tcp(&t, ctl, s, b);
	__u32 want = s->l4 + tcplen;
	void *data, *end;
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];
	__s64 seed = pseudo_sum(s, tcplen);

	if (seed < 0 ||
	    bpf_xdp_adjust_tail(ctx, (int)want - (int)bpf_xdp_get_buff_len(ctx)) < 0)
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return -2;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	if (s->t.family == SG_AF_INET6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -2;
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(tcplen);
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, s->t.daddr, 16);
		__builtin_memcpy(&ip6->daddr, s->t.saddr, 16);
	} else {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -2;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + tcplen);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, s->t.daddr, 4);
		__builtin_memcpy(&ip->daddr, s->t.saddr, 4);
		ip->check = csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
	}
	return store_tcp(ctx, &t, tcplen, s->l4, seed) < 0 ? -2 : 0;
}

/* With learn-first, whether this SYN to an unknown backend goes to the daemon:
 * a token bucket per CPU, SG_XDP_LEARN_BURST deep, one token per
 * SG_XDP_LEARN_GAP_NS (the daemon's own bucket decides after that). */
static __always_inline int learn_turn(void)
{
	__u32 k0 = 0, k1 = 1;
	uint64_t *at = bpf_map_lookup_elem(&sg_learn_at, &k0);
	uint64_t *tokens = bpf_map_lookup_elem(&sg_learn_at, &k1);

	if (!at || !tokens)
		return 0;
	return sg_bucket_take(at, tokens, bpf_ktime_get_ns(), SG_XDP_LEARN_GAP_NS,
			      SG_XDP_LEARN_BURST);
}

/* Whether conntrack has an entry for tuple @t (client -> server), in the
 * namespace of the receiving device.  Returns 1 or 0.
 * Verifier workaround: not inlined, for the stack as parse(). */
static __noinline int ct_known(struct xdp_md *ctx, const struct sg_tuple *t)
{
	struct bpf_ct_opts___sg opts = {.netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_TCP};
	struct bpf_sock_tuple bt = {};
	struct nf_conn *ct;
	__u32 len;

	if (t->family == SG_AF_INET6) {
		__builtin_memcpy(bt.ipv6.saddr, t->saddr, 16);
		__builtin_memcpy(bt.ipv6.daddr, t->daddr, 16);
		bt.ipv6.sport = bpf_htons(t->sport);
		bt.ipv6.dport = bpf_htons(t->dport);
		len = sizeof(bt.ipv6);
	} else {
		__builtin_memcpy(&bt.ipv4.saddr, t->saddr, 4);
		__builtin_memcpy(&bt.ipv4.daddr, t->daddr, 4);
		bt.ipv4.sport = bpf_htons(t->sport);
		bt.ipv4.dport = bpf_htons(t->dport);
		len = sizeof(bt.ipv4);
	}
	ct = bpf_xdp_ct_lookup(ctx, &bt, len, &opts, sizeof(opts));
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

/* sg_cookie_check() in the program: whether @c is a cookie issued for tuple
 * @t and client ISN @isn in the current or the previous slot, by a SYN-ACK
 * that told one of the window scales it may have told of backend @b (NULL:
 * unknown; cookie_mac.h).  Returns 0, or the counter of the reason it fails.
 * Verifier workaround: not inlined, for the stack as parse(). */
static __noinline int cookie_check(const struct sg_xdp_ctl *ctl, const struct sg_tuple *t,
				   __u32 isn, __u32 c, const struct sg_backend_opts *b)
{
	struct sg_cookie_mac_input in;
	uint64_t slot;
	__u8 told[2];
	unsigned n;

	if (sg_cookie_check_slot(c, ctl->slot, &slot) != 0)
		return SG_XDP_DROP_COOKIE_STALE;
	n = sg_cookie_told_candidates(c, slot, b, ctl->default_wscale, told);
	sg_cookie_mac_input_of(&in, t, isn, slot, c & 0xff, told[0]);
	if (sg_cookie_mac_matches(c, sg_cookie_mac_xxh3((const __u8 *)&in, ctl->secret[slot & 1])))
		return 0;
	if (n < 2)
		return SG_XDP_DROP_COOKIE_MAC;
	in.told = told[1];
	if (sg_cookie_mac_matches(c, sg_cookie_mac_xxh3((const __u8 *)&in, ctl->secret[slot & 1])))
		return 0;
	return SG_XDP_DROP_COOKIE_MAC;
}

/* The map value of the backend @t (client -> server) goes to, or NULL. */
static __always_inline const struct sg_xdp_backend *backend_of(const struct sg_tuple *t)
{
	struct sg_xdp_bkey bk = {};

	bk.family = t->family;
	bk.port = t->dport;
	__builtin_memcpy(bk.addr, t->daddr, 16);
	return bpf_map_lookup_elem(&sg_backends, &bk);
}

/* A client ACK to a protected port.  One without a conntrack entry must
 * carry a cookie, engaged or not (the daemon refuses it otherwise, in every
 * mode, and the rules drop what it does not take): checked as
 * on_client_ack() does (ISN seq - 1; for a zero-window probe without data,
 * seq), dropped if it fails, passed on unchanged to the daemon if it
 * verifies.  Not waiting for engagement keeps an ACK flood out of the queue
 * in adaptive mode too, where only SYNs engage cookies: the flood would
 * otherwise fill the queue the passed-through SYNs go to.  Anything else
 * passes. */
static __always_inline int on_ack(struct xdp_md *ctx, const struct sg_xdp_ctl *ctl,
				  const struct seg *s)
{
	struct sg_backend_opts bo;
	const struct sg_backend_opts *b;
	int r;

	if (!ctl->drop_acks || ct_known(ctx, &s->t))
		return XDP_PASS;
	count(SG_XDP_ACK, 0);
	b = backend_opts(backend_of(&s->t), &bo);
	r = cookie_check(ctl, &s->t, s->seq - 1, s->ack - 1, b);
	if (r && !s->payload && cookie_check(ctl, &s->t, s->seq, s->ack - 1, b) == 0)
		r = 0; /* the daemon sends the SYN-ACK again (resend_synack()) */
	if (r)
		return count((__u32)r, XDP_DROP);
	return count(SG_XDP_ACK_VALID, XDP_PASS);
}

SEC("xdp")
int syngate_xdp(struct xdp_md *ctx)
{
	struct seg s = {};
	const struct sg_xdp_backend *b;
	const struct sg_xdp_ctl *ctl;
	__u32 k = 0, *cur;
	int r;

	cur = bpf_map_lookup_elem(&sg_cur, &k);
	if (!cur)
		return XDP_PASS;
	k = *cur & 1;
	ctl = bpf_map_lookup_elem(&sg_ctl, &k);
	if (!ctl)
		return XDP_PASS;
	r = parse(ctx, &s);
	if (r > 0)
		return XDP_PASS;
	if (!(ctl->ports[(s.t.dport >> 6) & (SG_XDP_PORT_WORDS - 1)] & (1ULL << (s.t.dport & 63))) ||
	    (s.t.family == SG_AF_INET ? !ctl->ipv4 : !ctl->ipv6))
		return XDP_PASS;
	if (s.kind == SEG_ACK)
		return on_ack(ctx, ctl, &s);
	count(SG_XDP_SYN, 0);
	if (r < 0)
		return count(SG_XDP_PASS_SHAPE, XDP_PASS);
	if (!ctl->engaged)
		return count(SG_XDP_PASS_OFF, XDP_PASS);
	/* a SYN must reach conntrack to reopen an entry (TIME_WAIT after a
	 * reused port): answered here, its cookie ACK would be taken as a
	 * packet of the old connection and hang.  The daemon looks the tuple
	 * up too (ctnetlink) and passes it through. */
	if (ct_known(ctx, &s.t))
		return count(SG_XDP_PASS_CT, XDP_PASS);
	b = backend_of(&s.t);
	if (!b && ctl->learn_first && learn_turn())
		return count(SG_XDP_PASS_LEARN, XDP_PASS);
	r = reply(ctx, ctl, &s, b);
	if (r < 0)
		return count(SG_XDP_ERROR, r == -1 ? XDP_PASS : XDP_DROP);
	return count(SG_XDP_ANSWERED, XDP_TX);
}

/* --- TC ingress: SYNs conntrack knows skip the queue ----------------------
 *
 * A SYN the XDP program passes because its tuple has a conntrack entry (a
 * reused port: wrk or ab with a new connection per request reuse ports
 * every few seconds, within TIME_WAIT) must reach conntrack, not the daemon:
 * without this program the raw rules queue it and the daemon asks conntrack
 * again over ctnetlink before it lets it go.  XDP cannot mark a packet, so
 * this program, on the same interfaces after the skb is built, looks the
 * tuple up once more and sets the known mark; the raw rules send marked
 * SYNs straight to conntrack with the mark cleared.  Only a plain SYN
 * (IPv4 without options, IPv6 without extension headers) to a protected
 * port is looked at; everything else passes untouched (TC_ACT_OK). */
#define TC_ACT_OK 0

/* Fills @bt (and @len) from the plain TCP SYN in @skb to a protected port
 * of @ctl; returns 0, or -1 for anything else. */
static __always_inline int tc_syn_tuple(struct __sk_buff *skb, const struct sg_xdp_ctl *ctl,
					struct bpf_sock_tuple *bt, __u32 *len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u16 dport;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP) && ctl->ipv4) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl != 5 ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return -1;
		th = (void *)(ip + 1);
		bt->ipv4.saddr = ip->saddr;
		bt->ipv4.daddr = ip->daddr;
		*len = sizeof(bt->ipv4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6) && ctl->ipv6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		th = (void *)(ip6 + 1);
		__builtin_memcpy(bt->ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(bt->ipv6.daddr, &ip6->daddr, 16);
		*len = sizeof(bt->ipv6);
	} else {
		return -1;
	}
	if ((void *)(th + 1) > end || !th->syn || th->ack || th->rst || th->fin)
		return -1;
	dport = bpf_ntohs(th->dest);
	if (!(ctl->ports[(dport >> 6) & (SG_XDP_PORT_WORDS - 1)] & (1ULL << (dport & 63))))
		return -1;
	if (*len == sizeof(bt->ipv4)) {
		bt->ipv4.sport = th->source;
		bt->ipv4.dport = th->dest;
	} else {
		bt->ipv6.sport = th->source;
		bt->ipv6.dport = th->dest;
	}
	return 0;
}

SEC("tc")
int syngate_tc(struct __sk_buff *skb)
{
	struct bpf_ct_opts___sg opts = {.netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_TCP};
	struct bpf_sock_tuple bt = {};
	const struct sg_xdp_ctl *ctl;
	struct nf_conn *ct;
	__u32 k = 0, *cur, len = 0;

	cur = bpf_map_lookup_elem(&sg_cur, &k);
	if (!cur)
		return TC_ACT_OK;
	k = *cur & 1;
	ctl = bpf_map_lookup_elem(&sg_ctl, &k);
	if (!ctl || !ctl->known_mark || tc_syn_tuple(skb, ctl, &bt, &len) != 0)
		return TC_ACT_OK;
	ct = bpf_skb_ct_lookup(skb, &bt, len, &opts, sizeof(opts));
	if (!ct)
		return TC_ACT_OK;
	bpf_ct_release(ct);
	skb->mark |= ctl->known_mark;
	return count(SG_XDP_TC_KNOWN, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";

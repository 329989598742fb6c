/* libFuzzer target, differential: the XDP program (src/bpf/syngate_xdp.c)
 * compiled for the host against the daemon's codec, cookies and proxy.
 *
 * Input:
 *   byte 0  the program's settings: engaged (bit 0), learn-first (1),
 *           drop-acks (2), conntrack knows the tuple (3), IPv4 (4) and
 *           IPv6 (5) protected, the backend learned (6), odd key slot (7)
 *   byte 1  the learned backend: MSS 536/1200/1460/9000 (bits 0-1), window
 *           scaling (2), SACK (3), its scale (4-7, capped at 14)
 *   byte 2  the follow-up: the client ACKs an XDP SYN-ACK (bit 0), as a
 *           zero-window probe (1), with 16 bytes of data (2), with the ack
 *           number xor bytes 3-6 (3); every port protected (4), else 80
 *           and 443; the MSS caps and default scale (5-7); learning tokens
 *           (bits 5-6)
 *   3-6     the xor of bit 3
 *   7-      an Ethernet frame, as a driver hands it to XDP
 *
 * The same frame goes to the daemon's side: the codec parses the IP
 * packet, a proxy in mode always (same keys, MSS caps, default scale; the
 * backend's options through the io table, a fresh one per frame) answers
 * a SYN and checks an ACK's cookie (on_client_ack(): either window scale
 * the SYN-ACK may have told, the zero-window probe).  They must agree:
 *   - XDP_TX: the daemon answers the frame's SYN with exactly the same IP
 *     packet (byte for byte), and the MAC addresses are swapped;
 *   - a checked ACK: the program drops it only if the daemon's cookie check
 *     fails (or the daemon's codec refuses the packet), and passes it as
 *     valid only if the daemon's check passes;
 *   - XDP_PASS leaves the frame as it was; the program never reads past
 *     the frame (ASan: the slack after data_end is poisoned).
 * The bpf helpers are defined here with the kernel's semantics.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sanitizer/asan_interface.h>

#include "../../src/bpf/syngate_xdp.c"

#include "syngate/core/cookie.h"
#include "syngate/core/packet.h"
#include "syngate/core/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ETH_LEN 14
#define TAILROOM 256 /* bpf_xdp_adjust_tail() may grow the frame this much */
/* The frame starts 2 bytes into its buffer (NET_IP_ALIGN on the arches that
 * have it) so that the IP header is 4-byte aligned as the C types want: on
 * x86 drivers leave it at 2 mod 4 and eBPF loads it unaligned, which UBSan
 * would report of the host build. */
#define IP_ALIGN 2
#define SLOT 1000
#define HDR 7 /* input bytes before the frame */

/* The maps' contents and the program's environment. */
static struct {
	struct sg_xdp_ctl ctl;
	__u32 cur;
	bool has_backend;
	struct sg_xdp_bkey bkey;
	struct sg_xdp_backend backend;
	__u64 stats[SG_XDP__COUNT];
	uint64_t learn_at[2];
	bool ct_known;
	__u64 now_ns;
	uint8_t *buf; /* the frame's buffer: IP_ALIGN + frame + TAILROOM */
	size_t cap;
} H;

/* --- the helpers ---------------------------------------------------------- */

static void *bpf_map_lookup_elem(void *map, const void *key)
{
	__u32 k;

	if (map == &sg_backends)
		return H.has_backend && !memcmp(key, &H.bkey, sizeof(H.bkey)) ? &H.backend : NULL;
	memcpy(&k, key, sizeof(k));
	if (map == &sg_cur)
		return k == 0 ? &H.cur : NULL;
	if (map == &sg_ctl)
		return k < 2 ? &H.ctl : NULL; /* both entries: the current one */
	if (map == &sg_stats)
		return k < SG_XDP__COUNT ? &H.stats[k] : NULL;
	if (map == &sg_learn_at)
		return k < 2 ? &H.learn_at[k] : NULL;
	abort();
}

static __u64 bpf_ktime_get_ns(void)
{
	return H.now_ns;
}

static long bpf_loop(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags)
{
	long (*fn)(__u32, void *) = (long (*)(__u32, void *))callback_fn;
	__u32 i;

	if (flags)
		return -22;
	for (i = 0; i < nr_loops; i++)
		if (fn(i, callback_ctx))
			return i + 1;
	return i;
}

/* csum_partial() of ~from and to, 32-bit words, seeded: a 32-bit one's
 * complement sum, as the kernel's (any value congruent mod 0xffff folds the
 * same). */
static __s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed)
{
	uint64_t sum = seed;
	__u32 i, w;

	if ((from_size | to_size) & 3 || from_size + to_size > 512)
		return -22;
	for (i = 0; i < from_size / 4; i++) {
		memcpy(&w, &from[i], 4);
		sum += (uint32_t)~w;
	}
	for (i = 0; i < to_size / 4; i++) {
		memcpy(&w, &to[i], 4);
		sum += w;
	}
	while (sum >> 32)
		sum = (sum & 0xffffffff) + (sum >> 32);
	return (__s64)sum;
}

static __u64 bpf_xdp_get_buff_len(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

static long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta)
{
	unsigned long end = ctx->data_end + (unsigned long)(long)delta;

	if (end > (unsigned long)(H.buf + H.cap) || end < ctx->data + ETH_LEN)
		return -22;
	if (delta > 0) {
		ASAN_UNPOISON_MEMORY_REGION((void *)ctx->data_end, (size_t)delta);
		memset((void *)ctx->data_end, 0, (size_t)delta);
	} else {
		ASAN_POISON_MEMORY_REGION((void *)end, (size_t)-delta);
	}
	ctx->data_end = end;
	return 0;
}

static long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len)
{
	if ((__u64)offset + len > bpf_xdp_get_buff_len(ctx))
		return -22;
	memcpy(buf, (void *)(ctx->data + offset), len);
	return 0;
}

static long bpf_xdp_store_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len)
{
	if ((__u64)offset + len > bpf_xdp_get_buff_len(ctx))
		return -22;
	memcpy((void *)(ctx->data + offset), buf, len);
	return 0;
}

struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_len,
                                  struct bpf_ct_opts___sg *opts, __u32 opts_len)
{
	static struct nf_conn ct;

	(void)ctx;
	(void)tuple;
	if ((tuple_len != sizeof(tuple->ipv4) && tuple_len != sizeof(tuple->ipv6)) ||
	    opts_len != sizeof(*opts))
		abort();
	return H.ct_known ? &ct : NULL;
}

struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *ctx, struct bpf_sock_tuple *tuple,
                                  __u32 tuple_len, struct bpf_ct_opts___sg *opts, __u32 opts_len)
{
	(void)ctx;
	(void)tuple;
	(void)tuple_len;
	(void)opts;
	(void)opts_len;
	return NULL;
}

void bpf_ct_release(struct nf_conn *ct)
{
	(void)ct;
}

/* --- the daemon's side ---------------------------------------------------- */

static int d_fail(void *ctx, const struct sg_tuple *t)
{
	(void)ctx;
	(void)t;
	abort(); /* a SYN or a cookie ACK deletes or establishes no entry */
}

/* The entry of a valid cookie ACK (the proxy then builds the backend SYN). */
static int d_create(void *ctx, const struct sg_ct_new *n)
{
	(void)ctx;
	(void)n;
	return 0;
}

static int d_establish(void *ctx, const struct sg_tuple *t, int32_t off, uint32_t mark,
                       const struct sg_ct_synproxy *sp)
{
	(void)off;
	(void)mark;
	(void)sp;
	return d_fail(ctx, t);
}

static int d_send(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)pkt;
	(void)len;
	abort();
}

/* The options the XDP map holds of backend @b (the daemon's learned table
 * and the map agree: the daemon fills the map). */
static int d_backend(void *ctx, const struct sg_tuple *b, struct sg_backend_opts *o)
{
	(void)ctx;
	if (!H.has_backend || b->family != H.bkey.family || b->dport != H.bkey.port ||
	    memcmp(b->daddr, H.bkey.addr, 16))
		return -1;
	o->mss = H.backend.mss;
	o->has_wscale = H.backend.has_wscale;
	o->wscale = H.backend.wscale;
	o->sack_ok = H.backend.sack_ok;
	o->told_before = H.backend.told_before;
	o->told_changed = H.backend.told_changed;
	o->told_since = H.backend.told_since;
	return 0;
}

static const struct sg_proxy_io dio = {.ct_create = d_create,
                                       .ct_establish = d_establish,
                                       .ct_delete = d_fail,
                                       .send = d_send,
                                       .backend = d_backend};

static struct sg_cookie_keys keys;

/* The daemon's answer to the IP packet @ip/@len, by a proxy of its own
 * (the same keys and settings as the program's): its action in @a, and
 * whether it took the packet's cookie (an ACK's, or a zero-window probe's). */
static bool daemon_answer(const uint8_t *ip, size_t len, struct sg_action *a)
{
	const struct sg_counters *k;
	bool took;
	static const uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_config c;
	struct sg_proxy *px;

	sg_proxy_defaults(&c);
	c.mode = SG_MODE_ALWAYS;
	c.learn_first = false; /* the program's learning turn passed, or there was none */
	c.mss4 = H.ctl.mss4;
	c.mss6 = H.ctl.mss6;
	c.default_wscale = H.ctl.default_wscale;
	c.table_max = 1;
	px = sg_proxy_new(&c, &dio, 1000000, rnd);
	if (!px)
		abort();
	sg_proxy_set_keys(px, &keys);
	sg_proxy_packet(px, ip, len, 1000000, a);
	k = sg_proxy_counters(px);
	took = k->cookies_valid + k->synacks_resent != 0;
	sg_proxy_free(px);
	return took;
}

/* --- one frame through both ----------------------------------------------- */

/* Runs the program on @frame/@len; the frame after it in @out (@out_len). */
static int run_xdp(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len)
{
	struct xdp_md ctx;
	int v;

	H.cap = IP_ALIGN + len + TAILROOM;
	H.buf = malloc(H.cap);
	if (!H.buf)
		abort();
	memcpy(H.buf + IP_ALIGN, frame, len);
	ASAN_POISON_MEMORY_REGION(H.buf, IP_ALIGN);
	ASAN_POISON_MEMORY_REGION(H.buf + IP_ALIGN + len, TAILROOM);
	ctx.data = (unsigned long)(H.buf + IP_ALIGN);
	ctx.data_end = (unsigned long)(H.buf + IP_ALIGN + len);
	memset(H.stats, 0, sizeof(H.stats));
	v = syngate_xdp(&ctx);
	*out_len = ctx.data_end - ctx.data;
	memcpy(out, (const void *)ctx.data, *out_len);
	ASAN_UNPOISON_MEMORY_REGION(H.buf, H.cap);
	free(H.buf);
	H.buf = NULL;
	return v;
}

static void check_synack(const uint8_t *frame, size_t len, const uint8_t *out, size_t out_len)
{
	struct sg_action a;

	if (len < ETH_LEN || out_len < ETH_LEN || memcmp(out, frame + 6, 6) ||
	    memcmp(out + 6, frame, 6) || memcmp(out + 12, frame + 12, 2))
		abort();
	daemon_answer(frame + ETH_LEN, len - ETH_LEN, &a);
	if (a.verdict != SG_V_REPEAT || a.len != out_len - ETH_LEN ||
	    memcmp(a.out, out + ETH_LEN, a.len))
		abort(); /* the daemon would answer differently */
}

static void check_ack(int v, const uint8_t *frame, size_t len)
{
	struct sg_action a;
	struct sg_pkt p;
	bool parsed = len >= ETH_LEN && sg_pkt_parse(&p, frame + ETH_LEN, len - ETH_LEN) == SG_R_OK;
	bool dropped = v == XDP_DROP, valid = H.stats[SG_XDP_ACK_VALID] != 0;

	if (!H.stats[SG_XDP_ACK])
		return; /* not checked */
	if (dropped != (H.stats[SG_XDP_DROP_COOKIE_MAC] + H.stats[SG_XDP_DROP_COOKIE_STALE] != 0) ||
	    dropped == valid)
		abort();
	if (!parsed || (p.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) != SG_TCP_ACK)
		return; /* the daemon drops it as malformed (or no ACK of its own) */
	if (daemon_answer(frame + ETH_LEN, len - ETH_LEN, &a) != valid)
		abort();
}

/* The client's ACK of the SYN-ACK @synack (@len bytes), as byte 2 says. */
static size_t client_ack(const uint8_t *synack, size_t len, uint8_t how, uint32_t xor, uint8_t *out)
{
	struct sg_pkt p;
	struct sg_seg s;
	size_t n;

	if (sg_pkt_parse(&p, synack + ETH_LEN, len - ETH_LEN) != SG_R_OK)
		abort();
	memset(&s, 0, sizeof(s));
	s.tuple = sg_tuple_reverse(&p.tuple);
	s.seq = (how & 2) ? p.ack - 1 : p.ack;
	s.ack = (p.seq + 1) ^ ((how & 8) ? xor : 0);
	s.flags = SG_TCP_ACK;
	s.window = 502;
	memcpy(out, synack + 6, 6);
	memcpy(out + 6, synack, 6);
	memcpy(out + 12, synack + 12, 2);
	n = sg_pkt_build(out + ETH_LEN, SG_PKT_MAX_BUILT, &s);
	if (how & 4) { /* 16 bytes of data */
		memset(out + ETH_LEN + n, 'd', 16);
		if (s.tuple.family == AF_INET6) {
			out[ETH_LEN + 5] = (uint8_t)(out[ETH_LEN + 5] + 16);
		} else {
			uint16_t sum;

			out[ETH_LEN + 3] = (uint8_t)(out[ETH_LEN + 3] + 16);
			out[ETH_LEN + 10] = out[ETH_LEN + 11] = 0;
			sum = sg_csum_ipv4(out + ETH_LEN, 20);
			memcpy(out + ETH_LEN + 10, &sum, 2);
		}
		n += 16;
	}
	return ETH_LEN + n;
}

static void setup(const uint8_t *h)
{
	static const uint16_t mss[4] = {536, 1200, 1460, 9000};
	uint64_t slot = SLOT + (h[0] >> 7);

	memset(&H.ctl, 0, sizeof(H.ctl));
	H.cur = 0;
	H.ctl.engaged = h[0] & 1;
	H.ctl.learn_first = (h[0] >> 1) & 1;
	H.ctl.drop_acks = (h[0] >> 2) & 1;
	H.ct_known = (h[0] >> 3) & 1;
	H.ctl.ipv4 = (h[0] >> 4) & 1;
	H.ctl.ipv6 = (h[0] >> 5) & 1;
	H.ctl.mss4 = (h[2] & 0x20) ? 536 : 1460;
	H.ctl.mss6 = (h[2] & 0x40) ? 1220 : 1440;
	H.ctl.default_wscale = (h[2] & 0x80) ? 14 : 7;
	if (h[2] & 0x10)
		memset(H.ctl.ports, 0xff, sizeof(H.ctl.ports));
	H.ctl.ports[80 >> 6] |= 1ULL << (80 & 63);
	H.ctl.ports[443 >> 6] |= 1ULL << (443 & 63);
	H.ctl.slot = slot;
	for (size_t i = 0; i < sizeof(H.ctl.secret); i++)
		((uint8_t *)H.ctl.secret)[i] = (uint8_t)(i * 167 + 13);
	memcpy(keys.secret, H.ctl.secret, sizeof(keys.secret));
	keys.slot = slot;
	keys.period = 30;
	H.now_ns = 5000000000ull;
	H.learn_at[0] = H.now_ns;
	H.learn_at[1] = (h[2] >> 5) & 3;
	H.has_backend = false;
	H.backend.mss = mss[h[1] & 3];
	H.backend.has_wscale = (h[1] >> 2) & 1;
	H.backend.sack_ok = (h[1] >> 3) & 1;
	H.backend.wscale = (uint8_t)((h[1] >> 4) > SG_WSCALE_MAX ? SG_WSCALE_MAX : h[1] >> 4);
	/* what it told before a change of its scale, from bytes 5-6 (they are
	 * the ack's xor too) */
	H.backend.told_changed = h[6] & 1;
	H.backend.told_before = h[5] % 16 == 15 ? SG_COOKIE_TOLD_NONE : (uint8_t)(h[5] % 16);
	H.backend.told_since = slot + (h[6] >> 1 & 1);
}

/* The backend the frame's SYN goes to is the learned one (bit 6). */
static void learn_backend(const uint8_t *h, const uint8_t *frame, size_t len)
{
	struct sg_pkt p;

	if (!(h[0] & 0x40) || len < ETH_LEN ||
	    sg_pkt_parse(&p, frame + ETH_LEN, len - ETH_LEN) != SG_R_OK)
		return;
	memset(&H.bkey, 0, sizeof(H.bkey));
	H.bkey.family = p.tuple.family;
	H.bkey.port = p.tuple.dport;
	memcpy(H.bkey.addr, p.tuple.daddr, 16);
	H.has_backend = true;
}

static void one(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len, int *v)
{
	*v = run_xdp(frame, len, out, out_len);
	if (getenv("FUZZ_XDP_DEBUG")) { /* what a seed reached */
#define NAME(id, name, total) [id] = name,
		static const char *const names[SG_XDP__COUNT] = {SG_XDP_COUNTERS(NAME)};
#undef NAME

		fprintf(stderr, "verdict %d:", *v);
		for (int i = 0; i < SG_XDP__COUNT; i++)
			if (H.stats[i])
				fprintf(stderr, " %s", names[i]);
		fprintf(stderr, "\n");
	}
	switch (*v) {
	case XDP_TX:
		if (!H.stats[SG_XDP_ANSWERED])
			abort();
		check_synack(frame, len, out, *out_len);
		break;
	case XDP_PASS:
		if (*out_len != len || memcmp(out, frame, len))
			abort(); /* passed on changed */
		check_ack(*v, frame, len);
		break;
	case XDP_DROP:
		if (!H.stats[SG_XDP_ERROR])
			check_ack(*v, frame, len);
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[4096], ack[ETH_LEN + SG_PKT_MAX_BUILT + 16];
	const uint8_t *frame = data + HDR;
	size_t len, out_len, ack_len, n2;
	uint32_t xor ;
	int v;

	if (size < HDR || size - HDR > sizeof(out) - TAILROOM)
		return 0;
	len = size - HDR;
	memcpy(&xor, data + 3, 4);
	setup(data);
	learn_backend(data, frame, len);
	one(frame, len, out, &out_len, &v);
	if (v != XDP_TX || !(data[2] & 1))
		return 0;
	ack_len = client_ack(out, out_len, data[2], xor, ack);
	one(ack, ack_len, out, &n2, &v);
	if ((data[2] & 0xe) == 0 && H.ctl.drop_acks && !H.ct_known && v != XDP_PASS)
		abort(); /* the plain ACK of the program's own SYN-ACK */
	return 0;
}

/* libFuzzer target: the proxy state machine (src/core/proxy.c) fed packet
 * sequences, with its io hooks failing as the input says.
 *
 * Input:
 *   byte 0        configuration: mode (bits 0-1), timestamps (2),
 *                 rst-invalid (3), learn (4), table-size 1-8 (5-7)
 *   byte 1        n: the length of the fault script
 *   n bytes       the fault script: each io hook call takes the next byte
 *                 (cyclically; none: every call succeeds): bit 0 fails the
 *                 call, bits 1-2 the errno (EEXIST ENOENT EIO ENOBUFS);
 *                 ct_lookup answers bit 0 ? -1 : bit 1; backend gives the
 *                 options of bits 2-7 unless bit 0
 *   the rest      operations (op_*), each an opcode byte (bits 0-3; 4-7 are
 *                 its flags) and its arguments
 *
 * The operations build the packets a client, a backend or an attacker would
 * send: raw bytes, SYNs, the ACK of the last cookie SYN-ACK (valid, a
 * zero-window probe, or off by some bits), the backend's SYN-ACK or RST to
 * the last backend SYN, data and RSTs on the tuples in play; and the
 * daemon's calls: ticks (time only goes forward), key rotation, live
 * reconfiguration within the ranges config.c accepts, XDP's SYN counts.
 *
 * After each step: the verdict is one of the three, the half-open count is
 * within the table, and every packet the proxy builds (the replacement and
 * what it sends) parses with correct checksums.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "syngate/core/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) << 8 | u8(in));
}

static uint32_t u32(struct in *in)
{
	return (uint32_t)u16(in) << 16 | u16(in);
}

/* The run's state: the fault script, the clock, what the proxy sent last. */
static struct {
	const uint8_t *faults;
	size_t nfaults, next;
	uint64_t now;
	struct sg_tuple last_synack; /* cookie SYN-ACK (server -> client) */
	uint32_t last_cookie, last_isn;
	bool have_synack;
	struct sg_tuple last_bsyn; /* backend SYN (client -> server) */
	uint32_t last_bsyn_seq;
	bool have_bsyn;
	uint32_t table_max;
} S;

static uint8_t fault(void)
{
	uint8_t f;

	if (!S.nfaults)
		return 0;
	f = S.faults[S.next++ % S.nfaults];
	return f;
}

/* 0, or -1 with the errno the fault byte names. */
static int io_result(void)
{
	static const int errs[] = {EEXIST, ENOENT, EIO, ENOBUFS};
	uint8_t f = fault();

	if (!(f & 1))
		return 0;
	errno = errs[(f >> 1) & 3];
	return -1;
}

/* Every packet syngate builds must parse, with valid checksums. */
static void check_built(const uint8_t *pkt, size_t len)
{
	struct sg_pkt p;

	if (len == 0 || len > SG_PKT_MAX_BUILT || sg_pkt_parse(&p, pkt, len) != SG_R_OK ||
	    p.payload_len != 0 || p.len != len)
		abort();
	if (sg_csum_tcp(p.tuple.family, p.tuple.saddr, p.tuple.daddr, pkt + p.l4off,
	                len - p.l4off) != 0)
		abort();
	if (p.tuple.family == AF_INET && sg_csum_ipv4(pkt, 20) != 0)
		abort();
}

static void note_sent(const uint8_t *pkt, size_t len);

static int m_create(void *ctx, const struct sg_ct_new *n)
{
	(void)ctx;
	if (n->orig.family != AF_INET && n->orig.family != AF_INET6)
		abort();
	return io_result();
}

static int m_establish(void *ctx, const struct sg_tuple *t, int32_t off, uint32_t mark,
                       const struct sg_ct_synproxy *sp)
{
	(void)ctx;
	(void)t;
	(void)off;
	(void)mark;
	(void)sp;
	return io_result();
}

static int m_delete(void *ctx, const struct sg_tuple *t)
{
	(void)ctx;
	(void)t;
	return io_result();
}

static int m_synproxy(void *ctx, const struct sg_tuple *t, const struct sg_ct_synproxy *sp)
{
	(void)ctx;
	(void)t;
	(void)sp;
	return io_result();
}

static int m_lookup(void *ctx, const struct sg_tuple *t)
{
	uint8_t f = fault();

	(void)ctx;
	(void)t;
	if (f & 1) {
		errno = EIO;
		return -1;
	}
	return (f >> 1) & 1;
}

static int m_send(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	check_built(pkt, len);
	note_sent(pkt, len);
	return io_result();
}

static void m_learned(void *ctx, const struct sg_tuple *b, const struct sg_backend_opts *o)
{
	(void)ctx;
	(void)b;
	if (o->has_wscale && o->wscale > SG_WSCALE_MAX)
		abort();
}

static int m_backend(void *ctx, const struct sg_tuple *b, struct sg_backend_opts *o)
{
	uint8_t f = fault();

	(void)ctx;
	(void)b;
	if (f & 1)
		return -1;
	memset(o, 0, sizeof(*o)); /* told_*: a record that told no other scale yet */
	o->has_wscale = f & 4;
	o->wscale = (uint8_t)((f >> 3) % (SG_WSCALE_MAX + 1));
	o->sack_ok = f & 2;
	o->mss = (f & 0x80) ? 536 : 1460;
	return 0;
}

static void m_completed(void *ctx, const struct sg_tuple *t)
{
	(void)ctx;
	(void)t;
}

static const struct sg_proxy_io io = {
    .ct_create = m_create,
    .ct_establish = m_establish,
    .ct_delete = m_delete,
    .ct_synproxy = m_synproxy,
    .ct_lookup = m_lookup,
    .send = m_send,
    .learned = m_learned,
    .backend = m_backend,
    .completed = m_completed,
};

/* Remembers the last cookie SYN-ACK and the last backend SYN syngate made. */
static void note_sent(const uint8_t *pkt, size_t len)
{
	struct sg_pkt p;

	if (sg_pkt_parse(&p, pkt, len) != SG_R_OK)
		return;
	if (p.flags == (SG_TCP_SYN | SG_TCP_ACK)) {
		S.last_synack = p.tuple;
		S.last_cookie = p.seq;
		S.last_isn = p.ack - 1;
		S.have_synack = true;
	} else if (p.flags == SG_TCP_SYN) {
		S.last_bsyn = p.tuple;
		S.last_bsyn_seq = p.seq;
		S.have_bsyn = true;
	}
}

/* Client @i of 8 (4 per family) towards port 80 or 443. */
static struct sg_tuple client(uint8_t i)
{
	struct sg_tuple t;

	memset(&t, 0, sizeof(t));
	if (i & 4) {
		static const uint8_t c6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
		                               0,    0,    0,    0,    0, 0, 0, 1};
		static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
		                               0,    0,    0,    0,    0, 0, 0, 0x10};

		t.family = AF_INET6;
		memcpy(t.saddr, c6, 16);
		memcpy(t.daddr, s6, 16);
		t.saddr[15] = (uint8_t)(1 + (i & 1)); /* two sources in one /64 */
	} else {
		t.family = AF_INET;
		t.saddr[0] = 198, t.saddr[1] = 51, t.saddr[2] = 100,
		t.saddr[3] = (uint8_t)(1 + (i & 1));
		t.daddr[0] = 203, t.daddr[1] = 0, t.daddr[2] = 113, t.daddr[3] = 10;
	}
	t.sport = (uint16_t)(40000 + (i & 3));
	t.dport = (i & 2) ? 443 : 80;
	return t;
}

/* TCP options from the bits of @b (a Linux SYN's by default). */
static struct sg_tcpopts opts_of(uint8_t b, struct in *in)
{
	struct sg_tcpopts o;

	memset(&o, 0, sizeof(o));
	o.has_mss = b & 1;
	o.mss = (b & 0x20) ? u16(in) : 1460;
	o.sack_ok = b & 2;
	o.has_ts = b & 4;
	o.tsval = (b & 4) ? u32(in) : 0;
	o.tsecr = (b & 0x40) ? u32(in) : 0;
	o.has_wscale = b & 8;
	o.wscale = (b & 0x10) ? (uint8_t)(u8(in) % (SG_WSCALE_MAX + 1)) : 7;
	return o;
}

static bool same_tuple(const struct sg_tuple *a, const struct sg_tuple *b)
{
	size_t n = sg_addr_len(a->family);

	return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->saddr, b->saddr, n) && !memcmp(a->daddr, b->daddr, n);
}

/* The action @a for packet @pkt: a packet that does not parse is dropped;
 * a replacement that goes on (NF_ACCEPT) keeps the packet's tuple, the one
 * conntrack attached to it; one reflected (NF_REPEAT, marked) reverses it. */
static void check_action(const uint8_t *pkt, size_t len, const struct sg_action *a)
{
	struct sg_pkt in, out;

	if (a->verdict != SG_V_DROP && a->verdict != SG_V_ACCEPT && a->verdict != SG_V_REPEAT)
		abort();
	if ((unsigned)a->reason >= SG_R__COUNT)
		abort();
	if (sg_pkt_parse(&in, pkt, len) != SG_R_OK) {
		if (a->verdict != SG_V_DROP || a->len || a->reason == SG_R_OK)
			abort();
		return;
	}
	if (a->verdict == SG_V_REPEAT && (!a->len || !a->set_mark))
		abort();
	if (!a->len)
		return;
	check_built(a->out, a->len);
	if (a->verdict == SG_V_DROP)
		abort(); /* a replacement nobody sends */
	if (sg_pkt_parse(&out, a->out, a->len) != SG_R_OK)
		abort();
	if (a->verdict == SG_V_ACCEPT && !same_tuple(&out.tuple, &in.tuple))
		abort();
	if (a->verdict == SG_V_REPEAT) {
		struct sg_tuple r = sg_tuple_reverse(&in.tuple);

		if (!same_tuple(&out.tuple, &r))
			abort();
	}
}

static void feed(struct sg_proxy *px, const uint8_t *pkt, size_t len, bool tracked)
{
	struct sg_action a;

	sg_proxy_packet_ct(px, pkt, len, tracked, S.now, &a);
	check_action(pkt, len, &a);
	if (a.len)
		note_sent(a.out, a.len);
	if (sg_proxy_halfopen(px) > S.table_max)
		abort();
}

static void send_seg(struct sg_proxy *px, const struct sg_seg *s, bool tracked)
{
	uint8_t pkt[SG_PKT_MAX_BUILT];
	size_t n = sg_pkt_build(pkt, sizeof(pkt), s);

	feed(px, pkt, n, tracked);
}

static void seg(struct sg_seg *s, const struct sg_tuple *t, uint32_t seq, uint32_t ack,
                uint8_t flags, uint16_t win)
{
	memset(s, 0, sizeof(*s));
	s->tuple = *t;
	s->seq = seq;
	s->ack = ack;
	s->flags = flags;
	s->window = win;
}

/* Raw bytes: up to 255 of them, as they came. */
static void op_raw(struct sg_proxy *px, struct in *in, bool tracked)
{
	uint8_t len = u8(in), buf[255];
	size_t n = len < in->n ? len : in->n;

	memcpy(buf, in->p, n);
	in->p += n;
	in->n -= n;
	feed(px, buf, n, tracked);
}

static void op_syn(struct sg_proxy *px, struct in *in)
{
	struct sg_tuple t = client(u8(in));
	struct sg_seg s;

	seg(&s, &t, u32(in), 0, SG_TCP_SYN | (u8(in) & (SG_TCP_ECE | SG_TCP_CWR | SG_TCP_PSH)),
	    64240);
	s.opts = opts_of(u8(in), in);
	send_seg(px, &s, false);
}

/* The client's answer to the last cookie SYN-ACK: its ACK (seq ISN + 1),
 * a zero-window probe (seq ISN), or either with flipped bits; with data
 * (the window update's payload-less ACK otherwise), FIN, timestamps. */
static void op_ack(struct sg_proxy *px, struct in *in)
{
	uint8_t how = u8(in);
	struct sg_tuple t;
	struct sg_seg s;
	uint32_t seq, ack;

	if (!S.have_synack)
		return;
	t = sg_tuple_reverse(&S.last_synack);
	seq = S.last_isn + ((how & 1) ? 0 : 1);
	ack = S.last_cookie + 1;
	if (how & 2)
		ack ^= u32(in);
	if (how & 4)
		seq ^= u32(in);
	seg(&s, &t, seq, ack,
	    SG_TCP_ACK | ((how & 8) ? SG_TCP_FIN : 0) | ((how & 16) ? SG_TCP_PSH : 0), u16(in));
	if (how & 32) {
		s.opts.has_ts = true;
		s.opts.tsval = u32(in);
		s.opts.tsecr = u32(in);
	}
	if (how & 64) { /* data: a builder writes none, so raw bytes after the header */
		uint8_t pkt[SG_PKT_MAX_BUILT + 16];
		size_t n = sg_pkt_build(pkt, SG_PKT_MAX_BUILT, &s);
		struct sg_pkt p;

		if (sg_pkt_parse(&p, pkt, n) != SG_R_OK)
			abort();
		memset(pkt + n, 'x', 16);
		if (t.family == AF_INET6) {
			pkt[5] = (uint8_t)(pkt[5] + 16);
		} else {
			pkt[3] = (uint8_t)(pkt[3] + 16);
			pkt[10] = pkt[11] = 0;
			memcpy(pkt + 10, &(uint16_t){sg_csum_ipv4(pkt, 20)}, 2);
		}
		feed(px, pkt, n + 16, (how & 128) != 0);
		return;
	}
	send_seg(px, &s, (how & 128) != 0);
}

/* The backend's answer to the last backend SYN: SYN-ACK (its options from
 * the input), RST+ACK or a bare RST, with the right ack or another. */
static void op_backend(struct sg_proxy *px, struct in *in)
{
	uint8_t how = u8(in);
	struct sg_tuple r;
	struct sg_seg s;
	uint32_t ack;

	if (!S.have_bsyn)
		return;
	r = sg_tuple_reverse(&S.last_bsyn);
	ack = S.last_bsyn_seq + 1;
	if (how & 1)
		ack ^= u32(in);
	switch ((how >> 1) & 3) {
	case 0:
	case 1:
		seg(&s, &r, u32(in), ack, SG_TCP_SYN | SG_TCP_ACK, u16(in));
		s.opts = opts_of(u8(in), in);
		break;
	case 2:
		seg(&s, &r, 0, ack, SG_TCP_RST | SG_TCP_ACK, 0);
		break;
	default:
		seg(&s, &r, u32(in), 0, SG_TCP_RST, 0);
		break;
	}
	send_seg(px, &s, false);
}

/* A segment of any flags on a client's tuple, in either direction. */
static void op_segment(struct sg_proxy *px, struct in *in)
{
	uint8_t who = u8(in);
	struct sg_tuple t = client(who);
	struct sg_seg s;

	if (who & 8)
		t = sg_tuple_reverse(&t);
	seg(&s, &t, u32(in), u32(in), u8(in), u16(in));
	if (who & 16)
		s.opts = opts_of(u8(in), in);
	send_seg(px, &s, (who & 32) != 0);
}

/* Live reconfiguration within the ranges config.c accepts. */
static void op_reconfigure(struct sg_proxy *px, struct sg_proxy_config *c, struct in *in)
{
	uint8_t b = u8(in);

	c->mode = (enum sg_mode)(b % 3);
	c->rst_invalid = b & 4;
	c->learn_first = b & 8;
	c->per_source_max = (b & 16) ? u8(in) % 4 : 1024;
	c->backend_timeout_ms = 100 + u16(in) % 20000;
	c->syn_rto_ms = 10 + u16(in) % (c->backend_timeout_ms - 10);
	c->mss4 = (uint16_t)(536 + u16(in) % (65495 - 536 + 1));
	c->mss6 = (uint16_t)(1220 + u16(in) % (65475 - 1220 + 1));
	c->default_wscale = u8(in) % 15;
	c->adaptive_high = 1 + u8(in);
	c->adaptive_low = u8(in) % c->adaptive_high;
	c->adaptive_window_ms = 80 + u16(in);
	sg_proxy_reconfigure(px, c);
}

static void run(struct sg_proxy *px, struct sg_proxy_config *c, struct in *in)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];
	uint64_t flight[2];
	int steps = 0;

	while (in->n && steps++ < 256) {
		uint8_t op = u8(in);

		switch ((op & 0x0f) % 12) { /* bits 4-7: the operation's flags */
		case 0:
			op_raw(px, in, op & 0x10);
			break;
		case 1:
			op_syn(px, in);
			break;
		case 2:
			op_ack(px, in);
			break;
		case 3:
			op_backend(px, in);
			break;
		case 4:
			op_segment(px, in);
			break;
		case 5: /* time passes; the timers run */
			S.now += (uint64_t)u16(in) * ((op & 0x10) ? 1000 : 10);
			sg_proxy_tick(px, S.now, 1 + u8(in));
			break;
		case 6: /* the daemon rotates the keys each second */
			rnd[0] = u8(in);
			S.now += 1000000ull * (1 + (u8(in) & 63));
			sg_proxy_rotate(px, S.now / 1000000, rnd);
			break;
		case 7:
			op_reconfigure(px, c, in);
			break;
		case 8:
			sg_proxy_set_mode(px, (enum sg_mode)(u8(in) % 3));
			break;
		case 9:
			sg_proxy_note_syns(px, u16(in), S.now);
			break;
		case 10: { /* keys from the keyring (another worker's rotation) */
			struct sg_cookie_keys k;

			memset(&k, u8(in), sizeof(k.secret));
			k.period = c->cookie_period;
			k.slot = S.now / 1000000 / k.period + (u8(in) & 3);
			sg_proxy_set_keys(px, &k);
			break;
		}
		default:
			if (op & 0x10) { /* past any backend timeout: every entry expires */
				S.now += 601000000ull;
				sg_proxy_tick(px, S.now, 64); /* 4 times the table's 16 slots */
				if (sg_proxy_halfopen(px) != 0)
					abort();
				break;
			}
			S.now += u16(in);
			break;
		}
		sg_proxy_cookies_in_flight(px, flight);
		(void)sg_proxy_cookies_on(px);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct in in = {data, size};
	struct sg_proxy_config c;
	struct sg_proxy *px;
	uint8_t cfg = u8(&in), nf = u8(&in);

	memset(&S, 0, sizeof(S));
	S.faults = in.p;
	S.nfaults = nf < in.n ? nf : in.n;
	in.p += S.nfaults;
	in.n -= S.nfaults;
	S.now = 1000000000000ull; /* microseconds, monotonic */
	sg_proxy_defaults(&c);
	c.mode = (enum sg_mode)((cfg & 3) % 3);
	c.timestamps = cfg & 4;
	c.rst_invalid = cfg & 8;
	c.learn_first = cfg & 16;
	c.table_max = 1 + (cfg >> 5);
	c.per_source_max = 2;
	c.adaptive_high = 4;
	c.adaptive_low = 2;
	S.table_max = c.table_max;
	px = sg_proxy_new(&c, &io, S.now, rnd);
	if (!px)
		abort();
	run(px, &c, &in);
	if (getenv("FUZZ_PROXY_DEBUG")) { /* what a seed reached */
		const struct sg_counters *k = sg_proxy_counters(px);

#define PRINT(f, m, h) fprintf(stderr, "%s=%llu ", #f, (unsigned long long)k->f);
		SG_COUNTERS(PRINT)
#undef PRINT
		fprintf(stderr, "halfopen=%u\n", sg_proxy_halfopen(px));
	}
	sg_proxy_free(px);
	return 0;
}

/* cmocka tests of the proxy state machine, driven with real packets and a
 * recording io table in place of ctnetlink and raw sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "syngate/core/proxy.h"
#include "tuples.h"

#define CLIENT_ISN 0x11111111u
#define MS(x) ((uint64_t)(x) * 1000) /* the proxy's clock is in microseconds */
#define BACKEND_ISN 0x77777777u

/* What the proxy asked of the outside world, in order. */
struct rec {
	char log[16];
	int n;
	struct sg_ct_new created;
	int32_t off;
	uint32_t est_mark;
	bool est_sp; /* ct_establish was given a synproxy extension */
	struct sg_ct_synproxy sp;
	struct sg_tuple sp_orig; /* ct_synproxy's entry */
	uint8_t sent[4][SG_PKT_MAX_BUILT];
	size_t sent_len[4];
	int nsent;
	int create_errno; /* make the next ct_create fail with this */
	int establish_fail;
	int establish_token; /* make ct_establish queue the update: return this */
	int reply_fail; /* make io.reply fail (on-host) */
	struct sg_tuple tracked[8]; /* what the mock conntrack holds */
	int ntracked;
	int lookup_errno;	    /* make every ct_lookup fail with this */
	int lookups;
};

static struct rec R;

/* Logs call @c (a long test keeps the first ones). */
static void note(char c)
{
	if (R.n < (int)sizeof(R.log) - 1)
		R.log[R.n++] = c;
}

static int m_create(void *ctx, const struct sg_ct_new *n)
{
	(void)ctx;
	note('C');
	R.created = *n;
	if (R.create_errno) {
		errno = R.create_errno;
		R.create_errno = 0;
		return -1;
	}
	if (R.ntracked < 8)
		R.tracked[R.ntracked++] = n->orig;
	return 0;
}

static int m_establish(void *ctx, const struct sg_tuple *t, int32_t off, uint32_t mark,
		       const struct sg_ct_synproxy *sp)
{
	(void)ctx;
	(void)t;
	note('E');
	R.est_sp = sp != NULL;
	if (sp)
		R.sp = *sp;
	R.off = off;
	R.est_mark = mark;
	if (R.establish_fail) {
		errno = EIO;
		return -1;
	}
	return R.establish_token;
}

static int m_synproxy(void *ctx, const struct sg_tuple *t, const struct sg_ct_synproxy *sp)
{
	(void)ctx;
	note('P');
	R.sp_orig = *t;
	R.sp = *sp;
	return 0;
}

static int m_delete(void *ctx, const struct sg_tuple *t)
{
	(void)ctx;
	(void)t;
	note('D');
	return 0;
}

static int m_send(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	note('S');
	if (R.nsent < 4) {
		memcpy(R.sent[R.nsent], pkt, len);
		R.sent_len[R.nsent++] = len;
	}
	return 0;
}

/* The mock conntrack knows the tuples ct_create made, in either direction. */
static int m_lookup(void *ctx, const struct sg_tuple *t)
{
	struct sg_tuple rev = sg_tuple_reverse(t);

	(void)ctx;
	R.lookups++;
	if (R.lookup_errno) {
		errno = R.lookup_errno;
		return -1;
	}
	for (int i = 0; i < R.ntracked; i++)
		if (!memcmp(&R.tracked[i], t, sizeof(*t)) || !memcmp(&R.tracked[i], &rev, sizeof(rev)))
			return 1;
	return 0;
}

static const struct sg_proxy_io io = {.ct_create = m_create,
				      .ct_establish = m_establish,
				      .ct_synproxy = m_synproxy,
				      .ct_delete = m_delete,
				      .ct_lookup = m_lookup,
				      .send = m_send};

/* tests/unit/tuples.h's client, to port 40000 -> 80 in both families. */
static struct sg_tuple client_tuple(int v6)
{
	struct sg_tuple t = v6 ? tuple6() : tuple4();

	t.sport = 40000;
	t.dport = 80;
	return t;
}

static size_t make(uint8_t *out, const struct sg_tuple *t, uint32_t seq, uint32_t ack,
		   uint8_t flags, uint16_t win, const struct sg_tcpopts *o)
{
	struct sg_seg s;

	memset(&s, 0, sizeof(s));
	s.tuple = *t;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.window = win;
	if (o)
		s.opts = *o;
	return sg_pkt_build(out, SG_PKT_MAX_BUILT, &s);
}

static struct sg_proxy *new_proxy(bool learn_first)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_config c;
	size_t i;

	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 131 + 7);
	sg_proxy_defaults(&c);
	c.learn_first = learn_first;
	c.table_max = 4;
	memset(&R, 0, sizeof(R));
	return sg_proxy_new(&c, &io, MS(1000000), rnd);
}

static const struct sg_tcpopts client_opts = {
	.has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true, .tsval = 5,
	.has_wscale = true, .wscale = 7};

/* Sends the client SYN and returns the cookie of the reflected SYN-ACK. */
static uint32_t syn(struct sg_proxy *px, const struct sg_tuple *t, uint64_t now)
{
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	size_t n = make(pkt, t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	sg_proxy_packet(px, pkt, n, MS(now), &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_true(a.set_mark);
	assert_int_equal(a.mark, 0x20000000);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.ack, CLIENT_ISN + 1);
	assert_int_equal(p.window, 0);
	assert_int_equal(p.tuple.sport, t->dport);
	assert_memory_equal(p.tuple.daddr, t->saddr, 16);
	assert_false(p.opts.has_ts); /* timestamps are not offered */
	assert_true(p.opts.sack_ok);
	assert_true(p.opts.has_mss);
	return p.seq;
}

/* The client's ACK of @cookie on @t at @ms (the cookie path); its action in @a. */
static void client_ack(struct sg_proxy *px, const struct sg_tuple *t, uint32_t cookie,
		       uint64_t ms, struct sg_action *a)
{
	uint8_t pkt[SG_PKT_MAX_BUILT];
	size_t n = make(pkt, t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 502, NULL);

	sg_proxy_packet(px, pkt, n, MS(ms), a);
}

/* Opens a pending connection: the SYN at 1000000 ms, the client's ACK at @ms.
 * Returns the cookie; @a holds the ACK's action. */
static uint32_t open_pending(struct sg_proxy *px, const struct sg_tuple *t, uint64_t ms,
			     struct sg_action *a)
{
	uint32_t cookie = syn(px, t, 1000000);

	client_ack(px, t, cookie, ms, a);
	return cookie;
}

/* The whole handshake, client SYN to window update, for v4 and v6. */
static void handshake(int v6)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(v6), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1400, .sack_ok = true,
				.has_wscale = true, .wscale = 7};
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie = syn(px, &t, 1000000);
	size_t n;

	/* client ACK: conntrack entry, then the ACK becomes the backend SYN */
	n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 1000, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000010), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_string_equal(R.log, "C");
	assert_int_equal(R.created.mark, 0x10000000);
	assert_int_equal(R.created.orig_wscale, 7);
	assert_false(R.created.has_synproxy); /* timestamps off: no extension */
	assert_int_equal(sg_proxy_halfopen(px), 1);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN);
	assert_int_equal(p.seq, CLIENT_ISN);
	assert_memory_equal(&p.tuple, &t, sizeof(t));
	assert_int_equal(p.opts.mss, v6 ? 1440 : 1460);
	assert_true(p.opts.sack_ok);
	assert_int_equal(p.opts.wscale, 7);
	assert_false(p.opts.has_ts);
	assert_int_equal(p.window, 65535); /* 1000 << 7, capped */

	/* backend SYN-ACK: ACK to backend, offset, window update to the client */
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000013), &a);
	assert_string_equal(R.log, "CSE");
	assert_int_equal(R.off, (int32_t)(cookie - BACKEND_ISN));
	assert_int_equal(R.est_mark, 0x08000000);
	assert_false(R.est_sp);
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_ACK);
	assert_int_equal(p.seq, CLIENT_ISN + 1);
	assert_int_equal(p.ack, BACKEND_ISN + 1);
	assert_int_equal(p.window, 1000);
	assert_memory_equal(&p.tuple, &t, sizeof(t));
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_ACK);
	assert_int_equal(p.seq, BACKEND_ISN + 1); /* conntrack translates it */
	assert_int_equal(p.ack, CLIENT_ISN + 1);
	assert_int_equal(p.window, 65160 >> 7);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	assert_int_equal(sg_proxy_counters(px)->proxied, 1);
	assert_int_equal(sg_proxy_counters(px)->hist[5], 1); /* 3 ms: the <= 5 ms bucket */
	sg_proxy_free(px);
}

/* With timestamps on: the cookie SYN-ACK offers them (TSval its, echoing the
 * SYN), the entry carries the synproxy extension (isn = cookie, its), the
 * backend SYN and ACK carry the client's TSval, and the offset reaches
 * conntrack with the offsets; the window update keeps the backend's TSval
 * (the kernel's synproxy hook subtracts tsoff). */
static void handshake_timestamps(void **state)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_config c;
	struct sg_proxy *px;
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	struct sg_tcpopts ao = {.has_ts = true, .tsval = 9}, bo = {
		.has_mss = true, .mss = 1400, .sack_ok = true, .has_wscale = true, .wscale = 7,
		.has_ts = true, .tsval = 0xfffffff0u, .tsecr = 9};
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie, its;
	size_t n;

	(void)state;
	sg_proxy_defaults(&c);
	c.learn_first = false;
	c.timestamps = true;
	memset(&R, 0, sizeof(R));
	px = sg_proxy_new(&c, &io, MS(1000000), rnd);
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(1000000), &a);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_true(p.opts.has_ts);
	assert_int_equal(p.opts.tsecr, client_opts.tsval);
	assert_true(p.opts.sack_ok && p.opts.has_wscale && p.opts.has_mss);
	cookie = p.seq;
	its = p.opts.tsval;

	ao.tsecr = its;
	n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 1000, &ao);
	sg_proxy_packet(px, pkt, n, MS(1000010), &a);
	assert_string_equal(R.log, "C");
	assert_true(R.created.has_synproxy);
	assert_int_equal(R.created.synproxy.isn, cookie);
	assert_int_equal(R.created.synproxy.its, its);
	assert_int_equal(R.created.synproxy.tsoff, 0);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN);
	assert_int_equal(p.ack, cookie); /* as the kernel's SYNPROXY relays its ISN */
	assert_true(p.opts.has_ts);
	assert_int_equal(p.opts.tsval, 9);
	assert_int_equal(p.opts.tsecr, its);

	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000013), &a);
	assert_string_equal(R.log, "CSE");
	assert_true(R.est_sp);
	assert_int_equal(R.sp.isn, cookie);
	assert_int_equal(R.sp.its, its);
	assert_int_equal(R.sp.tsoff, 0xfffffff0u - its);
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_true(p.opts.has_ts);
	assert_int_equal(p.opts.tsval, 9);
	assert_int_equal(p.opts.tsecr, 0xfffffff0u);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_true(p.opts.has_ts);
	assert_int_equal(p.opts.tsval, 0xfffffff0u);
	assert_int_equal(p.opts.tsecr, 9);

	/* the backend resets the spliced connection later: isn = seq - 1, so that
	 * the kernel's synproxy hook leaves the connection's offset alone */
	memset(&R, 0, sizeof(R));
	n = make(pkt, &r, BACKEND_ISN + 100001, CLIENT_ISN + 81, SG_TCP_RST | SG_TCP_ACK, 0, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000500), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(a.len, 0);
	assert_string_equal(R.log, "P");
	assert_memory_equal(&R.sp_orig, &t, sizeof(t));
	assert_int_equal(R.sp.isn, BACKEND_ISN + 100000);
	sg_proxy_free(px);
}

static void handshake_v4(void **state)
{
	(void)state;
	handshake(0);
}

static void handshake_v6(void **state)
{
	(void)state;
	handshake(1);
}

static void bad_cookie_dropped(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	uint32_t cookie = syn(px, &t, 1000000);
	size_t n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1 + 256, SG_TCP_ACK, 502, NULL);

	(void)state;
	sg_proxy_packet(px, pkt, n, MS(1000001), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_COOKIE_MAC);
	assert_int_equal(R.n, 0); /* no conntrack entry, nothing sent */
	assert_int_equal(sg_proxy_counters(px)->cookies_invalid, 1);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_COOKIE_MAC], 1);
	sg_proxy_free(px);
}

static void malformed_counted(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	uint8_t junk[10] = {0x45};
	struct sg_action a;

	(void)state;
	sg_proxy_packet(px, junk, sizeof(junk), MS(1), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_TRUNC_IP], 1);
	sg_proxy_free(px);
}

/* Retransmitted client ACKs while the backend is silent: dropped inside the
 * RTO, turned into a new backend SYN after it. */
static void pending_retransmit(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie;

	(void)state;
	cookie = open_pending(px, &t, 1000000, &a);
	client_ack(px, &t, cookie, 1000500, &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_PENDING);
	client_ack(px, &t, cookie, 1001000, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN);
	assert_string_equal(R.log, "C"); /* one conntrack entry only */
	assert_int_equal(sg_proxy_counters(px)->backend_syns, 2);
	sg_proxy_free(px);
}

static void backend_rst(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(1), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie;
	size_t n;

	(void)state;
	cookie = open_pending(px, &t, 1000000, &a);
	n = make(pkt, &r, 0, CLIENT_ISN + 1, SG_TCP_RST | SG_TCP_ACK, 0, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000001), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST | SG_TCP_ACK);
	assert_int_equal(p.seq, cookie + 1); /* in the client's view of our sequence */
	assert_string_equal(R.log, "CD");
	assert_int_equal(sg_proxy_halfopen(px), 0);
	sg_proxy_free(px);
}

/* A RST that does not acknowledge the backend SYN (the backend answering a
 * client probe that conntrack let through) is dropped; the handshake goes on. */
static void backend_stray_rst_ignored(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	uint32_t cookie;
	size_t n;

	(void)state;
	cookie = open_pending(px, &t, 1000000, &a);
	n = make(pkt, &r, cookie + 1, 0, SG_TCP_RST, 0, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000100), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_UNEXPECTED);
	n = make(pkt, &r, 0, CLIENT_ISN + 7, SG_TCP_RST | SG_TCP_ACK, 0, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000200), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(sg_proxy_halfopen(px), 1);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_BACKEND_RST], 0);
	sg_proxy_free(px);
}

/* A silent backend: SYN re-sent at 1 s and 3 s, then the client gets a RST. */
static void backend_timeout(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie;
	uint64_t ms;

	(void)state;
	cookie = open_pending(px, &t, 1000000, &a);
	for (ms = 1000000; ms <= 1010000; ms += 100)
		sg_proxy_tick(px, MS(ms), 64);
	assert_string_equal(R.log, "CSSSDS");
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN);
	assert_int_equal(sg_pkt_parse(&p, R.sent[3], R.sent_len[3]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST | SG_TCP_ACK);
	assert_int_equal(p.seq, cookie + 1);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_BACKEND_TIMEOUT], 1);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	sg_proxy_free(px);
}

/* A stale conntrack entry (EEXIST) is deleted and re-created. */
static void ct_exists_recreated(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	struct sg_action a;

	(void)state;
	R.create_errno = EEXIST;
	open_pending(px, &t, 1000000, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_string_equal(R.log, "CDC");
	sg_proxy_free(px);
}

static void ct_error_drops(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	struct sg_action a;

	(void)state;
	R.create_errno = EPERM;
	open_pending(px, &t, 1000000, &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_CT_ERROR);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	sg_proxy_free(px);
}

/* The half-open table is bounded: a fifth pending connection is refused. */
static void table_full(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		struct sg_tuple t = client_tuple(0);
		uint32_t cookie;
		size_t n;

		t.sport = (uint16_t)(1000 + i);
		cookie = syn(px, &t, 1000000);
		n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 502, NULL);
		sg_proxy_packet(px, pkt, n, MS(1000000), &a);
		assert_int_equal(a.verdict, i < 4 ? SG_V_ACCEPT : SG_V_DROP);
	}
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_TABLE_FULL], 1);
	sg_proxy_free(px);
}

/* Backend options are learned from SYN-ACKs: the first SYN to an unknown
 * backend passes through, its SYN-ACK teaches wscale 2 and MSS 1200, and the
 * next cookie SYN-ACK advertises those. */
static void learns_backend_options(void **state)
{
	struct sg_proxy *px = new_proxy(true);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1200, .has_wscale = true, .wscale = 2};
	struct sg_action a;
	struct sg_pkt p;
	size_t n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	(void)state;
	sg_proxy_packet(px, pkt, n, MS(1000000), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(a.len, 0); /* untouched */
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000001), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(a.len, 0);
	assert_int_equal(sg_proxy_counters(px)->learned, 1);
	t.sport++;
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.opts.wscale, 2);
	assert_int_equal(p.opts.mss, 1200);
	assert_false(p.opts.sack_ok); /* the backend does not do SACK */
	sg_proxy_free(px);
}

/* A backend SYN-ACK answering a SYN without options (a flood SYN passed to
 * learn, or the backend's retransmission to its forged source) carries no
 * wscale and no SACK-permitted; it must not make syngate forget them. */
static void learn_keeps_options(void **state)
{
	struct sg_proxy *px = new_proxy(true);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1200, .sack_ok = true,
				.has_wscale = true, .wscale = 2};
	struct sg_tcpopts bare = {.has_mss = true, .mss = 1200};
	struct sg_action a;
	struct sg_pkt p;
	size_t n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	(void)state;
	sg_proxy_packet(px, pkt, n, MS(1000000), &a); /* passes: backend unknown */
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000001), &a);
	r.dport++; /* another (forged) client's SYN-ACK, without options */
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, &bare);
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_int_equal(sg_proxy_counters(px)->learned, 2);
	t.sport += 2;
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(1000003), &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_true(p.opts.has_wscale);
	assert_int_equal(p.opts.wscale, 2);
	assert_true(p.opts.sack_ok);
	sg_proxy_free(px);
}

/* A client that reuses the port of a connection whose conntrack entry
 * lingers (TIME_WAIT, or any state) gets its SYN passed through, so that
 * conntrack reopens the entry: the kernel's table decides, asked at each
 * SYN; a tuple it does not know gets a cookie. */
static void port_reuse_passes_tracked(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1400, .sack_ok = true,
				.has_wscale = true, .wscale = 7};
	struct sg_action a;
	uint32_t cookie = syn(px, &t, 1000000);
	size_t n;

	(void)state;
	n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 1000, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000010), &a);
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000013), &a);
	assert_int_equal(sg_proxy_counters(px)->proxied, 1);
	for (int i = 0; i < 3; i++) { /* as long as the entry exists */
		n = make(pkt, &t, CLIENT_ISN + 5 + i, 0, SG_TCP_SYN, 64240, &client_opts);
		sg_proxy_packet(px, pkt, n, MS(1100000 + i), &a);
		assert_int_equal(a.verdict, SG_V_ACCEPT);
		assert_int_equal(a.len, 0); /* untouched */
	}
	assert_int_equal(sg_proxy_counters(px)->syn_passed, 3);
	assert_int_equal(sg_proxy_counters(px)->syn_passed_tracked, 3);
	R.ntracked = 0;		     /* the entry expired: a cookie again */
	syn(px, &t, 1100010);
	t.sport++;		     /* an unrelated tuple: a cookie */
	syn(px, &t, 1100011);
	assert_int_equal(sg_proxy_counters(px)->syn_passed, 3);
	/* the reply direction of an entry counts too (the kernel finds both) */
	R.tracked[R.ntracked++] = sg_tuple_reverse(&t);
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(1100020), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_proxy_counters(px)->syn_passed_tracked, 4);
	sg_proxy_free(px);
}

/* A failed conntrack lookup is counted and the SYN still gets a cookie. */
static void port_reuse_lookup_error(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);

	(void)state;
	R.lookup_errno = ENOBUFS;
	syn(px, &t, 1000000);
	assert_int_equal(sg_proxy_counters(px)->ct_lookup_errors, 1);
	assert_int_equal(sg_proxy_counters(px)->syn_passed, 0);
	R.lookup_errno = 0;
	sg_proxy_free(px);
}

/* The hooks of an XDP fast path: what the fast path is told, and what the
 * proxy takes from it. */
static struct {
	int learned, asked, completed;
	struct sg_tuple learned_b, completed_t;
	struct sg_backend_opts learned_o, known; /* known: what m_backend answers */
	bool has_known;
} H;

static void m_learned(void *ctx, const struct sg_tuple *b, const struct sg_backend_opts *o)
{
	(void)ctx;
	H.learned++;
	H.learned_b = *b;
	H.learned_o = *o;
}

static void m_completed(void *ctx, const struct sg_tuple *t)
{
	(void)ctx;
	H.completed++;
	H.completed_t = *t;
}

static int m_backend(void *ctx, const struct sg_tuple *b, struct sg_backend_opts *o)
{
	(void)ctx;
	(void)b;
	H.asked++;
	if (!H.has_known)
		return -1;
	*o = H.known;
	return 0;
}

static struct sg_proxy *new_fast_proxy(bool learn_first, enum sg_mode mode)
{
	static const struct sg_proxy_io fio = {.ct_create = m_create,
					       .ct_establish = m_establish,
					       .ct_delete = m_delete,
					       .send = m_send,
					       .learned = m_learned,
					       .backend = m_backend,
					       .completed = m_completed};
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_config c;

	sg_proxy_defaults(&c);
	c.learn_first = learn_first;
	c.mode = mode;
	c.table_max = 4;
	memset(&R, 0, sizeof(R));
	memset(&H, 0, sizeof(H));
	return sg_proxy_new(&c, &fio, MS(1000000), rnd);
}

/* A learned backend is told to the fast path; the ACK of a SYN the fast
 * path answered (the proxy never saw it) takes the fast path's options for
 * the backend, so the conntrack entry has the wscale the SYN-ACK advertised. */
static void fast_path_hooks(void **state)
{
	struct sg_proxy *px = new_fast_proxy(true, SG_MODE_ALWAYS);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1200, .has_wscale = true, .wscale = 2};
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_cookie_keys k;
	struct sg_action a;
	uint32_t cookie;
	size_t n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	(void)state;
	sg_proxy_packet(px, pkt, n, MS(1000000), &a); /* passes: learning */
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000001), &a);
	assert_int_equal(H.completed, 0); /* a passed SYN's SYN-ACK completes nothing yet */
	assert_int_equal(H.learned, 1);
	assert_memory_equal(H.learned_b.saddr, t.daddr, 16);
	assert_int_equal(H.learned_b.sport, t.dport);
	assert_int_equal(H.learned_o.mss, 1200);
	assert_true(H.learned_o.has_wscale);
	assert_int_equal(H.learned_o.wscale, 2);
	assert_false(H.learned_o.sack_ok);
	sg_proxy_free(px);

	/* a fresh proxy that knows nothing; the fast path knows wscale 9 */
	px = new_fast_proxy(false, SG_MODE_ALWAYS);
	H.has_known = true;
	H.known = (struct sg_backend_opts){.has_wscale = true, .wscale = 9, .mss = 1400};
	memset(&k, 0, sizeof(k));
	memcpy(k.secret, (uint8_t[2 * SG_COOKIE_SECRET_LEN]){1, 2, 3}, sizeof(k.secret));
	k.period = 30;
	k.slot = 1000000 / 30;
	sg_proxy_set_keys(px, &k); /* the keys the fast path signed with */
	cookie = sg_cookie_make(&k, &t, CLIENT_ISN, &client_opts, 9, NULL); /* it told 9 */
	client_ack(px, &t, cookie, 1000001, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(H.asked, 1);
	assert_int_equal(R.created.reply_wscale, 9);
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160,
		 &(struct sg_tcpopts){.has_mss = true, .mss = 1400, .has_wscale = true,
				      .wscale = 9, .sack_ok = true});
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_int_equal(sg_proxy_counters(px)->proxied, 1);
	assert_int_equal(sg_proxy_counters(px)->wscale_mismatch, 0);
	/* the proxied handshake completed: the lane is told the client's tuple */
	assert_int_equal(H.completed, 1);
	assert_memory_equal(&H.completed_t, &t, sizeof(t));
	sg_proxy_free(px);
}

/* SYNs the fast path answered count towards the adaptive estimate, and
 * towards syn_seen / cookies_sent. */
static void fast_path_syns_engage_adaptive(void **state)
{
	struct sg_proxy *px = new_fast_proxy(false, SG_MODE_ADAPTIVE);

	(void)state;
	assert_false(sg_proxy_cookies_on(px));
	sg_proxy_note_syns(px, 999, MS(1000000));
	sg_proxy_tick(px, MS(1000000), 64);
	assert_false(sg_proxy_cookies_on(px));
	sg_proxy_note_syns(px, 1, MS(1000001));
	assert_true(sg_proxy_cookies_on(px)); /* the default high watermark, 1000 */
	assert_int_equal(sg_proxy_counters(px)->syn_seen, 1000);
	assert_int_equal(sg_proxy_counters(px)->cookies_sent, 1000);
	sg_proxy_tick(px, MS(1000000 + 5000), 64); /* the window (2 s) has passed */
	assert_false(sg_proxy_cookies_on(px));
	sg_proxy_free(px);
}

/* Mode never: every SYN passes untouched. */
static void mode_never(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	size_t n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	(void)state;
	sg_proxy_set_mode(px, SG_MODE_NEVER);
	sg_proxy_packet(px, pkt, n, MS(1000000), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(a.len, 0);
	assert_int_equal(sg_proxy_counters(px)->syn_passed, 1);
	sg_proxy_free(px);
}

/* Adaptive mode: SYNs pass until the half-open estimate reaches the high
 * watermark, then get cookies; completed pass-through handshakes (tracked
 * ACKs) keep the estimate down; a quiet window releases the cookies. */
static void adaptive_mode(void **state)
{
	struct sg_proxy_config c;
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_tuple t = client_tuple(0);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_proxy *px;
	struct sg_action a;
	size_t n;
	int i;

	(void)state;
	sg_proxy_defaults(&c);
	c.mode = SG_MODE_ADAPTIVE;
	c.learn_first = false;
	c.adaptive_high = 10;
	c.adaptive_low = 5;
	c.adaptive_window_ms = 800;
	memset(&R, 0, sizeof(R));
	px = sg_proxy_new(&c, &io, MS(1000000), rnd);
	/* legitimate traffic: each SYN's handshake completes; never engages */
	for (i = 0; i < 50; i++) {
		t.sport = (uint16_t)(1000 + i);
		n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
		sg_proxy_packet(px, pkt, n, MS(1000000 + i), &a);
		assert_int_equal(a.verdict, SG_V_ACCEPT);
		assert_int_equal(a.len, 0);
		n = make(pkt, &t, CLIENT_ISN + 1, 77, SG_TCP_ACK, 502, NULL);
		sg_proxy_packet_ct(px, pkt, n, true, MS(1000000 + i), &a);
		assert_int_equal(a.verdict, SG_V_ACCEPT);
	}
	assert_false(sg_proxy_cookies_on(px));
	assert_int_equal(sg_proxy_counters(px)->passed_completed, 50);
	/* a flood: 9 SYNs pass, the 10th unfinished one engages cookies */
	for (i = 0; i < 20; i++) {
		t.sport = (uint16_t)(5000 + i);
		n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
		sg_proxy_packet(px, pkt, n, MS(1000100), &a);
		assert_int_equal(a.verdict, i < 9 ? SG_V_ACCEPT : SG_V_REPEAT);
	}
	assert_true(sg_proxy_cookies_on(px));
	assert_int_equal(sg_proxy_adaptive(px)->engagements, 1);
	/* flood over: once its SYNs leave the window, pass-through resumes */
	sg_proxy_tick(px, MS(1000500), 64);
	assert_true(sg_proxy_cookies_on(px));
	sg_proxy_tick(px, MS(1001000), 64);
	assert_false(sg_proxy_cookies_on(px));
	assert_int_equal(sg_proxy_adaptive(px)->releases, 1);
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(1001001), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	sg_proxy_free(px);
}

/* SYNs to random destinations (the rules match ports, not addresses) pass
 * through at most once a second, and never make syngate forget a backend it
 * has learned. */
static void random_destinations_do_not_bypass(void **state)
{
	struct sg_proxy *px = new_proxy(true);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_tcpopts bo = {.has_mss = true, .mss = 1400, .has_wscale = true, .wscale = 3};
	struct sg_action a;
	struct sg_pkt p;
	size_t n;
	uint32_t i;

	(void)state;
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, &bo);
	sg_proxy_packet(px, pkt, n, MS(1000000), &a); /* the real backend, learned */
	for (i = 0; i < 100000; i++) {
		struct sg_tuple f = t;

		memcpy(f.daddr, &i, 4);
		f.daddr[0] = 203;
		f.sport = (uint16_t)i;
		n = make(pkt, &f, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
		sg_proxy_packet(px, pkt, n, MS(1000001 + i / 100), &a); /* 1000 s at 100/s */
	}
	assert_true(sg_proxy_counters(px)->syn_passed <= 1000 + 4);
	assert_true(sg_proxy_counters(px)->cookies_sent >= 99000);
	n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);
	sg_proxy_packet(px, pkt, n, MS(2000000), &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.opts.wscale, 3); /* still what the real backend taught */
	assert_int_equal(p.opts.mss, 1400);
	sg_proxy_free(px);
}

/* The client's first ACK was lost; behind the zero window it sends probes
 * (seq = ISN).  syngate answers with the SYN-ACK again, creating nothing; the
 * client's challenge ACK (seq = ISN + 1) then completes as usual. */
static void lost_first_ack_recovers(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie = syn(px, &t, 1000000);
	size_t n;

	(void)state;
	n = make(pkt, &t, CLIENT_ISN, cookie + 1, SG_TCP_ACK, 502, NULL); /* the probe */
	sg_proxy_packet(px, pkt, n, MS(1000300), &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.seq, cookie);
	assert_int_equal(p.ack, CLIENT_ISN + 1);
	assert_int_equal(R.n, 0); /* no conntrack entry for a probe */
	assert_int_equal(sg_proxy_halfopen(px), 0);
	assert_int_equal(sg_proxy_counters(px)->synacks_resent, 1);
	assert_int_equal(sg_proxy_counters(px)->cookies_invalid, 0);
	n = make(pkt, &t, CLIENT_ISN + 1, cookie + 1, SG_TCP_ACK, 502, NULL); /* challenge ACK */
	sg_proxy_packet(px, pkt, n, MS(1000301), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_string_equal(R.log, "C");
	/* an ACK matching neither ISN is refused, and nothing is re-sent */
	t.sport++;
	n = make(pkt, &t, CLIENT_ISN, cookie + 1, SG_TCP_ACK, 502, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000302), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_COOKIE_MAC);
	assert_int_equal(sg_proxy_counters(px)->synacks_resent, 1);
	sg_proxy_free(px);
}

/* ctnetlink refuses the offset after the backend was ACKed: both ends get a RST. */
static void establish_error_resets_both(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie;
	size_t n;

	(void)state;
	cookie = open_pending(px, &t, 1000001, &a);
	R.establish_fail = 1;
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_string_equal(R.log, "CSESD");
	assert_int_equal(sg_pkt_parse(&p, R.sent[1], R.sent_len[1]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST); /* to the backend */
	assert_int_equal(p.seq, CLIENT_ISN + 1);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST | SG_TCP_ACK); /* to the client */
	assert_int_equal(p.seq, cookie + 1);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_CT_ERROR], 1);
	sg_proxy_free(px);
}

/* The offset's request was queued with the verdict (a token) and failed
 * later: the window update went out as usual, then both ends get a RST
 * through io.send, the entry is deleted, drop_ct_error counted.  A token
 * not remembered is only counted. */
static void establish_deferred_error_resets_both(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0), r = sg_tuple_reverse(&t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t cookie;
	size_t n;

	(void)state;
	cookie = open_pending(px, &t, 1000001, &a);
	R.establish_token = 77;
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65535, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_string_equal(R.log, "CSE");
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_ACK); /* the window update */
	assert_int_equal(sg_proxy_counters(px)->proxied, 1);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	R.nsent = 0;
	sg_proxy_establish_failed(px, 77, ENOENT);
	assert_string_equal(R.log, "CSESDS");
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST); /* to the backend */
	assert_int_equal(p.seq, CLIENT_ISN + 1);
	assert_memory_equal(&p.tuple, &t, sizeof(t));
	assert_int_equal(sg_pkt_parse(&p, R.sent[1], R.sent_len[1]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST | SG_TCP_ACK); /* to the client */
	assert_int_equal(p.seq, cookie + 1);
	assert_int_equal(p.ack, CLIENT_ISN + 1);
	assert_memory_equal(&p.tuple, &r, sizeof(r));
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_CT_ERROR], 1);
	assert_int_equal(sg_proxy_counters(px)->rst_sent, 2);
	/* answered once only; unknown tokens are counted and touch nothing */
	sg_proxy_establish_failed(px, 77, ENOENT);
	sg_proxy_establish_failed(px, 78, ENOENT);
	sg_proxy_establish_failed(px, 0, ENOENT);
	assert_string_equal(R.log, "CSESDS");
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_CT_ERROR], 4);
	R.establish_token = 0;
	sg_proxy_free(px);
}

/* A proxy whose sources may hold 3 half-open entries each (no learning). */
static struct sg_proxy *capped_proxy(void)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_config c;

	sg_proxy_defaults(&c);
	c.learn_first = false;
	c.table_max = 100;
	c.per_source_max = 3;
	memset(&R, 0, sizeof(R));
	return sg_proxy_new(&c, &io, MS(1000000), rnd);
}

/* One client address may hold only its share of the half-open table. */
static void per_source_cap(void **state)
{
	struct sg_tuple t = client_tuple(0);
	struct sg_proxy *px = capped_proxy();
	struct sg_action a;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		t.sport = (uint16_t)(2000 + i);
		open_pending(px, &t, 1000001, &a);
		assert_int_equal(a.verdict, i < 3 ? SG_V_ACCEPT : SG_V_DROP);
	}
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_SOURCE_LIMIT], 2);
	/* another address still gets in */
	t.saddr[3] = 77;
	open_pending(px, &t, 1000002, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	/* every entry times out (10 s); the freed share is usable again */
	for (i = 0; i <= 120; i++)
		sg_proxy_tick(px, MS(1000000 + i * 100), 1024);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	t.saddr[3] = 2;
	t.sport = 3000;
	client_ack(px, &t, syn(px, &t, 1013000), 1013001, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	/* its share is per port: another protected port still gets in */
	for (i = 0; i < 2; i++) {
		t.sport = (uint16_t)(3001 + i);
		client_ack(px, &t, syn(px, &t, 1013002), 1013003, &a);
		assert_int_equal(a.verdict, SG_V_ACCEPT);
	}
	t.sport = 3010;
	client_ack(px, &t, syn(px, &t, 1013004), 1013005, &a);
	assert_int_equal(a.verdict, SG_V_DROP); /* port 80: 3 held */
	t.dport = 443;
	client_ack(px, &t, syn(px, &t, 1013006), 1013007, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	sg_proxy_free(px);
}

/* An IPv6 source is its /64: addresses that differ in the low 64 bits share
 * one cap, another /64 has its own. */
static void per_source_cap_v6(void **state)
{
	struct sg_tuple t = client_tuple(1);
	struct sg_proxy *px = capped_proxy();
	struct sg_action a;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		t.saddr[15] = (uint8_t)(10 + i); /* another address of the same /64 */
		open_pending(px, &t, 1000001, &a);
		assert_int_equal(a.verdict, i < 3 ? SG_V_ACCEPT : SG_V_DROP);
	}
	t.saddr[7] ^= 1; /* another /64 */
	open_pending(px, &t, 1000002, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	sg_proxy_free(px);
}

static int m_reply(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	note('R');
	if (R.nsent < 4) {
		memcpy(R.sent[R.nsent], pkt, len);
		R.sent_len[R.nsent++] = len;
	}
	if (R.reply_fail) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

/* On-host (io.reply set): the cookie SYN-ACK and the RST answering a bad
 * cookie go out through io.reply and the queued packet is dropped, never
 * reflected; a reply that could not be sent is counted; the handshake
 * otherwise runs as in router mode. */
static void on_host_replies(void **state)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	struct sg_proxy_io oio = io;
	struct sg_proxy_config c;
	struct sg_tuple t = client_tuple(0);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_proxy *px;
	struct sg_pkt p;
	size_t n = make(pkt, &t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	(void)state;
	oio.reply = m_reply;
	sg_proxy_defaults(&c);
	c.learn_first = false;
	c.rst_invalid = true;
	memset(&R, 0, sizeof(R));
	px = sg_proxy_new(&c, &oio, MS(1000000), rnd);
	assert_non_null(px);
	sg_proxy_packet(px, pkt, n, MS(1000000), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_false(a.set_mark);
	assert_int_equal(a.len, 0);
	assert_int_equal(a.reason, SG_R_OK);
	assert_int_equal(R.nsent, 1);
	assert_int_equal(R.log[0], 'R');
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.ack, CLIENT_ISN + 1);
	assert_int_equal(p.tuple.sport, t.dport);
	assert_int_equal(sg_proxy_counters(px)->cookies_sent, 1);
	/* the valid cookie ACK becomes the backend SYN, accepted in place */
	client_ack(px, &t, p.seq, 1000001, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(R.log[1], 'C');
	/* a bad cookie (another client port): the RST goes through io.reply,
	 * and a failed send is counted */
	t.sport = 40001;
	R.reply_fail = 1;
	n = make(pkt, &t, CLIENT_ISN + 1, p.seq + 257, SG_TCP_ACK, 502, NULL);
	sg_proxy_packet(px, pkt, n, MS(1000002), &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.len, 0);
	assert_int_equal(R.log[2], 'R');
	assert_int_equal(sg_proxy_counters(px)->rst_sent, 1);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_SEND_ERROR], 1);
	sg_proxy_free(px);
}

/* A pending connection from port @sport of the test client to 203.0.113.@host
 * port 80: SYN and ACK at @ms; the ACK's action in @a.  Returns its tuple. */
static struct sg_tuple pending_to(struct sg_proxy *px, uint16_t sport, uint8_t host, uint64_t ms,
				  struct sg_action *a)
{
	struct sg_tuple t = client_tuple(0);

	t.sport = sport;
	t.daddr[3] = host;
	client_ack(px, &t, syn(px, &t, ms), ms, a);
	return t;
}

/* The backend's SYN-ACK to pending connection @t at @ms. */
static void backend_synack(struct sg_proxy *px, const struct sg_tuple *t, uint64_t ms,
			   struct sg_action *a)
{
	static const struct sg_tcpopts bo = {.has_mss = true, .mss = 1460, .sack_ok = true,
					     .has_wscale = true, .wscale = 7};
	struct sg_tuple r = sg_tuple_reverse(t);
	uint8_t pkt[SG_PKT_MAX_BUILT];
	size_t n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160, &bo);

	sg_proxy_packet(px, pkt, n, MS(ms), a);
}

/* Real clients of a dead backend fill the table (4 entries): a client of a
 * healthy one is refused only until they have waited an RTO unanswered, then
 * takes the oldest one's place (its client is reset); the dead destination
 * is silent from then on: its new clients are refused beyond 1/8 of the
 * table and its entries expire after 2 RTOs, not backend-timeout-ms. */
static void dead_backend_does_not_lock_out(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple h;
	struct sg_action a;
	struct sg_pkt p;
	uint64_t ms;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		pending_to(px, (uint16_t)(1000 + i), 9, 1000000 + (uint64_t)i, &a);
		assert_int_equal(a.verdict, SG_V_ACCEPT);
	}
	pending_to(px, 2000, 2, 1000500, &a); /* not an RTO yet: may still answer */
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_TABLE_FULL);
	sg_proxy_tick(px, MS(1001000), 64); /* the backend SYNs go out again */
	R.n = R.nsent = 0;
	memset(R.log, 0, sizeof(R.log));
	h = pending_to(px, 2001, 2, 1001100, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_string_equal(R.log, "DSC"); /* victim: ct deleted, client reset; new entry */
	assert_int_equal(sg_pkt_parse(&p, R.sent[0], R.sent_len[0]), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_RST | SG_TCP_ACK);
	assert_int_equal(p.tuple.sport, 80);
	assert_int_equal(p.tuple.dport, 1000); /* the oldest */
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_EVICTED], 1);
	backend_synack(px, &h, 1001101, &a);
	assert_int_equal(sg_proxy_counters(px)->proxied, 1);
	/* silent now: another client of it is refused (1/8 of 4: 1 entry) */
	pending_to(px, 1010, 9, 1001200, &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_BACKEND_SILENT);
	for (ms = 1001200; ms <= 1002100; ms += 100)
		sg_proxy_tick(px, MS(ms), 64);
	assert_int_equal(sg_proxy_halfopen(px), 0);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_BACKEND_TIMEOUT], 3);
	sg_proxy_free(px);
}

/* A backend that answered after its entries were made is alive (an overloaded
 * one drops SYNs at its full listen queue): its entries are not evicted, and a
 * silent destination's answer ends its silence. */
static void answering_backend_not_evicted(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t[4];
	struct sg_action a;
	uint64_t ms;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		t[i] = pending_to(px, (uint16_t)(1000 + i), 9, 1000000, &a);
	backend_synack(px, &t[0], 1000001, &a);
	pending_to(px, 1004, 9, 1000001, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	pending_to(px, 2000, 2, 1002000, &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(a.reason, SG_R_TABLE_FULL);
	/* they time out after backend-timeout-ms (10 s): the destination is silent */
	for (ms = 1000000; ms <= 1010100; ms += 100)
		sg_proxy_tick(px, MS(ms), 64);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_BACKEND_TIMEOUT], 4);
	assert_int_equal(sg_proxy_counters(px)->drops[SG_R_EVICTED], 0);
	/* ... until it answers: then its entries wait the whole timeout again */
	t[0] = pending_to(px, 1005, 9, 1010200, &a);
	backend_synack(px, &t[0], 1010201, &a);
	pending_to(px, 1006, 9, 1010300, &a);
	for (ms = 1010300; ms <= 1013000; ms += 100)
		sg_proxy_tick(px, MS(ms), 64);
	assert_int_equal(sg_proxy_halfopen(px), 1);
	sg_proxy_free(px);
}

/* The backend at 203.0.113.2:80 answers a passed-through SYN of client port
 * @cport with window scale @ws at @ms: syngate learns it. */
static void backend_teaches(struct sg_proxy *px, uint16_t cport, uint8_t ws, uint64_t ms)
{
	struct sg_tuple t = client_tuple(0), r;
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	size_t n;

	t.sport = cport;
	r = sg_tuple_reverse(&t);
	n = make(pkt, &r, BACKEND_ISN, 1, SG_TCP_SYN | SG_TCP_ACK, 65160,
		 &(struct sg_tcpopts){.has_mss = true, .mss = 1460, .sack_ok = true,
				      .has_wscale = true, .wscale = ws});
	sg_proxy_packet(px, pkt, n, MS(ms), &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
}

/* The window scale of @cookie's SYN-ACK, the one @px gave for @t at @ms. */
static uint8_t told_of(struct sg_proxy *px, const struct sg_tuple *t, uint64_t ms, uint32_t *cookie)
{
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	size_t n = make(pkt, t, CLIENT_ISN, 0, SG_TCP_SYN, 64240, &client_opts);

	sg_proxy_packet(px, pkt, n, MS(ms), &a);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_true(p.opts.has_wscale);
	*cookie = p.seq;
	return p.opts.wscale;
}

/* The entry gets the window scale the client was told at SYN time, even when
 * the learned record changes before the ACK: told 7 (default, unknown
 * backend), the backend is learned (2), the ACK comes; told 2, relearned
 * (9), the ACK comes.  wscale_mismatch counts the first (told 7, the backend
 * scales by 2), not the second.  A SYN-ACK sent again (zero-window probe)
 * tells what the first one told. */
static void told_wscale_kept(void **state)
{
	struct sg_proxy *px = new_proxy(false);
	struct sg_tuple t = client_tuple(0), r;
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_action a;
	struct sg_pkt p;
	uint32_t c1, c2;
	size_t n;

	(void)state;
	t.sport = 3000;
	assert_int_equal(told_of(px, &t, 1000000, &c1), 7);
	backend_teaches(px, 2999, 2, 1000001);
	client_ack(px, &t, c1, 1000002, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(R.created.reply_wscale, 7);
	r = sg_tuple_reverse(&t);
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160,
		 &(struct sg_tcpopts){.has_mss = true, .mss = 1460, .sack_ok = true,
				      .has_wscale = true, .wscale = 2});
	sg_proxy_packet(px, pkt, n, MS(1000003), &a);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.window, 65160 >> 7); /* in the scale the client reads */
	assert_int_equal(sg_proxy_counters(px)->wscale_mismatch, 1);

	t.sport = 3001;
	assert_int_equal(told_of(px, &t, 1000004, &c2), 2);
	backend_teaches(px, 2998, 9, 1000005);
	n = make(pkt, &t, CLIENT_ISN, c2 + 1, SG_TCP_ACK, 502, NULL); /* a zero-window probe */
	sg_proxy_packet(px, pkt, n, MS(1000005), &a);
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.opts.wscale, 2); /* the SYN-ACK again, as first told */
	client_ack(px, &t, c2, 1000006, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(R.created.reply_wscale, 2);
	r = sg_tuple_reverse(&t);
	n = make(pkt, &r, BACKEND_ISN, CLIENT_ISN + 1, SG_TCP_SYN | SG_TCP_ACK, 65160,
		 &(struct sg_tcpopts){.has_mss = true, .mss = 1460, .sack_ok = true,
				      .has_wscale = true, .wscale = 2});
	sg_proxy_packet(px, pkt, n, MS(1000007), &a);
	assert_int_equal(sg_proxy_counters(px)->proxied, 2);
	assert_int_equal(sg_proxy_counters(px)->wscale_mismatch, 1);
	assert_int_equal(sg_proxy_counters(px)->cookies_invalid, 0);
	sg_proxy_free(px);
}

/* A restart: proxy A learned the backend (wscale 9) and told it in a cookie
 * SYN-ACK; proxy B (same keys) verifies the ACK only once taught what A
 * learned (sg_proxy_teach(), from the backends file), and passes what it was
 * taught to the learned hook (the XDP map, the workers' table), without
 * counting a learned SYN-ACK. */
static void taught_across_restart(void **state)
{
	struct sg_proxy *px = new_fast_proxy(false, SG_MODE_ALWAYS);
	struct sg_tuple t = client_tuple(0), b;
	struct sg_backend_opts o;
	struct sg_action a;
	uint32_t c;

	(void)state;
	backend_teaches(px, 2999, 9, 1000001);
	t.sport = 3000;
	assert_int_equal(told_of(px, &t, 1000002, &c), 9);
	b = H.learned_b;
	o = H.learned_o;
	sg_proxy_free(px);

	px = new_fast_proxy(false, SG_MODE_ALWAYS); /* forgot: default-wscale only */
	client_ack(px, &t, c, 1000003, &a);
	assert_int_equal(a.verdict, SG_V_DROP);
	assert_int_equal(sg_proxy_counters(px)->cookies_invalid, 1);
	sg_proxy_free(px);

	px = new_fast_proxy(false, SG_MODE_ALWAYS);
	assert_int_equal(sg_proxy_teach(px, b.family, b.saddr, b.sport, &o), 0);
	assert_int_equal(H.learned, 1);
	assert_memory_equal(&H.learned_o, &o, sizeof(o));
	assert_int_equal(sg_proxy_counters(px)->learned, 0);
	client_ack(px, &t, c, 1000003, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	assert_int_equal(sg_proxy_counters(px)->cookies_valid, 1);
	assert_int_equal(R.created.reply_wscale, 9);
	t.sport = 3001; /* and tells it to new clients */
	assert_int_equal(told_of(px, &t, 1000004, &c), 9);
	sg_proxy_free(px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake_v4),
		cmocka_unit_test(taught_across_restart),
		cmocka_unit_test(handshake_v6),
		cmocka_unit_test(handshake_timestamps),
		cmocka_unit_test(bad_cookie_dropped),
		cmocka_unit_test(malformed_counted),
		cmocka_unit_test(pending_retransmit),
		cmocka_unit_test(backend_rst),
		cmocka_unit_test(backend_stray_rst_ignored),
		cmocka_unit_test(backend_timeout),
		cmocka_unit_test(ct_exists_recreated),
		cmocka_unit_test(ct_error_drops),
		cmocka_unit_test(table_full),
		cmocka_unit_test(learns_backend_options),
		cmocka_unit_test(learn_keeps_options),
		cmocka_unit_test(port_reuse_passes_tracked),
		cmocka_unit_test(port_reuse_lookup_error),
		cmocka_unit_test(mode_never),
		cmocka_unit_test(adaptive_mode),
		cmocka_unit_test(per_source_cap),
		cmocka_unit_test(per_source_cap_v6),
		cmocka_unit_test(dead_backend_does_not_lock_out),
		cmocka_unit_test(answering_backend_not_evicted),
		cmocka_unit_test(told_wscale_kept),
		cmocka_unit_test(establish_error_resets_both),
		cmocka_unit_test(establish_deferred_error_resets_both),
		cmocka_unit_test(lost_first_ack_recovers),
		cmocka_unit_test(random_destinations_do_not_bypass),
		cmocka_unit_test(fast_path_hooks),
		cmocka_unit_test(fast_path_syns_engage_adaptive),
		cmocka_unit_test(on_host_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

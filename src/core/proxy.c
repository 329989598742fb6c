/* syngate proxy state machine: see include/syngate/core/proxy.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <xxhash.h>

#include "syngate/core/bucket.h"
#include "syngate/core/cookie_mac.h"
#include "syngate/core/proxy.h"

#define SRC_SLOTS 65536 /* per-source half-open counters (hashed; power of 2) */
#define DST_SLOTS 16384 /* per-destination records (hashed; power of 2) */
#define EVICT_VISITS 64 /* table slots looked at for a victim when the table is full */
#define LEARN_SLOTS 1024 /* learned backends: 256 sets of LEARN_WAYS */
#define LEARN_WAYS 4
#define LEARN_PROBE_US 1000000 /* a learning pass-through SYN a second, in all */
#define LEARN_PROBE_BURST 4	/* ... with this many at once (start-up, several backends) */

const uint32_t sg_hist_bounds_us[SG_HIST_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/* What syngate knows of one backend (address + port), learned from its SYN-ACKs. */
struct backend {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	bool known;		  /* o was seen in a SYN-ACK */
	struct sg_backend_opts o;
};

/* What syngate saw of one destination (backend address and port): the
 * half-open entries waiting on it, its last answer, and the last time one of
 * its entries was given up unanswered (timed out or evicted).  Hashed
 * (keyed): colliding destinations share a record. */
struct dst {
	uint32_t pending;
	uint64_t answered_us; /* its last SYN-ACK or RST */
	uint64_t silent_us;   /* an entry of it given up with no answer since it was made */
};

struct sg_proxy {
	struct sg_proxy_config cfg;
	struct sg_proxy_io io;
	struct sg_cookie_keys keys;
	struct sg_table *table;
	struct sg_counters c;
	struct backend learned[LEARN_SLOTS];
	uint16_t *src_count; /* SRC_SLOTS: half-open entries per (hashed) client address */
	struct dst *dst;     /* DST_SLOTS */
	uint64_t seed;
	uint64_t now_us;	   /* for the tick callback */
	uint64_t slot_cookies[2]; /* cookies issued in the slot of each parity */
	uint64_t probe_at;	  /* learning token bucket: last refill */
	uint64_t probe_tokens;
	struct sg_adaptive ad;
	/* establishes io.ct_establish queued, by token: what resetting both
	 * ends takes if one fails (sg_proxy_establish_failed()) */
	struct deferred {
		int token; /* 0: none */
		struct sg_tuple tuple;
		uint32_t client_isn, cookie;
	} deferred[SG_PROXY_DEFERRED];
};

void sg_proxy_defaults(struct sg_proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = SG_MODE_ALWAYS;
	c->table_max = 65536;
	c->per_source_max = 1024;
	sg_marks_defaults(&c->marks);
	c->backend_timeout_ms = 10000;
	c->syn_rto_ms = 1000;
	c->cookie_period = 30;
	c->mss4 = 1460;
	c->mss6 = 1440;
	c->learn_first = true;
	c->default_wscale = 7;
	c->adaptive_high = 1000;
	c->adaptive_low = 500;
	c->adaptive_window_ms = 2000;
}

struct sg_proxy *sg_proxy_new(const struct sg_proxy_config *c, const struct sg_proxy_io *io,
			      uint64_t now_us, const uint8_t *random)
{
	struct sg_proxy *px = calloc(1, sizeof(*px));

	if (!px)
		return NULL;
	px->cfg = *c;
	px->io = *io;
	memcpy(&px->seed, random + 2 * SG_COOKIE_SECRET_LEN, sizeof(px->seed));
	px->table = sg_table_new(c->table_max, px->seed);
	px->src_count = sg_alloc_resident(SRC_SLOTS, sizeof(*px->src_count));
	px->dst = sg_alloc_resident(DST_SLOTS, sizeof(*px->dst));
	if (!px->table || !px->src_count || !px->dst) {
		sg_table_free(px->table);
		free(px->src_count);
		free(px->dst);
		free(px);
		return NULL;
	}
	sg_cookie_init(&px->keys, c->cookie_period, now_us / 1000000, random);
	px->probe_at = now_us;
	px->probe_tokens = LEARN_PROBE_BURST;
	sg_adaptive_init(&px->ad, c->adaptive_high, c->adaptive_low, c->adaptive_window_ms,
			 now_us / 1000);
	return px;
}

void sg_proxy_free(struct sg_proxy *px)
{
	if (!px)
		return;
	sg_table_free(px->table);
	free(px->src_count);
	free(px->dst);
	free(px);
}

/* --- learned backend options -------------------------------------------- */

/* The first of the LEARN_WAYS records where a backend may be kept. */
static struct backend *backend_set(struct sg_proxy *px, uint8_t family, const uint8_t *addr,
				   uint16_t port)
{
	uint8_t in[18];
	size_t n = sg_addr_len(family);
	uint64_t h;

	memcpy(in, addr, n);
	memcpy(in + n, &port, 2);
	h = XXH3_64bits_withSeed(in, n + 2, px->seed);
	return &px->learned[(h % (LEARN_SLOTS / LEARN_WAYS)) * LEARN_WAYS];
}

static bool backend_is(const struct backend *b, uint8_t family, const uint8_t *addr,
		       uint16_t port)
{
	return b->family == family && b->port == port &&
	       !memcmp(b->addr, addr, sg_addr_len(family));
}

/* The learned record of a backend, or NULL. */
static struct backend *backend_find(struct sg_proxy *px, uint8_t family, const uint8_t *addr,
				    uint16_t port)
{
	struct backend *set = backend_set(px, family, addr, port);
	int i;

	for (i = 0; i < LEARN_WAYS; i++)
		if (backend_is(&set[i], family, addr, port))
			return &set[i];
	return NULL;
}

/* The record of a backend, made if needed in a free way of its set or in
 * place of one that never learned anything.  A known backend is never
 * evicted: SYNs to random destinations (the rules match ports, not
 * addresses) must not make syngate forget its real backends.  Returns NULL
 * when the set is full of known backends (defaults are used then). */
static struct backend *backend_claim(struct sg_proxy *px, uint8_t family, const uint8_t *addr,
				     uint16_t port)
{
	struct backend *set = backend_set(px, family, addr, port), *b = NULL;
	int i;

	for (i = 0; i < LEARN_WAYS; i++) {
		if (backend_is(&set[i], family, addr, port))
			return &set[i];
		if (!b && !set[i].known)
			b = &set[i];
	}
	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->family = family;
	memcpy(b->addr, addr, sg_addr_len(family));
	b->port = port;
	return b;
}

/* The learned options of @b, or NULL while they are unknown. */
static const struct sg_backend_opts *known_opts(const struct backend *b)
{
	return b && b->known ? &b->o : NULL;
}

/* Records the options of a backend SYN-ACK @p (backend -> client).  A backend
 * leaves wscale and SACK-permitted out of its SYN-ACK when the SYN did not
 * offer them (flood SYNs offer nothing, and the backend retransmits its
 * SYN-ACK to their forged sources) and when it answers with a SYN cookie of
 * its own (without timestamps, which syngate's backend SYN lacks, a Linux
 * cookie carries neither).  So their presence is learned from any SYN-ACK,
 * their absence only from the first one. */
static void learn(struct sg_proxy *px, const struct sg_pkt *p)
{
	struct backend *b = backend_claim(px, p->tuple.family, p->tuple.saddr, p->tuple.sport);
	uint16_t floor = p->tuple.family == AF_INET6 ? 1220 : 536;
	uint8_t told;

	if (!b)
		return;
	told = sg_cookie_told_for(known_opts(b), px->cfg.default_wscale);
	if (p->opts.has_wscale || !b->known) {
		b->o.has_wscale = p->opts.has_wscale;
		b->o.wscale = p->opts.wscale;
	}
	if (p->opts.sack_ok || !b->known)
		b->o.sack_ok = p->opts.sack_ok;
	b->known = true;
	b->o.mss = p->opts.has_mss && p->opts.mss >= floor ? p->opts.mss : floor;
	sg_cookie_told_changed(&b->o, told, px->cfg.default_wscale, px->keys.slot);
	px->c.learned++;
	if (px->io.learned)
		px->io.learned(px->io.ctx, &p->tuple, &b->o);
}

int sg_proxy_teach(struct sg_proxy *px, uint8_t family, const uint8_t *addr, uint16_t port,
		   const struct sg_backend_opts *o)
{
	struct backend *b = backend_claim(px, family, addr, port);
	struct sg_tuple t = {.family = family, .sport = port};

	if (!b)
		return errno = ENOSPC, -1;
	b->known = true;
	b->o = *o;
	memcpy(t.saddr, addr, sg_addr_len(family));
	if (px->io.learned)
		px->io.learned(px->io.ctx, &t, &b->o);
	return 0;
}

/* The record of the backend a client packet @p goes to; when the proxy has
 * none, the options known to the fast path (which answered the SYN) are
 * taken in, so that the ACK is handled with the options the SYN-ACK had. */
static struct backend *backend_of(struct sg_proxy *px, const struct sg_pkt *p)
{
	struct backend *b = backend_find(px, p->tuple.family, p->tuple.daddr, p->tuple.dport);
	struct sg_backend_opts o;

	if ((b && b->known) || !px->io.backend || px->io.backend(px->io.ctx, &p->tuple, &o) != 0)
		return b;
	b = backend_claim(px, p->tuple.family, p->tuple.daddr, p->tuple.dport);
	if (!b)
		return NULL;
	b->known = true;
	b->o = o;
	/* this proxy told default-wscale until now */
	if (!o.told_changed)
		sg_cookie_told_changed(&b->o, sg_cookie_told_for(NULL, px->cfg.default_wscale),
				       px->cfg.default_wscale, px->keys.slot);
	return b;
}

/* --- port reuse ---------------------------------------------------------- */

/* A connection's conntrack entry outlives it (TIME_WAIT: 120 s, CLOSE after a
 * reset: 10 s, or a live one the client forgot), so when the client reuses
 * the port the cookie ACK of the new connection would be taken as a packet
 * of the old entry: forwarded (with the old offsets, for a spliced one)
 * instead of reaching syngate, and the client, which believes it is
 * connected, hangs.  A SYN that reaches conntrack reopens such an entry, so
 * a SYN whose tuple conntrack knows passes through.  The kernel's own table
 * decides (one GET per cookie SYN), not a memory of ours that could forget:
 * forged SYNs cannot name tuples that have entries unless they know them.
 * A failed lookup answers with a cookie, as before the lookup existed. */
static bool tuple_tracked(struct sg_proxy *px, const struct sg_tuple *t)
{
	int r;

	if (!px->io.ct_lookup)
		return false;
	r = px->io.ct_lookup(px->io.ctx, t);
	if (r < 0)
		px->c.ct_lookup_errors++;
	return r > 0;
}

/* --- segment builders ---------------------------------------------------- */

static void build(struct sg_action *a, const struct sg_seg *s)
{
	a->len = sg_pkt_build(a->out, sizeof(a->out), s);
}

static void seg_init(struct sg_seg *s, const struct sg_tuple *t, uint32_t seq, uint32_t ack,
		     uint8_t flags, uint16_t window)
{
	memset(s, 0, sizeof(*s));
	s->tuple = *t;
	s->seq = seq;
	s->ack = ack;
	s->flags = flags;
	s->window = window;
}

/* The SYN towards the backend, carrying the client's ISN and the options its
 * cookie encoded.  The SYN's window is unscaled: the client's window in bytes,
 * capped. */
static void backend_syn(struct sg_seg *s, const struct sg_halfopen *e)
{
	uint32_t win = (uint32_t)e->client_win << (e->opts.has_wscale ? e->opts.wscale : 0);

	seg_init(s, &e->tuple, e->client_isn, 0, SG_TCP_SYN, win > 65535 ? 65535 : (uint16_t)win);
	s->opts.has_mss = true;
	s->opts.mss = e->opts.mss;
	s->opts.sack_ok = e->opts.sack_ok;
	s->opts.has_wscale = e->opts.has_wscale;
	s->opts.wscale = e->opts.wscale;
	/* ack and TSecr as the kernel's SYNPROXY writes them: its synproxy hook
	 * reads isn and its from a tracked SYN (a raw retransmission) */
	if (e->ts) {
		s->ack = e->cookie;
		s->opts.has_ts = true;
		s->opts.tsval = e->client_tsval;
		s->opts.tsecr = e->its;
	}
}

/* The TSval of the cookie SYN-ACK answering @p: a millisecond clock with a
 * keyed per-tuple offset (no uptime leaks, increasing for a reused tuple).
 * It carries nothing: the cookie ISN holds the options, and the timestamp
 * option in the client's ACK says that timestamps were agreed. */
static uint32_t cookie_tsval(const struct sg_proxy *px, const struct sg_pkt *p, uint64_t now)
{
	const struct sg_tuple *t = &p->tuple;
	size_t n = sg_addr_len(t->family);
	uint8_t in[36];

	memcpy(in, t->saddr, n);
	memcpy(in + n, t->daddr, n);
	memcpy(in + 2 * n, &t->sport, 2);
	memcpy(in + 2 * n + 2, &t->dport, 2);
	return (uint32_t)(now / 1000) +
	       (uint32_t)XXH3_64bits_withSeed(in, 2 * n + 4, px->seed ^ 0x74737661ull);
}

/* Adds a timestamp option to @s when @on. */
static void seg_ts(struct sg_seg *s, bool on, uint32_t tsval, uint32_t tsecr)
{
	s->opts.has_ts = on;
	s->opts.tsval = tsval;
	s->opts.tsecr = tsecr;
}

/* The RST that tells the client its connection is gone (client's sequence space). */
static void client_rst(struct sg_seg *s, const struct sg_halfopen *e)
{
	struct sg_tuple r = sg_tuple_reverse(&e->tuple);

	seg_init(s, &r, e->cookie + 1, e->client_isn + 1, SG_TCP_RST | SG_TCP_ACK, 0);
}

static void drop(struct sg_proxy *px, struct sg_action *a, enum sg_reason r)
{
	a->verdict = SG_V_DROP;
	a->reason = r;
	a->len = 0;
	px->c.drops[r]++;
}

/* The packet built in @a goes back to the client: reflected in place
 * (NF_REPEAT with the reflect mark; the rules notrack it), or on-host, where
 * that would need forwarding, sent through io.reply and the queued packet
 * dropped. */
static void reflect(struct sg_proxy *px, struct sg_action *a)
{
	if (!px->io.reply) {
		a->verdict = SG_V_REPEAT;
		a->set_mark = true;
		a->mark = px->cfg.marks.reflect;
		return;
	}
	if (px->io.reply(px->io.ctx, a->out, a->len) != 0)
		px->c.drops[SG_R_SEND_ERROR]++;
	a->verdict = SG_V_DROP;
	a->len = 0;
}

/* --- per-source share of the half-open table ----------------------------- */

/* One client completing cookies towards silent destinations could otherwise
 * fill the whole table for backend-timeout-ms and lock everyone else out.
 * A source is an IPv4 address or an IPv6 /64 (one host picks any address of
 * its /64: 65 addresses of one /64 filled the table when the key was the
 * address), and its share is per protected port, so a client stuck on a dead
 * port keeps its share of a healthy one.  Counters are hashed (keyed):
 * colliding keys share one. */
static uint16_t *src_counter(struct sg_proxy *px, const struct sg_tuple *t)
{
	uint8_t key[10];
	size_t n = t->family == AF_INET6 ? 8 : 4;

	memcpy(key, t->saddr, n);
	memcpy(key + n, &t->dport, 2);
	return &px->src_count[XXH3_64bits_withSeed(key, n + 2, px->seed ^ 0x736f75726365ull) &
			      (SRC_SLOTS - 1)];
}

/* --- destinations that stop answering ------------------------------------ */

/* Real clients (their cookies verify) whose backend never answers hold
 * half-open entries until backend-timeout-ms: in a fault run 3,000 of them,
 * from as many sources, towards one dead port filled the table and refused
 * every client of every healthy port for 7.5 s.  So:
 *  - when the table is full, a new entry takes the place of the oldest one
 *    (of EVICT_VISITS slots looked at) that has waited syn-rto-ms with no
 *    answer from its destination since it was made: its client gets a RST
 *    (drop_evicted).  A healthy backend answers within an RTO, so its
 *    entries are never the victims; only a table full of such entries still
 *    refuses (drop_table_full);
 *  - a destination one of whose entries was given up unanswered (timed out
 *    or evicted) is silent until it answers anything (a SYN-ACK or RST, to
 *    any client): its entries expire after 2 x syn-rto-ms, it may hold at
 *    most 1/8 of the table (drop_backend_silent), and its new entries do
 *    not evict. */
static struct dst *dst_of(struct sg_proxy *px, uint8_t family, const uint8_t *addr,
			  uint16_t port)
{
	uint8_t key[18];
	size_t n = sg_addr_len(family);

	memcpy(key, addr, n);
	memcpy(key + n, &port, 2);
	return &px->dst[XXH3_64bits_withSeed(key, n + 2, px->seed ^ 0x64657374ull) &
			(DST_SLOTS - 1)];
}

/* The destination of the half-open entry (or client tuple) @t. */
static struct dst *dst_to(struct sg_proxy *px, const struct sg_tuple *t)
{
	return dst_of(px, t->family, t->daddr, t->dport);
}

static bool dst_silent(const struct dst *d)
{
	return d->silent_us > d->answered_us;
}

/* @e's destination has not answered since @e was made. */
static bool unanswered(struct sg_proxy *px, const struct sg_halfopen *e)
{
	return dst_to(px, &e->tuple)->answered_us < e->created_us;
}

/* How long @e waits for its backend. */
static uint64_t entry_timeout_us(struct sg_proxy *px, const struct sg_halfopen *e)
{
	uint64_t t = (uint64_t)px->cfg.backend_timeout_ms * 1000;
	uint64_t quick = (uint64_t)px->cfg.syn_rto_ms * 2000;

	return dst_silent(dst_to(px, &e->tuple)) && quick < t ? quick : t;
}

static void halfopen_remove(struct sg_proxy *px, struct sg_halfopen *e)
{
	uint16_t *n = src_counter(px, &e->tuple);
	struct dst *d = dst_to(px, &e->tuple);

	if (*n)
		(*n)--;
	if (d->pending)
		d->pending--;
	sg_table_remove(px->table, e);
}

/* Gives @e up at @now for reason @r: conntrack entry deleted, client reset. */
static void give_up(struct sg_proxy *px, struct sg_halfopen *e, uint64_t now, enum sg_reason r)
{
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_seg s;
	size_t n;

	if (unanswered(px, e))
		dst_to(px, &e->tuple)->silent_us = now;
	px->io.ct_delete(px->io.ctx, &e->tuple);
	client_rst(&s, e);
	n = sg_pkt_build(pkt, sizeof(pkt), &s);
	if (px->io.send(px->io.ctx, pkt, n) == 0)
		px->c.rst_sent++;
	px->c.drops[r]++;
	halfopen_remove(px, e);
}

struct victim {
	struct sg_proxy *px;
	struct sg_halfopen *e;
};

static bool victim_visit(void *ctx, struct sg_halfopen *e)
{
	struct victim *v = ctx;
	struct sg_proxy *px = v->px;

	if (px->now_us - e->created_us >= (uint64_t)px->cfg.syn_rto_ms * 1000 &&
	    unanswered(px, e) && (!v->e || e->created_us < v->e->created_us))
		v->e = e;
	return false;
}

/* Evicts the oldest entry of EVICT_VISITS slots that has waited an RTO
 * unanswered.  Returns whether one was. */
static bool evict_one(struct sg_proxy *px, uint64_t now)
{
	struct victim v = {.px = px};

	px->now_us = now;
	sg_table_scan(px->table, EVICT_VISITS, victim_visit, &v);
	if (!v.e)
		return false;
	give_up(px, v.e, now, SG_R_EVICTED);
	return true;
}

/* Inserts the half-open entry of @t at @now, or returns NULL and the reason. */
static struct sg_halfopen *halfopen_add(struct sg_proxy *px, const struct sg_tuple *t,
					uint64_t now, enum sg_reason *why)
{
	uint16_t *n = src_counter(px, t);
	struct dst *d = dst_to(px, t);
	uint32_t share = px->cfg.table_max / 8 ? px->cfg.table_max / 8 : 1;
	struct sg_halfopen *e;

	if (px->cfg.per_source_max && *n >= px->cfg.per_source_max) {
		*why = SG_R_SOURCE_LIMIT;
		return NULL;
	}
	if (dst_silent(d) && d->pending >= share) {
		*why = SG_R_BACKEND_SILENT;
		return NULL;
	}
	e = sg_table_insert(px->table, t);
	if (!e && !dst_silent(d) && evict_one(px, now))
		e = sg_table_insert(px->table, t);
	if (!e) {
		*why = SG_R_TABLE_FULL;
		return NULL;
	}
	if (*n < UINT16_MAX)
		(*n)++;
	d->pending++;
	return e;
}

/* --- client SYN ---------------------------------------------------------- */

/* Takes a learning token if there is one (LEARN_PROBE_BURST, one more a second). */
static bool probe_take(struct sg_proxy *px, uint64_t now)
{
	return sg_bucket_take(&px->probe_at, &px->probe_tokens, now, LEARN_PROBE_US,
			      LEARN_PROBE_BURST);
}

static void on_syn(struct sg_proxy *px, const struct sg_pkt *p, uint64_t now, struct sg_action *a)
{
	struct backend *b = backend_of(px, p);
	uint16_t cap = p->tuple.family == AF_INET6 ? px->cfg.mss6 : px->cfg.mss4;
	struct sg_tuple r = sg_tuple_reverse(&p->tuple);
	struct sg_seg s;

	px->c.syn_seen++;
	/* every SYN counts towards the estimate, whatever the mode, so that the
	 * operator sees it and adaptive mode can be switched to at any time */
	if (!sg_adaptive_begin(&px->ad, now / 1000) && px->cfg.mode == SG_MODE_ADAPTIVE)
		goto pass;
	if (px->cfg.mode == SG_MODE_NEVER)
		goto pass;
	if (tuple_tracked(px, &p->tuple)) {
		px->c.syn_passed_tracked++;
		goto pass;
	}
	/* a SYN to an unknown backend passes through to teach its options, within
	 * a token bucket for all backends: a flood to random destinations gets no
	 * more than one a second */
	if (px->cfg.learn_first && !(b && b->known) && probe_take(px, now) &&
	    backend_claim(px, p->tuple.family, p->tuple.daddr, p->tuple.dport))
		goto pass;
	seg_init(&s, &r, 0, p->seq + 1, SG_TCP_SYN | SG_TCP_ACK, 0);
	sg_synack_opts(&s.opts, &p->opts, known_opts(b), cap, px->cfg.default_wscale);
	s.seq = sg_cookie_make(&px->keys, &p->tuple, p->seq, &p->opts, sg_cookie_told(&s.opts), NULL);
	if (px->cfg.timestamps && p->opts.has_ts) {
		s.opts.has_ts = true;
		s.opts.tsval = cookie_tsval(px, p, now);
		s.opts.tsecr = p->opts.tsval;
	}
	build(a, &s);
	reflect(px, a);
	px->c.cookies_sent++;
	px->slot_cookies[px->keys.slot & 1]++;
	return;
pass:
	px->c.syn_passed++;
	a->verdict = SG_V_ACCEPT;
}

/* --- client ACK carrying a cookie ----------------------------------------- */

static void refuse(struct sg_proxy *px, const struct sg_pkt *p, enum sg_reason r,
		   struct sg_action *a)
{
	struct sg_tuple t = sg_tuple_reverse(&p->tuple);
	struct sg_seg s;

	drop(px, a, r);
	if (!px->cfg.rst_invalid)
		return;
	seg_init(&s, &t, p->ack, 0, SG_TCP_RST, 0);
	build(a, &s);
	reflect(px, a);
	px->c.rst_sent++;
}

/* A zero-window probe (seq = ISN) carrying a valid cookie: the client's
 * first ACK was lost (dropped while the table was full, a queue overflow, the
 * network), and behind a zero window it never sends one again.  Accepting the
 * probe would double the odds of a forged ACK (two ISNs to try); instead the
 * SYN-ACK goes out again, and the client answers it with a challenge ACK
 * (RFC 5961, seq = ISN + 1) that takes the normal path. */
static void resend_synack(struct sg_proxy *px, const struct sg_pkt *p,
			  const struct sg_cookie_opts *dec, uint8_t told, struct sg_action *a)
{
	struct sg_tuple r = sg_tuple_reverse(&p->tuple);
	struct sg_seg s;

	seg_init(&s, &r, p->ack - 1, p->seq + 1, SG_TCP_SYN | SG_TCP_ACK, 0);
	s.opts.has_mss = true;
	s.opts.mss = dec->mss;
	s.opts.sack_ok = dec->sack_ok;
	s.opts.has_wscale = told != SG_COOKIE_TOLD_NONE; /* what the first one told */
	s.opts.wscale = told != SG_COOKIE_TOLD_NONE ? told : 0;
	if (px->cfg.timestamps && p->opts.has_ts) {
		s.opts.has_ts = true;
		s.opts.tsval = p->opts.tsecr;
		s.opts.tsecr = p->opts.tsval;
	}
	build(a, &s);
	reflect(px, a);
	px->c.synacks_resent++;
}

/* Creates the conntrack entry of @e, replacing a stale one a packet made. */
static int ct_create(struct sg_proxy *px, const struct sg_halfopen *e)
{
	struct sg_ct_new n = {
		.orig = e->tuple,
		.mark = px->cfg.marks.pending,
		.timeout = px->cfg.backend_timeout_ms / 1000 + 5,
		.orig_wscale = e->opts.has_wscale ? e->opts.wscale : 0,
		.reply_wscale = e->adv_wscale,
		.orig_sack_perm = e->opts.sack_ok,
		.reply_sack_perm = e->opts.sack_ok,
		.has_synproxy = px->cfg.timestamps,
		.synproxy = {.isn = e->cookie, .its = e->its, .tsoff = 0},
	};

	if (px->io.ct_create(px->io.ctx, &n) == 0)
		return 0;
	if (errno != EEXIST || px->io.ct_delete(px->io.ctx, &e->tuple) != 0)
		return -1;
	return px->io.ct_create(px->io.ctx, &n);
}

/* Checks the cookie of client ACK @p for client ISN @isn against each window
 * scale its SYN-ACK may have told of backend @b (cookie_mac.h).  Returns
 * SG_R_OK with @dec and @told set, or why it fails. */
static enum sg_reason check_told(struct sg_proxy *px, const struct sg_pkt *p, uint32_t isn,
				 const struct backend *b, struct sg_cookie_opts *dec, uint8_t *told)
{
	enum sg_reason r = SG_R_COOKIE_STALE;
	uint8_t cand[2];
	uint64_t slot;
	unsigned i, n;

	if (sg_cookie_check_slot(p->ack - 1, px->keys.slot, &slot) != 0)
		return r;
	n = sg_cookie_told_candidates(p->ack - 1, slot, known_opts(b), px->cfg.default_wscale, cand);
	for (i = 0; i < n; i++) {
		*told = cand[i];
		r = sg_cookie_check(&px->keys, &p->tuple, isn, p->ack - 1, cand[i], dec);
		if (r == SG_R_OK)
			break;
	}
	return r;
}

/* check_told() with the record of @p's backend in @b (NULL: none); a record
 * this proxy does not know is taken in from the fast path (XDP or another
 * worker may have answered the SYN with its options) and tried too. */
static enum sg_reason check_cookie(struct sg_proxy *px, const struct sg_pkt *p, uint32_t isn,
				   struct backend **b, struct sg_cookie_opts *dec, uint8_t *told)
{
	enum sg_reason r = check_told(px, p, isn, *b, dec, told);

	if (r != SG_R_COOKIE_MAC || (*b && (*b)->known))
		return r;
	*b = backend_of(px, p);
	return *b && (*b)->known ? check_told(px, p, isn, *b, dec, told) : r;
}

static void on_client_ack(struct sg_proxy *px, const struct sg_pkt *p, uint64_t now,
			  struct sg_action *a)
{
	struct backend *b = backend_find(px, p->tuple.family, p->tuple.daddr, p->tuple.dport);
	struct sg_cookie_opts dec;
	struct sg_halfopen *e;
	struct sg_seg s;
	enum sg_reason r;
	uint8_t told;

	r = check_cookie(px, p, p->seq - 1, &b, &dec, &told);
	if (r != SG_R_OK && p->payload_len == 0 &&
	    check_cookie(px, p, p->seq, &b, &dec, &told) == SG_R_OK) {
		resend_synack(px, p, &dec, told, a);
		return;
	}
	if (r != SG_R_OK) {
		px->c.cookies_invalid++;
		refuse(px, p, r, a);
		return;
	}
	px->c.cookies_valid++;
	sg_adaptive_done(&px->ad, now / 1000);
	e = halfopen_add(px, &p->tuple, now, &r);
	if (!e) {
		drop(px, a, r);
		return;
	}
	e->client_isn = p->seq - 1;
	e->cookie = p->ack - 1;
	e->client_win = p->window;
	e->opts = dec;
	e->adv_wscale = told == SG_COOKIE_TOLD_NONE ? 0 : told; /* what the client was told */
	e->created_us = now;
	e->last_syn_us = now;
	e->ts = px->cfg.timestamps && p->opts.has_ts;
	e->its = p->opts.tsecr;
	e->client_tsval = p->opts.tsval;
	if (ct_create(px, e) != 0) {
		halfopen_remove(px, e);
		drop(px, a, SG_R_CT_ERROR);
		return;
	}
	backend_syn(&s, e);
	build(a, &s);
	a->verdict = SG_V_ACCEPT;
	px->c.backend_syns++;
}

/* A client segment while its backend handshake runs (ACK retransmission,
 * zero-window probe): re-send the backend SYN at most once per RTO. */
static void on_pending_client(struct sg_proxy *px, struct sg_halfopen *e, uint64_t now,
			      struct sg_action *a)
{
	struct sg_seg s;

	if (now - e->last_syn_us < ((uint64_t)px->cfg.syn_rto_ms * 1000 << e->retries)) {
		drop(px, a, SG_R_PENDING);
		return;
	}
	e->last_syn_us = now;
	e->retries++;
	backend_syn(&s, e);
	build(a, &s);
	a->verdict = SG_V_ACCEPT;
	px->c.backend_syns++;
}

/* --- backend answers ----------------------------------------------------- */

static void observe_handshake(struct sg_proxy *px, uint64_t us)
{
	unsigned i = 0;

	while (i < SG_HIST_BUCKETS && us > sg_hist_bounds_us[i])
		i++;
	px->c.hist[i]++;
	px->c.hist_sum_us += us;
}

/* Resets both ends of the connection @t (client ISN @client_isn, our ISN
 * towards the client @cookie) whose establish failed: the backend holds an
 * established socket by now, and the client would otherwise hang.  The
 * client's RST goes into @a when there is one (the backend's SYN-ACK,
 * rewritten), else through io.send. */
static void establish_failed(struct sg_proxy *px, const struct sg_tuple *t, uint32_t client_isn,
			     uint32_t cookie, struct sg_action *a)
{
	struct sg_halfopen e = {.tuple = *t, .client_isn = client_isn, .cookie = cookie};
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_seg s;
	size_t n;

	seg_init(&s, t, client_isn + 1, 0, SG_TCP_RST, 0);
	n = sg_pkt_build(pkt, sizeof(pkt), &s);
	px->io.send(px->io.ctx, pkt, n);
	px->io.ct_delete(px->io.ctx, t);
	px->c.drops[SG_R_CT_ERROR]++;
	px->c.rst_sent += 2;
	client_rst(&s, &e);
	if (a) {
		build(a, &s);
		a->verdict = SG_V_ACCEPT;
		return;
	}
	n = sg_pkt_build(pkt, sizeof(pkt), &s);
	px->io.send(px->io.ctx, pkt, n);
}

void sg_proxy_establish_failed(struct sg_proxy *px, int token, int err)
{
	struct deferred *d = &px->deferred[(unsigned)token % SG_PROXY_DEFERRED];

	(void)err;
	if (token <= 0 || d->token != token) {
		px->c.drops[SG_R_CT_ERROR]++;
		return;
	}
	d->token = 0;
	establish_failed(px, &d->tuple, d->client_isn, d->cookie, NULL);
}

/* Remembers the queued establish @token of @e (sg_proxy_establish_failed()). */
static void deferred_note(struct sg_proxy *px, int token, const struct sg_halfopen *e)
{
	struct deferred *d = &px->deferred[(unsigned)token % SG_PROXY_DEFERRED];

	d->token = token;
	d->tuple = e->tuple;
	d->client_isn = e->client_isn;
	d->cookie = e->cookie;
}

/* The backend's SYN-ACK: ACK the backend, set the sequence offset, and turn
 * the SYN-ACK into the client's window update, in that order (the offset must
 * not apply to the backend ACK, and must apply to the update).  The worker
 * queues the offset's request just before the update's verdict, in one
 * message batch (io.ct_establish returns a token). */
static void on_backend_synack(struct sg_proxy *px, struct sg_halfopen *e, const struct sg_pkt *p,
			      uint64_t now, struct sg_action *a)
{
	struct sg_ct_synproxy sp = {.isn = e->cookie, .its = e->its};
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_seg s;
	bool ts;
	size_t n;
	int r;

	if (p->ack != e->client_isn + 1) {
		drop(px, a, SG_R_UNEXPECTED);
		return;
	}
	dst_to(px, &e->tuple)->answered_us = now;
	learn(px, p);
	if (e->opts.has_wscale && (p->opts.has_wscale ? p->opts.wscale : 0) != e->adv_wscale)
		px->c.wscale_mismatch++;
	ts = e->ts && p->opts.has_ts;
	sp.tsoff = ts ? p->opts.tsval - e->its : 0;
	seg_init(&s, &e->tuple, e->client_isn + 1, p->seq + 1, SG_TCP_ACK, e->client_win);
	seg_ts(&s, ts, e->client_tsval, p->opts.tsval);
	n = sg_pkt_build(pkt, sizeof(pkt), &s);
	if (px->io.send(px->io.ctx, pkt, n) != 0)
		px->c.drops[SG_R_SEND_ERROR]++; /* the backend re-sends its SYN-ACK */
	r = px->io.ct_establish(px->io.ctx, &e->tuple, (int32_t)(e->cookie - p->seq),
				px->cfg.marks.proxied, px->cfg.timestamps ? &sp : NULL);
	if (r < 0) {
		establish_failed(px, &e->tuple, e->client_isn, e->cookie, a);
		halfopen_remove(px, e);
		return;
	}
	if (r > 0)
		deferred_note(px, r, e);
	seg_init(&s, &p->tuple, p->seq + 1, p->ack, SG_TCP_ACK, (uint16_t)(p->window >> e->adv_wscale));
	seg_ts(&s, ts, p->opts.tsval, p->opts.tsecr); /* the kernel subtracts tsoff */
	build(a, &s);
	a->verdict = SG_V_ACCEPT;
	observe_handshake(px, now - e->created_us);
	px->c.proxied++;
	if (px->io.completed)
		px->io.completed(px->io.ctx, &e->tuple);
	halfopen_remove(px, e);
}

static void on_backend_rst(struct sg_proxy *px, struct sg_halfopen *e, uint64_t now,
			   struct sg_action *a)
{
	struct sg_seg s;

	dst_to(px, &e->tuple)->answered_us = now;
	client_rst(&s, e);
	px->io.ct_delete(px->io.ctx, &e->tuple);
	halfopen_remove(px, e);
	px->c.drops[SG_R_BACKEND_RST]++;
	px->c.rst_sent++;
	build(a, &s);
	a->verdict = SG_V_ACCEPT;
}

/* A RST refuses the backend SYN only if it acknowledges it (RFC 793,
 * SYN-SENT).  Any other RST answers another segment: once a retransmitted
 * backend SYN (raw socket) went through conntrack, the entry's SYN-proxy
 * keep-alive case lets the client's zero-window probe through to the
 * backend, which resets it; that must not end the handshake. */
static bool backend_refused(const struct sg_halfopen *e, const struct sg_pkt *p)
{
	return (p->flags & (SG_TCP_RST | SG_TCP_ACK)) == (SG_TCP_RST | SG_TCP_ACK) &&
	       p->ack == e->client_isn + 1;
}

static void on_backend(struct sg_proxy *px, struct sg_halfopen *e, const struct sg_pkt *p,
		       uint64_t now, struct sg_action *a)
{
	if ((p->flags & (SG_TCP_SYN | SG_TCP_ACK)) == (SG_TCP_SYN | SG_TCP_ACK))
		on_backend_synack(px, e, p, now, a);
	else if (backend_refused(e, p))
		on_backend_rst(px, e, now, a);
	else
		drop(px, a, SG_R_UNEXPECTED);
}

/* A backend RST on a spliced connection, queued only while the kernel's
 * synproxy hooks are registered (timestamps).  In state CLOSE the hook
 * re-sets the reply offset to isn - seq + 1, which puts every RST at the
 * client's ISN + 1, outside its window once data has flowed: the client
 * never sees it.  isn = seq - 1 makes that offset 0, which the kernel skips,
 * so the RST keeps the connection's own offset.  The timestamp offset goes
 * with it (the request sets all three); a RST passes PAWS anyway. */
static void on_spliced_rst(struct sg_proxy *px, const struct sg_pkt *p, struct sg_action *a)
{
	struct sg_tuple orig = sg_tuple_reverse(&p->tuple);
	struct sg_ct_synproxy sp = {.isn = p->seq - 1};

	if (px->io.ct_synproxy && px->io.ct_synproxy(px->io.ctx, &orig, &sp) != 0)
		px->c.drops[SG_R_CT_ERROR]++; /* counted; the RST goes on regardless */
	a->verdict = SG_V_ACCEPT;
}

/* --- dispatch ------------------------------------------------------------ */

/* The ACK completing a passed-through handshake: the estimate's other half. */
static void on_completed(struct sg_proxy *px, const struct sg_pkt *p, uint64_t now,
			 struct sg_action *a)
{
	sg_adaptive_done(&px->ad, now / 1000);
	px->c.passed_completed++;
	if (px->io.completed)
		px->io.completed(px->io.ctx, &p->tuple);
	a->verdict = SG_V_ACCEPT;
}

void sg_proxy_packet(struct sg_proxy *px, const uint8_t *data, size_t len, uint64_t now_us,
		     struct sg_action *a)
{
	sg_proxy_packet_ct(px, data, len, false, now_us, a);
}

/* The kinds of queued packet (docs/design.md, "Packet path"), named once.
 * classify() decides the kind from the flags first and probes the half-open
 * table only for the kinds that can belong to a pending connection. */
enum sg_pkt_kind {
	SG_PK_CLIENT_SYN,	/* 1: answer with a cookie (or pass) */
	SG_PK_CLIENT_ACK,	/* 2: no state: check the cookie */
	SG_PK_CLIENT_PENDING,	/* a client segment while the backend handshake runs */
	SG_PK_BACKEND_REPLY,	/* 3, 4: the backend's SYN-ACK or RST to a pending one */
	SG_PK_PASSED_SYNACK,	/* a passed-through connection's SYN-ACK: learn */
	SG_PK_PASSED_COMPLETE,	/* 5: the ACK completing a passed-through handshake */
	SG_PK_SPLICED_RST,	/* a backend RST on a spliced connection (timestamps) */
	SG_PK_UNEXPECTED,
};

#define SG_TCP_FLAGS3 (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)

/* The kind of the parsed packet @p; @e is set to its half-open entry for
 * the kinds that have one.  A client tuple is probed before the reversed
 * one, so a segment whose tuple is its own reverse counts as the client's. */
static enum sg_pkt_kind classify(struct sg_proxy *px, const struct sg_pkt *p, bool tracked,
				 struct sg_halfopen **e)
{
	struct sg_tuple rev;
	unsigned f = p->flags & SG_TCP_FLAGS3;

	*e = NULL;
	if (tracked && f == SG_TCP_ACK)
		return SG_PK_PASSED_COMPLETE;
	if ((p->flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
		return SG_PK_CLIENT_SYN;
	*e = sg_table_find(px->table, &p->tuple);
	if (*e)
		return SG_PK_CLIENT_PENDING;
	rev = sg_tuple_reverse(&p->tuple);
	*e = sg_table_find(px->table, &rev);
	if (*e)
		return SG_PK_BACKEND_REPLY;
	if ((p->flags & (SG_TCP_SYN | SG_TCP_ACK)) == (SG_TCP_SYN | SG_TCP_ACK))
		return SG_PK_PASSED_SYNACK;
	if (f == SG_TCP_ACK)
		return SG_PK_CLIENT_ACK;
	if ((f & SG_TCP_RST) && px->cfg.timestamps)
		return SG_PK_SPLICED_RST;
	return SG_PK_UNEXPECTED;
}

void sg_proxy_packet_ct(struct sg_proxy *px, const uint8_t *data, size_t len, bool tracked,
			uint64_t now_us, struct sg_action *a)
{
	struct sg_pkt p;
	enum sg_reason r = sg_pkt_parse(&p, data, len);

	sg_proxy_parsed(px, &p, r, tracked, now_us, a);
}

void sg_proxy_parsed(struct sg_proxy *px, const struct sg_pkt *p, enum sg_reason parsed,
		     bool tracked, uint64_t now_us, struct sg_action *a)
{
	struct sg_halfopen *e;

	memset(a, 0, offsetof(struct sg_action, out));
	a->reason = SG_R_OK;
	px->c.packets++;
	if (parsed != SG_R_OK) {
		drop(px, a, parsed);
		return;
	}
	switch (classify(px, p, tracked, &e)) {
	case SG_PK_CLIENT_SYN:
		on_syn(px, p, now_us, a);
		break;
	case SG_PK_CLIENT_ACK:
		on_client_ack(px, p, now_us, a);
		break;
	case SG_PK_CLIENT_PENDING:
		on_pending_client(px, e, now_us, a);
		break;
	case SG_PK_BACKEND_REPLY:
		on_backend(px, e, p, now_us, a);
		break;
	case SG_PK_PASSED_SYNACK:
		dst_of(px, p->tuple.family, p->tuple.saddr, p->tuple.sport)->answered_us = now_us;
		learn(px, p);
		a->verdict = SG_V_ACCEPT;
		break;
	case SG_PK_PASSED_COMPLETE:
		on_completed(px, p, now_us, a);
		break;
	case SG_PK_SPLICED_RST:
		on_spliced_rst(px, p, a);
		break;
	case SG_PK_UNEXPECTED:
		drop(px, a, SG_R_UNEXPECTED);
		break;
	}
}

/* --- timers -------------------------------------------------------------- */

static bool expire_one(void *ctx, struct sg_halfopen *e)
{
	struct sg_proxy *px = ctx;
	uint8_t pkt[SG_PKT_MAX_BUILT];
	struct sg_seg s;
	size_t n;

	if (px->now_us - e->created_us >= entry_timeout_us(px, e)) {
		give_up(px, e, px->now_us, SG_R_BACKEND_TIMEOUT);
		return true;
	}
	if (px->now_us - e->last_syn_us >= ((uint64_t)px->cfg.syn_rto_ms * 1000 << e->retries)) {
		backend_syn(&s, e);
		n = sg_pkt_build(pkt, sizeof(pkt), &s);
		if (px->io.send(px->io.ctx, pkt, n) != 0)
			px->c.drops[SG_R_SEND_ERROR]++;
		e->last_syn_us = px->now_us;
		e->retries++;
		px->c.backend_syns++;
	}
	return false;
}

void sg_proxy_tick(struct sg_proxy *px, uint64_t now_us, uint32_t budget)
{
	px->now_us = now_us;
	sg_adaptive_tick(&px->ad, now_us / 1000);
	sg_table_scan(px->table, budget, expire_one, px);
}

int sg_proxy_rotate(struct sg_proxy *px, uint64_t now_s, const uint8_t *random)
{
	int r = sg_cookie_rotate(&px->keys, now_s, random);

	if (r == 2)
		px->slot_cookies[0] = px->slot_cookies[1] = 0;
	else if (r == 1)
		px->slot_cookies[px->keys.slot & 1] = 0;
	return r;
}

void sg_proxy_set_keys(struct sg_proxy *px, const struct sg_cookie_keys *k)
{
	if (k->slot >= px->keys.slot + 2)
		px->slot_cookies[0] = px->slot_cookies[1] = 0;
	else if (k->slot == px->keys.slot + 1)
		px->slot_cookies[k->slot & 1] = 0;
	px->keys = *k;
}

void sg_proxy_note_syns(struct sg_proxy *px, uint64_t n, uint64_t now_us)
{
	px->c.syn_seen += n;
	px->c.cookies_sent += n;
	px->slot_cookies[px->keys.slot & 1] += n;
	sg_adaptive_begin_n(&px->ad, now_us / 1000, n);
}

void sg_proxy_cookies_in_flight(const struct sg_proxy *px, uint64_t out[2])
{
	out[0] = px->slot_cookies[px->keys.slot & 1];
	out[1] = px->slot_cookies[(px->keys.slot + 1) & 1];
}

void sg_proxy_reconfigure(struct sg_proxy *px, const struct sg_proxy_config *c)
{
	uint32_t table_max = px->cfg.table_max, cookie_period = px->cfg.cookie_period;

	px->cfg = *c;
	px->cfg.table_max = table_max;
	px->cfg.cookie_period = cookie_period;
	sg_adaptive_set(&px->ad, c->adaptive_high, c->adaptive_low, c->adaptive_window_ms);
}

const struct sg_counters *sg_proxy_counters(const struct sg_proxy *px)
{
	return &px->c;
}

uint32_t sg_proxy_halfopen(const struct sg_proxy *px)
{
	return sg_table_count(px->table);
}

void sg_proxy_set_mode(struct sg_proxy *px, enum sg_mode m)
{
	px->cfg.mode = m;
}

enum sg_mode sg_proxy_mode(const struct sg_proxy *px)
{
	return px->cfg.mode;
}

const struct sg_adaptive *sg_proxy_adaptive(const struct sg_proxy *px)
{
	return &px->ad;
}

bool sg_proxy_cookies_on(const struct sg_proxy *px)
{
	return px->cfg.mode == SG_MODE_ALWAYS ||
	       (px->cfg.mode == SG_MODE_ADAPTIVE && px->ad.engaged);
}

const char *sg_mode_name(enum sg_mode m)
{
	static const char *const names[] = {"never", "always", "adaptive"};

	return (unsigned)m < 3 ? names[m] : "unknown";
}

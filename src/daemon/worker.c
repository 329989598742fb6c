/* syngate worker: see include/syngate/daemon/worker.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "syngate/io/ct.h"
#include "syngate/io/lane.h"
#include "syngate/io/log.h"
#include "syngate/io/raw.h"
#include "syngate/daemon/worker.h"

#define TICK_MS 100
/* The timer pass visits the whole half-open table (fewer than 4 * table-size
 * slots) within SCAN_MS, so backend SYN retransmissions and timeouts fire at
 * most that late (a fixed 8192 slots per tick took 1.6 s with the default
 * table); huge tables are capped at TICK_BUDGET_MAX slots per tick. */
#define SCAN_MS 500
#define TICK_BUDGET_MIN 8192
#define TICK_BUDGET_MAX (1u << 18)
#define RANDOM_LEN (2 * SG_COOKIE_SECRET_LEN + 8)
#define SNAP_WAIT_MS 200

struct sg_worker {
	struct sg_config cfg;
	uint16_t queue;
	int id, nworkers;
	struct sg_keyring *ring;
	struct sg_xdp *xdp;
	uint64_t xdp_answered; /* the program's answered count at the last tick */
	bool xdp_on;	       /* what this worker last told the program (engaged) */
	struct sg_proxy *px;
	uint64_t teach_s; /* sg_worker_teach(): the learned time of the record taught */
	struct sg_nfq *q;
	struct sg_ct *ct;
	struct sg_raw *raw;
	struct sg_raw *reply_raw; /* on-host: cookie SYN-ACKs, with the reflect mark */
	struct sg_lane *lane; /* NULL: lane off */
	bool lane_queue;      /* this worker serves a lane queue */
	int epfd, tfd, efd; /* efd: the daemon's requests */
	pthread_t th;
	bool started;
	_Atomic uint64_t beat_us; /* the loop's last turn (the watchdog reads it) */
	uint64_t now_us;    /* monotonic microseconds, read once per batch */
	uint64_t last_slot; /* cookie slot of the last rotation check */
	uint64_t peak_halfopen;
	bool cookies_on;    /* last logged: SYNs answered with cookies */
	struct sg_log_limit rl_receive; /* NFQUEUE receive errors */
	/* the batch being handled: its packets (data in the queue's receive
	 * buffer until the next poll) and the conntrack lookups of its SYNs */
	struct sg_nfq_pkt pend[SG_NFQ_RX_BATCH];
	struct sg_pkt parsed[SG_NFQ_RX_BATCH]; /* pend[i] parsed, once */
	enum sg_reason parse_r[SG_NFQ_RX_BATCH];
	int npend;
	struct sg_tuple look_t[SG_NFQ_RX_BATCH];
	int8_t look_r[SG_NFQ_RX_BATCH];
	int nlook;
	uint32_t est_seq;	/* the last establish queued on the queue socket */
	bool flush_now;		/* one was: send it with its packet's verdict */

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	struct sg_worker_snap snap;
	uint64_t snap_gen;	 /* bumped at each snapshot */
	struct sg_proxy_config pending;
	bool has_pending, stop;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- io table for the proxy --------------------------------------------- */

static int io_create(void *ctx, const struct sg_ct_new *n)
{
	return sg_ct_create(((struct sg_worker *)ctx)->ct, n);
}

/* The establish goes into the queue socket's batch, just before the
 * verdict of the backend's SYN-ACK (the window update it must translate),
 * and the batch leaves with that verdict (decide()): one sendmsg instead of
 * a request, its acknowledgement and the verdict's.  The kernel answers only
 * a failure, through the queue socket (on_request_error()).  Returns the
 * token (> 0), or falls back to the synchronous request when the batch
 * cannot take it. */
static int io_establish(void *ctx, const struct sg_tuple *t, int32_t off, uint32_t mark,
			const struct sg_ct_synproxy *sp)
{
	struct sg_worker *w = ctx;
	char msg[SG_CT_MSG_MAX] __attribute__((aligned(4)));
	uint32_t seq = w->est_seq % INT32_MAX + 1;
	size_t n = sg_ct_establish_msg(msg, seq, t, off, mark, sp);

	if (n == 0 || sg_nfq_request(w->q, msg, n) != 0)
		return sg_ct_establish(w->ct, t, off, mark, sp);
	w->est_seq = seq;
	w->flush_now = true;
	return (int)seq;
}

/* A queued establish failed (sg_nfq_on_request_error()). */
static void on_request_error(void *ctx, uint32_t seq, int err)
{
	struct sg_worker *w = ctx;

	sg_proxy_establish_failed(w->px, seq <= INT32_MAX ? (int)seq : 0, err);
}

static int io_synproxy(void *ctx, const struct sg_tuple *t, const struct sg_ct_synproxy *sp)
{
	return sg_ct_set_synproxy(((struct sg_worker *)ctx)->ct, t, sp);
}

static int io_delete(void *ctx, const struct sg_tuple *t)
{
	return sg_ct_delete(((struct sg_worker *)ctx)->ct, t);
}

/* The answer looked up for the batch (batch_lookups()), else a request of
 * its own. */
static int io_lookup(void *ctx, const struct sg_tuple *t)
{
	struct sg_worker *w = ctx;

	for (int i = 0; i < w->nlook; i++)
		if (!memcmp(&w->look_t[i], t, sizeof(*t)) && w->look_r[i] >= 0)
			return w->look_r[i];
	return sg_ct_lookup(w->ct, t);
}

static int io_send(void *ctx, const uint8_t *pkt, size_t len)
{
	return sg_raw_send(((struct sg_worker *)ctx)->raw, pkt, len);
}

static int io_reply(void *ctx, const uint8_t *pkt, size_t len)
{
	return sg_raw_send(((struct sg_worker *)ctx)->reply_raw, pkt, len);
}

/* On-host, the answers to clients leave through a raw socket of their own,
 * whose packets carry the reflect mark (the rules notrack them in raw
 * OUTPUT): reflecting a SYN in place would need the host to forward.
 * Returns 0, or -1 with errno. */
static int open_reply(struct sg_worker *w, uint32_t mark)
{
	w->reply_raw = sg_raw_open();
	return w->reply_raw && sg_raw_set_mark(w->reply_raw, mark) == 0 ? 0 : -1;
}

/* Backend options learned by any worker, for the workers that do not see a
 * backend's SYN-ACK themselves: without the XDP program's map, a lane worker
 * would otherwise advertise default-wscale to a backend a main worker has
 * long learned.  Open addressing: a backend lives in one of SHARED_PROBE
 * slots from its hash; when all of them hold others, the one learned longest
 * ago gives way.  It is also what the backends file saves (backends.c), so a
 * backend must not lose its slot to another merely by hashing alike.  One
 * lock, taken once per learned SYN-ACK (a sample of a few a second per
 * backend) and once per SYN or ACK to a backend the worker does not know. */
#define SHARED_BACKENDS 256
#define SHARED_PROBE 8

static struct {
	pthread_mutex_t lock;
	uint64_t changes;   /* puts that changed or added a backend's options */
	uint64_t refreshes; /* puts of the options a backend had already */
	struct {
		bool used;
		uint8_t family;
		uint8_t addr[16];
		uint16_t port;
		struct sg_backend_opts o;
		uint64_t learned_s; /* wall clock */
		bool pushed;	    /* these options are in the XDP program's map */
	} e[SHARED_BACKENDS];
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* FNV-1a over family, port and address, then a finalizer: the low bits
 * of plain FNV depend only on the low bits of each input byte, and two ports
 * 256 apart would always share a slot. */
static uint32_t shared_hash(uint8_t family, const uint8_t *addr, uint16_t port)
{
	uint32_t h = 2166136261u;

	h = (h ^ family) * 16777619u;
	h = (h ^ (uint8_t)(port >> 8)) * 16777619u;
	h = (h ^ (uint8_t)port) * 16777619u;
	for (size_t i = 0; i < sg_addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

static bool shared_holds(unsigned i, uint8_t family, const uint8_t *addr, uint16_t port)
{
	return shared.e[i].used && shared.e[i].family == family && shared.e[i].port == port &&
	       !memcmp(shared.e[i].addr, addr, sg_addr_len(family));
}

/* The slot of backend @family/@addr/@port: its own, or -1 if it has none;
 * with @insert, a free one of its probe run instead, or the one of those
 * learned longest ago.  Slots are never emptied, so the whole run is looked
 * at.  Under shared.lock. */
static int shared_find(uint8_t family, const uint8_t *addr, uint16_t port, bool insert)
{
	uint32_t h = shared_hash(family, addr, port);
	int free_i = -1, old_i = -1;

	for (unsigned k = 0; k < SHARED_PROBE; k++) {
		unsigned i = (h + k) % SHARED_BACKENDS;

		if (!shared.e[i].used) {
			if (free_i < 0)
				free_i = (int)i;
			continue;
		}
		if (shared_holds(i, family, addr, port))
			return (int)i;
		if (old_i < 0 || shared.e[i].learned_s < shared.e[old_i].learned_s)
			old_i = (int)i;
	}
	if (!insert)
		return -1;
	return free_i >= 0 ? free_i : old_i;
}

static bool opts_same(const struct sg_backend_opts *a, const struct sg_backend_opts *b)
{
	return a->has_wscale == b->has_wscale && a->sack_ok == b->sack_ok &&
	       a->wscale == b->wscale && a->mss == b->mss && a->told_before == b->told_before &&
	       a->told_changed == b->told_changed && a->told_since == b->told_since;
}

/* Puts the options @o of backend @b (saddr/sport).  Returns true when the
 * XDP program's map needs them: the slot held another backend or other
 * options, or they never reached the map (sg_worker_pushed() not called). */
static bool shared_put(const struct sg_tuple *b, const struct sg_backend_opts *o,
		       uint64_t learned_s)
{
	unsigned i;
	bool push;

	pthread_mutex_lock(&shared.lock);
	i = (unsigned)shared_find(b->family, b->saddr, b->sport, true);
	if (shared_holds(i, b->family, b->saddr, b->sport) && opts_same(&shared.e[i].o, o)) {
		shared.refreshes++;
	} else {
		shared.changes++;
		shared.e[i].pushed = false;
	}
	push = !shared.e[i].pushed;
	shared.e[i].used = true;
	shared.e[i].learned_s = learned_s;
	shared.e[i].family = b->family;
	memcpy(shared.e[i].addr, b->saddr, sg_addr_len(b->family));
	shared.e[i].port = b->sport;
	shared.e[i].o = *o;
	pthread_mutex_unlock(&shared.lock);
	return push;
}

/* The options of backend @b are in the XDP program's map now, if its slot
 * still holds those (@o). */
static void shared_pushed(const struct sg_tuple *b, const struct sg_backend_opts *o)
{
	int i;

	pthread_mutex_lock(&shared.lock);
	i = shared_find(b->family, b->saddr, b->sport, false);
	if (i >= 0 && opts_same(&shared.e[i].o, o))
		shared.e[i].pushed = true;
	pthread_mutex_unlock(&shared.lock);
}

/* The options of backend @b (daddr/dport); 0, or -1 when nobody learned it. */
static int shared_get(const struct sg_tuple *b, struct sg_backend_opts *o)
{
	int i, r = -1;

	pthread_mutex_lock(&shared.lock);
	i = shared_find(b->family, b->daddr, b->dport, false);
	if (i >= 0) {
		*o = shared.e[i].o;
		r = 0;
	}
	pthread_mutex_unlock(&shared.lock);
	return r;
}

size_t sg_worker_learned(struct sg_backfile_rec *out, size_t max, uint64_t gen[2])
{
	size_t i, n = 0;

	pthread_mutex_lock(&shared.lock);
	for (i = 0; i < SHARED_BACKENDS && n < max; i++) {
		if (!shared.e[i].used)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = shared.e[i].family;
		memcpy(out[n].addr, shared.e[i].addr, sizeof(out[n].addr));
		out[n].port = shared.e[i].port;
		out[n].o = shared.e[i].o;
		out[n++].learned_s = shared.e[i].learned_s;
	}
	gen[0] = shared.changes;
	gen[1] = shared.refreshes;
	pthread_mutex_unlock(&shared.lock);
	return n;
}

static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static void io_learned(void *ctx, const struct sg_tuple *b, const struct sg_backend_opts *o)
{
	struct sg_worker *w = ctx;
	struct sg_xdp_backend v = {o->mss,	   o->has_wscale,  o->wscale,	  o->sack_ok,
				   o->told_before, o->told_changed, 0,		  o->told_since};

	/* every proxied connection's SYN-ACK comes here: the map (a syscall)
	 * is written only when the options change */
	if (shared_put(b, o, w->teach_s ? w->teach_s : wall_s()) && w->xdp &&
	    sg_xdp_learned(w->xdp, b->family, b->saddr, b->sport, &v) == 0)
		shared_pushed(b, o);
}

/* What the XDP program's map, else another worker, knows of backend @b. */
static int io_backend(void *ctx, const struct sg_tuple *b, struct sg_backend_opts *o)
{
	struct sg_worker *w = ctx;
	struct sg_xdp_backend v;

	if (!w->xdp || sg_xdp_backend(w->xdp, b->family, b->daddr, b->dport, &v) != 0)
		return shared_get(b, o);
	o->mss = v.mss;
	o->has_wscale = v.has_wscale;
	o->wscale = v.wscale;
	o->sack_ok = v.sack_ok;
	o->told_before = v.told_before;
	o->told_changed = v.told_changed;
	o->told_since = v.told_since;
	return 0;
}

int sg_worker_teach(struct sg_worker *w, const struct sg_backfile_rec *r)
{
	int ret;

	w->teach_s = r->learned_s;
	ret = sg_proxy_teach(w->px, r->family, r->addr, r->port, &r->o);
	w->teach_s = 0;
	return ret;
}

/* A handshake of @t completed (a proxied one, or a passed-through one whose
 * completing ACK came by): the client joins the lane.  Filling the lane
 * here, once the backend has answered, rather than at the cookie ACK, means
 * that only clients a backend accepted get in, and a client's handshakes in
 * flight never change queue (the rules route them by connmark). */
static void io_completed(void *ctx, const struct sg_tuple *t)
{
	struct sg_worker *w = ctx;

	sg_lane_add(w->lane, t->family, t->saddr, w->now_us);
}

/* --- the packet path ------------------------------------------------------ */

/* Holds the packet, parsed: the batch is decided after the poll
 * (handle_batch()). */
static void on_packet(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *pkt)
{
	struct sg_worker *w = ctx;
	int i = w->npend++;

	(void)q;
	w->pend[i] = *pkt;
	w->parse_r[i] = sg_pkt_parse(&w->parsed[i], pkt->data, pkt->data ? pkt->len : 0);
}

/* Asks conntrack about the tuples of the batch's client SYNs at once, while
 * SYNs get cookies: every SYN needs the answer (port reuse), and one
 * request a SYN, each waiting for its answer, made a flood's SYNs queue up
 * behind each other's round trips until legitimate handshakes timed out. */
static void batch_lookups(struct sg_worker *w)
{
	w->nlook = 0;
	if (!sg_proxy_cookies_on(w->px))
		return;
	for (int i = 0; i < w->npend; i++)
		if (w->parse_r[i] == SG_R_OK &&
		    (w->parsed[i].flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
			w->look_t[w->nlook++] = w->parsed[i].tuple;
	if (w->nlook)
		sg_ct_lookup_many(w->ct, w->look_t, w->nlook, w->look_r);
}

/* Tells the XDP program whether this worker answers SYNs with cookies. */
static void xdp_engage(struct sg_worker *w)
{
	w->xdp_on = sg_proxy_cookies_on(w->px);
	sg_xdp_engage(w->xdp, (unsigned)w->id, w->xdp_on);
}

/* Sends the verdicts (and requests) queued so far.  A SYN they answer may
 * have engaged cookies (adaptive): the program answers from the next SYN
 * on, not from the next tick (up to 100 ms of a flood went on to the
 * queue), and is told before the verdicts free the queue's slots for SYNs
 * it would still pass. */
static void flush(struct sg_worker *w)
{
	if (w->xdp && sg_proxy_cookies_on(w->px) != w->xdp_on)
		xdp_engage(w);
	sg_nfq_flush(w->q);
}

static void decide(struct sg_worker *w, struct sg_nfq *q, int i)
{
	const struct sg_nfq_pkt *pkt = &w->pend[i];
	uint32_t cm = w->cfg.proxy.marks.complete;
	bool completes = (pkt->mark & cm) == cm;
	struct sg_action a;

	sg_proxy_parsed(w->px, &w->parsed[i], w->parse_r[i], completes, w->now_us, &a);
	if (completes) /* the rules' mark has done its job: take it off */
		sg_nfq_verdict_mark(q, pkt->id, a.verdict, NULL, 0, pkt->mark & ~cm);
	else if (a.set_mark)
		sg_nfq_verdict_mark(q, pkt->id, a.verdict, a.len ? a.out : NULL, a.len, a.mark);
	else
		sg_nfq_verdict(q, pkt->id, a.verdict, a.len ? a.out : NULL, a.len);
	if (w->flush_now) {
		/* the ACK went to the backend untranslated: the offset must be
		 * set right after it, before anything of the backend's comes */
		w->flush_now = false;
		flush(w);
	}
}

/* Decides the packets the last poll received, then sends their verdicts
 * in one message batch. */
static void handle_batch(struct sg_worker *w)
{
	batch_lookups(w);
	for (int i = 0; i < w->npend; i++)
		decide(w, w->q, i);
	w->npend = 0;
	w->nlook = 0;
	flush(w);
}

/* --- timers and requests ----------------------------------------------------- */

/* Table slots one tick visits (see SCAN_MS). */
static uint32_t tick_budget(uint32_t table_max)
{
	uint64_t b = (uint64_t)table_max * 4 * TICK_MS / SCAN_MS;

	if (b < TICK_BUDGET_MIN)
		return TICK_BUDGET_MIN;
	return b > TICK_BUDGET_MAX ? TICK_BUDGET_MAX : (uint32_t)b;
}

/* This worker's share of the adaptive watermarks: 1/nqueues of them.  The
 * main queues split the SYNs among them; a lane worker sees the lane's share
 * of the same queue set and keeps an estimate (and watermarks) of its own. */
static void share_watermarks(struct sg_proxy_config *c, int nqueues)
{
	c->adaptive_high = c->adaptive_high / (uint32_t)nqueues ?: 1;
	c->adaptive_low = c->adaptive_low / (uint32_t)nqueues;
}

/* A lane worker's proxy: its pending connections carry the lane mark as
 * well, so that the rules bring their packets back to it.  Without the XDP
 * program it passes no SYN to learn a backend: the backend's answer would
 * reach a main queue's worker, never this one, so it would keep passing; it
 * learns from the SYN-ACKs of the handshakes it completes instead.  With the
 * program, a SYN reaches it only when the program does not know the backend
 * either, and passing it teaches the program (through a main worker). */
static void lane_config(struct sg_proxy_config *c, const struct sg_config *cfg, bool xdp)
{
	c->marks.pending |= cfg->proxy.marks.lane;
	c->learn_first = c->learn_first && xdp;
}

/* Logs when cookies engage or are released (adaptive mode), once per change. */
static void log_transition(struct sg_worker *w)
{
	const struct sg_adaptive *ad = sg_proxy_adaptive(w->px);
	bool on = sg_proxy_cookies_on(w->px);

	if (on == w->cookies_on)
		return;
	w->cookies_on = on;
	if (sg_proxy_mode(w->px) != SG_MODE_ADAPTIVE)
		return;
	if (on)
		sg_log_event(NULL, SG_LOG_WARN, "cookies_engaged",
			     "adaptive: half-open estimate reached the high watermark; SYNs are "
			     "answered with cookies", "queue=%u estimate=%u high=%u", w->queue,
			     sg_adaptive_estimate(ad), ad->high);
	else
		sg_log_event(NULL, SG_LOG_NOTICE, "cookies_released",
			     "adaptive: half-open estimate below the low watermark; SYNs pass",
			     "queue=%u estimate=%u low=%u", w->queue, sg_adaptive_estimate(ad),
			     ad->low);
}

/* Takes the keyring's keys when the cookie slot changes.  Slots count
 * wall-clock seconds (keyring.h: the same slot on every router and across a
 * restart); the monotonic clock times everything else. */
static void rotate(struct sg_worker *w)
{
	struct timespec ts;
	uint64_t now_s, slot;
	struct sg_cookie_keys k;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_s = (uint64_t)ts.tv_sec;
	slot = now_s / w->cfg.proxy.cookie_period;
	if (w->last_slot != UINT64_MAX && slot <= w->last_slot)
		return; /* same slot, or the clock stepped back: the keyring keeps the latest */
	sg_keyring_sync(w->ring, w->id, now_s, &k);
	sg_proxy_set_keys(w->px, &k);
	w->last_slot = k.slot;
	sg_log_event(NULL, SG_LOG_DEBUG, "cookie_slot", "cookie keys rotated", "queue=%u slot=%lu",
		     w->queue, (unsigned long)k.slot);
}

/* Gives a main worker its share of the SYNs the XDP program answered since
 * the last call (syn_seen, cookies_sent and the adaptive estimate count
 * them; the program cannot tell lane members, so a lane worker takes none). */
static void xdp_account(struct sg_worker *w)
{
	uint64_t c[SG_XDP__COUNT], delta, share, n = w->cfg.rules.nqueues;

	if (!w->xdp || w->lane_queue || sg_xdp_counters(w->xdp, c) != 0 ||
	    c[SG_XDP_ANSWERED] <= w->xdp_answered)
		return;
	delta = c[SG_XDP_ANSWERED] - w->xdp_answered;
	share = delta / n;
	if ((uint64_t)w->id < delta % n)
		share++;
	w->xdp_answered = c[SG_XDP_ANSWERED];
	sg_proxy_note_syns(w->px, share, w->now_us);
}

/* Keeps the XDP program answering while this worker answers SYNs with
 * cookies (told again each tick), and takes in what it answered. */
static void xdp_tick(struct sg_worker *w)
{
	if (!w->xdp)
		return;
	xdp_engage(w);
	xdp_account(w);
}

/* Takes the figures, applies pending options; on the worker's thread. */
static void snapshot_take(struct sg_worker *w)
{
	struct sg_worker_snap n;

	memset(&n, 0, sizeof(n));
	n.c = *sg_proxy_counters(w->px);
	n.nfq = *sg_nfq_stats(w->q);
	if (w->lane)
		n.lane = *sg_lane_stats(w->lane);
	n.ad = *sg_proxy_adaptive(w->px);
	sg_proxy_cookies_in_flight(w->px, n.cookies_slot);
	n.halfopen = sg_proxy_halfopen(w->px);
	n.mode = sg_proxy_mode(w->px);
	n.cookies_on = sg_proxy_cookies_on(w->px);
	pthread_mutex_lock(&w->lock);
	if (w->has_pending) {
		sg_proxy_reconfigure(w->px, &w->pending);
		w->has_pending = false;
		n.mode = sg_proxy_mode(w->px);
		n.cookies_on = sg_proxy_cookies_on(w->px);
	}
	w->snap = n;
	w->snap_gen++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void on_tick(struct sg_worker *w)
{
	uint64_t expirations;
	uint32_t ho;

	if (read(w->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		sg_log_warn("queue %u: timerfd read", w->queue);
	w->now_us = mono_us();
	sg_proxy_tick(w->px, w->now_us, tick_budget(w->cfg.proxy.table_max));
	rotate(w);
	xdp_tick(w);
	if (w->lane)
		sg_lane_drain(w->lane);
	log_transition(w);
	snapshot_take(w);
	ho = sg_proxy_halfopen(w->px);
	if (ho > w->peak_halfopen && ho >= w->cfg.proxy.table_max / 2) {
		sg_log_event(NULL, SG_LOG_WARN, "halfopen_high",
			     "half-open table more than half full (new peak)",
			     "queue=%u entries=%u max=%u", w->queue, ho, w->cfg.proxy.table_max);
		w->peak_halfopen = ho;
	}
}

/* A request from the daemon's thread.  Returns true to stop. */
static bool on_request(struct sg_worker *w)
{
	uint64_t v;
	bool stop;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sg_log_warn("queue %u: eventfd read", w->queue);
	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	if (stop)
		return true;
	/* figures as of the request, not of the last tick: the SYNs XDP
	 * answered and the lane's answers so far (a stats read right after a
	 * connection missed up to 100 ms of them) */
	w->now_us = mono_us();
	xdp_account(w);
	if (w->lane)
		sg_lane_drain(w->lane);
	snapshot_take(w);
	return false;
}

static void *run(void *arg)
{
	struct sg_worker *w = arg;
	struct epoll_event evs[4];
	int qfd = sg_nfq_fd(w->q);

	for (;;) {
		int i, n = epoll_wait(w->epfd, evs, 4, -1);

		atomic_store_explicit(&w->beat_us, mono_us(), memory_order_relaxed);
		if (n < 0 && errno != EINTR) {
			sg_log_warn("queue %u: epoll_wait", w->queue);
			return NULL;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == qfd) {
				w->now_us = mono_us();
				w->npend = 0;
				if (sg_nfq_poll(w->q, false, on_packet, w) < 0)
					sg_log_event(&w->rl_receive, SG_LOG_WARN, "nfq_receive_error",
						     "NFQUEUE receive failed", "queue=%u err=\"%s\"",
						     w->queue, strerror(errno));
				handle_batch(w);
			} else if (fd == w->tfd) {
				on_tick(w);
			} else if (fd == w->efd && on_request(w)) {
				return NULL;
			}
		}
	}
}

/* --- life cycle ------------------------------------------------------------ */

static int add_fd(int ep, int fd)
{
	struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int open_fds(struct sg_worker *w)
{
	struct itimerspec its = {{0, TICK_MS * 1000000}, {0, TICK_MS * 1000000}};

	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->tfd < 0 || w->efd < 0 || w->epfd < 0 ||
	    timerfd_settime(w->tfd, 0, &its, NULL) < 0 || add_fd(w->epfd, w->tfd) ||
	    add_fd(w->epfd, w->efd) || add_fd(w->epfd, sg_nfq_fd(w->q)))
		return -1;
	return 0;
}

struct sg_worker *sg_worker_new(const struct sg_config *cfg, uint16_t queue, int id, int nworkers,
				struct sg_keyring *ring, struct sg_xdp *xdp)
{
	struct sg_worker *w = calloc(1, sizeof(*w));
	struct sg_proxy_io io = {.ctx = w,
				 .ct_create = io_create,
				 .ct_establish = io_establish,
				 .ct_synproxy = io_synproxy,
				 .ct_delete = io_delete,
				 .ct_lookup = io_lookup,
				 .send = io_send,
				 .reply = cfg->rules.on_host ? io_reply : NULL,
				 .learned = io_learned,
				 .backend = io_backend,
				 .completed = cfg->rules.lane ? io_completed : NULL};
	struct sg_nfq_config qc = {queue, cfg->queue_maxlen, (size_t)cfg->rcvbuf_mb << 20,
				   cfg->rules.fail_open};
	struct sg_proxy_config pc = cfg->proxy;
	uint8_t rnd[RANDOM_LEN];

	if (!w)
		return NULL;
	w->cfg = *cfg;
	w->queue = queue;
	w->id = id;
	w->nworkers = nworkers;
	w->ring = ring;
	w->xdp = xdp;
	w->epfd = w->tfd = w->efd = -1;
	w->rl_receive = SG_LOG_LIMIT(10);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	share_watermarks(&pc, cfg->rules.nqueues);
	w->lane_queue = cfg->rules.lane && id >= cfg->rules.nqueues;
	if (w->lane_queue)
		lane_config(&pc, cfg, xdp != NULL);
	w->now_us = mono_us();
	if (!(w->ct = sg_ct_open()))
		sg_log_warn("ctnetlink (is nf_conntrack_netlink available?)");
	else if (!(w->raw = sg_raw_open()))
		sg_log_warn("raw sockets");
	else if (cfg->rules.on_host && open_reply(w, cfg->proxy.marks.reflect) < 0)
		sg_log_warn("raw sockets with the reflect mark (SO_MARK)");
	else if (cfg->rules.lane && !(w->lane = sg_lane_open(cfg->lane_timeout)))
		sg_log_warn("ipset netlink socket (the lane)");
	else if (sg_keyring_random(rnd, sizeof(rnd)) != 0)
		sg_log_warn("getrandom");
	else if (!(w->px = sg_proxy_new(&pc, &io, w->now_us, rnd)))
		sg_log_warn("proxy state (table-size %u)", pc.table_max);
	else if (!(w->q = sg_nfq_open(&qc)))
		sg_log_warn("NFQUEUE %u", queue);
	else if (open_fds(w) < 0)
		sg_log_warn("queue %u: timerfd/eventfd/epoll", queue);
	else {
		sg_nfq_on_request_error(w->q, on_request_error, w);
		w->last_slot = UINT64_MAX;
		rotate(w);
		if (xdp) {
			uint64_t c[SG_XDP__COUNT];

			if (sg_xdp_counters(xdp, c) == 0)
				w->xdp_answered = c[SG_XDP_ANSWERED];
		}
		snapshot_take(w);
		return w;
	}
	sg_worker_free(w);
	return NULL;
}

int sg_worker_start(struct sg_worker *w)
{
	char name[16];
	int r;

	atomic_store(&w->beat_us, mono_us());
	/* the XDP program answers from the first SYN after READY=1, not from
	 * this worker's first tick (a SYN in between went the queue path) */
	if (w->xdp)
		xdp_engage(w);
	r = pthread_create(&w->th, NULL, run, w);
	if (r) {
		errno = r;
		sg_log_warn("queue %u: thread", w->queue);
		return -1;
	}
	snprintf(name, sizeof(name), "sg-queue-%u", w->queue); /* ps -L, the watchdog test */
	pthread_setname_np(w->th, name);
	w->started = true;
	return 0;
}

uint64_t sg_worker_heartbeat(struct sg_worker *w)
{
	return atomic_load_explicit(&w->beat_us, memory_order_relaxed);
}

static void poke(struct sg_worker *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sg_log_warn("queue %u: eventfd write", w->queue);
}

void sg_worker_free(struct sg_worker *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_mutex_unlock(&w->lock);
		poke(w);
		pthread_join(w->th, NULL);
	}
	sg_nfq_close(w->q);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->tfd >= 0)
		close(w->tfd);
	if (w->efd >= 0)
		close(w->efd);
	sg_lane_close(w->lane);
	sg_raw_close(w->raw);
	sg_raw_close(w->reply_raw);
	sg_ct_close(w->ct);
	sg_proxy_free(w->px);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void sg_worker_snapshot(struct sg_worker *w, bool fresh, struct sg_worker_snap *out)
{
	struct timespec until;
	uint64_t gen;

	pthread_mutex_lock(&w->lock);
	if (fresh && w->started) {
		gen = w->snap_gen;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SNAP_WAIT_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_unlock(&w->lock);
		poke(w);
		pthread_mutex_lock(&w->lock);
		while (w->snap_gen == gen &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
			;
	}
	*out = w->snap;
	pthread_mutex_unlock(&w->lock);
}

void sg_worker_reconfigure(struct sg_worker *w, const struct sg_proxy_config *c)
{
	pthread_mutex_lock(&w->lock);
	w->pending = *c;
	share_watermarks(&w->pending, w->cfg.rules.nqueues);
	if (w->lane_queue)
		lane_config(&w->pending, &w->cfg, w->xdp != NULL);
	w->has_pending = true;
	pthread_mutex_unlock(&w->lock);
	poke(w);
}

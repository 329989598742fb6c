/* syngate proxy state machine.
 *
 * Decides what happens to each queued packet: a client SYN is answered with
 * a cookie SYN-ACK, a client ACK with a valid cookie becomes the backend SYN,
 * the backend's SYN-ACK completes the splice.  The decision code does no I/O
 * of its own: conntrack and raw sends go through struct sg_proxy_io, and time
 * is passed in (microseconds, monotonic), so tests drive it with mocks.
 *
 *   client            syngate                         backend
 *   SYN      ──►  cookie SYN-ACK (win 0)  ◄── reflected in place
 *   ACK      ──►  check cookie, ct create (pending)
 *                 ACK rewritten into SYN (client ISN, cookie options)  ──►
 *                 ◄── SYN-ACK (learn backend wscale/MSS)
 *                 ACK to backend (raw)                                 ──►
 *                 ct: seq offset = cookie - backend ISN, mark proxied
 *            ◄──  SYN-ACK rewritten into the window update
 *   data  ◄══════ kernel only (conntrack sequence adjustment) ══════►
 */
#ifndef SYNGATE_PROXY_H
#define SYNGATE_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/adaptive.h"
#include "syngate/core/cookie.h"
#include "syngate/core/packet.h"
#include "syngate/core/reason.h"
#include "syngate/core/table.h"
#include "syngate/core/types.h"

/* never: pass every SYN to the backend; always: answer every SYN with a
 * cookie; adaptive: pass SYNs until the half-open estimate reaches the high
 * watermark, cookie them until it falls below the low one (adaptive.h). */
enum sg_mode { SG_MODE_NEVER, SG_MODE_ALWAYS, SG_MODE_ADAPTIVE };

struct sg_proxy_config {
	enum sg_mode mode;
	uint32_t table_max;	   /* half-open entries */
	uint32_t per_source_max;   /* half-open entries one client address may hold (0: no cap) */
	struct sg_marks marks;	   /* what the rules match (types.h) */
	uint32_t backend_timeout_ms; /* give up on a silent backend, RST the client */
	uint32_t syn_rto_ms;	   /* first backend SYN retransmission */
	uint32_t cookie_period;	   /* seconds per secret slot */
	bool rst_invalid;	   /* answer a bad cookie with RST instead of dropping */
	uint16_t mss4, mss6;	   /* upper bound of the MSS advertised to clients */
	bool learn_first;	   /* pass the first SYN to an unknown backend through */
	uint8_t default_wscale;	   /* advertised while the backend's is unknown */
	uint32_t adaptive_high;	   /* engage cookies at this half-open estimate */
	uint32_t adaptive_low;	   /* release them below this one */
	uint32_t adaptive_window_ms; /* the estimate's sliding window */
	bool timestamps;	   /* offer TCP timestamps; needs the kernel's synproxy
				      hooks (rules: SYNGATE-TS), see docs/cookies.md */
};

/* What the proxy asks of the outside world.  Each returns 0 or -1 + errno.
 * ct_lookup and the last two are optional (NULL); those two keep a SYN fast
 * path that answers SYNs elsewhere (XDP) in step with the proxy. */
struct sg_proxy_io {
	void *ctx;
	int (*ct_create)(void *ctx, const struct sg_ct_new *n);
	/* may also return a token > 0: the update is queued to run before the
	 * packet's verdict, and its failure comes later through
	 * sg_proxy_establish_failed(token) */
	int (*ct_establish)(void *ctx, const struct sg_tuple *orig, int32_t reply_off,
			    uint32_t mark, const struct sg_ct_synproxy *sp);
	int (*ct_delete)(void *ctx, const struct sg_tuple *orig);
	/* sets the synproxy extension alone (timestamps: spliced backend RST) */
	int (*ct_synproxy)(void *ctx, const struct sg_tuple *orig, const struct sg_ct_synproxy *sp);
	/* whether conntrack has an entry for @t (either direction): 1, 0, or -1
	 * + errno.  Asked before a SYN is answered with a cookie (port reuse). */
	int (*ct_lookup)(void *ctx, const struct sg_tuple *t);
	int (*send)(void *ctx, const uint8_t *pkt, size_t len);
	/* optional: sends a packet answering the client (cookie SYN-ACK, RST)
	 * instead of reflecting the queued one in place (on-host placement,
	 * where a reflected packet would have to be forwarded); the queued
	 * packet is then dropped.  NULL: reflect (NF_REPEAT, reflect mark). */
	int (*reply)(void *ctx, const uint8_t *pkt, size_t len);
	/* backend @b (its address and port in saddr/sport) has options @o */
	void (*learned)(void *ctx, const struct sg_tuple *b, const struct sg_backend_opts *o);
	/* the options known elsewhere of backend @b (daddr/dport), when the proxy
	 * has none: 0 and @o filled, or -1 */
	int (*backend)(void *ctx, const struct sg_tuple *b, struct sg_backend_opts *o);
	/* @t (client -> server) completed a handshake: proxied (the backend's
	 * SYN-ACK came), or passed through (its completing ACK came).  May be
	 * NULL.  The lane takes the client in. */
	void (*completed)(void *ctx, const struct sg_tuple *t);
};

#define SG_HIST_BUCKETS 12
/* Upper bounds (microseconds) of the backend handshake-time histogram. */
extern const uint32_t sg_hist_bounds_us[SG_HIST_BUCKETS];

/* The proxy's counters, one line each: X(field, "metric", "help").  The field
 * names the counter in `syngate stats` (text and JSON) and "metric" (a
 * Prometheus counter) in the exposition; both list them in this order.
 * closed is filled by the daemon from conntrack destroy events (0 in a
 * proxy's own); established = proxied - closed is derived, not counted. */
#define SG_COUNTERS(X)                                                                   \
	X(packets, "syngate_packets_total", "Packets syngate received from NFQUEUE.")    \
	X(syn_seen, "syngate_syns_total", "Client SYNs seen.")                           \
	X(syn_passed, "syngate_syns_passed_total", "SYNs passed to the backend untouched.") \
	X(syn_passed_tracked, "syngate_syns_passed_tracked_total",                       \
	  "SYNs passed because conntrack had an entry for their tuple (port reuse).")   \
	X(ct_lookup_errors, "syngate_ct_lookup_errors_total",                            \
	  "Conntrack lookups of a SYN's tuple that failed (the SYN got a cookie).")      \
	X(cookies_sent, "syngate_cookies_sent_total", "SYN-ACKs with a cookie sent.")    \
	X(cookies_valid, "syngate_cookies_valid_total", "ACKs whose cookie verified.")   \
	X(cookies_invalid, "syngate_cookies_invalid_total", "ACKs whose cookie failed.") \
	X(backend_syns, "syngate_backend_syns_total",                                    \
	  "SYNs sent to backends, retransmissions included.")                            \
	X(proxied, "syngate_connections_proxied_total", "Connections spliced to a backend.") \
	X(closed, "syngate_connections_closed_total", "Spliced connections that ended.") \
	X(rst_sent, "syngate_rsts_sent_total", "RSTs syngate sent.")                     \
	X(synacks_resent, "syngate_synacks_resent_total",                                \
	  "SYN-ACKs re-sent to clients whose first ACK was lost.")                       \
	X(learned, "syngate_backend_learned_total",                                      \
	  "Backend SYN-ACKs syngate learned options from.")                              \
	X(passed_completed, "syngate_passthrough_completed_total",                       \
	  "Passed-through handshakes seen completing.")                                  \
	X(wscale_mismatch, "syngate_wscale_mismatch_total",                              \
	  "Connections whose backend wscale differed from the advertised one.")

#define SG_COUNTER_FIELD(field, metric, help) uint64_t field;
struct sg_counters {
	SG_COUNTERS(SG_COUNTER_FIELD)
	uint64_t drops[SG_R__COUNT];	    /* by enum sg_reason (SG_REASONS) */
	uint64_t hist[SG_HIST_BUCKETS + 1]; /* last bucket: +Inf */
	uint64_t hist_sum_us;
};
#undef SG_COUNTER_FIELD

/* The stats key of counter @f ("syn_seen"), for readers of the text snapshot;
 * it does not compile unless @f is a field of struct sg_counters. */
#define SG_COUNTER_KEY(f) ((void)sizeof(((struct sg_counters *)0)->f), #f)

/* Spliced connections still tracked (syngate's full queue). */
static inline uint64_t sg_counters_established(const struct sg_counters *c)
{
	return c->proxied > c->closed ? c->proxied - c->closed : 0;
}

/* What to do with the packet handed to sg_proxy_packet(). */
struct sg_action {
	enum sg_verdict verdict;
	bool set_mark;
	uint32_t mark;
	size_t len;			/* > 0: replace the packet by out[0..len) */
	uint8_t out[SG_PKT_MAX_BUILT];
	enum sg_reason reason;		/* why it was dropped (SG_R_OK otherwise) */
};

struct sg_proxy;

/* Creates a proxy.  @random supplies 2 * SG_COOKIE_SECRET_LEN + 8 bytes (cookie
 * secrets and table seed).  Returns NULL with errno set. */
struct sg_proxy *sg_proxy_new(const struct sg_proxy_config *c, const struct sg_proxy_io *io,
			      uint64_t now_us, const uint8_t *random);
void sg_proxy_free(struct sg_proxy *px);

/* Decides the fate of the IP packet @data/@len at @now_us, performing the
 * conntrack operations and raw sends it needs through the io table, in the
 * order the kernel requires.  Fills @a; never fails. */
void sg_proxy_packet(struct sg_proxy *px, const uint8_t *data, size_t len, uint64_t now_us,
		     struct sg_action *a);
/* The same, where @tracked says the rules marked the packet (complete_mark)
 * as the client ACK that completes a passed-through handshake, which
 * conntrack tracks as established (queued once per connection).  It is
 * counted for adaptive mode and accepted. */
void sg_proxy_packet_ct(struct sg_proxy *px, const uint8_t *data, size_t len, bool tracked,
			uint64_t now_us, struct sg_action *a);
/* The same for a packet already parsed: @parsed is what sg_pkt_parse()
 * returned for @p (a packet that failed is dropped with that reason, @p
 * unread).  For a caller that parsed the packet itself (the worker looks up
 * a batch's SYNs in conntrack first). */
void sg_proxy_parsed(struct sg_proxy *px, const struct sg_pkt *p, enum sg_reason parsed,
		     bool tracked, uint64_t now_us, struct sg_action *a);

/* The establish request that io.ct_establish queued as @token failed
 * (@err): both ends are reset, the entry deleted, drop_ct_error counted, as
 * when the request fails at once, except that the client's RST is sent
 * (the window update went out already).  A token no longer remembered (more
 * than SG_PROXY_DEFERRED establishes later) is only counted. */
#define SG_PROXY_DEFERRED 256
void sg_proxy_establish_failed(struct sg_proxy *px, int token, int err);

/* Timers: retransmits backend SYNs, gives up on silent backends, ages the
 * adaptive estimate.  Visits at most @budget table slots.  Call it every
 * 100 ms or so. */
void sg_proxy_tick(struct sg_proxy *px, uint64_t now_us, uint32_t budget);

/* Rotates cookie secrets when the slot changes; @random as for sg_cookie_rotate. */
int sg_proxy_rotate(struct sg_proxy *px, uint64_t now_s, const uint8_t *random);
/* Replaces the cookie keys by @k (keys shared between workers and XDP). */
void sg_proxy_set_keys(struct sg_proxy *px, const struct sg_cookie_keys *k);
/* @n SYNs were answered elsewhere (the XDP fast path) since the last call:
 * they count towards the adaptive estimate and cookies_sent. */
void sg_proxy_note_syns(struct sg_proxy *px, uint64_t n, uint64_t now_us);


/* Takes in options @o of backend @family @addr:@port learned before (the
 * previous daemon's, backfile.h) as if its SYN-ACK had just taught them,
 * told_before/told_changed/told_since included, and passes them to the io
 * table's learned hook.  Not counted as learned.  0, or -1 + ENOSPC when
 * the backend's set is full of known backends. */
int sg_proxy_teach(struct sg_proxy *px, uint8_t family, const uint8_t *addr, uint16_t port,
		   const struct sg_backend_opts *o);

const struct sg_counters *sg_proxy_counters(const struct sg_proxy *px);
/* Cookies issued in the current slot ([0]) and the previous one ([1]): the
 * cookies that can still come back. */
void sg_proxy_cookies_in_flight(const struct sg_proxy *px, uint64_t out[2]);
/* Applies @c, except table_max and cookie_period, which sized the table and
 * the cookie keys at sg_proxy_new() and stay as they were.  Which options may
 * change at run time is the caller's policy (the daemon: the options table's
 * live column, sg_config_apply_live()); marks changed here change the marks
 * the proxy sets. */
void sg_proxy_reconfigure(struct sg_proxy *px, const struct sg_proxy_config *c);
uint32_t sg_proxy_halfopen(const struct sg_proxy *px);
void sg_proxy_set_mode(struct sg_proxy *px, enum sg_mode m);
enum sg_mode sg_proxy_mode(const struct sg_proxy *px);
/* Adaptive state: engaged now, the half-open estimate, the transition counts. */
const struct sg_adaptive *sg_proxy_adaptive(const struct sg_proxy *px);
/* Whether SYNs are answered with cookies now (always, or adaptive engaged). */
bool sg_proxy_cookies_on(const struct sg_proxy *px);
void sg_proxy_defaults(struct sg_proxy_config *c);
/* "never", "always" or "adaptive". */
const char *sg_mode_name(enum sg_mode m);

#endif

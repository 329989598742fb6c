/* syngate adaptive engagement (OpenBSD pf's `set syncookies adaptive`).
 *
 * The half-open estimate is the number of handshakes begun (SYNs seen) minus
 * the handshakes completed, over a sliding window of SG_ADAPT_BUCKETS
 * buckets.  Legitimate clients complete their handshakes within a round
 * trip, so the estimate stays near rate x RTT; spoofed SYNs never complete,
 * so under a flood it grows with the flood.  Cookies engage as soon as the
 * estimate reaches the high watermark and are released only when it falls
 * below the low one (hysteresis), when the flood's SYNs have left the window.
 *
 * Pure: time is passed in (milliseconds, monotonic).
 */
#ifndef SYNGATE_ADAPTIVE_H
#define SYNGATE_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>

#define SG_ADAPT_BUCKETS 8

struct sg_adaptive {
	uint32_t high, low;
	uint32_t bucket_ms;
	uint64_t bucket_start; /* start of the current bucket */
	unsigned cur;
	int64_t begun[SG_ADAPT_BUCKETS];
	int64_t done[SG_ADAPT_BUCKETS];
	int64_t sum; /* sum of begun - done over the window */
	bool engaged;
	uint64_t engagements; /* passthrough -> cookies */
	uint64_t releases;    /* cookies -> passthrough */
};

/* Sets up @a: engage at @high, release below @low (@low < @high), over
 * @window_ms (>= SG_ADAPT_BUCKETS). */
void sg_adaptive_init(struct sg_adaptive *a, uint32_t high, uint32_t low, uint32_t window_ms,
		      uint64_t now);
/* Changes the watermarks and window, keeping the state. */
void sg_adaptive_set(struct sg_adaptive *a, uint32_t high, uint32_t low, uint32_t window_ms);
/* A handshake begins (a SYN).  Returns whether cookies are engaged for it:
 * reaching the high watermark engages them at once. */
bool sg_adaptive_begin(struct sg_adaptive *a, uint64_t now);
/* @n handshakes begin at once (SYNs counted elsewhere); as @n calls of
 * sg_adaptive_begin(). */
bool sg_adaptive_begin_n(struct sg_adaptive *a, uint64_t now, uint64_t n);
/* A handshake completed (valid cookie ACK, or a passed-through one). */
void sg_adaptive_done(struct sg_adaptive *a, uint64_t now);
/* Ages the window and releases cookies below the low watermark.  Returns
 * whether cookies are engaged. */
bool sg_adaptive_tick(struct sg_adaptive *a, uint64_t now);
/* The current estimate (never negative). */
uint32_t sg_adaptive_estimate(const struct sg_adaptive *a);

#endif

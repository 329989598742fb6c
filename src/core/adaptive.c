/* syngate adaptive engagement: see include/syngate/core/adaptive.h. */
#include <string.h>

#include "syngate/core/adaptive.h"

void sg_adaptive_set(struct sg_adaptive *a, uint32_t high, uint32_t low, uint32_t window_ms)
{
	a->high = high;
	a->low = low;
	a->bucket_ms = window_ms / SG_ADAPT_BUCKETS ? window_ms / SG_ADAPT_BUCKETS : 1;
}

void sg_adaptive_init(struct sg_adaptive *a, uint32_t high, uint32_t low, uint32_t window_ms,
		      uint64_t now)
{
	memset(a, 0, sizeof(*a));
	sg_adaptive_set(a, high, low, window_ms);
	a->bucket_start = now;
}

/* Moves the window to @now: each bucket that ends is emptied and leaves the
 * sum.  At most SG_ADAPT_BUCKETS steps, however long the gap. */
static void advance(struct sg_adaptive *a, uint64_t now)
{
	unsigned n = 0;

	while (now >= a->bucket_start + a->bucket_ms && n++ < SG_ADAPT_BUCKETS) {
		a->cur = (a->cur + 1) % SG_ADAPT_BUCKETS;
		a->sum -= a->begun[a->cur] - a->done[a->cur];
		a->begun[a->cur] = a->done[a->cur] = 0;
		a->bucket_start += a->bucket_ms;
	}
	if (now >= a->bucket_start + a->bucket_ms) /* a gap longer than the window */
		a->bucket_start = now - (now - a->bucket_start) % a->bucket_ms;
}

bool sg_adaptive_begin(struct sg_adaptive *a, uint64_t now)
{
	return sg_adaptive_begin_n(a, now, 1);
}

bool sg_adaptive_begin_n(struct sg_adaptive *a, uint64_t now, uint64_t n)
{
	advance(a, now);
	a->begun[a->cur] += (int64_t)n;
	a->sum += (int64_t)n;
	if (!a->engaged && a->sum >= (int64_t)a->high) {
		a->engaged = true;
		a->engagements++;
	}
	return a->engaged;
}

void sg_adaptive_done(struct sg_adaptive *a, uint64_t now)
{
	advance(a, now);
	a->done[a->cur]++;
	a->sum--;
}

bool sg_adaptive_tick(struct sg_adaptive *a, uint64_t now)
{
	advance(a, now);
	if (a->engaged && a->sum < (int64_t)a->low) {
		a->engaged = false;
		a->releases++;
	}
	return a->engaged;
}

uint32_t sg_adaptive_estimate(const struct sg_adaptive *a)
{
	return a->sum > 0 ? (uint32_t)a->sum : 0;
}

/* syngate statistics snapshot formatting, for the control socket
 * (`syngate stats`).  Pure: takes the counters, writes text or JSON. */
#ifndef SYNGATE_STATS_H
#define SYNGATE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/ct.h"
#include "syngate/nfq.h"
#include "syngate/proxy.h"

struct sg_stats_src {
	const struct sg_counters *c;
	uint32_t halfopen;
	uint32_t table_max;
	enum sg_mode mode;
	uint16_t queue;
	const struct sg_nfq_stats *nfq;		  /* may be NULL */
	const struct sg_ct_events_stats *ev;	  /* may be NULL */
};

/* Writes the snapshot into @out (@cap bytes, always NUL-terminated) as
 * "name value" lines, or as one JSON object when @json.  Returns its length. */
size_t sg_stats_format(const struct sg_stats_src *s, bool json, char *out, size_t cap);

#endif

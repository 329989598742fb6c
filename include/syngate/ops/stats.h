/* syngate statistics snapshot formatting, for the control socket
 * (`syngate stats`).  Pure: takes the counters, writes text or JSON. */
#ifndef SYNGATE_STATS_H
#define SYNGATE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/io/ct.h"
#include "syngate/io/diag.h"
#include "syngate/io/kstats.h"
#include "syngate/io/lane.h"
#include "syngate/io/nfq.h"
#include "syngate/core/proxy.h"
#include "syngate/io/xdp.h"

/* The text snapshot names drop counters SG_STATS_DROP_PREFIX + the reason's
 * label (sg_reason_name()): drop_table_full. */
#define SG_STATS_DROP_PREFIX "drop_"

/* What the daemon watches beyond the packet path (checked once a second). */
struct sg_health {
	int rules;		   /* syngate's rules: 1 in place, 0 missing, -1 not managed */
	uint64_t rules_restored;   /* times they were found missing and put back */
	bool has_conntrack;	   /* the two figures below were read */
	uint64_t conntrack_count;  /* entries in this namespace's table */
	uint64_t conntrack_max;	   /* its limit (nf_conntrack_max) */
	int xdp_ifaces;		   /* interfaces the XDP program is attached to (0: queue path alone) */
	bool has_drops;		   /* the two figures below were read (syngate installed the rules) */
	uint64_t syns_shed;	   /* SYNs the shed rule dropped before the queue */
	uint64_t invalid_dropped;  /* INVALID segments the mangle rule dropped (no queue took them) */
};

struct sg_stats_src {
	const struct sg_counters *c;
	uint32_t halfopen;
	uint32_t table_max;
	enum sg_mode mode;
	bool engaged;		/* SYNs answered with cookies now */
	uint32_t estimate;	/* adaptive half-open estimate */
	uint32_t adaptive_high, adaptive_low; /* its watermarks */
	uint64_t engagements, releases; /* adaptive transitions */
	uint16_t queue;
	const struct sg_nfq_stats *nfq;		  /* may be NULL */
	const struct sg_lane_stats *lane;	  /* NULL: lane off */
	const struct sg_ct_events_stats *ev;	  /* may be NULL */
	const struct sg_kqueue *kq;		  /* all queues together; may be NULL */
	const struct sg_kqueue *kq_each;	  /* nqueues: queue + i's (NULL: kq alone) */
	int nqueues;
	uint64_t cookies_slot[2];		  /* cookies issued: current, previous slot */
	const struct sg_listen_queue *backend;	  /* backend listeners, one per port */
	int nbackend;
	const uint64_t *xdp;			  /* SG_XDP__COUNT counters; NULL: no XDP */
	const struct sg_health *health;		  /* may be NULL */
	const char *version, *commit;		  /* build: syngate_build_info (may be NULL) */
	const struct sg_self *self;		  /* the process (may be NULL) */
};

/* Writes the snapshot in the Prometheus text exposition format (version
 * 0.0.4).  Returns its length (output cut at @cap - 1, always terminated). */
size_t sg_metrics_format(const struct sg_stats_src *s, char *out, size_t cap);

/* Writes the snapshot into @out (@cap bytes, always NUL-terminated) as
 * "name value" lines, or as one JSON object when @json.  Returns its length. */
size_t sg_stats_format(const struct sg_stats_src *s, bool json, char *out, size_t cap);

#endif

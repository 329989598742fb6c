/* Prints a /metrics page with every part present (XDP, lane, kernel
 * queues, backends, rules, conntrack, the process), each counter of the
 * X-macro lists holding a value, each XDP total the sum of its parts: the
 * complete list of what the daemon can export, for the checks of
 * tests/monitoring (the dashboard and the alerts name only metrics that
 * exist; promtool accepts the page). */
#include <stdio.h>
#include <stdlib.h>

#include "syngate/ops/stats.h"

int main(void)
{
	static char out[1 << 17];
	static struct sg_counters c;
	struct sg_nfq_stats nfq = {.packets = 1, .enobufs = 2};
	struct sg_lane_stats lane = {.added = 3, .cached = 4, .errors = 5, .rejected = 1};
	struct sg_ct_events_stats ev = {.events = 6, .enobufs = 7};
	struct sg_kqueue each[2] = {{.backlog = 8, .queue_dropped = 9, .user_dropped = 10},
				    {.backlog = 11, .queue_dropped = 12, .user_dropped = 13}};
	struct sg_kqueue kq = {.backlog = 19, .queue_dropped = 21, .user_dropped = 23};
	struct sg_listen_queue backend = {.port = 80, .syn_recv = 1, .accept_queue = 2, .backlog = 511};
	struct sg_health h = {.rules = 1, .rules_restored = 1, .has_conntrack = true,
			      .conntrack_count = 100, .conntrack_max = 262144, .xdp_ifaces = 1,
			      .has_drops = true, .syns_shed = 14, .invalid_dropped = 15};
	struct sg_self self = {.rss_bytes = 1 << 20, .cpu_seconds = 1.5, .open_fds = 12,
			       .start_time = 1.7e9};
	uint64_t xdp[SG_XDP__COUNT] = {0}, v = 1000;
	int i;

#define SET(f, metric, help) c.f = v++;
	SG_COUNTERS(SET)
#undef SET
	for (i = 1; i < SG_R__COUNT; i++)
		c.drops[i] = 2000 + (uint64_t)i;
	for (i = 0; i <= SG_HIST_BUCKETS; i++)
		c.hist[i] = (uint64_t)i;
	for (i = 0; i < SG_XDP__COUNT; i++)
		if (sg_xdp_counter_total((enum sg_xdp_counter)i) != (enum sg_xdp_counter)i) {
			xdp[i] = 3000 + (uint64_t)i;
			xdp[sg_xdp_counter_total((enum sg_xdp_counter)i)] += xdp[i];
		}
	xdp[SG_XDP_TC_KNOWN] = 77;
	struct sg_stats_src s = {.c = &c, .halfopen = 3, .table_max = 65536, .mode = SG_MODE_ADAPTIVE,
				 .engaged = true, .estimate = 5, .adaptive_high = 1000,
				 .adaptive_low = 500, .engagements = 2, .releases = 1, .queue = 0,
				 .nfq = &nfq, .lane = &lane, .ev = &ev, .kq = &kq, .kq_each = each,
				 .nqueues = 2, .cookies_slot = {10, 20}, .backend = &backend,
				 .nbackend = 1, .xdp = xdp, .health = &h, .version = "0.0.0",
				 .commit = "sample", .self = &self};
	size_t n = sg_metrics_format(&s, out, sizeof(out));

	if (n + 1 >= sizeof(out))
		return fprintf(stderr, "metrics_sample: output cut\n"), 1;
	fputs(out, stdout);
	return 0;
}

/* syngate Prometheus exposition: see include/syngate/ops/stats.h.
 *
 * Names follow Prometheus conventions: the syngate_ prefix, _total on
 * counters, base units (seconds, packets, connections). */
#include <inttypes.h>
#include <stdio.h>

#include "syngate/ops/stats.h"
#include "syngate/ops/strbuf.h"

struct out {
	struct sg_strbuf b;
};

#define put(o, ...) sg_strbuf_printf(&(o)->b, __VA_ARGS__)

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with no labels. */
static void one(struct out *o, const char *name, const char *type, const char *help, uint64_t v)
{
	head(o, name, type, help);
	put(o, "%s %" PRIu64 "\n", name, v);
}

static void counters(struct out *o, const struct sg_counters *c)
{
	int r;

#define SG_COUNTER_METRIC(f, metric, help) one(o, metric, "counter", help, c->f);
	SG_COUNTERS(SG_COUNTER_METRIC)
#undef SG_COUNTER_METRIC
	head(o, "syngate_drops_total", "counter", "Packets dropped or refused, by reason.");
	for (r = 1; r < SG_R__COUNT; r++)
		put(o, "syngate_drops_total{reason=\"%s\"} %" PRIu64 "\n",
		    sg_reason_name((enum sg_reason)r), c->drops[r]);
}

static void histogram(struct out *o, const struct sg_counters *c)
{
	uint64_t cum = 0;
	int i;

	head(o, "syngate_backend_handshake_seconds", "histogram",
	     "Time from the client's ACK to the backend's SYN-ACK.");
	for (i = 0; i < SG_HIST_BUCKETS; i++) {
		cum += c->hist[i];
		put(o, "syngate_backend_handshake_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
		    sg_hist_bounds_us[i] / 1e6, cum);
	}
	cum += c->hist[SG_HIST_BUCKETS];
	put(o, "syngate_backend_handshake_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
	put(o, "syngate_backend_handshake_seconds_sum %.6f\n", (double)c->hist_sum_us / 1e6);
	put(o, "syngate_backend_handshake_seconds_count %" PRIu64 "\n", cum);
}

/* The XDP program's totals (SG_XDP_COUNTERS), each a metric of its own, and
 * the family of its parts: the outcomes, which sum to the total. */
static const struct xdp_family {
	enum sg_xdp_counter total;
	const char *name, *help;		/* the total */
	const char *parts, *parts_help;		/* the outcomes (NULL: none) */
} xdp_families[] = {
	{SG_XDP_SYN, "syngate_xdp_syns_seen_total",
	 "SYNs to protected ports the XDP program looked at.", "syngate_xdp_syns_total",
	 "SYNs the XDP program looked at, by outcome (answered with a cookie, passed on, "
	 "error); the outcomes sum to syngate_xdp_syns_seen_total."},
	{SG_XDP_ACK, "syngate_xdp_acks_checked_total",
	 "ACKs the XDP program checked for a cookie (protected port, no "
	 "conntrack entry).", "syngate_xdp_acks_total",
	 "ACKs the XDP program checked, by outcome (ack_valid: passed to the daemon, "
	 "drop_cookie_*: dropped); the outcomes sum to syngate_xdp_acks_checked_total."},
	{SG_XDP_TC_KNOWN, "syngate_xdp_tc_known_syns_total",
	 "SYNs the TC program found in conntrack (a reused port) and let skip the queue.", NULL,
	 NULL},
};

static void xdp(struct out *o, const uint64_t *v)
{
	for (size_t f = 0; f < sizeof(xdp_families) / sizeof(xdp_families[0]); f++) {
		const struct xdp_family *x = &xdp_families[f];

		one(o, x->name, "counter", x->help, v[x->total]);
		if (!x->parts)
			continue;
		head(o, x->parts, "counter", x->parts_help);
		for (int i = 0; i < SG_XDP__COUNT; i++)
			if (i != (int)x->total && sg_xdp_counter_total((enum sg_xdp_counter)i) == x->total)
				put(o, "%s{outcome=\"%s\"} %" PRIu64 "\n", x->parts,
				    sg_xdp_counter_name((enum sg_xdp_counter)i), v[i]);
	}
}

/* The kernel's side of each NFQUEUE (main queues, then the lane's). */
static void kernel_queues(struct out *o, const struct sg_stats_src *s)
{
	const struct sg_kqueue *k = s->kq_each ? s->kq_each : s->kq;
	int i, n = s->kq_each ? s->nqueues : 1;

	head(o, "syngate_nfqueue_backlog_packets", "gauge", "Packets waiting in the kernel queue, per queue.");
	for (i = 0; i < n; i++)
		put(o, "syngate_nfqueue_backlog_packets{queue=\"%u\"} %u\n", s->queue + i, k[i].backlog);
	head(o, "syngate_nfqueue_kernel_drops_total", "counter", "Packets the kernel dropped before syngate saw them, per queue and reason (queue_full: the queue at queue-maxlen; socket_full: syngate's socket buffer).");
	for (i = 0; i < n; i++) {
		put(o, "syngate_nfqueue_kernel_drops_total{queue=\"%u\",reason=\"queue_full\"} %" PRIu64 "\n", s->queue + i, k[i].queue_dropped);
		put(o, "syngate_nfqueue_kernel_drops_total{queue=\"%u\",reason=\"socket_full\"} %" PRIu64 "\n", s->queue + i, k[i].user_dropped);
	}
}

static void queues(struct out *o, const struct sg_stats_src *s)
{
	const struct sg_counters *c = s->c;
	int i;

	one(o, "syngate_halfopen_connections", "gauge", "Connections in backend handshake (syngate's SYN queue).", s->halfopen);
	one(o, "syngate_halfopen_limit", "gauge", "Size of the half-open table.", s->table_max);
	one(o, "syngate_established_connections", "gauge", "Spliced connections still tracked (syngate's full queue).", sg_counters_established(c));
	head(o, "syngate_cookies_in_flight", "gauge", "Cookies issued in each slot that is still valid.");
	put(o, "syngate_cookies_in_flight{slot=\"current\"} %" PRIu64 "\n", s->cookies_slot[0]);
	put(o, "syngate_cookies_in_flight{slot=\"previous\"} %" PRIu64 "\n", s->cookies_slot[1]);
	head(o, "syngate_mode", "gauge", "Configured cookie mode (1 for the active one).");
	for (i = 0; i <= SG_MODE_ADAPTIVE; i++)
		put(o, "syngate_mode{mode=\"%s\"} %d\n", sg_mode_name((enum sg_mode)i),
		    s->mode == (enum sg_mode)i);
	one(o, "syngate_cookies_engaged", "gauge", "1 while SYNs are answered with cookies.", s->engaged);
	one(o, "syngate_halfopen_estimate", "gauge", "Handshakes begun minus completed over the adaptive window.", s->estimate);
	head(o, "syngate_mode_transitions_total", "counter", "Adaptive mode switches, by the state entered.");
	put(o, "syngate_mode_transitions_total{to=\"cookies\"} %" PRIu64 "\n", s->engagements);
	put(o, "syngate_mode_transitions_total{to=\"passthrough\"} %" PRIu64 "\n", s->releases);
	if (s->kq)
		kernel_queues(o, s);
	if (s->nfq)
		one(o, "syngate_nfqueue_enobufs_total", "counter", "Receive overruns on the NFQUEUE socket.", s->nfq->enobufs);
	if (s->lane) {
		head(o, "syngate_lane_adds_total", "counter", "Clients put into the lane after a completed handshake, by result (sent: an ipset add sent; cached: added recently, skipped; error: could not be sent).");
		put(o, "syngate_lane_adds_total{result=\"sent\"} %" PRIu64 "\n", s->lane->added);
		put(o, "syngate_lane_adds_total{result=\"cached\"} %" PRIu64 "\n", s->lane->cached);
		put(o, "syngate_lane_adds_total{result=\"error\"} %" PRIu64 "\n", s->lane->errors);
		one(o, "syngate_lane_adds_rejected_total", "counter", "Lane adds sent that the kernel refused (e.g. the ipset is gone); part of result=\"sent\".", s->lane->rejected);
	}
	if (s->xdp)
		xdp(o, s->xdp);
	if (s->ev)
		one(o, "syngate_conntrack_events_lost_total", "counter", "Conntrack event overruns (ends not counted).", s->ev->enobufs);
	if (s->nbackend <= 0)
		return;
	head(o, "syngate_backend_syn_recv", "gauge", "Backend half-open connections (SYN_RECV) per listening port.");
	for (i = 0; i < s->nbackend; i++)
		put(o, "syngate_backend_syn_recv{port=\"%u\"} %u\n", s->backend[i].port, s->backend[i].syn_recv);
	head(o, "syngate_backend_accept_queue", "gauge", "Backend accept queue length per listening port.");
	for (i = 0; i < s->nbackend; i++)
		put(o, "syngate_backend_accept_queue{port=\"%u\"} %u\n", s->backend[i].port, s->backend[i].accept_queue);
	head(o, "syngate_backend_accept_queue_limit", "gauge", "Backend accept queue limit (listen backlog) per port.");
	for (i = 0; i < s->nbackend; i++)
		put(o, "syngate_backend_accept_queue_limit{port=\"%u\"} %u\n", s->backend[i].port, s->backend[i].backlog);
}

static void health(struct out *o, const struct sg_health *h)
{
	if (h) {
		head(o, "syngate_path", "gauge",
		     "Which path answers SYNs and checks cookie ACKs first: 1 for the active one "
		     "(xdp: the XDP program; queue: NFQUEUE alone).");
		put(o, "syngate_path{path=\"xdp\"} %d\nsyngate_path{path=\"queue\"} %d\n",
		    h->xdp_ifaces > 0, h->xdp_ifaces == 0);
		one(o, "syngate_xdp_interfaces", "gauge",
		    "Interfaces the XDP program is attached to.", (uint64_t)h->xdp_ifaces);
	}
	if (h && h->rules >= 0) {
		one(o, "syngate_rules_installed", "gauge",
		    "1 while syngate's iptables chains and jumps are in place, 0 when missing.",
		    (uint64_t)h->rules);
		one(o, "syngate_rules_restored_total", "counter",
		    "Times syngate found its rules missing (flushed by another tool) and put them back.",
		    h->rules_restored);
	}
	if (h && h->has_drops) {
		one(o, "syngate_syns_shed_total", "counter",
		    "SYNs to protected ports dropped before the queue, above shed-rate (the rules' "
		    "xt_hashlimit bucket; read from the rule counters once a second).", h->syns_shed);
		one(o, "syngate_invalid_dropped_total", "counter",
		    "Segments to protected ports that conntrack calls INVALID and no rule queued, "
		    "dropped before the queue (cookie ACKs above ack-shed-rate among them).",
		    h->invalid_dropped);
	}
	if (h && h->has_conntrack) {
		one(o, "syngate_conntrack_entries", "gauge",
		    "Entries in the conntrack table of syngate's namespace.", h->conntrack_count);
		one(o, "syngate_conntrack_max", "gauge",
		    "The conntrack table's limit (nf_conntrack_max).", h->conntrack_max);
	}
}

/* The build and the process, as Prometheus client libraries export them. */
static void process(struct out *o, const struct sg_stats_src *s)
{
	if (s->version) {
		head(o, "syngate_build_info", "gauge", "The running build: version and commit.");
		put(o, "syngate_build_info{version=\"%s\",commit=\"%s\"} 1\n", s->version,
		    s->commit ? s->commit : "unknown");
	}
	if (!s->self)
		return;
	one(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	    s->self->rss_bytes);
	head(o, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
	put(o, "process_cpu_seconds_total %.2f\n", s->self->cpu_seconds);
	one(o, "process_open_fds", "gauge", "Open file descriptors.", s->self->open_fds);
	head(o, "process_start_time_seconds", "gauge", "Start time since the epoch, seconds.");
	put(o, "process_start_time_seconds %.2f\n", s->self->start_time);
}

size_t sg_metrics_format(const struct sg_stats_src *s, char *out, size_t cap)
{
	struct out o;

	if (!cap)
		return 0;
	sg_strbuf_init(&o.b, out, cap);
	counters(&o, s->c);
	histogram(&o, s->c);
	queues(&o, s);
	health(&o, s->health);
	process(&o, s);
	return o.b.len;
}

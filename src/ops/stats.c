/* syngate statistics formatting: see include/syngate/ops/stats.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "syngate/ops/stats.h"
#include "syngate/ops/strbuf.h"

struct out {
	struct sg_strbuf b;
	bool json;
	bool first;
};

#define put(o, ...) sg_strbuf_printf(&(o)->b, __VA_ARGS__)

static void field(struct out *o, const char *name, uint64_t v)
{
	if (o->json)
		put(o, "%s\"%s\":%" PRIu64, o->first ? "" : ",", name, v);
	else
		put(o, "%-28s %" PRIu64 "\n", name, v);
	o->first = false;
}

/* The proxy's counters (SG_COUNTERS), established (derived) right after
 * closed, then drop_<reason> for each reason. */
static void counters(struct out *o, const struct sg_counters *c)
{
	char name[64];
	int r;

#define SG_COUNTER_FIELD(f, metric, help)                                                  \
	field(o, #f, c->f);                                                                \
	if (&c->f == &c->closed)                                                           \
		field(o, "established", sg_counters_established(c));
	SG_COUNTERS(SG_COUNTER_FIELD)
#undef SG_COUNTER_FIELD
	for (r = 1; r < SG_R__COUNT; r++) {
		snprintf(name, sizeof(name), SG_STATS_DROP_PREFIX "%s", sg_reason_name((enum sg_reason)r));
		field(o, name, c->drops[r]);
	}
}

size_t sg_stats_format(const struct sg_stats_src *s, bool json, char *out, size_t cap)
{
	struct out o = {.json = json, .first = true};

	if (!cap)
		return 0;
	sg_strbuf_init(&o.b, out, cap);
	if (json)
		put(&o, "{\"mode\":\"%s\",", sg_mode_name(s->mode));
	else
		put(&o, "%-28s %s\n", "mode", sg_mode_name(s->mode));
	field(&o, "cookies_engaged", s->engaged);
	field(&o, "halfopen_estimate", s->estimate);
	field(&o, "adaptive_high", s->adaptive_high);
	field(&o, "adaptive_low", s->adaptive_low);
	field(&o, "adaptive_engagements", s->engagements);
	field(&o, "adaptive_releases", s->releases);
	field(&o, "queue", s->queue);
	field(&o, "halfopen", s->halfopen);
	field(&o, "halfopen_max", s->table_max);
	counters(&o, s->c);
	if (s->nfq) {
		field(&o, "nfq_packets", s->nfq->packets);
		field(&o, "nfq_batches", s->nfq->batches);
		field(&o, "nfq_enobufs", s->nfq->enobufs);
		field(&o, "nfq_send_errors", s->nfq->send_errors);
	}
	if (s->lane) {
		field(&o, "lane_adds", s->lane->added);
		field(&o, "lane_adds_cached", s->lane->cached);
		field(&o, "lane_errors", s->lane->errors);
		field(&o, "lane_rejected", s->lane->rejected);
	}
	if (s->kq) {
		field(&o, "nfq_backlog", s->kq->backlog);
		field(&o, "nfq_kernel_queue_dropped", s->kq->queue_dropped);
		field(&o, "nfq_kernel_user_dropped", s->kq->user_dropped);
	}
	for (int i = 0; i < s->nbackend; i++) {
		char name[64];

		snprintf(name, sizeof(name), "backend_%u_syn_recv", s->backend[i].port);
		field(&o, name, s->backend[i].syn_recv);
		snprintf(name, sizeof(name), "backend_%u_accept_queue", s->backend[i].port);
		field(&o, name, s->backend[i].accept_queue);
		snprintf(name, sizeof(name), "backend_%u_accept_limit", s->backend[i].port);
		field(&o, name, s->backend[i].backlog);
	}
	for (int i = 0; s->xdp && i < SG_XDP__COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "xdp_%s", sg_xdp_counter_name((enum sg_xdp_counter)i));
		field(&o, name, s->xdp[i]);
	}
	if (s->ev) {
		field(&o, "ct_events", s->ev->events);
		field(&o, "ct_events_lost", s->ev->enobufs);
	}
	if (s->health)
		field(&o, "xdp_interfaces", (uint64_t)s->health->xdp_ifaces);
	if (s->health && s->health->rules >= 0) {
		field(&o, "rules_installed", (uint64_t)s->health->rules);
		field(&o, "rules_restored", s->health->rules_restored);
	}
	if (s->health && s->health->has_drops) {
		field(&o, "syns_shed", s->health->syns_shed);
		field(&o, "invalid_dropped", s->health->invalid_dropped);
	}
	if (s->health && s->health->has_conntrack) {
		field(&o, "conntrack_entries", s->health->conntrack_count);
		field(&o, "conntrack_max", s->health->conntrack_max);
	}
	if (json)
		put(&o, "}\n");
	return o.b.len;
}

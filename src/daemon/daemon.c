/* syngate daemon: the coordinator around the per-queue workers.
 *
 * One worker thread per NFQUEUE queue (worker.c) runs the packet path.  This
 * thread runs one epoll loop for everything else: conntrack destroy events,
 * signals (signalfd), the control socket, and a 100 ms timer that gathers
 * the workers' figures for the metrics endpoint (its own thread,
 * libmicrohttpd).  Sockets are opened in an order that matters: the
 * conntrack event listener before any entry is created (with
 * nf_conntrack_events=2 an entry created with no listener never reports its
 * end), the queues after everything they need, then the control socket (the
 * queues are bound by then: whoever finds it finds packets queued for
 * syngate) and the metrics port.  Then the privileges go (priv.h: the user option, and
 * every capability but CAP_NET_ADMIN and CAP_NET_RAW), before the first
 * thread starts, so that every thread runs with what is left.  Only then do
 * the workers start, and systemd hears READY=1.
 *
 * Under systemd (Type=notify, WatchdogSec=), the watchdog is fed from the
 * 100 ms tick, and only while every worker's loop has come round recently:
 * a worker stuck in the kernel or in a loop gets the service restarted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <sodium.h>

#include "syngate/ops/config.h"
#include "syngate/ops/control.h"
#include "syngate/io/ct.h"
#include "syngate/daemon/backends.h"
#include "syngate/daemon/daemon.h"
#include "syngate/daemon/priv.h"
#include "syngate/daemon/keyring.h"
#include "syngate/ops/http.h"
#include "syngate/io/diag.h"
#include "syngate/io/kstats.h"
#include "syngate/io/log.h"
#include "syngate/ops/iptables.h"
#include "syngate/ops/stats.h"
#include "syngate/daemon/worker.h"
#include "syngate/io/xdp.h"

#define TICK_MS 100
#define MAX_QUEUES 64 /* workers: main queues and lane queues */

/* The figures of all workers together, plus the daemon's own. */
struct snapshot {
	struct sg_counters c;
	struct sg_nfq_stats nfq;
	struct sg_lane_stats lane;
	struct sg_ct_events_stats ev;
	struct sg_kqueue kq;			   /* all queues together */
	struct sg_kqueue kq_each[MAX_QUEUES];	   /* worker i's: queue first + i */
	struct sg_listen_queue backend[SG_RULES_MAX_PORTS];
	uint64_t cookies_slot[2];
	uint32_t halfopen;
	enum sg_mode mode;
	bool cookies_on;
	uint32_t estimate;
	uint64_t engagements, releases;
	bool has_ev, has_kq, has_xdp;
	int nbackend;
	uint64_t xdp[SG_XDP__COUNT];
	struct sg_health health;
};

/* A counter kept monotonic across resets of its source (iptables rule
 * counters start again at 0 when the rules are put back). */
struct mono_counter {
	uint64_t base, last;
};

/* The counter's value after its source read @now (a drop: it was reset). */
static uint64_t mono_counter_update(struct mono_counter *m, uint64_t now)
{
	if (now < m->last)
		m->base += m->last;
	m->last = now;
	return m->base + now;
}

/* Its source was reset (the rules put in again): what it counted is kept. */
static void mono_counter_restart(struct mono_counter *m)
{
	m->base += m->last;
	m->last = 0;
}

/* One kind of failure watch_failures() reports: its limit, and its drop
 * counter when it last said so. */
struct failure_log {
	struct sg_log_limit rl;
	uint64_t seen;
};

struct daemon {
	struct sg_backends *backends; /* the learned backends kept across restarts */
	struct sg_config cfg;
	struct sg_worker *w[MAX_QUEUES];
	int nw;
	struct sg_xdp *xdp;
	struct sg_keyring *ring;
	struct sg_http *http;
	struct sg_diag *diag;
	struct sg_ct_events *ev;
	pthread_mutex_t lock; /* guards snap (the metrics thread reads it) */
	struct snapshot snap;
	struct sg_control *ctl;
	int epfd, tfd, sfd;
	bool rules_installed;
	struct sg_health health;     /* the watch's findings (coordinator thread) */
	uint64_t watch_ticks;
	/* watch_failures() */
	struct failure_log ct_failed, backend_timeout, halfopen_full, backend_silent;
	bool ct_near_full;
	struct mono_counter syn_shed, invalid_dropped; /* the rules' DROP counters */
	struct sg_log_limit rl_events; /* conntrack event read errors */
	uint64_t closed; /* spliced connections that ended (destroy events) */
	struct sg_listen_queue backend[SG_RULES_MAX_PORTS]; /* last sock_diag read */
	int nbackend;
	uint64_t backend_us; /* when it was read */
	int http_fd;         /* the metrics port, bound before the drop; -1: none */
	int kq_fd;           /* /proc/net/netfilter/nfnetlink_queue (root's, 0440) */
	uint64_t wd_usec;    /* systemd's watchdog period (WATCHDOG_USEC), 0: off */
	uint64_t wd_fed;     /* when WATCHDOG=1 was last sent */
	int wd_stalled;      /* queue number of the stalled worker + 1, 0: none */
};

/* The rules were put in again: their counters start from 0. */
static void rules_reinstalled(struct daemon *d)
{
	mono_counter_restart(&d->syn_shed);
	mono_counter_restart(&d->invalid_dropped);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Wall-clock seconds: the cookie slots' clock (keyring.h), shared by every
 * router of a fleet and by the daemon before a restart. */
static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/* The key-file option's path, "" for none (an in-memory key). */
static const char *key_path(const struct sg_config *c)
{
	return strcmp(c->key_file, "none") ? c->key_file : "";
}

/* The master key at start (keyring.h): 0 from the key file, 1 in memory,
 * -1 (logged) none.  A key file that is refused (group
 * or others may read it, wrong size: EPERM, EINVAL) stops syngate, and so
 * does any failure with a key file the operator named.  The default key
 * file that this user cannot read or create (a read-only /var/lib under
 * ProtectSystem=strict without StateDirectory=, another user's directory)
 * gives an in-memory key with a warning: protection as before key files,
 * without the restart continuity. */
static int load_key(struct daemon *d, uint8_t master[SG_KEYFILE_LEN])
{
	struct sg_config def;
	const char *path = key_path(&d->cfg);
	int e;

	if (sg_keyring_master(path, master) == 0)
		return !path[0];
	e = errno;
	sg_config_defaults(&def);
	if (strcmp(path, def.key_file) || e == EPERM || e == EINVAL ||
	    sg_keyring_master("", master) != 0)
		return -1;
	sg_log_event(NULL, SG_LOG_WARN, "key_file_unavailable",
		     "cannot read or create the key file: cookie keys live in memory, and a "
		     "restart rejects the cookies in flight (syngate keys new makes it; under "
		     "systemd the unit needs StateDirectory=syngate)",
		     "path=%s error=%s action=memory_key", path,
		     strerrorname_np(e) ? strerrorname_np(e) : "?");
	return 1;
}

/* SIGHUP: the key file again; a new key signs from the next cookie slot on,
 * the old one's cookies stay valid for one period (keyring.h).  A file that
 * is now refused keeps the running key. */
static void reload_key(struct daemon *d)
{
	uint8_t master[SG_KEYFILE_LEN];
	char err[512], key_id[17];

	if (!key_path(&d->cfg)[0])
		return;
	if (sg_keyfile_read(key_path(&d->cfg), master, err, sizeof(err)) != 0) {
		sg_log_event(NULL, SG_LOG_ERR, "key_reload_failed", err,
			     "path=%s action=keep_running_key", d->cfg.key_file);
		return;
	}
	sg_keyring_key_id(master, key_id);
	if (sg_keyring_set_master(d->ring, master, wall_s()))
		sg_log_event(NULL, SG_LOG_NOTICE, "key_rotated",
			     "SIGHUP: a new cookie key signs from the next slot on; the old "
			     "key's cookies stay valid one more period",
			     "path=%s id=%s period=%u", d->cfg.key_file, key_id,
			     d->cfg.proxy.cookie_period);
	sodium_memzero(master, sizeof(master));
}

/* Adds the @bytes / 8 counters at @src to those at @dst (structs of uint64_t only). */
static void add_u64(void *dst, const void *src, size_t bytes)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	size_t i;

	for (i = 0; i < bytes / sizeof(uint64_t); i++)
		d[i] += s[i];
}

_Static_assert(sizeof(struct sg_counters) % sizeof(uint64_t) == 0, "counters are u64s");
_Static_assert(sizeof(struct sg_nfq_stats) % sizeof(uint64_t) == 0, "nfq stats are u64s");

/* Reads the backends' listen queues, at most once a second (sock_diag,
 * sg_diag_listen()). */
static void read_backends(struct daemon *d)
{
	uint64_t now = mono_us();

	if (!d->diag || (d->backend_us && now - d->backend_us < 1000000))
		return;
	d->backend_us = now;
	d->nbackend = 0;
	if (sg_diag_listen(d->diag, d->cfg.rules.ports, d->cfg.rules.nports, d->backend) == 0)
		d->nbackend = d->cfg.rules.nports;
}

static void on_destroy(void *ctx, const struct sg_tuple *orig, uint32_t mark)
{
	(void)orig;
	(void)mark;
	((struct daemon *)ctx)->closed++;
}

/* Destroy events read per 100 ms tick at most: 64 calls of
 * SG_CT_EVENTS_BATCH datagrams, 160k events a second; more wait in the
 * socket's 8 MiB buffer, and an overrun is counted (ct_events_lost). */
#define EVENT_CALLS_PER_TICK 64

/* Reads the conntrack destroy events that came since the last snapshot.
 * They are read here, on the tick and before a fresh snapshot, not as they
 * come: every connection through the namespace ends with one, and a wakeup
 * of this thread for each took the router core's time from the workers. */
static void read_events(struct daemon *d)
{
	int i, n = SG_CT_EVENTS_BATCH;

	for (i = 0; d->ev && n == SG_CT_EVENTS_BATCH && i < EVENT_CALLS_PER_TICK; i++) {
		n = sg_ct_events_read(d->ev, on_destroy, d);
		if (n < 0)
			sg_log_event(&d->rl_events, SG_LOG_WARN, "ct_events_error",
				     "reading conntrack events failed: connection ends may go "
				     "uncounted", "err=\"%s\"", strerror(errno));
	}
}

/* Gathers the workers' figures (fresh ones, asked for, when @fresh) and the
 * daemon's own into d->snap. */
static void snapshot_take(struct daemon *d, bool fresh)
{
	struct snapshot n;
	struct sg_kqueue kq;
	int i;

	read_events(d);
	memset(&n, 0, sizeof(n));
	n.mode = d->cfg.proxy.mode;
	n.has_kq = true;
	for (i = 0; i < d->nw; i++) {
		struct sg_worker_snap ws;

		sg_worker_snapshot(d->w[i], fresh, &ws);
		add_u64(&n.c, &ws.c, sizeof(n.c));
		add_u64(&n.nfq, &ws.nfq, sizeof(n.nfq));
		add_u64(&n.lane, &ws.lane, sizeof(n.lane));
		n.cookies_slot[0] += ws.cookies_slot[0];
		n.cookies_slot[1] += ws.cookies_slot[1];
		n.halfopen += ws.halfopen;
		n.mode = ws.mode;
		n.cookies_on |= ws.cookies_on;
		n.estimate += sg_adaptive_estimate(&ws.ad);
		n.engagements += ws.ad.engagements;
		n.releases += ws.ad.releases;
		if (sg_kqueue_read_fd(d->kq_fd, (uint16_t)(d->cfg.rules.queue + i), &kq) == 0) {
			n.kq_each[i] = kq;
			n.kq.backlog += kq.backlog;
			n.kq.queue_dropped += kq.queue_dropped;
			n.kq.user_dropped += kq.user_dropped;
		} else {
			n.has_kq = false;
		}
	}
	n.c.closed = d->closed;
	if (d->ev) {
		n.ev = *sg_ct_events_stats(d->ev);
		n.has_ev = true;
	}
	n.has_xdp = d->xdp && sg_xdp_counters(d->xdp, n.xdp) == 0;
	read_backends(d);
	memcpy(n.backend, d->backend, sizeof(n.backend));
	n.nbackend = d->nbackend;
	n.health = d->health;
	pthread_mutex_lock(&d->lock);
	d->snap = n;
	pthread_mutex_unlock(&d->lock);
}

/* Points @src at @s (which must outlive it). */
static void snapshot_src(const struct daemon *d, const struct snapshot *s,
			 struct sg_stats_src *src)
{
	memset(src, 0, sizeof(*src));
	src->c = &s->c;
	src->halfopen = s->halfopen;
	src->table_max = d->cfg.proxy.table_max * (uint32_t)d->nw;
	src->mode = s->mode;
	src->engaged = s->cookies_on;
	src->estimate = s->estimate;
	src->adaptive_high = d->cfg.proxy.adaptive_high;
	src->adaptive_low = d->cfg.proxy.adaptive_low;
	src->engagements = s->engagements;
	src->releases = s->releases;
	src->queue = d->cfg.rules.queue;
	src->nfq = &s->nfq;
	src->lane = d->cfg.rules.lane ? &s->lane : NULL;
	src->ev = s->has_ev ? &s->ev : NULL;
	src->kq = s->has_kq ? &s->kq : NULL;
	src->kq_each = s->has_kq ? s->kq_each : NULL;
	src->nqueues = d->nw;
	src->cookies_slot[0] = s->cookies_slot[0];
	src->cookies_slot[1] = s->cookies_slot[1];
	src->backend = s->backend;
	src->nbackend = s->nbackend;
	src->xdp = s->has_xdp ? s->xdp : NULL;
	src->health = &s->health;
	src->version = SYNGATE_VERSION;
	src->commit = SYNGATE_COMMIT;
}

/* The metrics endpoint's renderer: runs on libmicrohttpd's thread. */
static size_t render_metrics(void *ctx, char *out, size_t cap)
{
	struct sg_self self;
	struct daemon *d = ctx;
	struct sg_stats_src src;
	struct snapshot s;

	pthread_mutex_lock(&d->lock);
	s = d->snap;
	pthread_mutex_unlock(&d->lock);
	snapshot_src(d, &s, &src);
	if (sg_self_read(&self) == 0)
		src.self = &self;
	return sg_metrics_format(&src, out, cap);
}

/* --- the once-a-second watch --------------------------------------------------- */

/* The rules: another tool may remove them (`nft flush ruleset`, which
 * Debian's nftables service runs on reload, or iptables -F): then every SYN
 * would reach the backends unprotected while the metrics still said cookies
 * were engaged.  Put them back, and say so. */
static void watch_rules(struct daemon *d)
{
	struct sg_iptables_drops drops;
	int r;

	if (!d->rules_installed)
		return;
	r = sg_iptables_present(&d->cfg.rules, &drops);
	if (r >= 0) {
		d->health.has_drops = true;
		d->health.syns_shed = mono_counter_update(&d->syn_shed, drops.syn_shed);
		d->health.invalid_dropped = mono_counter_update(&d->invalid_dropped, drops.invalid);
	}
	if (r != 0) {
		d->health.rules = r > 0;
		return;
	}
	d->health.rules = 0;
	sg_log_event(NULL, SG_LOG_WARN, "rules_missing",
		     "syngate's iptables chains or jumps were removed by another tool; putting "
		     "them back", "action=reinstall");
	rules_reinstalled(d);
	if (sg_iptables_install(&d->cfg.rules, NULL) == 0) {
		d->health.rules = 1;
		d->health.rules_restored++;
	} else {
		sg_log_event(NULL, SG_LOG_ERR, "rules_reinstall_failed",
			     "reinstalling the rules failed; SYNs are not protected",
			     "restored=%llu", (unsigned long long)d->health.rules_restored);
	}
}

/* Conntrack near its limit: new connections will fail, and a client that
 * got a cookie SYN-ACK believes it is connected, so it hangs.  Logged once
 * each time usage crosses 90%. */
static void watch_conntrack(struct daemon *d)
{
	struct sg_health *h = &d->health;
	bool near;

	h->has_conntrack = sg_conntrack_usage(&h->conntrack_count, &h->conntrack_max) == 0;
	if (!h->has_conntrack || !h->conntrack_max)
		return;
	near = h->conntrack_count * 10 >= h->conntrack_max * 9;
	if (near && !d->ct_near_full)
		sg_log_event(NULL, SG_LOG_WARN, "conntrack_near_full",
			     "new connections will fail (raise net.netfilter.nf_conntrack_max)",
			     "entries=%llu max=%llu", (unsigned long long)h->conntrack_count,
			     (unsigned long long)h->conntrack_max);
	d->ct_near_full = near;
}

#define FAILURE_LOG_SECONDS 10

/* How many failures of a kind to report now (counter @cur): those since
 * the last line, or 0 when there are none or the limit holds them back. */
static uint64_t failures_due(struct failure_log *f, uint64_t cur, uint64_t now_us)
{
	uint64_t n = cur - f->seen, held;

	if (!n || !sg_log_limit_pass(&f->rl, now_us, &held))
		return 0;
	f->seen = cur;
	return n;
}

/* Failures a client only sees as a hang (it was told "connected" by the
 * cookie SYN-ACK): one line each FAILURE_LOG_SECONDS at most while they
 * happen, with the count since the previous one. */
static void watch_failures(struct daemon *d)
{
	const uint64_t *drops = d->snap.c.drops, now = mono_us();
	uint64_t ct = failures_due(&d->ct_failed, drops[SG_R_CT_ERROR], now);
	uint64_t to = failures_due(&d->backend_timeout, drops[SG_R_BACKEND_TIMEOUT], now);
	uint64_t full = failures_due(&d->halfopen_full, drops[SG_R_TABLE_FULL], now);
	uint64_t silent = failures_due(&d->backend_silent,
				       drops[SG_R_EVICTED] + drops[SG_R_BACKEND_SILENT], now);

	if (ct)
		sg_log_event(NULL, SG_LOG_WARN, "ct_create_failed",
			     "valid cookie ACKs whose conntrack entry could not be created",
			     "count=%llu conntrack=%llu/%llu", (unsigned long long)ct,
			     (unsigned long long)d->health.conntrack_count,
			     (unsigned long long)d->health.conntrack_max);
	if (to)
		sg_log_event(NULL, SG_LOG_WARN, "backend_timeout",
			     "backends did not answer the SYN of clients that completed a cookie "
			     "handshake (clients got a RST)", "count=%llu", (unsigned long long)to);
	if (full)
		sg_log_event(NULL, SG_LOG_WARN, "halfopen_full",
			     "valid cookie ACKs refused, the half-open table is full", "count=%llu",
			     (unsigned long long)full);
	if (silent)
		sg_log_event(NULL, SG_LOG_WARN, "backend_silent",
			     "backends that stopped answering: their waiting clients reset to make "
			     "room, or new ones refused beyond their share of the half-open table",
			     "count=%llu", (unsigned long long)silent);
}

/* Once a second, on the coordinator thread. */
static void watch(struct daemon *d)
{
	watch_rules(d);
	watch_conntrack(d);
	watch_failures(d);
}

/* systemd's watchdog: WATCHDOG=1 every quarter period, sent only while
 * every worker's loop came round within half of it (a worker turns at least
 * every 100 ms, idle or not).  A stalled worker stops the feeding, and
 * systemd restarts the service a period later; logged once per stall. */
static void feed_watchdog(struct daemon *d)
{
	uint64_t now = mono_us();
	int i;

	if (!d->wd_usec || now - d->wd_fed < d->wd_usec / 4)
		return;
	for (i = 0; i < d->nw; i++) {
		uint64_t beat = sg_worker_heartbeat(d->w[i]);

		if (now > beat && now - beat > d->wd_usec / 2)
			break;
	}
	if (i < d->nw) {
		if (!d->wd_stalled)
			sg_log_event(NULL, SG_LOG_ERR, "worker_stalled",
				     "a worker's loop stopped coming round: the systemd watchdog is no "
				     "longer fed", "queue=%u stalled_ms=%llu",
				     (unsigned)(d->cfg.rules.queue + i),
				     (unsigned long long)(now - sg_worker_heartbeat(d->w[i])) / 1000);
		d->wd_stalled = (int)(d->cfg.rules.queue + i) + 1;
		return;
	}
	if (d->wd_stalled)
		sg_log_event(NULL, SG_LOG_NOTICE, "worker_recovered",
			     "the worker's loop comes round again: feeding the watchdog again",
			     "queue=%d", d->wd_stalled - 1);
	d->wd_stalled = 0;
	sd_notify(0, "WATCHDOG=1");
	d->wd_fed = now;
}

static void on_tick(struct daemon *d)
{
	uint64_t expirations;

	if (read(d->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		sg_log_warn("timerfd read");
	if (++d->watch_ticks % (1000 / TICK_MS) == 0)
		watch(d);
	snapshot_take(d, false);
	sg_backends_save(d->backends, mono_us() / 1000000, wall_s(), false);
	sg_control_run(d->ctl, mono_us() / 1000); /* deadlines of idle clients */
	feed_watchdog(d);
}

/* The control socket's answer to @req: "metrics", "json", else text. */
static size_t control_answer(void *ctx, const char *req, char *out, size_t cap)
{
	struct daemon *d = ctx;
	struct sg_stats_src src;

	snapshot_take(d, true);
	snapshot_src(d, &d->snap, &src); /* this thread is snap's only writer */
	if (!strncmp(req, "metrics", 7))
		return sg_metrics_format(&src, out, cap);
	return sg_stats_format(&src, !strncmp(req, "json", 4), out, cap);
}

/* What the XDP program must know of @c (ports pointed at, not copied). */
static void xdp_params(const struct sg_config *c, struct sg_xdp_params *p)
{
	p->ports = c->rules.ports;
	p->nports = c->rules.nports;
	p->ipv4 = c->rules.ipv4;
	p->ipv6 = c->rules.ipv6;
	p->mss4 = c->proxy.mss4;
	p->mss6 = c->proxy.mss6;
	p->default_wscale = c->proxy.default_wscale;
	p->learn_first = c->proxy.learn_first;
	p->drop_acks = !c->proxy.rst_invalid;
	p->known_mark = c->proxy.marks.known;
}

/* Loads and attaches the XDP fast path if the configuration asks for it. */
static int open_xdp(struct daemon *d)
{
	struct sg_xdp_params p;
	char path[sizeof(d->cfg.xdp_object) + 32];

	if (d->cfg.xdp_mode == SG_XDP_OFF)
		return 0;
	if (d->cfg.proxy.timestamps) { /* config check: xdp is auto here */
		sg_log_event(NULL, SG_LOG_INFO, "xdp_off", "the XDP program does not write "
			     "timestamps yet; SYNs take the NFQUEUE path", "reason=timestamps");
		return 0;
	}
	if (d->cfg.xdp_object[0])
		snprintf(path, sizeof(path), "%s", d->cfg.xdp_object);
	else
		sg_xdp_default_object(path, sizeof(path));
	xdp_params(&d->cfg, &p);
	d->xdp = sg_xdp_open(path, (const char(*)[16])d->cfg.rules.ifaces, d->cfg.rules.nifaces,
			     (enum sg_xdp_mode)d->cfg.xdp_mode, &p);
	if (d->xdp)
		d->health.xdp_ifaces = sg_xdp_attached(d->xdp, NULL);
	if (d->xdp || d->cfg.xdp_mode != SG_XDP_AUTO)
		return d->xdp ? 0 : -1;
	/* auto: the warnings above said why; the queue path does it all */
	sg_log_event(NULL, SG_LOG_WARN, "xdp_unavailable", "XDP fast path off (see above); SYNs "
		     "and ACKs take the NFQUEUE path alone (xdp = off silences this)", "path=queue");
	return 0;
}

/* Adaptive mode needs the completing ACKs of passed-through handshakes
 * queued, the other modes do not: after a mode change by SIGHUP the rules
 * are put in again when syngate installed them. */
static void rules_follow_mode(struct daemon *d)
{
	bool want = d->cfg.proxy.mode == SG_MODE_ADAPTIVE;

	if (d->cfg.rules.completions == want)
		return;
	d->cfg.rules.completions = want;
	if (d->rules_installed)
		rules_reinstalled(d);
	if (d->rules_installed && sg_iptables_install(&d->cfg.rules, NULL) != 0)
		sg_log_event(NULL, SG_LOG_ERR, "rules_reinstall_failed",
			     "SIGHUP: reinstalling the rules for the new mode failed", "mode=%s",
			     sg_mode_name(d->cfg.proxy.mode));
}

/* SIGHUP: re-reads the config file and applies the options the options
 * table marks live (sg_config_apply_live()); the others are named in a
 * warning and keep their running values.  Connections in flight and spliced
 * ones are untouched; a bad file changes nothing. */
static void reload(struct daemon *d)
{
	char err[SG_CONFIG_ERR_LEN], keys[256], why[SG_CONFIG_ERR_LEN + 64];
	struct sg_config n;
	int i;

	reload_key(d);
	if (!d->cfg.config_path[0]) {
		sg_log_event(NULL, SG_LOG_NOTICE, "reload_skipped",
			     "SIGHUP: no config file to reload (started without --config)",
			     "action=keep_running_config");
		return;
	}
	sg_config_defaults(&n);
	if (sg_config_load(&n, d->cfg.config_path, err, sizeof(err)) != 0 ||
	    sg_config_check(&n, err, sizeof(err)) != 0) {
		snprintf(why, sizeof(why), "SIGHUP: %s; keeping the running configuration", err);
		sg_log_event(NULL, SG_LOG_ERR, "reload_failed", why,
			     "config=%s action=keep_running_config", d->cfg.config_path);
		return;
	}
	if (sg_config_restart_keys(&d->cfg, &n, keys, sizeof(keys)) > 0) {
		for (char *r = keys, *w = keys;; r++) /* "a, b" -> "a,b": one value */
			if (*r != ' ' && !(*w++ = *r))
				break;
		sg_log_event(NULL, SG_LOG_WARN, "reload_needs_restart",
			     "SIGHUP: changes to these options need a restart; not applied",
			     "options=%s config=%s", keys, d->cfg.config_path);
	}
	sg_config_apply_live(&d->cfg, &n);
	rules_follow_mode(d);
	for (i = 0; i < d->nw; i++)
		sg_worker_reconfigure(d->w[i], &d->cfg.proxy);
	if (d->xdp) {
		struct sg_xdp_params xp;

		xdp_params(&d->cfg, &xp);
		sg_xdp_configure(d->xdp, &xp);
	}
	sg_log_set_level((enum sg_log_level)d->cfg.log_level);
	sg_log_set_format((enum sg_log_format)d->cfg.log_format);
	sg_log_event(NULL, SG_LOG_NOTICE, "reloaded", "SIGHUP: configuration reloaded",
		     "config=%s mode=%s", d->cfg.config_path, sg_mode_name(n.proxy.mode));
}

/* Returns 1 to stop, 0 to go on. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		reload(d);
		sd_notify(0, "READY=1");
		return 0;
	}
	sg_log_event(NULL, SG_LOG_NOTICE, "stopping", "stopping on a signal", "signal=%u",
		     si.ssi_signo);
	return 1;
}

/* --- setup and teardown -------------------------------------------------- */

static int add_fd(int ep, int fd)
{
	struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static void teardown(struct daemon *d)
{
	int i;

	sg_http_stop(d->http);
	if (d->http_fd >= 0)
		close(d->http_fd);
	if (d->kq_fd >= 0)
		close(d->kq_fd);
	for (i = 0; i < d->nw; i++)
		sg_worker_free(d->w[i]);
	/* the workers are stopped: what they learned last */
	sg_backends_save(d->backends, mono_us() / 1000000, wall_s(), true);
	sg_backends_free(d->backends);
	sg_keyring_free(d->ring);
	sg_xdp_close(d->xdp);
	sg_diag_close(d->diag);
	if (d->rules_installed && d->cfg.keep_rules)
		sg_log_event(NULL, SG_LOG_INFO, "rules_kept",
			     "keep-rules: the rules stay installed and fail closed until the next "
			     "daemon (syngate rules remove takes them away)",
			     "%s", "");
	else if (d->rules_installed)
		sg_iptables_remove(&d->cfg.rules, stderr);
	sg_control_close(d->ctl);
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->epfd >= 0)
		close(d->epfd);
	sg_ct_events_close(d->ev);
}

/* Blocks the signals this thread takes through signalfd (the workers and the
 * metrics thread, created later, inherit the mask) and arms the timer. */
static int open_timer_and_signals(struct daemon *d)
{
	struct itimerspec its = {{0, TICK_MS * 1000000}, {0, TICK_MS * 1000000}};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sfd < 0 || d->tfd < 0 || timerfd_settime(d->tfd, 0, &its, NULL) < 0)
		return -1;
	return 0;
}

static int open_backend_diag(struct daemon *d)
{
	const char *ns = d->cfg.backend_netns[0] ? d->cfg.backend_netns : NULL;

	if (!d->cfg.backend_queues)
		return 0;
	d->diag = sg_diag_open(ns);
	if (!d->diag && errno == ENOTRECOVERABLE)
		return sg_log_warn("left the backends' namespace %s", ns), -1;
	if (!d->diag)
		sg_log_warn("sock_diag in %s: backend queues not shown", ns ? ns : "this namespace");
	return 0;
}

/* Installs the rules; the sysctls it changed go to the log, one info line
 * each ("sysctl NAME: OLD -> NEW").  0, or -1 (the reasons logged). */
static int install_rules(struct daemon *d)
{
	char *report = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&report, &len);
	int r = sg_iptables_install(&d->cfg.rules, f);

	if (f)
		fclose(f);
	if (report && len)
		sg_log(SG_LOG_INFO, "%s", report);
	free(report);
	return r;
}

/* The control socket and the metrics port: opened before the privileges
 * go (a port below 1024, a directory only root may write); the metrics
 * server starts later, with the threads. */
static int open_endpoints(struct daemon *d)
{
	d->ctl = sg_control_open(d->cfg.control, control_answer, d);
	if (!d->ctl)
		return sg_log_warn("control socket %s%s", d->cfg.control,
				   errno == EEXIST ? " (something other than a socket is there)" : ""),
		       -1;
	if (!d->cfg.metrics_port)
		return 0;
	d->http_fd = sg_http_listen(d->cfg.metrics_addr, d->cfg.metrics_port);
	if (d->http_fd < 0)
		return sg_log_warn("metrics endpoint %s port %u", d->cfg.metrics_addr,
				   d->cfg.metrics_port),
		       -1;
	return 0;
}

/* The backends learned before a restart, taught to every worker before
 * any starts (backends.h). */
static int open_backends(struct daemon *d)
{
	struct sg_config def;

	sg_config_defaults(&def);
	d->backends = sg_backends_new(d->cfg.backends_file, !strcmp(d->cfg.backends_file,
								   def.backends_file),
				      d->cfg.proxy.cookie_period);
	if (!d->backends)
		return sg_log_warn("backends file %s", d->cfg.backends_file), -1;
	sg_backends_load(d->backends, d->w, d->nw, wall_s());
	return 0;
}

/* Everything that needs privilege, in the order the header comment gives. */
static int open_privileged(struct daemon *d)
{
	uint8_t master[SG_KEYFILE_LEN];
	char key_id[17];
	int i, nw, in_memory;

	d->ev = sg_ct_events_open(d->cfg.proxy.marks.proxied, d->cfg.proxy.marks.proxied);
	if (!d->ev)
		sg_log_warn("conntrack events unavailable: connection ends will not be counted");
	if (open_timer_and_signals(d) < 0)
		return sg_log_warn("timerfd/signalfd"), -1;
	if (open_backend_diag(d) < 0)
		return -1;
	if (d->cfg.install_rules) {
		if (install_rules(d) != 0)
			return -1;
		d->rules_installed = true;
		d->health.rules = 1;
	}
	if (open_xdp(d) < 0)
		return -1;
	nw = d->cfg.rules.nqueues * (d->cfg.rules.lane ? 2 : 1);
	if ((in_memory = load_key(d, master)) < 0)
		return -1;
	sg_keyring_key_id(master, key_id);
	sg_log_event(NULL, SG_LOG_INFO, "key_loaded",
		     "routers that log the same cookie key id accept each other's cookies",
		     "path=%s id=%s", in_memory ? "memory" : key_path(&d->cfg), key_id);
	d->ring = sg_keyring_new(master, d->cfg.proxy.cookie_period, wall_s(), nw, d->xdp);
	sodium_memzero(master, sizeof(master));
	if (!d->ring)
		return -1;
	for (i = 0; i < nw; i++) { /* the lane's queues follow the main ones */
		d->w[i] = sg_worker_new(&d->cfg, (uint16_t)(d->cfg.rules.queue + i), i, nw, d->ring,
					d->xdp);
		if (!d->w[i])
			return -1;
		d->nw++;
	}
	if (open_backends(d) < 0)
		return -1;
	d->kq_fd = sg_kqueue_open(); /* mode 0440, root's: read again and again from here */
	if (d->kq_fd < 0)
		sg_log_warn("/proc/net/netfilter/nfnetlink_queue: the kernel's queue figures will "
			    "not be shown");
	return open_endpoints(d);
}

/* The threads, once the privileges are gone. */
static int start_threads(struct daemon *d)
{
	int i;

	for (i = 0; i < d->nw; i++)
		if (sg_worker_start(d->w[i]) < 0)
			return -1;
	snapshot_take(d, false);
	if (d->http_fd >= 0) {
		d->http = sg_http_start(d->http_fd, render_metrics, d);
		d->http_fd = -1; /* the server's now, even on failure */
		if (!d->http)
			return sg_log_warn("metrics endpoint %s port %u", d->cfg.metrics_addr,
					   d->cfg.metrics_port),
			       -1;
		sg_log_event(NULL, SG_LOG_INFO, "metrics_listening", "Prometheus endpoint up",
			     "url=http://%s:%u/metrics", d->cfg.metrics_addr, d->cfg.metrics_port);
	}
	return 0;
}

static int setup(struct daemon *d)
{
	struct sg_priv_user user;

	if (!sg_has_capability(12) || !sg_has_capability(13)) {
		sg_log(SG_LOG_ERR, "syngate run needs CAP_NET_ADMIN (NFQUEUE, conntrack, rules) and "
				   "CAP_NET_RAW (raw sends): run it as root, or grant both "
				   "(systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)");
		return -1;
	}
	if (sg_priv_lookup(d->cfg.user, &user) != 0 || open_privileged(d) != 0 ||
	    sg_priv_drop(&user) != 0 || start_threads(d) != 0)
		return -1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || add_fd(d->epfd, d->tfd) || add_fd(d->epfd, d->sfd) ||
	    add_fd(d->epfd, sg_control_fd(d->ctl)))
		return sg_log_warn("epoll"), -1;
	if (sd_watchdog_enabled(0, &d->wd_usec) <= 0)
		d->wd_usec = 0;
	return 0;
}

static int loop(struct daemon *d)
{
	struct epoll_event evs[8];

	for (;;) {
		int i, n = epoll_wait(d->epfd, evs, 8, -1);

		if (n < 0 && errno != EINTR)
			return sg_log_warn("epoll_wait"), -1;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == d->tfd) {
				on_tick(d);
			} else if (fd == d->sfd) {
				if (on_signal(d))
					return 0;
			} else if (fd == sg_control_fd(d->ctl)) {
				sg_control_run(d->ctl, mono_us() / 1000);
			}
		}
	}
}

int sg_daemon_run(const struct sg_config *cfg)
{
	struct daemon d;
	int r;

	memset(&d, 0, sizeof(d));
	d.cfg = *cfg;
	if (d.cfg.rules.nqueues < 1)
		d.cfg.rules.nqueues = 1;
	if (d.cfg.rules.nqueues > MAX_QUEUES / (d.cfg.rules.lane ? 2 : 1))
		d.cfg.rules.nqueues = MAX_QUEUES / (d.cfg.rules.lane ? 2 : 1);
	d.epfd = d.tfd = d.sfd = d.http_fd = d.kq_fd = -1;
	d.health.rules = -1;
	d.ct_failed.rl = d.backend_timeout.rl = d.halfopen_full.rl = d.backend_silent.rl =
		SG_LOG_LIMIT(FAILURE_LOG_SECONDS);
	d.rl_events = SG_LOG_LIMIT(FAILURE_LOG_SECONDS);
	pthread_mutex_init(&d.lock, NULL);
	sg_log_set_level((enum sg_log_level)cfg->log_level);
	sg_log_set_format((enum sg_log_format)cfg->log_format);
	r = setup(&d);
	if (r == 0) {
		sg_log_event(NULL, SG_LOG_INFO, "started", "handling packets", "queues=%u-%u mode=%s "
			     "table=%u path=%s placement=%s version=%s", d.cfg.rules.queue,
			     d.cfg.rules.queue + d.nw - 1, sg_mode_name(cfg->proxy.mode),
			     cfg->proxy.table_max, d.xdp ? "xdp" : "queue",
			     cfg->rules.on_host ? "on-host" : "router", SYNGATE_VERSION);
		/* rules, queues, XDP, workers and sockets are up */
		sd_notifyf(0, "READY=1\nSTATUS=queues %u-%u, mode %s", d.cfg.rules.queue,
			   d.cfg.rules.queue + d.nw - 1, sg_mode_name(cfg->proxy.mode));
		r = loop(&d);
	}
	sd_notify(0, "STOPPING=1");
	teardown(&d);
	pthread_mutex_destroy(&d.lock);
	return r;
}

/* syngate daemon: the edges around the proxy state machine.
 *
 * One thread, one epoll loop: the NFQUEUE socket, conntrack destroy events,
 * a 100 ms timer (proxy timers, secret rotation), signals (signalfd) and the
 * control socket.  Sockets are opened in an order that matters: the
 * conntrack event listener before any entry is created (with
 * nf_conntrack_events=2 an entry created with no listener never reports its
 * end), the queue after everything it needs, so that no packet is taken before
 * syngate can act on it, and the control socket last, so that its existence
 * means syngate is handling packets.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "syngate/config.h"
#include "syngate/ct.h"
#include "syngate/daemon.h"
#include "syngate/http.h"
#include "syngate/kstats.h"
#include "syngate/log.h"
#include "syngate/nfq.h"
#include "syngate/proxy.h"
#include "syngate/raw.h"
#include "syngate/rules.h"
#include "syngate/stats.h"

#define TICK_MS 100
/* The timer pass visits the whole half-open table (fewer than 4 * table-size
 * slots) within SCAN_MS, so backend SYN retransmissions and timeouts fire at
 * most that late (a fixed 8192 slots per tick took 1.6 s with the default
 * table); huge tables are capped at TICK_BUDGET_MAX slots per tick. */
#define SCAN_MS 500
#define TICK_BUDGET_MIN 8192
#define TICK_BUDGET_MAX (1u << 18)
#define RANDOM_LEN (2 * SG_COOKIE_SECRET_LEN + 8)

/* What the metrics thread reads: copied from the loop's state under the lock. */
struct snapshot {
	struct sg_counters c;
	struct sg_nfq_stats nfq;
	struct sg_ct_events_stats ev;
	struct sg_kqueue kq;
	struct sg_listen_queue backend[SG_RULES_MAX_PORTS];
	uint64_t cookies_slot[2];
	uint32_t halfopen;
	enum sg_mode mode;
	struct sg_adaptive ad;
	bool has_ev, has_kq;
	int nbackend;
};

struct daemon {
	struct sg_config cfg;
	struct sg_http *http;
	struct sg_diag *diag;
	pthread_mutex_t lock; /* guards snap */
	struct snapshot snap;
	struct sg_proxy *px;
	struct sg_nfq *q;
	struct sg_ct *ct;
	struct sg_ct_events *ev;
	struct sg_raw *raw;
	int epfd, tfd, sfd, cfd;
	bool rules_installed;
	bool cookies_on;    /* last seen: SYNs answered with cookies */
	struct sg_listen_queue backend[SG_RULES_MAX_PORTS]; /* last sock_diag read */
	int nbackend;
	uint64_t backend_us; /* when it was read */
	uint64_t last_slot; /* cookie slot of the last rotation check */
	uint64_t now_us; /* monotonic microseconds, read once per batch */
	uint64_t peak_halfopen;
};

static void snapshot_take(struct daemon *d);

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Fills @buf with @len bytes from the kernel's CSPRNG.  Returns 0 or -1. */
static int fill_random(uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/* --- io table for the proxy --------------------------------------------- */

static int io_create(void *ctx, const struct sg_ct_new *n)
{
	return sg_ct_create(((struct daemon *)ctx)->ct, n);
}

static int io_establish(void *ctx, const struct sg_tuple *t, int32_t off, uint32_t mark)
{
	return sg_ct_establish(((struct daemon *)ctx)->ct, t, off, mark);
}

static int io_delete(void *ctx, const struct sg_tuple *t)
{
	return sg_ct_delete(((struct daemon *)ctx)->ct, t);
}

static int io_send(void *ctx, const uint8_t *pkt, size_t len)
{
	return sg_raw_send(((struct daemon *)ctx)->raw, pkt, len);
}

/* --- event handlers ------------------------------------------------------ */

static void on_packet(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *pkt)
{
	struct daemon *d = ctx;
	struct sg_action a;

	uint32_t cm = d->cfg.proxy.complete_mark;

	sg_proxy_packet_ct(d->px, pkt->data, pkt->data ? pkt->len : 0, (pkt->mark & cm) == cm,
			   d->now_us, &a);
	if ((pkt->mark & cm) == cm) /* the rules' mark has done its job: take it off */
		sg_nfq_verdict_mark(q, pkt->id, a.verdict, NULL, 0, pkt->mark & ~cm);
	else if (a.set_mark)
		sg_nfq_verdict_mark(q, pkt->id, a.verdict, a.len ? a.out : NULL, a.len, a.mark);
	else
		sg_nfq_verdict(q, pkt->id, a.verdict, a.len ? a.out : NULL, a.len);
}

static void on_destroy(void *ctx, const struct sg_tuple *orig, uint32_t mark)
{
	(void)orig;
	(void)mark;
	sg_proxy_closed(((struct daemon *)ctx)->px);
}

/* Table slots one tick visits (see SCAN_MS). */
static uint32_t tick_budget(uint32_t table_max)
{
	uint64_t b = (uint64_t)table_max * 4 * TICK_MS / SCAN_MS;

	if (b < TICK_BUDGET_MIN)
		return TICK_BUDGET_MIN;
	return b > TICK_BUDGET_MAX ? TICK_BUDGET_MAX : (uint32_t)b;
}

/* Logs when cookies engage or are released (adaptive mode), once per change. */
static void log_transition(struct daemon *d)
{
	const struct sg_adaptive *ad = sg_proxy_adaptive(d->px);
	bool on = sg_proxy_cookies_on(d->px);

	if (on == d->cookies_on)
		return;
	d->cookies_on = on;
	if (sg_proxy_mode(d->px) != SG_MODE_ADAPTIVE)
		return;
	if (on)
		sg_log(SG_LOG_WARN, "cookies engaged: half-open estimate %u reached %u",
		       sg_adaptive_estimate(ad), ad->high);
	else
		sg_log(SG_LOG_INFO, "cookies released: half-open estimate %u below %u",
		       sg_adaptive_estimate(ad), ad->low);
}

static void on_tick(struct daemon *d)
{
	uint8_t rnd[RANDOM_LEN];
	uint64_t expirations;
	uint32_t ho;
	int r;

	if (read(d->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		sg_log_warn("timerfd read");
	d->now_us = mono_us();
	sg_proxy_tick(d->px, d->now_us, tick_budget(d->cfg.proxy.table_max));
	if (d->now_us / 1000000 / d->cfg.proxy.cookie_period != d->last_slot &&
	    fill_random(rnd, sizeof(rnd)) == 0) {
		d->last_slot = d->now_us / 1000000 / d->cfg.proxy.cookie_period;
		r = sg_proxy_rotate(d->px, d->now_us / 1000000, rnd);
		if (r > 0)
			sg_log(SG_LOG_DEBUG, "cookie secrets rotated (%d replaced)", r);
	}
	log_transition(d);
	snapshot_take(d);
	ho = sg_proxy_halfopen(d->px);
	if (ho > d->peak_halfopen && ho >= d->cfg.proxy.table_max / 2) {
		sg_log(SG_LOG_WARN, "half-open table at %u of %u entries", ho,
		       d->cfg.proxy.table_max);
		d->peak_halfopen = ho;
	}
}

/* Refreshes d->snap from the loop's state (loop thread only). */
static void snapshot_take(struct daemon *d)
{
	struct snapshot n;
	int i;

	memset(&n, 0, sizeof(n));
	n.c = *sg_proxy_counters(d->px);
	n.nfq = *sg_nfq_stats(d->q);
	if (d->ev) {
		n.ev = *sg_ct_events_stats(d->ev);
		n.has_ev = true;
	}
	n.has_kq = sg_kqueue_read(NULL, d->cfg.rules.queue, &n.kq) == 0;
	sg_proxy_cookies_in_flight(d->px, n.cookies_slot);
	n.halfopen = sg_proxy_halfopen(d->px);
	n.mode = sg_proxy_mode(d->px);
	n.ad = *sg_proxy_adaptive(d->px);
	/* sock_diag dumps every listener of the namespace: once a second is
	 * plenty for a queue gauge and keeps them off the packet path */
	if (d->diag && (!d->backend_us || d->now_us - d->backend_us >= 1000000)) {
		d->backend_us = d->now_us;
		d->nbackend = 0;
		for (i = 0; i < d->cfg.rules.nports; i++)
			if (sg_diag_listen(d->diag, d->cfg.rules.ports[i],
					   &d->backend[d->nbackend]) == 0)
				d->nbackend++;
	}
	memcpy(n.backend, d->backend, sizeof(n.backend));
	n.nbackend = d->nbackend;
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
	src->table_max = d->cfg.proxy.table_max;
	src->mode = s->mode;
	src->engaged = s->mode == SG_MODE_ALWAYS || (s->mode == SG_MODE_ADAPTIVE && s->ad.engaged);
	src->estimate = sg_adaptive_estimate(&s->ad);
	src->adaptive_high = s->ad.high;
	src->adaptive_low = s->ad.low;
	src->engagements = s->ad.engagements;
	src->releases = s->ad.releases;
	src->queue = d->cfg.rules.queue;
	src->nfq = &s->nfq;
	src->ev = s->has_ev ? &s->ev : NULL;
	src->kq = s->has_kq ? &s->kq : NULL;
	src->cookies_slot[0] = s->cookies_slot[0];
	src->cookies_slot[1] = s->cookies_slot[1];
	src->backend = s->backend;
	src->nbackend = s->nbackend;
}

/* The metrics endpoint's renderer: runs on libmicrohttpd's thread. */
static size_t render_metrics(void *ctx, char *out, size_t cap)
{
	struct daemon *d = ctx;
	struct sg_stats_src src;
	struct snapshot s;

	pthread_mutex_lock(&d->lock);
	s = d->snap;
	pthread_mutex_unlock(&d->lock);
	snapshot_src(d, &s, &src);
	return sg_metrics_format(&src, out, cap);
}

static void on_control(struct daemon *d)
{
	static char out[65536];
	char req[64] = "";
	int c = accept4(d->cfd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = {0, 200000};
	struct sg_stats_src src;
	ssize_t n;
	size_t len;

	if (c < 0)
		return;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(c, req, sizeof(req) - 1);
	req[n > 0 ? n : 0] = '\0';
	snapshot_take(d);
	snapshot_src(d, &d->snap, &src); /* the loop thread owns snap's writes */
	if (!strncmp(req, "metrics", 7))
		len = sg_metrics_format(&src, out, sizeof(out));
	else
		len = sg_stats_format(&src, !strncmp(req, "json", 4), out, sizeof(out));
	if (write(c, out, len) < 0)
		sg_log_warn("control socket write");
	close(c);
}

/* SIGHUP: re-reads the config file and applies what can change at run time.
 * Connections in flight and spliced ones are untouched; a bad file changes
 * nothing. */
static void reload(struct daemon *d)
{
	char err[SG_CONFIG_ERR_LEN], keys[256];
	struct sg_config n;

	if (!d->cfg.config_path[0]) {
		sg_log(SG_LOG_INFO, "SIGHUP: no config file to reload (started without --config)");
		return;
	}
	sg_config_defaults(&n);
	if (sg_config_load(&n, d->cfg.config_path, err, sizeof(err)) != 0 ||
	    sg_config_check(&n, err, sizeof(err)) != 0) {
		sg_log(SG_LOG_ERR, "SIGHUP: %s; keeping the running configuration", err);
		return;
	}
	if (sg_config_restart_keys(&d->cfg, &n, keys, sizeof(keys)) > 0)
		sg_log(SG_LOG_WARN, "SIGHUP: changes to %s need a restart; not applied", keys);
	sg_proxy_reconfigure(d->px, &n.proxy);
	d->cfg.proxy.mode = n.proxy.mode;
	d->cfg.log_level = n.log_level;
	sg_log_set_level((enum sg_log_level)n.log_level);
	sg_log(SG_LOG_INFO, "SIGHUP: reloaded %s (mode %s)", d->cfg.config_path,
	       sg_mode_name(n.proxy.mode));
}

/* Returns 1 to stop, 0 to go on. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		reload(d);
		return 0;
	}
	sg_log(SG_LOG_INFO, "signal %u: stopping", si.ssi_signo);
	return 1;
}

/* --- setup and teardown -------------------------------------------------- */

static int control_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	old = umask(0177); /* the socket is created 0600 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static void teardown(struct daemon *d)
{
	sg_http_stop(d->http);
	sg_diag_close(d->diag);
	if (d->rules_installed)
		sg_rules_remove(&d->cfg.rules, stderr);
	sg_nfq_close(d->q);
	if (d->cfd >= 0) {
		close(d->cfd);
		unlink(d->cfg.control);
	}
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->epfd >= 0)
		close(d->epfd);
	sg_raw_close(d->raw);
	sg_ct_close(d->ct);
	sg_ct_events_close(d->ev);
	sg_proxy_free(d->px);
}

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

static int setup(struct daemon *d)
{
	struct sg_proxy_io io = {d, io_create, io_establish, io_delete, io_send};
	struct sg_nfq_config qc = {d->cfg.rules.queue, d->cfg.queue_maxlen,
				   (size_t)d->cfg.rcvbuf_mb << 20, d->cfg.rules.fail_open};
	uint8_t rnd[RANDOM_LEN];

	if (!sg_has_capability(12) || !sg_has_capability(13)) {
		sg_log(SG_LOG_ERR, "syngate run needs CAP_NET_ADMIN (NFQUEUE, conntrack, rules) and "
				   "CAP_NET_RAW (raw sends): run it as root, or grant both "
				   "(systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)");
		return -1;
	}
	d->ev = sg_ct_events_open(d->cfg.proxy.mark_proxied, d->cfg.proxy.mark_proxied);
	if (!d->ev)
		sg_log_warn("conntrack events unavailable: connection ends will not be counted");
	if (!(d->ct = sg_ct_open()))
		return sg_log_warn("ctnetlink (is nf_conntrack_netlink available?)"), -1;
	if (!(d->raw = sg_raw_open()))
		return sg_log_warn("raw sockets"), -1;
	if (fill_random(rnd, sizeof(rnd)) != 0)
		return sg_log_warn("getrandom"), -1;
	d->now_us = mono_us();
	if (!(d->px = sg_proxy_new(&d->cfg.proxy, &io, d->now_us, rnd)))
		return sg_log_warn("proxy state (table-size %u)", d->cfg.proxy.table_max), -1;
	if (open_timer_and_signals(d) < 0)
		return sg_log_warn("timerfd/signalfd"), -1;
	if (d->cfg.backend_queues) {
		d->diag = sg_diag_open(d->cfg.backend_netns[0] ? d->cfg.backend_netns : NULL);
		if (!d->diag && errno == ENOTRECOVERABLE)
			return sg_log_warn("left the backends' namespace %s", d->cfg.backend_netns),
			       -1;
		if (!d->diag)
			sg_log_warn("sock_diag in %s: backend queues not shown",
				    d->cfg.backend_netns[0] ? d->cfg.backend_netns : "this namespace");
	}
	if (d->cfg.install_rules) {
		if (sg_rules_install(&d->cfg.rules, stderr) != 0)
			return -1;
		d->rules_installed = true;
	}
	if (!(d->q = sg_nfq_open(&qc)))
		return sg_log_warn("NFQUEUE %u", qc.queue), -1;
	snapshot_take(d);
	/* last: once the control socket exists, syngate is handling packets */
	if ((d->cfd = control_open(d->cfg.control)) < 0)
		return sg_log_warn("control socket %s", d->cfg.control), -1;
	if (d->cfg.metrics_port) {
		d->http = sg_http_start(d->cfg.metrics_addr, d->cfg.metrics_port, render_metrics, d);
		if (!d->http)
			return sg_log_warn("metrics endpoint %s port %u", d->cfg.metrics_addr,
					   d->cfg.metrics_port),
			       -1;
		sg_log(SG_LOG_INFO, "metrics on http://%s:%u/metrics", d->cfg.metrics_addr,
		       d->cfg.metrics_port);
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || add_fd(d->epfd, sg_nfq_fd(d->q)) || add_fd(d->epfd, d->tfd) ||
	    add_fd(d->epfd, d->sfd) || add_fd(d->epfd, d->cfd) ||
	    (d->ev && add_fd(d->epfd, sg_ct_events_fd(d->ev))))
		return sg_log_warn("epoll"), -1;
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

			if (fd == sg_nfq_fd(d->q)) {
				d->now_us = mono_us();
				if (sg_nfq_poll(d->q, false, on_packet, d) < 0)
					return sg_log_warn("NFQUEUE receive"), -1;
			} else if (fd == d->tfd) {
				on_tick(d);
			} else if (fd == d->sfd) {
				if (on_signal(d))
					return 0;
			} else if (fd == d->cfd) {
				on_control(d);
			} else if (d->ev && fd == sg_ct_events_fd(d->ev)) {
				if (sg_ct_events_read(d->ev, on_destroy, d) < 0)
					sg_log_warn("conntrack events");
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
	d.cfg.rules.mark = cfg->proxy.mark_pending;
	d.cfg.rules.proxied_mark = cfg->proxy.mark_proxied;
	d.cfg.rules.complete_mark = cfg->proxy.complete_mark;
	d.cfg.rules.reflect_mark = cfg->proxy.reflect_mark;
	d.epfd = d.tfd = d.sfd = d.cfd = -1;
	pthread_mutex_init(&d.lock, NULL);
	sg_log_set_level((enum sg_log_level)cfg->log_level);
	r = setup(&d);
	if (r == 0) {
		sg_log(SG_LOG_INFO, "running: queue %u, mode %s, table %u", cfg->rules.queue,
		       sg_mode_name(cfg->proxy.mode), cfg->proxy.table_max);
		r = loop(&d);
	}
	teardown(&d);
	pthread_mutex_destroy(&d.lock);
	return r;
}

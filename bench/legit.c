/* legit: "legitimate clients" for bench/run.sh's legit-under-flood scenario.
 *
 *   legit -l PORT [-t SECONDS] [-b BACKLOG]
 *       echo server: accepts, reads one byte, writes one byte back, closes;
 *       until SECONDS (default: forever) or SIGINT/SIGTERM.  Backlog 4096.
 *   legit -c HOST -p PORT -t SECONDS [-i INTERVAL_MS] [-w TIMEOUT_MS] [-o FILE]
 *       client: opens one new IPv4 connection every INTERVAL_MS (default 10)
 *       for SECONDS, open loop (a slow connection does not delay the next
 *       one), then waits for the ones still open.  Each connection: connect(),
 *       write 1 byte once connected, wait for the server's byte, close().  It
 *       succeeds when the echoed byte arrives within TIMEOUT_MS (default 3000)
 *       of its connect() call; so through a SYN proxy it proves the backend
 *       handshake and the data path, not only the proxy's SYN-ACK.
 *
 * Latencies (per connection, from the connect() call):
 *   connect = until the socket is writable (the SYN-ACK arrived: through a
 *             proxy, the proxy's; includes SYN retransmissions, 1 s, 3 s ...)
 *   echo    = until the server's byte arrived
 * Percentiles are nearest-rank over ALL attempts, a failed attempt counting as
 * infinitely slow, so p99 reads "inf" when more than 1% failed.  At the end:
 *
 *   attempts=N ok=K failed=F success_pct=P conn_p50_ms= conn_p90_ms= conn_p99_ms=
 *   conn_max_ms= echo_p50_ms= echo_p99_ms= timeout= refused= reset= noecho= other= open=
 *
 * (timeout: not connected within TIMEOUT_MS; noecho: connected, but no byte
 * within it; open: socket()/connect() failed at once.)  -o FILE writes one
 * line per attempt: start_ms conn_ms echo_ms status (-1 = never).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define NEVER UINT64_MAX

enum st { ST_CONNECTING, ST_WAIT_ECHO, ST_OK, ST_TIMEOUT, ST_REFUSED, ST_RESET, ST_NOECHO, ST_OTHER, ST_OPEN };
static const char *const st_name[] = {"connecting", "wait_echo", "ok",    "timeout", "refused",
                                      "reset",      "noecho",    "other", "open"};

struct att {
	int fd;
	enum st st;
	uint64_t start, conn, echo; /* absolute ns; conn/echo NEVER until seen */
};

/* ------------------------------------------------------------------ server */
static int server(uint16_t port, double secs, int backlog)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	uint64_t end = secs > 0 ? now_ns() + (uint64_t)(secs * 1e9) : NEVER;
	uint64_t accepted = 0, echoed = 0;
	int one = 1, lfd, ep;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return perror("socket"), 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, backlog) < 0)
		return perror("bind/listen"), 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("ready port %u\n", port);
	fflush(stdout);
	while (!stop && now_ns() < end) {
		int n = epoll_wait(ep, evs, 64, 200), i;

		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				for (;;) {
					int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP};

					if (c < 0)
						break;
					accepted++;
					cev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
						close(c);
				}
			} else {
				char b[16];
				ssize_t r = read(fd, b, sizeof(b));

				if (r < 0 && errno == EAGAIN)
					continue;
				if (r > 0 && write(fd, b, 1) == 1)
					echoed++;
				close(fd); /* also removes it from the epoll set */
			}
		}
	}
	printf("accepted=%" PRIu64 " echoed=%" PRIu64 "\n", accepted, echoed);
	return 0;
}

/* ------------------------------------------------------------------ client */
static void att_open(int ep, struct att *a, const struct sockaddr_in *dst)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = a};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a->start = now_ns();
	a->conn = a->echo = NEVER;
	a->fd = -1;
	a->st = ST_OPEN;
	if (fd < 0)
		return;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return;
	}
	a->fd = fd;
	a->st = ST_CONNECTING;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void att_end(struct att *a, enum st st)
{
	a->st = st;
	close(a->fd);
	a->fd = -1;
}

static enum st errno_st(int e)
{
	if (e == ECONNREFUSED)
		return ST_REFUSED;
	if (e == ECONNRESET || e == EPIPE)
		return ST_RESET;
	if (e == ETIMEDOUT)
		return ST_TIMEOUT;
	return ST_OTHER;
}

static void att_event(int ep, struct att *a, uint32_t events, uint64_t t)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	if (a->st == ST_CONNECTING) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = a};

		getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &e, &elen);
		if (e) {
			att_end(a, errno_st(e));
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		a->conn = t;
		if (write(a->fd, "x", 1) != 1) {
			att_end(a, errno_st(errno));
			return;
		}
		a->st = ST_WAIT_ECHO;
		epoll_ctl(ep, EPOLL_CTL_MOD, a->fd, &ev);
		return;
	}
	if (a->st == ST_WAIT_ECHO) {
		char b[16];
		ssize_t r = read(a->fd, b, sizeof(b));

		if (r > 0) {
			a->echo = t;
			att_end(a, ST_OK);
		} else if (r == 0) {
			att_end(a, ST_NOECHO);
		} else if (errno != EAGAIN) {
			att_end(a, errno_st(errno));
		}
	}
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* nearest-rank percentile of n sorted values, printed in ms ("inf" for NEVER) */
static void pct(char *buf, size_t len, const uint64_t *v, size_t n, double p)
{
	size_t k;

	if (!n) {
		snprintf(buf, len, "-");
		return;
	}
	k = (size_t)((p / 100.0) * (double)n + 0.999999);
	k = k ? k - 1 : 0;
	if (k >= n)
		k = n - 1;
	if (v[k] == NEVER)
		snprintf(buf, len, "inf");
	else
		snprintf(buf, len, "%.3f", (double)v[k] / 1e6);
}

static int client(const char *host, uint16_t port, double secs, double interval_ms, double tmo_ms,
                  const char *out)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct epoll_event evs[256];
	uint64_t interval = (uint64_t)(interval_ms * 1e6), tmo = (uint64_t)(tmo_ms * 1e6);
	uint64_t t0, stop_open, next, last_sweep, cnt[ST_OPEN + 1] = {0};
	size_t max = (size_t)(secs * 1e3 / interval_ms) + 2, n = 0, i, ok;
	struct att *att;
	uint64_t *lc, *le;
	int ep, open_now = 0;
	char p50[32], p90[32], p99[32], pmax[32], e50[32], e99[32];

	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return fprintf(stderr, "legit: bad IPv4 address %s\n", host), 2;
	att = calloc(max, sizeof(*att));
	lc = calloc(max, sizeof(*lc));
	le = calloc(max, sizeof(*le));
	if (!att || !lc || !le)
		return fprintf(stderr, "legit: out of memory\n"), 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	t0 = next = last_sweep = now_ns();
	stop_open = t0 + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t t = now_ns();
		struct timespec to;
		int k;

		while (!stop && t >= next && next < stop_open && n < max) {
			att_open(ep, &att[n], &dst);
			if (att[n].st == ST_CONNECTING)
				open_now++;
			n++;
			next += interval;
		}
		if (t - last_sweep >= 20000000u || stop) {
			last_sweep = t;
			for (i = 0; i < n; i++) {
				struct att *a = &att[i];

				/* (att_open() may have stamped a->start after t) */
				if (a->fd < 0 || (!stop && a->start + tmo > t))
					continue;
				att_end(a, a->st == ST_WAIT_ECHO ? ST_NOECHO : ST_TIMEOUT);
				open_now--;
			}
		}
		if (stop || ((next >= stop_open || n >= max) && open_now == 0))
			break;
		/* sleep until the next open (open loop), at most 20 ms */
		{
			uint64_t d = next > t ? next - t : 0;

			if (next >= stop_open || d > 20000000u)
				d = 20000000u;
			to.tv_sec = (time_t)(d / 1000000000u);
			to.tv_nsec = (long)(d % 1000000000u);
		}
		k = epoll_pwait2(ep, evs, 256, &to, NULL);
		t = now_ns();
		for (int j = 0; j < k; j++) {
			struct att *a = evs[j].data.ptr;

			if (a->fd < 0)
				continue;
			att_event(ep, a, evs[j].events, t);
			if (a->fd < 0)
				open_now--;
		}
	}
	for (i = 0, ok = 0; i < n; i++) {
		struct att *a = &att[i];

		if (a->fd >= 0)
			att_end(a, a->st == ST_WAIT_ECHO ? ST_NOECHO : ST_TIMEOUT);
		cnt[a->st]++;
		/* a success is counted only with its echo within the timeout */
		if (a->st == ST_OK && a->echo - a->start > tmo)
			a->st = ST_NOECHO, cnt[ST_OK]--, cnt[ST_NOECHO]++;
		lc[i] = a->conn == NEVER || (a->st != ST_OK && a->conn - a->start > tmo) ? NEVER : a->conn - a->start;
		le[i] = a->st == ST_OK ? a->echo - a->start : NEVER;
		ok += a->st == ST_OK;
	}
	if (out) {
		FILE *f = fopen(out, "w");

		if (f) {
			for (i = 0; i < n; i++) {
				struct att *a = &att[i];

				fprintf(f, "%.3f %.3f %.3f %s\n", (double)(a->start - t0) / 1e6,
				        a->conn == NEVER ? -1.0 : (double)(a->conn - a->start) / 1e6,
				        a->echo == NEVER ? -1.0 : (double)(a->echo - a->start) / 1e6, st_name[a->st]);
			}
			fclose(f);
		}
	}
	qsort(lc, n, sizeof(*lc), cmp_u64);
	qsort(le, n, sizeof(*le), cmp_u64);
	pct(p50, sizeof(p50), lc, n, 50);
	pct(p90, sizeof(p90), lc, n, 90);
	pct(p99, sizeof(p99), lc, n, 99);
	pct(pmax, sizeof(pmax), lc, n, 100);
	pct(e50, sizeof(e50), le, n, 50);
	pct(e99, sizeof(e99), le, n, 99);
	printf("attempts=%zu ok=%zu failed=%zu success_pct=%.2f conn_p50_ms=%s conn_p90_ms=%s "
	       "conn_p99_ms=%s conn_max_ms=%s echo_p50_ms=%s echo_p99_ms=%s timeout=%" PRIu64
	       " refused=%" PRIu64 " reset=%" PRIu64 " noecho=%" PRIu64 " other=%" PRIu64 " open=%" PRIu64 "\n",
	       n, ok, n - ok, n ? 100.0 * (double)ok / (double)n : 0.0, p50, p90, p99, pmax, e50, e99,
	       cnt[ST_TIMEOUT], cnt[ST_REFUSED], cnt[ST_RESET], cnt[ST_NOECHO], cnt[ST_OTHER], cnt[ST_OPEN]);
	free(att);
	free(lc);
	free(le);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: legit -l PORT [-t SECONDS] [-b BACKLOG]\n"
	                "       legit -c HOST -p PORT -t SECONDS [-i INTERVAL_MS=10] [-w TIMEOUT_MS=3000] [-o FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = NULL, *out = NULL;
	struct sigaction sa;
	int opt, lport = 0, port = 0, backlog = 4096;
	double secs = 0, interval = 10, tmo = 3000;

	while ((opt = getopt(argc, argv, "l:c:p:t:i:w:o:b:")) != -1) {
		switch (opt) {
		case 'l':
			lport = atoi(optarg);
			break;
		case 'c':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'i':
			interval = atof(optarg);
			break;
		case 'w':
			tmo = atof(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'b':
			backlog = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (lport > 0 && lport < 65536)
		return server((uint16_t)lport, secs, backlog > 0 ? backlog : 4096);
	if (!host || port <= 0 || port > 65535 || secs <= 0 || interval < 0.1 || tmo < 1)
		usage();
	return client(host, (uint16_t)port, secs, interval, tmo, out);
}

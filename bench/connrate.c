/* connrate: new TCP connections per second, end to end, for bench/run.sh.
 *
 *   connrate -l PORT [-t SECONDS]                        server
 *   connrate -c HOST -p PORT -t SECONDS [-n PARALLEL] [-g]    client
 *
 * Server: accepts, writes one byte, closes; until SECONDS (default: forever)
 * or SIGINT/SIGTERM.  Listen backlog 4096.
 *
 * Client: keeps PARALLEL (default 64) non-blocking IPv4 connections in flight
 * with one epoll loop.  A connection counts as completed when the server's
 * byte (or its EOF) arrives, so through a SYN proxy it proves the whole path:
 * client handshake, backend handshake and the splice, not only the proxy's
 * SYN-ACK.  It is then closed with an RST (SO_LINGER 0) so the client keeps
 * no TIME_WAIT, and a new one is opened.  A connection that fails (refused,
 * reset, no answer within 3 s) counts as failed.  With -g it first sends
 * "GET / HTTP/1.0" once connected (for a web server, which says nothing
 * before a request) and counts the response's first byte.  At the end it prints
 *
 *   completed=N failed=F secs=S rate=R avg_ms=A max_ms=M refused=. reset=. timeout=. other=. open=.
 *
 * (open: socket() or connect() failed at once, e.g. EADDRNOTAVAIL)
 *
 * (rate = completed / S; A and M: connect() to the server's byte).
 *
 * -w (both sides): the client speaks first: it writes one byte as soon as
 * the connection is up, and the server waits for it (epoll) before it writes
 * its own.  For a proxy whose ACK to the backend
 * advertises a zero window, which only the client's first segment opens.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define MAX_PAR 4096
#define CONN_TIMEOUT_NS 3000000000ull

struct conn {
	int fd;
	bool want_send; /* -g: the request is sent once the socket is writable */
	uint64_t start;
};

static const char http_get[] = "GET / HTTP/1.0\r\n\r\n";
static bool client_first; /* -w: the client sends one byte first, the server waits for it */

static int server(uint16_t port, double secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct epoll_event ev = {.events = EPOLLIN};
	uint64_t end = secs > 0 ? now_ns() + (uint64_t)(secs * 1e9) : UINT64_MAX;
	uint64_t accepted = 0;
	int one = 1, lfd, ep;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return perror("socket"), 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		return perror("bind/listen"), 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("ready port %u\n", port);
	fflush(stdout);
	while (!stop && now_ns() < end) {
		if (epoll_wait(ep, &ev, 1, 200) <= 0)
			continue;
		if (ev.data.fd != lfd) { /* -w: the client's byte (or its end) is in */
			char b;

			if (read(ev.data.fd, &b, 1) < 0 && errno == EAGAIN)
				continue;
			if (write(ev.data.fd, "x", 1) < 0) { /* the client may have gone */
			}
			close(ev.data.fd);
			continue;
		}
		for (;;) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | (client_first ? SOCK_NONBLOCK : 0));
			struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};

			if (c < 0)
				break;
			accepted++;
			if (client_first) {
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				continue;
			}
			if (write(c, "x", 1) < 0) { /* the client may have gone */
			}
			close(c);
		}
	}
	printf("accepted=%" PRIu64 "\n", accepted);
	return 0;
}

/* Opens one connection in slot @c; with @get, it waits for writability to
 * send the request.  Returns 0, or -1 when no socket could be made (counted
 * as a failure by the caller). */
static int conn_open(int ep, struct conn *c, const struct sockaddr_in *dst, bool get)
{
	struct linger lg = {1, 0};
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (get || client_first ? EPOLLOUT : 0u),
				 .data.ptr = c};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	c->fd = -1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->want_send = get || client_first;
	c->start = now_ns();
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* Sends the request on the connected socket of @c and stops waiting for
 * writability.  Returns 0, or -1 when the write failed (the socket's error is
 * then read as for a failed read). */
static int conn_send(int ep, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	const char *msg = client_first ? "x" : http_get;
	ssize_t len = client_first ? 1 : (ssize_t)sizeof(http_get) - 1;

	c->want_send = false;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return write(c->fd, msg, (size_t)len) == len ? 0 : -1;
}

static int client(const char *host, uint16_t port, double secs, int par, bool get)
{
	static struct conn conns[MAX_PAR];
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct epoll_event evs[256];
	uint64_t completed = 0, failed = 0, lat_sum = 0, lat_max = 0, t0, end, last_sweep;
	uint64_t f_refused = 0, f_reset = 0, f_timeout = 0, f_other = 0, f_open = 0;
	double el;
	int ep, i;

	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return fprintf(stderr, "connrate: bad IPv4 address %s\n", host), 2;
	ep = epoll_create1(EPOLL_CLOEXEC);
	t0 = last_sweep = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	for (i = 0; i < par; i++)
		if (conn_open(ep, &conns[i], &dst, get) < 0)
			failed++;
	while (!stop) {
		uint64_t t = now_ns();
		int n;

		if (t >= end)
			break;
		n = epoll_wait(ep, evs, 256, 10);
		t = now_ns();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			char b[16];
			ssize_t r;

			if (c->want_send && !(evs[i].events & (EPOLLERR | EPOLLHUP)) &&
			    conn_send(ep, c) == 0)
				continue;
			r = read(c->fd, b, sizeof(b));

			if (r > 0 || (r == 0 && !(evs[i].events & EPOLLERR))) {
				completed++;
				lat_sum += t - c->start;
				if (t - c->start > lat_max)
					lat_max = t - c->start;
			} else if (r < 0 && errno == EAGAIN) {
				continue;
			} else {
				int e = 0;
				socklen_t elen = sizeof(e);

				if (r < 0)
					e = errno;
				else
					getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen);
				failed++;
				if (e == ECONNREFUSED)
					f_refused++;
				else if (e == ECONNRESET)
					f_reset++;
				else
					f_other++;
			}
			close(c->fd);
			if (conn_open(ep, c, &dst, get) < 0) {
				failed++;
				f_open++;
			}
		}
		if (t - last_sweep > 100000000u) { /* every 100 ms: time out stuck ones */
			/* (conn_open() above may have stamped c->start after t) */
			last_sweep = t;
			for (i = 0; i < par; i++) {
				struct conn *c = &conns[i];

				if (c->fd >= 0 && c->start + CONN_TIMEOUT_NS > t)
					continue;
				if (c->fd >= 0) {
					close(c->fd);
					failed++;
					f_timeout++;
				}
				if (conn_open(ep, c, &dst, get) < 0) {
					failed++;
					f_open++;
				}
			}
		}
	}
	el = (double)(now_ns() - t0) / 1e9;
	for (i = 0; i < par; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	printf("completed=%" PRIu64 " failed=%" PRIu64 " secs=%.3f rate=%.0f avg_ms=%.3f "
	       "max_ms=%.3f refused=%" PRIu64 " reset=%" PRIu64 " timeout=%" PRIu64
	       " other=%" PRIu64 " open=%" PRIu64 "\n",
	       completed, failed, el, (double)completed / el,
	       completed ? (double)lat_sum / (double)completed / 1e6 : 0.0, (double)lat_max / 1e6,
	       f_refused, f_reset, f_timeout, f_other, f_open);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: connrate -l PORT [-t SECONDS] [-w]\n"
			"       connrate -c HOST -p PORT -t SECONDS [-n PARALLEL=64] [-g | -w]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	struct sigaction sa;
	int opt, lport = 0, port = 0, par = 64;
	bool get = false;
	double secs = 0;

	while ((opt = getopt(argc, argv, "l:c:p:t:n:gw")) != -1) {
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
		case 'n':
			par = atoi(optarg);
			break;
		case 'g':
			get = true;
			break;
		case 'w':
			client_first = true;
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
		return server((uint16_t)lport, secs);
	if (!host || port <= 0 || port > 65535 || secs <= 0 || par < 1 || par > MAX_PAR)
		usage();
	return client(host, (uint16_t)port, secs, par, get);
}

/* ct_probe: drives src/io/ct.c against the real kernel, for the netns tests.
 *
 *   ct_probe create    SADDR SPORT DADDR DPORT [offset] [mark]
 *   ct_probe establish SADDR SPORT DADDR DPORT [offset] [mark]
 *   ct_probe delete    SADDR SPORT DADDR DPORT
 *   ct_probe establish-queued SADDR SPORT DADDR DPORT [offset] [mark]
 *   ct_probe events    SECONDS [mark] [mask]
 *
 * The family follows the address syntax.  create makes a SYN_SENT entry
 * (timeout 120 s, wscale 7 both ways, SACK permitted both ways; offset must
 * be 0 or omitted).  events prints "destroy SADDR SPORT DADDR DPORT mark M"
 * for each matching destroy event during SECONDS, then its counters; it
 * prints "ready" once subscribed.  establish-queued sends the establish as
 * the worker does, through an NFQUEUE socket (queue 4242, no ACK asked), and
 * reports the error that comes back there, if any.  Exit status 0 on success; on error the
 * message names the errno (e.g. EEXIST) and the status is 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "syngate/io/ct.h"
#include "syngate/io/nfq.h"

static int usage(void)
{
	fprintf(stderr, "usage: ct_probe create|establish|establish-queued|delete SADDR SPORT DADDR DPORT "
	                "[offset] [mark]\n       ct_probe events SECONDS [mark] [mask]\n");
	return 2;
}

static int fail(const char *what)
{
	int e = errno;

	fprintf(stderr, "ct_probe: %s: %s (%s)\n", what, strerror(e), strerrorname_np(e));
	return 1;
}

/* Parses a number in any base strtoul accepts.  Returns 0 or -1. */
static int parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || *end || end == s || *out > max)
		return -1;
	return 0;
}

/* Parses a sequence offset: -(2^32-1) .. 2^32-1, taken modulo 2^32.
 * Returns 0 or -1. */
static int parse_off(const char *s, int32_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || end == s || v < -(long long)UINT32_MAX || v > (long long)UINT32_MAX)
		return -1;
	*out = (int32_t)(uint32_t)v;
	return 0;
}

/* Fills @a (16 bytes) from @s and returns its family, or 0 if unparsable. */
static uint8_t parse_addr(const char *s, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, a) == 1)
		return AF_INET6;
	return 0;
}

/* Parses SADDR SPORT DADDR DPORT at @argv.  Returns 0 or -1. */
static int parse_tuple(char **argv, struct sg_tuple *t)
{
	unsigned long sport, dport;

	memset(t, 0, sizeof(*t));
	t->family = parse_addr(argv[0], t->saddr);
	if (!t->family || parse_addr(argv[2], t->daddr) != t->family)
		return -1;
	if (parse_ul(argv[1], 65535, &sport) < 0 || parse_ul(argv[3], 65535, &dport) < 0)
		return -1;
	t->sport = (uint16_t)sport;
	t->dport = (uint16_t)dport;
	return 0;
}

static void print_event(void *ctx, const struct sg_tuple *t, uint32_t mark)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	(void)ctx;
	inet_ntop(t->family, t->saddr, s, sizeof(s));
	inet_ntop(t->family, t->daddr, d, sizeof(d));
	printf("destroy %s %u %s %u mark 0x%x\n", s, t->sport, d, t->dport, mark);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int run_events(int argc, char **argv)
{
	unsigned long secs, mark = 0, mask = 0;
	const struct sg_ct_events_stats *st;
	struct sg_ct_events *ev;
	struct pollfd pfd;
	long end;

	if (argc < 1 || parse_ul(argv[0], 3600, &secs) < 0 ||
	    (argc > 1 && parse_ul(argv[1], UINT32_MAX, &mark) < 0) ||
	    (argc > 2 && parse_ul(argv[2], UINT32_MAX, &mask) < 0))
		return usage();
	ev = sg_ct_events_open((uint32_t)mark, (uint32_t)mask);
	if (!ev)
		return fail("events_open");
	printf("ready\n");
	pfd.fd = sg_ct_events_fd(ev);
	pfd.events = POLLIN;
	end = now_ms() + (long)secs * 1000L;
	while (now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - now_ms())) < 0 && errno != EINTR)
			return fail("poll");
		if (sg_ct_events_read(ev, print_event, NULL) < 0)
			return fail("events_read");
	}
	st = sg_ct_events_stats(ev);
	printf("stats events %llu matched %llu enobufs %llu bad %llu\n",
	       (unsigned long long)st->events, (unsigned long long)st->matched,
	       (unsigned long long)st->enobufs, (unsigned long long)st->bad);
	sg_ct_events_close(ev);
	return 0;
}

static void on_err(void *ctx, uint32_t seq, int err)
{
	(void)seq;
	*(int *)ctx = err;
}

static void no_packet(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *p)
{
	(void)ctx;
	sg_nfq_verdict(q, p->id, SG_V_ACCEPT, NULL, 0);
}

/* sg_ct_establish_msg() through sg_nfq_request(): 0, or -1 with errno. */
static int establish_queued(const struct sg_tuple *t, int32_t off, uint32_t mark)
{
	struct sg_nfq_config c = {.queue = 4242};
	char msg[SG_CT_MSG_MAX] __attribute__((aligned(4)));
	struct sg_nfq *q = sg_nfq_open(&c);
	size_t n = sg_ct_establish_msg(msg, 7, t, off, mark, NULL);
	int err = 0;
	long end = now_ms() + 200;

	if (!q || !n || sg_nfq_request(q, msg, n) < 0 || sg_nfq_flush(q) < 0) {
		sg_nfq_close(q);
		return -1;
	}
	sg_nfq_on_request_error(q, on_err, &err);
	while (!err && now_ms() < end)
		sg_nfq_poll(q, false, no_packet, NULL);
	sg_nfq_close(q);
	errno = err;
	return err ? -1 : 0;
}

static int run_request(const char *cmd, int argc, char **argv)
{
	unsigned long mark = 0;
	int32_t off = 0;
	struct sg_ct_new n = {.timeout = 120,
	                      .orig_wscale = 7,
	                      .reply_wscale = 7,
	                      .orig_sack_perm = true,
	                      .reply_sack_perm = true};
	struct sg_ct *ct;
	int ret;

	if (argc < 4 || parse_tuple(argv, &n.orig) < 0 ||
	    (argc > 4 && parse_off(argv[4], &off) < 0) ||
	    (argc > 5 && parse_ul(argv[5], UINT32_MAX, &mark) < 0))
		return usage();
	n.mark = (uint32_t)mark;
	ct = sg_ct_open();
	if (!ct)
		return fail("open");
	if (!strcmp(cmd, "create") && off == 0)
		ret = sg_ct_create(ct, &n);
	else if (!strcmp(cmd, "establish"))
		ret = sg_ct_establish(ct, &n.orig, off, n.mark, NULL);
	else if (!strcmp(cmd, "establish-queued"))
		ret = establish_queued(&n.orig, off, n.mark);
	else if (!strcmp(cmd, "delete"))
		ret = sg_ct_delete(ct, &n.orig);
	else {
		sg_ct_close(ct);
		return usage();
	}
	if (ret < 0) {
		ret = fail(cmd);
		sg_ct_close(ct);
		return ret;
	}
	sg_ct_close(ct);
	printf("%s ok\n", cmd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "events"))
		return run_events(argc - 2, argv + 2);
	return run_request(argv[1], argc - 2, argv + 2);
}

/* nfq_echo: a minimal daemon on src/nfq.c for the network tests.
 *
 *   nfq_echo [-q queue] [-m mark] [-l maxlen] [-b rcvbuf] [-f] [-v] [-d] accept|mark|payload
 *
 * Binds the queue and answers every packet with NF_ACCEPT (mode accept),
 * NF_ACCEPT plus mark -m (mode mark, default 0x5a), or NF_ACCEPT with the
 * packet handed back as a replacement payload (mode payload: exercises the
 * mangle path).  -f sets fail-open; -v prints each packet's metadata; -d
 * answers every packet twice (the kernel must refuse the second: nl_errors).
 * Prints "ready" on stdout once bound, and its counters on SIGINT/SIGTERM:
 * packets, rate over the busy period (first to last packet), receive batches,
 * verdict datagrams and packets per sendmsg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "syngate/nfq.h"

enum echo_mode { ECHO_ACCEPT, ECHO_MARK, ECHO_PAYLOAD };

struct echo {
	enum echo_mode mode;
	bool verbose;
	bool twice;
	uint32_t mark;
	uint64_t max_batch;
	double first, last; /* monotonic seconds of the first and last packet */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void echo_cb(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *p)
{
	struct echo *e = ctx;

	if (e->verbose)
		printf("id %u proto 0x%04x hook %u indev %u mark 0x%x len %zu wire_len %zu\n",
		       p->id, p->hw_protocol, p->hook, p->indev, p->mark, p->len, p->wire_len);
	switch (e->mode) {
	case ECHO_MARK:
		sg_nfq_verdict_mark(q, p->id, SG_V_ACCEPT, NULL, 0, e->mark);
		break;
	case ECHO_PAYLOAD:
		sg_nfq_verdict(q, p->id, SG_V_ACCEPT, p->data, p->len);
		break;
	default:
		sg_nfq_verdict(q, p->id, SG_V_ACCEPT, NULL, 0);
	}
	if (e->twice)
		sg_nfq_verdict(q, p->id, SG_V_DROP, NULL, 0);
}

static void report(const struct echo *e, const struct sg_nfq_stats *s)
{
	double busy = e->last - e->first;

	printf("packets %" PRIu64 " busy %.3f s rate %.0f pkt/s\n", s->packets, busy,
	       busy > 0 ? (double)s->packets / busy : 0.0);
	printf("batches %" PRIu64 " datagrams %" PRIu64 " pkts/batch %.1f max_batch %" PRIu64 "\n",
	       s->batches, s->datagrams, s->batches ? (double)s->packets / (double)s->batches : 0.0,
	       e->max_batch);
	printf("verdicts %" PRIu64 " sends %" PRIu64 " verdicts/sendmsg %.1f\n", s->verdicts,
	       s->sends, s->sends ? (double)s->verdicts / (double)s->sends : 0.0);
	printf("enobufs %" PRIu64 " recv_errors %" PRIu64 " send_errors %" PRIu64
	       " verdicts_lost %" PRIu64 " nl_errors %" PRIu64 " bad_msgs %" PRIu64 "\n",
	       s->enobufs, s->recv_errors, s->send_errors, s->verdicts_lost, s->nl_errors,
	       s->bad_msgs);
	fflush(stdout);
}

static int run(struct sg_nfq *q, struct echo *e)
{
	int n;

	while (!stop) {
		n = sg_nfq_poll(q, true, echo_cb, e);
		if (n < 0) {
			perror("sg_nfq_poll");
			return -1;
		}
		if (n == 0)
			continue;
		e->last = now();
		if (e->first == 0)
			e->first = e->last;
		if ((uint64_t)n > e->max_batch)
			e->max_batch = (uint64_t)n;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: nfq_echo [-q queue] [-m mark] [-l maxlen] [-b rcvbuf] [-f] [-v] [-d] "
	        "accept|mark|payload\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sg_nfq_config c = {.queue = 0, .maxlen = 4096, .rcvbuf = 8 << 20};
	struct echo e = {.mark = 0x5a};
	struct sigaction sa;
	struct sg_nfq *q;
	int opt, rc;

	while ((opt = getopt(argc, argv, "q:m:l:b:fvd")) != -1) {
		switch (opt) {
		case 'q':
			c.queue = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			e.mark = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			c.maxlen = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			c.rcvbuf = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			c.fail_open = true;
			break;
		case 'd':
			e.twice = true;
			break;
		case 'v':
			e.verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (strcmp(argv[optind], "mark") == 0)
		e.mode = ECHO_MARK;
	else if (strcmp(argv[optind], "payload") == 0)
		e.mode = ECHO_PAYLOAD;
	else if (strcmp(argv[optind], "accept") != 0)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the blocking receive returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	q = sg_nfq_open(&c);
	if (!q) {
		fprintf(stderr, "sg_nfq_open(queue %u): %s\n", c.queue, strerror(errno));
		return 1;
	}
	printf("ready queue %u mode %s\n", c.queue, argv[optind]);
	fflush(stdout);
	rc = run(q, &e);
	report(&e, sg_nfq_stats(q));
	sg_nfq_close(q);
	return rc < 0 ? 1 : 0;
}

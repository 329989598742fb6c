/* nfq_null: the NFQUEUE path's ceiling, for bench/run.sh.
 *
 *   nfq_null [-q queue] [-l maxlen] [-b rcvbuf] [-m mark] accept|reflect
 *
 * A single-threaded loop on src/io/nfq.c (the project's NFQUEUE module: batched
 * receive, every verdict of a batch in one sendmsg) that does the least work
 * syngate's rule set allows:
 *
 *   accept   every packet goes back unchanged with NF_REPEAT and mark -m
 *            (default 0x20000000, syngate's reflect mark), so syngate's raw
 *            chain notracks and accepts it: queued SYNs are forwarded to the
 *            backend.  The cost of queueing alone.
 *   reflect  an IPv4 TCP SYN is turned in place into a SYN-ACK (addresses and
 *            ports swapped, ack = ISN + 1, a hashed seq, MSS option, both
 *            checksums) and returned the same way (NF_REPEAT + mark), exactly as
 *            syngate returns its cookie SYN-ACKs; anything else as in accept.
 *            syngate's answer minus the option parsing, the cookie and the
 *            proxy bookkeeping.
 *
 * Run it under syngate's own rules (`syngate rules install`), bound to the
 * queue syngate would use.  Prints "ready" once bound and its counters on
 * SIGINT/SIGTERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syngate/io/nfq.h"
#include "syngate/core/packet.h"

#define SYNACK_LEN 44 /* IPv4 20 + TCP 20 + MSS option 4 */

struct null {
	bool reflect;
	uint32_t mark;
	uint64_t reflected;
	uint8_t out[SYNACK_LEN];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Builds the SYN-ACK answering IPv4 SYN @in (@len bytes) into @out.
 * Returns false when @in is not a well-formed IPv4 TCP SYN. */
static bool synack(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t ihl;
	uint32_t seq, ack, isn;
	uint16_t c;

	if (len < 20 || (in[0] >> 4) != 4 || in[9] != 6)
		return false;
	ihl = (size_t)(in[0] & 0xf) * 4;
	if (ihl < 20 || len < ihl + 20 || (in[ihl + 13] & 0x17) != 0x02)
		return false;
	memset(out, 0, SYNACK_LEN);
	out[0] = 0x45;
	out[3] = SYNACK_LEN;
	out[6] = 0x40; /* DF */
	out[8] = 64;
	out[9] = 6;
	memcpy(out + 12, in + 16, 4); /* src = the SYN's dst */
	memcpy(out + 16, in + 12, 4);
	c = sg_csum_ipv4(out, 20);
	memcpy(out + 10, &c, 2);

	memcpy(out + 20, in + ihl + 2, 2); /* sport = the SYN's dport */
	memcpy(out + 22, in + ihl, 2);
	memcpy(&isn, in + ihl + 4, 4);
	ack = htonl(ntohl(isn) + 1);
	seq = isn * 2654435761u ^ 0x5eed1234u;
	memcpy(out + 24, &seq, 4);
	memcpy(out + 28, &ack, 4);
	out[32] = 6 << 4;
	out[33] = 0x12; /* SYN|ACK */
	out[34] = 0xff;
	out[35] = 0xff;
	out[40] = 2; /* MSS 1460 */
	out[41] = 4;
	out[42] = 1460 >> 8;
	out[43] = 1460 & 0xff;
	c = sg_csum_tcp(AF_INET, out + 12, out + 16, out + 20, 24);
	memcpy(out + 36, &c, 2);
	return true;
}

static void null_cb(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *p)
{
	struct null *n = ctx;

	if (n->reflect && p->data && synack(p->data, p->len, n->out)) {
		n->reflected++;
		sg_nfq_verdict_mark(q, p->id, SG_V_REPEAT, n->out, SYNACK_LEN, n->mark);
		return;
	}
	sg_nfq_verdict_mark(q, p->id, SG_V_REPEAT, NULL, 0, n->mark);
}

static void usage(void)
{
	fprintf(stderr, "usage: nfq_null [-q queue] [-l maxlen] [-b rcvbuf] [-m mark] accept|reflect\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sg_nfq_config c = {.queue = 0, .maxlen = 65536, .rcvbuf = 64 << 20};
	struct null n = {.mark = 0x20000000};
	const struct sg_nfq_stats *s;
	struct sigaction sa;
	struct sg_nfq *q;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "q:l:b:m:")) != -1) {
		switch (opt) {
		case 'q':
			c.queue = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			c.maxlen = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			c.rcvbuf = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			n.mark = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (strcmp(argv[optind], "reflect") == 0)
		n.reflect = true;
	else if (strcmp(argv[optind], "accept") != 0)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the blocking receive returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	q = sg_nfq_open(&c);
	if (!q) {
		fprintf(stderr, "nfq_null: queue %u: %s\n", c.queue, strerror(errno));
		return 1;
	}
	printf("ready queue %u mode %s\n", c.queue, argv[optind]);
	fflush(stdout);
	while (!stop)
		if (sg_nfq_poll(q, true, null_cb, &n) < 0 && errno != EINTR) {
			perror("nfq_null: sg_nfq_poll");
			rc = 1;
			break;
		}
	s = sg_nfq_stats(q);
	printf("packets=%" PRIu64 " reflected=%" PRIu64 " batches=%" PRIu64 " sends=%" PRIu64
	       " enobufs=%" PRIu64 " nl_errors=%" PRIu64 " verdicts_lost=%" PRIu64 "\n",
	       s->packets, n.reflected, s->batches, s->sends, s->enobufs, s->nl_errors,
	       s->verdicts_lost);
	sg_nfq_close(q);
	return rc;
}

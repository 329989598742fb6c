/* nfq_delay: a fixed one-way delay for the packets of one NFQUEUE, for
 * bench/ts_probe.sh on kernels without sch_netem.
 *
 *   nfq_delay -q QUEUE -d MILLISECONDS
 *
 * Binds QUEUE in metadata-only copy mode and gives each packet its NF_ACCEPT
 * verdict MILLISECONDS after it arrived (monotonic clock), in arrival order;
 * the kernel holds the packet meanwhile.  Up to 1 << 20 packets in flight
 * (queue-maxlen is set to that).  Loss is the rules' business
 * (`-m statistic --mode random --probability P -j DROP`).  Put the queue rule
 * where no local socket owns the packets (a forwarding hop): a sender's own
 * packets held in the queue count against its TCP small-queues budget.
 * Prints "ready" once bound; on SIGINT/SIGTERM prints its counters and exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "bench_util.h"

#define RING (1u << 20)

struct held {
	uint32_t id;
	uint64_t due_ns;
};

static struct held ring[RING];
static uint32_t head, tail; /* ring[tail..head) wait for their verdict */
static uint64_t received, released, overflow;

/* Sends one config message and checks the kernel's acknowledgement. */
static int config(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[8192];
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 ? -1 : 0;
}

static int bind_queue(struct mnl_socket *nl, uint16_t queue)
{
	char buf[8192];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nlh->nlmsg_seq = 1;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	if (config(nl, nlh) < 0)
		return -1;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nlh->nlmsg_seq = 2;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, RING);
	return config(nl, nlh);
}

/* mnl_cb_t: remembers the id of one queued packet. */
static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a[NFQA_MAX + 1] = {0};
	const struct nfqnl_msg_packet_hdr *ph;
	uint64_t due = *(const uint64_t *)data;

	if (nfq_nlmsg_parse(nlh, a) < 0 || !a[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
	received++;
	if (head - tail == RING) {
		overflow++; /* cannot happen with queue-maxlen == RING */
		return MNL_CB_OK;
	}
	ring[head % RING] = (struct held){ntohl(ph->packet_id), due};
	head++;
	return MNL_CB_OK;
}

/* Accepts every packet whose time has come, in batches of one datagram. */
static int release(struct mnl_socket *nl, uint16_t queue, uint64_t now)
{
	static char buf[1 << 16];
	size_t len = 0;

	while (tail != head && ring[tail % RING].due_ns <= now) {
		struct nlmsghdr *nlh = nfq_nlmsg_put(buf + len, NFQNL_MSG_VERDICT, queue);

		nfq_nlmsg_verdict_put(nlh, (int)ring[tail % RING].id, NF_ACCEPT);
		len += nlh->nlmsg_len;
		tail++;
		released++;
		if (len > sizeof(buf) - 256) {
			if (mnl_socket_sendto(nl, buf, len) < 0)
				return -1;
			len = 0;
		}
	}
	if (len && mnl_socket_sendto(nl, buf, len) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 17];
	struct mnl_socket *nl;
	struct sigaction sa;
	int opt, queue = -1, one = 1;
	uint64_t delay_ns = 0;

	while ((opt = getopt(argc, argv, "q:d:")) != -1) {
		if (opt == 'q')
			queue = atoi(optarg);
		else if (opt == 'd')
			delay_ns = (uint64_t)(atof(optarg) * 1e6);
		else
			return fprintf(stderr, "usage: nfq_delay -q QUEUE -d MILLISECONDS\n"), 2;
	}
	if (queue < 0 || queue > 65535)
		return fprintf(stderr, "usage: nfq_delay -q QUEUE -d MILLISECONDS\n"), 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return perror("netlink"), 1;
	mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (bind_queue(nl, (uint16_t)queue) < 0)
		return perror("bind queue"), 1;
	printf("ready queue %d delay %.1f ms\n", queue, (double)delay_ns / 1e6);
	fflush(stdout);
	while (!stop) {
		struct pollfd p = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
		uint64_t t = now_ns();
		int wait_ms = 100;

		if (tail != head)
			wait_ms = ring[tail % RING].due_ns <= t
					  ? 0
					  : (int)((ring[tail % RING].due_ns - t) / 1000000u);
		if (poll(&p, 1, wait_ms) > 0) {
			ssize_t n = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
			uint64_t due = now_ns() + delay_ns;

			if (n > 0)
				mnl_cb_run(buf, (size_t)n, 0, 0, on_packet, &due);
		}
		if (release(nl, (uint16_t)queue, now_ns()) < 0 && errno != ENOBUFS)
			perror("verdict");
	}
	printf("received=%" PRIu64 " released=%" PRIu64 " overflow=%" PRIu64 "\n", received,
	       released, overflow);
	mnl_socket_close(nl);
	return 0;
}

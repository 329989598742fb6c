/* syngate NFQUEUE I/O over libmnl and libnetfilter_queue's mnl API.
 *
 * One handle per queue.  sg_nfq_poll() receives a batch of packets (several
 * datagrams per system call), hands each to a callback, and sends every
 * verdict of the batch in a single sendmsg().  ENOBUFS (the kernel dropped
 * packets because the socket buffer was full) is counted, never fatal.
 */
#ifndef SYNGATE_NFQ_H
#define SYNGATE_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_nfq;

struct sg_nfq_config {
	uint16_t queue;	  /* queue number */
	uint32_t maxlen;  /* kernel queue length (packets) */
	size_t rcvbuf;	  /* socket receive buffer (bytes, forced) */
	bool fail_open;	  /* accept instead of drop when the queue is full */
};

/* A received packet.  @data stays valid until the callback returns. */
struct sg_nfq_pkt {
	uint32_t id;
	uint16_t hw_protocol; /* ETH_P_IP / ETH_P_IPV6, host order */
	uint8_t hook;
	uint32_t mark;
	uint32_t indev;	      /* ifindex, 0 if none */
	const uint8_t *data;
	size_t len;
};

enum sg_verdict { SG_V_DROP = 0, SG_V_ACCEPT = 1 };

struct sg_nfq_stats {
	uint64_t packets;
	uint64_t batches;
	uint64_t verdicts;
	uint64_t enobufs;
	uint64_t recv_errors;
};

/* Called once per packet.  It must call sg_nfq_verdict() exactly once for
 * pkt->id before it returns. */
typedef void (*sg_nfq_cb)(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *pkt);

/* Binds queue @c->queue.  Returns NULL with errno set (EPERM without
 * privilege, EBUSY if another process holds the queue). */
struct sg_nfq *sg_nfq_open(const struct sg_nfq_config *c);
void sg_nfq_close(struct sg_nfq *q);
int sg_nfq_fd(const struct sg_nfq *q);

/* Receives what is waiting (without blocking after the first datagram when
 * @block is true, never when false), runs @cb on each packet, then flushes
 * the verdicts.  Returns the number of packets handled, or -1 with errno set
 * on a fatal socket error (EAGAIN/ENOBUFS are not fatal and return 0). */
int sg_nfq_poll(struct sg_nfq *q, bool block, sg_nfq_cb cb, void *ctx);

/* Queues a verdict for @id, replacing the packet by @data/@len when @data is
 * not NULL.  The batch is sent by sg_nfq_poll() (or sg_nfq_flush()).
 * Returns 0, or -1 if the batch could not be sent. */
int sg_nfq_verdict(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
		   size_t len);
int sg_nfq_flush(struct sg_nfq *q);

const struct sg_nfq_stats *sg_nfq_stats(const struct sg_nfq *q);

#endif

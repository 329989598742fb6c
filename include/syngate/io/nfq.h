/* syngate NFQUEUE I/O over libmnl and libnetfilter_queue's mnl API.
 *
 * One handle per queue.  sg_nfq_poll() receives a batch of packets (several
 * datagrams per system call), hands each to a callback, and sends every
 * verdict of the batch in a single sendmsg().  ENOBUFS (the kernel dropped
 * packets because the socket buffer was full) is counted, never fatal.
 *
 * Copy mode is always the full packet (range 0xffff) and GSO is left off, so
 * the kernel segments large packets before queueing them: every packet seen
 * is a real, complete IP packet (at most 0xffff bytes; longer ones arrive
 * truncated, see sg_nfq_pkt.wire_len).
 *
 * Memory: everything is preallocated by sg_nfq_open() (about 4.5 MB for the
 * receive batch, 128 KiB for the verdict batch); nothing is allocated per
 * packet.  A handle is not thread-safe: use one handle per thread and queue.
 */
#ifndef SYNGATE_NFQ_H
#define SYNGATE_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/types.h"

struct sg_nfq;

struct sg_nfq_config {
	uint16_t queue;  /* queue number */
	uint32_t maxlen; /* kernel queue length (packets); 0 keeps the kernel default (1024) */
	size_t rcvbuf;   /* socket receive buffer (bytes, forced); 0 keeps the default.
	                  * Measured: one queued SYN takes ~835 bytes of it and the
	                  * kernel doubles the value, so maxlen 65536 needs ~28 MB. */
	bool fail_open;  /* accept instead of drop when the queue is full */
};

/* A received packet.  @data stays valid until the callback returns. */
struct sg_nfq_pkt {
	uint32_t id;
	uint16_t hw_protocol; /* ETH_P_IP / ETH_P_IPV6, host order */
	uint8_t hook;         /* NF_INET_PRE_ROUTING, ... */
	uint32_t mark;
	uint32_t indev;      /* ifindex, 0 if none */
	const uint8_t *data; /* the IP packet; NULL when the kernel sent none */
	size_t len;          /* bytes at @data, may be 0: parse before trusting */
	size_t wire_len;     /* real packet length (> @len when truncated) */
};

struct sg_nfq_stats {
	uint64_t packets;       /* packets handed to the callback */
	uint64_t batches;       /* receive calls that returned at least one datagram */
	uint64_t verdicts;      /* verdicts queued into a batch */
	uint64_t enobufs;       /* receive overruns (kernel dropped packets for us) */
	uint64_t recv_errors;   /* fatal receive errors */
	uint64_t datagrams;     /* datagrams received */
	uint64_t sends;         /* verdict datagrams sent (one sendmsg each) */
	uint64_t send_errors;   /* failed verdict sendmsg calls */
	uint64_t verdicts_lost; /* verdicts in batches that could not be sent */
	uint64_t nl_errors;     /* NLMSG_ERROR from the kernel (e.g. verdict for an unknown id) */
	uint64_t bad_msgs;      /* truncated, malformed, foreign or unexpected messages */
};

/* Called once per packet.  It must call sg_nfq_verdict() (or
 * sg_nfq_verdict_mark()) exactly once for pkt->id before it returns:
 * a packet without a verdict stays in the kernel queue until the queue is
 * unbound. */
typedef void (*sg_nfq_cb)(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *pkt);

/* Binds queue @c->queue (kernel acknowledgements are checked).  Returns NULL
 * with errno set: EPERM without CAP_NET_ADMIN, EBUSY if another socket holds
 * the queue (the kernel itself answers EPERM there; sg_nfq_open() tells the
 * two apart through /proc/net/netfilter/nfnetlink_queue), ENOMEM.
 * A receive buffer that cannot be forced (no CAP_NET_ADMIN) falls back to
 * SO_RCVBUF, capped by net.core.rmem_max; that is not an error. */
struct sg_nfq *sg_nfq_open(const struct sg_nfq_config *c);
/* Closes the socket, which unbinds the queue: the kernel drops the packets
 * still waiting for a verdict.  Frees @q.  NULL is allowed. */
void sg_nfq_close(struct sg_nfq *q);
/* For poll()/epoll.  The descriptor is left in blocking mode: sg_nfq_poll()
 * chooses per call (MSG_DONTWAIT / MSG_WAITFORONE).  Do not set O_NONBLOCK on
 * it, or @block in sg_nfq_poll() stops blocking. */
int sg_nfq_fd(const struct sg_nfq *q);

/* Receives what is waiting (without blocking after the first datagram when
 * @block is true, never when false), runs @cb on each packet, then flushes
 * the verdicts.  Returns the number of packets handled, or -1 with errno set
 * on a fatal socket error or when the verdicts could not be sent
 * (EAGAIN/EINTR/ENOBUFS are not fatal and return 0). */
int sg_nfq_poll(struct sg_nfq *q, bool block, sg_nfq_cb cb, void *ctx);

/* Queues a verdict for @id, replacing the packet by @data/@len when @data is
 * not NULL (@len at most SG_NFQ_MAX_PAYLOAD).  When the batch buffer is full
 * it is sent first.  The batch is sent by sg_nfq_poll() (or sg_nfq_flush()).
 * Returns 0, or -1 with errno set: EINVAL (bad verdict), EMSGSIZE (@len too
 * large), or the error of the send that made room. */
int sg_nfq_verdict(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
                   size_t len);
/* As sg_nfq_verdict(), and sets the packet's mark to @mark. */
int sg_nfq_verdict_mark(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
                        size_t len, uint32_t mark);
/* Sends every queued verdict in one datagram.  Returns 0 (also when nothing
 * was queued), or -1 with errno set; the batch is discarded either way
 * (counted in verdicts_lost on failure). */
int sg_nfq_flush(struct sg_nfq *q);

/* Appends the netlink request @nlh of another nfnetlink subsystem (a
 * ctnetlink update that must take effect before the next verdict: the
 * kernel handles a datagram's messages one after the other, each to its
 * end) to the batch, flushing first when it does not fit.  Build it without
 * NLM_F_ACK: success then has no answer, and an error comes back through
 * the receive path to the callback of sg_nfq_on_request_error(), as does a
 * request that could not be sent.  Returns 0, or -1 with errno set (EMSGSIZE
 * for a request larger than the batch, or the error of the send that made
 * room). */
int sg_nfq_request(struct sg_nfq *q, const void *nlh, size_t len);
/* Called with a request's sequence number and the kernel's (or the send's)
 * errno when sg_nfq_request()'s request failed. */
typedef void (*sg_nfq_err_cb)(void *ctx, uint32_t seq, int err);
void sg_nfq_on_request_error(struct sg_nfq *q, sg_nfq_err_cb cb, void *ctx);

const struct sg_nfq_stats *sg_nfq_stats(const struct sg_nfq *q);

/* Largest replacement payload: a netlink attribute length is 16 bits. */
/* Datagrams (packets) one sg_nfq_poll() receives at most.  The packets'
 * data stay valid until the next sg_nfq_poll(), so a caller may hold them
 * and give their verdicts after the call, then sg_nfq_flush(). */
#define SG_NFQ_RX_BATCH 64

#define SG_NFQ_MAX_PAYLOAD (0xffff - 4)

#endif

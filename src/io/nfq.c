/* syngate NFQUEUE I/O: see include/syngate/io/nfq.h for the contract.
 *
 * Receive: one recvmmsg() takes up to SG_NFQ_RX_BATCH datagrams into
 * preallocated buffers.  The kernel sends one packet per datagram, but a
 * datagram may also hold netlink errors (answers to our verdicts), so each one
 * is walked message by message, every length checked against what was
 * received.
 *
 * Send: verdicts are appended to one buffer as complete netlink messages and
 * leave in a single sendto(); the kernel (netlink_rcv_skb) processes every
 * message of the datagram and answers errors one by one, which come back
 * through the receive path and are counted in nl_errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "syngate/io/kstats.h"
#include "syngate/io/nfq.h"
#include "syngate/io/nl.h"

/* Datagrams per recvmmsg(). */
/* One datagram: the payload attribute (at most 0xffff bytes) plus the other
 * attributes (packet header, mark, interfaces, timestamp, hardware address:
 * about 200 bytes), rounded up generously so MSG_TRUNC never happens.  A
 * multiple of 8, so every slot of rx_buf starts aligned for struct nlmsghdr. */
#define SG_NFQ_RX_SIZE (0x10000 + 4096)
/* Verdict batch.  Must hold the largest single verdict (a replaced payload
 * of SG_NFQ_MAX_PAYLOAD bytes, ~64 KiB) and stay below the socket's send
 * buffer: netlink refuses a datagram larger than sk_sndbuf - 32 with
 * EMSGSIZE, so sg_nfq_open() raises SO_SNDBUF to twice this. */
#define SG_NFQ_TX_SIZE (128 * 1024)

/* Bytes of a verdict message before its optional attributes. */
#define SG_NFQ_VERDICT_BASE                                                                        \
	(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) + MNL_ATTR_HDRLEN +                 \
	 MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr)))

struct sg_nfq {
	struct mnl_socket *nl;
	uint16_t queue;
	uint32_t cfg_seq; /* sequence of the config request awaiting its ack */
	int cfg_err;      /* its answer: 1 while pending, then 0 or -errno */
	struct sg_nfq_stats stats;

	struct mmsghdr rx_msgs[SG_NFQ_RX_BATCH];
	struct iovec rx_iov[SG_NFQ_RX_BATCH];
	struct sockaddr_nl rx_from[SG_NFQ_RX_BATCH];
	uint8_t *rx_buf; /* SG_NFQ_RX_BATCH * SG_NFQ_RX_SIZE */

	sg_nfq_err_cb err_cb; /* failed sg_nfq_request() requests */
	void *err_ctx;

	size_t tx_len;     /* bytes queued in tx_buf */
	uint64_t tx_count; /* verdicts queued in tx_buf */
	uint8_t *tx_buf;   /* SG_NFQ_TX_SIZE */
};

/* ---- socket options --------------------------------------------------- */

/* Sets a buffer size with the privileged *FORCE option (ignores
 * net.core.{r,w}mem_max), falling back to the plain one.  Returns 0 or -1. */
static int set_bufsize(int fd, int force_opt, int opt, size_t bytes)
{
	int v = bytes > (size_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)bytes;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* Receive buffer, send buffer for the verdict batch, and ENOBUFS reporting
 * kept on (NETLINK_NO_ENOBUFS off) so overruns are counted.  Returns 0 or -1. */
static int nfq_sockopts(struct sg_nfq *q, size_t rcvbuf)
{
	int fd = mnl_socket_get_fd(q->nl);
	int off = 0;

	if (rcvbuf && set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf) < 0)
		return -1;
	if (set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, 2 * SG_NFQ_TX_SIZE) < 0)
		return -1;
	return mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &off, sizeof(off));
}

/* ---- receive ---------------------------------------------------------- */

/* Receives up to SG_NFQ_RX_BATCH datagrams.  Returns their number, 0 when
 * there was nothing (EAGAIN), on a signal (EINTR) or on an overrun (ENOBUFS,
 * counted), or -1 with errno set. */
static int rx_batch(struct sg_nfq *q, bool block)
{
	int flags = block ? MSG_WAITFORONE : MSG_DONTWAIT;
	int i, n;

	for (i = 0; i < SG_NFQ_RX_BATCH; i++)
		q->rx_msgs[i].msg_hdr.msg_namelen = sizeof(q->rx_from[i]);
	n = recvmmsg(mnl_socket_get_fd(q->nl), q->rx_msgs, SG_NFQ_RX_BATCH, flags, NULL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (errno == ENOBUFS) {
		q->stats.enobufs++;
		return 0;
	}
	q->stats.recv_errors++;
	return -1;
}

/* Whether the netlink message header @nlh is one of the queue's own
 * (a verdict or config), not an sg_nfq_request() of another subsystem. */
static bool queue_msg(const struct nlmsghdr *nlh)
{
	return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_QUEUE;
}

/* NLMSG_ERROR: the answer to our config request, a verdict the kernel
 * refused (ENOENT: unknown id, e.g. answered twice), or a failed
 * sg_nfq_request() (the header of the request comes back with the error). */
static void rx_error(struct sg_nfq *q, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		q->stats.bad_msgs++;
		return;
	}
	if (q->cfg_seq && nlh->nlmsg_seq == q->cfg_seq) {
		q->cfg_err = e->error;
		q->cfg_seq = 0;
		return;
	}
	if (!e->error)
		return;
	q->stats.nl_errors++;
	if (!queue_msg(&e->msg) && q->err_cb)
		q->err_cb(q->err_ctx, e->msg.nlmsg_seq, -e->error);
}

/* Fills @p from a parsed NFQNL_MSG_PACKET.  The attributes' lengths were
 * validated by nfq_nlmsg_parse() (packet header, u32s). */
static void pkt_fill(struct sg_nfq_pkt *p, struct nlattr *const *a)
{
	const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(a[NFQA_PACKET_HDR]);

	memset(p, 0, sizeof(*p));
	p->id = ntohl(ph->packet_id);
	p->hw_protocol = ntohs(ph->hw_protocol);
	p->hook = ph->hook;
	if (a[NFQA_MARK])
		p->mark = ntohl(mnl_attr_get_u32(a[NFQA_MARK]));
	if (a[NFQA_IFINDEX_INDEV])
		p->indev = ntohl(mnl_attr_get_u32(a[NFQA_IFINDEX_INDEV]));
	if (a[NFQA_PAYLOAD]) {
		p->data = mnl_attr_get_payload(a[NFQA_PAYLOAD]);
		p->len = mnl_attr_get_payload_len(a[NFQA_PAYLOAD]);
	}
	p->wire_len = p->len;
	if (a[NFQA_CAP_LEN])
		p->wire_len = ntohl(mnl_attr_get_u32(a[NFQA_CAP_LEN]));
}

/* NFQNL_MSG_PACKET: hands the packet to @cb.  A message without a valid
 * packet header carries no id we could answer, and one whose attributes
 * run past its length could hand on bytes it does not hold: both are only
 * counted.
 * Returns 1 if @cb ran, else 0. */
static int rx_packet(struct sg_nfq *q, const struct nlmsghdr *nlh, sg_nfq_cb cb, void *ctx)
{
	struct nlattr *a[NFQA_MAX + 1] = {0};
	struct sg_nfq_pkt p;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)) ||
	    !sg_nlmsg_attrs_ok(nlh, sizeof(struct nfgenmsg)) || nfq_nlmsg_parse(nlh, a) < 0 ||
	    !a[NFQA_PACKET_HDR]) {
		q->stats.bad_msgs++;
		return 0;
	}
	pkt_fill(&p, a);
	q->stats.packets++;
	cb(ctx, q, &p);
	return 1;
}

static int rx_msg(struct sg_nfq *q, const struct nlmsghdr *nlh, sg_nfq_cb cb, void *ctx)
{
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		rx_error(q, nlh);
		return 0;
	case NLMSG_NOOP:
	case NLMSG_DONE:
		return 0;
	case (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
		return rx_packet(q, nlh, cb, ctx);
	}
	q->stats.bad_msgs++;
	return 0;
}

/* Walks the netlink messages of one datagram from the kernel, @buf/@len
 * (@buf aligned for struct nlmsghdr).  Returns the number of packets handed
 * to @cb.  The receive path apart from the socket (tests/fuzz/fuzz_nfq.c). */
static int rx_walk(struct sg_nfq *q, const void *buf, int len, sg_nfq_cb cb, void *ctx)
{
	const struct nlmsghdr *nlh = buf;
	int n = 0;

	while (sg_nlmsg_ok(nlh, len)) {
		n += rx_msg(q, nlh, cb, ctx);
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	/* The kernel does not pad the last message (its payload attribute
	 * ends the datagram), so len may end slightly below 0; above 0 is
	 * trailing garbage. */
	if (len > 0)
		q->stats.bad_msgs++;
	return n;
}

/* Walks the netlink messages of received datagram @i.  Datagrams not sent
 * by the kernel (any local process may unicast to our port id) or truncated
 * are dropped.  Returns the number of packets handed to @cb. */
static int rx_datagram(struct sg_nfq *q, int i, sg_nfq_cb cb, void *ctx)
{
	const struct mmsghdr *m = &q->rx_msgs[i];

	q->stats.datagrams++;
	if ((m->msg_hdr.msg_flags & MSG_TRUNC) || q->rx_from[i].nl_pid != 0) {
		q->stats.bad_msgs++;
		return 0;
	}
	return rx_walk(q, q->rx_iov[i].iov_base, (int)m->msg_len, cb, ctx);
}

int sg_nfq_poll(struct sg_nfq *q, bool block, sg_nfq_cb cb, void *ctx)
{
	int i, n, handled = 0;

	n = rx_batch(q, block);
	if (n <= 0)
		return n;
	q->stats.batches++;
	for (i = 0; i < n; i++)
		handled += rx_datagram(q, i, cb, ctx);
	/* A verdict batch that cannot be sent is counted (send_errors,
	 * verdicts_lost) and not fatal: the kernel drops those packets after
	 * their senders retransmit, and the daemon keeps answering new ones. */
	sg_nfq_flush(q);
	return handled;
}

/* ---- verdicts --------------------------------------------------------- */

static bool verdict_valid(enum sg_verdict v)
{
	return v == SG_V_DROP || v == SG_V_ACCEPT || v == SG_V_REPEAT;
}

/* Size of the verdict message, all attributes aligned. */
static size_t verdict_size(const uint8_t *data, size_t len, bool has_mark)
{
	size_t n = SG_NFQ_VERDICT_BASE;

	if (has_mark)
		n += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t));
	if (data)
		n += MNL_ALIGN(MNL_ATTR_HDRLEN + len);
	return n;
}

/* Appends one verdict message, flushing first if it does not fit.
 * Returns 0 or -1 with errno set. */
static int verdict_put(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
                       size_t len, bool has_mark, uint32_t mark)
{
	struct nlmsghdr *nlh;
	size_t need;

	if (!verdict_valid(v) || (data && len == 0)) {
		errno = EINVAL;
		return -1;
	}
	if (data && len > SG_NFQ_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	need = verdict_size(data, len, has_mark);
	if (q->tx_len + need > SG_NFQ_TX_SIZE && sg_nfq_flush(q) < 0)
		return -1;
	nlh = nfq_nlmsg_put((char *)q->tx_buf + q->tx_len, NFQNL_MSG_VERDICT, q->queue);
	nlh->nlmsg_seq = id; /* lets an error answer be matched to its packet */
	nfq_nlmsg_verdict_put(nlh, (int)id, (int)v);
	if (has_mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (data)
		nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
	q->tx_len += nlh->nlmsg_len;
	q->tx_count++;
	q->stats.verdicts++;
	return 0;
}

int sg_nfq_verdict(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
                   size_t len)
{
	return verdict_put(q, id, v, data, len, false, 0);
}

int sg_nfq_verdict_mark(struct sg_nfq *q, uint32_t id, enum sg_verdict v, const uint8_t *data,
                        size_t len, uint32_t mark)
{
	return verdict_put(q, id, v, data, len, true, mark);
}

int sg_nfq_request(struct sg_nfq *q, const void *nlh, size_t len)
{
	size_t need = MNL_ALIGN(len);

	if (len < sizeof(struct nlmsghdr) || need > SG_NFQ_TX_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	if (q->tx_len + need > SG_NFQ_TX_SIZE && sg_nfq_flush(q) < 0)
		return -1;
	memcpy(q->tx_buf + q->tx_len, nlh, len);
	memset(q->tx_buf + q->tx_len + len, 0, need - len);
	q->tx_len += need;
	return 0;
}

void sg_nfq_on_request_error(struct sg_nfq *q, sg_nfq_err_cb cb, void *ctx)
{
	q->err_cb = cb;
	q->err_ctx = ctx;
}

/* Sends the verdicts at @buf/@len one netlink message at a time, each tried
 * twice: the fallback when the batch's sendmsg failed, so that one bad or
 * unlucky message does not leave the whole batch's packets holding queue
 * slots until the queue is unbound.  Returns the messages lost. */
static uint32_t flush_one_by_one(struct sg_nfq *q, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	uint32_t lost = 0;

	while (mnl_nlmsg_ok(nlh, left)) {
		if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0 &&
		    mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
			lost++;
			if (!queue_msg(nlh) && q->err_cb)
				q->err_cb(q->err_ctx, nlh->nlmsg_seq, errno);
		} else {
			q->stats.sends++;
		}
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return lost;
}

/* A failed batch is retried (EINTR), then sent message by message; only the
 * verdicts that still fail are counted lost. */
int sg_nfq_flush(struct sg_nfq *q)
{
	uint32_t lost = 0;
	ssize_t n;

	if (q->tx_len == 0)
		return 0;
	do
		n = mnl_socket_sendto(q->nl, q->tx_buf, q->tx_len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		q->stats.send_errors++;
		lost = flush_one_by_one(q, q->tx_buf, q->tx_len);
		q->stats.verdicts_lost += lost;
	} else {
		q->stats.sends++;
	}
	q->tx_len = 0;
	q->tx_count = 0;
	return lost ? -1 : 0;
}

/* ---- open / close ------------------------------------------------------ */

/* Packets the kernel queues to us before the config ack has been read (a
 * window of microseconds after the bind) are sent back through the hook
 * with NF_REPEAT: they come again, under the final configuration. */
static void repeat_cb(void *ctx, struct sg_nfq *q, const struct sg_nfq_pkt *p)
{
	(void)ctx;
	sg_nfq_verdict(q, p->id, SG_V_REPEAT, NULL, 0);
}

/* Sends one config message: bind, copy mode, queue length and flags, so the
 * kernel applies them together (nfqnl_recv_config handles the command
 * first).  Asks for an ack.  Returns 0 or -1 with errno set. */
static int cfg_request(struct sg_nfq *q, const struct sg_nfq_config *c)
{
	char buf[256] __attribute__((aligned(4)));
	uint32_t flags = c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0;
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = q->cfg_seq = 1;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	if (c->maxlen)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, c->maxlen);
	/* GSO stays off (in the mask, not in the flags): full packets only. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
	q->cfg_err = 1;
	return mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

/* Reads until the config ack.  The kernel queued it during sendto(), so it
 * is already waiting, unless an overrun lost it (ENOBUFS).  Returns 0 or -1
 * with errno set to the kernel's answer. */
static int cfg_wait(struct sg_nfq *q)
{
	uint64_t seen;

	while (q->cfg_err == 1) {
		seen = q->stats.datagrams;
		if (sg_nfq_poll(q, false, repeat_cb, NULL) < 0)
			return -1;
		if (q->cfg_err == 1 && q->stats.datagrams == seen) {
			errno = ENOBUFS;
			return -1;
		}
	}
	if (q->cfg_err == 0)
		return 0;
	errno = -q->cfg_err;
	return -1;
}

/* Binds the queue.  The kernel answers EPERM both without CAP_NET_ADMIN and
 * when another socket holds the queue (/proc lists it); the second becomes
 * EBUSY. */
static int nfq_bind(struct sg_nfq *q, const struct sg_nfq_config *c)
{
	struct sg_kqueue kq;

	if (cfg_request(q, c) < 0)
		return -1;
	if (cfg_wait(q) == 0)
		return 0;
	if (errno == EPERM)
		errno = sg_kqueue_read(NULL, c->queue, &kq) == 0 ? EBUSY : EPERM;
	return -1;
}

/* Points each receive slot at its part of rx_buf, and its sender address. */
static void rx_setup(struct sg_nfq *q)
{
	int i;

	for (i = 0; i < SG_NFQ_RX_BATCH; i++) {
		q->rx_iov[i].iov_base = q->rx_buf + (size_t)i * SG_NFQ_RX_SIZE;
		q->rx_iov[i].iov_len = SG_NFQ_RX_SIZE;
		q->rx_msgs[i].msg_hdr.msg_iov = &q->rx_iov[i];
		q->rx_msgs[i].msg_hdr.msg_iovlen = 1;
		q->rx_msgs[i].msg_hdr.msg_name = &q->rx_from[i];
		q->rx_msgs[i].msg_hdr.msg_namelen = sizeof(q->rx_from[i]);
	}
}

/* Allocates the handle and its buffers.  Returns NULL with errno ENOMEM. */
static struct sg_nfq *nfq_alloc(uint16_t queue)
{
	struct sg_nfq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->queue = queue;
	q->rx_buf = malloc((size_t)SG_NFQ_RX_BATCH * SG_NFQ_RX_SIZE);
	q->tx_buf = malloc(SG_NFQ_TX_SIZE);
	if (!q->rx_buf || !q->tx_buf) {
		free(q->rx_buf);
		free(q->tx_buf);
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	rx_setup(q);
	return q;
}

static void nfq_free(struct sg_nfq *q)
{
	free(q->rx_buf);
	free(q->tx_buf);
	free(q);
}

struct sg_nfq *sg_nfq_open(const struct sg_nfq_config *c)
{
	struct sg_nfq *q;
	int err;

	q = nfq_alloc(c->queue);
	if (!q)
		return NULL;
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl)
		goto err_free;
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err_close;
	if (nfq_sockopts(q, c->rcvbuf) < 0)
		goto err_close;
	if (nfq_bind(q, c) < 0)
		goto err_close;
	return q;

err_close:
	err = errno;
	mnl_socket_close(q->nl);
	errno = err;
err_free:
	err = errno;
	nfq_free(q);
	errno = err;
	return NULL;
}

void sg_nfq_close(struct sg_nfq *q)
{
	if (!q)
		return;
	sg_nfq_flush(q);
	mnl_socket_close(q->nl);
	nfq_free(q);
}

int sg_nfq_fd(const struct sg_nfq *q)
{
	return mnl_socket_get_fd(q->nl);
}

const struct sg_nfq_stats *sg_nfq_stats(const struct sg_nfq *q)
{
	return &q->stats;
}

/* libFuzzer target: the NFQUEUE receive path (src/io/nfq.c).
 *
 * Input: one datagram as the kernel's nfnetlink_queue would send it (packet
 * messages, errors answering verdicts or the config request, anything
 * else).  nfq.c is compiled into this target so that its static receive
 * walk, rx_walk(), runs on the input without a socket, on a handle from
 * nfq_alloc().  The callback does what the worker does with a packet: the
 * codec parses it, and a verdict (with the packet as the replacement, and a
 * mark) is queued, which exercises the verdict builder; the batch is then
 * discarded instead of sent.  The low bit of the input's length says
 * whether a config request waits for its answer (sequence 1).
 */
#include "../../src/io/nfq.c"

#include "syngate/core/packet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sg_nfq *q;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	q = nfq_alloc(0);
	if (!q)
		abort();
	return 0;
}

/* The verdict messages queued in tx_buf are well formed and fill it exactly. */
static void check_tx(void)
{
	const struct nlmsghdr *nlh = (const void *)q->tx_buf;
	int left = (int)q->tx_len;
	uint64_t n = 0;

	while (mnl_nlmsg_ok(nlh, left)) {
		n++;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	if (left != 0 || n != q->tx_count)
		abort();
}

/* The datagram being walked. */
struct dgram {
	const uint8_t *start, *end;
};

static void on_packet(void *ctx, struct sg_nfq *h, const struct sg_nfq_pkt *p)
{
	const struct dgram *d = ctx;
	struct sg_pkt pk;

	if (p->data && (p->data < d->start || p->len > (size_t)(d->end - p->data)))
		abort(); /* points outside the datagram */
	if (!p->data && p->len)
		abort();
	(void)sg_csum_add(0, p->data, p->len); /* every byte readable */
	if (p->data && sg_pkt_parse(&pk, p->data, p->len) == SG_R_OK && pk.len > p->len)
		abort();
	if (sg_nfq_verdict_mark(h, p->id, SG_V_ACCEPT, p->len ? p->data : NULL, p->len, p->mark) !=
	        0 &&
	    (errno != EMSGSIZE || p->len <= SG_NFQ_MAX_PAYLOAD))
		abort();
	if (sg_nfq_verdict(h, p->id, (enum sg_verdict)(p->hook & 7), NULL, 0) != 0 &&
	    errno != EINVAL)
		abort();
	check_tx();
	h->tx_len = 0; /* discarded: no socket to send it on */
	h->tx_count = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dgram d;
	uint8_t *buf;

	if (size > SG_NFQ_RX_SIZE)
		return 0;              /* more than a datagram slot holds (MSG_TRUNC) */
	buf = malloc(size ? size : 1); /* exactly the datagram: ASan sees past it */
	if (!buf)
		abort();
	memcpy(buf, data, size);
	memset(&q->stats, 0, sizeof(q->stats));
	q->cfg_seq = size & 1;
	q->cfg_err = 1;
	d.start = buf;
	d.end = buf + size;
	(void)rx_walk(q, buf, (int)size, on_packet, &d);
	free(buf);
	return 0;
}

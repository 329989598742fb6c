/* syngate ctnetlink client over libmnl.
 *
 * Requests: one NFNL_SUBSYS_CTNETLINK message per call, sent with NLM_F_ACK
 * and a per-handle sequence number, then the kernel's NLMSG_ERROR answer is
 * checked with mnl_cb_run() (error 0 = success, else errno = -error).  The
 * kernel handles a ctnetlink request inside sendmsg(), so the answer is
 * already queued when we receive.
 *
 * Events: a second socket bound to NFNLGRP_CONNTRACK_DESTROY.  Every attribute
 * is validated (mnl_attr_validate*) before it is read; unknown attributes are
 * skipped.
 *
 * Byte order on the wire: addresses as stored in struct sg_tuple (network),
 * ports, mark, status, timeout and sequence-adjust values big endian.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "syngate/io/ct.h"
#include "syngate/io/nl.h"

/* Large enough for any request we build and for the kernel's error answer,
 * which echoes the request. */
#define CT_BUF_SIZE 8192
/* One datagram of events; a destroy event is a few hundred bytes. */
#define CT_EV_BUF_SIZE 8192
/* Datagrams of events one recvmmsg() takes: one event each, one per
 * connection through the namespace (a recvmsg each was a system call per
 * connection on the router core). */
#define CT_EV_RX 32

/* How long a request waits for the kernel's answer. */
#define CT_RECV_TIMEOUT_MS 200
static const struct timeval ct_timeout = {0, CT_RECV_TIMEOUT_MS * 1000};

struct sg_ct {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char buf[CT_BUF_SIZE];
};

struct sg_ct_events {
	struct mnl_socket *nl;
	uint32_t mark;
	uint32_t mask;
	struct sg_ct_events_stats stats;
	struct mmsghdr msgs[CT_EV_RX];
	struct iovec iov[CT_EV_RX];
	struct sockaddr_nl from[CT_EV_RX];
	char buf[CT_EV_RX][CT_EV_BUF_SIZE] __attribute__((aligned(8)));
};

/* --- building requests ---------------------------------------------------- */

/* Starts a ctnetlink message of @type (IPCTNL_MSG_CT_*) in @buf.  @buf must
 * hold at least CT_BUF_SIZE bytes. */
static struct nlmsghdr *ct_msg_start(char *buf, uint16_t type, uint16_t flags, uint8_t family,
                                     uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Puts a CTA_TUPLE_* nest (@type) for @t, with source and destination
 * swapped when @reverse is true (the reply tuple of a TCP flow). */
static void ct_put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct sg_tuple *t,
                         bool reverse)
{
	const uint8_t *src = reverse ? t->daddr : t->saddr;
	const uint8_t *dst = reverse ? t->saddr : t->daddr;
	uint16_t sport = reverse ? t->dport : t->sport;
	uint16_t dport = reverse ? t->sport : t->dport;
	struct nlattr *tuple, *ip, *proto;

	tuple = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (t->family == AF_INET) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, src);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, dst);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, dst);
	}
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
}

/* Puts a CTA_SEQ_ADJ_* nest (@type) with correction position 0 and @off both
 * before and after it.  Both offsets are equal because the kernel picks one
 * by comparing seq with the position in sequence space (after(seq, 0) is
 * false for half of all sequence numbers). */
static void ct_put_seqadj(struct nlmsghdr *nlh, uint16_t type, int32_t off)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u32(nlh, CTA_SEQADJ_CORRECTION_POS, htonl(0));
	mnl_attr_put_u32(nlh, CTA_SEQADJ_OFFSET_BEFORE, htonl((uint32_t)off));
	mnl_attr_put_u32(nlh, CTA_SEQADJ_OFFSET_AFTER, htonl((uint32_t)off));
	mnl_attr_nest_end(nlh, nest);
}

/* The conntrack TCP flags of one direction: always liberal window tracking. */
static struct nf_ct_tcp_flags ct_tcp_flags(uint8_t wscale, bool sack_perm)
{
	struct nf_ct_tcp_flags f = {
	    .flags = IP_CT_TCP_FLAG_BE_LIBERAL,
	    .mask =
	        IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_WINDOW_SCALE | IP_CT_TCP_FLAG_SACK_PERM,
	};

	if (wscale > 0)
		f.flags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
	if (sack_perm)
		f.flags |= IP_CT_TCP_FLAG_SACK_PERM;
	return f;
}

/* Puts CTA_PROTOINFO/CTA_PROTOINFO_TCP: state SYN_SENT, window scales and
 * the flags of both directions. */
static void ct_put_protoinfo(struct nlmsghdr *nlh, const struct sg_ct_new *n)
{
	struct nf_ct_tcp_flags fo = ct_tcp_flags(n->orig_wscale, n->orig_sack_perm);
	struct nf_ct_tcp_flags fr = ct_tcp_flags(n->reply_wscale, n->reply_sack_perm);
	struct nlattr *pinfo, *tcp;

	pinfo = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_SYN_SENT);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, n->orig_wscale);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_REPLY, n->reply_wscale);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(fo), &fo);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(fr), &fr);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pinfo);
}

/* Puts the CTA_SYNPROXY nest: the kernel takes isn, its and tsoff together
 * or refuses the request (EINVAL). */
static void ct_put_synproxy(struct nlmsghdr *nlh, const struct sg_ct_synproxy *sp)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_SYNPROXY);

	mnl_attr_put_u32(nlh, CTA_SYNPROXY_ISN, htonl(sp->isn));
	mnl_attr_put_u32(nlh, CTA_SYNPROXY_ITS, htonl(sp->its));
	mnl_attr_put_u32(nlh, CTA_SYNPROXY_TSOFF, htonl(sp->tsoff));
	mnl_attr_nest_end(nlh, nest);
}

/* --- request / acknowledgement -------------------------------------------- */

/* Receives one datagram on netlink socket @fd into @buf/@size.  Returns its
 * length, or -1 with errno set: ENOSPC for a datagram larger than @size (as
 * libmnl does), EAGAIN at the socket's timeout, EPERM for a datagram from
 * another sender than the kernel (a local process that knows our port id
 * could otherwise feed crafted messages to the parser: libmnl 1.0.4 reads
 * past a 17-byte NLMSG_ERROR). */
static ssize_t nl_recv_kernel(int fd, char *buf, size_t size)
{
	struct sockaddr_nl from;
	struct iovec iov = {buf, size};
	struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from),
			     .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recvmsg(fd, &msg, 0);

	if (n < 0)
		return -1;
	if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0) {
		errno = EPERM;
		return -1;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

/* Receives the kernel's next answer into ct->buf, retrying on EINTR and
 * skipping datagrams of other senders.  Returns the length or -1 with errno
 * set (EAGAIN after CT_RECV_TIMEOUT_MS). */
static ssize_t ct_recv(struct sg_ct *ct)
{
	ssize_t n;

	do
		n = nl_recv_kernel(mnl_socket_get_fd(ct->nl), ct->buf, sizeof(ct->buf));
	while (n < 0 && (errno == EINTR || errno == EPERM));
	return n;
}

/* Runs the kernel's answer @buf/@len through mnl_cb_run() for request @seq
 * of port @portid: MNL_CB_OK for a message before the acknowledgement,
 * MNL_CB_STOP for the acknowledgement, MNL_CB_ERROR with errno set (the
 * kernel's error; ESRCH: an answer to another request).  The receive path
 * apart from the socket (tests/fuzz/fuzz_ct.c). */
static int ct_answer(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	return mnl_cb_run(buf, sg_nlmsg_span(buf, len), seq, portid, NULL, NULL);
}

/* Sends the request @nlh (built in ct->buf with sequence ct->seq) and waits
 * for its acknowledgement.  Returns 0, or -1 with errno set: the kernel's
 * error for the request, or a socket error.  Answers to other sequence
 * numbers (left over from an interrupted call) are skipped. */
static int ct_request(struct sg_ct *ct, const struct nlmsghdr *nlh)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(ct->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		n = ct_recv(ct);
		if (n < 0)
			return -1;
		ret = ct_answer(ct->buf, (size_t)n, seq, ct->portid);
	} while (ret == MNL_CB_OK || (ret < 0 && errno == ESRCH));
	return ret < 0 ? -1 : 0;
}

/* The next request's sequence number (never 0: mnl_cb_run skips the check
 * for 0). */
static uint32_t ct_next_seq(struct sg_ct *ct)
{
	if (++ct->seq == 0)
		ct->seq = 1;
	return ct->seq;
}

static bool ct_family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
}

/* Starts a request of @type about tuple @t (as its original tuple) in
 * ct->buf.  NULL with errno EINVAL for a family other than AF_INET/6. */
static struct nlmsghdr *ct_tuple_msg(struct sg_ct *ct, uint16_t type,
				     const struct sg_tuple *t)
{
	struct nlmsghdr *nlh;

	if (!ct_family_ok(t->family)) {
		errno = EINVAL;
		return NULL;
	}
	nlh = ct_msg_start(ct->buf, type, 0, t->family, ct_next_seq(ct));
	ct_put_tuple(nlh, CTA_TUPLE_ORIG, t, false);
	return nlh;
}

/* --- public requests ------------------------------------------------------ */

struct sg_ct *sg_ct_open(void)
{
	struct sg_ct *ct = calloc(1, sizeof(*ct));

	if (!ct)
		return NULL;
	ct->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!ct->nl)
		goto err_free;
	if (mnl_socket_bind(ct->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err_close;
	/* the packet path waits for each answer: bound the wait, so that a
	 * kernel that never answers (or an overrun that lost the answer) costs
	 * a counted error, not a stalled worker */
	if (setsockopt(mnl_socket_get_fd(ct->nl), SOL_SOCKET, SO_RCVTIMEO, &ct_timeout,
		       sizeof(ct_timeout)) < 0)
		goto err_close;
	ct->portid = mnl_socket_get_portid(ct->nl);
	ct->seq = (uint32_t)time(NULL);
	return ct;

err_close:
	mnl_socket_close(ct->nl);
err_free:
	free(ct);
	return NULL;
}

uint32_t sg_ct_portid(const struct sg_ct *ct)
{
	return ct->portid;
}

/* Closes the socket and frees @ct.  NULL is accepted. */
void sg_ct_close(struct sg_ct *ct)
{
	if (!ct)
		return;
	mnl_socket_close(ct->nl);
	free(ct);
}

/* Returns -1/EINVAL for a family other than AF_INET/AF_INET6. */
int sg_ct_create(struct sg_ct *ct, const struct sg_ct_new *n)
{
	struct nlmsghdr *nlh;

	if (!ct_family_ok(n->orig.family)) {
		errno = EINVAL;
		return -1;
	}
	nlh = ct_msg_start(ct->buf, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, n->orig.family,
	                   ct_next_seq(ct));
	ct_put_tuple(nlh, CTA_TUPLE_ORIG, &n->orig, false);
	ct_put_tuple(nlh, CTA_TUPLE_REPLY, &n->orig, true);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(n->timeout));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(n->mark));
	ct_put_protoinfo(nlh, n);
	ct_put_seqadj(nlh, CTA_SEQ_ADJ_ORIG, 0);
	ct_put_seqadj(nlh, CTA_SEQ_ADJ_REPLY, 0);
	if (n->has_synproxy)
		ct_put_synproxy(nlh, &n->synproxy);
	return ct_request(ct, nlh);
}

/* The attributes of an establish request after its tuple. */
static void ct_put_establish(struct nlmsghdr *nlh, int32_t reply_off, uint32_t mark,
			     const struct sg_ct_synproxy *sp)
{
	ct_put_seqadj(nlh, CTA_SEQ_ADJ_ORIG, 0);
	ct_put_seqadj(nlh, CTA_SEQ_ADJ_REPLY, reply_off);
	if (sp)
		ct_put_synproxy(nlh, sp);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
}

/* Returns -1/ENOENT when no entry has @orig as original tuple.  The kernel
 * applies mark and offsets one after the other, not atomically. */
int sg_ct_establish(struct sg_ct *ct, const struct sg_tuple *orig, int32_t reply_off, uint32_t mark,
		    const struct sg_ct_synproxy *sp)
{
	struct nlmsghdr *nlh = ct_tuple_msg(ct, IPCTNL_MSG_CT_NEW, orig);

	if (!nlh)
		return -1;
	ct_put_establish(nlh, reply_off, mark, sp);
	return ct_request(ct, nlh);
}

size_t sg_ct_establish_msg(void *buf, uint32_t seq, const struct sg_tuple *orig,
			   int32_t reply_off, uint32_t mark, const struct sg_ct_synproxy *sp)
{
	struct nlmsghdr *nlh;

	if (!ct_family_ok(orig->family)) {
		errno = EINVAL;
		return 0;
	}
	nlh = ct_msg_start(buf, IPCTNL_MSG_CT_NEW, 0, orig->family, seq);
	nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	ct_put_tuple(nlh, CTA_TUPLE_ORIG, orig, false);
	ct_put_establish(nlh, reply_off, mark, sp);
	return nlh->nlmsg_len;
}

/* Returns -1/ENOENT when no entry has @orig as original tuple. */
int sg_ct_set_synproxy(struct sg_ct *ct, const struct sg_tuple *orig,
		       const struct sg_ct_synproxy *sp)
{
	struct nlmsghdr *nlh = ct_tuple_msg(ct, IPCTNL_MSG_CT_NEW, orig);

	if (!nlh)
		return -1;
	ct_put_synproxy(nlh, sp);
	return ct_request(ct, nlh);
}

/* Returns -1/ENOENT when no entry has @orig as original tuple. */
int sg_ct_delete(struct sg_ct *ct, const struct sg_tuple *orig)
{
	struct nlmsghdr *nlh = ct_tuple_msg(ct, IPCTNL_MSG_CT_DELETE, orig);

	if (!nlh)
		return -1;
	return ct_request(ct, nlh);
}

/* Returns 1 when conntrack has an entry with @t as its original or reply
 * tuple, 0 when it has none (the kernel answers ENOENT), -1 with errno set
 * on any other error.  The entry's own message comes before the
 * acknowledgement and is skipped. */
int sg_ct_lookup(struct sg_ct *ct, const struct sg_tuple *t)
{
	struct nlmsghdr *nlh = ct_tuple_msg(ct, IPCTNL_MSG_CT_GET, t);

	if (!nlh)
		return -1;
	if (ct_request(ct, nlh) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Files the answer @nlh (one of the requests numbered from @seq0) in @res.
 * Returns 1 when it answered a request not answered before, else 0. */
static int lookup_answer(const struct nlmsghdr *nlh, uint32_t seq0, int n, int8_t *res)
{
	uint32_t i = nlh->nlmsg_seq - seq0;
	int8_t r;

	if (i >= (uint32_t)n || res[i] != -2)
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			return 0;
		r = e->error == -ENOENT ? 0 : e->error == 0 ? 1 : -1;
	} else if (nlh->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW)) {
		r = 1;
	} else {
		return 0;
	}
	res[i] = r;
	return 1;
}

/* Files the answers in the datagram @buf/@len (aligned for struct nlmsghdr)
 * in @res as lookup_answer() does.  Returns how many requests it answered.
 * The receive path apart from the socket (tests/fuzz/fuzz_ct.c). */
static int lookup_walk(const void *buf, int len, uint32_t seq0, int n, int8_t *res)
{
	const struct nlmsghdr *nlh = buf;
	int answered = 0;

	for (; sg_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		answered += lookup_answer(nlh, seq0, n, res);
	return answered;
}

int sg_ct_lookup_many(struct sg_ct *ct, const struct sg_tuple *t, int n, int8_t *res)
{
	char req[SG_CT_LOOKUP_MAX * 128] __attribute__((aligned(4)));
	uint32_t seq0;
	size_t len = 0;
	int i, answered = 0;

	if (n < 0 || n > SG_CT_LOOKUP_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (ct->seq > UINT32_MAX - SG_CT_LOOKUP_MAX - 1)
		ct->seq = 0; /* the batch's numbers must not wrap (0 is never used) */
	seq0 = ct->seq + 1;
	for (i = 0; i < n; i++) {
		struct nlmsghdr *nlh;

		res[i] = -2; /* not answered yet */
		if (!ct_family_ok(t[i].family)) {
			res[i] = -1;
			answered++;
			ct_next_seq(ct);
			continue;
		}
		/* no NLM_F_ACK: one answer each, the entry or the error */
		nlh = ct_msg_start(req + len, IPCTNL_MSG_CT_GET, 0, t[i].family, ct_next_seq(ct));
		nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
		ct_put_tuple(nlh, CTA_TUPLE_ORIG, &t[i], false);
		len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	if (len && mnl_socket_sendto(ct->nl, req, len) < 0)
		goto fail;
	while (answered < n) {
		ssize_t got = ct_recv(ct);

		if (got < 0)
			break; /* timeout: the rest stay unanswered */
		answered += lookup_walk(ct->buf, (int)got, seq0, n, res);
	}
	for (i = 0; i < n; i++)
		if (res[i] == -2)
			res[i] = -1;
	return 0;
fail:
	for (i = 0; i < n; i++)
		res[i] = -1;
	return -1;
}

/* --- parsing events ------------------------------------------------------- */

/* An attribute table for mnl_attr_parse*: @tb has @max + 1 slots. */
struct ct_attrs {
	const struct nlattr **tb;
	uint16_t max;
};

/* mnl_attr_cb_t: stores each attribute whose type is within the table, skips
 * the others (unknown to this build). */
static int ct_attr_store(const struct nlattr *attr, void *data)
{
	struct ct_attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Fills @tb (@max + 1 slots, zeroed here) from the nest @nest.  Returns 0, or
 * -1 if @nest is not a nest.  The walk stops at an attribute that runs past
 * the nest (libmnl); what it misses reads as absent, which callers check. */
static int ct_parse_nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max)
{
	struct ct_attrs a = {.tb = tb, .max = max};

	memset(tb, 0, (max + 1u) * sizeof(*tb));
	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return -1;
	return mnl_attr_parse_nested(nest, ct_attr_store, &a) < 0 ? -1 : 0;
}

/* Copies the binary attribute @attr of exactly @len bytes into @out.
 * Returns 0, or -1 if it is missing or of another length. */
static int ct_get_addr(const struct nlattr *attr, uint8_t *out, size_t len)
{
	if (!attr || mnl_attr_validate2(attr, MNL_TYPE_BINARY, len) < 0)
		return -1;
	memcpy(out, mnl_attr_get_payload(attr), len);
	return 0;
}

/* Parses a CTA_TUPLE_IP nest of @family into @t's addresses.  Returns 0 or -1. */
static int ct_parse_ip(const struct nlattr *nest, uint8_t family, struct sg_tuple *t)
{
	const struct nlattr *tb[CTA_IP_MAX + 1];

	if (!nest || ct_parse_nested(nest, tb, CTA_IP_MAX) < 0)
		return -1;
	if (family == AF_INET) {
		if (ct_get_addr(tb[CTA_IP_V4_SRC], t->saddr, 4) < 0)
			return -1;
		return ct_get_addr(tb[CTA_IP_V4_DST], t->daddr, 4);
	}
	if (ct_get_addr(tb[CTA_IP_V6_SRC], t->saddr, 16) < 0)
		return -1;
	return ct_get_addr(tb[CTA_IP_V6_DST], t->daddr, 16);
}

/* Parses a CTA_TUPLE_PROTO nest into @t's ports.  Returns 0, or -1 if it is
 * malformed or not TCP. */
static int ct_parse_proto(const struct nlattr *nest, struct sg_tuple *t)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1];

	if (!nest || ct_parse_nested(nest, tb, CTA_PROTO_MAX) < 0)
		return -1;
	if (!tb[CTA_PROTO_NUM] || mnl_attr_validate(tb[CTA_PROTO_NUM], MNL_TYPE_U8) < 0 ||
	    mnl_attr_get_u8(tb[CTA_PROTO_NUM]) != IPPROTO_TCP)
		return -1;
	if (!tb[CTA_PROTO_SRC_PORT] ||
	    mnl_attr_validate(tb[CTA_PROTO_SRC_PORT], MNL_TYPE_U16) < 0 ||
	    !tb[CTA_PROTO_DST_PORT] || mnl_attr_validate(tb[CTA_PROTO_DST_PORT], MNL_TYPE_U16) < 0)
		return -1;
	t->sport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_SRC_PORT]));
	t->dport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_DST_PORT]));
	return 0;
}

/* Parses the CTA_TUPLE_* nest @nest of a TCP entry of @family (AF_INET or
 * AF_INET6) into @t.  Returns 0, or -1 if a part is missing, malformed, of
 * another family, or not TCP (@t is then undefined). */
static int ct_parse_tuple(const struct nlattr *nest, uint8_t family, struct sg_tuple *t)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1];

	memset(t, 0, sizeof(*t));
	t->family = family;
	if (!ct_family_ok(family) || ct_parse_nested(nest, tb, CTA_TUPLE_MAX) < 0)
		return -1;
	if (ct_parse_ip(tb[CTA_TUPLE_IP], family, t) < 0)
		return -1;
	return ct_parse_proto(tb[CTA_TUPLE_PROTO], t);
}

/* What ct_event_cb needs. */
struct ct_event_ctx {
	struct sg_ct_events *ev;
	sg_ct_destroy_cb cb;
	void *ctx;
	int calls;
};

/* Extracts the original tuple and mark of the destroy event @nlh.  The mark
 * is 0 when the kernel omits it (it does so for mark 0).  Returns 0 or -1. */
static int ct_parse_event(const struct nlmsghdr *nlh, struct sg_tuple *orig, uint32_t *mark)
{
	const struct nlattr *tb[CTA_MAX + 1] = {0};
	struct ct_attrs a = {.tb = tb, .max = CTA_MAX};
	const struct nfgenmsg *nfg;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_DELETE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg) || !sg_nlmsg_attrs_ok(nlh, sizeof(*nfg)))
		return -1;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*nfg), ct_attr_store, &a) < 0 || !tb[CTA_TUPLE_ORIG])
		return -1;
	if (ct_parse_tuple(tb[CTA_TUPLE_ORIG], nfg->nfgen_family, orig) < 0)
		return -1;
	*mark = 0;
	if (tb[CTA_MARK]) {
		if (mnl_attr_validate(tb[CTA_MARK], MNL_TYPE_U32) < 0)
			return -1;
		*mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	}
	return 0;
}

/* mnl_cb_t for one event message: counts it and calls the user callback when
 * the mark matches.  Malformed messages are counted and skipped. */
static int ct_event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_event_ctx *c = data;
	struct sg_ct_events *ev = c->ev;
	struct sg_tuple orig;
	uint32_t mark;

	if (ct_parse_event(nlh, &orig, &mark) < 0) {
		ev->stats.bad++;
		return MNL_CB_OK;
	}
	ev->stats.events++;
	if ((mark & ev->mask) != (ev->mark & ev->mask))
		return MNL_CB_OK;
	ev->stats.matched++;
	c->calls++;
	c->cb(c->ctx, &orig, mark);
	return MNL_CB_OK;
}

/* Runs the messages of one event datagram @buf/@len (aligned for struct
 * nlmsghdr) through ct_event_cb.  The receive path apart from the socket
 * (tests/fuzz/fuzz_ct.c). */
static void ct_events_parse(const void *buf, size_t len, struct ct_event_ctx *c)
{
	/* Portid and sequence 0: multicast messages, no check.  Errors inside
	 * the datagram (an NLMSG_ERROR would be one) are skipped. */
	(void)mnl_cb_run(buf, sg_nlmsg_span(buf, len), 0, 0, ct_event_cb, c);
}

/* --- event socket --------------------------------------------------------- */

/* Asks for SG_CT_EVENTS_RCVBUF bytes of receive buffer: forced past
 * rmem_max when privileged, else as much as rmem_max allows.  Failure is not
 * fatal (a smaller buffer only loses events sooner, and that is counted). */
static void ct_events_rcvbuf(struct mnl_socket *nl)
{
	int fd = mnl_socket_get_fd(nl);
	int size = SG_CT_EVENTS_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Makes @nl non-blocking.  Returns 0 or -1. */
static int ct_set_nonblock(struct mnl_socket *nl)
{
	int fd = mnl_socket_get_fd(nl);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Points each receive slot at its buffer and sender address. */
static void ct_events_rx_setup(struct sg_ct_events *ev)
{
	for (int i = 0; i < CT_EV_RX; i++) {
		ev->iov[i].iov_base = ev->buf[i];
		ev->iov[i].iov_len = sizeof(ev->buf[i]);
		ev->msgs[i].msg_hdr.msg_iov = &ev->iov[i];
		ev->msgs[i].msg_hdr.msg_iovlen = 1;
		ev->msgs[i].msg_hdr.msg_name = &ev->from[i];
	}
}

struct sg_ct_events *sg_ct_events_open(uint32_t mark, uint32_t mask)
{
	struct sg_ct_events *ev = calloc(1, sizeof(*ev));
	int group = NFNLGRP_CONNTRACK_DESTROY;

	if (!ev)
		return NULL;
	ev->mark = mark;
	ev->mask = mask;
	ev->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!ev->nl)
		goto err_free;
	if (mnl_socket_bind(ev->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err_close;
	if (mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		goto err_close;
	ct_events_rcvbuf(ev->nl);
	if (ct_set_nonblock(ev->nl) < 0)
		goto err_close;
	ct_events_rx_setup(ev);
	return ev;

err_close:
	mnl_socket_close(ev->nl);
err_free:
	free(ev);
	return NULL;
}

/* Closes the socket and frees @ev.  NULL is accepted. */
void sg_ct_events_close(struct sg_ct_events *ev)
{
	if (!ev)
		return;
	mnl_socket_close(ev->nl);
	free(ev);
}

int sg_ct_events_fd(const struct sg_ct_events *ev)
{
	return mnl_socket_get_fd(ev->nl);
}

/* Runs received datagram @i: one larger than the buffer (MSG_TRUNC) or from
 * another sender than the kernel is counted as bad and dropped unread. */
static void ct_events_datagram(struct sg_ct_events *ev, int i, struct ct_event_ctx *c)
{
	const struct msghdr *m = &ev->msgs[i].msg_hdr;

	if (m->msg_namelen != sizeof(ev->from[i]) || ev->from[i].nl_pid != 0 ||
	    (m->msg_flags & MSG_TRUNC)) {
		ev->stats.bad++;
		return;
	}
	ct_events_parse(ev->buf[i], ev->msgs[i].msg_len, c);
}

/* Receives up to @max (at most CT_EV_RX) datagrams in one recvmmsg() and
 * runs their messages.  Returns how many were handled (an overrun, ENOBUFS,
 * is counted and counts as one: more may follow), 0 if nothing is pending,
 * -1 with errno on a socket error. */
static int ct_events_batch(struct sg_ct_events *ev, int max, struct ct_event_ctx *c)
{
	int i, n;

	for (i = 0; i < max; i++)
		ev->msgs[i].msg_hdr.msg_namelen = sizeof(ev->from[i]);
	n = recvmmsg(mnl_socket_get_fd(ev->nl), ev->msgs, (unsigned)max, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOBUFS) {
			ev->stats.enobufs++;
			return 1;
		}
		return errno == EINTR ? 1 : -1;
	}
	for (i = 0; i < n; i++)
		ct_events_datagram(ev, i, c);
	return n;
}

int sg_ct_events_read(struct sg_ct_events *ev, sg_ct_destroy_cb cb, void *ctx)
{
	struct ct_event_ctx c = {.ev = ev, .cb = cb, .ctx = ctx, .calls = 0};
	int got, done = 0;

	while (done < SG_CT_EVENTS_BATCH) {
		int left = SG_CT_EVENTS_BATCH - done;

		got = ct_events_batch(ev, left < CT_EV_RX ? left : CT_EV_RX, &c);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		done += got;
	}
	return done;
}

const struct sg_ct_events_stats *sg_ct_events_stats(const struct sg_ct_events *ev)
{
	return &ev->stats;
}

/* syngate sock_diag: see include/syngate/io/diag.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "syngate/io/diag.h"
#include "syngate/io/nl.h"

#define TCP_NEW_SYN_RECV 12 /* request sockets, reported as SYN_RECV */

struct sg_diag {
	struct mnl_socket *nl;
	uint32_t seq;
	char buf[32768]; /* a dump datagram fits (the kernel sends at most 32 KiB) */
};

/* Creates the netlink socket inside @netns, then returns to the namespace
 * the thread was in.  Sockets stay in the namespace they were created in. */
static struct mnl_socket *open_in(const char *netns)
{
	struct mnl_socket *nl;
	int self, target, saved;

	if (!netns)
		return mnl_socket_open(NETLINK_SOCK_DIAG);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(netns, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
		saved = errno;
		nl = NULL;
		goto out;
	}
	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen with the rights we had; if it does, this thread
		 * is stuck in the backends' namespace: the caller must stop */
		if (nl)
			mnl_socket_close(nl);
		nl = NULL;
		saved = ENOTRECOVERABLE;
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	errno = saved;
	return nl;
}

struct sg_diag *sg_diag_open(const char *netns)
{
	struct sg_diag *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->nl = open_in(netns);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int saved = errno;

		if (d->nl)
			mnl_socket_close(d->nl);
		free(d);
		errno = saved;
		return NULL;
	}
	d->seq = (uint32_t)time(NULL);
	return d;
}

void sg_diag_close(struct sg_diag *d)
{
	if (!d)
		return;
	mnl_socket_close(d->nl);
	free(d);
}

struct walk {
	const uint16_t *ports;
	int n;
	struct sg_listen_queue *q;
	int listeners; /* listeners seen on any of the ports */
};

/* The queue record of @port, or NULL when it is none of the walk's. */
static struct sg_listen_queue *walk_queue(const struct walk *w, uint16_t port)
{
	for (int i = 0; i < w->n; i++)
		if (w->ports[i] == port)
			return &w->q[i];
	return NULL;
}

/* One inet_diag_msg: a listener adds its queues, a request socket counts. */
static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct walk *w = data;
	struct sg_listen_queue *q;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m) ||
	    !(q = walk_queue(w, ntohs(m->id.idiag_sport))))
		return MNL_CB_OK;
	if (m->idiag_state == TCP_LISTEN) {
		q->accept_queue += m->idiag_rqueue;
		q->backlog += m->idiag_wqueue;
		w->listeners++;
	} else if (m->idiag_state == TCP_SYN_RECV || m->idiag_state == TCP_NEW_SYN_RECV) {
		q->syn_recv++;
	}
	return MNL_CB_OK;
}

/* Dumps the TCP sockets of @family in @states and feeds them to on_sock(). */
static int dump(struct sg_diag *d, uint8_t family, uint32_t states, struct walk *w)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf);
	struct inet_diag_req_v2 *req;
	uint32_t portid = mnl_socket_get_portid(d->nl);
	ssize_t n;
	int r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++d->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
		if (n < 0)
			return -1;
		r = mnl_cb_run(d->buf, sg_nlmsg_span(d->buf, (size_t)n), d->seq, portid, on_sock, w);
		if (r <= MNL_CB_STOP)
			return r == MNL_CB_STOP ? 0 : -1;
	}
}

/* Both families; a kernel without IPv6 answers ENOENT for AF_INET6. */
static int dump_both(struct sg_diag *d, uint32_t states, struct walk *w)
{
	if (dump(d, AF_INET, states, w) < 0)
		return -1;
	if (dump(d, AF_INET6, states, w) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Listeners first: the kernel walks only its listening hash for them.
 * Request sockets live in the established hash, which the kernel shares
 * between namespaces and walks whole, TIME_WAIT sockets of every namespace
 * included (a busy host's hundreds of thousands: milliseconds of a core per
 * walk); it is walked only when one of the ports has a listener here, which
 * on a router (the backends elsewhere) none has. */
int sg_diag_listen(struct sg_diag *d, const uint16_t *ports, int n, struct sg_listen_queue *out)
{
	struct walk w = {ports, n, out, 0};

	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].port = ports[i];
	}
	if (dump_both(d, 1u << TCP_LISTEN, &w) < 0)
		return -1;
	if (!w.listeners)
		return 0;
	return dump_both(d, 1u << TCP_SYN_RECV | 1u << TCP_NEW_SYN_RECV, &w);
}

/* syngate's lane over ipset netlink: see include/syngate/io/lane.h.
 *
 * Request layout (libipset's, protocol 6 and 7 alike):
 *
 *   nlmsghdr  type = NFNL_SUBSYS_IPSET << 8 | IPSET_CMD_ADD, NLM_F_REQUEST
 *   nfgenmsg  family = NFPROTO_IPV4 / NFPROTO_IPV6
 *   IPSET_ATTR_PROTOCOL  u8 IPSET_PROTOCOL
 *   IPSET_ATTR_SETNAME   string
 *   IPSET_ATTR_DATA      nested
 *     IPSET_ATTR_IP      nested
 *       IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER  4 bytes, network order
 *       (or IPSET_ATTR_IPADDR_IPV6, 16 bytes)
 *     IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER  u32, seconds, big endian
 *
 * The timeout is the entry's own (the set is created with timeout support),
 * so a new lane-timeout needs no new set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>
#include <xxhash.h>

#include "syngate/io/lane.h"
#include "syngate/io/nl.h"

#define LANE_BUF 512
#define LANE_CACHE 4096 /* direct-mapped: recently added addresses */

struct lane_slot {
	uint8_t addr[16];
	uint8_t family;
	uint64_t added_us;
};

struct sg_lane {
	struct mnl_socket *nl;
	uint32_t seq;
	uint32_t timeout_s;  /* each entry's timeout */
	uint64_t refresh_us; /* re-add a cached address after this long */
	struct sg_lane_stats stats;
	struct lane_slot cache[LANE_CACHE];
	char buf[LANE_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
};

struct sg_lane *sg_lane_open(uint32_t timeout_s)
{
	struct sg_lane *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->timeout_s = timeout_s;
	l->refresh_us = (uint64_t)timeout_s * 1000000 / 4;
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!l->nl || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		sg_lane_close(l);
		return NULL;
	}
	return l;
}

void sg_lane_close(struct sg_lane *l)
{
	if (!l)
		return;
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l);
}

/* The cache slot of @addr, and whether it says @addr was added recently. */
static struct lane_slot *cache_slot(struct sg_lane *l, int family, const uint8_t *addr,
				    size_t n, uint64_t now_us, bool *fresh)
{
	struct lane_slot *s = &l->cache[XXH3_64bits(addr, n) % LANE_CACHE];

	*fresh = s->family == family && memcmp(s->addr, addr, n) == 0 && s->added_us &&
		 now_us - s->added_us < l->refresh_us;
	return s;
}

/* Builds the IPSET_CMD_ADD request for @addr into l->buf. */
static struct nlmsghdr *add_msg(struct sg_lane *l, int family, const uint8_t *addr, size_t n)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(l->buf);
	struct nfgenmsg *nfg;
	struct nlattr *data, *ip;

	nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_ADD;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++l->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, family == AF_INET ? SG_LANE_SET4 : SG_LANE_SET6);
	data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
	ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
	mnl_attr_put(nlh, (family == AF_INET ? IPSET_ATTR_IPADDR_IPV4 : IPSET_ATTR_IPADDR_IPV6) |
			      NLA_F_NET_BYTEORDER, n, addr);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_put_u32(nlh, IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER, htonl(l->timeout_s));
	mnl_attr_nest_end(nlh, data);
	return nlh;
}

int sg_lane_add(struct sg_lane *l, int family, const uint8_t *addr, uint64_t now_us)
{
	size_t n = family == AF_INET ? 4 : 16;
	struct lane_slot *s;
	struct nlmsghdr *nlh;
	bool fresh;

	if (family != AF_INET && family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	s = cache_slot(l, family, addr, n, now_us, &fresh);
	if (fresh) {
		l->stats.cached++;
		return 0;
	}
	nlh = add_msg(l, family, addr, n);
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0) {
		l->stats.errors++;
		return -1;
	}
	l->stats.added++;
	memcpy(s->addr, addr, n);
	s->family = (uint8_t)family;
	s->added_us = now_us ? now_us : 1;
	return 0;
}

void sg_lane_drain(struct sg_lane *l)
{
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(l->nl, l->buf, sizeof(l->buf));
		const struct nlmsghdr *nlh = (const void *)l->buf; /* aligned: buf */
		int left = (int)r;

		if (r <= 0)
			return; /* EAGAIN: nothing more */
		for (; sg_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type == NLMSG_ERROR &&
			    nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)) && e->error != 0)
				l->stats.rejected++;
		}
	}
}

const struct sg_lane_stats *sg_lane_stats(const struct sg_lane *l)
{
	return &l->stats;
}

/* Netlink message walks that hold for any length field.
 *
 * libmnl 1.0.4's mnl_nlmsg_ok() compares the bytes left with the message
 * length cast to int, so a length of 2^31 or more passes as fitting, and
 * mnl_nlmsg_next() then steps gigabytes past the buffer; mnl_cb_run() walks
 * with the same check (found by tests/fuzz/fuzz_ct).  And its attribute
 * walks (mnl_attr_parse()) run to the message's length rounded up to 4, so
 * in an unpadded last message (NFQUEUE's are) an attribute may end up to 3
 * bytes past the datagram (found by tests/fuzz/fuzz_nfq).  The receive paths
 * parse only the kernel's datagrams, and the kernel sends neither, but the
 * parsers must not depend on that: walk with sg_nlmsg_ok(), hand
 * mnl_cb_run() only sg_nlmsg_span() of a datagram, and parse the
 * attributes of a message only if sg_nlmsg_attrs_ok().
 */
#ifndef SYNGATE_IO_NL_H
#define SYNGATE_IO_NL_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/netlink.h>

/* mnl_nlmsg_ok() done right: a whole message of at least a header is left
 * in the @len bytes at @nlh. */
static inline bool sg_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned)len;
}

/* The bytes of the datagram @buf/@len (aligned for struct nlmsghdr) that
 * whole messages fill from its start, the last one's padding included:
 * libmnl's walks stop where sg_nlmsg_ok() does when given only these. */
static inline size_t sg_nlmsg_span(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > 0x7fffffff ? 0x7fffffff : (int)len;
	size_t span = 0, step;

	while (sg_nlmsg_ok(nlh, left)) {
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step >= (size_t)left)
			return len;
		span += step;
		left -= (int)step;
		nlh = (const struct nlmsghdr *)(const void *)((const char *)nlh + step);
	}
	return span;
}

/* Whether the attributes of message @nlh (whole in its datagram:
 * sg_nlmsg_ok()), from @offset bytes into its payload, each have a header
 * and end within its length: then mnl_attr_parse() visits exactly those.
 * Nested attributes need no check: libmnl walks them to the nest's end. */
static inline bool sg_nlmsg_attrs_ok(const struct nlmsghdr *nlh, size_t offset)
{
	size_t pos = NLMSG_HDRLEN + NLMSG_ALIGN(offset);

	while (pos < nlh->nlmsg_len) {
		const struct nlattr *a = (const struct nlattr *)(const void *)((const char *)nlh + pos);

		if (nlh->nlmsg_len - pos < sizeof(*a) || a->nla_len < sizeof(*a) ||
		    a->nla_len > nlh->nlmsg_len - pos)
			return false;
		pos += NLA_ALIGN(a->nla_len);
	}
	return true;
}

#endif

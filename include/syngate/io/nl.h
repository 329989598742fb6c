/* Netlink message walks that hold for any length field.
 *
 * libmnl 1.0.4's mnl_nlmsg_ok() compares the bytes left with the message
 * length cast to int, so a length of 2^31 or more passes as fitting, and
 * mnl_nlmsg_next() then steps gigabytes past the buffer; mnl_cb_run() walks
 * with the same check (found by tests/fuzz/fuzz_ct).  The receive paths
 * parse only the kernel's datagrams, and the kernel never sends such a
 * length, but the parsers must not depend on that: walk with sg_nlmsg_ok(),
 * and hand mnl_cb_run() only sg_nlmsg_span() of a datagram.
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

#endif

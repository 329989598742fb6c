/* syngate raw sender: see include/syngate/io/raw.h for the contract.
 *
 * IPv4: socket(AF_INET, SOCK_RAW, IPPROTO_RAW) implies IP_HDRINCL.  The kernel
 * (raw_send_hdrinc) sends the header as given, with only these repairs: it
 * recomputes the header checksum and tot_len, fills a zero id and a zero
 * source.  The source address is not checked against local addresses.
 *
 * IPv6: socket(AF_INET6, SOCK_RAW, IPPROTO_RAW) with IPV6_HDRINCL (implied
 * for IPPROTO_RAW since Linux 4.5, set explicitly anyway).  rawv6_send_hdrinc
 * sends the header untouched (payload_len must be right) and, like IPv4,
 * does not check the source address: the route lookup uses only the
 * destination from the sockaddr.  Checked on Linux 6.18: a SYN with a
 * non-local source (the client's) leaves a router namespace and reaches the
 * server for both families with no IPV6_TRANSPARENT, IPV6_FREEBIND or
 * IP_TRANSPARENT (those options concern bind() and non-hdrincl sends).
 *
 * Both sockets only send: IPPROTO_RAW sockets receive nothing.  Sends use
 * MSG_DONTWAIT so a full device queue returns EAGAIN/ENOBUFS instead of
 * blocking the packet loop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "syngate/io/raw.h"

#define SG_IPV4_HLEN 20
#define SG_IPV6_HLEN 40

struct sg_raw {
	int fd4; /* -1 when the kernel lacks IPv4 */
	int fd6; /* -1 when the kernel lacks IPv6 */
};

static int raw_open4(void)
{
	return socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
}

/* Returns the IPv6 socket with IPV6_HDRINCL on, or -1 with errno set. */
static int raw_open6(void)
{
	int fd, err, one = 1;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) == 0)
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* A socket that failed because the family is missing is tolerated (-1 kept,
 * reported at send time); any other failure is fatal.  Returns 0 or -1. */
static int raw_tolerate(int fd)
{
	return fd >= 0 || errno == EAFNOSUPPORT ? 0 : -1;
}

struct sg_raw *sg_raw_open(void)
{
	struct sg_raw *r;
	int err;

	r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	r->fd6 = -1;
	r->fd4 = raw_open4();
	if (raw_tolerate(r->fd4) < 0)
		goto err;
	r->fd6 = raw_open6();
	if (raw_tolerate(r->fd6) < 0)
		goto err;
	if (r->fd4 < 0 && r->fd6 < 0) {
		errno = EAFNOSUPPORT;
		goto err;
	}
	return r;

err:
	err = errno;
	sg_raw_close(r);
	errno = err;
	return NULL;
}

void sg_raw_close(struct sg_raw *r)
{
	if (!r)
		return;
	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	free(r);
}

int sg_raw_set_mark(struct sg_raw *r, uint32_t mark)
{
	if (r->fd4 >= 0 && setsockopt(r->fd4, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -1;
	if (r->fd6 >= 0 && setsockopt(r->fd6, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -1;
	return 0;
}

/* One sendto(); a raw datagram goes whole or not at all. */
static int raw_sendto(int fd, const uint8_t *pkt, size_t len, const void *sa, socklen_t salen)
{
	ssize_t n;

	if (fd < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	n = sendto(fd, pkt, len, MSG_DONTWAIT, sa, salen);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Destination: the header's daddr (offset 16). */
static int raw_send4(struct sg_raw *r, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (len < SG_IPV4_HLEN) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&sin.sin_addr, pkt + 16, 4);
	return raw_sendto(r->fd4, pkt, len, &sin, sizeof(sin));
}

/* Destination: the header's daddr (offset 24).  sin6_port must stay 0 (it
 * would name the protocol); scope id 0, so link-local destinations fail
 * with EINVAL. */
static int raw_send6(struct sg_raw *r, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

	if (len < SG_IPV6_HLEN) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&sin6.sin6_addr, pkt + 24, 16);
	return raw_sendto(r->fd6, pkt, len, &sin6, sizeof(sin6));
}

int sg_raw_send(struct sg_raw *r, const uint8_t *pkt, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	switch (pkt[0] >> 4) {
	case 4:
		return raw_send4(r, pkt, len);
	case 6:
		return raw_send6(r, pkt, len);
	}
	errno = EINVAL;
	return -1;
}

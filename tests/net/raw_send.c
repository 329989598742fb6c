/* raw_send: sends one TCP SYN through src/io/raw.c, for the network tests.
 *
 *   raw_send [-n netns] SRC DST DPORT [SPORT]
 *
 * SRC and DST are both IPv4 or both IPv6; SRC need not be a local address.
 * With -n the program first enters /run/netns/NETNS.  Exit status 0 if the
 * kernel accepted the packet.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syngate/io/raw.h"

#define TCP_HLEN 20

/* One's-complement sum of @len bytes, folded later. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A bare SYN (no options) at @t; checksum over the pseudo-header sum @ph. */
static void build_syn(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t ph)
{
	uint32_t seq = 0x12345678;

	memset(t, 0, TCP_HLEN);
	put16(t, sport);
	put16(t + 2, dport);
	memcpy(t + 4, &(uint32_t){htonl(seq)}, 4);
	t[12] = (TCP_HLEN / 4) << 4;
	t[13] = 0x02;
	put16(t + 14, 64240);
	put16(t + 16, fold(sum16(t, TCP_HLEN, ph + 6 + TCP_HLEN)));
}

static size_t build4(uint8_t *b, const struct in_addr *s, const struct in_addr *d, uint16_t sport,
                     uint16_t dport)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, 20 + TCP_HLEN);
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, s, 4);
	memcpy(b + 16, d, 4);
	build_syn(b + 20, sport, dport, sum16(b + 12, 8, 0));
	return 20 + TCP_HLEN;
}

static size_t build6(uint8_t *b, const struct in6_addr *s, const struct in6_addr *d, uint16_t sport,
                     uint16_t dport)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, TCP_HLEN);
	b[6] = 6;
	b[7] = 64;
	memcpy(b + 8, s, 16);
	memcpy(b + 24, d, 16);
	build_syn(b + 40, sport, dport, sum16(b + 8, 32, 0));
	return 40 + TCP_HLEN;
}

static int enter_netns(const char *name)
{
	char path[256];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	uint8_t pkt[64];
	struct in6_addr s6, d6;
	struct in_addr s4, d4;
	uint16_t dport, sport = 40000;
	struct sg_raw *r;
	size_t len;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || enter_netns(optarg) < 0) {
			fprintf(stderr, "usage: raw_send [-n netns] SRC DST DPORT [SPORT] (%s)\n",
			        strerror(errno));
			return 2;
		}
	}
	if (argc - optind < 3)
		return 2;
	dport = (uint16_t)atoi(argv[optind + 2]);
	if (argc - optind > 3)
		sport = (uint16_t)atoi(argv[optind + 3]);
	if (inet_pton(AF_INET, argv[optind], &s4) == 1 &&
	    inet_pton(AF_INET, argv[optind + 1], &d4) == 1)
		len = build4(pkt, &s4, &d4, sport, dport);
	else if (inet_pton(AF_INET6, argv[optind], &s6) == 1 &&
	         inet_pton(AF_INET6, argv[optind + 1], &d6) == 1)
		len = build6(pkt, &s6, &d6, sport, dport);
	else
		return 2;

	r = sg_raw_open();
	if (!r) {
		fprintf(stderr, "sg_raw_open: %s\n", strerror(errno));
		return 1;
	}
	if (sg_raw_send(r, pkt, len) < 0) {
		fprintf(stderr, "sg_raw_send: %s\n", strerror(errno));
		sg_raw_close(r);
		return 1;
	}
	printf("sent %zu bytes %s -> %s:%u\n", len, argv[optind], argv[optind + 1], dport);
	sg_raw_close(r);
	return 0;
}

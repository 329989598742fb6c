/* synflood: a fast SYN (or ACK) generator for syngate's benchmarks (namespaces only).
 *
 *   synflood -i IFACE -d DST_IP -t SECONDS [-p PORT] [-s CIDR] [-r PPS] [-T THREADS]
 *            [-b BATCH] [-M DST_MAC | -g GATEWAY_IP] [-A] [-n] [-q]
 *
 * Writes complete Ethernet frames on IFACE through AF_PACKET (SOCK_RAW,
 * PACKET_QDISC_BYPASS, sendmmsg of BATCH frames): pure SYNs to DST_IP:PORT
 * from random sources in CIDR (default 198.18.0.0/15, the RFC 2544 benchmark
 * range), random source ports, ISNs and IP ids, valid IP and TCP checksums.
 * By default each SYN carries the options a Linux client sends (MSS 1460,
 * SACK-permitted, timestamps, window scale 7: 60-byte IP packets); -n sends a
 * bare 40-byte SYN as hping3 does.
 *
 * -A sends pure ACKs instead (the ACK flood a cookie checker must reject):
 * random sources, ports, sequence and acknowledgment numbers, each with the
 * timestamps option a Linux ACK carries (NOP NOP TS, random TSval and TSecr:
 * 52-byte IP packets); with -n, bare 40-byte ACKs as hping3 -A sends.
 *
 * The destination MAC is -M, else the ARP entry of -g GATEWAY_IP, else that of
 * IFACE's default gateway (/proc/net/route, /proc/net/arp: ping it first).
 *
 * -r PPS limits the total rate (0, the default, is as fast as possible); it is
 * shared evenly by the THREADS threads (default 1), each with its own socket.
 * -t SECONDS is mandatory: the generator always stops by itself (or on
 * SIGINT/SIGTERM).  At the end it prints on stdout one line
 *
 *   sent=N dropped=D secs=S pps=R offered_pps=O
 *
 * where N frames were accepted by the device, D were refused by it (ENOBUFS:
 * for a veth, the peer's receive backlog was full), R = N/S and O = (N+D)/S.
 * -q suppresses the human-readable summary on stderr.
 *
 * The socket is bound to protocol 0, so it never receives anything.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_BATCH 256
#define MAX_THREADS 64

/* Frame layout (offsets from the start of the Ethernet header). */
#define ETH_LEN 14
#define IP_OFF ETH_LEN
#define TCP_OFF (IP_OFF + 20)
#define SYN_OPT_LEN 20 /* MSS(4) SACK_PERM(2) TS(10) NOP(1) WS(3), Linux order */
#define ACK_OPT_LEN 12 /* NOP(1) NOP(1) TS(10), as on a Linux ACK */
#define FRAME_MAX (TCP_OFF + 20 + SYN_OPT_LEN)
#define TCP_SYN 0x02
#define TCP_ACK 0x10

struct opts {
	char ifname[IFNAMSIZ];
	int ifindex;
	uint8_t smac[6], dmac[6];
	bool have_dmac;
	uint32_t dst;          /* network order */
	uint16_t dport;        /* host order */
	uint32_t net, hostmask; /* source CIDR, host order */
	double rate;           /* total pps, 0 = unlimited */
	double secs;
	int threads, batch;
	bool tcp_options, quiet;
	bool ack; /* -A: pure ACKs instead of SYNs */
};

struct worker {
	pthread_t th;
	const struct opts *o;
	int fd;
	double rate; /* this thread's share, 0 = unlimited */
	uint64_t rng;
	uint64_t sent, dropped;
	uint64_t start_ns, end_ns;
	uint8_t frames[MAX_BATCH][FRAME_MAX];
	uint32_t ip_sum0, tcp_sum0; /* checksum sums of the template's constant parts */
	size_t frame_len;
	size_t ts_off; /* offset of TSval from the TCP header, 0 without timestamps */
	int err;
};

/* splitmix64: fast, good enough for spoofed headers. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One's complement sum of @len bytes (even) read as native 16-bit words:
 * the Internet checksum is byte-order independent when summed and stored
 * natively. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	uint16_t w;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		sum += w;
	}
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t host)
{
	uint16_t n = htons(host);

	memcpy(p, &n, 2);
}

/* Writes the SYN's options at @op: MSS 1460, SACK permitted, timestamps
 * (value set per packet, echo 0), NOP, window scale 7.  Returns the offset of
 * TSval within them. */
static size_t syn_options(uint8_t *op)
{
	op[0] = 2;
	op[1] = 4;
	put16(op + 2, 1460);
	op[4] = 4;
	op[5] = 2;
	op[6] = 8;
	op[7] = 10;
	op[16] = 1;
	op[17] = 3;
	op[18] = 3;
	op[19] = 7;
	return 8;
}

/* Writes the ACK's options at @op: NOP, NOP, timestamps (value and echo set
 * per packet).  Returns the offset of TSval within them. */
static size_t ack_options(uint8_t *op)
{
	op[0] = 1;
	op[1] = 1;
	op[2] = 8;
	op[3] = 10;
	return 4;
}

/* Builds the template frame in w->frames[0] with every per-packet field
 * (source address, IP id, source port, sequence and acknowledgment numbers,
 * TS value and echo, both checksums) zero, and the checksum sums of the rest;
 * copies it to every slot. */
static void template_init(struct worker *w)
{
	const struct opts *o = w->o;
	uint8_t *f = w->frames[0];
	size_t olen = o->tcp_options ? (o->ack ? ACK_OPT_LEN : SYN_OPT_LEN) : 0;
	size_t thl = 20 + olen;
	uint8_t pseudo[12];
	int i;

	memset(f, 0, FRAME_MAX);
	memcpy(f, o->dmac, 6);
	memcpy(f + 6, o->smac, 6);
	put16(f + 12, ETH_P_IP);
	f[IP_OFF] = 0x45;
	put16(f + IP_OFF + 2, (uint16_t)(20 + thl));
	put16(f + IP_OFF + 6, 0x4000); /* DF */
	f[IP_OFF + 8] = 64;
	f[IP_OFF + 9] = IPPROTO_TCP;
	memcpy(f + IP_OFF + 16, &o->dst, 4);
	put16(f + TCP_OFF + 2, o->dport);
	f[TCP_OFF + 12] = (uint8_t)((thl / 4) << 4);
	f[TCP_OFF + 13] = o->ack ? TCP_ACK : TCP_SYN;
	put16(f + TCP_OFF + 14, o->ack ? 502 : 64240);
	w->ts_off = 0;
	if (olen)
		w->ts_off = 20 + (o->ack ? ack_options : syn_options)(f + TCP_OFF + 20);
	w->frame_len = TCP_OFF + thl;
	w->ip_sum0 = sum16(f + IP_OFF, 20, 0);
	memset(pseudo, 0, sizeof(pseudo));
	memcpy(pseudo + 4, &o->dst, 4);
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, (uint16_t)thl);
	w->tcp_sum0 = sum16(f + TCP_OFF, thl, sum16(pseudo, sizeof(pseudo), 0));
	for (i = 1; i < MAX_BATCH; i++)
		memcpy(w->frames[i], f, FRAME_MAX);
}

/* Adds the 32-bit word at @p, as stored, to a checksum sum. */
static uint32_t sum32(const uint8_t *p, uint32_t sum)
{
	return sum16(p, 4, sum);
}

/* Writes the per-packet fields of frame @f and both checksums.  In ACK mode
 * the acknowledgment number and TSecr are random too (zero in a SYN). */
static void frame_fill(struct worker *w, uint8_t *f)
{
	const struct opts *o = w->o;
	uint64_t r1 = rnd(&w->rng), r2 = rnd(&w->rng), r3 = o->ack ? rnd(&w->rng) : 0;
	uint32_t src = htonl(o->net | ((uint32_t)r1 & o->hostmask));
	uint16_t id = (uint16_t)(r1 >> 32);
	uint16_t sport = htons((uint16_t)(1024 + (uint32_t)((r1 >> 48) % 64512)));
	uint32_t seq = (uint32_t)r2, tsval = (uint32_t)(r2 >> 32);
	uint32_t s;
	uint16_t c;

	memcpy(f + IP_OFF + 4, &id, 2);
	memcpy(f + IP_OFF + 12, &src, 4);
	s = w->ip_sum0 + (src & 0xffff) + (src >> 16) + id;
	c = fold(s);
	memcpy(f + IP_OFF + 10, &c, 2);

	memcpy(f + TCP_OFF, &sport, 2);
	memcpy(f + TCP_OFF + 4, &seq, 4);
	s = w->tcp_sum0 + (src & 0xffff) + (src >> 16) + sport + (seq & 0xffff) + (seq >> 16);
	if (o->ack) {
		uint32_t ack = (uint32_t)r3;

		memcpy(f + TCP_OFF + 8, &ack, 4);
		s = sum32(f + TCP_OFF + 8, s);
	}
	if (w->ts_off) {
		uint32_t tsecr = (uint32_t)(r3 >> 32);

		memcpy(f + TCP_OFF + w->ts_off, &tsval, 4);
		s = sum32(f + TCP_OFF + w->ts_off, s);
		if (o->ack) {
			memcpy(f + TCP_OFF + w->ts_off + 4, &tsecr, 4);
			s = sum32(f + TCP_OFF + w->ts_off + 4, s);
		}
	}
	c = fold(s);
	memcpy(f + TCP_OFF + 16, &c, 2);
}

static void pace(struct worker *w, uint64_t attempted)
{
	uint64_t due, t;
	struct timespec ts;

	if (w->rate <= 0)
		return;
	due = w->start_ns + (uint64_t)((double)attempted * 1e9 / w->rate);
	t = now_ns();
	if (due <= t)
		return;
	if (due - t > 60000) {
		ts.tv_sec = (time_t)(due / 1000000000u);
		ts.tv_nsec = (long)(due % 1000000000u);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (now_ns() < due && !stop)
		;
}

/* The send loop of one thread: fill a batch, sendmmsg it; a frame the device
 * refuses is counted as dropped and skipped. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = o->ifindex,
				  .sll_halen = 6};
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	uint64_t end;
	int batch = o->batch, i;

	if (w->rate > 0) { /* keep bursts near 0.5 ms */
		int b = (int)(w->rate / 2000);

		batch = b < 1 ? 1 : (b < batch ? b : batch);
	}
	memcpy(sll.sll_addr, o->dmac, 6);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = w->frames[i];
		iov[i].iov_len = w->frame_len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
	}
	w->start_ns = now_ns();
	end = w->start_ns + (uint64_t)(o->secs * 1e9);
	while (!stop) {
		int off = 0;

		if (now_ns() >= end)
			break;
		pace(w, w->sent + w->dropped);
		for (i = 0; i < batch; i++)
			frame_fill(w, w->frames[i]);
		while (off < batch) {
			int n = sendmmsg(w->fd, msgs + off, (unsigned int)(batch - off), 0);

			if (n < 0) {
				if (errno == EINTR)
					break;
				if (errno != ENOBUFS && errno != EAGAIN) {
					w->err = errno;
					stop = 1;
					break;
				}
				n = 0;
			}
			w->sent += (uint64_t)n;
			off += n;
			if (off < batch) { /* msgs[off] was refused */
				w->dropped++;
				off++;
			}
		}
	}
	w->end_ns = now_ns();
	return NULL;
}

static int open_socket(const struct opts *o)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int one = 1, sndbuf = 4 << 20;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		fprintf(stderr, "synflood: PACKET_QDISC_BYPASS: %s (going on)\n", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	(void)o;
	return fd;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int parse_cidr(const char *s, uint32_t *net, uint32_t *hostmask)
{
	char buf[64];
	char *slash;
	struct in_addr a;
	int len = 32;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		len = atoi(slash + 1);
	}
	if (inet_pton(AF_INET, buf, &a) != 1 || len < 0 || len > 32)
		return -1;
	*hostmask = len == 0 ? 0xffffffffu : (len == 32 ? 0 : (1u << (32 - len)) - 1);
	*net = ntohl(a.s_addr) & ~*hostmask;
	return 0;
}

/* Default gateway of @ifname from /proc/net/route (network order), 0 if none. */
static uint32_t default_gw(const char *ifname)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], dev[64];
	unsigned int dst, gw;
	uint32_t found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %x %x", dev, &dst, &gw) == 3 && dst == 0 && gw &&
		    strcmp(dev, ifname) == 0)
			found = gw;
	fclose(f);
	return found;
}

/* MAC of @ip (network order) on @ifname from /proc/net/arp.  Returns 0 or -1. */
static int arp_lookup(uint32_t ip, const char *ifname, uint8_t *mac)
{
	FILE *f = fopen("/proc/net/arp", "re");
	char line[256], ipbuf[64], hw[64], dev[64], want[INET_ADDRSTRLEN];
	unsigned int type, flags;
	int rc = -1;

	if (!f)
		return -1;
	inet_ntop(AF_INET, &ip, want, sizeof(want));
	while (rc < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s 0x%x 0x%x %63s %*s %63s", ipbuf, &type, &flags, hw, dev) == 5 &&
		    strcmp(ipbuf, want) == 0 && strcmp(dev, ifname) == 0 && (flags & 0x2))
			rc = parse_mac(hw, mac);
	fclose(f);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: synflood -i IFACE -d DST_IP -t SECONDS [-p PORT=80] [-s CIDR=198.18.0.0/15]\n"
		"                [-r PPS=0] [-T THREADS=1] [-b BATCH=64] [-M DST_MAC | -g GW_IP] [-A] [-n]\n"
		"                [-q]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	const char *gw = NULL, *cidr = "198.18.0.0/15";
	struct in_addr a;
	int opt;

	memset(o, 0, sizeof(*o));
	o->dport = 80;
	o->threads = 1;
	o->batch = 64;
	o->tcp_options = true;
	while ((opt = getopt(argc, argv, "i:d:p:s:r:t:T:b:M:g:Anq")) != -1) {
		switch (opt) {
		case 'i':
			snprintf(o->ifname, sizeof(o->ifname), "%s", optarg);
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				usage();
			o->dst = a.s_addr;
			break;
		case 'p':
			o->dport = (uint16_t)atoi(optarg);
			break;
		case 's':
			cidr = optarg;
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 't':
			o->secs = atof(optarg);
			break;
		case 'T':
			o->threads = atoi(optarg);
			break;
		case 'b':
			o->batch = atoi(optarg);
			break;
		case 'M':
			if (parse_mac(optarg, o->dmac) < 0)
				usage();
			o->have_dmac = true;
			break;
		case 'g':
			gw = optarg;
			break;
		case 'A':
			o->ack = true;
			break;
		case 'n':
			o->tcp_options = false;
			break;
		case 'q':
			o->quiet = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !o->ifname[0] || !o->dst || o->secs <= 0 || o->threads < 1 ||
	    o->threads > MAX_THREADS || o->batch < 1 || o->batch > MAX_BATCH || o->rate < 0)
		usage();
	if (parse_cidr(cidr, &o->net, &o->hostmask) < 0) {
		fprintf(stderr, "synflood: bad CIDR %s\n", cidr);
		exit(2);
	}
	if (!o->have_dmac) {
		uint32_t ip = 0;

		if (gw) {
			if (inet_pton(AF_INET, gw, &a) != 1)
				usage();
			ip = a.s_addr;
		} else {
			ip = default_gw(o->ifname);
		}
		if (!ip || arp_lookup(ip, o->ifname, o->dmac) < 0) {
			fprintf(stderr, "synflood: no destination MAC: give -M, or ping the gateway "
					"first so /proc/net/arp has it\n");
			exit(2);
		}
	}
}

static int iface_init(struct opts *o)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		close(fd);
		return -1;
	}
	memcpy(o->smac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	o->ifindex = (int)if_nametoindex(o->ifname);
	return o->ifindex ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_THREADS];
	struct sigaction sa;
	struct opts o;
	uint64_t sent = 0, dropped = 0, t0 = UINT64_MAX, t1 = 0;
	double secs;
	int i, err = 0;

	parse_args(argc, argv, &o);
	if (iface_init(&o) < 0) {
		fprintf(stderr, "synflood: interface %s: %s\n", o.ifname, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		w->o = &o;
		w->rate = o.rate / o.threads;
		if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng))
			w->rng = now_ns() ^ (uint64_t)i << 32;
		w->fd = open_socket(&o);
		if (w->fd < 0) {
			fprintf(stderr, "synflood: AF_PACKET socket: %s\n", strerror(errno));
			return 1;
		}
		template_init(w);
	}
	for (i = 0; i < o.threads; i++)
		if (pthread_create(&ws[i].th, NULL, worker_run, &ws[i]) != 0) {
			fprintf(stderr, "synflood: pthread_create failed\n");
			stop = 1;
			o.threads = i;
			break;
		}
	for (i = 0; i < o.threads; i++) {
		pthread_join(ws[i].th, NULL);
		sent += ws[i].sent;
		dropped += ws[i].dropped;
		if (ws[i].start_ns < t0)
			t0 = ws[i].start_ns;
		if (ws[i].end_ns > t1)
			t1 = ws[i].end_ns;
		if (ws[i].err)
			err = ws[i].err;
		close(ws[i].fd);
	}
	secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
	if (err)
		fprintf(stderr, "synflood: send: %s\n", strerror(err));
	if (!o.quiet)
		fprintf(stderr,
			"synflood: %s, %d thread(s): %" PRIu64 " %s in %.3f s = %.0f pps "
			"(%" PRIu64 " refused by the device; offered %.0f pps)\n",
			o.ifname, o.threads, sent, o.ack ? "ACKs" : "SYNs", secs, secs > 0 ? (double)sent / secs : 0.0, dropped,
			secs > 0 ? (double)(sent + dropped) / secs : 0.0);
	printf("sent=%" PRIu64 " dropped=%" PRIu64 " secs=%.3f pps=%.0f offered_pps=%.0f\n", sent,
	       dropped, secs, secs > 0 ? (double)sent / secs : 0.0,
	       secs > 0 ? (double)(sent + dropped) / secs : 0.0);
	return err ? 1 : 0;
}

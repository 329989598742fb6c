/* cmocka tests of the XDP fast path: the real eBPF object (syngate_xdp.o,
 * built from src/bpf/syngate_xdp.c) loaded with libbpf, its maps filled
 * directly as src/io/xdp.c fills them, and the program run on hand-built
 * Ethernet frames with BPF_PROG_TEST_RUN.  Every SYN-ACK it sends is parsed
 * with the daemon's codec and its cookie checked with the daemon's cookie
 * code, so the two paths cannot drift apart unnoticed.
 *
 * Needs root (CAP_BPF + CAP_SYS_ADMIN).  The object's path is argv[1] or
 * $SYNGATE_XDP_OBJECT.
 *
 * Cases:
 *   synack_ipv4          Linux SYN (MSS 1460, SACK, timestamps, wscale 7) to a
 *                        learned backend (MSS 1400, wscale 10, SACK): XDP_TX
 *                        with MACs, addresses and ports swapped, SYN|ACK only,
 *                        ack = ISN + 1, window 0, TTL 64, MSS min(backend,
 *                        cap), SACK, wscale 10, no timestamps, valid IP and
 *                        TCP checksums, the frame shrunk to 14+20+32; the seq
 *                        is sg_cookie_make()'s cookie and sg_cookie_check()
 *                        decodes the client's options from it
 *   synack_ipv6          the same over IPv6 (hop limit 64, no flow label)
 *   synack_no_options    hping3-like SYN, unknown backend, learn-first off:
 *                        MSS = cap, no SACK, no wscale; frame grown to
 *                        exactly 14+20+24; the cookie encodes "no options"
 *   synack_backend_limits a backend without SACK or window scaling takes
 *                        them out of the SYN-ACK; its MSS above the cap is
 *                        capped
 *   pass_not_engaged     engaged = 0: XDP_PASS, pass_off counted
 *   pass_unprotected     port not in the bitmap, family not protected:
 *                        XDP_PASS, nothing counted
 *   pass_not_syn         SYN-ACK, ACK, SYN+FIN, UDP (v4 and v6): XDP_PASS,
 *                        nothing counted
 *   pass_ip_options      IPv4 IHL 6, first fragment: XDP_PASS, pass_shape
 *                        counted; later fragment: XDP_PASS, nothing counted
 *   pass_ipv6_exthdr     IPv6 hop-by-hop header before TCP: XDP_PASS
 *   pass_bad_options     option of length 1, running past the header, whose
 *                        length byte is past it, of a known kind and wrong
 *                        length; data offset past the frame, or past the
 *                        IP packet into the frame's trailer: XDP_PASS,
 *                        pass_shape counted
 *   pass_ct              a conntrack entry for the tuple (TIME_WAIT, v4 and
 *                        v6): XDP_PASS, pass_ct counted; a SYN of the next
 *                        port (no entry) gets XDP_TX
 *   pass_learn_first     learn-first, unknown backend: the first
 *                        SG_XDP_LEARN_BURST SYNs XDP_PASS (pass_learn), the
 *                        next one XDP_TX with the defaults
 *                        (cap MSS, default_wscale)
 *   slot_parity          odd slot: the cookie's low bit is 1, it verifies
 *                        with the same keys and still one slot later
 *   ack_valid            the ACK of an XDP SYN-ACK (v4, v6, with data):
 *                        XDP_PASS untouched, ack and ack_valid counted; one
 *                        slot later too (previous key slot)
 *   ack_forged           wrong cookie, wrong ISN, other tuple, two slots
 *                        later: XDP_DROP, drop_cookie_mac counted
 *   ack_zero_window      seq = ISN (zero-window probe, no data) with a valid
 *                        cookie passes (the daemon re-sends the SYN-ACK);
 *                        with data it is dropped
 *   ack_tracked          an ACK whose tuple conntrack knows (any cookie):
 *                        XDP_PASS, nothing counted
 *   ack_not_checked      drop_acks off (rst-invalid), engaged or not: a
 *                        forged ACK passes, nothing counted
 *   ack_checked_disengaged cookies not engaged (adaptive): a cookie issued
 *                        while engaged passes, a forged ACK is dropped
 *
 * The conntrack cases run in a network namespace of the test's own
 * (unshare), with entries made by conntrack(8): BPF_PROG_TEST_RUN gives the
 * program the namespace's loopback device, so bpf_xdp_ct_lookup() looks
 * there.  Without conntrack(8) they are skipped.
 *
 * Every frame the program passes must come back untouched; every case
 * checks all the counters of sg_stats, not only the one it is about.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "syngate/core/cookie.h"
#include "syngate/core/cookie_mac.h"
#include "syngate/core/packet.h"
#include "syngate/core/xdp_abi.h"
#include "tuples.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define ETHERTYPE_IP 0x0800
#define ETHERTYPE_IP6 0x86dd
#define CLIENT_ISN 0x12345678u
#define SLOT 1000 /* even: parity bit 0 */

/* The loaded object and its maps. */
static struct {
	const char *path;
	struct bpf_object *obj;
	int prog, ctl, cur, backends, stats, learn_at;
	int ncpus;
	uint64_t *percpu; /* ncpus values */
	bool has_ct;	  /* own network namespace and conntrack(8) to fill it */
} X;

/* What the program reads (sg_ctl entry 0) and the same keys as the daemon
 * holds them. */
static struct sg_xdp_ctl ctl;
static struct sg_cookie_keys keys;

#define COUNTER_NAME(id, name, total) [id] = name,
static const char *const counter_names[SG_XDP__COUNT] = {SG_XDP_COUNTERS(COUNTER_NAME)};
#undef COUNTER_NAME
#define COUNTER_TOTAL(id, name, total) [id] = total,
static const uint32_t counter_totals[SG_XDP__COUNT] = {SG_XDP_COUNTERS(COUNTER_TOTAL)};
#undef COUNTER_TOTAL

/* A frame in or out of the program; room for any SYN and for growth. */
struct frame {
	uint8_t b[256];
	size_t len;
};

/* What a test frame carries. */
struct spec {
	struct sg_tuple t; /* client -> server */
	uint32_t isn;	/* seq */
	uint32_t ack;	/* with SG_TCP_ACK; 0 means 0x55555555 */
	uint8_t flags; /* SG_TCP_* */
	size_t payload; /* bytes of data after the options */
	const uint8_t *opt; /* raw TCP option block */
	size_t optlen;	    /* a multiple of 4, at most 40 */
	size_t ipopt;	    /* IPv4 option bytes (NOPs), a multiple of 4 */
	bool hbh;	    /* IPv6: an empty hop-by-hop header before TCP */
};

/* What Linux sends: MSS 1460, SACK permitted, timestamps, NOP, wscale 7. */
static const uint8_t linux4_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x00, 0x0a,
					0xbc, 0xde, 0, 0, 0, 0, 1, 3, 3, 7};
/* The same over IPv6 on a 1500-byte link: MSS 1440. */
static const uint8_t linux6_opts[20] = {2, 4, 0x05, 0xa0, 4, 2, 8, 10, 0x00, 0x0a,
					0xbc, 0xde, 0, 0, 0, 0, 1, 3, 3, 7};

/* --- frames ---------------------------------------------------------------- */

static const uint8_t mac_server[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_client[6] = {0x02, 0, 0, 0, 0, 0x02};

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static struct spec spec_linux4(void)
{
	struct spec s = {.t = tuple4(), .isn = CLIENT_ISN, .flags = SG_TCP_SYN};

	s.opt = linux4_opts;
	s.optlen = sizeof(linux4_opts);
	return s;
}

static struct spec spec_linux6(void)
{
	struct spec s = {.t = tuple6(), .isn = CLIENT_ISN, .flags = SG_TCP_SYN};

	s.opt = linux6_opts;
	s.optlen = sizeof(linux6_opts);
	return s;
}

/* Writes the IPv4 header of @s for a TCP segment of @tcplen bytes; returns
 * its length. */
static size_t build_ip4(uint8_t *ip, const struct spec *s, size_t tcplen)
{
	size_t iplen = IP4_LEN + s->ipopt;
	uint16_t sum;

	ip[0] = (uint8_t)(0x40 | iplen / 4);
	wr16(ip + 2, (uint16_t)(iplen + tcplen));
	wr16(ip + 4, 0x1234); /* id */
	wr16(ip + 6, 0x4000); /* DF */
	ip[8] = 57;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, s->t.saddr, 4);
	memcpy(ip + 16, s->t.daddr, 4);
	memset(ip + IP4_LEN, 1, s->ipopt); /* NOP options */
	sum = sg_csum_ipv4(ip, iplen);
	memcpy(ip + 10, &sum, 2);
	return iplen;
}

/* Writes the IPv6 header of @s (and its hop-by-hop header) for a TCP segment
 * of @tcplen bytes; returns their length. */
static size_t build_ip6(uint8_t *ip, const struct spec *s, size_t tcplen)
{
	size_t ext = s->hbh ? 8 : 0;

	ip[0] = 0x60;
	ip[1] = 0x0a; /* a flow label the reply must not keep */
	wr16(ip + 4, (uint16_t)(ext + tcplen));
	ip[6] = s->hbh ? IPPROTO_HOPOPTS : IPPROTO_TCP;
	ip[7] = 57;
	memcpy(ip + 8, s->t.saddr, 16);
	memcpy(ip + 24, s->t.daddr, 16);
	if (s->hbh) { /* next header TCP, length 0, PadN of 4 */
		ip[IP6_LEN] = IPPROTO_TCP;
		ip[IP6_LEN + 2] = 1;
		ip[IP6_LEN + 3] = 4;
	}
	return IP6_LEN + ext;
}

/* Builds the Ethernet frame (client -> server) described by @s into @f, with
 * valid checksums. */
static void frame_build(struct frame *f, const struct spec *s)
{
	uint8_t *ip = f->b + ETH_LEN, *tcp;
	size_t tcplen = TCP_LEN + s->optlen + s->payload, iplen;
	uint16_t sum;

	assert_true(ETH_LEN + IP6_LEN + 8 + tcplen <= sizeof(f->b));
	memset(f, 0, sizeof(*f));
	memcpy(f->b, mac_server, 6);
	memcpy(f->b + 6, mac_client, 6);
	wr16(f->b + 12, s->t.family == AF_INET6 ? ETHERTYPE_IP6 : ETHERTYPE_IP);
	iplen = s->t.family == AF_INET6 ? build_ip6(ip, s, tcplen) : build_ip4(ip, s, tcplen);
	tcp = ip + iplen;
	wr16(tcp, s->t.sport);
	wr16(tcp + 2, s->t.dport);
	wr32(tcp + 4, s->isn);
	wr32(tcp + 8, s->flags & SG_TCP_ACK ? (s->ack ? s->ack : 0x55555555u) : 0);
	tcp[12] = (uint8_t)((TCP_LEN + s->optlen) / 4 << 4);
	tcp[13] = s->flags;
	wr16(tcp + 14, 64240);
	if (s->optlen) /* memcpy() from NULL is undefined even for 0 bytes (UBSan) */
		memcpy(tcp + TCP_LEN, s->opt, s->optlen);
	memset(tcp + TCP_LEN + s->optlen, 'x', s->payload);
	sum = sg_csum_tcp(s->t.family, s->t.saddr, s->t.daddr, tcp, tcplen);
	memcpy(tcp + 16, &sum, 2);
	f->len = ETH_LEN + iplen + tcplen;
}

/* --- maps ---------------------------------------------------------------- */

/* Writes ctl to sg_ctl entry 0 and points sg_cur at it. */
static void publish(void)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(X.ctl, &zero, &ctl, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(X.cur, &zero, &zero, BPF_ANY), 0);
}

/* Sets keys and ctl's copy of them to slot @slot with fresh secrets. */
static void keys_set(uint64_t slot)
{
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];

	fill_random(rnd, sizeof(rnd), 0x9e3779b97f4a7c15ull + slot);
	sg_cookie_init(&keys, 30, slot * 30, rnd);
	assert_int_equal(keys.slot, slot);
	ctl.slot = keys.slot;
	memcpy(ctl.secret, keys.secret, sizeof(ctl.secret));
}

static void port_protect(uint16_t port)
{
	ctl.ports[port >> 6] |= 1ULL << (port & 63);
}

/* Deletes every entry of the hash map @fd (keys of @klen bytes). */
static void map_clear(int fd, size_t klen)
{
	uint8_t key[64];

	assert_true(klen <= sizeof(key));
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

/* Sets every CPU's value of the per-CPU array @fd (@n u64 entries) to 0. */
static void percpu_zero(int fd, uint32_t n)
{
	uint32_t k;

	memset(X.percpu, 0, (size_t)X.ncpus * sizeof(uint64_t));
	for (k = 0; k < n; k++)
		assert_int_equal(bpf_map_update_elem(fd, &k, X.percpu, BPF_ANY), 0);
}

static void backend_put(const struct sg_tuple *t, uint16_t mss, uint8_t has_wscale,
			uint8_t wscale, uint8_t sack_ok)
{
	struct sg_xdp_bkey k;
	struct sg_xdp_backend b;

	memset(&k, 0, sizeof(k));
	memset(&b, 0, sizeof(b));
	k.family = t->family;
	k.port = t->dport;
	memcpy(k.addr, t->daddr, sg_addr_len(t->family));
	b.mss = mss;
	b.has_wscale = has_wscale;
	b.wscale = wscale;
	b.sack_ok = sack_ok;
	assert_int_equal(bpf_map_update_elem(X.backends, &k, &b, BPF_ANY), 0);
}

/* Checks every sg_stats counter, summed over the CPUs, against @want. */
static void expect_counters(const uint64_t *want)
{
	uint64_t sum, got[SG_XDP__COUNT], parts[SG_XDP__COUNT] = {0};
	bool has_parts[SG_XDP__COUNT] = {false};
	uint32_t k;
	int i, bad = 0;

	for (k = 0; k < SG_XDP__COUNT; k++) {
		assert_int_equal(bpf_map_lookup_elem(X.stats, &k, X.percpu), 0);
		for (sum = 0, i = 0; i < X.ncpus; i++)
			sum += X.percpu[i];
		got[k] = sum;
		if (counter_totals[k] != k) {
			parts[counter_totals[k]] += sum;
			has_parts[counter_totals[k]] = true;
		}
		if (sum != want[k]) {
			print_error("counter %s: %llu, expected %llu\n", counter_names[k],
				    (unsigned long long)sum, (unsigned long long)want[k]);
			bad = 1;
		}
	}
	/* each total is the sum of its parts (the metrics' breakdowns) */
	for (k = 0; k < SG_XDP__COUNT; k++)
		if (has_parts[k] && parts[k] != got[k]) {
			print_error("%s: %llu, its parts sum to %llu\n", counter_names[k],
				    (unsigned long long)got[k], (unsigned long long)parts[k]);
			bad = 1;
		}
	assert_false(bad);
}

/* --- running ------------------------------------------------------------- */

/* Runs the program once on @in; @out receives the frame it leaves.  Returns
 * its verdict. */
static uint32_t run(const struct frame *in, struct frame *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (uint32_t)in->len,
		    .data_out = out->b, .data_size_out = sizeof(out->b), .repeat = 1);

	memset(out, 0, sizeof(*out));
	assert_int_equal(bpf_prog_test_run_opts(X.prog, &o), 0);
	out->len = o.data_size_out;
	return o.retval;
}

/* Runs the program on @in and checks that it passes the frame untouched. */
static void expect_pass(const struct frame *in)
{
	struct frame out;

	assert_int_equal(run(in, &out), XDP_PASS);
	assert_int_equal(out.len, in->len);
	assert_memory_equal(out.b, in->b, in->len);
}

/* Checks that @out is the cookie SYN-ACK answering the SYN @in and fills @p
 * (the reply, parsed) and @syn (the SYN, parsed). */
static void check_synack(const struct frame *in, const struct frame *out, struct sg_pkt *syn,
			 struct sg_pkt *p)
{
	struct sg_tuple r;
	size_t iplen;

	assert_int_equal(sg_pkt_parse(syn, in->b + ETH_LEN, in->len - ETH_LEN), SG_R_OK);
	assert_true(out->len > ETH_LEN);
	/* Ethernet: MACs swapped, same EtherType */
	assert_memory_equal(out->b, in->b + 6, 6);
	assert_memory_equal(out->b + 6, in->b, 6);
	assert_memory_equal(out->b + 12, in->b + 12, 2);
	/* IP: the whole frame is the packet, no trailing bytes */
	assert_int_equal(sg_pkt_parse(p, out->b + ETH_LEN, out->len - ETH_LEN), SG_R_OK);
	assert_int_equal(p->len, out->len - ETH_LEN);
	iplen = syn->tuple.family == AF_INET6 ? IP6_LEN : IP4_LEN;
	assert_int_equal(p->l4off, iplen);
	assert_int_equal(p->ttl, 64);
	if (syn->tuple.family == AF_INET6) {
		/* version 6, traffic class 0, flow label 0 */
		assert_memory_equal(p->buf, ((const uint8_t[]){0x60, 0, 0, 0}), 4);
	} else {
		assert_int_equal(p->buf[0], 0x45);
		assert_int_equal(sg_csum_ipv4(p->buf, IP4_LEN), 0);
	}
	/* TCP: the reverse tuple, SYN|ACK only, the client ISN acked, window 0 */
	r = sg_tuple_reverse(&syn->tuple);
	assert_int_equal(p->tuple.family, r.family);
	assert_memory_equal(p->tuple.saddr, r.saddr, 16);
	assert_memory_equal(p->tuple.daddr, r.daddr, 16);
	assert_int_equal(p->tuple.sport, r.sport);
	assert_int_equal(p->tuple.dport, r.dport);
	assert_int_equal(p->flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p->ack, syn->seq + 1);
	assert_int_equal(p->window, 0);
	assert_int_equal(p->payload_len, 0);
	assert_int_equal(sg_csum_tcp(p->tuple.family, p->tuple.saddr, p->tuple.daddr,
				     p->buf + p->l4off, p->len - p->l4off),
			 0);
	/* an MSS always; never timestamps (the cookie cannot carry them) */
	assert_true(p->opts.has_mss);
	assert_false(p->opts.has_ts);
	/* the ISN is the daemon's cookie for this SYN, with the same keys */
	assert_int_equal(p->seq, sg_cookie_make(&keys, &syn->tuple, syn->seq, &syn->opts,
						sg_cookie_told(&p->opts), NULL));
}

/* Checks that the daemon accepts @cookie (of a SYN-ACK that told @told) for
 * SYN @syn with @k and decodes @mss, @sack and @wscale (-1: none) from it. */
static void check_cookie(const struct sg_cookie_keys *k, const struct sg_pkt *syn,
			 uint32_t cookie, uint8_t told, uint16_t mss, bool sack, int wscale)
{
	struct sg_cookie_opts dec;

	assert_int_equal(sg_cookie_check(k, &syn->tuple, syn->seq, cookie, told, &dec), SG_R_OK);
	assert_int_equal(dec.mss, mss);
	assert_int_equal(dec.sack_ok, sack);
	assert_int_equal(dec.has_wscale, wscale >= 0);
	if (wscale >= 0)
		assert_int_equal(dec.wscale, wscale);
}

/* --- set-up ---------------------------------------------------------------- */

static int map_fd(const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(X.obj, name);

	if (fd < 0)
		fprintf(stderr, "test_xdp: %s has no map %s\n", X.path, name);
	return fd;
}

/* Loads the object once for all the cases. */
static int load(void **state)
{
	struct bpf_program *prog;

	(void)state;
	X.ncpus = libbpf_num_possible_cpus();
	if (X.ncpus < 1)
		return -1;
	X.percpu = calloc((size_t)X.ncpus, sizeof(uint64_t));
	X.obj = bpf_object__open_file(X.path, NULL);
	if (!X.percpu || !X.obj) {
		fprintf(stderr, "test_xdp: cannot open %s\n", X.path);
		return -1;
	}
	if (bpf_object__load(X.obj) != 0) {
		fprintf(stderr, "test_xdp: cannot load %s: %s (root?)\n", X.path,
			strerror(errno));
		return -1;
	}
	prog = bpf_object__find_program_by_name(X.obj, "syngate_xdp");
	X.prog = prog ? bpf_program__fd(prog) : -1;
	X.ctl = map_fd("sg_ctl");
	X.cur = map_fd("sg_cur");
	X.backends = map_fd("sg_backends");
	X.stats = map_fd("sg_stats");
	X.learn_at = map_fd("sg_learn_at");
	if (X.prog < 0 || X.ctl < 0 || X.cur < 0 || X.backends < 0 ||
	    X.stats < 0 || X.learn_at < 0)
		return -1;
	return 0;
}

static int unload(void **state)
{
	(void)state;
	bpf_object__close(X.obj);
	free(X.percpu);
	return 0;
}

/* Before each case: cookies engaged on ports 80 and 443 of both families,
 * caps 1460 / 1440, default wscale 9, learn-first off, bad cookie ACKs
 * dropped, slot SLOT; no backend, no conntrack entry,
 * all counters and the learning clock at 0. */
static int reset(void **state)
{
	(void)state;
	memset(&ctl, 0, sizeof(ctl));
	keys_set(SLOT);
	ctl.engaged = 1;
	ctl.mss4 = 1460;
	ctl.mss6 = 1440;
	ctl.default_wscale = 9;
	ctl.ipv4 = 1;
	ctl.ipv6 = 1;
	ctl.drop_acks = 1;
	port_protect(80);
	port_protect(443);
	publish();
	map_clear(X.backends, sizeof(struct sg_xdp_bkey));
	if (X.has_ct && system("conntrack -F >/dev/null 2>&1") != 0)
		return -1;
	percpu_zero(X.stats, SG_XDP__COUNT);
	percpu_zero(X.learn_at, 2);
	return 0;
}

/* --- SYN-ACKs ------------------------------------------------------------ */

/* A Linux SYN to a backend learned with MSS 1400, wscale 10 and SACK. */
static void synack_known_backend(int v6)
{
	struct spec s = v6 ? spec_linux6() : spec_linux4();
	struct frame in, out;
	struct sg_pkt syn, p;

	backend_put(&s.t, 1400, 1, 10, 1);
	frame_build(&in, &s);
	assert_int_equal(run(&in, &out), XDP_TX);
	/* 20 bytes of options in, 12 out: MSS, NOP NOP SACK-perm, NOP wscale */
	assert_int_equal(out.len, ETH_LEN + (v6 ? IP6_LEN : IP4_LEN) + TCP_LEN + 12);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.opts.mss, 1400); /* the backend's, below the cap */
	assert_true(p.opts.sack_ok);
	assert_true(p.opts.has_wscale);
	assert_int_equal(p.opts.wscale, 10); /* the backend's, not the client's */
	assert_int_equal(p.seq & 1, SLOT & 1);
	check_cookie(&keys, &syn, p.seq, sg_cookie_told(&p.opts), v6 ? 1440 : 1460, true, 7);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1});
}

static void synack_ipv4(void **state)
{
	(void)state;
	synack_known_backend(0);
}

static void synack_ipv6(void **state)
{
	(void)state;
	synack_known_backend(1);
}

/* hping3's SYN: no options at all.  The frame grows by the 4 bytes of MSS. */
static void synack_no_options(void **state)
{
	struct spec s = {.t = tuple4(), .isn = 0xfffffffeu, .flags = SG_TCP_SYN};
	struct frame in, out;
	struct sg_pkt syn, p;

	(void)state;
	ctl.mss4 = 1360; /* a cap none of the other numbers here has */
	publish();
	frame_build(&in, &s);
	assert_int_equal(in.len, ETH_LEN + IP4_LEN + TCP_LEN);
	assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(out.len, ETH_LEN + IP4_LEN + TCP_LEN + 4);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.doff, TCP_LEN + 4);
	assert_int_equal(p.opts.mss, 1360);
	assert_false(p.opts.sack_ok);
	assert_false(p.opts.has_wscale);
	assert_int_equal(p.ack, 0xffffffffu);
	check_cookie(&keys, &syn, p.seq, sg_cookie_told(&p.opts), 536, false, -1); /* no MSS option: the minimum */
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1});
}

/* A backend learned without SACK and without window scaling: the client must
 * not be offered either (on_syn()); a backend MSS above the cap is capped. */
static void synack_backend_limits(void **state)
{
	struct spec s4 = spec_linux4(), s6 = spec_linux6();
	struct frame in, out;
	struct sg_pkt syn, p;

	(void)state;
	backend_put(&s4.t, 9000, 0, 0, 0);
	backend_put(&s6.t, 9000, 0, 0, 0);
	frame_build(&in, &s4);
	assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(out.len, ETH_LEN + IP4_LEN + TCP_LEN + 4);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.opts.mss, 1460);
	assert_false(p.opts.sack_ok);
	assert_false(p.opts.has_wscale);
	/* the cookie still carries what the client offered */
	check_cookie(&keys, &syn, p.seq, sg_cookie_told(&p.opts), 1460, true, 7);

	frame_build(&in, &s6);
	assert_int_equal(run(&in, &out), XDP_TX);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.opts.mss, 1440);
	assert_false(p.opts.sack_ok);
	assert_false(p.opts.has_wscale);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 2, [SG_XDP_ANSWERED] = 2});
}

/* --- passes -------------------------------------------------------------- */

static void pass_not_engaged(void **state)
{
	struct spec s = spec_linux4();
	struct frame in;

	(void)state;
	backend_put(&s.t, 1400, 1, 10, 1);
	ctl.engaged = 0;
	publish();
	frame_build(&in, &s);
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_PASS_OFF] = 1});
}

/* A port outside the bitmap and a family not protected: not looked at. */
static void pass_unprotected(void **state)
{
	struct spec s = spec_linux4();
	struct frame in;

	(void)state;
	s.t.dport = 8080;
	frame_build(&in, &s);
	expect_pass(&in);
	s.t.dport = 81; /* the neighbour of a protected port, same bitmap word */
	frame_build(&in, &s);
	expect_pass(&in);
	ctl.ipv6 = 0;
	publish();
	s = spec_linux6();
	frame_build(&in, &s);
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){0});
}

/* Segments that are not a client's SYN, to a protected port. */
static void pass_not_syn(void **state)
{
	struct spec s = spec_linux4();
	struct frame in;

	(void)state;
	s.flags = SG_TCP_SYN | SG_TCP_ACK; /* a backend's answer */
	frame_build(&in, &s);
	expect_pass(&in);
	s.flags = SG_TCP_RST | SG_TCP_ACK; /* not a cookie ACK (RST) */
	s.optlen = 0;
	frame_build(&in, &s);
	expect_pass(&in);
	s.flags = SG_TCP_SYN | SG_TCP_FIN;
	frame_build(&in, &s);
	expect_pass(&in);
	s = spec_linux4(); /* a SYN's bytes under another protocol number */
	frame_build(&in, &s);
	in.b[ETH_LEN + 9] = IPPROTO_UDP;
	in.b[ETH_LEN + 10] = in.b[ETH_LEN + 11] = 0;
	memcpy(in.b + ETH_LEN + 10, &(uint16_t){sg_csum_ipv4(in.b + ETH_LEN, IP4_LEN)}, 2);
	expect_pass(&in);
	s = spec_linux6();
	frame_build(&in, &s);
	in.b[ETH_LEN + 6] = IPPROTO_UDP;
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){0});
}

/* Sets the fragment field of the IPv4 frame @f to @frag (MF | offset) and
 * recomputes its header checksum. */
static void refragment(struct frame *f, uint16_t frag)
{
	uint8_t *ip = f->b + ETH_LEN;

	wr16(ip + 6, frag);
	wr16(ip + 10, 0);
	memcpy(ip + 10, &(uint16_t){sg_csum_ipv4(ip, IP4_LEN)}, 2);
}

/* IPv4 options (IHL 6) and fragments: the daemon's, counted as shape passes. */
static void pass_ip_options(void **state)
{
	struct spec s = spec_linux4();
	struct frame in;
	struct sg_pkt p;

	(void)state;
	backend_put(&s.t, 1400, 1, 10, 1);
	s.ipopt = 4;
	frame_build(&in, &s);
	assert_int_equal(sg_pkt_parse(&p, in.b + ETH_LEN, in.len - ETH_LEN), SG_R_OK);
	assert_int_equal(p.l4off, 24);
	expect_pass(&in);
	/* a first fragment (MF) holds the TCP header: counted the same way */
	s.ipopt = 0;
	frame_build(&in, &s);
	refragment(&in, 0x2000);
	expect_pass(&in);
	/* a later fragment holds no TCP header: not looked at */
	refragment(&in, 0x0010);
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 2, [SG_XDP_PASS_SHAPE] = 2});
}

/* Frames the kernel would drop, or that are no single client's, are never
 * answered: a broadcast or multicast destination MAC, an IPv4 total length
 * past the frame or short of the headers, a bad IPv4 header checksum, a
 * broadcast or multicast destination address, an IPv6 payload length past
 * the frame.  Each is first shown answered when well-formed. */
static void pass_bad_frames(void **state)
{
	struct spec s4 = spec_linux4(), s6 = spec_linux6();
	struct frame in, out;
	uint8_t *ip;

	(void)state;
	backend_put(&s4.t, 1400, 1, 10, 1);
	backend_put(&s6.t, 1400, 1, 10, 1);
	frame_build(&in, &s4);
	assert_int_equal(run(&in, &out), XDP_TX);
	in.b[0] = 0xff; /* broadcast MAC */
	expect_pass(&in);
	in.b[0] = 0x01; /* multicast MAC */
	expect_pass(&in);
	frame_build(&in, &s4);
	ip = in.b + ETH_LEN;
	wr16(ip + 2, (uint16_t)(in.len - ETH_LEN + 8)); /* total length past the frame */
	wr16(ip + 10, 0);
	memcpy(ip + 10, &(uint16_t){sg_csum_ipv4(ip, IP4_LEN)}, 2);
	expect_pass(&in);
	wr16(ip + 2, IP4_LEN + 8); /* short of the TCP header */
	wr16(ip + 10, 0);
	memcpy(ip + 10, &(uint16_t){sg_csum_ipv4(ip, IP4_LEN)}, 2);
	expect_pass(&in);
	frame_build(&in, &s4);
	in.b[ETH_LEN + 10] ^= 0x55; /* header checksum */
	expect_pass(&in);
	s4.t.daddr[0] = s4.t.daddr[1] = s4.t.daddr[2] = s4.t.daddr[3] = 255;
	frame_build(&in, &s4);
	expect_pass(&in);
	s4.t.daddr[0] = 224;
	s4.t.daddr[3] = 1;
	frame_build(&in, &s4);
	expect_pass(&in);
	frame_build(&in, &s6);
	assert_int_equal(run(&in, &out), XDP_TX);
	wr16(in.b + ETH_LEN + 4, (uint16_t)(in.len - ETH_LEN - IP6_LEN + 8)); /* past the frame */
	expect_pass(&in);
	s6.t.daddr[0] = 0xff;
	frame_build(&in, &s6);
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 2, [SG_XDP_ANSWERED] = 2});
}

/* An IPv6 extension header: the daemon walks the chain, the program does not.
 * Only the verdict is checked: the program cannot see the port behind the
 * header, so it cannot tell whether the SYN is one to count. */
static void pass_ipv6_exthdr(void **state)
{
	struct spec s = spec_linux6();
	struct frame in;
	struct sg_pkt p;

	(void)state;
	backend_put(&s.t, 1400, 1, 10, 1);
	s.hbh = true;
	frame_build(&in, &s);
	assert_int_equal(sg_pkt_parse(&p, in.b + ETH_LEN, in.len - ETH_LEN), SG_R_OK);
	assert_int_equal(p.flags, SG_TCP_SYN);
	expect_pass(&in);
}

/* TCP options the codec calls malformed: the daemon counts the drop. */
static void pass_bad_options(void **state)
{
	static const uint8_t bad[][8] = {
		{2, 4, 0x05, 0xb4, 1, 1, 30, 1},   /* length 1 */
		{2, 4, 0x05, 0xb4, 1, 1, 30, 12},  /* runs past the header */
		{2, 4, 0x05, 0xb4, 1, 1, 1, 30},   /* length byte past the header */
		{2, 4, 0x05, 0xb4, 3, 4, 7, 0},	   /* wscale of length 4 */
		{8, 6, 0, 0, 0, 1, 1, 1},	   /* timestamps of length 6 */
	};
	struct spec s = spec_linux4();
	struct frame in;
	struct sg_pkt p;
	uint16_t sum;
	size_t i;

	(void)state;
	backend_put(&s.t, 1400, 1, 10, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.opt = bad[i];
		s.optlen = sizeof(bad[i]);
		frame_build(&in, &s);
		assert_int_equal(sg_pkt_parse(&p, in.b + ETH_LEN, in.len - ETH_LEN),
				 SG_R_BAD_OPTION);
		expect_pass(&in);
	}
	s = spec_linux4(); /* a data offset past the frame */
	frame_build(&in, &s);
	in.b[ETH_LEN + IP4_LEN + 12] = 0xf0;
	assert_int_equal(sg_pkt_parse(&p, in.b + ETH_LEN, in.len - ETH_LEN), SG_R_BAD_DOFF);
	expect_pass(&in);
	/* a data offset past the IP packet into the frame's trailer: options
	 * that are no part of the packet (tests/fuzz/corpus/xdp/regress-*) */
	s = spec_linux4();
	s.payload = 12;
	frame_build(&in, &s);
	in.b[ETH_LEN + 3] = (uint8_t)(in.b[ETH_LEN + 3] - 12); /* tot_len, < 256 */
	in.b[ETH_LEN + 10] = in.b[ETH_LEN + 11] = 0;
	sum = sg_csum_ipv4(in.b + ETH_LEN, IP4_LEN);
	memcpy(in.b + ETH_LEN + 10, &sum, 2);
	in.b[ETH_LEN + IP4_LEN + 12] = (uint8_t)((TCP_LEN + sizeof(linux4_opts) + 12) / 4 << 4);
	memset(in.b + ETH_LEN + IP4_LEN + TCP_LEN + sizeof(linux4_opts), 1, 12); /* NOPs */
	assert_int_equal(sg_pkt_parse(&p, in.b + ETH_LEN, in.len - ETH_LEN), SG_R_BAD_DOFF);
	expect_pass(&in);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 7, [SG_XDP_PASS_SHAPE] = 7});
}

/* Creates a conntrack entry for @t (client -> server) in @state in the
 * test's namespace; skips the case without one. */
static void ct_add(const struct sg_tuple *t, const char *state)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], cmd[512];

	if (!X.has_ct)
		skip();
	inet_ntop(t->family, t->saddr, src, sizeof(src));
	inet_ntop(t->family, t->daddr, dst, sizeof(dst));
	snprintf(cmd, sizeof(cmd),
		 "conntrack -I -p tcp -s %s -d %s --sport %u --dport %u --state %s -t 120 "
		 ">/dev/null 2>&1",
		 src, dst, t->sport, t->dport, state);
	assert_int_equal(system(cmd), 0);
}

/* A SYN whose tuple conntrack knows (a reused port over TIME_WAIT) goes to
 * the daemon (which looks it up too and passes it through); other tuples are
 * answered. */
static void pass_ct_one(struct spec s)
{
	struct sg_tuple other = s.t;
	struct frame in, out;
	struct sg_pkt syn, p;

	other.sport++;
	backend_put(&s.t, 1400, 1, 10, 1);
	ct_add(&s.t, "TIME_WAIT");
	frame_build(&in, &s);
	expect_pass(&in);
	s.t = other;
	frame_build(&in, &s);
	assert_int_equal(run(&in, &out), XDP_TX);
	check_synack(&in, &out, &syn, &p);
	expect_counters((uint64_t[SG_XDP__COUNT]){
		[SG_XDP_SYN] = 2, [SG_XDP_PASS_CT] = 1, [SG_XDP_ANSWERED] = 1});
}

static void pass_ct(void **state)
{
	(void)state;
	pass_ct_one(spec_linux4());
	reset(NULL);
	pass_ct_one(spec_linux6());
}

/* Learn-first: SG_XDP_LEARN_BURST SYNs to an unknown backend go to the
 * daemon, the next one (within SG_XDP_LEARN_GAP_NS, same CPU) is answered
 * with the defaults. */
static void pass_learn_first(void **state)
{
	struct spec s = spec_linux4();
	struct frame in, out;
	struct sg_pkt syn, p;

	(void)state;
	ctl.learn_first = 1;
	publish();
	frame_build(&in, &s);
	for (int i = 0; i < SG_XDP_LEARN_BURST; i++)
		expect_pass(&in);
	assert_int_equal(run(&in, &out), XDP_TX);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.opts.mss, 1460);
	assert_true(p.opts.sack_ok);
	assert_true(p.opts.has_wscale);
	assert_int_equal(p.opts.wscale, 9); /* default_wscale */
	check_cookie(&keys, &syn, p.seq, sg_cookie_told(&p.opts), 1460, true, 7);
	expect_counters((uint64_t[SG_XDP__COUNT]){
		[SG_XDP_SYN] = SG_XDP_LEARN_BURST + 1, [SG_XDP_PASS_LEARN] = SG_XDP_LEARN_BURST,
		[SG_XDP_ANSWERED] = 1});
}

/* --- keys ---------------------------------------------------------------- */

/* An odd slot: the cookie's parity bit is 1 and secret[1] made it, so it
 * still verifies after the rotation that replaces secret[0]. */
static void slot_parity(void **state)
{
	struct spec s = spec_linux6();
	struct sg_cookie_keys later;
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];
	struct frame in, out;
	struct sg_pkt syn, p;

	(void)state;
	keys_set(SLOT + 1);
	publish();
	frame_build(&in, &s);
	assert_int_equal(run(&in, &out), XDP_TX);
	check_synack(&in, &out, &syn, &p);
	assert_int_equal(p.seq & 1, 1);
	check_cookie(&keys, &syn, p.seq, sg_cookie_told(&p.opts), 1440, true, 7);
	later = keys;
	fill_random(rnd, sizeof(rnd), 42);
	assert_int_equal(sg_cookie_rotate(&later, (SLOT + 2) * 30, rnd), 1);
	check_cookie(&later, &syn, p.seq, sg_cookie_told(&p.opts), 1440, true, 7);
	assert_int_equal(sg_cookie_rotate(&later, (SLOT + 3) * 30, rnd), 1);
	assert_int_not_equal(sg_cookie_check(&later, &syn.tuple, syn.seq, p.seq, sg_cookie_told(&p.opts),
					     &(struct sg_cookie_opts){0}),
			     SG_R_OK);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1});
}

/* --- cookie ACKs --------------------------------------------------------- */

/* The cookie the program answers SYN @s with (its SYN-ACK checked). */
static uint32_t xdp_cookie(const struct spec *s)
{
	struct frame in, out;
	struct sg_pkt syn, p;

	frame_build(&in, s);
	assert_int_equal(run(&in, &out), XDP_TX);
	check_synack(&in, &out, &syn, &p);
	return p.seq;
}

/* The client's ACK completing SYN @syn answered with @cookie. */
static struct spec ack_of(struct spec syn, uint32_t cookie)
{
	syn.flags = SG_TCP_ACK;
	syn.isn++;
	syn.ack = cookie + 1;
	syn.opt = NULL;
	syn.optlen = 0;
	return syn;
}

/* Runs the program on @s and expects @verdict (a passed frame untouched). */
static void expect_verdict(const struct spec *s, uint32_t verdict)
{
	struct frame in, out;

	frame_build(&in, s);
	if (verdict == XDP_PASS) {
		expect_pass(&in);
		return;
	}
	assert_int_equal(run(&in, &out), verdict);
}

/* The daemon's rotation to @slot (one new secret), handed to the program. */
static void rotate_to(uint64_t slot)
{
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];

	fill_random(rnd, sizeof(rnd), slot);
	assert_int_equal(sg_cookie_rotate(&keys, slot * 30, rnd), 1);
	ctl.slot = keys.slot;
	memcpy(ctl.secret, keys.secret, sizeof(ctl.secret));
	publish();
}

static void ack_valid(void **state)
{
	struct spec s4 = spec_linux4(), s6 = spec_linux6();
	struct spec a4 = ack_of(s4, xdp_cookie(&s4)), a6 = ack_of(s6, xdp_cookie(&s6));

	(void)state;
	expect_verdict(&a4, XDP_PASS);
	expect_verdict(&a6, XDP_PASS);
	a4.payload = a6.payload = 100; /* the request in the first ACK */
	expect_verdict(&a4, XDP_PASS);
	expect_verdict(&a6, XDP_PASS);
	rotate_to(SLOT + 1); /* issued in the previous slot: still valid */
	expect_verdict(&a4, XDP_PASS);
	rotate_to(SLOT + 2); /* two slots later: the secret is gone */
	expect_verdict(&a4, XDP_DROP);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 2, [SG_XDP_ANSWERED] = 2,
						  [SG_XDP_ACK] = 6, [SG_XDP_ACK_VALID] = 5,
						  [SG_XDP_DROP_COOKIE_MAC] = 1});
}

static void ack_forged(void **state)
{
	struct spec s = spec_linux4(), s6 = spec_linux6();
	uint32_t c = xdp_cookie(&s);
	struct spec a = ack_of(s, c ^ 0x100); /* one MAC bit off */

	(void)state;
	expect_verdict(&a, XDP_DROP);
	a = ack_of(s, c);
	a.isn += 7; /* another client ISN */
	expect_verdict(&a, XDP_DROP);
	a = ack_of(s, c);
	a.t.sport++; /* another tuple */
	expect_verdict(&a, XDP_DROP);
	a = ack_of(s6, 0x12345600); /* a guess, v6 */
	expect_verdict(&a, XDP_DROP);
	keys_set(0); /* slot 0: an odd cookie names slot -1 */
	publish();
	a = ack_of(s, c | 1);
	expect_verdict(&a, XDP_DROP);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1,
						  [SG_XDP_ACK] = 5, [SG_XDP_DROP_COOKIE_MAC] = 4,
						  [SG_XDP_DROP_COOKIE_STALE] = 1});
}

/* A SYN answered while the backend was unknown told default_wscale (9); the
 * daemon learns the backend (wscale 2) before the ACK comes.  The ACK is
 * valid while the map says what was told before (told_before, until the
 * slot told_since), and only then: the told scale is MAC input. */
static void ack_told_history(void **state)
{
	struct spec s = spec_linux4();
	struct spec a = ack_of(s, xdp_cookie(&s));
	struct sg_xdp_bkey k;
	struct sg_xdp_backend b;

	(void)state;
	backend_put(&s.t, 1460, 1, 2, 1); /* learned, history lost */
	expect_verdict(&a, XDP_DROP);
	memset(&k, 0, sizeof(k));
	memset(&b, 0, sizeof(b));
	k.family = s.t.family;
	k.port = s.t.dport;
	memcpy(k.addr, s.t.daddr, 4);
	b = (struct sg_xdp_backend){.mss = 1460, .has_wscale = 1, .wscale = 2, .sack_ok = 1,
				    .told_before = 9, .told_changed = 1, .told_since = SLOT};
	assert_int_equal(bpf_map_update_elem(X.backends, &k, &b, BPF_ANY), 0);
	expect_verdict(&a, XDP_PASS);
	rotate_to(SLOT + 1); /* issued in the slot of the change: still valid */
	expect_verdict(&a, XDP_PASS);
	b.told_since = SLOT - 1; /* changed before it was issued: it told 2 */
	assert_int_equal(bpf_map_update_elem(X.backends, &k, &b, BPF_ANY), 0);
	expect_verdict(&a, XDP_DROP);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1,
						  [SG_XDP_ACK] = 4, [SG_XDP_ACK_VALID] = 2,
						  [SG_XDP_DROP_COOKIE_MAC] = 2});
}

/* seq = ISN: a zero-window probe after the client's ACK was lost */
static void ack_zero_window(void **state)
{
	struct spec s = spec_linux4();
	struct spec a = ack_of(s, xdp_cookie(&s));

	(void)state;
	a.isn = s.isn;
	expect_verdict(&a, XDP_PASS);
	a.payload = 10; /* data at the ISN: not a probe */
	expect_verdict(&a, XDP_DROP);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1,
						  [SG_XDP_ACK] = 2, [SG_XDP_ACK_VALID] = 1,
						  [SG_XDP_DROP_COOKIE_MAC] = 1});
}

/* Segments of connections conntrack knows are not cookie ACKs. */
static void ack_tracked(void **state)
{
	struct spec a4 = ack_of(spec_linux4(), 0x12345600), a6 = ack_of(spec_linux6(), 0x9900);

	(void)state;
	ct_add(&a4.t, "ESTABLISHED");
	ct_add(&a6.t, "ESTABLISHED");
	expect_verdict(&a4, XDP_PASS);
	a6.payload = 100;
	expect_verdict(&a6, XDP_PASS);
	expect_counters((uint64_t[SG_XDP__COUNT]){0});
}

/* rst-invalid (the daemon answers bad cookies with a RST): ACKs are not
 * checked. */
static void ack_not_checked(void **state)
{
	struct spec a = ack_of(spec_linux4(), 0x12345600);

	(void)state;
	ctl.drop_acks = 0;
	publish();
	expect_verdict(&a, XDP_PASS);
	ctl.engaged = 0;
	publish();
	expect_verdict(&a, XDP_PASS);
	expect_counters((uint64_t[SG_XDP__COUNT]){0});
}

/* Cookies not engaged (adaptive, before or after a SYN flood): an ACK no
 * conntrack entry knows is checked all the same, a forged one dropped, a
 * cookie issued while engaged still passed on (an ACK flood alone never
 * engages cookies, and must not fill the queue the passed SYNs go to). */
static void ack_checked_disengaged(void **state)
{
	struct spec s = spec_linux4();
	struct spec a = ack_of(s, xdp_cookie(&s)), f = ack_of(spec_linux4(), 0x12345600);

	(void)state;
	ctl.engaged = 0;
	publish();
	expect_verdict(&a, XDP_PASS);
	expect_verdict(&f, XDP_DROP);
	expect_counters((uint64_t[SG_XDP__COUNT]){[SG_XDP_SYN] = 1, [SG_XDP_ANSWERED] = 1,
						  [SG_XDP_ACK] = 2, [SG_XDP_ACK_VALID] = 1,
						  [SG_XDP_DROP_COOKIE_MAC] = 1});
}

/* Pins the process to the CPU it runs on: sg_learn_at is per CPU, and the
 * learn-first case needs its two runs on the same one. */
static void pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("test_xdp: sched_setaffinity");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(synack_ipv4, reset),
		cmocka_unit_test_setup(synack_ipv6, reset),
		cmocka_unit_test_setup(synack_no_options, reset),
		cmocka_unit_test_setup(pass_bad_frames, reset),
		cmocka_unit_test_setup(synack_backend_limits, reset),
		cmocka_unit_test_setup(pass_not_engaged, reset),
		cmocka_unit_test_setup(pass_unprotected, reset),
		cmocka_unit_test_setup(pass_not_syn, reset),
		cmocka_unit_test_setup(pass_ip_options, reset),
		cmocka_unit_test_setup(pass_ipv6_exthdr, reset),
		cmocka_unit_test_setup(pass_bad_options, reset),
		cmocka_unit_test_setup(pass_ct, reset),
		cmocka_unit_test_setup(pass_learn_first, reset),
		cmocka_unit_test_setup(slot_parity, reset),
		cmocka_unit_test_setup(ack_valid, reset),
		cmocka_unit_test_setup(ack_forged, reset),
		cmocka_unit_test_setup(ack_told_history, reset),
		cmocka_unit_test_setup(ack_zero_window, reset),
		cmocka_unit_test_setup(ack_tracked, reset),
		cmocka_unit_test_setup(ack_not_checked, reset),
		cmocka_unit_test_setup(ack_checked_disengaged, reset),
	};

	X.path = argc > 1 ? argv[1] : getenv("SYNGATE_XDP_OBJECT");
	if (!X.path) {
		fprintf(stderr, "usage: %s syngate_xdp.o (or set SYNGATE_XDP_OBJECT)\n", argv[0]);
		return 2;
	}
	pin_cpu();
	/* a namespace of its own for the conntrack entries (see the top) */
	if (unshare(CLONE_NEWNET) != 0)
		perror("test_xdp: unshare(CLONE_NEWNET): conntrack cases skipped");
	else
		X.has_ct = system("conntrack -L >/dev/null 2>&1") == 0;
	if (!X.has_ct)
		fprintf(stderr, "test_xdp: no conntrack(8): conntrack cases skipped\n");
	return cmocka_run_group_tests(tests, load, unload);
}

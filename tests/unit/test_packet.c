/* cmocka tests of the packet codec: parsing of kernel-made packets, every
 * malformed-packet class, builders, and checksums against packets whose
 * checksums the kernel computed (kernel_vectors.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "syngate/core/packet.h"
#include "kernel_vectors.h"

static uint8_t buf[256];

static size_t copy_vec(const uint8_t *v, size_t n)
{
	memcpy(buf, v, n);
	return n;
}

/* --- parsing kernel packets ---------------------------------------------- */

static void parse_v4_syn(void **state)
{
	struct sg_pkt p;
	uint8_t src[4] = {192, 0, 2, 1};

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, kv_v4_syn, sizeof(kv_v4_syn)), SG_R_OK);
	assert_int_equal(p.tuple.family, AF_INET);
	assert_memory_equal(p.tuple.saddr, src, 4);
	assert_int_equal(p.tuple.sport, 37324);
	assert_int_equal(p.tuple.dport, 8080);
	assert_int_equal(p.seq, 1512781469u);
	assert_int_equal(p.flags, SG_TCP_SYN);
	assert_int_equal(p.window, 64240);
	assert_int_equal(p.doff, 40);
	assert_int_equal(p.payload_len, 0);
	assert_true(p.opts.has_mss);
	assert_int_equal(p.opts.mss, 1460);
	assert_true(p.opts.sack_ok);
	assert_true(p.opts.has_ts);
	assert_int_equal(p.opts.tsval, 526350199u);
	assert_true(p.opts.has_wscale);
	assert_int_equal(p.opts.wscale, 10);
}

static void parse_v6_data(void **state)
{
	struct sg_pkt p;

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, kv_v6_data, sizeof(kv_v6_data)), SG_R_OK);
	assert_int_equal(p.tuple.family, AF_INET6);
	assert_int_equal(p.tuple.sport, 8080);
	assert_int_equal(p.flags, SG_TCP_PSH | SG_TCP_ACK);
	assert_int_equal(p.payload_len, 6);
	assert_int_equal(p.l4off, 40);
	assert_true(p.opts.has_ts);
	assert_false(p.opts.has_mss);
}

/* Trailing bytes after the IP datagram (Ethernet padding) are not part of it. */
static void parse_ignores_trailer(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_data_odd, sizeof(kv_v4_data_odd));

	(void)state;
	memset(buf + n, 0xee, 6);
	assert_int_equal(sg_pkt_parse(&p, buf, n + 6), SG_R_OK);
	assert_int_equal(p.len, n);
	assert_int_equal(p.payload_len, 5);
}

/* --- malformed packets: each class has its reason ------------------------ */

static void bad_empty_and_version(void **state)
{
	struct sg_pkt p;

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, buf, 0), SG_R_TRUNC_IP);
	copy_vec(kv_v4_syn, sizeof(kv_v4_syn));
	buf[0] = 0x55;
	assert_int_equal(sg_pkt_parse(&p, buf, sizeof(kv_v4_syn)), SG_R_BAD_IP_VERSION);
}

static void bad_truncated_ip(void **state)
{
	struct sg_pkt p;
	size_t n;

	(void)state;
	for (n = 1; n < 20; n++)
		assert_int_equal(sg_pkt_parse(&p, kv_v4_syn, n), SG_R_TRUNC_IP);
	for (n = 1; n < 40; n++)
		assert_int_equal(sg_pkt_parse(&p, kv_v6_syn, n), SG_R_TRUNC_IP);
}

static void bad_ihl(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));
	uint8_t ihl;

	(void)state;
	for (ihl = 0; ihl < 5; ihl++) {
		buf[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_IHL);
	}
	buf[0] = 0x4f; /* 60 bytes of IP header in a 24-byte buffer */
	assert_int_equal(sg_pkt_parse(&p, buf, 24), SG_R_BAD_IHL);
}

static void bad_ip_length(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));

	(void)state;
	buf[2] = 0x00;
	buf[3] = 0x3d; /* claims 61 bytes, buffer holds 60 */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_IP_LEN);
	buf[3] = 0x10; /* 16 < IHL */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_IP_LEN);
	n = copy_vec(kv_v6_syn, sizeof(kv_v6_syn));
	buf[5] = (uint8_t)(buf[5] + 1); /* payload length one past the buffer */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_IP_LEN);
}

static void bad_fragments(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));

	(void)state;
	buf[6] = 0x20; /* MF */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_FRAGMENT);
	buf[6] = 0x40; /* DF, offset 8 bytes */
	buf[7] = 0x01;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_FRAGMENT);
	/* IPv6: insert a fragment header before TCP */
	n = copy_vec(kv_v6_syn, 40);
	buf[6] = 44;
	memset(buf + 40, 0, 8);
	buf[40] = IPPROTO_TCP;
	memcpy(buf + 48, kv_v6_syn + 40, sizeof(kv_v6_syn) - 40);
	n = sizeof(kv_v6_syn) + 8;
	buf[4] = 0;
	buf[5] = (uint8_t)(n - 40);
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_FRAGMENT);
}

static void bad_not_tcp(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));

	(void)state;
	buf[9] = IPPROTO_UDP;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_NOT_TCP);
	n = copy_vec(kv_v6_syn, sizeof(kv_v6_syn));
	buf[6] = 58; /* ICMPv6 */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_NOT_TCP);
}

/* IPv6 with a hop-by-hop header is parsed through; a chain longer than the
 * walk limit, or a header running past the packet, is rejected. */
static void ipv6_extension_headers(void **state)
{
	struct sg_pkt p;
	size_t tcp = sizeof(kv_v6_syn) - 40, n, i;

	(void)state;
	memcpy(buf, kv_v6_syn, 40);
	buf[6] = IPPROTO_HOPOPTS;
	memset(buf + 40, 0, 8);
	buf[40] = IPPROTO_TCP;
	buf[42] = 1; /* PadN */
	buf[43] = 4;
	memcpy(buf + 48, kv_v6_syn + 40, tcp);
	n = 48 + tcp;
	buf[5] = (uint8_t)(n - 40);
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_OK);
	assert_int_equal(p.l4off, 48);
	assert_int_equal(p.tuple.dport, 8080);

	buf[41] = 200; /* header length past the packet */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_EXTHDR);

	/* nine destination-option headers in a row */
	memcpy(buf, kv_v6_syn, 40);
	buf[6] = IPPROTO_DSTOPTS;
	for (i = 0; i < 9; i++) {
		memset(buf + 40 + i * 8, 0, 8);
		buf[40 + i * 8] = i == 8 ? IPPROTO_TCP : IPPROTO_DSTOPTS;
	}
	memcpy(buf + 40 + 72, kv_v6_syn + 40, tcp);
	n = 40 + 72 + tcp;
	buf[5] = (uint8_t)(n - 40);
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_EXTHDR);

	/* extension header cut short */
	buf[5] = 4;
	assert_int_equal(sg_pkt_parse(&p, buf, 44), SG_R_BAD_EXTHDR);
}

static void bad_truncated_tcp(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));
	size_t len;

	(void)state;
	for (len = 20; len < 40; len++) {
		buf[2] = 0;
		buf[3] = (uint8_t)len;
		assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_TRUNC_TCP);
	}
}

static void bad_data_offset(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));
	uint8_t d;

	(void)state;
	for (d = 0; d < 5; d++) {
		buf[32] = (uint8_t)(d << 4);
		assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_DOFF);
	}
	buf[32] = 0xf0; /* 60-byte TCP header in a 40-byte segment */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_DOFF);
}

static void bad_options(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));

	(void)state;
	buf[41] = 0; /* MSS option with length 0 */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_OPTION);
	buf[41] = 1; /* length 1 */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_OPTION);
	buf[41] = 4;
	buf[57] = 200; /* wscale option runs past the header */
	buf[56] = 3;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_OPTION);
	buf[57] = 3;
	buf[59] = 9;
	buf[58] = 1; /* last byte: kind 1 (NOP) then we cut the kind-only tail */
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_OPTION);
	n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));
	buf[41] = 5; /* MSS of the wrong length */
	buf[45] = 3;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_OPTION);
}

static void option_walk_edges(void **state)
{
	struct sg_tcpopts o;
	const uint8_t unknown[] = {30, 6, 1, 2, 3, 4, 1, 1, 2, 4, 0x05, 0xb4};
	const uint8_t eol[] = {0, 2, 0, 0};
	const uint8_t lone_kind[] = {1, 1, 1, 2};
	const uint8_t big_ws[] = {3, 3, 20, 0};

	(void)state;
	assert_int_equal(sg_tcpopts_parse(&o, unknown, sizeof(unknown)), SG_R_OK);
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 1460);
	assert_int_equal(sg_tcpopts_parse(&o, eol, sizeof(eol)), SG_R_OK);
	assert_false(o.has_mss);
	assert_int_equal(sg_tcpopts_parse(&o, lone_kind, sizeof(lone_kind)), SG_R_BAD_OPTION);
	assert_int_equal(sg_tcpopts_parse(&o, big_ws, sizeof(big_ws)), SG_R_OK);
	assert_int_equal(o.wscale, 14);
}

static void bad_flags(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_syn, sizeof(kv_v4_syn));

	(void)state;
	buf[33] = SG_TCP_SYN | SG_TCP_FIN;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_FLAGS);
	buf[33] = SG_TCP_SYN | SG_TCP_RST;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_BAD_FLAGS);
}

/* Every prefix and every single-byte corruption of a valid packet parses to
 * some verdict without reading outside the buffer (run under ASan/valgrind). */
static void no_crash_on_mutations(void **state)
{
	const uint8_t *vecs[] = {kv_v4_syn, kv_v6_syn, kv_v6_data};
	const size_t lens[] = {sizeof(kv_v4_syn), sizeof(kv_v6_syn), sizeof(kv_v6_data)};
	struct sg_pkt p;
	size_t v, i, n;
	unsigned x;

	(void)state;
	for (v = 0; v < 3; v++) {
		for (n = 0; n <= lens[v]; n++)
			(void)sg_pkt_parse(&p, vecs[v], n);
		for (i = 0; i < lens[v]; i++)
			for (x = 0; x < 256; x += 17) {
				uint8_t *m = test_malloc(lens[v]);

				memcpy(m, vecs[v], lens[v]);
				m[i] = (uint8_t)x;
				(void)sg_pkt_parse(&p, m, lens[v]);
				test_free(m);
			}
	}
}

/* --- checksums against the kernel ---------------------------------------- */

static void check_kernel_checksums(const uint8_t *v, size_t n)
{
	struct sg_pkt p;

	assert_int_equal(sg_pkt_parse(&p, v, n), SG_R_OK);
	assert_int_equal(sg_csum_tcp(p.tuple.family, p.tuple.saddr, p.tuple.daddr, v + p.l4off,
				     p.len - p.l4off),
			 0);
	if (p.tuple.family == AF_INET)
		assert_int_equal(sg_csum_ipv4(v, p.l4off), 0);
}

static void checksums_match_kernel(void **state)
{
	(void)state;
	check_kernel_checksums(kv_v4_syn, sizeof(kv_v4_syn));
	check_kernel_checksums(kv_v4_synack, sizeof(kv_v4_synack));
	check_kernel_checksums(kv_v4_data_odd, sizeof(kv_v4_data_odd));
	check_kernel_checksums(kv_v6_syn, sizeof(kv_v6_syn));
	check_kernel_checksums(kv_v6_synack, sizeof(kv_v6_synack));
	check_kernel_checksums(kv_v6_data, sizeof(kv_v6_data));
}

/* Recomputing a kernel packet's TCP checksum from zero gives the kernel's value. */
static void checksum_recompute(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v4_data_odd, sizeof(kv_v4_data_odd));
	uint16_t kernel, mine;

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_OK);
	memcpy(&kernel, buf + p.l4off + 16, 2);
	memset(buf + p.l4off + 16, 0, 2);
	mine = sg_csum_tcp(AF_INET, p.tuple.saddr, p.tuple.daddr, buf + p.l4off, n - p.l4off);
	assert_int_equal(mine, kernel);
	assert_int_equal(ntohs(kernel), 0x8d3c); /* as tcpdump printed it */
}

/* Incremental updates agree with a full recomputation. */
static void checksum_incremental(void **state)
{
	struct sg_pkt p;
	size_t n = copy_vec(kv_v6_synack, sizeof(kv_v6_synack));
	uint8_t *t;
	uint16_t check, old16, new16 = htons(12345);
	uint32_t old32, new32 = htonl(0xdeadbeef);

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, buf, n), SG_R_OK);
	t = buf + p.l4off;
	memcpy(&check, t + 16, 2);
	memcpy(&old32, t + 4, 4);
	memcpy(t + 4, &new32, 4);
	check = sg_csum_replace4(check, old32, new32);
	memcpy(&old16, t + 14, 2);
	memcpy(t + 14, &new16, 2);
	check = sg_csum_replace2(check, old16, new16);
	memcpy(t + 16, &check, 2);
	assert_int_equal(sg_csum_tcp(AF_INET6, p.tuple.saddr, p.tuple.daddr, t, n - p.l4off), 0);
}

/* --- builders ------------------------------------------------------------ */

/* Building the kernel's own SYN-ACK from its parsed fields gives the same bytes. */
static void build_matches_kernel_synack(void **state)
{
	struct sg_pkt p;
	struct sg_seg s;
	uint8_t out[SG_PKT_MAX_BUILT];
	size_t n;

	(void)state;
	assert_int_equal(sg_pkt_parse(&p, kv_v4_synack, sizeof(kv_v4_synack)), SG_R_OK);
	memset(&s, 0, sizeof(s));
	s.tuple = p.tuple;
	s.seq = p.seq;
	s.ack = p.ack;
	s.flags = p.flags;
	s.window = p.window;
	s.ttl = p.ttl;
	s.opts = p.opts;
	n = sg_pkt_build(out, sizeof(out), &s);
	assert_int_equal(n, sizeof(kv_v4_synack));
	assert_memory_equal(out, kv_v4_synack, n);

	/* IPv6: identical except the flow label the kernel chose */
	assert_int_equal(sg_pkt_parse(&p, kv_v6_synack, sizeof(kv_v6_synack)), SG_R_OK);
	s.tuple = p.tuple;
	s.seq = p.seq;
	s.ack = p.ack;
	s.flags = p.flags;
	s.window = p.window;
	s.ttl = p.ttl;
	s.opts = p.opts;
	n = sg_pkt_build(out, sizeof(out), &s);
	assert_int_equal(n, sizeof(kv_v6_synack));
	assert_memory_equal(out + 4, kv_v6_synack + 4, n - 4);
}

/* Every option combination builds a packet that parses back to the same fields. */
static void build_roundtrip(void **state)
{
	uint8_t out[SG_PKT_MAX_BUILT];
	struct sg_seg s;
	struct sg_pkt p;
	unsigned combo;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++)
		for (combo = 0; combo < 16; combo++) {
			size_t n;

			memset(&s, 0, sizeof(s));
			s.tuple.family = fam ? AF_INET6 : AF_INET;
			memset(s.tuple.saddr, 0x20, 16);
			memset(s.tuple.daddr, 0x30, 16);
			s.tuple.sport = 4242;
			s.tuple.dport = 80;
			s.seq = 0x80000001u + combo;
			s.ack = 7;
			s.flags = SG_TCP_SYN | SG_TCP_ACK;
			s.opts.has_mss = combo & 1;
			s.opts.mss = 1400;
			s.opts.sack_ok = combo & 2;
			s.opts.has_ts = combo & 4;
			s.opts.tsval = 99;
			s.opts.tsecr = 100;
			s.opts.has_wscale = combo & 8;
			s.opts.wscale = 9;
			n = sg_pkt_build(out, sizeof(out), &s);
			assert_true(n > 0);
			assert_int_equal(sg_pkt_parse(&p, out, n), SG_R_OK);
			assert_int_equal(p.seq, s.seq);
			assert_int_equal(p.ack, 7);
			assert_int_equal(p.flags, s.flags);
			assert_int_equal(p.opts.has_mss, s.opts.has_mss);
			assert_int_equal(p.opts.sack_ok, s.opts.sack_ok);
			assert_int_equal(p.opts.has_ts, s.opts.has_ts);
			assert_int_equal(p.opts.has_wscale, s.opts.has_wscale);
			if (s.opts.has_wscale)
				assert_int_equal(p.opts.wscale, 9);
			if (s.opts.has_ts)
				assert_int_equal(p.opts.tsecr, 100);
			assert_int_equal(sg_csum_tcp(p.tuple.family, p.tuple.saddr,
						     p.tuple.daddr, out + p.l4off,
						     n - p.l4off),
					 0);
			if (!fam)
				assert_int_equal(sg_csum_ipv4(out, 20), 0);
		}
}

static void build_too_small(void **state)
{
	uint8_t out[SG_PKT_MAX_BUILT];
	struct sg_seg s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.tuple.family = AF_INET6;
	s.opts.has_mss = true;
	assert_int_equal(sg_pkt_build(out, 63, &s), 0);
	assert_int_equal(sg_pkt_build(out, 64, &s), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_v4_syn),
		cmocka_unit_test(parse_v6_data),
		cmocka_unit_test(parse_ignores_trailer),
		cmocka_unit_test(bad_empty_and_version),
		cmocka_unit_test(bad_truncated_ip),
		cmocka_unit_test(bad_ihl),
		cmocka_unit_test(bad_ip_length),
		cmocka_unit_test(bad_fragments),
		cmocka_unit_test(bad_not_tcp),
		cmocka_unit_test(ipv6_extension_headers),
		cmocka_unit_test(bad_truncated_tcp),
		cmocka_unit_test(bad_data_offset),
		cmocka_unit_test(bad_options),
		cmocka_unit_test(option_walk_edges),
		cmocka_unit_test(bad_flags),
		cmocka_unit_test(no_crash_on_mutations),
		cmocka_unit_test(checksums_match_kernel),
		cmocka_unit_test(checksum_recompute),
		cmocka_unit_test(checksum_incremental),
		cmocka_unit_test(build_matches_kernel_synack),
		cmocka_unit_test(build_roundtrip),
		cmocka_unit_test(build_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

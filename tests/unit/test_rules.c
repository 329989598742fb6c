/* cmocka tests of the rule text (src/ops/rules.c): known-answer scripts for
 * a few configurations (ports, interfaces, shed-rate, fail-open and queue
 * balancing, marks, IPv6), what makes a configuration invalid, and the
 * removal lines derived from an iptables-save dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "syngate/ops/rules.h"

/* The install script of the defaults (port 80, queue 0, fail-closed,
 * shed-rate 100000, ack-shed-rate 50000, the lane at 1000/s per source on
 * queue 1, default marks, all interfaces). */
static const char default_script[] =
    "*raw\n"
    ":SYNGATE-RAW - [0:0]\n"
    ":SYNGATE-KNOWN - [0:0]\n"
    "-I PREROUTING 1 -j SYNGATE-RAW\n"
    "-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j CT --notrack\n"
    "-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j ACCEPT\n"
    "-A SYNGATE-RAW -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark "
    "0x2000000/0x2000000 -j SYNGATE-KNOWN\n"
    "-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x2000000\n"
    "-A SYNGATE-KNOWN -j ACCEPT\n"
    "-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -m set "
    "--match-set syngate-lane src -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst "
    "1000 --hashlimit-mode srcip --hashlimit-name ls0-1000 -j NFQUEUE --queue-num 1\n"
    "-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -m "
    "hashlimit --hashlimit-upto 100000/sec --hashlimit-burst 2000 --hashlimit-name "
    "sg0-100000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"
    "COMMIT\n"
    "*mangle\n"
    ":SYNGATE-MANGLE - [0:0]\n"
    "-I PREROUTING 1 -j SYNGATE-MANGLE\n"
    "-A SYNGATE-MANGLE -m mark --mark 0x20000000/0x20000000 -j RETURN\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID "
    "--tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x1000000/0x1000000 -j NFQUEUE "
    "--queue-num 1\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID "
    "--tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x10000000/0x10000000 -j NFQUEUE "
    "--queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID "
    "--tcp-flags SYN,RST,ACK ACK -m set --match-set syngate-lane src -m hashlimit "
    "--hashlimit-upto 1000/sec --hashlimit-burst 1000 --hashlimit-mode srcip "
    "--hashlimit-name la0-1000 -j NFQUEUE --queue-num 1\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID "
    "--tcp-flags SYN,RST,ACK ACK -m hashlimit --hashlimit-upto 50000/sec --hashlimit-burst "
    "1000 --hashlimit-name sa0-50000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 -m connmark --mark "
    "0x1000000/0x1000000 -j NFQUEUE --queue-num 1\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 -m connmark --mark "
    "0x10000000/0x10000000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m rpfilter "
    "-m conntrack --ctstate ESTABLISHED --ctdir REPLY -m hashlimit --hashlimit-upto 4/sec "
    "--hashlimit-burst 8 --hashlimit-mode srcip,srcport --hashlimit-name sgl0 -j NFQUEUE "
    "--queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID -j "
    "DROP\n"
    "COMMIT\n";

/* The same without the lane and the ACK bucket (plain_defaults()): the rule
 * set as it was before them. */
static const char plain_script[] =
    "*raw\n"
    ":SYNGATE-RAW - [0:0]\n"
    ":SYNGATE-KNOWN - [0:0]\n"
    "-I PREROUTING 1 -j SYNGATE-RAW\n"
    "-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j CT --notrack\n"
    "-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j ACCEPT\n"
    "-A SYNGATE-RAW -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark 0x2000000/0x2000000 "
    "-j SYNGATE-KNOWN\n"
    "-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x2000000\n"
    "-A SYNGATE-KNOWN -j ACCEPT\n"
    "-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN "
    "-m hashlimit --hashlimit-upto 100000/sec --hashlimit-burst 2000 "
    "--hashlimit-name sg0-100000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"
    "COMMIT\n"
    "*mangle\n"
    ":SYNGATE-MANGLE - [0:0]\n"
    "-I PREROUTING 1 -j SYNGATE-MANGLE\n"
    "-A SYNGATE-MANGLE -m mark --mark 0x20000000/0x20000000 -j RETURN\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID "
    "--tcp-flags SYN,RST,ACK ACK -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 -m connmark "
    "--mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m rpfilter "
    "-m conntrack --ctstate ESTABLISHED --ctdir REPLY -m hashlimit --hashlimit-upto 4/sec "
    "--hashlimit-burst 8 --hashlimit-mode srcip,srcport --hashlimit-name sgl0 "
    "-j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m conntrack --ctstate INVALID -j DROP\n"
    "COMMIT\n";

/* The install script of @c (no removal lines), in a static buffer. */
static const char *script_of(const struct sg_rules_config *c)
{
	static char text[16384];
	struct sg_strbuf b = {0};

	assert_int_equal(sg_rules_install_script(c, NULL, &b), 0);
	assert_true(b.len < sizeof(text));
	memcpy(text, sg_strbuf_str(&b), b.len + 1);
	sg_strbuf_free(&b);
	return text;
}

/* How many times @needle stands in @text. */
static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The defaults without the lane and the ACK bucket: what the tests of the
 * other parts of the rule set count in. */
static void plain_defaults(struct sg_rules_config *c)
{
	sg_rules_defaults(c);
	c->lane = false;
	c->ack_shed_rate = 0;
}

static void defaults(void **state)
{
	struct sg_rules_config c;

	(void)state;
	sg_rules_defaults(&c);
	assert_null(sg_rules_invalid(&c));
	assert_string_equal(script_of(&c), default_script);
	plain_defaults(&c);
	assert_null(sg_rules_invalid(&c));
	assert_string_equal(script_of(&c), plain_script);
}

/* The ACK bucket: its own table name and rate; pending connections skip it.
 * The lane: per-source buckets before the shared ones, its queues after the
 * main ones, and the connmark rules that keep a pending connection on the
 * queue that created it. */
static void ack_shed_and_lane(void **state)
{
	struct sg_rules_config c;
	const char *s;

	(void)state;
	plain_defaults(&c);
	c.ack_shed_rate = 150000;
	assert_int_equal(sg_rules_ack_shed_effective(&c), 142857);
	s = script_of(&c);
	assert_non_null(strstr(s, "--tcp-flags SYN,RST,ACK ACK -m connmark --mark "
	                          "0x10000000/0x10000000 -j NFQUEUE --queue-num 0\n"));
	assert_non_null(strstr(s, "--tcp-flags SYN,RST,ACK ACK -m hashlimit --hashlimit-upto "
	                          "142857/sec --hashlimit-burst 2857 --hashlimit-name sa0-142857 "
	                          "-j NFQUEUE --queue-num 0\n"));
	assert_null(strstr(s, "match-set"));
	sg_rules_defaults(&c);
	c.queue = 10;
	c.nqueues = 4;
	c.lane_rate = 50;
	c.completions = true;
	s = script_of(&c);
	assert_int_equal(count(s, "-j NFQUEUE --queue-balance 14:17\n"), 5);
	assert_int_equal(count(s, "-j NFQUEUE --queue-balance 10:13\n"), 6);
	assert_int_equal(count(s, "--match-set syngate-lane src -m hashlimit --hashlimit-upto "
	                          "50/sec --hashlimit-burst 50 --hashlimit-mode srcip "),
	                 2);
	assert_non_null(strstr(s, "--hashlimit-name ls10-50 "));
	assert_non_null(strstr(s, "--hashlimit-name la10-50 "));
	assert_null(strstr(s, "--match-set syngate-lane dst"));
	assert_int_equal(count(s, "-m connmark --mark 0x1000000/0x1000000 -j NFQUEUE "
	                          "--queue-balance 14:17\n"),
	                 2);
}

/* Ports go into one multiport list; each client rule is repeated per
 * interface, the rules on the backend's side (--sports) and on marks are not. */
static void ports_and_interfaces(void **state)
{
	struct sg_rules_config c;
	const char *s;

	(void)state;
	plain_defaults(&c);
	c.ports[0] = 80;
	c.ports[1] = 443;
	c.nports = 2;
	strcpy(c.ifaces[0], "eth0");
	strcpy(c.ifaces[1], "vlan.100");
	c.nifaces = 2;
	s = script_of(&c);
	assert_non_null(strstr(s, "-A SYNGATE-RAW -i eth0 -p tcp -m multiport --dports 80,443 "
	                          "--tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit"));
	assert_non_null(strstr(s, "-A SYNGATE-RAW -i vlan.100 -p tcp -m multiport --dports 80,443 "
	                          "--tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"));
	assert_int_equal(count(s, "-A SYNGATE-RAW -i "), 4);
	assert_int_equal(count(s, "-A SYNGATE-MANGLE -i "), 6);
	/* nothing from a client-facing interface is a backend's answer */
	assert_non_null(strstr(s, "-A SYNGATE-MANGLE -i eth0 -p tcp -m multiport --sports 80,443 "
	                          "-m multiport ! --dports 80,443 -j RETURN\n"));
	assert_int_equal(count(s, "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80,443 "), 2);
	assert_int_equal(count(s, " -p tcp -m multiport --dports 80 "), 0);
}

/* The shed rule: the rate the kernel really applies (whole microseconds per
 * packet), a burst of 20 ms, a table name per queue and rate; 0 drops both
 * the hashlimit match and the DROP rule. */
static void shed_rate(void **state)
{
	struct sg_rules_config c;
	const char *s;

	(void)state;
	plain_defaults(&c);
	c.shed_rate = 150000;
	assert_int_equal(sg_rules_shed_effective(&c), 142857);
	s = script_of(&c);
	assert_non_null(strstr(s, " -m hashlimit --hashlimit-upto 142857/sec --hashlimit-burst 2857 "
	                          "--hashlimit-name sg0-142857 -j NFQUEUE --queue-num 0\n"));
	c.shed_rate = 1000;
	assert_int_equal(sg_rules_shed_effective(&c), 1000);
	assert_non_null(strstr(script_of(&c), "--hashlimit-upto 1000/sec --hashlimit-burst 20 "));
	c.shed_rate = 0;
	assert_int_equal(sg_rules_shed_effective(&c), 0);
	s = script_of(&c);
	assert_null(strstr(s, "--hashlimit-name sg0-"));
	assert_null(strstr(s, "-j DROP\nCOMMIT\n*mangle"));
	assert_non_null(strstr(s, "--tcp-flags FIN,SYN,RST,ACK SYN -j NFQUEUE --queue-num 0\n"));
}

/* Fail-open adds --queue-bypass to every queue target; several queues are
 * balanced, and the shed rate covers them all. */
static void fail_open_and_queues(void **state)
{
	struct sg_rules_config c;
	const char *s;

	(void)state;
	plain_defaults(&c);
	c.fail_open = true;
	s = script_of(&c);
	assert_int_equal(count(s, "-j NFQUEUE --queue-num 0 --queue-bypass\n"), 4);
	assert_int_equal(count(s, "NFQUEUE"), 4);
	c.queue = 10;
	c.nqueues = 4;
	s = script_of(&c);
	assert_int_equal(count(s, "-j NFQUEUE --queue-balance 10:13 --queue-bypass\n"), 4);
	assert_non_null(strstr(s, "--hashlimit-upto 333333/sec --hashlimit-burst 6666 "
	                          "--hashlimit-name sg10-333333 "));
}

/* Each mark lands where it belongs: reflect on the raw notrack/accept and
 * the mangle RETURN, pending and proxied as the connmark mask of the
 * completing-ACK rule, complete as the mark set and queued, pending on the
 * backend's answers. */
/* The completing ACK of passed-through handshakes is queued only when
 * adaptive mode asks for it (completions). */
static void completions(void **state)
{
	struct sg_rules_config c;

	(void)state;
	plain_defaults(&c);
	assert_null(strstr(script_of(&c), "--connbytes 2:2"));
	c.completions = true;
	assert_non_null(strstr(script_of(&c),
	                       "-m connmark --mark 0x0/0x18000000 -m connbytes --connbytes 2:2 "));
	assert_non_null(strstr(script_of(&c), "-A SYNGATE-MANGLE -m mark --mark 0x4000000/0x4000000 "
	                                      "-j NFQUEUE --queue-num 0\n"));
}

static void marks(void **state)
{
	struct sg_rules_config c;
	const char *s;

	(void)state;
	plain_defaults(&c);
	c.marks = (struct sg_marks){
	    .pending = 0x1, .proxied = 0x2, .reflect = 0x4, .complete = 0x8, .known = 0x10,
	    .lane = 0x20};
	c.completions = true;
	assert_null(sg_rules_invalid(&c));
	s = script_of(&c);
	assert_non_null(strstr(s, "-A SYNGATE-RAW -m mark --mark 0x4/0x4 -j CT --notrack\n"));
	assert_non_null(strstr(s, "-A SYNGATE-RAW -m mark --mark 0x4/0x4 -j ACCEPT\n"));
	assert_non_null(strstr(s, "-A SYNGATE-MANGLE -m mark --mark 0x4/0x4 -j RETURN\n"));
	assert_non_null(strstr(s, " -m connmark --mark 0x0/0x3 -m connbytes "));
	assert_non_null(strstr(s, " -j MARK --set-xmark 0x8/0x8\n"));
	assert_non_null(strstr(s, "-A SYNGATE-MANGLE -m mark --mark 0x8/0x8 -j NFQUEUE"));
	assert_non_null(strstr(s, "--sports 80 -m connmark --mark 0x1/0x1 -j NFQUEUE"));
	assert_non_null(strstr(s, "SYN -m mark --mark 0x10/0x10 -j SYNGATE-KNOWN\n"));
	assert_non_null(strstr(s, "-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x10\n"));
	assert_null(strstr(s, "0x10000000"));
}

/* iptables and ip6tables get the same text: one family or the other (or
 * both) changes nothing in it. */
static void ipv6(void **state)
{
	struct sg_rules_config c;

	(void)state;
	sg_rules_defaults(&c);
	c.ipv4 = false;
	assert_null(sg_rules_invalid(&c));
	assert_string_equal(script_of(&c), default_script);
	c.ipv4 = true;
	c.ipv6 = false;
	assert_string_equal(script_of(&c), default_script);
}

/* Every rule of sg_rules_invalid(), and no script for an invalid config. */
static void invalid(void **state)
{
	struct sg_rules_config c;
	struct sg_strbuf b = {0};

	(void)state;
#define BAD(stmt)                                                                                 \
	do {                                                                                      \
		sg_rules_defaults(&c);                                                            \
		stmt;                                                                             \
		assert_non_null(sg_rules_invalid(&c));                                            \
		assert_int_equal(sg_rules_install_script(&c, NULL, &b), -1);                      \
		assert_int_equal(b.len, 0);                                                       \
	} while (0)
	BAD(c.nports = 0);
	BAD(c.nports = SG_RULES_MAX_PORTS + 1);
	BAD(c.ports[0] = 0);
	BAD((strcpy(c.ifaces[0], "eth 0"), c.nifaces = 1));
	BAD((strcpy(c.ifaces[0], "a\"b"), c.nifaces = 1));
	BAD((c.ifaces[0][0] = '\0', c.nifaces = 1));
	BAD(c.nqueues = 0);
	BAD((c.queue = 65535, c.nqueues = 2));
	BAD(c.marks.reflect = c.marks.pending);
	BAD(c.marks.complete |= c.marks.reflect);
	BAD(c.marks.proxied = 0);
	BAD(c.marks.known = 0);
	BAD(c.marks.known |= c.marks.reflect);
	BAD(c.ipv4 = c.ipv6 = false);
	BAD(c.shed_rate = 999);
	BAD((c.nqueues = 11, c.shed_rate = 100000));
	BAD(c.ack_shed_rate = 999);
	BAD((c.nqueues = 21, c.shed_rate = 1000));
	BAD(c.marks.lane = 0);
	BAD(c.marks.lane = c.marks.pending);
	BAD(c.marks.lane = c.marks.known);
	BAD(c.nqueues = 33);
	BAD(c.queue = 65535);
	BAD(c.lane_rate = 0);
	BAD(c.lane_rate = SG_RULES_LANE_RATE_MAX + 1);
#undef BAD
	sg_rules_defaults(&c);
	strcpy(c.ifaces[0], "eth+");
	c.nifaces = 1;
	c.queue = 65534; /* the lane's queue is 65535 */
	c.shed_rate = 1000000;
	c.ack_shed_rate = 1000000;
	assert_null(sg_rules_invalid(&c));
	c.lane = false;
	c.queue = 65535;
	assert_null(sg_rules_invalid(&c));
	sg_strbuf_free(&b);
}

/* An iptables-save dump with syngate's chains (a duplicated jump, a chain
 * left in filter by an older version) and rules of others. */
static const char saved_dump[] = "# Generated by iptables-save v1.8.9\n"
                                 "*raw\n"
                                 ":PREROUTING ACCEPT [0:0]\n"
                                 ":OUTPUT ACCEPT [0:0]\n"
                                 ":SYNGATE-RAW - [0:0]\n"
                                 "-A PREROUTING -j SYNGATE-RAW\n"
                                 "-A PREROUTING -p udp -j ACCEPT\n"
                                 "-A SYNGATE-RAW -m mark --mark 0x1/0x1 -j ACCEPT\n"
                                 "COMMIT\n"
                                 "*mangle\n"
                                 ":PREROUTING ACCEPT [0:0]\n"
                                 ":SYNGATE-MANGLE - [0:0]\n"
                                 "-A PREROUTING -j SYNGATE-MANGLE\n"
                                 "-A PREROUTING -i eth0 -j SYNGATE-MANGLE\n"
                                 "COMMIT\n"
                                 "*filter\n"
                                 ":INPUT ACCEPT [0:0]\n"
                                 ":SYNGATE-OLD - [0:0]\n"
                                 "-A INPUT -p tcp -g SYNGATE-OLD\n"
                                 "-A INPUT -p tcp -j NOT-SYNGATE-X\n"
                                 "-A INPUT -m comment --comment \"-j SYNGATE-RAW\" -j ACCEPT\n"
                                 "COMMIT\n"
                                 "*nat\n"
                                 ":PREROUTING ACCEPT [0:0]\n"
                                 "COMMIT\n";

static void removal(void **state)
{
	struct sg_rules_saved s;
	struct sg_strbuf b = {0};
	const struct sg_rules_table *t;

	(void)state;
	assert_int_equal(sg_rules_saved_parse(saved_dump, &s), 0);
	assert_int_equal(s.n, 4);
	t = sg_rules_saved_table(&s, "mangle");
	assert_non_null(t);
	assert_int_equal(t->njumps, 2);
	assert_true(sg_rules_table_has_chain(t, "SYNGATE-MANGLE"));
	assert_false(sg_rules_table_has_chain(t, "SYNGATE"));
	assert_false(sg_rules_table_has_chain(t, "SYNGATE-RAW"));
	assert_null(sg_rules_saved_table(&s, "security"));
	assert_int_equal(sg_rules_saved_table(&s, "filter")->njumps, 1);
	assert_int_equal(sg_rules_remove_script(&s, &b), 0);
	assert_string_equal(sg_strbuf_str(&b), "*raw\n"
	                                       "-D PREROUTING -j SYNGATE-RAW\n"
	                                       "-F SYNGATE-RAW\n"
	                                       "-X SYNGATE-RAW\n"
	                                       "COMMIT\n"
	                                       "*mangle\n"
	                                       "-D PREROUTING -j SYNGATE-MANGLE\n"
	                                       "-D PREROUTING -i eth0 -j SYNGATE-MANGLE\n"
	                                       "-F SYNGATE-MANGLE\n"
	                                       "-X SYNGATE-MANGLE\n"
	                                       "COMMIT\n"
	                                       "*filter\n"
	                                       "-D INPUT -p tcp -g SYNGATE-OLD\n"
	                                       "-F SYNGATE-OLD\n"
	                                       "-X SYNGATE-OLD\n"
	                                       "COMMIT\n");
	sg_strbuf_free(&b);
	sg_rules_saved_free(&s);
}

/* `iptables-save -c`: the same removal, and the packets of the DROP rules of
 * syngate's chains (the shed rule; the INVALID drop), nobody else's. */
static void counters_of_the_drop_rules(void **state)
{
	static const char dump[] = "*raw\n"
	                           ":PREROUTING ACCEPT [10:600]\n"
	                           ":SYNGATE-RAW - [0:0]\n"
	                           "[10:600] -A PREROUTING -j SYNGATE-RAW\n"
	                           "[7:420] -A SYNGATE-RAW -i eth0 -p tcp -m multiport --dports 80 "
	                           "--tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"
	                           "[5:300] -A SYNGATE-RAW -i eth1 -p tcp -m multiport --dports 80 "
	                           "--tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"
	                           "[99:0] -A PREROUTING -p udp -j DROP\n"
	                           "[3:180] -A SYNGATE-RAW -p tcp -j NFQUEUE --queue-num 0\n"
	                           "COMMIT\n"
	                           "*mangle\n"
	                           ":SYNGATE-MANGLE - [0:0]\n"
	                           "[1:60] -A PREROUTING -j SYNGATE-MANGLE\n"
	                           "[4:160] -A SYNGATE-MANGLE -p tcp -m multiport --dports 80 -m "
	                           "conntrack --ctstate INVALID -j DROP\n"
	                           "COMMIT\n";
	struct sg_rules_saved s;
	struct sg_strbuf b = {0};

	(void)state;
	assert_int_equal(sg_rules_saved_parse(dump, &s), 0);
	assert_int_equal(sg_rules_saved_table(&s, "raw")->syn_shed, 12);
	assert_int_equal(sg_rules_saved_table(&s, "raw")->invalid_dropped, 0);
	assert_int_equal(sg_rules_saved_table(&s, "mangle")->invalid_dropped, 4);
	assert_int_equal(sg_rules_saved_table(&s, "mangle")->njumps, 1);
	assert_int_equal(sg_rules_remove_script(&s, &b), 0);
	assert_string_equal(sg_strbuf_str(&b), "*raw\n"
	                                       "-D PREROUTING -j SYNGATE-RAW\n"
	                                       "-F SYNGATE-RAW\n"
	                                       "-X SYNGATE-RAW\n"
	                                       "COMMIT\n"
	                                       "*mangle\n"
	                                       "-D PREROUTING -j SYNGATE-MANGLE\n"
	                                       "-F SYNGATE-MANGLE\n"
	                                       "-X SYNGATE-MANGLE\n"
	                                       "COMMIT\n");
	sg_strbuf_free(&b);
	sg_rules_saved_free(&s);
}

/* Install over a dump: other tables are cleaned in their own transaction,
 * raw and mangle lose the old copy in the same transaction that adds the
 * new one. */
static void install_over_saved(void **state)
{
	struct sg_rules_config c;
	struct sg_rules_saved s;
	static const char head[] = "*filter\n-D INPUT -p tcp -g SYNGATE-OLD\n-F SYNGATE-OLD\n"
	                           "-X SYNGATE-OLD\nCOMMIT\n*raw\n-D PREROUTING -j SYNGATE-RAW\n"
	                           "-F SYNGATE-RAW\n-X SYNGATE-RAW\n:SYNGATE-RAW - [0:0]\n";
	struct sg_strbuf b = {0};
	const char *text, *mangle;

	(void)state;
	sg_rules_defaults(&c);
	assert_int_equal(sg_rules_saved_parse(saved_dump, &s), 0);
	assert_int_equal(sg_rules_install_script(&c, &s, &b), 0);
	text = sg_strbuf_str(&b);
	assert_true(strncmp(text, head, strlen(head)) == 0);
	mangle = strstr(text, "*mangle\n-D PREROUTING -j SYNGATE-MANGLE\n"
	                      "-D PREROUTING -i eth0 -j SYNGATE-MANGLE\n-F SYNGATE-MANGLE\n"
	                      "-X SYNGATE-MANGLE\n:SYNGATE-MANGLE - [0:0]\n");
	assert_non_null(mangle);
	assert_int_equal(count(text, "COMMIT\n"), 3);
	sg_strbuf_free(&b);
	sg_rules_saved_free(&s);
}

/* timestamps: SYNGATE-TS in filter, its own transaction first, and the
 * backend-RST rule of spliced connections after the pending one; over a
 * dump, filter loses the old copy in the same transaction. */
static void timestamps(void **state)
{
	static const char filter[] = "*filter\n:SYNGATE-TS - [0:0]\n"
	                             "-A SYNGATE-TS -p tcp -j SYNPROXY --timestamp\nCOMMIT\n*raw\n";
	static const char rst[] =
	    "--mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 0\n"
	    "-A SYNGATE-MANGLE -p tcp -m multiport --sports 80 --tcp-flags RST RST -m connmark "
	    "--mark 0x8000000/0x8000000 -m conntrack --ctdir REPLY -j NFQUEUE --queue-num 0\n";
	static const char over[] = "*filter\n-D INPUT -p tcp -g SYNGATE-OLD\n-F SYNGATE-OLD\n"
	                           "-X SYNGATE-OLD\n:SYNGATE-TS - [0:0]\n";
	struct sg_rules_config c;
	struct sg_rules_saved s;
	struct sg_strbuf b = {0};
	const char *text;

	(void)state;
	sg_rules_defaults(&c);
	c.timestamps = true;
	text = script_of(&c);
	assert_true(strncmp(text, filter, strlen(filter)) == 0);
	assert_non_null(strstr(text, rst));
	assert_int_equal(sg_rules_saved_parse(saved_dump, &s), 0);
	assert_int_equal(sg_rules_install_script(&c, &s, &b), 0);
	text = sg_strbuf_str(&b);
	assert_true(strncmp(text, over, strlen(over)) == 0);
	assert_int_equal(count(text, "COMMIT\n"), 3);
	sg_strbuf_free(&b);
	sg_rules_saved_free(&s);
}

/* plain_script on-host (plain_defaults(), on_host): no reflect rules in
 * PREROUTING but a notrack in raw OUTPUT for the SYN-ACKs syngate sends with
 * the reflect mark; loopback returned first; client rules for local
 * destinations only; the listeners' answers queued in mangle OUTPUT, reply
 * direction only. */
static const char onhost_script[] =
    "*raw\n"
    ":SYNGATE-RAW - [0:0]\n"
    ":SYNGATE-KNOWN - [0:0]\n"
    ":SYNGATE-RAWOUT - [0:0]\n"
    "-I OUTPUT 1 -j SYNGATE-RAWOUT\n"
    "-A SYNGATE-RAWOUT -m mark --mark 0x20000000/0x20000000 -j CT --notrack\n"
    "-I PREROUTING 1 -j SYNGATE-RAW\n"
    "-A SYNGATE-RAW -i lo -j RETURN\n"
    "-A SYNGATE-RAW -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark 0x2000000/0x2000000 "
    "-j SYNGATE-KNOWN\n"
    "-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x2000000\n"
    "-A SYNGATE-KNOWN -j ACCEPT\n"
    "-A SYNGATE-RAW -m addrtype --dst-type LOCAL -p tcp -m multiport --dports 80 "
    "--tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto 100000/sec "
    "--hashlimit-burst 2000 --hashlimit-name sg0-100000 -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-RAW -m addrtype --dst-type LOCAL -p tcp -m multiport --dports 80 "
    "--tcp-flags FIN,SYN,RST,ACK SYN -j DROP\n"
    "COMMIT\n"
    "*mangle\n"
    ":SYNGATE-MANGLE - [0:0]\n"
    ":SYNGATE-MANGLEOUT - [0:0]\n"
    "-I OUTPUT 1 -j SYNGATE-MANGLEOUT\n"
    "-I PREROUTING 1 -j SYNGATE-MANGLE\n"
    "-A SYNGATE-MANGLE -i lo -j RETURN\n"
    "-A SYNGATE-MANGLEOUT -m mark --mark 0x20000000/0x20000000 -j RETURN\n"
    "-A SYNGATE-MANGLE -m addrtype --dst-type LOCAL -p tcp -m multiport --dports 80 "
    "-m conntrack --ctstate INVALID --tcp-flags SYN,RST,ACK ACK -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLEOUT -p tcp -m multiport --sports 80 -m connmark "
    "--mark 0x10000000/0x10000000 -m conntrack --ctdir REPLY -j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLEOUT -p tcp -m multiport --sports 80 --tcp-flags FIN,SYN,RST,ACK SYN,ACK "
    "-m conntrack --ctstate ESTABLISHED --ctdir REPLY -m hashlimit --hashlimit-upto 4/sec "
    "--hashlimit-burst 8 --hashlimit-mode srcip,srcport --hashlimit-name sgl0 "
    "-j NFQUEUE --queue-num 0\n"
    "-A SYNGATE-MANGLE -m addrtype --dst-type LOCAL -p tcp -m multiport --dports 80 "
    "-m conntrack --ctstate INVALID -j DROP\n"
    "COMMIT\n";

/* On-host: the known answer; two jumps per table, which the removal of an
 * on-host dump takes away; an interface goes before the addrtype match and
 * adds no backend RETURN rule (OUTPUT has no input interface). */
static void on_host(void **state)
{
	static const char dump[] = "*raw\n"
	                           ":SYNGATE-RAW - [0:0]\n"
	                           ":SYNGATE-RAWOUT - [0:0]\n"
	                           "-A PREROUTING -j SYNGATE-RAW\n"
	                           "-A OUTPUT -j SYNGATE-RAWOUT\n"
	                           "COMMIT\n";
	struct sg_rules_config c;
	struct sg_rules_saved s;
	struct sg_strbuf b = {0};
	const char *text;

	(void)state;
	plain_defaults(&c);
	assert_int_equal(sg_rules_jumps(&c), 1);
	c.on_host = true;
	assert_int_equal(sg_rules_jumps(&c), 2);
	assert_null(sg_rules_invalid(&c));
	assert_string_equal(script_of(&c), onhost_script);
	snprintf(c.ifaces[0], sizeof(c.ifaces[0]), "eth0");
	c.nifaces = 1;
	text = script_of(&c);
	assert_int_equal(count(text, "-i eth0 -m addrtype --dst-type LOCAL -p tcp"), 4);
	assert_int_equal(count(text, "-j RETURN\n"), 3); /* lo twice, the reflect mark */
	assert_int_equal(sg_rules_saved_parse(dump, &s), 0);
	assert_int_equal(sg_rules_saved_table(&s, "raw")->njumps, 2);
	assert_int_equal(sg_rules_remove_script(&s, &b), 0);
	assert_string_equal(sg_strbuf_str(&b), "*raw\n"
	                                       "-D PREROUTING -j SYNGATE-RAW\n"
	                                       "-D OUTPUT -j SYNGATE-RAWOUT\n"
	                                       "-F SYNGATE-RAW\n"
	                                       "-F SYNGATE-RAWOUT\n"
	                                       "-X SYNGATE-RAW\n"
	                                       "-X SYNGATE-RAWOUT\n"
	                                       "COMMIT\n");
	sg_strbuf_free(&b);
	sg_rules_saved_free(&s);
}

/* More tables than iptables has is not a dump syngate understands. */
static void too_many_tables(void **state)
{
	char dump[512] = "";
	struct sg_rules_saved s;

	(void)state;
	for (int i = 0; i <= SG_RULES_MAX_TABLES; i++)
		snprintf(dump + strlen(dump), sizeof(dump) - strlen(dump), "*t%d\nCOMMIT\n", i);
	assert_int_equal(sg_rules_saved_parse(dump, &s), -1);
	sg_rules_saved_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(ack_shed_and_lane),
	    cmocka_unit_test(ports_and_interfaces),
	    cmocka_unit_test(shed_rate),
	    cmocka_unit_test(fail_open_and_queues),
	    cmocka_unit_test(marks),
	    cmocka_unit_test(completions),
	    cmocka_unit_test(ipv6),
	    cmocka_unit_test(invalid),
	    cmocka_unit_test(removal),
	    cmocka_unit_test(install_over_saved),
	    cmocka_unit_test(counters_of_the_drop_rules),
	    cmocka_unit_test(timestamps),
	    cmocka_unit_test(too_many_tables),
	    cmocka_unit_test(on_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

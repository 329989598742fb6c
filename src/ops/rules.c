/* syngate firewall rules: the iptables-restore text of the SYNGATE-* chains.
 * Contracts are in include/syngate/ops/rules.h; the rule set and the reason
 * for each rule are in rules/README.md.  Pure: text in, text out.
 *
 * The install script of one family, as src/ops/iptables.c applies it:
 *
 *   iptables-save ──parse──► jumps into SYNGATE-* and SYNGATE-* chains
 *                                  │
 *                          "-D <jump>", "-F/-X <chain>"   (removal lines)
 *                                  ▼
 *   *raw    <removal> <new raw rules>    COMMIT    one transaction per table
 *   *mangle <removal> <new mangle rules> COMMIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strchrnul, memmem */
#endif
#include "syngate/io/lane.h"
#include "syngate/ops/rules.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --------------------------------------------------------- configuration */

void sg_rules_defaults(struct sg_rules_config *c)
{
	*c = (struct sg_rules_config){0};
	c->ports[0] = 80;
	c->nports = 1;
	c->nqueues = 1;
	sg_marks_defaults(&c->marks);
	c->shed_rate = SG_RULES_DEFAULT_SHED_RATE;
	c->ack_shed_rate = SG_RULES_DEFAULT_ACK_SHED_RATE;
	c->lane = true;
	c->lane_rate = SG_RULES_DEFAULT_LANE_RATE;
	c->ipv4 = c->ipv6 = true;
}

/* The rate a shared bucket of @rate per queue really lets through for
 * @nqueues queues together. */
static uint32_t bucket_effective(uint32_t rate, uint16_t nqueues)
{
	uint64_t total = (uint64_t)rate * (nqueues ? nqueues : 1);
	uint64_t us;

	if (total == 0)
		return 0;
	if (total > SG_RULES_SHED_RATE_MAX)
		total = SG_RULES_SHED_RATE_MAX;
	/* xt_hashlimit keeps the rate as whole microseconds per packet
	 * (iptables: 1000000 / rate, truncated); round that up so the rule never
	 * lets more through than asked, and print the rate it really uses */
	us = (1000000u + total - 1) / total;
	return (uint32_t)(1000000u / us);
}

int sg_rules_jumps(const struct sg_rules_config *c)
{
	return c->on_host ? 2 : 1;
}

uint32_t sg_rules_shed_effective(const struct sg_rules_config *c)
{
	return bucket_effective(c->shed_rate, c->nqueues);
}

uint32_t sg_rules_ack_shed_effective(const struct sg_rules_config *c)
{
	return bucket_effective(c->ack_shed_rate, c->nqueues);
}

/* True when @name can go into an iptables script as one word: 1..15 bytes,
 * printable, and none of the bytes restore or the kernel treat specially. */
static bool iface_name_ok(const char *name)
{
	size_t n = strnlen(name, 16);

	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!isgraph(ch) || strchr("\"'#/\\", ch))
			return false;
	}
	return true;
}

const char *sg_rules_invalid(const struct sg_rules_config *c)
{
	if (c->nports < 1 || c->nports > SG_RULES_MAX_PORTS)
		return "need 1 to 15 ports (iptables multiport limit)";
	for (int i = 0; i < c->nports; i++)
		if (c->ports[i] == 0)
			return "port 0";
	if (c->nifaces < 0 || c->nifaces > SG_MAX_IFACES)
		return "at most 8 interfaces";
	for (int i = 0; i < c->nifaces; i++)
		if (!iface_name_ok(c->ifaces[i]))
			return "interface name empty, longer than 15 bytes, or with a "
			       "blank, quote, '#', '/', '\\' or control byte";
	if (c->nqueues < 1 || (uint32_t)c->queue + c->nqueues - 1 > UINT16_MAX)
		return "nqueues must be >= 1 and the last queue <= 65535";
	if (!sg_marks_valid(&c->marks))
		return "marks must be non-zero; pending, proxied and reflect must share no bit, "
		       "nor complete or known and reflect";
	if (!c->ipv4 && !c->ipv6)
		return "neither ipv4 nor ipv6 enabled";
	if (c->shed_rate != 0 &&
	    (c->shed_rate < SG_RULES_SHED_RATE_MIN ||
	     (uint64_t)c->shed_rate * c->nqueues > SG_RULES_SHED_RATE_MAX))
		return "shed-rate must be 0 (no limit) or 1000..1000000 SYN/s, and "
		       "shed-rate * nqueues at most 1000000 (the xt_hashlimit maximum)";
	if (c->ack_shed_rate != 0 &&
	    (c->ack_shed_rate < SG_RULES_SHED_RATE_MIN ||
	     (uint64_t)c->ack_shed_rate * c->nqueues > SG_RULES_SHED_RATE_MAX))
		return "ack-shed-rate must be 0 (no limit) or 1000..1000000 ACK/s, and "
		       "ack-shed-rate * nqueues at most 1000000";
	if (!c->lane)
		return NULL;
	if (c->nqueues > 32 || (uint32_t)c->queue + 2u * c->nqueues - 1 > UINT16_MAX)
		return "with the lane, nqueues at most 32 and the last lane queue "
		       "(queue + 2 * nqueues - 1) <= 65535";
	if (c->lane_rate < 1 || c->lane_rate > SG_RULES_LANE_RATE_MAX)
		return "lane-rate must be 1..100000 per second";
	return NULL;
}

/* ------------------------------------------------------- rule generation */

/* The pieces every rule shares, formatted once. */
struct rule_parts {
	char ports[SG_RULES_MAX_PORTS * 6 + 1]; /* "80,443" */
	char queue[80];                         /* "NFQUEUE --queue-num 0 --queue-bypass" */
	char lane_queue[80];                    /* the same for the lane's queues */
};

/* "NFQUEUE --queue-num Q" or "--queue-balance Q:Q+n-1", and --queue-bypass. */
static void put_queue(char *buf, size_t len, const struct sg_rules_config *c, uint32_t first)
{
	int n;

	if (c->nqueues == 1)
		n = snprintf(buf, len, "NFQUEUE --queue-num %" PRIu32, first);
	else
		n = snprintf(buf, len, "NFQUEUE --queue-balance %" PRIu32 ":%" PRIu32, first,
		             first + c->nqueues - 1u);
	if (c->fail_open)
		snprintf(buf + n, len - (size_t)n, " --queue-bypass");
}

static void parts_init(const struct sg_rules_config *c, struct rule_parts *p)
{
	size_t off = 0;

	for (int i = 0; i < c->nports; i++)
		off += (size_t)snprintf(p->ports + off, sizeof(p->ports) - off, "%s%u",
		                        i ? "," : "", c->ports[i]);
	put_queue(p->queue, sizeof(p->queue), c, c->queue);
	put_queue(p->lane_queue, sizeof(p->lane_queue), c, (uint32_t)c->queue + c->nqueues);
}

/* " -m set --match-set syngate-lane src -m hashlimit ... --hashlimit-mode
 * srcip": a lane member within its own rate; the table is named
 * @tag<queue>-<rate>. */
static void lane_match(char *buf, size_t len, const struct sg_rules_config *c, const char *tag)
{
	snprintf(buf, len,
	         " -m set --match-set " SG_LANE_SET " src -m hashlimit --hashlimit-upto %" PRIu32
	         "/sec --hashlimit-burst %" PRIu32 " --hashlimit-mode srcip --hashlimit-name %s%u-%" PRIu32,
	         c->lane_rate, c->lane_rate, tag, c->queue, c->lane_rate);
}

/* The shed rule's burst: 20 ms of @rate (at least 5 jiffies at HZ 250, as
 * hashlimit refills once a jiffy and caps the credit at the burst, so a burst
 * below rate/HZ would lower the rate). */
static uint32_t shed_burst(uint32_t rate)
{
	return rate / 50 > 0 ? rate / 50 : 1;
}

/* Appends "-A @chain [-i IF] @rest", once per configured client interface,
 * or once without -i when none is configured.  On-host, only packets to a
 * local address are clients' (addrtype LOCAL): a host that also forwards
 * leaves what it forwards alone, since the answers of a forwarded
 * connection's server would never reach the rules of OUTPUT. */
static void put_client_rule(struct sg_strbuf *b, const struct sg_rules_config *c, const char *chain,
                            const char *rest)
{
	const char *local = c->on_host ? "-m addrtype --dst-type LOCAL " : "";

	if (c->nifaces == 0)
		sg_strbuf_printf(b, "-A %s %s%s\n", chain, local, rest);
	for (int i = 0; i < c->nifaces; i++)
		sg_strbuf_printf(b, "-A %s -i %s %s%s\n", chain, c->ifaces[i], local, rest);
}

/* On-host: packets over loopback are the host's own (its clients, and the
 * backend ACK and SYN retransmissions syngate sends to its listeners through
 * a raw socket, which loop back): @chain returns them first. */
static void put_loopback_return(struct sg_strbuf *b, const struct sg_rules_config *c,
                                const char *chain)
{
	if (c->on_host)
		sg_strbuf_printf(b, "-A %s -i lo -j RETURN\n", chain);
}

/* " -m hashlimit ..." of one shared bucket of @rate a second, named
 * PREFIX<queue>-<rate>: the kernel shares a hashlimit table by name and
 * keeps the rate of the rule that created it, so the name carries both. */
static void bucket_match(char *out, size_t len, uint32_t rate, const char *prefix,
                         uint16_t queue)
{
	snprintf(out, len,
	         " -m hashlimit --hashlimit-upto %" PRIu32 "/sec --hashlimit-burst %" PRIu32
	         " --hashlimit-name %s%u-%" PRIu32,
	         rate, shed_burst(rate), prefix, queue, rate);
}

/* The two rules of one kind of client packet (@match) in @chain: a lane
 * member's, at the lane's rate per source to the lane queue (table
 * @lane_name), then everyone's, at @rate a second in one shared bucket
 * (table @bucket_name; 0: no limit) to the main queue. */
static void put_lane_and_bucket(struct sg_strbuf *b, const struct sg_rules_config *c,
                                const struct rule_parts *p, const char *chain,
                                const char *match, const char *lane_name, uint32_t rate,
                                const char *bucket_name)
{
	char rest[768], lim[256] = "";

	if (c->lane) {
		lane_match(lim, sizeof(lim), c, lane_name);
		snprintf(rest, sizeof(rest), "%s%s -j %s", match, lim, p->lane_queue);
		put_client_rule(b, c, chain, rest);
		lim[0] = '\0';
	}
	if (rate)
		bucket_match(lim, sizeof(lim), rate, bucket_name, c->queue);
	snprintf(rest, sizeof(rest), "%s%s -j %s", match, lim, p->queue);
	put_client_rule(b, c, chain, rest);
}

/* raw OUTPUT, on-host: the cookie SYN-ACKs (and RSTs) syngate sends from a
 * raw socket with the reflect mark instead of reflecting them in
 * PREROUTING, which would need forwarding on the server; notracked, as a
 * reflected one is. */
static void put_raw_output(struct sg_strbuf *b, const struct sg_rules_config *c)
{
	sg_strbuf_printf(b, ":SYNGATE-RAWOUT - [0:0]\n-I OUTPUT 1 -j SYNGATE-RAWOUT\n"
	                 "-A SYNGATE-RAWOUT -m mark --mark 0x%" PRIx32 "/0x%" PRIx32
	                 " -j CT --notrack\n", c->marks.reflect, c->marks.reflect);
}

/* raw PREROUTING, before conntrack: a SYN-ACK syngate reflected (NF_REPEAT
 * with the reflect mark) is notracked and accepted; client SYNs go to syngate,
 * at most shed_rate a second per queue, and the excess is dropped here: the
 * kernel builds a packet's netlink copy before it looks at the queue length,
 * so SYNs beyond the daemon's capacity would otherwise starve it.
 *
 * One hashlimit bucket (no --hashlimit-mode) per queue set, shared by every
 * interface's rule.  The kernel keeps a hashlimit table's rate from the rule
 * that created it and shares the table by name, so the name carries the
 * queue and the rate: a reinstall with another rate gets a new table. */
static void put_raw_rules(struct sg_strbuf *b, const struct sg_rules_config *c,
                          const struct rule_parts *p)
{
	char rest[640], syn[256];
	uint32_t rate = sg_rules_shed_effective(c);

	sg_strbuf_puts(b, ":SYNGATE-RAW - [0:0]\n:SYNGATE-KNOWN - [0:0]\n");
	if (c->on_host)
		put_raw_output(b, c);
	sg_strbuf_puts(b, "-I PREROUTING 1 -j SYNGATE-RAW\n");
	put_loopback_return(b, c, "SYNGATE-RAW");
	if (!c->on_host) { /* on-host nothing is reflected here */
		sg_strbuf_printf(b, "-A SYNGATE-RAW -m mark --mark 0x%" PRIx32 "/0x%" PRIx32
		                 " -j CT --notrack\n", c->marks.reflect, c->marks.reflect);
		sg_strbuf_printf(b, "-A SYNGATE-RAW -m mark --mark 0x%" PRIx32 "/0x%" PRIx32
		                 " -j ACCEPT\n", c->marks.reflect, c->marks.reflect);
	}
	/* a SYN the TC program found in conntrack (a reused port) goes on to
	 * conntrack, which reopens the entry, with the mark cleared */
	sg_strbuf_printf(b, "-A SYNGATE-RAW -p tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark "
	          "0x%" PRIx32 "/0x%" PRIx32 " -j SYNGATE-KNOWN\n", c->marks.known, c->marks.known);
	sg_strbuf_printf(b, "-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x%" PRIx32 "\n"
	          "-A SYNGATE-KNOWN -j ACCEPT\n", c->marks.known);
	snprintf(syn, sizeof(syn), "-p tcp -m multiport --dports %s --tcp-flags FIN,SYN,RST,ACK SYN",
	         p->ports);
	put_lane_and_bucket(b, c, p, "SYNGATE-RAW", syn, "ls", rate, "sg");
	if (!rate)
		return;
	snprintf(rest, sizeof(rest), "%s -j DROP", syn);
	put_client_rule(b, c, "SYNGATE-RAW", rest);
}

/* mangle PREROUTING, after conntrack: client ACKs without an entry (cookie
 * ACKs; tcp_loose=0 makes them INVALID), every backend SYN-ACK, and the
 * backend's other answers on pending connections (connmark: RSTs) go to
 * syngate; other INVALID segments are dropped. */
static void put_cookie_acks(struct sg_strbuf *b, const struct sg_rules_config *c,
                            const struct rule_parts *p);
static void put_completions(struct sg_strbuf *b, const struct sg_rules_config *c,
                            const struct rule_parts *p);
static void put_backend_rules(struct sg_strbuf *b, const struct sg_rules_config *c,
                              const struct rule_parts *p, const char *chain);

static void put_mangle_rules(struct sg_strbuf *b, const struct sg_rules_config *c,
                             const struct rule_parts *p)
{
	/* on-host, the listeners' answers pass OUTPUT, not PREROUTING */
	const char *backends = c->on_host ? "SYNGATE-MANGLEOUT" : "SYNGATE-MANGLE";
	char rest[384];

	sg_strbuf_puts(b, ":SYNGATE-MANGLE - [0:0]\n");
	if (c->on_host)
		sg_strbuf_puts(b, ":SYNGATE-MANGLEOUT - [0:0]\n-I OUTPUT 1 -j SYNGATE-MANGLEOUT\n");
	sg_strbuf_puts(b, "-I PREROUTING 1 -j SYNGATE-MANGLE\n");
	put_loopback_return(b, c, "SYNGATE-MANGLE");
	/* SYN-ACKs syngate reflected (on-host: sent) are done: not a backend's,
	 * not to learn from */
	sg_strbuf_printf(b, "-A %s -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j RETURN\n",
	          backends, c->marks.reflect, c->marks.reflect);
	put_cookie_acks(b, c, p);
	/* the ACK completing a passed-through handshake (the connection's second
	 * packet from the client; not one of syngate's own connections), once per
	 * connection: marked, then queued; adaptive mode counts completed
	 * handshakes with it and the daemon takes the mark off.  Only adaptive
	 * mode needs it: elsewhere it would be a queue trip per connection for
	 * nothing. */
	if (c->completions)
		put_completions(b, c, p);
	put_backend_rules(b, c, p, backends);
	snprintf(rest, sizeof(rest),
	         "-p tcp -m multiport --dports %s -m conntrack --ctstate "
	         "INVALID -j DROP",
	         p->ports);
	put_client_rule(b, c, "SYNGATE-MANGLE", rest);
}

/* Client ACKs without an entry: cookie ACKs (tcp_loose=0 makes them
 * INVALID).  A pending connection's segments (the entry exists, but an ACK
 * in SYN_SENT is INVALID) follow its connmark to the queue that created it
 * (the lane mark set: a lane queue), so a client that joins the lane
 * meanwhile does not move its handshakes in flight; they skip the ACK
 * bucket, their cookie was valid.  A lane member's cookie ACKs go to the
 * lane queue within its own rate; everyone else's share one bucket of
 * ack_shed_rate per queue (a random-source ACK flood would otherwise fill
 * the queue), the excess falling through to the INVALID DROP rule. */
static void put_cookie_acks(struct sg_strbuf *b, const struct sg_rules_config *c,
                            const struct rule_parts *p)
{
	char rest[768], ack[256];
	uint32_t arate = sg_rules_ack_shed_effective(c);
	uint32_t lm = c->marks.lane, pm = c->marks.pending;

	snprintf(ack, sizeof(ack),
	         "-p tcp -m multiport --dports %s -m conntrack --ctstate INVALID "
	         "--tcp-flags SYN,RST,ACK ACK",
	         p->ports);
	if (c->lane) {
		snprintf(rest, sizeof(rest), "%s -m connmark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j %s",
		         ack, lm, lm, p->lane_queue);
		put_client_rule(b, c, "SYNGATE-MANGLE", rest);
	}
	if (c->lane || arate) {
		snprintf(rest, sizeof(rest), "%s -m connmark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j %s",
		         ack, pm, pm, p->queue);
		put_client_rule(b, c, "SYNGATE-MANGLE", rest);
	}
	put_lane_and_bucket(b, c, p, "SYNGATE-MANGLE", ack, "la", arate, "sa");
}

static void put_completions(struct sg_strbuf *b, const struct sg_rules_config *c,
                            const struct rule_parts *p)
{
	char rest[384];

	snprintf(rest, sizeof(rest),
	         "-p tcp -m multiport --dports %s --tcp-flags SYN,RST,ACK ACK -m conntrack "
	         "--ctstate ESTABLISHED -m connmark --mark 0x0/0x%" PRIx32 " -m connbytes "
	         "--connbytes 2:2 --connbytes-dir original --connbytes-mode packets "
	         "-j MARK --set-xmark 0x%" PRIx32 "/0x%" PRIx32,
	         p->ports, c->marks.pending | c->marks.proxied, c->marks.complete, c->marks.complete);
	put_client_rule(b, c, "SYNGATE-MANGLE", rest);
	if (c->lane) /* a lane member's: the lane worker passed its SYN */
		sg_strbuf_printf(b, "-A SYNGATE-MANGLE -m mark --mark 0x%" PRIx32 "/0x%" PRIx32
		                 " -m set --match-set " SG_LANE_SET " src -j %s\n",
		                 c->marks.complete, c->marks.complete, p->lane_queue);
	sg_strbuf_printf(b, "-A SYNGATE-MANGLE -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j %s\n",
	          c->marks.complete, c->marks.complete, p->queue);
}

/* The backends' side, in @chain (on-host: the listeners' answers in OUTPUT,
 * where no client can forge one; only reply-direction packets there, since
 * syngate's own raw ACKs and SYNs to the listeners pass OUTPUT too, and a
 * client may pick a protected port as its source).  In router mode nothing
 * from a client-facing interface is a backend's answer: a client could
 * otherwise forge the backend's SYN-ACK on its own tracked connection and
 * teach syngate false options.  Then every
 * answer on a pending connection (connmark: the SYN-ACK that completes the
 * splice, a RST), and backend SYN-ACKs of tracked connections to learn the
 * backend's window scale, MSS and SACK from: a sample of them, at most a
 * few a second per backend (hashlimit per address and port), since one
 * tells what the next thousand would.  A spoofed SYN-ACK has no conntrack
 * entry (INVALID); one forged on a tracked connection comes in on the wrong
 * side (rpfilter): neither can poison what syngate learns. */
static void put_backend_rules(struct sg_strbuf *b, const struct sg_rules_config *c,
                              const struct rule_parts *p, const char *chain)
{
	const char *reply = c->on_host ? " -m conntrack --ctdir REPLY" : "";

	for (int i = 0; i < c->nifaces && !c->on_host; i++)
		sg_strbuf_printf(b, "-A %s -i %s -p tcp -m multiport --sports %s "
		          "-m multiport ! --dports %s -j RETURN\n", chain, c->ifaces[i], p->ports,
		          p->ports);
	/* a lane queue's pending connection (its worker set the lane mark with
	 * the pending one) goes back to the lane queue */
	if (c->lane)
		sg_strbuf_printf(b,
		          "-A %s -p tcp -m multiport --sports %s -m connmark --mark "
		          "0x%" PRIx32 "/0x%" PRIx32 "%s -j %s\n",
		          chain, p->ports, c->marks.lane, c->marks.lane, reply, p->lane_queue);
	sg_strbuf_printf(b,
	          "-A %s -p tcp -m multiport --sports %s -m connmark --mark "
	          "0x%" PRIx32 "/0x%" PRIx32 "%s -j %s\n",
	          chain, p->ports, c->marks.pending, c->marks.pending, reply, p->queue);
	/* with the synproxy hooks registered (timestamps): a backend RST on a
	 * spliced connection, whose sequence offset the hook would otherwise
	 * overwrite (docs/design.md, "TCP timestamps") */
	if (c->timestamps)
		sg_strbuf_printf(b,
		          "-A %s -p tcp -m multiport --sports %s --tcp-flags RST RST "
		          "-m connmark --mark 0x%" PRIx32 "/0x%" PRIx32 " -m conntrack --ctdir REPLY "
		          "-j %s\n",
		          chain, p->ports, c->marks.proxied, c->marks.proxied, p->queue);
	/* rpfilter (router): only a SYN-ACK that came in where the route to its
	 * source (the backend) goes.  A client can forge the backend's SYN-ACK
	 * on a connection of its own, which conntrack calls ESTABLISHED, but it
	 * arrives on the client's side and fails the check. */
	sg_strbuf_printf(b,
	          "-A %s -p tcp -m multiport --sports %s "
	          "--tcp-flags FIN,SYN,RST,ACK SYN,ACK%s -m conntrack --ctstate ESTABLISHED "
	          "--ctdir REPLY -m hashlimit --hashlimit-upto %u/sec --hashlimit-burst %u "
	          "--hashlimit-mode srcip,srcport --hashlimit-name sgl%u -j %s\n",
	          chain, p->ports, c->on_host ? "" : " -m rpfilter", SG_RULES_LEARN_RATE,
	          SG_RULES_LEARN_BURST, c->queue, p->queue);
}

/* --------------------------------------------- reading the current rules */

const struct sg_rules_table *sg_rules_saved_table(const struct sg_rules_saved *s,
                                                  const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

void sg_rules_saved_free(struct sg_rules_saved *s)
{
	for (int i = 0; i < s->n; i++) {
		sg_strbuf_free(&s->t[i].del);
		sg_strbuf_free(&s->t[i].chains);
	}
	s->n = 0;
}

bool sg_rules_table_has_chain(const struct sg_rules_table *t, const char *chain)
{
	const char *p = sg_strbuf_str(&t->chains);
	size_t n = strlen(chain);

	for (; (p = strstr(p, chain)) != NULL; p += n)
		if ((p == t->chains.buf || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* True when rule line @l ("-A CHAIN ... -j TARGET", no newline, length @n)
 * jumps or goes to a SYNGATE-* chain: its last -j/-g word is the target, and
 * user-chain targets take no options, so it ends the line. */
static bool is_syngate_jump(const char *l, size_t n)
{
	const char *last = NULL;

	for (const char *p = l; (p = memmem(p, n - (size_t)(p - l), " -", 2)) != NULL; p += 2)
		if (p + 4 <= l + n && (p[2] == 'j' || p[2] == 'g') && p[3] == ' ')
			last = p + 4;
	if (!last || !starts_with(last, "SYNGATE-"))
		return false;
	return memchr(last, ' ', n - (size_t)(last - l)) == NULL;
}

/* The packet count of a rule line of `iptables-save -c` ("[PKTS:BYTES] -A
 * ..."), which it moves @l and @n past; 0 for a line without counters. */
static uint64_t rule_packets(const char **l, size_t *n)
{
	unsigned long long pkts;
	int used = 0;

	if (*n < 5 || (*l)[0] != '[' || sscanf(*l, "[%llu:%*u] %n", &pkts, &used) != 1 || !used ||
	    (size_t)used > *n)
		return 0;
	*l += used;
	*n -= (size_t)used;
	return pkts;
}

/* Whether rule line @l (length @n) is "-A @chain ... -j DROP". */
static bool is_drop_in(const char *l, size_t n, const char *chain)
{
	size_t c = strlen(chain);

	return n > 3 + c + 8 && starts_with(l, "-A ") && !memcmp(l + 3, chain, c) && l[3 + c] == ' ' &&
	       !memcmp(l + n - 8, " -j DROP", 8);
}

/* Records one iptables-save line (length @n, no newline) into @t. */
static void table_note_line(struct sg_rules_table *t, const char *l, size_t n)
{
	uint64_t pkts = rule_packets(&l, &n);

	if (is_drop_in(l, n, "SYNGATE-RAW"))
		t->syn_shed += pkts;
	else if (is_drop_in(l, n, "SYNGATE-MANGLE"))
		t->invalid_dropped += pkts;
	if (n > 9 && starts_with(l, ":SYNGATE-")) {
		size_t w = strcspn(l + 1, " \n");
		sg_strbuf_add(&t->chains, l + 1, w < n - 1 ? w : n - 1);
		sg_strbuf_puts(&t->chains, "\n");
	} else if (n > 3 && starts_with(l, "-A ") && !starts_with(l + 3, "SYNGATE-") &&
	           is_syngate_jump(l, n)) {
		sg_strbuf_puts(&t->del, "-D ");
		sg_strbuf_add(&t->del, l + 3, n - 3);
		sg_strbuf_puts(&t->del, "\n");
		t->njumps++;
	}
}

int sg_rules_saved_parse(const char *text, struct sg_rules_saved *s)
{
	struct sg_rules_table *cur = NULL;
	const char *nl;

	*s = (struct sg_rules_saved){0};
	for (const char *l = text; *l; l = *nl ? nl + 1 : nl) {
		size_t n;

		nl = strchrnul(l, '\n');
		n = (size_t)(nl - l);
		if (n > 1 && l[0] == '*') {
			if (s->n == SG_RULES_MAX_TABLES)
				return -1;
			cur = &s->t[s->n++];
			snprintf(cur->name, sizeof(cur->name), "%.*s", (int)(n - 1), l + 1);
		} else if (cur) {
			table_note_line(cur, l, n);
		}
	}
	for (int i = 0; i < s->n; i++)
		if (s->t[i].del.cut || s->t[i].chains.cut)
			return -1;
	return 0;
}

/* Appends the lines that remove syngate from table @t: jumps first, then
 * flush every SYNGATE-* chain (they may jump to each other), then delete. */
static void put_removal(struct sg_strbuf *b, const struct sg_rules_table *t)
{
	const char *p, *nl;

	sg_strbuf_puts(b, sg_strbuf_str(&t->del));
	for (int pass = 0; pass < 2; pass++)
		for (p = sg_strbuf_str(&t->chains); *p; p = nl + 1) {
			nl = strchr(p, '\n');
			sg_strbuf_printf(b, "%s %.*s\n", pass ? "-X" : "-F", (int)(nl - p), p);
		}
}

static bool table_dirty(const struct sg_rules_table *t)
{
	return t->del.len > 0 || t->chains.len > 0;
}

/* Appends a removal transaction for every table of @s holding syngate
 * state, except those named in @skip (NULL-terminated, may be NULL). */
static void put_removal_tables(struct sg_strbuf *b, const struct sg_rules_saved *s, const char *const *skip)
{
	for (int i = 0; i < s->n; i++) {
		bool skipped = false;
		for (const char *const *k = skip; k && *k; k++)
			skipped |= strcmp(*k, s->t[i].name) == 0;
		if (skipped || !table_dirty(&s->t[i]))
			continue;
		sg_strbuf_printf(b, "*%s\n", s->t[i].name);
		put_removal(b, &s->t[i]);
		sg_strbuf_puts(b, "COMMIT\n");
	}
}

/* The SYNPROXY target registers the kernel's synproxy hooks in this
 * namespace while some rule uses it (checkentry, nf_synproxy_ipv4_init).
 * The chain is never jumped to, so no packet reaches the target; the hooks
 * translate the timestamps of every entry syngate creates (docs/design.md,
 * "TCP timestamps"). */
static void put_ts_rules(struct sg_strbuf *b)
{
	sg_strbuf_puts(b, ":SYNGATE-TS - [0:0]\n-A SYNGATE-TS -p tcp -j SYNPROXY --timestamp\n");
}

int sg_rules_install_script(const struct sg_rules_config *c, const struct sg_rules_saved *saved,
                            struct sg_strbuf *out)
{
	static const char *const ours[] = {"raw", "mangle", NULL};
	static const char *const ours_ts[] = {"raw", "mangle", "filter", NULL};
	const struct sg_rules_table *t;
	struct rule_parts p;

	if (sg_rules_invalid(c))
		return -1;
	parts_init(c, &p);
	if (saved)
		put_removal_tables(out, saved, c->timestamps ? ours_ts : ours);
	if (c->timestamps) {
		sg_strbuf_puts(out, "*filter\n");
		if (saved && (t = sg_rules_saved_table(saved, "filter")) != NULL)
			put_removal(out, t);
		put_ts_rules(out);
		sg_strbuf_puts(out, "COMMIT\n");
	}
	sg_strbuf_puts(out, "*raw\n");
	if (saved && (t = sg_rules_saved_table(saved, "raw")) != NULL)
		put_removal(out, t);
	put_raw_rules(out, c, &p);
	sg_strbuf_puts(out, "COMMIT\n*mangle\n");
	if (saved && (t = sg_rules_saved_table(saved, "mangle")) != NULL)
		put_removal(out, t);
	put_mangle_rules(out, c, &p);
	sg_strbuf_puts(out, "COMMIT\n");
	return out->cut ? -1 : 0;
}

int sg_rules_remove_script(const struct sg_rules_saved *saved, struct sg_strbuf *out)
{
	put_removal_tables(out, saved, NULL);
	return out->cut ? -1 : 0;
}

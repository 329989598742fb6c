/* syngate configuration: see include/syngate/ops/config.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "syngate/ops/config.h"
#include "syngate/io/log.h"
#include "syngate/io/xdp.h"

enum opt_type { T_U32, T_U16, T_U8, T_BOOL, T_PORTS, T_IFACES, T_MODE, T_STR, T_LOG, T_XDP, T_LOGFMT,
		T_PLACEMENT };
#define T_COUNT (T_PLACEMENT + 1) /* keep at the last type */

/* One option: its name (file key and flag), how its value is parsed, the
 * field it sets (T_PORTS/T_IFACES: the list; the count beside it), the range
 * of numbers, whether SIGHUP applies it to the running daemon (live; the
 * others need a restart), the default (NULL: the field stays empty, and the
 * help says what that means) and the help. */
struct opt {
	const char *name;
	enum opt_type type;
	size_t off, size;
	uint32_t min, max;
	bool live;
	const char *def;
	const char *help;
};

#define F(field) offsetof(struct sg_config, field), sizeof(((struct sg_config *)0)->field)
#define LIVE true
#define RESTART false

static const struct opt opts[] = {
	{"ports", T_PORTS, F(rules.ports), 0, 0, RESTART, "80", "protected TCP ports, comma-separated"},
	{"interfaces", T_IFACES, F(rules.ifaces), 0, 0, RESTART, NULL, "client-facing interfaces, comma-separated (default all)"},
	{"queue", T_U16, F(rules.queue), 0, 65535, RESTART, "0", "first NFQUEUE number"},
	{"queues", T_U16, F(rules.nqueues), 1, 64, RESTART, "1", "queues and worker threads, spread with --queue-balance"},
	{"queue-maxlen", T_U32, F(queue_maxlen), 16, 1u << 20, RESTART, "2048", "kernel queue length, packets: a full queue drops instead of delaying (~10 ms of work; see rules/README.md)"},
	{"rcvbuf-mb", T_U32, F(rcvbuf_mb), 1, 1024, RESTART, "64", "netlink receive buffer, MiB"},
	{"mode", T_MODE, F(proxy.mode), 0, 0, LIVE, "always", "always | never | adaptive: when SYNs get cookies (where syngate runs is 'placement')"},
	{"adaptive-high", T_U32, F(proxy.adaptive_high), 1, 1u << 30, LIVE, "1000", "adaptive: engage cookies at this half-open estimate"},
	{"adaptive-low", T_U32, F(proxy.adaptive_low), 0, 1u << 30, LIVE, "500", "adaptive: release them below this estimate; must be below adaptive-high"},
	{"adaptive-window-ms", T_U32, F(proxy.adaptive_window_ms), 80, 600000, LIVE, "2000", "adaptive: window of the half-open estimate"},
	{"xdp", T_XDP, F(xdp_mode), 0, 0, RESTART, "auto", "auto | native | generic | off: answer SYNs and check cookie ACKs in an XDP program on the 'interfaces' (when none are named: those of the default routes, else every interface that is up) before they reach the queue (auto: native on NICs, generic on virtual devices, and the queue path alone with one log line when XDP cannot be used; see docs/xdp.md)"},
	{"xdp-object", T_STR, F(xdp_object), 0, 0, RESTART, NULL, "the XDP program's object file (default: syngate_xdp.o beside the executable, else the installed one)"},
	{"shed-rate", T_U32, F(rules.shed_rate), 0, 1000000, RESTART, "100000", "SYNs per second let into each queue; the excess is dropped before the queue (xt_hashlimit), 0 = no limit; see rules/README.md"},
	{"ack-shed-rate", T_U32, F(rules.ack_shed_rate), 0, 1000000, RESTART, "50000", "ACKs without a conntrack entry (cookie ACKs) per second let into each queue; the excess is dropped before the queue, 0 = no limit; see rules/README.md"},
	{"lane", T_BOOL, F(rules.lane), 0, 0, RESTART, "yes", "clients that completed a handshake recently skip the shared shed buckets and get queues of their own (ipset); see rules/README.md"},
	{"lane-rate", T_U32, F(rules.lane_rate), 1, 100000, RESTART, "1000", "lane: SYNs and cookie ACKs per second each lane member may send"},
	{"lane-timeout", T_U32, F(lane_timeout), 10, 86400, RESTART, "600", "lane: seconds a client stays in the lane after its last completed handshake"},
	{"lane-mark", T_U32, F(proxy.marks.lane), 1, 0xffffffff, RESTART, "0x01000000", "lane: connmark bit of connections pending in a lane queue"},
	{"fail-open", T_BOOL, F(rules.fail_open), 0, 0, RESTART, "no", "accept packets when no daemon listens or the queue is full"},
	{"rst-invalid", T_BOOL, F(proxy.rst_invalid), 0, 0, LIVE, "no", "answer an ACK with a bad cookie with RST (no: drop it)"},
	{"halfopen-per-source", T_U32, F(proxy.per_source_max), 0, 65535, LIVE, "1024", "half-open entries one source (IPv4 address, IPv6 /64) may hold per protected port, 0 = no cap"},
	{"table-size", T_U32, F(proxy.table_max), 1, 1u << 24, RESTART, "65536", "half-open table entries"},
	{"backend-timeout-ms", T_U32, F(proxy.backend_timeout_ms), 100, 600000, LIVE, "10000", "give up on a silent backend after this"},
	{"syn-rto-ms", T_U32, F(proxy.syn_rto_ms), 10, 60000, LIVE, "1000", "first backend SYN retransmission"},
	{"cookie-period", T_U32, F(proxy.cookie_period), 1, 3600, RESTART, "30", "seconds per cookie secret; cookies live 1-2 periods"},
	{"mss4", T_U16, F(proxy.mss4), 536, 65495, LIVE, "1460", "largest MSS advertised to IPv4 clients"},
	{"mss6", T_U16, F(proxy.mss6), 1220, 65475, LIVE, "1440", "largest MSS advertised to IPv6 clients"},
	{"default-wscale", T_U8, F(proxy.default_wscale), 0, 14, LIVE, "7", "window scale advertised until a backend's is learned"},
	{"learn", T_BOOL, F(proxy.learn_first), 0, 0, LIVE, "yes", "pass one SYN a second to an unknown backend to learn its options"},
	{"timestamps", T_BOOL, F(proxy.timestamps), 0, 0, RESTART, "no", "offer TCP timestamps in cookie SYN-ACKs; the kernel's synproxy hooks translate them (the rules add SYNGATE-TS; see docs/design.md, TCP timestamps)"},
	{"mark-pending", T_U32, F(proxy.marks.pending), 1, 0xffffffff, RESTART, "0x10000000", "connmark bit of connections in backend handshake"},
	{"mark-proxied", T_U32, F(proxy.marks.proxied), 1, 0xffffffff, RESTART, "0x08000000", "connmark bit of spliced connections"},
	{"complete-mark", T_U32, F(proxy.marks.complete), 1, 0xffffffff, RESTART, "0x04000000", "packet mark the rules put on the ACK completing a passed-through handshake"},
	{"reflect-mark", T_U32, F(proxy.marks.reflect), 1, 0xffffffff, RESTART, "0x20000000", "packet mark of reflected SYN-ACKs"},
	{"known-mark", T_U32, F(proxy.marks.known), 1, 0xffffffff, RESTART, "0x02000000", "packet mark the XDP fast path's TC program puts on a SYN whose tuple conntrack knows (port reuse): the rules pass it to conntrack, cleared, without a trip to the daemon"},
	{"ipv4", T_BOOL, F(rules.ipv4), 0, 0, RESTART, "yes", "protect IPv4"},
	{"ipv6", T_BOOL, F(rules.ipv6), 0, 0, RESTART, "yes", "protect IPv6"},
	{"install-rules", T_BOOL, F(install_rules), 0, 0, RESTART, "yes", "run: install the rules at start and remove them at exit (no: they are managed apart, with syngate rules install)"},
	{"control", T_STR, F(control), 0, 0, RESTART, NULL, "control socket path (default /run/syngate.sock; under systemd, $RUNTIME_DIRECTORY/control.sock: /run/syngate/control.sock)"},
	{"metrics-addr", T_STR, F(metrics_addr), 0, 0, RESTART, "127.0.0.1", "address of the Prometheus endpoint"},
	{"metrics-port", T_U16, F(metrics_port), 0, 65535, RESTART, "9469", "port of the Prometheus endpoint, 0 = off"},
	{"backend-netns", T_STR, F(backend_netns), 0, 0, RESTART, NULL, "network namespace of the backends, e.g. /run/netns/web, for their listen queues (default: this one)"},
	{"backend-queues", T_BOOL, F(backend_queues), 0, 0, RESTART, "yes", "read the backends' listen queues through sock_diag"},
	{"user", T_STR, F(user), 0, 0, RESTART, NULL, "run: once the queues, rules, XDP and sockets are open, switch to this user (name or uid) keeping only CAP_NET_ADMIN and CAP_NET_RAW (default: keep the user; the capabilities are reduced to those two either way)"},
	{"log-level", T_LOG, F(log_level), 0, 0, LIVE, "info", "err | warn | notice | info | debug"},
	{"log-format", T_LOGFMT, F(log_format), 0, 0, LIVE, "auto", "auto | journal | plain: journal starts each line with its priority (<4>) for journald, plain reads \"syngate: warning: ...\"; auto: journal when stderr is the journal's stream (JOURNAL_STREAM), else plain"},
	{"placement", T_PLACEMENT, F(rules.on_host), 0, 0, RESTART, "router", "router | on-host: in front of the servers (forwarding), or on the server itself protecting its own listeners (local addresses; the listeners' answers are caught in OUTPUT; no forwarding needed; see docs/design.md, On-host placement)"},
	{"key-file", T_STR, F(key_file), 0, 0, RESTART, "/var/lib/syngate/key", "the master key (32 raw bytes, mode 0600) every cookie secret is derived from, created at first start when missing; routers sharing it accept each other's cookies, a restart keeps them; SIGHUP re-reads it (a new key signs from the next slot on); none = a random key that dies with the process (see docs/cookies.md)"},
	{"keep-rules", T_BOOL, F(keep_rules), 0, 0, RESTART, "no", "run: leave the rules installed at exit, so that a restart's gap fails closed (queued SYNs and ACKs are dropped, and the clients retransmit them to the next daemon, which has the same keys) instead of letting the packets of handshakes in flight pass unprotected; a stop then leaves the ports closed until syngate rules remove (see docs/fleet.md)"},
	{"backends-file", T_STR, F(backends_file), 0, 0, RESTART, "/var/lib/syngate/backends", "the backend options learned from SYN-ACKs (window scale, MSS, SACK), saved at exit and every few seconds after a change, loaded at start: a restarted daemon tells clients, and checks the cookies in flight with, what the previous one told (see docs/fleet.md); none = start from nothing"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int set_one(struct sg_config *c, const struct opt *o, const char *v);

/* The rules' and the proxy's own defaults first (fields no option sets, such
 * as the rules' marks), then each option's default from the table. */
void sg_config_defaults(struct sg_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	sg_proxy_defaults(&c->proxy);
	sg_rules_defaults(&c->rules);
	for (i = 0; i < NOPTS; i++)
		if (opts[i].def && set_one(c, &opts[i], opts[i].def) != 0)
			abort(); /* a default the table itself refuses */
	sg_config_control_default(c->control, sizeof(c->control));
}

void sg_config_control_default(char *buf, size_t len)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	int n = rt ? (int)strcspn(rt, ":") : 0;

	if (n > 0 && (size_t)n + sizeof("/control.sock") <= len)
		snprintf(buf, len, "%.*s/control.sock", n, rt);
	else
		snprintf(buf, len, "/run/syngate.sock");
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Parses an unsigned number (decimal or 0x hex) in [@min, @max]. */
static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long x;
	char *end;

	errno = 0;
	if (!*v || *v == '-')
		return -1;
	x = strtoull(v, &end, 0);
	if (errno || *end || x < min || x > max)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	int i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(v, yes[i]))
			return *out = true, 0;
		if (!strcmp(v, no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* Calls @fn on each comma-separated item of @v; stops at the first error. */
static int each_item(const char *v, int (*fn)(struct sg_config *, const char *), struct sg_config *c)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (fn(c, tok) != 0)
			return -1;
	return 0;
}

static int add_port(struct sg_config *c, const char *s)
{
	uint32_t p;

	if (c->rules.nports >= SG_RULES_MAX_PORTS || parse_u32(s, 1, 65535, &p) != 0)
		return -1;
	c->rules.ports[c->rules.nports++] = (uint16_t)p;
	return 0;
}

static int add_iface(struct sg_config *c, const char *s)
{
	if (c->rules.nifaces >= SG_MAX_IFACES || strlen(s) >= sizeof(c->rules.ifaces[0]) ||
	    strchr(s, '/'))
		return -1;
	strcpy(c->rules.ifaces[c->rules.nifaces++], s);
	return 0;
}

static int set_one(struct sg_config *c, const struct opt *o, const char *v)
{
	char *base = (char *)c;
	uint32_t x;
	uint16_t x16;

	/* the fields are of the type the table names; memcpy keeps the
	 * byte offset arithmetic free of alignment casts */
	switch (o->type) {
	case T_U32:
		if (parse_u32(v, o->min, o->max, &x) != 0)
			return -1;
		memcpy(base + o->off, &x, sizeof(x));
		return 0;
	case T_U16:
		if (parse_u32(v, o->min, o->max, &x) != 0)
			return -1;
		x16 = (uint16_t)x;
		memcpy(base + o->off, &x16, sizeof(x16));
		return 0;
	case T_U8:
		if (parse_u32(v, o->min, o->max, &x) != 0)
			return -1;
		*(uint8_t *)(base + o->off) = (uint8_t)x;
		return 0;
	case T_BOOL:
		return parse_bool(v, (bool *)(base + o->off));
	case T_PORTS:
		c->rules.nports = 0;
		return each_item(v, add_port, c) == 0 && c->rules.nports > 0 ? 0 : -1;
	case T_IFACES:
		c->rules.nifaces = 0;
		return each_item(v, add_iface, c);
	case T_MODE:
		if (!strcmp(v, "always"))
			c->proxy.mode = SG_MODE_ALWAYS;
		else if (!strcmp(v, "never"))
			c->proxy.mode = SG_MODE_NEVER;
		else if (!strcmp(v, "adaptive"))
			c->proxy.mode = SG_MODE_ADAPTIVE;
		else
			return -1;
		return 0;
	case T_STR:
		if (!*v || strlen(v) >= o->size)
			return -1;
		strcpy(base + o->off, v);
		return 0;
	case T_LOG:
		return (c->log_level = sg_log_parse_level(v)) < 0 ? -1 : 0;
	case T_XDP:
		return (c->xdp_mode = sg_xdp_mode_parse(v)) < 0 ? -1 : 0;
	case T_LOGFMT:
		return (c->log_format = sg_log_parse_format(v)) < 0 ? -1 : 0;
	case T_PLACEMENT:
		if (strcmp(v, "router") && strcmp(v, "on-host"))
			return -1;
		c->rules.on_host = !strcmp(v, "on-host");
		return 0;
	}
	return -1;
}

int sg_config_set(struct sg_config *c, const char *key, const char *value, char *err,
		  size_t errlen)
{
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		if (strcmp(opts[i].name, key))
			continue;
		if (set_one(c, &opts[i], value) != 0)
			return fail(err, errlen, "bad value '%s' for '%s' (%s)", value, key,
				    opts[i].help);
		return 0;
	}
	return fail(err, errlen, "unknown option '%s'", key);
}

struct load_ctx {
	struct sg_config *c;
	char *err;
	size_t errlen;
	const char *path;
	int failed;
};

/* libinih handler.  Debian's inih does not pass line numbers to handlers; a
 * handler that returns 0 makes ini_parse_file() return that line, so the
 * first error is kept here and prefixed with the line afterwards. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *l = user;

	if (l->failed)
		return 0;
	if (strcmp(section, "syngate"))
		fail(l->err, l->errlen, "unknown section [%s] (expected [syngate])", section);
	else if (sg_config_set(l->c, name, value, l->err, l->errlen) == 0)
		return 1;
	l->failed = 1;
	return 0;
}

/* What libinih would read wrongly, refused before it reads: more than
 * CONFIG_MAX_BYTES (check-config /dev/zero read forever), a line longer than
 * its buffer (it splits it, and the tail of a long comment became an
 * option), an indented line after a key (it joins it to the value as a
 * continuation).  0, or -1 with the line in @err. */
#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_LINE 199 /* Debian's libinih: INI_MAX_LINE 200, with the NUL */
static int lines_ok(const char *text, const char *path, char *err, size_t errlen)
{
	int n = 0;

	for (const char *line = text; *line; n++) {
		size_t len = strcspn(line, "\n");
		size_t lead = strspn(line, " \t");

		if (len > CONFIG_MAX_LINE)
			return fail(err, errlen, "%s:%d: line longer than %d characters", path, n + 1,
				    CONFIG_MAX_LINE);
		if (lead && lead < len && !strchr(";#\r", line[lead]))
			return fail(err, errlen, "%s:%d: indented line (continuation lines are not "
				    "allowed: one 'key = value' a line)", path, n + 1);
		line += len + (line[len] == '\n');
	}
	return 0;
}

/* Reads all of @path (a file, a pipe: at most CONFIG_MAX_BYTES) into a
 * NUL-terminated buffer the caller frees.  NULL with @err set. */
static char *read_all(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno)), NULL;
	buf = malloc(CONFIG_MAX_BYTES + 2);
	if (!buf) {
		fclose(f);
		return fail(err, errlen, "%s: out of memory", path), NULL;
	}
	n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n > CONFIG_MAX_BYTES || memchr(buf, '\0', n)) {
		free(buf);
		return fail(err, errlen, "%s: not a config file (larger than %u bytes, or binary)",
			    path, CONFIG_MAX_BYTES), NULL;
	}
	return buf;
}

int sg_config_load(struct sg_config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx l = {c, err, errlen, path, 0};
	char *text = read_all(path, err, errlen);
	int r;

	if (!text)
		return -1;
	if (lines_ok(text, path, err, errlen) != 0) {
		free(text);
		return -1;
	}
	snprintf(c->config_path, sizeof(c->config_path), "%s", path);
	r = ini_parse_string(text, on_ini, &l);
	free(text);
	if (l.failed) {
		char msg[SG_CONFIG_ERR_LEN];

		snprintf(msg, sizeof(msg), "%s", err);
		return fail(err, errlen, "%s:%d: %s", path, r, msg);
	}
	if (r != 0)
		return fail(err, errlen, "%s:%d: syntax error (expected 'key = value' or [section])",
			    path, r);
	return 0;
}

int sg_config_check(const struct sg_config *c, char *err, size_t errlen)
{
	const struct sg_proxy_config *p = &c->proxy;

	if (c->rules.nports == 0)
		return fail(err, errlen, "'ports': at least one port is needed");
	if (!c->rules.ipv4 && !c->rules.ipv6)
		return fail(err, errlen, "'ipv4' and 'ipv6' are both off: nothing to protect");
	if (!sg_marks_valid(&p->marks))
		return fail(err, errlen,
			    "'mark-pending', 'mark-proxied' and 'reflect-mark' must not share bits, "
			    "nor 'complete-mark' or 'known-mark' and 'reflect-mark', and 'lane-mark' "
			    "none with any");
	{ /* what the rules will be made of, as check-config must say too */
		struct sg_rules_config r = c->rules;
		const char *why;

		r.marks = p->marks;
		why = sg_rules_invalid(&r);
		if (why)
			return fail(err, errlen, "%s", why);
	}
	if (c->rules.lane && c->rules.nqueues > 32)
		return fail(err, errlen, "'lane' doubles the queues: 'queues' at most 32");
	if (p->adaptive_low >= p->adaptive_high)
		return fail(err, errlen,
			    "'adaptive-low' (%u) must be below 'adaptive-high' (%u): the gap is the "
			    "hysteresis",
			    p->adaptive_low, p->adaptive_high);
	if (p->syn_rto_ms >= p->backend_timeout_ms)
		return fail(err, errlen, "'syn-rto-ms' must be below 'backend-timeout-ms'");
	if (p->timestamps && (c->xdp_mode == SG_XDP_NATIVE || c->xdp_mode == SG_XDP_GENERIC))
		return fail(err, errlen,
			    "'timestamps' needs 'xdp' auto or off: the XDP program's SYN-ACKs carry "
			    "no timestamps yet (auto then leaves XDP off)");
	return 0;
}

void sg_config_usage(FILE *out)
{
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		fprintf(out, "  --%-20s %s", opts[i].name, opts[i].help);
		if (opts[i].def)
			fprintf(out, " (default %s)", opts[i].def);
		fprintf(out, "%s\n", opts[i].live ? " [SIGHUP]" : "");
	}
}

bool sg_config_option(size_t i, struct sg_config_option *o)
{
	static const char *const words[] = {
		[T_BOOL] = "yes no",
		[T_MODE] = "always never adaptive",
		[T_LOG] = "err warn notice info debug",
		[T_XDP] = "auto native generic off",
		[T_LOGFMT] = "auto journal plain",
		[T_PLACEMENT] = "router on-host",
	};
	static const enum sg_config_arg arg[] = {
		[T_U32] = SG_ARG_NUMBER, [T_U16] = SG_ARG_NUMBER, [T_U8] = SG_ARG_NUMBER,
		[T_BOOL] = SG_ARG_BOOL, [T_PORTS] = SG_ARG_NUMBER, [T_IFACES] = SG_ARG_IFACES,
		[T_MODE] = SG_ARG_WORD, [T_STR] = SG_ARG_TEXT, [T_LOG] = SG_ARG_WORD,
		[T_XDP] = SG_ARG_WORD, [T_LOGFMT] = SG_ARG_WORD, [T_PLACEMENT] = SG_ARG_WORD,
	};
	_Static_assert(sizeof(words) / sizeof(words[0]) == T_COUNT &&
			       sizeof(arg) / sizeof(arg[0]) == T_COUNT,
		       "every option type has its words and argument kind");

	if (i >= NOPTS)
		return false;
	*o = (struct sg_config_option){opts[i].name, opts[i].help, opts[i].def,
				       words[opts[i].type], arg[opts[i].type], opts[i].live};
	return true;
}

/* Whether option @o holds the same value in @a and @b. */
static bool same(const struct opt *o, const struct sg_config *a, const struct sg_config *b)
{
	const char *fa = (const char *)a + o->off, *fb = (const char *)b + o->off;

	switch (o->type) {
	case T_PORTS:
		return a->rules.nports == b->rules.nports &&
		       !memcmp(fa, fb, a->rules.nports * sizeof(a->rules.ports[0]));
	case T_IFACES:
		return a->rules.nifaces == b->rules.nifaces &&
		       !memcmp(fa, fb, (size_t)a->rules.nifaces * sizeof(a->rules.ifaces[0]));
	case T_STR:
		return !strcmp(fa, fb);
	default:
		return !memcmp(fa, fb, o->size);
	}
}

int sg_config_restart_keys(const struct sg_config *a, const struct sg_config *b, char *out,
			   size_t len)
{
	size_t i, used;
	int n = 0;

	out[0] = '\0';
	for (i = 0; i < NOPTS; i++) {
		if (opts[i].live || same(&opts[i], a, b))
			continue;
		used = strlen(out);
		snprintf(out + used, len - used, "%s%s", n ? ", " : "", opts[i].name);
		n++;
	}
	return n;
}

void sg_config_apply_live(struct sg_config *run, const struct sg_config *n)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].live)
			memcpy((char *)run + opts[i].off, (const char *)n + opts[i].off, opts[i].size);
}

int sg_config_live(const char *key)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (!strcmp(opts[i].name, key))
			return opts[i].live;
	return -1;
}

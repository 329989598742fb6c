/* syngate configuration: see include/syngate/ops/config.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "syngate/ops/config.h"
#include "syngate/io/log.h"
#include "syngate/io/xdp.h"

enum opt_type { T_U32, T_U16, T_U8, T_BOOL, T_PORTS, T_IFACES, T_MODE, T_STR, T_LOG, T_XDP };


struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	uint32_t min, max;
	const char *help;
	size_t size; /* T_STR: buffer size */
};

#define O(field) offsetof(struct sg_config, field)
#define SZ(field) sizeof(((struct sg_config *)0)->field)

static const struct opt opts[] = {
	{"ports", T_PORTS, 0, 0, 0, "protected TCP ports, comma-separated (default 80)", 0},
	{"interfaces", T_IFACES, 0, 0, 0, "client-facing interfaces, comma-separated (default all)", 0},
	{"queue", T_U16, O(rules.queue), 0, 65535, "first NFQUEUE number (default 0)", 0},
	{"queues", T_U16, O(rules.nqueues), 1, 64, "queues and worker threads, spread with --queue-balance (default 1)", 0},
	{"queue-maxlen", T_U32, O(queue_maxlen), 16, 1u << 20, "kernel queue length, packets (default 65536)", 0},
	{"rcvbuf-mb", T_U32, O(rcvbuf_mb), 1, 1024, "netlink receive buffer, MiB (default 64)", 0},
	{"mode", T_MODE, O(proxy.mode), 0, 0, "always | never | adaptive (default always)", 0},
	{"adaptive-high", T_U32, O(proxy.adaptive_high), 1, 1u << 30, "adaptive: engage cookies at this half-open estimate (default 1000)", 0},
	{"adaptive-low", T_U32, O(proxy.adaptive_low), 0, 1u << 30, "adaptive: release them below this estimate; must be below adaptive-high (default 500)", 0},
	{"adaptive-window-ms", T_U32, O(proxy.adaptive_window_ms), 80, 600000, "adaptive: window of the half-open estimate (default 2000)", 0},
	{"xdp", T_XDP, 0, 0, 0, "off | native | generic: answer SYNs in an XDP program on the 'interfaces' before they reach the queue (native: the driver's hook; generic: any device; default off; see docs/xdp.md)", 0},
	{"xdp-object", T_STR, O(xdp_object), 0, 0, "the XDP program's object file (default: syngate_xdp.o beside the executable, else the installed one)", SZ(xdp_object)},
	{"shed-rate", T_U32, O(rules.shed_rate), 0, 1000000, "SYNs per second let into each queue; the excess is dropped before the queue (xt_hashlimit), 0 = no limit (default 100000; see rules/README.md)", 0},
	{"fail-open", T_BOOL, O(rules.fail_open), 0, 0, "accept packets when no daemon listens or the queue is full (default no)", 0},
	{"rst-invalid", T_BOOL, O(proxy.rst_invalid), 0, 0, "answer an ACK with a bad cookie with RST (default no: drop)", 0},
	{"halfopen-per-source", T_U32, O(proxy.per_source_max), 0, 65535, "half-open entries one client address may hold, 0 = no cap (default 1024)", 0},
	{"table-size", T_U32, O(proxy.table_max), 1, 1u << 24, "half-open table entries (default 65536)", 0},
	{"backend-timeout-ms", T_U32, O(proxy.backend_timeout_ms), 100, 600000, "give up on a silent backend after this (default 10000)", 0},
	{"syn-rto-ms", T_U32, O(proxy.syn_rto_ms), 10, 60000, "first backend SYN retransmission (default 1000)", 0},
	{"cookie-period", T_U32, O(proxy.cookie_period), 1, 3600, "seconds per cookie secret; cookies live 1-2 periods (default 30)", 0},
	{"mss4", T_U16, O(proxy.mss4), 536, 65495, "largest MSS advertised to IPv4 clients (default 1460)", 0},
	{"mss6", T_U16, O(proxy.mss6), 1220, 65475, "largest MSS advertised to IPv6 clients (default 1440)", 0},
	{"default-wscale", T_U8, O(proxy.default_wscale), 0, 14, "window scale advertised until a backend's is learned (default 7)", 0},
	{"learn", T_BOOL, O(proxy.learn_first), 0, 0, "pass one SYN a second to an unknown backend to learn its options (default yes)", 0},
	{"mark-pending", T_U32, O(proxy.mark_pending), 1, 0xffffffff, "connmark bit of connections in backend handshake (default 0x10000000)", 0},
	{"mark-proxied", T_U32, O(proxy.mark_proxied), 1, 0xffffffff, "connmark bit of spliced connections (default 0x08000000)", 0},
	{"complete-mark", T_U32, O(proxy.complete_mark), 1, 0xffffffff, "packet mark the rules put on the ACK completing a passed-through handshake (default 0x04000000)", 0},
	{"reflect-mark", T_U32, O(proxy.reflect_mark), 1, 0xffffffff, "packet mark of reflected SYN-ACKs (default 0x20000000)", 0},
	{"ipv4", T_BOOL, O(rules.ipv4), 0, 0, "protect IPv4 (default yes)", 0},
	{"ipv6", T_BOOL, O(rules.ipv6), 0, 0, "protect IPv6 (default yes)", 0},
	{"install-rules", T_BOOL, O(install_rules), 0, 0, "run: install the rules at start and remove them at exit (default no)", 0},
	{"control", T_STR, O(control), 0, 0, "control socket path (default /run/syngate.sock)", SZ(control)},
	{"metrics-addr", T_STR, O(metrics_addr), 0, 0, "address of the Prometheus endpoint (default 127.0.0.1)", SZ(metrics_addr)},
	{"metrics-port", T_U16, O(metrics_port), 0, 65535, "port of the Prometheus endpoint, 0 = off (default 9469)", 0},
	{"backend-netns", T_STR, O(backend_netns), 0, 0, "network namespace of the backends, e.g. /run/netns/web, for their listen queues (default: this one)", SZ(backend_netns)},
	{"backend-queues", T_BOOL, O(backend_queues), 0, 0, "read the backends' listen queues through sock_diag (default yes)", 0},
	{"log-level", T_LOG, O(log_level), 0, 0, "err | warn | info | debug (default info)", 0},
};

void sg_config_defaults(struct sg_config *c)
{
	memset(c, 0, sizeof(*c));
	sg_proxy_defaults(&c->proxy);
	sg_rules_defaults(&c->rules);
	c->queue_maxlen = 65536;
	c->rcvbuf_mb = 64;
	snprintf(c->control, sizeof(c->control), "/run/syngate.sock");
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "127.0.0.1");
	c->metrics_port = 9469;
	c->backend_queues = true;
	c->log_level = SG_LOG_INFO;
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

	switch (o->type) {
	case T_U32:
		return parse_u32(v, o->min, o->max, (uint32_t *)(base + o->off));
	case T_U16:
		if (parse_u32(v, o->min, o->max, &x) != 0)
			return -1;
		*(uint16_t *)(base + o->off) = (uint16_t)x;
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
	}
	return -1;
}

int sg_config_set(struct sg_config *c, const char *key, const char *value, char *err,
		  size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
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

int sg_config_load(struct sg_config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx l = {c, err, errlen, path, 0};
	FILE *f = fopen(path, "r");
	int r;

	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	snprintf(c->config_path, sizeof(c->config_path), "%s", path);
	r = ini_parse_file(f, on_ini, &l);
	fclose(f);
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
	if ((p->mark_pending & p->mark_proxied) || (p->mark_pending & p->reflect_mark) ||
	    (p->mark_proxied & p->reflect_mark) || (p->complete_mark & p->reflect_mark))
		return fail(err, errlen,
			    "'mark-pending', 'mark-proxied' and 'reflect-mark' must not share bits, "
			    "nor 'complete-mark' and 'reflect-mark'");
	if (p->adaptive_low >= p->adaptive_high)
		return fail(err, errlen,
			    "'adaptive-low' (%u) must be below 'adaptive-high' (%u): the gap is the "
			    "hysteresis",
			    p->adaptive_low, p->adaptive_high);
	if (c->xdp_mode != SG_XDP_OFF && c->rules.nifaces == 0)
		return fail(err, errlen,
			    "'xdp' needs 'interfaces': the client-facing interfaces to attach to");
	if (p->syn_rto_ms >= p->backend_timeout_ms)
		return fail(err, errlen, "'syn-rto-ms' must be below 'backend-timeout-ms'");
	return 0;
}

void sg_config_usage(FILE *out)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		fprintf(out, "  --%-20s %s\n", opts[i].name, opts[i].help);
}

/* Appends @key to @out when @differs. */
static int note(bool differs, const char *key, char *out, size_t len)
{
	size_t n = strlen(out);

	if (!differs)
		return 0;
	snprintf(out + n, len - n, "%s%s", n ? ", " : "", key);
	return 1;
}

int sg_config_restart_keys(const struct sg_config *a, const struct sg_config *b, char *out,
			   size_t len)
{
	const struct sg_rules_config *ra = &a->rules, *rb = &b->rules;
	int n = 0;

	out[0] = '\0';
	n += note(ra->nports != rb->nports || memcmp(ra->ports, rb->ports, sizeof(ra->ports)),
		  "ports", out, len);
	n += note(ra->nifaces != rb->nifaces || memcmp(ra->ifaces, rb->ifaces, sizeof(ra->ifaces)),
		  "interfaces", out, len);
	n += note(ra->queue != rb->queue || ra->nqueues != rb->nqueues, "queue/queues", out, len);
	n += note(ra->shed_rate != rb->shed_rate, "shed-rate", out, len);
	n += note(a->install_rules != b->install_rules, "install-rules", out, len);
	n += note(strcmp(a->backend_netns, b->backend_netns) != 0, "backend-netns", out, len);
	n += note(ra->fail_open != rb->fail_open, "fail-open", out, len);
	n += note(ra->ipv4 != rb->ipv4 || ra->ipv6 != rb->ipv6, "ipv4/ipv6", out, len);
	n += note(a->proxy.table_max != b->proxy.table_max, "table-size", out, len);
	n += note(a->proxy.cookie_period != b->proxy.cookie_period, "cookie-period", out, len);
	n += note(a->proxy.mark_pending != b->proxy.mark_pending ||
			  a->proxy.mark_proxied != b->proxy.mark_proxied ||
			  a->proxy.reflect_mark != b->proxy.reflect_mark ||
			  a->proxy.complete_mark != b->proxy.complete_mark,
		  "marks", out, len);
	n += note(strcmp(a->control, b->control), "control", out, len);
	n += note(strcmp(a->metrics_addr, b->metrics_addr) || a->metrics_port != b->metrics_port,
		  "metrics", out, len);
	n += note(a->xdp_mode != b->xdp_mode || strcmp(a->xdp_object, b->xdp_object), "xdp",
		  out, len);
	n += note(a->queue_maxlen != b->queue_maxlen || a->rcvbuf_mb != b->rcvbuf_mb,
		  "queue-maxlen/rcvbuf-mb", out, len);
	return n;
}

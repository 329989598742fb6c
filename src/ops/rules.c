/* syngate firewall rules: generate, check, apply and remove the SYNGATE-*
 * chains with iptables-restore/ip6tables-restore, and set the sysctls the
 * packet path needs.  Contracts are in include/syngate/ops/rules.h; the rule set
 * and the reason for each rule are in rules/README.md.
 *
 * How a change is applied, per family:
 *
 *   iptables-save ──parse──► jumps into SYNGATE-* and SYNGATE-* chains
 *        │                         │
 *        │                 "-D <jump>", "-F/-X <chain>"   (removal lines)
 *        ▼                         ▼
 *   *raw    <removal> <new raw rules>    COMMIT    one transaction per table
 *   *mangle <removal> <new mangle rules> COMMIT
 *        │
 *        ├─ iptables-restore --noflush --test   (names missing extensions)
 *        └─ iptables-restore --noflush          (applies)
 *
 * The tools are run with posix_spawn(), never through a shell; the script
 * goes in through a memfd on stdin and the outputs come back through memfds,
 * so there is no pipe to deadlock on and no SIGPIPE.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "syngate/ops/rules.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SB_MAX (64u << 20) /* largest tool output we keep: a huge iptables-save */
#define MAX_TABLES 8       /* iptables has 5 (raw mangle nat filter security) */
#define CAP_NET_ADMIN_BIT 12

/* ---------------------------------------------------------------- strings */

/* A growable string.  Once an allocation fails (or SB_MAX is reached) it
 * stops growing and sets @failed; users check that once at the end. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static bool sb_reserve(struct sbuf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->failed || b->len + extra + 1 > SB_MAX)
		goto fail;
	while (cap < b->len + extra + 1)
		cap *= 2;
	if (cap == b->cap)
		return true;
	p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static const char *sb_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Prints @text to @out with @indent before each line (nothing when @out is NULL). */
static void put_indented(FILE *out, const char *indent, const char *text)
{
	const char *nl;

	for (; out && *text; text = nl + 1) {
		nl = strchrnul(text, '\n');
		fprintf(out, "%s%.*s\n", indent, (int)(nl - text), text);
		if (!*nl)
			break;
	}
}

/* ------------------------------------------------------ running the tools */

/* Returns a memfd holding @s, positioned at its start; -1 with errno. */
static int memfd_with(const char *s)
{
	size_t len = strlen(s);
	int fd = memfd_create("syngate-rules", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		s += n;
		len -= (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == 0)
		return fd;
fail:
	close(fd);
	return -1;
}

/* Appends the whole content of memfd @fd to @b (NULL: discard). */
static void memfd_slurp(int fd, struct sbuf *b)
{
	char buf[4096];
	ssize_t n;

	if (!b || lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		sb_add(b, buf, (size_t)n);
	}
}

/* Waits for @pid; returns its exit status, 128 + signal if it was killed,
 * or -1 with errno. */
static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Runs the program at @path with @argv (no shell, inherited environment),
 * @in (NULL: empty) on stdin; appends its stdout to @out and stderr to @err
 * (either NULL: discarded).  Returns the exit status as wait_status(), or -1
 * with errno when it could not be started. */
static int run_tool(const char *path, const char *const argv[], const char *in, struct sbuf *out,
                    struct sbuf *err)
{
	posix_spawn_file_actions_t fa;
	int fd[3], i, rc = -1, saved;
	pid_t pid;

	fd[0] = memfd_with(in ? in : "");
	fd[1] = memfd_create("syngate-out", MFD_CLOEXEC);
	fd[2] = memfd_create("syngate-err", MFD_CLOEXEC);
	if (fd[0] < 0 || fd[1] < 0 || fd[2] < 0)
		goto out_close;
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0)
		goto out_close;
	for (i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, fd[i], i);
	errno = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (errno != 0)
		goto out_close;
	rc = wait_status(pid);
	memfd_slurp(fd[1], out);
	memfd_slurp(fd[2], err);
out_close:
	saved = errno;
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	errno = saved;
	return rc;
}

/* The tools of one address family.  The names are looked up in PATH once;
 * the resolved paths are what run_tool() executes. */
enum { T_RESTORE, T_SAVE, T_LIST, T__COUNT };

struct family {
	const char *name;
	const char *tool[T__COUNT];
	char path[T__COUNT][PATH_MAX];
};

static void family_init(struct family *f, bool v6)
{
	static const struct family proto[2] = {
	    {"ipv4", {"iptables-restore", "iptables-save", "iptables"}, {{0}}},
	    {"ipv6", {"ip6tables-restore", "ip6tables-save", "ip6tables"}, {{0}}},
	};

	*f = proto[v6];
}

/* Finds executable @name in PATH (or the usual default PATH); 0 or -1. */
static int find_in_path(const char *name, char *buf, size_t len)
{
	const char *p = getenv("PATH");
	const char *end;

	if (!p || !*p)
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		if (snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name) >= (int)len)
			continue;
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* Resolves all tools of @f.  Returns 0, or -1 after saying which is missing. */
static int family_find_tools(struct family *f)
{
	for (int t = 0; t < T__COUNT; t++) {
		if (find_in_path(f->tool[t], f->path[t], sizeof(f->path[t])) == 0)
			continue;
		fprintf(stderr,
		        "syngate: %s: `%s' not found in PATH. syngate drives iptables "
		        "(iptables-nft or iptables-legacy) to install its rules: install the "
		        "iptables package (Debian/Ubuntu: apt-get install iptables; Fedora/RHEL: "
		        "dnf install iptables-nft)%s.\n",
		        f->name, f->tool[t], strcmp(f->name, "ipv6") ? "" : ", or disable ipv6");
		return -1;
	}
	return 0;
}

bool sg_has_capability(int bit)
{
	char line[256];
	uint64_t caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1)
			break;
	fclose(f);
	return caps & (UINT64_C(1) << bit);
}

static int need_net_admin(const char *what)
{
	if (sg_has_capability(CAP_NET_ADMIN_BIT))
		return 0;
	fprintf(stderr,
	        "syngate: %s needs CAP_NET_ADMIN, which this process does not have: run it as "
	        "root (or grant the capability, e.g. systemd AmbientCapabilities=CAP_NET_ADMIN).\n",
	        what);
	return -1;
}

/* --------------------------------------------------------- configuration */

void sg_rules_defaults(struct sg_rules_config *c)
{
	*c = (struct sg_rules_config){0};
	c->ports[0] = 80;
	c->nports = 1;
	c->nqueues = 1;
	c->mark = SG_RULES_DEFAULT_MARK;
	c->proxied_mark = SG_RULES_DEFAULT_PROXIED_MARK;
	c->complete_mark = SG_RULES_DEFAULT_COMPLETE_MARK;
	c->reflect_mark = SG_RULES_DEFAULT_REFLECT_MARK;
	c->shed_rate = SG_RULES_DEFAULT_SHED_RATE;
	c->ipv4 = c->ipv6 = true;
}

uint32_t sg_rules_shed_effective(const struct sg_rules_config *c)
{
	uint64_t total = (uint64_t)c->shed_rate * (c->nqueues ? c->nqueues : 1);
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

static int invalid(const char *why)
{
	fprintf(stderr, "syngate: invalid rules configuration: %s\n", why);
	return -1;
}

int sg_rules_validate(const struct sg_rules_config *c)
{
	if (c->nports < 1 || c->nports > SG_RULES_MAX_PORTS)
		return invalid("need 1 to 15 ports (iptables multiport limit)");
	for (int i = 0; i < c->nports; i++)
		if (c->ports[i] == 0)
			return invalid("port 0");
	if (c->nifaces < 0 || c->nifaces > SG_MAX_IFACES)
		return invalid("at most 8 interfaces");
	for (int i = 0; i < c->nifaces; i++)
		if (!iface_name_ok(c->ifaces[i]))
			return invalid("interface name empty, longer than 15 bytes, or with a "
			               "blank, quote, '#', '/', '\\' or control byte");
	if (c->nqueues < 1 || (uint32_t)c->queue + c->nqueues - 1 > UINT16_MAX)
		return invalid("nqueues must be >= 1 and the last queue <= 65535");
	if (c->mark == 0 || c->reflect_mark == 0 || (c->mark & c->reflect_mark))
		return invalid("mark and reflect_mark must be non-zero and share no bit");
	if (!c->ipv4 && !c->ipv6)
		return invalid("neither ipv4 nor ipv6 enabled");
	if (c->shed_rate != 0 &&
	    (c->shed_rate < SG_RULES_SHED_RATE_MIN ||
	     (uint64_t)c->shed_rate * c->nqueues > SG_RULES_SHED_RATE_MAX))
		return invalid("shed-rate must be 0 (no limit) or 1000..1000000 SYN/s, and "
		               "shed-rate * nqueues at most 1000000 (the xt_hashlimit maximum)");
	return 0;
}

/* ------------------------------------------------------- rule generation */

/* The pieces every rule shares, formatted once. */
struct rule_parts {
	char ports[SG_RULES_MAX_PORTS * 6 + 1]; /* "80,443" */
	char queue[80];                         /* "NFQUEUE --queue-num 0 --queue-bypass" */
};

static void parts_init(const struct sg_rules_config *c, struct rule_parts *p)
{
	size_t off = 0;
	int n;

	for (int i = 0; i < c->nports; i++)
		off += (size_t)snprintf(p->ports + off, sizeof(p->ports) - off, "%s%u",
		                        i ? "," : "", c->ports[i]);
	if (c->nqueues == 1)
		n = snprintf(p->queue, sizeof(p->queue), "NFQUEUE --queue-num %u", c->queue);
	else
		n = snprintf(p->queue, sizeof(p->queue), "NFQUEUE --queue-balance %u:%u", c->queue,
		             c->queue + c->nqueues - 1u);
	if (c->fail_open)
		snprintf(p->queue + n, sizeof(p->queue) - (size_t)n, " --queue-bypass");
}

/* The shed rule's burst: 20 ms of @rate (at least 5 jiffies at HZ 250, as
 * hashlimit refills once a jiffy and caps the credit at the burst, so a burst
 * below rate/HZ would lower the rate). */
static uint32_t shed_burst(uint32_t rate)
{
	return rate / 50 > 0 ? rate / 50 : 1;
}

/* Appends "-A @chain [-i IF] @rest", once per configured client interface,
 * or once without -i when none is configured. */
static void put_client_rule(struct sbuf *b, const struct sg_rules_config *c, const char *chain,
                            const char *rest)
{
	if (c->nifaces == 0)
		sb_printf(b, "-A %s %s\n", chain, rest);
	for (int i = 0; i < c->nifaces; i++)
		sb_printf(b, "-A %s -i %s %s\n", chain, c->ifaces[i], rest);
}

/* raw PREROUTING, before conntrack: a SYN-ACK syngate reflected (NF_REPEAT
 * with reflect_mark) is notracked and accepted; client SYNs go to syngate,
 * at most shed_rate a second per queue, and the excess is dropped here: the
 * kernel builds a packet's netlink copy before it looks at the queue length,
 * so SYNs beyond the daemon's capacity would otherwise starve it.
 *
 * One hashlimit bucket (no --hashlimit-mode) per queue set, shared by every
 * interface's rule.  The kernel keeps a hashlimit table's rate from the rule
 * that created it and shares the table by name, so the name carries the
 * queue and the rate: a reinstall with another rate gets a new table. */
static void put_raw_rules(struct sbuf *b, const struct sg_rules_config *c,
                          const struct rule_parts *p)
{
	char rest[512], syn[256], limit[128] = "";
	uint32_t rate = sg_rules_shed_effective(c);

	sb_puts(b, ":SYNGATE-RAW - [0:0]\n-I PREROUTING 1 -j SYNGATE-RAW\n");
	sb_printf(b, "-A SYNGATE-RAW -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j CT --notrack\n",
	          c->reflect_mark, c->reflect_mark);
	sb_printf(b, "-A SYNGATE-RAW -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j ACCEPT\n",
	          c->reflect_mark, c->reflect_mark);
	snprintf(syn, sizeof(syn), "-p tcp -m multiport --dports %s --tcp-flags FIN,SYN,RST,ACK SYN",
	         p->ports);
	if (rate)
		snprintf(limit, sizeof(limit),
		         " -m hashlimit --hashlimit-upto %" PRIu32 "/sec --hashlimit-burst %" PRIu32
		         " --hashlimit-name sg%u-%" PRIu32,
		         rate, shed_burst(rate), c->queue, rate);
	snprintf(rest, sizeof(rest), "%s%s -j %s", syn, limit, p->queue);
	put_client_rule(b, c, "SYNGATE-RAW", rest);
	if (!rate)
		return;
	snprintf(rest, sizeof(rest), "%s -j DROP", syn);
	put_client_rule(b, c, "SYNGATE-RAW", rest);
}

/* mangle PREROUTING, after conntrack: client ACKs without an entry (cookie
 * ACKs; tcp_loose=0 makes them INVALID), every backend SYN-ACK, and the
 * backend's other answers on pending connections (connmark: RSTs) go to
 * syngate; other INVALID segments are dropped. */
static void put_mangle_rules(struct sbuf *b, const struct sg_rules_config *c,
                             const struct rule_parts *p)
{
	char rest[384];

	sb_puts(b, ":SYNGATE-MANGLE - [0:0]\n-I PREROUTING 1 -j SYNGATE-MANGLE\n");
	/* SYN-ACKs syngate reflected are done: not a backend's, not to learn from */
	sb_printf(b, "-A SYNGATE-MANGLE -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j RETURN\n",
	          c->reflect_mark, c->reflect_mark);
	snprintf(rest, sizeof(rest),
	         "-p tcp -m multiport --dports %s -m conntrack --ctstate "
	         "INVALID --tcp-flags SYN,RST,ACK ACK -j %s",
	         p->ports, p->queue);
	put_client_rule(b, c, "SYNGATE-MANGLE", rest);
	/* the ACK completing a passed-through handshake (the connection's second
	 * packet from the client; not one of syngate's own connections), once per
	 * connection: marked, then queued; adaptive mode counts completed
	 * handshakes with it and the daemon takes the mark off */
	snprintf(rest, sizeof(rest),
	         "-p tcp -m multiport --dports %s --tcp-flags SYN,RST,ACK ACK -m conntrack "
	         "--ctstate ESTABLISHED -m connmark --mark 0x0/0x%" PRIx32 " -m connbytes "
	         "--connbytes 2:2 --connbytes-dir original --connbytes-mode packets "
	         "-j MARK --set-xmark 0x%" PRIx32 "/0x%" PRIx32,
	         p->ports, c->mark | c->proxied_mark, c->complete_mark, c->complete_mark);
	put_client_rule(b, c, "SYNGATE-MANGLE", rest);
	sb_printf(b, "-A SYNGATE-MANGLE -m mark --mark 0x%" PRIx32 "/0x%" PRIx32 " -j %s\n",
	          c->complete_mark, c->complete_mark, p->queue);
	/* every backend SYN-ACK that answers a tracked SYN: syngate learns the
	 * backend's window scale, MSS and SACK from it (and completes pending
	 * handshakes).  A spoofed SYN-ACK has no conntrack entry (INVALID) and
	 * cannot poison what syngate learns. */
	sb_printf(b,
	          "-A SYNGATE-MANGLE -p tcp -m multiport --sports %s "
	          "--tcp-flags FIN,SYN,RST,ACK SYN,ACK -m conntrack --ctstate ESTABLISHED "
	          "--ctdir REPLY -j %s\n",
	          p->ports, p->queue);
	sb_printf(b,
	          "-A SYNGATE-MANGLE -p tcp -m multiport --sports %s -m connmark --mark "
	          "0x%" PRIx32 "/0x%" PRIx32 " -j %s\n",
	          p->ports, c->mark, c->mark, p->queue);
	snprintf(rest, sizeof(rest),
	         "-p tcp -m multiport --dports %s -m conntrack --ctstate "
	         "INVALID -j DROP",
	         p->ports);
	put_client_rule(b, c, "SYNGATE-MANGLE", rest);
}

/* --------------------------------------------- reading the current rules */

/* What iptables-save shows of syngate in one table. */
struct table_state {
	char name[32];
	struct sbuf del;    /* "-D CHAIN spec\n" for each jump into a SYNGATE-* chain */
	struct sbuf chains; /* "SYNGATE-X\n" for each SYNGATE-* chain */
	int njumps;
};

struct saved {
	struct table_state t[MAX_TABLES];
	int n;
};

static struct table_state *saved_table(struct saved *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

static void saved_free(struct saved *s)
{
	for (int i = 0; i < s->n; i++) {
		sb_free(&s->t[i].del);
		sb_free(&s->t[i].chains);
	}
	s->n = 0;
}

static bool table_has_chain(const struct table_state *t, const char *chain)
{
	const char *p = sb_str(&t->chains);
	size_t n = strlen(chain);

	for (; (p = strstr(p, chain)) != NULL; p += n)
		if ((p == t->chains.p || p[-1] == '\n') && p[n] == '\n')
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

/* Records one iptables-save line (length @n, no newline) into @t. */
static void table_note_line(struct table_state *t, const char *l, size_t n)
{
	if (n > 9 && starts_with(l, ":SYNGATE-")) {
		size_t w = strcspn(l + 1, " \n");
		sb_add(&t->chains, l + 1, w < n - 1 ? w : n - 1);
		sb_puts(&t->chains, "\n");
	} else if (n > 3 && starts_with(l, "-A ") && !starts_with(l + 3, "SYNGATE-") &&
	           is_syngate_jump(l, n)) {
		sb_puts(&t->del, "-D ");
		sb_add(&t->del, l + 3, n - 3);
		sb_puts(&t->del, "\n");
		t->njumps++;
	}
}

/* Parses iptables-save output @text into @s (zeroed by the caller).
 * Returns 0, or -1 on more than MAX_TABLES tables or out of memory. */
static int saved_parse(const char *text, struct saved *s)
{
	struct table_state *cur = NULL;
	const char *nl;

	for (const char *l = text; *l; l = *nl ? nl + 1 : nl) {
		size_t n;

		nl = strchrnul(l, '\n');
		n = (size_t)(nl - l);
		if (n > 1 && l[0] == '*') {
			if (s->n == MAX_TABLES)
				return -1;
			cur = &s->t[s->n++];
			snprintf(cur->name, sizeof(cur->name), "%.*s", (int)(n - 1), l + 1);
		} else if (cur) {
			table_note_line(cur, l, n);
		}
	}
	for (int i = 0; i < s->n; i++)
		if (s->t[i].del.failed || s->t[i].chains.failed)
			return -1;
	return 0;
}

/* Runs iptables-save for @f and parses it into @s.  0, or -1 with a message. */
static int family_read(const struct family *f, struct saved *s)
{
	const char *argv[] = {f->tool[T_SAVE], NULL};
	struct sbuf out = {0}, err = {0};
	int rc = run_tool(f->path[T_SAVE], argv, NULL, &out, &err);

	*s = (struct saved){0};
	if (rc < 0)
		fprintf(stderr, "syngate: %s: cannot run %s: %s\n", f->name, f->path[T_SAVE],
		        strerror(errno));
	else if (rc != 0)
		fprintf(stderr, "syngate: %s: %s failed (exit %d): %s", f->name, f->tool[T_SAVE],
		        rc, sb_str(&err));
	else if (out.failed || saved_parse(sb_str(&out), s) < 0)
		fprintf(stderr, "syngate: %s: cannot parse %s output\n", f->name, f->tool[T_SAVE]);
	else
		rc = 0;
	if (rc != 0) {
		saved_free(s);
		rc = -1;
	}
	sb_free(&out);
	sb_free(&err);
	return rc;
}

/* Appends the lines that remove syngate from table @t: jumps first, then
 * flush every SYNGATE-* chain (they may jump to each other), then delete. */
static void put_removal(struct sbuf *b, const struct table_state *t)
{
	const char *p, *nl;

	sb_puts(b, sb_str(&t->del));
	for (int pass = 0; pass < 2; pass++)
		for (p = sb_str(&t->chains); *p; p = nl + 1) {
			nl = strchr(p, '\n');
			sb_printf(b, "%s %.*s\n", pass ? "-X" : "-F", (int)(nl - p), p);
		}
}

static bool table_dirty(const struct table_state *t)
{
	return t->del.len > 0 || t->chains.len > 0;
}

/* Appends a removal transaction for every table of @s holding syngate
 * state, except those named in @skip (NULL-terminated, may be NULL). */
static void put_removal_tables(struct sbuf *b, const struct saved *s, const char *const *skip)
{
	for (int i = 0; i < s->n; i++) {
		bool skipped = false;
		for (const char *const *k = skip; k && *k; k++)
			skipped |= strcmp(*k, s->t[i].name) == 0;
		if (skipped || !table_dirty(&s->t[i]))
			continue;
		sb_printf(b, "*%s\n", s->t[i].name);
		put_removal(b, &s->t[i]);
		sb_puts(b, "COMMIT\n");
	}
}

/* Builds the install script for one family: removal of what @s (may be NULL:
 * state unknown) shows, and the new rules, raw and mangle each in one
 * transaction so that no packet sees a half-replaced table. */
static void build_install(struct sbuf *b, const struct sg_rules_config *c, struct saved *s)
{
	static const char *const ours[] = {"raw", "mangle", NULL};
	struct rule_parts p;
	struct table_state *t;

	parts_init(c, &p);
	if (s)
		put_removal_tables(b, s, ours);
	sb_puts(b, "*raw\n");
	if (s && (t = saved_table(s, "raw")) != NULL)
		put_removal(b, t);
	put_raw_rules(b, c, &p);
	sb_puts(b, "COMMIT\n*mangle\n");
	if (s && (t = saved_table(s, "mangle")) != NULL)
		put_removal(b, t);
	put_mangle_rules(b, c, &p);
	sb_puts(b, "COMMIT\n");
}

int sg_rules_format(const struct sg_rules_config *c, FILE *out)
{
	struct sbuf b = {0};
	int rc = -1;

	if (sg_rules_validate(c) < 0)
		return -1;
	build_install(&b, c, NULL);
	if (!b.failed && fputs(sb_str(&b), out) >= 0)
		rc = 0;
	sb_free(&b);
	return rc;
}

/* ----------------------------------------------- applying and diagnosing */

/* What a missing kernel extension is called and how to get it. */
static const struct ext_hint {
	const char *ext, *what, *module, *config;
} ext_hints[] = {
    {"NFQUEUE", "NFQUEUE target", "xt_NFQUEUE", "CONFIG_NETFILTER_XT_TARGET_NFQUEUE"},
    {"conntrack", "conntrack match", "xt_conntrack", "CONFIG_NETFILTER_XT_MATCH_CONNTRACK"},
    {"connmark", "connmark match", "xt_connmark", "CONFIG_NETFILTER_XT_MATCH_CONNMARK"},
    {"mark", "mark match", "xt_mark", "CONFIG_NETFILTER_XT_MATCH_MARK"},
    {"CT", "CT target (--notrack)", "xt_CT", "CONFIG_NETFILTER_XT_TARGET_CT"},
    {"multiport", "multiport match", "xt_multiport", "CONFIG_NETFILTER_XT_MATCH_MULTIPORT"},
    {"hashlimit", "hashlimit match (shed-rate; 0 turns it off)", "xt_hashlimit",
     "CONFIG_NETFILTER_XT_MATCH_HASHLIMIT"},
    {"tcp", "tcp match", "xt_tcpudp", "CONFIG_NETFILTER_XTABLES"},
};

static const struct ext_hint *ext_hint_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(ext_hints) / sizeof(ext_hints[0]); i++)
		if (strlen(ext_hints[i].ext) == n && strncmp(ext_hints[i].ext, name, n) == 0)
			return &ext_hints[i];
	return NULL;
}

/* Explains one "Extension X revision N not supported" line (the kernel lacks
 * X; iptables warns and the rule fails with ENOENT). */
static void explain_kernel_ext(const char *fam, const char *name, size_t n)
{
	const struct ext_hint *h = ext_hint_find(name, n);

	if (!h) {
		fprintf(stderr, "syngate: %s: the kernel lacks the iptables extension `%.*s'.\n",
		        fam, (int)n, name);
		return;
	}
	fprintf(stderr,
	        "syngate: %s: the kernel lacks the %s (module %s, %s): try `modprobe %s', or use "
	        "a kernel built with it.%s\n",
	        fam, h->what, h->module, h->config, h->module,
	        strcmp(h->ext, "NFQUEUE")
	            ? ""
	            : " syngate needs iptables' -j NFQUEUE (nft's queue statement is not used).");
}

/* Other tool messages syngate can explain. */
static const struct err_hint {
	const char *needle, *hint;
} err_hints[] = {
    {"can't initialize",
     "the kernel lacks the raw or mangle table (iptable_raw, "
     "iptable_mangle, CONFIG_IP_NF_RAW / CONFIG_IP6_NF_RAW): modprobe them, or use "
     "iptables-nft."},
    {"Protocol not supported",
     "the kernel lacks nf_tables/nft_compat (CONFIG_NF_TABLES, "
     "CONFIG_NFT_COMPAT) that iptables-nft uses: modprobe nft_compat, or use iptables-legacy."},
    {"Permission denied", "permission denied: run as root or with CAP_NET_ADMIN."},
    {"Operation not permitted", "operation not permitted: run as root or with CAP_NET_ADMIN."},
};

/* Scans tool stderr @err for the causes syngate knows and explains each.
 * Returns how many it explained. */
static int diagnose(const char *fam, const char *err)
{
	static const char ext[] = "Extension ", uload[] = "Couldn't load ";
	const char *p;
	int found = 0;

	for (p = err; (p = strstr(p, ext)) != NULL; found++) {
		p += sizeof(ext) - 1;
		explain_kernel_ext(fam, p, strcspn(p, " \n"));
	}
	for (p = err; (p = strstr(p, uload)) != NULL; found++) {
		p += sizeof(uload) - 1;
		fprintf(stderr,
		        "syngate: %s: iptables cannot load its userspace extension for "
		        "%.*s: reinstall the iptables package (its xtables/libxt_*.so are "
		        "missing).\n",
		        fam, (int)strcspn(p, "\n"), p);
	}
	for (size_t i = 0; i < sizeof(err_hints) / sizeof(err_hints[0]); i++) {
		if (!strstr(err, err_hints[i].needle))
			continue;
		fprintf(stderr, "syngate: %s: %s\n", fam, err_hints[i].hint);
		found++;
	}
	return found;
}

/* Feeds @script to `restore --noflush [--test]`.  A warning about a missing
 * kernel extension fails even a successful run: such a rule would not load
 * (and --test does not reach the kernel).  0, or -1 with an explanation. */
static int family_restore(const struct family *f, const char *script, bool test)
{
	const char *argv[] = {f->tool[T_RESTORE], "--noflush", "--wait", test ? "--test" : NULL,
	                      NULL};
	struct sbuf err = {0};
	int rc = run_tool(f->path[T_RESTORE], argv, script, NULL, &err);
	int explained = rc < 0 ? 0 : diagnose(f->name, sb_str(&err));

	if (rc < 0)
		fprintf(stderr, "syngate: %s: cannot run %s: %s\n", f->name, f->path[T_RESTORE],
		        strerror(errno));
	else if (rc != 0 || explained)
		fprintf(stderr, "syngate: %s: %s %s (exit %d); it said:\n%s", f->name,
		        f->tool[T_RESTORE], test ? "rejected the rules" : "failed", rc,
		        sb_str(&err));
	sb_free(&err);
	return rc == 0 && !explained ? 0 : -1;
}

/* Reads @f's current rules and builds its install script into @b. */
static int family_plan_install(const struct sg_rules_config *c, const struct family *f,
                               struct sbuf *b)
{
	struct saved s;

	if (family_read(f, &s) < 0)
		return -1;
	build_install(b, c, &s);
	saved_free(&s);
	if (!b->failed)
		return 0;
	fprintf(stderr, "syngate: out of memory\n");
	return -1;
}

/* Removes syngate from family @f (nothing to do is success). */
static int family_remove(const struct family *f, FILE *report, bool dry_run)
{
	struct sbuf b = {0};
	struct saved s;
	int rc = 0;

	if (family_read(f, &s) < 0)
		return -1;
	put_removal_tables(&b, &s, NULL);
	saved_free(&s);
	if (b.failed) {
		fprintf(stderr, "syngate: out of memory\n");
		rc = -1;
	} else if (dry_run && report)
		fprintf(report, "# %s: %s --noflush\n%s", f->name, f->tool[T_RESTORE],
		        b.len ? sb_str(&b) : "# nothing to remove\n");
	else if (!dry_run && b.len)
		rc = family_restore(f, sb_str(&b), false);
	sb_free(&b);
	return rc;
}

/* ---------------------------------------------------------------- sysctl */

static int sysctl_path(const char *path, char *buf, size_t len)
{
	if (snprintf(buf, len, "/proc/sys/%s", path) >= (int)len)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

int sg_rules_sysctl_get(const char *path, char *buf, size_t len)
{
	char file[PATH_MAX];
	ssize_t n;
	int fd;

	if (sysctl_path(path, file, sizeof(file)) < 0 ||
	    (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	if (n < 0)
		return -1;
	if ((size_t)n == len)
		return errno = ENOSPC, -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

int sg_rules_sysctl_set(const char *path, const char *value)
{
	char file[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, saved;

	if (sysctl_path(path, file, sizeof(file)) < 0 ||
	    (fd = open(file, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = write(fd, value, len);
	saved = errno;
	close(fd);
	if (n >= 0 && (size_t)n != len)
		saved = EIO;
	errno = saved;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

/* One sysctl syngate needs: @ok are the acceptable values (second may be
 * NULL), @set what to write otherwise; @missing explains an absent file. */
struct sysctl_want {
	char path[96];
	const char *ok[2];
	const char *set;
	const char *missing;
};

/* Writes the sysctl name of @path ("net/ipv4/ip_forward" -> "net.ipv4.ip_forward"). */
static void sysctl_name(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
}

/* Brings one sysctl to an acceptable value and reports the change.
 * Returns 0, 1 when the sysctl is absent and @w->missing is only a warning
 * (NULL missing: skip silently), or -1 with a message. */
static int sysctl_ensure(const struct sysctl_want *w, bool dry_run, FILE *report)
{
	char name[128], old[64];

	sysctl_name(w->path, name, sizeof(name));
	if (sg_rules_sysctl_get(w->path, old, sizeof(old)) < 0) {
		if (errno == ENOENT)
			return 1;
		fprintf(stderr, "syngate: cannot read sysctl %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (strcmp(old, w->ok[0]) == 0 || (w->ok[1] && strcmp(old, w->ok[1]) == 0))
		return 0;
	if (!dry_run && sg_rules_sysctl_set(w->path, w->set) < 0) {
		fprintf(stderr, "syngate: cannot set sysctl %s to %s: %s\n", name, w->set,
		        strerror(errno));
		return -1;
	}
	if (report)
		fprintf(report, "sysctl %s: %s -> %s%s\n", name, old, w->set,
		        dry_run ? " (dry run: not applied)" : "");
	return 0;
}

/* sysctl_ensure(), turning an absent sysctl into an error (@fatal) or a
 * warning, each explained with w->missing. */
static int sysctl_require(const struct sysctl_want *w, bool fatal, bool dry_run, FILE *report)
{
	char name[128];
	int rc = sysctl_ensure(w, dry_run, report);

	if (rc <= 0)
		return rc;
	sysctl_name(w->path, name, sizeof(name));
	fprintf(stderr, "syngate: %s: sysctl %s is missing: %s\n", fatal ? "error" : "warning",
	        name, w->missing);
	return fatal ? -1 : 0;
}

/* The sysctls of the IPv4 reflect path: forwarding, and loose or no reverse
 * path filtering (the reflected SYN-ACK leaves by the interface its SYN came
 * in on; the kernel uses the larger of `all' and the interface's value). */
static int sysctls_ipv4(const struct sg_rules_config *c, FILE *report)
{
	struct sysctl_want fwd = {"net/ipv4/ip_forward",
	                          {"1", NULL},
	                          "1",
	                          "IPv4 forwarding is not available in this kernel"};
	struct sysctl_want rp = {
	    "net/ipv4/conf/all/rp_filter", {"0", "2"}, "2", "this kernel has no IPv4 rp_filter"};

	if (sysctl_require(&fwd, true, c->dry_run, report) < 0 ||
	    sysctl_require(&rp, false, c->dry_run, report) < 0)
		return -1;
	rp.missing = "the interface does not exist (yet); when it appears its rp_filter "
	             "comes from net.ipv4.conf.default.rp_filter, which must then be 0 or 2";
	for (int i = 0; i < c->nifaces; i++) {
		if (strchr(c->ifaces[i], '+'))
			continue; /* iptables wildcard, no sysctl directory */
		snprintf(rp.path, sizeof(rp.path), "net/ipv4/conf/%s/rp_filter", c->ifaces[i]);
		if (sysctl_require(&rp, false, c->dry_run, report) < 0)
			return -1;
	}
	return 0;
}

static int sysctls_ipv6(const struct sg_rules_config *c, FILE *report)
{
	struct sysctl_want fwd = {"net/ipv6/conf/all/forwarding",
	                          {"1", NULL},
	                          "1",
	                          "IPv6 is disabled in this kernel or namespace: disable ipv6 in "
	                          "syngate's configuration"};

	return sysctl_require(&fwd, true, c->dry_run, report);
}

/* tcp_loose=0 makes conntrack call a mid-stream ACK with no entry INVALID
 * instead of picking the connection up, which is what sends cookie ACKs to
 * syngate.  It exists once nf_conntrack is loaded, which the conntrack match
 * of the rules just installed should have done. */
static int sysctl_tcp_loose(const struct sg_rules_config *c, FILE *report)
{
	struct sysctl_want w = {"net/netfilter/nf_conntrack_tcp_loose",
	                        {"0", NULL},
	                        "0",
	                        "nf_conntrack is not loaded in this namespace even after the "
	                        "rules were installed: `modprobe nf_conntrack' (kernel "
	                        "CONFIG_NF_CONNTRACK); the rules are in place but cookie ACKs "
	                        "will not reach syngate until tcp_loose is 0"};

	return sysctl_require(&w, !c->dry_run, c->dry_run, report);
}

static int sysctls_apply(const struct sg_rules_config *c, FILE *report)
{
	if (c->ipv4 && sysctls_ipv4(c, report) < 0)
		return -1;
	if (c->ipv6 && sysctls_ipv6(c, report) < 0)
		return -1;
	return sysctl_tcp_loose(c, report);
}

/* ------------------------------------------------------------ public API */

/* The enabled families of @c, resolved, into @f; returns how many. */
static int families_of(const struct sg_rules_config *c, struct family f[2])
{
	int n = 0;

	if (c->ipv4)
		family_init(&f[n++], false);
	if (c->ipv6)
		family_init(&f[n++], true);
	return n;
}

/* Dry run: prints each family's install script (with the removal lines when
 * the current rules can be read) and the sysctl changes it would make. */
static int install_dry(const struct sg_rules_config *c, FILE *report)
{
	struct family f[2];
	int n = families_of(c, f);

	for (int i = 0; i < n; i++) {
		struct sbuf b = {0};
		bool known = sg_has_capability(CAP_NET_ADMIN_BIT) && family_find_tools(&f[i]) == 0 &&
		             family_plan_install(c, &f[i], &b) == 0;
		if (!known) {
			sb_free(&b);
			build_install(&b, c, NULL);
		}
		if (report)
			fprintf(report, "# %s: %s --noflush%s\n%s", f[i].name, f[i].tool[T_RESTORE],
			        known ? "" : " (current rules unreadable: removal lines omitted)",
			        sb_str(&b));
		sb_free(&b);
	}
	return sysctls_apply(c, report);
}

/* Checks tools and builds + test-loads the install script of every family
 * before any is applied.  On success @script[i] holds family i's script. */
static int install_prepare(const struct sg_rules_config *c, struct family *f, int n,
                           struct sbuf *script)
{
	for (int i = 0; i < n; i++)
		if (family_find_tools(&f[i]) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		if (family_plan_install(c, &f[i], &script[i]) < 0 ||
		    family_restore(&f[i], sb_str(&script[i]), true) < 0)
			return -1;
	return 0;
}

int sg_rules_install(const struct sg_rules_config *c, FILE *report)
{
	struct sbuf script[2] = {{0}, {0}};
	struct family f[2];
	int n, i, rc = -1;

	if (sg_rules_validate(c) < 0)
		return -1;
	if (c->dry_run)
		return install_dry(c, report);
	if (need_net_admin("installing firewall rules") < 0)
		return -1;
	n = families_of(c, f);
	if (install_prepare(c, f, n, script) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (family_restore(&f[i], sb_str(&script[i]), false) < 0)
			break;
	if (i < n) {
		fprintf(stderr, "syngate: install failed; removing syngate's rules again\n");
		for (int j = 0; j < n; j++)
			family_remove(&f[j], NULL, false);
		goto out;
	}
	rc = sysctls_apply(c, report);
out:
	sb_free(&script[0]);
	sb_free(&script[1]);
	return rc;
}

int sg_rules_remove(const struct sg_rules_config *c, FILE *report)
{
	struct family f[2];
	int n, rc = 0;

	if (!c->ipv4 && !c->ipv6)
		return invalid("neither ipv4 nor ipv6 enabled");
	if (!c->dry_run && need_net_admin("removing firewall rules") < 0)
		return -1;
	n = families_of(c, f);
	for (int i = 0; i < n; i++)
		if (family_find_tools(&f[i]) < 0 || family_remove(&f[i], report, c->dry_run) < 0)
			rc = -1;
	return rc;
}

/* From `iptables -L SYNGATE-RAW -v -n -x` output @list: the SYNs the shed
 * rule dropped (the DROP rules' packet counters; "pkts bytes target ..."),
 * and in @nrules how many such rules there are. */
static uint64_t shed_dropped(const char *list, int *nrules)
{
	uint64_t sum = 0, pkts;
	char target[32];

	*nrules = 0;
	for (const char *l = list; *l; l = strchrnul(l, '\n'), l += *l != '\0')
		if (sscanf(l, "%" SCNu64 " %*s %31s", &pkts, target) == 2 &&
		    strcmp(target, "DROP") == 0) {
			sum += pkts;
			(*nrules)++;
		}
	return sum;
}

/* Prints one chain's rules with counters, indented; for SYNGATE-RAW also a
 * line with what the shed rule dropped.  0, or -1 on error. */
static int status_list(const struct family *f, const char *table, const char *chain, FILE *out)
{
	const char *argv[] = {f->tool[T_LIST], "--wait", "-t", table, "-L",
	                      chain,           "-v",     "-n", "-x",  NULL};
	struct sbuf o = {0}, e = {0};
	int rc = run_tool(f->path[T_LIST], argv, NULL, &o, &e);
	int nshed;
	uint64_t shed;

	if (rc == 0) {
		put_indented(out, "    ", sb_str(&o));
		shed = shed_dropped(sb_str(&o), &nshed);
		if (strcmp(chain, "SYNGATE-RAW") == 0 && nshed)
			fprintf(out, "  %s shed: %" PRIu64 " SYNs dropped above shed-rate "
			        "(before the queue)\n", f->name, shed);
		else if (strcmp(chain, "SYNGATE-RAW") == 0)
			fprintf(out, "  %s shed: off (shed-rate 0)\n", f->name);
	} else
		fprintf(stderr, "syngate: %s: %s -t %s -L %s failed: %s", f->name, f->tool[T_LIST],
		        table, chain, rc < 0 ? strerror(errno) : sb_str(&e));
	sb_free(&o);
	sb_free(&e);
	return rc == 0 ? 0 : -1;
}

/* Status of one family: returns 0 (all installed), 1 (something missing), -1. */
static int status_family(const struct family *f, FILE *out)
{
	static const char *const tc[2][2] = {{"raw", "SYNGATE-RAW"}, {"mangle", "SYNGATE-MANGLE"}};
	struct saved s;
	int rc = 0;

	if (family_read(f, &s) < 0)
		return -1;
	for (int i = 0; i < 2 && rc >= 0; i++) {
		struct table_state *t = saved_table(&s, tc[i][0]);
		bool have = t && table_has_chain(t, tc[i][1]);
		int jumps = t ? t->njumps : 0;

		fprintf(out, "%s %s: %s %s, %d jump%s into SYNGATE-*\n", f->name, tc[i][0],
		        tc[i][1], have ? "installed" : "not installed", jumps,
		        jumps == 1 ? "" : "s");
		if (!have || jumps != 1)
			rc = 1;
		if (have && status_list(f, tc[i][0], tc[i][1], out) < 0)
			rc = -1;
	}
	saved_free(&s);
	return rc;
}

int sg_rules_status(const struct sg_rules_config *c, FILE *out)
{
	struct family f[2];
	int n, rc = 0;

	if (need_net_admin("reading firewall rules") < 0)
		return -1;
	n = families_of(c, f);
	for (int i = 0; i < n && rc >= 0; i++) {
		int r = family_find_tools(&f[i]) < 0 ? -1 : status_family(&f[i], out);
		if (r != 0)
			rc = r;
	}
	return rc;
}

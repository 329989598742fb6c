/* syngate iptables driver: see include/syngate/ops/iptables.h.
 *
 * How a change is applied, per family:
 *
 *   iptables-save ──sg_rules_saved_parse──► what syngate has installed
 *        │
 *   sg_rules_install_script()  (removal lines + new rules, per table)
 *        │
 *        ├─ iptables-restore --noflush --test   (names missing extensions)
 *        └─ iptables-restore --noflush          (applies)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strchrnul, memmem */
#endif
#include "syngate/io/log.h"
#include "syngate/ops/iptables.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "syngate/io/kstats.h"
#include "syngate/io/lane.h"
#include "syngate/ops/spawn.h"
#include "syngate/ops/sysctl.h"

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

/* ------------------------------------------------------ the tools */

/* The tools of one address family.  The names are looked up in PATH once;
 * the resolved paths are what sg_spawn_run() executes. */
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

/* Resolves all tools of @f.  Returns 0, or -1 after saying which is missing. */
static int family_find_tools(struct family *f)
{
	for (int t = 0; t < T__COUNT; t++) {
		if (sg_spawn_which(f->tool[t], f->path[t], sizeof(f->path[t])) == 0)
			continue;
		sg_log(SG_LOG_ERR,
		        "%s: `%s' not found in PATH. syngate drives iptables "
		        "(iptables-nft or iptables-legacy) to install its rules: install the "
		        "iptables package (Debian/Ubuntu: apt-get install iptables; Fedora/RHEL: "
		        "dnf install iptables-nft)%s.",
		        f->name, f->tool[t], strcmp(f->name, "ipv6") ? "" : ", or disable ipv6");
		return -1;
	}
	return 0;
}

static int invalid(const char *why)
{
	sg_log(SG_LOG_ERR, "invalid rules configuration: %s", why);
	return -1;
}

static int need_net_admin(const char *what)
{
	if (sg_has_capability(CAP_NET_ADMIN))
		return 0;
	sg_log(SG_LOG_ERR,
	        "%s needs CAP_NET_ADMIN, which this process does not have: run it as "
	        "root (or grant the capability, e.g. systemd AmbientCapabilities=CAP_NET_ADMIN).",
	        what);
	return -1;
}

/* Runs iptables-save for @f and parses it into @s.  0, or -1 with a message. */
static int family_read(const struct family *f, struct sg_rules_saved *s)
{
	const char *argv[] = {f->tool[T_SAVE], "-c", NULL}; /* -c: the rules' counters */
	struct sg_strbuf out = {0}, err = {0};
	int rc = sg_spawn_run(f->path[T_SAVE], argv, NULL, &out, &err);
	bool ok = false;

	*s = (struct sg_rules_saved){0};
	if (rc < 0)
		sg_log(SG_LOG_ERR, "%s: cannot run %s: %s", f->name, f->path[T_SAVE],
		        strerror(errno));
	else if (rc != 0)
		sg_log(SG_LOG_ERR, "%s: %s failed (exit %d): %s", f->name, f->tool[T_SAVE],
		        rc, sg_strbuf_str(&err));
	else if (out.cut || sg_rules_saved_parse(sg_strbuf_str(&out), s) < 0)
		sg_log(SG_LOG_ERR, "%s: cannot parse %s output", f->name, f->tool[T_SAVE]);
	else
		ok = true;
	if (!ok)
		sg_rules_saved_free(s);
	sg_strbuf_free(&out);
	sg_strbuf_free(&err);
	return ok ? 0 : -1;
}

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
    {"hashlimit", "hashlimit match (shed-rate, ack-shed-rate, the lane)", "xt_hashlimit",
     "CONFIG_NETFILTER_XT_MATCH_HASHLIMIT"},
    {"set", "set match (the lane; lane = no does without it)", "xt_set",
     "CONFIG_NETFILTER_XT_SET"},
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
		sg_log(SG_LOG_ERR, "%s: the kernel lacks the iptables extension `%.*s'.",
		        fam, (int)n, name);
		return;
	}
	sg_log(SG_LOG_ERR,
	        "%s: the kernel lacks the %s (module %s, %s): try `modprobe %s', or use "
	        "a kernel built with it.%s",
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
		sg_log(SG_LOG_ERR,
		        "%s: iptables cannot load its userspace extension for "
		        "%.*s: reinstall the iptables package (its xtables/libxt_*.so are "
		        "missing).",
		        fam, (int)strcspn(p, "\n"), p);
	}
	for (size_t i = 0; i < sizeof(err_hints) / sizeof(err_hints[0]); i++) {
		if (!strstr(err, err_hints[i].needle))
			continue;
		sg_log(SG_LOG_ERR, "%s: %s", fam, err_hints[i].hint);
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
	struct sg_strbuf err = {0};
	int rc = sg_spawn_run(f->path[T_RESTORE], argv, script, NULL, &err);
	int explained = rc < 0 ? 0 : diagnose(f->name, sg_strbuf_str(&err));

	if (rc < 0)
		sg_log(SG_LOG_ERR, "%s: cannot run %s: %s", f->name, f->path[T_RESTORE],
		        strerror(errno));
	else if (rc != 0 || explained)
		sg_log(SG_LOG_ERR, "%s: %s %s (exit %d); it said:\n%s", f->name,
		        f->tool[T_RESTORE], test ? "rejected the rules" : "failed", rc,
		        sg_strbuf_str(&err));
	sg_strbuf_free(&err);
	return rc == 0 && !explained ? 0 : -1;
}

/* Reads @f's current rules and builds its install script into @b. */
static int family_plan_install(const struct sg_rules_config *c, const struct family *f,
                               struct sg_strbuf *b)
{
	struct sg_rules_saved s;
	int rc;

	if (family_read(f, &s) < 0)
		return -1;
	rc = sg_rules_install_script(c, &s, b);
	sg_rules_saved_free(&s);
	if (rc == 0)
		return 0;
	sg_log(SG_LOG_ERR, "out of memory");
	return -1;
}

/* Removes syngate from family @f (nothing to do is success). */
static int family_remove(const struct family *f, FILE *report, bool dry_run)
{
	struct sg_strbuf b = {0};
	struct sg_rules_saved s;
	int rc = 0;

	if (family_read(f, &s) < 0)
		return -1;
	rc = sg_rules_remove_script(&s, &b);
	sg_rules_saved_free(&s);
	if (rc < 0) {
		sg_log(SG_LOG_ERR, "out of memory");
		rc = -1;
	} else if (dry_run && report)
		fprintf(report, "# %s: %s --noflush\n%s", f->name, f->tool[T_RESTORE],
		        b.len ? sg_strbuf_str(&b) : "# nothing to remove\n");
	else if (!dry_run && b.len)
		rc = family_restore(f, sg_strbuf_str(&b), false);
	sg_strbuf_free(&b);
	return rc;
}

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

/* ------------------------------------------------------------ lane sets */

/* The lane's ipsets: one hash:ip per family (timeout support; the daemon
 * gives each entry its own timeout) and the list:set the rules match, which
 * holds both, so the rule text is the same for iptables and ip6tables.
 * Created before the rules that match them with `ipset -exist restore`
 * (creating an existing set of the same type is no error), destroyed once
 * no rule refers to them. */
static const char lane_create[] =
	"create " SG_LANE_SET4 " hash:ip family inet timeout 600 maxelem 262144\n"
	"create " SG_LANE_SET6 " hash:ip family inet6 timeout 600 maxelem 262144\n"
	"create " SG_LANE_SET " list:set size 8\n"
	"add " SG_LANE_SET " " SG_LANE_SET4 "\n"
	"add " SG_LANE_SET " " SG_LANE_SET6 "\n";
static const char lane_destroy[] =
	"destroy " SG_LANE_SET "\n"
	"destroy " SG_LANE_SET4 "\n"
	"destroy " SG_LANE_SET6 "\n";

/* Feeds @script to `ipset -exist restore`.  Quiet: no message, the status
 * only.  Returns 0, or -1 (also when ipset is not installed). */
static int ipset_restore(const char *script, struct sg_strbuf *err)
{
	const char *argv[] = {"ipset", "-exist", "restore", NULL};
	char path[PATH_MAX];

	if (sg_spawn_which("ipset", path, sizeof(path)) < 0) {
		errno = ENOENT;
		return -1;
	}
	return sg_spawn_run(path, argv, script, NULL, err) == 0 ? 0 : -1;
}

static int lane_sets_create(const struct sg_rules_config *c)
{
	struct sg_strbuf err = {0};
	int rc;

	if (!c->lane)
		return 0;
	rc = ipset_restore(lane_create, &err);
	if (rc < 0 && errno == ENOENT)
		sg_log(SG_LOG_ERR, "`ipset' not found in PATH. The lane (clients that "
		                "completed a handshake skip the shared shed buckets) keeps its "
		                "members in ipsets: install the ipset package (Debian/Ubuntu: "
		                "apt-get install ipset), or set lane = no.");
	else if (rc < 0)
		sg_log(SG_LOG_ERR, "ipset restore failed (the lane's sets; lane = no does "
		                "without them): %s", sg_strbuf_str(&err));
	sg_strbuf_free(&err);
	return rc;
}

/* Destroys the lane's sets where no rule refers to them any more. */
static void lane_sets_destroy(void)
{
	struct sg_strbuf err = {0};

	ipset_restore(lane_destroy, &err);
	sg_strbuf_free(&err);
}

/* Dry run: prints each family's install script (with the removal lines when
 * the current rules can be read) and the sysctl changes it would make. */
static int install_dry(const struct sg_rules_config *c, FILE *report)
{
	struct family f[2];
	int n = families_of(c, f);

	for (int i = 0; i < n; i++) {
		struct sg_strbuf b = {0};
		bool known = sg_has_capability(CAP_NET_ADMIN) && family_find_tools(&f[i]) == 0 &&
		             family_plan_install(c, &f[i], &b) == 0;
		if (!known) {
			sg_strbuf_free(&b);
			sg_rules_install_script(c, NULL, &b);
		}
		if (report)
			fprintf(report, "# %s: %s --noflush%s\n%s", f[i].name, f[i].tool[T_RESTORE],
			        known ? "" : " (current rules unreadable: removal lines omitted)",
			        sg_strbuf_str(&b));
		sg_strbuf_free(&b);
	}
	if (c->lane && report)
		fprintf(report, "# ipset -exist restore\n%s", lane_create);
	return sg_sysctl_apply(c, report);
}

/* Checks tools and builds + test-loads the install script of every family
 * before any is applied.  On success @script[i] holds family i's script. */
static int install_prepare(const struct sg_rules_config *c, struct family *f, int n,
                           struct sg_strbuf *script)
{
	for (int i = 0; i < n; i++)
		if (family_find_tools(&f[i]) < 0)
			return -1;
	if (lane_sets_create(c) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (family_plan_install(c, &f[i], &script[i]) < 0 ||
		    family_restore(&f[i], sg_strbuf_str(&script[i]), true) < 0)
			return -1;
	return 0;
}

int sg_iptables_install(const struct sg_rules_config *c, FILE *report)
{
	struct sg_strbuf script[2] = {{0}, {0}};
	struct family f[2];
	const char *why = sg_rules_invalid(c);
	int n, i, rc = -1;

	if (why)
		return invalid(why);
	if (c->dry_run)
		return install_dry(c, report);
	if (need_net_admin("installing firewall rules") < 0)
		return -1;
	n = families_of(c, f);
	if (install_prepare(c, f, n, script) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (family_restore(&f[i], sg_strbuf_str(&script[i]), false) < 0)
			break;
	if (i < n) {
		sg_log(SG_LOG_ERR, "install failed; removing syngate's rules again");
		for (int j = 0; j < n; j++)
			family_remove(&f[j], NULL, false);
		goto out;
	}
	rc = sg_sysctl_apply(c, report);
out:
	if (rc != 0)
		lane_sets_destroy(); /* those no rule refers to */
	sg_strbuf_free(&script[0]);
	sg_strbuf_free(&script[1]);
	return rc;
}

int sg_iptables_remove(const struct sg_rules_config *c, FILE *report)
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
	if (rc == 0 && !c->dry_run)
		lane_sets_destroy();
	if (rc == 0)
		rc = sg_sysctl_restore(c->dry_run, report);
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
	struct sg_strbuf o = {0}, e = {0};
	int rc = sg_spawn_run(f->path[T_LIST], argv, NULL, &o, &e);
	int nshed;
	uint64_t shed;

	if (rc == 0) {
		put_indented(out, "    ", sg_strbuf_str(&o));
		shed = shed_dropped(sg_strbuf_str(&o), &nshed);
		if (strcmp(chain, "SYNGATE-RAW") == 0 && nshed)
			fprintf(out, "  %s shed: %" PRIu64 " SYNs dropped above shed-rate "
			        "(before the queue)\n", f->name, shed);
		else if (strcmp(chain, "SYNGATE-RAW") == 0)
			fprintf(out, "  %s shed: off (shed-rate 0)\n", f->name);
	} else
		sg_log(SG_LOG_ERR, "%s: %s -t %s -L %s failed: %s", f->name, f->tool[T_LIST],
		        table, chain, rc < 0 ? strerror(errno) : sg_strbuf_str(&e));
	sg_strbuf_free(&o);
	sg_strbuf_free(&e);
	return rc == 0 ? 0 : -1;
}

/* Status of one family: returns 0 (all installed), 1 (something missing), -1. */
static int status_family(const struct sg_rules_config *c, const struct family *f, FILE *out)
{
	static const char *const tc[2][2] = {{"raw", "SYNGATE-RAW"}, {"mangle", "SYNGATE-MANGLE"}};
	struct sg_rules_saved s;
	int rc = 0;

	if (family_read(f, &s) < 0)
		return -1;
	for (int i = 0; i < 2 && rc >= 0; i++) {
		const struct sg_rules_table *t = sg_rules_saved_table(&s, tc[i][0]);
		bool have = t && sg_rules_table_has_chain(t, tc[i][1]);
		int jumps = t ? t->njumps : 0;

		fprintf(out, "%s %s: %s %s, %d jump%s into SYNGATE-*\n", f->name, tc[i][0],
		        tc[i][1], have ? "installed" : "not installed", jumps,
		        jumps == 1 ? "" : "s");
		if (!have || jumps != sg_rules_jumps(c))
			rc = 1;
		if (have && status_list(f, tc[i][0], tc[i][1], out) < 0)
			rc = -1;
	}
	sg_rules_saved_free(&s);
	return rc;
}

int sg_iptables_status(const struct sg_rules_config *c, FILE *out)
{
	struct family f[2];
	int n, rc = 0;

	if (need_net_admin("reading firewall rules") < 0)
		return -1;
	n = families_of(c, f);
	for (int i = 0; i < n && rc >= 0; i++) {
		int r = family_find_tools(&f[i]) < 0 ? -1 : status_family(c, &f[i], out);
		if (r != 0)
			rc = r;
	}
	return rc;
}

/* 1 when both of syngate's chains of family @f are there with their jumps
 * (sg_rules_jumps()), 0 when not, -1 when iptables-save failed.  Adds the
 * packets its DROP rules dropped to @drops. */
static int family_present(const struct sg_rules_config *c, const struct family *f,
                          struct sg_iptables_drops *drops)
{
	static const char *const tc[2][2] = {{"raw", "SYNGATE-RAW"}, {"mangle", "SYNGATE-MANGLE"}};
	struct sg_rules_saved s;
	int ok = 1;

	if (family_read(f, &s) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		const struct sg_rules_table *t = sg_rules_saved_table(&s, tc[i][0]);

		if (!t || !sg_rules_table_has_chain(t, tc[i][1]) || t->njumps != sg_rules_jumps(c))
			ok = 0;
	}
	for (int i = 0; i < s.n; i++) {
		drops->syn_shed += s.t[i].syn_shed;
		drops->invalid += s.t[i].invalid_dropped;
	}
	sg_rules_saved_free(&s);
	return ok;
}

int sg_iptables_present(const struct sg_rules_config *c, struct sg_iptables_drops *drops)
{
	struct family f[2];
	int n = families_of(c, f), rc = 1, r;

	*drops = (struct sg_iptables_drops){0};
	for (int i = 0; i < n && rc >= 0; i++) {
		r = family_find_tools(&f[i]) < 0 ? -1 : family_present(c, &f[i], drops);
		rc = r < rc ? r : rc;
	}
	return rc;
}

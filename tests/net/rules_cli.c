/* rules_cli: a thin command line over src/ops/iptables.c and src/ops/rules.c
 * for tests/net/test_rules.sh.
 *
 *   rules_cli install|remove|status|format [-p PORT]... [-i IFACE]... [-q QUEUE]
 *             [-n NQUEUES] [-m MARK] [-r REFLECT_MARK] [-o] [-4] [-6] [-d]
 *
 * -o fail open, -4 IPv4 only, -6 IPv6 only, -d dry run.  The report (sysctl
 * changes, dry-run scripts, status) goes to stdout, errors to stderr.  Exit
 * status: what the library call returned (0, 1 for status "not installed",
 * 255 for -1), 2 on a usage error.
 */
#include "syngate/ops/iptables.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: rules_cli install|remove|status|format [-p PORT]... "
	                "[-i IFACE]... [-q QUEUE] [-n NQUEUES] [-m MARK] [-r REFLECT_MARK] "
	                "[-o] [-4] [-6] [-d]\n");
	return 2;
}

/* Parses a number with strtoul base 0 into @v, bounded by @max; 0 or -1. */
static int number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	*v = strtoul(s, &end, 0);
	return (*s && !*end && *v <= max) ? 0 : -1;
}

/* Applies option @opt with argument @arg to @c; 0 or -1. */
static int option(struct sg_rules_config *c, int opt, const char *arg, bool *ports_set)
{
	unsigned long v;

	switch (opt) {
	case 'p':
		if (!*ports_set)
			c->nports = 0;
		*ports_set = true;
		if (c->nports == SG_RULES_MAX_PORTS || number(arg, 65535, &v) < 0)
			return -1;
		c->ports[c->nports++] = (uint16_t)v;
		return 0;
	case 'i':
		if (c->nifaces == SG_MAX_IFACES || strlen(arg) >= sizeof(c->ifaces[0]))
			return -1;
		strcpy(c->ifaces[c->nifaces++], arg);
		return 0;
	case 'q':
		return number(arg, 65535, &v) < 0 ? -1 : (c->queue = (uint16_t)v, 0);
	case 'n':
		return number(arg, 65535, &v) < 0 ? -1 : (c->nqueues = (uint16_t)v, 0);
	case 'm':
		return number(arg, UINT32_MAX, &v) < 0 ? -1 : (c->marks.pending = (uint32_t)v, 0);
	case 'r':
		return number(arg, UINT32_MAX, &v) < 0 ? -1 : (c->marks.reflect = (uint32_t)v, 0);
	case 'o':
		c->fail_open = true;
		return 0;
	case '4':
		c->ipv6 = false;
		return 0;
	case '6':
		c->ipv4 = false;
		return 0;
	case 'd':
		c->dry_run = true;
		return 0;
	}
	return -1;
}

/* Prints the rule set install adds, without removal lines. */
static int format(const struct sg_rules_config *c)
{
	struct sg_strbuf b = {0};
	const char *why = sg_rules_invalid(c);
	int rc = -1;

	if (why)
		fprintf(stderr, "syngate: invalid rules configuration: %s\n", why);
	else if (sg_rules_install_script(c, NULL, &b) == 0 && fputs(sg_strbuf_str(&b), stdout) >= 0)
		rc = 0;
	sg_strbuf_free(&b);
	return rc;
}

static int run(const char *cmd, const struct sg_rules_config *c)
{
	if (strcmp(cmd, "install") == 0)
		return sg_iptables_install(c, stdout);
	if (strcmp(cmd, "remove") == 0)
		return sg_iptables_remove(c, stdout);
	if (strcmp(cmd, "status") == 0)
		return sg_iptables_status(c, stdout);
	if (strcmp(cmd, "format") == 0)
		return format(c);
	return -2;
}

int main(int argc, char **argv)
{
	struct sg_rules_config c;
	bool ports_set = false;
	int opt, rc;

	sg_rules_defaults(&c);
	if (argc < 2)
		return usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "p:i:q:n:m:r:o46d")) != -1)
		if (option(&c, opt, optarg, &ports_set) < 0)
			return usage();
	if (optind != argc)
		return usage();
	rc = run(argv[1], &c);
	if (rc == -2)
		return usage();
	fflush(stdout);
	return rc < 0 ? 255 : rc;
}

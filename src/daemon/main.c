/* syngate command line: run | rules | stats | check-config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "syngate/ops/config.h"
#include "syngate/daemon/daemon.h"
#include "syngate/io/log.h"
#include "syngate/ops/iptables.h"
#include "syngate/ops/stats.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: syngate COMMAND [--config FILE] [--OPTION=VALUE ...]\n"
		"\n"
		"commands:\n"
		"  run                      run the SYN proxy in the foreground\n"
		"  rules install            install syngate's iptables/ip6tables chains and sysctls\n"
		"  rules remove             remove exactly what 'rules install' added\n"
		"  rules status             show whether the chains are installed, with counters\n"
		"  stats [--json|--prometheus] [--watch SECONDS] [--control PATH]\n"
		"                           print the daemon's counters (control socket);\n"
		"                           --watch: a live view of rates and queues\n"
		"  check-config FILE        validate a configuration file and exit\n"
		"\n"
		"common flags:\n"
		"  --config FILE            read options from an INI file ([syngate] section);\n"
		"                           flags given after it override the file\n"
		"  --dry-run                rules: print the rule set instead of applying it\n"
		"  --help, --version\n"
		"\n"
		"options (file key = flag name; [SIGHUP]: a reload applies it, the others\n"
		"need a restart):\n");
	sg_config_usage(out);
}

/* Applies "--key=value", "--key value" and bare boolean "--key" flags from
 * argv[first..] to @c.  Returns 0, or -1 after printing the error. */
static int apply_flags(struct sg_config *c, int argc, char **argv, int first, bool *dry_run)
{
	char err[SG_CONFIG_ERR_LEN], key[64];
	int i;

	for (i = first; i < argc; i++) {
		const char *a = argv[i], *eq, *val;

		if (strncmp(a, "--", 2)) {
			fprintf(stderr, "syngate: unexpected argument '%s' (see --help)\n", a);
			return -1;
		}
		a += 2;
		if (!strcmp(a, "dry-run")) {
			*dry_run = true;
			continue;
		}
		eq = strchr(a, '=');
		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
			val = eq + 1;
		} else {
			snprintf(key, sizeof(key), "%s", a);
			if (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
				val = argv[++i];
			else
				val = "yes"; /* a bare boolean flag */
		}
		if (!strcmp(key, "config")) {
			if (sg_config_load(c, val, err, sizeof(err)) != 0)
				goto bad;
			continue;
		}
		if (sg_config_set(c, key, val, err, sizeof(err)) != 0)
			goto bad;
	}
	return 0;
bad:
	sg_log(SG_LOG_ERR, "%s", err);
	return -1;
}

static int load(struct sg_config *c, int argc, char **argv, int first, bool *dry_run)
{
	char err[SG_CONFIG_ERR_LEN];

	sg_config_defaults(c);
	if (apply_flags(c, argc, argv, first, dry_run) != 0)
		return -1;
	if (sg_config_check(c, err, sizeof(err)) != 0) {
		sg_log(SG_LOG_ERR, "%s", err);
		return -1;
	}
	c->rules.marks = c->proxy.marks; /* the rules match what the proxy sets */
	c->rules.completions = c->proxy.mode == SG_MODE_ADAPTIVE;
	c->rules.timestamps = c->proxy.timestamps;
	c->rules.dry_run = *dry_run;
	return 0;
}

static int cmd_rules(int argc, char **argv)
{
	struct sg_config c;
	bool dry = false;

	if (argc < 3) {
		fprintf(stderr, "syngate: rules needs install, remove or status\n");
		return 2;
	}
	if (load(&c, argc, argv, 3, &dry) != 0)
		return 2;
	if (!strcmp(argv[2], "install"))
		return sg_iptables_install(&c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(argv[2], "remove"))
		return sg_iptables_remove(&c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(argv[2], "status"))
		return sg_iptables_status(&c.rules, stdout) == 0 ? 0 : 1;
	fprintf(stderr, "syngate: unknown rules command '%s'\n", argv[2]);
	return 2;
}

/* Asks the daemon at @path for a snapshot ("text", "json" or "metrics") into
 * @buf (NUL-terminated).  Returns its length, or -1 after printing why. */
static ssize_t stats_fetch(const char *path, const char *req, char *buf, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0;
	ssize_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	struct timeval tv = {2, 0}; /* a daemon that does not answer is an error */
	char line[64];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "syngate: cannot reach the daemon at %s: %s (is 'syngate run' up?)\n",
			path, strerror(errno));
		close(fd);
		return -1;
	}
	/* one line; the daemon may answer and close before we are done, so
	 * no SIGPIPE */
	snprintf(line, sizeof(line), "%.*s\n", (int)strcspn(req, "\n"), req);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	if (n < 0 && len == 0) {
		fprintf(stderr, "syngate: the daemon at %s did not answer: %s\n", path,
			strerror(errno));
		return -1;
	}
	return (ssize_t)len;
}

/* One "name value" line of a text snapshot. */
struct kv {
	char name[48];
	double v;
};

/* Parses a text snapshot into @kv (at most @max); the mode line is kept in @mode. */
static int parse_text(char *text, struct kv *kv, int max, char *mode, size_t mlen)
{
	char *save = NULL, *line;
	int n = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		char name[48], val[48];

		if (sscanf(line, "%47s %47s", name, val) != 2)
			continue;
		if (!strcmp(name, "mode")) {
			snprintf(mode, mlen, "%s", val);
			continue;
		}
		snprintf(kv[n].name, sizeof(kv[n].name), "%s", name);
		kv[n++].v = atof(val);
	}
	return n;
}

static double get(const struct kv *kv, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].name, name))
			return kv[i].v;
	return 0;
}

/* A 20-character bar of @v out of @max. */
static const char *bar(double v, double max)
{
	static char b[23];
	int i, fill = max > 0 ? (int)(20 * v / max + 0.5) : 0;

	b[0] = '[';
	for (i = 0; i < 20; i++)
		b[i + 1] = i < fill ? '#' : '.';
	b[21] = ']';
	b[22] = '\0';
	return b;
}

/* The live view: rates over the last interval and the queues, redrawn. */
static void draw(const struct kv *c, int nc, const struct kv *p, int np, double dt,
		 const char *mode)
{
#define RATE(k) ((get(c, nc, k) - get(p, np, k)) / dt)
#define CRATE(f) RATE(SG_COUNTER_KEY(f)) /* of a counter in SG_COUNTERS */
	char ts[32];
	time_t now = time(NULL);
	int i;

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
	printf("\033[H\033[2Jsyngate  %s   mode %s, cookies %s\n\n", ts, mode,
	       get(c, nc, "cookies_engaged") ? "ENGAGED" : "off (SYNs pass through)");
	printf("  %10s %10s %10s %10s %10s %10s\n", "SYN/s", "cookie/s", "valid/s", "invalid/s",
	       "proxied/s", "passed/s");
	printf("  %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f\n\n", CRATE(syn_seen),
	       CRATE(cookies_sent), CRATE(cookies_valid), CRATE(cookies_invalid), CRATE(proxied),
	       CRATE(syn_passed));
	printf("  %-26s %10s %10s\n", "queue", "now", "limit");
	printf("  %-26s %10.0f %10.0f %s\n", "syngate half-open", get(c, nc, "halfopen"),
	       get(c, nc, "halfopen_max"), bar(get(c, nc, "halfopen"), get(c, nc, "halfopen_max")));
	printf("  %-26s %10.0f\n", "syngate established", get(c, nc, "established"));
	printf("  %-26s %10.0f %10.0f %s (release below %.0f)\n", "half-open estimate",
	       get(c, nc, "halfopen_estimate"), get(c, nc, "adaptive_high"),
	       bar(get(c, nc, "halfopen_estimate"), get(c, nc, "adaptive_high")),
	       get(c, nc, "adaptive_low"));
	printf("  %-26s %10.0f %10s   kernel drops/s %.0f\n", "NFQUEUE backlog",
	       get(c, nc, "nfq_backlog"), "65536",
	       RATE("nfq_kernel_queue_dropped") + RATE("nfq_kernel_user_dropped"));
	for (i = 0; i < nc; i++) {
		unsigned port;
		int end = 0;

		if (sscanf(c[i].name, "backend_%u_accept_queue%n", &port, &end) == 1 &&
		    c[i].name[end] == '\0' && end > 0) {
			char k[64];

			snprintf(k, sizeof(k), "backend_%u_accept_limit", port);
			printf("  backend :%-5u accept queue %10.0f %10.0f %s", port, c[i].v,
			       get(c, nc, k), bar(c[i].v, get(c, nc, k)));
			snprintf(k, sizeof(k), "backend_%u_syn_recv", port);
			printf("  SYN_RECV %.0f\n", get(c, nc, k));
		}
	}
	printf("\n  drops/s:");
	for (i = 0; i < nc; i++)
		if (!strncmp(c[i].name, SG_STATS_DROP_PREFIX, strlen(SG_STATS_DROP_PREFIX)) &&
		    c[i].v > get(p, np, c[i].name))
			printf("  %s %.0f", c[i].name + strlen(SG_STATS_DROP_PREFIX), (c[i].v - get(p, np, c[i].name)) / dt);
	printf("\n");
	fflush(stdout);
#undef CRATE
#undef RATE
}

static int stats_watch(const char *path, double interval)
{
	static char buf[65536];
	struct kv cur[256], prev[256];
	char mode[48] = "?";
	int nc, np = 0;

	for (;;) {
		if (stats_fetch(path, "text\n", buf, sizeof(buf)) < 0)
			return 1;
		nc = parse_text(buf, cur, 256, mode, sizeof(mode));
		if (np)
			draw(cur, nc, prev, np, interval, mode);
		memcpy(prev, cur, sizeof(cur[0]) * (size_t)nc);
		np = nc;
		usleep((useconds_t)(interval * 1e6));
	}
}

static int cmd_stats(int argc, char **argv)
{
	static char buf[65536];
	const char *path = "/run/syngate.sock", *req = "text\n";
	double watch = 0;
	int i;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			req = "json\n";
		else if (!strcmp(argv[i], "--prometheus"))
			req = "metrics\n";
		else if (!strcmp(argv[i], "--watch") && i + 1 < argc)
			watch = atof(argv[++i]);
		else if (!strncmp(argv[i], "--control=", 10))
			path = argv[i] + 10;
		else if (!strcmp(argv[i], "--control") && i + 1 < argc)
			path = argv[++i];
		else {
			fprintf(stderr, "syngate: stats: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (watch > 0)
		return stats_watch(path, watch);
	if (stats_fetch(path, req, buf, sizeof(buf)) < 0)
		return 1;
	fputs(buf, stdout);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	char err[SG_CONFIG_ERR_LEN];
	struct sg_config c;

	if (argc != 3) {
		fprintf(stderr, "syngate: check-config needs one FILE\n");
		return 2;
	}
	sg_config_defaults(&c);
	if (sg_config_load(&c, argv[2], err, sizeof(err)) != 0 ||
	    sg_config_check(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "syngate: %s\n", err);
		return 1;
	}
	printf("%s: ok\n", argv[2]);
	return 0;
}

int main(int argc, char **argv)
{
	struct sg_config c;
	bool dry = false;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("syngate %s\n", SYNGATE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		sg_log_set_format(SG_LOG_FMT_AUTO); /* until the options say otherwise */
		if (load(&c, argc, argv, 2, &dry) != 0)
			return 2;
		return sg_daemon_run(&c) == 0 ? 0 : 1;
	}
	if (!strcmp(argv[1], "rules"))
		return cmd_rules(argc, argv);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc, argv);
	if (!strcmp(argv[1], "check-config"))
		return cmd_check(argc, argv);
	fprintf(stderr, "syngate: unknown command '%s' (see --help)\n", argv[1]);
	return 2;
}

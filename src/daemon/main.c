/* syngate command line: run | rules | stats | check-config | help-config |
 * keys (the commands and their options: syngate/daemon/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "syngate/ops/config.h"
#include "syngate/daemon/cli.h"
#include "syngate/daemon/daemon.h"
#include "syngate/daemon/keyring.h"
#include "syngate/io/log.h"
#include "syngate/ops/iptables.h"
#include "syngate/ops/stats.h"

/* What the command line asked for: the options (defaults, then --config
 * and the other options in the order given), the command's own flags and
 * its positional arguments. */
struct cli {
	struct sg_config c;
	bool dry_run;
	const char *req; /* stats: "text", "json" or "metrics" */
	double watch;	 /* stats --watch SECONDS; 0: none */
	enum sg_cli_flag gen; /* help-config: SG_CLI_MAN, SG_CLI_BASH or SG_CLI_HELP (text) */
	const char *pos[2];
	int npos;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: syngate COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < SG_CLI_NCOMMANDS; i++)
		fprintf(out, "  %-13s %s\n", sg_cli_commands[i].name, sg_cli_commands[i].summary);
	fprintf(out,
		"\n'syngate COMMAND --help' lists a command's options; every option is spelt\n"
		"the same in every command: --name=value or --name value, and a boolean\n"
		"bare (--name), --name=no or --name no.  syngate(8), syngate.conf(5).\n"
		"\n"
		"options (file key = option name; [SIGHUP]: a reload applies it, the others\n"
		"need a restart):\n");
	sg_config_usage(out);
}

/* A boolean option given bare takes the next argument when it is a boolean
 * word ("--learn no"); otherwise it means yes ("--install-rules --ports 80"). */
static const char *bool_value(int argc, char **argv)
{
	static const char *const words[] = {"yes", "no", "true", "false", "on", "off", "1", "0"};

	if (optarg)
		return optarg;
	for (size_t i = 0; optind < argc && i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(argv[optind], words[i]))
			return argv[optind++];
	return "yes";
}

/* Applies the option getopt_long returned as @f to @cli; 0, 1 for --help, or
 * -1 after printing the error. */
static int apply_one(struct cli *cli, int f, int argc, char **argv)
{
	char err[SG_CONFIG_ERR_LEN];
	struct sg_config_option o;

	if (f >= SG_CLI_TABLE) {
		sg_config_option((size_t)(f - SG_CLI_TABLE), &o);
		if (sg_config_set(&cli->c, o.name,
				  o.arg == SG_ARG_BOOL ? bool_value(argc, argv) : optarg, err,
				  sizeof(err)) != 0)
			goto bad;
		return 0;
	}
	switch ((enum sg_cli_flag)f) {
	case SG_CLI_HELP:
		return 1;
	case SG_CLI_CONFIG:
		if (sg_config_load(&cli->c, optarg, err, sizeof(err)) != 0)
			goto bad;
		return 0;
	case SG_CLI_DRY_RUN:
		cli->dry_run = true;
		return 0;
	case SG_CLI_JSON:
		cli->req = "json";
		return 0;
	case SG_CLI_PROMETHEUS:
		cli->req = "metrics";
		return 0;
	case SG_CLI_WATCH: {
		char *end;

		cli->watch = strtod(optarg, &end);
		if (*end || !(cli->watch > 0 && cli->watch <= 3600)) {
			fprintf(stderr, "syngate: --watch takes seconds (0 < SECONDS <= 3600), not '%s'\n",
				optarg);
			return -1;
		}
		return 0;
	}
	case SG_CLI_MAN:
	case SG_CLI_BASH:
		cli->gen = (enum sg_cli_flag)f;
		return 0;
	case SG_CLI_NFLAGS:
	case SG_CLI_TABLE:
		break;
	}
	return -1;
bad:
	sg_log(SG_LOG_ERR, "%s", err);
	return -1;
}

/* Parses argv[2..] of @cmd with getopt_long.  Options are applied in order;
 * the arguments that are not options (at most 2) go to cli->pos.  Returns 0,
 * 1 after printing --help, or -1 after printing the error. */
static int parse(const struct sg_cli_command *cmd, int argc, char **argv, struct cli *cli)
{
	struct option *opts = calloc(sg_cli_getopt_size(), sizeof(*opts));
	int f, rc = 0;

	if (!opts)
		return -1;
	*cli = (struct cli){.req = "text", .gen = SG_CLI_HELP};
	sg_config_defaults(&cli->c);
	sg_cli_getopt(cmd, opts);
	optind = 2;
	opterr = 0;
	while (rc == 0 && optind < argc) {
		/* "+": stop at each positional argument, which is taken here */
		f = getopt_long(argc, argv, "+:h", opts, NULL);
		if (f == -1) {
			if (optind < argc && cli->npos < 2)
				cli->pos[cli->npos++] = argv[optind++];
			else if (optind < argc) {
				fprintf(stderr, "syngate %s: unexpected argument '%s' (see syngate %s --help)\n",
					cmd->name, argv[optind], cmd->name);
				rc = -1;
			}
		} else if (f == '?' || f == ':') {
			fprintf(stderr, "syngate %s: %s '%s' (see syngate %s --help)\n", cmd->name,
				f == '?' ? "unknown option" : "missing value for", argv[optind - 1],
				cmd->name);
			rc = -1;
		} else
			rc = apply_one(cli, f == 'h' ? SG_CLI_HELP : f < SG_CLI_TABLE ? f - SG_CLI_FLAG : f,
				       argc, argv);
	}
	free(opts);
	if (rc == 1)
		sg_cli_usage(cmd, stdout);
	return rc;
}

/* The checks and derived settings shared by run and rules. */
static int finish(struct cli *cli)
{
	char err[SG_CONFIG_ERR_LEN];
	struct sg_config *c = &cli->c;

	if (sg_config_check(c, err, sizeof(err)) != 0) {
		sg_log(SG_LOG_ERR, "%s", err);
		return -1;
	}
	c->rules.marks = c->proxy.marks; /* the rules match what the proxy sets */
	c->rules.completions = c->proxy.mode == SG_MODE_ADAPTIVE;
	c->rules.timestamps = c->proxy.timestamps;
	c->rules.dry_run = cli->dry_run;
	return 0;
}

static int cmd_rules(struct cli *cli)
{
	const char *act = cli->pos[0];

	if (!act || cli->npos > 1) {
		fprintf(stderr, "syngate: rules needs one of install, remove or status\n");
		return 2;
	}
	if (finish(cli) != 0)
		return 2;
	if (!strcmp(act, "install"))
		return sg_iptables_install(&cli->c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(act, "remove"))
		return sg_iptables_remove(&cli->c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(act, "status"))
		return sg_iptables_status(&cli->c.rules, stdout) == 0 ? 0 : 1;
	fprintf(stderr, "syngate: unknown rules command '%s'\n", act);
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

/* Where `syngate stats` asks: the control path of its options (the
 * daemon's default, $RUNTIME_DIRECTORY/control.sock under systemd, else
 * /run/syngate.sock), except that when that default is not there and the
 * systemd unit's socket is, from an admin's shell (no RUNTIME_DIRECTORY),
 * it asks the unit's daemon. */
static const char *stats_path(const struct cli *cli)
{
	static const char unit_sock[] = "/run/syngate/control.sock";
	char def[sizeof(cli->c.control)];
	struct stat st;

	sg_config_control_default(def, sizeof(def));
	if (strcmp(cli->c.control, def) || stat(def, &st) == 0 || stat(unit_sock, &st) != 0 ||
	    !S_ISSOCK(st.st_mode))
		return cli->c.control;
	return unit_sock;
}

static int cmd_stats(const struct cli *cli)
{
	static char buf[65536];
	char req[16];

	if (cli->npos) {
		fprintf(stderr, "syngate: stats: unexpected argument '%s'\n", cli->pos[0]);
		return 2;
	}
	if (cli->watch > 0)
		return stats_watch(stats_path(cli), cli->watch);
	snprintf(req, sizeof(req), "%s\n", cli->req);
	if (stats_fetch(stats_path(cli), req, buf, sizeof(buf)) < 0)
		return 1;
	fputs(buf, stdout);
	return 0;
}

static int cmd_check(const struct cli *cli)
{
	char err[SG_CONFIG_ERR_LEN];
	struct sg_config c;

	if (cli->npos != 1) {
		fprintf(stderr, "syngate: check-config needs one FILE\n");
		return 2;
	}
	sg_config_defaults(&c);
	if (sg_config_load(&c, cli->pos[0], err, sizeof(err)) != 0 ||
	    sg_config_check(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "syngate: %s\n", err);
		return 1;
	}
	printf("%s: ok\n", cli->pos[0]);
	return 0;
}

static int cmd_help_config(const struct cli *cli)
{
	if (cli->gen == SG_CLI_MAN)
		sg_cli_man_options(stdout);
	else if (cli->gen == SG_CLI_BASH)
		sg_cli_bash_completion(stdout);
	else
		sg_config_usage(stdout);
	return 0;
}

/* keys new [FILE]: a fresh master key (keyring.h), replacing FILE (default:
 * the key-file option, after --config) atomically. */
static int cmd_keys(const struct cli *cli)
{
	uint8_t key[SG_KEYFILE_LEN];
	char err[512];
	const char *path = cli->npos == 2 ? cli->pos[1] : cli->c.key_file;
	int r;

	if (cli->npos < 1 || strcmp(cli->pos[0], "new") || !strcmp(path, "none")) {
		fprintf(stderr, "syngate: keys new [FILE] (see syngate keys --help)\n");
		return 2;
	}
	if (sg_keyring_random(key, sizeof(key)) != 0) {
		fprintf(stderr, "syngate: getrandom: %s\n", strerror(errno));
		return 1;
	}
	r = sg_keyfile_write(path, key, true, err, sizeof(err));
	memset(key, 0, sizeof(key));
	if (r != 0) {
		fprintf(stderr, "syngate: %s\n", err);
		return 1;
	}
	printf("%s: new key; reload the daemon (SIGHUP) of every router sharing it\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	const struct sg_cli_command *cmd;
	static struct cli cli;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("syngate %s\n", SYNGATE_VERSION);
		return 0;
	}
	cmd = sg_cli_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "syngate: unknown command '%s' (see --help)\n", argv[1]);
		return 2;
	}
	rc = parse(cmd, argc, argv, &cli);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	switch (cmd->id) {
	case SG_CMD_RUN:
		if (cli.npos) {
			fprintf(stderr, "syngate: run: unexpected argument '%s'\n", cli.pos[0]);
			return 2;
		}
		sg_log_set_format(SG_LOG_FMT_AUTO); /* until the options say otherwise */
		if (finish(&cli) != 0)
			return 2;
		return sg_daemon_run(&cli.c) == 0 ? 0 : 1;
	case SG_CMD_RULES:
		return cmd_rules(&cli);
	case SG_CMD_STATS:
		return cmd_stats(&cli);
	case SG_CMD_CHECK:
		return cmd_check(&cli);
	case SG_CMD_HELP_CONFIG:
		return cmd_help_config(&cli);
	case SG_CMD_KEYS:
		return cmd_keys(&cli);
	}
	return 2;
}

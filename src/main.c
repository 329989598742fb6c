/* syngate command line: run | rules | stats | check-config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "syngate/config.h"
#include "syngate/daemon.h"
#include "syngate/log.h"
#include "syngate/rules.h"

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
		"  stats [--json] [--watch SECONDS]\n"
		"                           print the daemon's counters (control socket)\n"
		"  check-config FILE        validate a configuration file and exit\n"
		"\n"
		"common flags:\n"
		"  --config FILE            read options from an INI file ([syngate] section);\n"
		"                           flags given after it override the file\n"
		"  --dry-run                rules: print the rule set instead of applying it\n"
		"  --help, --version\n"
		"\n"
		"options (file key = flag name):\n");
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
	fprintf(stderr, "syngate: %s\n", err);
	return -1;
}

static int load(struct sg_config *c, int argc, char **argv, int first, bool *dry_run)
{
	char err[SG_CONFIG_ERR_LEN];

	sg_config_defaults(c);
	if (apply_flags(c, argc, argv, first, dry_run) != 0)
		return -1;
	if (sg_config_check(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "syngate: %s\n", err);
		return -1;
	}
	c->rules.mark = c->proxy.mark_pending;
	c->rules.reflect_mark = c->proxy.reflect_mark;
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
		return sg_rules_install(&c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(argv[2], "remove"))
		return sg_rules_remove(&c.rules, stdout) == 0 ? 0 : 1;
	if (!strcmp(argv[2], "status"))
		return sg_rules_status(&c.rules, stdout) == 0 ? 0 : 1;
	fprintf(stderr, "syngate: unknown rules command '%s'\n", argv[2]);
	return 2;
}

/* Asks the daemon at @path for a snapshot and copies it to stdout. */
static int stats_once(const char *path, bool json)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[16384];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "syngate: cannot reach the daemon at %s: %s (is 'syngate run' up?)\n",
			path, strerror(errno));
		close(fd);
		return -1;
	}
	if (write(fd, json ? "json\n" : "text\n", 5) < 0) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	fflush(stdout);
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	const char *path = "/run/syngate.sock";
	bool json = false;
	double watch = 0;
	int i;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
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
	if (watch <= 0)
		return stats_once(path, json) == 0 ? 0 : 1;
	for (;;) {
		if (!json)
			printf("\033[H\033[2J");
		if (stats_once(path, json) != 0)
			return 1;
		usleep((useconds_t)(watch * 1e6));
	}
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

/* syngate sysctls: see include/syngate/ops/sysctl.h. */
#include "syngate/io/log.h"
#include "syngate/ops/sysctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

static int sysctl_path(const char *path, char *buf, size_t len)
{
	if (snprintf(buf, len, "/proc/sys/%s", path) >= (int)len)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

int sg_sysctl_get(const char *path, char *buf, size_t len)
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

int sg_sysctl_set(const char *path, const char *value)
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

/* Where the records go: systemd's RuntimeDirectory= (RUNTIME_DIRECTORY, its
 * first entry: /run/syngate for the unit, owned by the service's user), else
 * SG_SYSCTL_STATE_DIR, the same path for a syngate run by hand. */
static void state_dir(char *buf, size_t len)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	int n = rt ? (int)strcspn(rt, ":") : 0;

	if (n > 0 && (size_t)n < len)
		snprintf(buf, len, "%.*s", n, rt);
	else
		snprintf(buf, len, "%s", SG_SYSCTL_STATE_DIR);
}

/* The file that remembers, per network namespace, what sg_sysctl_apply()
 * changed: <state_dir()>/sysctl.<namespace>, one "PATH OLD NEW" line
 * per change.  The namespace is named by its cookie, which the kernel never
 * reuses (an inode number is reused once a namespace is gone); kernels
 * before 5.14 have none, and the inode is the fallback.  0, or -1. */
static int state_path(char *buf, size_t len)
{
	unsigned long long id = 0;
	socklen_t sl = sizeof(id);
	struct stat st;
	char dir[PATH_MAX / 2];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	state_dir(dir, sizeof(dir));
	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &id, &sl) == 0) {
		close(fd);
		snprintf(buf, len, "%s/sysctl.%llu", dir, id);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (stat("/proc/self/ns/net", &st) < 0)
		return -1;
	snprintf(buf, len, "%s/sysctl.ino%llu", dir, (unsigned long long)st.st_ino);
	return 0;
}

/* Appends "PATH OLD NEW" to the state file.  A failure is a warning: the
 * change stands, and rules remove will leave it. */
static void state_record(const char *path, const char *old, const char *set)
{
	char file[PATH_MAX], dir[PATH_MAX / 2];
	FILE *f = NULL;

	state_dir(dir, sizeof(dir));
	if (state_path(file, sizeof(file)) == 0 && (mkdir(dir, 0755) == 0 || errno == EEXIST))
		f = fopen(file, "ae");
	if (!f) {
		fprintf(stderr, "syngate: warning: cannot record the old value of sysctl %s in %s: "
			"%s (rules remove will leave it)\n", path, dir, strerror(errno));
		return;
	}
	fprintf(f, "%s %s %s\n", path, old, set);
	fclose(f);
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
	if (sg_sysctl_get(w->path, old, sizeof(old)) < 0) {
		if (errno == ENOENT)
			return 1;
		sg_log(SG_LOG_ERR, "cannot read sysctl %s: %s", name, strerror(errno));
		return -1;
	}
	if (strcmp(old, w->ok[0]) == 0 || (w->ok[1] && strcmp(old, w->ok[1]) == 0))
		return 0;
	if (!dry_run && sg_sysctl_set(w->path, w->set) < 0) {
		sg_log(SG_LOG_ERR, "cannot set sysctl %s to %s: %s", name, w->set,
		        strerror(errno));
		return -1;
	}
	if (!dry_run)
		state_record(w->path, old, w->set);
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
	sg_log(fatal ? SG_LOG_ERR : SG_LOG_WARN, "sysctl %s is missing: %s", name, w->missing);
	return fatal ? -1 : 0;
}

/* rp_filter of @ifname ("all" too): 0, 1, 2, or -1 when it has none. */
static int rp_value(const char *ifname)
{
	char path[96], v[16];

	snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", ifname);
	if (sg_sysctl_get(path, v, sizeof(v)) < 0 || v[0] < '0' || v[0] > '2' || v[1])
		return -1;
	return v[0] - '0';
}

/* Makes @ifname's reverse path filtering loose where it would be strict:
 * the kernel filters with the larger of `all' (@all) and the interface's
 * own value, so only an effective 1 needs a change, and only the
 * interface's (0 under an `all' of 1 is strict too). */
static int rp_loosen(const char *ifname, int all, bool dry_run, FILE *report)
{
	int own = rp_value(ifname);
	struct sysctl_want w = {"", {"2", NULL}, "2", NULL};

	if (own < 0) {
		sg_log(SG_LOG_WARN, "sysctl net.ipv4.conf.%s.rp_filter is missing: the interface "
		       "does not exist (yet); when it appears its rp_filter comes from "
		       "net.ipv4.conf.default.rp_filter, and with net.ipv4.conf.all.rp_filter at "
		       "%d the larger of the two must be 0 or 2", ifname, all);
		return 0;
	}
	if ((all > own ? all : own) != 1)
		return 0;
	snprintf(w.path, sizeof(w.path), "net/ipv4/conf/%s/rp_filter", ifname);
	return sysctl_ensure(&w, dry_run, report) < 0 ? -1 : 0;
}

/* rp_loosen() on the interfaces SYNs come in on: the configured ones
 * (wildcards skipped: no sysctl directory), else every one but lo. */
static int rp_loosen_clients(const struct sg_rules_config *c, int all, FILE *report)
{
	const struct dirent *e;
	DIR *d;
	int rc = 0;

	for (int i = 0; i < c->nifaces; i++)
		if (!strchr(c->ifaces[i], '+') && rp_loosen(c->ifaces[i], all, c->dry_run, report) < 0)
			return -1;
	if (c->nifaces || !(d = opendir("/proc/sys/net/ipv4/conf")))
		return 0;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, "all") && strcmp(e->d_name, "default") &&
		    strcmp(e->d_name, "lo"))
			rc = rp_loosen(e->d_name, all, c->dry_run, report);
	closedir(d);
	return rc;
}

/* The sysctls of the IPv4 reflect path: forwarding, and loose (or no)
 * reverse path filtering on the interfaces SYNs come in on (the reflected
 * SYN-ACK leaves by the interface its SYN came in on, with the backend's
 * address as its source).  `all' is left as it is, and so are the other
 * interfaces. */
static int sysctls_ipv4(const struct sg_rules_config *c, FILE *report)
{
	struct sysctl_want fwd = {"net/ipv4/ip_forward",
	                          {"1", NULL},
	                          "1",
	                          "IPv4 forwarding is not available in this kernel"};
	int all = rp_value("all");

	if (sysctl_require(&fwd, true, c->dry_run, report) < 0)
		return -1;
	if (all < 0) {
		sg_log(SG_LOG_WARN, "sysctl net.ipv4.conf.all.rp_filter is missing: this kernel "
		       "has no IPv4 rp_filter");
		return 0;
	}
	return rp_loosen_clients(c, all, report);
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

/* On-host, nothing is reflected or forwarded (cookie SYN-ACKs leave through a
 * raw socket, the listeners are local), so forwarding and rp_filter stay as
 * the host has them: only tcp_loose is needed. */
int sg_sysctl_apply(const struct sg_rules_config *c, FILE *report)
{
	if (c->ipv4 && !c->on_host && sysctls_ipv4(c, report) < 0)
		return -1;
	if (c->ipv6 && !c->on_host && sysctls_ipv6(c, report) < 0)
		return -1;
	return sysctl_tcp_loose(c, report);
}

/* Restores one recorded change "PATH OLD NEW" (@line) if the sysctl still
 * holds NEW.  0, or -1 after a message. */
static int restore_one(const char *line, bool dry_run, FILE *report)
{
	char path[96], old[64], set[64], now[64], name[128];

	if (sscanf(line, "%95s %63s %63s", path, old, set) != 3 || strstr(path, ".."))
		return 0; /* not a line of ours */
	sysctl_name(path, name, sizeof(name));
	if (sg_sysctl_get(path, now, sizeof(now)) < 0)
		return 0; /* gone with its interface */
	if (strcmp(now, set) != 0) {
		if (report)
			fprintf(report, "sysctl %s: left at %s (changed since rules install set %s)\n",
				name, now, set);
		return 0;
	}
	if (!dry_run && sg_sysctl_set(path, old) < 0) {
		fprintf(stderr, "syngate: cannot restore sysctl %s to %s: %s\n", name, old,
			strerror(errno));
		return -1;
	}
	if (report)
		fprintf(report, "sysctl %s: %s -> %s (restored)%s\n", name, now, old,
			dry_run ? " (dry run: not applied)" : "");
	return 0;
}

int sg_sysctl_restore(bool dry_run, FILE *report)
{
	char file[PATH_MAX], line[256];
	FILE *f;
	int rc = 0;

	if (state_path(file, sizeof(file)) < 0 || !(f = fopen(file, "re")))
		return 0; /* nothing recorded */
	while (fgets(line, sizeof(line), f))
		if (restore_one(line, dry_run, report) < 0)
			rc = -1;
	fclose(f);
	if (rc == 0 && !dry_run)
		unlink(file);
	return rc;
}

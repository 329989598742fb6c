/* syngate /proc reader: see include/syngate/io/kstats.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include <dirent.h>
#include <string.h>
#include "syngate/io/kstats.h"

#define NFQ_PROC "/proc/net/netfilter/nfnetlink_queue"

int sg_kqueue_open(void)
{
	return open(NFQ_PROC, O_RDONLY | O_CLOEXEC);
}

/* Parses queue @queue's line out of @text. */
static int kqueue_parse(const char *text, uint16_t queue, struct sg_kqueue *out)
{
	unsigned long long qd, ud;
	unsigned q, portid, total, mode, range;

	for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		if (sscanf(l, "%u %u %u %u %u %llu %llu", &q, &portid, &total, &mode, &range, &qd,
			   &ud) != 7 ||
		    q != queue)
			continue;
		out->backlog = total;
		out->queue_dropped = qd;
		out->user_dropped = ud;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

/* pread() from offset 0, not stdio: a seq_file is generated afresh by a
 * read at 0, while stdio serves a seek back to 0 from its buffer. */
int sg_kqueue_read_fd(int fd, uint16_t queue, struct sg_kqueue *out)
{
	char buf[8192]; /* 64 queues, about 60 bytes each */
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 &&
	       (n = pread(fd, buf + len, sizeof(buf) - 1 - len, (off_t)len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return kqueue_parse(buf, queue, out);
}

int sg_kqueue_read(const char *path, uint16_t queue, struct sg_kqueue *out)
{
	int fd = open(path ? path : NFQ_PROC, O_RDONLY | O_CLOEXEC);
	int r, saved;

	if (fd < 0)
		return -1;
	r = sg_kqueue_read_fd(fd, queue, out);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
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

/* Reads one unsigned number from the file @path.  0, or -1 with errno. */
static int read_u64(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "re");
	unsigned long long x;
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	*v = x;
	return 0;
}

int sg_conntrack_usage(uint64_t *count, uint64_t *max)
{
	if (read_u64("/proc/sys/net/netfilter/nf_conntrack_count", count) < 0 ||
	    read_u64("/proc/sys/net/netfilter/nf_conntrack_max", max) < 0)
		return -1;
	return 0;
}

/* Boot time, seconds since the epoch (/proc/stat "btime"). */
static int boot_time(double *out)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	unsigned long long bt;
	int ok = 0;

	if (!f)
		return -1;
	while (!ok && fgets(line, sizeof(line), f))
		ok = sscanf(line, "btime %llu", &bt) == 1;
	fclose(f);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	*out = (double)bt;
	return 0;
}

int sg_self_read(struct sg_self *out)
{
	unsigned long long ut, st, start, pages;
	double hz = (double)sysconf(_SC_CLK_TCK), boot;
	char buf[1024], *p;
	struct dirent *e;
	DIR *d;
	FILE *f = fopen("/proc/self/stat", "re");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	p = ok ? strrchr(buf, ')') : NULL; /* the command name may hold anything */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			 "%*d %*d %*d %llu", &ut, &st, &start) != 3 || boot_time(&boot) < 0) {
		errno = EINVAL;
		return -1;
	}
	f = fopen("/proc/self/statm", "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%*u %llu", &pages) == 1;
	fclose(f);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	out->rss_bytes = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	out->cpu_seconds = (double)(ut + st) / hz;
	out->start_time = boot + (double)start / hz;
	out->open_fds = 0;
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d)))
		out->open_fds += e->d_name[0] != '.';
	if (d) {
		closedir(d);
		out->open_fds--; /* the directory's own descriptor */
	}
	return 0;
}

/* syngate /proc reader: see include/syngate/io/kstats.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "syngate/io/kstats.h"

#define NFQ_PROC "/proc/net/netfilter/nfnetlink_queue"

int sg_kqueue_read(const char *path, uint16_t queue, struct sg_kqueue *out)
{
	unsigned long long qd, ud;
	unsigned q, portid, total, mode, range;
	char line[256];
	FILE *f = fopen(path ? path : NFQ_PROC, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %u %u %u %llu %llu", &q, &portid, &total, &mode, &range,
			   &qd, &ud) != 7 ||
		    q != queue)
			continue;
		out->backlog = total;
		out->queue_dropped = qd;
		out->user_dropped = ud;
		fclose(f);
		return 0;
	}
	fclose(f);
	errno = ENOENT;
	return -1;
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

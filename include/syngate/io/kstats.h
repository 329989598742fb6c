/* syngate /proc reader: what the kernel says in /proc about syngate's
 * queues (/proc/net/netfilter/nfnetlink_queue: backlog, drops, whether a
 * socket holds a queue) and about this process (/proc/self/status:
 * capabilities).  Return convention: 0 on success, -1 with errno set.
 */
#ifndef SYNGATE_KSTATS_H
#define SYNGATE_KSTATS_H

#include <stdbool.h>
#include <stdint.h>

/* One line of /proc/net/netfilter/nfnetlink_queue. */
struct sg_kqueue {
	uint32_t backlog;	/* packets waiting for userspace now */
	uint64_t queue_dropped; /* dropped: queue full */
	uint64_t user_dropped;	/* dropped: netlink socket buffer full */
};

/* Reads queue @queue's line from @path (NULL: the /proc file of the current
 * namespace).  ENOENT when the queue is not bound. */
int sg_kqueue_read(const char *path, uint16_t queue, struct sg_kqueue *out);
/* The /proc file of the current namespace, opened to be read again and
 * again with sg_kqueue_read_fd(): it is mode 0440 root, so a daemon that
 * drops its user opens it before.  A descriptor, or -1 with errno set. */
int sg_kqueue_open(void);
/* sg_kqueue_read() from descriptor @fd (sg_kqueue_open()), afresh. */
int sg_kqueue_read_fd(int fd, uint16_t queue, struct sg_kqueue *out);

/* The conntrack table of the current namespace: entries now and the
 * maximum (/proc/sys/net/netfilter/nf_conntrack_{count,max}).  ENOENT
 * when conntrack is not loaded. */
int sg_conntrack_usage(uint64_t *count, uint64_t *max);

/* This process as /proc/self shows it. */
struct sg_self {
	uint64_t rss_bytes;	 /* resident memory */
	double cpu_seconds;	 /* user + system */
	uint64_t open_fds;
	double start_time;	 /* seconds since the epoch */
};

/* Reads /proc/self/{stat,statm,fd} and /proc/stat (boot time).  0, or -1
 * with errno set. */
int sg_self_read(struct sg_self *out);

/* True when this process holds capability @bit (linux/capability.h:
 * CAP_NET_ADMIN, CAP_NET_RAW, ...) in its effective set, as root normally
 * does; without /proc, whether it runs as root. */
bool sg_has_capability(int bit);

#endif

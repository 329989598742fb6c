/* syngate sock_diag: a backend's listen queues read through sock_diag
 * (inet_diag) over libmnl, as `ss -lnt` shows them, from the backends'
 * network namespace.  Return convention: 0 on success, -1 with errno set.
 */
#ifndef SYNGATE_DIAG_H
#define SYNGATE_DIAG_H

#include <stdint.h>

/* A listening socket's queues. */
struct sg_listen_queue {
	uint16_t port;
	uint32_t accept_queue;	/* completed connections not yet accepted */
	uint32_t backlog;	/* the accept queue's limit (listen() backlog) */
	uint32_t syn_recv;	/* half-open connections (request sockets) */
};

struct sg_diag;

/* Opens a sock_diag socket in the network namespace at @netns (a path such as
 * /run/netns/NAME or /proc/PID/ns/net; NULL: the current one).  errno
 * ENOTRECOVERABLE means the thread could not return to its own namespace:
 * the caller must not go on. */
struct sg_diag *sg_diag_open(const char *netns);
void sg_diag_close(struct sg_diag *d);

/* Sums the queues of every TCP listener (IPv4 and IPv6) on each of the @n
 * @ports into @out[i] (the same order).  A port with no listener reads as
 * zeros.  Two dumps of the listeners, and two of the request sockets only
 * when some port has a listener. */
int sg_diag_listen(struct sg_diag *d, const uint16_t *ports, int n, struct sg_listen_queue *out);

#endif

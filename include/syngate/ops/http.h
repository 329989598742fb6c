/* syngate metrics endpoint: a libmicrohttpd server on its own thread that
 * answers GET /metrics with whatever @render writes.  @render runs on the
 * server's thread: it must take its own locks. */
#ifndef SYNGATE_HTTP_H
#define SYNGATE_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct sg_http;

typedef size_t (*sg_http_render)(void *ctx, char *out, size_t cap);

/* Opens the listening socket on @addr (IPv4 or IPv6 literal) port @port, apart
 * from sg_http_start() so that a port below 1024 can be bound before the
 * daemon drops its privileges.  Returns the socket, or -1 with errno set
 * (EADDRINUSE, EACCES, EINVAL for a bad address, ...). */
int sg_http_listen(const char *addr, uint16_t port);
/* Serves on socket @fd (from sg_http_listen(); the server owns it from now
 * on, even on failure) from a thread of its own.  NULL with errno set. */
struct sg_http *sg_http_start(int fd, sg_http_render render, void *ctx);
/* Stops the thread and closes the socket.  NULL is fine. */
void sg_http_stop(struct sg_http *h);

#endif

/* syngate metrics endpoint: a libmicrohttpd server on its own thread that
 * answers GET /metrics with whatever @render writes.  @render runs on the
 * server's thread: it must take its own locks. */
#ifndef SYNGATE_HTTP_H
#define SYNGATE_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct sg_http;

typedef size_t (*sg_http_render)(void *ctx, char *out, size_t cap);

/* Listens on @addr (IPv4 or IPv6 literal) port @port.  Returns NULL with
 * errno set (EADDRINUSE, EINVAL for a bad address, ...). */
struct sg_http *sg_http_start(const char *addr, uint16_t port, sg_http_render render, void *ctx);
void sg_http_stop(struct sg_http *h);

#endif

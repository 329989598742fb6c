/* syngate control socket: a unix stream socket (mode 0600) on which
 * `syngate stats` asks for the counters.  One request line per connection
 * ("text", "json" or "metrics"), one answer, then the daemon closes it.
 *
 * Several clients are served at once, none can hold the others up: accepted
 * connections are non-blocking and watched in an epoll set of the control
 * socket's own (sg_control_fd() is that set, for the caller's loop); a
 * client has SG_CONTROL_DEADLINE_MS to send its request, and at most
 * SG_CONTROL_MAX_CLIENTS wait at a time (a new one closes the oldest).
 *
 * Return convention: -1 with errno set for calls that can fail.
 */
#ifndef SYNGATE_OPS_CONTROL_H
#define SYNGATE_OPS_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define SG_CONTROL_MAX_CLIENTS 32
#define SG_CONTROL_DEADLINE_MS 1000

struct sg_control;

/* Writes the answer to request @req (NUL-terminated, newline stripped) into
 * @out (@cap bytes); returns its length. */
typedef size_t (*sg_control_answer)(void *ctx, const char *req, char *out, size_t cap);

/* Creates the socket at @path.  A stale socket there is replaced; anything
 * else at @path (a regular file, a directory, a link) is left alone and the
 * call fails with EEXIST.  NULL with errno set on failure. */
struct sg_control *sg_control_open(const char *path, sg_control_answer answer, void *ctx);
/* Closes every connection and the socket, and removes @path.  NULL is fine. */
void sg_control_close(struct sg_control *c);
/* An epoll descriptor that is readable when there is work for
 * sg_control_run(). */
int sg_control_fd(const struct sg_control *c);
/* Accepts, reads and answers what is ready, without blocking; closes the
 * clients past their deadline at @now_ms (monotonic milliseconds). */
void sg_control_run(struct sg_control *c, uint64_t now_ms);

#endif

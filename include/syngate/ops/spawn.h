/* syngate process spawning: run a tool (iptables-restore and friends) and
 * collect what it says.
 *
 * The tool is started with posix_spawn(), never through a shell, with the
 * inherited environment; its stdin is a memfd holding the input and its
 * stdout/stderr come back through memfds, so there is no pipe to deadlock
 * on and no SIGPIPE.
 */
#ifndef SYNGATE_SPAWN_H
#define SYNGATE_SPAWN_H

#include <stddef.h>

#include "syngate/ops/strbuf.h"

/* Finds executable @name in PATH (or, when PATH is unset or empty, the usual
 * default) and writes its path into @buf (@len bytes).  Returns 0, or -1
 * when there is none. */
int sg_spawn_which(const char *name, char *buf, size_t len);

/* Runs the program at @path with @argv (NULL-terminated), @in (NULL: empty)
 * on stdin, and waits for it; appends its stdout to @out and its stderr to
 * @err (either NULL: discarded).  Returns its exit status, 128 + the signal
 * when it was killed, or -1 with errno when it could not be started. */
int sg_spawn_run(const char *path, const char *const argv[], const char *in,
                 struct sg_strbuf *out, struct sg_strbuf *err);

#endif

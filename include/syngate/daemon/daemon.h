/* syngate daemon: runs the proxy on the configured NFQUEUE until SIGINT or
 * SIGTERM.  Returns 0 on a clean stop, -1 after logging why it could not run. */
#ifndef SYNGATE_DAEMON_H
#define SYNGATE_DAEMON_H

#include "syngate/ops/config.h"

int sg_daemon_run(const struct sg_config *cfg);

#endif

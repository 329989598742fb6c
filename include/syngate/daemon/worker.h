/* syngate worker: one thread per NFQUEUE queue.
 *
 * A worker owns everything one queue needs: its proxy (half-open table,
 * learned backends, adaptive estimate), the queue socket, a ctnetlink
 * socket, the raw sockets and a 100 ms timer.  On the packet path workers
 * share only what is read-mostly: the cookie keys, copied from the keyring
 * (keyring.h) once per slot, and the learned backend options; the XDP fast
 * path's maps are written by syscalls.  That works because the rules spread
 * flows with --queue-balance, whose hash covers the addresses in either
 * direction: a flow's SYN, ACK and backend SYN-ACK all reach the same queue.
 *
 * The daemon's thread talks to a worker only through sg_worker_snapshot()
 * and sg_worker_reconfigure(), under the worker's lock.  Return convention:
 * 0 or a pointer on success; -1 or NULL after logging why.
 */
#ifndef SYNGATE_WORKER_H
#define SYNGATE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/ops/config.h"
#include "syngate/io/lane.h"
#include "syngate/io/nfq.h"
#include "syngate/core/backfile.h"
#include "syngate/core/proxy.h"
#include "syngate/io/xdp.h"
#include "syngate/daemon/keyring.h"

/* A worker's figures at one moment. */
struct sg_worker_snap {
	struct sg_counters c;
	struct sg_nfq_stats nfq;
	struct sg_lane_stats lane; /* zero when the lane is off */
	struct sg_adaptive ad;
	uint64_t cookies_slot[2];
	uint32_t halfopen;
	enum sg_mode mode;
	bool cookies_on;
};

struct sg_worker;

/* Opens queue @queue and everything the worker needs.  Worker @id of
 * @nworkers (main and lane workers together).  cfg->rules.nqueues divides
 * the adaptive watermarks (each main worker sees its share of the SYNs).
 * With the lane (cfg->rules.lane), workers
 * 0..nqueues-1 serve the main queues and the others the lane queues: a lane
 * worker marks its pending connections with lane_mark as well, so that the
 * rules bring their packets back to it; every worker puts the client of each
 * completed handshake into the lane.  @ring and @xdp (NULL: none) outlive
 * the worker. */
struct sg_worker *sg_worker_new(const struct sg_config *cfg, uint16_t queue, int id, int nworkers,
				struct sg_keyring *ring, struct sg_xdp *xdp);
/* Starts the worker's thread. */
int sg_worker_start(struct sg_worker *w);
/* Stops the thread (if started) and frees everything.  NULL is fine. */
void sg_worker_free(struct sg_worker *w);
/* Copies the worker's figures into @out.  With @fresh, asks the thread for
 * new ones, as of the request (the SYNs the XDP program answered so far
 * included), and waits for them (at most 200 ms, else the last ones). */
void sg_worker_snapshot(struct sg_worker *w, bool fresh, struct sg_worker_snap *out);
/* When the worker's loop last came round (monotonic microseconds): at least
 * every 100 ms (its timer) while it is healthy, idle or busy.  Any thread. */
uint64_t sg_worker_heartbeat(struct sg_worker *w);
/* Hands the worker new live options (applied on its thread). */
void sg_worker_reconfigure(struct sg_worker *w, const struct sg_proxy_config *c);
/* Teaches the worker's proxy backend @r learned before a restart
 * (sg_proxy_teach(): the proxy, the XDP map and the table of all workers get
 * it, learned at r->learned_s).  Before sg_worker_start() only.  0 or -1. */
int sg_worker_teach(struct sg_worker *w, const struct sg_backfile_rec *r);
/* Copies at most @max of the backends the workers learned (their shared
 * table) to @out and returns their count; gen[0] receives the number of
 * times a backend was learned with new options, gen[1] with the options it
 * had already (its learn time refreshed).  Any thread. */
size_t sg_worker_learned(struct sg_backfile_rec *out, size_t max, uint64_t gen[2]);

#endif

/* syngate XDP fast path, daemon side: loads src/bpf/syngate_xdp.c's object,
 * attaches it to the client-facing interfaces and keeps its maps in step
 * with the daemon (include/syngate/core/xdp_abi.h has the maps).
 *
 * The attachments are bpf_links held by this process: if the daemon dies,
 * the kernel detaches the program and SYNs take the NFQUEUE path again
 * (fail-closed or fail-open as the rules say).
 *
 * Thread safety: every function may be called from any thread; the control
 * record is written under a lock, double-buffered so that the program never
 * reads a half-written one.  Return convention: 0 or a pointer on success,
 * -1 or NULL after logging why.
 */
#ifndef SYNGATE_XDP_H
#define SYNGATE_XDP_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/core/cookie.h"
#include "syngate/core/packet.h"
#include "syngate/core/types.h"
#include "syngate/core/xdp_abi.h"

/* auto: native on devices that have a driver of their own (a NIC), generic
 * on virtual ones (veth, bridges: their native XDP_TX needs XDP on the peer
 * too), generic when native fails; and when nothing can be loaded or
 * attached, the daemon goes on with the queue path alone. */
enum sg_xdp_mode { SG_XDP_OFF, SG_XDP_NATIVE, SG_XDP_GENERIC, SG_XDP_AUTO };

/* What the program must know of the configuration. */
struct sg_xdp_params {
	const uint16_t *ports; /* protected ports, host order */
	int nports;
	bool ipv4, ipv6;
	uint16_t mss4, mss6;
	uint8_t default_wscale;
	bool learn_first;
	bool drop_acks; /* drop ACKs whose cookie fails (off with rst-invalid: the daemon answers) */
	uint32_t known_mark; /* TC program: mark of a SYN whose tuple conntrack knows */
};

struct sg_xdp;

/* Loads the object at @path and attaches it to the @nifaces interfaces
 * @ifaces in @mode (native: the driver's hook; generic: after the skb is
 * built, works on any device; auto: see enum sg_xdp_mode).  With no
 * interfaces (@nifaces 0) it attaches to the interfaces of the default
 * routes (where clients come from on a router), or, with no default route,
 * to every interface that is up but loopback.  SYNs arriving elsewhere take
 * the queue path (the rules then match every interface).  Cookies start
 * disengaged.  On failure, @why (if not NULL) gets a one-line reason. */
struct sg_xdp *sg_xdp_open(const char *path, const char (*ifaces)[16], int nifaces,
			   enum sg_xdp_mode mode, const struct sg_xdp_params *p);
/* How many interfaces the program is attached to, and in which mode each
 * (@modes: SG_MAX_IFACES entries, may be NULL). */
int sg_xdp_attached(const struct sg_xdp *x, enum sg_xdp_mode *modes);
/* Detaches and frees.  NULL is fine. */
void sg_xdp_close(struct sg_xdp *x);
int sg_xdp_configure(struct sg_xdp *x, const struct sg_xdp_params *p);
/* The cookie keys the program signs with from now on. */
int sg_xdp_set_keys(struct sg_xdp *x, const struct sg_cookie_keys *k);
/* Worker @id (0..63) answers SYNs with cookies (@on) or not; the program
 * answers while any worker does.  Writes the map only on a change. */
int sg_xdp_engage(struct sg_xdp *x, unsigned id, bool on);
/* Records the options learned for backend @addr:@port of @family. */
int sg_xdp_learned(struct sg_xdp *x, uint8_t family, const uint8_t *addr, uint16_t port,
		   const struct sg_xdp_backend *b);
/* The options the program holds for a backend: 0, or -1 (errno ENOENT) if none. */
int sg_xdp_backend(struct sg_xdp *x, uint8_t family, const uint8_t *addr, uint16_t port,
		   struct sg_xdp_backend *out);
/* The program's counters, summed over CPUs. */
int sg_xdp_counters(struct sg_xdp *x, uint64_t out[SG_XDP__COUNT]);
/* "syn", "answered", ... (metric labels). */
const char *sg_xdp_counter_name(enum sg_xdp_counter c);
/* The total counter @c is a part of (SG_XDP_COUNTERS); a total, and a
 * counter out of range, are their own. */
enum sg_xdp_counter sg_xdp_counter_total(enum sg_xdp_counter c);
/* "off", "native", "generic", "auto"; sg_xdp_mode_parse() returns -1 for
 * anything else. */
const char *sg_xdp_mode_name(enum sg_xdp_mode m);
int sg_xdp_mode_parse(const char *s);
/* The object's default path: beside the running executable if there,
 * else the installed one. */
void sg_xdp_default_object(char *out, size_t len);

#endif

/* syngate XDP fast path: the maps the daemon and the eBPF program share.
 *
 * The program (src/bpf/syngate_xdp.c) answers a client SYN with the same
 * cookie SYN-ACK the NFQUEUE path would send, straight from the driver
 * (XDP_TX), before the SYN costs an skb, conntrack or a trip to userspace.
 * While cookies are engaged it also checks the cookie of every client ACK
 * conntrack has no entry for, with the same keys as the daemon, and drops
 * the forged ones; valid ones go on to the daemon unchanged.  SYNs whose
 * tuple conntrack knows (a reused port over a TIME_WAIT entry) go to the
 * daemon, which passes them through: the kernel's state decides, not a
 * table of syngate's.
 *
 *   map          type             key                   value
 *   sg_ctl       array[2]         0, 1                  struct sg_xdp_ctl
 *   sg_cur       array[1]         0                     u32: sg_ctl's current entry
 *   sg_backends  hash             struct sg_xdp_bkey    struct sg_xdp_backend
 *   sg_stats     percpu array     enum sg_xdp_counter   u64
 *   sg_learn_at  percpu array[2]  0, 1                  u64: learning bucket refilled at (ns), tokens
 *
 * Plain fixed-width types only: this header is compiled for both targets.
 */
#ifndef SYNGATE_XDP_ABI_H
#define SYNGATE_XDP_ABI_H

#include <stdint.h>

#define SG_XDP_SECRET_LEN 192
#define SG_XDP_PORT_WORDS 1024 /* 65536 bits: the protected ports */
#define SG_XDP_BACKENDS 4096
/* Unknown backends: with learn-first, SYNs go to the daemon to teach it the
 * backend's options from a token bucket per CPU (SG_XDP_LEARN_BURST, then one
 * every SG_XDP_LEARN_GAP_NS); the others are answered with the defaults, as
 * the NFQUEUE path does when its own learning bucket is empty. */
#define SG_XDP_LEARN_GAP_NS 250000000ULL
#define SG_XDP_LEARN_BURST 4

/* The daemon's settings and cookie keys; written whole by the daemon. */
struct sg_xdp_ctl {
	uint64_t slot;				   /* current cookie slot */
	uint8_t secret[2][SG_XDP_SECRET_LEN];	   /* secret[slot & 1] */
	uint32_t engaged;			   /* answer SYNs at all (0: pass all) */
	uint16_t mss4, mss6;			   /* caps of the MSS advertised */
	uint8_t default_wscale;			   /* advertised for unknown backends */
	uint8_t learn_first;			   /* see SG_XDP_LEARN_GAP_NS */
	uint8_t ipv4, ipv6;			   /* families protected */
	uint8_t drop_acks;			   /* drop ACKs whose cookie fails (0: pass them) */
	uint8_t pad[3];
	uint32_t known_mark;			   /* TC: mark of a SYN conntrack knows (0: none) */
	uint32_t pad2;
	uint64_t ports[SG_XDP_PORT_WORDS];	   /* bit p: TCP port p (host order) */
};

/* A backend (destination address and port) whose options were learned. */
struct sg_xdp_bkey {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t pad;
	uint16_t port;	/* host order */
	uint8_t addr[16];
};

/* Its options, and the window scale told before they last changed it
 * (struct sg_backend_opts, cookie_mac.h). */
struct sg_xdp_backend {
	uint16_t mss;
	uint8_t has_wscale;
	uint8_t wscale;
	uint8_t sack_ok;
	uint8_t told_before;
	uint8_t told_changed;
	uint8_t pad;
	uint64_t told_since;
};

/* The program's counters (sg_stats), X(SG_XDP_name, "outcome", total): the
 * enum, the names (stats key xdp_<outcome>, metric label outcome="<outcome>")
 * and the total each one is a part of.  A total names itself; its parts are
 * the outcomes of what it counts, each counted once, so they sum to it (the
 * metrics show a total on its own and its parts as one labelled family). */
#define SG_XDP_COUNTERS(X)                                                               \
	X(SG_XDP_SYN, "syn", SG_XDP_SYN) /* SYNs to a protected port the program looked at */ \
	X(SG_XDP_ANSWERED, "answered", SG_XDP_SYN) /* answered with a cookie SYN-ACK (XDP_TX) */ \
	X(SG_XDP_PASS_OFF, "pass_off", SG_XDP_SYN) /* passed: cookies not engaged */     \
	X(SG_XDP_PASS_LEARN, "pass_learn", SG_XDP_SYN) /* passed: unknown backend, to learn its options */ \
	X(SG_XDP_PASS_CT, "pass_ct", SG_XDP_SYN) /* passed: conntrack has an entry for the tuple (port reuse) */ \
	X(SG_XDP_PASS_SHAPE, "pass_shape", SG_XDP_SYN) /* passed: IPv4 options or first fragment, malformed TCP options */ \
	X(SG_XDP_ERROR, "error", SG_XDP_SYN) /* could not be rewritten: passed if untouched, else dropped */ \
	X(SG_XDP_ACK, "ack", SG_XDP_ACK) /* ACKs checked: protected port, engaged, no conntrack entry */ \
	X(SG_XDP_ACK_VALID, "ack_valid", SG_XDP_ACK) /* ... their cookie verified: passed to the daemon */ \
	X(SG_XDP_DROP_COOKIE_MAC, "drop_cookie_mac", SG_XDP_ACK) /* ... dropped: the MAC is wrong (forged or old) */ \
	X(SG_XDP_DROP_COOKIE_STALE, "drop_cookie_stale", SG_XDP_ACK) /* ... dropped: it names a slot before the first */ \
	X(SG_XDP_TC_KNOWN, "tc_known", SG_XDP_TC_KNOWN) /* TC: SYNs conntrack knows, marked to skip the queue */

#define SG_XDP_COUNTER_ENUM(id, name, total) id,
enum sg_xdp_counter {
	SG_XDP_COUNTERS(SG_XDP_COUNTER_ENUM)
	SG_XDP__COUNT
};
#undef SG_XDP_COUNTER_ENUM

#endif

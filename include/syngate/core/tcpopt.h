/* TCP options and tuples, written once for the daemon and the XDP program.
 *
 * The daemon (src/core/packet.c, src/core/proxy.c) and the eBPF program
 * (src/bpf/syngate_xdp.c, clang -target bpf) both compile this header, so a
 * SYN's options are read the same way and a SYN-ACK offers the same options
 * whichever of the two answers it.  tests/unit/test_xdp.c runs the real
 * program and checks its SYN-ACKs with the daemon's codec.
 *
 * Self-contained like cookie_mac.h: stdbool/stdint only, no libc, every
 * function static inline, nothing the eBPF verifier refuses (no loop whose
 * bound it cannot see: the option walk is one step per call, and the caller
 * loops, with bpf_loop() in the program).
 */
#ifndef SYNGATE_CORE_TCPOPT_H
#define SYNGATE_CORE_TCPOPT_H

#include <stdbool.h>
#include <stdint.h>

/* Linux's AF_INET / AF_INET6 (packet.c checks them against the libc's). */
#define SG_AF_INET 2
#define SG_AF_INET6 10

#define SG_TCPOPT_EOL 0
#define SG_TCPOPT_NOP 1
#define SG_TCPOPT_MSS 2
#define SG_TCPOPT_WSCALE 3
#define SG_TCPOPT_SACK_PERM 4
#define SG_TCPOPT_TIMESTAMP 8

#define SG_TCPOPT_MAX 40 /* option bytes a TCP header can hold (data offset 15) */
#define SG_TCPOPT_BUF 64 /* power of 2 >= SG_TCPOPT_MAX, see sg_tcpopt_at() */
#define SG_WSCALE_MAX 14 /* RFC 7323 2.3 */

/* A connection's address/port tuple, as seen in one direction. */
struct sg_tuple {
	uint8_t family; /* SG_AF_INET or SG_AF_INET6 */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
};

/* TCP options syngate understands.  Absent options have their has_ flag false. */
struct sg_tcpopts {
	bool has_mss;
	bool has_wscale;
	bool sack_ok;
	bool has_ts;
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval;
	uint32_t tsecr;
};

/* Options learned of one backend (from its SYN-ACKs), and the window scale
 * syngate's SYN-ACKs told its clients before the options last changed it
 * (cookie_mac.h, sg_cookie_told_changed()). */
struct sg_backend_opts {
	bool has_wscale;
	bool sack_ok;
	uint8_t wscale;
	uint16_t mss;
	uint8_t told_before;	/* what was told until ... */
	bool told_changed;	/* (told_before is set) */
	uint64_t told_since;	/* ... this cookie slot */
};

/* --- the option walk ------------------------------------------------------ */

/* A walk over an option block copied into @o (len <= SG_TCPOPT_MAX bytes). */
struct sg_tcpopt_walk {
	uint8_t o[SG_TCPOPT_BUF];
	uint32_t i, len;
	bool bad;		 /* set when the block is malformed */
	struct sg_tcpopts *out;	 /* zeroed by the caller */
};

/* Byte @i of the block.  Verifier workaround: the mask keeps every index
 * provably inside o[] (the verifier cannot follow i < len <= 40 through
 * the walk's state); for i < SG_TCPOPT_BUF it changes nothing. */
static inline uint8_t sg_tcpopt_at(const struct sg_tcpopt_walk *w, uint32_t i)
{
	return w->o[i & (SG_TCPOPT_BUF - 1)];
}

static inline uint32_t sg_tcpopt_rd32(const struct sg_tcpopt_walk *w, uint32_t i)
{
	return (uint32_t)sg_tcpopt_at(w, i) << 24 | (uint32_t)sg_tcpopt_at(w, i + 1) << 16 |
	       (uint32_t)sg_tcpopt_at(w, i + 2) << 8 | sg_tcpopt_at(w, i + 3);
}

/* Stores option @kind of length @olen (>= 2, inside the block) whose value
 * starts at @v.  Known kinds of a wrong length are malformed (false);
 * unknown kinds are skipped. */
static inline bool sg_tcpopt_one(struct sg_tcpopt_walk *w, uint8_t kind, uint8_t olen, uint32_t v)
{
	struct sg_tcpopts *o = w->out;

	if (kind == SG_TCPOPT_MSS) {
		if (olen != 4)
			return false;
		o->has_mss = true;
		o->mss = (uint16_t)(sg_tcpopt_at(w, v) << 8 | sg_tcpopt_at(w, v + 1));
	} else if (kind == SG_TCPOPT_WSCALE) {
		if (olen != 3)
			return false;
		o->has_wscale = true;
		o->wscale = sg_tcpopt_at(w, v);
		if (o->wscale > SG_WSCALE_MAX)
			o->wscale = SG_WSCALE_MAX;
	} else if (kind == SG_TCPOPT_SACK_PERM) {
		if (olen != 2)
			return false;
		o->sack_ok = true;
	} else if (kind == SG_TCPOPT_TIMESTAMP) {
		if (olen != 10)
			return false;
		o->has_ts = true;
		o->tsval = sg_tcpopt_rd32(w, v);
		o->tsecr = sg_tcpopt_rd32(w, v + 4);
	}
	return true;
}

/* One step of the walk: the option at w->i.  Returns 0 to go on, 1 when the
 * walk is over (end of the block or of the options, or malformed: w->bad).
 * Each step that returns 0 advances w->i by at least one byte, so at most
 * SG_TCPOPT_MAX steps walk any block. */
static inline int sg_tcpopt_step(struct sg_tcpopt_walk *w)
{
	uint32_t i = w->i, len = w->len;
	uint8_t kind, olen;

	/* i < SG_TCPOPT_MAX is implied by len <= SG_TCPOPT_MAX; stated for
	 * the verifier, which loses the bound on len across bpf_loop() */
	if (i >= len || i >= SG_TCPOPT_MAX)
		return 1;
	kind = sg_tcpopt_at(w, i);
	if (kind == SG_TCPOPT_EOL)
		return 1;
	if (kind == SG_TCPOPT_NOP) {
		w->i = i + 1;
		return 0;
	}
	if (len - i < 2)
		goto bad;
	olen = sg_tcpopt_at(w, i + 1);
	if (olen < 2 || olen > len - i || !sg_tcpopt_one(w, kind, olen, i + 2))
		goto bad;
	w->i = i + olen; /* olen >= 2: the walk always advances */
	return 0;
bad:
	w->bad = true;
	return 1;
}

/* --- the SYN-ACK's options ------------------------------------------------ */

/* The window scale syngate advertises: the backend's (0 if it does not
 * scale), or @dflt while the backend is unknown (@b NULL). */
static inline uint8_t sg_synack_wscale(const struct sg_backend_opts *b, uint8_t dflt)
{
	if (b)
		return b->has_wscale ? b->wscale : 0;
	return dflt;
}

/* The options of the cookie SYN-ACK answering a SYN with options @syn, to a
 * backend whose options are @b (NULL: not learned yet), with the family's
 * MSS cap @cap: MSS min(backend, cap); SACK if the client offers it and the
 * backend is not known to refuse it; window scaling only if both ends do it
 * (a backend known to refuse it must not have the client scale its
 * windows); never timestamps (the cookie cannot carry their offset). */
static inline void sg_synack_opts(struct sg_tcpopts *out, const struct sg_tcpopts *syn,
				  const struct sg_backend_opts *b, uint16_t cap, uint8_t dflt_wscale)
{
	out->has_mss = true;
	out->mss = b && b->mss < cap ? b->mss : cap;
	out->sack_ok = syn->sack_ok && (!b || b->sack_ok);
	out->has_wscale = syn->has_wscale && !(b && !b->has_wscale);
	out->wscale = sg_synack_wscale(b, dflt_wscale);
	out->has_ts = false;
	out->tsval = 0;
	out->tsecr = 0;
}

#endif

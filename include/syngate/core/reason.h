/* syngate: why a packet was dropped or refused.
 *
 * Every drop in syngate carries one of these reasons; each reason has a
 * counter and a metric label (sg_reason_name()).  A new reason is one line
 * at the end of SG_REASONS: the enum, the counter and the label follow.
 */
#ifndef SYNGATE_REASON_H
#define SYNGATE_REASON_H

/* X(SG_R_name, "label", "what it means"): the enum, the names (counter
 * "drop_<label>", metric label reason="<label>") and the comments in one
 * place.  SG_R_OK is not in the list: it is no drop. */
#define SG_REASONS(X)                                                                    \
	/* packet codec */                                                               \
	X(SG_R_TRUNC_IP, "trunc_ip", "shorter than the IP header it claims")             \
	X(SG_R_BAD_IP_VERSION, "bad_ip_version", "neither 4 nor 6")                      \
	X(SG_R_BAD_IHL, "bad_ihl", "IPv4 IHL < 5 or past the buffer")                    \
	X(SG_R_BAD_IP_LEN, "bad_ip_len", "total/payload length disagrees with the buffer") \
	X(SG_R_FRAGMENT, "fragment", "IPv4 or IPv6 fragment")                            \
	X(SG_R_NOT_TCP, "not_tcp", "upper layer is not TCP")                             \
	X(SG_R_BAD_EXTHDR, "bad_exthdr", "IPv6 extension header chain malformed or too long") \
	X(SG_R_TRUNC_TCP, "trunc_tcp", "shorter than 20 bytes of TCP header")            \
	X(SG_R_BAD_DOFF, "bad_doff", "TCP data offset < 5 or past the segment")          \
	X(SG_R_BAD_OPTION, "bad_option", "TCP option of length < 2 or past the header")  \
	X(SG_R_BAD_FLAGS, "bad_flags",                                                   \
	  "flag combination syngate never accepts (SYN+FIN, SYN+RST)")                   \
	/* cookies */                                                                    \
	X(SG_R_COOKIE_MAC, "cookie_mac", "ACK whose cookie MAC does not verify")         \
	X(SG_R_COOKIE_STALE, "cookie_stale", "cookie from a slot older than the previous one") \
	/* proxy state machine */                                                        \
	X(SG_R_TABLE_FULL, "table_full", "half-open table full")                         \
	X(SG_R_UNEXPECTED, "unexpected", "packet that fits no state (e.g. SYN-ACK for no entry)") \
	X(SG_R_PENDING, "pending", "client segment while the backend handshake is pending") \
	X(SG_R_BACKEND_RST, "backend_rst", "backend refused the connection")             \
	X(SG_R_BACKEND_TIMEOUT, "backend_timeout", "backend never answered")             \
	X(SG_R_CT_ERROR, "ct_error", "ctnetlink refused an operation")                   \
	X(SG_R_SEND_ERROR, "send_error", "raw socket send failed")                       \
	X(SG_R_SOURCE_LIMIT, "source_limit",                                             \
	  "this client address holds its share of the half-open table")                 \
	X(SG_R_BACKEND_SILENT, "backend_silent",                                         \
	  "this destination stopped answering and holds its share of the half-open table") \
	X(SG_R_EVICTED, "evicted",                                                       \
	  "pending entry whose backend did not answer, given up for a new one (table full)")

#define SG_REASON_ENUM(id, label, help) id,
enum sg_reason {
	SG_R_OK = 0,
	SG_REASONS(SG_REASON_ENUM)
	SG_R__COUNT
};
#undef SG_REASON_ENUM

/* Returns the metric label of @r ("trunc_ip", ...; "ok" for SG_R_OK), never
 * NULL. */
const char *sg_reason_name(enum sg_reason r);

#endif

/* syngate: why a packet was dropped or refused.
 *
 * Every drop in syngate carries one of these reasons; each reason has a
 * counter and a metric label (sg_reason_name()).  Add new reasons at the end
 * of the list, before SG_R__COUNT, and give them a name in reason.c.
 */
#ifndef SYNGATE_REASON_H
#define SYNGATE_REASON_H

enum sg_reason {
	SG_R_OK = 0,
	/* packet codec */
	SG_R_TRUNC_IP,	    /* shorter than the IP header it claims */
	SG_R_BAD_IP_VERSION, /* neither 4 nor 6 */
	SG_R_BAD_IHL,	    /* IPv4 IHL < 5 or past the buffer */
	SG_R_BAD_IP_LEN,    /* total/payload length disagrees with the buffer */
	SG_R_FRAGMENT,	    /* IPv4 or IPv6 fragment */
	SG_R_NOT_TCP,	    /* upper layer is not TCP */
	SG_R_BAD_EXTHDR,    /* IPv6 extension header chain malformed or too long */
	SG_R_TRUNC_TCP,	    /* shorter than 20 bytes of TCP header */
	SG_R_BAD_DOFF,	    /* TCP data offset < 5 or past the segment */
	SG_R_BAD_OPTION,    /* TCP option of length < 2 or past the header */
	SG_R_BAD_FLAGS,	    /* flag combination syngate never accepts (SYN+FIN, SYN+RST) */
	/* cookies */
	SG_R_COOKIE_MAC,    /* ACK whose cookie MAC does not verify */
	SG_R_COOKIE_STALE,  /* cookie from a slot older than the previous one */
	/* proxy state machine */
	SG_R_TABLE_FULL,    /* half-open table full */
	SG_R_UNEXPECTED,    /* packet that fits no state (e.g. SYN-ACK for no entry) */
	SG_R_PENDING,	    /* client segment while the backend handshake is pending */
	SG_R_BACKEND_RST,   /* backend refused the connection */
	SG_R_BACKEND_TIMEOUT, /* backend never answered */
	SG_R_CT_ERROR,	    /* ctnetlink refused an operation */
	SG_R_SEND_ERROR,    /* raw socket send failed */
	SG_R_SOURCE_LIMIT,  /* this client address holds its share of the half-open table */
	SG_R__COUNT
};

/* Returns the metric label of @r ("trunc_ip", ...), never NULL. */
const char *sg_reason_name(enum sg_reason r);

#endif

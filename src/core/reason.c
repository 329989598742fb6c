#include "syngate/core/reason.h"

static const char *const names[SG_R__COUNT] = {
	[SG_R_OK] = "ok",
	[SG_R_TRUNC_IP] = "trunc_ip",
	[SG_R_BAD_IP_VERSION] = "bad_ip_version",
	[SG_R_BAD_IHL] = "bad_ihl",
	[SG_R_BAD_IP_LEN] = "bad_ip_len",
	[SG_R_FRAGMENT] = "fragment",
	[SG_R_NOT_TCP] = "not_tcp",
	[SG_R_BAD_EXTHDR] = "bad_exthdr",
	[SG_R_TRUNC_TCP] = "trunc_tcp",
	[SG_R_BAD_DOFF] = "bad_doff",
	[SG_R_BAD_OPTION] = "bad_option",
	[SG_R_BAD_FLAGS] = "bad_flags",
	[SG_R_COOKIE_MAC] = "cookie_mac",
	[SG_R_COOKIE_STALE] = "cookie_stale",
	[SG_R_TABLE_FULL] = "table_full",
	[SG_R_UNEXPECTED] = "unexpected",
	[SG_R_PENDING] = "pending",
	[SG_R_BACKEND_RST] = "backend_rst",
	[SG_R_BACKEND_TIMEOUT] = "backend_timeout",
	[SG_R_CT_ERROR] = "ct_error",
	[SG_R_SEND_ERROR] = "send_error",
	[SG_R_SOURCE_LIMIT] = "source_limit",
};

const char *sg_reason_name(enum sg_reason r)
{
	if ((unsigned)r >= SG_R__COUNT || !names[r])
		return "unknown";
	return names[r];
}

/* syngate drop reasons: see include/syngate/core/reason.h. */
#include "syngate/core/reason.h"

#define SG_REASON_NAME(id, label, help) [id] = label,
static const char *const names[SG_R__COUNT] = {
	[SG_R_OK] = "ok",
	SG_REASONS(SG_REASON_NAME)
};
#undef SG_REASON_NAME

const char *sg_reason_name(enum sg_reason r)
{
	if ((unsigned)r >= SG_R__COUNT || !names[r])
		return "unknown";
	return names[r];
}

/* syngate privileges: see include/syngate/daemon/priv.h. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>

#include "syngate/daemon/priv.h"
#include "syngate/io/log.h"

/* What the daemon keeps at run time (priv.h says why). */
static const int keep[] = {CAP_NET_ADMIN, CAP_NET_RAW};
#define NKEEP (sizeof(keep) / sizeof(keep[0]))

int sg_priv_lookup(const char *name, struct sg_priv_user *u)
{
	const struct passwd *pw;
	char *end;
	unsigned long id;

	memset(u, 0, sizeof(*u));
	if (!name || !*name)
		return 0;
	pw = getpwnam(name);
	if (!pw && *name >= '0' && *name <= '9') {
		id = strtoul(name, &end, 10);
		if (*end || id >= UINT32_MAX)
			goto unknown;
		pw = getpwuid((uid_t)id);
		u->uid = (uid_t)id;
		u->gid = pw ? pw->pw_gid : (gid_t)id;
	} else if (pw) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
	} else {
		goto unknown;
	}
	u->change = u->uid != getuid() || u->gid != getgid(); /* already that user: caps only */
	snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
unknown:
	sg_log(SG_LOG_ERR,
	       "user '%s': no such user (create it, e.g. `useradd --system "
	       "--no-create-home --shell /usr/sbin/nologin %s`)",
	       name, name);
	return -1;
}

/* Threads of this process: /proc/self/task's entries. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	const struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The capability mask the kernel shows in /proc/self/status for @field
 * ("CapEff"), or UINT64_MAX when unreadable. */
static uint64_t status_caps(const char *field)
{
	char line[256];
	uint64_t caps = UINT64_MAX;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return caps;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%" SCNx64, &caps) == 1)
			break;
	fclose(f);
	return caps;
}

static uint64_t keep_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < NKEEP; i++)
		m |= UINT64_C(1) << keep[i];
	return m;
}

/* Builds libcap-ng's state: the kept capabilities in every set. */
static int want_kept(void)
{
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < NKEEP; i++)
		if (capng_update(CAPNG_ADD,
		                 CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
		                     CAPNG_AMBIENT | CAPNG_BOUNDING_SET,
		                 (unsigned)keep[i]) != 0)
			return -1;
	return 0;
}

/* Checks what the kernel says now against what was asked for. */
static int verify(const struct sg_priv_user *u)
{
	uint64_t m = keep_mask();

	if (u->change && (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid)) {
		sg_log(SG_LOG_ERR, "privileges: still uid %u gid %u after switching to %s",
		       (unsigned)geteuid(), (unsigned)getgid(), u->name);
		return -1;
	}
	if (status_caps("CapEff") != m || status_caps("CapPrm") != m ||
	    status_caps("CapAmb") != m) {
		sg_log(SG_LOG_ERR,
		       "privileges: capabilities are not CAP_NET_ADMIN and CAP_NET_RAW "
		       "alone after the drop (CapEff %" PRIx64 ")",
		       status_caps("CapEff"));
		return -1;
	}
	return 0;
}

int sg_priv_drop(const struct sg_priv_user *u)
{
	bool setpcap;
	int n = thread_count();

	if (n != 1) {
		sg_log(SG_LOG_ERR,
		       "privileges: %d threads exist; the drop must come before the "
		       "first (capabilities are per thread)",
		       n);
		return -1;
	}
	if (capng_get_caps_process() != 0)
		return sg_log_warn("privileges: reading capabilities"), -1;
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	if (want_kept() != 0)
		return sg_log(SG_LOG_ERR, "privileges: libcap-ng refused the capability set"), -1;
	/* the bounding set first, while CAP_SETPCAP is there (as root) */
	if (setpcap && capng_apply(CAPNG_SELECT_BOUNDS) != 0)
		return sg_log_warn("privileges: limiting the bounding set"), -1;
	if (u->change) {
		int rc = capng_change_id((int)u->uid, (int)u->gid, CAPNG_DROP_SUPP_GRP);

		if (rc != 0) {
			sg_log(SG_LOG_ERR,
			       "privileges: switching to user %s (uid %u gid %u) failed "
			       "(libcap-ng %d: %s); it needs root or CAP_SETUID and CAP_SETGID",
			       u->name, (unsigned)u->uid, (unsigned)u->gid, rc, strerror(errno));
			return -1;
		}
	}
	/* ambient last: a capability must be permitted and inheritable first */
	if (capng_apply(CAPNG_SELECT_CAPS) != 0 || capng_apply(CAPNG_SELECT_AMBIENT) != 0)
		return sg_log_warn("privileges: applying CAP_NET_ADMIN and CAP_NET_RAW"), -1;
	if (verify(u) != 0)
		return -1;
	sg_log_event(NULL, SG_LOG_INFO, "privileges_dropped",
	             "running with CAP_NET_ADMIN and CAP_NET_RAW only", "uid=%u gid=%u",
	             (unsigned)getuid(), (unsigned)getgid());
	return 0;
}

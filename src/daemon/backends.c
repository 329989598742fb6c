/* syngate backends file keeper: see include/syngate/daemon/backends.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "syngate/core/backfile.h"
#include "syngate/daemon/backends.h"
#include "syngate/io/log.h"
#include "syngate/io/statefile.h"

struct sg_backends {
	char path[PATH_MAX];
	bool is_default;
	bool off;		/* no file, or the default's directory is unusable */
	bool failing;		/* the last save failed (warned once) */
	uint32_t period;
	uint64_t gen[2];	/* sg_worker_learned()'s at the last save or load */
	uint64_t saved_mono_s;
	struct sg_backfile_rec rec[SG_BACKFILE_MAX];
	uint8_t buf[SG_BACKFILE_MAX_LEN];
};

struct sg_backends *sg_backends_new(const char *path, bool is_default, uint32_t period)
{
	struct sg_backends *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (strlen(path) >= sizeof(b->path)) {
		free(b);
		return errno = ENAMETOOLONG, NULL;
	}
	strcpy(b->path, path);
	b->off = !path[0] || !strcmp(path, "none");
	b->is_default = is_default;
	b->period = period;
	return b;
}

void sg_backends_free(struct sg_backends *b)
{
	free(b);
}

/* Reads and decodes the file into b->rec: their count, or -1 (logged). */
static int read_file(struct sg_backends *b, uint64_t now_s)
{
	struct sg_backfile_skipped sk;
	const char *why;
	char err[PATH_MAX + 128];
	ssize_t len;
	int n;

	len = sg_statefile_read(b->path, b->buf, sizeof(b->buf), "backends file", err, sizeof(err));
	if (len < 0 && errno == ENOENT)
		return 0;
	if (len < 0) {
		sg_log_event(NULL, SG_LOG_WARN, "backends_file_unreadable", err,
			     "path=%s action=learn_anew", b->path);
		return -1;
	}
	n = sg_backfile_decode(b->buf, (size_t)len, now_s, b->period, b->rec, SG_BACKFILE_MAX, &sk,
			       &why);
	if (n < 0) {
		sg_log_event(NULL, SG_LOG_WARN, "backends_file_refused", why,
			     "path=%s bytes=%zd action=learn_anew", b->path, len);
		return -1;
	}
	if (sk.bad || sk.stale || sk.period_changed)
		sg_log_event(NULL, SG_LOG_NOTICE, "backends_file_skipped",
			     "records of the backends file left out (bad ones, or learned more "
			     "than a day ago); another cookie period drops the told history",
			     "path=%s bad=%u stale=%u period_changed=%d", b->path, sk.bad,
			     sk.stale, sk.period_changed);
	return n;
}

int sg_backends_load(struct sg_backends *b, struct sg_worker *const *w, int nw, uint64_t now_s)
{
	int n, i, j, taught = 0;

	if (b->off || (n = read_file(b, now_s)) <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		bool ok = true;

		for (j = 0; j < nw; j++)
			ok = sg_worker_teach(w[j], &b->rec[i]) == 0 && ok;
		taught += ok;
	}
	sg_worker_learned(b->rec, 0, b->gen);
	sg_log_event(NULL, SG_LOG_INFO, "backends_loaded",
		     "backend options learned before the restart: the window scale and MSS "
		     "the previous daemon told clients", "path=%s backends=%d", b->path, taught);
	return taught;
}

/* A failed save: warned once; the default's directory is given up. */
static void save_failed(struct sg_backends *b, const char *err)
{
	if (b->failing)
		return;
	b->failing = true;
	if (b->is_default && errno != ENOSPC && errno != EDQUOT) {
		b->off = true;
		sg_log_event(NULL, SG_LOG_WARN, "backends_file_unavailable", err,
			     "path=%s action=not_kept (a restart learns the backends anew; under "
			     "systemd the unit needs StateDirectory=syngate)", b->path);
		return;
	}
	sg_log_event(NULL, SG_LOG_WARN, "backends_file_save_failed", err,
		     "path=%s action=retry_on_change", b->path);
}

/* Whether a save is due at @mono_s, the learned counts being @gen. */
static bool save_due(const struct sg_backends *b, const uint64_t gen[2], uint64_t mono_s)
{
	uint64_t since = b->saved_mono_s ? mono_s - b->saved_mono_s : UINT64_MAX;

	if (gen[0] != b->gen[0])
		return since >= SG_BACKENDS_SAVE_S;
	return gen[1] != b->gen[1] && since >= SG_BACKENDS_REFRESH_S;
}

void sg_backends_save(struct sg_backends *b, uint64_t mono_s, uint64_t now_s, bool force)
{
	char err[PATH_MAX + 128];
	uint64_t gen[2];
	size_t n, len;

	if (!b || b->off)
		return;
	sg_worker_learned(NULL, 0, gen); /* the lock alone, 10 times a second */
	if (gen[0] == b->gen[0] && gen[1] == b->gen[1])
		return;
	if (!force && !save_due(b, gen, mono_s))
		return;
	n = sg_worker_learned(b->rec, SG_BACKFILE_MAX, gen);
	b->saved_mono_s = mono_s;
	len = sg_backfile_encode(b->rec, n, b->period, now_s, b->buf, sizeof(b->buf));
	if (sg_statefile_write(b->path, b->buf, len, true, "backends file", err, sizeof(err)) < 0) {
		save_failed(b, err);
		return;
	}
	b->failing = false;
	b->gen[0] = gen[0];
	b->gen[1] = gen[1];
}

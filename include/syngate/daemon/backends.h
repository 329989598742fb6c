/* syngate backends file keeper: the backend options the workers learned
 * (worker.h's shared table) saved to the backends-file option's file
 * (backfile.h, statefile.h) and taught to the workers of the next daemon,
 * so that a restart does not forget the window scale its clients were told:
 * the cookies in flight carry it in their MAC (cookie_mac.h).
 *
 * Saved from the daemon's thread, never the packet path: every
 * SG_BACKENDS_SAVE_S seconds at most when a backend's options changed,
 * every SG_BACKENDS_REFRESH_S when backends were only learned again with
 * the options they had (their learn time, which ages records out after a
 * day, moves on), and at exit.  Loaded once at start, after the workers are made and before they
 * start.  The file is untrusted: a bad one is logged and ignored.  With the
 * default path, a directory syngate cannot use (no StateDirectory=, a
 * read-only /var/lib) gets one warning and no more tries; a path the
 * operator named is tried again at the next change.
 */
#ifndef SYNGATE_BACKENDS_H
#define SYNGATE_BACKENDS_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/daemon/worker.h"

#define SG_BACKENDS_SAVE_S 5
#define SG_BACKENDS_REFRESH_S 3600

struct sg_backends;

/* A keeper of the file @path ("" or "none": none) for cookie period
 * @period; @is_default says @path is the option's default.  NULL + errno. */
struct sg_backends *sg_backends_new(const char *path, bool is_default, uint32_t period);
void sg_backends_free(struct sg_backends *b);

/* Reads the file at wall-clock @now_s and teaches its records to the @nw
 * workers @w (sg_worker_teach()).  Returns the number of backends taught;
 * a missing, unreadable or bad file is logged and counts as none. */
int sg_backends_load(struct sg_backends *b, struct sg_worker *const *w, int nw, uint64_t now_s);

/* Saves the learned backends when they were learned since the last save
 * and, unless @force, the interval above has passed (monotonic @mono_s).
 * @now_s (wall clock) is the save's time.  Failures are logged.  NULL or
 * a keeper of no file: nothing. */
void sg_backends_save(struct sg_backends *b, uint64_t mono_s, uint64_t now_s, bool force);

#endif

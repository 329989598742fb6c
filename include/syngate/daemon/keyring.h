/* syngate cookie keyring: the cookie keys all workers and the XDP program
 * sign and check with.
 *
 * An ACK may reach another worker than the one (or the program) that
 * answered its SYN, so every worker must know the secrets of every slot in
 * use.  The first worker to reach a new slot draws its secret (from the
 * kernel's CSPRNG); the XDP program gets it only once every worker holds
 * it, so that no worker ever sees a cookie of a slot it does not know yet.
 *
 * Thread safety: every function may be called from any thread (one lock).
 * Return convention: a pointer or 0 on success, NULL or -1 after logging why.
 */
#ifndef SYNGATE_KEYRING_H
#define SYNGATE_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "syngate/core/cookie.h"
#include "syngate/io/xdp.h"

#define SG_KEYRING_MAX_WORKERS 64

struct sg_keyring;

/* Keys for @nworkers workers (1..SG_KEYRING_MAX_WORKERS), cookie slots of
 * @period seconds (monotonic clock), given to @xdp (NULL: none) from the
 * start.  @xdp outlives the keyring. */
struct sg_keyring *sg_keyring_new(uint32_t period, int nworkers, struct sg_xdp *xdp);
void sg_keyring_free(struct sg_keyring *r);

/* Worker @id (0..nworkers-1) takes the keys of the slot of @now_s
 * (monotonic seconds) into @out, drawing the slot's secret if it is the
 * first there (a getrandom failure keeps the old keys and is logged).  When
 * every worker holds the slot, the XDP program gets its keys. */
void sg_keyring_sync(struct sg_keyring *r, int id, uint64_t now_s, struct sg_cookie_keys *out);

/* Fills @buf with @len bytes from the kernel's CSPRNG, where the keyring
 * draws its secrets.  Returns 0, or -1 with errno (nothing logged). */
int sg_keyring_random(uint8_t *buf, size_t len);
/* Replaces the source of sg_keyring_random()'s bytes (same contract; NULL:
 * getrandom() again), so tests can make it fail. */
void sg_keyring_set_source(int (*source)(uint8_t *buf, size_t len));

#endif

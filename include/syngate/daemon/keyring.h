/* syngate cookie keyring: the cookie keys all workers and the XDP program
 * sign and check with.
 *
 * Every slot's secret is derived from a master key (the key file,
 * keyfile.h) and the slot number with libsodium's crypto_kdf (BLAKE2b):
 *
 *   secret(slot) = KDF(master, id = slot, ctx = "sgcook-0")   bytes   0..63
 *               || KDF(master, id = slot, ctx = "sgcook-1")   bytes  64..127
 *               || KDF(master, id = slot, ctx = "sgcook-2")   bytes 128..191
 *
 * Slots count wall-clock time (CLOCK_REALTIME seconds / period), so a
 * restarted daemon, and every router holding the same master key, derive
 * the same secret for the same slot and accept each other's cookies.  No
 * randomness is needed at a rotation: the slot advances on time whatever
 * getrandom() does.
 *
 * A new master key (sg_keyring_set_master(), on SIGHUP) takes over at the
 * next slot: the slot in progress keeps the secret of the old key, so its
 * cookies stay valid through the next period while the new key signs; one
 * period later the old key is gone.
 *
 * An ACK may reach another worker than the one (or the program) that
 * answered its SYN, so every worker must know the secrets of every slot in
 * use.  The XDP program gets a slot's keys only once every worker holds
 * them, so that no worker ever sees a cookie of a slot it does not know yet.
 *
 * Thread safety: every function may be called from any thread (one lock).
 * Return convention: a pointer or 0 on success, NULL or -1 after logging why.
 */
#ifndef SYNGATE_KEYRING_H
#define SYNGATE_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "syngate/core/cookie.h"
#include "syngate/io/keyfile.h"
#include "syngate/io/xdp.h"

#define SG_KEYRING_MAX_WORKERS 64

struct sg_keyring;

/* Keys derived from @master for @nworkers workers (1..SG_KEYRING_MAX_WORKERS),
 * cookie slots of @period seconds, starting at @now_s (wall-clock seconds),
 * given to @xdp (NULL: none) from the start.  @xdp outlives the keyring. */
struct sg_keyring *sg_keyring_new(const uint8_t master[SG_KEYFILE_LEN], uint32_t period,
                                  uint64_t now_s, int nworkers, struct sg_xdp *xdp);
void sg_keyring_free(struct sg_keyring *r);

/* Worker @id (0..nworkers-1) takes the keys of the slot of @now_s
 * (wall-clock seconds) into @out.  A clock that steps back keeps the keys
 * of the latest slot until it catches up.  When every worker holds the
 * slot, the XDP program gets its keys. */
void sg_keyring_sync(struct sg_keyring *r, int id, uint64_t now_s, struct sg_cookie_keys *out);

/* Makes @master the key of the slots after the one of @now_s; the slot in
 * progress keeps its secret.  The same key again changes nothing.  Returns
 * 1 when the key changed, 0 when it was the one in use. */
int sg_keyring_set_master(struct sg_keyring *r, const uint8_t master[SG_KEYFILE_LEN],
                          uint64_t now_s);

/* The secret of @slot under @master (the KDF above). */
void sg_keyring_derive(const uint8_t master[SG_KEYFILE_LEN], uint64_t slot,
                       uint8_t secret[SG_COOKIE_SECRET_LEN]);

/* A fingerprint of @master for logs (16 hex digits and a NUL in @out): a
 * KDF subkey of its own context, so it reveals nothing of the key.  Routers
 * that share a key file log the same one. */
void sg_keyring_key_id(const uint8_t master[SG_KEYFILE_LEN], char out[17]);

/* The master key for the option key-file = @path: the file read, or created
 * with SG_KEYFILE_LEN bytes of sg_keyring_random() when it is missing.  An
 * empty @path gives a fresh random key kept in memory only (the keys of
 * syngate before the key file: they die with the process).  Logs what it
 * did; -1 (logged) when the file is refused or cannot be made. */
int sg_keyring_master(const char *path, uint8_t master[SG_KEYFILE_LEN]);

/* Fills @buf with @len bytes from the kernel's CSPRNG.  Returns 0, or -1
 * with errno (nothing logged). */
int sg_keyring_random(uint8_t *buf, size_t len);
/* Replaces the source of sg_keyring_random()'s bytes (same contract; NULL:
 * getrandom() again), so tests can make it fail. */
void sg_keyring_set_source(int (*source)(uint8_t *buf, size_t len));

#endif

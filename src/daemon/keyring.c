/* syngate cookie keyring: see include/syngate/daemon/keyring.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#include "syngate/daemon/keyring.h"
#include "syngate/io/log.h"

_Static_assert(SG_KEYFILE_LEN == crypto_kdf_KEYBYTES, "the key file holds one KDF key");
_Static_assert(SG_COOKIE_SECRET_LEN % crypto_kdf_BYTES_MAX == 0, "secrets are whole subkeys");
_Static_assert(SG_COOKIE_SECRET_LEN / crypto_kdf_BYTES_MAX <= 10, "one context digit each");

struct sg_keyring {
	pthread_mutex_t lock;
	struct sg_cookie_keys keys;
	uint8_t master[SG_KEYFILE_LEN]; /* signs the slots from switch_slot on */
	uint8_t prev[SG_KEYFILE_LEN];   /* signed the slots before switch_slot */
	uint64_t switch_slot;
	uint64_t held[SG_KEYRING_MAX_WORKERS]; /* slot whose keys each worker holds */
	int nworkers;
	struct sg_xdp *xdp;
	uint64_t published; /* slot whose keys the XDP program has */
};

static int (*source)(uint8_t *buf, size_t len);

void sg_keyring_set_source(int (*fn)(uint8_t *buf, size_t len))
{
	source = fn;
}

int sg_keyring_random(uint8_t *buf, size_t len)
{
	if (source)
		return source(buf, len);
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

void sg_keyring_derive(const uint8_t master[SG_KEYFILE_LEN], uint64_t slot,
                       uint8_t secret[SG_COOKIE_SECRET_LEN])
{
	char ctx[crypto_kdf_CONTEXTBYTES] = {'s', 'g', 'c', 'o', 'o', 'k', '-', '0'};
	size_t i;

	if (sodium_init() < 0)
		abort(); /* libsodium cannot run at all here */
	for (i = 0; i < SG_COOKIE_SECRET_LEN / crypto_kdf_BYTES_MAX; i++) {
		ctx[7] = (char)('0' + i);
		crypto_kdf_derive_from_key(secret + i * crypto_kdf_BYTES_MAX, crypto_kdf_BYTES_MAX,
		                           slot, ctx, master);
	}
}

void sg_keyring_key_id(const uint8_t master[SG_KEYFILE_LEN], char out[17])
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = {'s', 'g', 'k', 'e', 'y', '-', 'i', 'd'};
	uint8_t id[crypto_kdf_BYTES_MIN];

	if (sodium_init() < 0)
		abort();
	crypto_kdf_derive_from_key(id, sizeof(id), 0, ctx, master);
	sodium_bin2hex(out, 17, id, 8);
}

/* The master key that signs @slot. */
static const uint8_t *master_of(const struct sg_keyring *r, uint64_t slot)
{
	return slot >= r->switch_slot ? r->master : r->prev;
}

/* Sets r->keys to slot @slot: its secret and the previous slot's, each
 * derived from the master key that signs it. */
static void keys_at(struct sg_keyring *r, uint64_t slot)
{
	struct sg_cookie_keys *k = &r->keys;

	k->slot = slot;
	sg_keyring_derive(master_of(r, slot), slot, k->secret[slot & 1]);
	sg_keyring_derive(master_of(r, slot - 1), slot - 1, k->secret[(slot - 1) & 1]);
}

struct sg_keyring *sg_keyring_new(const uint8_t master[SG_KEYFILE_LEN], uint32_t period,
                                  uint64_t now_s, int nworkers, struct sg_xdp *xdp)
{
	struct sg_keyring *r;

	if (nworkers < 1 || nworkers > SG_KEYRING_MAX_WORKERS || !period) {
		errno = EINVAL;
		sg_log_warn("cookie keys");
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		sg_log_warn("cookie keys");
		return NULL;
	}
	memcpy(r->master, master, SG_KEYFILE_LEN);
	memcpy(r->prev, master, SG_KEYFILE_LEN);
	r->keys.period = period;
	keys_at(r, now_s / period);
	pthread_mutex_init(&r->lock, NULL);
	r->nworkers = nworkers;
	r->xdp = xdp;
	r->published = r->keys.slot;
	if (xdp && sg_xdp_set_keys(xdp, &r->keys) != 0) {
		sg_keyring_free(r);
		return NULL;
	}
	return r;
}

void sg_keyring_free(struct sg_keyring *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

void sg_keyring_sync(struct sg_keyring *r, int id, uint64_t now_s, struct sg_cookie_keys *out)
{
	int i;

	pthread_mutex_lock(&r->lock);
	if (now_s / r->keys.period > r->keys.slot)
		keys_at(r, now_s / r->keys.period);
	*out = r->keys;
	r->held[id] = r->keys.slot;
	for (i = 0; i < r->nworkers && r->held[i] == r->keys.slot; i++)
		;
	if (r->xdp && i == r->nworkers && r->published != r->keys.slot &&
	    sg_xdp_set_keys(r->xdp, &r->keys) == 0)
		r->published = r->keys.slot;
	pthread_mutex_unlock(&r->lock);
}

int sg_keyring_set_master(struct sg_keyring *r, const uint8_t master[SG_KEYFILE_LEN],
                          uint64_t now_s)
{
	uint64_t cur;
	int changed;

	pthread_mutex_lock(&r->lock);
	cur = now_s / r->keys.period;
	if (cur < r->keys.slot)
		cur = r->keys.slot; /* the clock stepped back: the keys did not */
	changed = sodium_memcmp(r->master, master, SG_KEYFILE_LEN) != 0;
	if (changed) {
		/* a change still pending (switch_slot > cur) replaces the pending
		 * key: prev keeps signing the slot in progress */
		if (r->switch_slot <= cur)
			memcpy(r->prev, r->master, SG_KEYFILE_LEN);
		memcpy(r->master, master, SG_KEYFILE_LEN);
		r->switch_slot = cur + 1;
	}
	pthread_mutex_unlock(&r->lock);
	return changed;
}

/* A fresh key at @path (it was missing); a daemon that lost the race to
 * create it reads the winner's. */
static int create(const char *path, uint8_t master[SG_KEYFILE_LEN])
{
	char err[512];

	if (sg_keyring_random(master, SG_KEYFILE_LEN) != 0)
		return sg_log_warn("getrandom: cannot make the key file %s", path), -1;
	if (sg_keyfile_write(path, master, false, err, sizeof(err)) == 0) {
		sg_log(SG_LOG_INFO,
		       "key file %s created: routers sharing it accept each other's "
		       "cookies",
		       path);
		return 0;
	}
	if (errno == EEXIST && sg_keyfile_read(path, master, err, sizeof(err)) == 0)
		return 0;
	sg_log(SG_LOG_ERR, "%s", err);
	return -1;
}

int sg_keyring_master(const char *path, uint8_t master[SG_KEYFILE_LEN])
{
	char err[512];

	if (!path[0]) {
		if (sg_keyring_random(master, SG_KEYFILE_LEN) != 0)
			return sg_log_warn("getrandom: no cookie key"), -1;
		sg_log(SG_LOG_INFO, "no key file: cookie keys live in memory and die with this "
		                    "process (a restart rejects the cookies in flight)");
		return 0;
	}
	if (sg_keyfile_read(path, master, err, sizeof(err)) == 0)
		return 0;
	if (errno == ENOENT)
		return create(path, master);
	sg_log(SG_LOG_ERR, "%s", err);
	return -1;
}

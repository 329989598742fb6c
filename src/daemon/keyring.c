/* syngate cookie keyring: see include/syngate/daemon/keyring.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <xxhash.h>
#include <time.h>

#include "syngate/daemon/keyring.h"
#include "syngate/io/log.h"

struct sg_keyring {
	pthread_mutex_t lock;
	struct sg_cookie_keys keys;
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

/* Fills @out (@len bytes) from both current secrets and the slot with
 * XXH3-128 in counter mode: one-way enough to stand in for one period when
 * getrandom() fails, and never the keys of a slot that has passed. */
static void derive(const struct sg_cookie_keys *k, uint8_t *out, size_t len)
{
	uint8_t in[2 * SG_COOKIE_SECRET_LEN + 16];
	uint64_t ctr;

	memcpy(in, k->secret, 2 * SG_COOKIE_SECRET_LEN);
	memcpy(in + 2 * SG_COOKIE_SECRET_LEN, &k->slot, 8);
	for (ctr = 0; ctr * 16 < len; ctr++) {
		XXH128_hash_t h;
		size_t n = len - ctr * 16 < 16 ? len - ctr * 16 : 16;

		memcpy(in + 2 * SG_COOKIE_SECRET_LEN + 8, &ctr, 8);
		h = XXH3_128bits(in, sizeof(in));
		memcpy(out + ctr * 16, &h, n);
	}
}

struct sg_keyring *sg_keyring_new(uint32_t period, int nworkers, struct sg_xdp *xdp)
{
	struct sg_keyring *r = calloc(1, sizeof(*r));
	struct timespec ts;
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];
	bool bad = nworkers < 1 || nworkers > SG_KEYRING_MAX_WORKERS;

	if (bad)
		errno = EINVAL;
	if (!r || bad || sg_keyring_random(rnd, sizeof(rnd)) != 0) {
		sg_log_warn("cookie keys");
		free(r);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sg_cookie_init(&r->keys, period, (uint64_t)ts.tv_sec, rnd);
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
	free(r);
}

void sg_keyring_sync(struct sg_keyring *r, int id, uint64_t now_s, struct sg_cookie_keys *out)
{
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];
	int i;

	pthread_mutex_lock(&r->lock);
	if (now_s / r->keys.period > r->keys.slot) {
		if (sg_keyring_random(rnd, sizeof(rnd)) != 0) {
			/* never keep a slot's keys past it (its cookies would stay
			 * valid for good): derive the next ones from the current */
			sg_log_warn("getrandom: cookie secrets derived from the previous ones");
			derive(&r->keys, rnd, sizeof(rnd));
		}
		sg_cookie_rotate(&r->keys, now_s, rnd);
	}
	*out = r->keys;
	r->held[id] = r->keys.slot;
	for (i = 0; i < r->nworkers && r->held[i] == r->keys.slot; i++)
		;
	if (r->xdp && i == r->nworkers && r->published != r->keys.slot &&
	    sg_xdp_set_keys(r->xdp, &r->keys) == 0)
		r->published = r->keys.slot;
	pthread_mutex_unlock(&r->lock);
}

/* syngate cookie keyring: see include/syngate/daemon/keyring.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/random.h>
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

int sg_keyring_random(uint8_t *buf, size_t len)
{
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
		if (sg_keyring_random(rnd, sizeof(rnd)) == 0)
			sg_cookie_rotate(&r->keys, now_s, rnd);
		else
			sg_log_warn("getrandom: cookie secrets not rotated");
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

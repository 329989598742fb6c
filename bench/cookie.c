/* bench/cookie: SYN cookies generated and checked per second on one core.
 *
 * Usage: bench_cookie [seconds-per-phase]   (default 2)
 * Prints one line per phase; pin it with `taskset -c 0` for a per-core figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "syngate/core/cookie.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tuple_for(struct sg_tuple *t, uint32_t i)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	memcpy(t->saddr, &i, 4);
	t->daddr[0] = 203, t->daddr[2] = 113, t->daddr[3] = 2;
	t->sport = (uint16_t)(i * 7);
	t->dport = 80;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];
	struct sg_cookie_keys k;
	struct sg_tcpopts o = {.has_mss = true, .mss = 1460, .sack_ok = true,
			       .has_wscale = true, .wscale = 7};
	struct sg_cookie_opts dec;
	struct sg_tuple t;
	volatile uint32_t sink = 0;
	unsigned long n = 0, ok = 0;
	double t0, el;
	uint32_t i;

	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(rand() >> 7);
	sg_cookie_init(&k, 30, 1000, rnd);

	t0 = now_s();
	do {
		for (i = 0; i < 100000; i++, n++) {
			tuple_for(&t, (uint32_t)n);
			sink ^= sg_cookie_make(&k, &t, (uint32_t)n, &o, 7, NULL);
		}
	} while ((el = now_s() - t0) < secs);
	printf("cookie_make:  %.2f M/s  (%.1f ns each, %lu in %.2f s)\n", n / el / 1e6,
	       el * 1e9 / n, n, el);

	n = 0;
	t0 = now_s();
	do {
		for (i = 0; i < 100000; i++, n++) {
			uint32_t c;

			tuple_for(&t, (uint32_t)n);
			c = sg_cookie_make(&k, &t, (uint32_t)n, &o, 7, NULL);
			ok += sg_cookie_check(&k, &t, (uint32_t)n, c, 7, &dec) == SG_R_OK;
		}
	} while ((el = now_s() - t0) < secs);
	printf("make+check:   %.2f M/s  (%.1f ns each, %lu valid of %lu)\n", n / el / 1e6,
	       el * 1e9 / n, ok, n);
	return sink == 0xffffffffu && ok == 0;
}

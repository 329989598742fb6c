/* Helpers the bench tools share: a monotonic clock in nanoseconds and a stop
 * flag set by SIGINT/SIGTERM (every load generator stops by itself, or on
 * these signals). */
#ifndef SYNGATE_BENCH_UTIL_H
#define SYNGATE_BENCH_UTIL_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif

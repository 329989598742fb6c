/* syngate half-open table: see include/syngate/core/table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "syngate/core/table.h"
#include "syngate/core/types.h"

struct sg_table {
	struct sg_halfopen *slot;
	uint64_t *bits;	 /* bit i set: slot i used (the scan's index) */
	uint32_t mask;	 /* slots - 1 */
	uint32_t count;
	uint32_t max;
	uint32_t cursor; /* next slot sg_table_scan() visits */
	uint64_t seed;
};

static bool tuple_eq(const struct sg_tuple *a, const struct sg_tuple *b)
{
	size_t n = sg_addr_len(a->family);

	return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->saddr, b->saddr, n) && !memcmp(a->daddr, b->daddr, n);
}

static uint32_t home(const struct sg_table *t, const struct sg_tuple *k)
{
	uint8_t in[36];
	size_t n = sg_addr_len(k->family);

	memcpy(in, k->saddr, n);
	memcpy(in + n, k->daddr, n);
	memcpy(in + 2 * n, &k->sport, 2);
	memcpy(in + 2 * n + 2, &k->dport, 2);
	return (uint32_t)XXH3_64bits_withSeed(in, 2 * n + 4, t->seed) & t->mask;
}

struct sg_table *sg_table_new(uint32_t max, uint64_t seed)
{
	struct sg_table *t;
	uint32_t slots = 16;

	if (max == 0 || max > (1u << 28)) {
		errno = EINVAL;
		return NULL;
	}
	while (slots < 2 * max)
		slots <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->slot = sg_alloc_resident(slots, sizeof(*t->slot));
	t->bits = sg_alloc_resident((slots + 63) / 64, sizeof(*t->bits));
	if (!t->slot || !t->bits) {
		free(t->slot);
		free(t->bits);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = slots - 1;
	t->max = max;
	t->seed = seed;
	return t;
}

void sg_table_free(struct sg_table *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t->bits);
	free(t);
}

static void bit_set(struct sg_table *t, uint32_t i)
{
	t->bits[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(struct sg_table *t, uint32_t i)
{
	t->bits[i / 64] &= ~(1ull << (i % 64));
}

/* The slot holding @key, or the empty slot where it would go.  Terminates:
 * the load factor never exceeds 1/2, so an empty slot exists. */
static uint32_t probe(const struct sg_table *t, const struct sg_tuple *key)
{
	uint32_t i = home(t, key);

	while (t->slot[i].used && !tuple_eq(&t->slot[i].tuple, key))
		i = (i + 1) & t->mask;
	return i;
}

struct sg_halfopen *sg_table_find(struct sg_table *t, const struct sg_tuple *key)
{
	struct sg_halfopen *e = &t->slot[probe(t, key)];

	return e->used ? e : NULL;
}

struct sg_halfopen *sg_table_insert(struct sg_table *t, const struct sg_tuple *key)
{
	struct sg_halfopen *e = &t->slot[probe(t, key)];

	if (!e->used) {
		if (t->count >= t->max)
			return NULL;
		t->count++;
		bit_set(t, (uint32_t)(e - t->slot));
	}
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->tuple = *key;
	return e;
}

/* Is @h (a home slot) cyclically in (@gap, @i]?  Then the entry at @i may not
 * move back to @gap. */
static bool stays(uint32_t gap, uint32_t i, uint32_t h)
{
	return gap <= i ? (gap < h && h <= i) : (gap < h || h <= i);
}

void sg_table_remove(struct sg_table *t, struct sg_halfopen *e)
{
	uint32_t gap = (uint32_t)(e - t->slot), i = gap;

	t->slot[gap].used = false;
	bit_clear(t, gap);
	t->count--;
	for (;;) {
		i = (i + 1) & t->mask;
		if (!t->slot[i].used)
			return;
		if (stays(gap, i, home(t, &t->slot[i].tuple)))
			continue;
		t->slot[gap] = t->slot[i];
		bit_set(t, gap);
		t->slot[i].used = false;
		bit_clear(t, i);
		gap = i;
	}
}

uint32_t sg_table_count(const struct sg_table *t)
{
	return t->count;
}

uint32_t sg_table_max(const struct sg_table *t)
{
	return t->max;
}

/* Slots from @i to the end of its bitmap word, when none of them is used
 * (the scan passes them without touching the slots), else 0. */
static uint32_t unused_run(const struct sg_table *t, uint32_t i)
{
	return t->bits[i / 64] >> (i % 64) ? 0 : 64 - i % 64;
}

/* The bitmap lets a sweep of a nearly empty table read 1/64 of a bit per
 * slot instead of the slot itself: 16 KiB instead of 11 MiB for the default
 * table, which a pass every 500 ms otherwise pulled through the cache of
 * the core that also forwards the packets. */
void sg_table_scan(struct sg_table *t, uint32_t budget,
		   bool (*fn)(void *ctx, struct sg_halfopen *e), void *ctx)
{
	while (budget > 0) {
		uint32_t i = t->cursor, run = unused_run(t, i);
		struct sg_halfopen *e = &t->slot[i];

		if (run) {
			run = run < budget ? run : budget;
			budget -= run;
			t->cursor = (i + run) & t->mask;
			continue;
		}
		budget--;
		/* A removal may shift a later entry into this slot: look again. */
		if (e->used && fn(ctx, e) && t->slot[i].used)
			continue;
		t->cursor = (i + 1) & t->mask;
	}
}

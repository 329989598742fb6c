/* syngate half-open table: see include/syngate/core/table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "syngate/core/table.h"
#include "syngate/core/types.h"

struct sg_table {
	struct sg_halfopen *slot;
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
	if (!t->slot) {
		free(t);
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
	free(t);
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
	t->count--;
	for (;;) {
		i = (i + 1) & t->mask;
		if (!t->slot[i].used)
			return;
		if (stays(gap, i, home(t, &t->slot[i].tuple)))
			continue;
		t->slot[gap] = t->slot[i];
		t->slot[i].used = false;
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

void sg_table_scan(struct sg_table *t, uint32_t budget,
		   bool (*fn)(void *ctx, struct sg_halfopen *e), void *ctx)
{
	while (budget-- > 0) {
		uint32_t i = t->cursor;
		struct sg_halfopen *e = &t->slot[i];

		/* A removal may shift a later entry into this slot: look again. */
		if (e->used && fn(ctx, e) && t->slot[i].used)
			continue;
		t->cursor = (i + 1) & t->mask;
	}
}

/* cmocka tests of the statistics output: every counter, drop reason and XDP
 * outcome of the X-macro lists (SG_COUNTERS, SG_REASONS, SG_XDP_COUNTERS)
 * appears exactly once in the text, the JSON and the Prometheus exposition,
 * with its own value. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syngate/ops/stats.h"

static char out[65536];

/* How many times @needle occurs in @hay. */
static int occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void expect_once(const char *hay, const char *needle)
{
	int n = occurrences(hay, needle);

	if (n != 1)
		print_error("'%s' found %d times\n", needle, n);
	assert_int_equal(n, 1);
}

static struct sg_counters c;
static struct sg_nfq_stats nfq = {.packets = 1};
static struct sg_ct_events_stats ev = {.events = 2};
static struct sg_kqueue kq = {.backlog = 3};
static struct sg_listen_queue backend = {.port = 8080, .accept_queue = 4};
static uint64_t xdp[SG_XDP__COUNT];

/* A snapshot whose every counter holds a value of its own (1000 + its index,
 * 2000 + the reason, 3000 + the XDP outcome). */
static struct sg_stats_src snapshot(void)
{
	uint64_t v = 1000;
	int i;

	memset(&c, 0, sizeof(c));
#define SET(f, metric, help) c.f = v++;
	SG_COUNTERS(SET)
#undef SET
	c.closed = 0; /* established = proxied */
	for (i = 1; i < SG_R__COUNT; i++)
		c.drops[i] = 2000 + (uint64_t)i;
	for (i = 0; i < SG_XDP__COUNT; i++)
		xdp[i] = 3000 + (uint64_t)i;
	return (struct sg_stats_src){.c = &c, .nfq = &nfq, .ev = &ev, .kq = &kq,
				     .backend = &backend, .nbackend = 1, .xdp = xdp};
}

/* Expects "key":value (@json) or the line "key value" exactly once in out. */
static void expect_field(bool json, const char *key, uint64_t v)
{
	char k[128];

	if (json)
		snprintf(k, sizeof(k), "\"%s\":%" PRIu64, key, v);
	else
		snprintf(k, sizeof(k), "\n%-28s %" PRIu64 "\n", key, v);
	expect_once(out, k);
}

/* `syngate stats` (text or JSON) names each counter, drop reason and XDP
 * outcome once, with its value. */
static void stats_have_each_counter_once(bool json)
{
	struct sg_stats_src s = snapshot();
	char name[64];
	int i;

	sg_stats_format(&s, json, out, sizeof(out));
#define FIELD(f, metric, help) expect_field(json, #f, c.f);
	SG_COUNTERS(FIELD)
#undef FIELD
	for (i = 1; i < SG_R__COUNT; i++) {
		snprintf(name, sizeof(name), SG_STATS_DROP_PREFIX "%s",
			 sg_reason_name((enum sg_reason)i));
		expect_field(json, name, c.drops[i]);
	}
	for (i = 0; i < SG_XDP__COUNT; i++) {
		snprintf(name, sizeof(name), "xdp_%s", sg_xdp_counter_name((enum sg_xdp_counter)i));
		expect_field(json, name, xdp[i]);
	}
	expect_field(json, "established", c.proxied);
}

static void json_has_each_counter_once(void **state)
{
	(void)state;
	stats_have_each_counter_once(true);
	assert_int_equal(out[0], '{');
	assert_string_equal(out + strlen(out) - 2, "}\n");
}

static void text_has_each_counter_once(void **state)
{
	char k[128];

	(void)state;
	stats_have_each_counter_once(false);
	/* established follows closed, as `syngate stats` always printed it */
	snprintf(k, sizeof(k), "\n%-28s %" PRIu64 "\n%-28s %" PRIu64 "\n", "closed", c.closed,
		 "established", c.proxied);
	expect_once(out, k);
}

static void metrics_have_each_counter_once(void **state)
{
	struct sg_stats_src s = snapshot();
	char k[256];
	int i;

	(void)state;
	sg_metrics_format(&s, out, sizeof(out));
#define METRIC(f, metric, help)                                                          \
	snprintf(k, sizeof(k), "\n%s %" PRIu64 "\n", metric, c.f);                       \
	expect_once(out, k);                                                             \
	snprintf(k, sizeof(k), "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric); \
	expect_once(out, k);                                                             \
	assert_string_equal(metric + strlen(metric) - 6, "_total");
	SG_COUNTERS(METRIC)
#undef METRIC
	for (i = 1; i < SG_R__COUNT; i++) {
		snprintf(k, sizeof(k), "syngate_drops_total{reason=\"%s\"} %" PRIu64 "\n",
			 sg_reason_name((enum sg_reason)i), c.drops[i]);
		expect_once(out, k);
	}
	/* an XDP total on its own, each of its parts once in its family */
	for (i = 0; i < SG_XDP__COUNT; i++) {
		if (sg_xdp_counter_total((enum sg_xdp_counter)i) == (enum sg_xdp_counter)i)
			snprintf(k, sizeof(k), "_total %" PRIu64 "\n", xdp[i]);
		else
			snprintf(k, sizeof(k), "_total{outcome=\"%s\"} %" PRIu64 "\n",
				 sg_xdp_counter_name((enum sg_xdp_counter)i), xdp[i]);
		expect_once(out, k);
	}
}

/* The value of the sample @series ("name" or "name{labels}") in out; fails
 * when it is not there. */
static double sample(const char *series)
{
	char k[256];
	const char *p;

	snprintf(k, sizeof(k), "\n%s ", series);
	p = strstr(out, k);
	if (!p)
		print_error("no sample %s\n", series);
	assert_non_null(p);
	return strtod(p + strlen(k), NULL);
}

/* The sum of family @name's labelled samples ("name{...} v" lines). */
static double family_sum(const char *name, int *n)
{
	char k[128];
	double sum = 0;

	snprintf(k, sizeof(k), "\n%s{", name);
	*n = 0;
	for (const char *p = strstr(out, k); p; p = strstr(p + 1, k)) {
		const char *v = strstr(p, "} ");

		sum += strtod(v + 2, NULL);
		(*n)++;
	}
	return sum;
}

/* A labelled family whose HELP says "the <label>s sum to TOTAL." is a
 * partition of TOTAL: for a snapshot whose totals hold what the program
 * counts (each total the sum of its parts), the family sums to the total,
 * and no part is a total in disguise.  Every such family is found from the
 * HELP lines, so a new one is checked too. */
static void breakdowns_sum_to_their_totals(void **state)
{
	struct sg_stats_src s = snapshot();
	struct sg_health h = {.rules = 1, .has_drops = true, .syns_shed = 5, .invalid_dropped = 6};
	int i, families = 0, n;

	(void)state;
	for (i = 0; i < SG_XDP__COUNT; i++)
		if (sg_xdp_counter_total((enum sg_xdp_counter)i) == (enum sg_xdp_counter)i)
			xdp[i] = 0;
	for (i = 0; i < SG_XDP__COUNT; i++)
		if (sg_xdp_counter_total((enum sg_xdp_counter)i) != (enum sg_xdp_counter)i)
			xdp[sg_xdp_counter_total((enum sg_xdp_counter)i)] += xdp[i];
	s.health = &h;
	sg_metrics_format(&s, out, sizeof(out));
	for (const char *p = strstr(out, "# HELP "); p; p = strstr(p + 1, "# HELP ")) {
		char family[96], total[96];
		const char *eol = strchr(p, '\n'), *sum = strstr(p, " sum to ");

		if (!sum || sum > eol)
			continue;
		assert_int_equal(sscanf(p, "# HELP %95s", family), 1);
		assert_int_equal(sscanf(sum, " sum to %95[a-z_]", total), 1);
		assert_true(family_sum(family, &n) == sample(total));
		assert_true(n >= 2);
		assert_null(strstr(out, "outcome=\"syn\""));
		assert_null(strstr(out, "outcome=\"ack\""));
		families++;
	}
	assert_int_equal(families, 2); /* the XDP program's SYNs and ACKs */
	assert_true(sample("syngate_syns_shed_total") == 5);
	assert_true(sample("syngate_invalid_dropped_total") == 6);
}

/* One sample per queue: worker i's queue is queue + i. */
static void kernel_queues_one_sample_each(void **state)
{
	struct sg_kqueue each[2] = {{.backlog = 7, .queue_dropped = 8}, {.backlog = 9, .user_dropped = 10}};
	struct sg_stats_src s = snapshot();

	(void)state;
	s.queue = 4;
	s.kq_each = each;
	s.nqueues = 2;
	sg_metrics_format(&s, out, sizeof(out));
	assert_true(sample("syngate_nfqueue_backlog_packets{queue=\"4\"}") == 7);
	assert_true(sample("syngate_nfqueue_backlog_packets{queue=\"5\"}") == 9);
	assert_true(sample("syngate_nfqueue_kernel_drops_total{queue=\"4\",reason=\"queue_full\"}") == 8);
	assert_true(sample("syngate_nfqueue_kernel_drops_total{queue=\"5\",reason=\"socket_full\"}") == 10);
	assert_null(strstr(out, "queue=\"6\""));
}

/* The names are distinct: no two counters, reasons or outcomes share one. */
static void names_are_distinct(void **state)
{
	static const char *const keys[] = {
#define NAME(f, metric, help) #f, metric,
		SG_COUNTERS(NAME)
#undef NAME
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		for (j = i + 1; j < sizeof(keys) / sizeof(keys[0]); j++)
			assert_string_not_equal(keys[i], keys[j]);
	for (i = 0; i < SG_R__COUNT; i++) {
		assert_string_not_equal(sg_reason_name((enum sg_reason)i), "unknown");
		for (j = i + 1; j < SG_R__COUNT; j++)
			assert_string_not_equal(sg_reason_name((enum sg_reason)i),
						sg_reason_name((enum sg_reason)j));
	}
	for (i = 0; i < SG_XDP__COUNT; i++)
		assert_string_not_equal(sg_xdp_counter_name((enum sg_xdp_counter)i), "unknown");
	assert_string_equal(sg_reason_name(SG_R_OK), "ok");
	assert_string_equal(sg_reason_name(SG_R__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_has_each_counter_once),
		cmocka_unit_test(text_has_each_counter_once),
		cmocka_unit_test(metrics_have_each_counter_once),
		cmocka_unit_test(breakdowns_sum_to_their_totals),
		cmocka_unit_test(kernel_queues_one_sample_each),
		cmocka_unit_test(names_are_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

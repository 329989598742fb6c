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
	for (i = 0; i < SG_XDP__COUNT; i++) {
		snprintf(k, sizeof(k), "syngate_xdp_syns_total{outcome=\"%s\"} %" PRIu64 "\n",
			 sg_xdp_counter_name((enum sg_xdp_counter)i), xdp[i]);
		expect_once(out, k);
	}
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
		cmocka_unit_test(names_are_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cmocka tests of the text buffer (src/ops/strbuf.c): a fixed buffer cuts
 * and stays terminated, a heap buffer grows, and both say when text was
 * lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syngate/ops/strbuf.h"

static void fixed_cuts(void **state)
{
	char buf[8];
	struct sg_strbuf b;

	(void)state;
	sg_strbuf_init(&b, buf, sizeof(buf));
	assert_string_equal(sg_strbuf_str(&b), "");
	sg_strbuf_printf(&b, "%d-%s", 42, "ab");
	assert_string_equal(buf, "42-ab");
	assert_false(b.cut);
	sg_strbuf_puts(&b, "xyz");
	assert_string_equal(buf, "42-abxy");
	assert_int_equal(b.len, 7);
	assert_true(b.cut);
	sg_strbuf_printf(&b, "more");
	assert_string_equal(buf, "42-abxy");
	sg_strbuf_free(&b);
	assert_string_equal(buf, "");
	assert_int_equal(b.len, 0);
	assert_false(b.cut);
}

static void heap_grows(void **state)
{
	struct sg_strbuf b = {0};
	char line[] = "0123456789abcdef\n";

	(void)state;
	assert_string_equal(sg_strbuf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		sg_strbuf_add(&b, line, strlen(line));
	sg_strbuf_printf(&b, "%s=%u\n", "end", 7u);
	assert_false(b.cut);
	assert_int_equal(b.len, 1000 * strlen(line) + 6);
	assert_int_equal(strlen(sg_strbuf_str(&b)), b.len);
	assert_string_equal(sg_strbuf_str(&b) + 999 * strlen(line), "0123456789abcdef\nend=7\n");
	sg_strbuf_free(&b);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
}

/* Past SG_STRBUF_HEAP_MAX the text is cut and the buffer stops growing. */
static void heap_limit(void **state)
{
	struct sg_strbuf b = {0};
	size_t n = SG_STRBUF_HEAP_MAX / 2 + 1000;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	sg_strbuf_add(&b, "ab", 2);
	sg_strbuf_add(&b, big, n);
	assert_false(b.cut);
	sg_strbuf_add(&b, big, n);
	assert_true(b.cut);
	assert_int_equal(b.len, SG_STRBUF_HEAP_MAX - 1);
	assert_int_equal(b.buf[b.len], '\0');
	free(big);
	sg_strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fixed_cuts),
	    cmocka_unit_test(heap_grows),
	    cmocka_unit_test(heap_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

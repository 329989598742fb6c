/* cmocka tests of the configuration: values, errors naming the key and the
 * line, cross-option checks, and what a reload may change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "syngate/ops/config.h"

static char err[SG_CONFIG_ERR_LEN];

/* Writes @text to a temporary file and returns its path (static buffer). */
static const char *file_with(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/sgcfg.%d.ini", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void defaults_are_valid(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), 0);
	assert_int_equal(c.rules.nports, 1);
	assert_int_equal(c.rules.ports[0], 80);
	assert_int_equal(c.proxy.mode, SG_MODE_ALWAYS);
	assert_int_equal(c.metrics_port, 9469);
	assert_string_equal(c.metrics_addr, "127.0.0.1");
}

static void set_values(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	assert_int_equal(sg_config_set(&c, "ports", "80, 443,8080", err, sizeof(err)), 0);
	assert_int_equal(c.rules.nports, 3);
	assert_int_equal(c.rules.ports[2], 8080);
	assert_int_equal(sg_config_set(&c, "interfaces", "eth0,eth1", err, sizeof(err)), 0);
	assert_string_equal(c.rules.ifaces[1], "eth1");
	assert_int_equal(sg_config_set(&c, "mark-pending", "0x40000000", err, sizeof(err)), 0);
	assert_int_equal(c.proxy.mark_pending, 0x40000000);
	assert_int_equal(sg_config_set(&c, "fail-open", "yes", err, sizeof(err)), 0);
	assert_true(c.rules.fail_open);
	assert_int_equal(sg_config_set(&c, "mode", "never", err, sizeof(err)), 0);
	assert_int_equal(c.proxy.mode, SG_MODE_NEVER);
}

static void bad_values_name_the_key(void **state)
{
	static const char *const bad[][2] = {
		{"ports", "0"},		 {"ports", "65536"},   {"ports", "80,x"},
		{"ports", ""},		 {"queue", "-1"},      {"table-size", "0"},
		{"fail-open", "maybe"}, {"mode", "sometimes"}, {"log-level", "loud"},
		{"interfaces", "a/b"}, {"default-wscale", "15"}, {"mss4", "100"},
	};
	struct sg_config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sg_config_defaults(&c);
		assert_int_equal(sg_config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i][0]));
	}
	assert_int_equal(sg_config_set(&c, "colour", "blue", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown option 'colour'"));
}

static void file_ok(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	assert_int_equal(sg_config_load(&c, file_with("; comment\n[syngate]\nports = 443\n"
						      "rst-invalid = yes\n"),
					err, sizeof(err)),
			 0);
	assert_int_equal(c.rules.ports[0], 443);
	assert_true(c.proxy.rst_invalid);
	assert_non_null(strstr(c.config_path, "/tmp/sgcfg."));
}

static void file_errors_name_line_and_key(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	assert_int_equal(sg_config_load(&c, file_with("[syngate]\nports = 80\n\nqueue = x\n"), err,
					sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":4: bad value 'x' for 'queue'"));
	assert_int_equal(sg_config_load(&c, file_with("[syngate]\nbogus = 1\n"), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":2: unknown option 'bogus'"));
	assert_int_equal(sg_config_load(&c, file_with("[other]\nports = 1\n"), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":2: unknown section [other]"));
	assert_int_equal(sg_config_load(&c, file_with("[syngate]\nports 80\n"), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, ":2: syntax error"));
	assert_int_equal(sg_config_load(&c, "/nonexistent/syngate.ini", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	unlink(file_with(""));
}

static void cross_checks(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	c.proxy.mark_proxied = c.proxy.mark_pending;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "must not share bits"));
	sg_config_defaults(&c);
	c.rules.ipv4 = c.rules.ipv6 = false;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	sg_config_defaults(&c);
	c.proxy.syn_rto_ms = c.proxy.backend_timeout_ms;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "syn-rto-ms"));
}

static void restart_keys(void **state)
{
	struct sg_config a, b;
	char keys[256];

	(void)state;
	sg_config_defaults(&a);
	b = a;
	b.proxy.mode = SG_MODE_NEVER; /* live: not listed */
	b.proxy.backend_timeout_ms = 500;
	assert_int_equal(sg_config_restart_keys(&a, &b, keys, sizeof(keys)), 0);
	b.rules.ports[0] = 81;
	b.proxy.table_max = 10;
	assert_int_equal(sg_config_restart_keys(&a, &b, keys, sizeof(keys)), 2);
	assert_string_equal(keys, "ports, table-size");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_valid),
		cmocka_unit_test(set_values),
		cmocka_unit_test(bad_values_name_the_key),
		cmocka_unit_test(file_ok),
		cmocka_unit_test(file_errors_name_line_and_key),
		cmocka_unit_test(cross_checks),
		cmocka_unit_test(restart_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

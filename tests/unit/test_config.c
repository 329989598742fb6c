/* cmocka tests of the configuration: values, errors naming the key and the
 * line, cross-option checks, the table's defaults, and what a reload may
 * change (the table's live column, down to the proxy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "syngate/core/packet.h"
#include "syngate/ops/config.h"
#include "tuples.h"

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
	assert_int_equal(c.proxy.marks.pending, 0x40000000);
	assert_int_equal(sg_config_set(&c, "fail-open", "yes", err, sizeof(err)), 0);
	assert_true(c.rules.fail_open);
	assert_int_equal(sg_config_set(&c, "mode", "never", err, sizeof(err)), 0);
	assert_int_equal(c.proxy.mode, SG_MODE_NEVER);
	assert_false(c.rules.on_host); /* router is the default placement */
	assert_int_equal(sg_config_set(&c, "placement", "on-host", err, sizeof(err)), 0);
	assert_true(c.rules.on_host);
	assert_int_equal(sg_config_set(&c, "placement", "router", err, sizeof(err)), 0);
	assert_false(c.rules.on_host);
}

static void bad_values_name_the_key(void **state)
{
	static const char *const bad[][2] = {
		{"ports", "0"},		 {"ports", "65536"},   {"ports", "80,x"},
		{"ports", ""},		 {"queue", "-1"},      {"table-size", "0"},
		{"fail-open", "maybe"}, {"mode", "sometimes"}, {"log-level", "loud"},
		{"interfaces", "a/b"}, {"default-wscale", "15"}, {"mss4", "100"},
		{"placement", "onhost"}, {"mode", "on-host"},
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

/* What libinih would misread is refused before it reads: a device (it read
 * /dev/zero forever), a line longer than its buffer (the tail of a long
 * comment became an option), an indented continuation line (it replaced the
 * value). */
static void file_shapes_refused(void **state)
{
	char text[512];
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	assert_int_equal(sg_config_load(&c, "/dev/zero", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a config file"));
	snprintf(text, sizeof(text), "[syngate]\nports = 80\n# %0196d fail-open = yes\n", 0);
	assert_int_equal(sg_config_load(&c, file_with(text), err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3: line longer than 199"));
	assert_false(c.rules.fail_open);
	snprintf(text, sizeof(text), "[syngate]\n# %0194d\nports = 80\n", 0); /* 198: fits */
	assert_int_equal(sg_config_load(&c, file_with(text), err, sizeof(err)), 0);
	assert_int_equal(
	    sg_config_load(&c, file_with("[syngate]\nports = 80\n  443\n"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3: indented line"));
	assert_int_equal(sg_config_load(&c, file_with("[syngate]\n  # indented comment\nports = 80\n"),
					err, sizeof(err)),
			 0);
	unlink(file_with(""));
}

static void cross_checks(void **state)
{
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	c.proxy.marks.proxied = c.proxy.marks.pending;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "must not share bits"));
	sg_config_defaults(&c);
	c.rules.ipv4 = c.rules.ipv6 = false;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	sg_config_defaults(&c);
	c.proxy.syn_rto_ms = c.proxy.backend_timeout_ms;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "syn-rto-ms"));
	/* the rules' own checks, which check-config skipped */
	sg_config_defaults(&c);
	c.rules.queue = 65535;
	c.rules.nqueues = 2;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
	sg_config_defaults(&c);
	c.rules.shed_rate = 500;
	assert_int_equal(sg_config_check(&c, err, sizeof(err)), -1);
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

/* Every option with a valid value other than its default, and whether a
 * reload applies it: the contract of the options table's live column. */
static const struct {
	const char *key, *value;
	bool live;
} every_option[] = {
	{"ports", "81", false},
	{"interfaces", "eth9", false},
	{"queue", "3", false},
	{"queues", "2", false},
	{"queue-maxlen", "1024", false},
	{"rcvbuf-mb", "8", false},
	{"mode", "never", true},
	{"adaptive-high", "2000", true},
	{"adaptive-low", "100", true},
	{"adaptive-window-ms", "1000", true},
	{"xdp", "generic", false},
	{"xdp-object", "/tmp/x.o", false},
	{"shed-rate", "5", false},
	{"ack-shed-rate", "5", false},
	{"lane", "no", false},
	{"lane-rate", "50", false},
	{"lane-timeout", "60", false},
	{"lane-mark", "0x10", false},
	{"fail-open", "yes", false},
	{"rst-invalid", "yes", true},
	{"halfopen-per-source", "7", true},
	{"table-size", "128", false},
	{"backend-timeout-ms", "5000", true},
	{"syn-rto-ms", "500", true},
	{"cookie-period", "60", false},
	{"mss4", "1400", true},
	{"mss6", "1400", true},
	{"default-wscale", "3", true},
	{"learn", "no", true},
	{"timestamps", "yes", false},
	{"mark-pending", "0x1", false},
	{"mark-proxied", "0x2", false},
	{"complete-mark", "0x4", false},
	{"reflect-mark", "0x8", false},
	{"known-mark", "0x10", false},
	{"ipv4", "no", false},
	{"ipv6", "no", false},
	{"install-rules", "no", false},
	{"control", "/tmp/s.sock", false},
	{"metrics-addr", "::1", false},
	{"metrics-port", "9000", false},
	{"backend-netns", "/run/netns/x", false},
	{"backend-queues", "no", false},
	{"user", "nobody", false},
	{"log-level", "debug", true},
	{"log-format", "journal", true},
	{"placement", "on-host", false},
	{"key-file", "/tmp/k", false},
	{"keep-rules", "yes", false},
	{"backends-file", "/tmp/b", false},
};

#define NEVERY (sizeof(every_option) / sizeof(every_option[0]))

/* The list above names every option of the table (--help prints one line
 * each), so a new option must say whether it is live. */
static void every_option_is_listed(void **state)
{
	char *text = NULL, line[64];
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	int lines = 0;

	(void)state;
	assert_non_null(f);
	sg_config_usage(f);
	fclose(f);
	for (const char *p = text; (p = strstr(p, "\n  --")); p++)
		lines++;
	assert_int_equal(lines + (strncmp(text, "  --", 4) == 0), NEVERY);
	for (i = 0; i < NEVERY; i++) {
		snprintf(line, sizeof(line), "  --%-20s ", every_option[i].key);
		assert_non_null(strstr(text, line));
	}
	free(text);
}

/* The table's defaults are the core's: sg_proxy_defaults() and
 * sg_rules_defaults() agree with the daemon's. */
/* The control socket goes where systemd's RuntimeDirectory= is (its first
 * entry), else to /run/syngate.sock; a flag or a file still overrides it. */
static void control_follows_runtime_directory(void **state)
{
	struct sg_config c;

	(void)state;
	unsetenv("RUNTIME_DIRECTORY");
	sg_config_defaults(&c);
	assert_string_equal(c.control, "/run/syngate.sock");
	setenv("RUNTIME_DIRECTORY", "/run/syngate:/run/other", 1);
	sg_config_defaults(&c);
	assert_string_equal(c.control, "/run/syngate/control.sock");
	assert_int_equal(sg_config_set(&c, "control", "/tmp/x.sock", err, sizeof(err)), 0);
	assert_string_equal(c.control, "/tmp/x.sock");
	setenv("RUNTIME_DIRECTORY", "", 1);
	sg_config_defaults(&c);
	assert_string_equal(c.control, "/run/syngate.sock");
	unsetenv("RUNTIME_DIRECTORY");
	assert_string_equal(c.user, "");
}

static void defaults_match_the_core(void **state)
{
	struct sg_proxy_config p;
	struct sg_rules_config r;
	struct sg_config c;

	(void)state;
	sg_config_defaults(&c);
	sg_proxy_defaults(&p);
	sg_rules_defaults(&r);
	assert_memory_equal(&c.proxy, &p, sizeof(p));
	assert_int_equal(c.rules.nports, r.nports);
	assert_int_equal(c.rules.ports[0], r.ports[0]);
	assert_int_equal(c.rules.queue, r.queue);
	assert_int_equal(c.rules.nqueues, r.nqueues);
	assert_int_equal(c.rules.shed_rate, r.shed_rate);
	assert_int_equal(c.rules.fail_open, r.fail_open);
	assert_int_equal(c.rules.ipv4, r.ipv4);
	assert_int_equal(c.rules.ipv6, r.ipv6);
	assert_int_equal(c.rules.nifaces, r.nifaces);
}

/* Changing one option: a live one is applied by sg_config_apply_live() and
 * not reported; any other is reported by name and not applied. */
static void live_column_decides_reload(void **state)
{
	struct sg_config a, b, run;
	char keys[256];
	size_t i;

	(void)state;
	for (i = 0; i < NEVERY; i++) {
		sg_config_defaults(&a);
		b = a;
		assert_int_equal(sg_config_set(&b, every_option[i].key, every_option[i].value, err,
					       sizeof(err)),
				 0);
		assert_memory_not_equal(&a, &b, sizeof(a));
		assert_int_equal(sg_config_live(every_option[i].key), every_option[i].live);
		run = a;
		sg_config_apply_live(&run, &b);
		if (every_option[i].live) {
			assert_int_equal(sg_config_restart_keys(&a, &b, keys, sizeof(keys)), 0);
			assert_memory_equal(&run, &b, sizeof(run));
		} else {
			assert_int_equal(sg_config_restart_keys(&a, &b, keys, sizeof(keys)), 1);
			assert_string_equal(keys, every_option[i].key);
			assert_memory_equal(&run, &a, sizeof(run));
		}
	}
	assert_int_equal(sg_config_live("no-such-option"), -1);
}

static int no_io(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)pkt, (void)len;
	return 0;
}

/* The client SYN the proxy answers with a cookie: the reply in @a. */
static void client_syn(struct sg_proxy *px, struct sg_action *a)
{
	struct sg_tuple t = tuple4();
	struct sg_seg s = {.tuple = t, .seq = 1000, .flags = SG_TCP_SYN, .window = 64240,
			   .opts = {.has_mss = true, .mss = 1460}};
	uint8_t pkt[SG_PKT_MAX_BUILT];
	size_t n = sg_pkt_build(pkt, sizeof(pkt), &s);

	sg_proxy_packet(px, pkt, n, 2000000, a);
}

/* SIGHUP's path to a worker's proxy: apply_live, then sg_proxy_reconfigure.
 * A live option (mss4, then mode) reaches the proxy; reflect-mark does not. */
static void reload_reaches_the_proxy(void **state)
{
	static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN + 8];
	const struct sg_proxy_io io = {.send = no_io};
	struct sg_config run, n;
	struct sg_proxy *px;
	struct sg_action a;
	struct sg_pkt p;

	(void)state;
	sg_config_defaults(&run);
	run.proxy.learn_first = false; /* answer the first SYN to a new backend */
	px = sg_proxy_new(&run.proxy, &io, 1000000, rnd);
	assert_non_null(px);
	n = run;
	assert_int_equal(sg_config_set(&n, "mss4", "1000", err, sizeof(err)), 0);
	assert_int_equal(sg_config_set(&n, "reflect-mark", "0x40000000", err, sizeof(err)), 0);
	sg_config_apply_live(&run, &n);
	sg_proxy_reconfigure(px, &run.proxy);
	client_syn(px, &a);
	assert_int_equal(a.verdict, SG_V_REPEAT);
	assert_int_equal(a.mark, 0x20000000); /* reflect-mark: restart only */
	assert_int_equal(sg_pkt_parse(&p, a.out, a.len), SG_R_OK);
	assert_int_equal(p.opts.mss, 1000); /* mss4: live */

	assert_int_equal(sg_config_set(&n, "mode", "never", err, sizeof(err)), 0);
	sg_config_apply_live(&run, &n);
	sg_proxy_reconfigure(px, &run.proxy);
	assert_int_equal(sg_proxy_mode(px), SG_MODE_NEVER);
	client_syn(px, &a);
	assert_int_equal(a.verdict, SG_V_ACCEPT);
	sg_proxy_free(px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_valid),
		cmocka_unit_test(set_values),
		cmocka_unit_test(bad_values_name_the_key),
		cmocka_unit_test(file_ok),
		cmocka_unit_test(file_errors_name_line_and_key),
		cmocka_unit_test(file_shapes_refused),
		cmocka_unit_test(cross_checks),
		cmocka_unit_test(restart_keys),
		cmocka_unit_test(every_option_is_listed),
		cmocka_unit_test(control_follows_runtime_directory),
		cmocka_unit_test(defaults_match_the_core),
		cmocka_unit_test(live_column_decides_reload),
		cmocka_unit_test(reload_reaches_the_proxy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

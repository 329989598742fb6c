/* cmocka tests of the log: line formats (plain, journal's "<N>" prefix),
 * the event shape, the rate limit, JOURNAL_STREAM detection, and what a
 * whole call writes to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "syngate/io/log.h"

static void plain_line_names_the_level(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(sg_log_line(out, sizeof(out), SG_LOG_FMT_PLAIN, SG_LOG_WARN, "x y"),
			 strlen("syngate: warning: x y\n"));
	assert_string_equal(out, "syngate: warning: x y\n");
	sg_log_line(out, sizeof(out), SG_LOG_FMT_PLAIN, SG_LOG_NOTICE, "n");
	assert_string_equal(out, "syngate: notice: n\n");
}

/* The sd-daemon prefixes are syslog's priorities: err 3 ... debug 7. */
static void journal_line_has_the_priority(void **state)
{
	static const struct {
		enum sg_log_level l;
		const char *line;
	} v[] = {{SG_LOG_ERR, "<3>m\n"},  {SG_LOG_WARN, "<4>m\n"},  {SG_LOG_NOTICE, "<5>m\n"},
		 {SG_LOG_INFO, "<6>m\n"}, {SG_LOG_DEBUG, "<7>m\n"}};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sg_log_line(out, sizeof(out), SG_LOG_FMT_JOURNAL, v[i].l, "m");
		assert_string_equal(out, v[i].line);
	}
}

/* A tool's output of several lines: the journal reads a priority per line. */
static void every_line_gets_the_prefix(void **state)
{
	char out[128];

	(void)state;
	sg_log_line(out, sizeof(out), SG_LOG_FMT_JOURNAL, SG_LOG_ERR, "it said:\na\nb\n\n");
	assert_string_equal(out, "<3>it said:\n<3>a\n<3>b\n");
	sg_log_line(out, sizeof(out), SG_LOG_FMT_PLAIN, SG_LOG_ERR, "it said:\na\n");
	assert_string_equal(out, "syngate: error: it said:\na\n");
}

static void long_message_is_cut_to_one_line(void **state)
{
	char out[16], msg[100];

	(void)state;
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	assert_int_equal(sg_log_line(out, sizeof(out), SG_LOG_FMT_JOURNAL, SG_LOG_INFO, msg), 15);
	assert_string_equal(out, "<6>xxxxxxxxxxx\n");
	assert_int_equal(sg_log_line(out, 1, SG_LOG_FMT_JOURNAL, SG_LOG_INFO, msg), 0);
	assert_string_equal(out, "");
}

static void event_text_is_logfmt(void **state)
{
	char out[128];

	(void)state;
	sg_log_event_text(out, sizeof(out), "conntrack_near_full", "entries=95 max=100", 0,
			  "raise \"nf_conntrack_max\"");
	assert_string_equal(out, "event=conntrack_near_full entries=95 max=100 "
				 "msg=\"raise \\\"nf_conntrack_max\\\"\"");
	sg_log_event_text(out, sizeof(out), "stopping", "", 3, "a\\b");
	assert_string_equal(out, "event=stopping suppressed=3 msg=\"a\\\\b\"");
	/* cut short, still terminated */
	assert_true(sg_log_event_text(out, 12, "stopping", "", 0, "m") < 12);
	assert_int_equal(out[strlen(out)], '\0');
}

/* One line per interval; the next one says how many were held back. */
static void limit_passes_one_per_interval(void **state)
{
	struct sg_log_limit rl = SG_LOG_LIMIT(10);
	uint64_t held = 99, t0 = 5000000;

	(void)state;
	assert_true(sg_log_limit_pass(&rl, t0, &held));
	assert_int_equal(held, 0);
	assert_false(sg_log_limit_pass(&rl, t0 + 1, &held));
	assert_false(sg_log_limit_pass(&rl, t0 + 9999999, &held));
	assert_int_equal(rl.suppressed, 2);
	assert_true(sg_log_limit_pass(&rl, t0 + 10000000, &held));
	assert_int_equal(held, 2);
	assert_int_equal(rl.suppressed, 0);
	assert_false(sg_log_limit_pass(&rl, t0 + 10000001, &held));
	/* the first line may come at time 0 */
	rl = SG_LOG_LIMIT(1);
	assert_true(sg_log_limit_pass(&rl, 0, &held));
	assert_false(sg_log_limit_pass(&rl, 999999, &held));
	assert_true(sg_log_limit_pass(&rl, 1000001, &held));
	assert_int_equal(held, 1);
}

static void journal_stream_must_name_the_fd(void **state)
{
	char path[] = "/tmp/sg_test_log_XXXXXX", env[64];
	int fd = mkstemp(path), other = open("/dev/null", O_WRONLY);
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && other >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(sg_log_is_journal_stream(env, fd));
	assert_false(sg_log_is_journal_stream(env, other)); /* stderr redirected elsewhere */
	assert_false(sg_log_is_journal_stream(NULL, fd));
	assert_false(sg_log_is_journal_stream("", fd));
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_false(sg_log_is_journal_stream(env, fd));
	snprintf(env, sizeof(env), "%llu", (unsigned long long)st.st_dev);
	assert_false(sg_log_is_journal_stream(env, fd));
	close(other);
	close(fd);
	unlink(path);
}

static void names_parse_both_ways(void **state)
{
	(void)state;
	assert_int_equal(sg_log_parse_level("warn"), SG_LOG_WARN);
	assert_int_equal(sg_log_parse_level("warning"), SG_LOG_WARN);
	assert_int_equal(sg_log_parse_level("err"), SG_LOG_ERR);
	assert_int_equal(sg_log_parse_level("notice"), SG_LOG_NOTICE);
	assert_int_equal(sg_log_parse_level("debug"), SG_LOG_DEBUG);
	assert_int_equal(sg_log_parse_level("loud"), -1);
	assert_string_equal(sg_log_level_name(SG_LOG_INFO), "info");
	assert_string_equal(sg_log_level_name((enum sg_log_level)9), "unknown");
	assert_int_equal(sg_log_parse_format("journal"), SG_LOG_FMT_JOURNAL);
	assert_int_equal(sg_log_parse_format("plain"), SG_LOG_FMT_PLAIN);
	assert_int_equal(sg_log_parse_format("auto"), SG_LOG_FMT_AUTO);
	assert_int_equal(sg_log_parse_format("json"), -1);
}

/* Runs @fn with stderr going to a file, returns what it wrote. */
static const char *capture(void (*fn)(void))
{
	static char buf[2048];
	char path[] = "/tmp/sg_test_log_XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

static void log_calls(void)
{
	struct sg_log_limit rl = SG_LOG_LIMIT(3600);

	sg_log_set_level(SG_LOG_INFO);
	errno = ENOENT;
	sg_log_warn("open %s", "x");
	assert_int_equal(errno, ENOENT);
	sg_log(SG_LOG_DEBUG, "not shown");
	sg_log_event(&rl, SG_LOG_INFO, "started", "running", "queues=%u-%u", 0u, 1u);
	sg_log_event(&rl, SG_LOG_INFO, "started", "running", "queues=%u-%u", 0u, 1u);
	sg_log_event(NULL, SG_LOG_NOTICE, "stopping", "stopping", "signal=%d", 15);
}

/* AUTO picks the journal when JOURNAL_STREAM names stderr. */
static void auto_format_follows_journal_stream(void)
{
	struct stat st;
	char env[64];

	fstat(STDERR_FILENO, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	sg_log_set_format(SG_LOG_FMT_AUTO);
	unsetenv("JOURNAL_STREAM");
	log_calls();
}

static void whole_calls_write_whole_lines(void **state)
{
	(void)state;
	sg_log_set_format(SG_LOG_FMT_PLAIN);
	assert_string_equal(capture(log_calls),
			    "syngate: warning: open x: No such file or directory\n"
			    "syngate: info: event=started queues=0-1 msg=\"running\"\n"
			    "syngate: notice: event=stopping signal=15 msg=\"stopping\"\n");
	assert_string_equal(capture(auto_format_follows_journal_stream),
			    "<4>open x: No such file or directory\n"
			    "<6>event=started queues=0-1 msg=\"running\"\n"
			    "<5>event=stopping signal=15 msg=\"stopping\"\n");
	assert_int_equal(sg_log_format(), SG_LOG_FMT_JOURNAL);
	unsetenv("JOURNAL_STREAM");
	sg_log_set_format(SG_LOG_FMT_AUTO); /* stderr is no journal stream now */
	assert_int_equal(sg_log_format(), SG_LOG_FMT_PLAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_line_names_the_level),
		cmocka_unit_test(journal_line_has_the_priority),
		cmocka_unit_test(every_line_gets_the_prefix),
		cmocka_unit_test(long_message_is_cut_to_one_line),
		cmocka_unit_test(event_text_is_logfmt),
		cmocka_unit_test(limit_passes_one_per_interval),
		cmocka_unit_test(journal_stream_must_name_the_fd),
		cmocka_unit_test(names_parse_both_ways),
		cmocka_unit_test(whole_calls_write_whole_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* syngate logging: see include/syngate/io/log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "syngate/io/log.h"

#define LINE_MAX_BYTES 1024

static enum sg_log_level level = SG_LOG_INFO;
static enum sg_log_format format = SG_LOG_FMT_PLAIN;

/* By syslog priority: the name printed and the short key parsed. */
static const struct {
	const char *name, *key;
} levels[] = {
	[SG_LOG_ERR] = {"error", "err"},     [SG_LOG_WARN] = {"warning", "warn"},
	[SG_LOG_NOTICE] = {"notice", "notice"}, [SG_LOG_INFO] = {"info", "info"},
	[SG_LOG_DEBUG] = {"debug", "debug"},
};

void sg_log_set_level(enum sg_log_level l)
{
	level = l;
}

const char *sg_log_level_name(enum sg_log_level l)
{
	return l >= SG_LOG_ERR && l <= SG_LOG_DEBUG ? levels[l].name : "unknown";
}

int sg_log_parse_level(const char *s)
{
	for (int i = SG_LOG_ERR; i <= SG_LOG_DEBUG; i++)
		if (!strcmp(s, levels[i].key) || !strcmp(s, levels[i].name))
			return i;
	return -1;
}

int sg_log_parse_format(const char *s)
{
	if (!strcmp(s, "auto"))
		return SG_LOG_FMT_AUTO;
	if (!strcmp(s, "plain"))
		return SG_LOG_FMT_PLAIN;
	if (!strcmp(s, "journal"))
		return SG_LOG_FMT_JOURNAL;
	return -1;
}

bool sg_log_is_journal_stream(const char *env, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 || env[end] != '\0')
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void sg_log_set_format(enum sg_log_format f)
{
	if (f == SG_LOG_FMT_AUTO)
		f = sg_log_is_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO)
			    ? SG_LOG_FMT_JOURNAL
			    : SG_LOG_FMT_PLAIN;
	format = f;
}

enum sg_log_format sg_log_format(void)
{
	return format;
}

size_t sg_log_line(char *out, size_t cap, enum sg_log_format f, enum sg_log_level l,
		   const char *msg)
{
	char head[32];
	size_t n = 0, hlen, len = strlen(msg);

	if (cap < 2)
		return cap ? (out[0] = '\0', 0) : 0;
	if (f == SG_LOG_FMT_JOURNAL)
		snprintf(head, sizeof(head), "<%d>", (int)l);
	else
		snprintf(head, sizeof(head), "syngate: %s: ", sg_log_level_name(l));
	hlen = strlen(head);
	while (len && msg[len - 1] == '\n') /* one newline at the end, ours */
		len--;
	for (size_t i = 0; i <= len && n + 1 < cap; i++) {
		/* journald reads a priority per line: every line gets the prefix */
		if (i == 0 || (f == SG_LOG_FMT_JOURNAL && msg[i - 1] == '\n')) {
			if (n + hlen + 1 >= cap)
				break;
			memcpy(out + n, head, hlen);
			n += hlen;
		}
		if (i < len)
			out[n++] = msg[i];
	}
	if (n + 1 >= cap)
		n = cap - 2;
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

bool sg_log_limit_pass(struct sg_log_limit *rl, uint64_t now_us, uint64_t *suppressed)
{
	if (rl->next_us && now_us < rl->next_us) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->next_us = now_us + rl->interval_us;
	if (!rl->next_us) /* 0 means "never logged" */
		rl->next_us = 1;
	return true;
}

size_t sg_log_event_text(char *out, size_t cap, const char *event, const char *kv,
			 uint64_t suppressed, const char *msg)
{
	size_t n;
	int r;

	if (!cap)
		return 0;
	r = snprintf(out, cap, "event=%s %s%s", event, kv, *kv ? " " : "");
	if (r > 0 && suppressed && (size_t)r < cap)
		r += snprintf(out + r, cap - (size_t)r, "suppressed=%llu ",
			      (unsigned long long)suppressed);
	n = r < 0 ? 0 : (size_t)r < cap ? (size_t)r : cap - 1;
	if (n + 6 >= cap)
		return n;
	memcpy(out + n, "msg=\"", 5);
	n += 5;
	for (; *msg && n + 3 < cap; msg++) {
		if (*msg == '"' || *msg == '\\')
			out[n++] = '\\';
		out[n++] = *msg;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

/* Writes @msg at level @l in one write(2); errno is the caller's to keep. */
static void emit(enum sg_log_level l, const char *msg)
{
	char line[LINE_MAX_BYTES];
	size_t n = sg_log_line(line, sizeof(line), format, l, msg);

	if (write(STDERR_FILENO, line, n) < 0)
		return; /* nowhere left to say it */
}

__attribute__((format(printf, 3, 0))) static void vlog(enum sg_log_level l, const char *err,
						   const char *fmt, va_list ap)
{
	char msg[LINE_MAX_BYTES];
	int n;

	if (l > level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", err);
	emit(l, msg);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sg_log_event(struct sg_log_limit *rl, enum sg_log_level l, const char *event,
		  const char *msg, const char *fmt, ...)
{
	char kv[LINE_MAX_BYTES / 2], text[LINE_MAX_BYTES];
	uint64_t suppressed = 0;
	int saved = errno;
	va_list ap;

	if (l > level || (rl && !sg_log_limit_pass(rl, mono_us(), &suppressed))) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(kv, sizeof(kv), fmt, ap);
	va_end(ap);
	sg_log_event_text(text, sizeof(text), event, kv, suppressed, msg);
	emit(l, text);
	errno = saved;
}

/* The body of each variadic logger: errno is kept for the caller, and
 * @with_err appends its text (relayd's log_warn against log_warnx). */
#define LOG_BODY(l, with_err)                                                              \
	do {                                                                               \
		int saved = errno;                                                         \
		va_list ap;                                                                \
                                                                                           \
		va_start(ap, fmt);                                                         \
		vlog((l), (with_err) ? strerror(saved) : NULL, fmt, ap);                   \
		va_end(ap);                                                                \
		errno = saved;                                                             \
	} while (0)

void sg_log(enum sg_log_level l, const char *fmt, ...)
{
	LOG_BODY(l, false);
}

void sg_log_warn(const char *fmt, ...)
{
	LOG_BODY(SG_LOG_WARN, true);
}

void sg_log_warnx(const char *fmt, ...)
{
	LOG_BODY(SG_LOG_WARN, false);
}

/* syngate logging: see include/syngate/io/log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "syngate/io/log.h"

static enum sg_log_level level = SG_LOG_INFO;
static const char *const names[] = {"error", "warning", "info", "debug"};

void sg_log_set_level(enum sg_log_level l)
{
	level = l;
}

int sg_log_parse_level(const char *s)
{
	static const char *const keys[] = {"err", "warn", "info", "debug"};
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, keys[i]) || !strcmp(s, names[i]))
			return i;
	return -1;
}

static void vlog(enum sg_log_level l, const char *err, const char *fmt, va_list ap)
{
	char msg[512];

	if (l > level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "syngate: %s: %s%s%s\n", names[l], msg, err ? ": " : "", err ? err : "");
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

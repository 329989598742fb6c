/* syngate logging: state changes and errors to stderr with a level, never
 * one line per packet.
 *
 * Levels are syslog's priorities.  On the journal's stream (systemd sets
 * JOURNAL_STREAM to "DEV:INODE" of the stream it gave the service as
 * stderr) or with log-format = journal, each line starts with sd-daemon's
 * "<N>" prefix, which journald turns into the entry's priority; on a
 * terminal or a file, a line reads "syngate: warning: ...".
 *
 * Events (what an operator may alert on or grep for) have one shape,
 * logfmt-style:
 *
 *     event=NAME key=value ... [suppressed=N] msg="what it means"
 *
 * with NAME and the keys stable across versions, values without blanks or
 * quotes, and msg the sentence for humans.  An event that may repeat has a
 * rate limit (struct sg_log_limit): at most one line per interval, the next
 * line saying how many were suppressed meanwhile.
 *
 * sg_log_warn() appends strerror(errno), sg_log_warnx() does not (relayd's
 * convention); every function keeps errno.  A line goes out in one write(2),
 * so lines of several threads never interleave. */
#ifndef SYNGATE_LOG_H
#define SYNGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sg_log_level {
	SG_LOG_ERR = 3,
	SG_LOG_WARN = 4,
	SG_LOG_NOTICE = 5,
	SG_LOG_INFO = 6,
	SG_LOG_DEBUG = 7,
};

enum sg_log_format {
	SG_LOG_FMT_AUTO,    /* journal when stderr is JOURNAL_STREAM, else plain */
	SG_LOG_FMT_PLAIN,   /* "syngate: warning: ..." */
	SG_LOG_FMT_JOURNAL, /* "<4>..." */
};

void sg_log_set_level(enum sg_log_level l);
/* Parses "err", "warn", "notice", "info" or "debug" (or "error",
 * "warning"); returns the level, or -1 for anything else. */
int sg_log_parse_level(const char *s);
/* "error", "warning", "notice", "info", "debug" ("unknown" otherwise). */
const char *sg_log_level_name(enum sg_log_level l);

/* Parses "auto", "journal" or "plain"; returns the format, or -1. */
int sg_log_parse_format(const char *s);
/* Sets the format; SG_LOG_FMT_AUTO looks at JOURNAL_STREAM and stderr now. */
void sg_log_set_format(enum sg_log_format f);
/* The format in use (never SG_LOG_FMT_AUTO). */
enum sg_log_format sg_log_format(void);
/* Whether @env (JOURNAL_STREAM's value, may be NULL) names the file open on
 * @fd: "DEV:INODE" in decimal, equal to fstat()'s st_dev and st_ino. */
bool sg_log_is_journal_stream(const char *env, int fd);

/* Pure: writes the line for @msg at level @l in format @f (not AUTO) into
 * @out (@cap bytes, always terminated, ends with one newline; a long @msg is
 * cut).  A @msg of several lines (a tool's error output) keeps them, each
 * with the "<N>" prefix in the journal format.  Returns its length. */
size_t sg_log_line(char *out, size_t cap, enum sg_log_format f, enum sg_log_level l,
		   const char *msg);

/* A rate limit: at most one line per @interval_us.  Zero-initialize with
 * the interval set (SG_LOG_LIMIT); owned by one thread. */
struct sg_log_limit {
	uint64_t interval_us;
	uint64_t next_us;    /* no line before this */
	uint64_t suppressed; /* lines held back since the last one */
};
#define SG_LOG_LIMIT(seconds) ((struct sg_log_limit){.interval_us = (seconds) * 1000000ull})

/* Pure: whether a line may go out at @now_us (monotonic).  If so, stores in
 * @suppressed how many were held back since the previous one and starts a
 * new interval; if not, counts this one as held back. */
bool sg_log_limit_pass(struct sg_log_limit *rl, uint64_t now_us, uint64_t *suppressed);

/* Pure: writes an event's text (without level or prefix): "event=@event ",
 * then @kv (already formatted key=value pairs; may be empty), then
 * "suppressed=N " when @suppressed, then msg="@msg" with any '"' or '\\'
 * in @msg escaped.  Returns its length (cut at @cap - 1, terminated). */
size_t sg_log_event_text(char *out, size_t cap, const char *event, const char *kv,
			 uint64_t suppressed, const char *msg);

/* Logs event @event at level @l: @fmt formats its key=value pairs, @msg is
 * the sentence.  With @rl (may be NULL: not limited), at most one line per
 * interval of the monotonic clock. */
void sg_log_event(struct sg_log_limit *rl, enum sg_log_level l, const char *event,
		  const char *msg, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

void sg_log(enum sg_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

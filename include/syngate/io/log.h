/* syngate logging: state changes and errors to stderr with a level, never
 * one line per packet.  sg_log_warn() appends strerror(errno), sg_log_warnx()
 * does not (relayd's convention); both keep errno. */
#ifndef SYNGATE_LOG_H
#define SYNGATE_LOG_H

enum sg_log_level { SG_LOG_ERR, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

void sg_log_set_level(enum sg_log_level l);
/* Parses "err", "warn", "info" or "debug"; returns -1 for anything else. */
int sg_log_parse_level(const char *s);
void sg_log(enum sg_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

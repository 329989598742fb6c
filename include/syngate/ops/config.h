/* syngate configuration: one table of options, set from a file (INI, parsed
 * with libinih) or from command-line flags of the same names.
 *
 *   [syngate]
 *   ports = 80,443
 *   interfaces = eth0
 *   mode = always
 *
 * Return convention: 0 on success, -1 with a message in the caller's buffer
 * naming the key (and the line, for files).
 */
#ifndef SYNGATE_CONFIG_H
#define SYNGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "syngate/core/proxy.h"
#include "syngate/ops/rules.h"

#define SG_CONFIG_ERR_LEN 256

struct sg_config {
	struct sg_proxy_config proxy;
	struct sg_rules_config rules;
	uint32_t queue_maxlen;
	uint32_t rcvbuf_mb;
	uint32_t lane_timeout;	/* seconds in the lane after the last completed handshake */
	bool install_rules;	/* run: install rules at start, remove them at exit */
	char control[108];	/* control socket path */
	char metrics_addr[64];	/* Prometheus endpoint address */
	uint16_t metrics_port;	/* 0: no endpoint */
	char backend_netns[108]; /* where the backends' listen queues are read; "" = here */
	bool backend_queues;	/* read them at all */
	int log_level;
	int log_format; /* enum sg_log_format */
	int xdp_mode;		/* enum sg_xdp_mode */
	char xdp_object[256];	/* the eBPF object; "" = sg_xdp_default_object() */
	char key_file[256];	/* the master key (keyfile.h); "none": in memory only */
	bool keep_rules;	/* run: leave the rules installed at exit */
	char backends_file[256]; /* learned backends (backfile.h); "none": not kept */
	char config_path[256];	/* the file read by --config (for SIGHUP), "" if none */
	char user[64];		/* run: the user to switch to once set up; "" = stay */
};

/* The options table (config.c) says which options SIGHUP applies to the
 * running daemon ("live") and which need a restart; these three read it.
 *
 * Names the options of @b that differ from @a and cannot change without a
 * restart, into @out (comma-separated, in table order).  Returns how many. */
int sg_config_restart_keys(const struct sg_config *a, const struct sg_config *b, char *out,
			   size_t len);
/* Copies the live options of @n into @run; the others stay as they are. */
void sg_config_apply_live(struct sg_config *run, const struct sg_config *n);
/* 1 if option @key is live, 0 if it needs a restart, -1 if there is none. */
int sg_config_live(const char *key);

/* The control socket's default path into @buf: $RUNTIME_DIRECTORY/control.sock
 * when systemd set RUNTIME_DIRECTORY (its first entry), else
 * /run/syngate.sock. */
void sg_config_control_default(char *buf, size_t len);

/* Fills @c with every option's default (the table's) and the rest of the
 * proxy's and the rules' (sg_proxy_defaults(), sg_rules_defaults()). */
void sg_config_defaults(struct sg_config *c);
/* Sets option @key to @value.  Unknown keys and bad values are errors. */
int sg_config_set(struct sg_config *c, const char *key, const char *value, char *err,
		  size_t errlen);
/* Reads @path into @c (on top of what @c holds). */
int sg_config_load(struct sg_config *c, const char *path, char *err, size_t errlen);
/* Cross-option checks (marks distinct, ports given, ...). */
int sg_config_check(const struct sg_config *c, char *err, size_t errlen);
/* Prints every option with its help text, default, and [SIGHUP] when a
 * reload applies it (for --help). */
void sg_config_usage(FILE *out);

/* What an option's value is, for the command line, the manual and completion. */
enum sg_config_arg {
	SG_ARG_NUMBER,	/* a number, or a comma-separated list of them */
	SG_ARG_BOOL,	/* yes/no; a bare --flag means yes */
	SG_ARG_WORD,	/* one of sg_config_option.values */
	SG_ARG_TEXT,	/* free text: a path, an address */
	SG_ARG_IFACES,	/* interface names, comma-separated */
};

/* One row of the options table, as the generated documents see it. */
struct sg_config_option {
	const char *name;	/* file key and flag (--name) */
	const char *help;
	const char *def;	/* NULL: no default (the help says what empty means) */
	const char *values;	/* SG_ARG_WORD, SG_ARG_BOOL: the words, space-separated */
	enum sg_config_arg arg;
	bool live;		/* a reload (SIGHUP) applies it */
};

/* Fills @o with row @i of the options table (0, 1, ... in table order).
 * Returns false when @i is past the last row. */
bool sg_config_option(size_t i, struct sg_config_option *o);

#endif

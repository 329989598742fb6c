/* syngate's command line, described once.
 *
 * Every subcommand names its own flags (a bit per flag of sg_cli_flags) and
 * which rows of the options table (ops/config.h) it takes, so the parser
 * (main.c, getopt_long), --help, the manual's option list and the bash
 * completion are all made from the same two tables and cannot disagree.
 */
#ifndef SYNGATE_CLI_H
#define SYNGATE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The subcommands' own flags; getopt_long returns SG_CLI_FLAG + these
 * (clear of '?', ':' and short options), an option of the table
 * SG_CLI_TABLE + its row. */
enum sg_cli_flag {
	SG_CLI_HELP,
	SG_CLI_CONFIG,
	SG_CLI_DRY_RUN,
	SG_CLI_JSON,
	SG_CLI_PROMETHEUS,
	SG_CLI_WATCH,
	SG_CLI_MAN,
	SG_CLI_BASH,
	SG_CLI_NFLAGS,
	SG_CLI_TABLE = 1024,
};
#define SG_CLI_FLAG 256

struct sg_cli_flag_doc {
	const char *name;
	const char *arg;	/* its argument's name, NULL: none */
	const char *help;
};

extern const struct sg_cli_flag_doc sg_cli_flags[SG_CLI_NFLAGS];

enum sg_cli_cmd {
	SG_CMD_RUN,
	SG_CMD_RULES,
	SG_CMD_STATS,
	SG_CMD_CHECK,
	SG_CMD_HELP_CONFIG,
	SG_CMD_KEYS,
};

/* Which options of the table a subcommand takes. */
enum sg_cli_table { SG_TABLE_NONE, SG_TABLE_ALL, SG_TABLE_CONTROL };

struct sg_cli_command {
	enum sg_cli_cmd id;
	const char *name;
	const char *words;	/* its first positional argument's choices, NULL: any */
	const char *synopsis;	/* what follows "syngate NAME" */
	const char *summary;
	unsigned flags;		/* 1u << enum sg_cli_flag */
	enum sg_cli_table table;
};

#define SG_CLI_NCOMMANDS 6
extern const struct sg_cli_command sg_cli_commands[SG_CLI_NCOMMANDS];

/* The command called @name, or NULL. */
const struct sg_cli_command *sg_cli_command(const char *name);
/* Whether @cmd takes option @name of the table. */
bool sg_cli_takes(const struct sg_cli_command *cmd, const char *name);
/* Fills @opts (room for SG_CLI_NFLAGS + every table row + 1) with the
 * getopt_long options of @cmd, terminated by a zero row. */
void sg_cli_getopt(const struct sg_cli_command *cmd, struct option *opts);
/* Upper bound of the rows sg_cli_getopt() writes, with the terminator. */
size_t sg_cli_getopt_size(void);

/* --help of one subcommand (its synopsis, flags and table options). */
void sg_cli_usage(const struct sg_cli_command *cmd, FILE *out);
/* The options table as a roff list (.TP per option), for syngate.conf(5). */
void sg_cli_man_options(FILE *out);
/* A bash completion script for every subcommand and option. */
void sg_cli_bash_completion(FILE *out);

#endif

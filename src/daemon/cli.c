/* syngate's command line: see include/syngate/daemon/cli.h. */
#include "syngate/daemon/cli.h"

#include <string.h>

#include "syngate/ops/config.h"

#define FL(f) (1u << (f))

const struct sg_cli_flag_doc sg_cli_flags[SG_CLI_NFLAGS] = {
	[SG_CLI_HELP] = {"help", NULL, "print this help and exit"},
	[SG_CLI_CONFIG] = {"config", "FILE", "read options from an INI file ([syngate] section); "
			   "options after it override the file"},
	[SG_CLI_DRY_RUN] = {"dry-run", NULL, "print the rules and sysctl changes instead of "
			    "applying them"},
	[SG_CLI_JSON] = {"json", NULL, "the counters as JSON"},
	[SG_CLI_PROMETHEUS] = {"prometheus", NULL, "the counters in the Prometheus text format"},
	[SG_CLI_WATCH] = {"watch", "SECONDS", "a live view of rates and queues, redrawn every "
			  "SECONDS"},
	[SG_CLI_MAN] = {"man", NULL, "the options as a roff list (for syngate.conf(5))"},
	[SG_CLI_BASH] = {"bash-completion", NULL, "a bash completion script for syngate"},
};

const struct sg_cli_command sg_cli_commands[SG_CLI_NCOMMANDS] = {
	{SG_CMD_RUN, "run", NULL, "[--config FILE] [--OPTION=VALUE ...]",
	 "run the SYN proxy in the foreground", FL(SG_CLI_HELP) | FL(SG_CLI_CONFIG), SG_TABLE_ALL},
	{SG_CMD_RULES, "rules", "install remove status",
	 "install|remove|status [--dry-run] [--config FILE] [--OPTION=VALUE ...]",
	 "install syngate's iptables/ip6tables chains and sysctls, remove exactly what "
	 "install added (and restore the sysctls it changed), or show the chains with counters",
	 FL(SG_CLI_HELP) | FL(SG_CLI_CONFIG) | FL(SG_CLI_DRY_RUN), SG_TABLE_ALL},
	{SG_CMD_STATS, "stats", NULL,
	 "[--json|--prometheus|--watch SECONDS] [--config FILE] [--control PATH]",
	 "print the running daemon's counters (from its control socket)",
	 FL(SG_CLI_HELP) | FL(SG_CLI_CONFIG) | FL(SG_CLI_JSON) | FL(SG_CLI_PROMETHEUS) |
		 FL(SG_CLI_WATCH),
	 SG_TABLE_CONTROL},
	{SG_CMD_CHECK, "check-config", NULL, "FILE", "validate a configuration file and exit",
	 FL(SG_CLI_HELP), SG_TABLE_NONE},
	{SG_CMD_HELP_CONFIG, "help-config", NULL, "[--man|--bash-completion]",
	 "list the configuration options (or write them for the manual, or the completion)",
	 FL(SG_CLI_HELP) | FL(SG_CLI_MAN) | FL(SG_CLI_BASH), SG_TABLE_NONE},
	{SG_CMD_KEYS, "keys", "new", "new [FILE] [--config FILE]",
	 "write a new random cookie master key to FILE (default: the key-file option's), "
	 "atomically, mode 0600; a running daemon takes it on SIGHUP, and the old key's "
	 "cookies stay valid for one more period",
	 FL(SG_CLI_HELP) | FL(SG_CLI_CONFIG), SG_TABLE_NONE},
};

const struct sg_cli_command *sg_cli_command(const char *name)
{
	for (size_t i = 0; i < SG_CLI_NCOMMANDS; i++)
		if (!strcmp(sg_cli_commands[i].name, name))
			return &sg_cli_commands[i];
	return NULL;
}

bool sg_cli_takes(const struct sg_cli_command *cmd, const char *name)
{
	return cmd->table == SG_TABLE_ALL ||
	       (cmd->table == SG_TABLE_CONTROL && !strcmp(name, "control"));
}

size_t sg_cli_getopt_size(void)
{
	struct sg_config_option o;
	size_t n = 0;

	while (sg_config_option(n, &o))
		n++;
	return SG_CLI_NFLAGS + n + 1;
}

/* A boolean's value is optional (--lane, --lane=no); main.c also takes the
 * next word when it is yes/no (--lane no), as the command line always did. */
void sg_cli_getopt(const struct sg_cli_command *cmd, struct option *opts)
{
	struct sg_config_option o;
	size_t n = 0;

	for (int f = 0; f < SG_CLI_NFLAGS; f++)
		if (cmd->flags & FL(f))
			opts[n++] = (struct option){sg_cli_flags[f].name,
						    sg_cli_flags[f].arg ? required_argument : no_argument,
						    NULL, SG_CLI_FLAG + f};
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (sg_cli_takes(cmd, o.name))
			opts[n++] = (struct option){o.name,
						    o.arg == SG_ARG_BOOL ? optional_argument
									 : required_argument,
						    NULL, SG_CLI_TABLE + (int)i};
	opts[n] = (struct option){0};
}

void sg_cli_usage(const struct sg_cli_command *cmd, FILE *out)
{
	struct sg_config_option o;
	char name[48];

	fprintf(out, "usage: syngate %s %s\n\n%s\n\n", cmd->name, cmd->synopsis, cmd->summary);
	for (int f = 0; f < SG_CLI_NFLAGS; f++) {
		if (!(cmd->flags & FL(f)))
			continue;
		snprintf(name, sizeof(name), "%s%s%s", sg_cli_flags[f].name,
			 sg_cli_flags[f].arg ? " " : "", sg_cli_flags[f].arg ? sg_cli_flags[f].arg : "");
		fprintf(out, "  --%-20s %s\n", name, sg_cli_flags[f].help);
	}
	if (cmd->table == SG_TABLE_NONE)
		return;
	fprintf(out, "\noptions (file key = option name; [SIGHUP]: a reload applies it, the "
		     "others need a restart):\n");
	if (cmd->table == SG_TABLE_ALL) {
		sg_config_usage(out);
		return;
	}
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (sg_cli_takes(cmd, o.name))
			fprintf(out, "  --%-20s %s%s%s\n", o.name, o.help, o.def ? ", default " : "",
				o.def ? o.def : "");
}

/* Writes @s for roff: backslashes escaped, hyphens as \- when @minus (names
 * typed on a command line), a leading '.' or '\'' guarded. */
static void roff(FILE *out, const char *s, bool minus)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-' && minus)
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void sg_cli_man_options(FILE *out)
{
	static const char *const arg_name[] = {
		[SG_ARG_NUMBER] = "number", [SG_ARG_BOOL] = "yes\\fR|\\fIno",
		[SG_ARG_WORD] = "word", [SG_ARG_TEXT] = "text", [SG_ARG_IFACES] = "names",
	};
	struct sg_config_option o;

	for (size_t i = 0; sg_config_option(i, &o); i++) {
		fputs(".TP\n.BR ", out);
		roff(out, o.name, true);
		fputs(" \" = \" \\fI", out);
		fputs(arg_name[o.arg], out);
		fputs("\\fR\n", out);
		roff(out, o.help, false);
		fputs(".\n", out);
		if (o.def) {
			fputs("Default: ", out);
			roff(out, o.def, true);
			fputs(".\n", out);
		}
		fputs(o.live ? "A reload (SIGHUP) applies it.\n" : "Takes effect at a restart.\n",
		      out);
	}
}

/* The words completing @cmd's options, "--name" each, space-separated. */
static void bash_words(FILE *out, const struct sg_cli_command *cmd)
{
	struct sg_config_option o;

	for (int f = 0; f < SG_CLI_NFLAGS; f++)
		if (cmd->flags & FL(f))
			fprintf(out, " --%s", sg_cli_flags[f].name);
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (sg_cli_takes(cmd, o.name))
			fprintf(out, " --%s", o.name);
}

/* One "case $prev in" arm per kind of option value. */
static void bash_values(FILE *out)
{
	struct sg_config_option o;
	const char *sep = "";

	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (o.values)
			fprintf(out, "\t--%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n",
				o.name, o.values);
	fputs("\t--config", out);
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (o.arg == SG_ARG_TEXT)
			fprintf(out, "|--%s", o.name);
	fputs(") _filedir; return ;;\n\t", out);
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (o.arg == SG_ARG_IFACES) {
			fprintf(out, "%s--%s", sep, o.name);
			sep = "|";
		}
	fputs(") _available_interfaces; return ;;\n\t--watch", out);
	for (size_t i = 0; sg_config_option(i, &o); i++)
		if (o.arg == SG_ARG_NUMBER)
			fprintf(out, "|--%s", o.name);
	fputs(") return ;;\n", out);
}

void sg_cli_bash_completion(FILE *out)
{
	fputs("# bash completion for syngate(8); generated by "
	      "`syngate help-config --bash-completion`\n"
	      "# from syngate's options table: do not edit.\n"
	      "_syngate()\n{\n"
	      "\tlocal cur prev words cword split\n"
	      "\t_init_completion -s || return\n"
	      "\tif ((cword == 1)); then\n"
	      "\t\tCOMPREPLY=($(compgen -W '",
	      out);
	for (size_t i = 0; i < SG_CLI_NCOMMANDS; i++)
		fprintf(out, "%s ", sg_cli_commands[i].name);
	fputs("--help --version' -- \"$cur\"))\n\t\treturn\n\tfi\n\tcase $prev in\n", out);
	bash_values(out);
	fputs("\tesac\n\tlocal opts\n\tcase ${words[1]} in\n", out);
	for (size_t i = 0; i < SG_CLI_NCOMMANDS; i++) {
		const struct sg_cli_command *c = &sg_cli_commands[i];

		fprintf(out, "\t%s)\n", c->name);
		if (c->words)
			fprintf(out, "\t\tif ((cword == 2)); then\n"
				     "\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n"
				     "\t\t\treturn\n\t\tfi\n", c->words);
		if (c->id == SG_CMD_CHECK)
			fputs("\t\t[[ $cur == -* ]] || { _filedir; return; }\n", out);
		fputs("\t\topts='", out);
		bash_words(out, c);
		fputs("' ;;\n", out);
	}
	fputs("\t*) return ;;\n\tesac\n"
	      "\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "}\n"
	      "complete -F _syngate syngate\n",
	      out);
}

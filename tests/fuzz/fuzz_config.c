/* libFuzzer target: the configuration file (src/ops/config.c) as
 * `syngate check-config FILE` reads it, and the rules made of it.
 *
 * Input: a config file, optionally followed by a NUL byte and iptables-save
 * output.  The file is loaded from a memfd through its /proc path (the
 * loader's real fopen/fread path), checked with sg_config_check(); a valid
 * one becomes the rules configuration as `syngate run` makes it, and its
 * install script is written against the iptables-save text parsed with
 * sg_rules_saved_parse() (NULL when there is none).  A reload against the
 * defaults (restart keys, live options) runs too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "syngate/io/log.h"
#include "syngate/ops/config.h"
#include "syngate/ops/rules.h"
#include "syngate/ops/strbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	sg_log_set_level(SG_LOG_ERR);
	return 0;
}

/* The error message is a terminated string that fits. */
static void check_err(const char *err)
{
	if (memchr(err, '\0', SG_CONFIG_ERR_LEN) == NULL)
		abort();
}

/* What `syngate run` and `syngate rules install --dry-run` make of a valid
 * @c, against iptables-save text @saved (or NULL). */
static void rules_of(struct sg_config *c, const char *saved)
{
	struct sg_rules_saved s = {0};
	struct sg_strbuf out = {0};
	struct sg_config d;
	char keys[1024];

	c->rules.marks = c->proxy.marks;
	c->rules.completions = c->proxy.mode == SG_MODE_ADAPTIVE;
	c->rules.timestamps = c->proxy.timestamps;
	if (sg_rules_invalid(&c->rules))
		abort(); /* sg_config_check() passed it */
	if (saved && sg_rules_saved_parse(saved, &s) == 0) {
		(void)sg_rules_install_script(&c->rules, &s, &out);
		(void)sg_rules_remove_script(&s, &out);
	} else {
		(void)sg_rules_install_script(&c->rules, NULL, &out);
	}
	sg_rules_saved_free(&s);
	sg_strbuf_free(&out);
	(void)sg_rules_shed_effective(&c->rules);
	(void)sg_rules_ack_shed_effective(&c->rules);
	sg_config_defaults(&d);
	(void)sg_config_restart_keys(&d, c, keys, sizeof(keys));
	if (memchr(keys, '\0', sizeof(keys)) == NULL)
		abort();
	sg_config_apply_live(&d, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	char err[SG_CONFIG_ERR_LEN];
	char *saved = NULL;
	struct sg_config c;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, clen, 0) != (ssize_t)clen)
		abort();
	if (nul) {
		size_t slen = size - clen - 1;

		saved = malloc(slen + 1);
		if (!saved)
			abort();
		memcpy(saved, nul + 1, slen);
		saved[slen] = '\0';
	}
	sg_config_defaults(&c);
	err[0] = '\0';
	if (sg_config_load(&c, path, err, sizeof(err)) != 0) {
		check_err(err);
	} else if (sg_config_check(&c, err, sizeof(err)) != 0) {
		check_err(err);
	} else {
		rules_of(&c, saved);
	}
	free(saved);
	return 0;
}

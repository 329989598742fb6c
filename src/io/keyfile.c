/* syngate key file: see include/syngate/io/keyfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syngate/io/keyfile.h"
#include "syngate/io/statefile.h"

/* What is wrong with @st as a key file, or NULL. */
static const char *bad_stat(const struct stat *st, int *e)
{
	*e = EINVAL;
	if (!S_ISREG(st->st_mode))
		return "is not a regular file";
	if (st->st_size != SG_KEYFILE_LEN)
		return "is not 32 bytes (a raw key: head -c 32 /dev/urandom)";
	*e = EPERM;
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return "may be read or written by group or others (chmod 600 it)";
	return NULL;
}

_Static_assert(SG_KEYFILE_LEN == 32, "the message above says 32");

int sg_keyfile_read(const char *path, uint8_t key[SG_KEYFILE_LEN], char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return e = errno,
		       sg_statefile_fail(e, err, errlen, "key file %s: %s", path, strerror(e));
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return sg_statefile_fail(e, err, errlen, "key file %s: %s", path, strerror(e));
	}
	if ((why = bad_stat(&st, &e))) {
		close(fd);
		return sg_statefile_fail(e, err, errlen, "key file %s %s; refused", path, why);
	}
	n = read(fd, key, SG_KEYFILE_LEN);
	e = errno;
	close(fd);
	if (n != SG_KEYFILE_LEN)
		return sg_statefile_fail(n < 0 ? e : EINVAL, err, errlen, "key file %s: short read",
		                         path);
	return 0;
}

int sg_keyfile_write(const char *path, const uint8_t key[SG_KEYFILE_LEN], bool replace, char *err,
                     size_t errlen)
{
	return sg_statefile_write(path, key, SG_KEYFILE_LEN, replace, "key file", err, errlen);
}

/* syngate state files: see include/syngate/io/statefile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syngate/io/statefile.h"

int sg_statefile_fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* Creates @path's directory (one level, mode 0700) if it is missing. */
static int make_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return errno = ENAMETOOLONG, -1;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Root writing @tmp for @path: gives it the owner of the file it replaces,
 * else of the directory (the package's /var/lib/syngate is the user
 * syngate's), so that a daemon running as that user reads it later.
 * Anyone else writes a file of their own. */
static int own_like(const char *tmp, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (geteuid() != 0)
		return 0;
	if (stat(path, &st) < 0) {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (!slash)
			return 0;
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &st) < 0)
			return -1;
	}
	return chown(tmp, st.st_uid, st.st_gid);
}

/* Writes @buf to a new file @tmp (0600) and flushes it to disk. */
static int write_tmp(const char *tmp, const void *buf, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int e;

	if (fd < 0)
		return -1;
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		return errno = e, -1;
	}
	return close(fd);
}

int sg_statefile_write(const char *path, const void *buf, size_t len, bool replace,
                       const char *what, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int r, e;

	if (snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return sg_statefile_fail(ENAMETOOLONG, err, errlen, "%s %s: name too long", what,
		                         path);
	if (make_dir(path) < 0 || write_tmp(tmp, buf, len) < 0 || own_like(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		return sg_statefile_fail(e, err, errlen, "%s %s: %s", what, path, strerror(e));
	}
	r = replace ? rename(tmp, path) : link(tmp, path);
	e = errno;
	if (!replace || r < 0)
		unlink(tmp);
	if (r < 0)
		return sg_statefile_fail(e, err, errlen, "%s %s: %s", what, path, strerror(e));
	return 0;
}

/* What is wrong with @st as a state file of at most @cap bytes, or NULL. */
static const char *bad_stat(const struct stat *st, size_t cap, int *e)
{
	*e = EINVAL;
	if (!S_ISREG(st->st_mode))
		return "is not a regular file";
	*e = EFBIG;
	if ((size_t)st->st_size > cap)
		return "is too large";
	*e = EPERM;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "may be written by group or others (chmod 600 it)";
	return NULL;
}

ssize_t sg_statefile_read(const char *path, void *buf, size_t cap, const char *what, char *err,
                          size_t errlen)
{
	struct stat st;
	const char *why;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return e = errno,
		       sg_statefile_fail(e, err, errlen, "%s %s: %s", what, path, strerror(e));
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return sg_statefile_fail(e, err, errlen, "%s %s: %s", what, path, strerror(e));
	}
	if ((why = bad_stat(&st, cap, &e))) {
		close(fd);
		return sg_statefile_fail(e, err, errlen, "%s %s %s; refused", what, path, why);
	}
	n = read(fd, buf, (size_t)st.st_size);
	e = errno;
	close(fd);
	if (n != st.st_size)
		return sg_statefile_fail(n < 0 ? e : EIO, err, errlen, "%s %s: short read", what,
		                         path);
	return n;
}

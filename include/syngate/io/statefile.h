/* syngate state files: small files syngate keeps beside its key file (the
 * key itself, keyfile.h; the learned backends, backfile.h), in a directory
 * of mode 0700 (systemd: StateDirectory=syngate).
 *
 * Writes are atomic: a temporary file in the same directory (mode 0600),
 * fsync'ed, then linked or renamed into place, so a reader never sees half
 * a file.  Return convention: 0 (or a length) on success, -1 with errno set
 * and a message naming the file in the caller's buffer (nothing logged).
 */
#ifndef SYNGATE_STATEFILE_H
#define SYNGATE_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes @len bytes @buf to @path with mode 0600, creating its directory
 * (mode 0700) if that is missing.  Written by root, the file takes the
 * owner of the file it replaces, else of its directory.  With @replace an
 * existing file is replaced atomically; without, an existing file is left
 * alone and the call fails with EEXIST.  @what names the file in @err. */
int sg_statefile_write(const char *path, const void *buf, size_t len, bool replace,
                       const char *what, char *err, size_t errlen);

/* Formats the message into @err (@errlen bytes) and sets errno to @e;
 * returns -1.  For the state files' callers' own checks. */
int sg_statefile_fail(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads the whole of @path into @buf (@cap bytes); returns its length.
 * Refuses a file that is not regular (EINVAL), larger than @cap (EFBIG),
 * or that group or others may write (EPERM); a missing file is ENOENT. */
ssize_t sg_statefile_read(const char *path, void *buf, size_t cap, const char *what, char *err,
                          size_t errlen);

#endif

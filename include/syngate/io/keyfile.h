/* syngate key file: the master key the cookie secrets are derived from
 * (keyring.h), kept on disk so that a restarted daemon, and every router of
 * a fleet that shares the file, sign and check cookies with the same
 * secrets.
 *
 * The file is exactly SG_KEYFILE_LEN raw bytes, a regular file with no
 * permission bit for group or others (0600 or 0400), readable by the user
 * syngate runs as (SIGHUP re-reads it after the privilege drop).  An
 * operator may provision it (`head -c 32
 * /dev/urandom`, or `syngate keys new FILE`); syngate creates it on first
 * start when it is missing.  Writes are atomic:
 * a temporary file in the same directory, fsync'ed, then linked or renamed
 * into place, so a reader never sees half a key.
 *
 * Return convention: 0 on success, -1 with errno set and a message naming
 * the file in the caller's buffer (nothing logged).
 */
#ifndef SYNGATE_KEYFILE_H
#define SYNGATE_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_KEYFILE_LEN 32 /* libsodium's crypto_kdf_KEYBYTES */

/* Reads the key at @path into @key.  Refuses (errno EPERM) a file group or
 * others may read or write, (EINVAL) one that is not a regular file or not
 * exactly SG_KEYFILE_LEN bytes; a missing file is ENOENT. */
int sg_keyfile_read(const char *path, uint8_t key[SG_KEYFILE_LEN], char *err, size_t errlen);

/* Writes @key to @path with mode 0600, creating its directory (mode 0700)
 * if that is missing.  Written by root, the file takes the owner of the file
 * it replaces, else of its directory.  With @replace an existing file is replaced
 * atomically; without, an existing file is left alone and the call fails
 * with EEXIST (two daemons starting at once: the loser reads the winner's). */
int sg_keyfile_write(const char *path, const uint8_t key[SG_KEYFILE_LEN], bool replace, char *err,
                     size_t errlen);

#endif

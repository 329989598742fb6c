/* syngate process spawning: see include/syngate/ops/spawn.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "syngate/ops/spawn.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Returns a memfd holding @s, positioned at its start; -1 with errno. */
static int memfd_with(const char *s)
{
	size_t len = strlen(s);
	int fd = memfd_create("syngate-rules", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		s += n;
		len -= (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == 0)
		return fd;
fail:
	close(fd);
	return -1;
}

/* Appends the whole content of memfd @fd to @b (NULL: discard). */
static void memfd_slurp(int fd, struct sg_strbuf *b)
{
	char buf[4096];
	ssize_t n;

	if (!b || lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		sg_strbuf_add(b, buf, (size_t)n);
	}
}

/* Waits for @pid; returns its exit status, 128 + signal if it was killed,
 * or -1 with errno. */
static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int sg_spawn_run(const char *path, const char *const argv[], const char *in,
                 struct sg_strbuf *out, struct sg_strbuf *err)
{
	posix_spawn_file_actions_t fa;
	int fd[3], i, rc = -1, saved;
	pid_t pid;

	fd[0] = memfd_with(in ? in : "");
	fd[1] = memfd_create("syngate-out", MFD_CLOEXEC);
	fd[2] = memfd_create("syngate-err", MFD_CLOEXEC);
	if (fd[0] < 0 || fd[1] < 0 || fd[2] < 0)
		goto out_close;
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0)
		goto out_close;
	for (i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, fd[i], i);
	errno = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (errno != 0)
		goto out_close;
	rc = wait_status(pid);
	memfd_slurp(fd[1], out);
	memfd_slurp(fd[2], err);
out_close:
	saved = errno;
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	errno = saved;
	return rc;
}

int sg_spawn_which(const char *name, char *buf, size_t len)
{
	const char *p = getenv("PATH");
	const char *end;

	if (!p || !*p)
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		if (snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name) >= (int)len)
			continue;
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -1;
}

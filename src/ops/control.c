/* syngate control socket: see include/syngate/ops/control.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "syngate/ops/control.h"

#define REQ_MAX 64
#define ANSWER_MAX 65536
#define LISTEN_TAG UINT64_MAX

struct client {
	int fd; /* -1: free */
	uint64_t deadline_ms;
	size_t len;
	char req[REQ_MAX];
};

struct sg_control {
	int lfd, epfd;
	char path[108];
	sg_control_answer answer;
	void *ctx;
	struct client cl[SG_CONTROL_MAX_CLIENTS];
	char out[ANSWER_MAX];
};

/* Removes a stale socket at @path; refuses (EEXIST) to touch anything else. */
static int clear_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (clear_path(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	old = umask(0177); /* the socket is created 0600 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static int watch(int epfd, int fd, uint64_t tag)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

struct sg_control *sg_control_open(const char *path, sg_control_answer answer, void *ctx)
{
	struct sg_control *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		return NULL;
	for (i = 0; i < SG_CONTROL_MAX_CLIENTS; i++)
		c->cl[i].fd = -1;
	c->answer = answer;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		goto err_free;
	c->lfd = listen_at(path);
	if (c->lfd < 0)
		goto err_ep;
	if (watch(c->epfd, c->lfd, LISTEN_TAG) < 0)
		goto err_listen;
	return c;

err_listen:
	close(c->lfd);
	unlink(path);
err_ep:
	close(c->epfd);
err_free:
	free(c);
	return NULL;
}

static void drop_client(struct client *k)
{
	close(k->fd); /* also leaves the epoll set */
	k->fd = -1;
}

void sg_control_close(struct sg_control *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < SG_CONTROL_MAX_CLIENTS; i++)
		if (c->cl[i].fd >= 0)
			drop_client(&c->cl[i]);
	close(c->lfd);
	unlink(c->path);
	close(c->epfd);
	free(c);
}

int sg_control_fd(const struct sg_control *c)
{
	return c->epfd;
}

/* A free slot, or the one whose deadline comes first (closed for the new). */
static struct client *slot_for_new(struct sg_control *c)
{
	struct client *old = &c->cl[0];
	int i;

	for (i = 0; i < SG_CONTROL_MAX_CLIENTS; i++) {
		if (c->cl[i].fd < 0)
			return &c->cl[i];
		if (c->cl[i].deadline_ms < old->deadline_ms)
			old = &c->cl[i];
	}
	drop_client(old);
	return old;
}

/* Accepts what is pending, at most one queue's worth per call. */
static void accept_all(struct sg_control *c, uint64_t now_ms)
{
	int n, fd;

	for (n = 0; n < SG_CONTROL_MAX_CLIENTS; n++) {
		struct client *k;

		fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		k = slot_for_new(c);
		if (watch(c->epfd, fd, (uint64_t)(k - c->cl)) < 0) {
			close(fd);
			continue;
		}
		k->fd = fd;
		k->len = 0;
		k->deadline_ms = now_ms + SG_CONTROL_DEADLINE_MS;
	}
}

/* Answers client @k's request; writes the whole answer, waiting at most
 * 200 ms for a slow reader. */
static void send_answer(struct sg_control *c, struct client *k)
{
	struct timeval tv = {0, 200000};
	int fl = fcntl(k->fd, F_GETFL);
	size_t len = c->answer(c->ctx, k->req, c->out, sizeof(c->out));
	const char *out = c->out;

	if (fl >= 0)
		fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len > 0) {
		ssize_t n = write(k->fd, out, len);

		if (n <= 0)
			break;
		out += n;
		len -= (size_t)n;
	}
}

/* Reads what client @k sent; answers once it has a line (or closed its
 * side, or filled the request buffer). */
static void serve(struct sg_control *c, struct client *k)
{
	ssize_t n = read(k->fd, k->req + k->len, sizeof(k->req) - 1 - k->len);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		k->len += (size_t)n;
	k->req[k->len] = '\0';
	nl = strchr(k->req, '\n');
	if (n > 0 && !nl && k->len < sizeof(k->req) - 1)
		return;
	if (n < 0) {
		drop_client(k);
		return;
	}
	if (nl)
		*nl = '\0';
	send_answer(c, k);
	drop_client(k);
}

void sg_control_run(struct sg_control *c, uint64_t now_ms)
{
	struct epoll_event ev[SG_CONTROL_MAX_CLIENTS];
	int i, n = epoll_wait(c->epfd, ev, SG_CONTROL_MAX_CLIENTS, 0);

	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 == LISTEN_TAG)
			accept_all(c, now_ms);
		else if (c->cl[ev[i].data.u64].fd >= 0)
			serve(c, &c->cl[ev[i].data.u64]);
	}
	for (i = 0; i < SG_CONTROL_MAX_CLIENTS; i++) {
		struct client *k = &c->cl[i];

		if (k->fd < 0 || now_ms < k->deadline_ms)
			continue;
		if (k->len > 0) /* a request without its newline: answer it */
			send_answer(c, k);
		drop_client(k);
	}
}

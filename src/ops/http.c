/* syngate metrics endpoint over libmicrohttpd: see include/syngate/ops/http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "syngate/ops/http.h"

#define BODY_MAX (256 * 1024)
/* Idle or trickling clients must not lock the scraper out: connections are
 * polled (epoll), not served one at a time, many may be open, one address
 * holds few of them, and an idle one is closed after a few seconds. */
#define HTTP_CONN_MAX 256u
#define HTTP_CONN_PER_IP 8u
#define HTTP_IDLE_S 3u

struct sg_http {
	struct MHD_Daemon *mhd;
	sg_http_render render;
	void *ctx;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **state)
{
	struct sg_http *h = cls;
	static char not_found[] = "not found: try /metrics\n";
	static char landing[] = "<html><head><title>syngate</title></head><body>"
				"<h1>syngate</h1><p><a href=\"/metrics\">Metrics</a></p>"
				"</body></html>\n";
	char *body;

	(void)version;
	(void)data;
	(void)data_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_found, 0,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", landing,
			     sizeof(landing) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
	body = malloc(BODY_MAX);
	if (!body)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
		     h->render(h->ctx, body, BODY_MAX), MHD_RESPMEM_MUST_FREE);
}

/* Fills @ss from @addr/@port; returns its length or 0 for a bad address. */
static socklen_t make_addr(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	return 0;
}

int sg_http_listen(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, addr, port);
	int one = 1, fd, saved;

	if (!len) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 && listen(fd, 64) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

struct sg_http *sg_http_start(int fd, sg_http_render render, void *ctx)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	struct sg_http *h = calloc(1, sizeof(*h));

	if (!h) {
		close(fd);
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
				  fd, MHD_OPTION_CONNECTION_LIMIT, HTTP_CONN_MAX,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_CONN_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_S, MHD_OPTION_END);
	if (!h->mhd) {
		int saved = errno ? errno : EINVAL;

		free(h);
		close(fd);
		errno = saved;
		return NULL;
	}
	return h;
}

void sg_http_stop(struct sg_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}

/* syngate text buffer: see include/syngate/ops/strbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syngate/ops/strbuf.h"

void sg_strbuf_init(struct sg_strbuf *b, char *buf, size_t cap)
{
	*b = (struct sg_strbuf){.buf = buf, .cap = cap, .fixed = true};
	buf[0] = '\0';
}

/* Makes room for @n more bytes and the terminator where it can: a heap
 * buffer grows by doubling, up to SG_STRBUF_HEAP_MAX.  Returns how many of
 * the @n fit. */
static size_t room(struct sg_strbuf *b, size_t n)
{
	size_t want = b->len + n + 1, cap = b->cap ? b->cap : 256;
	char *p;

	if (want > SG_STRBUF_HEAP_MAX)
		want = SG_STRBUF_HEAP_MAX;
	if (b->fixed || b->cut || want <= b->cap)
		goto out;
	while (cap < want)
		cap *= 2;
	if (cap > SG_STRBUF_HEAP_MAX)
		cap = SG_STRBUF_HEAP_MAX;
	p = realloc(b->buf, cap);
	if (!p)
		goto out;
	b->buf = p;
	b->cap = cap;
out:
	if (!b->buf)
		return 0;
	return n < b->cap - b->len - 1 ? n : b->cap - b->len - 1;
}

/* Counts @n bytes written of which @fit were kept, and terminates. */
static void advance(struct sg_strbuf *b, size_t n, size_t fit)
{
	if (fit < n)
		b->cut = true;
	if (!b->buf)
		return;
	b->len += fit;
	b->buf[b->len] = '\0';
}

void sg_strbuf_add(struct sg_strbuf *b, const char *s, size_t n)
{
	size_t fit = room(b, n);

	if (fit)
		memcpy(b->buf + b->len, s, fit);
	advance(b, n, fit);
}

void sg_strbuf_puts(struct sg_strbuf *b, const char *s)
{
	sg_strbuf_add(b, s, strlen(s));
}

void sg_strbuf_printf(struct sg_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t fit;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->cut = true;
		return;
	}
	fit = room(b, (size_t)n);
	if (b->buf) {
		va_start(ap, fmt);
		vsnprintf(b->buf + b->len, fit + 1, fmt, ap);
		va_end(ap);
	}
	advance(b, (size_t)n, fit);
}

const char *sg_strbuf_str(const struct sg_strbuf *b)
{
	return b->buf ? b->buf : "";
}

void sg_strbuf_free(struct sg_strbuf *b)
{
	if (b->fixed) {
		sg_strbuf_init(b, b->buf, b->cap);
		return;
	}
	free(b->buf);
	*b = (struct sg_strbuf){0};
}

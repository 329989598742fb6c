/* syngate text buffer: see include/syngate/ops/strbuf.h. */
#include <stdarg.h>
#include <stdio.h>

#include "syngate/ops/strbuf.h"

void sg_strbuf_init(struct sg_strbuf *b, char *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	buf[0] = '\0';
}

void sg_strbuf_printf(struct sg_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* syngate text buffer: printf-append into a caller's fixed buffer.  Output
 * past the capacity is cut, never overflowed; the text stays terminated. */
#ifndef SYNGATE_STRBUF_H
#define SYNGATE_STRBUF_H

#include <stddef.h>

struct sg_strbuf {
	char *buf;
	size_t cap; /* > 0 */
	size_t len;
};

/* Starts @b on @buf (@cap bytes, > 0) with an empty string. */
void sg_strbuf_init(struct sg_strbuf *b, char *buf, size_t cap);
/* Appends the formatted text, cut at cap - 1 bytes. */
void sg_strbuf_printf(struct sg_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

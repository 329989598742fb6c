/* syngate text buffer: append text to a string that is either the caller's
 * fixed buffer or grown on the heap.
 *
 *   fixed  sg_strbuf_init(): output past the capacity is cut, never
 *          overflowed; the text stays terminated.
 *   heap   a zeroed struct (`struct sg_strbuf b = {0}`): grows as needed up
 *          to SG_STRBUF_HEAP_MAX bytes; sg_strbuf_free() releases it.
 *
 * Appends never fail loudly: text that does not fit (capacity, the heap
 * limit, or no memory) is cut and @cut is set, which a caller that needs the
 * whole text checks once at the end.
 */
#ifndef SYNGATE_STRBUF_H
#define SYNGATE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Largest heap buffer: room for a huge iptables-save. */
#define SG_STRBUF_HEAP_MAX (64u << 20)

struct sg_strbuf {
	char *buf;  /* heap: NULL until the first append */
	size_t cap; /* fixed: > 0 */
	size_t len;
	bool fixed; /* @buf is the caller's */
	bool cut;   /* some text was lost */
};

/* Starts @b on @buf (@cap bytes, > 0) with an empty string. */
void sg_strbuf_init(struct sg_strbuf *b, char *buf, size_t cap);
/* Appends the formatted text. */
void sg_strbuf_printf(struct sg_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends @n bytes of @s. */
void sg_strbuf_add(struct sg_strbuf *b, const char *s, size_t n);
/* Appends the string @s. */
void sg_strbuf_puts(struct sg_strbuf *b, const char *s);
/* The text so far ("" for an untouched heap buffer). */
const char *sg_strbuf_str(const struct sg_strbuf *b);
/* Frees a heap buffer and leaves @b empty (a fixed one is only emptied). */
void sg_strbuf_free(struct sg_strbuf *b);

#endif

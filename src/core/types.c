/* syngate core vocabulary: see include/syngate/core/types.h. */
#include <stdlib.h>

#include "syngate/core/types.h"

void sg_marks_defaults(struct sg_marks *m)
{
	m->pending = 0x10000000;
	m->proxied = 0x08000000;
	m->reflect = 0x20000000;
	m->complete = 0x04000000;
	m->known = 0x02000000;
	m->lane = 0x01000000;
}

bool sg_marks_valid(const struct sg_marks *m)
{
	if (!m->pending || !m->proxied || !m->reflect || !m->complete || !m->known || !m->lane)
		return false;
	return !(m->pending & m->proxied) && !(m->pending & m->reflect) &&
	       !(m->proxied & m->reflect) && !(m->complete & m->reflect) &&
	       !(m->known & m->reflect) &&
	       !(m->lane & (m->pending | m->proxied | m->reflect | m->complete | m->known));
}

void *sg_alloc_resident(size_t n, size_t size)
{
	volatile unsigned char *p = calloc(n, size);
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < n * size; i += 4096)
		p[i] = 0;
	return (void *)p;
}

/* libFuzzer target: the ctnetlink receive paths (src/io/ct.c).
 *
 * Input: byte 0 picks the path, bytes 1-8 its parameters, the rest is one
 * datagram as the kernel would send it:
 *   0  destroy events (ct_events_parse(), ct_event_cb(), ct_parse_event()),
 *      filtered with the mark and mask of bytes 1-8
 *   1  the answers to a batch of conntrack lookups (lookup_walk()): byte 1
 *      is the batch size (1..64), bytes 2-5 the first sequence number
 *   2  the acknowledgement of a request (ct_answer()), for the sequence
 *      number of bytes 1-4 and the port id of bytes 5-8
 * ct.c is compiled into this target so that its static parse functions run
 * on the input without a socket.
 */
#include "../../src/io/ct.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_destroy(void *ctx, const struct sg_tuple *orig, uint32_t mark)
{
	const struct sg_ct_events *ev = ctx;

	if ((orig->family != AF_INET && orig->family != AF_INET6) ||
	    (mark & ev->mask) != (ev->mark & ev->mask))
		abort();
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void events(const uint8_t *par, const void *buf, size_t len)
{
	struct sg_ct_events ev = {.mark = rd32(par), .mask = rd32(par + 4)};
	struct ct_event_ctx c = {.ev = &ev, .cb = on_destroy, .ctx = &ev, .calls = 0};

	ct_events_parse(buf, len, &c);
	if ((uint64_t)c.calls != ev.stats.matched || ev.stats.matched > ev.stats.events)
		abort();
}

static void lookups(const uint8_t *par, const void *buf, size_t len)
{
	int8_t res[SG_CT_LOOKUP_MAX];
	int n = 1 + par[0] % SG_CT_LOOKUP_MAX, i, answered, left = 0;

	for (i = 0; i < n; i++)
		res[i] = -2;
	answered = lookup_walk(buf, (int)len, rd32(par + 1), n, res);
	for (i = 0; i < n; i++) {
		if (res[i] == -2)
			left++;
		else if (res[i] < -1 || res[i] > 1)
			abort();
	}
	if (answered != n - left)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	size_t len;

	if (size < 9 || size - 9 > CT_EV_BUF_SIZE)
		return 0;
	len = size - 9;
	buf = malloc(len ? len : 1); /* exactly the datagram: ASan sees past it */
	if (!buf)
		abort();
	memcpy(buf, data + 9, len);
	switch (data[0] % 3) {
	case 0:
		events(data + 1, buf, len);
		break;
	case 1:
		lookups(data + 1, buf, len);
		break;
	default:
		(void)ct_answer(buf, len, rd32(data + 1), rd32(data + 5));
		break;
	}
	free(buf);
	return 0;
}

/* test_ct: src/io/ct.c against the real kernel, in a network namespace of
 * its own (root; skipped otherwise): lookups, and answers that do not come
 * from the kernel. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/netlink.h>

#include "syngate/io/ct.h"

#define SKIP 77

static struct sg_tuple tuple(uint16_t sport)
{
	struct sg_tuple t = {.family = AF_INET, .sport = sport, .dport = 80};

	memcpy(t.saddr, "\xc6\x33\x64\x02", 4); /* 198.51.100.2 */
	memcpy(t.daddr, "\xcb\x00\x71\x02", 4); /* 203.0.113.2 */
	return t;
}

/* An entry syngate creates is found in both directions; a deleted one and
 * an unknown tuple are not. */
static void lookup_finds_entries(void **state)
{
	struct sg_ct *ct = sg_ct_open();
	struct sg_tuple t = tuple(40000), rev = sg_tuple_reverse(&t), other = tuple(40001);
	struct sg_ct_new n = {.orig = t, .timeout = 30, .orig_wscale = 7, .reply_wscale = 7};

	(void)state;
	assert_non_null(ct);
	assert_int_equal(sg_ct_lookup(ct, &t), 0);
	assert_int_equal(sg_ct_create(ct, &n), 0);
	assert_int_equal(sg_ct_lookup(ct, &t), 1);
	assert_int_equal(sg_ct_lookup(ct, &rev), 1);
	assert_int_equal(sg_ct_lookup(ct, &other), 0);
	assert_int_equal(sg_ct_delete(ct, &t), 0);
	assert_int_equal(sg_ct_lookup(ct, &t), 0);
	sg_ct_close(ct);
}

/* Many tuples at once: each answer lands at its own index. */
static void lookup_many(void **state)
{
	struct sg_ct *ct = sg_ct_open();
	struct sg_tuple t[SG_CT_LOOKUP_MAX];
	struct sg_ct_new n = {.timeout = 30, .orig_wscale = 7, .reply_wscale = 7};
	int8_t res[SG_CT_LOOKUP_MAX];
	int i;

	(void)state;
	assert_non_null(ct);
	for (i = 0; i < SG_CT_LOOKUP_MAX; i++) {
		t[i] = tuple((uint16_t)(41000 + i));
		if (i % 3 == 0) {
			n.orig = t[i];
			assert_int_equal(sg_ct_create(ct, &n), 0);
		}
		if (i % 6 == 3) /* the reply direction finds the entry too */
			t[i] = sg_tuple_reverse(&t[i]);
	}
	t[5].family = 99; /* refused without a request */
	assert_int_equal(sg_ct_lookup_many(ct, t, SG_CT_LOOKUP_MAX, res), 0);
	for (i = 0; i < SG_CT_LOOKUP_MAX; i++)
		assert_int_equal(res[i], i == 5 ? -1 : i % 3 == 0);
	assert_int_equal(sg_ct_lookup_many(ct, t, SG_CT_LOOKUP_MAX + 1, res), -1);
	/* the single lookups still pair their answers after a batch */
	assert_int_equal(sg_ct_lookup(ct, &t[0]), 1);
	assert_int_equal(sg_ct_lookup(ct, &t[1]), 0);
	sg_ct_close(ct);
}

/* A local process that knows the socket's port id sends it a well-formed
 * "success" acknowledgement (sequence 0 passes libmnl's checks) before the
 * kernel answers: it must be ignored, so a lookup of an unknown tuple still
 * says 0.  Then a 17-byte NLMSG_ERROR, which libmnl would read past. */
static void answers_only_from_the_kernel(void **state)
{
	struct sg_ct *ct = sg_ct_open();
	struct sg_tuple t = tuple(40002);
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack = {.h = {.nlmsg_len = sizeof(ack), .nlmsg_type = NLMSG_ERROR}};
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);

	(void)state;
	assert_non_null(ct);
	assert_true(fd >= 0);
	to.nl_pid = sg_ct_portid(ct);
	assert_int_equal(sendto(fd, &ack, sizeof(ack), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(ack));
	assert_int_equal(sg_ct_lookup(ct, &t), 0);
	ack.h.nlmsg_len = 17;
	assert_int_equal(sendto(fd, &ack, 17, 0, (struct sockaddr *)&to, sizeof(to)), 17);
	assert_int_equal(sg_ct_lookup(ct, &t), 0);
	close(fd);
	sg_ct_close(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_finds_entries),
		cmocka_unit_test(lookup_many),
		cmocka_unit_test(answers_only_from_the_kernel),
	};

	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "test_ct: needs root (a network namespace of its own): skipped\n");
		return SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

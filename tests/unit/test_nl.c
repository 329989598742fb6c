/* cmocka tests of the netlink walk checks (include/syngate/io/nl.h), on the
 * shapes the fuzz targets found libmnl 1.0.4 walking wrongly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "syngate/io/nl.h"

/* A datagram buffer, aligned for struct nlmsghdr. */
static union {
	struct nlmsghdr h;
	uint8_t b[256];
} D;

/* Puts a message header of length @len at @off. */
static struct nlmsghdr *msg_at(size_t off, uint32_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(D.b + off);

	memset(h, 0, sizeof(*h));
	h->nlmsg_len = len;
	return h;
}

/* Puts an attribute header of length @len at @off. */
static void attr_at(size_t off, uint16_t len, uint16_t type)
{
	struct nlattr a = {.nla_len = len, .nla_type = type};

	memcpy(D.b + off, &a, sizeof(a));
}

/* A length of 2^31 or more does not fit a datagram (mnl_nlmsg_ok() took
 * it for one that does, and the walk jumped 2 GB). */
static void huge_length(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	msg_at(0, 0xd9d9d99b);
	assert_false(sg_nlmsg_ok(&D.h, 64));
	assert_int_equal(sg_nlmsg_span(D.b, 64), 0);
	msg_at(0, 0x80000000);
	assert_false(sg_nlmsg_ok(&D.h, 64));
	msg_at(0, 65);
	assert_false(sg_nlmsg_ok(&D.h, 64));
	msg_at(0, 64);
	assert_true(sg_nlmsg_ok(&D.h, 64));
	msg_at(0, 15);
	assert_false(sg_nlmsg_ok(&D.h, 64));
	assert_false(sg_nlmsg_ok(&D.h, 15));
}

/* The span: whole messages from the start; an unpadded last message ends
 * the datagram; a bad one and what follows are cut. */
static void span(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	msg_at(0, 36);
	msg_at(36, 37); /* unpadded, ends the datagram */
	assert_int_equal(sg_nlmsg_span(D.b, 73), 73);
	msg_at(36, 0x80000010); /* garbage after a good message */
	assert_int_equal(sg_nlmsg_span(D.b, 100), 36);
	msg_at(36, 20);
	assert_int_equal(sg_nlmsg_span(D.b, 60), 56); /* 4 trailing bytes */
	assert_int_equal(sg_nlmsg_span(D.b, 0), 0);
}

/* Attributes must end within the message, not within its aligned end. */
static void attrs(void **state)
{
	struct nlmsghdr *h;

	(void)state;
	memset(&D, 0, sizeof(D));
	/* header 16, extra header 4, then attributes of 8 and 11 bytes: the
	 * kernel's NFQUEUE message ends with an unpadded payload attribute */
	h = msg_at(0, 16 + 4 + 8 + 11);
	attr_at(20, 8, 3);
	attr_at(28, 11, 10);
	assert_true(sg_nlmsg_attrs_ok(h, 4));
	h->nlmsg_len = 16 + 4 + 8 + 10; /* the last one 1 byte past the message */
	assert_false(sg_nlmsg_attrs_ok(h, 4));
	h->nlmsg_len = 16 + 4 + 8 + 2; /* 2 bytes: no room for a header */
	assert_false(sg_nlmsg_attrs_ok(h, 4));
	h->nlmsg_len = 16 + 4 + 8;
	assert_true(sg_nlmsg_attrs_ok(h, 4));
	attr_at(20, 3, 3); /* shorter than its header */
	assert_false(sg_nlmsg_attrs_ok(h, 4));
	h->nlmsg_len = 16 + 4; /* no attributes */
	assert_true(sg_nlmsg_attrs_ok(h, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(huge_length),
	    cmocka_unit_test(span),
	    cmocka_unit_test(attrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

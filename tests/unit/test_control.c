/* test_control: the control socket (src/ops/control.c) with real unix
 * sockets: idle clients hold nobody up, deadlines close them, a path that is
 * not a socket is never removed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "syngate/ops/control.h"

static char dir[64];
static char path[96];
static int answered;

static size_t answer(void *ctx, const char *req, char *out, size_t cap)
{
	(void)ctx;
	answered++;
	return (size_t)snprintf(out, cap, "answer to %s", req);
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sgctl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	answered = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* 40 clients connect and say nothing (more than the slots); one more asks
 * and is answered at once, with the socket mode 0600. */
static void idle_clients_hold_nobody_up(void **state)
{
	struct sg_control *c = sg_control_open(path, answer, NULL);
	int idle[40], fd, i;
	char buf[64] = "";
	struct stat st;

	(void)state;
	assert_non_null(c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (i = 0; i < 40; i++) {
		idle[i] = dial();
		sg_control_run(c, 1000);
	}
	fd = dial();
	assert_int_equal(write(fd, "json\n", 5), 5);
	sg_control_run(c, 1001); /* accept */
	sg_control_run(c, 1002); /* read and answer */
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "answer to json");
	assert_int_equal(answered, 1);
	close(fd);
	for (i = 0; i < 40; i++)
		close(idle[i]);
	sg_control_close(c);
	assert_int_equal(access(path, F_OK), -1); /* removed */
}

/* An idle client is closed at its deadline; one that sent a request
 * without a newline is answered then. */
static void deadlines(void **state)
{
	struct sg_control *c = sg_control_open(path, answer, NULL);
	int quiet = dial(), old = dial();
	char buf[64] = "";

	(void)state;
	assert_int_equal(write(old, "text", 4), 4);
	sg_control_run(c, 0);
	sg_control_run(c, 1);
	assert_int_equal(answered, 0);
	sg_control_run(c, SG_CONTROL_DEADLINE_MS + 1);
	assert_int_equal(answered, 1);
	assert_true(read(old, buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "answer to text");
	assert_int_equal(read(quiet, buf, sizeof(buf)), 0); /* closed */
	close(quiet);
	close(old);
	sg_control_close(c);
}

/* control = /etc/passwd must not remove the file. */
static void never_removes_a_file(void **state)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_null(sg_control_open(path, answer, NULL));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_clients_hold_nobody_up, setup, teardown),
		cmocka_unit_test_setup_teardown(deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(never_removes_a_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

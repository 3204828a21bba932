// SPDX-License-Identifier: Apache-2.0
/*
 * The seccomp list, one notable refusal at a time (agent/sandbox/seccomp.c; the errno of each is in
 * docs/run.md). Each probe (sl_escape.c: filter_probe) is a call the kernel itself answers
 * otherwise for the sandbox's unprivileged uid: it succeeds, or fails with another errno (a
 * bad pointer, a missing directory, no such pid, no such facility in this kernel). So the
 * EPERM each test asserts comes from the list alone, not from the uid or the missing
 * capabilities, and a change to the list cannot pass unnoticed.
 */
#include "testutil.h"

#include "escaperun.h"

#include <sys/stat.h>

/* Runs `sl-escape filter NAME` with stdin a terminal nobody controls; asserts EPERM and
 * that nothing was pushed into the terminal. */
static void expect_eperm(const char *name)
{
	struct sl_escape_caller c = {0};
	char out[4096];
	int m, s;

	sl_test_require_root();
	sl_escape_pty(&m, &s);
	assert_int_equal(fchmod(s, 0666), 0); /* a terminal CMD may open: the worst case */
	c.stdin_fd = s;
	int st = sl_escape_run(&c, (const char *[]){"filter", name, NULL}, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s not refused with EPERM (status %#x): %s", name, st, out);
	assert_int_equal(sl_escape_tty_pending(s), 0);
	close(m);
	close(s);
}

#define REFUSES(name)                                         \
	static void refuses_##name##_with_eperm(void **state) \
	{                                                     \
		expect_eperm(#name);                          \
	}
REFUSES(bpf)
REFUSES(perf_event_open)
REFUSES(io_uring_setup)
REFUSES(userfaultfd)
REFUSES(keyctl)
REFUSES(add_key)
REFUSES(unshare)
REFUSES(setns)
REFUSES(mount)
REFUSES(ptrace)
REFUSES(kexec_load)
REFUSES(init_module)
REFUSES(netlink_uevent)
REFUSES(netlink_sock_diag)
REFUSES(netlink_audit)
REFUSES(inotify)
REFUSES(fanotify)
REFUSES(tiocsti)
REFUSES(tiocsti_high)
REFUSES(tiocsctty)
REFUSES(tiocsctty_high)
REFUSES(tioclinux)
REFUSES(tioclinux_high)

/* What stays allowed of netlink: NETLINK_ROUTE (if_nameindex lists lo). */
static void allows_netlink_route(void **state)
{
	struct sl_escape_caller c = {.stdin_fd = -1};
	char out[4096];

	sl_test_require_root();
	int st = sl_escape_run(&c, (const char *[]){"interfaces", NULL}, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "lo\n")) /* lo alone: exit 0 */
		fail_msg("if_nameindex in the sandbox (status %#x): %s", st, out);
}

#define T(name) cmocka_unit_test(refuses_##name##_with_eperm)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(bpf),
		T(perf_event_open),
		T(io_uring_setup),
		T(userfaultfd),
		T(keyctl),
		T(add_key),
		T(unshare),
		T(setns),
		T(mount),
		T(ptrace),
		T(kexec_load),
		T(init_module),
		T(netlink_uevent),
		T(netlink_sock_diag),
		T(netlink_audit),
		T(inotify),
		T(fanotify),
		T(tiocsti),
		T(tiocsti_high),
		T(tiocsctty),
		T(tiocsctty_high),
		T(tioclinux),
		T(tioclinux_high),
		cmocka_unit_test(allows_netlink_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

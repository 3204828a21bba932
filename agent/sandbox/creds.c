// SPDX-License-Identifier: Apache-2.0
/* Dropping privileges in the sandbox child (see creds.h). */
#include "sandbox/creds-internal.h"

#include <sandlot/util.h>

#include <linux/capability.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_PROBE_MAX 64 /* PR_CAPBSET_DROP fails with EINVAL past the kernel's last cap */

#define INF RLIM_INFINITY

/*
 * Unlimited where a cgroup, /tmp's size or --timeout bounds the resource already; a fixed
 * bound where the rlimit is the only one (queued signals, POSIX message queue bytes and locked
 * memory count per uid, which is the sandbox's own).
 */
static const struct sl_creds_limit fixed_limits[] = {
	{RLIMIT_CPU, INF, INF, false},
	{RLIMIT_FSIZE, INF, INF, false},
	{RLIMIT_DATA, INF, INF, false},
	{RLIMIT_STACK, SL_CREDS_STACK, INF, false},
	{RLIMIT_RSS, INF, INF, false},
	{RLIMIT_NPROC, INF, INF, false}, /* the pids cgroup counts them */
	{RLIMIT_MEMLOCK, SL_CREDS_MEMLOCK, SL_CREDS_MEMLOCK, false},
	{RLIMIT_AS, INF, INF, false},
	{RLIMIT_LOCKS, INF, INF, false},
	{RLIMIT_SIGPENDING, SL_CREDS_SIGPENDING, SL_CREDS_SIGPENDING, false},
	{RLIMIT_MSGQUEUE, SL_CREDS_MSGQUEUE, SL_CREDS_MSGQUEUE, false},
	{RLIMIT_NICE, 0, 0, false},   /* no raising its priority */
	{RLIMIT_RTPRIO, 0, 0, false}, /* no real-time scheduling */
	{RLIMIT_RTTIME, INF, INF, false},
};

_Static_assert(2 + ARRAY_SIZE(fixed_limits) == SL_CREDS_LIMITS, "one entry per rlimit");

size_t sl_creds_limits(const struct sl_creds *c, struct sl_creds_limit ret[SL_CREDS_LIMITS])
{
	/* exact: the sandbox's configuration, which fails when the hard limit is lower */
	ret[0] = (struct sl_creds_limit){RLIMIT_NOFILE, c->nofile, c->nofile, true};
	ret[1] = (struct sl_creds_limit){RLIMIT_CORE, c->core_bytes, c->core_bytes, true};
	for (size_t i = 0; i < ARRAY_SIZE(fixed_limits); i++)
		ret[2 + i] = fixed_limits[i];
	return SL_CREDS_LIMITS;
}

/* Raising a hard limit needs CAP_SYS_RESOURCE, which the agent may lack. */
struct rlimit sl_creds_limit_fit(const struct sl_creds_limit *want, struct rlimit have)
{
	rlim_t max = want->max;

	if (!want->exact && (max == INF || max > have.rlim_max))
		max = have.rlim_max;
	return (struct rlimit){.rlim_cur = want->cur == INF || want->cur > max ? max : want->cur,
			       .rlim_max = max};
}

static int set_limit(const struct sl_creds_limit *want)
{
	struct rlimit l;

	if (getrlimit(want->res, &l) < 0)
		return sl_negerrno();
	l = sl_creds_limit_fit(want, l);
	return setrlimit(want->res, &l) < 0 ? sl_negerrno() : 0;
}

int sl_creds_rlimits(const struct sl_creds *c)
{
	struct sl_creds_limit limits[SL_CREDS_LIMITS];
	size_t n = sl_creds_limits(c, limits);
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = set_limit(&limits[i]);
	return r;
}

int sl_creds_drop_bounding(void)
{
	for (int cap = 0; cap < CAP_PROBE_MAX; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				return 0; /* past CAP_LAST_CAP of this kernel */
			return sl_negerrno();
		}
	}
	return 0;
}

int sl_creds_drop(const struct sl_creds *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};
	/* CAP_CHOWN (0) first to go: if it is in the set, the set was never emptied */
	if (prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 0)
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return sl_negerrno();
	/* raw syscalls: glibc's wrappers would try to broadcast to the parent's other threads */
	if (syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
	    syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
		return sl_negerrno();
	/* setresuid to non-root emptied permitted/effective; inheritable survives it */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sl_negerrno();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sl_negerrno();
	return 0;
}

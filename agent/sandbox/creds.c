// SPDX-License-Identifier: Apache-2.0
/* Dropping privileges in the sandbox child (see creds.h). */
#include "sandbox/creds.h"

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
 * want.max INF: as high as the hard limit we have (raising it needs CAP_SYS_RESOURCE, which
 * the agent may lack); other values are capped by it too, except exact ones (NOFILE, CORE:
 * the sandbox's configuration) which fail when the hard limit is lower. cur INF: = max.
 */
static int set_limit(int res, rlim_t cur, rlim_t max, bool exact)
{
	struct rlimit l;

	if (getrlimit(res, &l) < 0)
		return sl_negerrno();
	if (!exact && (max == INF || max > l.rlim_max))
		max = l.rlim_max;
	l.rlim_max = max;
	l.rlim_cur = cur == INF || cur > max ? max : cur;
	return setrlimit(res, &l) < 0 ? sl_negerrno() : 0;
}

int sl_creds_rlimits(const struct sl_creds *c)
{
	/* unlimited where a cgroup, /tmp's size or --timeout bounds the resource already; a
	 * fixed bound where the rlimit is the only one (queued signals, POSIX message queue
	 * bytes and locked memory count per uid, which is the sandbox's own) */
	const struct {
		int res;
		rlim_t cur, max;
	} limits[] = {
		{RLIMIT_CPU, INF, INF},
		{RLIMIT_FSIZE, INF, INF},
		{RLIMIT_DATA, INF, INF},
		{RLIMIT_STACK, SL_CREDS_STACK, INF},
		{RLIMIT_RSS, INF, INF},
		{RLIMIT_NPROC, INF, INF}, /* the pids cgroup counts them */
		{RLIMIT_MEMLOCK, SL_CREDS_MEMLOCK, SL_CREDS_MEMLOCK},
		{RLIMIT_AS, INF, INF},
		{RLIMIT_LOCKS, INF, INF},
		{RLIMIT_SIGPENDING, SL_CREDS_SIGPENDING, SL_CREDS_SIGPENDING},
		{RLIMIT_MSGQUEUE, SL_CREDS_MSGQUEUE, SL_CREDS_MSGQUEUE},
		{RLIMIT_NICE, 0, 0},   /* no raising its priority */
		{RLIMIT_RTPRIO, 0, 0}, /* no real-time scheduling */
		{RLIMIT_RTTIME, INF, INF},
	};
	int r = set_limit(RLIMIT_NOFILE, c->nofile, c->nofile, true);

	if (r >= 0)
		r = set_limit(RLIMIT_CORE, c->core_bytes, c->core_bytes, true);
	for (size_t i = 0; r >= 0 && i < sizeof(limits) / sizeof(limits[0]); i++)
		r = set_limit(limits[i].res, limits[i].cur, limits[i].max, false);
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

// SPDX-License-Identifier: Apache-2.0
/* Dropping privileges in the sandbox child (see creds.h). */
#include "creds.h"

#include <sandlot/util.h>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_PROBE_MAX 64 /* PR_CAPBSET_DROP fails with EINVAL past the kernel's last cap */

int sl_creds_rlimits(const struct sl_creds *c)
{
	struct rlimit core = {.rlim_cur = c->core_bytes, .rlim_max = c->core_bytes};
	struct rlimit nofile = {.rlim_cur = c->nofile, .rlim_max = c->nofile};

	if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return sl_negerrno();
	return 0;
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

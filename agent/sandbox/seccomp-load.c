// SPDX-License-Identifier: Apache-2.0
/*
 * The compiled filters, built into the agent (seccomp-filters.h is generated at build time by
 * seccomp-gen from seccomp.c's rules), and loading them.
 */
#include "sandbox/seccomp.h"

#include <sandlot/util.h>

#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "seccomp-filters.h"

static const struct sl_seccomp builtin = {
	.base = {.len = ARRAY_SIZE(sl_seccomp_base_insns),
		 .filter = (struct sock_filter *)sl_seccomp_base_insns},
	.seal = {.len = ARRAY_SIZE(sl_seccomp_seal_insns),
		 .filter = (struct sock_filter *)sl_seccomp_seal_insns},
};

const struct sl_seccomp *sl_seccomp_builtin(void)
{
	return &builtin;
}

static int load(const struct sock_fprog *prog)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return sl_negerrno();
	return 0;
}

int sl_seccomp_apply_base(const struct sl_seccomp *s)
{
	return load(&s->base);
}

int sl_seccomp_apply(const struct sl_seccomp *s)
{
	return load(&s->seal);
}
